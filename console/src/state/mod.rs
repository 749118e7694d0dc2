//! The console's state: inputs in, effects out, no DOM, no clock, no I/O.
//!
//! [`Console::update`] is the one place where the desk as the console knows it changes. The
//! runtime feeds it the agent's actions, link events and [`DeskFrame`]s (with the local
//! time where time matters) and carries out the [`Effect`]s it returns; the view only
//! renders [`Console`]. The folders are views computed from the summaries ([`folders`]),
//! and every sentence shown is made in [`words`], so all of it is unit-tested natively.
//!
//! Rules kept here: a `welcome` replaces everything held (and the open chat, the search and
//! any unacknowledged message are asked for or sent again); deadlines are shown against the
//! server's clock, estimated from the `now_ms` of the latest `welcome` or `conversation`;
//! the open chat's events are taken in `seq` order exactly once (a gap asks for the chat
//! again); an agent message stays pending until it is acked and its event arrives; typing
//! goes out at most every [`TYPING_EVERY_MS`] and stops after [`TYPING_IDLE_MS`]; the link
//! pings every [`PING_AFTER_MS`], is reopened when silent for [`DEAD_AFTER_MS`], and is
//! never reopened once the desk said the token is wrong.
//!
//! Social channels ([`channels`]): what the composer allows is asked of the platforms'
//! rules at the server's mock time; on a comment a message is a public or a private reply
//! (each send returns to public); a send the platform refused is never shown as sent, and
//! the alert gives the platform's code.

pub mod channels;
pub mod folders;
pub mod gate;
pub mod words;

#[cfg(test)]
mod tests;

use porchlight_protocol::channels::PlatformError;
use porchlight_protocol::console::{
    AgentStatus, AnswerLine, ChannelInfo, ConsoleError, ConversationSummary, Folder, RoutingMode,
    Stage,
};
use porchlight_protocol::{
    AdminToken, AgentId, AuthorKind, ChannelId, ConsoleFrame, ConversationEvent, ConversationId,
    DeskFrame, EventRecord, KnownIdentity, MessageId, PROTOCOL_VERSION, Seq, text,
};
use std::collections::BTreeMap;

pub use channels::{Composer, ReplyKind};

/// An online link sends a `ping` this often; the desk answers `pong`.
pub const PING_AFTER_MS: u64 = 20_000;
/// A link silent this long is dead and is reopened (two pings fit in it).
pub const DEAD_AFTER_MS: u64 = 50_000;
/// `typing: true` goes out at most this often while the agent keeps typing.
pub const TYPING_EVERY_MS: u64 = 3_000;
/// `typing: false` goes out after the draft has not changed for this long.
pub const TYPING_IDLE_MS: u64 = 4_000;
/// The history search goes out once the query has not changed for this long.
pub const SEARCH_DEBOUNCE_MS: u64 = 300;
/// How often the runtime feeds [`Input::Tick`] (the countdowns move at this pace too).
pub const TICK_MS: u64 = 1_000;

/// Who is signed in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Who {
    /// An agent of the server's configuration.
    Agent(AgentId),
    /// An admin, who sees every folder of every agent and acts on none.
    Admin,
}

impl Who {
    /// The signed-in agent, `None` for an admin.
    pub fn agent(&self) -> Option<&AgentId> {
        match self {
            Who::Agent(id) => Some(id),
            Who::Admin => None,
        }
    }
}

/// Why the console stopped trying to reach the desk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// The desk refused the token.
    WrongToken,
    /// The desk refused the sign-in for another reason, told in this sentence.
    Refused(String),
}

/// The state of the console's link to the desk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkState {
    /// A socket is opening, or open and waiting for `welcome`.
    Connecting,
    /// `welcome` received: frames flow.
    Online,
    /// The socket dropped; a reconnect is scheduled.
    Reconnecting,
    /// The desk refused us; nothing is retried.
    Stopped(Stop),
}

/// A line for a live region: `serial` changes with every new line, so the same sentence
/// said twice is announced twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub serial: u32,
    pub text: String,
}

/// The answer to the latest history search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub query: String,
    pub conversations: Vec<ConversationId>,
}

