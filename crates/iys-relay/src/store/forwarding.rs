//! The store's side of forwarding to İYS: claiming records, recording outcomes, what İYS holds,
//! the shared request budget, and movements pulled from İYS.

use consent_core::iys::HeldConsent;
use consent_core::time::{IysDateTime, Timestamp};
use consent_core::{Channel, ConsentStatus, Recipient, RecipientType};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::ledger::{IysFacts, LedgerHead, PulledFacts, facts_text};
use super::{Store, StoreError, context, hex, kind, parse_column};

/// Who may settle a record.
#[derive(Debug, Clone, Copy)]
pub enum Holder<'a> {
    /// The instance that claimed it.
    Claimant(&'a str),
    /// Whoever reads its batch's results.
    Batch,
}

/// Where a record stands with İYS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IysState {
    /// Waiting to be sent, or to be sent again.
    Pending,
    /// Sent in one of İYS's asynchronous batches; its result is not read yet.
    Batched,
    /// İYS registered it.
    Accepted,
    /// İYS refused it for good, with the H-code kept.
    Refused,
    /// Nothing to send: İYS, asked, holds nothing to refuse (H175) or a refusal already (H174).
    Skipped,
    /// A consent older than what İYS holds: a later decision stands (H178).
    Superseded,
    /// A consent past İYS's three-business-day window, held for the operator (H467).
    MissedDeadline,
    /// An imported record the shop said İYS holds already (`import --registered`): never sent.
    Imported,
}

impl IysState {
    /// The name stored in the database and shown in exports and metrics.
    pub const fn as_str(self) -> &'static str {
        match self {
            IysState::Pending => "pending",
            IysState::Batched => "batched",
            IysState::Accepted => "accepted",
            IysState::Refused => "refused",
            IysState::Skipped => "skipped",
            IysState::Superseded => "superseded",
            IysState::MissedDeadline => "missed_deadline",
            IysState::Imported => "imported",
        }
    }

    /// Every state, in the order metrics list them.
    pub const ALL: [IysState; 8] = [
        IysState::Pending,
        IysState::Batched,
        IysState::Accepted,
        IysState::Refused,
        IysState::Skipped,
        IysState::Superseded,
        IysState::MissedDeadline,
        IysState::Imported,
    ];

    /// Whether the record is settled with İYS: nothing more will be sent for it.
    pub const fn is_settled(self) -> bool {
        !matches!(self, IysState::Pending | IysState::Batched)
    }
}

impl std::fmt::Display for IysState {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl std::str::FromStr for IysState {
    type Err = ();

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        IysState::ALL
            .into_iter()
            .find(|state| state.as_str() == text)
            .ok_or(())
    }
}

/// What İYS answered to the single status query the relay made before settling a refusal
/// without sending it: the proof that İYS, not the relay's own records, said there was nothing
/// to refuse. It holds no address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusEvidence {
    /// When the relay asked, RFC 3339.
    pub asked_at: String,
    /// İYS's HTTP status.
    pub http_status: u16,
    /// İYS's H-code, when it answered with an error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// What İYS holds, when it holds something.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<HeldEvidence>,
}

/// The consent or refusal İYS said it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeldEvidence {
    /// Granted or rejected.
    pub status: ConsentStatus,
    /// Its consent date, `YYYY-MM-DD HH:mm:ss`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent_date: Option<String>,
    /// When İYS registered it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_date: Option<String>,
    /// İYS's id of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
}

/// How a record was settled with İYS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    /// The final state.
    pub state: IysState,
    /// İYS's transaction id, once accepted.
    pub transaction_id: Option<String>,
    /// İYS's registration time, once accepted.
    pub creation_date: Option<String>,
    /// The H-code that settled it, when it was not accepted.
    pub error: Option<String>,
    /// The date the record went to İYS with, when it is not its own consent date: a refusal
    /// sent after its window goes dated at the moment of sending, and one over a consent of the
    /// same second goes dated the second after.
    pub sent_date: Option<IysDateTime>,
    /// Whether the record reached İYS (or was settled) after its registration window.
    pub late: bool,
    /// İYS's answer to the status query made before a refusal was settled without sending.
    pub evidence: Option<StatusEvidence>,
}

impl Settlement {
    /// İYS registered the record.
    pub fn accepted(transaction_id: Option<String>, creation_date: Option<String>) -> Settlement {
        Settlement {
            state: IysState::Accepted,
            transaction_id,
            creation_date,
            ..Settlement::with_code(IysState::Accepted, None)
        }
    }

