//! Reads on demand: history, transcripts, search, and sessions coming back after they left
//! memory. A connection of its own on a thread of its own, so no read waits on the desk's
//! lock or the writer, and no async worker waits on the disk. Reads are answered in the
//! order asked, one at a time.

use super::database::{PersistError, Target, redacted};
use super::postgres::Postgres;
use super::sql::{ReadError, Sql};
use super::sqlite::{BUSY_TIMEOUT, Sqlite};
use std::sync::mpsc;
use tokio::sync::oneshot;

type Job = Box<dyn FnOnce(&mut dyn Sql) + Send>;

/// The reading connection's handle; dropping it ends the thread.
pub struct Reader {
    jobs: mpsc::Sender<Job>,
}

/// Why a read gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum ReadFailed {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("the database reader has stopped")]
    Stopped,
}

impl Reader {
    /// Opens a second connection to `target` and starts its thread.
    pub fn open(target: &Target) -> Result<Reader, PersistError> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let (opened, answer) = mpsc::channel::<Result<(), PersistError>>();
        let target = target.clone();
        let name = target.to_string();
        std::thread::Builder::new()
            .name("porchlight-reader".into())
            .spawn(move || {
                let connection: Result<Box<dyn Sql>, PersistError> = match &target {
                    Target::Sqlite(path) => {
                        Sqlite::open_reader(path, BUSY_TIMEOUT).map(|c| Box::new(c) as Box<dyn Sql>)
                    }
                    Target::Postgres(url) => Postgres::connect(url)
                        .map(|c| Box::new(c) as Box<dyn Sql>)
                        .map_err(|source| PersistError::Postgres {
                            database: redacted(url),
                            source,
                        }),
                };
                let mut connection = match connection {
                    Ok(connection) => {
                        let _ = opened.send(Ok(()));
                        connection
                    }
                    Err(err) => {
                        let _ = opened.send(Err(err));
                        return;
                    }
                };
                for job in queue {
                    job(connection.as_mut());
                }
            })
            .map_err(|source| PersistError::Thread {
                thread: "reader",
                database: name.clone(),
                source,
            })?;
        match answer.recv() {
            Ok(Ok(())) => Ok(Reader { jobs }),
            Ok(Err(err)) => Err(err),
            Err(_) => Err(PersistError::Thread {
                thread: "reader",
                database: name,
                source: std::io::Error::other("the reader thread ended at once"),
            }),
        }
    }

    /// Runs `read` on the reading connection and waits for its answer.
    pub async fn read<T: Send + 'static>(
        &self,
        read: impl FnOnce(&mut dyn Sql) -> Result<T, ReadError> + Send + 'static,
    ) -> Result<T, ReadFailed> {
        let (done, answer) = oneshot::channel();
        self.jobs
            .send(Box::new(move |sql: &mut dyn Sql| {
                let _ = done.send(read(sql));
            }))
            .map_err(|_| ReadFailed::Stopped)?;
        Ok(answer.await.map_err(|_| ReadFailed::Stopped)??)
    }

    /// Like [`Reader::read`], blocking the calling thread: for the synchronous views of the
    /// control API and tests.
    pub fn read_blocking<T: Send + 'static>(
        &self,
        read: impl FnOnce(&mut dyn Sql) -> Result<T, ReadError> + Send + 'static,
    ) -> Result<T, ReadFailed> {
        let (done, answer) = mpsc::channel();
        self.jobs
            .send(Box::new(move |sql: &mut dyn Sql| {
                let _ = done.send(read(sql));
            }))
            .map_err(|_| ReadFailed::Stopped)?;
        Ok(answer.recv().map_err(|_| ReadFailed::Stopped)??)
    }
}
