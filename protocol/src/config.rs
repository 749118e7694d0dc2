//! The public site configuration: what the widget needs to draw itself, fetched from
//! `GET /api/v1/sites/{site}/config` at start. Unknown keys are refused, so a typo in a
//! config file is an error rather than a silently ignored setting.

use crate::form::{FormConfigError, FormField, check_form};
use crate::ids::SiteId;
use crate::theme::{
    ColorScheme, ContrastError, DEFAULT_OFFSET_PX, DEFAULT_Z_INDEX, MAX_LAUNCHER_LABEL_CHARS,
    MAX_OFFSET_PX, text_color_for,
};
use serde::{Deserialize, Serialize};

/// A site's widget configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    pub site: SiteId,
    /// The brand colour used for the launcher, header and visitor bubbles.
    #[serde(default = "default_brand_color")]
    pub brand_color: Color,
    /// The corner of the host page the widget sits in. The server serves the corner
    /// mirrored (bottom-left) for a right-to-left language when its file names none.
    #[serde(default)]
    pub position: Position,
    /// BCP 47 language tag of the texts, set on the widget's document. In a config file,
    /// `"auto"` lets the server pick a bundle by the visitor's languages; the configuration
    /// served always names the language it picked.
    #[serde(default = "default_language")]
    pub language: String,
    /// The writing direction of `language`, set on the widget's document.
    #[serde(default)]
    pub dir: TextDirection,
    /// Whether a chatbot greets the visitor first. Without it the visitor goes straight to
    /// the pre-chat form.
    #[serde(default = "default_true")]
    pub bot_enabled: bool,
    /// The pre-chat form asked before a human is requested (may be empty).
    #[serde(default)]
    pub prechat: Vec<FormField>,
    #[serde(default)]
    pub texts: Texts,
    /// The site takes chats from verified signed-in users only: the widget says so instead
    /// of offering a chat to anybody else.
    #[serde(default)]
    pub identity_required: bool,
    /// The text colour on the brand colour, chosen for a contrast of at least 4.5:1 when
    /// the configuration is loaded (any value a config file gives is replaced).
    #[serde(default = "default_brand_text_color")]
    pub brand_text_color: Color,
    /// Light, dark, or following the visitor's `prefers-color-scheme` (the default).
    #[serde(default)]
    pub color_scheme: ColorScheme,
    /// The widget frame's CSS `z-index` on the host page.
    #[serde(default = "default_z_index")]
    pub z_index: u32,
    /// The launcher's distance from the page's side and bottom edges, in CSS pixels (at
    /// most [`MAX_OFFSET_PX`]).
    #[serde(default = "default_offset")]
    pub offset_x: u32,
    #[serde(default = "default_offset")]
    pub offset_y: u32,
    /// Words shown beside the launcher's icon (at most [`MAX_LAUNCHER_LABEL_CHARS`]
    /// characters); none shows the icon alone.
    #[serde(default)]
    pub launcher_label: Option<String>,
    /// A soft chime when a bot or agent message arrives while the panel is closed (off by
    /// default; never for a visitor who prefers reduced motion).
    #[serde(default)]
    pub sound: bool,
}

fn default_brand_text_color() -> Color {
    Color("#ffffff".into())
}

fn default_z_index() -> u32 {
    DEFAULT_Z_INDEX
}

fn default_offset() -> u32 {
    DEFAULT_OFFSET_PX
}

