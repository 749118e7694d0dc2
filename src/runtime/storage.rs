//! What the widget keeps in the browser between page loads: the session token (local
//! storage, so a reload or a later visit resumes the conversation), and in session storage
//! (per tab, kept across reloads and the host site's navigation) whether the panel was
//! open and the outbox of messages not yet stored by the server. Storage can be
//! unavailable (blocked cookies, private mode); then nothing is kept.

use crate::machine::{Outgoing, SavedOutbox, Sending};
use js_sys::{Array, JSON};
use porchlight_protocol::{ChoiceId, ConversationId, MessageId, Seq, SessionToken, SiteId, lean};
use wasm_bindgen::JsCast;
use web_sys::Storage;

fn local() -> Option<Storage> {
    web_sys::window()?.local_storage().ok()?
}

fn session() -> Option<Storage> {
    web_sys::window()?.session_storage().ok()?
}

fn key(site: &SiteId, what: &str) -> String {
    format!("porchlight:{site}:{what}")
}

/// The stored session token, if any and valid.
pub fn load_token(site: &SiteId) -> Option<SessionToken> {
    let raw = local()?.get_item(&key(site, "token")).ok()??;
    SessionToken::new(raw).ok()
}

/// Keeps `token` for the next visit.
pub fn save_token(site: &SiteId, token: &SessionToken) {
    if let Some(storage) = local() {
        let _ = storage.set_item(&key(site, "token"), token.as_str());
    }
}

/// The identity the host page gave (`boot.js` keeps it as JSON), if any and valid.
pub fn load_identity(site: &SiteId) -> Option<lean::IdentityText> {
    let raw = local()?.get_item(&key(site, "identity")).ok()??;
    lean::read_identity(&raw).ok()
}

/// The language the host page set (`Porchlight('setLocale', tag)`, kept by `boot.js`).
pub fn load_locale(site: &SiteId) -> Option<String> {
    local()?.get_item(&key(site, "locale")).ok()?
}

/// Whether the panel was open when the page was last left.
pub fn load_open(site: &SiteId) -> bool {
    session()
        .and_then(|s| s.get_item(&key(site, "open")).ok().flatten())
        .is_some_and(|v| v == "1")
}

/// Remembers whether the panel is open.
pub fn save_open(site: &SiteId, open: bool) {
    if let Some(storage) = session() {
        let _ = storage.set_item(&key(site, "open"), if open { "1" } else { "0" });
    }
}

/// The outbox an earlier load of this tab left, if any and readable. It is kept as
/// `[conversation, [id, text, choice?], …]` in JSON, read and written by the browser's own
/// `JSON`, which costs the bundle far less than a serde codec.
pub fn load_outbox(site: &SiteId) -> Option<SavedOutbox> {
    let raw = session()?.get_item(&key(site, "outbox")).ok()??;
    let rows: Array = JSON::parse(&raw).ok()?.dyn_into().ok()?;
    let conversation = ConversationId::new(rows.get(0).as_string()?).ok()?;
    let messages = rows
        .iter()
        .skip(1)
        .map(|row| {
            let row: Array = row.dyn_into().ok()?;
            let sending = match row.get(2).as_string() {
                Some(choice) => Sending::Choice(ChoiceId::new(choice).ok()?),
                None => Sending::Text,
            };
            Some(Outgoing {
                id: MessageId::new(row.get(0).as_string()?).ok()?,
                text: row.get(1).as_string()?,
                sending,
                acked: None,
                in_flight: false,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    Some(SavedOutbox {
        conversation,
        messages,
    })
}

/// Keeps the outbox, or forgets it when nothing waits.
pub fn save_outbox(site: &SiteId, outbox: Option<&SavedOutbox>) {
    let Some(storage) = session() else {
        return;
    };
    let key = key(site, "outbox");
    let _ = match outbox.and_then(encode_outbox) {
        Some(json) => storage.set_item(&key, &json),
        None => storage.remove_item(&key),
    };
}

fn encode_outbox(outbox: &SavedOutbox) -> Option<String> {
    let rows = Array::of1(&outbox.conversation.as_str().into());
    for message in &outbox.messages {
        let row = Array::of2(&message.id.as_str().into(), &message.text.as_str().into());
        if let Sending::Choice(choice) = &message.sending {
            row.push(&choice.as_str().into());
        }
        rows.push(&row);
    }
    JSON::stringify(&rows).ok()?.as_string()
}

/// How far the visitor has seen a conversation, as `"SEQ CONVERSATION"` in local storage
/// (shared by the tabs, which hear each other's writes).
pub fn parse_seen(raw: &str) -> Option<(ConversationId, Seq)> {
    let (seq, conversation) = raw.split_once(' ')?;
    Some((
        ConversationId::new(conversation).ok()?,
        Seq(seq.parse().ok()?),
    ))
}

/// The stored [`parse_seen`] mark.
pub fn load_seen(site: &SiteId) -> Option<(ConversationId, Seq)> {
    parse_seen(&local()?.get_item(&key(site, "seen")).ok()??)
}

/// Keeps how far the visitor has seen `conversation`.
pub fn save_seen(site: &SiteId, conversation: &ConversationId, seq: Seq) {
    if let Some(storage) = local() {
        let _ = storage.set_item(&key(site, "seen"), &format!("{} {conversation}", seq.0));
    }
}
