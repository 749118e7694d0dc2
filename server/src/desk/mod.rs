//! The desk: every operation on conversations, from visitors ([`visitor`]), from agents
//! ([`agent`]), from social channels' customers ([`channel`]) and from the clock
//! ([`timers`]). It owns the store and the router under one
//! lock, so each operation is atomic, and turns routing outcomes into conversation events
//! and statuses. Simulated agents' plans are carried out by [`runner`] once the lock is
//! released.
//!
//! Every change is also told on a desk-wide stream ([`Desk::watch`]) that agent consoles
//! follow; a console that falls behind takes a fresh snapshot. With a database, changes are
//! told only once the [`Writer`] has committed them; [`Desk::durable`] waits for that
//! before anything is acked.
//!
//! Timers run on tokio's clock: a driver task sleeps until the router's next deadline or
//! until an operation wakes it, so tests pause and advance time instead of sleeping.

pub mod agent;
pub mod channel;
mod cluster;
pub mod folders;
mod history;
mod timers;
pub mod views;
pub mod visitor;

use crate::config::ServerConfig;
use crate::routing::{RouteError, Routed, Router, SharedRouting};
use crate::sim::agents::{self, Plan};
use crate::store::cluster::Decider;
use crate::store::database::{Database, PersistError, Target};
use crate::store::reader::Reader;
use crate::store::sql::Rows;
use crate::store::writer::Writer;
use crate::store::{Conversation, Phase, Store, Update};
use porchlight_protocol::channels::PlatformError;
use porchlight_protocol::limits::MAX_MESSAGE_CHARS;
use porchlight_protocol::text::TextError;
use porchlight_protocol::{
    AgentId, AuthorKind, ChannelId, ChoiceId, ConversationEvent, ConversationId, FieldError,
    MessageId,
};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{Notify, broadcast};
use tokio::time::Instant;

pub use visitor::Attached;

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
    #[error("{0} already accepted this request")]
    Taken(String),
    #[error("the form has {} invalid field(s)", .0.len())]
    Form(Vec<FieldError>),
    #[error("{0}")]
    InvalidText(TextError),
    #[error("a rating is 1 to 5 stars with a comment of at most {MAX_MESSAGE_CHARS} characters")]
    InvalidRating,
    #[error("the bot offers no quick reply {0}")]
    UnknownChoice(ChoiceId),
    #[error("no channel {0} is connected")]
    UnknownChannel(ChannelId),
    /// The platform would refuse this send; nothing was stored or sent.
    #[error("the platform refuses: {0}")]
    Platform(PlatformError),
    #[error("the queue holds {0} requests, the most it may; leave a message or try again later")]
    QueueFull(usize),
    #[error("this conversation holds {0} events, the most one may; start a new conversation")]
    ConversationFull(usize),
    #[error("this session holds {0} conversations, the most one may")]
    TooManyConversations(usize),
    /// The change could not be made durable yet; it is kept and written when the database
    /// can be written again, and nothing was acked.
    #[error("the server cannot store changes right now; send it again shortly")]
    Unavailable,
}

fn not_now(message: impl Into<String>) -> DeskError {
    DeskError::NotAllowed(message.into())
}

/// The store and the router, as one operation sees them.
pub struct World {
    pub store: Store,
    pub router: Router,
    /// Among several processes: how far this one caught up.
    pub cluster: cluster::ClusterView,
}

impl World {
    fn conversation(&self, conversation: &ConversationId) -> Result<&Conversation, DeskError> {
        self.store
            .conversation(conversation)
            .ok_or_else(|| DeskError::UnknownConversation(conversation.clone()))
    }

    fn phase(&self, conversation: &ConversationId) -> Result<Phase, DeskError> {
        self.conversation(conversation).map(|c| c.phase.clone())
    }

    /// Whether `conversation` has room for `events` more (at most `max` in all), or the
    /// message `id` is already stored (a resend, answered as before).
    fn room_for(
        &self,
        conversation: &ConversationId,
        id: Option<&MessageId>,
        events: usize,
        max: usize,
    ) -> Result<(), DeskError> {
        let conv = self.conversation(conversation)?;
        if id.is_some_and(|id| conv.holds_message(id)) || conv.events.len() + events <= max {
            Ok(())
        } else {
            Err(DeskError::ConversationFull(max))
        }
    }