/// What an outgoing agent message is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutKind {
    /// A text message (on a comment: a public reply).
    Text,
    /// A private reply to a commenter.
    Private,
    /// A WhatsApp template, by name.
    Template(String),
}

/// An agent message sent and not yet shown back as an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub conversation: ConversationId,
    pub id: MessageId,
    /// The text as sent; a template's name.
    pub text: String,
    pub kind: OutKind,
    /// Stored by the desk as this seq; its event has not arrived yet.
    pub acked: Option<Seq>,
}

impl Outgoing {
    fn frame(&self) -> ConsoleFrame {
        let conversation = self.conversation.clone();
        let id = self.id.clone();
        match &self.kind {
            OutKind::Text => ConsoleFrame::SendText {
                conversation,
                id,
                text: self.text.clone(),
            },
            OutKind::Private => ConsoleFrame::PrivateReply {
                conversation,
                id,
                text: self.text.clone(),
            },
            OutKind::Template(template) => ConsoleFrame::SendTemplate {
                conversation,
                id,
                template: template.clone(),
            },
        }
    }
}

/// The conversation shown in the chat view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chat {
    pub id: ConversationId,
    /// The desk's `detail` has arrived.
    pub loaded: bool,
    pub answers: Vec<AnswerLine>,
    /// Who the visitor said they are, verified or not.
    pub identity: Option<KnownIdentity>,
    /// Every event in seq order.
    pub events: Vec<EventRecord>,
    pub visitor_typing: bool,
    /// When our last `typing: true` went out; `Some` while the desk thinks we type.
    pub typing_sent_ms: Option<u64>,
    /// When the draft last changed while not empty.
    pub draft_ms: Option<u64>,
    /// On a comment: how the next message goes out.
    pub reply: ReplyKind,
}

impl Chat {
    fn new(id: ConversationId) -> Self {
        Chat {
            id,
            loaded: false,
            answers: Vec::new(),
            identity: None,
            events: Vec::new(),
            visitor_typing: false,
            typing_sent_ms: None,
            draft_ms: None,
            reply: ReplyKind::Public,
        }
    }

    /// The newest event held.
    pub fn last_seq(&self) -> Seq {
        self.events.last().map_or(Seq(0), |r| r.seq)
    }
}

/// Something that happened: an action of the agent, a link event or a desk frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// The console is signed in: connect.
    Start,
    /// The socket opened at local time `now_ms`.
    LinkOpened {
        now_ms: u64,
    },
    /// The socket closed or failed.
    LinkClosed,
    /// The scheduled reconnect is due.
    ReconnectDue,
    /// The browser came back online or the tab became visible.
    RetryNow,
    /// The runtime's clock ticked (every [`TICK_MS`]) at local time `now_ms`.
    Tick {
        now_ms: u64,
    },
    /// A frame arrived from the desk at local time `now_ms`.
    Frame {
        frame: DeskFrame,
        now_ms: u64,
    },
    /// The agent's online/offline toggle.
    SetOnline(bool),
    ShowFolder(Folder),
    /// The channel filter; `None` is every channel.
    FilterChannel(Option<ChannelId>),
    /// The post filter (comments); `None` is every post.
    FilterPost(Option<String>),
    /// The agent filter (admins); `None` is every agent.
    FilterAgent(Option<AgentId>),
    /// The history search box changed.
    SearchTyped(String),
    /// The debounce of the search `query` ran out.
    SearchDue(String),
    /// Accept (queue) or Start chat (engaged).
    Accept(ConversationId),
    /// Show a conversation in the chat view.
    Open(ConversationId),
    /// Hide the chat view.
    CloseView,
    /// The composer's draft changed at local time `now_ms`.
    Draft {
        empty: bool,
        now_ms: u64,
    },
    /// Send `text` (unvalidated) in the open chat under a fresh client-made `id`: a message,
    /// or on a comment a public or private reply as [`Chat::reply`] says.
    Send {
        id: MessageId,
        text: String,
    },
    /// On a comment: how the next message goes out.
    ReplyAs(ReplyKind),
    /// Send a WhatsApp template in the open chat under a fresh client-made `id`.
    SendTemplate {
        id: MessageId,
        template: String,
    },
    /// Hide the open chat's comment (after the agent confirmed).
    HideComment,
    /// Delete the open chat's comment (after the agent confirmed).
    DeleteComment,
    /// A customer message on a social channel, as its platform would deliver it.
    Simulate {
        channel: ChannelId,
        name: String,
        text: String,
    },
    /// Close a live chat.
    CloseChat(ConversationId),
    DismissAlert,
}

