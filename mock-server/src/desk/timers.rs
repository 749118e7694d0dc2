//! The clock's side of the desk: routing deadlines (queue time, acceptance time) expire
//! on tokio's clock, so tests pause and advance time instead of sleeping.

use super::Desk;
use std::sync::Arc;
use tokio::time::Instant;

impl Desk {
    /// Applies every routing timer due at `now`.
    pub fn expire(self: &Arc<Self>, now: Instant) {
        // Expiring cannot fail: there is no error to report.
        let _ = self.route(now, |world| Ok(((), world.router.expire(now))));
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.lock().router.next_deadline()
    }
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