    /// Settled in `state` with `code`, nothing registered.
    pub fn with_code(state: IysState, code: Option<&str>) -> Settlement {
        Settlement {
            state,
            transaction_id: None,
            creation_date: None,
            error: code.map(str::to_owned),
            sent_date: None,
            late: false,
            evidence: None,
        }
    }

    /// The same, sent with `sent_date` (left out when it is the record's own date) and `late`.
    pub fn sent(mut self, sent_date: Option<IysDateTime>, late: bool) -> Settlement {
        self.sent_date = sent_date;
        self.late = late;
        self
    }

    /// The same, with İYS's answer to the status query as evidence, when one was asked.
    pub fn with_evidence(mut self, evidence: Option<&StatusEvidence>) -> Settlement {
        self.evidence = evidence.cloned();
        self
    }
}

/// A record claimed for forwarding.
#[derive(Debug, Clone)]
pub struct Claimed {
    /// The record id.
    pub id: String,
    /// The address, opened.
    pub recipient: Recipient,
    /// Its lookup hash.
    pub recipient_hash: Vec<u8>,
    /// The channel.
    pub channel: Channel,
    /// Individual or merchant.
    pub recipient_type: RecipientType,
    /// Granted or rejected.
    pub status: ConsentStatus,
    /// How the consent was obtained.
    pub source: consent_core::Source,
    /// The date İYS is given.
    pub consent_date: IysDateTime,
    /// Tries so far.
    pub attempts: u32,
    /// Whether İYS already called it late, so that it goes dated at the moment of sending.
    pub late: bool,
}

/// A movement made in İYS, as pull reports it.
#[derive(Clone)]
pub struct PulledMovement {
    /// İYS's id.
    pub transaction_id: String,
    /// The normalised address.
    pub recipient: String,
    /// The channel.
    pub channel: Channel,
    /// Individual or merchant.
    pub recipient_type: RecipientType,
    /// Granted or rejected.
    pub status: ConsentStatus,
    /// İYS's source, such as `IYS_KISAMESAJ`.
    pub source: String,
    /// The movement's date.
    pub consent_date: IysDateTime,
    /// When İYS registered it.
    pub creation_date: String,
}

impl std::fmt::Debug for PulledMovement {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The address is personal data and stays out of debug output.
        formatter
            .debug_struct("PulledMovement")
            .field("transaction_id", &self.transaction_id)
            .field("channel", &self.channel)
            .field("recipient_type", &self.recipient_type)
            .field("status", &self.status)
            .field("source", &self.source)
            .field("consent_date", &self.consent_date)
            .field("creation_date", &self.creation_date)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Claims up to `limit` records due for forwarding at `now` for `owner`, holding each for
    /// `lease_millis`. Only the oldest pending record of each (address, channel, recipient type)
    /// is eligible, so records of one key go to İYS in consent order, also across instances.
    pub async fn claim_for_forwarding(
        &self,
        owner: &str,
        now: Timestamp,
        lease_millis: i64,
        limit: i64,
    ) -> Result<Vec<Claimed>, StoreError> {
        let now_ms = now.unix_millis();
        let candidates = sqlx::query(
            "SELECT id FROM consents c WHERE c.iys_state = 'pending' AND c.iys_next_at_ms <= $1 AND c.iys_lease_until_ms < $2 \
             AND NOT EXISTS (SELECT 1 FROM consents o WHERE o.iys_state = 'pending' AND o.recipient_hash = c.recipient_hash \
                 AND o.channel = c.channel AND o.recipient_type = c.recipient_type \
                 AND (o.consent_at_ms < c.consent_at_ms OR (o.consent_at_ms = c.consent_at_ms AND o.ledger_seq < c.ledger_seq))) \
             AND NOT EXISTS (SELECT 1 FROM consents b WHERE b.iys_state = 'batched' AND b.recipient_hash = c.recipient_hash \
                 AND b.channel = c.channel AND b.recipient_type = c.recipient_type) \
             ORDER BY c.consent_at_ms, c.ledger_seq LIMIT $3",
        )
        .bind(now_ms)
        .bind(now_ms)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut claimed = Vec::new();
        for candidate in candidates {
            let id: String = candidate.try_get("id")?;
            // Compare-and-set: only one instance wins a record.
            let won = sqlx::query(
                "UPDATE consents SET iys_lease_owner = $1, iys_lease_until_ms = $2 WHERE id = $3 AND iys_state = 'pending' AND iys_lease_until_ms < $4",
            )
            .bind(owner)
            .bind(now_ms + lease_millis)
            .bind(id.clone())
            .bind(now_ms)
            .execute(&self.pool)
            .await?
            .rows_affected();
            if won != 1 {
                continue;
            }
            let row = sqlx::query("SELECT * FROM consents WHERE id = $1")
                .bind(id.clone())
                .fetch_one(&self.pool)
                .await?;
            let sealed: Vec<u8> = row.try_get("recipient_sealed")?;
            let opened = self
                .keyring
                .open(&sealed, &context("recipient", &id))
                .map_err(|error| StoreError::Sealed {
                    record_id: id.clone(),
                    error,
                })?;
            let channel: Channel = parse_column(&row, "channel")?;
            let normalised = String::from_utf8(opened)
                .map_err(|_| StoreError::Corrupt(format!("record {id}: recipient")))?;
            let recipient = Recipient::parse_for(channel, &normalised).map_err(|_| {
                StoreError::Corrupt(format!("record {id}: recipient no longer valid"))
            })?;
            let consent_date: String = row.try_get("consent_date")?;
            claimed.push(Claimed {
                recipient,
                recipient_hash: row.try_get("recipient_hash")?,
                channel,
                recipient_type: parse_column(&row, "recipient_type")?,
                status: parse_column(&row, "status")?,
                source: {
                    let name: String = row.try_get("source")?;
                    consent_core::Source::from_record_name(&name).ok_or_else(|| {
                        StoreError::Corrupt("column source holds an unknown value".to_owned())
                    })?
                },
                consent_date: IysDateTime::parse(&consent_date)
                    .map_err(|_| StoreError::Corrupt(format!("record {id}: consent date")))?,
                attempts: row.try_get::<i64, _>("iys_attempts")? as u32,
                late: row.try_get::<i64, _>("iys_late")? != 0,
                id,
            });
        }
        Ok(claimed)
    }

