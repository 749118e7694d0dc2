//! The conversation store: sessions, conversations and their numbered events, kept in
//! memory. It assigns every event the next gap-free `seq`, makes visitor messages
//! idempotent by their client id, and fans new events out to every connection that
//! watches the conversation.

use porchlight_protocol::{
    ConversationEvent, ConversationId, MessageId, Seq, ServerFrame, SessionToken,
};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::broadcast;

/// How many events a slow watcher may fall behind before it must re-read from the store.
const WATCH_BUFFER: usize = 256;

/// One event as stored: its place in the conversation, when, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub seq: Seq,
    pub at_ms: u64,
    pub event: ConversationEvent,
}

impl StoredEvent {
    /// The frame that delivers this event to a widget.
    pub fn to_frame(&self) -> ServerFrame {
        ServerFrame::Event {
            seq: self.seq,
            at_ms: self.at_ms,
            event: self.event.clone(),
        }
    }
}

/// The outcome of appending a visitor message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// Stored now as this event.
    New(Seq),
    /// The id was seen before; this is the event it was stored as.
    Duplicate(Seq),
}

impl Appended {
    pub fn seq(self) -> Seq {
        match self {
            Appended::New(seq) | Appended::Duplicate(seq) => seq,
        }
    }
}

/// Why the store refused an operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("no conversation {0}")]
    UnknownConversation(ConversationId),
}

struct Conversation {
    /// Every event, in seq order; `events[i].seq == i + 1`.
    events: Vec<StoredEvent>,
    /// Client message id → the seq it was stored as, so a resend is acked, not stored.
    client_ids: HashMap<MessageId, Seq>,
    /// Live fan-out to the connections watching this conversation.
    watchers: broadcast::Sender<StoredEvent>,
}

#[derive(Default)]
struct Inner {
    sessions: HashMap<SessionToken, ConversationId>,
    conversations: HashMap<ConversationId, Conversation>,
}

/// The in-memory store, shared by all connections.
#[derive(Default)]
pub struct Store {
    inner: Mutex<Inner>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A fresh random identifier: 128 bits, hex.
pub fn random_id() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the operating system provides randomness");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Store {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The conversation of session `token`, if the session exists.
    pub fn session(&self, token: &SessionToken) -> Option<ConversationId> {
        self.lock().sessions.get(token).cloned()
    }

    /// Opens a new session with an empty conversation.
    pub fn create_session(&self) -> (SessionToken, ConversationId) {
        let token = SessionToken::new(random_id()).expect("hex is a valid id");
        let conversation = ConversationId::new(random_id()).expect("hex is a valid id");
        let mut inner = self.lock();
        inner.sessions.insert(token.clone(), conversation.clone());
        inner.conversations.insert(
            conversation.clone(),
            Conversation {
                events: Vec::new(),
                client_ids: HashMap::new(),
                watchers: broadcast::channel(WATCH_BUFFER).0,
            },
        );
        (token, conversation)
    }

    /// Appends an event that has no client id (bot, agent) and returns its seq.
    pub fn append(
        &self,
        conversation: &ConversationId,
        event: ConversationEvent,
    ) -> Result<Seq, StoreError> {
        let mut inner = self.lock();
        let conv = inner
            .conversations
            .get_mut(conversation)
            .ok_or_else(|| StoreError::UnknownConversation(conversation.clone()))?;
        Ok(push(conv, event))
    }

    /// Appends a visitor message unless its client `id` was stored before.
    pub fn append_visitor_message(
        &self,
        conversation: &ConversationId,
        id: &MessageId,
        event: ConversationEvent,
    ) -> Result<Appended, StoreError> {
        let mut inner = self.lock();
        let conv = inner
            .conversations
            .get_mut(conversation)
            .ok_or_else(|| StoreError::UnknownConversation(conversation.clone()))?;
        if let Some(seq) = conv.client_ids.get(id) {
            return Ok(Appended::Duplicate(*seq));
        }
        let seq = push(conv, event);
        conv.client_ids.insert(id.clone(), seq);
        Ok(Appended::New(seq))
    }

