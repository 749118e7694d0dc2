//! Payloads shaped like the platforms' samples, and helpers that parse them, for the
//! inbound parsers' unit tests.

use super::inbound::{Customer, Inbound, InboundError, parse};
use porchlight_protocol::channels::ChannelKind;
use serde_json::{Value, json};

pub(super) const PAGE: &str = "104758392011234";
pub(super) const PSID: &str = "6512345678901234";
pub(super) const MS: u64 = 1_767_225_600_123;
pub(super) const SECS: u64 = 1_767_225_600;
pub(super) const STORY_URL: &str =
    "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1789&signature=abc";

pub(super) fn bytes(payload: &Value) -> Vec<u8> {
    serde_json::to_vec(payload).expect("a JSON value serializes")
}

pub(super) fn parsed(kind: ChannelKind, payload: &Value) -> Vec<Inbound> {
    match parse(kind, &bytes(payload)) {
        Ok(events) => events,
        Err(e) => panic!("{kind:?} refused {payload}: {e}"),
    }
}

pub(super) fn refused(kind: ChannelKind, payload: &Value) -> InboundError {
    match parse(kind, &bytes(payload)) {
        Ok(events) => panic!("{kind:?} accepted {payload}: {events:?}"),
        Err(e) => e,
    }
}

/// The sentence of an `Invalid` refusal.
pub(super) fn invalid_sentence(kind: ChannelKind, payload: &Value) -> String {
    match refused(kind, payload) {
        InboundError::Invalid(sentence) => sentence,
        other => panic!("expected Invalid from {kind:?}, got {other:?}"),
    }
}

/// The detail of a `Shape` refusal.
pub(super) fn shape_detail(kind: ChannelKind, payload: &Value) -> String {
    match refused(kind, payload) {
        InboundError::Shape { platform, detail } => {
            assert_eq!(platform, kind.label());
            detail
        }
        other => panic!("expected Shape from {kind:?}, got {other:?}"),
    }
}

pub(super) fn customer(id: &str, name: Option<&str>) -> Customer {
    Customer {
        id: id.into(),
        name: name.map(str::to_string),
    }
}

// ----- Payload builders, shaped like the platforms' samples -----

pub(super) fn dm_payload(object: &str, messaging: Value) -> Value {
    json!({
        "object": object,
        "entry": [{"id": PAGE, "time": MS + 500, "messaging": messaging}]
    })
}

pub(super) fn dm_item(message: Value) -> Value {
    json!({
        "sender": {"id": PSID},
        "recipient": {"id": PAGE},
        "timestamp": MS,
        "message": message
    })
}

pub(super) fn messenger(message: Value) -> Value {
    dm_payload("page", json!([dm_item(message)]))
}

pub(super) fn instagram(message: Value) -> Value {
    dm_payload("instagram", json!([dm_item(message)]))
}

pub(super) fn feed_value(comment_id: &str, parent_id: &str, message: &str) -> Value {
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

pub(super) fn feed(values: Vec<Value>) -> Value {
    let changes: Vec<Value> = values
        .into_iter()
        .map(|value| json!({"field": "feed", "value": value}))
        .collect();
    json!({
        "object": "page",
        "entry": [{"id": PAGE, "time": SECS, "changes": changes}]
    })
}

pub(super) fn ig_comment_value(id: &str, parent: Option<&str>, text: &str) -> Value {
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

pub(super) fn ig_comments(values: Vec<Value>) -> Value {
    let changes: Vec<Value> = values
        .into_iter()
        .map(|value| json!({"field": "comments", "value": value}))
        .collect();
    json!({
        "object": "instagram",
        "entry": [{"id": "17841499999999999", "time": SECS, "changes": changes}]
    })
}

pub(super) fn whatsapp_value(contacts: Value, messages: Value) -> Value {
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

pub(super) fn wa_text(from: &str, id: &str, body: &str) -> Value {
    json!({
        "from": from,
        "id": id,
        "timestamp": SECS.to_string(),
        "type": "text",
        "text": {"body": body}
    })
}

pub(super) fn telegram_update(chat: Value, text: &str) -> Value {
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

pub(super) fn private_chat() -> Value {
    json!({"id": 123_456_789, "type": "private", "first_name": "Ada", "last_name": "Lovelace", "username": "ada"})
}
