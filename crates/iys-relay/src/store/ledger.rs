//! The ledger: every stored record and every later change, in order, each entry chained to the
//! one before it with a key that is not in the database, and `verify`, which rebuilds each
//! record from the ledger and compares it with the rows.
//!
//! - An entry of version 2 is HMAC-SHA-256, under a ledger key, of its position, kind, record,
//!   time, the previous entry's hash and its facts. Someone who can write to the database but
//!   does not hold the key can change, remove, reorder or add no entry without `verify`
//!   noticing, and cannot append a purge that hides a deleted record.
//! - An entry names its key by id, so after a rotation old entries verify with the previous
//!   keys. Entries written before keyed chaining (version 1, plain SHA-256) are kept and
//!   checked as they were; the first keyed entry after them covers their last hash, which seals
//!   them.
//! - Facts carry, without personal data, everything that decides a person's state or the proof:
//!   a record's channel, recipient hash, recipient type, status, consent time and İYS date and a
//!   keyed digest of its sealed content; each İYS outcome; each purge with the refusal that
//!   ended the record and the retention it kept; each movement pulled from İYS.
//! - Cutting the newest entries off, with their records, leaves a shorter chain that is still
//!   whole. Signed checkpoints kept outside the database catch it: `iys-relay checkpoint`
//!   prints one and `serve` logs one at a fixed interval; `verify --checkpoint FILE` fails when
//!   the ledger no longer extends it.

use std::collections::{HashMap, HashSet};

use consent_core::record::{hex, text_sha256};
use consent_core::time::{IysDateTime, Timestamp};
use consent_core::{Channel, ConsentStatus, RecipientType, Source};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::{Backend, ConsentDateOrigin, PlainRecord, Store, StoreError, Transaction, runs};
use crate::config::MIN_RETENTION_DAYS;
use crate::crypto::{LedgerKey, LedgerKeys};
use crate::store::forwarding::{IysState, Settlement, StatusEvidence};
use crate::store::notices::NoticeFacts;
use crate::store::texts::{TextFacts, entry_id};

/// The hash before the first ledger entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Ledger entry kinds.
pub mod kind {
    /// A record was stored.
    pub const STORED: &str = "stored";
    /// A record was removed after its retention period.
    pub const PURGED: &str = "purged";
    /// A record's İYS outcome was settled.
    pub const IYS: &str = "iys";
    /// A settled record was put back to be sent again.
    pub const REQUEUED: &str = "requeued";
    /// A movement made in İYS itself was pulled.
    pub const PULLED: &str = "pulled";
    /// The entries before this one, chained without a key, were sealed by the first keyed entry.
    pub const SEALED: &str = "sealed";
    /// A same-day notice was delivered, or its day ended first.
    pub const NOTICE: &str = "notice";
    /// A consent text was registered.
    pub const TEXT: &str = "text";
}

/// The hash of a version 1 entry: plain SHA-256, as the ledger was chained before it was keyed.
pub fn unkeyed_hash(
    seq: i64,
    kind: &str,
    record_id: &str,
    payload_hash: &str,
    at_ms: i64,
    prev_hash: &str,
) -> String {
    let text = format!(
        "iys-relay ledger v1\n{seq}\n{kind}\n{record_id}\n{payload_hash}\n{at_ms}\n{prev_hash}"
    );
    hex(&Sha256::digest(text.as_bytes()))
}

/// The hash of a version 2 entry: HMAC-SHA-256 under `key` of everything the entry says.
pub fn keyed_hash(
    key: &LedgerKey,
    seq: i64,
    kind: &str,
    record_id: &str,
    at_ms: i64,
    prev_hash: &str,
    facts: &str,
) -> String {
    let text = format!("iys-relay ledger v2\n{seq}\n{kind}\n{record_id}\n{at_ms}\n{prev_hash}\n");
    key.mac_hex(&[text.as_bytes(), facts.as_bytes()])
}

/// What a stored-record entry says of the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordFacts {
    /// The keyed lookup hash of the normalised address, hex.
    pub recipient_hash: String,
    /// The channel.
    pub channel: Channel,
    /// Individual or merchant.
    pub recipient_type: RecipientType,
    /// Granted or rejected.
    pub status: ConsentStatus,
    /// How the consent was obtained: `web` or `mobile` from the widget, İYS's source for an
    /// import.
    #[serde(with = "consent_core::vocabulary::record_source")]
    pub source: Source,
    /// The date İYS is given.
    pub consent_date: String,
    /// That date as an instant, which orders a person's decisions.
    pub consent_at_ms: i64,
    /// The client's clock at the decision.
    pub consented_at_ms: i64,
    /// When the relay received it.
    pub received_at_ms: i64,
    /// Where the consent date came from.
    pub consent_date_origin: ConsentDateOrigin,
    /// A keyed digest of the record's whole content, sealed values opened: the address as
    /// normalised and as typed, the client's address and the evidence.
    pub content: String,
}

impl RecordFacts {
    /// The facts of `plain`, with the columns derived from it.
    pub(crate) fn of(
        plain: &PlainRecord,
        recipient_hash: &[u8],
        consent_at_ms: i64,
        consented_at_ms: i64,
        received_at_ms: i64,
        key: &LedgerKey,
    ) -> RecordFacts {
        // Serialising a struct of strings and enums cannot fail.
        let content = serde_json::to_vec(plain).unwrap_or_default();
        RecordFacts {
            recipient_hash: hex(recipient_hash),
            channel: plain.channel,
            recipient_type: plain.recipient_type,
            status: plain.status,
            source: plain.source,
            consent_date: plain.consent_date.clone(),
            consent_at_ms,
            consented_at_ms,
            received_at_ms,
            consent_date_origin: plain.consent_date_origin,
            content: key.mac_hex(&[b"iys-relay record content\0", &content]),
        }
    }
}

/// What an İYS-outcome entry says: the settlement, field by field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IysFacts {
    /// The final state.
    pub state: IysState,
    /// İYS's transaction id.
    pub transaction_id: Option<String>,
    /// İYS's registration time.
    pub creation_date: Option<String>,
    /// The H-code that settled it.
    pub error: Option<String>,
    /// The date sent, when not the record's own.
    pub sent_date: Option<String>,
    /// Whether it went after its window.
    pub late: bool,
    /// İYS's answer to the status query made before settling.
    pub evidence: Option<StatusEvidence>,
}

