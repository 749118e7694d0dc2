//! The desk among several server processes on one PostgreSQL database: how a decision is
//! begun (the cluster's lock, then catching up on what others committed), how it ends (its
//! rows, log row and routing state written and committed, then told here), and how the
//! listening connection keeps this process's sockets and consoles up to date between
//! decisions. The database side is [`crate::store::cluster`].
//!
//! A decision whose commit fails is undone in memory at the next one: what it touched is
//! read again whole from the database, and whatever it made that was never written goes.

use super::{Desk, World};
use crate::routing::SharedRouting;
use crate::store::cluster::{self, Decider, Entry, Fetched, Heard, Listener, Typing, Wanted};
use crate::store::sql::{ReadError, Rows, Sql};
use crate::store::{Phase, Update};
use porchlight_protocol::{ConversationId, SessionToken};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, Weak};
use tokio::time::Instant;

/// This process's part in the cluster.
pub(super) struct Cluster {
    decider: Decider,
    listener: Mutex<Option<Listener>>,
    /// A random name for this process, so it does not hear its own typing.
    node: String,
    /// Whether the last decision was written.
    healthy: AtomicBool,
    /// The store's serial of the newest batch written.
    committed: AtomicU64,
}

/// What the world keeps for the cluster: how far it caught up, and what to read again.
#[derive(Debug, Default)]
pub struct ClusterView {
    /// The newest log version taken in.
    pub version: u64,
    /// The routing state as last written or read, to tell whether a decision changed it.
    routing: Option<SharedRouting>,
    /// What a decision that failed to commit touched: read again whole next time.
    unwritten: Entry,
}

impl ClusterView {
    pub fn at(version: u64) -> ClusterView {
        ClusterView {
            version,
            ..ClusterView::default()
        }
    }

    /// The routing state as read at start.
    pub fn set_routing(&mut self, shared: &SharedRouting) {
        self.routing = Some(shared.clone());
    }
}

impl Cluster {
    pub(super) fn new(decider: Decider) -> Cluster {
        Cluster {
            decider,
            listener: Mutex::new(None),
            node: crate::store::random_id(),
            healthy: AtomicBool::new(true),
            committed: AtomicU64::new(0),
        }
    }

    /// Whether the last decision was written.
    pub(super) fn healthy(&self) -> bool {
        self.healthy.load(Ordering::Acquire)
    }

    /// The store's serial of the newest batch written.
    pub(super) fn committed(&self) -> u64 {
        self.committed.load(Ordering::Acquire)
    }

    /// Starts listening on `url` for what other processes commit, on behalf of `desk`.
    pub(super) fn listen(&self, url: String, desk: Weak<Desk>) -> std::io::Result<()> {
        let node = self.node.clone();
        // The runtime's clock (paused in tests) is the desk's clock, on this thread too.
        let runtime = tokio::runtime::Handle::try_current().ok();
        let listener = Listener::start(url, move |heard, db| {
            let _clock = runtime.as_ref().map(tokio::runtime::Handle::enter);
            let Some(desk) = desk.upgrade() else {
                return false;
            };
            desk.heard(heard, db, &node);
            true
        })?;
        *self.listener.lock().unwrap_or_else(|e| e.into_inner()) = Some(listener);
        Ok(())
    }

    /// Begins a decision: takes the cluster's lock and catches `world` up. `false` when
    /// the database cannot be reached (the decision then goes unwritten and is undone).
    pub(super) fn begin(&self, world: &mut World, now: Instant) -> bool {
        let version = world.cluster.version;
        let begun = self.decider.run(move |db| {
            cluster::begin(db).map_err(ReadError::from)?;
            let read = cluster::entries_after(db, version);
            if read.is_err() {
                cluster::rollback(db);
            }
            read
        });
        let (entries, pruned) = match begun {
            Some(Ok(read)) => read,
            Some(Err(err)) => {
                tracing::error!("cannot begin a decision on the database: {err}");
                return false;
            }
            None => return false,
        };
        let wanted = wanted(world, &entries, pruned);
        let fetched = match self.decider.run(move |db| {
            let read = cluster::fetch(db, wanted);
            if read.is_err() {
                cluster::rollback(db);
            }
            read
        }) {
            Some(Ok(fetched)) => fetched,
            Some(Err(err)) => {
                tracing::error!("cannot catch up on the database: {err}");
                return false;
            }
            None => return false,
        };
        absorb(world, fetched, now);
        if let Some(last) = entries.last() {
            world.cluster.version = world.cluster.version.max(last.version);
        }
        // What others did is told at once, whatever this decision comes to.
        world.store.deliver_notices();
        true
    }

