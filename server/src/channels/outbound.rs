//! Agent sends as the platforms receive them: each becomes a record in the channel's
//! outbox shaped like that platform's send call (Graph API `/me/messages` for Messenger
//! and Instagram, comment edges for comments, the WhatsApp Cloud API `/messages`, Telegram
//! `sendMessage`), so a site owner can compare them with what their integration sends.

use porchlight_protocol::ConversationId;
use porchlight_protocol::channels::{ChannelKind, Delivery};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// What an agent sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action<'a> {
    /// A message (free text, or tagged `HUMAN_AGENT` outside the window).
    Text {
        text: &'a str,
        delivery: Delivery,
    },
    /// A WhatsApp template.
    Template {
        name: &'a str,
    },
    /// A reply under the customer's comment, seen by everyone.
    PublicReply {
        comment: &'a str,
        text: &'a str,
    },
    /// A direct message to the commenter about the comment.
    PrivateReply {
        comment: &'a str,
        text: &'a str,
    },
    Hide {
        comment: &'a str,
    },
    Delete {
        comment: &'a str,
    },
}

/// One record of a channel's outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxRecord {
    pub conversation: ConversationId,
    /// When it was sent, on the mock's clock.
    pub at_ms: u64,
    /// The platform's call: method, path and body.
    pub call: Value,
}

/// The platform call that carries `action` to `recipient` (the customer's platform id).
pub fn call(kind: ChannelKind, recipient: &str, action: &Action<'_>) -> Value {
    match (kind, action) {
        (ChannelKind::Whatsapp, Action::Template { name }) => json!({
            "method": "POST", "path": "/PHONE_NUMBER_ID/messages",
            "body": {"messaging_product": "whatsapp", "recipient_type": "individual",
                     "to": recipient, "type": "template",
                     "template": {"name": name, "language": {"code": "en"}}},
        }),
        (ChannelKind::Whatsapp, Action::Text { text, .. }) => json!({
            "method": "POST", "path": "/PHONE_NUMBER_ID/messages",
            "body": {"messaging_product": "whatsapp", "recipient_type": "individual",
                     "to": recipient, "type": "text", "text": {"body": text}},
        }),
        (ChannelKind::Telegram, Action::Text { text, .. }) => json!({
            "method": "POST", "path": "/botTOKEN/sendMessage",
            "body": {"chat_id": recipient, "text": text},
        }),
        (ChannelKind::Web, Action::Text { text, .. }) => json!({
            "method": "SOCKET", "path": "/api/v1/ws", "body": {"text": text},
        }),
        (_, Action::Text { text, delivery }) => {
            let mut body = json!({
                "recipient": {"id": recipient},
                "messaging_type": "RESPONSE",
                "message": {"text": text},
            });
            if *delivery == Delivery::HumanAgentTag {
                body["messaging_type"] = json!("MESSAGE_TAG");
                body["tag"] = json!("HUMAN_AGENT");
            }
            json!({"method": "POST", "path": "/me/messages", "body": body})
        }
        (ChannelKind::InstagramComments, Action::PublicReply { comment, text }) => json!({
            "method": "POST", "path": format!("/{comment}/replies"), "body": {"message": text},
        }),
        (_, Action::PublicReply { comment, text }) => json!({
            "method": "POST", "path": format!("/{comment}/comments"), "body": {"message": text},
        }),
        (_, Action::PrivateReply { comment, text }) => json!({
            "method": "POST", "path": "/me/messages",
            "body": {"recipient": {"comment_id": comment}, "message": {"text": text}},
        }),
        (ChannelKind::InstagramComments, Action::Hide { comment }) => json!({
            "method": "POST", "path": format!("/{comment}"), "body": {"hide": true},
        }),
        (_, Action::Hide { comment }) => json!({
            "method": "POST", "path": format!("/{comment}"), "body": {"is_hidden": true},
        }),
        (_, Action::Delete { comment }) => json!({
            "method": "DELETE", "path": format!("/{comment}"),
        }),
        (_, Action::Template { name }) => json!({
            "method": "POST", "path": "/unsupported", "body": {"template": name},
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_are_shaped_like_each_platforms_call() {
        let text = |delivery| Action::Text {
            text: "Hi",
            delivery,
        };
        let tagged = call(
            ChannelKind::Messenger,
            "psid1",
            &text(Delivery::HumanAgentTag),
        );
        assert_eq!(tagged["body"]["tag"], "HUMAN_AGENT");
        assert_eq!(tagged["body"]["messaging_type"], "MESSAGE_TAG");
        assert_eq!(tagged["body"]["recipient"]["id"], "psid1");
        let plain = call(ChannelKind::Instagram, "igsid", &text(Delivery::Standard));
        assert_eq!(plain["body"]["messaging_type"], "RESPONSE");
        assert!(plain["body"].get("tag").is_none());
        let template = call(
            ChannelKind::Whatsapp,
            "447700900123",
            &Action::Template {
                name: "order_update",
            },
        );
        assert_eq!(template["body"]["template"]["name"], "order_update");
        assert_eq!(template["body"]["to"], "447700900123");
        let telegram = call(ChannelKind::Telegram, "42", &text(Delivery::Standard));
        assert_eq!(telegram["body"]["chat_id"], "42");
        let private = call(
            ChannelKind::FacebookComments,
            "u1",
            &Action::PrivateReply {
                comment: "c9",
                text: "Hi",
            },
        );
        assert_eq!(private["body"]["recipient"]["comment_id"], "c9");
        let reply = call(
            ChannelKind::InstagramComments,
            "u1",
            &Action::PublicReply {
                comment: "c9",
                text: "Hi",
            },
        );
        assert_eq!(reply["path"], "/c9/replies");
        let delete = call(
            ChannelKind::FacebookComments,
            "u1",
            &Action::Delete { comment: "c9" },
        );
        assert_eq!(delete["method"], "DELETE");
    }
}
