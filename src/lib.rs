//! Porchlight, the visitor chat widget. It runs inside an iframe that the embed loader puts
//! on the host page, and talks to the chat server over one WebSocket.
//!
//! - [`machine`]: the conversation machine — pure state, inputs in, effects out.
//! - [`runtime`]: the only I/O — socket, timers, storage, host page, HTTP.
//! - [`view`]: thin Leptos components that render the machine's state.
//!
//! The reconnect backoff, ids, the clock, the socket and the composer's keys are shared
//! with the agent console in [`porchlight_web`].

pub mod machine;
pub mod runtime;
pub mod view;

/// Mounts the widget. Called once by `main`.
pub fn start() {
    let Some(site) = runtime::host::site_param() else {
        leptos::logging::error!("Porchlight: the widget URL names no valid ?site=");
        return;
    };
    leptos::mount::mount_to_body(move || leptos::view! { <view::app::App site /> });
}
