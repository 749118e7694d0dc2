//! Porchlight's mock server: a faithful double of the chat backend, so the widget can be
//! developed, demonstrated and tested without a real chat service.
//!
//! - [`config`]: the site and chatbot configuration (TOML, with a built-in default).
//! - [`bot`]: the chatbot's keyword → answer rule.
//! - [`store`]: sessions and conversations with gap-free event numbers, idempotent
//!   visitor messages, and fan-out to every tab of a session.
//! - [`persist`]: the store in an embedded SQLite file, written before each ack.
//! - [`process`]: the server as a child process, for tests that kill it.
//! - [`desk`]: every operation on conversations — visitors', agents' and the clock's —
//!   under one lock; turns routing outcomes into events and statuses.
//! - [`agents`]: simulated agents that accept and answer on tokio's clock.
//! - [`control`]: the JSON control API (`/mock/…`) that tests and site owners drive;
//!   [`client`] is a small Rust client for it.
//! - [`routing`]: broadcast and time-based routing of chat requests, timers as data.
//! - [`limiter`]: the per-connection token bucket.
//! - [`socket`]: one widget's WebSocket, from `hello` to the end.
//! - [`http`]: the router — demo page, loader, widget app, config and history API, WebSocket.
//! - [`state`]: what the handlers share.
//!
//! [`serve`] runs the server on an already-bound listener until a shutdown future
//! resolves, so tests start it on port 0 and stop it cleanly.

pub mod agents;
pub mod bot;
pub mod client;
pub mod config;
pub mod control;
pub mod desk;
pub mod http;
pub mod limiter;
pub mod persist;
pub mod process;
pub mod routing;
pub mod socket;
pub mod state;
pub mod store;

pub use config::MockConfig;
pub use http::app;
pub use state::{AppState, Shared};

use std::future::Future;
use tokio::net::TcpListener;

/// Serves `state` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
}