    /// A routing answer as a desk result with no value of its own.
    fn routed(
        &self,
        routed: Result<Vec<Routed>, RouteError>,
    ) -> Result<((), Vec<Routed>), DeskError> {
        routed.map(|r| ((), r)).map_err(|e| self.route_error(e))
    }

    fn route_error(&self, err: RouteError) -> DeskError {
        match err {
            RouteError::UnknownAgent(a) => DeskError::UnknownAgent(a),
            RouteError::UnknownConversation(c) => DeskError::UnknownConversation(c),
            RouteError::NotAllowed(m) => DeskError::NotAllowed(m),
            RouteError::Taken(by) => DeskError::Taken(
                self.router
                    .agent_name(&by)
                    .unwrap_or("Another agent")
                    .into(),
            ),
        }
    }
}

/// The locked world. Releasing it hands what the operation changed, and what to tell, to
/// the writer — in the order operations hold the lock — so nothing is shown before it is
/// durable. Without a database the changes are told at once. Among several processes
/// ([`cluster`]) a deciding guard holds the cluster's lock and commits on release.
struct WorldGuard<'a> {
    world: MutexGuard<'a, World>,
    writer: Option<&'a Writer>,
    /// Among several processes: `Some(begun)` for a decision, whether it began.
    cluster: Option<(&'a cluster::Cluster, Option<bool>)>,
}

impl std::ops::Deref for WorldGuard<'_> {
    type Target = World;
    fn deref(&self) -> &World {
        &self.world
    }
}

impl std::ops::DerefMut for WorldGuard<'_> {
    fn deref_mut(&mut self) -> &mut World {
        &mut self.world
    }
}

impl Drop for WorldGuard<'_> {
    fn drop(&mut self) {
        if let Some((cluster, decision)) = self.cluster {
            match decision {
                Some(begun) => cluster.finish(&mut self.world, begun),
                None => {
                    let notices = self.world.store.take_notices();
                    cluster.tell_typing(&notices);
                    for notice in notices {
                        notice.deliver();
                    }
                }
            }
            return;
        }
        let store = &mut self.world.store;
        let changes = store.take_changes();
        match self.writer {
            Some(writer) => {
                let notices = store.take_notices();
                if !changes.is_empty() || !notices.is_empty() {
                    writer.send(store.serial(), Rows::read(store, &changes), notices);
                }
            }
            None => store.deliver_notices(),
        }
    }
}

/// Where the desk keeps its store.
enum Keeping {
    Memory,
    /// A database only this process writes (SQLite).
    Written(Writer, Reader),
    /// A database several processes share (PostgreSQL): the deciding connection, the log
    /// version the store was read at, and the routing state other processes left.
    Shared(Box<cluster::Cluster>, u64, Option<SharedRouting>, Reader),
}

/// The desk. Shared as `Arc<Desk>`.
pub struct Desk {
    pub config: ServerConfig,
    world: Mutex<World>,
    /// Commits changes and then tells them, unless the store lives in memory only or is
    /// shared with other processes.
    writer: Option<Writer>,
    /// Takes each decision with the other processes sharing the database (PostgreSQL).
    cluster: Option<cluster::Cluster>,
    /// Reads what left memory (history, transcripts, returning sessions) from the
    /// database, unless the store lives in memory only.
    reader: Option<Reader>,
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
    pub fn new(config: ServerConfig) -> Arc<Desk> {
        Desk::with_store(config, Store::default(), Keeping::Memory)
    }

    /// A desk keeping its store in the SQLite database at `path`, resuming what it holds:
    /// live chats stay with their agents, and chats that were waiting for one ask again.
    pub fn open(config: ServerConfig, path: &Path) -> Result<Arc<Desk>, PersistError> {
        Desk::open_at(config, &Target::Sqlite(path.to_path_buf()))
    }

    /// A desk keeping its store in the database `target` names (SQLite or PostgreSQL),
    /// resuming what it holds. On PostgreSQL it decides with every other process there.
    pub fn open_at(config: ServerConfig, target: &Target) -> Result<Arc<Desk>, PersistError> {
        let shared = match target {
            Target::Postgres(url) => Some(url.clone()),
            Target::Sqlite(_) => None,
        };
        Desk::resume(
            config,
            Database::open(target)?,
            Reader::open(target)?,
            shared,
        )
    }