/// What the runtime must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Open a new socket (closing any old one first).
    Connect,
    /// Close the socket for good.
    Disconnect,
    /// Send this frame on the open socket.
    Transmit(ConsoleFrame),
    /// Feed [`Input::ReconnectDue`] back after a backoff delay for this attempt (1, 2, …).
    ScheduleReconnect { attempt: u32 },
    /// Feed [`Input::SearchDue`] back after [`SEARCH_DEBOUNCE_MS`].
    ScheduleSearch { query: String },
}

/// The console's whole state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Console {
    pub token: AdminToken,
    pub who: Who,
    pub link: LinkState,
    /// A `welcome` has arrived on the current socket.
    pub welcomed: bool,
    /// Failed connection attempts since the link was last online.
    pub attempts: u32,
    pub routing: Option<RoutingMode>,
    pub agents: Vec<AgentStatus>,
    pub channels: Vec<ChannelInfo>,
    pub conversations: BTreeMap<ConversationId, ConversationSummary>,
    /// Server time minus local time, in milliseconds, as of the latest timed frame. The
    /// server's time is the mock's wall clock, so this includes [`Console::mock_offset_ms`].
    pub clock_offset_ms: i64,
    /// How far the mock's wall clock was moved ahead of the real one.
    pub mock_offset_ms: u64,
    /// The folder on show.
    pub folder: Folder,
    pub channel_filter: Option<ChannelId>,
    /// The post filter (comment conversations on this post only).
    pub post_filter: Option<String>,
    pub agent_filter: Option<AgentId>,
    /// The history search box's text.
    pub search: String,
    pub found: Option<Found>,
    pub chat: Option<Chat>,
    /// Agent messages not yet shown back as events, oldest first.
    pub outbox: Vec<Outgoing>,
    /// A request we accepted: when it turns live with us, it opens in the chat view.
    pub accepting: Option<ConversationId>,
    /// The last refusal, as a sentence for `role="alert"`.
    pub alert: Option<Notice>,
    /// The last line for the polite live region.
    pub announcement: Option<Notice>,
    serial: u32,
    /// When the last frame arrived (local time), to tell a live link from a dead one.
    pub heard_ms: Option<u64>,
    /// When the last `ping` went out (or the link came online).
    pub pinged_ms: Option<u64>,
}

impl Console {
    /// A console signed in as `who` with `token`, not yet connected (feed [`Input::Start`]).
    pub fn new(token: AdminToken, who: Who) -> Self {
        Console {
            token,
            who,
            link: LinkState::Connecting,
            welcomed: false,
            attempts: 0,
            routing: None,
            agents: Vec::new(),
            channels: Vec::new(),
            conversations: BTreeMap::new(),
            clock_offset_ms: 0,
            mock_offset_ms: 0,
            folder: Folder::Queue,
            channel_filter: None,
            post_filter: None,
            agent_filter: None,
            search: String::new(),
            found: None,
            chat: None,
            outbox: Vec::new(),
            accepting: None,
            alert: None,
            announcement: None,
            serial: 0,
            heard_ms: None,
            pinged_ms: None,
        }
    }

    /// The signed-in agent's status, if an agent is signed in and the desk told it.
    pub fn me(&self) -> Option<&AgentStatus> {
        let me = self.who.agent()?;
        self.agents.iter().find(|a| &a.id == me)
    }

    /// Whether the signed-in agent may write in (and close) `conversation`: it is live
    /// with them.
    pub fn can_write(&self, conversation: &ConversationId) -> bool {
        let Some(me) = self.who.agent() else {
            return false;
        };
        self.conversations
            .get(conversation)
            .is_some_and(|s| s.stage == Stage::Live && s.agent.as_ref() == Some(me))
    }

    /// The agent messages of `conversation` still on their way.
    pub fn pending(&self, conversation: &ConversationId) -> impl Iterator<Item = &Outgoing> {
        self.outbox
            .iter()
            .filter(move |o| &o.conversation == conversation)
    }

