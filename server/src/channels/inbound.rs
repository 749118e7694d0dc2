//! Inbound webhooks, shaped like the platforms' own (simplified, see `CHANNELS.md`):
//! Messenger and Instagram DMs (`object` `page` / `instagram`, `entry[].messaging[]`, story
//! replies with `reply_to.story`, story mentions as attachments), Facebook and Instagram
//! comments (`entry[].changes[]` of field `feed` / `comments`), the WhatsApp Cloud API
//! (`whatsapp_business_account`) and Telegram Bot API updates. Each payload parses into the
//! customer events it carries, or a typed error that names what is wrong; unknown fields
//! are errors, so a payload is never half-understood.
//!
//! What carries no customer event is accepted and skipped: read and delivery receipts,
//! WhatsApp statuses, Facebook comment edits and removals (and feed items that are not
//! comments), the Page's or account's own comments, edited Telegram messages. Timestamps:
//! Messenger and Instagram DMs carry milliseconds (`messaging[].timestamp`); Facebook's
//! `created_time`, Instagram comments' `entry[].time`, WhatsApp's `timestamp` and
//! Telegram's `date` carry seconds.

use porchlight_protocol::channels::ChannelKind;
use porchlight_protocol::limits::MAX_NAME_CHARS;
use porchlight_protocol::text::message_text;
use serde::Deserialize;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde_json::Value;

/// Most customer events one payload may carry.
pub const MAX_EVENTS: usize = 100;
/// Longest platform id (of a customer, page, message, post, comment or story), in bytes.
pub const MAX_PLATFORM_ID_BYTES: usize = 128;
/// Longest media URL, in bytes.
pub const MAX_URL_BYTES: usize = 2_048;

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
    let mut events = Events::default();
    match kind {
        ChannelKind::Web => {
            return Err(InboundError::Invalid(
                "the web widget talks over its socket; it has no webhook".into(),
            ));
        }
        ChannelKind::Messenger | ChannelKind::Instagram => {
            direct_messages(kind, body, &mut events)?
        }
        ChannelKind::FacebookComments => facebook_comments(body, &mut events)?,
        ChannelKind::InstagramComments => instagram_comments(body, &mut events)?,
        ChannelKind::Whatsapp => whatsapp(body, &mut events)?,
        ChannelKind::Telegram => telegram(body, &mut events)?,
    }
    events.finish()
}

/// The events found so far, never more than [`MAX_EVENTS`].
#[derive(Default)]
struct Events(Vec<Inbound>);

impl Events {
    fn push(&mut self, event: Inbound) -> Result<(), InboundError> {
        if self.0.len() >= MAX_EVENTS {
            return Err(InboundError::Invalid(format!(
                "the payload carries more than {MAX_EVENTS} customer events; send them in several payloads"
            )));
        }
        self.0.push(event);
        Ok(())
    }

    fn finish(self) -> Result<Vec<Inbound>, InboundError> {
        if self.0.is_empty() {
            Err(InboundError::Empty)
        } else {
            Ok(self.0)
        }
    }
}

// ----- Shared checks -----

fn invalid(sentence: String) -> InboundError {
    InboundError::Invalid(sentence)
}

fn shape(kind: ChannelKind, detail: impl std::fmt::Display) -> InboundError {
    InboundError::Shape {
        platform: kind.label(),
        detail: detail.to_string(),
    }
}

/// A value from the payload, quoted for an error sentence and cut short if long.
fn shown(value: &str) -> String {
    const MAX: usize = 40;
    if value.chars().count() > MAX {
        let cut: String = value.chars().take(MAX).collect();
        format!("{:?}…", cut)
    } else {
        format!("{value:?}")
    }
}

/// The `object` a Meta webhook for `kind` carries.
fn expected_object(kind: ChannelKind) -> Option<&'static str> {
    match kind {
        ChannelKind::Messenger | ChannelKind::FacebookComments => Some("page"),
        ChannelKind::Instagram | ChannelKind::InstagramComments => Some("instagram"),
        ChannelKind::Whatsapp => Some("whatsapp_business_account"),
        ChannelKind::Web | ChannelKind::Telegram => None,
    }
}

fn check_object(kind: ChannelKind, object: &str) -> Result<(), InboundError> {
    match expected_object(kind) {
        Some(expected) if object != expected => Err(invalid(format!(
            "a {} channel takes webhooks with `object` {expected:?}, not {}",
            kind.label(),
            shown(object)
        ))),
        _ => Ok(()),
    }
}

/// Only the `object` of a payload, whatever else it holds.
#[derive(Deserialize)]
struct ObjectProbe {
    object: Option<Value>,
}

/// Decodes the whole payload. A payload of another platform (or another of Meta's
/// objects) fails on its shape; the wrong `object` is then the clearer error to give.
fn decode<T: DeserializeOwned>(kind: ChannelKind, body: &[u8]) -> Result<T, InboundError> {
    serde_json::from_slice(body).map_err(|error| {
        let probe = serde_json::from_slice::<ObjectProbe>(body).ok();
        match probe.and_then(|p| p.object) {
            Some(Value::String(object)) => match check_object(kind, &object) {
                Err(wrong) => wrong,
                Ok(()) => shape(kind, error),
            },
            _ => shape(kind, error),
        }
    })
}

/// Decodes a part of the payload kept as JSON until its kind was known; `at` says where
/// it is, since the parser's sentence cannot.
fn decode_at<T: DeserializeOwned>(
    kind: ChannelKind,
    at: &str,
    value: &Value,
) -> Result<T, InboundError> {
    T::deserialize(value).map_err(|error| shape(kind, format!("{at}: {error}")))
}

fn platform_id(what: &str, id: String) -> Result<String, InboundError> {
    if id.is_empty() {
        Err(invalid(format!("the {what} is empty")))
    } else if id.len() > MAX_PLATFORM_ID_BYTES {
        Err(invalid(format!(
            "the {what} is longer than {MAX_PLATFORM_ID_BYTES} bytes"
        )))
    } else {
        Ok(id)
    }
}

/// The text of a message or comment (`what` says which), trimmed.
fn text(what: &str, raw: Option<String>) -> Result<String, InboundError> {
    let raw = raw.ok_or_else(|| invalid(format!("{what} has no text")))?;
    message_text(&raw)
        .map(str::to_string)
        .map_err(|e| invalid(format!("{what}: {e}")))
}