impl From<&Settlement> for IysFacts {
    fn from(settlement: &Settlement) -> Self {
        IysFacts {
            state: settlement.state,
            transaction_id: settlement.transaction_id.clone(),
            creation_date: settlement.creation_date.clone(),
            error: settlement.error.clone(),
            sent_date: settlement.sent_date.map(|date| date.to_string()),
            late: settlement.late,
            evidence: settlement.evidence.clone(),
        }
    }
}

/// What a purge entry says: which refusal ended the record, when, and the retention kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PurgeFacts {
    /// The refusal that ended the record's consent (the record itself, for that refusal).
    pub ended_by: String,
    /// That refusal's consent time.
    pub ended_at_ms: i64,
    /// The days kept after it.
    pub retention_days: u32,
}

/// What a requeue entry says: why a settled record goes to İYS again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequeueFacts {
    /// Why.
    pub reason: String,
}

/// What a pulled-movement entry says of the movement İYS reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PulledFacts {
    /// The keyed lookup hash of the address, hex.
    pub recipient_hash: String,
    /// The channel.
    pub channel: Channel,
    /// Individual or merchant.
    pub recipient_type: RecipientType,
    /// Granted or rejected.
    pub status: ConsentStatus,
    /// İYS's source, such as `IYS_KISAMESAJ`.
    pub source: String,
    /// The movement's date.
    pub consent_date: String,
    /// That date as an instant.
    pub consent_at_ms: i64,
    /// When İYS registered it.
    pub creation_date: String,
}

/// What the sealing entry says: how many unkeyed entries it sealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SealFacts {
    /// The version 1 entries before it.
    pub unkeyed_entries: i64,
}

/// Facts as the text an entry carries and its key covers.
pub(crate) fn facts_text<T: Serialize>(facts: &T) -> String {
    // Serialising these structs of strings, numbers and enums cannot fail.
    serde_json::to_string(facts).unwrap_or_default()
}

/// The ledger's newest entry, read inside a transaction that holds its lock.
#[derive(Debug)]
pub(crate) struct LedgerHead {
    backend: Backend,
    seq: i64,
    hash: String,
    key: LedgerKey,
}

impl std::fmt::Debug for LedgerKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "LedgerKey({:08x})", self.id())
    }
}

/// One ledger entry, computed before it is inserted.
#[derive(Debug)]
pub(crate) struct LedgerEntry {
    pub(crate) seq: i64,
    kind: &'static str,
    pub(crate) record_id: String,
    facts: String,
    pub(crate) at_ms: i64,
    prev_hash: String,
    pub(crate) hash: String,
    key_id: u32,
}

impl LedgerHead {
    /// Takes the head row's write lock and reads it. The lock serialises appends: in SQLite by
    /// taking the database's write lock at once, in Postgres by locking the row across instances.
    pub(crate) async fn lock(
        transaction: &mut Transaction<'_>,
        backend: Backend,
        keys: &LedgerKeys,
    ) -> Result<LedgerHead, StoreError> {
        sqlx::query("UPDATE ledger_head SET seq = seq WHERE id = 1")
            .execute(&mut **transaction)
            .await?;
        let head = sqlx::query("SELECT seq, hash FROM ledger_head WHERE id = 1")
            .fetch_one(&mut **transaction)
            .await?;
        Ok(LedgerHead {
            backend,
            seq: head.try_get("seq")?,
            hash: head.try_get("hash")?,
            key: keys.current().clone(),
        })
    }

    /// Moves the head on by one entry, which the caller must insert before the transaction
    /// commits, and returns that entry.
    pub(crate) fn advance(
        &mut self,
        kind: &'static str,
        record_id: &str,
        facts: String,
        at_ms: i64,
    ) -> LedgerEntry {
        let seq = self.seq + 1;
        let hash = keyed_hash(&self.key, seq, kind, record_id, at_ms, &self.hash, &facts);
        let prev_hash = std::mem::replace(&mut self.hash, hash.clone());
        self.seq = seq;
        LedgerEntry {
            seq,
            kind,
            record_id: record_id.to_owned(),
            facts,
            at_ms,
            prev_hash,
            hash,
            key_id: self.key.id(),
        }
    }

    /// Appends an entry and returns its hash.
    pub(crate) async fn append(
        &mut self,
        transaction: &mut Transaction<'_>,
        kind: &'static str,
        record_id: &str,
        facts: String,
        at_ms: i64,
    ) -> Result<String, StoreError> {
        let entry = self.advance(kind, record_id, facts, at_ms);
        self.insert(transaction, std::slice::from_ref(&entry))
            .await?;
        Ok(entry.hash)
    }

    /// Inserts entries the head was advanced by, in order.
    pub(crate) async fn insert(
        &self,
        transaction: &mut Transaction<'_>,
        entries: &[LedgerEntry],
    ) -> Result<(), StoreError> {
        for chunk in runs(entries) {
            let sql = super::insert_sql(
                self.backend,
                "ledger (seq, kind, record_id, payload_hash, at_ms, prev_hash, hash, version, key_id, facts)",
                10,
                chunk.len(),
            );
            let mut insert = sqlx::query(&sql);
            for entry in chunk {
                insert = insert
                    .bind(entry.seq)
                    .bind(entry.kind)
                    .bind(entry.record_id.clone())
                    .bind(hex(&Sha256::digest(entry.facts.as_bytes())))
                    .bind(entry.at_ms)
                    .bind(entry.prev_hash.clone())
                    .bind(entry.hash.clone())
                    .bind(2_i64)
                    .bind(i64::from(entry.key_id))
                    .bind(entry.facts.clone());
            }
            insert.execute(&mut **transaction).await?;
        }
        Ok(())
    }

    /// Writes the head back; the transaction's commit publishes every append at once.
    pub(crate) async fn save(&self, transaction: &mut Transaction<'_>) -> Result<(), StoreError> {
        sqlx::query("UPDATE ledger_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(self.seq)
            .bind(self.hash.clone())
            .execute(&mut **transaction)
            .await?;
        Ok(())
    }
}

/// What `verify` found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Ledger entries checked.
    pub entries: u64,
    /// Records checked against their entries.
    pub records: u64,
    /// Movements pulled from İYS checked against their entries.
    pub movements: u64,
    /// Settled notices checked against their entries.
    pub notices: u64,
    /// Registered texts checked against their entries.
    pub texts: u64,
    /// The first problem: ledger position, record id and what is wrong.
    pub problem: Option<(i64, String, String)>,
}

