//! Read-only views of the desk for the control API (`GET /mock/state`,
//! `GET /mock/conversations/{id}`). Built from the world under the desk's lock; nothing
//! here changes anything.

use crate::desk::{Desk, World};
use crate::routing::RoutingSnapshot;
use crate::store::sql;
use crate::store::{Conversation, OfflineMessage, Phase, Rating, StoredEvent};
use porchlight_protocol::form::Answers;
use porchlight_protocol::{
    AgentId, AuthorKind, ConversationEvent, ConversationId, KnownIdentity, Seq,
};
use serde::Serialize;
use tokio::time::Instant;

impl Desk {
    /// Routing's view plus the store's, for `GET /mock/state`.
    /// The conversations are the newest [`STATE_CONVERSATIONS`] the database holds (a
    /// blocking read, never under the lock), as memory has them where it holds them, and
    /// any newer ones not written yet.
    pub fn state(&self, now: Instant) -> MockState {
        let mut state = self.read(|world| mock_state(world, now));
        let Some(reader) = self.reader() else {
            return state;
        };
        let stored =
            match reader.read_blocking(|db| sql::conversation_statuses(db, STATE_CONVERSATIONS)) {
                Ok(stored) => stored,
                Err(err) => {
                    tracing::warn!("cannot read the stored conversations: {err}");
                    return state;
                }
            };
        // Stored ones as memory has them where it holds them, then those not written yet.
        let mut held: Vec<Option<HistoryEntry>> = state.conversations.drain(..).map(Some).collect();
        let place: std::collections::HashMap<ConversationId, usize> = held
            .iter()
            .enumerate()
            .filter_map(|(i, e)| Some((e.as_ref()?.conversation.clone(), i)))
            .collect();
        let mut conversations: Vec<HistoryEntry> = stored
            .into_iter()
            .map(|(conversation, status, rating)| {
                place
                    .get(&conversation)
                    .and_then(|&i| held[i].take())
                    .unwrap_or(HistoryEntry {
                        conversation,
                        status,
                        rating,
                    })
            })
            .collect();
        conversations.extend(held.into_iter().flatten());
        state.history = conversations
            .iter()
            .filter(|e| matches!(e.status, "message_left" | "ended"))
            .cloned()
            .collect();
        state.conversations = conversations;
        state
    }

    /// One conversation in full, for `GET /mock/conversations/{id}`: from memory, or for
    /// one that left it, from the database (a blocking read, never under the lock).
    pub fn conversation(&self, id: &ConversationId) -> Option<ConversationView> {
        let held = self.read(|world| {
            let conv = world.store.conversation(id)?;
            Some(conversation_view(
                id,
                conv,
                world.store.identity(&conv.token).cloned(),
            ))
        });
        if held.is_some() {
            return held;
        }
        let wanted = id.clone();
        let stored = self.reader()?.read_blocking(move |db| {
            let Some(conv) = sql::conversation(db, &wanted)? else {
                return Ok(None);
            };
            let identity = sql::session(db, &conv.token)?.and_then(|s| s.identity);
            Ok(Some((conv, identity)))
        });
        match stored {
            Ok(found) => found.map(|(conv, identity)| conversation_view(id, &conv, identity)),
            Err(err) => {
                tracing::warn!("cannot read conversation {id}: {err}");
                None
            }
        }
    }
}

/// The most conversations `GET /mock/state` lists.
pub const STATE_CONVERSATIONS: usize = 1_000;

fn mock_state(world: &World, now: Instant) -> MockState {
    let routing = world.router.snapshot(now);
    let live = world
        .router
        .live()
        .map(|(conversation, agent)| LiveChat {
            conversation: conversation.clone(),
            agent: agent.clone(),
        })
        .collect();
    let entry = |(id, c): (&ConversationId, &Conversation)| HistoryEntry {
        conversation: id.clone(),
        status: c.phase.name(),
        rating: c.rating.clone(),
    };
    let conversations = world.store.all().map(entry).collect();
    let history = world
        .store
        .all()
        .filter(|(_, c)| c.phase.is_closed())
        .map(entry)
        .collect();
    let engaged = routing
        .agents
        .iter()
        .map(|a| (a.id.clone(), a.engaged.clone()))
        .collect();
    MockState {
        routing,
        engaged,
        live,
        conversations,
        history,
        offline_messages: world.store.offline_messages().to_vec(),
    }
}

fn conversation_view(
    id: &ConversationId,
    conv: &Conversation,
    identity: Option<KnownIdentity>,
) -> ConversationView {
    let agent = match &conv.phase {
        Phase::Live { agent, .. } => Some(agent.clone()),
        _ => None,
    };
    ConversationView {
        id: id.clone(),
        status: conv.phase.name(),
        agent,
        prechat: conv.answers.clone(),
        rating: conv.rating.clone(),
        visitor_typing: conv.visitor_typing,
        identity,
        transcript: conv
            .events
            .iter()
            .filter_map(|e| match &e.event {
                ConversationEvent::MessageReceived { author, text, .. } => Some(TranscriptLine {
                    seq: e.seq,
                    author_kind: author.kind,
                    author_name: author.name.clone(),
                    text: text.clone(),
                    at_ms: e.at_ms,
                }),
                _ => None,
            })
            .collect(),
        events: conv.events.iter().map(StoredEvent::to_record).collect(),
    }
}

/// `GET /mock/state`.
#[derive(Debug, Clone, Serialize)]
pub struct MockState {
    /// Mode, agents (with their engaged and live chats) and the queue.
    #[serde(flatten)]
    pub routing: RoutingSnapshot,
    /// Requests waiting for each agent's acceptance (time-based routing).
    pub engaged: std::collections::BTreeMap<AgentId, Vec<ConversationId>>,
    pub live: Vec<LiveChat>,
    /// Every conversation, oldest first, with where it stands.
    pub conversations: Vec<HistoryEntry>,
    /// The closed ones.
    pub history: Vec<HistoryEntry>,
    pub offline_messages: Vec<OfflineMessage>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LiveChat {
    pub conversation: ConversationId,
    pub agent: AgentId,
}

#[derive(Debug, Clone, Serialize)]
pub struct HistoryEntry {
    pub conversation: ConversationId,
    pub status: &'static str,
    pub rating: Option<Rating>,
}

/// `GET /mock/conversations/{id}`.
#[derive(Debug, Clone, Serialize)]
pub struct ConversationView {
    pub id: ConversationId,
    pub status: &'static str,
    pub agent: Option<AgentId>,
    pub prechat: Answers,
    pub rating: Option<Rating>,
    pub visitor_typing: bool,
    /// Who the visitor said they are, and whether the server verified it.
    pub identity: Option<KnownIdentity>,
    pub transcript: Vec<TranscriptLine>,
    pub events: Vec<porchlight_protocol::EventRecord>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TranscriptLine {
    pub seq: Seq,
    pub author_kind: AuthorKind,
    pub author_name: String,
    pub text: String,
    pub at_ms: u64,
}
