//! The server's configuration: the site, its chatbot script, routing and the
//! simulated agents, read from a TOML file or taken from the built-in default
//! (`assets/default-config.toml`), so the demo needs no file at all. Unknown keys are
//! refused with the key's name, and references (bot choices, agent ids) are checked.

use crate::routing::{Agent, RoutingMode, Timers};
use porchlight_protocol::channels::ChannelKind;
use porchlight_protocol::console::WEB_CHANNEL;
use porchlight_protocol::{AgentId, ChannelId, ChoiceId, Position, SiteConfig};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// The built-in configuration, as TOML.
pub const DEFAULT_CONFIG_TOML: &str = include_str!("../assets/default-config.toml");

/// Everything the server is told by its config file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// The public configuration handed to the widget.
    pub site: SiteConfig,
    /// The chatbot that greets and answers the visitor first.
    pub bot: BotConfig,
    #[serde(default)]
    pub routing: RoutingConfig,
    /// The agents; each is simulated, driven by hand through the control API, or both.
    #[serde(default)]
    pub agents: Vec<AgentConfig>,
    #[serde(default)]
    pub embedding: EmbeddingConfig,
    #[serde(default)]
    pub link: LinkConfig,
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Social channels connected besides the web widget.
    #[serde(default)]
    pub channels: Vec<ChannelConfig>,
    /// Simulated customers who write on those channels by themselves.
    #[serde(default)]
    pub customers: Vec<CustomerScript>,
    /// Verified visitor identities. Server-only: never sent to the widget.
    #[serde(default)]
    pub identity: IdentityConfig,
    /// Whether simulated agents, customers and the movable clock run (see [`crate::sim`]).
    #[serde(default)]
    pub simulation: SimulationConfig,
    /// The texts `[site.texts]` names, which override the language bundle's.
    #[serde(skip)]
    pub text_overrides: BTreeMap<String, String>,
    /// Whether the file names `site.position`. Unnamed, the widget sits bottom-right, or
    /// bottom-left (mirrored) for a right-to-left language; see [`ServerConfig::position`].
    #[serde(skip)]
    pub position_given: bool,
}

/// The simulation (`[simulation]`): off unless the file or `--demo` turns it on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimulationConfig {
    /// Simulated agents act on their scripts, simulated customers write, and the control
    /// API may move the wall clock.
    pub enabled: bool,
}

/// How the site's visitors prove who they are (`[identity]`).
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdentityConfig {
    /// The secret the site's server signs identities with (`user_hash` is the hex
    /// HMAC-SHA256 of the user id under it, or an HS256 token). Without one, identities
    /// are taken as claimed and shown to agents as unverified.
    pub secret: Option<String>,
    /// Take chats from verified identities only, on the socket and every visitor HTTP
    /// read. Needs `secret`.
    pub enforce: bool,
}

impl std::fmt::Debug for IdentityConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityConfig")
            .field("secret", &self.secret.as_ref().map(|_| "…"))
            .field("enforce", &self.enforce)
            .finish()
    }
}

/// A connected social channel.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelConfig {
    /// How conversations name it (letters, digits, `-`, `_`); not `web`.
    pub id: ChannelId,
    pub kind: ChannelKind,
    /// What agents see: the Page, the number, the account, the bot.
    pub name: String,
    /// Messenger and Instagram: the Page may answer with the `HUMAN_AGENT` tag up to
    /// 7 days after the customer's last message.
    #[serde(default)]
    pub human_agent: bool,
    /// WhatsApp: the pre-approved templates, sendable outside the 24 h window.
    #[serde(default)]
    pub templates: Vec<TemplateConfig>,
}

/// A pre-approved WhatsApp template.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateConfig {
    pub name: String,
    /// What the customer reads.
    pub text: String,
}

/// A simulated customer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerScript {
    /// The channel they write on.
    pub channel: ChannelId,
    /// Their id on the platform.
    pub id: String,
    pub name: String,
    /// Comment channels: the post they comment on.
    #[serde(default)]
    pub post: Option<String>,
    /// Seconds after the start when they first write.
    #[serde(default = "ten")]
    pub after_secs: f64,
    /// Seconds between their follow-ups.
    #[serde(default = "sixty")]
    pub every_secs: f64,
    /// What they write, in order.
    pub messages: Vec<String>,
}