/// One entry as read back.
struct ReadEntry {
    seq: i64,
    kind: String,
    record_id: String,
    payload_hash: String,
    at_ms: i64,
    prev_hash: String,
    hash: String,
    version: i64,
    key_id: Option<i64>,
    facts: Option<String>,
}

/// A record's stored entry as the walk found it.
struct StoredEntry {
    seq: i64,
    hash: String,
    /// Its facts; none for version 1, whose payload hash is kept instead.
    facts: Option<RecordFacts>,
    payload_hash: String,
    /// The ledger key that chained it, which also made its content digest.
    key_id: Option<u32>,
}

/// What the ledger says of one record.
#[derive(Default)]
struct RecordHistory {
    /// The stored entry.
    stored: Option<StoredEntry>,
    /// The latest İYS outcome: position, and its facts (none for version 1, whose payload hash
    /// is kept instead), or `None` facts and no hash after a requeue.
    iys: Option<(i64, Option<IysFacts>, Option<String>)>,
    /// The purge entry's position.
    purged: Option<i64>,
}

/// The problems found, of which the one at the earliest entry is reported.
#[derive(Default)]
struct Problems(Vec<(i64, String, String)>);

impl Problems {
    fn add(&mut self, seq: i64, record_id: &str, what: impl Into<String>) {
        self.0.push((seq, record_id.to_owned(), what.into()));
    }

    fn first(mut self) -> Option<(i64, String, String)> {
        self.0.sort_by_key(|(seq, _, _)| *seq);
        self.0.into_iter().next()
    }
}

fn parse_facts<T: for<'de> Deserialize<'de>>(
    entry: &ReadEntry,
    problems: &mut Problems,
) -> Option<T> {
    let parsed = entry
        .facts
        .as_deref()
        .and_then(|facts| serde_json::from_str(facts).ok());
    if parsed.is_none() {
        problems.add(
            entry.seq,
            &entry.record_id,
            format!("entry's facts are not those of a {} entry", entry.kind),
        );
    }
    parsed
}

impl Store {
    /// Walks the ledger from the start and rebuilds every record, purge and pulled movement from
    /// it, then compares them with the rows. Reports the problem at the earliest entry: an entry
    /// altered, removed, reordered or added without the ledger key; a record or movement whose
    /// rows differ from what the ledger says (its content, person, status, consent time, İYS
    /// outcome); a row the ledger does not know; a record removed without a purge, or a purge
    /// the retention rule does not allow. Everything is read in one transaction, so a relay
    /// writing meanwhile does not disturb it.
    pub async fn verify(&self) -> Result<VerifyReport, StoreError> {
        let mut transaction = self.pool.begin().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                .execute(&mut *transaction)
                .await?;
        }
        let entries = read_entries(&mut transaction).await?;
        let head = sqlx::query("SELECT seq, hash FROM ledger_head WHERE id = 1")
            .fetch_one(&mut *transaction)
            .await?;
        let rows = sqlx::query("SELECT * FROM consents ORDER BY ledger_seq")
            .fetch_all(&mut *transaction)
            .await?;
        let movements = sqlx::query("SELECT * FROM iys_movements")
            .fetch_all(&mut *transaction)
            .await?;
        let notices = sqlx::query("SELECT * FROM notices")
            .fetch_all(&mut *transaction)
            .await?;
        let notice_consents = sqlx::query("SELECT * FROM notice_consents")
            .fetch_all(&mut *transaction)
            .await?;
        let texts = sqlx::query("SELECT * FROM consent_texts")
            .fetch_all(&mut *transaction)
            .await?;
        transaction.rollback().await?;

