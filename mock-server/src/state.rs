//! The state every request handler shares: the desk (configuration, store, routing) and
//! where the built widget lies.

use crate::config::MockConfig;
use crate::desk::Desk;
use crate::persist::PersistError;
use std::path::{Path, PathBuf};
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
    /// State for `config`, serving the widget from `widget_dir`, with an empty store kept in
    /// memory only.
    /// Starts the routing timers, so it needs a tokio runtime.
    pub fn new(config: MockConfig, widget_dir: PathBuf) -> AppState {
        Arc::new(Shared {
            desk: Desk::new(config),
            widget_dir,
        })
    }

    /// Like [`Shared::new`], but the store lives in the SQLite database at `db` and what it
    /// already holds is resumed.
    pub fn open(
        config: MockConfig,
        widget_dir: PathBuf,
        db: &Path,
    ) -> Result<AppState, PersistError> {
        Ok(Arc::new(Shared {
            desk: Desk::open(config, db)?,
            widget_dir,
        }))
    }
}
