//! The desk among several server processes on one PostgreSQL database: how decisions are
//! begun (the cluster's lock, then catching up on what others committed), how they are
//! committed, and how the listening connection keeps this process's sockets and consoles
//! up to date between decisions. The database side is [`crate::store::cluster`].
//!
//! Decisions are committed in groups. The first decision after a commit opens a *window*:
//! a transaction holding the cluster's lock, caught up. Every decision this process takes
//! while the window is open is taken on that state, in memory, and its rows wait; the
//! commit (on the deciding connection's thread, as soon as it is free) closes the window,
//! writing every waiting decision's rows with one log row and one notification, and only
//! then tells them and answers [`Desk::durable`]. A busy process so pays one lock, one
//! catch-up and one disk flush for many decisions. Nothing waits on the deciding thread
//! while holding the world's lock except opening a window, so the commit, which takes the
//! world's lock to close the window, never waits for a decision that waits for it.
//!
//! A window whose commit fails is undone in memory at the next one: what it touched is
//! read again whole from the database, and whatever it made that was never written goes.

use super::{Desk, World};
use crate::routing::SharedRouting;
use crate::store::cluster::{self, Decider, Entry, Fetched, Heard, Listener, Typing, Wanted};
use crate::store::sql::{ReadError, Rows, Sql};
use crate::store::{Notice, Phase, Update};
use porchlight_protocol::{ConversationId, SessionToken};
use std::collections::BTreeSet;
use std::sync::{Condvar, Mutex, OnceLock, Weak};
use tokio::sync::Notify;
use tokio::time::Instant;

/// This process's part in the cluster.
pub(super) struct Cluster {
    decider: Decider,
    listener: Mutex<Option<Listener>>,
    /// The desk, for commits run on the deciding thread.
    desk: OnceLock<Weak<Desk>>,
    /// A random name for this process, so it does not hear its own typing.
    node: String,
    /// What commits found, for the next window to take in.
    committed: Mutex<Committed>,
    /// Woken after each commit, for [`Desk::flush`] and [`Desk::durable`].
    written: Condvar,
    told: Notify,
    /// Whether a commit is writing (memory is ahead of the database meanwhile).
    in_flight: std::sync::atomic::AtomicBool,
}

/// What the commits so far came to.
#[derive(Debug, Default)]
struct Committed {
    /// The store's serial of the newest decision written.
    serial: u64,
    /// The store's serial of the newest decision that failed to be written.
    failed: u64,
    /// The newest log version written.
    version: u64,
    /// What failed commits touched: read again whole next time.
    unwritten: Entry,
}

/// What the world keeps for the cluster: how far it caught up, the open window and what
/// waits in it.
#[derive(Default)]
pub struct ClusterView {
    /// The newest log version taken in.
    pub version: u64,
    /// The routing state as last decided or read, to tell whether a decision changed it.
    routing: Option<SharedRouting>,
    /// Whether a window (a transaction holding the cluster's lock, caught up) is open.
    open: bool,
    /// Whether its commit is queued on the deciding thread.
    closing: bool,
    /// The decisions taken in the open window, waiting for its commit.
    waiting: Waiting,
    /// What a window whose commit failed touched: read again whole next time.
    unwritten: Entry,
}