        let mut report = VerifyReport {
            entries: entries.len() as u64,
            ..VerifyReport::default()
        };
        let mut problems = Problems::default();
        let Some((histories, pulled, noticed, registered)) =
            self.walk_chain(&entries, &mut problems)
        else {
            report.problem = problems.first();
            return Ok(report);
        };
        let head_seq: i64 = head.try_get("seq")?;
        let head_hash: String = head.try_get("hash")?;
        let (last_seq, last_hash) = entries
            .last()
            .map_or((0, GENESIS_HASH), |entry| (entry.seq, entry.hash.as_str()));
        if head_seq != last_seq || head_hash != last_hash {
            problems.add(
                last_seq + 1,
                "",
                format!("the ledger ends at entry {last_seq} but its head says {head_seq}: entries were removed from the end"),
            );
        }
        self.check_purges(&entries, &histories, &mut problems);
        report.records = self.check_records(&rows, &histories, &mut problems)?;
        report.movements = self.check_movements(&movements, &pulled, &mut problems);
        report.notices = self.check_notices(
            &notices,
            &notice_consents,
            &noticed,
            &histories,
            &mut problems,
        );
        report.texts = check_texts(&texts, &registered, &mut problems);
        report.problem = problems.first();
        Ok(report)
    }

    /// Checks the chain entry by entry and gathers what it says of each record, pulled
    /// movement and notice; `None` when the chain itself is broken, since nothing after the break
    /// can be trusted.
    #[allow(
        clippy::type_complexity,
        reason = "four maps built in one walk, used once by the caller"
    )]
    fn walk_chain(
        &self,
        entries: &[ReadEntry],
        problems: &mut Problems,
    ) -> Option<(
        HashMap<String, RecordHistory>,
        HashMap<String, (i64, PulledFacts)>,
        HashMap<String, (i64, NoticeFacts)>,
        HashMap<String, (i64, TextFacts)>,
    )> {
        let keys = self.keyring.ledger();
        let mut histories: HashMap<String, RecordHistory> = HashMap::new();
        let mut pulled = HashMap::new();
        let mut noticed = HashMap::new();
        let mut registered = HashMap::new();
        let mut expected_prev = GENESIS_HASH.to_owned();
        let mut keyed = false;
        for (position, entry) in entries.iter().enumerate() {
            let expected_seq = position as i64 + 1;
            let bad = |problems: &mut Problems, what: String| {
                problems.add(entry.seq, &entry.record_id, what);
            };
            if entry.seq != expected_seq {
                let what = if entry.seq < expected_seq {
                    format!("entry {} appears twice", entry.seq)
                } else {
                    format!(
                        "entry {expected_seq} is missing: the chain jumps to {}",
                        entry.seq
                    )
                };
                problems.add(expected_seq.min(entry.seq), &entry.record_id, what);
                return None;
            }
            if entry.prev_hash != expected_prev {
                bad(
                    problems,
                    "entry does not follow the one before it: removed or reordered entries"
                        .to_owned(),
                );
                return None;
            }
            let intact = match entry.version {
                1 if keyed => {
                    bad(
                        problems,
                        "an entry chained without the ledger key follows keyed entries: it was added outside the relay".to_owned(),
                    );
                    return None;
                }
                1 => {
                    unkeyed_hash(
                        entry.seq,
                        &entry.kind,
                        &entry.record_id,
                        &entry.payload_hash,
                        entry.at_ms,
                        &entry.prev_hash,
                    ) == entry.hash
                }
                2 => {
                    keyed = true;
                    let key = entry
                        .key_id
                        .and_then(|id| u32::try_from(id).ok())
                        .and_then(|id| keys.find(id));
                    let Some(key) = key else {
                        bad(
                            problems,
                            format!(
                                "entry is chained with ledger key {:08x}, which this relay does not have: add it to the previous keys, or the entry was forged",
                                entry.key_id.unwrap_or_default()
                            ),
                        );
                        return None;
                    };
                    keyed_hash(
                        key,
                        entry.seq,
                        &entry.kind,
                        &entry.record_id,
                        entry.at_ms,
                        &entry.prev_hash,
                        entry.facts.as_deref().unwrap_or(""),
                    ) == entry.hash
                }
                other => {
                    bad(problems, format!("entry has unknown version {other}"));
                    return None;
                }
            };
            if !intact {
                bad(
                    problems,
                    "entry was altered: its hash does not match its content".to_owned(),
                );
                return None;
            }
            expected_prev = entry.hash.clone();
            let v2 = entry.version == 2;
            let history = || RecordHistory::default();
            match entry.kind.as_str() {
                kind::STORED => {
                    let facts = if v2 {
                        Some(parse_facts::<RecordFacts>(entry, problems)?)
                    } else {
                        None
                    };
                    let record = histories
                        .entry(entry.record_id.clone())
                        .or_insert_with(history);
                    if record.stored.is_some() {
                        bad(problems, "the record is stored twice".to_owned());
                    }
                    record.stored = Some(StoredEntry {
                        seq: entry.seq,
                        hash: entry.hash.clone(),
                        facts,
                        payload_hash: entry.payload_hash.clone(),
                        key_id: entry.key_id.and_then(|id| u32::try_from(id).ok()),
                    });
                }
                kind::IYS | kind::REQUEUED => {
                    let Some(record) = histories.get_mut(&entry.record_id) else {
                        bad(
                            problems,
                            "an İYS outcome for a record the ledger never stored".to_owned(),
                        );
                        continue;
                    };
                    record.iys = match (entry.kind.as_str(), v2) {
                        (kind::IYS, true) => Some((
                            entry.seq,
                            Some(parse_facts::<IysFacts>(entry, problems)?),
                            None,
                        )),
                        (kind::IYS, false) => {
                            Some((entry.seq, None, Some(entry.payload_hash.clone())))
                        }
                        _ => {
                            parse_facts::<RequeueFacts>(entry, problems)?;
                            None
                        }
                    };
                }
                kind::PURGED => {
                    let Some(record) = histories.get_mut(&entry.record_id) else {
                        bad(
                            problems,
                            "a purge of a record the ledger never stored".to_owned(),
                        );
                        continue;
                    };
                    if record.purged.is_some() {
                        bad(problems, "the record is purged twice".to_owned());
                    }
                    record.purged = Some(entry.seq);
                }
                kind::PULLED => {
                    let facts = parse_facts::<PulledFacts>(entry, problems)?;
                    if pulled
                        .insert(entry.record_id.clone(), (entry.seq, facts))
                        .is_some()
                    {
                        bad(problems, "the movement is pulled twice".to_owned());
                    }
                }
                kind::SEALED => {
                    parse_facts::<SealFacts>(entry, problems)?;
                }
                kind::NOTICE => {
                    let facts = parse_facts::<NoticeFacts>(entry, problems)?;
                    if facts
                        .consents
                        .iter()
                        .any(|consent| !histories.contains_key(consent))
                    {
                        bad(
                            problems,
                            "a notice of a record the ledger never stored".to_owned(),
                        );
                    }
                    if noticed
                        .insert(entry.record_id.clone(), (entry.seq, facts))
                        .is_some()
                    {
                        bad(problems, "the notice is settled twice".to_owned());
                    }
                }
                kind::TEXT => {
                    let facts = parse_facts::<TextFacts>(entry, problems)?;
                    if entry.record_id != entry_id(&facts.sha256, facts.channel, facts.locale) {
                        bad(problems, "a text's entry names another text".to_owned());
                    }
                    if registered
                        .insert(entry.record_id.clone(), (entry.seq, facts))
                        .is_some()
                    {
                        bad(problems, "the text is registered twice".to_owned());
                    }
                }
                other => bad(problems, format!("entry has unknown kind {other}")),
            }
        }
        Some((histories, pulled, noticed, registered))
    }

    /// Checks every keyed purge against the retention rule: the refusal it names ended the
    /// record's consent (same person, channel and recipient type, not before it) and the purge
    /// came at least the retention period after that refusal, which itself is at least the
    /// regulation's three years.
    fn check_purges(
        &self,
        entries: &[ReadEntry],
        histories: &HashMap<String, RecordHistory>,
        problems: &mut Problems,
    ) {
        for entry in entries
            .iter()
            .filter(|entry| entry.kind == kind::PURGED && entry.version == 2)
        {
            let Some(purge) = entry
                .facts
                .as_deref()
                .and_then(|facts| serde_json::from_str::<PurgeFacts>(facts).ok())
            else {
                problems.add(
                    entry.seq,
                    &entry.record_id,
                    "the purge entry's facts do not read",
                );
                continue;
            };
            let facts_of = |id: &str| {
                histories
                    .get(id)
                    .and_then(|history| history.stored.as_ref())
                    .and_then(|stored| stored.facts.clone())
            };
            let kept_long_enough = purge.retention_days >= MIN_RETENTION_DAYS
                && entry.at_ms - purge.ended_at_ms >= i64::from(purge.retention_days) * 86_400_000;
            let stored_before_keying = |id: &str| {
                histories
                    .get(id)
                    .and_then(|history| history.stored.as_ref())
                    .is_some_and(|stored| stored.facts.is_none())
            };
            let allowed = match (facts_of(&entry.record_id), facts_of(&purge.ended_by)) {
                (Some(record), Some(ending)) => {
                    ending.status == ConsentStatus::Rejected
                        && ending.recipient_hash == record.recipient_hash
                        && ending.channel == record.channel
                        && ending.recipient_type == record.recipient_type
                        && ending.consent_at_ms == purge.ended_at_ms
                        && record.consent_at_ms <= purge.ended_at_ms
                        && kept_long_enough
                }
                // A record or refusal stored before keyed chaining has no facts to compare;
                // the keyed purge entry itself, which only the relay can make, and its retention
                // are what can be checked.
                _ if stored_before_keying(&entry.record_id)
                    || stored_before_keying(&purge.ended_by) =>
                {
                    kept_long_enough
                }
                _ => false,
            };
            if !allowed {
                problems.add(
                    entry.seq,
                    &entry.record_id,
                    "the purge is not allowed by the retention rule: no refusal of the same person and channel ended the record three years before",
                );
            }
        }
    }

    /// Compares every record row with what the ledger says of it. Returns how many matched.
    fn check_records(
        &self,
        rows: &[sqlx::any::AnyRow],
        histories: &HashMap<String, RecordHistory>,
        problems: &mut Problems,
    ) -> Result<u64, StoreError> {
        let mut matched = 0;
        let mut seen = HashSet::new();
        let mut seen_seqs = HashSet::new();
        for row in rows {
            let seq: i64 = row.try_get("ledger_seq")?;
            if !seen_seqs.insert(seq) {
                let id: String = row.try_get("id")?;
                problems.add(seq, &id, format!("two records point to ledger entry {seq}"));
            }
        }
        for row in rows {
            let id: String = row.try_get("id")?;
            let seq: i64 = row.try_get("ledger_seq")?;
            seen.insert(id.clone());
            let Some(history) = histories.get(&id) else {
                problems.add(
                    seq,
                    &id,
                    "record has no ledger entry: it was added outside the relay",
                );
                continue;
            };
            let Some(stored) = &history.stored else {
                problems.add(
                    seq,
                    &id,
                    "record has no stored entry: it was added outside the relay",
                );
                continue;
            };
            let stored_seq = &stored.seq;
            if let Some(purged) = history.purged {
                problems.add(purged, &id, "record was purged but its row is still there");
                continue;
            }
            let ledger_hash: String = row.try_get("ledger_hash")?;
            if seq != stored.seq || ledger_hash != stored.hash {
                problems.add(stored.seq, &id, "record points to another ledger entry");
                continue;
            }
            let record = match self.open_row(row) {
                Ok(record) => record,
                Err(error) => {
                    problems.add(stored.seq, &id, format!("record does not open: {error}"));
                    continue;
                }
            };
            let recipient_hash: Vec<u8> = row.try_get("recipient_hash")?;
            let consent_at_ms: i64 = row.try_get("consent_at_ms")?;
            let derived_consent_at = IysDateTime::parse(&record.plain.consent_date)
                .map(|date| date.to_instant().unix_millis())
                .ok();
            let proof: String = row.try_get("proof")?;
            if recipient_hash != self.index.recipient_hash(&record.plain.recipient)
                || derived_consent_at != Some(consent_at_ms)
                || proof != record.plain.details.proof.kind()
            {
                problems.add(
                    stored.seq,
                    &id,
                    "record was altered: its lookup hash, consent time or kind no longer fits its content",
                );
                continue;
            }
            let content_matches = match &stored.facts {
                Some(facts) => {
                    let key = stored.key_id.and_then(|id| self.keyring.ledger().find(id));
                    key.is_some_and(|key| {
                        RecordFacts::of(
                            &record.plain,
                            &recipient_hash,
                            consent_at_ms,
                            row.try_get("consented_at_ms").unwrap_or_default(),
                            row.try_get("received_at_ms").unwrap_or_default(),
                            key,
                        ) == *facts
                    })
                }
                None => record.plain.payload_hash() == stored.payload_hash,
            };
            if !content_matches {
                problems.add(
                    stored.seq,
                    &id,
                    "record was altered: its content does not match its ledger entry",
                );
                continue;
            }
            if let Some(what) = iys_mismatch(&record, history) {
                let at = history.iys.as_ref().map_or(*stored_seq, |(seq, _, _)| *seq);
                problems.add(at, &id, what);
                continue;
            }
            matched += 1;
        }
        for (id, history) in histories {
            if let Some(stored) = &history.stored
                && history.purged.is_none()
                && !seen.contains(id)
            {
                problems.add(stored.seq, id, "record was removed without a purge entry");
            }
        }
        Ok(matched)
    }

    /// Compares every pulled movement's row with its entry. Returns how many matched.
    fn check_movements(
        &self,
        rows: &[sqlx::any::AnyRow],
        pulled: &HashMap<String, (i64, PulledFacts)>,
        problems: &mut Problems,
    ) -> u64 {
        let mut matched = 0;
        let mut seen = HashSet::new();
        for row in rows {
            let Ok(transaction_id) = row.try_get::<String, _>("transaction_id") else {
                continue;
            };
            seen.insert(transaction_id.clone());
            let Some((seq, facts)) = pulled.get(&transaction_id) else {
                problems.add(
                    i64::MAX,
                    &transaction_id,
                    "a movement from İYS has no ledger entry: it was added outside the relay",
                );
                continue;
            };
            match movement_facts(self, row, &transaction_id) {
                Some(found) if found == *facts => matched += 1,
                _ => problems.add(
                    *seq,
                    &transaction_id,
                    "a movement pulled from İYS was altered: its row does not match its ledger entry",
                ),
            }
        }
        for (transaction_id, (seq, _)) in pulled {
            if !seen.contains(transaction_id) {
                problems.add(
                    *seq,
                    transaction_id,
                    "a movement pulled from İYS was removed",
                );
            }
        }
        matched
    }
}

