//! The proof store: consent records sealed at rest, in SQLite or Postgres, with a hash-chained
//! ledger of every change.
//!
//! The same SQL runs on both databases through sqlx's `Any` driver, except the placeholders of
//! the multi-row statements that store a batch (see `values`); the two migration
//! folders differ only in column types.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use consent_core::contract::{Outcome, WireEvidence};
use consent_core::import::ImportEvidence;
use consent_core::record::{Proof, hex};
use consent_core::refusal::LinkRefusal;
use consent_core::time::{IysDateTime, Timestamp};
use consent_core::vocabulary::record_source;
use consent_core::{Channel, ConsentRecord, ConsentStatus, RecipientType, Source};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor, Row};

use crate::crypto::{IndexKey, Keyring, OpenError};
use crate::store::forwarding::{IysState, StatusEvidence};
use crate::store::ledger::{LedgerEntry, LedgerHead, PurgeFacts, RecordFacts, facts_text};

pub mod forwarding;
pub mod ledger;
pub mod notices;
pub mod push;
pub mod texts;

pub use ledger::{Checkpoint, GENESIS_HASH, VerifyReport, kind};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// Which database a store uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file.
    Sqlite,
    /// A Postgres server.
    Postgres,
}

/// Where the consent date sent to İYS came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentDateOrigin {
    /// The client's clock, which was close enough to the relay's.
    Client,
    /// The moment the relay received the record.
    Receipt,
    /// The date an imported file gives.
    File,
}

impl ConsentDateOrigin {
    fn as_str(self) -> &'static str {
        match self {
            ConsentDateOrigin::Client => "client",
            ConsentDateOrigin::Receipt => "receipt",
            ConsentDateOrigin::File => "file",
        }
    }
}

/// A validated record with what the relay added on receipt.
#[derive(Debug, Clone)]
pub struct NewConsent {
    /// The record as validated.
    pub record: ConsentRecord,
    /// When the relay received it.
    pub received_at: Timestamp,
    /// The date İYS will be given.
    pub consent_date: IysDateTime,
    /// Where that date came from.
    pub consent_date_origin: ConsentDateOrigin,
    /// The client's address.
    pub client_ip: Option<IpAddr>,
    /// An imported record İYS holds already (`import --registered`): stored as registered in
    /// İYS, with its ledger entry, and never sent.
    pub registered: bool,
}

/// What the store did with one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredReceipt {
    /// The record's id.
    pub id: String,
    /// Stored now, or earlier.
    pub outcome: Outcome,
    /// The consent date as stored first.
    pub consent_date: String,
    /// The ledger hash of the first storing.
    pub receipt: String,
}

/// The sealed details of a record: the address as typed, the client's address, the proof and
/// the person's name.
///
/// In JSON the proof is `evidence` for a record from the widget and `refusalLink` for a refusal
/// given through a link. A record from the widget without a name seals exactly what it sealed
/// before names and links existed, so its ledger digest is unchanged.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "DetailsJson", into = "DetailsJson")]
pub struct Details {
    /// The address as the person typed it (for a refusal link, the normalised address).
    pub recipient_as_typed: String,
    /// The client's IP address.
    pub client_ip: Option<String>,
    /// Where the record came from, and the proof of it.
    pub proof: ProofDetails,
    /// The person's name and surname, when the record gives one.
    pub name: Option<String>,
}

/// Where a record came from, with its proof, as its details keep it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProofDetails {
    /// The widget: what the person saw.
    Widget(WireEvidence),
    /// A refusal link: how it was used, and what it showed.
    RefusalLink(LinkRefusal),
    /// A row of an imported file.
    Import(ImportEvidence),
}

impl ProofDetails {
    /// The name of the kind of proof, as exports show it: `widget` or `refusal_link`.
    pub fn kind(&self) -> &'static str {
        match self {
            ProofDetails::Widget(_) => "widget",
            ProofDetails::RefusalLink(_) => "refusal_link",
            ProofDetails::Import(_) => "import",
        }
    }
}

/// [`Details`] as JSON, with one member per kind of proof, of which exactly one is present.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DetailsJson {
    recipient_as_typed: String,
    client_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    evidence: Option<WireEvidence>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refusal_link: Option<LinkRefusal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    import: Option<ImportEvidence>,
}

impl TryFrom<DetailsJson> for Details {
    type Error = &'static str;

    fn try_from(json: DetailsJson) -> Result<Details, Self::Error> {
        let proof = match (json.evidence, json.refusal_link, json.import) {
            (Some(evidence), None, None) => ProofDetails::Widget(evidence),
            (None, Some(link), None) => ProofDetails::RefusalLink(link),
            (None, None, Some(import)) => ProofDetails::Import(import),
            (None, None, None) => return Err("details hold no evidence"),
            _ => return Err("details hold two kinds of evidence"),
        };
        Ok(Details {
            recipient_as_typed: json.recipient_as_typed,
            client_ip: json.client_ip,
            proof,
            name: json.name,
        })
    }
}

impl From<Details> for DetailsJson {
    fn from(details: Details) -> DetailsJson {
        let (evidence, refusal_link, import) = match details.proof {
            ProofDetails::Widget(evidence) => (Some(evidence), None, None),
            ProofDetails::RefusalLink(link) => (None, Some(link), None),
            ProofDetails::Import(import) => (None, None, Some(import)),
        };
        DetailsJson {
            recipient_as_typed: details.recipient_as_typed,
            client_ip: details.client_ip,
            evidence,
            name: details.name,
            refusal_link,
            import,
        }
    }
}

