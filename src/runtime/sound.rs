//! The chime for a new bot or agent message while the panel is closed, when the site turns
//! it on (`sound = true`; off by default). The widget page's boot script synthesises it
//! with Web Audio (`window.__porchlightChime`, in `boot.js`): there is no file to fetch,
//! and in JavaScript it costs a fraction of the bytes of the web-sys audio bindings. The
//! boot script stays silent for a visitor who prefers reduced motion, and when the browser
//! keeps audio from starting.

use js_sys::{Function, Reflect};
use wasm_bindgen::{JsCast, JsValue};

/// Plays the chime, if the page can.
pub fn chime() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let chime = Reflect::get(&window, &"__porchlightChime".into())
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok());
    if let Some(chime) = chime {
        // A page that cannot play it leaves the chime out.
        let _ = chime.call0(&JsValue::NULL);
    }
}
