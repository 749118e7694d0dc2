//! WhatsApp Cloud API webhooks: `object` `whatsapp_business_account`, changes of field
//! `messages` whose value carries the customers' messages and their `contacts`.
//!
//! Rules: the `object` and the field must be WhatsApp's and `messaging_product` must be
//! `whatsapp`; only `text` messages are supported; the `timestamp` is seconds as a string
//! of digits; a sender's name comes from the contact with their `wa_id`. Delivery statuses
//! of the business's messages are accepted and skipped.

use super::inbound::{
    Change, Content, Customer, Events, Inbound, InboundError, check_field, check_object, decode,
    decode_at, invalid, name, platform_id, seconds_to_ms, shown, text,
};
use porchlight_protocol::channels::ChannelKind;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::Value;

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

pub(super) fn parse(body: &[u8], events: &mut Events) -> Result<(), InboundError> {
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

#[cfg(test)]
mod tests {
    use crate::channels::inbound::{Content, Inbound};
    use crate::channels::samples::*;
    use porchlight_protocol::channels::ChannelKind;
    use serde_json::json;

    // ----- Accepted -----

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

    // ----- Refused -----

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
}