    /// Puts a record `owner` claimed back to be tried again at `next_at`. Does nothing when
    /// `owner` no longer holds it.
    pub async fn defer_forwarding(
        &self,
        id: &str,
        owner: &str,
        next_at: Timestamp,
        count_attempt: bool,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE consents SET iys_next_at_ms = $1, iys_attempts = iys_attempts + $2, iys_lease_owner = NULL, iys_lease_until_ms = 0 \
             WHERE id = $3 AND iys_state = 'pending' AND iys_lease_owner = $4",
        )
        .bind(next_at.unix_millis())
        .bind(i64::from(count_attempt))
        .bind(id)
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Puts a refusal `owner` claimed back to go again at `next_at`, dated at the moment of
    /// sending: İYS called it late.
    pub async fn defer_as_late(
        &self,
        id: &str,
        owner: &str,
        next_at: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE consents SET iys_next_at_ms = $1, iys_attempts = iys_attempts + 1, iys_late = 1, iys_lease_owner = NULL, iys_lease_until_ms = 0 \
             WHERE id = $2 AND iys_state = 'pending' AND iys_lease_owner = $3 AND status = 'rejected'",
        )
        .bind(next_at.unix_millis())
        .bind(id)
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Lets go of every pending record `owner` holds. Returns how many.
    pub async fn release_claims(&self, owner: &str) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE consents SET iys_lease_owner = NULL, iys_lease_until_ms = 0 WHERE iys_state = 'pending' AND iys_lease_owner = $1",
        )
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Lets go of every pending record held by an owner whose name starts with `prefix`, other
    /// than `current`: the claims earlier runs of one relay instance left behind. Returns how
    /// many.
    pub async fn release_earlier_claims(
        &self,
        prefix: &str,
        current: &str,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE consents SET iys_lease_owner = NULL, iys_lease_until_ms = 0 \
             WHERE iys_state = 'pending' AND substr(iys_lease_owner, 1, $1) = $2 AND iys_lease_owner <> $3",
        )
        .bind(i32::try_from(prefix.chars().count()).unwrap_or(i32::MAX))
        .bind(prefix)
        .bind(current)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Records a record's settlement with İYS and appends it to the ledger, when `holder` still
    /// holds it: the instance that claimed it, or anyone for a record waiting in a batch.
    /// Returns whether it did.
    pub async fn finish_forwarding(
        &self,
        id: &str,
        holder: Holder<'_>,
        settlement: &Settlement,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut transaction = self.pool.begin().await?;
        let mut head =
            LedgerHead::lock(&mut transaction, self.backend, self.keyring.ledger()).await?;
        let (guard, owner) = match holder {
            Holder::Claimant(owner) => ("iys_state = 'pending' AND iys_lease_owner = $10", owner),
            Holder::Batch => ("iys_state = 'batched' AND $10 = $10", ""),
        };
        let evidence = settlement
            .evidence
            .as_ref()
            .and_then(|evidence| serde_json::to_string(evidence).ok());
        let updated = sqlx::query(&format!(
            "UPDATE consents SET iys_state = $1, iys_transaction_id = $2, iys_creation_date = $3, iys_error = $4, iys_updated_at_ms = $5, \
             iys_sent_date = $6, iys_late = $7, iys_evidence = $8, iys_lease_owner = NULL, iys_lease_until_ms = 0 WHERE id = $9 AND {guard}"
        ))
        .bind(settlement.state.as_str())
        .bind(settlement.transaction_id.clone())
        .bind(settlement.creation_date.clone())
        .bind(settlement.error.clone())
        .bind(now.unix_millis())
        .bind(settlement.sent_date.map(|date| date.to_string()))
        .bind(i64::from(settlement.late))
        .bind(evidence)
        .bind(id)
        .bind(owner)
        .execute(&mut *transaction)
        .await?
        .rows_affected();
        if updated != 1 {
            // Another instance settled it meanwhile: its outcome and ledger entry stand.
            transaction.rollback().await?;
            return Ok(false);
        }
        head.append(
            &mut transaction,
            kind::IYS,
            id,
            facts_text(&IysFacts::from(settlement)),
            now.unix_millis(),
        )
        .await?;
        head.save(&mut transaction).await?;
        transaction.commit().await?;
        Ok(true)
    }

    /// What İYS holds for a key, and when the relay last sent a movement for it.
    pub async fn held(
        &self,
        recipient_hash: &[u8],
        channel: Channel,
        recipient_type: RecipientType,
    ) -> Result<Option<(HeldConsent, i64)>, StoreError> {
        let row = sqlx::query("SELECT status, consent_date, last_sent_ms FROM iys_held WHERE recipient_hash = $1 AND channel = $2 AND recipient_type = $3")
            .bind(recipient_hash.to_vec())
            .bind(channel.as_str())
            .bind(recipient_type.as_str())
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let consent_date: String = row.try_get("consent_date")?;
        Ok(Some((
            HeldConsent {
                status: parse_column(&row, "status")?,
                consent_date: IysDateTime::parse(&consent_date)
                    .map_err(|_| StoreError::Corrupt("iys_held date".to_owned()))?,
            },
            row.try_get("last_sent_ms")?,
        )))
    }

    /// Records that İYS now holds `status` at `consent_date` for a key, unless it holds a
    /// newer movement already.
    pub async fn set_held(
        &self,
        recipient_hash: &[u8],
        channel: Channel,
        recipient_type: RecipientType,
        status: ConsentStatus,
        consent_date: IysDateTime,
        sent_at: Timestamp,
    ) -> Result<(), StoreError> {
        upsert_held(
            &self.pool,
            recipient_hash,
            (channel, recipient_type),
            status,
            consent_date,
            sent_at,
        )
        .await
    }

    /// Takes one request from the budget of `per_second` shared by every instance on this
    /// database; `false` when this second's budget is spent. The second is the database's, not
    /// the instance's: an instance whose clock steps ahead would otherwise mark a second the
    /// others reach only later, and stall their budget until then.
    pub async fn take_request_permit(&self, per_second: u32) -> Result<bool, StoreError> {
        let database_second = match self.backend {
            super::Backend::Sqlite => "CAST(strftime('%s', 'now') AS BIGINT)",
            // The statement's timestamp is the same for every use within the statement.
            super::Backend::Postgres => {
                "CAST(floor(extract(epoch FROM statement_timestamp())) AS BIGINT)"
            }
        };
        let taken = sqlx::query(&format!(
            "UPDATE iys_rate SET used = CASE WHEN second = {database_second} THEN used + 1 ELSE 1 END, second = {database_second} \
             WHERE id = 1 AND (second <> {database_second} OR used < $1)"
        ))
        .bind(i64::from(per_second))
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(taken == 1)
    }

    /// The pull cursor.
    pub async fn pull_cursor(&self) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query("SELECT after FROM iys_pull WHERE id = 1")
            .fetch_one(&self.pool)
            .await?
            .try_get("after")?)
    }

    /// Applies movements read from İYS and moves the pull's cursor to `after` (a reconciliation
    /// leaves it where it is), in one transaction under the ledger's lock: each movement not
    /// seen before is stored sealed, gets its ledger entry, and updates what İYS holds. A page
    /// applied twice (the cursor did not move before a crash) adds nothing the second time.
    pub async fn apply_pulled(
        &self,
        movements: &[PulledMovement],
        after: Option<&str>,
        now: Timestamp,
    ) -> Result<usize, StoreError> {
        let mut transaction = self.pool.begin().await?;
        let mut head =
            LedgerHead::lock(&mut transaction, self.backend, self.keyring.ledger()).await?;
        let mut applied = 0;
        for movement in movements {
            let hash = self.index.recipient_hash(&movement.recipient);
            let consent_at_ms = movement.consent_date.to_instant().unix_millis();
            let inserted = sqlx::query(
                "INSERT INTO iys_movements (transaction_id, recipient_hash, recipient_sealed, channel, recipient_type, status, source, consent_date, consent_at_ms, creation_date, pulled_at_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (transaction_id) DO NOTHING",
            )
            .bind(movement.transaction_id.clone())
            .bind(hash.clone())
            .bind(self.keyring.seal(movement.recipient.as_bytes(), &format!("iys_movements.recipient/{}", movement.transaction_id)))
            .bind(movement.channel.as_str())
            .bind(movement.recipient_type.as_str())
            .bind(movement.status.as_str())
            .bind(movement.source.clone())
            .bind(movement.consent_date.to_string())
            .bind(consent_at_ms)
            .bind(movement.creation_date.clone())
            .bind(now.unix_millis())
            .execute(&mut *transaction)
            .await?
            .rows_affected();
            if inserted == 0 {
                continue;
            }
            applied += 1;
            let facts = PulledFacts {
                recipient_hash: hex(&hash),
                channel: movement.channel,
                recipient_type: movement.recipient_type,
                status: movement.status,
                source: movement.source.clone(),
                consent_date: movement.consent_date.to_string(),
                consent_at_ms,
                creation_date: movement.creation_date.clone(),
            };
            head.append(
                &mut transaction,
                kind::PULLED,
                &movement.transaction_id,
                facts_text(&facts),
                now.unix_millis(),
            )
            .await?;
            upsert_held(
                &mut *transaction,
                &hash,
                (movement.channel, movement.recipient_type),
                movement.status,
                movement.consent_date,
                Timestamp::from_unix_millis(0),
            )
            .await?;
        }
        if let Some(after) = after {
            sqlx::query("UPDATE iys_pull SET after = $1 WHERE id = 1")
                .bind(after)
                .execute(&mut *transaction)
                .await?;
        }
        head.save(&mut transaction).await?;
        transaction.commit().await?;
        Ok(applied)
    }

    /// The transactions İYS registered on the Turkish day `day` that the relay knows of: its own
    /// records İYS accepted, by İYS's creation date, and the movements it read from İYS. Each
    /// as the transaction id and, for a record, its id.
    pub async fn known_transactions(
        &self,
        day: consent_core::time::CivilDate,
    ) -> Result<Vec<(String, Option<String>)>, StoreError> {
        let prefix = format!("{day} %");
        let mut known = Vec::new();
        for row in sqlx::query(
            "SELECT id, iys_transaction_id FROM consents WHERE iys_state = 'accepted' AND iys_creation_date LIKE $1",
        )
        .bind(prefix.clone())
        .fetch_all(&self.pool)
        .await?
        {
            let transaction: Option<String> = row.try_get("iys_transaction_id")?;
            known.push((transaction.unwrap_or_default(), Some(row.try_get("id")?)));
        }
        for row in
            sqlx::query("SELECT transaction_id FROM iys_movements WHERE creation_date LIKE $1")
                .bind(prefix)
                .fetch_all(&self.pool)
                .await?
        {
            known.push((row.try_get("transaction_id")?, None));
        }
        Ok(known)
    }

    /// Whether a record for the address `recipient` (normalised) on `channel` for
    /// `recipient_type` is still on its way to İYS (pending or in a batch).
    pub async fn is_sending(
        &self,
        recipient: &str,
        channel: Channel,
        recipient_type: RecipientType,
    ) -> Result<bool, StoreError> {
        let hash = self.index.recipient_hash(recipient);
        let found = sqlx::query(
            "SELECT 1 AS found FROM consents WHERE recipient_hash = $1 AND channel = $2 AND recipient_type = $3 AND iys_state IN ('pending', 'batched') LIMIT 1",
        )
        .bind(hash)
        .bind(channel.as_str())
        .bind(recipient_type.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.is_some())
    }

    /// Whether the relay has the transaction `transaction_id` in any record or movement, of
    /// whatever day.
    pub async fn knows_transaction(&self, transaction_id: &str) -> Result<bool, StoreError> {
        let found = sqlx::query(
            "SELECT 1 AS found FROM consents WHERE iys_transaction_id = $1 UNION ALL SELECT 1 AS found FROM iys_movements WHERE transaction_id = $2",
        )
        .bind(transaction_id.to_owned())
        .bind(transaction_id.to_owned())
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.is_some())
    }

    /// Counts for `/metrics`: records per İYS state, refusals per code, and the pending ones'
    /// oldest consent time.
    pub async fn forwarding_counts(&self) -> Result<ForwardingCounts, StoreError> {
        let states =
            sqlx::query("SELECT iys_state, COUNT(*) AS count FROM consents GROUP BY iys_state")
                .fetch_all(&self.pool)
                .await?;
        let codes = sqlx::query("SELECT iys_error, COUNT(*) AS count FROM consents WHERE iys_state = 'refused' GROUP BY iys_error").fetch_all(&self.pool).await?;
        let oldest = sqlx::query(
            "SELECT MIN(consent_at_ms) AS oldest FROM consents WHERE iys_state = 'pending'",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(ForwardingCounts {
            by_state: states
                .iter()
                .filter_map(|row| {
                    Some((
                        row.try_get::<String, _>("iys_state").ok()?,
                        row.try_get::<i64, _>("count").ok()?,
                    ))
                })
                .collect(),
            refused_by_code: codes
                .iter()
                .filter_map(|row| {
                    Some((
                        row.try_get::<Option<String>, _>("iys_error")
                            .ok()?
                            .unwrap_or_default(),
                        row.try_get::<i64, _>("count").ok()?,
                    ))
                })
                .collect(),
            oldest_pending_consent_ms: oldest.try_get::<Option<i64>, _>("oldest")?,
            last_reconciliation: self.last_reconciliation().await?,
        })
    }

    /// Keeps what the reconciliation of a day found, replacing an earlier run's for that day.
    pub async fn record_reconciliation(
        &self,
        record: &ReconciliationRecord,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO iys_reconciliations (day, ran_at_ms, listed, known, applied, waiting, unlisted) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (day) DO UPDATE SET ran_at_ms = excluded.ran_at_ms, listed = excluded.listed, known = excluded.known, \
             applied = excluded.applied, waiting = excluded.waiting, unlisted = excluded.unlisted",
        )
        .bind(record.day.clone())
        .bind(record.ran_at_ms)
        .bind(record.listed)
        .bind(record.known)
        .bind(record.applied)
        .bind(record.waiting)
        .bind(record.unlisted)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Whether the Turkish day `day` (`YYYY-MM-DD`) was reconciled.
    pub async fn is_reconciled(&self, day: &str) -> Result<bool, StoreError> {
        Ok(
            sqlx::query("SELECT 1 AS found FROM iys_reconciliations WHERE day = $1")
                .bind(day.to_owned())
                .fetch_optional(&self.pool)
                .await?
                .is_some(),
        )
    }

    /// The newest day reconciled.
    pub async fn last_reconciliation(&self) -> Result<Option<ReconciliationRecord>, StoreError> {
        let Some(row) = sqlx::query(
            "SELECT day, ran_at_ms, listed, known, applied, waiting, unlisted FROM iys_reconciliations ORDER BY day DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        Ok(Some(ReconciliationRecord {
            day: row.try_get("day")?,
            ran_at_ms: row.try_get("ran_at_ms")?,
            listed: row.try_get("listed")?,
            known: row.try_get("known")?,
            applied: row.try_get("applied")?,
            waiting: row.try_get("waiting")?,
            unlisted: row.try_get("unlisted")?,
        }))
    }
}

