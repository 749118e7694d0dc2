//! The desk: every operation on conversations, from visitors ([`visitor`]), from agents
//! ([`agent`]), from social channels' customers ([`channel`]) and from the clock
//! ([`timers`]). It owns the store and the router under one
//! lock, so each operation is atomic, and turns routing outcomes into conversation events
//! and statuses. Simulated agents' plans are carried out by [`runner`] once the lock is
//! released.
//!
//! Every change is also told on a desk-wide stream ([`Desk::watch`]) that agent consoles
//! follow; a console that falls behind takes a fresh snapshot.
//!
//! Timers run on tokio's clock: a driver task sleeps until the router's next deadline or
//! until an operation wakes it, so tests pause and advance time instead of sleeping.

pub mod agent;
pub mod channel;
mod runner;
mod timers;
pub mod visitor;

use crate::agents::{self, Plan};
use crate::config::MockConfig;
use crate::persist::{Database, PersistError};
use crate::routing::{RouteError, Routed, Router};
use crate::store::{Conversation, Phase, Store, Update};
use porchlight_protocol::channels::PlatformError;
use porchlight_protocol::limits::MAX_MESSAGE_CHARS;
use porchlight_protocol::text::TextError;
use porchlight_protocol::{
    AgentId, AuthorKind, ChannelId, ChoiceId, ConversationEvent, ConversationId, FieldError,
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
}

fn not_now(message: impl Into<String>) -> DeskError {
    DeskError::NotAllowed(message.into())
}

/// The store and the router, as one operation sees them.
pub struct World {
    pub store: Store,
    pub router: Router,
    /// Where the store is kept, unless it lives in memory only.
    database: Option<Database>,
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
        let mut plans = Vec::new();
        for (id, conv) in store.all() {
            match &conv.phase {
                Phase::Live { agent, .. } => match router.restore_live(id.clone(), agent.clone()) {
                    Ok(()) => {
                        plans.extend(agents::idle_plan(&config, agent, id, conv.visitor_activity))
                    }
                    Err(err) => {
                        tracing::warn!("live chat {id} asks for an agent again: {err}");
                        waiting.push(id.clone());
                    }
                },
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
        desk
    }

    fn lock(&self) -> WorldGuard<'_> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        WorldGuard(self.world.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Reads the world under the lock, for views.
    pub fn read<T>(&self, view: impl FnOnce(&World) -> T) -> T {
        view(&self.lock())
    }

    /// Reads the world and subscribes to every later change under one lock, so no change
    /// falls between the snapshot and the subscription.
    pub fn watch<T>(&self, view: impl FnOnce(&World) -> T) -> (T, broadcast::Receiver<Update>) {
        let world = self.lock();
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