/// How the live link resumes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkConfig {
    /// The most events a reconnecting widget is sent on the socket; one that missed more
    /// is told to read them over HTTP instead.
    pub replay_window: u64,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig { replay_window: 500 }
    }
}

/// What one client address, one session and the queue may hold; each limit reached is
/// answered with a typed error. `porchlight-server --no-client-limits` lifts the per-address
/// ones for load runs from one machine.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// WebSockets one address may hold open at once.
    pub sockets_per_address: usize,
    /// New sessions one address may open a minute: a burst of that many, refilled evenly.
    pub sessions_per_minute: u32,
    /// Minutes after which a session whose visitor never wrote, asked or left a message,
    /// and that no tab holds open, is forgotten, in memory and in the database.
    pub idle_session_minutes: f64,
    /// Requests waiting for an agent at once.
    pub max_queue: usize,
    /// Events one conversation may hold.
    pub max_events: usize,
    /// Conversations one session may hold, its history included.
    pub max_conversations: usize,
    /// History and transcript reads one session may make a minute over HTTP: a burst of
    /// that many, refilled evenly.
    pub reads_per_minute: u32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            sockets_per_address: 50,
            sessions_per_minute: 30,
            idle_session_minutes: 30.0,
            max_queue: 200,
            max_events: 2_000,
            max_conversations: 100,
            reads_per_minute: 60,
        }
    }
}

impl LimitsConfig {
    /// How long an idle anonymous session is kept.
    pub fn idle_session(&self) -> std::time::Duration {
        std::time::Duration::from_secs_f64(self.idle_session_minutes * 60.0)
    }

    fn check(&self) -> Result<(), String> {
        let counts = [
            ("sockets_per_address", self.sockets_per_address),
            ("sessions_per_minute", self.sessions_per_minute as usize),
            ("max_queue", self.max_queue),
            ("max_events", self.max_events),
            ("max_conversations", self.max_conversations),
            ("reads_per_minute", self.reads_per_minute as usize),
        ];
        if let Some((key, _)) = counts.iter().find(|(_, n)| *n == 0) {
            return Err(format!("limits.{key} must be at least 1"));
        }
        let minutes = self.idle_session_minutes;
        if !(minutes.is_finite() && (1.0..=525_600.0).contains(&minutes)) {
            return Err("limits.idle_session_minutes must be between 1 and 525600 (a year)".into());
        }
        Ok(())
    }
}

/// Which pages may embed the widget.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddingConfig {
    /// Origins allowed to frame the widget (`https://shop.example`), or `"*"` for any; the
    /// widget page's `frame-ancestors` directive.
    pub frame_ancestors: Vec<String>,
    /// When the widget's code (wasm) is fetched: on the visitor's intent (pointer over or
    /// focus on the launcher, a click, `Porchlight('open')`), when the browser is idle
    /// after the host page loaded, or at once. A visitor with a conversation in progress
    /// gets it at once whatever this says.
    #[serde(default)]
    pub preload: Preload,
}

impl Default for EmbeddingConfig {
    fn default() -> Self {
        EmbeddingConfig {
            frame_ancestors: vec!["*".into()],
            preload: Preload::Intent,
        }
    }
}

/// When the widget's code is fetched; see [`EmbeddingConfig::preload`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preload {
    #[default]
    Intent,
    Idle,
    Eager,
}

impl Preload {
    pub fn as_str(self) -> &'static str {
        match self {
            Preload::Intent => "intent",
            Preload::Idle => "idle",
            Preload::Eager => "eager",
        }
    }
}