/// Records that İYS holds `status` at `consent_date` for a key, unless it holds a newer movement
/// already; through `executor`, so a caller inside a transaction keeps to it.
async fn upsert_held<'c, E: sqlx::Executor<'c, Database = sqlx::Any>>(
    executor: E,
    recipient_hash: &[u8],
    (channel, recipient_type): (Channel, RecipientType),
    status: ConsentStatus,
    consent_date: IysDateTime,
    sent_at: Timestamp,
) -> Result<(), StoreError> {
    let consent_at = consent_date.to_instant().unix_millis();
    sqlx::query(
        "INSERT INTO iys_held (recipient_hash, channel, recipient_type, status, consent_date, consent_at_ms, last_sent_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (recipient_hash, channel, recipient_type) DO UPDATE SET status = excluded.status, consent_date = excluded.consent_date, \
         consent_at_ms = excluded.consent_at_ms, last_sent_ms = excluded.last_sent_ms WHERE iys_held.consent_at_ms < excluded.consent_at_ms",
    )
    .bind(recipient_hash.to_vec())
    .bind(channel.as_str())
    .bind(recipient_type.as_str())
    .bind(status.as_str())
    .bind(consent_date.to_string())
    .bind(consent_at)
    .bind(sent_at.unix_millis())
    .execute(executor)
    .await?;
    Ok(())
}