impl Store {
    /// Checks every notice against the ledger: a settled one must match its entry (its consents,
    /// kind, address, outcome, attempts, time, and the digest of what was sent, which must also be
    /// what its sealed content holds), a pending or skipped one must have none, and a notice that
    /// is gone, settled or not, must be one whose records were all purged.
    fn check_notices(
        &self,
        rows: &[sqlx::any::AnyRow],
        listed: &[sqlx::any::AnyRow],
        noticed: &HashMap<String, (i64, NoticeFacts)>,
        histories: &HashMap<String, RecordHistory>,
        problems: &mut Problems,
    ) -> u64 {
        let mut consents_of: HashMap<String, Vec<String>> = HashMap::new();
        for row in listed {
            if let (Ok(record), Ok(notice)) = (
                row.try_get::<String, _>("record_id"),
                row.try_get::<String, _>("notice_id"),
            ) {
                consents_of.entry(notice).or_default().push(record);
            }
        }
        let mut matched = 0;
        let mut seen = HashSet::new();
        for row in rows {
            let Ok(id) = row.try_get::<String, _>("id") else {
                continue;
            };
            seen.insert(id.clone());
            let state = row.try_get::<String, _>("state").unwrap_or_default();
            let entry = noticed.get(&id);
            if state == "pending" || state == "skipped" {
                consents_of.remove(&id);
                if let Some((seq, _)) = entry {
                    problems.add(
                        *seq,
                        &id,
                        "a settled notice was put back to pending outside the relay",
                    );
                }
                continue;
            }
            let Some((seq, facts)) = entry else {
                problems.add(
                    i64::MAX,
                    &id,
                    "a settled notice has no ledger entry: it was settled outside the relay",
                );
                continue;
            };
            let mut consents = consents_of.remove(&id).unwrap_or_default();
            consents.sort();
            let content = row
                .try_get::<Option<Vec<u8>>, _>("content_sealed")
                .ok()
                .flatten()
                .map(|sealed| {
                    self.keyring
                        .open(&sealed, &format!("notices.content/{id}"))
                        .ok()
                        .and_then(|bytes| String::from_utf8(bytes).ok())
                        .map(|content| super::notices::content_digest(&content))
                });
            let found = NoticeFacts {
                consents,
                kind: row
                    .try_get::<String, _>("kind")
                    .ok()
                    .and_then(|kind| kind.parse().ok())
                    .unwrap_or(facts.kind),
                recipient_hash: row
                    .try_get::<Vec<u8>, _>("recipient_hash")
                    .map(|hash| hex(&hash))
                    .unwrap_or_default(),
                outcome: state,
                attempts: row.try_get("attempts").unwrap_or_default(),
                settled_at_ms: row
                    .try_get::<Option<i64>, _>("settled_at_ms")
                    .ok()
                    .flatten()
                    .unwrap_or_default(),
                content_sha256: row.try_get("content_sha256").ok().flatten(),
            };
            let content_matches = match content {
                None => found.content_sha256.is_none(),
                Some(digest) => digest.is_some() && digest == found.content_sha256,
            };
            if found == *facts && content_matches {
                matched += 1;
            } else {
                problems.add(
                    *seq,
                    &id,
                    "a notice was altered: its row does not match its ledger entry",
                );
            }
        }
        let purged = |consents: &[String]| {
            consents.iter().all(|consent| {
                histories
                    .get(consent)
                    .is_some_and(|history| history.purged.is_some())
            })
        };
        for (id, (seq, facts)) in noticed {
            if !seen.contains(id) && !purged(&facts.consents) {
                problems.add(*seq, id, "a settled notice was removed");
            }
        }
        // What is left lists records under a notice that is gone.
        for (id, consents) in consents_of {
            if !seen.contains(&id) && !purged(&consents) && !noticed.contains_key(&id) {
                problems.add(
                    i64::MAX,
                    &id,
                    "a notice was removed while its records remain: they will never get one",
                );
            }
        }
        matched
    }
}