    /// Like [`Desk::open`], with writes waiting at most `busy_timeout` for another
    /// connection's lock on the database before they fail.
    pub fn open_with(
        config: ServerConfig,
        path: &Path,
        busy_timeout: std::time::Duration,
    ) -> Result<Arc<Desk>, PersistError> {
        Desk::resume(
            config,
            Database::open_sqlite(path, busy_timeout)?,
            Reader::open(&Target::Sqlite(path.to_path_buf()))?,
            None,
        )
    }

    /// `shared`: the PostgreSQL URL other processes share, to listen on.
    fn resume(
        config: ServerConfig,
        (database, store): (Database, Store),
        reader: Reader,
        shared: Option<String>,
    ) -> Result<Arc<Desk>, PersistError> {
        let name = database.name().to_string();
        let thread_failed = |thread| {
            let database = name.clone();
            move |source| PersistError::Thread {
                thread,
                database,
                source,
            }
        };
        let Some(url) = shared else {
            let writer = Writer::start(database).map_err(thread_failed("writer"))?;
            return Ok(Desk::with_store(
                config,
                store,
                Keeping::Written(writer, reader),
            ));
        };
        let version = database.log_version();
        let decider = Decider::start(database).map_err(thread_failed("decider"))?;
        let routing = decider
            .run(crate::store::cluster::routing)
            .transpose()
            .map_err(|err| PersistError::Corrupt {
                database: name.clone(),
                source: match err {
                    crate::store::sql::ReadError::Invalid(invalid) => invalid,
                    crate::store::sql::ReadError::Sql(sql) => {
                        crate::store::sql::Invalid::new("routing state", sql.to_string())
                    }
                },
            })?
            .flatten();
        let desk = Desk::with_store(
            config,
            store,
            Keeping::Shared(
                Box::new(cluster::Cluster::new(decider)),
                version,
                routing,
                reader,
            ),
        );
        if let Some(cluster) = &desk.cluster {
            cluster
                .listen(url, Arc::downgrade(&desk))
                .map_err(thread_failed("listener"))?;
        }
        Ok(desk)
    }

    fn with_store(config: ServerConfig, store: Store, keeping: Keeping) -> Arc<Desk> {
        let mut router = Router::new(
            config.routing.mode,
            config.timers(),
            config.routing_agents(),
        );
        let (writer, cluster, reader, version, routing) = match keeping {
            Keeping::Memory => (None, None, None, 0, None),
            Keeping::Written(writer, reader) => (Some(writer), None, Some(reader), 0, None),
            Keeping::Shared(cluster, version, routing, reader) => {
                (None, Some(*cluster), Some(reader), version, routing)
            }
        };
        let now = Instant::now();
        let mut waiting = Vec::new();
        let mut plans = Vec::new();
        let mut view = cluster::ClusterView::at(version);
        match routing {
            // Other processes route already: take their state as it is.
            Some(shared) => {
                view.set_routing(&shared);
                router.take_shared(shared, now, crate::store::now_ms());
            }
            None => {
                for (id, conv) in store.all() {
                    match &conv.phase {
                        Phase::Live { agent, .. } => {
                            match router.restore_live(id.clone(), agent.clone()) {
                                Ok(()) => plans.extend(agents::idle_plan(
                                    &config,
                                    agent,
                                    id,
                                    conv.visitor_activity,
                                )),
                                Err(err) => {
                                    tracing::warn!("live chat {id} asks for an agent again: {err}");
                                    waiting.push(id.clone());
                                }
                            }
                        }
                        Phase::Queued { .. } | Phase::Connecting { .. } => waiting.push(id.clone()),
                        _ => {}
                    }
                }
            }
        }
        let desk = Arc::new(Desk {
            config,
            world: Mutex::new(World {
                store,
                router,
                cluster: view,
            }),
            writer,
            cluster,
            reader,
            wake: Arc::new(Notify::new()),
        });
        if let Some(cluster) = &desk.cluster {
            cluster.bind(Arc::downgrade(&desk));
        }
        for conversation in waiting {
            let asked = desk.route(now, |world| {
                let routed = world.router.request(conversation, now);
                world.routed(routed)
            });
            if let Err(err) = asked {
                tracing::warn!("a restored request could not be routed again: {err}");
            }
        }
        desk.run(plans);
        desk.start_customers();
        timers::spawn_driver(&desk);
        timers::spawn_sweeper(&desk);
        desk
    }

