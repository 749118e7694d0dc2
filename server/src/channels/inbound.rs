//! Inbound webhooks, shaped like the platforms' own (simplified, see `CHANNELS.md`): each
//! payload parses into the customer events it carries, or a typed error that names what is
//! wrong; unknown fields are errors, so a payload is never half-understood.
//!
//! This module holds what every platform shares: the public types ([`Inbound`],
//! [`Customer`], [`Content`], [`InboundError`]), [`parse`], which hands the payload to the
//! channel's platform parser, the limits on events, ids and URLs, and the checks the
//! parsers share (an id's and a name's limits, a text's rules, an https media URL, the
//! `object` a Meta webhook must carry). Each platform's shape and rules are in its own
//! module: `meta_messages` (Messenger and Instagram DMs), `comments` (Facebook and
//! Instagram comments), `whatsapp` (the WhatsApp Cloud API) and `telegram` (Telegram Bot
//! API updates).
//!
//! What carries no customer event is accepted and skipped: read and delivery receipts,
//! WhatsApp statuses, Facebook comment edits and removals (and feed items that are not
//! comments), the Page's or account's own comments, edited Telegram messages. Timestamps:
//! Messenger and Instagram DMs carry milliseconds (`messaging[].timestamp`); Facebook's
//! `created_time`, Instagram comments' `entry[].time`, WhatsApp's `timestamp` and
//! Telegram's `date` carry seconds.

use super::{comments, meta_messages, telegram, whatsapp};
use porchlight_protocol::channels::ChannelKind;
use porchlight_protocol::limits::MAX_NAME_CHARS;
use porchlight_protocol::text::message_text;
use serde::Deserialize;
use serde::de::DeserializeOwned;
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
            meta_messages::parse(kind, body, &mut events)?
        }
        ChannelKind::FacebookComments => comments::facebook(body, &mut events)?,
        ChannelKind::InstagramComments => comments::instagram(body, &mut events)?,
        ChannelKind::Whatsapp => whatsapp::parse(body, &mut events)?,
        ChannelKind::Telegram => telegram::parse(body, &mut events)?,
    }
    events.finish()
}

/// The events found so far, never more than [`MAX_EVENTS`]; the platform parsers push
/// what they find.
#[derive(Default)]
pub(super) struct Events(Vec<Inbound>);

impl Events {
    pub(super) fn push(&mut self, event: Inbound) -> Result<(), InboundError> {
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

// ----- Shared checks, used by the platform parsers -----

pub(super) fn invalid(sentence: String) -> InboundError {
    InboundError::Invalid(sentence)
}

pub(super) fn shape(kind: ChannelKind, detail: impl std::fmt::Display) -> InboundError {
    InboundError::Shape {
        platform: kind.label(),
        detail: detail.to_string(),
    }
}

/// A value from the payload, quoted for an error sentence and cut short if long.
pub(super) fn shown(value: &str) -> String {
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

pub(super) fn check_object(kind: ChannelKind, object: &str) -> Result<(), InboundError> {
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
pub(super) fn decode<T: DeserializeOwned>(
    kind: ChannelKind,
    body: &[u8],
) -> Result<T, InboundError> {
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
pub(super) fn decode_at<T: DeserializeOwned>(
    kind: ChannelKind,
    at: &str,
    value: &Value,
) -> Result<T, InboundError> {
    T::deserialize(value).map_err(|error| shape(kind, format!("{at}: {error}")))
}

pub(super) fn platform_id(what: &str, id: String) -> Result<String, InboundError> {
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
pub(super) fn text(what: &str, raw: Option<String>) -> Result<String, InboundError> {
    let raw = raw.ok_or_else(|| invalid(format!("{what} has no text")))?;
    message_text(&raw)
        .map(str::to_string)
        .map_err(|e| invalid(format!("{what}: {e}")))
}

/// A display name, trimmed; blank is no name.
pub(super) fn name(what: &str, raw: &str) -> Result<Option<String>, InboundError> {
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

pub(super) fn media_url(what: &str, url: String) -> Result<String, InboundError> {
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

pub(super) fn seconds_to_ms(what: &str, seconds: u64) -> Result<u64, InboundError> {
    seconds
        .checked_mul(1_000)
        .ok_or_else(|| invalid(format!("the {what} ({seconds} s) is out of range")))
}

/// A `changes[]` item of a Meta webhook; its value is decoded once the field is known.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Change {
    pub(super) field: String,
    pub(super) value: Value,
}

pub(super) fn check_field(
    kind: ChannelKind,
    expected: &str,
    field: &str,
) -> Result<(), InboundError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::samples::*;
    use serde_json::json;

    // ----- Accepted -----

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
