//! The view: thin components that render the [`Console`](crate::state::Console) state and
//! dispatch inputs through the [`Runtime`](crate::runtime::Runtime) in context. Every
//! visitor, agent and bot word is rendered as a text node, never as HTML.
//!
//! - [`app`]: the root — the token, the sign-in screen, or the desk.
//! - [`signin`]: the screens before the desk: no token, wrong token, pick who you are.
//! - [`desk`]: the signed-in page: header (name, online toggle, load, link, sign out) and
//!   the `<main>` with the folders beside the open chat.
//! - [`notices`]: the polite announcer and the alert for refusals.
//! - [`folders`]: the folder tabs, their filters and search, and the rows.
//! - [`row`]: one conversation in a folder, with its countdown and actions.
//! - [`chat`]: the open conversation: transcript, pre-chat answers, typing, the reply
//!   window, the story, the comment's state; [`composer`]: what the agent may send there.
//! - [`simulate`]: a customer's message on a social channel, made up by hand.

pub mod app;
pub mod chat;
pub mod composer;
pub mod desk;
pub mod folders;
pub mod notices;
pub mod row;
pub mod signin;
pub mod simulate;

use leptos::prelude::*;
use porchlight_protocol::channels::ChannelKind;
use std::time::Duration;
use wasm_bindgen::JsCast;

/// The channel a conversation came from: a small badge drawn by the stylesheet for its
/// platform (`data-kind`; hidden from assistive technology) and the channel's name.
pub fn channel_badge(kind: ChannelKind, name: String) -> impl IntoView {
    view! {
        <span class="pc-channel" data-kind=kind.as_str()>
            <span class="pc-channel-icon" aria-hidden="true"></span>
            {name}
        </span>
    }
}

/// Moves keyboard focus to the first element matching `selector` once the current render
/// has landed; returns nothing, and does nothing if there is none.
pub fn focus_soon(selector: impl Into<String>) {
    let selector = selector.into();
    set_timeout(
        move || {
            let element = document()
                .query_selector(&selector)
                .ok()
                .flatten()
                .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
            if let Some(element) = element {
                let _ = element.focus();
            }
        },
        Duration::ZERO,
    );
}

/// `"true"` or `"false"`, for ARIA states.
pub fn aria_bool(value: bool) -> &'static str {
    if value { "true" } else { "false" }
}
