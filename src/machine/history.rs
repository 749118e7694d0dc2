//! The "previous conversations" view: the list fetched over HTTP, and the one being read.

use super::{Effect, Widget};
use crate::runtime::Error;
use porchlight_protocol::PastConversation;

/// The "previous conversations" view.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum History {
    /// Not shown: the panel shows the current conversation.
    #[default]
    Closed,
    /// Fetching the list.
    Loading,
    /// The list could not be fetched.
    Failed(Error),
    /// The list (newest first), and the one being read, if any.
    Loaded {
        conversations: Vec<PastConversation>,
        viewing: Option<usize>,
    },
}

impl Widget {
    pub(super) fn open_history(&mut self) -> Vec<Effect> {
        if matches!(self.history, History::Loading | History::Loaded { .. }) {
            return Vec::new();
        }
        match &self.token {
            Some(token) => {
                self.history = History::Loading;
                vec![Effect::FetchHistory {
                    token: token.clone(),
                }]
            }
            None => {
                self.history = History::Loaded {
                    conversations: Vec::new(),
                    viewing: None,
                };
                Vec::new()
            }
        }
    }
}
