//! Messenger and Instagram direct messages: both come through Meta's Messenger Platform
//! in one payload shape, `object` `page` (Messenger) or `instagram`, with the customer's
//! messages in `entry[].messaging[]`, timed in milliseconds by `messaging[].timestamp`.
//!
//! Rules: the `object` must be the channel's; a message carries text. Only on Instagram
//! may it also reply to one of the account's stories (`reply_to.story`, with text) or
//! instead be a story mention (exactly one `story_mention` attachment, with neither text
//! nor `reply_to`); story URLs must be https. Read and delivery receipts are accepted and
//! skipped.

use super::inbound::{
    Content, Customer, Events, Inbound, InboundError, check_object, decode, invalid, media_url,
    platform_id, shown, text,
};
use porchlight_protocol::channels::ChannelKind;
use serde::Deserialize;
use serde::de::IgnoredAny;

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

pub(super) fn parse(
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

#[cfg(test)]
mod tests {
    use crate::channels::inbound::{Content, Inbound, MAX_URL_BYTES};
    use crate::channels::samples::*;
    use porchlight_protocol::channels::ChannelKind;
    use serde_json::json;

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

    // ----- Refused -----

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
}