    /// Applies one input and returns what the runtime must do.
    pub fn update(&mut self, input: Input) -> Vec<Effect> {
        match input {
            Input::Start => self.connect(),
            Input::LinkOpened { now_ms } => {
                if matches!(self.link, LinkState::Stopped(_)) {
                    return Vec::new();
                }
                self.heard_ms = Some(now_ms);
                vec![Effect::Transmit(ConsoleFrame::Hello {
                    version: PROTOCOL_VERSION,
                    token: self.token.clone(),
                    agent: self.who.agent().cloned(),
                })]
            }
            Input::LinkClosed => self.link_lost(),
            Input::ReconnectDue | Input::RetryNow => {
                if self.link == LinkState::Reconnecting {
                    self.connect()
                } else {
                    Vec::new()
                }
            }
            Input::Tick { now_ms } => self.tick(now_ms),
            Input::Frame { frame, now_ms } => self.frame(frame, now_ms),
            Input::SetOnline(online) => match self.who {
                Who::Agent(_) => self.act(ConsoleFrame::SetOnline { online }),
                Who::Admin => Vec::new(),
            },
            Input::ShowFolder(folder) => {
                self.folder = folder;
                Vec::new()
            }
            Input::FilterChannel(channel) => {
                self.channel_filter = channel;
                Vec::new()
            }
            Input::FilterPost(post) => {
                self.post_filter = post;
                Vec::new()
            }
            Input::FilterAgent(agent) => {
                self.agent_filter = agent;
                Vec::new()
            }
            Input::SearchTyped(query) => {
                let trimmed = query.trim().to_string();
                self.search = query;
                if trimmed.is_empty() {
                    self.found = None;
                    Vec::new()
                } else {
                    vec![Effect::ScheduleSearch { query: trimmed }]
                }
            }
            Input::SearchDue(query) => {
                if self.search.trim() == query && self.link == LinkState::Online {
                    vec![Effect::Transmit(ConsoleFrame::Search { query })]
                } else {
                    Vec::new()
                }
            }
            Input::Accept(conversation) => {
                self.alert = None;
                let effects = self.act(ConsoleFrame::Accept {
                    conversation: conversation.clone(),
                });
                if !effects.is_empty() {
                    self.accepting = Some(conversation);
                }
                effects
            }
            Input::Open(conversation) => self.open(conversation),
            Input::CloseView => {
                let effects = self.stop_typing();
                self.chat = None;
                effects
            }
            Input::Draft { empty, now_ms } => self.draft(empty, now_ms),
            Input::Send { id, text } => self.send(id, &text),
            Input::ReplyAs(reply) => {
                if let Some(chat) = self.chat.as_mut() {
                    chat.reply = reply;
                }
                Vec::new()
            }
            Input::SendTemplate { id, template } => self.send_template(id, template),
            Input::HideComment => self.comment_action(true),
            Input::DeleteComment => self.comment_action(false),
            Input::Simulate {
                channel,
                name,
                text,
            } => self.simulate(channel, &name, &text),
            Input::CloseChat(conversation) => {
                self.alert = None;
                let mut effects = self.stop_typing();
                effects.extend(self.act(ConsoleFrame::Close { conversation }));
                effects
            }
            Input::DismissAlert => {
                self.alert = None;
                Vec::new()
            }
        }
    }

    fn notice(&mut self, text: String) -> Notice {
        self.serial = self.serial.wrapping_add(1);
        Notice {
            serial: self.serial,
            text,
        }
    }

    fn set_alert(&mut self, text: String) {
        self.alert = Some(self.notice(text));
    }

    fn announce(&mut self, text: String) {
        self.announcement = Some(self.notice(text));
    }

    fn connect(&mut self) -> Vec<Effect> {
        if matches!(self.link, LinkState::Stopped(_)) {
            return Vec::new();
        }
        self.link = LinkState::Connecting;
        self.welcomed = false;
        self.heard_ms = None;
        self.pinged_ms = None;
        vec![Effect::Connect]
    }

    fn link_lost(&mut self) -> Vec<Effect> {
        if matches!(self.link, LinkState::Stopped(_)) {
            return Vec::new();
        }
        self.link = LinkState::Reconnecting;
        self.welcomed = false;
        self.attempts = self.attempts.saturating_add(1);
        // The desk forgets our typing with the socket.
        if let Some(chat) = &mut self.chat {
            chat.typing_sent_ms = None;
        }
        vec![Effect::ScheduleReconnect {
            attempt: self.attempts,
        }]
    }

