//! Porchlight's server: a faithful double of the chat backend, so the widget can be
//! developed, demonstrated and tested without a real chat service.
//!
//! - [`config`]: the site and chatbot configuration (TOML, with a built-in default).
//! - [`bot`]: the chatbot's keyword → answer rule.
//! - [`channels`]: the social channels — inbound webhooks, outbound records, simulated
//!   customers; the desk applies the platforms' rules (`desk/channel.rs`).
//! - [`store`]: sessions and conversations with gap-free event numbers, idempotent
//!   visitor messages, and fan-out to every tab of a session.
//! - [`persist`]: the store in an embedded SQLite file, written before each ack.
//! - [`process`]: the server as a child process, for tests that kill it.
//! - [`desk`]: every operation on conversations under one lock — the visitor's side
//!   (`desk/visitor.rs`), the agent's side (`desk/agent.rs`: accept, write, type, close,
//!   online) and the clock's (`desk/timers.rs`); turns routing outcomes into events and
//!   statuses, and tells every change on a desk-wide stream.
//! - [`agents`]: what simulated agents will do, as pure plans; the desk runs them.
//! - [`folders`]: the desk as agent consoles see it (folder rows, agents, search).
//! - [`console_socket`]: one agent console's WebSocket. An agent action from the console
//!   goes console_socket → `desk/agent.rs`; from the control API, control → the same.
//! - [`views`]: what the control API shows.
//! - [`control`]: the JSON control API (`/mock/…`) that tests and site owners drive;
//!   [`client`] is a small Rust client for it.
//! - [`guard`]: the admin secret, the `Host` check and JSON-only bodies for everything
//!   agents and admins use.
//! - [`routing`]: broadcast and time-based routing of chat requests, timers as data.
//! - [`limiter`]: the per-connection token bucket.
//! - [`framing`]: what every socket shares — limits, refusals, deadlines — whatever it speaks.
//! - [`socket`]: one widget's WebSocket, from `hello` to the end.
//! - [`http`]: the router — demo page, loader, widget app, config and history API, WebSocket.
//! - [`state`]: what the handlers share.
//! - [`listen`]: the accept loop — header-read timer and connection cap.
//!
//! [`serve`] runs the server on an already-bound listener until a shutdown future
//! resolves, so tests start it on port 0 and stop it cleanly.

pub mod assets;
pub mod bot;
pub mod channels;
pub mod client;
pub mod clients;
pub mod config;
pub mod console_socket;
pub mod control;
pub mod desk;
pub mod folders;
pub mod framing;
pub mod guard;
pub mod http;
pub mod identity;
pub mod limiter;
pub mod listen;
pub mod locales;
pub mod persist;
pub mod process;
pub mod routing;
pub mod script;
pub mod sim;
pub mod socket;
pub mod state;
pub mod store;
pub mod views;
pub mod writer;

pub use config::ServerConfig;
pub use http::app;
pub use state::{AppState, Options, Shared};

use std::future::Future;
use tokio::net::TcpListener;

/// Serves `state` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if let Ok(addr) = listener.local_addr() {
        state.admin.listening_on(addr);
    }
    listen::serve_app(listener, app(state), listen::Limits::default(), shutdown).await
}
