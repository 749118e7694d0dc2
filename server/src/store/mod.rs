//! The conversation store: sessions, conversations with their numbered events and where
//! each stands, and the messages visitors left — plain data, owned by the
//! [`Desk`](crate::desk::Desk) under its lock.
//!
//! It assigns every event the next gap-free `seq`, makes messages idempotent by their
//! client id, and notes every change as a [`Notice`] for the connections of the
//! conversation's session (all of a visitor's tabs) and for the desk-wide stream that agent
//! consoles watch. It also notes what changed, so the [`writer`](crate::store::writer) can
//! write exactly that; notices are delivered only once it is written.

pub mod cluster;
pub mod database;
pub mod postgres;
pub mod reader;
pub mod sql;
pub mod sqlite;
pub mod writer;

use crate::channels::outbound::OutboxRecord;
use porchlight_protocol::channels::ChannelFacts;
use porchlight_protocol::console::WEB_CHANNEL;
use porchlight_protocol::{
    AgentId, Answers, AuthorKind, ChannelId, ChatStatus, ConversationEvent, ConversationId,
    EventRecord, KnownIdentity, MessageId, RequestId, Seq, ServerFrame, SessionToken,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::broadcast;
use tokio::time::Instant;

/// How many updates a slow connection may fall behind before it must re-read the store.
/// Small, since every listening session holds one such buffer; falling behind costs a
/// re-read, not a loss.
const WATCH_BUFFER: usize = 16;

/// How many changes an agent console may fall behind before it must take a new snapshot.
const DESK_WATCH_BUFFER: usize = 1024;

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

    pub fn to_record(&self) -> EventRecord {
        EventRecord {
            seq: self.seq,
            at_ms: self.at_ms,
            event: self.event.clone(),
        }
    }
}

/// Where a conversation stands (the server's side of [`ChatStatus`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    Bot,
    Queued { position: usize, since: Instant },
    Connecting { since: Instant },
    Live { agent: AgentId, name: String },
    Missed,
    MessageLeft,
    Ended { rated: bool },
}

impl Phase {
    /// The status the visitor sees at `now`.
    pub fn status(&self, now: Instant) -> ChatStatus {
        let waited = |since: &Instant| now.saturating_duration_since(*since).as_millis() as u64;
        match self {
            Phase::Bot => ChatStatus::Bot {},
            Phase::Queued { position, since } => ChatStatus::Queued {
                position: u32::try_from(*position).unwrap_or(u32::MAX),
                waited_ms: waited(since),
            },
            Phase::Connecting { since } => ChatStatus::Connecting {
                waited_ms: waited(since),
            },
            Phase::Live { name, .. } => ChatStatus::Live {
                agent: name.clone(),
            },
            Phase::Missed => ChatStatus::Missed {},
            Phase::MessageLeft => ChatStatus::MessageLeft {},
            Phase::Ended { rated } => ChatStatus::Ended { rated: *rated },
        }
    }

    /// A short name for the control API.
    pub fn name(&self) -> &'static str {
        match self {
            Phase::Bot => "bot",
            Phase::Queued { .. } => "queued",
            Phase::Connecting { .. } => "connecting",
            Phase::Live { .. } => "live",
            Phase::Missed => "missed",
            Phase::MessageLeft => "message_left",
            Phase::Ended { .. } => "ended",
        }
    }

    /// Whether the conversation is over (history).
    pub fn is_closed(&self) -> bool {
        matches!(self, Phase::MessageLeft | Phase::Ended { .. })
    }
}

/// A change that the connections of a session must hear about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Update {
    Event {
        conversation: ConversationId,
        event: StoredEvent,
    },
    Status {
        conversation: ConversationId,
        status: ChatStatus,
    },
    Typing {
        conversation: ConversationId,
        name: String,
        typing: bool,
    },
    /// The session moved on to a new conversation.
    Switched { conversation: ConversationId },
    /// The visitor started or stopped typing (told to agent consoles only).
    VisitorTyping {
        conversation: ConversationId,
        typing: bool,
    },
    /// Agents' presence or load may have changed (told to agent consoles only).
    Agents,
    /// Something agents see changed besides the status (a comment hidden, a window
    /// restarted; told to agent consoles only).
    Changed { conversation: ConversationId },
    /// The mock's wall clock was moved forward (told to agent consoles only).
    Clock,
}

/// What a conversation from a social channel knows besides its events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelState {
    /// The customer's id on the platform, and name when known.
    pub customer: String,
    pub customer_name: Option<String>,
    /// What the platform's rules depend on.
    pub facts: ChannelFacts,
    /// The story a story reply or mention carried, while it matters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub story: Option<StoryRef>,
    /// The platform's ids of the newest messages, so a redelivered webhook is not stored
    /// twice (at most [`SEEN_MESSAGE_IDS`]).
    #[serde(default)]
    pub seen: Vec<String>,
}

/// How many platform message ids a conversation remembers.
pub const SEEN_MESSAGE_IDS: usize = 64;

/// A story's media link: never the media itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoryRef {
    pub url: String,
    /// When the story was posted (the link dies 24 h later).
    pub posted_ms: u64,
    /// A mention of the account, rather than a reply to one of its stories.
    pub mention: bool,
}