/// Checks the register of texts against the ledger: every row must match its entry and hold the
/// text its digest names, and no registered text may be gone.
fn check_texts(
    rows: &[sqlx::any::AnyRow],
    registered: &HashMap<String, (i64, TextFacts)>,
    problems: &mut Problems,
) -> u64 {
    let mut matched = 0;
    let mut seen = HashSet::new();
    for row in rows {
        let read = || -> Option<(TextFacts, String)> {
            Some((
                TextFacts {
                    sha256: row.try_get("sha256").ok()?,
                    channel: row.try_get::<String, _>("channel").ok()?.parse().ok()?,
                    locale: row.try_get::<String, _>("locale").ok()?.parse().ok()?,
                    version: row.try_get("version").ok()?,
                    origin: row.try_get::<String, _>("origin").ok()?.parse().ok()?,
                    registered_at_ms: row.try_get("registered_at_ms").ok()?,
                },
                row.try_get("text").ok()?,
            ))
        };
        let Some((found, text)) = read() else {
            problems.add(i64::MAX, "", "a registered text does not read");
            continue;
        };
        let id = entry_id(&found.sha256, found.channel, found.locale);
        seen.insert(id.clone());
        match registered.get(&id) {
            None => problems.add(
                i64::MAX,
                &id,
                "a registered text has no ledger entry: it was added outside the relay",
            ),
            Some((seq, facts)) if *facts != found || text_sha256(&text) != found.sha256 => {
                problems.add(
                    *seq,
                    &id,
                    "a registered text was altered: its row does not match its ledger entry",
                );
            }
            Some(_) => matched += 1,
        }
    }
    for (id, (seq, _)) in registered {
        if !seen.contains(id) {
            problems.add(*seq, id, "a registered text was removed");
        }
    }
    matched
}

