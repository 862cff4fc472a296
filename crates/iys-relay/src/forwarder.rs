//! The forwarder: sends stored records to İYS, and pulls back what citizens changed in İYS.
//!
//! - Records go through İYS's single add V2, whose identical repeat returns the same
//!   transaction, so a retry after a lost answer registers nothing twice.
//! - Before sending, `consent_core::iys::state::decide` settles what İYS would refuse: an
//!   out-of-date consent (H178) is superseded and never sent. A refusal is never settled on the
//!   relay's own knowledge: when the relay knows of nothing to refuse (H175) or of a refusal
//!   already (H174), it asks İYS's single status query first, sends the refusal when İYS holds
//!   a consent (it may have come through another system), and otherwise settles it with İYS's
//!   answer kept as evidence.
//! - A consent that missed İYS's three-business-day window is marked `missed_deadline` and held
//!   for the operator. A refusal that missed it is still sent, dated at the moment of sending,
//!   and marked late; its own date stays in the record and the ledger.
//! - Only İYS's "busy" answers are retried (429, 5xx, H123, H192, an expired token); every
//!   validation failure is final, because İYS blacklists an address whose success rate falls
//!   under 70 %.
//! - Requests are spaced by a per-second budget shared through the database by every relay
//!   instance, and records of one address and channel go one at a time, in consent order, never
//!   two in the same second.
//! - Tokens are cached and refreshed before they expire; after H084 no token request is made
//!   for an hour, since an early retry restarts İYS's counter.
//!
//! `client` is the İYS client (tokens, calls, the shared request budget, İYS's answers read
//! typed); `send` decides and sends each record; `pull` reads and applies İYS's changes;
//! `reconcile` compares a day with İYS's daily change file; this module runs the loops.

mod client;
mod pull;
pub mod push;
mod reconcile;
mod send;

pub use self::reconcile::{Reconciliation, due_day};

use std::sync::Arc;
use std::time::Duration;

use consent_core::calendar::registration_deadline;
use consent_core::iys::HeldConsent;
use consent_core::iys::errors::{Disposition, disposition};
use consent_core::iys::state::{Decision, decide};
use consent_core::iys::wire::{
    BatchAccepted, BatchItem, BatchItemResult, BatchItemStatus, ConsentDetail, IysConsent,
    Movement, StatusQuery,
};
use consent_core::time::{IysDateTime, Timestamp};
use consent_core::{ConsentStatus, Source};

use self::client::{CallError, IysClient};
use crate::clock::Clock;
use crate::store::Store;
use crate::store::StoreError;
use crate::store::forwarding::{
    BatchMember, BatchedRecord, Claimed, HeldEvidence, Holder, IysState, Settlement, StatusEvidence,
};

/// How to reach İYS, checked.
#[derive(Clone)]
pub struct IysAccount {
    /// Such as `https://api.iys.org.tr`.
    pub base_url: String,
    /// The API user.
    pub username: String,
    /// Its password.
    pub password: String,
    /// The provider's İYS number.
    pub iys_code: u64,
    /// The brand's code.
    pub brand_code: u64,
}

impl std::fmt::Debug for IysAccount {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("IysAccount")
            .field("base_url", &self.base_url)
            .field("username", &self.username)
            .field("iys_code", &self.iys_code)
            .field("brand_code", &self.brand_code)
            .finish_non_exhaustive()
    }
}

/// The forwarder's tuning.
#[derive(Debug, Clone)]
pub struct ForwarderSettings {
    /// Requests per second, shared by every instance on the database (İYS allows 10).
    pub requests_per_second: u32,
    /// How often the pull of İYS's changes runs.
    pub pull_interval: Duration,
    /// How long an idle forwarder waits before looking again.
    pub idle_wait: Duration,
    /// How long one request to İYS may take.
    pub request_timeout: Duration,
    /// With more records than this due, they go in İYS's asynchronous batches of up to 1000.
    pub batch_threshold: i64,
    /// How long after sending a batch its results are first read (İYS: at least 300 s).
    pub batch_poll_delay: Duration,
    /// The relay's stable name among those on the database; claims are held under it, so a
    /// restarted relay of the same name takes its claims back at once.
    pub instance: Option<String>,
    /// How often `run` looks whether the due day was reconciled with İYS's daily change file.
    pub reconcile_interval: Duration,
}

impl Default for ForwarderSettings {
    fn default() -> Self {
        ForwarderSettings {
            requests_per_second: 8,
            pull_interval: Duration::from_secs(60),
            idle_wait: Duration::from_millis(500),
            request_timeout: Duration::from_secs(15),
            batch_threshold: 100,
            batch_poll_delay: Duration::from_secs(300),
            instance: None,
            reconcile_interval: Duration::from_secs(15 * 60),
        }
    }
}

/// Sends records to İYS and pulls its changes.
#[derive(Clone)]
pub struct Forwarder {
    store: Store,
    settings: ForwarderSettings,
    iys: IysClient,
    /// Until when forwarding rests because İYS refused the account (credentials, rights,
    /// subscription): records wait instead of being refused.
    paused_until: Arc<std::sync::atomic::AtomicI64>,
    owner: String,
    clock: Clock,
    /// Set when the relay stops: the loop finishes the record it is settling, then ends.
    stopping: Arc<std::sync::atomic::AtomicBool>,
    /// Status queries made in the current forwarding pass.
    status_queries: Arc<std::sync::atomic::AtomicU32>,
}

