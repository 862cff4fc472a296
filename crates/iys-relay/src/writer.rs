//! Group commit: requests hand their records to one writer task, which stores everything that
//! has arrived in one transaction and answers each request with its own receipts.
//!
//! One durable commit then serves many requests, which is what lets SQLite with full
//! synchronous commits keep up with thousands of records a second.

use tokio::sync::{mpsc, oneshot};

use crate::store::{NewConsent, Store, StoreError, StoredReceipt};

/// Records per transaction at most.
const MAX_BATCH_RECORDS: usize = 1_024;

struct Job {
    records: Vec<NewConsent>,
    reply: oneshot::Sender<Result<Vec<StoredReceipt>, String>>,
}

/// The handle requests use to reach the writer.
#[derive(Debug, Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Job")
            .field("records", &self.records.len())
            .finish()
    }
}

/// The writer task ended, so nothing can be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriterGone;

impl std::fmt::Display for WriterGone {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("the store writer has stopped")
    }
}

impl Writer {
    /// Starts the writer task on the current runtime.
    pub fn start(store: Store) -> Writer {
        let (jobs, receiver) = mpsc::channel(4_096);
        tokio::spawn(run(store, receiver));
        Writer { jobs }
    }

    /// Stores `records` and returns their receipts once they are committed.
    pub async fn store(&self, records: Vec<NewConsent>) -> Result<Vec<StoredReceipt>, String> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { records, reply })
            .await
            .map_err(|_| WriterGone.to_string())?;
        answer.await.map_err(|_| WriterGone.to_string())?
    }
}

async fn run(store: Store, mut receiver: mpsc::Receiver<Job>) {
    while let Some(first) = receiver.recv().await {
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
        let batch: Vec<NewConsent> = jobs
            .iter()
            .flat_map(|job| job.records.iter().cloned())
            .collect();
        match store_with_retry(&store, &batch).await {
            Ok(receipts) => {
                let mut receipts = receipts.into_iter();
                for job in jobs {
                    let mine: Vec<StoredReceipt> =
                        receipts.by_ref().take(job.records.len()).collect();
                    let _ = job.reply.send(Ok(mine));
                }
            }
            Err(error) => {
                tracing::error!(error = %error, records = batch.len(), "storing a batch failed");
                for job in jobs {
                    let _ = job.reply.send(Err(error.to_string()));
                }
            }
        }
    }
}

/// Tries a batch up to three times: Postgres may abort a transaction that met another
/// instance's (serialisation or deadlock), and SQLite may be busy with another process.
async fn store_with_retry(
    store: &Store,
    batch: &[NewConsent],
) -> Result<Vec<StoredReceipt>, StoreError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match store.store_batch(batch).await {
            Ok(receipts) => return Ok(receipts),
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
