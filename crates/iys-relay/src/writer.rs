//! Group commit: requests hand their records to one writer task, which stores everything that
//! has arrived in one transaction and answers each request with its own receipts.
//!
//! One durable commit then serves many requests, which is what lets SQLite with full
//! synchronous commits keep up with thousands of records a second.
//!
//! Every commit has a deadline. A database that is unreachable, slow, full or read-only makes
//! the writer answer [`WriteError::Unavailable`] within it, never hang; the requests answer 503
//! and their clients keep the records to send again. While commits fail, the writer reports
//! itself unhealthy and probes the database every second until a commit succeeds again.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::store::{ConflictingDuplicate, NewConsent, Store, StoreError, StoredReceipt};

/// Records per transaction at most.
const MAX_BATCH_RECORDS: usize = 1_024;
/// How often an unhealthy writer tries the database again.
const PROBE_INTERVAL: Duration = Duration::from_secs(1);

struct Job {
    records: Vec<NewConsent>,
    reply: oneshot::Sender<Result<Vec<StoredReceipt>, WriteError>>,
}

/// Why a request's records were not acknowledged. Nothing of it was stored, except when a commit
/// lands just as its deadline passes; the client's repeat is then answered as a duplicate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteError {
    /// The database could not commit within the deadline, or refused to: unreachable, slow,
    /// full or read-only. Worth sending again later.
    Unavailable(String),
    /// A record, at this index of the request, repeats a stored id with another payload.
    ConflictingDuplicate(usize),
    /// The writer task has stopped.
    Gone,
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteError::Unavailable(why) => write!(formatter, "the database cannot commit: {why}"),
            WriteError::ConflictingDuplicate(index) => {
                write!(
                    formatter,
                    "record {index} repeats a stored id with another payload"
                )
            }
            WriteError::Gone => formatter.write_str("the store writer has stopped"),
        }
    }
}

impl std::error::Error for WriteError {}

/// The handle requests use to reach the writer.
#[derive(Debug, Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Job>,
    healthy: Arc<AtomicBool>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Job")
            .field("records", &self.records.len())
            .finish()
    }
}

impl Writer {
    /// Starts the writer task on the current runtime; each commit may take `deadline` at most.
    pub fn start(store: Store, deadline: Duration) -> Writer {
        let (jobs, receiver) = mpsc::channel(4_096);
        let healthy = Arc::new(AtomicBool::new(true));
        tokio::spawn(run(store, receiver, deadline, Arc::clone(&healthy)));
        Writer { jobs, healthy }
    }

    /// Stores `records` and returns their receipts once they are committed.
    pub async fn store(&self, records: Vec<NewConsent>) -> Result<Vec<StoredReceipt>, WriteError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { records, reply })
            .await
            .map_err(|_| WriteError::Gone)?;
        answer.await.map_err(|_| WriteError::Gone)?
    }

    /// Whether the last commit succeeded: false from a failed or late commit until the next one
    /// that succeeds.
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }
}

async fn run(
    store: Store,
    mut receiver: mpsc::Receiver<Job>,
    deadline: Duration,
    healthy: Arc<AtomicBool>,
) {
    loop {
        let first = if healthy.load(Ordering::Relaxed) {
            receiver.recv().await
        } else {
            // Probe the database while waiting, so health recovers without traffic.
            match tokio::time::timeout(PROBE_INTERVAL, receiver.recv()).await {
                Ok(job) => job,
                Err(_) => {
                    let probe = tokio::time::timeout(deadline, store.probe_commit()).await;
                    if matches!(probe, Ok(Ok(()))) {
                        tracing::info!("the database commits again");
                        healthy.store(true, Ordering::Relaxed);
                    }
                    continue;
                }
            }
        };
        let Some(first) = first else {
            return;
        };
        let mut jobs = vec![first];
        let mut count = jobs[0].records.len();
        while count < MAX_BATCH_RECORDS {
            match receiver.try_recv() {
                Ok(job) => {
                    count += job.records.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        let requests: Vec<&[NewConsent]> = jobs.iter().map(|job| job.records.as_slice()).collect();
        let outcome =
            match tokio::time::timeout(deadline, store_with_retry(&store, &requests)).await {
                Ok(Ok(outcomes)) => Ok(outcomes),
                Ok(Err(error)) => Err(WriteError::Unavailable(error.to_string())),
                Err(_) => Err(WriteError::Unavailable(format!(
                    "no commit within {} ms",
                    deadline.as_millis()
                ))),
            };
        match outcome {
            Ok(outcomes) => {
                if !healthy.swap(true, Ordering::Relaxed) {
                    tracing::info!("the database commits again");
                }
                for (job, outcome) in jobs.into_iter().zip(outcomes) {
                    let _ = job.reply.send(
                        outcome
                            .map_err(|conflict| WriteError::ConflictingDuplicate(conflict.index)),
                    );
                }
            }
            Err(error) => {
                healthy.store(false, Ordering::Relaxed);
                tracing::error!(error = %error, requests = jobs.len(), records = count, "storing a batch failed or was not confirmed in time");
                for job in jobs {
                    let _ = job.reply.send(Err(error.clone()));
                }
            }
        }
    }
}

/// Tries a batch of requests up to three times: Postgres may abort a transaction that met
/// another instance's (serialisation or deadlock), and SQLite may be busy with another process.
async fn store_with_retry(
    store: &Store,
    requests: &[&[NewConsent]],
) -> Result<Vec<Result<Vec<StoredReceipt>, ConflictingDuplicate>>, StoreError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match store.store_requests(requests).await {
            Ok(outcomes) => return Ok(outcomes),
            Err(StoreError::Database(error)) if attempt < 3 && is_transient(&error) => {
                tracing::warn!(error = %error, attempt, "retrying a batch after a transient database error");
                tokio::time::sleep(std::time::Duration::from_millis(20 * attempt)).await;
            }
            Err(error) => return Err(error),
        }
    }
}

fn is_transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(database) => matches!(
            database.code().as_deref(),
            Some("40001" | "40P01" | "5" | "6" | "517")
        ),
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) => true,
        _ => false,
    }
}