impl From<&Proof> for ProofDetails {
    fn from(proof: &Proof) -> ProofDetails {
        match proof {
            Proof::Widget(evidence) => ProofDetails::Widget(evidence.to_wire()),
            Proof::RefusalLink(link) => ProofDetails::RefusalLink(link.clone()),
            Proof::Import(import) => ProofDetails::Import(import.clone()),
        }
    }
}

/// A record in plain text, as the ledger hashes it and as `export` writes it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlainRecord {
    /// The record id.
    pub id: String,
    /// The normalised address.
    pub recipient: String,
    /// The channel.
    pub channel: Channel,
    /// Individual or merchant.
    pub recipient_type: RecipientType,
    /// Granted or rejected.
    pub status: ConsentStatus,
    /// How the consent was obtained: `web` or `mobile` from the widget, İYS's source (in the
    /// vocabulary's words) for an import.
    #[serde(with = "record_source")]
    pub source: Source,
    /// The client's clock at the decision.
    pub consented_at: String,
    /// When the relay received it.
    pub received_at: String,
    /// The date İYS is given.
    pub consent_date: String,
    /// Where that date came from.
    pub consent_date_origin: ConsentDateOrigin,
    /// The sealed details, opened.
    pub details: Details,
}

impl fmt::Debug for Details {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The address as typed, the client's address and the name are personal data.
        formatter
            .debug_struct("Details")
            .field("proof", &self.proof)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for PlainRecord {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The address is personal data and stays out of debug output.
        formatter
            .debug_struct("PlainRecord")
            .field("id", &self.id)
            .field("channel", &self.channel)
            .field("recipient_type", &self.recipient_type)
            .field("status", &self.status)
            .field("source", &self.source)
            .field("consented_at", &self.consented_at)
            .field("received_at", &self.received_at)
            .field("consent_date", &self.consent_date)
            .field("consent_date_origin", &self.consent_date_origin)
            .field("details", &self.details)
            .finish_non_exhaustive()
    }
}

impl PlainRecord {
    /// SHA-256 of the record's canonical JSON, as the ledger keeps it.
    pub fn payload_hash(&self) -> String {
        // Serialising a struct of strings and enums cannot fail.
        let json = serde_json::to_vec(self).unwrap_or_default();
        hex(&Sha256::digest(&json))
    }
}

/// The İYS outcome of a record, as far as it is known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IysOutcome {
    /// `pending` until the forwarder has an answer.
    pub state: IysState,
    /// İYS's transaction id, once accepted.
    pub transaction_id: Option<String>,
    /// İYS's registration time, once accepted.
    pub creation_date: Option<String>,
    /// The H-code or reason, when refused or skipped.
    pub error: Option<String>,
    /// The date the record went to İYS with, when it is not its own consent date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_date: Option<String>,
    /// Whether it went after its registration window.
    #[serde(default)]
    pub late: bool,
    /// İYS's answer to the status query made before a refusal was settled without sending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<StatusEvidence>,
}

/// A stored record with its ledger position and İYS outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    /// The record.
    pub plain: PlainRecord,
    /// Its ledger entry.
    pub ledger_seq: i64,
    /// Its ledger hash, the client's receipt.
    pub ledger_hash: String,
    /// What İYS made of it.
    pub iys: IysOutcome,
}

/// The latest decision for one channel of one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelState {
    /// The channel.
    pub channel: Channel,
    /// Granted or rejected.
    pub status: ConsentStatus,
    /// Its consent date.
    pub consent_date: String,
}

/// A store failure: the database, or a sealed value that does not open.
#[derive(Debug)]
pub enum StoreError {
    /// The database failed.
    Database(sqlx::Error),
    /// A migration failed.
    Migration(sqlx::migrate::MigrateError),
    /// A sealed value does not open.
    Sealed {
        /// The record.
        record_id: String,
        /// Why.
        error: OpenError,
    },
    /// A stored value is not what the relay writes.
    Corrupt(String),
    /// A record repeats a stored id with another payload.
    ConflictingDuplicate(ConflictingDuplicate),
}

impl fmt::Display for StoreError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Database(error) => write!(formatter, "database error: {error}"),
            StoreError::Migration(error) => write!(formatter, "migration failed: {error}"),
            StoreError::Sealed { record_id, error } => {
                write!(formatter, "record {record_id}: {error}")
            }
            StoreError::Corrupt(message) => write!(formatter, "corrupt store: {message}"),
            StoreError::ConflictingDuplicate(conflict) => write!(
                formatter,
                "record {} repeats a stored id with another payload",
                conflict.index
            ),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        StoreError::Database(error)
    }
}

pub(crate) type Transaction<'a> = sqlx::Transaction<'a, sqlx::Any>;

/// Rows per multi-row statement at most: 64 rows of 16 values stay far below both databases'
/// limits on bound values.
const ROWS_PER_STATEMENT: usize = 64;

/// `items` in runs for multi-row statements: as many runs of [`ROWS_PER_STATEMENT`] as fit,
/// then the rest in runs of falling powers of two. Each statement then has one of seven shapes,
/// which the databases' prepared-statement caches keep, whatever the size of the batch.
pub(crate) fn runs<T>(mut items: &[T]) -> Vec<&[T]> {
    let mut runs = Vec::new();
    let mut size = ROWS_PER_STATEMENT;
    while !items.is_empty() {
        while size > items.len() {
            size /= 2;
        }
        let (run, rest) = items.split_at(size);
        runs.push(run);
        items = rest;
    }
    runs
}

