//! The state every request handler shares: the desk (configuration, store, routing), the
//! admin guard, and where the built widget and console lie.

use crate::config::ServerConfig;
use crate::desk::Desk;
use crate::http::clients::Clients;
use crate::http::guard::Admin;
use crate::store::database::PersistError;
use porchlight_protocol::AdminToken;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Shared, cheaply cloned handle to the server's state.
pub type AppState = Arc<Shared>;

/// What the handlers share.
pub struct Shared {
    pub desk: Arc<Desk>,
    /// Where the built widget (Trunk's `dist/`) lies; served under `/widget/`.
    pub widget_dir: PathBuf,
    /// Where the built agent console lies; served under `/console/`.
    pub console_dir: PathBuf,
    /// The admin secret and the server's own names.
    pub admin: Admin,
    /// Slots for open WebSockets (widgets and consoles): at most [`MAX_SOCKETS`] at once.
    pub sockets: Arc<Semaphore>,
    /// What each client address holds and may still open.
    pub clients: Arc<Clients>,
    /// How many history and transcript reads each session has left.
    pub reads: crate::http::reads::Reads,
    /// The loader, with the site's options written in, compressed once.
    pub loader: crate::http::assets::Script,
}

/// The most WebSockets open at once.
pub const MAX_SOCKETS: usize = 20_000;

/// How the server is set up, beyond its configuration.
#[derive(Debug, Clone)]
pub struct Options {
    pub widget_dir: PathBuf,
    pub console_dir: PathBuf,
    /// The admin secret; a random one when `None`.
    pub admin_token: Option<AdminToken>,
    /// Names the server is reached by besides its listen address and loopback.
    pub public_hosts: Vec<String>,
    /// Whether the per-address limits apply (the default; lifted for load runs).
    pub client_limits: bool,
}

impl Options {
    /// The widget from `widget_dir`, the console from `console/dist`, a random secret.
    pub fn serving(widget_dir: PathBuf) -> Options {
        Options {
            widget_dir,
            console_dir: PathBuf::from("console/dist"),
            admin_token: None,
            public_hosts: Vec::new(),
            client_limits: true,
        }
    }
}

impl Shared {
    /// State for `config`, serving the widget from `widget_dir`, with an empty store kept in
    /// memory only and a random admin secret.
    /// Starts the routing timers, so it needs a tokio runtime.
    pub fn new(config: ServerConfig, widget_dir: PathBuf) -> AppState {
        Shared::with(Desk::new(config), Options::serving(widget_dir))
    }

    /// Like [`Shared::new`], but the store lives in the SQLite database at `db` and what it
    /// already holds is resumed.
    pub fn open(
        config: ServerConfig,
        widget_dir: PathBuf,
        db: &Path,
    ) -> Result<AppState, PersistError> {
        Ok(Shared::with(
            Desk::open(config, db)?,
            Options::serving(widget_dir),
        ))
    }

    /// State around `desk`, set up by `options`.
    pub fn with(desk: Arc<Desk>, options: Options) -> AppState {
        let clients = Clients::new(&desk.config.limits, options.client_limits);
        let reads = crate::http::reads::Reads::new(
            desk.config.limits.reads_per_minute,
            options.client_limits,
        );
        let loader = crate::http::assets::Script::new(crate::http::loader_script(&desk.config));
        Arc::new(Shared {
            desk,
            widget_dir: options.widget_dir,
            console_dir: options.console_dir,
            admin: Admin::new(options.admin_token, options.public_hosts),
            sockets: Arc::new(Semaphore::new(MAX_SOCKETS)),
            clients,
            reads,
            loader,
        })
    }
}