/// Why a site configuration is not acceptable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SiteConfigError {
    #[error(transparent)]
    Form(#[from] FormConfigError),
    #[error(transparent)]
    Contrast(#[from] ContrastError),
    #[error("offset_x and offset_y must be 0 to {MAX_OFFSET_PX} (pixels)")]
    Offset,
    #[error("launcher_label must be 1 to {MAX_LAUNCHER_LABEL_CHARS} characters")]
    LauncherLabel,
    #[error("z_index must be at most 2147483647")]
    ZIndex,
    #[error("texts.digits must be the ten digits zero to nine, or empty for 0-9")]
    Digits,
}

fn default_true() -> bool {
    true
}

/// The words the widget shows, in the site's language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Texts {
    pub title: String,
    pub subtitle: String,
    pub open_label: String,
    pub close_label: String,
    pub composer_label: String,
    pub composer_placeholder: String,
    pub send_label: String,
    /// The always-reachable action that leaves the bot for a person.
    pub talk_to_human: String,
    pub prechat_title: String,
    pub prechat_submit: String,
    /// `{position}` is replaced by the visitor's place in line.
    pub queued: String,
    pub connecting: String,
    /// `{agent}` is replaced by the agent's name.
    pub agent_joined: String,
    pub end_chat: String,
    pub end_chat_confirm: String,
    pub chat_ended: String,
    pub rating_prompt: String,
    pub rating_thanks: String,
    pub missed_title: String,
    pub leave_message_submit: String,
    pub message_left: String,
    pub new_conversation: String,
    pub previous_conversations: String,
    pub cancel: String,
    pub back: String,
    /// The accessible name of the message list.
    pub conversation_label: String,
    /// The author name shown (to screen readers) for the visitor's own messages.
    pub you: String,
    /// The system line when the visitor asked for a person.
    pub agent_requested: String,
    /// `{agent}` is replaced by the agent's name.
    pub agent_typing: String,
    pub sending: String,
    pub sent: String,
    /// A message waiting for the link to come back.
    pub not_sent: String,
    /// The server no longer knew the visitor's session (its store was wiped).
    pub session_lost: String,
    /// `{time}` is replaced by the time waited, like 1:05.
    pub waited: String,
    pub reconnecting: String,
    pub loading: String,
    pub no_history: String,
    pub history_failed: String,
    pub rating_comment: String,
    pub one_star: String,
    /// `{n}` is replaced by the number of stars.
    pub stars: String,
    /// The sentence under a required field left empty.
    pub required_field: String,
    /// `{max}` is replaced by the most characters the field takes.
    pub too_long_field: String,
    pub invalid_email: String,
    pub invalid_phone: String,
    pub not_an_option: String,
    pub unknown_field: String,
    /// The launcher's name with one unread message; `{label}` is `open_label`.
    pub unread_one: String,
    /// `{label}` is `open_label`, `{n}` the number of unread messages.
    pub unread_many: String,
    /// Shown instead of the chat when the site takes signed-in users only.
    pub signed_in_only: String,
    /// The server refused the identity the site passed.
    pub identity_refused: String,
    /// A message refused for the rate.
    pub rate_limited: String,
    /// The server could not store a message yet.
    pub unavailable: String,
    /// Asking for a person when the queue is full.
    pub queue_full: String,
    /// The ten digits numbers are written with, zero to nine: a language's own (Arabic-Indic
    /// in Arabic), or none for the ASCII ones.
    pub digits: String,
}

impl Texts {
    /// Every text empty: what the widget starts from, since the server sends them all
    /// (merged with the visitor's locale) and the English defaults would only weigh on the
    /// bundle.
    pub fn blank() -> Self {
        Texts {
            title: String::new(),
            subtitle: String::new(),
            open_label: String::new(),
            close_label: String::new(),
            composer_label: String::new(),
            composer_placeholder: String::new(),
            send_label: String::new(),
            talk_to_human: String::new(),
            prechat_title: String::new(),
            prechat_submit: String::new(),
            queued: String::new(),
            connecting: String::new(),
            agent_joined: String::new(),
            end_chat: String::new(),
            end_chat_confirm: String::new(),
            chat_ended: String::new(),
            rating_prompt: String::new(),
            rating_thanks: String::new(),
            missed_title: String::new(),
            leave_message_submit: String::new(),
            message_left: String::new(),
            new_conversation: String::new(),
            previous_conversations: String::new(),
            cancel: String::new(),
            back: String::new(),
            conversation_label: String::new(),
            you: String::new(),
            agent_requested: String::new(),
            agent_typing: String::new(),
            sending: String::new(),
            sent: String::new(),
            not_sent: String::new(),
            session_lost: String::new(),
            waited: String::new(),
            reconnecting: String::new(),
            loading: String::new(),
            no_history: String::new(),
            history_failed: String::new(),
            rating_comment: String::new(),
            one_star: String::new(),
            stars: String::new(),
            required_field: String::new(),
            too_long_field: String::new(),
            invalid_email: String::new(),
            invalid_phone: String::new(),
            not_an_option: String::new(),
            unknown_field: String::new(),
            unread_one: String::new(),
            unread_many: String::new(),
            signed_in_only: String::new(),
            identity_refused: String::new(),
            rate_limited: String::new(),
            unavailable: String::new(),
            queue_full: String::new(),
            digits: String::new(),
        }
    }
}