/// `INSERT INTO {table_and_columns} VALUES (...), (...)` for `rows` rows of `columns`.
pub(crate) fn insert_sql(
    backend: Backend,
    table_and_columns: &str,
    columns: usize,
    rows: usize,
) -> String {
    let rows: Vec<String> = (0..rows)
        .map(|row| values(backend, row * columns + 1, columns))
        .collect();
    format!("INSERT INTO {table_and_columns} VALUES {}", rows.join(", "))
}

/// `count` values of a statement in parentheses, the first being its `first`th: `($1, $2)` in
/// Postgres, plain `(?, ?)` in SQLite, where binding a numbered parameter looks its name up in a
/// list as long as the statement's, which makes a statement of many values cost the square of
/// their number to bind.
fn values(backend: Backend, first: usize, count: usize) -> String {
    let placeholders: Vec<String> = (first..first + count)
        .map(|number| match backend {
            Backend::Postgres => format!("${number}"),
            Backend::Sqlite => "?".to_owned(),
        })
        .collect();
    format!("({})", placeholders.join(", "))
}

/// What a stored record answers a repeat with: its first consent date and ledger hash, and the
/// digest of its payload (none for records stored before digests were kept).
#[derive(Debug, Clone)]
struct FirstReceipt {
    consent_date: String,
    receipt: String,
    payload_digest: Option<String>,
}

/// The first receipt of each of `ids` already stored.
async fn stored_receipts(
    transaction: &mut Transaction<'_>,
    backend: Backend,
    ids: &[String],
) -> Result<std::collections::HashMap<String, FirstReceipt>, StoreError> {
    let mut found = std::collections::HashMap::new();
    for chunk in runs(ids) {
        let sql = format!(
            "SELECT id, consent_date, ledger_hash, payload_digest FROM consents WHERE id IN {}",
            values(backend, 1, chunk.len())
        );
        let mut select = sqlx::query(&sql);
        for id in chunk {
            select = select.bind(id.clone());
        }
        for row in select.fetch_all(&mut **transaction).await? {
            found.insert(
                row.try_get("id")?,
                FirstReceipt {
                    consent_date: row.try_get("consent_date")?,
                    receipt: row.try_get("ledger_hash")?,
                    payload_digest: row.try_get("payload_digest")?,
                },
            );
        }
    }
    Ok(found)
}

/// What a client sent for a record, canonically: everything but what the relay adds.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SentPayload<'a> {
    id: &'a str,
    channel: Channel,
    recipient: &'a str,
    recipient_type: RecipientType,
    status: ConsentStatus,
    consented_at: &'a str,
    #[serde(with = "record_source")]
    source: Source,
    #[serde(skip_serializing_if = "Option::is_none")]
    evidence: Option<&'a WireEvidence>,
    /// Left out when absent, so records without a name keep the digest they had.
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refusal_link: Option<&'a LinkRefusal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    import: Option<&'a ImportEvidence>,
}

/// A request the store refused because one of its records repeats a stored id with another
/// payload; nothing of it was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConflictingDuplicate {
    /// The record's position in its request.
    pub index: usize,
}

/// The proof store.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    keyring: Keyring,
    index: IndexKey,
}