    fn stop(&mut self, why: Stop) -> Vec<Effect> {
        self.link = LinkState::Stopped(why);
        self.welcomed = false;
        vec![Effect::Disconnect]
    }

    /// Sends `frame` if the link is up; otherwise says why nothing happened.
    fn act(&mut self, frame: ConsoleFrame) -> Vec<Effect> {
        if self.link == LinkState::Online {
            vec![Effect::Transmit(frame)]
        } else {
            self.set_alert(words::NOT_CONNECTED.to_string());
            Vec::new()
        }
    }

    fn transmit_if_online(&self, frame: ConsoleFrame) -> Vec<Effect> {
        if self.link == LinkState::Online {
            vec![Effect::Transmit(frame)]
        } else {
            Vec::new()
        }
    }

    fn tick(&mut self, now_ms: u64) -> Vec<Effect> {
        let mut effects = Vec::new();
        let opened = matches!(self.link, LinkState::Connecting | LinkState::Online);
        if let (true, Some(heard)) = (opened, self.heard_ms)
            && now_ms.saturating_sub(heard) >= DEAD_AFTER_MS
        {
            // Silent too long: this socket is dead. Open another at once.
            self.attempts = self.attempts.saturating_add(1);
            return self.connect();
        }
        if self.link == LinkState::Online
            && self
                .pinged_ms
                .is_none_or(|p| now_ms.saturating_sub(p) >= PING_AFTER_MS)
        {
            self.pinged_ms = Some(now_ms);
            effects.push(Effect::Transmit(ConsoleFrame::Ping {}));
        }
        let idle = self.chat.as_ref().is_some_and(|c| {
            c.typing_sent_ms.is_some()
                && c.draft_ms
                    .is_none_or(|d| now_ms.saturating_sub(d) >= TYPING_IDLE_MS)
        });
        if idle {
            effects.extend(self.stop_typing());
        }
        effects
    }

    fn open(&mut self, conversation: ConversationId) -> Vec<Effect> {
        let mut effects = Vec::new();
        if self.chat.as_ref().is_some_and(|c| c.id != conversation) {
            effects.extend(self.stop_typing());
        }
        if self.chat.as_ref().is_none_or(|c| c.id != conversation) {
            self.chat = Some(Chat::new(conversation.clone()));
        }
        effects.extend(self.transmit_if_online(ConsoleFrame::Open { conversation }));
        effects
    }

    fn draft(&mut self, empty: bool, now_ms: u64) -> Vec<Effect> {
        let Some(id) = self.chat.as_ref().map(|c| c.id.clone()) else {
            return Vec::new();
        };
        if empty {
            return self.stop_typing();
        }
        if !self.can_write(&id) || self.link != LinkState::Online {
            return Vec::new();
        }
        let chat = self.chat.as_mut().expect("checked above");
        chat.draft_ms = Some(now_ms);
        let due = chat
            .typing_sent_ms
            .is_none_or(|t| now_ms.saturating_sub(t) >= TYPING_EVERY_MS);
        if !due {
            return Vec::new();
        }
        chat.typing_sent_ms = Some(now_ms);
        vec![Effect::Transmit(ConsoleFrame::Typing {
            conversation: id,
            typing: true,
        })]
    }

    /// `typing: false` for the open chat, if the desk thinks we type.
    fn stop_typing(&mut self) -> Vec<Effect> {
        let Some(chat) = self.chat.as_mut() else {
            return Vec::new();
        };
        chat.draft_ms = None;
        if chat.typing_sent_ms.take().is_none() {
            return Vec::new();
        }
        let frame = ConsoleFrame::Typing {
            conversation: chat.id.clone(),
            typing: false,
        };
        self.transmit_if_online(frame)
    }

