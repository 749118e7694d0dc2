//! The writer: one thread that commits each desk operation's rows to SQLite in the order
//! the operations happened, and only then delivers their notices — so no widget, console or
//! ack sees a change before it is durable, and no async worker waits on the disk.
//!
//! Batches queued while a commit runs are committed together in the next transaction. A
//! failed commit keeps its rows and notices (and everything queued after them) and tries
//! again with the next batch, or after [`RETRY_AFTER`] when none comes, so the server
//! recovers when the disk does; whoever waits for durability meanwhile is told it failed.

use crate::store::Notice;
use crate::store::database::Database;
use crate::store::sql::Rows;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::oneshot;

/// How soon a failed commit is tried again when nothing new arrives.
pub const RETRY_AFTER: Duration = Duration::from_millis(500);

/// The most queued jobs one transaction takes in.
const MAX_JOBS_PER_COMMIT: usize = 1_000;

/// The storage could not make the changes durable (yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the database could not be written; the change is kept and written when it can be")]
pub struct StorageFailed;

enum Job {
    /// An operation's rows (of the store's batch `serial`) and what to tell once they
    /// are written.
    Batch(u64, Rows, Vec<Notice>),
    /// Answers once everything queued before it is durable (`true`) or failed (`false`).
    Barrier(oneshot::Sender<bool>),
    /// The same, for a caller that blocks its thread.
    BlockingBarrier(std::sync::mpsc::Sender<bool>),
}

/// The writer thread's handle. Dropping it writes what is queued and waits for the thread.
pub struct Writer {
    jobs: Option<mpsc::Sender<Job>>,
    /// The serial of the newest batch written.
    committed: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    /// Starts the thread that owns `database`.
    pub fn start(database: Database) -> std::io::Result<Writer> {
        let (jobs, queue) = mpsc::channel();
        let committed = Arc::new(AtomicU64::new(0));
        let written = Arc::clone(&committed);
        let thread = std::thread::Builder::new()
            .name("porchlight-writer".into())
            .spawn(move || run(database, queue, &written))?;
        Ok(Writer {
            jobs: Some(jobs),
            committed,
            thread: Some(thread),
        })
    }

    /// Queues an operation's rows (the store's batch `serial`) and notices.
    pub fn send(&self, serial: u64, rows: Rows, notices: Vec<Notice>) {
        self.queue(Job::Batch(serial, rows, notices));
    }

    /// The serial of the newest batch written: every change up to it is durable.
    pub fn committed(&self) -> u64 {
        self.committed.load(Ordering::Acquire)
    }

    /// Resolves once everything queued so far is durable, or with [`StorageFailed`].
    pub fn durable(&self) -> impl Future<Output = Result<(), StorageFailed>> + Send + 'static {
        let (done, answer) = oneshot::channel();
        self.queue(Job::Barrier(done));
        async move {
            match answer.await {
                Ok(true) => Ok(()),
                _ => Err(StorageFailed),
            }
        }
    }

    /// Blocks the calling thread until everything queued so far is durable, or with
    /// [`StorageFailed`]. For tests on tokio's paused clock, where awaiting would let the
    /// clock jump ahead meanwhile.
    pub fn flush(&self) -> Result<(), StorageFailed> {
        let (done, answer) = std::sync::mpsc::channel();
        self.queue(Job::BlockingBarrier(done));
        match answer.recv() {
            Ok(true) => Ok(()),
            _ => Err(StorageFailed),
        }
    }

    fn queue(&self, job: Job) {
        if let Some(jobs) = &self.jobs
            && jobs.send(job).is_err()
        {
            tracing::error!("the database writer has stopped; a change was not written");
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Closing the queue lets the thread write what is left and end.
        self.jobs = None;
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the database writer panicked");
        }
    }
}

/// Whoever waits for a barrier.
enum Answer {
    Async(oneshot::Sender<bool>),
    Blocking(std::sync::mpsc::Sender<bool>),
}

impl Answer {
    fn send(self, written: bool) {
        match self {
            Answer::Async(done) => {
                let _ = done.send(written);
            }
            Answer::Blocking(done) => {
                let _ = done.send(written);
            }
        }
    }
}