impl Store {
    /// Connects, applies migrations, and loads (or on first use creates) the index key.
    pub async fn open(
        url: &str,
        keyring: Keyring,
        max_connections: u32,
    ) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };
        let url = match backend {
            Backend::Sqlite if !url.contains('?') => format!("{url}?mode=rwc"),
            _ => url.to_owned(),
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = AnyPoolOptions::new()
            // A connection that cannot be had soon is an unavailable database, reported as
            // such, not a request left waiting.
            .acquire_timeout(std::time::Duration::from_secs(5))
            .max_connections(match backend {
                Backend::Sqlite => max_connections.clamp(1, 8),
                Backend::Postgres => max_connections.max(1),
            })
            // A connection whose transaction could not be rolled back is closed, not reused:
            // SQLite rolls a transaction back by itself after an I/O error (a full disk), its
            // ROLLBACK then fails, and sqlx, still counting the transaction open, would begin
            // every later one as a savepoint inside it, so that commits acknowledged nothing.
            .before_acquire(|connection, _| {
                Box::pin(async move { Ok(!sqlx::Connection::is_in_transaction(connection)) })
            })
            .after_connect(move |connection, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers run beside the writer; FULL makes each commit durable.
                        connection
                            .execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;")
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        let migrator = match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&pool).await.map_err(StoreError::Migration)?;
        if backend == Backend::Sqlite {
            erase_freed_pages(&pool).await?;
        }
        let index = load_index_key(&pool, &keyring).await?;
        let store = Store {
            pool,
            backend,
            keyring,
            index,
        };
        store.upgrade_ledger(crate::clock::system_clock()()).await?;
        Ok(store)
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The id of an imported decision: a version-7 UUID dated `at` whose random bits are the
    /// keyed hash of its `identity`, so the same decision imported again has the same id and
    /// nobody without the key can tell an address from it.
    pub fn import_id(&self, identity: &str, at: Timestamp) -> consent_core::RecordId {
        let digest = self.index.keyed_digest(b"import", identity.as_bytes());
        let mut random = [0_u8; 10];
        random.copy_from_slice(&digest[..10]);
        consent_core::RecordId::v7(at.unix_millis().max(0) as u64, random)
    }

    /// The keys personal data is sealed with, and those refusal links are made with.
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// The connection pool, for health checks and tests.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The lookup hash of a normalised address.
    pub fn recipient_hash(&self, normalised: &str) -> Vec<u8> {
        self.index.recipient_hash(normalised)
    }

    /// Whether the database answers.
    pub async fn health(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Whether the database commits a small write: the writer's probe while commits fail.
    pub async fn probe_commit(&self) -> Result<(), StoreError> {
        let mut transaction = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO relay_meta (name, value) VALUES ('writer_probe', $1) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        )
        .bind(crate::clock::system_clock()().unix_millis().to_be_bytes().to_vec())
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(())
    }

    /// Stores a batch in one transaction: new ids are stored and appended to the ledger, ids
    /// stored before (or earlier in the same batch) come back as duplicates with their first
    /// receipt. The receipts are in the order of `batch`. A record repeating a stored id with
    /// another payload fails the whole batch with [`StoreError::ConflictingDuplicate`].
    pub async fn store_batch(
        &self,
        batch: &[NewConsent],
    ) -> Result<Vec<StoredReceipt>, StoreError> {
        let mut outcomes = self.store_requests(&[batch]).await?;
        match outcomes.pop() {
            Some(Ok(receipts)) => Ok(receipts),
            Some(Err(conflict)) => Err(StoreError::ConflictingDuplicate(conflict)),
            None => Ok(Vec::new()),
        }
    }

    /// Stores the records of several requests in one transaction, each request whole or not at
    /// all: a request one of whose records repeats a stored id with another payload stores
    /// nothing and gets [`ConflictingDuplicate`], and the others are stored.
    ///
    /// The rows go in with a few multi-row statements rather than two per record: each
    /// statement is a round trip to the database (for SQLite, to its worker thread). Ids are
    /// told apart from those stored before by reading, not by a conflict on insert, which the
    /// ledger head's lock makes safe: every insert of a record happens under it.
    pub async fn store_requests(
        &self,
        requests: &[&[NewConsent]],
    ) -> Result<Vec<Result<Vec<StoredReceipt>, ConflictingDuplicate>>, StoreError> {
        let mut transaction = self.pool.begin().await?;
        let mut head =
            LedgerHead::lock(&mut transaction, self.backend, self.keyring.ledger()).await?;
        let outcomes = self
            .insert_requests(&mut transaction, &mut head, requests)
            .await?;
        transaction.commit().await?;
        Ok(outcomes)
    }

    /// Stores a refusal given through a link, one record per channel, for the channels whose
    /// latest decision is not a refusal already; the check and the storing are one transaction
    /// under the ledger's lock, so two clicks at once store one refusal. Returns the receipts of
    /// the records stored: none when every channel had refused already.
    pub async fn store_refusal(
        &self,
        refusals: &[NewConsent],
    ) -> Result<Vec<StoredReceipt>, StoreError> {
        let mut transaction = self.pool.begin().await?;
        let mut head =
            LedgerHead::lock(&mut transaction, self.backend, self.keyring.ledger()).await?;
        let mut pending = Vec::with_capacity(refusals.len());
        for refusal in refusals {
            let record = &refusal.record;
            let hash = self.index.recipient_hash(&record.recipient().normalised());
            let latest = latest_decision(
                &mut transaction,
                &hash,
                record.channel(),
                record.recipient_type(),
            )
            .await?;
            if latest.is_none_or(|(_, state)| state.status != ConsentStatus::Rejected) {
                pending.push(refusal.clone());
            }
        }
        if pending.is_empty() {
            return Ok(Vec::new());
        }
        let mut outcomes = self
            .insert_requests(&mut transaction, &mut head, &[&pending])
            .await?;
        transaction.commit().await?;
        match outcomes.pop() {
            Some(Ok(receipts)) => Ok(receipts),
            Some(Err(conflict)) => Err(StoreError::ConflictingDuplicate(conflict)),
            None => Ok(Vec::new()),
        }
    }

    /// The body of [`Store::store_requests`], inside a transaction that holds the ledger's lock;
    /// the caller commits.
    async fn insert_requests(
        &self,
        transaction: &mut sqlx::Transaction<'_, sqlx::Any>,
        head: &mut LedgerHead,
        requests: &[&[NewConsent]],
    ) -> Result<Vec<Result<Vec<StoredReceipt>, ConflictingDuplicate>>, StoreError> {
        let ledger_key = self.keyring.ledger().current();
        let ids: Vec<String> = requests
            .iter()
            .flat_map(|request| request.iter())
            .map(|new| new.record.id().to_string())
            .collect();
        let mut first_receipts = stored_receipts(transaction, self.backend, &ids).await?;
        let mut outcomes = Vec::with_capacity(requests.len());
        let mut rows = Vec::new();
        for request in requests {
            let plains: Vec<PlainRecord> = request.iter().map(plain_record).collect();
            let digests: Vec<String> = plains
                .iter()
                .map(|plain| self.payload_digest(plain))
                .collect();
            // Whole or not at all: look for a conflict before storing any record of it.
            let mut seen_here: std::collections::HashMap<&str, &str> =
                std::collections::HashMap::new();
            let conflict = plains.iter().zip(&digests).position(|(plain, digest)| {
                let earlier = first_receipts
                    .get(&plain.id)
                    .and_then(|first| first.payload_digest.as_deref())
                    .or_else(|| seen_here.get(plain.id.as_str()).copied());
                seen_here.entry(&plain.id).or_insert(digest);
                earlier.is_some_and(|earlier| earlier != digest)
            });
            if let Some(index) = conflict {
                outcomes.push(Err(ConflictingDuplicate { index }));
                continue;
            }
            let mut receipts = Vec::with_capacity(request.len());
            for ((new, plain), digest) in request.iter().zip(plains).zip(digests) {
                let id = plain.id.clone();
                if let Some(first) = first_receipts.get(&id) {
                    receipts.push(StoredReceipt {
                        consent_date: first.consent_date.clone(),
                        receipt: first.receipt.clone(),
                        id,
                        outcome: Outcome::Duplicate,
                    });
                    continue;
                }
                let at_ms = new.received_at.unix_millis();
                let recipient_hash = self.index.recipient_hash(&plain.recipient);
                let facts = RecordFacts::of(
                    &plain,
                    &recipient_hash,
                    new.consent_date.to_instant().unix_millis(),
                    new.record.consented_at().unix_millis(),
                    at_ms,
                    ledger_key,
                );
                let entry = head.advance(kind::STORED, &id, facts_text(&facts), at_ms);
                first_receipts.insert(
                    id.clone(),
                    FirstReceipt {
                        consent_date: plain.consent_date.clone(),
                        receipt: entry.hash.clone(),
                        payload_digest: Some(digest.clone()),
                    },
                );
                receipts.push(StoredReceipt {
                    id: id.clone(),
                    outcome: Outcome::Stored,
                    consent_date: plain.consent_date.clone(),
                    receipt: entry.hash.clone(),
                });
                rows.push((new, plain, entry, digest));
            }
            outcomes.push(Ok(receipts));
        }
        for chunk in runs(&rows) {
            let sql = insert_sql(
                self.backend,
                "consents (id, recipient_hash, recipient_sealed, channel, recipient_type, status, source, consented_at_ms, received_at_ms, consent_date, consent_date_origin, consent_at_ms, details_sealed, key_id, ledger_seq, ledger_hash, payload_digest, proof)",
                18,
                chunk.len(),
            );
            let mut insert = sqlx::query(&sql);
            for (new, plain, entry, digest) in chunk {
                let id = &entry.record_id;
                let details = serde_json::to_vec(&plain.details).unwrap_or_default();
                insert = insert
                    .bind(id.clone())
                    .bind(self.index.recipient_hash(&plain.recipient))
                    .bind(
                        self.keyring
                            .seal(plain.recipient.as_bytes(), &context("recipient", id)),
                    )
                    .bind(plain.channel.as_str())
                    .bind(plain.recipient_type.as_str())
                    .bind(plain.status.as_str())
                    .bind(plain.source.record_name())
                    .bind(new.record.consented_at().unix_millis())
                    .bind(entry.at_ms)
                    .bind(plain.consent_date.clone())
                    .bind(new.consent_date_origin.as_str())
                    .bind(new.consent_date.to_instant().unix_millis())
                    .bind(self.keyring.seal(&details, &context("details", id)))
                    .bind(i64::from(self.keyring.current_key_id()))
                    .bind(entry.seq)
                    .bind(entry.hash.clone())
                    .bind(digest.clone())
                    .bind(plain.details.proof.kind());
            }
            insert.execute(&mut **transaction).await?;
        }
        // Imported records İYS holds already are settled as such at once, each with its entry.
        let mut settled = Vec::new();
        for (_, _, entry, _) in rows.iter().filter(|(new, _, _, _)| new.registered) {
            let settlement = forwarding::Settlement::with_code(IysState::Imported, None);
            sqlx::query("UPDATE consents SET iys_state = $1, iys_updated_at_ms = $2 WHERE id = $3")
                .bind(IysState::Imported.as_str())
                .bind(entry.at_ms)
                .bind(entry.record_id.clone())
                .execute(&mut **transaction)
                .await?;
            settled.push(head.advance(
                kind::IYS,
                &entry.record_id,
                facts_text(&ledger::IysFacts::from(&settlement)),
                entry.at_ms,
            ));
        }
        // The first record with each registered text dates it in the register.
        let mut used = std::collections::BTreeSet::new();
        for (new, _, entry, _) in &rows {
            if let Some(evidence) = new.record.evidence() {
                used.insert((
                    evidence.text_sha256().to_owned(),
                    new.record.channel(),
                    evidence.locale(),
                    entry.at_ms,
                ));
            }
        }
        let mut dated = std::collections::BTreeSet::new();
        for (sha256, channel, locale, at_ms) in used {
            if !dated.insert((sha256.clone(), channel, locale)) {
                continue;
            }
            sqlx::query(
                "UPDATE consent_texts SET first_used_at_ms = $1 WHERE sha256 = $2 AND channel = $3 AND locale = $4 AND first_used_at_ms IS NULL",
            )
            .bind(at_ms)
            .bind(sha256)
            .bind(channel.as_str())
            .bind(locale.as_str())
            .execute(&mut **transaction)
            .await?;
        }
        let mut entries: Vec<LedgerEntry> =
            rows.into_iter().map(|(_, _, entry, _)| entry).collect();
        entries.extend(settled);
        head.insert(transaction, &entries).await?;
        head.save(transaction).await?;
        Ok(outcomes)
    }

    /// A keyed digest of what the client sent for `plain`: it holds the address, so a plain
    /// hash could be reversed by trying every phone number.
    fn payload_digest(&self, plain: &PlainRecord) -> String {
        let sent = SentPayload {
            id: &plain.id,
            channel: plain.channel,
            recipient: &plain.details.recipient_as_typed,
            recipient_type: plain.recipient_type,
            status: plain.status,
            consented_at: &plain.consented_at,
            source: plain.source,
            evidence: match &plain.details.proof {
                ProofDetails::Widget(evidence) => Some(evidence),
                _ => None,
            },
            name: plain.details.name.as_deref(),
            refusal_link: match &plain.details.proof {
                ProofDetails::RefusalLink(link) => Some(link),
                _ => None,
            },
            import: match &plain.details.proof {
                ProofDetails::Import(import) => Some(import),
                _ => None,
            },
        };
        // Serialising a struct of strings and enums cannot fail.
        let json = serde_json::to_vec(&sent).unwrap_or_default();
        hex(&self.index.keyed_digest(b"payload", &json))
    }

    /// The latest decision per channel for the given addresses and recipient type: the newest
    /// of the records the relay received and the movements made in İYS itself.
    pub async fn current_state(
        &self,
        addresses: &[(Channel, String)],
        recipient_type: RecipientType,
    ) -> Result<Vec<ChannelState>, StoreError> {
        let mut connection = self.pool.acquire().await?;
        let mut states = Vec::new();
        for (channel, normalised) in addresses {
            let hash = self.index.recipient_hash(normalised);
            let latest = latest_decision(&mut connection, &hash, *channel, recipient_type).await?;
            states.extend(latest.map(|(_, state)| state));
        }
        Ok(states)
    }

    /// Every stored record whose consent date lies in `[from, to)`, oldest first, opened.
    pub async fn records(
        &self,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
    ) -> Result<Vec<StoredRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM consents WHERE consent_at_ms >= $1 AND consent_at_ms < $2 ORDER BY consent_at_ms, ledger_seq",
        )
        .bind(from.map_or(i64::MIN, Timestamp::unix_millis))
        .bind(to.map_or(i64::MAX, Timestamp::unix_millis))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| self.open_row(row)).collect()
    }

    /// Opens one consents row.
    fn open_row(&self, row: &sqlx::any::AnyRow) -> Result<StoredRecord, StoreError> {
        let id: String = row.try_get("id")?;
        let sealed_error = |error| StoreError::Sealed {
            record_id: id.clone(),
            error,
        };
        let recipient_sealed: Vec<u8> = row.try_get("recipient_sealed")?;
        let recipient = self
            .keyring
            .open(&recipient_sealed, &context("recipient", &id))
            .map_err(sealed_error)?;
        let details_sealed: Vec<u8> = row.try_get("details_sealed")?;
        let details = self
            .keyring
            .open(&details_sealed, &context("details", &id))
            .map_err(sealed_error)?;
        let details: Details = serde_json::from_slice(&details)
            .map_err(|error| StoreError::Corrupt(format!("record {id}: details: {error}")))?;
        let consent_date_origin = match row.try_get::<String, _>("consent_date_origin")?.as_str() {
            "client" => ConsentDateOrigin::Client,
            "receipt" => ConsentDateOrigin::Receipt,
            "file" => ConsentDateOrigin::File,
            other => {
                return Err(StoreError::Corrupt(format!(
                    "record {id}: consent date origin {other}"
                )));
            }
        };
        let plain = PlainRecord {
            recipient: String::from_utf8(recipient)
                .map_err(|_| StoreError::Corrupt(format!("record {id}: recipient is not UTF-8")))?,
            channel: parse_column(row, "channel")?,
            recipient_type: parse_column(row, "recipient_type")?,
            status: parse_column(row, "status")?,
            source: {
                let name: String = row.try_get("source")?;
                Source::from_record_name(&name)
                    .ok_or_else(|| StoreError::Corrupt(format!("record {id}: source {name}")))?
            },
            consented_at: Timestamp::from_unix_millis(row.try_get("consented_at_ms")?).to_rfc3339(),
            received_at: Timestamp::from_unix_millis(row.try_get("received_at_ms")?).to_rfc3339(),
            consent_date: row.try_get("consent_date")?,
            consent_date_origin,
            details,
            id,
        };
        Ok(StoredRecord {
            plain,
            ledger_seq: row.try_get("ledger_seq")?,
            ledger_hash: row.try_get("ledger_hash")?,
            iys: IysOutcome {
                state: parse_column(row, "iys_state")?,
                transaction_id: row.try_get("iys_transaction_id")?,
                creation_date: row.try_get("iys_creation_date")?,
                error: row.try_get("iys_error")?,
                sent_date: row.try_get("iys_sent_date")?,
                late: row.try_get::<i64, _>("iys_late")? != 0,
                evidence: row
                    .try_get::<Option<String>, _>("iys_evidence")?
                    .map(|text| serde_json::from_str(&text))
                    .transpose()
                    .map_err(|_| StoreError::Corrupt("column iys_evidence".to_owned()))?,
            },
        })
    }

    /// Removes every record whose consent ended (by a refusal for the same address, channel and
    /// recipient type) more than `retention_days` before `now`, leaving a ledger entry for each
    /// that names the refusal that ended it, so `verify` can check the purge against the rule.
    pub async fn purge(
        &self,
        now: Timestamp,
        retention_days: u32,
    ) -> Result<PurgeReport, StoreError> {
        let cutoff = now.unix_millis() - i64::from(retention_days) * 86_400_000;
        // The newest refusal old enough of each key ends the records before it, itself included.
        let endings = sqlx::query(
            "SELECT id, recipient_hash, channel, recipient_type, consent_at_ms FROM consents c \
             WHERE c.status = 'rejected' AND c.consent_at_ms < $1 AND NOT EXISTS (SELECT 1 FROM consents d \
                 WHERE d.status = 'rejected' AND d.consent_at_ms < $2 AND d.recipient_hash = c.recipient_hash \
                 AND d.channel = c.channel AND d.recipient_type = c.recipient_type \
                 AND (d.consent_at_ms > c.consent_at_ms OR (d.consent_at_ms = c.consent_at_ms AND d.ledger_seq > c.ledger_seq)))",
        )
        .bind(cutoff)
        .bind(cutoff)
        .fetch_all(&self.pool)
        .await?;
        let mut report = PurgeReport::default();
        for ending in endings {
            let ended_by: String = ending.try_get("id")?;
            let recipient_hash: Vec<u8> = ending.try_get("recipient_hash")?;
            let channel: String = ending.try_get("channel")?;
            let recipient_type: String = ending.try_get("recipient_type")?;
            let ended_at: i64 = ending.try_get("consent_at_ms")?;
            let mut transaction = self.pool.begin().await?;
            let mut head =
                LedgerHead::lock(&mut transaction, self.backend, self.keyring.ledger()).await?;
            let doomed = sqlx::query(
                "SELECT id FROM consents WHERE recipient_hash = $1 AND channel = $2 AND recipient_type = $3 AND consent_at_ms <= $4 ORDER BY consent_at_ms, ledger_seq",
            )
            .bind(recipient_hash.clone())
            .bind(channel.clone())
            .bind(recipient_type.clone())
            .bind(ended_at)
            .fetch_all(&mut *transaction)
            .await?;
            let facts = facts_text(&PurgeFacts {
                ended_by: ended_by.clone(),
                ended_at_ms: ended_at,
                retention_days,
            });
            let mut notices = std::collections::BTreeSet::new();
            for row in doomed {
                let id: String = row.try_get("id")?;
                let notice =
                    sqlx::query("SELECT notice_id FROM notice_consents WHERE record_id = $1")
                        .bind(id.clone())
                        .fetch_optional(&mut *transaction)
                        .await?;
                if let Some(notice) = notice {
                    notices.insert(notice.try_get::<String, _>("notice_id")?);
                }
                sqlx::query("DELETE FROM consents WHERE id = $1")
                    .bind(id.clone())
                    .execute(&mut *transaction)
                    .await?;
                head.append(
                    &mut transaction,
                    kind::PURGED,
                    &id,
                    facts.clone(),
                    now.unix_millis(),
                )
                .await?;
                report.purged += 1;
            }
            // A notice goes with the last of the records it told of; its ledger entry stays.
            for notice in notices {
                let gone = sqlx::query(
                    "DELETE FROM notices WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM notice_consents n JOIN consents c ON c.id = n.record_id WHERE n.notice_id = $1)",
                )
                .bind(notice.clone())
                .execute(&mut *transaction)
                .await?
                .rows_affected();
                if gone == 1 {
                    sqlx::query("DELETE FROM notice_consents WHERE notice_id = $1")
                        .bind(notice)
                        .execute(&mut *transaction)
                        .await?;
                }
            }
            head.save(&mut transaction).await?;
            transaction.commit().await?;
        }
        Ok(report)
    }
}