/// Figures for `/metrics`.
#[derive(Debug, Clone, Default)]
pub struct ForwardingCounts {
    /// Records per İYS state.
    pub by_state: Vec<(String, i64)>,
    /// Refused records per H-code.
    pub refused_by_code: Vec<(String, i64)>,
    /// The consent time of the oldest pending record.
    pub oldest_pending_consent_ms: Option<i64>,
    /// The newest day reconciled with İYS's daily change file.
    pub last_reconciliation: Option<ReconciliationRecord>,
}

/// What the reconciliation of one day with İYS's daily change file found, as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconciliationRecord {
    /// The Turkish day, `YYYY-MM-DD`.
    pub day: String,
    /// When it ran, in Unix milliseconds.
    pub ran_at_ms: i64,
    /// Movements İYS listed.
    pub listed: i64,
    /// Of those, the ones the relay knew.
    pub known: i64,
    /// Of those, the ones it had missed and applied.
    pub applied: i64,
    /// Of those, the ones waiting for the person's confirmation.
    pub waiting: i64,
    /// Records the relay held as accepted that İYS did not list, left for a person.
    pub unlisted: i64,
}

impl Store {
    /// Marks claimed records as sent in batch `batch_id`, each with its position and the date it
    /// went with, to be settled when the batch's results come. The bodies sent are not kept: they
    /// hold the addresses in clear.
    pub async fn mark_batched(
        &self,
        members: &[BatchedRecord],
        owner: &str,
        batch_id: &str,
        sent_at: Timestamp,
        poll_at: Timestamp,
    ) -> Result<(), StoreError> {
        let mut transaction = self.pool.begin().await?;
        for member in members {
            sqlx::query(
                "UPDATE consents SET iys_state = 'batched', iys_batch_id = $1, iys_batch_index = $2, iys_sent_date = $3, iys_late = $4, iys_evidence = $5, iys_next_at_ms = $6, iys_updated_at_ms = $7, iys_lease_owner = NULL, iys_lease_until_ms = 0 \
                 WHERE id = $8 AND iys_state = 'pending' AND iys_lease_owner = $9",
            )
            .bind(batch_id)
            .bind(member.index as i64)
            .bind(member.sent_date.map(|date| date.to_string()))
            .bind(i64::from(member.late))
            .bind(
                member
                    .evidence
                    .as_ref()
                    .and_then(|evidence| serde_json::to_string(evidence).ok()),
            )
            .bind(poll_at.unix_millis())
            .bind(sent_at.unix_millis())
            .bind(member.id.clone())
            // A claim that lapsed meanwhile is another instance's record now: its state stands.
            .bind(owner)
            .execute(&mut *transaction)
            .await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    /// Batches whose results are due to be read at `now`.
    pub async fn due_batches(&self, now: Timestamp) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("SELECT DISTINCT iys_batch_id FROM consents WHERE iys_state = 'batched' AND iys_next_at_ms <= $1")
            .bind(now.unix_millis())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                row.try_get::<String, _>("iys_batch_id")
                    .map_err(StoreError::from)
            })
            .collect()
    }

    /// The records of a batch: id, position, key and what was sent.
    pub async fn batch_members(&self, batch_id: &str) -> Result<Vec<BatchMember>, StoreError> {
        let rows = sqlx::query("SELECT id, iys_batch_index, iys_updated_at_ms, recipient_hash, channel, recipient_type, status, consent_date, iys_sent_date, iys_late, iys_evidence FROM consents WHERE iys_state = 'batched' AND iys_batch_id = $1")
            .bind(batch_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let sent_date: Option<String> = row.try_get("iys_sent_date")?;
                let consent_date: String = row.try_get("consent_date")?;
                let parse = |text: &str| {
                    IysDateTime::parse(text)
                        .map_err(|_| StoreError::Corrupt("batched consent date".to_owned()))
                };
                Ok(BatchMember {
                    sent_date: sent_date.as_deref().map(parse).transpose()?,
                    late: row.try_get::<i64, _>("iys_late")? != 0,
                    evidence: row
                        .try_get::<Option<String>, _>("iys_evidence")?
                        .and_then(|text| serde_json::from_str(&text).ok()),
                    id: row.try_get("id")?,
                    index: row.try_get::<i64, _>("iys_batch_index")? as usize,
                    sent_at_ms: row
                        .try_get::<Option<i64>, _>("iys_updated_at_ms")?
                        .unwrap_or(0),
                    recipient_hash: row.try_get("recipient_hash")?,
                    channel: parse_column(row, "channel")?,
                    recipient_type: parse_column(row, "recipient_type")?,
                    status: parse_column(row, "status")?,
                    consent_date: parse(&consent_date)?,
                })
            })
            .collect()
    }

    /// Puts a batched record back to pending, to go again on its own at `next_at`.
    pub async fn unbatch(&self, id: &str, next_at: Timestamp) -> Result<(), StoreError> {
        sqlx::query("UPDATE consents SET iys_state = 'pending', iys_batch_id = NULL, iys_batch_index = NULL, iys_sent_date = NULL, iys_late = 0, iys_evidence = NULL, iys_next_at_ms = $1, iys_attempts = iys_attempts + 1 WHERE id = $2 AND iys_state = 'batched'")
            .bind(next_at.unix_millis())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Asks again for a batch's results at `poll_at`.
    pub async fn repoll_batch(&self, batch_id: &str, poll_at: Timestamp) -> Result<(), StoreError> {
        sqlx::query("UPDATE consents SET iys_next_at_ms = $1 WHERE iys_state = 'batched' AND iys_batch_id = $2")
            .bind(poll_at.unix_millis())
            .bind(batch_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// How many records are due for forwarding at `now`.
    pub async fn due_count(&self, now: Timestamp) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COUNT(*) AS count FROM consents WHERE iys_state = 'pending' AND iys_next_at_ms <= $1")
            .bind(now.unix_millis())
            .fetch_one(&self.pool)
            .await?
            .try_get("count")?)
    }
}

