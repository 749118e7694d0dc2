//! The state every request handler shares: the desk (configuration, store, routing) and
//! where the built widget lies.

use crate::config::MockConfig;
use crate::desk::Desk;
use std::path::PathBuf;
use std::sync::Arc;

/// Shared, cheaply cloned handle to the server's state.
pub type AppState = Arc<Shared>;

/// What the handlers share.
pub struct Shared {
    pub desk: Arc<Desk>,
    /// Where the built widget (Trunk's `dist/`) lies; served under `/widget/`.
    pub widget_dir: PathBuf,
}

impl Shared {
    /// State for `config`, serving the widget from `widget_dir`, with an empty store.
    /// Starts the routing timers, so it needs a tokio runtime.
    pub fn new(config: MockConfig, widget_dir: PathBuf) -> AppState {
        Arc::new(Shared {
            desk: Desk::new(config),
            widget_dir,
        })
    }
}
