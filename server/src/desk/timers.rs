//! The clock's side of the desk: routing deadlines (queue time, acceptance time) expire
//! on tokio's clock, so tests pause and advance time instead of sleeping; and idle
//! anonymous sessions are forgotten, and settled ones let go from memory (their history
//! stays in the database), swept every [`SWEEP_EVERY`] (and once at start).

use super::Desk;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// How often idle anonymous sessions are looked for.
pub const SWEEP_EVERY: Duration = Duration::from_secs(60);

impl Desk {
    /// Applies every routing timer due at `now`.
    pub fn expire(self: &Arc<Self>, now: Instant) {
        // Expiring cannot fail: there is no error to report.
        let _ = self.route(now, |world| Ok(((), world.router.expire(now))));
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.look().router.next_deadline()
    }

    /// Forgets every session whose visitor never wrote, asked for a person or left a
    /// message, that no tab holds open, and where nothing happened for
    /// `limits.idle_session_minutes` of the mock's clock; returns how many.
    pub fn forget_idle_sessions(&self) -> usize {
        let mut world = self.lock();
        let idle_ms =
            u64::try_from(self.config.limits.idle_session().as_millis()).unwrap_or(u64::MAX);
        let cutoff = world.store.now_ms().saturating_sub(idle_ms);
        let idle = world.store.idle_anonymous_sessions(cutoff);
        world.store.purge(&idle);
        idle.len()
    }

    /// Lets go from memory every session that no tab holds, that has nothing waiting for or
    /// talking with an agent, whose changes are all written and that was idle for
    /// `limits.idle_session_minutes` on tokio's clock, and every social channel's
    /// conversation that is over and likewise idle; the database keeps them all, and they
    /// come back when asked for. Nothing leaves a store kept in memory only. Returns how
    /// many sessions and channel conversations left.
    pub fn let_go_settled(&self, now: Instant) -> (usize, usize) {
        // Read first: a batch the writer commits meanwhile only makes more settled.
        let Some(committed) = self.committed() else {
            return (0, 0);
        };
        let idle_before = now
            .checked_sub(self.config.limits.idle_session())
            .unwrap_or(now);
        let mut world = self.look();
        let sessions = world.store.settled_sessions(committed, idle_before);
        world.store.evict(&sessions);
        let channel = world
            .store
            .settled_channel_conversations(committed, idle_before);
        world.store.evict_conversations(&channel);
        (sessions.len(), channel.len())
    }
}

/// Sweeps idle anonymous sessions at start and every [`SWEEP_EVERY`] until the desk is
/// dropped.
pub(super) fn spawn_sweeper(desk: &Arc<Desk>) {
    let weak = Arc::downgrade(desk);
    tokio::spawn(async move {
        loop {
            let Some(desk) = weak.upgrade() else { return };
            let forgotten = desk.forget_idle_sessions();
            let (sessions, channel) = desk.let_go_settled(Instant::now());
            drop(desk);
            if forgotten > 0 {
                tracing::info!("forgot {forgotten} idle anonymous session(s)");
            }
            if sessions + channel > 0 {
                tracing::debug!(
                    "{sessions} settled session(s) and {channel} channel conversation(s) left memory"
                );
            }
            tokio::time::sleep(SWEEP_EVERY).await;
        }
    });
}

/// Sleeps until the router's next deadline, or until an operation changes the deadlines,
/// and expires what is due. Ends when the desk is dropped.
pub(super) fn spawn_driver(desk: &Arc<Desk>) {
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
