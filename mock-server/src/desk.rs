//! The desk: every operation on conversations, from visitors (the WebSocket), from agents
//! (the control API and the simulated agents) and from the clock (routing timers). It
//! owns the store and the router under one lock, so each operation is atomic, and turns
//! routing outcomes into conversation events and statuses.
//!
//! Timers run on tokio's clock: a driver task sleeps until the router's next deadline or
//! until an operation wakes it, so tests pause and advance time instead of sleeping.

use crate::agents::{self, Plan};
use crate::config::MockConfig;
use crate::persist::{Database, PersistError};
use crate::routing::{RouteError, Routed, Router, RoutingSnapshot};
use crate::store::{
    Appended, Conversation, OfflineMessage, Phase, Rating, Store, StoredEvent, Update, now_ms,
};
use porchlight_protocol::form::{self, Answers};
use porchlight_protocol::limits::MAX_MESSAGE_CHARS;
use porchlight_protocol::text::{self, TextError};
use porchlight_protocol::{
    AgentId, Author, AuthorKind, ChatStatus, Choice, ChoiceId, ConversationEvent, ConversationId,
    EventRecord, FieldError, MessageId, PastConversation, Replay, RequestId, Seq, SessionToken,
};
use serde::Serialize;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{Notify, broadcast};
use tokio::time::Instant;

/// Why the desk refused an operation. The WebSocket turns these into error frames, the
/// control API into HTTP statuses (404, 409, 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeskError {
    #[error("no agent {0}")]
    UnknownAgent(AgentId),
    #[error("no conversation {0}")]
    UnknownConversation(ConversationId),
    #[error("{0}")]
    NotAllowed(String),
    #[error("the form has {} invalid field(s)", .0.len())]
    Form(Vec<FieldError>),
    #[error("{0}")]
    InvalidText(TextError),
    #[error("a rating is 1 to 5 stars with a comment of at most {MAX_MESSAGE_CHARS} characters")]
    InvalidRating,
    #[error("the bot offers no quick reply {0}")]
    UnknownChoice(ChoiceId),
}

impl From<RouteError> for DeskError {
    fn from(err: RouteError) -> Self {
        match err {
            RouteError::UnknownAgent(a) => DeskError::UnknownAgent(a),
            RouteError::UnknownConversation(c) => DeskError::UnknownConversation(c),
            RouteError::NotAllowed(m) => DeskError::NotAllowed(m),
        }
    }
}

fn not_now(message: impl Into<String>) -> DeskError {
    DeskError::NotAllowed(message.into())
}

/// What a connection needs to (re)attach to its session's current conversation: taken
/// under one lock, so no update falls between the read and the subscription.
pub struct Attached {
    pub token: SessionToken,
    pub conversation: ConversationId,
    /// Events after the seq the client holds, to send on the socket.
    pub missed: Vec<StoredEvent>,
    pub last_seq: Seq,
    pub status: ChatStatus,
    /// How the client gets what it lacks.
    pub replay: Replay,
}

struct World {
    store: Store,
    router: Router,
    /// Where the store is kept, unless it lives in memory only.
    database: Option<Database>,
}

/// The locked world. Releasing it writes what the operation changed to the database, so
/// nothing is acked (or shown) before it is durable.
struct WorldGuard<'a>(MutexGuard<'a, World>);

impl std::ops::Deref for WorldGuard<'_> {
    type Target = World;
    fn deref(&self) -> &World {
        &self.0
    }
}

impl std::ops::DerefMut for WorldGuard<'_> {
    fn deref_mut(&mut self) -> &mut World {
        &mut self.0
    }
}

impl Drop for WorldGuard<'_> {
    fn drop(&mut self) {
        let world = &mut *self.0;
        match &mut world.database {
            Some(database) => {
                if let Err(err) = database.save(&mut world.store) {
                    tracing::error!("cannot write to the database (tried again next time): {err}");
                }
            }
            None => {
                world.store.take_changes();
            }
        }
    }
}