    /// The events after `after`, in order, and a receiver for every event appended later.
    /// Subscribing under the same lock as the read guarantees nothing falls in between.
    pub fn watch(
        &self,
        conversation: &ConversationId,
        after: Seq,
    ) -> Result<(Vec<StoredEvent>, broadcast::Receiver<StoredEvent>), StoreError> {
        let inner = self.lock();
        let conv = inner
            .conversations
            .get(conversation)
            .ok_or_else(|| StoreError::UnknownConversation(conversation.clone()))?;
        let skip = usize::try_from(after.0).unwrap_or(usize::MAX);
        let missed = conv.events.iter().skip(skip).cloned().collect();
        Ok((missed, conv.watchers.subscribe()))
    }

    /// The events after `after`, in order.
    pub fn events_after(
        &self,
        conversation: &ConversationId,
        after: Seq,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        self.watch(conversation, after).map(|(events, _)| events)
    }

    /// The seq of the newest event of `conversation` (0 when it has none).
    pub fn last_seq(&self, conversation: &ConversationId) -> Result<Seq, StoreError> {
        let inner = self.lock();
        let conv = inner
            .conversations
            .get(conversation)
            .ok_or_else(|| StoreError::UnknownConversation(conversation.clone()))?;
        Ok(Seq(conv.events.len() as u64))
    }
}

fn push(conv: &mut Conversation, event: ConversationEvent) -> Seq {
    let seq = Seq(conv.events.len() as u64 + 1);
    let stored = StoredEvent {
        seq,
        at_ms: now_ms(),
        event,
    };
    conv.events.push(stored.clone());
    // Nobody watching is fine: the event is stored and will be replayed.
    let _ = conv.watchers.send(stored);
    seq
}

#[cfg(test)]
mod tests {
    use super::*;
    use porchlight_protocol::{Author, AuthorKind};

    fn message(text: &str) -> ConversationEvent {
        ConversationEvent::MessageReceived {
            id: None,
            author: Author {
                kind: AuthorKind::Bot,
                name: "Bot".into(),
            },
            text: text.into(),
            choices: Vec::new(),
        }
    }

    #[test]
    fn events_get_gap_free_increasing_seqs() {
        let store = Store::default();
        let (_, conv) = store.create_session();
        let seqs: Vec<Seq> = (0..3)
            .map(|i| {
                store
                    .append(&conv, message(&i.to_string()))
                    .expect("append")
            })
            .collect();
        assert_eq!(seqs, vec![Seq(1), Seq(2), Seq(3)]);
        assert_eq!(store.last_seq(&conv), Ok(Seq(3)));
    }

    #[test]
    fn a_resent_visitor_message_is_stored_once() {
        let store = Store::default();
        let (_, conv) = store.create_session();
        let id = MessageId::new("m1").expect("id");
        let first = store
            .append_visitor_message(&conv, &id, message("hi"))
            .expect("append");
        let again = store
            .append_visitor_message(&conv, &id, message("hi"))
            .expect("append");
        assert_eq!(first, Appended::New(Seq(1)));
        assert_eq!(again, Appended::Duplicate(Seq(1)));
        assert_eq!(store.events_after(&conv, Seq(0)).expect("read").len(), 1);
    }

    #[test]
    fn watch_returns_what_was_missed_then_streams_the_rest() {
        let store = Store::default();
        let (_, conv) = store.create_session();
        for text in ["a", "b", "c"] {
            store.append(&conv, message(text)).expect("append");
        }
        let (missed, mut live) = store.watch(&conv, Seq(1)).expect("watch");
        assert_eq!(
            missed.iter().map(|e| e.seq).collect::<Vec<_>>(),
            vec![Seq(2), Seq(3)]
        );
        store.append(&conv, message("d")).expect("append");
        assert_eq!(live.try_recv().map(|e| e.seq), Ok(Seq(4)));
    }

    #[test]
    fn sessions_resolve_to_their_conversation() {
        let store = Store::default();
        let (token, conv) = store.create_session();
        assert_eq!(store.session(&token), Some(conv));
        let stranger = SessionToken::new("nobody").expect("id");
        assert_eq!(store.session(&stranger), None);
    }
}
