//! What the widget keeps in the browser between page loads: the session token (local
//! storage, so a reload or a later visit resumes the conversation) and whether the panel
//! was open (session storage, so navigating the host site keeps the chat open). Storage
//! can be unavailable (blocked cookies, private mode); then nothing is kept.

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