/// The desk. Shared as `Arc<Desk>`.
pub struct Desk {
    pub config: MockConfig,
    world: Mutex<World>,
    /// Wakes the timer driver when deadlines may have changed.
    wake: Arc<Notify>,
}

impl Drop for Desk {
    fn drop(&mut self) {
        // Lets the timer driver notice the desk is gone.
        self.wake.notify_one();
    }
}

impl Desk {
    /// A desk for `config` with an empty store in memory only, and its timer driver.
    /// Needs a tokio runtime.
    pub fn new(config: MockConfig) -> Arc<Desk> {
        Desk::with_store(config, Store::default(), None)
    }

    /// A desk keeping its store in the SQLite database at `path`, resuming what it holds:
    /// live chats stay with their agents, and chats that were waiting for one ask again.
    pub fn open(config: MockConfig, path: &Path) -> Result<Arc<Desk>, PersistError> {
        let (database, store) = Database::open(path)?;
        Ok(Desk::with_store(config, store, Some(database)))
    }

    fn with_store(config: MockConfig, store: Store, database: Option<Database>) -> Arc<Desk> {
        let mut router = Router::new(
            config.routing.mode,
            config.timers(),
            config.routing_agents(),
        );
        let mut waiting = Vec::new();
        for (id, conv) in store.all() {
            match &conv.phase {
                Phase::Live { agent, .. } => {
                    if let Err(err) = router.restore_live(id.clone(), agent.clone()) {
                        tracing::warn!("live chat {id} asks for an agent again: {err}");
                        waiting.push(id.clone());
                    }
                }
                Phase::Queued { .. } | Phase::Connecting { .. } => waiting.push(id.clone()),
                _ => {}
            }
        }
        let desk = Arc::new(Desk {
            config,
            world: Mutex::new(World {
                store,
                router,
                database,
            }),
            wake: Arc::new(Notify::new()),
        });
        let now = Instant::now();
        for conversation in waiting {
            let asked = desk.route(now, |world| {
                Ok(((), world.router.request(conversation, now)?))
            });
            if let Err(err) = asked {
                tracing::warn!("a restored request could not be routed again: {err}");
            }
        }
        spawn_timer_driver(&desk);
        desk
    }

