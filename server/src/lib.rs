//! Porchlight's chat server. The layers, each importing only those below it:
//!
//! - [`http`]: the router, the visitor API, the two sockets, the control API, its guard
//!   and errors, the loader and the built assets; it calls the desk.
//! - [`desk`]: every operation on conversations — from visitors, agents, social channels'
//!   customers and the clock — under one lock; the folders and views agents and the
//!   control API read. It owns the store and the router.
//! - [`store`]: the working set of sessions and conversations with gap-free seqs and
//!   idempotent message ids ([`store::Store`]), the SQLite engine ([`store::sqlite`]) and
//!   the writer thread that commits before anything is told ([`store::writer`]).
//!
//! Pure logic the layers share: [`routing`] (broadcast and time-based routing, timers as
//! data), [`bot`] (the chatbot's rule), [`identity`] (verifying who a visitor says they
//! are), [`config`] and [`locales`] (the site's configuration and language bundles),
//! [`channels`] (each platform's webhooks in, sends out).
//!
//! [`sim`] plays simulated agents and customers through the desk, only where the
//! configuration asks for it. [`client`] (a Rust client of the control API) and
//! [`process`] (the server as a child process) serve the tests and rehearsals, and
//! [`local_postgres`] starts a throwaway PostgreSQL for them and for the demo's cluster.
//!
//! [`serve`] runs the server on an already-bound listener until a shutdown future
//! resolves, so tests start it on port 0 and stop it cleanly.

pub mod balancer;
pub mod bot;
pub mod channels;
pub mod client;
pub mod config;
pub mod desk;
pub mod http;
pub mod identity;
pub mod local_postgres;
pub mod locales;
pub mod process;
pub mod routing;
pub mod sim;
pub mod store;

pub use config::ServerConfig;
pub use http::app;
pub use http::state::{AppState, Options, Shared};

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
    http::listen::serve_app(
        listener,
        app(state),
        http::listen::Limits::default(),
        shutdown,
    )
    .await
}
