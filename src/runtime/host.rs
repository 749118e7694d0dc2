//! The bridge to the host page's loader (`loader/porchlight.js`). The widget learns its
//! site and the host's origin from its own URL (`?site=…&host=…`), posts only to that
//! exact origin, and accepts commands only from that origin and from its parent window.

use super::Runtime;
use crate::machine::Input;
use js_sys::{Object, Reflect};
use leptos::prelude::*;
use porchlight_protocol::{Position, SiteId};
use wasm_bindgen::JsValue;
use web_sys::{MessageEvent, UrlSearchParams, Window};

/// The widget's size when only the launcher shows, in CSS pixels.
pub const CLOSED_SIZE: (u32, u32) = (96, 96);
/// The widget's size with the panel open; the loader clamps it to the viewport.
pub const OPEN_SIZE: (u32, u32) = (416, 680);

fn query(name: &str) -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    UrlSearchParams::new_with_str(&search).ok()?.get(name)
}

/// The site named in the widget's URL, if it is a valid id.
pub fn site_param() -> Option<SiteId> {
    SiteId::new(query("site")?).ok()
}

/// The host page's origin, if the widget runs in a frame that named one.
fn host() -> Option<(Window, String)> {
    let window = web_sys::window()?;
    let parent = window.parent().ok()??;
    if Object::is(&parent, &window) {
        return None; // not framed
    }
    let origin = query("host")?;
    (origin.starts_with("https://") || origin.starts_with("http://")).then_some((parent, origin))
}

fn post(kind: &str, fields: &[(&str, JsValue)]) {
    let Some((parent, origin)) = host() else {
        return;
    };
    let message = Object::new();
    let _ = Reflect::set(&message, &"type".into(), &kind.into());
    for (name, value) in fields {
        let _ = Reflect::set(&message, &(*name).into(), value);
    }
    // Fails only for a malformed origin, which host() already excluded.
    let _ = parent.post_message(&message, &origin);
}

/// Tells the loader the widget is running and may receive commands.
pub fn ready() {
    post("porchlight:ready", &[]);
}

/// Asks the loader to size the iframe for the panel being `open` or closed.
pub fn resize(open: bool, position: Position) {
    let (width, height) = if open { OPEN_SIZE } else { CLOSED_SIZE };
    let position = match position {
        Position::BottomRight => "bottom-right",
        Position::BottomLeft => "bottom-left",
    };
    post(
        "porchlight:resize",
        &[
            ("width", width.into()),
            ("height", height.into()),
            ("position", position.into()),
        ],
    );
}

/// Tells the host page's `Porchlight('on', 'open' | 'close', …)` listeners.
pub fn panel_changed(open: bool) {
    let name = if open { "open" } else { "close" };
    post("porchlight:event", &[("name", name.into())]);
}

/// Applies commands the host page sends through the loader.
pub fn listen(runtime: Runtime) {
    let handle = window_event_listener(leptos::ev::message, move |event: MessageEvent| {
        let Some((parent, origin)) = host() else {
            return;
        };
        let from_parent = event
            .source()
            .is_some_and(|source| Object::is(&source, &parent));
        if event.origin() != origin || !from_parent {
            return;
        }
        let data = event.data();
        let field = |name: &str| {
            Reflect::get(&data, &name.into())
                .ok()
                .and_then(|v| v.as_string())
        };
        if field("type").as_deref() != Some("porchlight:command") {
            return;
        }
        match field("command").as_deref() {
            Some("open") => runtime.dispatch(Input::Open),
            Some("close") => runtime.dispatch(Input::Close),
            Some("toggle") => runtime.dispatch(Input::Toggle),
            _ => {}
        }
    });
    // The widget lives as long as the page: keep listening.
    std::mem::forget(handle);
}