    fn send(&mut self, id: MessageId, raw: &str) -> Vec<Effect> {
        let Some(conversation) = self.chat.as_ref().map(|c| c.id.clone()) else {
            return Vec::new();
        };
        if !self.can_write(&conversation) {
            self.set_alert(words::NOT_YOUR_CHAT.to_string());
            return Vec::new();
        }
        let Ok(text) = text::message_text(raw) else {
            return Vec::new();
        };
        let kind = match self.chat.as_mut().map(|c| std::mem::take(&mut c.reply)) {
            Some(ReplyKind::Private) if self.is_comment(&conversation) => OutKind::Private,
            _ => OutKind::Text,
        };
        self.queue_out(Outgoing {
            conversation,
            id,
            text: text.to_string(),
            kind,
            acked: None,
        })
    }

    fn send_template(&mut self, id: MessageId, template: String) -> Vec<Effect> {
        let Some(conversation) = self.chat.as_ref().map(|c| c.id.clone()) else {
            return Vec::new();
        };
        if !self.can_write(&conversation) {
            self.set_alert(words::NOT_YOUR_CHAT.to_string());
            return Vec::new();
        }
        if template.is_empty() {
            return Vec::new();
        }
        self.queue_out(Outgoing {
            conversation,
            id,
            text: template.clone(),
            kind: OutKind::Template(template),
            acked: None,
        })
    }

    /// Sends `out` now if the link is up, else after the next welcome (the desk stores an
    /// id once), and keeps it pending until its event arrives.
    fn queue_out(&mut self, out: Outgoing) -> Vec<Effect> {
        self.alert = None;
        let mut effects = self.stop_typing();
        effects.extend(self.transmit_if_online(out.frame()));
        self.outbox.push(out);
        effects
    }

    /// Hides (`hide`) or deletes the open chat's comment.
    fn comment_action(&mut self, hide: bool) -> Vec<Effect> {
        let Some(conversation) = self.chat.as_ref().map(|c| c.id.clone()) else {
            return Vec::new();
        };
        if !self.can_write(&conversation) {
            self.set_alert(words::NOT_YOUR_CHAT.to_string());
            return Vec::new();
        }
        if !self.is_comment(&conversation) {
            return Vec::new();
        }
        self.alert = None;
        self.act(if hide {
            ConsoleFrame::HideComment { conversation }
        } else {
            ConsoleFrame::DeleteComment { conversation }
        })
    }

    fn simulate(&mut self, channel: ChannelId, name: &str, raw: &str) -> Vec<Effect> {
        let name = name.trim();
        let Ok(text) = text::message_text(raw) else {
            return Vec::new();
        };
        if name.is_empty() || !self.simulated_channels().iter().any(|c| c.id == channel) {
            return Vec::new();
        }
        self.alert = None;
        self.act(ConsoleFrame::Simulate {
            channel,
            name: name.to_string(),
            text: text.to_string(),
        })
    }