/// Whether `origin` is `*` or a bare `http(s)://host[:port]` origin, safe in a CSP.
fn is_origin_source(origin: &str) -> bool {
    if origin == "*" {
        return true;
    }
    let Some(authority) = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
    else {
        return false;
    };
    !authority.is_empty()
        && authority
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

/// The chatbot's script.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BotConfig {
    /// The bot's display name.
    pub name: String,
    /// The first message of every new conversation (when the site's bot is enabled).
    pub greeting: String,
    /// Quick replies offered with the greeting: ids of `nodes`.
    #[serde(default)]
    pub choices: Vec<ChoiceId>,
    /// The quick-reply tree: each node answers and may offer further choices.
    #[serde(default)]
    pub nodes: Vec<BotNode>,
    /// The answer when no keyword matches.
    pub fallback: String,
    /// Keyword → answer table for free text, tried in order.
    #[serde(default)]
    pub answers: Vec<BotAnswer>,
}

/// One quick reply and what the bot says when it is chosen.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BotNode {
    pub id: ChoiceId,
    /// The button's text, which also becomes the visitor's message.
    pub label: String,
    pub answer: String,
    /// Further quick replies offered with the answer: ids of other nodes.
    #[serde(default)]
    pub choices: Vec<ChoiceId>,
}

/// One row of the bot's answer table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BotAnswer {
    /// Words that select this answer, matched case-insensitively against whole words.
    pub keywords: Vec<String>,
    pub answer: String,
}

/// How requests for a human are routed, and their timers.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingConfig {
    pub mode: RoutingMode,
    /// How long a request may wait in the queue, in seconds.
    pub queue_time_secs: f64,
    /// How long an assigned agent has to accept (time-based routing), in seconds.
    pub acceptance_time_secs: f64,
}

impl Default for RoutingConfig {
    fn default() -> Self {
        RoutingConfig {
            mode: RoutingMode::Broadcast,
            queue_time_secs: 120.0,
            acceptance_time_secs: 30.0,
        }
    }
}

/// An agent.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    pub id: AgentId,
    pub name: String,
    #[serde(default = "yes")]
    pub online: bool,
    /// The concurrent-chat limit.
    #[serde(default = "two")]
    pub max_chats: usize,
    /// Seconds after which the simulated agent accepts a request it may take. Without it
    /// the agent acts only when told through the control API.
    #[serde(default)]
    pub accept_delay_secs: Option<f64>,
    /// Seconds the simulated agent "types" before each scripted reply.
    #[serde(default = "one_and_a_half")]
    pub reply_delay_secs: f64,
    /// Scripted replies: the first is said on joining, the rest answer the visitor's
    /// messages in turn (the last one repeats).
    #[serde(default)]
    pub replies: Vec<String>,
    /// Seconds of the visitor's silence after which the simulated agent closes the chat
    /// with `closing_line`; 0 never does.
    #[serde(default = "five_minutes")]
    pub idle_close_secs: f64,
    /// What the simulated agent says before closing an idle chat.
    #[serde(default = "goodbye")]
    pub closing_line: String,
}

fn ten() -> f64 {
    10.0
}
fn sixty() -> f64 {
    60.0
}
fn yes() -> bool {
    true
}
fn two() -> usize {
    2
}
fn one_and_a_half() -> f64 {
    1.5
}
fn five_minutes() -> f64 {
    300.0
}
fn goodbye() -> String {
    "It looks like you have stepped away, so I am closing this chat. Write again any time!".into()
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("the config file {path} is not valid: {message}")]
    Invalid { path: String, message: String },
}

fn seconds(value: f64) -> Option<Duration> {
    (value.is_finite() && (0.0..=86_400.0).contains(&value)).then(|| Duration::from_secs_f64(value))
}