impl Default for Texts {
    /// The English texts. In the widget (wasm) every text is empty instead: the server
    /// sends them all, merged with the visitor's locale, and an English copy would only
    /// weigh on the bundle.
    fn default() -> Self {
        if cfg!(target_arch = "wasm32") {
            return Texts::blank();
        }
        Texts {
            title: "Chat with us".into(),
            subtitle: "We usually reply in a few minutes".into(),
            open_label: "Open chat".into(),
            close_label: "Close chat".into(),
            composer_label: "Your message".into(),
            composer_placeholder: "Type a message…".into(),
            send_label: "Send".into(),
            talk_to_human: "Talk to a person".into(),
            prechat_title: "Before we connect you".into(),
            prechat_submit: "Start chat".into(),
            queued: "You are number {position} in line".into(),
            connecting: "Connecting you to an agent…".into(),
            agent_joined: "{agent} joined the chat".into(),
            end_chat: "End chat".into(),
            end_chat_confirm: "End this chat?".into(),
            chat_ended: "The chat has ended".into(),
            rating_prompt: "How was this chat?".into(),
            rating_thanks: "Thank you for your rating".into(),
            missed_title:
                "Nobody is available right now. Leave us a message and we will reply by email."
                    .into(),
            leave_message_submit: "Send message".into(),
            message_left: "Thanks! We will get back to you soon.".into(),
            new_conversation: "Start a new conversation".into(),
            previous_conversations: "Previous conversations".into(),
            cancel: "Cancel".into(),
            back: "Back".into(),
            conversation_label: "Conversation".into(),
            you: "You".into(),
            agent_requested: "You asked to talk to a person.".into(),
            agent_typing: "{agent} is typing…".into(),
            sending: "Sending…".into(),
            sent: "Sent".into(),
            not_sent: "Not sent yet, retrying…".into(),
            session_lost: "Your earlier conversation could not be restored. This is a new one."
                .into(),
            waited: "Waited {time}".into(),
            reconnecting: "Reconnecting…".into(),
            loading: "Loading…".into(),
            no_history: "No previous conversations yet.".into(),
            history_failed: "Previous conversations could not be loaded.".into(),
            rating_comment: "Comment (optional)".into(),
            one_star: "1 star".into(),
            stars: "{n} stars".into(),
            required_field: "This field is required.".into(),
            too_long_field: "Please use at most {max} characters.".into(),
            invalid_email: "Please enter an email address like name@example.com.".into(),
            invalid_phone: "Please enter a phone number (digits, spaces, +, -, parentheses)."
                .into(),
            not_an_option: "Please choose one of the options.".into(),
            unknown_field: "This form has no such field.".into(),
            unread_one: "{label}, 1 unread message".into(),
            unread_many: "{label}, {n} unread messages".into(),
            signed_in_only: "Chat is available to signed-in users only.".into(),
            identity_refused: "We could not confirm who you are. Please sign in again.".into(),
            rate_limited: "You are sending messages too fast. Please wait a moment.".into(),
            unavailable: "Your message could not be saved yet. Retrying…".into(),
            queue_full: "All our agents are busy. Please leave a message or try again later."
                .into(),
            digits: "0123456789".into(),
        }
    }
}

/// Left to right or right to left (Arabic, Hebrew).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextDirection {
    #[default]
    Ltr,
    Rtl,
}

/// Where the widget sits on the host page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Position {
    #[default]
    BottomRight,
    BottomLeft,
}

/// A colour written `#rrggbb`. Checked when parsed, so it is always safe to put in CSS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Color(String);

/// Why a string is not a colour.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a colour must be written #rrggbb, like #1f6feb")]
pub struct ColorError;