    /// The world, locked to change it. Among several processes this begins a decision:
    /// the cluster's lock is taken and the world caught up first.
    fn lock(&self) -> WorldGuard<'_> {
        let mut guard = self.look();
        if let Some((cluster, decision)) = &mut guard.cluster {
            *decision = Some(cluster.begin(&mut guard.world, Instant::now()));
        }
        guard
    }

    /// The world, locked to read it, or to change what is not kept (typing).
    fn look(&self) -> WorldGuard<'_> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        WorldGuard {
            world: self.world.lock().unwrap_or_else(|e| e.into_inner()),
            writer: self.writer.as_ref(),
            cluster: self.cluster.as_ref().map(|c| (c, None)),
        }
    }

    /// The store's serial of the newest batch written: every change up to it is durable.
    fn committed(&self) -> Option<u64> {
        match (&self.writer, &self.cluster) {
            (Some(writer), _) => Some(writer.committed()),
            (None, Some(cluster)) => Some(cluster.committed()),
            (None, None) => None,
        }
    }

    /// Resolves once every change made so far is durable (and told), or with
    /// [`DeskError::Unavailable`] when the database cannot be written now. At once for a
    /// store in memory only, and among several processes, where each decision is written
    /// before its lock is released.
    pub fn durable(&self) -> impl Future<Output = Result<(), DeskError>> + Send + 'static {
        let serial = self.look().store.serial();
        // Every batch of changes already written: nothing to wait for.
        let waiting = self
            .writer
            .as_ref()
            .filter(|writer| writer.committed() < serial)
            .map(Writer::durable);
        let cluster = self
            .cluster
            .as_ref()
            .filter(|cluster| cluster.committed() < serial)
            .and_then(|_| self.cluster_handle());
        async move {
            if let Some(waiting) = waiting {
                return waiting.await.map_err(|_| DeskError::Unavailable);
            }
            if let Some(desk) = cluster
                && let Some(cluster) = &desk.cluster
                && !cluster.durable(serial).await
            {
                return Err(DeskError::Unavailable);
            }
            Ok(())
        }
    }

    /// The desk itself, for a future that outlives the borrow (among several processes).
    fn cluster_handle(&self) -> Option<Arc<Desk>> {
        self.cluster.as_ref()?.desk()
    }

    /// Blocks until every change made so far is durable and told (at once for a store in
    /// memory only). For tests on tokio's paused clock, where awaiting [`Desk::durable`]
    /// would let the clock jump ahead meanwhile.
    pub fn flush(&self) -> Result<(), DeskError> {
        let serial = self.look().store.serial();
        let written = match (&self.writer, &self.cluster) {
            (Some(writer), _) => writer.flush().is_ok(),
            (None, Some(cluster)) => cluster.flush(serial),
            (None, None) => true,
        };
        if written {
            Ok(())
        } else {
            Err(DeskError::Unavailable)
        }
    }

    /// The database's reading connection, unless the store lives in memory only.
    pub(crate) fn reader(&self) -> Option<&Reader> {
        self.reader.as_ref()
    }

    /// Reads the world under the lock, for views.
    pub fn read<T>(&self, view: impl FnOnce(&World) -> T) -> T {
        view(&self.look())
    }

    /// Reads the world and subscribes to every later change under one lock, so no change
    /// falls between the snapshot and the subscription.
    pub fn watch<T>(&self, view: impl FnOnce(&World) -> T) -> (T, broadcast::Receiver<Update>) {
        let world = self.look();
        (view(&world), world.store.watch())
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
        self.run(plans);
        Ok(value)
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
                    let previous = world.phase(&conversation).ok();
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
                            &world.router.online_agents(),
                            &conversation,
                        ));
                    }
                }
                Routed::Assigned {
                    conversation,
                    agent,
                } => {
                    let since = match world.phase(&conversation) {
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
                    let activity = match world.store.conversation_mut(&conversation) {
                        Some(conv) => {
                            conv.handled_by = Some(agent.clone());
                            conv.visitor_activity
                        }
                        None => 0,
                    };
                    world.store.set_phase(
                        &conversation,
                        Phase::Live {
                            agent: agent.clone(),
                            name,
                        },
                        now,
                    );
                    plans.extend(agents::reply_plan(&self.config, &agent, &conversation));
                    plans.extend(agents::idle_plan(
                        &self.config,
                        &agent,
                        &conversation,
                        activity,
                    ));
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
        world.store.tell(Update::Agents);
        self.wake.notify_one();
        plans
    }
}