/// What `purge` removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgeReport {
    /// Records removed.
    pub purged: u64,
}

fn context(column: &str, id: &str) -> String {
    format!("consents.{column}/{id}")
}

fn parse_column<T: FromStr>(row: &sqlx::any::AnyRow, column: &str) -> Result<T, StoreError> {
    let text: String = row.try_get(column)?;
    text.parse()
        .map_err(|_| StoreError::Corrupt(format!("column {column} holds an unknown value")))
}

fn plain_record(new: &NewConsent) -> PlainRecord {
    let record = &new.record;
    PlainRecord {
        id: record.id().to_string(),
        recipient: record.recipient().normalised(),
        channel: record.channel(),
        recipient_type: record.recipient_type(),
        status: record.status(),
        source: record.source(),
        consented_at: record.consented_at().to_rfc3339(),
        received_at: new.received_at.to_rfc3339(),
        consent_date: new.consent_date.to_string(),
        consent_date_origin: new.consent_date_origin,
        details: Details {
            recipient_as_typed: record.recipient_as_typed().to_owned(),
            client_ip: new.client_ip.map(|ip| ip.to_string()),
            proof: ProofDetails::from(record.proof()),
            name: record.name().map(str::to_owned),
        },
    }
}

/// The latest decision for one channel of one address (by its lookup hash) and recipient type,
/// with its instant: the newest of the records the relay received and the movements made in İYS
/// itself.
async fn latest_decision(
    connection: &mut sqlx::AnyConnection,
    hash: &[u8],
    channel: Channel,
    recipient_type: RecipientType,
) -> Result<Option<(i64, ChannelState)>, StoreError> {
    let mut latest: Option<(i64, ChannelState)> = None;
    for query in [
        "SELECT status, consent_date, consent_at_ms FROM consents WHERE recipient_hash = $1 AND channel = $2 AND recipient_type = $3 ORDER BY consent_at_ms DESC, ledger_seq DESC LIMIT 1",
        "SELECT status, consent_date, consent_at_ms FROM iys_movements WHERE recipient_hash = $1 AND channel = $2 AND recipient_type = $3 ORDER BY consent_at_ms DESC LIMIT 1",
    ] {
        let row = sqlx::query(query)
            .bind(hash.to_vec())
            .bind(channel.as_str())
            .bind(recipient_type.as_str())
            .fetch_optional(&mut *connection)
            .await?;
        if let Some(row) = row {
            let at: i64 = row.try_get("consent_at_ms")?;
            if latest.as_ref().is_none_or(|(known, _)| at > *known) {
                latest = Some((
                    at,
                    ChannelState {
                        channel,
                        status: parse_column(&row, "status")?,
                        consent_date: row.try_get("consent_date")?,
                    },
                ));
            }
        }
    }
    Ok(latest)
}

