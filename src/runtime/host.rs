//! The bridge to the host page's loader (`loader/porchlight.js`). The widget learns its
//! site and the host's origin from its own URL (`?site=…&host=…`), posts only to that
//! exact origin, and accepts commands only from that origin and from its parent window.

use super::Runtime;
use super::storage::parse_seen;
use crate::machine::{HostEvent, Input};
use js_sys::{Object, Reflect};
use leptos::prelude::*;
use porchlight_protocol::{AuthorKind, Position, SiteId, lean};
use wasm_bindgen::JsValue;
use web_sys::{MessageEvent, UrlSearchParams, Window};

/// The widget's size when only the round launcher (60 px) shows, in CSS pixels: a label
/// widens the launcher, and the frame with it (see [`resize`]).
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

/// Asks the loader to size the iframe for the panel being `open` or closed. Closed, the
/// launcher measures itself (kept laid out while hidden behind the panel), so a label fits.
pub fn resize(open: bool, position: Position) {
    let (width, height) = if open {
        OPEN_SIZE
    } else {
        let launcher = leptos::prelude::document().get_element_by_id("pl-launcher");
        let wide = launcher.map_or(60, |l| l.client_width().max(60) as u32);
        (CLOSED_SIZE.0 - 60 + wide, CLOSED_SIZE.1)
    };
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

/// Tells the host page's listeners of `event` (`message`, `unread`, `chat:started`,
/// `chat:ended`).
pub fn event(event: HostEvent) {
    let (name, detail): (&str, JsValue) = match event {
        HostEvent::Message { author, text } => {
            let detail = Object::new();
            let kind = if author.kind == AuthorKind::Bot {
                "bot"
            } else {
                "agent"
            };
            for (field, value) in [
                ("author_kind", kind),
                ("author_name", &author.name),
                ("text", &text),
            ] {
                let _ = Reflect::set(&detail, &field.into(), &value.into());
            }
            ("message", detail.into())
        }
        HostEvent::Unread(count) => ("unread", count.into()),
        HostEvent::ChatStarted => ("chat:started", JsValue::UNDEFINED),
        HostEvent::ChatEnded => ("chat:ended", JsValue::UNDEFINED),
    };
    post(
        "porchlight:event",
        &[("name", name.into()), ("detail", detail)],
    );
}

/// Applies one `porchlight:command` message's command; whether it was one. `booting`: it
/// reached the page before the app started.
fn apply(runtime: Runtime, data: &JsValue, booting: bool) -> bool {
    let field = |name: &str| {
        Reflect::get(data, &name.into())
            .ok()
            .and_then(|v| v.as_string())
    };
    if field("type").as_deref() != Some("porchlight:command") {
        return false;
    }
    match field("command").as_deref() {
        Some("open") => runtime.dispatch(Input::Open),
        Some("close") => runtime.dispatch(Input::Close),
        Some("toggle") => runtime.dispatch(Input::Toggle),
        // The page's boot script has cleared the stored session already.
        Some("reset") => runtime.dispatch(Input::Reset),
        // The host page's `identify`, a plain object (boot.js has stored it already).
        Some("identify") => {
            let detail = Reflect::get(data, &"detail".into()).unwrap_or_default();
            let json = js_sys::JSON::stringify(&detail)
                .ok()
                .and_then(|j| j.as_string());
            match json.as_deref().map(lean::read_identity) {
                Some(Ok(identity)) => runtime.dispatch(Input::Identify(identity)),
                _ => leptos::logging::warn!("Porchlight('identify') ignored an invalid identity"),
            }
        }
        // boot.js has stored the language: the widget's document loads again in it, and
        // resumes everything it keeps (session, outbox, open panel). Not when the widget
        // shows that language already, nor before the app started (the configuration was
        // asked for in it then).
        Some("setLocale") => {
            let shown = leptos::prelude::document()
                .document_element()
                .and_then(|root| Reflect::get(&root, &"lang".into()).ok())
                .and_then(|lang| lang.as_string());
            if !booting
                && field("detail") != shown
                && let Some(window) = web_sys::window()
            {
                let _ = window.location().reload();
            }
        }
        // Another tab showed the conversation (boot.js relays the storage event).
        Some("seen") => {
            if let Some((conversation, seq)) = field("detail").as_deref().and_then(parse_seen) {
                runtime.dispatch(Input::Seen { conversation, seq });
            }
        }
        _ => return false,
    }
    true
}

/// Applies what reached the page before the app started (`boot.js` keeps it in
/// `window.__porchlightPending`: host commands, and the visitor's click on the launcher
/// drawn before the app, marked `focus`). Returns whether the visitor clicked, so the view
/// moves focus into the panel as a click on the launcher does.
pub fn take_boot_commands(runtime: Runtime) -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    let Ok(pending) = Reflect::get(&window, &"__porchlightPending".into()) else {
        return false;
    };
    let _ = Reflect::set(&window, &"__porchlightPending".into(), &JsValue::UNDEFINED);
    let mut clicked = false;
    for data in js_sys::Array::from(&pending).iter() {
        let focus = Reflect::get(&data, &"focus".into()).is_ok_and(|f| f.is_truthy());
        clicked |= apply(runtime, &data, true) && focus;
    }
    clicked
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
        apply(runtime, &event.data(), false);
    });
    // The widget lives as long as the page: keep listening.
    std::mem::forget(handle);
}