    fn frame(&mut self, frame: DeskFrame, now_ms: u64) -> Vec<Effect> {
        if matches!(self.link, LinkState::Stopped(_)) {
            return Vec::new();
        }
        self.heard_ms = Some(now_ms);
        match frame {
            DeskFrame::Welcome {
                now_ms: server_ms,
                routing,
                clock_offset_ms,
                agents,
                channels,
                conversations,
                ..
            } => {
                self.link = LinkState::Online;
                self.welcomed = true;
                self.attempts = 0;
                self.pinged_ms = Some(now_ms);
                self.clock_offset_ms = offset(server_ms, now_ms);
                self.mock_offset_ms = clock_offset_ms;
                self.routing = Some(routing);
                self.agents = agents;
                self.channels = channels;
                self.conversations = conversations
                    .into_iter()
                    .map(|s| (s.id.clone(), s))
                    .collect();
                if let Some(c) = &self.channel_filter
                    && !self.channels.iter().any(|ch| &ch.id == c)
                {
                    self.channel_filter = None;
                }
                if let Some(a) = &self.agent_filter
                    && !self.agents.iter().any(|ag| &ag.id == a)
                {
                    self.agent_filter = None;
                }
                self.after_welcome()
            }
            DeskFrame::Conversation {
                now_ms: server_ms,
                summary,
            } => {
                self.clock_offset_ms = offset(server_ms, now_ms);
                self.upsert(*summary)
            }
            DeskFrame::Clock {
                now_ms: server_ms,
                offset_ms,
            } => {
                self.clock_offset_ms = offset(server_ms, now_ms);
                self.mock_offset_ms = offset_ms;
                Vec::new()
            }
            DeskFrame::Agent { status } => {
                match self.agents.iter_mut().find(|a| a.id == status.id) {
                    Some(agent) => *agent = status,
                    None => self.agents.push(status),
                }
                Vec::new()
            }
            DeskFrame::Detail {
                conversation,
                answers,
                events,
                visitor_typing,
                identity,
            } => {
                if let Some(chat) = self.chat.as_mut().filter(|c| c.id == conversation) {
                    let newer: Vec<EventRecord> = chat
                        .events
                        .drain(..)
                        .filter(|r| events.last().is_some_and(|l| r.seq > l.seq))
                        .collect();
                    chat.events = events;
                    chat.events.extend(newer);
                    chat.answers = answers;
                    chat.identity = identity;
                    chat.visitor_typing = visitor_typing;
                    chat.loaded = true;
                    self.prune_outbox();
                }
                Vec::new()
            }
            DeskFrame::Event {
                conversation,
                seq,
                at_ms,
                event,
            } => self.event(conversation, EventRecord { seq, at_ms, event }),
            DeskFrame::VisitorTyping {
                conversation,
                typing,
            } => {
                if let Some(chat) = self.chat.as_mut().filter(|c| c.id == conversation) {
                    chat.visitor_typing = typing;
                }
                Vec::new()
            }
            DeskFrame::Ack {
                conversation,
                id,
                seq,
            } => {
                if let Some(out) = self
                    .outbox
                    .iter_mut()
                    .find(|o| o.id == id && o.conversation == conversation)
                {
                    out.acked = Some(seq);
                }
                self.prune_outbox();
                Vec::new()
            }
            DeskFrame::Found {
                query,
                conversations,
            } => {
                if query == self.search.trim() {
                    self.found = Some(Found {
                        query,
                        conversations,
                    });
                }
                Vec::new()
            }
            DeskFrame::Refused {
                code,
                message,
                conversation,
                platform,
            } => self.refused(code, &message, conversation, platform.as_ref()),
            DeskFrame::Pong {} => Vec::new(),
        }
    }

    /// After a `welcome`: ask again for the open chat and the search, resend what waits.
    fn after_welcome(&mut self) -> Vec<Effect> {
        let mut effects = Vec::new();
        if let Some(chat) = &mut self.chat {
            chat.typing_sent_ms = None;
            effects.push(Effect::Transmit(ConsoleFrame::Open {
                conversation: chat.id.clone(),
            }));
        }
        // A message of a chat that is no longer ours can never be sent.
        let outbox = std::mem::take(&mut self.outbox);
        self.outbox = outbox
            .into_iter()
            .filter(|o| o.acked.is_some() || self.can_write(&o.conversation))
            .collect();
        effects.extend(
            self.outbox
                .iter()
                .filter(|o| o.acked.is_none())
                .map(|o| Effect::Transmit(o.frame())),
        );
        let query = self.search.trim();
        if !query.is_empty() {
            effects.push(Effect::Transmit(ConsoleFrame::Search {
                query: query.to_string(),
            }));
        }
        effects
    }

    /// Whether `summary` is a request the signed-in person should hear about: anything in
    /// the queue, and an engaged request offered to this agent (an admin: to anyone).
    fn is_request_for_me(&self, summary: &ConversationSummary) -> bool {
        match summary.stage {
            Stage::Queued => true,
            Stage::Connecting => match &self.who {
                Who::Agent(me) => summary.agent.as_ref() == Some(me),
                Who::Admin => true,
            },
            _ => false,
        }
    }

    fn upsert(&mut self, summary: ConversationSummary) -> Vec<Effect> {
        let was_request = self
            .conversations
            .get(&summary.id)
            .is_some_and(|old| self.is_request_for_me(old));
        if !was_request && self.is_request_for_me(&summary) {
            self.announce(words::new_request(&summary));
        }
        let id = summary.id.clone();
        let live_with_me = self.who.agent().is_some()
            && summary.stage == Stage::Live
            && summary.agent.as_ref() == self.who.agent();
        let settled = !matches!(summary.stage, Stage::Queued | Stage::Connecting);
        self.conversations.insert(id.clone(), summary);
        // Unacked messages of a chat no longer ours can never be stored: drop them.
        if !self.can_write(&id) {
            self.outbox
                .retain(|o| o.conversation != id || o.acked.is_some());
        }
        if self.accepting.as_ref() == Some(&id) && settled {
            self.accepting = None;
            if live_with_me {
                // The accepted request is now our chat: show it.
                self.folder = Folder::Live;
                return self.open(id);
            }
        }
        Vec::new()
    }