pub use porchlight_protocol::console::Rating;

/// A message left when nobody could take the chat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfflineMessage {
    pub conversation: ConversationId,
    pub answers: Answers,
    pub text: String,
    pub at_ms: u64,
}

/// One conversation.
#[derive(Debug, Clone)]
pub struct Conversation {
    /// The session it belongs to.
    pub token: SessionToken,
    /// Where it came from: `web` for the widget.
    pub channel: ChannelId,
    /// For a social channel: the customer and the facts its rules depend on.
    pub channel_state: Option<ChannelState>,
    /// Every event, in seq order; `events[i].seq == i + 1`.
    pub events: Vec<StoredEvent>,
    /// Client message id → the seq it was stored as, so a resend is acked, not stored.
    client_ids: HashMap<MessageId, Seq>,
    pub phase: Phase,
    /// The pre-chat answers given with the request for a human.
    pub answers: Answers,
    /// The request for a human, so a resent request is recognised.
    pub request: Option<RequestId>,
    /// The leave-a-message request, likewise.
    pub message_request: Option<RequestId>,
    pub rating: Option<Rating>,
    /// How many scripted replies the simulated agent has said here.
    pub replies_said: usize,
    /// Whether the visitor is typing (shown to agents through the control API).
    pub visitor_typing: bool,
    /// The agent who accepted it, kept after it ends (for history).
    pub handled_by: Option<AgentId>,
    /// Counts the visitor's messages in the live chat, so a simulated agent can tell
    /// whether the visitor wrote since it last looked (not kept across restarts).
    pub visitor_activity: u64,
    /// The [`Store::serial`] of the last batch of changes that touched it, and when.
    touched: (u64, Option<Instant>),
}

impl Conversation {
    /// Whether the client message `id` is stored here.
    pub fn holds_message(&self, id: &MessageId) -> bool {
        self.client_ids.contains_key(id)
    }

    /// A new conversation of session `token`, with the bot.
    pub fn blank(token: SessionToken) -> Conversation {
        Conversation {
            token,
            channel: ChannelId::new(WEB_CHANNEL).expect("web is a valid channel id"),
            channel_state: None,
            events: Vec::new(),
            client_ids: HashMap::new(),
            phase: Phase::Bot,
            answers: Answers::new(),
            request: None,
            message_request: None,
            rating: None,
            replies_said: 0,
            visitor_typing: false,
            handled_by: None,
            visitor_activity: 0,
            touched: (0, None),
        }
    }
}

struct Session {
    /// When it was opened (the mock's wall clock, ms), or for one read back from storage,
    /// its newest event.
    opened_ms: u64,
    current: ConversationId,
    /// Earlier conversations, oldest first.
    past: Vec<ConversationId>,
    /// Fan-out to every connection (tab) of this session; made when one subscribes and
    /// dropped once none listens, so idle sessions hold no buffer.
    updates: Option<broadcast::Sender<Update>>,
    /// Who the visitor said they are, verified or not; the latest `hello` with one.
    identity: Option<KnownIdentity>,
    /// The [`Store::serial`] of the last batch of changes that touched it: once the writer
    /// has committed that batch, the session may leave memory.
    touched: u64,
    /// When it last changed, on tokio's clock.
    last_touch: Instant,
}

/// A change to tell once it is durable: to the connections of a session that listened
/// when it was made, and to agent consoles.
#[derive(Debug)]
pub struct Notice {
    session: Option<broadcast::Sender<Update>>,
    desk: Option<broadcast::Sender<Update>>,
    update: Update,
}

impl Notice {
    /// What it tells.
    pub fn update(&self) -> &Update {
        &self.update
    }