impl Color {
    /// The colour as CSS text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Color {
    type Error = ColorError;
    fn try_from(value: String) -> Result<Self, ColorError> {
        let hex = value.strip_prefix('#').ok_or(ColorError)?;
        if hex.len() == 6 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Color(value.to_ascii_lowercase()))
        } else {
            Err(ColorError)
        }
    }
}

impl From<Color> for String {
    fn from(c: Color) -> String {
        c.0
    }
}

fn default_brand_color() -> Color {
    Color("#1f6feb".into())
}

fn default_language() -> String {
    "en".into()
}

impl SiteConfig {
    /// A configuration with every default, for `site`.
    pub fn new(site: SiteId) -> Self {
        SiteConfig {
            site,
            brand_color: default_brand_color(),
            position: Position::default(),
            language: default_language(),
            dir: TextDirection::Ltr,
            bot_enabled: true,
            prechat: Vec::new(),
            texts: Texts::default(),
            identity_required: false,
            brand_text_color: default_brand_text_color(),
            color_scheme: ColorScheme::default(),
            z_index: DEFAULT_Z_INDEX,
            offset_x: DEFAULT_OFFSET_PX,
            offset_y: DEFAULT_OFFSET_PX,
            launcher_label: None,
            sound: false,
        }
    }

    /// Checks what types alone cannot: the pre-chat form's consistency, the theme's
    /// bounds, and that some text colour is readable on the brand colour.
    pub fn check(&self) -> Result<(), SiteConfigError> {
        check_form(&self.prechat)?;
        if self.offset_x > MAX_OFFSET_PX || self.offset_y > MAX_OFFSET_PX {
            return Err(SiteConfigError::Offset);
        }
        if i32::try_from(self.z_index).is_err() {
            return Err(SiteConfigError::ZIndex);
        }
        if self
            .launcher_label
            .as_deref()
            .is_some_and(|l| l.trim().is_empty() || l.chars().count() > MAX_LAUNCHER_LABEL_CHARS)
        {
            return Err(SiteConfigError::LauncherLabel);
        }
        let digits = self.texts.digits.chars().count();
        if digits != 0 && digits != 10 {
            return Err(SiteConfigError::Digits);
        }
        text_color_for(&self.brand_color)?;
        Ok(())
    }

    /// Checks the configuration and sets what the server derives: the text colour on the
    /// brand colour.
    pub fn prepare(&mut self) -> Result<(), SiteConfigError> {
        self.check()?;
        self.brand_text_color = text_color_for(&self.brand_color)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_must_be_six_hex_digits() {
        assert!(Color::try_from("#A1b2C3".to_string()).is_ok());
        for bad in ["red", "#fff", "#12345g", "#123456;x:y", ""] {
            assert_eq!(Color::try_from(bad.to_string()), Err(ColorError), "{bad}");
        }
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = serde_json::from_str::<SiteConfig>(r##"{"site":"demo","colour":"#000000"}"##)
            .expect_err("unknown key");
        assert!(err.to_string().contains("unknown field `colour`"), "{err}");
    }

    #[test]
    fn default_templates_carry_their_placeholders() {
        let t = Texts::default();
        for (text, placeholder) in [
            (&t.queued, "{position}"),
            (&t.agent_joined, "{agent}"),
            (&t.agent_typing, "{agent}"),
            (&t.waited, "{time}"),
            (&t.stars, "{n}"),
            (&t.too_long_field, "{max}"),
            (&t.unread_one, "{label}"),
            (&t.unread_many, "{n}"),
        ] {
            assert!(text.contains(placeholder), "{text:?} lacks {placeholder}");
        }
    }

    #[test]
    fn digits_are_ten_or_none() {
        let mut config = SiteConfig::new(SiteId::new("demo").expect("id"));
        config.texts.digits = "٠١٢٣٤٥٦٧٨٩".into();
        assert!(config.check().is_ok());
        config.texts.digits = "0123".into();
        assert!(matches!(config.check(), Err(SiteConfigError::Digits)));
        config.texts.digits.clear();
        assert!(config.check().is_ok());
    }

    #[test]
    fn missing_keys_take_defaults() {
        let config: SiteConfig = serde_json::from_str(r#"{"site":"demo"}"#).expect("valid");
        assert_eq!(config, SiteConfig::new(SiteId::new("demo").expect("id")));
    }
}
