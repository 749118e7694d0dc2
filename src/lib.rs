//! Porchlight, the visitor chat widget. It runs inside an iframe that the embed loader puts
//! on the host page, and talks to the chat server over one WebSocket.
//!
//! - [`machine`]: the conversation machine — pure state, inputs in, effects out.
//! - [`backoff`]: the reconnect delay policy.
//! - [`runtime`]: the only I/O — socket, timers, storage, host page, HTTP.
//! - [`view`]: thin Leptos components that render the machine's state.

pub mod backoff;
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