/// A display name, trimmed; blank is no name.
fn name(what: &str, raw: &str) -> Result<Option<String>, InboundError> {
    let name = raw.trim();
    if name.is_empty() {
        Ok(None)
    } else if name.chars().count() > MAX_NAME_CHARS {
        Err(invalid(format!(
            "the {what} is longer than {MAX_NAME_CHARS} characters"
        )))
    } else {
        Ok(Some(name.to_string()))
    }
}

fn media_url(what: &str, url: String) -> Result<String, InboundError> {
    let rest = url.strip_prefix("https://").unwrap_or_default();
    if rest.is_empty() || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Err(invalid(format!(
            "the {what} must be an https:// URL, not {}",
            shown(&url)
        )))
    } else if url.len() > MAX_URL_BYTES {
        Err(invalid(format!(
            "the {what} is longer than {MAX_URL_BYTES} bytes"
        )))
    } else {
        Ok(url)
    }
}

fn seconds_to_ms(what: &str, seconds: u64) -> Result<u64, InboundError> {
    seconds
        .checked_mul(1_000)
        .ok_or_else(|| invalid(format!("the {what} ({seconds} s) is out of range")))
}

/// A `changes[]` item of a Meta webhook; its value is decoded once the field is known.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Change {
    field: String,
    value: Value,
}

fn check_field(kind: ChannelKind, expected: &str, field: &str) -> Result<(), InboundError> {
    if field == expected {
        Ok(())
    } else {
        Err(invalid(format!(
            "a {} channel takes changes of field {expected:?}, not {}",
            kind.label(),
            shown(field)
        )))
    }
}

