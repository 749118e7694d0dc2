//! What agents read of history from the database: the newest closed conversations for a
//! console's snapshot, a search through every closed one, and a conversation in full once
//! it left memory. Read on the reader's connection, never under the desk's lock; a store
//! kept in memory only has nothing more than it holds. A failed read is logged and
//! answered with what memory holds.

use super::Desk;
use crate::store::Conversation;
use crate::store::sql::{self, RowConversation};
use porchlight_protocol::{ConversationId, KnownIdentity};

impl Desk {
    /// The newest `limit` closed conversations in the database, newest first.
    pub async fn stored_closed(&self, limit: usize) -> Vec<RowConversation> {
        let Some(reader) = self.reader() else {
            return Vec::new();
        };
        reader
            .read(move |db| sql::newest_closed(db, limit))
            .await
            .unwrap_or_else(|err| {
                tracing::error!("cannot read the newest closed conversations: {err}");
                Vec::new()
            })
    }

    /// Closed conversations in the database whose answers or messages hold `query`,
    /// newest first, at most `limit`.
    pub async fn stored_search(&self, query: &str, limit: usize) -> Vec<RowConversation> {
        let Some(reader) = self.reader() else {
            return Vec::new();
        };
        let query = query.to_string();
        reader
            .read(move |db| sql::search_closed(db, &query, limit))
            .await
            .unwrap_or_else(|err| {
                tracing::error!("cannot search the history: {err}");
                Vec::new()
            })
    }

    /// Conversation `id` in full from the database, with who its visitor said they are.
    pub async fn stored_conversation(
        &self,
        id: &ConversationId,
    ) -> Option<(Conversation, Option<KnownIdentity>)> {
        let reader = self.reader()?;
        let id = id.clone();
        reader
            .read(move |db| {
                let Some(conv) = sql::conversation(db, &id)? else {
                    return Ok(None);
                };
                let identity = sql::session(db, &conv.token)?.and_then(|s| s.identity);
                Ok(Some((conv, identity)))
            })
            .await
            .unwrap_or_else(|err| {
                tracing::error!("cannot read a conversation: {err}");
                None
            })
    }
}
