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
//! typed); `pull` reads and applies İYS's changes; this module decides and sends.

mod client;
mod pull;
mod reconcile;

pub use self::reconcile::Reconciliation;

use std::sync::Arc;
use std::time::Duration;

use consent_core::calendar::registration_deadline;
use consent_core::iys::HeldConsent;
use consent_core::iys::errors::{Disposition, disposition};
use consent_core::iys::state::{Decision, decide};
use consent_core::iys::wire::{
    BatchAccepted, BatchItemResult, BatchItemStatus, ConsentDetail, IysConsent, Movement,
    StatusQuery,
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

/// The state a record ends in when İYS refuses it for good with `code`.
fn settled_state(code: &str, disposition: Disposition) -> IysState {
    match disposition {
        Disposition::StateConflict if Some(code) == Decision::Supersede.iys_code() => {
            IysState::Superseded
        }
        Disposition::StateConflict => IysState::Skipped,
        Disposition::Late => IysState::MissedDeadline,
        _ => IysState::Refused,
    }
}

/// A claimed record ready to go to İYS.
#[derive(Debug)]
struct Prepared {
    /// The body to send.
    body: IysConsent,
    /// The date it goes with.
    consent_date: IysDateTime,
    /// That date, when it is not the record's own.
    sent_date: Option<IysDateTime>,
    /// Whether it goes after its registration window.
    late: bool,
    /// İYS's answer to the status query made before deciding, if one was made.
    evidence: Option<StatusEvidence>,
}

impl Prepared {
    /// The settlement for İYS's answer to this send.
    fn settlement(&self, settlement: Settlement) -> Settlement {
        settlement
            .sent(self.sent_date, self.late)
            .with_evidence(self.evidence.as_ref())
    }
}

/// What İYS answered when asked what it holds for a key.
#[derive(Debug)]
enum Asked {
    /// It holds a consent or a refusal (`None`: something the relay does not read, such as a
    /// consent waiting for the person's confirmation).
    Holds(Option<HeldConsent>, StatusEvidence),
    /// It holds nothing for the key.
    Nothing(StatusEvidence),
    /// No clear answer: ask again at this moment.
    Later(Timestamp),
}

fn backoff_millis(attempts: u32) -> i64 {
    let step = 1_000_i64.saturating_mul(1 << attempts.min(9));
    step.min(300_000)
}

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
                match reconciler.reconcile_due().await {
                    Ok(Some(report)) if !report.agrees() => tracing::warn!(
                        day = %report.day,
                        unlisted = report.unlisted.len(),
                        "İYS's daily change file does not list records the relay holds as accepted; see `iys-relay reconcile --date`"
                    ),
                    Ok(_) => {}
                    Err(error) => {
                        tracing::warn!(%error, "reconciling with İYS's daily change file failed; trying again later");
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

    /// What to do with a claimed record before anything is sent: `Some` when it should go to
    /// İYS, `None` when it was settled or deferred here.
    ///
    /// A consent past İYS's window is held for the operator. A refusal past it is still
    /// registered, dated at the moment it is sent, because a refusal may never be dropped; its
    /// own date stays in the record and the ledger. A refusal the relay's own knowledge would
    /// settle without sending (İYS holds nothing for the key, or a refusal already) is settled
    /// only after İYS itself has been asked: the person's consent may have reached İYS through
    /// another system.
    async fn prepare(
        &self,
        record: &Claimed,
        now: Timestamp,
    ) -> Result<Option<Prepared>, StoreError> {
        let store = &self.store;
        let holder = Holder::Claimant(&self.owner);
        let late = record.late || now > registration_deadline(record.consent_date.to_instant());
        if late && record.status == ConsentStatus::Granted {
            tracing::warn!(record = %record.id, "a consent missed İYS's three-business-day window; held for the operator");
            store
                .finish_forwarding(
                    &record.id,
                    holder,
                    &Settlement::with_code(IysState::MissedDeadline, Some("H467")).sent(None, true),
                    now,
                )
                .await?;
            return Ok(None);
        }
        let date = if late {
            tracing::warn!(record = %record.id, "a refusal missed İYS's three-business-day window; sending it dated now");
            IysDateTime::from_instant(now)
        } else {
            record.consent_date
        };
        let held = store
            .held(
                &record.recipient_hash,
                record.channel,
                record.recipient_type,
            )
            .await?;
        let mut decision = decide(
            held.as_ref().map(|(held, _)| *held),
            record.status,
            date,
            now,
        );
        let mut evidence = None;
        if matches!(
            decision,
            Decision::SkipNothingToRefuse | Decision::SkipAlreadyRefused
        ) {
            let asked = self
                .status_queries
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if asked >= STATUS_QUERIES_PER_PASS {
                // The next pass asks; this one must finish within its claims.
                store
                    .defer_forwarding(&record.id, &self.owner, now.add_millis(5_000), false)
                    .await?;
                return Ok(None);
            }
            match self.ask_status(record, now).await? {
                Asked::Later(at) => {
                    store
                        .defer_forwarding(&record.id, &self.owner, at, true)
                        .await?;
                    return Ok(None);
                }
                Asked::Nothing(answer) => {
                    decision = Decision::SkipNothingToRefuse;
                    evidence = Some(answer);
                }
                Asked::Holds(Some(held_there), answer)
                    if held_there.status == ConsentStatus::Granted
                        && held_there.consent_date.to_instant().unix_millis()
                            > record.consent_date.to_instant().unix_millis()
                                + LATER_DECISION_MILLIS =>
                {
                    // The person consented again after this refusal (through another of the
                    // shop's systems): the later decision stands, as İYS's date rule says.
                    decision = Decision::Supersede;
                    evidence = Some(answer);
                }
                Asked::Holds(Some(held_there), answer) => {
                    store
                        .set_held(
                            &record.recipient_hash,
                            record.channel,
                            record.recipient_type,
                            held_there.status,
                            held_there.consent_date,
                            Timestamp::from_unix_millis(0),
                        )
                        .await?;
                    decision = decide(Some(held_there), record.status, date, now);
                    evidence = Some(answer);
                }
                Asked::Holds(None, answer) => {
                    decision = Decision::Send { consent_date: date };
                    evidence = Some(answer);
                }
            }
        }
        let settle_here = |state: IysState| {
            Settlement::with_code(state, decision.iys_code())
                .sent(None, late)
                .with_evidence(evidence.as_ref())
        };
        let consent_date = match decision {
            Decision::Send { consent_date } => consent_date,
            Decision::WaitUntil(moment) => {
                store
                    .defer_forwarding(&record.id, &self.owner, moment, false)
                    .await?;
                return Ok(None);
            }
            Decision::SkipAlreadyRefused | Decision::SkipNothingToRefuse => {
                tracing::info!(record = %record.id, code = decision.iys_code(), "İYS, asked, holds nothing this refusal would change");
                store
                    .finish_forwarding(&record.id, holder, &settle_here(IysState::Skipped), now)
                    .await?;
                return Ok(None);
            }
            Decision::Supersede => {
                store
                    .finish_forwarding(&record.id, holder, &settle_here(IysState::Superseded), now)
                    .await?;
                return Ok(None);
            }
            _ => {
                store
                    .defer_forwarding(&record.id, &self.owner, now.add_millis(1_000), false)
                    .await?;
                return Ok(None);
            }
        };
        // Never two movements for one address and channel in the same second.
        if let Some((_, last_sent)) = held
            && last_sent / 1_000 == now.unix_seconds()
        {
            let next_second = Timestamp::from_unix_seconds(now.unix_seconds() + 1);
            store
                .defer_forwarding(&record.id, &self.owner, next_second, false)
                .await?;
            return Ok(None);
        }
        let movement = Movement {
            recipient: &record.recipient,
            channel: record.channel,
            recipient_type: record.recipient_type,
            status: record.status,
            source: Source::from(record.source),
            consent_date,
            retailer_code: None,
            retailer_access: &[],
        };
        match IysConsent::from_movement(&movement) {
            Ok(body) => Ok(Some(Prepared {
                body,
                consent_date,
                sent_date: (consent_date != record.consent_date).then_some(consent_date),
                late,
                evidence,
            })),
            Err(error) => {
                store
                    .finish_forwarding(
                        &record.id,
                        holder,
                        &Settlement::with_code(IysState::Refused, Some(error.iys_code()))
                            .sent(None, late),
                        now,
                    )
                    .await?;
                Ok(None)
            }
        }
    }

    /// Asks İYS what it holds for a record's key (its single status query). İYS documents no
    /// answer for a key it has never seen; an empty 2xx and a 404 that is not about the account
    /// both mean it holds nothing. Any other answer is no answer, and the record waits.
    async fn ask_status(&self, record: &Claimed, now: Timestamp) -> Result<Asked, StoreError> {
        let path = self.iys.paths().status();
        let query = StatusQuery::new(&record.recipient, record.channel, record.recipient_type);
        let evidence =
            |http_status: u16, code: Option<String>, held: Option<HeldEvidence>| StatusEvidence {
                asked_at: now.to_rfc3339(),
                http_status,
                code,
                held,
            };
        let later = now.add_millis(backoff_millis(record.attempts));
        Ok(
            match self
                .iys
                .call::<_, ConsentDetail>(reqwest::Method::POST, &path, Some(&query))
                .await
            {
                Ok(None) => Asked::Nothing(evidence(200, None, None)),
                Ok(Some(detail)) => {
                    let status = detail.status.consent_status();
                    let date = detail
                        .consent_date
                        .as_deref()
                        .or(detail.creation_date.as_deref())
                        .and_then(|date| IysDateTime::parse(date).ok());
                    let held = status.map(|status| HeldEvidence {
                        status,
                        consent_date: detail.consent_date.clone(),
                        creation_date: detail.creation_date.clone(),
                        transaction_id: detail.transaction_id.clone(),
                    });
                    let known = status.zip(date).map(|(status, consent_date)| HeldConsent {
                        status,
                        consent_date,
                    });
                    Asked::Holds(known, evidence(200, None, held))
                }
                // İYS's error body with a 404, not one that says the İYS number or the brand
                // is unknown (H001, H018): İYS holds nothing for the key.
                Err(CallError::Iys { status: 404, code })
                    if disposition(&code, Some(404)) != Disposition::Account
                        && !matches!(code.as_str(), "H001" | "H018") =>
                {
                    Asked::Nothing(evidence(
                        404,
                        Some(code).filter(|code| !code.is_empty()),
                        None,
                    ))
                }
                Err(CallError::Iys { status, code }) => {
                    let disposition = disposition(&code, Some(status));
                    tracing::warn!(record = %record.id, code = %code, status, ?disposition, "İYS did not answer the status query");
                    match disposition {
                        Disposition::InvalidRecipient => Asked::Nothing(evidence(
                            status,
                            Some(code).filter(|code| !code.is_empty()),
                            None,
                        )),
                        Disposition::Account => Asked::Later(self.pause(&code, now)),
                        retryable => Asked::Later(
                            now.add_millis(
                                (retryable.min_wait_seconds() as i64 * 1_000)
                                    .max(backoff_millis(record.attempts)),
                            ),
                        ),
                    }
                }
                Err(CallError::Network) => Asked::Later(later),
                Err(CallError::Halted(until)) => Asked::Later(Timestamp::from_unix_seconds(until)),
                Err(CallError::Account(code)) => Asked::Later(self.pause(&code, now)),
            },
        )
    }

    /// Puts claimed records back to be tried at `at`.
    async fn release(&self, ids: &[String], at: Timestamp) -> Result<(), StoreError> {
        for id in ids {
            self.store
                .defer_forwarding(id, &self.owner, at, false)
                .await?;
        }
        Ok(())
    }

    /// Sends up to 1000 due records, one per address and channel, in one asynchronous batch.
    async fn send_batch(&self) -> Result<usize, StoreError> {
        let now = (self.clock)();
        let claimed = self
            .store
            .claim_for_forwarding(&self.owner, now, LEASE_MILLIS, 1_000)
            .await?;
        let count = claimed.len();
        let mut members = Vec::new();
        for record in claimed {
            if let Some(prepared) = self.prepare(&record, now).await? {
                members.push((record, prepared));
            }
        }
        if members.is_empty() {
            return Ok(count);
        }
        let ids: Vec<String> = members
            .iter()
            .map(|(record, _)| record.id.clone())
            .collect();
        let bodies: Vec<&IysConsent> = members.iter().map(|(_, prepared)| &prepared.body).collect();
        let path = self.iys.paths().batch();
        match self
            .iys
            .call::<_, BatchAccepted>(reqwest::Method::POST, &path, Some(&bodies))
            .await
        {
            Ok(answer) => {
                let Some(BatchAccepted { request_id }) = answer else {
                    self.release(&ids, now.add_millis(30_000)).await?;
                    return Ok(count);
                };
                let batched: Vec<BatchedRecord> = members
                    .iter()
                    .enumerate()
                    .map(|(index, (record, prepared))| BatchedRecord {
                        id: record.id.clone(),
                        index,
                        sent_date: prepared.sent_date,
                        late: prepared.late,
                        evidence: prepared.evidence.clone(),
                    })
                    .collect();
                let poll_at = now.add_millis(self.settings.batch_poll_delay.as_millis() as i64);
                self.store
                    .mark_batched(&batched, &self.owner, &request_id, now, poll_at)
                    .await?;
                tracing::info!(records = batched.len(), "sent a batch to İYS");
            }
            Err(CallError::Halted(until)) => {
                self.release(&ids, Timestamp::from_unix_seconds(until))
                    .await?
            }
            Err(CallError::Account(code)) => {
                let until = self.pause(&code, now);
                self.release(&ids, until).await?;
            }
            Err(CallError::Iys { status, code })
                if !disposition(&code, Some(status)).is_retryable() =>
            {
                // İYS refused the batch as a whole (one bad item fails it): send each record
                // on its own, so one bad item neither holds the others back nor is resent forever.
                tracing::warn!(code = %code, status, "İYS refused a batch; sending its records one by one");
                for (record, prepared) in members {
                    self.send_one(&record, prepared).await?;
                }
            }
            Err(_) => self.release(&ids, now.add_millis(30_000)).await?,
        }
        Ok(count)
    }

    /// Settles one record of a batch from its result.
    async fn settle_member(
        &self,
        member: &BatchMember,
        result: &BatchItemResult,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let store = &self.store;
        let settlement = |settlement: Settlement| {
            settlement
                .sent(member.sent_date, member.late)
                .with_evidence(member.evidence.as_ref())
        };
        match result.status {
            BatchItemStatus::Success => {
                store
                    .set_held(
                        &member.recipient_hash,
                        member.channel,
                        member.recipient_type,
                        member.status,
                        member.date_sent(),
                        now,
                    )
                    .await?;
                store
                    .finish_forwarding(
                        &member.id,
                        Holder::Batch,
                        &settlement(Settlement::accepted(
                            result.transaction_id.clone(),
                            result.creation_date.clone(),
                        )),
                        now,
                    )
                    .await?;
                Ok(true)
            }
            BatchItemStatus::Failure => {
                let code = result
                    .error
                    .as_ref()
                    .map(|error| error.code.clone())
                    .unwrap_or_default();
                match disposition(&code, None) {
                    retryable if retryable.is_retryable() || retryable == Disposition::Account => {
                        store.unbatch(&member.id, now.add_millis(5_000)).await?;
                    }
                    final_refusal => {
                        store
                            .finish_forwarding(
                                &member.id,
                                Holder::Batch,
                                &settlement(Settlement::with_code(
                                    settled_state(&code, final_refusal),
                                    Some(&code),
                                )),
                                now,
                            )
                            .await?;
                    }
                }
                Ok(true)
            }
            // Still waiting at İYS.
            BatchItemStatus::Enqueue | BatchItemStatus::Unknown => Ok(false),
        }
    }

    /// Reads the results of every batch that is due and settles its records.
    async fn poll_batches(&self) -> Result<usize, StoreError> {
        let now = (self.clock)();
        let mut settled = 0;
        for batch_id in self.store.due_batches(now).await? {
            let path = self.iys.paths().batch_results(&batch_id);
            let members = self.store.batch_members(&batch_id).await?;
            let results = match self
                .iys
                .call::<(), Vec<BatchItemResult>>(reqwest::Method::GET, &path, None)
                .await
            {
                Ok(Some(results)) if !results.is_empty() => results,
                _ => {
                    // Not processed yet, or no answer: ask again later, and after two hours
                    // without results send the records again one by one.
                    if members
                        .iter()
                        .all(|member| now.unix_millis() - member.sent_at_ms > BATCH_GIVE_UP_MILLIS)
                    {
                        tracing::warn!(batch = %batch_id, "no results for a batch after two hours; sending its records one by one");
                        for member in &members {
                            self.store.unbatch(&member.id, now).await?;
                        }
                    } else {
                        self.store
                            .repoll_batch(&batch_id, now.add_millis(30_000))
                            .await?;
                    }
                    continue;
                }
            };
            for member in &members {
                let result = results
                    .iter()
                    .find(|result| result.index == Some(member.index as u64));
                if let Some(result) = result
                    && self.settle_member(member, result, now).await?
                {
                    settled += 1;
                }
            }
            self.store
                .repoll_batch(&batch_id, now.add_millis(30_000))
                .await?;
        }
        Ok(settled)
    }

    /// Prepares one claimed record and, when it should go, sends it.
    async fn settle(&self, record: Claimed) -> Result<(), StoreError> {
        let now = (self.clock)();
        match self.prepare(&record, now).await? {
            Some(prepared) => self.send_one(&record, prepared).await,
            None => Ok(()),
        }
    }

    /// Sends one prepared record through single add V2 and records İYS's answer.
    async fn send_one(&self, record: &Claimed, prepared: Prepared) -> Result<(), StoreError> {
        let now = (self.clock)();
        let store = &self.store;
        let holder = Holder::Claimant(&self.owner);
        let path = self.iys.paths().add();
        match self.iys.call_add(&path, &prepared.body).await {
            Ok(answer) => {
                tracing::info!(record = %record.id, late = prepared.late, "İYS accepted a record");
                store
                    .set_held(
                        &record.recipient_hash,
                        record.channel,
                        record.recipient_type,
                        record.status,
                        prepared.consent_date,
                        now,
                    )
                    .await?;
                store
                    .finish_forwarding(
                        &record.id,
                        holder,
                        &prepared.settlement(Settlement::accepted(
                            Some(answer.transaction_id),
                            Some(answer.creation_date),
                        )),
                        (self.clock)(),
                    )
                    .await?;
                Ok(())
            }
            Err(CallError::Network) => {
                tracing::warn!(record = %record.id, "no clear answer from İYS; trying again later");
                store
                    .defer_forwarding(
                        &record.id,
                        &self.owner,
                        now.add_millis(backoff_millis(record.attempts)),
                        true,
                    )
                    .await
            }
            Err(CallError::Halted(until)) => {
                store
                    .defer_forwarding(
                        &record.id,
                        &self.owner,
                        Timestamp::from_unix_seconds(until),
                        false,
                    )
                    .await
            }
            Err(CallError::Account(code)) => {
                let until = self.pause(&code, now);
                store
                    .defer_forwarding(&record.id, &self.owner, until, false)
                    .await
            }
            Err(CallError::Iys { status, code }) => {
                let disposition = disposition(&code, Some(status));
                tracing::info!(record = %record.id, code = %code, status, ?disposition, "İYS refused a request");
                match disposition {
                    Disposition::Account => {
                        let until = self.pause(&code, now);
                        store
                            .defer_forwarding(&record.id, &self.owner, until, false)
                            .await?;
                    }
                    retryable if retryable.is_retryable() => {
                        let wait = (retryable.min_wait_seconds() as i64 * 1_000)
                            .max(backoff_millis(record.attempts));
                        store
                            .defer_forwarding(&record.id, &self.owner, now.add_millis(wait), true)
                            .await?;
                    }
                    Disposition::Late if record.status == ConsentStatus::Rejected => {
                        // İYS counts the window otherwise than the relay does: the refusal goes
                        // again, dated at the moment of sending.
                        tracing::warn!(record = %record.id, "İYS holds a refusal late; sending it again dated now");
                        store
                            .defer_as_late(&record.id, &self.owner, now.add_millis(1_000))
                            .await?;
                    }
                    final_refusal => {
                        store
                            .finish_forwarding(
                                &record.id,
                                holder,
                                &prepared.settlement(Settlement::with_code(
                                    settled_state(&code, final_refusal),
                                    Some(&code),
                                )),
                                now,
                            )
                            .await?;
                    }
                }
                Ok(())
            }
        }
    }

    /// Rests forwarding after İYS refused the account; returns until when.
    fn pause(&self, code: &str, now: Timestamp) -> Timestamp {
        let until = now.add_millis(ACCOUNT_PAUSE_MILLIS);
        self.paused_until
            .store(until.unix_millis(), std::sync::atomic::Ordering::Relaxed);
        tracing::error!(
            code,
            "İYS refused the account (credentials, rights or subscription); forwarding rests for five minutes and no record is given up"
        );
        until
    }
}