    fn lock(&self) -> WorldGuard<'_> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        WorldGuard(self.world.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn bot_author(&self) -> Author {
        Author {
            kind: AuthorKind::Bot,
            name: self.config.bot.name.clone(),
        }
    }

    fn bot_says(&self, text: &str, choices: &[ChoiceId]) -> ConversationEvent {
        ConversationEvent::MessageReceived {
            id: None,
            author: self.bot_author(),
            text: text.to_string(),
            choices: choices
                .iter()
                .filter_map(|id| self.config.bot.node(id))
                .map(|node| Choice {
                    id: node.id.clone(),
                    label: node.label.clone(),
                })
                .collect(),
        }
    }

    /// Greets a fresh conversation, when the site has its bot on.
    fn greet(&self, store: &mut Store, conversation: &ConversationId) {
        if self.config.site.bot_enabled {
            let bot = &self.config.bot;
            store.append(conversation, self.bot_says(&bot.greeting, &bot.choices));
        }
    }

    // ----- visitors -----

    /// Resumes session `token` (or opens a new one) for a connection holding events up to
    /// `last_seq` of conversation `held`.
    pub fn hello(
        &self,
        token: Option<&SessionToken>,
        held: Option<&ConversationId>,
        last_seq: Seq,
        now: Instant,
    ) -> (Attached, broadcast::Receiver<Update>) {
        let mut world = self.lock();
        let resumed = token.and_then(|t| world.store.session(t).map(|c| (t.clone(), c)));
        let lost = token.is_some() && resumed.is_none();
        let (token, conversation, from) = match resumed {
            Some((token, conversation)) => {
                let from = if held.is_some_and(|h| *h != conversation) {
                    Seq(0) // events of another conversation say nothing about this one
                } else {
                    last_seq
                };
                (token, conversation, from)
            }
            None => {
                let (token, conversation) = world.store.create_session();
                self.greet(&mut world.store, &conversation);
                (token, conversation, Seq(0))
            }
        };
        let updates = world
            .store
            .subscribe(&token)
            .expect("the session was just found or made");
        let mut attached = attach(&world.store, &token, &conversation, from, now);
        if lost {
            attached.replay = Replay::Lost;
        } else if attached.missed.len() as u64 > self.config.link.replay_window {
            attached.missed.clear();
            attached.replay = Replay::Http;
        }
        (attached, updates)
    }

    /// Re-reads session `token`'s current conversation after `from`.
    pub fn attach(&self, token: &SessionToken, from: Seq, now: Instant) -> Option<Attached> {
        let world = self.lock();
        let conversation = world.store.session(token)?;
        Some(attach(&world.store, token, &conversation, from, now))
    }

    /// The current status of `conversation`.
    pub fn status(&self, conversation: &ConversationId, now: Instant) -> Option<ChatStatus> {
        let world = self.lock();
        world
            .store
            .conversation(conversation)
            .map(|c| c.phase.status(now))
    }

    fn conversation_of<'w>(
        world: &'w World,
        conversation: &ConversationId,
    ) -> Result<&'w Conversation, DeskError> {
        world
            .store
            .conversation(conversation)
            .ok_or_else(|| DeskError::UnknownConversation(conversation.clone()))
    }

    fn phase(world: &World, conversation: &ConversationId) -> Result<Phase, DeskError> {
        Self::conversation_of(world, conversation).map(|c| c.phase.clone())
    }

    /// Runs `op` under the lock, turns the routing outcomes it returns into events and
    /// statuses, and lets the simulated agents act on them once the lock is released.
    fn route<T>(
        self: &Arc<Self>,
        now: Instant,
        op: impl FnOnce(&mut World) -> Result<(T, Vec<Routed>), DeskError>,
    ) -> Result<T, DeskError> {
        let (value, plans) = {
            let mut world = self.lock();
            let (value, routed) = op(&mut world)?;
            (value, self.apply(&mut world, routed, now))
        };
        agents::run(self, plans);
        Ok(value)
    }

    fn visitor_author() -> Author {
        Author {
            kind: AuthorKind::Visitor,
            name: "You".into(),
        }
    }

    /// A visitor message. The bot answers it in the bot phase; a simulated agent in a
    /// live chat answers it too.
    pub fn visitor_text(
        self: &Arc<Self>,
        conversation: &ConversationId,
        id: &MessageId,
        raw: &str,
    ) -> Result<Appended, DeskError> {
        let text = text::message_text(raw).map_err(DeskError::InvalidText)?;
        let mut plans = Vec::new();
        let appended = {
            let mut world = self.lock();
            let phase = Self::phase(&world, conversation)?;
            if matches!(
                phase,
                Phase::Missed | Phase::MessageLeft | Phase::Ended { .. }
            ) {
                return Err(not_now("this chat is over; start a new conversation"));
            }
            let event = ConversationEvent::MessageReceived {
                id: Some(id.clone()),
                author: Self::visitor_author(),
                text: text.to_string(),
                choices: Vec::new(),
            };
            let appended = world
                .store
                .append_visitor_message(conversation, id, event)
                .ok_or_else(|| DeskError::UnknownConversation(conversation.clone()))?;
            if let Appended::New(_) = appended {
                match phase {
                    Phase::Bot => {
                        let answer = self.config.bot.answer(text).to_string();
                        world
                            .store
                            .append(conversation, self.bot_says(&answer, &[]));
                    }
                    Phase::Live { agent, .. } => {
                        world.store.set_visitor_typing(conversation, false);
                        plans.extend(agents::reply_plan(&self.config, &agent, conversation));
                    }
                    _ => {}
                }
            }
            appended
        };
        agents::run(self, plans);
        Ok(appended)
    }

    /// A quick reply: stored as the visitor's message, answered by its bot node.
    pub fn choose(
        &self,
        conversation: &ConversationId,
        id: &MessageId,
        choice: &ChoiceId,
    ) -> Result<Appended, DeskError> {
        let node = self
            .config
            .bot
            .node(choice)
            .ok_or_else(|| DeskError::UnknownChoice(choice.clone()))?;
        let mut world = self.lock();
        if Self::phase(&world, conversation)? != Phase::Bot {
            return Err(not_now("quick replies are for the bot"));
        }
        let event = ConversationEvent::MessageReceived {
            id: Some(id.clone()),
            author: Self::visitor_author(),
            text: node.label.clone(),
            choices: Vec::new(),
        };
        let appended = world
            .store
            .append_visitor_message(conversation, id, event)
            .ok_or_else(|| DeskError::UnknownConversation(conversation.clone()))?;
        if let Appended::New(_) = appended {
            world
                .store
                .append(conversation, self.bot_says(&node.answer, &node.choices));
        }
        Ok(appended)
    }

    /// The visitor asks for a human with the pre-chat answers. A resent `request` is
    /// accepted and changes nothing: then the result is `false`.
    pub fn request_agent(
        self: &Arc<Self>,
        conversation: &ConversationId,
        request: &RequestId,
        answers: &Answers,
        now: Instant,
    ) -> Result<bool, DeskError> {
        self.route(now, |world| {
            let conv = Self::conversation_of(world, conversation)?;
            if conv.request.as_ref() == Some(request) {
                return Ok((false, Vec::new()));
            }
            if conv.phase != Phase::Bot {
                return Err(not_now("a person has already been asked for"));
            }
            let cleaned =
                form::validate(&self.config.site.prechat, answers).map_err(DeskError::Form)?;
            if let Some(conv) = world.store.conversation_mut(conversation) {
                conv.request = Some(request.clone());
                conv.answers = cleaned;
            }
            world
                .store
                .append(conversation, ConversationEvent::AgentRequested {});
            Ok((true, world.router.request(conversation.clone(), now)?))
        })
    }

    /// The visitor is typing (shown to agents in the control API).
    pub fn visitor_typing(&self, conversation: &ConversationId, typing: bool) {
        let mut world = self.lock();
        if matches!(Self::phase(&world, conversation), Ok(Phase::Live { .. })) {
            world.store.set_visitor_typing(conversation, typing);
        }
    }

    /// The visitor ends the chat or withdraws the waiting request.
    pub fn end_chat(
        self: &Arc<Self>,
        conversation: &ConversationId,
        now: Instant,
    ) -> Result<(), DeskError> {
        self.route(now, |world| {
            match Self::phase(world, conversation)? {
                Phase::Queued { .. } | Phase::Connecting { .. } | Phase::Live { .. } => {}
                _ => return Err(not_now("there is no chat with a person to end")),
            }
            Ok(((), world.router.visitor_left(conversation, now)))
        })
    }

    /// The visitor rates the ended chat.
    pub fn rate(
        &self,
        conversation: &ConversationId,
        stars: u8,
        comment: Option<&str>,
        now: Instant,
    ) -> Result<(), DeskError> {
        let comment = comment.map(str::trim).filter(|c| !c.is_empty());
        if !(1..=5).contains(&stars)
            || comment.is_some_and(|c| c.chars().count() > MAX_MESSAGE_CHARS)
        {
            return Err(DeskError::InvalidRating);
        }
        let mut world = self.lock();
        if Self::phase(&world, conversation)? != (Phase::Ended { rated: false }) {
            return Err(not_now("only an ended chat can be rated, once"));
        }
        let comment = comment.map(str::to_string);
        if let Some(conv) = world.store.conversation_mut(conversation) {
            conv.rating = Some(Rating {
                stars,
                comment: comment.clone(),
            });
        }
        world
            .store
            .append(conversation, ConversationEvent::Rated { stars, comment });
        world
            .store
            .set_phase(conversation, Phase::Ended { rated: true }, now);
        Ok(())
    }

    /// The visitor leaves a message after a missed chat. A resent `request` changes
    /// nothing: then the result is `false`.
    pub fn leave_message(
        &self,
        conversation: &ConversationId,
        request: &RequestId,
        answers: &Answers,
        raw: &str,
        now: Instant,
    ) -> Result<bool, DeskError> {
        let mut world = self.lock();
        let conv = Self::conversation_of(&world, conversation)?;
        if conv.message_request.as_ref() == Some(request) {
            return Ok(false);
        }
        if conv.phase != Phase::Missed {
            return Err(not_now(
                "a message can be left only when nobody took the chat",
            ));
        }
        let cleaned =
            form::validate(&self.config.site.prechat, answers).map_err(DeskError::Form)?;
        let text = text::message_text(raw)
            .map_err(DeskError::InvalidText)?
            .to_string();
        if let Some(conv) = world.store.conversation_mut(conversation) {
            conv.message_request = Some(request.clone());
            conv.answers = cleaned.clone();
        }
        world.store.leave_message(OfflineMessage {
            conversation: conversation.clone(),
            answers: cleaned,
            text: text.clone(),
            at_ms: now_ms(),
        });
        world
            .store
            .append(conversation, ConversationEvent::MessageLeft { text });
        world.store.set_phase(conversation, Phase::MessageLeft, now);
        Ok(true)
    }

    /// Starts a new conversation in session `token` once the current one is over.
    pub fn start_new(&self, token: &SessionToken) -> Result<ConversationId, DeskError> {
        let mut world = self.lock();
        let current = world
            .store
            .session(token)
            .ok_or_else(|| not_now("no such session"))?;
        let phase = Self::phase(&world, &current)?;
        if !(phase.is_closed() || phase == Phase::Missed) {
            return Err(not_now("end the current chat first"));
        }
        let conversation = world
            .store
            .start_new(token)
            .ok_or_else(|| not_now("no such session"))?;
        self.greet(&mut world.store, &conversation);
        Ok(conversation)
    }

    /// The session's earlier conversations, newest first.
    pub fn history(&self, token: &SessionToken) -> Option<Vec<PastConversation>> {
        let world = self.lock();
        world.store.session(token)?;
        Some(
            world
                .store
                .past(token)
                .into_iter()
                .filter_map(|id| {
                    let conv = world.store.conversation(&id)?;
                    Some(PastConversation {
                        started_ms: conv.events.first().map_or(0, |e| e.at_ms),
                        events: conv.events.iter().map(StoredEvent::to_record).collect(),
                        conversation: id,
                    })
                })
                .collect(),
        )
    }

    /// The events of `conversation` after `after`, when it belongs to session `token`: how
    /// a widget told to replay over HTTP reads what it missed.
    pub fn transcript(
        &self,
        token: &SessionToken,
        conversation: &ConversationId,
        after: Seq,
    ) -> Option<Vec<EventRecord>> {
        let world = self.lock();
        let conv = world.store.conversation(conversation)?;
        if conv.token != *token {
            return None;
        }
        Some(
            world
                .store
                .events_after(conversation, after)
                .iter()
                .map(StoredEvent::to_record)
                .collect(),
        )
    }

    // ----- agents -----

    /// An agent accepts a request.
    pub fn accept(
        self: &Arc<Self>,
        agent: &AgentId,
        conversation: &ConversationId,
        now: Instant,
    ) -> Result<(), DeskError> {
        self.route(now, |world| {
            Ok(((), world.router.accept(agent, conversation)?))
        })
    }

    /// Checks that `agent` exists and owns the live chat `conversation`; returns their name.
    fn live_agent(
        world: &World,
        agent: &AgentId,
        conversation: &ConversationId,
    ) -> Result<String, DeskError> {
        let name = world
            .router
            .agent_name(agent)
            .ok_or_else(|| DeskError::UnknownAgent(agent.clone()))?
            .to_string();
        match Self::phase(world, conversation)? {
            Phase::Live { agent: owner, .. } if owner == *agent => Ok(name),
            Phase::Live { .. } => Err(not_now(format!(
                "conversation {conversation} belongs to another agent"
            ))),
            _ => Err(not_now(format!(
                "conversation {conversation} is not a live chat"
            ))),
        }
    }

    /// An agent writes in their live chat.
    pub fn agent_message(
        &self,
        agent: &AgentId,
        conversation: &ConversationId,
        raw: &str,
    ) -> Result<Seq, DeskError> {
        let text = text::message_text(raw).map_err(DeskError::InvalidText)?;
        let mut world = self.lock();
        let name = Self::live_agent(&world, agent, conversation)?;
        world.store.typing(conversation, &name, false);
        world
            .store
            .append(
                conversation,
                ConversationEvent::MessageReceived {
                    id: None,
                    author: Author {
                        kind: AuthorKind::Agent,
                        name,
                    },
                    text: text.to_string(),
                    choices: Vec::new(),
                },
            )
            .ok_or_else(|| DeskError::UnknownConversation(conversation.clone()))
    }

    /// An agent starts or stops typing in their live chat.
    pub fn agent_typing(
        &self,
        agent: &AgentId,
        conversation: &ConversationId,
        typing: bool,
    ) -> Result<(), DeskError> {
        let world = self.lock();
        let name = Self::live_agent(&world, agent, conversation)?;
        world.store.typing(conversation, &name, typing);
        Ok(())
    }

    /// An agent closes their live chat.
    pub fn close(
        self: &Arc<Self>,
        agent: &AgentId,
        conversation: &ConversationId,
        now: Instant,
    ) -> Result<(), DeskError> {
        self.route(now, |world| {
            Ok(((), world.router.close(agent, conversation, now)?))
        })
    }

    /// An agent goes online or offline.
    pub fn set_online(
        self: &Arc<Self>,
        agent: &AgentId,
        online: bool,
        now: Instant,
    ) -> Result<(), DeskError> {
        self.route(now, |world| {
            Ok(((), world.router.set_online(agent, online, now)?))
        })
    }

    /// Whether `conversation` still waits in the queue (for simulated agents' retries).
    pub fn is_queued(&self, conversation: &ConversationId) -> bool {
        let world = self.lock();
        world
            .store
            .conversation(conversation)
            .is_some_and(|c| matches!(c.phase, Phase::Queued { .. }))
    }

    /// Counts a simulated agent's reply and returns the next scripted line, if the chat is
    /// still live with them.
    pub fn next_scripted_reply(
        &self,
        agent: &AgentId,
        conversation: &ConversationId,
    ) -> Option<String> {
        let mut world = self.lock();
        Self::live_agent(&world, agent, conversation).ok()?;
        let replies = &self.config.agent(agent)?.replies;
        let conv = world.store.conversation_mut(conversation)?;
        let line = replies.get(conv.replies_said.min(replies.len().checked_sub(1)?))?;
        conv.replies_said += 1;
        Some(line.clone())
    }

    // ----- timers -----

    /// Applies every routing timer due at `now`.
    pub fn expire(self: &Arc<Self>, now: Instant) {
        // Expiring cannot fail: there is no error to report.
        let _ = self.route(now, |world| Ok(((), world.router.expire(now))));
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.lock().router.next_deadline()
    }

    /// Turns routing outcomes into events and statuses; returns what simulated agents
    /// will do. Wakes the timer driver, since deadlines may have changed.
    fn apply(&self, world: &mut World, routed: Vec<Routed>, now: Instant) -> Vec<Plan> {
        let mut plans = Vec::new();
        for outcome in routed {
            match outcome {
                Routed::Queued {
                    conversation,
                    position,
                } => {
                    let previous = Self::phase(world, &conversation).ok();
                    let since = match previous {
                        Some(Phase::Queued { since, .. } | Phase::Connecting { since }) => since,
                        _ => now,
                    };
                    let newly = !matches!(previous, Some(Phase::Queued { .. }));
                    world
                        .store
                        .set_phase(&conversation, Phase::Queued { position, since }, now);
                    if newly && world.router.mode() == crate::routing::RoutingMode::Broadcast {
                        plans.extend(agents::on_queued(
                            &self.config,
                            &world.router,
                            &conversation,
                        ));
                    }
                }
                Routed::Assigned {
                    conversation,
                    agent,
                } => {
                    let since = match Self::phase(world, &conversation) {
                        Ok(Phase::Queued { since, .. } | Phase::Connecting { since }) => since,
                        _ => now,
                    };
                    world
                        .store
                        .set_phase(&conversation, Phase::Connecting { since }, now);
                    plans.extend(agents::accept_plan(&self.config, &agent, &conversation));
                }
                Routed::Accepted {
                    conversation,
                    agent,
                } => {
                    let name = world
                        .router
                        .agent_name(&agent)
                        .unwrap_or_default()
                        .to_string();
                    world.store.append(
                        &conversation,
                        ConversationEvent::AgentJoined { name: name.clone() },
                    );
                    world.store.set_phase(
                        &conversation,
                        Phase::Live {
                            agent: agent.clone(),
                            name,
                        },
                        now,
                    );
                    plans.extend(agents::reply_plan(&self.config, &agent, &conversation));
                }
                Routed::Missed { conversation } => {
                    world
                        .store
                        .append(&conversation, ConversationEvent::Missed {});
                    world.store.set_phase(&conversation, Phase::Missed, now);
                }
                Routed::Closed {
                    conversation,
                    agent,
                } => {
                    let by = if agent.is_some() {
                        AuthorKind::Agent
                    } else {
                        AuthorKind::Visitor
                    };
                    world
                        .store
                        .append(&conversation, ConversationEvent::ChatEnded { by });
                    world
                        .store
                        .set_phase(&conversation, Phase::Ended { rated: false }, now);
                }
            }
        }
        self.wake.notify_one();
        plans
    }

    // ----- control API views -----

    /// Routing's view plus the store's, for `GET /mock/state`.
    pub fn state(&self, now: Instant) -> MockState {
        let world = self.lock();
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

    /// One conversation in full, for `GET /mock/conversations/{id}`.
    pub fn conversation(&self, id: &ConversationId) -> Option<ConversationView> {
        let world = self.lock();
        let conv = world.store.conversation(id)?;
        let agent = match &conv.phase {
            Phase::Live { agent, .. } => Some(agent.clone()),
            _ => None,
        };
        Some(ConversationView {
            id: id.clone(),
            status: conv.phase.name(),
            agent,
            prechat: conv.answers.clone(),
            rating: conv.rating.clone(),
            visitor_typing: conv.visitor_typing,
            transcript: conv
                .events
                .iter()
                .filter_map(|e| match &e.event {
                    ConversationEvent::MessageReceived { author, text, .. } => {
                        Some(TranscriptLine {
                            seq: e.seq,
                            author_kind: author.kind,
                            author_name: author.name.clone(),
                            text: text.clone(),
                            at_ms: e.at_ms,
                        })
                    }
                    _ => None,
                })
                .collect(),
            events: conv.events.iter().map(StoredEvent::to_record).collect(),
        })
    }
}