/// The thread: commits batches as they come, holding on to what failed.
fn run(mut database: Database, queue: mpsc::Receiver<Job>, committed: &AtomicU64) {
    let mut held_rows: Vec<Rows> = Vec::new();
    let mut held_serial = 0;
    let mut held_notices: Vec<Notice> = Vec::new();
    let mut open = true;
    while open || !held_rows.is_empty() {
        let first = if held_rows.is_empty() {
            match queue.recv() {
                Ok(job) => Some(job),
                Err(mpsc::RecvError) => return,
            }
        } else if open {
            match queue.recv_timeout(RETRY_AFTER) {
                Ok(job) => Some(job),
                Err(mpsc::RecvTimeoutError::Timeout) => None,
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    open = false;
                    None
                }
            }
        } else {
            None
        };
        let mut barriers = Vec::new();
        let queued = first
            .into_iter()
            .chain(queue.try_iter().take(MAX_JOBS_PER_COMMIT));
        for job in queued {
            match job {
                Job::Batch(serial, rows, notices) => {
                    if !rows.is_empty() {
                        held_rows.push(rows);
                    }
                    held_serial = held_serial.max(serial);
                    held_notices.extend(notices);
                }
                Job::Barrier(done) => barriers.push(Answer::Async(done)),
                Job::BlockingBarrier(done) => barriers.push(Answer::Blocking(done)),
            }
        }
        let written = match database.commit(&held_rows) {
            Ok(()) => true,
            Err(err) => {
                tracing::error!("cannot write to the database (kept, tried again): {err}");
                false
            }
        };
        if written {
            held_rows.clear();
            for notice in held_notices.drain(..) {
                notice.deliver();
            }
            committed.fetch_max(held_serial, Ordering::AcqRel);
        }
        for done in barriers {
            done.send(written);
        }
        if !open && !written {
            // Shutting down with a database that still refuses: one last try was made.
            tracing::error!("{} unwritten change(s) are lost", held_rows.len());
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Store, Update};
    use porchlight_protocol::{Author, AuthorKind, ConversationEvent, Seq};

    fn temp_db(name: &str) -> std::path::PathBuf {
        std::env::temp_dir()
            .join(format!(
                "porchlight-writer-{name}-{}-{}",
                std::process::id(),
                crate::store::random_id()
            ))
            .join("db.sqlite3")
    }

    fn said(text: &str) -> ConversationEvent {
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

    /// Hands what `store` changed since the last call to `writer`, as the desk does.
    fn hand_over(writer: &Writer, store: &mut Store) {
        let changes = store.take_changes();
        writer.send(
            store.serial(),
            Rows::read(store, &changes),
            store.take_notices(),
        );
    }

    /// Another connection holding the write lock: every commit meanwhile fails.
    fn hold_write_lock(path: &std::path::Path) -> rusqlite::Connection {
        let blocker = rusqlite::Connection::open(path).expect("open");
        blocker.execute_batch("BEGIN IMMEDIATE").expect("lock");
        blocker
    }

    #[tokio::test]
    async fn listeners_hear_a_change_only_once_it_is_committed_and_a_failed_one_later() {
        let path = temp_db("fail");
        let (database, mut store) =
            Database::open_sqlite(&path, Duration::from_millis(20)).expect("open");
        let writer = Writer::start(database).expect("writer");
        let (token, conv) = store.create_session();
        let mut tab = store.subscribe(&token).expect("session");

        store.append(&conv, said("one"));
        hand_over(&writer, &mut store);
        assert_eq!(writer.durable().await, Ok(()));
        assert!(matches!(tab.try_recv(), Ok(Update::Event { event, .. }) if event.seq == Seq(1)));

        let blocker = hold_write_lock(&path);
        store.append(&conv, said("two"));
        hand_over(&writer, &mut store);
        assert_eq!(writer.durable().await, Err(StorageFailed));
        assert!(tab.try_recv().is_err(), "not told before it is durable");

        blocker.execute_batch("COMMIT").expect("unlock");
        // Nothing new arrives: the writer tries again by itself.
        let heard = tokio::time::timeout(Duration::from_secs(5), tab.recv()).await;
        assert!(matches!(heard, Ok(Ok(Update::Event { event, .. })) if event.seq == Seq(2)));
        assert_eq!(writer.durable().await, Ok(()));
        drop(writer);

        let (mut back, _) = Database::open_sqlite(&path, Duration::from_secs(5)).expect("reopen");
        let stored = crate::store::sql::conversation(back.sql(), &conv)
            .expect("read")
            .expect("stored");
        assert_eq!(stored.events.len(), 2);
        let _ = std::fs::remove_dir_all(path.parent().expect("folder"));
    }
}
