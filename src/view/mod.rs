//! The view: thin components that render the [`Widget`](crate::machine::Widget) state and
//! dispatch inputs through the [`Runtime`](crate::runtime::Runtime) in context.
//!
//! - [`app`]: the root — fetches the site configuration, applies the theme, sizes the frame.
//! - [`launcher`]: the round button that opens the chat.
//! - [`panel`]: the chat panel: header, transcript, status line, composer.
//! - [`transcript`]: the message list (`role="log"`).
//! - [`composer`]: the labelled textbox and Send button.

pub mod app;
pub mod composer;
pub mod launcher;
pub mod panel;
pub mod transcript;

use leptos::prelude::*;
use std::time::Duration;

/// Moves keyboard focus to the element with `id` once the current render has landed.
pub fn focus_soon(id: &'static str) {
    set_timeout(
        move || {
            if let Some(element) = document()
                .get_element_by_id(id)
                .and_then(|e| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(e).ok())
            {
                let _ = element.focus();
            }
        },
        Duration::ZERO,
    );
}