/// A record waiting in a batch.
#[derive(Debug, Clone)]
pub struct BatchMember {
    /// The record id.
    pub id: String,
    /// Its position in the batch.
    pub index: usize,
    /// When the batch was sent.
    pub sent_at_ms: i64,
    /// Its lookup hash.
    pub recipient_hash: Vec<u8>,
    /// The channel.
    pub channel: Channel,
    /// Individual or merchant.
    pub recipient_type: RecipientType,
    /// Granted or rejected.
    pub status: ConsentStatus,
    /// The record's own consent date.
    pub consent_date: IysDateTime,
    /// The date it went with, when not its own.
    pub sent_date: Option<IysDateTime>,
    /// Whether it went after its registration window.
    pub late: bool,
    /// İYS's answer to the status query made before it was sent, if one was made.
    pub evidence: Option<StatusEvidence>,
}

impl BatchMember {
    /// The date İYS was given.
    pub fn date_sent(&self) -> IysDateTime {
        self.sent_date.unwrap_or(self.consent_date)
    }
}

/// A claimed record put in a batch: its id, its position, and the date it went with when that
/// is not its own.
#[derive(Debug, Clone)]
pub struct BatchedRecord {
    /// The record id.
    pub id: String,
    /// Its position in the batch.
    pub index: usize,
    /// The date sent, when not its own consent date.
    pub sent_date: Option<IysDateTime>,
    /// Whether it went after its registration window.
    pub late: bool,
    /// İYS's answer to the status query made before it was sent, if one was made.
    pub evidence: Option<StatusEvidence>,
}
