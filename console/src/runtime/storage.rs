//! What the console keeps in the tab's session storage: the admin token and who signed in.
//! The token arrives in the URL's fragment (`#token=…`, never sent to the server with the
//! page request); it is moved to storage and the fragment is taken out of the address bar
//! at once. Storage can be unavailable; then a reload asks again.

use crate::state::Who;
use crate::state::gate::{decode_who, encode_who, token_from_hash};
use porchlight_protocol::AdminToken;
use wasm_bindgen::JsValue;
use web_sys::Storage;

const TOKEN_KEY: &str = "porchlight-console:token";
const WHO_KEY: &str = "porchlight-console:who";

fn session() -> Option<Storage> {
    web_sys::window()?.session_storage().ok()?
}

fn get(key: &str) -> Option<String> {
    session()?.get_item(key).ok()?
}

fn set(key: &str, value: Option<&str>) {
    if let Some(storage) = session() {
        let _ = match value {
            Some(value) => storage.set_item(key, value),
            None => storage.remove_item(key),
        };
    }
}

/// The token: from the URL's fragment (which is then removed from the address bar and
/// kept in storage), else from storage. `Some(Err(()))` when the URL's token is malformed.
pub fn take_token() -> Option<Result<AdminToken, ()>> {
    let window = web_sys::window()?;
    let location = window.location();
    let hash = location.hash().unwrap_or_default();
    if let Some(found) = token_from_hash(&hash) {
        // Out of the address bar (and so out of history and screenshots) at once.
        let bare = format!(
            "{}{}",
            location.pathname().unwrap_or_default(),
            location.search().unwrap_or_default()
        );
        if let Ok(history) = window.history() {
            let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&bare));
        }
        match &found {
            Ok(token) => set(TOKEN_KEY, Some(token.as_str())),
            Err(()) => set(TOKEN_KEY, None),
        }
        return Some(found);
    }
    get(TOKEN_KEY)
        .and_then(|raw| AdminToken::new(raw).ok())
        .map(Ok)
}

/// Whether the URL's fragment holds a token (well-formed or not).
pub fn has_token_in_url() -> bool {
    web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .is_some_and(|hash| token_from_hash(&hash).is_some())
}

/// Forgets the token (the server refused it).
pub fn forget_token() {
    set(TOKEN_KEY, None);
    set(WHO_KEY, None);
}

/// Who signed in in this tab, if anyone.
pub fn load_who() -> Option<Who> {
    decode_who(&get(WHO_KEY)?)
}

/// Remembers who signed in, or (`None`) signs out.
pub fn save_who(who: Option<&Who>) {
    set(WHO_KEY, who.map(encode_who).as_deref());
}