    /// Ends a decision: writes what it changed and commits, then tells it here; or, when
    /// the commit fails, keeps nothing of it told and marks it to be undone. `begun` is
    /// whether [`Cluster::begin`] succeeded.
    pub(super) fn finish(&self, world: &mut World, begun: bool) {
        let store = &mut world.store;
        let changes = store.take_changes();
        let routing = world.router.shared(Instant::now(), crate::store::now_ms());
        let routing_changed = world
            .cluster
            .routing
            .as_ref()
            .is_none_or(|last| !last.same_shape(&routing));
        let mut entry = Entry {
            version: 0,
            conversations: changes
                .conversations
                .iter()
                .chain(changes.events.iter().map(|(id, _)| id))
                .chain(changes.purged.iter().flat_map(|(_, ids)| ids))
                .cloned()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
            sessions: changes
                .sessions
                .iter()
                .chain(changes.purged.iter().map(|(token, _)| token))
                .cloned()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
            routing: routing_changed,
        };
        let rows = Rows::read(store, &changes);
        let notices = store.take_notices();
        let typing = typing_of(&self.node, &notices);
        let nothing = rows.is_empty() && !routing_changed;
        if !begun {
            if !nothing {
                self.failed(world, entry);
            } else {
                deliver(notices);
            }
            return;
        }
        let serial = world.store.serial();
        let written = if nothing {
            self.decider.run(|db| {
                cluster::rollback(db);
                Ok(None)
            })
        } else {
            let shared =
                routing_changed.then(|| serde_json::to_string(&routing).unwrap_or_default());
            let logged = entry.clone();
            self.decider
                .run(move |db| cluster::write(db, &rows, &logged, shared.as_deref()))
        };
        match written {
            Some(Ok(version)) => {
                if let Some(version) = version {
                    world.cluster.version = world.cluster.version.max(version);
                }
                if routing_changed {
                    world.cluster.routing = Some(routing);
                }
                self.committed.fetch_max(serial, Ordering::AcqRel);
                self.healthy.store(true, Ordering::Release);
                deliver(notices);
            }
            Some(Err(err)) => {
                tracing::error!("cannot write a decision (undone): {err}");
                entry.routing = true;
                self.failed(world, entry);
            }
            None => {
                entry.routing = true;
                self.failed(world, entry);
            }
        }
        for typing in typing {
            self.decider
                .send(move |db| cluster::tell_typing(db, &typing));
        }
    }

    /// Runs `work` on the deciding connection (within the open decision, if any).
    pub(super) fn read<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut dyn Sql) -> T + Send + 'static,
    ) -> Option<T> {
        self.decider.run(work)
    }

    /// Tells other processes about typing, outside any decision.
    pub(super) fn tell_typing(&self, notices: &[crate::store::Notice]) {
        for typing in typing_of(&self.node, notices) {
            self.decider
                .send(move |db| cluster::tell_typing(db, &typing));
        }
    }

    fn failed(&self, world: &mut World, entry: Entry) {
        self.healthy.store(false, Ordering::Release);
        let unwritten = &mut world.cluster.unwritten;
        unwritten.conversations.extend(entry.conversations);
        unwritten.sessions.extend(entry.sessions);
        unwritten.routing = true;
    }
}

fn deliver(notices: Vec<crate::store::Notice>) {
    for notice in notices {
        notice.deliver();
    }
}

/// Typing among `notices`, as told to other processes.
fn typing_of(node: &str, notices: &[crate::store::Notice]) -> Vec<Typing> {
    notices
        .iter()
        .filter_map(|notice| match notice.update() {
            Update::Typing {
                conversation,
                name,
                typing,
            } => Some(Typing {
                node: node.to_string(),
                conversation: conversation.clone(),
                agent: Some(name.clone()),
                typing: *typing,
            }),
            Update::VisitorTyping {
                conversation,
                typing,
            } => Some(Typing {
                node: node.to_string(),
                conversation: conversation.clone(),
                agent: None,
                typing: *typing,
            }),
            _ => None,
        })
        .collect()
}

