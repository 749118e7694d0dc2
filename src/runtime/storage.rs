//! What the widget keeps in the browser between page loads: the session token (local
//! storage, so a reload or a later visit resumes the conversation), and in session storage
//! (per tab, kept across reloads and the host site's navigation) whether the panel was
//! open and the outbox of messages not yet stored by the server. Storage can be
//! unavailable (blocked cookies, private mode); then nothing is kept.

use crate::machine::SavedOutbox;
use porchlight_protocol::{SessionToken, SiteId};
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

/// The outbox an earlier load of this tab left, if any and readable.
pub fn load_outbox(site: &SiteId) -> Option<SavedOutbox> {
    let raw = session()?.get_item(&key(site, "outbox")).ok()??;
    serde_json::from_str(&raw).ok()
}

/// Keeps the outbox, or forgets it when nothing waits.
pub fn save_outbox(site: &SiteId, outbox: Option<&SavedOutbox>) {
    let Some(storage) = session() else {
        return;
    };
    let key = key(site, "outbox");
    let _ = match outbox.and_then(|o| serde_json::to_string(o).ok()) {
        Some(json) => storage.set_item(&key, &json),
        None => storage.remove_item(&key),
    };
}
