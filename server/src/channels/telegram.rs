//! Telegram Bot API updates: one `message` per update, timed by its `date` in seconds;
//! the customer is the chat, named by the sender's first and last name.
//!
//! Rules: only private chats with the bot are supported (not groups, supergroups or
//! channels), and the sender must not be a bot. Edited messages are accepted and skipped.

use super::inbound::{
    Content, Customer, Events, Inbound, InboundError, decode, invalid, name, seconds_to_ms, shown,
    text,
};
use porchlight_protocol::channels::ChannelKind;
use serde::Deserialize;
use serde::de::IgnoredAny;

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

pub(super) fn parse(body: &[u8], events: &mut Events) -> Result<(), InboundError> {
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
    use crate::channels::inbound::{Content, Inbound};
    use crate::channels::samples::*;
    use porchlight_protocol::channels::ChannelKind;
    use serde_json::json;

    // ----- Accepted -----

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

    // ----- Refused -----

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
}