/// What differs between a record's İYS columns and what the ledger says of its İYS outcome.
fn iys_mismatch(record: &super::StoredRecord, history: &RecordHistory) -> Option<String> {
    let outcome = &record.iys;
    match &history.iys {
        Some((_, Some(facts), _)) => {
            let row = IysFacts {
                state: outcome.state,
                transaction_id: outcome.transaction_id.clone(),
                creation_date: outcome.creation_date.clone(),
                error: outcome.error.clone(),
                sent_date: outcome.sent_date.clone(),
                late: outcome.late,
                evidence: outcome.evidence.clone(),
            };
            (row != *facts).then(|| {
                format!(
                    "the record's İYS outcome was altered: the ledger says {}, the row {}",
                    facts.state, outcome.state
                )
            })
        }
        Some((_, None, Some(payload_hash))) => {
            let text = format!(
                "iys {} {} {} {} {}",
                record.plain.id,
                outcome.state,
                outcome.transaction_id.as_deref().unwrap_or(""),
                outcome.creation_date.as_deref().unwrap_or(""),
                outcome.error.as_deref().unwrap_or("")
            );
            (hex(&Sha256::digest(text.as_bytes())) != *payload_hash).then(|| {
                "the record's İYS outcome was altered: it no longer matches its unkeyed entry"
                    .to_owned()
            })
        }
        _ => {
            let unsettled = !outcome.state.is_settled()
                && outcome.transaction_id.is_none()
                && outcome.creation_date.is_none()
                && outcome.error.is_none();
            (!unsettled).then(|| {
                format!(
                    "the record's İYS outcome was altered: the ledger has no outcome for it, the row says {}",
                    outcome.state
                )
            })
        }
    }
}

/// The facts of a pulled movement's row, its sealed address opened; `None` when it does not open
/// or its lookup hash does not fit the address.
fn movement_facts(
    store: &Store,
    row: &sqlx::any::AnyRow,
    transaction_id: &str,
) -> Option<PulledFacts> {
    let sealed: Vec<u8> = row.try_get("recipient_sealed").ok()?;
    let recipient = store
        .keyring
        .open(
            &sealed,
            &format!("iys_movements.recipient/{transaction_id}"),
        )
        .ok()?;
    let recipient = String::from_utf8(recipient).ok()?;
    let recipient_hash: Vec<u8> = row.try_get("recipient_hash").ok()?;
    if recipient_hash != store.index.recipient_hash(&recipient) {
        return None;
    }
    Some(PulledFacts {
        recipient_hash: hex(&recipient_hash),
        channel: super::parse_column(row, "channel").ok()?,
        recipient_type: super::parse_column(row, "recipient_type").ok()?,
        status: super::parse_column(row, "status").ok()?,
        source: row.try_get("source").ok()?,
        consent_date: row.try_get("consent_date").ok()?,
        consent_at_ms: row.try_get("consent_at_ms").ok()?,
        creation_date: row.try_get("creation_date").ok()?,
    })
}

async fn read_entries(transaction: &mut Transaction<'_>) -> Result<Vec<ReadEntry>, StoreError> {
    let rows = sqlx::query(
        "SELECT seq, kind, record_id, payload_hash, at_ms, prev_hash, hash, version, key_id, facts FROM ledger ORDER BY seq",
    )
    .fetch_all(&mut **transaction)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(ReadEntry {
                seq: row.try_get("seq")?,
                kind: row.try_get("kind")?,
                record_id: row.try_get("record_id")?,
                payload_hash: row.try_get("payload_hash")?,
                at_ms: row.try_get("at_ms")?,
                prev_hash: row.try_get("prev_hash")?,
                hash: row.try_get("hash")?,
                version: row.try_get("version")?,
                key_id: row.try_get("key_id")?,
                facts: row.try_get("facts")?,
            })
        })
        .collect()
}

/// The marker in `relay_meta` that the ledger was brought to keyed chaining.
const KEYED_MARKER: &str = "ledger_keyed";

impl Store {
    /// Brings a ledger written before keyed chaining up to it, once, on the first start after
    /// migration 6, in one transaction under the ledger's lock:
    /// - a keyed entry seals the unkeyed entries before it;
    /// - every movement pulled from İYS so far gets its entry;
    /// - every refusal settled as "nothing to refuse" or given up past its window without İYS's
    ///   own answer goes to İYS again, through a requeue entry: a refusal is never dropped on the
    ///   relay's own knowledge.
    pub(crate) async fn upgrade_ledger(&self, now: Timestamp) -> Result<(), StoreError> {
        let mut transaction = self.pool.begin().await?;
        let mut head =
            LedgerHead::lock(&mut transaction, self.backend, self.keyring.ledger()).await?;
        let done = sqlx::query("SELECT 1 AS done FROM relay_meta WHERE name = $1")
            .bind(KEYED_MARKER)
            .fetch_optional(&mut *transaction)
            .await?;
        if done.is_some() {
            transaction.rollback().await?;
            return Ok(());
        }
        let at_ms = now.unix_millis();
        let unkeyed: i64 = sqlx::query("SELECT COUNT(*) AS count FROM ledger WHERE version = 1")
            .fetch_one(&mut *transaction)
            .await?
            .try_get("count")?;
        if unkeyed > 0 {
            head.append(
                &mut transaction,
                kind::SEALED,
                "",
                facts_text(&SealFacts {
                    unkeyed_entries: unkeyed,
                }),
                at_ms,
            )
            .await?;
        }
        let movements =
            sqlx::query("SELECT * FROM iys_movements ORDER BY pulled_at_ms, transaction_id")
                .fetch_all(&mut *transaction)
                .await?;
        for row in &movements {
            let transaction_id: String = row.try_get("transaction_id")?;
            let facts = movement_facts(self, row, &transaction_id).ok_or_else(|| {
                StoreError::Corrupt(format!("pulled movement {transaction_id} does not open"))
            })?;
            head.append(
                &mut transaction,
                kind::PULLED,
                &transaction_id,
                facts_text(&facts),
                at_ms,
            )
            .await?;
        }
        // Not a refusal the person's later decision for the same address and channel overtook.
        let dropped = sqlx::query(
            "SELECT id FROM consents c WHERE c.status = 'rejected' AND c.iys_state IN ('skipped', 'missed_deadline') AND c.iys_evidence IS NULL \
             AND NOT EXISTS (SELECT 1 FROM consents n WHERE n.recipient_hash = c.recipient_hash AND n.channel = c.channel \
                 AND n.recipient_type = c.recipient_type AND n.consent_at_ms > c.consent_at_ms) ORDER BY c.ledger_seq",
        )
        .fetch_all(&mut *transaction)
        .await?;
        for row in &dropped {
            let id: String = row.try_get("id")?;
            sqlx::query(
                "UPDATE consents SET iys_state = 'pending', iys_next_at_ms = 0, iys_attempts = 0, iys_transaction_id = NULL, iys_creation_date = NULL, \
                 iys_error = NULL, iys_sent_date = NULL, iys_late = 0, iys_lease_owner = NULL, iys_lease_until_ms = 0, iys_updated_at_ms = $1 WHERE id = $2",
            )
            .bind(at_ms)
            .bind(id.clone())
            .execute(&mut *transaction)
            .await?;
            head.append(
                &mut transaction,
                kind::REQUEUED,
                &id,
                facts_text(&RequeueFacts {
                    reason: "a refusal settled without İYS's own answer goes to İYS again"
                        .to_owned(),
                }),
                at_ms,
            )
            .await?;
        }
        sqlx::query("INSERT INTO relay_meta (name, value) VALUES ($1, $2)")
            .bind(KEYED_MARKER)
            .bind(vec![1_u8])
            .execute(&mut *transaction)
            .await?;
        head.save(&mut transaction).await?;
        transaction.commit().await?;
        if unkeyed > 0 || !movements.is_empty() || !dropped.is_empty() {
            tracing::info!(
                unkeyed,
                movements = movements.len(),
                requeued_refusals = dropped.len(),
                "the ledger is now chained with the ledger key"
            );
        }
        Ok(())
    }

