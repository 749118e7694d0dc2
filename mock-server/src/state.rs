//! The state every request handler shares: the configuration and the store.

use crate::config::MockConfig;
use crate::store::Store;
use std::path::PathBuf;
use std::sync::Arc;

/// Shared, cheaply cloned handle to the server's state.
pub type AppState = Arc<Shared>;

/// What the handlers share.
pub struct Shared {
    pub config: MockConfig,
    pub store: Store,
    /// Where the built widget (Trunk's `dist/`) lies; served under `/widget/`.
    pub widget_dir: PathBuf,
}

impl Shared {
    /// State for `config`, serving the widget from `widget_dir`, with an empty store.
    pub fn new(config: MockConfig, widget_dir: PathBuf) -> AppState {
        Arc::new(Shared {
            config,
            store: Store::default(),
            widget_dir,
        })
    }
}
