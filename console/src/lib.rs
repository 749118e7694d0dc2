//! Porchlight's agent console: where agents and admins work the conversations the widget
//! creates. Served by the server at `/console/#token=…`, it talks to the desk over
//! one WebSocket ([`CONSOLE_SOCKET_PATH`](porchlight_protocol::console::CONSOLE_SOCKET_PATH)).
//!
//! - [`state`]: the console's state — pure, inputs in, effects out; folders, countdowns,
//!   filters, what the social channels allow and every sentence, unit-tested natively.
//! - [`runtime`]: the only I/O — socket, timers, the tab's storage, HTTP.
//! - [`view`]: thin Leptos components that render the state and dispatch inputs.
//!
//! The reconnect backoff, ids, the clock, the socket and the composer's keys are shared
//! with the widget in [`porchlight_web`].

pub mod runtime;
pub mod state;
pub mod view;

/// Mounts the console. Called once by `main`.
pub fn start() {
    leptos::mount::mount_to_body(view::app::App);
}