    /// A signed checkpoint of the ledger as it stands at `now`.
    pub async fn checkpoint(&self, now: Timestamp) -> Result<Checkpoint, StoreError> {
        let head = sqlx::query("SELECT seq, hash FROM ledger_head WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        Ok(Checkpoint::sign(
            head.try_get("seq")?,
            head.try_get("hash")?,
            now,
            self.keyring.ledger().current(),
        ))
    }

    /// Whether the ledger still extends `checkpoint`: `None` when it does, else the first entry
    /// that is missing or differs, and what is wrong.
    pub async fn check_checkpoint(
        &self,
        checkpoint: &Checkpoint,
    ) -> Result<Option<(i64, String)>, StoreError> {
        if !checkpoint.is_signed_by(self.keyring.ledger()) {
            return Ok(Some((
                checkpoint.entries,
                "the checkpoint is not signed with this relay's ledger keys".to_owned(),
            )));
        }
        if checkpoint.entries == 0 {
            return Ok(None);
        }
        let entry = sqlx::query("SELECT hash FROM ledger WHERE seq = $1")
            .bind(checkpoint.entries)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match entry {
            Some(row) if row.try_get::<String, _>("hash")? == checkpoint.head => None,
            Some(_) => Some((
                checkpoint.entries,
                format!(
                    "entry {} differs from the checkpoint of {}: the ledger was rewritten",
                    checkpoint.entries, checkpoint.at
                ),
            )),
            None => {
                let last: Option<i64> = sqlx::query("SELECT MAX(seq) AS last FROM ledger")
                    .fetch_one(&self.pool)
                    .await?
                    .try_get("last")?;
                let last = last.unwrap_or(0);
                Some((
                    last + 1,
                    format!(
                        "the ledger ends at entry {last}, but the checkpoint of {} has {} entries: entries were removed from the end",
                        checkpoint.at, checkpoint.entries
                    ),
                ))
            }
        })
    }
}

/// A signed statement of the ledger's length and newest hash at a moment, meant to be kept
/// outside the database (a log, a ticket, an e-mail to the compliance officer), so that cutting
/// off the ledger's newest entries can be seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Entries in the ledger.
    pub entries: i64,
    /// The newest entry's hash.
    pub head: String,
    /// When, RFC 3339.
    pub at: String,
    /// The ledger key that signed it.
    pub key_id: u32,
    /// HMAC-SHA-256 of the fields under that key, hex.
    pub mac: String,
}

/// How a checkpoint line starts, wherever it stands (alone, or inside a log line).
pub const CHECKPOINT_TAG: &str = "iys-relay checkpoint v1";

impl Checkpoint {
    fn signed_text(entries: i64, head: &str, at: &str, key_id: u32) -> String {
        format!("{CHECKPOINT_TAG} entries={entries} head={head} at={at} key={key_id:08x}")
    }

    fn sign(entries: i64, head: String, now: Timestamp, key: &LedgerKey) -> Checkpoint {
        let at = now.to_rfc3339();
        let mac = key.mac_hex(&[Checkpoint::signed_text(entries, &head, &at, key.id()).as_bytes()]);
        Checkpoint {
            entries,
            head,
            at,
            key_id: key.id(),
            mac,
        }
    }

    /// The one line `iys-relay checkpoint` prints.
    pub fn line(&self) -> String {
        format!(
            "{} mac={}",
            Checkpoint::signed_text(self.entries, &self.head, &self.at, self.key_id),
            self.mac
        )
    }

    /// Whether one of `keys` signed it.
    pub fn is_signed_by(&self, keys: &LedgerKeys) -> bool {
        keys.find(self.key_id).is_some_and(|key| {
            key.mac_hex(&[
                Checkpoint::signed_text(self.entries, &self.head, &self.at, self.key_id).as_bytes(),
            ]) == self.mac
        })
    }

    /// Every checkpoint in `text`: lines printed by `iys-relay checkpoint`, or log lines that
    /// carry one. Lines with the tag whose fields do not read are skipped.
    pub fn find_all(text: &str) -> Vec<Checkpoint> {
        text.lines()
            .filter_map(|line| {
                let rest = &line[line.find(CHECKPOINT_TAG)? + CHECKPOINT_TAG.len()..];
                let mut fields = HashMap::new();
                for token in rest.split_whitespace() {
                    let token = token.trim_matches(|c: char| matches!(c, '"' | '\'' | ',' | '}'));
                    if let Some((name, value)) = token.split_once('=') {
                        fields.insert(name, value);
                    }
                }
                Some(Checkpoint {
                    entries: fields.get("entries")?.parse().ok()?,
                    head: (*fields.get("head")?).to_owned(),
                    at: (*fields.get("at")?).to_owned(),
                    key_id: u32::from_str_radix(fields.get("key")?, 16).ok()?,
                    mac: (*fields.get("mac")?).to_owned(),
                })
            })
            .collect()
    }
}