    fn event(&mut self, conversation: ConversationId, record: EventRecord) -> Vec<Effect> {
        // The desk names the visitor as the widget shows them ("You"); say who they are.
        let visitor = self
            .conversations
            .get(&conversation)
            .map(words::visitor_name);
        let Some(chat) = self.chat.as_mut().filter(|c| c.id == conversation) else {
            return Vec::new();
        };
        if !chat.loaded || record.seq <= chat.last_seq() {
            // Before `detail` the detail holds it; at or below what we hold it is a repeat.
            return Vec::new();
        }
        if record.seq != chat.last_seq().next() {
            // A gap: ask for the whole chat again.
            chat.loaded = false;
            return self.transmit_if_online(ConsoleFrame::Open { conversation });
        }
        let announcement = match &record.event {
            ConversationEvent::MessageReceived { author, text, .. }
                if author.kind == AuthorKind::Visitor =>
            {
                chat.visitor_typing = false;
                Some(words::visitor_message(
                    visitor.as_deref().unwrap_or(&author.name),
                    text,
                ))
            }
            _ => None,
        };
        chat.events.push(record);
        if let Some(line) = announcement {
            self.announce(line);
        }
        self.prune_outbox();
        Vec::new()
    }

    /// Forgets outgoing messages whose event the open chat now holds (or that were acked
    /// in a chat not on show, where the event will never arrive).
    fn prune_outbox(&mut self) {
        let chat = self.chat.as_ref();
        self.outbox.retain(|o| {
            let Some(seq) = o.acked else {
                return true;
            };
            match chat.filter(|c| c.id == o.conversation) {
                Some(chat) => {
                    let held = chat.loaded && chat.last_seq() >= seq;
                    let echoed = chat.events.iter().any(|r| {
                        matches!(&r.event, ConversationEvent::MessageReceived { id: Some(id), .. } if *id == o.id)
                    });
                    !(held || echoed)
                }
                None => false,
            }
        });
    }

    fn refused(
        &mut self,
        code: ConsoleError,
        message: &str,
        conversation: Option<ConversationId>,
        platform: Option<&PlatformError>,
    ) -> Vec<Effect> {
        match code {
            ConsoleError::Unauthorized => return self.stop(Stop::WrongToken),
            ConsoleError::UnknownAgent
            | ConsoleError::UnsupportedVersion
            | ConsoleError::HelloExpected
                if !self.welcomed =>
            {
                return self.stop(Stop::Refused(words::refusal(code, message)));
            }
            _ => {}
        }
        if let Some(c) = &conversation {
            if self.accepting.as_ref() == Some(c) {
                self.accepting = None;
            }
            // A message refused, or a chat no longer ours: what waits for it cannot be sent.
            if code == ConsoleError::InvalidText || !self.can_write(c) {
                self.outbox
                    .retain(|o| &o.conversation != c || o.acked.is_some());
            } else if code == ConsoleError::Platform {
                // The desk answers a chat's frames in order: the platform refused the oldest
                // send still waiting for its ack. Nothing was sent, so it is never shown sent.
                if let Some(i) = self
                    .outbox
                    .iter()
                    .position(|o| &o.conversation == c && o.acked.is_none())
                {
                    self.outbox.remove(i);
                }
            }
        }
        let sentence = match platform {
            Some(error) => {
                let kind = conversation
                    .as_ref()
                    .and_then(|c| self.conversations.get(c))
                    .map(|s| self.kind_of(s));
                words::platform_refusal(kind, error)
            }
            None => words::refusal(code, message),
        };
        self.set_alert(sentence);
        Vec::new()
    }
}

/// Server time minus local time.
fn offset(server_ms: u64, local_ms: u64) -> i64 {
    (i128::from(server_ms) - i128::from(local_ms)).clamp(i64::MIN.into(), i64::MAX.into()) as i64
}