fn attach(
    store: &Store,
    token: &SessionToken,
    conversation: &ConversationId,
    from: Seq,
    now: Instant,
) -> Attached {
    let newest = store.last_seq(conversation);
    // A client claiming more than exists gets everything again rather than nothing.
    let from = if from > newest { Seq(0) } else { from };
    Attached {
        token: token.clone(),
        conversation: conversation.clone(),
        missed: store.events_after(conversation, from),
        last_seq: newest,
        status: store
            .conversation(conversation)
            .map_or(ChatStatus::Bot {}, |c| c.phase.status(now)),
        replay: Replay::Socket,
    }
}

/// Sleeps until the router's next deadline, or until an operation changes the deadlines,
/// and expires what is due. Ends when the desk is dropped.
fn spawn_timer_driver(desk: &Arc<Desk>) {
    let weak = Arc::downgrade(desk);
    let wake = Arc::clone(&desk.wake);
    tokio::spawn(async move {
        loop {
            let Some(next) = weak.upgrade().map(|d| d.next_deadline()) else {
                return;
            };
            match next {
                Some(deadline) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(deadline) => {
                            let Some(desk) = weak.upgrade() else { return };
                            desk.expire(Instant::now());
                        }
                        () = wake.notified() => {}
                    }
                }
                None => wake.notified().await,
            }
        }
    });
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