/// SQLite keeps the pages it frees as they were until it reuses them, so the batch bodies that
/// migration 4 dropped, which held addresses in clear, would stay in the file. The first start
/// after that migration rewrites the file once and empties the write-ahead log.
async fn erase_freed_pages(pool: &AnyPool) -> Result<(), StoreError> {
    const DONE: &str = "freed_pages_erased";
    let done = sqlx::query("SELECT 1 AS done FROM relay_meta WHERE name = $1")
        .bind(DONE)
        .fetch_optional(pool)
        .await?;
    if done.is_some() {
        return Ok(());
    }
    let mut connection = pool.acquire().await?;
    connection.execute("VACUUM").await?;
    connection
        .execute("PRAGMA wal_checkpoint(TRUNCATE)")
        .await?;
    sqlx::query(
        "INSERT INTO relay_meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
    )
    .bind(DONE)
    .bind(vec![1_u8])
    .execute(&mut *connection)
    .await?;
    Ok(())
}

async fn load_index_key(pool: &AnyPool, keyring: &Keyring) -> Result<IndexKey, StoreError> {
    const CONTEXT: &str = "relay_meta.index_key";
    let existing = sqlx::query("SELECT value FROM relay_meta WHERE name = 'index_key'")
        .fetch_optional(pool)
        .await?;
    if let Some(row) = existing {
        let sealed: Vec<u8> = row.try_get("value")?;
        let bytes = keyring
            .open(&sealed, CONTEXT)
            .map_err(|error| StoreError::Sealed {
                record_id: "index_key".to_owned(),
                error,
            })?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| StoreError::Corrupt("index key has the wrong length".to_owned()))?;
        // After a rotation, reseal the index key under the current data key.
        if Keyring::key_id_of(&sealed) != Some(keyring.current_key_id()) {
            sqlx::query("UPDATE relay_meta SET value = $1 WHERE name = 'index_key'")
                .bind(keyring.seal(&bytes, CONTEXT))
                .execute(pool)
                .await?;
        }
        return Ok(IndexKey::from_bytes(bytes));
    }
    let key = IndexKey::generate();
    sqlx::query("INSERT INTO relay_meta (name, value) VALUES ('index_key', $1) ON CONFLICT (name) DO NOTHING")
        .bind(keyring.seal(key.as_bytes(), CONTEXT))
        .execute(pool)
        .await?;
    // Another instance may have won the race; read back whichever key was stored.
    Box::pin(load_index_key(pool, keyring)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn widget_details() -> Details {
        Details {
            recipient_as_typed: "0532 123 45 67".to_owned(),
            client_ip: None,
            proof: ProofDetails::Widget(WireEvidence {
                text: "t".to_owned(),
                text_sha256: consent_core::record::text_sha256("t"),
                text_version: "1".to_owned(),
                locale: consent_core::Locale::Turkish,
                page_url: "https://shop.test/".to_owned(),
                form_id: "f".to_owned(),
                mode: consent_core::Mode::Checkout,
                user_agent: "u".to_owned(),
                sdk_version: "0.1.0".to_owned(),
            }),
            name: None,
        }
    }

    #[test]
    fn widget_details_seal_the_shape_they_always_had() {
        let json = serde_json::to_string(&widget_details()).unwrap_or_default();
        assert!(
            json.starts_with(
                r#"{"recipientAsTyped":"0532 123 45 67","clientIp":null,"evidence":{"text":"t","#
            ),
            "{json}"
        );
        assert!(
            !json.contains("refusalLink") && !json.contains("name"),
            "{json}"
        );
        assert_eq!(
            serde_json::from_str::<Details>(&json).ok(),
            Some(widget_details())
        );
    }

    #[test]
    fn details_hold_exactly_one_kind_of_proof() {
        let json = serde_json::to_value(widget_details()).unwrap_or_default();
        let mut none = json.clone();
        none.as_object_mut().map(|object| object.remove("evidence"));
        assert!(serde_json::from_value::<Details>(none).is_err());
        let mut both = json.clone();
        both["refusalLink"] = serde_json::json!({
            "action": "button", "text": "", "textSha256": "", "locale": "tr", "userAgent": ""
        });
        assert!(serde_json::from_value::<Details>(both).is_err());
        let mut unknown = json;
        unknown["extra"] = serde_json::json!(1);
        assert!(serde_json::from_value::<Details>(unknown).is_err());
    }

    #[test]
    fn runs_take_full_statements_then_falling_powers_of_two() {
        let sizes = |count: usize| -> Vec<usize> {
            let items = vec![0_u8; count];
            runs(&items).iter().map(|run| run.len()).collect()
        };
        assert_eq!(sizes(0), Vec::<usize>::new());
        assert_eq!(sizes(1), [1]);
        assert_eq!(sizes(64), [64]);
        assert_eq!(sizes(200), [64, 64, 64, 8]);
        assert_eq!(sizes(63), [32, 16, 8, 4, 2, 1]);
        for count in 0..1_100 {
            let sizes = sizes(count);
            assert_eq!(sizes.iter().sum::<usize>(), count);
            assert!(
                sizes
                    .iter()
                    .all(|size| size.is_power_of_two() && *size <= 64)
            );
        }
    }

    #[test]
    fn insert_sql_numbers_the_values_row_by_row() {
        assert_eq!(
            insert_sql(Backend::Postgres, "t (a, b)", 2, 2),
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)"
        );
        assert_eq!(
            insert_sql(Backend::Sqlite, "t (a, b)", 2, 2),
            "INSERT INTO t (a, b) VALUES (?, ?), (?, ?)"
        );
    }
}