impl ServerConfig {
    /// Parses TOML text; `origin` names the text in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            path: origin.to_string(),
            message,
        };
        let mut config: ServerConfig = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        config.check().map_err(invalid)?;
        // The widget learns only that identities are required, never the secret.
        config.site.identity_required = config.identity.enforce;
        config.site.prepare().map_err(|e| invalid(e.to_string()))?;
        // Which texts the site set itself (the parsed ones hold every default too).
        let table: toml::Table = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        config.text_overrides = table
            .get("site")
            .and_then(|site| site.get("texts"))
            .and_then(toml::Value::as_table)
            .map(|texts| {
                texts
                    .iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        config.position_given = table
            .get("site")
            .is_some_and(|site| site.get("position").is_some());
        Ok(config)
    }

    /// The corner the site chose: the one its file names, or one set in code other than
    /// the default; `None` leaves it to the language's direction.
    pub fn position(&self) -> Option<Position> {
        (self.position_given || self.site.position != Position::default())
            .then_some(self.site.position)
    }

    /// The built-in site and bot with other routing and agents, each given as the TOML of
    /// a `[routing]` table body and of `[[agents]]` tables. For tests and rehearsals.
    pub fn default_with(routing: &str, agents: &str) -> Result<Self, ConfigError> {
        let site_and_bot = DEFAULT_CONFIG_TOML
            .split("\n[routing]")
            .next()
            .unwrap_or(DEFAULT_CONFIG_TOML);
        Self::from_toml(
            &format!("{site_and_bot}\n[routing]\n{routing}\n{agents}"),
            "built-in default with other routing and agents",
        )
    }

    /// Reads and parses a TOML file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: shown.clone(),
            source,
        })?;
        Self::from_toml(&text, &shown)
    }

    /// What types alone cannot check: references, uniqueness and time ranges.
    fn check(&self) -> Result<(), String> {
        self.site.check().map_err(|e| e.to_string())?;
        let language = &self.site.language;
        if language.is_empty()
            || language.len() > 35
            || !language
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(format!(
                "site.language {language:?} is not a language tag like \"en\" or \"de-AT\", nor \"auto\""
            ));
        }
        if self
            .identity
            .secret
            .as_deref()
            .is_some_and(|s| s.len() < 16)
        {
            return Err("identity.secret must be at least 16 characters".into());
        }
        if self.identity.enforce && self.identity.secret.is_none() {
            return Err("identity.enforce = true needs identity.secret".into());
        }
        let bot = &self.bot;
        for (i, node) in bot.nodes.iter().enumerate() {
            if bot.nodes[..i].iter().any(|n| n.id == node.id) {
                return Err(format!("bot node {} is defined twice", node.id));
            }
        }
        let offered = bot
            .choices
            .iter()
            .chain(bot.nodes.iter().flat_map(|n| &n.choices));
        for choice in offered {
            if bot.node(choice).is_none() {
                return Err(format!("bot choice {choice} names no bot node"));
            }
        }
        for (i, agent) in self.agents.iter().enumerate() {
            if self.agents[..i].iter().any(|a| a.id == agent.id) {
                return Err(format!("agent {} is defined twice", agent.id));
            }
            let delays = [
                Some(agent.reply_delay_secs),
                agent.accept_delay_secs,
                Some(agent.idle_close_secs),
            ];
            if delays.into_iter().flatten().any(|d| seconds(d).is_none()) {
                return Err(format!(
                    "agent {} has a delay outside 0 to 86400 seconds",
                    agent.id
                ));
            }
            if let Err(err) = porchlight_protocol::text::message_text(&agent.closing_line) {
                return Err(format!("agent {}: closing_line: {err}", agent.id));
            }
        }
        if let Some(bad) = self
            .embedding
            .frame_ancestors
            .iter()
            .find(|o| !is_origin_source(o))
        {
            return Err(format!(
                "embedding.frame_ancestors: {bad:?} is not \"*\" or an origin like https://shop.example"
            ));
        }
        self.check_channels()?;
        self.check_lengths()?;
        self.limits.check()?;
        let routing = &self.routing;
        if seconds(routing.queue_time_secs).is_none()
            || seconds(routing.acceptance_time_secs).is_none()
        {
            return Err("routing timers must be between 0 and 86400 seconds".into());
        }
        Ok(())
    }

    /// Every string within the protocol's limits, and every bot message small enough for
    /// one frame with its quick replies, so nothing the server says can be refused by the
    /// widget. Each problem names its key.
    fn check_lengths(&self) -> Result<(), String> {
        use porchlight_protocol::limits::{MAX_FIELD_CHARS, MAX_FRAME_BYTES, MAX_NAME_CHARS};
        use porchlight_protocol::text::message_text;
        let name = |key: &str, value: &str| {
            let chars = value.trim().chars().count();
            if chars == 0 || chars > MAX_NAME_CHARS {
                Err(format!("{key}: must be 1 to {MAX_NAME_CHARS} characters"))
            } else {
                Ok(())
            }
        };
        let message = |key: &str, value: &str| {
            message_text(value)
                .map(|_| ())
                .map_err(|e| format!("{key}: {e}"))
        };
        if let Ok(serde_json::Value::Object(texts)) = serde_json::to_value(&self.site.texts) {
            for (key, value) in texts {
                if value
                    .as_str()
                    .is_some_and(|t| t.chars().count() > MAX_FIELD_CHARS)
                {
                    return Err(format!(
                        "site.texts.{key}: at most {MAX_FIELD_CHARS} characters"
                    ));
                }
            }
        }
        let bot = &self.bot;
        name("bot.name", &bot.name)?;
        message("bot.greeting", &bot.greeting)?;
        message("bot.fallback", &bot.fallback)?;
        for node in &bot.nodes {
            name(&format!("bot.nodes.{}.label", node.id), &node.label)?;
            message(&format!("bot.nodes.{}.answer", node.id), &node.answer)?;
        }
        for (i, answer) in bot.answers.iter().enumerate() {
            message(&format!("bot.answers[{i}].answer"), &answer.answer)?;
        }
        let frames = std::iter::once(("bot.greeting".to_string(), bot.greeting())).chain(
            bot.nodes.iter().map(|n| {
                (
                    format!("bot.nodes.{}", n.id),
                    bot.says(&n.answer, &n.choices),
                )
            }),
        );
        for (key, event) in frames {
            let frame = porchlight_protocol::ServerFrame::Event {
                seq: porchlight_protocol::Seq(u64::MAX),
                at_ms: u64::MAX,
                event,
            };
            let bytes = frame.encode().len();
            if bytes > MAX_FRAME_BYTES {
                return Err(format!(
                    "{key}: with its quick replies it takes {bytes} bytes, more than the \
                     {MAX_FRAME_BYTES} of one frame"
                ));
            }
        }
        for agent in &self.agents {
            name(&format!("agents.{}.name", agent.id), &agent.name)?;
            for reply in &agent.replies {
                message(&format!("agents.{}.replies", agent.id), reply)?;
            }
        }
        for channel in &self.channels {
            name(&format!("channels.{}.name", channel.id), &channel.name)?;
            for template in &channel.templates {
                name(
                    &format!("channels.{}.templates.name", channel.id),
                    &template.name,
                )?;
            }
        }
        for customer in &self.customers {
            name("customers.name", &customer.name)?;
        }
        Ok(())
    }

    /// Channel ids unique and not `web`, options only where the platform has them,
    /// customers on connected channels with valid texts.
    fn check_channels(&self) -> Result<(), String> {
        use porchlight_protocol::text::message_text;
        for (i, channel) in self.channels.iter().enumerate() {
            let id = &channel.id;
            if id.as_str() == WEB_CHANNEL || channel.kind == ChannelKind::Web {
                return Err(format!(
                    "channels: {id}: the web widget is always connected; use another id and kind"
                ));
            }
            if self.channels[..i].iter().any(|c| c.id == *id) {
                return Err(format!("channel {id} is defined twice"));
            }
            let tag_platform = matches!(
                channel.kind,
                ChannelKind::Messenger | ChannelKind::Instagram
            );
            if channel.human_agent && !tag_platform {
                return Err(format!(
                    "channels: {id}: human_agent is for messenger and instagram channels"
                ));
            }
            if !channel.templates.is_empty() && channel.kind != ChannelKind::Whatsapp {
                return Err(format!(
                    "channels: {id}: templates are for whatsapp channels"
                ));
            }
            for template in &channel.templates {
                message_text(&template.text)
                    .map_err(|e| format!("channels: {id}: template {}: {e}", template.name))?;
            }
        }
        for customer in &self.customers {
            let Some(channel) = self.channel(&customer.channel) else {
                return Err(format!(
                    "customers: {}: channel {} is not connected",
                    customer.name, customer.channel
                ));
            };
            if customer.post.is_some() && !channel.kind.is_comments() {
                return Err(format!(
                    "customers: {}: post is for comment channels",
                    customer.name
                ));
            }
            if customer.id.is_empty() || customer.id.len() > 128 {
                return Err(format!(
                    "customers: {}: id must be 1 to 128 bytes",
                    customer.name
                ));
            }
            if seconds(customer.after_secs).is_none() || seconds(customer.every_secs).is_none() {
                return Err(format!(
                    "customers: {}: delays must be between 0 and 86400 seconds",
                    customer.name
                ));
            }
            if customer.messages.is_empty() {
                return Err(format!("customers: {}: messages is empty", customer.name));
            }
            for text in &customer.messages {
                message_text(text).map_err(|e| format!("customers: {}: {e}", customer.name))?;
            }
        }
        Ok(())
    }

    /// A connected social channel.
    pub fn channel(&self, id: &ChannelId) -> Option<&ChannelConfig> {
        self.channels.iter().find(|c| &c.id == id)
    }

    /// The platform of channel `id`: the web widget's or a connected channel's.
    pub fn channel_kind(&self, id: &ChannelId) -> Option<ChannelKind> {
        if id.as_str() == WEB_CHANNEL {
            return Some(ChannelKind::Web);
        }
        self.channel(id).map(|c| c.kind)
    }

    /// The routing timers.
    pub fn timers(&self) -> Timers {
        Timers {
            queue_time: seconds(self.routing.queue_time_secs).unwrap_or_default(),
            acceptance_time: seconds(self.routing.acceptance_time_secs).unwrap_or_default(),
        }
    }

    /// The Content-Security-Policy of the widget's own page: its own scripts and
    /// WebAssembly only, no inline code, framed only by the configured origins.
    pub fn widget_csp(&self) -> String {
        let ancestors = if self.embedding.frame_ancestors.is_empty() {
            "'none'".to_string()
        } else {
            self.embedding.frame_ancestors.join(" ")
        };
        format!(
            "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
             connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; \
             frame-ancestors {ancestors}"
        )
    }

    /// The agents as routing sees them.
    pub fn routing_agents(&self) -> Vec<Agent> {
        self.agents
            .iter()
            .map(|a| Agent {
                id: a.id.clone(),
                name: a.name.clone(),
                online: a.online,
                max_chats: a.max_chats,
            })
            .collect()
    }

    /// The agent's configuration.
    pub fn agent(&self, id: &AgentId) -> Option<&AgentConfig> {
        self.agents.iter().find(|a| &a.id == id)
    }
}