// ----- Messenger and Instagram direct messages -----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DmPayload {
    object: String,
    entry: Vec<DmEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DmEntry {
    id: String,
    /// Milliseconds; each messaging item has its own timestamp, which is the one used.
    #[serde(rename = "time")]
    _time: u64,
    messaging: Vec<Messaging>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Messaging {
    sender: Party,
    recipient: Party,
    /// Milliseconds.
    timestamp: u64,
    message: Option<DmMessage>,
    /// Receipts: accepted, carry no customer event.
    #[serde(rename = "read")]
    _read: Option<IgnoredAny>,
    #[serde(rename = "delivery")]
    _delivery: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Party {
    id: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DmMessage {
    mid: String,
    text: Option<String>,
    reply_to: Option<ReplyTo>,
    attachments: Option<Vec<Attachment>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplyTo {
    story: Story,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Story {
    id: String,
    url: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Attachment {
    #[serde(rename = "type")]
    kind: String,
    payload: AttachmentPayload,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AttachmentPayload {
    url: String,
}

fn direct_messages(
    kind: ChannelKind,
    body: &[u8],
    events: &mut Events,
) -> Result<(), InboundError> {
    let payload: DmPayload = decode(kind, body)?;
    check_object(kind, &payload.object)?;
    let platform = kind.label();
    for entry in payload.entry {
        platform_id(&format!("{platform} page id"), entry.id)?;
        for item in entry.messaging {
            let sender = platform_id(&format!("{platform} sender id"), item.sender.id)?;
            platform_id(&format!("{platform} recipient id"), item.recipient.id)?;
            let Some(message) = item.message else {
                continue;
            };
            let message_id = platform_id(&format!("{platform} message id (mid)"), message.mid)?;
            let what = format!("{platform} message {}", shown(&message_id));
            let content = dm_content(
                kind,
                &what,
                message.text,
                message.reply_to,
                message.attachments,
            )?;
            events.push(Inbound {
                customer: Customer {
                    id: sender,
                    name: None,
                },
                message_id,
                at_ms: item.timestamp,
                content,
            })?;
        }
    }
    Ok(())
}

fn dm_content(
    kind: ChannelKind,
    what: &str,
    raw_text: Option<String>,
    reply_to: Option<ReplyTo>,
    attachments: Option<Vec<Attachment>>,
) -> Result<Content, InboundError> {
    if kind != ChannelKind::Instagram && (reply_to.is_some() || attachments.is_some()) {
        return Err(invalid(format!(
            "{what}: story replies and mentions are Instagram's; a {} message carries text only",
            kind.label()
        )));
    }
    match (attachments, reply_to) {
        (Some(attachments), reply_to) => {
            if reply_to.is_some() || raw_text.is_some() {
                return Err(invalid(format!(
                    "{what}: a story mention carries neither text nor `reply_to`"
                )));
            }
            let count = attachments.len();
            let Ok([attachment]) = <[Attachment; 1]>::try_from(attachments) else {
                return Err(invalid(format!(
                    "{what}: a message carries one attachment, a story mention, not {count}"
                )));
            };
            if attachment.kind != "story_mention" {
                return Err(invalid(format!(
                    "{what}: {} attachments are not supported, only \"story_mention\"",
                    shown(&attachment.kind)
                )));
            }
            Ok(Content::StoryMention {
                url: media_url("story mention's URL", attachment.payload.url)?,
            })
        }
        (None, Some(reply)) => Ok(Content::StoryReply {
            text: text(what, raw_text)?,
            story_id: platform_id("story id", reply.story.id)?,
            url: media_url("story's URL", reply.story.url)?,
        }),
        (None, None) => Ok(Content::Text(text(what, raw_text)?)),
    }
}

// ----- Facebook and Instagram comments -----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangesPayload {
    object: String,
    entry: Vec<ChangesEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangesEntry {
    id: String,
    /// Instagram comments: seconds, the comment's time. Facebook: unused (the comment
    /// carries `created_time`).
    time: Option<u64>,
    changes: Vec<Change>,
}

/// What any Facebook `feed` change says it is.
#[derive(Deserialize)]
struct FeedProbe {
    item: String,
    verb: String,
}

/// A new comment on a Page post.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedComment {
    #[serde(rename = "item")]
    _item: String,
    #[serde(rename = "verb")]
    _verb: String,
    post_id: String,
    comment_id: String,
    parent_id: String,
    from: FacebookUser,
    message: String,
    /// Seconds.
    created_time: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FacebookUser {
    id: String,
    name: String,
}

fn facebook_comments(body: &[u8], events: &mut Events) -> Result<(), InboundError> {
    let kind = ChannelKind::FacebookComments;
    let payload: ChangesPayload = decode(kind, body)?;
    check_object(kind, &payload.object)?;
    for (e, entry) in payload.entry.into_iter().enumerate() {
        let page = platform_id("Facebook page id", entry.id)?;
        for (c, change) in entry.changes.into_iter().enumerate() {
            check_field(kind, "feed", &change.field)?;
            let at = format!("entry[{e}].changes[{c}].value");
            let probe: FeedProbe = decode_at(kind, &at, &change.value)?;
            // Posts, reactions, edits, removals…: no new customer comment.
            if probe.item != "comment" || probe.verb != "add" {
                continue;
            }
            let comment: FeedComment = decode_at(kind, &at, &change.value)?;
            let from = platform_id("Facebook commenter id", comment.from.id)?;
            // The Page's own comments (its replies) are not a customer's.
            if from == page {
                continue;
            }
            let comment_id = platform_id("Facebook comment id", comment.comment_id)?;
            let post = platform_id("Facebook post id", comment.post_id)?;
            let parent = platform_id("Facebook parent id", comment.parent_id)?;
            let what = format!("Facebook comment {}", shown(&comment_id));
            events.push(Inbound {
                customer: Customer {
                    id: from,
                    name: name("Facebook commenter's name", &comment.from.name)?,
                },
                message_id: comment_id.clone(),
                at_ms: seconds_to_ms("comment's created_time", comment.created_time)?,
                content: Content::Comment {
                    text: text(&what, Some(comment.message))?,
                    parent: (parent != post).then_some(parent),
                    post,
                    comment: comment_id,
                },
            })?;
        }
    }
    Ok(())
}

/// A comment on an Instagram post (or a reply to one).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InstagramComment {
    id: String,
    text: String,
    from: InstagramUser,
    media: InstagramMedia,
    parent_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InstagramUser {
    id: String,
    username: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InstagramMedia {
    id: String,
    /// `FEED`, `REELS`…: accepted, not used.
    #[serde(rename = "media_product_type")]
    _product: Option<String>,
}

fn instagram_comments(body: &[u8], events: &mut Events) -> Result<(), InboundError> {
    let kind = ChannelKind::InstagramComments;
    let payload: ChangesPayload = decode(kind, body)?;
    check_object(kind, &payload.object)?;
    for (e, entry) in payload.entry.into_iter().enumerate() {
        let account = platform_id("Instagram account id", entry.id)?;
        for (c, change) in entry.changes.into_iter().enumerate() {
            check_field(kind, "comments", &change.field)?;
            let at = format!("entry[{e}].changes[{c}].value");
            let comment: InstagramComment = decode_at(kind, &at, &change.value)?;
            let from = platform_id("Instagram commenter id", comment.from.id)?;
            // The account's own comments (its replies) are not a customer's.
            if from == account {
                continue;
            }
            let time = entry.time.ok_or_else(|| {
                shape(kind, format!("entry[{e}]: missing field `time` (seconds)"))
            })?;
            let comment_id = platform_id("Instagram comment id", comment.id)?;
            let what = format!("Instagram comment {}", shown(&comment_id));
            let parent = comment
                .parent_id
                .map(|p| platform_id("Instagram parent comment id", p))
                .transpose()?;
            events.push(Inbound {
                customer: Customer {
                    id: from,
                    name: name("Instagram commenter's username", &comment.from.username)?,
                },
                message_id: comment_id.clone(),
                at_ms: seconds_to_ms("entry's time", time)?,
                content: Content::Comment {
                    post: platform_id("Instagram media id", comment.media.id)?,
                    comment: comment_id,
                    parent,
                    text: text(&what, Some(comment.text))?,
                },
            })?;
        }
    }
    Ok(())
}

// ----- WhatsApp Cloud API -----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WhatsappPayload {
    object: String,
    entry: Vec<WhatsappEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WhatsappEntry {
    /// The business account's id (optional here, as `CHANNELS.md` leaves it out).
    id: Option<String>,
    changes: Vec<Change>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WhatsappValue {
    messaging_product: String,
    metadata: Option<WhatsappMetadata>,
    #[serde(default)]
    contacts: Vec<WhatsappContact>,
    /// Kept as JSON until each one's `type` is known.
    #[serde(default)]
    messages: Vec<Value>,
    /// Delivery statuses of the business's messages: accepted, carry no customer event.
    #[serde(rename = "statuses")]
    _statuses: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WhatsappMetadata {
    display_phone_number: String,
    phone_number_id: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WhatsappContact {
    wa_id: String,
    profile: WhatsappProfile,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WhatsappProfile {
    name: String,
}

/// What any WhatsApp message says it is.
#[derive(Deserialize)]
struct WhatsappType {
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WhatsappText {
    from: String,
    id: String,
    /// Seconds, as a string.
    timestamp: String,
    #[serde(rename = "type")]
    _kind: String,
    text: WhatsappBody,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WhatsappBody {
    body: String,
}

fn whatsapp(body: &[u8], events: &mut Events) -> Result<(), InboundError> {
    let kind = ChannelKind::Whatsapp;
    let payload: WhatsappPayload = decode(kind, body)?;
    check_object(kind, &payload.object)?;
    for (e, entry) in payload.entry.into_iter().enumerate() {
        entry
            .id
            .map(|id| platform_id("WhatsApp business account id", id))
            .transpose()?;
        for (c, change) in entry.changes.into_iter().enumerate() {
            check_field(kind, "messages", &change.field)?;
            let at = format!("entry[{e}].changes[{c}].value");
            let value: WhatsappValue = decode_at(kind, &at, &change.value)?;
            if value.messaging_product != "whatsapp" {
                return Err(invalid(format!(
                    "{at}: `messaging_product` must be \"whatsapp\", not {}",
                    shown(&value.messaging_product)
                )));
            }
            if let Some(metadata) = value.metadata {
                platform_id("WhatsApp phone number id", metadata.phone_number_id)?;
                platform_id(
                    "WhatsApp display phone number",
                    metadata.display_phone_number,
                )?;
            }
            let mut contacts = Vec::with_capacity(value.contacts.len());
            for contact in value.contacts {
                let wa_id = platform_id("WhatsApp contact's wa_id", contact.wa_id)?;
                contacts.push((wa_id, name("WhatsApp profile name", &contact.profile.name)?));
            }
            for (m, message) in value.messages.into_iter().enumerate() {
                let at = format!("{at}.messages[{m}]");
                let WhatsappType { kind: type_ } = decode_at(kind, &at, &message)?;
                if type_ != "text" {
                    return Err(invalid(format!(
                        "WhatsApp {} messages are not supported, only \"text\"",
                        shown(&type_)
                    )));
                }
                let message: WhatsappText = decode_at(kind, &at, &message)?;
                let from = platform_id("WhatsApp sender (from)", message.from)?;
                let id = platform_id("WhatsApp message id", message.id)?;
                let what = format!("WhatsApp message {}", shown(&id));
                let seconds: u64 = message.timestamp.parse().map_err(|_| {
                    invalid(format!(
                        "{what}: the timestamp must be seconds as a string of digits, not {}",
                        shown(&message.timestamp)
                    ))
                })?;
                let name = contacts
                    .iter()
                    .find(|(wa_id, _)| *wa_id == from)
                    .and_then(|(_, name)| name.clone());
                events.push(Inbound {
                    customer: Customer { id: from, name },
                    message_id: id,
                    at_ms: seconds_to_ms("message's timestamp", seconds)?,
                    content: Content::Text(text(&what, Some(message.text.body))?),
                })?;
            }
        }
    }
    Ok(())
}

// ----- Telegram Bot API -----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TelegramUpdate {
    #[serde(rename = "update_id")]
    _update_id: i64,
    message: Option<TelegramMessage>,
    /// An edit of an earlier message: accepted, carries no new customer event.
    #[serde(rename = "edited_message")]
    _edited_message: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TelegramMessage {
    message_id: i64,
    from: TelegramUser,
    chat: TelegramChat,
    /// Seconds.
    date: u64,
    text: Option<String>,
    /// Commands and links marked in the text (a `/start` has one): accepted, not used.
    #[serde(rename = "entities")]
    _entities: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TelegramUser {
    #[serde(rename = "id")]
    _id: i64,
    is_bot: bool,
    first_name: String,
    last_name: Option<String>,
    #[serde(rename = "username")]
    _username: Option<String>,
    #[serde(rename = "language_code")]
    _language_code: Option<String>,
    #[serde(rename = "is_premium")]
    _is_premium: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TelegramChat {
    id: i64,
    #[serde(rename = "type")]
    kind: String,
    #[serde(rename = "first_name")]
    _first_name: Option<String>,
    #[serde(rename = "last_name")]
    _last_name: Option<String>,
    #[serde(rename = "username")]
    _username: Option<String>,
    /// Groups' and channels' name.
    #[serde(rename = "title")]
    _title: Option<String>,
}

fn telegram(body: &[u8], events: &mut Events) -> Result<(), InboundError> {
    let kind = ChannelKind::Telegram;
    let update: TelegramUpdate = decode(kind, body)?;
    let Some(message) = update.message else {
        return Ok(());
    };
    let what = format!("Telegram message {}", message.message_id);
    if message.chat.kind != "private" {
        return Err(invalid(format!(
            "{what}: {} chats are not supported, only private chats with the bot",
            shown(&message.chat.kind)
        )));
    }
    if message.from.is_bot {
        return Err(invalid(format!(
            "{what}: it comes from a bot, not a customer"
        )));
    }
    let full_name = match &message.from.last_name {
        Some(last) if !last.trim().is_empty() => {
            format!("{} {}", message.from.first_name.trim(), last.trim())
        }
        _ => message.from.first_name.clone(),
    };
    events.push(Inbound {
        customer: Customer {
            id: message.chat.id.to_string(),
            name: name("Telegram sender's name", &full_name)?,
        },
        message_id: message.message_id.to_string(),
        at_ms: seconds_to_ms("message's date", message.date)?,
        content: Content::Text(text(&what, message.text)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PAGE: &str = "104758392011234";
    const PSID: &str = "6512345678901234";
    const MS: u64 = 1_767_225_600_123;
    const SECS: u64 = 1_767_225_600;
    const STORY_URL: &str =
        "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1789&signature=abc";

    fn bytes(payload: &Value) -> Vec<u8> {
        serde_json::to_vec(payload).expect("a JSON value serializes")
    }

    fn parsed(kind: ChannelKind, payload: &Value) -> Vec<Inbound> {
        match parse(kind, &bytes(payload)) {
            Ok(events) => events,
            Err(e) => panic!("{kind:?} refused {payload}: {e}"),
        }
    }

    fn refused(kind: ChannelKind, payload: &Value) -> InboundError {
        match parse(kind, &bytes(payload)) {
            Ok(events) => panic!("{kind:?} accepted {payload}: {events:?}"),
            Err(e) => e,
        }
    }

    /// The sentence of an `Invalid` refusal.
    fn invalid_sentence(kind: ChannelKind, payload: &Value) -> String {
        match refused(kind, payload) {
            InboundError::Invalid(sentence) => sentence,
            other => panic!("expected Invalid from {kind:?}, got {other:?}"),
        }
    }

    /// The detail of a `Shape` refusal.
    fn shape_detail(kind: ChannelKind, payload: &Value) -> String {
        match refused(kind, payload) {
            InboundError::Shape { platform, detail } => {
                assert_eq!(platform, kind.label());
                detail
            }
            other => panic!("expected Shape from {kind:?}, got {other:?}"),
        }
    }

    fn customer(id: &str, name: Option<&str>) -> Customer {
        Customer {
            id: id.into(),
            name: name.map(str::to_string),
        }
    }

    // ----- Payload builders, shaped like the platforms' samples -----

    fn dm_payload(object: &str, messaging: Value) -> Value {
        json!({
            "object": object,
            "entry": [{"id": PAGE, "time": MS + 500, "messaging": messaging}]
        })
    }

    fn dm_item(message: Value) -> Value {
        json!({
            "sender": {"id": PSID},
            "recipient": {"id": PAGE},
            "timestamp": MS,
            "message": message
        })
    }

    fn messenger(message: Value) -> Value {
        dm_payload("page", json!([dm_item(message)]))
    }

    fn instagram(message: Value) -> Value {
        dm_payload("instagram", json!([dm_item(message)]))
    }

    fn feed_value(comment_id: &str, parent_id: &str, message: &str) -> Value {
        json!({
            "item": "comment",
            "verb": "add",
            "post_id": "104758392011234_998877",
            "comment_id": comment_id,
            "parent_id": parent_id,
            "from": {"id": "24681357902468", "name": "Grace Hopper"},
            "message": message,
            "created_time": SECS
        })
    }

    fn feed(values: Vec<Value>) -> Value {
        let changes: Vec<Value> = values
            .into_iter()
            .map(|value| json!({"field": "feed", "value": value}))
            .collect();
        json!({
            "object": "page",
            "entry": [{"id": PAGE, "time": SECS, "changes": changes}]
        })
    }

    fn ig_comment_value(id: &str, parent: Option<&str>, text: &str) -> Value {
        let mut value = json!({
            "id": id,
            "text": text,
            "from": {"id": "17841400000000001", "username": "ada.codes"},
            "media": {"id": "17900000000000042", "media_product_type": "FEED"}
        });
        if let (Some(parent), Some(object)) = (parent, value.as_object_mut()) {
            object.insert("parent_id".into(), json!(parent));
        }
        value
    }

    fn ig_comments(values: Vec<Value>) -> Value {
        let changes: Vec<Value> = values
            .into_iter()
            .map(|value| json!({"field": "comments", "value": value}))
            .collect();
        json!({
            "object": "instagram",
            "entry": [{"id": "17841499999999999", "time": SECS, "changes": changes}]
        })
    }

    fn whatsapp_value(contacts: Value, messages: Value) -> Value {
        json!({
            "object": "whatsapp_business_account",
            "entry": [{
                "id": "102290129340398",
                "changes": [{
                    "field": "messages",
                    "value": {
                        "messaging_product": "whatsapp",
                        "metadata": {
                            "display_phone_number": "15550783881",
                            "phone_number_id": "106540352242922"
                        },
                        "contacts": contacts,
                        "messages": messages
                    }
                }]
            }]
        })
    }

    fn wa_text(from: &str, id: &str, body: &str) -> Value {
        json!({
            "from": from,
            "id": id,
            "timestamp": SECS.to_string(),
            "type": "text",
            "text": {"body": body}
        })
    }

    fn telegram_update(chat: Value, text: &str) -> Value {
        json!({
            "update_id": 918_273_645,
            "message": {
                "message_id": 42,
                "from": {
                    "id": 123_456_789,
                    "is_bot": false,
                    "first_name": "Ada",
                    "last_name": "Lovelace",
                    "username": "ada",
                    "language_code": "en"
                },
                "chat": chat,
                "date": SECS,
                "text": text
            }
        })
    }

    fn private_chat() -> Value {
        json!({"id": 123_456_789, "type": "private", "first_name": "Ada", "last_name": "Lovelace", "username": "ada"})
    }

    // ----- Accepted -----

    #[test]
    fn a_messenger_message_becomes_text_and_receipts_are_skipped() {
        let payload = dm_payload(
            "page",
            json!([
                {
                    "sender": {"id": PSID},
                    "recipient": {"id": PAGE},
                    "timestamp": MS - 10,
                    "delivery": {"mids": ["m_earlier"], "watermark": MS - 20}
                },
                dm_item(json!({"mid": "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48PnKAjSdjfipqxqMvK8ma6AC8fplwlqLP_5cgXIbu7I3rBN0P", "text": "  Hi! Is my order on its way?  "})),
                {
                    "sender": {"id": PSID},
                    "recipient": {"id": PAGE},
                    "timestamp": MS + 10,
                    "read": {"watermark": MS}
                }
            ]),
        );
        assert_eq!(
            parsed(ChannelKind::Messenger, &payload),
            vec![Inbound {
                customer: customer(PSID, None),
                message_id: "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48PnKAjSdjfipqxqMvK8ma6AC8fplwlqLP_5cgXIbu7I3rBN0P".into(),
                at_ms: MS,
                content: Content::Text("Hi! Is my order on its way?".into()),
            }]
        );
    }

    #[test]
    fn an_instagram_dm_becomes_text() {
        let payload = instagram(
            json!({"mid": "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlE", "text": "Do you ship to Canada?"}),
        );
        assert_eq!(
            parsed(ChannelKind::Instagram, &payload),
            vec![Inbound {
                customer: customer(PSID, None),
                message_id: "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlE".into(),
                at_ms: MS,
                content: Content::Text("Do you ship to Canada?".into()),
            }]
        );
    }

    #[test]
    fn an_instagram_story_reply_carries_the_story() {
        let payload = instagram(json!({
            "mid": "m_story_reply",
            "text": "Love this colour!",
            "reply_to": {"story": {"id": "17990000000000077", "url": STORY_URL}}
        }));
        assert_eq!(
            parsed(ChannelKind::Instagram, &payload),
            vec![Inbound {
                customer: customer(PSID, None),
                message_id: "m_story_reply".into(),
                at_ms: MS,
                content: Content::StoryReply {
                    text: "Love this colour!".into(),
                    story_id: "17990000000000077".into(),
                    url: STORY_URL.into(),
                },
            }]
        );
    }

    #[test]
    fn an_instagram_story_mention_carries_the_media_url() {
        let payload = instagram(json!({
            "mid": "m_story_mention",
            "attachments": [{"type": "story_mention", "payload": {"url": STORY_URL}}]
        }));
        assert_eq!(
            parsed(ChannelKind::Instagram, &payload),
            vec![Inbound {
                customer: customer(PSID, None),
                message_id: "m_story_mention".into(),
                at_ms: MS,
                content: Content::StoryMention {
                    url: STORY_URL.into()
                },
            }]
        );
    }

    #[test]
    fn facebook_comments_and_replies_in_a_thread() {
        let post = "104758392011234_998877";
        let mut by_page = feed_value("998877_3", "998877_1", "Thanks, Grace!");
        by_page["from"] = json!({"id": PAGE, "name": "Porchlight Coffee"});
        let mut edited = feed_value("998877_1", post, "edited text");
        edited["verb"] = json!("edited");
        let payload = feed(vec![
            feed_value("998877_1", post, "Is this in stock?"),
            feed_value("998877_2", "998877_1", "Also in blue?"),
            edited,
            json!({"item": "comment", "verb": "remove", "post_id": post, "comment_id": "998877_0", "parent_id": post, "from": {"id": "1", "name": "x"}, "created_time": SECS}),
            json!({"item": "reaction", "verb": "add", "post_id": post, "reaction_type": "like", "from": {"id": "1", "name": "x"}, "created_time": SECS}),
            by_page,
        ]);
        let grace = customer("24681357902468", Some("Grace Hopper"));
        assert_eq!(
            parsed(ChannelKind::FacebookComments, &payload),
            vec![
                Inbound {
                    customer: grace.clone(),
                    message_id: "998877_1".into(),
                    at_ms: SECS * 1_000,
                    content: Content::Comment {
                        post: post.into(),
                        comment: "998877_1".into(),
                        parent: None,
                        text: "Is this in stock?".into(),
                    },
                },
                Inbound {
                    customer: grace,
                    message_id: "998877_2".into(),
                    at_ms: SECS * 1_000,
                    content: Content::Comment {
                        post: post.into(),
                        comment: "998877_2".into(),
                        parent: Some("998877_1".into()),
                        text: "Also in blue?".into(),
                    },
                },
            ]
        );
    }

    #[test]
    fn instagram_comments_and_replies_are_timed_by_the_entry_in_seconds() {
        let mut own = ig_comment_value("17800000000000003", Some("17800000000000001"), "Yes!");
        own["from"] = json!({"id": "17841499999999999", "username": "porchlight.coffee"});
        let payload = ig_comments(vec![
            ig_comment_value("17800000000000001", None, "Where can I buy this?"),
            ig_comment_value(
                "17800000000000002",
                Some("17800000000000001"),
                "Same question",
            ),
            own,
        ]);
        let ada = customer("17841400000000001", Some("ada.codes"));
        assert_eq!(
            parsed(ChannelKind::InstagramComments, &payload),
            vec![
                Inbound {
                    customer: ada.clone(),
                    message_id: "17800000000000001".into(),
                    at_ms: SECS * 1_000,
                    content: Content::Comment {
                        post: "17900000000000042".into(),
                        comment: "17800000000000001".into(),
                        parent: None,
                        text: "Where can I buy this?".into(),
                    },
                },
                Inbound {
                    customer: ada,
                    message_id: "17800000000000002".into(),
                    at_ms: SECS * 1_000,
                    content: Content::Comment {
                        post: "17900000000000042".into(),
                        comment: "17800000000000002".into(),
                        parent: Some("17800000000000001".into()),
                        text: "Same question".into(),
                    },
                },
            ]
        );
    }

    #[test]
    fn whatsapp_names_come_from_the_contacts_by_wa_id() {
        let payload = whatsapp_value(
            json!([
                {"wa_id": "4915112345678", "profile": {"name": "Karl"}},
                {"wa_id": "16315551234", "profile": {"name": "Kerry Fisher"}}
            ]),
            json!([
                wa_text(
                    "16315551234",
                    "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
                    "Hello, I need help with my booking"
                ),
                wa_text("447700900123", "wamid.second", "And me"),
            ]),
        );
        assert_eq!(
            parsed(ChannelKind::Whatsapp, &payload),
            vec![
                Inbound {
                    customer: customer("16315551234", Some("Kerry Fisher")),
                    message_id: "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="
                        .into(),
                    at_ms: SECS * 1_000,
                    content: Content::Text("Hello, I need help with my booking".into()),
                },
                Inbound {
                    customer: customer("447700900123", None),
                    message_id: "wamid.second".into(),
                    at_ms: SECS * 1_000,
                    content: Content::Text("And me".into()),
                },
            ]
        );
    }

    #[test]
    fn whatsapp_in_the_shape_channels_md_gives_is_accepted() {
        // No entry id, no metadata.
        let payload = json!({
            "object": "whatsapp_business_account",
            "entry": [{"changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "contacts": [{"wa_id": "15551230000", "profile": {"name": "Lin"}}],
                "messages": [wa_text("15551230000", "wamid.1", "hi")]
            }}]}]
        });
        let events = parsed(ChannelKind::Whatsapp, &payload);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].customer, customer("15551230000", Some("Lin")));
    }

    #[test]
    fn a_telegram_private_message_is_from_the_chat_with_the_full_name() {
        let payload = telegram_update(private_chat(), "Hello from Telegram");
        assert_eq!(
            parsed(ChannelKind::Telegram, &payload),
            vec![Inbound {
                customer: customer("123456789", Some("Ada Lovelace")),
                message_id: "42".into(),
                at_ms: SECS * 1_000,
                content: Content::Text("Hello from Telegram".into()),
            }]
        );
    }

    #[test]
    fn a_telegram_start_command_with_only_a_first_name_is_accepted() {
        let payload = json!({
            "update_id": 1,
            "message": {
                "message_id": 1,
                "from": {"id": 77, "is_bot": false, "first_name": "Bo", "is_premium": true},
                "chat": {"id": 77, "type": "private", "first_name": "Bo"},
                "date": SECS,
                "text": "/start",
                "entities": [{"offset": 0, "length": 6, "type": "bot_command"}]
            }
        });
        let events = parsed(ChannelKind::Telegram, &payload);
        assert_eq!(events[0].customer, customer("77", Some("Bo")));
        assert_eq!(events[0].content, Content::Text("/start".into()));
    }

    #[test]
    fn exactly_the_limits_are_accepted() {
        let longest = "é".repeat(porchlight_protocol::limits::MAX_MESSAGE_CHARS);
        let id = "m".repeat(MAX_PLATFORM_ID_BYTES);
        let events = parsed(
            ChannelKind::Messenger,
            &messenger(json!({"mid": id, "text": longest})),
        );
        assert_eq!(events[0].message_id, id);
        assert_eq!(events[0].content, Content::Text(longest));

        let name = "n".repeat(MAX_NAME_CHARS);
        let mut value = feed_value("c1", "p1", "hi");
        value["from"]["name"] = json!(name);
        let events = parsed(ChannelKind::FacebookComments, &feed(vec![value]));
        assert_eq!(events[0].customer.name, Some(name));

        let many: Vec<Value> = (0..MAX_EVENTS)
            .map(|i| wa_text("15551230000", &format!("wamid.{i}"), "hi"))
            .collect();
        let payload = whatsapp_value(json!([]), json!(many));
        assert_eq!(parsed(ChannelKind::Whatsapp, &payload).len(), MAX_EVENTS);
    }

    // ----- Nothing a customer did -----

    #[test]
    fn payloads_without_a_customer_event_are_empty() {
        let statuses = json!({
            "object": "whatsapp_business_account",
            "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
                "statuses": [{"id": "wamid.out", "status": "delivered", "timestamp": "1767225600", "recipient_id": "16315551234"}]
            }}]}]
        });
        let read_only = dm_payload(
            "page",
            json!([{"sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": MS, "read": {"watermark": MS}}]),
        );
        let mut removed = feed_value("c1", "p1", "bye");
        removed["verb"] = json!("remove");
        let edited_telegram =
            json!({"update_id": 3, "edited_message": {"message_id": 1, "text": "fixed"}});
        let cases = [
            (ChannelKind::Whatsapp, statuses),
            (ChannelKind::Messenger, read_only),
            (ChannelKind::FacebookComments, feed(vec![removed])),
            (ChannelKind::Telegram, edited_telegram),
            (
                ChannelKind::Instagram,
                json!({"object": "instagram", "entry": []}),
            ),
        ];
        for (kind, payload) in cases {
            assert_eq!(
                parse(kind, &bytes(&payload)),
                Err(InboundError::Empty),
                "{kind:?}"
            );
        }
    }

    // ----- Refused -----

    #[test]
    fn the_web_widget_has_no_webhook() {
        let sentence = invalid_sentence(ChannelKind::Web, &json!({}));
        assert!(sentence.contains("socket"), "{sentence}");
    }

    #[test]
    fn malformed_json_is_a_shape_error_for_every_platform() {
        for kind in ChannelKind::ALL {
            if kind == ChannelKind::Web {
                continue;
            }
            for (body, says) in [
                (&b"{ this is not json"[..], "key must be a string"),
                (b"", "EOF"),
                (b"\"hello\"", "invalid type: string"),
            ] {
                match parse(kind, body) {
                    Err(InboundError::Shape { platform, detail }) => {
                        assert_eq!(platform, kind.label());
                        assert!(detail.contains(says), "{kind:?}: {detail}");
                    }
                    other => panic!("{kind:?}: {other:?}"),
                }
            }
        }
        // Cut short after a well-formed start.
        match parse(
            ChannelKind::Messenger,
            b"{\"object\": \"page\", \"entry\": [",
        ) {
            Err(InboundError::Shape { detail, .. }) => assert!(detail.contains("EOF"), "{detail}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unknown_fields_are_named() {
        let cases = [
            (
                ChannelKind::Messenger,
                messenger(json!({"mid": "m1", "text": "hi", "colour": "red"})),
                "colour",
            ),
            (
                ChannelKind::Telegram,
                json!({"update_id": 1, "message": {"message_id": 1, "from": {"id": 1, "is_bot": false, "first_name": "A"}, "chat": {"id": 1, "type": "private"}, "date": 1, "text": "hi", "sticker": {}}}),
                "sticker",
            ),
            (
                ChannelKind::InstagramComments,
                ig_comments(vec![{
                    let mut value = ig_comment_value("c1", None, "hi");
                    value["like_count"] = json!(3);
                    value
                }]),
                "like_count",
            ),
            (
                ChannelKind::FacebookComments,
                feed(vec![{
                    let mut value = feed_value("c1", "p1", "hi");
                    value["mood"] = json!("happy");
                    value
                }]),
                "mood",
            ),
            (
                ChannelKind::Whatsapp,
                whatsapp_value(
                    json!([]),
                    json!([{
                        "from": "1", "id": "w1", "timestamp": "1", "type": "text",
                        "text": {"body": "hi", "preview_url": false}
                    }]),
                ),
                "preview_url",
            ),
        ];
        for (kind, payload, field) in cases {
            let detail = shape_detail(kind, &payload);
            assert!(
                detail.contains(&format!("unknown field `{field}`")),
                "{kind:?}: {detail}"
            );
        }
        // The location of a part decoded late is given.
        let detail = shape_detail(
            ChannelKind::FacebookComments,
            &feed(vec![feed_value("c1", "p1", "hi"), {
                let mut value = feed_value("c2", "p1", "hi");
                value["mood"] = json!("happy");
                value
            }]),
        );
        assert!(
            detail.starts_with("entry[0].changes[1].value: "),
            "{detail}"
        );
    }

    #[test]
    fn a_missing_field_is_named() {
        let detail = shape_detail(ChannelKind::Messenger, &messenger(json!({"text": "hi"})));
        assert!(detail.contains("missing field `mid`"), "{detail}");
        let error = refused(ChannelKind::Messenger, &messenger(json!({"text": "hi"})));
        assert!(
            error.to_string().starts_with("not a Messenger webhook: "),
            "{error}"
        );
    }

    #[test]
    fn the_object_must_match_the_channel() {
        let cases = [
            (
                ChannelKind::Messenger,
                instagram(json!({"mid": "m1", "text": "hi"})),
                "\"instagram\"",
            ),
            (
                ChannelKind::Instagram,
                messenger(json!({"mid": "m1", "text": "hi"})),
                "\"page\"",
            ),
            // Another platform's shape: the object is still the error given.
            (
                ChannelKind::Messenger,
                ig_comments(vec![ig_comment_value("c1", None, "hi")]),
                "\"instagram\"",
            ),
            (
                ChannelKind::FacebookComments,
                whatsapp_value(json!([]), json!([])),
                "\"whatsapp_business_account\"",
            ),
            (
                ChannelKind::Whatsapp,
                feed(vec![feed_value("c1", "p1", "hi")]),
                "\"page\"",
            ),
            (ChannelKind::InstagramComments, feed(vec![]), "\"page\""),
        ];
        for (kind, payload, object) in cases {
            let sentence = invalid_sentence(kind, &payload);
            assert!(
                sentence.contains(&format!("not {object}")) && sentence.contains(kind.label()),
                "{kind:?}: {sentence}"
            );
        }
    }

    #[test]
    fn a_change_of_another_field_is_refused() {
        let payload = json!({"object": "page", "entry": [{"id": PAGE, "time": SECS, "changes": [{"field": "ratings", "value": {}}]}]});
        let sentence = invalid_sentence(ChannelKind::FacebookComments, &payload);
        assert!(
            sentence.contains("\"feed\"") && sentence.contains("\"ratings\""),
            "{sentence}"
        );
    }

    #[test]
    fn texts_must_not_be_empty_nor_too_long() {
        let too_long = "a".repeat(porchlight_protocol::limits::MAX_MESSAGE_CHARS + 1);
        for text in [" \n\t ", too_long.as_str()] {
            let expected = if text.trim().is_empty() {
                "empty"
            } else {
                "longer than 2000"
            };
            let cases = [
                (
                    ChannelKind::Messenger,
                    messenger(json!({"mid": "m1", "text": text})),
                ),
                (
                    ChannelKind::Instagram,
                    instagram(
                        json!({"mid": "m1", "text": text, "reply_to": {"story": {"id": "s1", "url": STORY_URL}}}),
                    ),
                ),
                (
                    ChannelKind::FacebookComments,
                    feed(vec![feed_value("c1", "p1", text)]),
                ),
                (
                    ChannelKind::InstagramComments,
                    ig_comments(vec![ig_comment_value("c1", None, text)]),
                ),
                (
                    ChannelKind::Whatsapp,
                    whatsapp_value(json!([]), json!([wa_text("1", "w1", text)])),
                ),
                (ChannelKind::Telegram, telegram_update(private_chat(), text)),
            ];
            for (kind, payload) in cases {
                let sentence = invalid_sentence(kind, &payload);
                assert!(sentence.contains(expected), "{kind:?}: {sentence}");
            }
        }
        let sentence = invalid_sentence(ChannelKind::Messenger, &messenger(json!({"mid": "m1"})));
        assert!(sentence.contains("has no text"), "{sentence}");
    }

    #[test]
    fn story_urls_must_be_https() {
        let reply = instagram(json!({
            "mid": "m1", "text": "nice",
            "reply_to": {"story": {"id": "s1", "url": "http://cdn.example.com/story.jpg"}}
        }));
        let sentence = invalid_sentence(ChannelKind::Instagram, &reply);
        assert!(sentence.contains("https://"), "{sentence}");
        for url in [
            "http://cdn.example.com/s.jpg",
            "https://",
            "javascript:alert(1)",
            "https://a b",
        ] {
            let mention = instagram(json!({
                "mid": "m1",
                "attachments": [{"type": "story_mention", "payload": {"url": url}}]
            }));
            let sentence = invalid_sentence(ChannelKind::Instagram, &mention);
            assert!(sentence.contains("https://"), "{url}: {sentence}");
        }
        let long = format!("https://cdn.example.com/{}", "a".repeat(MAX_URL_BYTES));
        let mention = instagram(
            json!({"mid": "m1", "attachments": [{"type": "story_mention", "payload": {"url": long}}]}),
        );
        assert!(invalid_sentence(ChannelKind::Instagram, &mention).contains("longer than"));
    }

    #[test]
    fn stories_are_instagrams_and_mentions_are_one_story_mention() {
        let reply = messenger(
            json!({"mid": "m1", "text": "hi", "reply_to": {"story": {"id": "s1", "url": STORY_URL}}}),
        );
        assert!(invalid_sentence(ChannelKind::Messenger, &reply).contains("Instagram's"));
        let cases = [
            json!({"mid": "m1", "attachments": [{"type": "image", "payload": {"url": STORY_URL}}]}),
            json!({"mid": "m1", "attachments": []}),
            json!({"mid": "m1", "text": "hi", "attachments": [{"type": "story_mention", "payload": {"url": STORY_URL}}]}),
        ];
        let expected = ["\"image\"", "not 0", "neither text"];
        for (message, expected) in cases.into_iter().zip(expected) {
            let sentence = invalid_sentence(ChannelKind::Instagram, &instagram(message));
            assert!(sentence.contains(expected), "{sentence}");
        }
    }

    #[test]
    fn telegram_takes_private_chats_with_people_only() {
        let group = telegram_update(
            json!({"id": -1_001_234_567_890_i64, "type": "supergroup", "title": "Coffee lovers"}),
            "hi all",
        );
        let sentence = invalid_sentence(ChannelKind::Telegram, &group);
        assert!(
            sentence.contains("\"supergroup\"") && sentence.contains("private"),
            "{sentence}"
        );
        let group = telegram_update(json!({"id": -42, "type": "group", "title": "Team"}), "hi");
        assert!(invalid_sentence(ChannelKind::Telegram, &group).contains("\"group\""));

        let mut bot = telegram_update(private_chat(), "beep");
        bot["message"]["from"]["is_bot"] = json!(true);
        assert!(invalid_sentence(ChannelKind::Telegram, &bot).contains("bot"));
    }

    #[test]
    fn whatsapp_takes_text_messages_only() {
        let image = whatsapp_value(
            json!([{"wa_id": "16315551234", "profile": {"name": "Kerry"}}]),
            json!([{
                "from": "16315551234", "id": "wamid.img", "timestamp": "1767225600", "type": "image",
                "image": {"mime_type": "image/jpeg", "sha256": "abc", "id": "media-1", "caption": "look"}
            }]),
        );
        let sentence = invalid_sentence(ChannelKind::Whatsapp, &image);
        assert!(
            sentence.contains("\"image\"") && sentence.contains("\"text\""),
            "{sentence}"
        );

        let mut odd_time = wa_text("1", "w1", "hi");
        odd_time["timestamp"] = json!("soon");
        let sentence = invalid_sentence(
            ChannelKind::Whatsapp,
            &whatsapp_value(json!([]), json!([odd_time])),
        );
        assert!(sentence.contains("\"soon\""), "{sentence}");

        let mut other_product = whatsapp_value(json!([]), json!([wa_text("1", "w1", "hi")]));
        other_product["entry"][0]["changes"][0]["value"]["messaging_product"] = json!("sms");
        assert!(invalid_sentence(ChannelKind::Whatsapp, &other_product).contains("\"sms\""));
    }

    #[test]
    fn ids_and_names_have_limits() {
        let long_id = "9".repeat(MAX_PLATFORM_ID_BYTES + 1);
        let sentence = invalid_sentence(
            ChannelKind::Messenger,
            &messenger(json!({"mid": long_id, "text": "hi"})),
        );
        assert!(sentence.contains("longer than 128 bytes"), "{sentence}");
        let sentence = invalid_sentence(
            ChannelKind::Messenger,
            &messenger(json!({"mid": "", "text": "hi"})),
        );
        assert!(sentence.contains("is empty"), "{sentence}");
        let sentence = invalid_sentence(
            ChannelKind::Whatsapp,
            &whatsapp_value(json!([]), json!([wa_text("", "w1", "hi")])),
        );
        assert!(sentence.contains("is empty"), "{sentence}");

        let long_name = "n".repeat(MAX_NAME_CHARS + 1);
        let mut value = feed_value("c1", "p1", "hi");
        value["from"]["name"] = json!(long_name);
        let sentence = invalid_sentence(ChannelKind::FacebookComments, &feed(vec![value]));
        assert!(sentence.contains("longer than 80 characters"), "{sentence}");
        let contacts = json!([{"wa_id": "1", "profile": {"name": long_name}}]);
        let sentence = invalid_sentence(
            ChannelKind::Whatsapp,
            &whatsapp_value(contacts, json!([wa_text("1", "w1", "hi")])),
        );
        assert!(sentence.contains("longer than 80 characters"), "{sentence}");
        let mut long_telegram = telegram_update(private_chat(), "hi");
        long_telegram["message"]["from"]["last_name"] = json!(long_name);
        assert!(invalid_sentence(ChannelKind::Telegram, &long_telegram).contains("80 characters"));
    }

    #[test]
    fn more_than_a_hundred_events_are_refused() {
        let messaging: Vec<Value> = (0..=MAX_EVENTS)
            .map(|i| dm_item(json!({"mid": format!("m{i}"), "text": "hi"})))
            .collect();
        let sentence = invalid_sentence(
            ChannelKind::Messenger,
            &dm_payload("page", json!(messaging)),
        );
        assert!(sentence.contains("more than 100"), "{sentence}");
    }

    #[test]
    fn errors_read_as_sentences() {
        assert_eq!(
            InboundError::Empty.to_string(),
            "the payload carries no customer message or comment"
        );
        let error = refused(ChannelKind::Telegram, &json!({"update_id": "one"}));
        assert!(
            error
                .to_string()
                .starts_with("not a Telegram webhook: invalid type"),
            "{error}"
        );
    }
}