/// What to read to catch up on `entries` (and on a decision that failed).
fn wanted(world: &World, entries: &[Entry], pruned: bool) -> Wanted {
    let unwritten = &world.cluster.unwritten;
    let forced: BTreeSet<&ConversationId> = unwritten.conversations.iter().collect();
    let ids: BTreeSet<&ConversationId> = entries
        .iter()
        .flat_map(|e| &e.conversations)
        .chain(&unwritten.conversations)
        .collect();
    let conversations = ids
        .into_iter()
        .map(|id| {
            let held = if forced.contains(id) {
                None
            } else {
                world.store.held_seq(id)
            };
            (id.clone(), held)
        })
        .collect();
    let sessions: BTreeSet<&SessionToken> = entries
        .iter()
        .flat_map(|e| &e.sessions)
        .chain(&unwritten.sessions)
        .filter(|t| world.store.holds_session(t))
        .collect();
    Wanted {
        conversations,
        sessions: sessions.into_iter().cloned().collect(),
        routing: unwritten.routing || pruned || entries.iter().any(|e| e.routing),
        every_live: pruned,
    }
}

/// Takes in what was read: routing first, so a waiting conversation's place in the queue
/// is known when its status is told.
fn absorb(world: &mut World, fetched: Fetched, now: Instant) {
    let unwritten = std::mem::take(&mut world.cluster.unwritten);
    if let Some(shared) = fetched.routing {
        world.cluster.routing = Some(shared.clone());
        world
            .router
            .take_shared(shared, now, crate::store::now_ms());
    }
    let mut gone = Vec::new();
    for (id, found) in fetched.conversations {
        let held = world.store.held_seq(&id).is_some();
        match found {
            None => {
                if held && unwritten.conversations.contains(&id) {
                    gone.push(id);
                }
            }
            Some((mut conv, whole)) => {
                let waits = matches!(
                    conv.phase,
                    Phase::Queued { .. } | Phase::Connecting { .. } | Phase::Live { .. }
                );
                if !held && !waits {
                    continue;
                }
                conv.phase = placed(&world.router, &id, conv.phase);
                world.store.absorb(&id, conv, whole, now);
            }
        }
    }
    let mut lost = Vec::new();
    for (token, found) in fetched.sessions {
        match found {
            Some(stored) => world.store.absorb_session(stored),
            None if unwritten.sessions.contains(&token) => lost.push(token),
            None => {}
        }
    }
    world.store.drop_unwritten(&lost, &gone);
    world.store.tell(Update::Agents);
}

/// A stored phase with what routing knows of it: a waiting request's queue position and
/// since when it waits.
fn placed(router: &crate::routing::Router, id: &ConversationId, phase: Phase) -> Phase {
    match (phase, router.waiting(id)) {
        (Phase::Queued { .. }, Some((Some(position), since))) => Phase::Queued { position, since },
        (Phase::Connecting { .. }, Some((_, since))) => Phase::Connecting { since },
        (phase, _) => phase,
    }
}

impl Desk {
    /// What the listening connection heard: catches up (through `db`, outside any
    /// decision) and tells this process's sockets and consoles; typing is told as is.
    fn heard(&self, heard: Heard, db: &mut dyn Sql, node: &str) {
        let now = Instant::now();
        let mut world = self.world.lock().unwrap_or_else(|e| e.into_inner());
        match heard {
            Heard::Typing(typing) => {
                if typing.node != node {
                    match &typing.agent {
                        Some(name) => world
                            .store
                            .typing(&typing.conversation, name, typing.typing),
                        None => world
                            .store
                            .set_visitor_typing(&typing.conversation, typing.typing),
                    }
                }
            }
            Heard::Changed(version) if version <= world.cluster.version => {}
            Heard::Changed(_) | Heard::Listening => {
                let caught = cluster::entries_after(db, world.cluster.version).and_then(
                    |(entries, pruned)| {
                        let wanted = wanted(&world, &entries, pruned);
                        Ok((entries, cluster::fetch(db, wanted)?))
                    },
                );
                match caught {
                    Ok((entries, fetched)) => {
                        absorb(&mut world, fetched, now);
                        if let Some(last) = entries.last() {
                            world.cluster.version = world.cluster.version.max(last.version);
                        }
                    }
                    Err(err) => tracing::warn!("cannot catch up on the database: {err}"),
                }
            }
        }
        world.store.deliver_notices();
        drop(world);
        // Deadlines may have changed.
        self.wake.notify_one();
    }
}