impl std::fmt::Debug for Forwarder {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Forwarder")
            .field("account", self.iys.account())
            .field("settings", &self.settings)
            .field("owner", &self.owner)
            .finish_non_exhaustive()
    }
}

/// How long a claim holds: longer than a pass over `BATCH` records takes even when every
/// request runs into its timeout.
const LEASE_MILLIS: i64 = 600_000;
const BATCH: i64 = 16;
/// How long forwarding rests after İYS refused the account.
const ACCOUNT_PAUSE_MILLIS: i64 = 300_000;
/// A consent İYS holds dated more than this after a refusal is a later decision of the person,
/// not a clock difference, and the refusal does not overrule it.
const LATER_DECISION_MILLIS: i64 = 600_000;
/// Status queries one forwarding pass may make at most: İYS allows 1000 an hour, and a pass must
/// finish well within its claims.
const STATUS_QUERIES_PER_PASS: u32 = 20;
/// How long a batch may go unanswered before its records are sent again one by one.
const BATCH_GIVE_UP_MILLIS: i64 = 2 * 3_600_000;

impl Forwarder {
    /// A forwarder for `account`, on `store`.
    pub fn new(
        store: Store,
        account: IysAccount,
        settings: ForwarderSettings,
        clock: Clock,
    ) -> Result<Forwarder, String> {
        let iys = IysClient::new(
            account,
            settings.request_timeout,
            settings.requests_per_second,
            store.clone(),
            clock.clone(),
        )?;
        let run = format!("{}-{:x}", std::process::id(), clock().unix_millis());
        let owner = match &settings.instance {
            Some(instance) => format!("{instance}#{run}"),
            None => run,
        };
        Ok(Forwarder {
            store,
            settings,
            iys,
            paused_until: Arc::default(),
            owner,
            clock,
            stopping: Arc::default(),
            status_queries: Arc::default(),
        })
    }

    /// Lets go of every record this run of the forwarder claimed, for whoever looks next.
    /// Returns how many records it let go.
    pub async fn release_claims(&self) -> Result<u64, String> {
        self.store
            .release_claims(&self.owner)
            .await
            .map_err(|error| error.to_string())
    }

    /// Asks [`Forwarder::run`] to end once the record it is settling is settled.
    pub fn stop(&self) {
        self.stopping
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Runs the forwarding and pull loops until [`Forwarder::stop`] or the task is dropped.
    /// Under a stable instance name it first takes back what earlier runs of the same name had
    /// claimed: a name belongs to one running relay at a time.
    pub async fn run(self) {
        if let Some(instance) = &self.settings.instance {
            match self
                .store
                .release_earlier_claims(&format!("{instance}#"), &self.owner)
                .await
            {
                Ok(0) => {}
                Ok(count) => {
                    tracing::info!(count, "took back the records an earlier run had claimed");
                }
                Err(error) => tracing::warn!(%error, "could not take back earlier claims"),
            }
        }
        let puller = self.clone();
        let pulling = tokio::spawn(async move {
            loop {
                if let Err(error) = puller.pull_once().await {
                    tracing::warn!(%error, "pulling İYS's changes failed; trying again later");
                }
                tokio::time::sleep(puller.settings.pull_interval).await;
            }
        });
        let reconciler = self.clone();
        let reconciling = tokio::spawn(async move {
            loop {
                for outcome in reconciler.reconcile_due().await {
                    match outcome {
                        Ok(report) if !report.agrees() => tracing::warn!(
                            day = %report.day,
                            unlisted = report.unlisted.len(),
                            unreadable = report.unreadable.len(),
                            deferred = report.deferred,
                            "the relay and İYS's daily change file do not agree yet; see `iys-relay reconcile --date`"
                        ),
                        Ok(_) => {}
                        Err(error) => {
                            tracing::warn!(%error, "reconciling with İYS's daily change file failed; trying again later");
                        }
                    }
                }
                tokio::time::sleep(reconciler.settings.reconcile_interval).await;
            }
        });
        while !self.stopping.load(std::sync::atomic::Ordering::Relaxed) {
            match self.forward_once().await {
                Ok(0) => tokio::time::sleep(self.settings.idle_wait).await,
                Ok(_) => {}
                Err(error) => {
                    tracing::error!(%error, "forwarding failed; trying again shortly");
                    tokio::time::sleep(self.settings.idle_wait * 4).await;
                }
            }
        }
        pulling.abort();
        reconciling.abort();
    }

    /// One pass: reads the results of batches that are due, then claims what is due and
    /// settles each record, in a batch when many are waiting. Returns how many it handled.
    pub async fn forward_once(&self) -> Result<usize, String> {
        self.status_queries
            .store(0, std::sync::atomic::Ordering::Relaxed);
        let polled = self
            .poll_batches()
            .await
            .map_err(|error| error.to_string())?;
        let now = (self.clock)();
        let due = self
            .store
            .due_count(now)
            .await
            .map_err(|error| error.to_string())?;
        if due > self.settings.batch_threshold {
            return Ok(polled + self.send_batch().await.map_err(|error| error.to_string())?);
        }
        let claimed = self
            .store
            .claim_for_forwarding(&self.owner, now, LEASE_MILLIS, BATCH)
            .await
            .map_err(|error| error.to_string())?;
        let count = claimed.len();
        for record in claimed {
            if self.stopping.load(std::sync::atomic::Ordering::Relaxed) {
                // The rest are let go when the relay stops.
                break;
            }
            self.settle(record)
                .await
                .map_err(|error| error.to_string())?;
        }
        Ok(polled + count)
    }
}