    /// Tells whoever listens; nobody listening is fine (what is stored is replayed).
    pub fn deliver(self) {
        if let Some(session) = &self.session {
            let _ = session.send(self.update.clone());
        }
        if let Some(desk) = &self.desk {
            let _ = desk.send(self.update);
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

/// Milliseconds since the Unix epoch, for display.
pub fn now_ms() -> u64 {
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

/// What changed since the last [`Store::take_changes`].
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    pub sessions: BTreeSet<SessionToken>,
    /// Conversations whose own fields (phase, answers, rating, …) may have changed.
    pub conversations: BTreeSet<ConversationId>,
    pub events: Vec<(ConversationId, StoredEvent)>,
    pub offline_messages: Vec<OfflineMessage>,
    pub outbox: Vec<(ChannelId, OutboxRecord)>,
    /// The mock clock was moved.
    pub clock: bool,
    /// Sessions forgotten, with their conversations.
    pub purged: Vec<(SessionToken, Vec<ConversationId>)>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        *self == Changes::default()
    }
}

/// Every session, conversation and left message.
pub struct Store {
    sessions: HashMap<SessionToken, Session>,
    conversations: HashMap<ConversationId, Conversation>,
    /// Every conversation id in creation order, for listings.
    order: Vec<ConversationId>,
    offline_messages: Vec<OfflineMessage>,
    changes: Changes,
    /// What to tell listeners once the changes are durable, in order.
    notices: Vec<Notice>,
    /// Every change of every conversation, for agent consoles.
    desk_watch: broadcast::Sender<Update>,
    /// What agents sent on each social channel, as the platform received it, oldest first
    /// (at most [`OUTBOX_LIMIT`] a channel).
    outboxes: HashMap<ChannelId, Vec<OutboxRecord>>,
    /// How far the mock's wall clock runs ahead of the real one.
    clock_offset_ms: u64,
    /// Verified user id → that user's session, so the user sees the same history on
    /// every browser. Kept in storage as the sessions' identities.
    users: HashMap<String, SessionToken>,
    /// How many batches of changes were taken ([`Store::take_changes`]).
    serial: u64,
}

/// The most records a channel's outbox keeps.
pub const OUTBOX_LIMIT: usize = 1_000;

/// The most left messages and sends read back into memory at start (the database keeps
/// them all).
pub const KEPT_IN_MEMORY: usize = 1_000;

impl Default for Store {
    fn default() -> Self {
        Store {
            sessions: HashMap::new(),
            users: HashMap::new(),
            serial: 0,
            conversations: HashMap::new(),
            order: Vec::new(),
            offline_messages: Vec::new(),
            changes: Changes::default(),
            notices: Vec::new(),
            desk_watch: broadcast::channel(DESK_WATCH_BUFFER).0,
            outboxes: HashMap::new(),
            clock_offset_ms: 0,
        }
    }
}

impl Store {
    /// The mock's wall clock: milliseconds since the epoch, moved forward by
    /// [`Store::advance_clock`].
    pub fn now_ms(&self) -> u64 {
        now_ms().saturating_add(self.clock_offset_ms)
    }

    /// How far the mock's clock runs ahead of the real one.
    pub fn clock_offset_ms(&self) -> u64 {
        self.clock_offset_ms
    }

    /// Moves the mock's wall clock forward.
    pub fn advance_clock(&mut self, ms: u64) {
        self.clock_offset_ms = self.clock_offset_ms.saturating_add(ms);
        self.changes.clock = true;
        self.tell(Update::Clock);
    }

    /// The clock offset read back from storage.
    pub(crate) fn restore_clock(&mut self, offset_ms: u64) {
        self.clock_offset_ms = offset_ms;
    }

    /// Records what an agent sent on `channel`.
    pub fn record_send(&mut self, channel: &ChannelId, record: OutboxRecord) {
        self.changes.outbox.push((channel.clone(), record.clone()));
        self.restore_send(channel.clone(), record);
    }

    /// A send read back from storage.
    pub(crate) fn restore_send(&mut self, channel: ChannelId, record: OutboxRecord) {
        let outbox = self.outboxes.entry(channel).or_default();
        outbox.push(record);
        if outbox.len() > OUTBOX_LIMIT {
            outbox.remove(0);
        }
    }

    /// What agents sent on `channel`, oldest first.
    pub fn outbox(&self, channel: &ChannelId) -> &[OutboxRecord] {
        self.outboxes.get(channel).map_or(&[], Vec::as_slice)
    }

    /// Opens a conversation with a customer of social channel `channel`. It belongs to no
    /// visitor session: its token is a random secret nobody holds.
    pub fn open_channel_conversation(
        &mut self,
        channel: &ChannelId,
        state: ChannelState,
    ) -> ConversationId {
        let token = SessionToken::new(random_id()).expect("hex is a valid token");
        let id = self.blank_conversation(&token);
        if let Some(conv) = self.conversations.get_mut(&id) {
            conv.channel = channel.clone();
            conv.channel_state = Some(state);
        }
        id
    }

    /// The newest conversation of `channel` with `customer` that `pick` accepts.
    pub fn channel_conversation(
        &self,
        channel: &ChannelId,
        pick: impl Fn(&Conversation) -> bool,
    ) -> Option<ConversationId> {
        self.order
            .iter()
            .rev()
            .filter_map(|id| self.conversations.get(id).map(|c| (id, c)))
            .find(|(_, c)| &c.channel == channel && pick(c))
            .map(|(id, _)| id.clone())
    }

    /// Tells agent consoles that `conversation` changed besides its status.
    pub fn touch(&mut self, conversation: &ConversationId) {
        self.changes.conversations.insert(conversation.clone());
        self.tell(Update::Changed {
            conversation: conversation.clone(),
        });
    }

    /// A receiver for every later change of every conversation.
    pub fn watch(&self) -> broadcast::Receiver<Update> {
        self.desk_watch.subscribe()
    }

    /// Tells agent consoles only (once durable).
    pub fn tell(&mut self, update: Update) {
        self.notices.push(Notice {
            session: None,
            desk: Some(self.desk_watch.clone()),
            update,
        });
    }

    /// What changed since the last call. A non-empty batch gets the next
    /// [`Store::serial`], and the sessions it touches remember it.
    pub fn take_changes(&mut self) -> Changes {
        let changes = std::mem::take(&mut self.changes);
        if !changes.is_empty() {
            self.serial += 1;
            let now = Instant::now();
            let tokens: BTreeSet<SessionToken> = changes
                .sessions
                .iter()
                .cloned()
                .chain(
                    changes
                        .conversations
                        .iter()
                        .chain(changes.events.iter().map(|(id, _)| id))
                        .filter_map(|id| Some(self.conversations.get(id)?.token.clone())),
                )
                .collect();
            for id in changes
                .conversations
                .iter()
                .chain(changes.events.iter().map(|(id, _)| id))
            {
                if let Some(conv) = self.conversations.get_mut(id) {
                    conv.touched = (self.serial, Some(now));
                }
            }
            for token in tokens {
                if let Some(session) = self.sessions.get_mut(&token) {
                    session.touched = self.serial;
                    session.last_touch = now;
                }
            }
        }
        changes
    }

    /// The serial of the newest batch of changes taken.
    pub fn serial(&self) -> u64 {
        self.serial
    }

    /// Sessions that may leave memory: no tab holds them, nothing of theirs waits for or
    /// talks with an agent, their last change is committed (`committed` is the newest
    /// batch the writer has written) and older than `idle_before`.
    pub fn settled_sessions(&self, committed: u64, idle_before: Instant) -> Vec<SessionToken> {
        let live = |id: &ConversationId| {
            self.conversations.get(id).is_some_and(|c| {
                matches!(
                    c.phase,
                    Phase::Queued { .. } | Phase::Connecting { .. } | Phase::Live { .. }
                )
            })
        };
        self.sessions
            .iter()
            .filter(|(_, s)| {
                s.touched <= committed
                    && s.last_touch <= idle_before
                    && s.updates.as_ref().is_none_or(|u| u.receiver_count() == 0)
                    && !std::iter::once(&s.current).chain(&s.past).any(live)
            })
            .map(|(token, _)| token.clone())
            .collect()
    }

    /// Lets `tokens` and their conversations go from memory; the database keeps them.
    pub fn evict(&mut self, tokens: &[SessionToken]) {
        self.let_go(tokens);
    }

    /// Takes `tokens` and their conversations out of memory; returns each session's
    /// conversations.
    fn let_go(&mut self, tokens: &[SessionToken]) -> Vec<(SessionToken, Vec<ConversationId>)> {
        let mut gone = std::collections::HashSet::new();
        let mut taken = Vec::new();
        for token in tokens {
            let Some(session) = self.sessions.remove(token) else {
                continue;
            };
            if let Some(known) = &session.identity
                && self.users.get(&known.user_id) == Some(token)
            {
                self.users.remove(&known.user_id);
            }
            let conversations: Vec<ConversationId> = std::iter::once(session.current)
                .chain(session.past)
                .collect();
            for id in &conversations {
                self.conversations.remove(id);
                gone.insert(id.clone());
            }
            taken.push((token.clone(), conversations));
        }
        if !gone.is_empty() {
            self.order.retain(|id| !gone.contains(id));
        }
        taken
    }

    /// Conversations of social channels (which belong to no visitor session) that may
    /// leave memory: over, their last change committed and older than `idle_before`.
    pub fn settled_channel_conversations(
        &self,
        committed: u64,
        idle_before: Instant,
    ) -> Vec<ConversationId> {
        self.order
            .iter()
            .filter(|id| {
                self.conversations.get(*id).is_some_and(|c| {
                    c.channel.as_str() != WEB_CHANNEL
                        && matches!(
                            c.phase,
                            Phase::Missed | Phase::MessageLeft | Phase::Ended { .. }
                        )
                        && c.touched.0 <= committed
                        && c.touched.1.is_none_or(|at| at <= idle_before)
                        && !self.sessions.contains_key(&c.token)
                })
            })
            .cloned()
            .collect()
    }

    /// Lets conversations go from memory; the database keeps them.
    pub fn evict_conversations(&mut self, ids: &[ConversationId]) {
        let gone: std::collections::HashSet<&ConversationId> = ids.iter().collect();
        for id in ids {
            self.conversations.remove(id);
        }
        self.order.retain(|id| !gone.contains(id));
    }

    /// A session read back from the database on demand, with the conversations read with
    /// it; nothing changes when the session is already in memory.
    pub fn adopt(
        &mut self,
        stored: sql::StoredSession,
        conversations: Vec<(ConversationId, Conversation)>,
    ) {
        if self.sessions.contains_key(&stored.token) {
            return;
        }
        for (id, conv) in conversations {
            if !self.conversations.contains_key(&id) {
                self.restore_conversation(id, conv);
            }
        }
        self.restore_session(stored);
    }

    /// Takes on conversation `id` as the database holds it after another process changed
    /// it, and tells this process's listeners what is new: each event `fresh` holds past
    /// the ones held here, a status that differs, and agent consoles that it changed.
    /// `fresh.events` are the events after the held ones, or all of them when `whole` (then
    /// anything held beyond them, which was never written, is dropped). A conversation not
    /// held is taken in whole. Nothing is noted as a change to write: it is written.
    pub fn absorb(&mut self, id: &ConversationId, fresh: Conversation, whole: bool, now: Instant) {
        let Some(held) = self.conversations.get_mut(id) else {
            if whole {
                self.restore_conversation(id.clone(), fresh);
                self.tell(Update::Changed {
                    conversation: id.clone(),
                });
            }
            return;
        };
        let Conversation {
            events,
            phase,
            answers,
            request,
            message_request,
            rating,
            replies_said,
            handled_by,
            channel,
            channel_state,
            ..
        } = fresh;
        if whole && events.len() < held.events.len() {
            held.events.truncate(events.len());
            held.client_ids
                .retain(|_, seq| seq.0 <= events.len() as u64);
        }
        let last = held.events.len() as u64;
        let mut told = Vec::new();
        for event in events.into_iter().filter(|e| e.seq.0 > last) {
            if event.seq.0 != held.events.len() as u64 + 1 {
                break;
            }
            if let ConversationEvent::MessageReceived { id: Some(id), .. } = &event.event {
                held.client_ids.insert(id.clone(), event.seq);
            }
            held.events.push(event.clone());
            told.push(Update::Event {
                conversation: id.clone(),
                event,
            });
        }
        if held.phase != phase {
            told.push(Update::Status {
                conversation: id.clone(),
                status: phase.status(now),
            });
            held.phase = phase;
        }
        held.answers = answers;
        held.request = request;
        held.message_request = message_request;
        held.rating = rating;
        held.replies_said = replies_said;
        held.handled_by = handled_by;
        held.channel = channel;
        held.channel_state = channel_state;
        for update in told {
            self.notify(id, update);
        }
        self.tell(Update::Changed {
            conversation: id.clone(),
        });
    }

    /// Takes on session `stored` as the database holds it after another process changed
    /// it, if held here: a new current conversation is told to its tabs.
    pub fn absorb_session(&mut self, stored: sql::StoredSession) {
        let Some(session) = self.sessions.get_mut(&stored.token) else {
            return;
        };
        let switched = session.current != stored.current;
        session.current = stored.current.clone();
        session.past = stored.past;
        if let Some(known) = stored.identity.as_ref().filter(|i| i.verified) {
            self.users
                .insert(known.user_id.clone(), stored.token.clone());
        }
        session.identity = stored.identity;
        if switched {
            let listeners = session.updates.clone();
            self.notices.push(Notice {
                session: listeners,
                desk: None,
                update: Update::Switched {
                    conversation: stored.current,
                },
            });
        }
    }

    /// The seq of the newest event of conversation `id`, if held here.
    pub fn held_seq(&self, id: &ConversationId) -> Option<Seq> {
        self.conversations
            .get(id)
            .map(|c| Seq(c.events.len() as u64))
    }

    /// Drops what this process made but the database refused to write (a session or
    /// conversation it does not hold), so memory matches the database again.
    pub fn drop_unwritten(&mut self, tokens: &[SessionToken], conversations: &[ConversationId]) {
        self.let_go(tokens);
        self.evict_conversations(conversations);
    }

    /// Whether session `token` is in memory.
    pub fn holds_session(&self, token: &SessionToken) -> bool {
        self.sessions.contains_key(token)
    }

    /// What to tell since the last call, in order.
    pub fn take_notices(&mut self) -> Vec<Notice> {
        std::mem::take(&mut self.notices)
    }

    /// Tells at once what there is to tell: for a store kept in memory only, where a change
    /// is as durable as it gets when it is made.
    pub fn deliver_notices(&mut self) {
        for notice in self.take_notices() {
            notice.deliver();
        }
    }

    /// Every message left, oldest first.
    pub fn offline_messages(&self) -> &[OfflineMessage] {
        &self.offline_messages
    }

    pub fn leave_message(&mut self, message: OfflineMessage) {
        self.changes.offline_messages.push(message.clone());
        self.restore_offline_message(message);
    }

    /// A session read back from storage.
    pub(crate) fn restore_session(&mut self, stored: sql::StoredSession) {
        let sql::StoredSession {
            token,
            current,
            past,
            identity,
        } = stored;
        if let Some(known) = identity.as_ref().filter(|i| i.verified) {
            self.users.insert(known.user_id.clone(), token.clone());
        }
        let opened_ms = std::iter::once(&current)
            .chain(&past)
            .filter_map(|id| self.conversations.get(id)?.events.last())
            .map(|e| e.at_ms)
            .max()
            .unwrap_or(0);
        self.sessions.insert(
            token,
            Session {
                opened_ms,
                current,
                past,
                updates: None,
                identity,
                touched: 0,
                last_touch: Instant::now(),
            },
        );
    }

    /// A conversation read back from storage, with its events in seq order.
    pub(crate) fn restore_conversation(&mut self, id: ConversationId, mut conv: Conversation) {
        conv.client_ids = conv
            .events
            .iter()
            .filter_map(|e| match &e.event {
                ConversationEvent::MessageReceived { id: Some(id), .. } => {
                    Some((id.clone(), e.seq))
                }
                _ => None,
            })
            .collect();
        self.order.push(id.clone());
        self.conversations.insert(id, conv);
    }

    pub(crate) fn restore_offline_message(&mut self, message: OfflineMessage) {
        self.offline_messages.push(message);
        if self.offline_messages.len() > KEPT_IN_MEMORY {
            self.offline_messages.remove(0);
        }
    }

    fn blank_conversation(&mut self, token: &SessionToken) -> ConversationId {
        let id = ConversationId::new(random_id()).expect("hex is a valid id");
        self.conversations
            .insert(id.clone(), Conversation::blank(token.clone()));
        self.order.push(id.clone());
        self.changes.conversations.insert(id.clone());
        id
    }

    /// Opens a new session with an empty conversation.
    pub fn create_session(&mut self) -> (SessionToken, ConversationId) {
        let token = SessionToken::new(random_id()).expect("hex is a valid id");
        let conversation = self.blank_conversation(&token);
        self.changes.sessions.insert(token.clone());
        let opened_ms = self.now_ms();
        self.sessions.insert(
            token.clone(),
            Session {
                opened_ms,
                current: conversation.clone(),
                past: Vec::new(),
                updates: None,
                identity: None,
                touched: 0,
                last_touch: Instant::now(),
            },
        );
        (token, conversation)
    }

    /// Starts a new conversation in session `token`; the current one becomes history.
    pub fn start_new(&mut self, token: &SessionToken) -> Option<ConversationId> {
        if !self.sessions.contains_key(token) {
            return None;
        }
        let conversation = self.blank_conversation(token);
        self.changes.sessions.insert(token.clone());
        let session = self.sessions.get_mut(token)?;
        let old = std::mem::replace(&mut session.current, conversation.clone());
        session.past.push(old);
        let listeners = session.updates.clone();
        self.notices.push(Notice {
            session: listeners,
            desk: None,
            update: Update::Switched {
                conversation: conversation.clone(),
            },
        });
        Some(conversation)
    }

    /// The current conversation of session `token`.
    pub fn session(&self, token: &SessionToken) -> Option<ConversationId> {
        self.sessions.get(token).map(|s| s.current.clone())
    }

    /// The session's current conversation and its earlier ones, oldest first.
    pub fn session_parts(
        &self,
        token: &SessionToken,
    ) -> Option<(ConversationId, Vec<ConversationId>)> {
        self.sessions
            .get(token)
            .map(|s| (s.current.clone(), s.past.clone()))
    }

    /// The identity session `token` holds, if any.
    pub fn identity(&self, token: &SessionToken) -> Option<&KnownIdentity> {
        self.sessions.get(token)?.identity.as_ref()
    }

    /// The session of verified user `user_id`, if it has one.
    pub fn user_session(&self, user_id: &str) -> Option<SessionToken> {
        self.users
            .get(user_id)
            .filter(|t| self.sessions.contains_key(*t))
            .cloned()
    }

    /// Records who session `token`'s visitor is; a verified identity makes it that user's
    /// session. Returns whether the session exists.
    pub fn identify(&mut self, token: &SessionToken, identity: KnownIdentity) -> bool {
        let Some(session) = self.sessions.get_mut(token) else {
            return false;
        };
        if session.identity.as_ref() != Some(&identity) {
            if identity.verified {
                self.users.insert(identity.user_id.clone(), token.clone());
            }
            session.identity = Some(identity);
            self.changes.sessions.insert(token.clone());
        }
        true
    }

    /// The session's earlier conversations, newest first.
    pub fn past(&self, token: &SessionToken) -> Vec<ConversationId> {
        self.sessions
            .get(token)
            .map(|s| s.past.iter().rev().cloned().collect())
            .unwrap_or_default()
    }

    /// A receiver for every later change in session `token`.
    pub fn subscribe(&mut self, token: &SessionToken) -> Option<broadcast::Receiver<Update>> {
        let session = self.sessions.get_mut(token)?;
        Some(
            session
                .updates
                .get_or_insert_with(|| broadcast::channel(WATCH_BUFFER).0)
                .subscribe(),
        )
    }

    /// Sessions nobody listens to whose visitor never wrote, asked for a person or left a
    /// message, and where nothing happened since `cutoff_ms` (the mock's wall clock).
    pub fn idle_anonymous_sessions(&self, cutoff_ms: u64) -> Vec<SessionToken> {
        let untouched = |id: &ConversationId| {
            self.conversations.get(id).is_some_and(|conv| {
                conv.phase == Phase::Bot
                    && conv.request.is_none()
                    && conv.message_request.is_none()
                    && conv.channel.as_str() == WEB_CHANNEL
                    && conv.events.last().is_none_or(|e| e.at_ms <= cutoff_ms)
                    && !conv.events.iter().any(|e| {
                        matches!(
                            &e.event,
                            ConversationEvent::MessageReceived { author, .. }
                                if author.kind == AuthorKind::Visitor
                        )
                    })
            })
        };
        self.sessions
            .iter()
            .filter(|(_, s)| {
                s.opened_ms <= cutoff_ms
                    && s.updates.as_ref().is_none_or(|u| u.receiver_count() == 0)
                    && std::iter::once(&s.current).chain(&s.past).all(untouched)
            })
            .map(|(token, _)| token.clone())
            .collect()
    }

    /// Forgets `tokens` and their conversations, here and (as a change) in storage.
    pub fn purge(&mut self, tokens: &[SessionToken]) {
        let taken = self.let_go(tokens);
        self.changes.purged.extend(taken);
    }

    /// How many sessions the store holds.
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// How many sessions hold a fan-out buffer (have had a listener since their last
    /// change).
    pub fn listened_sessions(&self) -> usize {
        self.sessions
            .values()
            .filter(|s| s.updates.is_some())
            .count()
    }

    pub fn conversation(&self, id: &ConversationId) -> Option<&Conversation> {
        self.conversations.get(id)
    }

    pub fn conversation_mut(&mut self, id: &ConversationId) -> Option<&mut Conversation> {
        let conv = self.conversations.get_mut(id)?;
        self.changes.conversations.insert(id.clone());
        Some(conv)
    }

    /// Every conversation, oldest first.
    pub fn all(&self) -> impl Iterator<Item = (&ConversationId, &Conversation)> {
        self.order
            .iter()
            .filter_map(|id| self.conversations.get(id).map(|c| (id, c)))
    }

    /// Tells the conversation's session (every tab listening) and agent consoles, once
    /// durable. A session nobody listens to any more lets its buffer go.
    fn notify(&mut self, conversation: &ConversationId, update: Update) {
        let mut listeners = None;
        if let Some(conv) = self.conversations.get(conversation)
            && let Some(session) = self.sessions.get_mut(&conv.token)
        {
            if session
                .updates
                .as_ref()
                .is_some_and(|u| u.receiver_count() == 0)
            {
                session.updates = None;
            }
            listeners = session.updates.clone();
        }
        self.notices.push(Notice {
            session: listeners,
            desk: Some(self.desk_watch.clone()),
            update,
        });
    }

    /// Notes whether the visitor is typing, and tells agent consoles. It is not kept
    /// across restarts, so it is not noted as a change to write.
    pub fn set_visitor_typing(&mut self, conversation: &ConversationId, typing: bool) {
        if let Some(conv) = self.conversations.get_mut(conversation)
            && conv.visitor_typing != typing
        {
            conv.visitor_typing = typing;
            self.tell(Update::VisitorTyping {
                conversation: conversation.clone(),
                typing,
            });
        }
    }

    /// Appends an event and returns its seq; `None` for an unknown conversation.
    pub fn append(
        &mut self,
        conversation: &ConversationId,
        event: ConversationEvent,
    ) -> Option<Seq> {
        let conv = self.conversations.get_mut(conversation)?;
        let stored = StoredEvent {
            seq: Seq(conv.events.len() as u64 + 1),
            at_ms: now_ms().saturating_add(self.clock_offset_ms),
            event,
        };
        conv.events.push(stored.clone());
        self.changes
            .events
            .push((conversation.clone(), stored.clone()));
        let seq = stored.seq;
        self.notify(
            conversation,
            Update::Event {
                conversation: conversation.clone(),
                event: stored,
            },
        );
        Some(seq)
    }

    /// Appends a message unless its client `id` was stored before.
    pub fn append_once(
        &mut self,
        conversation: &ConversationId,
        id: &MessageId,
        event: ConversationEvent,
    ) -> Option<Appended> {
        if let Some(seq) = self.conversations.get(conversation)?.client_ids.get(id) {
            return Some(Appended::Duplicate(*seq));
        }
        let seq = self.append(conversation, event)?;
        self.conversations
            .get_mut(conversation)?
            .client_ids
            .insert(id.clone(), seq);
        Some(Appended::New(seq))
    }

    /// Moves a conversation to `phase` and tells its connections.
    pub fn set_phase(&mut self, conversation: &ConversationId, phase: Phase, now: Instant) {
        let Some(conv) = self.conversations.get_mut(conversation) else {
            return;
        };
        let status = phase.status(now);
        conv.phase = phase;
        self.changes.conversations.insert(conversation.clone());
        self.notify(
            conversation,
            Update::Status {
                conversation: conversation.clone(),
                status,
            },
        );
    }

    /// Tells the visitor's connections that `name` is typing or stopped.
    pub fn typing(&mut self, conversation: &ConversationId, name: &str, typing: bool) {
        self.notify(
            conversation,
            Update::Typing {
                conversation: conversation.clone(),
                name: name.to_string(),
                typing,
            },
        );
    }

    /// The events after `after`, in order.
    pub fn events_after(&self, conversation: &ConversationId, after: Seq) -> Vec<StoredEvent> {
        let skip = usize::try_from(after.0).unwrap_or(usize::MAX);
        self.conversations
            .get(conversation)
            .map(|c| c.events.iter().skip(skip).cloned().collect())
            .unwrap_or_default()
    }

    /// The seq of the newest event of `conversation` (0 when it has none).
    pub fn last_seq(&self, conversation: &ConversationId) -> Seq {
        Seq(self
            .conversations
            .get(conversation)
            .map_or(0, |c| c.events.len() as u64))
    }
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
        let mut store = Store::default();
        let (_, conv) = store.create_session();
        let seqs: Vec<Seq> = (0..3)
            .filter_map(|i| store.append(&conv, message(&i.to_string())))
            .collect();
        assert_eq!(seqs, vec![Seq(1), Seq(2), Seq(3)]);
        assert_eq!(store.last_seq(&conv), Seq(3));
    }

    #[test]
    fn a_resent_visitor_message_is_stored_once() {
        let mut store = Store::default();
        let (_, conv) = store.create_session();
        let id = MessageId::new("m1").expect("id");
        let first = store.append_once(&conv, &id, message("hi"));
        let again = store.append_once(&conv, &id, message("hi"));
        assert_eq!(first, Some(Appended::New(Seq(1))));
        assert_eq!(again, Some(Appended::Duplicate(Seq(1))));
        assert_eq!(store.events_after(&conv, Seq(0)).len(), 1);
    }

    #[test]
    fn every_connection_of_the_session_hears_events_and_statuses() {
        let mut store = Store::default();
        let (token, conv) = store.create_session();
        let mut tab_one = store.subscribe(&token).expect("session");
        let mut tab_two = store.subscribe(&token).expect("session");
        store.append(&conv, message("a"));
        store.set_phase(&conv, Phase::Missed, Instant::now());
        assert!(
            tab_one.try_recv().is_err(),
            "nothing is told before it is durable"
        );
        store.deliver_notices();
        for tab in [&mut tab_one, &mut tab_two] {
            assert!(matches!(tab.try_recv(), Ok(Update::Event { .. })));
            assert_eq!(
                tab.try_recv(),
                Ok(Update::Status {
                    conversation: conv.clone(),
                    status: ChatStatus::Missed {}
                })
            );
        }
    }

    #[test]
    fn starting_anew_keeps_the_old_conversation_as_history() {
        let mut store = Store::default();
        let (token, first) = store.create_session();
        let mut tab = store.subscribe(&token).expect("session");
        let second = store.start_new(&token).expect("session");
        store.deliver_notices();
        assert_ne!(first, second);
        assert_eq!(store.session(&token), Some(second.clone()));
        assert_eq!(store.past(&token), vec![first]);
        assert_eq!(
            tab.try_recv(),
            Ok(Update::Switched {
                conversation: second
            })
        );
    }

    #[test]
    fn statuses_carry_the_time_waited() {
        let t0 = Instant::now();
        let phase = Phase::Queued {
            position: 2,
            since: t0,
        };
        assert_eq!(
            phase.status(t0 + std::time::Duration::from_millis(1500)),
            ChatStatus::Queued {
                position: 2,
                waited_ms: 1500
            }
        );
    }

    #[test]
    fn a_session_leaves_only_once_written_and_idle() {
        let mut store = Store::default();
        let (token, conv) = store.create_session();
        store.append(&conv, message("hi"));
        let before = Instant::now();
        store.take_changes();
        let batch = store.serial();
        let later = Instant::now() + std::time::Duration::from_secs(60);
        assert!(
            store.settled_sessions(batch - 1, later).is_empty(),
            "nothing leaves before its batch is written"
        );
        assert!(
            store
                .settled_sessions(batch, before - std::time::Duration::from_millis(1))
                .is_empty(),
            "nothing leaves before the idle time"
        );
        assert_eq!(store.settled_sessions(batch, later), vec![token.clone()]);
        let _tab = store.subscribe(&token).expect("session");
        assert!(
            store.settled_sessions(batch, later).is_empty(),
            "an open tab holds it"
        );
    }

    #[test]
    fn a_conversation_another_process_changed_is_taken_in_and_told_once() {
        let mut store = Store::default();
        let (token, conv) = store.create_session();
        store.append(&conv, message("one"));
        store.take_changes();
        store.deliver_notices();
        let mut tab = store.subscribe(&token).expect("session");
        let now = Instant::now();

        // Another process added "two" and missed the request.
        let mut fresh = store.conversation(&conv).expect("held").clone();
        fresh.events = vec![StoredEvent {
            seq: Seq(2),
            at_ms: 0,
            event: message("two"),
        }];
        fresh.phase = Phase::Missed;
        store.absorb(&conv, fresh.clone(), false, now);
        store.deliver_notices();
        assert!(matches!(tab.try_recv(), Ok(Update::Event { event, .. }) if event.seq == Seq(2)));
        assert_eq!(
            tab.try_recv(),
            Ok(Update::Status {
                conversation: conv.clone(),
                status: ChatStatus::Missed {}
            })
        );
        assert!(tab.try_recv().is_err(), "nothing else");
        assert!(store.take_changes().is_empty(), "it is written already");

        // Told again (a notification heard twice): nothing new.
        store.absorb(&conv, fresh, false, now);
        store.deliver_notices();
        assert!(tab.try_recv().is_err(), "told once");

        // Read whole after a failed commit: what was never written goes.
        let mut whole = store.conversation(&conv).expect("held").clone();
        whole.events.truncate(1);
        store.absorb(&conv, whole, true, now);
        assert_eq!(store.last_seq(&conv), Seq(1));
    }

    #[test]
    fn unknown_sessions_and_conversations_are_none() {
        let mut store = Store::default();
        let stranger = SessionToken::new("nobody").expect("id");
        assert_eq!(store.session(&stranger), None);
        assert!(store.subscribe(&stranger).is_none());
        let nowhere = ConversationId::new("nowhere").expect("id");
        assert_eq!(store.append(&nowhere, message("x")), None);
    }
}