impl ServerConfig {
    /// Whether the file scripts anything the simulation plays: an agent who accepts by
    /// itself, or a customer who writes by themselves.
    pub fn has_simulated_actors(&self) -> bool {
        !self.customers.is_empty() || self.agents.iter().any(|a| a.accept_delay_secs.is_some())
    }
}

impl AgentConfig {
    /// The delay before a simulated accept, if this agent is simulated.
    pub fn accept_delay(&self) -> Option<Duration> {
        self.accept_delay_secs.and_then(seconds)
    }

    pub fn reply_delay(&self) -> Duration {
        seconds(self.reply_delay_secs).unwrap_or_default()
    }

    /// How long the visitor may stay silent before the simulated agent closes the chat;
    /// `None` when it never does.
    pub fn idle_close(&self) -> Option<Duration> {
        seconds(self.idle_close_secs).filter(|d| !d.is_zero())
    }
}

impl BotConfig {
    /// The quick-reply node `id`.
    pub fn node(&self, id: &ChoiceId) -> Option<&BotNode> {
        self.nodes.iter().find(|n| &n.id == id)
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self::from_toml(DEFAULT_CONFIG_TOML, "built-in default")
            .expect("the built-in config is valid (checked by a unit test)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_default_parses_with_bot_form_broadcast_a_console_agent_and_a_simulated_one() {
        let config = ServerConfig::from_toml(DEFAULT_CONFIG_TOML, "default").expect("valid");
        assert_eq!(config.site.site.as_str(), "demo");
        assert!(config.site.bot_enabled);
        let fields: Vec<&str> = config
            .site
            .prechat
            .iter()
            .map(|f| f.name.as_str())
            .collect();
        assert_eq!(fields, vec!["name", "email", "consent"]);
        assert_eq!(config.routing.mode, RoutingMode::Broadcast);
        assert_eq!(config.agents.len(), 2);
        // Ann is played in the console; Ben takes what nobody took after 20 s and closes
        // chats left silent for 5 minutes.
        let delays: Vec<_> = config.agents.iter().map(|a| a.accept_delay()).collect();
        assert_eq!(delays, vec![None, Some(Duration::from_secs(20))]);
        assert_eq!(
            config.agents[1].idle_close(),
            Some(Duration::from_secs(300))
        );
        assert!(!config.bot.choices.is_empty());
    }

    #[test]
    fn identity_settings_stay_on_the_server() {
        let with =
            |table: &str| ServerConfig::from_toml(&format!("{DEFAULT_CONFIG_TOML}\n{table}"), "x");
        let config =
            with("[identity]\nsecret = \"0123456789abcdef\"\nenforce = true").expect("valid");
        assert!(config.site.identity_required);
        let public = serde_json::to_string(&config.site).expect("json");
        assert!(!public.contains("0123456789abcdef"), "{public}");
        assert!(!format!("{:?}", config.identity).contains("0123456789abcdef"));
        let err = with("[identity]\nenforce = true").expect_err("no secret");
        assert!(err.to_string().contains("identity.secret"), "{err}");
        let err = with("[identity]\nsecret = \"short\"").expect_err("short");
        assert!(err.to_string().contains("identity.secret"), "{err}");
        assert!(
            !with("[identity]\nsecret = \"0123456789abcdef\"")
                .expect("valid")
                .site
                .identity_required
        );
    }

    #[test]
    fn the_theme_is_checked_and_the_brand_text_colour_chosen_at_load() {
        let config = ServerConfig::from_toml(DEFAULT_CONFIG_TOML, "default").expect("valid");
        assert!(
            porchlight_protocol::theme::contrast_ratio(
                &config.site.brand_color,
                &config.site.brand_text_color
            ) >= 4.5
        );
        let with = |lines: &str| {
            let site = DEFAULT_CONFIG_TOML.replacen(
                "brand_color = \"#1f6feb\"\n",
                &format!("{lines}\n"),
                1,
            );
            ServerConfig::from_toml(&site, "x.toml")
        };
        let light = with("brand_color = \"#ffd700\"\ncolor_scheme = \"auto\"\nz_index = 10\noffset_x = 0\noffset_y = 200\nlauncher_label = \"Chat\"")
            .expect("valid");
        assert_eq!(light.site.brand_text_color.as_str(), "#111111");
        assert_eq!(
            light.site.color_scheme,
            porchlight_protocol::ColorScheme::Auto
        );
        let err = with("brand_color = \"#797979\"").expect_err("unreadable");
        assert!(err.to_string().contains("#797979"), "{err}");
        assert!(with("offset_x = 201").is_err());
        assert!(with("offset_y = 200").is_ok());
        assert!(with("launcher_label = \"\"").is_err());
        assert!(with("z_index = 3000000000").is_err());
        assert!(with("color_scheme = \"sepia\"").is_err());
    }

    #[test]
    fn unknown_keys_are_named_in_the_error() {
        let text = DEFAULT_CONFIG_TOML.replace("[bot]", "[bot]\ngretting = \"typo\"");
        let err = ServerConfig::from_toml(&text, "x.toml").expect_err("unknown key");
        let message = err.to_string();
        assert!(message.contains("x.toml"), "{message}");
        assert!(message.contains("gretting"), "{message}");
    }

    #[test]
    fn strings_beyond_the_protocols_limits_are_refused_naming_the_key() {
        let long = "x".repeat(2_001);
        let many_choices: String = (0..200)
            .map(|i| {
                format!(
                    "\n[[bot.nodes]]\nid = \"n{i}\"\nlabel = \"{}\"\nanswer = \"a\"\n",
                    "y".repeat(80)
                )
            })
            .collect();
        let choice_ids: Vec<String> = (0..200).map(|i| format!("\"n{i}\"")).collect();
        let cases = [
            (
                DEFAULT_CONFIG_TOML.replace(
                    "name = \"Porchlight bot\"",
                    &format!("name = \"{}\"", "b".repeat(81)),
                ),
                "bot.name",
            ),
            (
                DEFAULT_CONFIG_TOML.replace(
                    "answer = \"We are open Monday to Friday, 9:00 to 18:00 (CET).\"",
                    &format!("answer = \"{long}\""),
                ),
                "answer",
            ),
            (
                DEFAULT_CONFIG_TOML.replace("name = \"Ben\"", "name = \"  \""),
                "agents.ben.name",
            ),
            (
                DEFAULT_CONFIG_TOML.replace(
                    "title = \"Porchlight demo\"",
                    &format!("title = \"{}\"", "t".repeat(201)),
                ),
                "site.texts.title",
            ),
            (
                DEFAULT_CONFIG_TOML
                    .replace(
                        "choices = [\"pricing\", \"hours\", \"shipping\"]",
                        &format!("choices = [{}]", choice_ids.join(", ")),
                    )
                    .replacen(
                        "[[bot.answers]]",
                        &format!("{many_choices}\n[[bot.answers]]"),
                        1,
                    ),
                "bot.greeting",
            ),
        ];
        for (text, key) in cases {
            let err = ServerConfig::from_toml(&text, "x.toml").expect_err(key);
            assert!(err.to_string().contains(key), "{err} should name {key}");
        }
    }

    #[test]
    fn a_bad_brand_colour_is_refused() {
        let text = DEFAULT_CONFIG_TOML.replace("#1f6feb", "red; background: url(x)");
        assert!(ServerConfig::from_toml(&text, "x.toml").is_err());
    }

    #[test]
    fn a_choice_naming_no_node_is_refused() {
        let text =
            DEFAULT_CONFIG_TOML.replacen("choices = [\"pricing\"", "choices = [\"nowhere\"", 1);
        assert_ne!(text, DEFAULT_CONFIG_TOML);
        let err = ServerConfig::from_toml(&text, "x.toml").expect_err("dangling choice");
        assert!(err.to_string().contains("nowhere"), "{err}");
    }

    #[test]
    fn the_default_can_take_other_routing_and_agents() {
        let config = ServerConfig::default_with(
            "mode = \"time-based\"\nqueue_time_secs = 5\nacceptance_time_secs = 1",
            "[[agents]]\nid = \"zoe\"\nname = \"Zoe\"",
        )
        .expect("valid");
        assert_eq!(config.routing.mode, RoutingMode::TimeBased);
        assert_eq!(config.agents.len(), 1);
        assert_eq!(config.site, ServerConfig::default().site);
    }

    #[test]
    fn frame_ancestors_must_be_origins_and_shape_the_widget_csp() {
        let with = |list: &str| {
            ServerConfig::from_toml(
                &DEFAULT_CONFIG_TOML.replace(
                    "frame_ancestors = [\"*\"]",
                    &format!("frame_ancestors = [{list}]"),
                ),
                "x.toml",
            )
        };
        let config = with("\"https://shop.example\", \"http://localhost:8080\"").expect("valid");
        let csp = config.widget_csp();
        assert!(
            csp.ends_with("frame-ancestors https://shop.example http://localhost:8080"),
            "{csp}"
        );
        assert!(
            csp.contains("script-src 'self' 'wasm-unsafe-eval'"),
            "{csp}"
        );
        assert!(!csp.contains("unsafe-eval'") || csp.contains("'wasm-unsafe-eval'"));
        assert!(!csp.contains("'unsafe-inline'"));
        for bad in [
            "\"shop.example\"",
            "\"https://a.example; script-src *\"",
            "\"https://a.example/path\"",
        ] {
            assert!(with(bad).is_err(), "{bad}");
        }
        assert!(
            ServerConfig::default()
                .widget_csp()
                .ends_with("frame-ancestors *")
        );
    }

    #[test]
    fn negative_timers_are_refused() {
        let text = DEFAULT_CONFIG_TOML.replace("queue_time_secs = 120", "queue_time_secs = -1");
        assert_ne!(text, DEFAULT_CONFIG_TOML);
        assert!(ServerConfig::from_toml(&text, "x.toml").is_err());
    }
}