/// The decisions of one window.
#[derive(Default)]
struct Waiting {
    rows: Vec<Rows>,
    notices: Vec<Notice>,
    entry: Entry,
    /// The routing state to write, when it changed.
    routing: Option<String>,
    /// The store's serial of the newest decision in it.
    serial: u64,
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
            desk: OnceLock::new(),
            node: crate::store::random_id(),
            committed: Mutex::new(Committed::default()),
            written: Condvar::new(),
            told: Notify::new(),
            in_flight: std::sync::atomic::AtomicBool::new(false),
        }
    }

    fn committed_state(&self) -> std::sync::MutexGuard<'_, Committed> {
        self.committed.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The desk, once it listens.
    pub(super) fn desk(&self) -> Option<std::sync::Arc<Desk>> {
        self.desk.get()?.upgrade()
    }

    /// The store's serial of the newest decision written.
    pub(super) fn committed(&self) -> u64 {
        self.committed_state().serial
    }

    /// Whether the decisions up to the store's serial `serial` are written (`Some(true)`),
    /// failed (`Some(false)`), or still waiting (`None`).
    fn outcome(&self, serial: u64) -> Option<bool> {
        let committed = self.committed_state();
        if committed.serial >= serial {
            Some(true)
        } else if committed.failed >= serial {
            Some(false)
        } else {
            None
        }
    }

    /// Resolves once the decisions up to the store's serial `serial` are written (`true`)
    /// or failed (`false`).
    pub(super) async fn durable(&self, serial: u64) -> bool {
        loop {
            let told = self.told.notified();
            tokio::pin!(told);
            told.as_mut().enable();
            if let Some(written) = self.outcome(serial) {
                return written;
            }
            told.await;
        }
    }

    /// Blocks until the decisions up to the store's serial `serial` are written (`true`) or
    /// failed (`false`).
    pub(super) fn flush(&self, serial: u64) -> bool {
        let mut committed = self.committed_state();
        loop {
            if committed.serial >= serial {
                return true;
            }
            if committed.failed >= serial {
                return false;
            }
            committed = self
                .written
                .wait(committed)
                .unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Binds this part to its desk, before the desk takes any decision: a window's commit
    /// runs on the desk.
    pub(super) fn bind(&self, desk: Weak<Desk>) {
        let _ = self.desk.set(desk);
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

    /// Opens a window unless one is open: takes the cluster's lock and catches `world` up.
    /// `false` when the database cannot be reached (the decision then goes unwritten and
    /// is undone).
    pub(super) fn begin(&self, world: &mut World, now: Instant) -> bool {
        if world.cluster.open {
            return true;
        }
        if self
            .step("begin a decision", |db| {
                cluster::begin(db).map_err(ReadError::from)
            })
            .is_none()
        {
            return false;
        }
        // The commits queued before the window began have all run: take in what they found.
        {
            let mut committed = self.committed_state();
            world.cluster.version = world.cluster.version.max(committed.version);
            merge(
                &mut world.cluster.unwritten,
                std::mem::take(&mut committed.unwritten),
            );
        }
        let from = world.cluster.version;
        let Some((entries, pruned)) =
            self.step("catch up", move |db| cluster::entries_after(db, from))
        else {
            return false;
        };
        let wanted = wanted(world, &entries, pruned);
        let Some(fetched) = self.step("catch up", move |db| cluster::fetch(db, wanted)) else {
            return false;
        };
        absorb(world, fetched, now);
        if let Some(last) = entries.last() {
            world.cluster.version = world.cluster.version.max(last.version);
        }
        world.cluster.open = true;
        // What others did is told at once, whatever this window comes to.
        world.store.deliver_notices();
        true
    }

    /// One step of opening a window, on the deciding connection: a step that fails ends
    /// the transaction and is logged; `None` then.
    fn step<T: Send + 'static>(
        &self,
        what: &'static str,
        work: impl FnOnce(&mut dyn Sql) -> Result<T, ReadError> + Send + 'static,
    ) -> Option<T> {
        let done = self.decider.run(move |db| {
            let done = work(db);
            if done.is_err() {
                cluster::rollback(db);
            }
            done
        })?;
        done.map_err(|err| tracing::error!("cannot {what} on the database: {err}"))
            .ok()
    }

    /// Decisions up to the store's serial `serial` will never be written: what they touched
    /// is read again at the next window, and whoever waits is told.
    fn mark_failed(&self, serial: u64, entry: Entry) {
        let mut committed = self.committed_state();
        committed.failed = committed.failed.max(serial);
        merge(&mut committed.unwritten, entry);
        committed.unwritten.routing = true;
    }

    /// Ends a decision: its rows and notices wait in the open window, whose commit is
    /// queued unless it is already; a decision taken without a window (the database could
    /// not be reached) is marked failed and undone. `begun` is whether [`Cluster::begin`]
    /// succeeded.
    pub(super) fn finish(&self, world: &mut World, begun: bool) {
        let store = &mut world.store;
        let changes = store.take_changes();
        let serial = store.serial();
        let routing = world.router.shared(Instant::now(), crate::store::now_ms());
        let routing_changed = world
            .cluster
            .routing
            .as_ref()
            .is_none_or(|last| !last.same_shape(&routing));
        let entry = Entry {
            version: 0,
            conversations: changes
                .conversations
                .iter()
                .chain(changes.events.iter().map(|(id, _)| id))
                .chain(changes.purged.iter().flat_map(|(_, ids)| ids))
                .cloned()
                .collect(),
            sessions: changes
                .sessions
                .iter()
                .chain(changes.purged.iter().map(|(token, _)| token))
                .cloned()
                .collect(),
            routing: routing_changed,
        };
        let rows = Rows::read(store, &changes);
        let notices = store.take_notices();
        let changed = !rows.is_empty() || routing_changed;
        for typing in typing_of(&self.node, &notices) {
            self.decider
                .send(move |db| cluster::tell_typing(db, &typing));
        }
        if !begun {
            if changed {
                self.mark_failed(serial, entry);
                self.written.notify_all();
                self.told.notify_waiters();
            } else {
                deliver(notices);
            }
            return;
        }
        let view = &mut world.cluster;
        if routing_changed {
            view.waiting.routing = Some(serde_json::to_string(&routing).unwrap_or_default());
            view.routing = Some(routing);
        }
        if changed {
            view.waiting.rows.push(rows);
            merge(&mut view.waiting.entry, entry);
            view.waiting.serial = serial;
        }
        view.waiting.notices.extend(notices);
        if view.open && !view.closing {
            view.closing = true;
            // The desk lives on until its waiting decisions are written.
            let desk = self.desk();
            self.decider.send(move |db| match desk {
                Some(desk) => desk.commit_window(db),
                None => cluster::rollback(db),
            });
        }
    }

    /// Tells other processes about typing, outside any decision.
    pub(super) fn tell_typing(&self, notices: &[Notice]) {
        for typing in typing_of(&self.node, notices) {
            self.decider
                .send(move |db| cluster::tell_typing(db, &typing));
        }
    }
}

/// Adds `more`'s conversations, sessions and routing flag to `into`, each once.
fn merge(into: &mut Entry, more: Entry) {
    for id in more.conversations {
        if !into.conversations.contains(&id) {
            into.conversations.push(id);
        }
    }
    for token in more.sessions {
        if !into.sessions.contains(&token) {
            into.sessions.push(token);
        }
    }
    into.routing |= more.routing;
}

impl Desk {
    /// Closes the open window (on the deciding thread, `db` being its connection): writes
    /// every waiting decision, commits, then tells them and answers whoever waits.
    fn commit_window(&self, db: &mut dyn Sql) {
        let Some(cluster) = &self.cluster else {
            return;
        };
        let waiting = {
            let mut world = self.world.lock().unwrap_or_else(|e| e.into_inner());
            cluster
                .in_flight
                .store(true, std::sync::atomic::Ordering::Release);
            world.cluster.open = false;
            world.cluster.closing = false;
            std::mem::take(&mut world.cluster.waiting)
        };
        let Waiting {
            rows,
            notices,
            entry,
            routing,
            serial,
        } = waiting;
        let written = cluster::write(db, &Rows::merged(&rows), &entry, routing.as_deref());
        let mut committed = cluster.committed_state();
        match written {
            Ok(version) => {
                if let Some(version) = version {
                    committed.version = committed.version.max(version);
                }
                committed.serial = committed.serial.max(serial);
                drop(committed);
                deliver(notices);
            }
            Err(err) => {
                drop(committed);
                tracing::error!("cannot write decisions (undone): {err}");
                cluster.mark_failed(serial, entry);
            }
        }
        cluster
            .in_flight
            .store(false, std::sync::atomic::Ordering::Release);
        cluster.written.notify_all();
        cluster.told.notify_waiters();
    }
}

fn deliver(notices: Vec<Notice>) {
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
    /// While this process's own decisions wait to be written (a window open or its commit
    /// under way) memory is ahead of the database, so catching up waits until they are.
    fn heard(&self, heard: Heard, db: &mut dyn Sql, node: &str) {
        let Some(cluster) = &self.cluster else {
            return;
        };
        let now = Instant::now();
        let mut world = loop {
            let mut world = self.world.lock().unwrap_or_else(|e| e.into_inner());
            {
                let committed = cluster.committed_state();
                world.cluster.version = world.cluster.version.max(committed.version);
            }
            let busy = world.cluster.open
                || world.cluster.closing
                || cluster.in_flight.load(std::sync::atomic::Ordering::Acquire);
            if matches!(heard, Heard::Typing(_)) || !busy {
                break world;
            }
            drop(world);
            // On the listening thread only: its next look comes after the commit.
            std::thread::sleep(std::time::Duration::from_millis(1));
        };
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
