//! The store's side of same-day notices: which consents still need one, the queue of notices
//! with their attempts, and their outcomes, each chained in the ledger.
//!
//! A consent is listed in `notice_consents` once, so it gets exactly one notice; the notice is
//! queued in the same transaction that lists its consents. A notice is claimed for a short lease
//! before it is sent, so two relays on one database do not send it twice while both run.

use consent_core::record::hex;
use consent_core::time::Timestamp;
use consent_core::{Channel, Locale, RecipientType};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::ledger::{LedgerHead, facts_text};
use super::{Details, ProofDetails, Store, StoreError, kind, parse_column};

/// How a notice travels: by e-mail, or by SMS through the shop's provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// An e-mail over SMTP, for e-mail consents.
    Email,
    /// An SMS through the shop's webhook, for SMS and call consents.
    Sms,
}

impl NoticeKind {
    /// The kind that reaches the address of `channel`.
    pub fn for_channel(channel: Channel) -> NoticeKind {
        if channel.is_phone() {
            NoticeKind::Sms
        } else {
            NoticeKind::Email
        }
    }

    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Email => "email",
            NoticeKind::Sms => "sms",
        }
    }
}

impl std::str::FromStr for NoticeKind {
    type Err = ();

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "email" => Ok(NoticeKind::Email),
            "sms" => Ok(NoticeKind::Sms),
            _ => Err(()),
        }
    }
}

/// A granted consent without a notice yet, opened.
#[derive(Clone)]
pub struct Unnoticed {
    /// The record's id.
    pub record_id: String,
    /// Its channel.
    pub channel: Channel,
    /// The normalised address.
    pub recipient: String,
    /// Its lookup hash.
    pub recipient_hash: Vec<u8>,
    /// Individual or merchant.
    pub recipient_type: RecipientType,
    /// The language the person saw the consent in.
    pub locale: Locale,
    /// The consent's instant.
    pub consent_at_ms: i64,
    /// When the relay received it.
    pub received_at_ms: i64,
}

impl std::fmt::Debug for Unnoticed {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The address is personal data.
        formatter
            .debug_struct("Unnoticed")
            .field("record_id", &self.record_id)
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

/// One page of consents without a notice.
#[derive(Debug, Default)]
pub struct UnnoticedPage {
    /// The consents, opened.
    pub consents: Vec<Unnoticed>,
    /// Records of the page whose sealed values do not open; they get no notice.
    pub unreadable: Vec<String>,
    /// The ledger position to read the next page after, when this one was full.
    pub next: Option<i64>,
}

/// A notice to queue for one or more consents of one address.
#[derive(Clone)]
pub struct NewNotice {
    /// A new UUIDv7.
    pub id: String,
    /// E-mail or SMS.
    pub kind: NoticeKind,
    /// The normalised address.
    pub recipient: String,
    /// Its lookup hash.
    pub recipient_hash: Vec<u8>,
    /// Individual or merchant.
    pub recipient_type: RecipientType,
    /// The channels it tells of.
    pub channels: Vec<Channel>,
    /// Its language.
    pub locale: Locale,
    /// The consents' instant.
    pub consent_at_ms: i64,
    /// The end of that instant's Turkish day: after it, the notice is missed.
    pub deadline_ms: i64,
    /// The consents it tells of.
    pub consents: Vec<String>,
    /// Why no notice can be sent, such as `not_mobile` for a call consent on a landline, which
    /// cannot take an SMS: the notice is kept as `skipped`, and its consents are not looked at
    /// again.
    pub skipped: Option<&'static str>,
}

impl std::fmt::Debug for NewNotice {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The address is personal data.
        formatter
            .debug_struct("NewNotice")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("channels", &self.channels)
            .field("consents", &self.consents)
            .finish_non_exhaustive()
    }
}

/// A notice claimed for sending, opened.
#[derive(Clone)]
pub struct DueNotice {
    /// Its id.
    pub id: String,
    /// E-mail or SMS.
    pub kind: NoticeKind,
    /// The normalised address.
    pub recipient: String,
    /// Individual or merchant.
    pub recipient_type: RecipientType,
    /// The channels it tells of.
    pub channels: Vec<Channel>,
    /// Its language.
    pub locale: Locale,
    /// The consents' instant.
    pub consent_at_ms: i64,
    /// The end of that Turkish day.
    pub deadline_ms: i64,
    /// Attempts made before this one.
    pub attempts: i64,
    /// The code of the last failure, if one failed.
    pub last_error: Option<String>,
    /// The consents it tells of, the first one naming the notice in its refusal link.
    pub consents: Vec<String>,
}

impl std::fmt::Debug for DueNotice {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The address is personal data.
        formatter
            .debug_struct("DueNotice")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("channels", &self.channels)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

/// How a notice ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoticeOutcome {
    /// Delivered: the mail server or the SMS provider took it. Holds what was sent.
    Sent(String),
    /// This attempt failed and no other fits in the day. Holds the failure's code.
    FailedLast(String),
    /// The day ended before another attempt. Holds the last failure's code, or `day_ended`.
    DayEnded(String),
}

/// What a notice entry in the ledger says: the consents it told of, how and when it ended, and
/// the digest of what was sent, without the address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NoticeFacts {
    /// The consents it told of.
    pub consents: Vec<String>,
    /// E-mail or SMS.
    pub kind: NoticeKind,
    /// The keyed lookup hash of the address, hex.
    pub recipient_hash: String,
    /// `sent` or `missed`.
    pub outcome: String,
    /// Attempts made in all.
    pub attempts: i64,
    /// When it ended.
    pub settled_at_ms: i64,
    /// SHA-256 of what was sent, hex; none when it was not.
    pub content_sha256: Option<String>,
}

/// A notice as stored, for exports and `verify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NoticeSummary {
    /// Its id.
    pub id: String,
    /// E-mail or SMS.
    pub kind: NoticeKind,
    /// `pending`, `sent`, `missed`, or `skipped` when no notice can reach the address.
    pub state: String,
    /// Attempts made.
    pub attempts: i64,
    /// When it was sent or missed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settled_at: Option<String>,
    /// The code of the last failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// SHA-256 of what was sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_sha256: Option<String>,
    /// What was sent, opened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}

/// Where the notices stand, for `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoticeCounts {
    /// Notices not yet delivered.
    pub pending: i64,
    /// Of those, the ones that failed at least once.
    pub failing: i64,
    /// Of those, the ones whose day ends within the hour.
    pub at_risk: i64,
    /// Notices delivered.
    pub sent: i64,
    /// Notices whose day ended first.
    pub missed: i64,
    /// Consents no notice can reach, such as calls to a landline, which takes no SMS.
    pub skipped: i64,
    /// Granted consents that have no notice.
    pub without_notice: i64,
}

fn seal_context(column: &str, id: &str) -> String {
    format!("notices.{column}/{id}")
}

fn join_channels(channels: &[Channel]) -> String {
    channels
        .iter()
        .map(|channel| channel.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

fn parse_channels(text: &str) -> Result<Vec<Channel>, StoreError> {
    text.split(',')
        .map(|name| {
            name.parse().map_err(|_| {
                StoreError::Corrupt("a notice's channels hold an unknown value".to_owned())
            })
        })
        .collect()
}

/// SHA-256 of `content`, hex, as the ledger keeps a notice's.
pub fn content_digest(content: &str) -> String {
    hex(&Sha256::digest(content.as_bytes()))
}

const META_SINCE: &str = "notices_since";

impl Store {
    /// The moment from which consents get a notice: the first time a relay with notices
    /// configured asked, kept, so that records stored before notices were set up get none.
    pub async fn notices_since(&self, now: Timestamp) -> Result<i64, StoreError> {
        sqlx::query(
            "INSERT INTO relay_meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(META_SINCE)
        .bind(now.unix_millis().to_be_bytes().to_vec())
        .execute(&self.pool)
        .await?;
        let row = sqlx::query("SELECT value FROM relay_meta WHERE name = $1")
            .bind(META_SINCE)
            .fetch_one(&self.pool)
            .await?;
        let bytes: Vec<u8> = row.try_get("value")?;
        let bytes: [u8; 8] = bytes
            .try_into()
            .map_err(|_| StoreError::Corrupt("notices_since is not a time".to_owned()))?;
        Ok(i64::from_be_bytes(bytes))
    }

    /// One page of the granted consents on `channels` received since `since_ms` that no notice
    /// tells of yet, in the order they were stored, after `after` (a ledger position); with the
    /// position to go on from, and the ids of the records on the page that do not open, which are
    /// left out.
    pub async fn unnoticed_consents(
        &self,
        since_ms: i64,
        channels: &[Channel],
        after: i64,
        limit: i64,
    ) -> Result<UnnoticedPage, StoreError> {
        let mut page = UnnoticedPage {
            consents: Vec::new(),
            unreadable: Vec::new(),
            next: None,
        };
        if channels.is_empty() {
            return Ok(page);
        }
        // The channel names are the vocabulary's own, never input.
        let names: Vec<String> = channels
            .iter()
            .map(|channel| format!("'{}'", channel.as_str()))
            .collect();
        let rows = sqlx::query(&format!(
            "SELECT c.id, c.channel, c.recipient_hash, c.recipient_sealed, c.recipient_type, c.consent_at_ms, c.received_at_ms, c.details_sealed, c.ledger_seq \
             FROM consents c LEFT JOIN notice_consents n ON n.record_id = c.id \
             WHERE c.status = 'granted' AND c.proof = 'widget' AND n.record_id IS NULL AND c.received_at_ms >= $1 AND c.ledger_seq > $2 AND c.channel IN ({}) \
             ORDER BY c.ledger_seq LIMIT $3",
            names.join(", ")
        ))
        .bind(since_ms)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        if rows.len() as i64 == limit {
            page.next = rows
                .last()
                .map(|row| row.try_get::<i64, _>("ledger_seq"))
                .transpose()?;
        }
        for row in rows {
            let id: String = row.try_get("id")?;
            match self.unnoticed(&row, &id) {
                Ok(consent) => page.consents.push(consent),
                Err(StoreError::Sealed { .. } | StoreError::Corrupt(_)) => page.unreadable.push(id),
                Err(other) => return Err(other),
            }
        }
        Ok(page)
    }

    fn unnoticed(&self, row: &sqlx::any::AnyRow, id: &str) -> Result<Unnoticed, StoreError> {
        let id = id.to_owned();
        let recipient = self.open_text(row, "recipient_sealed", "recipient", &id)?;
        let details: Details = {
            let sealed: Vec<u8> = row.try_get("details_sealed")?;
            let opened = self
                .keyring
                .open(&sealed, &super::context("details", &id))
                .map_err(|error| StoreError::Sealed {
                    record_id: id.clone(),
                    error,
                })?;
            serde_json::from_slice(&opened)
                .map_err(|_| StoreError::Corrupt(format!("record {id}: its details do not read")))?
        };
        let locale = match &details.proof {
            ProofDetails::Widget(evidence) => evidence.locale,
            ProofDetails::RefusalLink(link) => link.locale,
            ProofDetails::Import(_) => consent_core::Locale::Turkish,
        };
        Ok(Unnoticed {
            channel: parse_column(row, "channel")?,
            recipient,
            recipient_hash: row.try_get("recipient_hash")?,
            recipient_type: parse_column(row, "recipient_type")?,
            locale,
            consent_at_ms: row.try_get("consent_at_ms")?,
            received_at_ms: row.try_get("received_at_ms")?,
            record_id: id,
        })
    }

    fn open_text(
        &self,
        row: &sqlx::any::AnyRow,
        column: &str,
        name: &str,
        id: &str,
    ) -> Result<String, StoreError> {
        let sealed: Vec<u8> = row.try_get(column)?;
        let opened = self
            .keyring
            .open(&sealed, &super::context(name, id))
            .map_err(|error| StoreError::Sealed {
                record_id: id.to_owned(),
                error,
            })?;
        String::from_utf8(opened)
            .map_err(|_| StoreError::Corrupt(format!("record {id}: its {name} is not text")))
    }

    /// Queues `notice` and lists its consents, in one transaction; `false`, and nothing queued,
    /// when one of them has a notice already (another relay queued it first).
    pub async fn queue_notice(
        &self,
        notice: &NewNotice,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut transaction = self.pool.begin().await?;
        for record_id in &notice.consents {
            let listed = sqlx::query(
                "INSERT INTO notice_consents (record_id, notice_id) VALUES ($1, $2) ON CONFLICT (record_id) DO NOTHING",
            )
            .bind(record_id.clone())
            .bind(notice.id.clone())
            .execute(&mut *transaction)
            .await?
            .rows_affected();
            if listed == 0 {
                transaction.rollback().await?;
                return Ok(false);
            }
        }
        sqlx::query(
            "INSERT INTO notices (id, kind, recipient_hash, recipient_sealed, recipient_type, channels, locale, consent_at_ms, deadline_ms, created_at_ms, next_at_ms, key_id, state, last_error) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(notice.id.clone())
        .bind(notice.kind.as_str())
        .bind(notice.recipient_hash.clone())
        .bind(
            self.keyring
                .seal(notice.recipient.as_bytes(), &seal_context("recipient", &notice.id)),
        )
        .bind(notice.recipient_type.as_str())
        .bind(join_channels(&notice.channels))
        .bind(notice.locale.as_str())
        .bind(notice.consent_at_ms)
        .bind(notice.deadline_ms)
        .bind(now.unix_millis())
        .bind(now.unix_millis())
        .bind(i64::from(self.keyring.current_key_id()))
        .bind(if notice.skipped.is_some() {
            "skipped"
        } else {
            "pending"
        })
        .bind(notice.skipped)
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(true)
    }

    /// Claims the oldest pending notice that is due at `now` and not claimed by another relay,
    /// for `lease_ms`, under `token`, which settling it must show; none when there is none.
    pub async fn claim_notice(
        &self,
        now: Timestamp,
        lease_ms: i64,
        token: &str,
    ) -> Result<Option<DueNotice>, StoreError> {
        let now_ms = now.unix_millis();
        let candidates = sqlx::query(
            "SELECT id FROM notices WHERE state = 'pending' AND next_at_ms <= $1 AND claimed_until_ms <= $1 ORDER BY next_at_ms LIMIT 4",
        )
        .bind(now_ms)
        .fetch_all(&self.pool)
        .await?;
        for candidate in candidates {
            let id: String = candidate.try_get("id")?;
            // Taken only if nobody took it since it was read.
            let claimed = sqlx::query(
                "UPDATE notices SET claimed_until_ms = $1, claim_token = $2 WHERE id = $3 AND state = 'pending' AND claimed_until_ms <= $4",
            )
            .bind(now_ms + lease_ms)
            .bind(token)
            .bind(id.clone())
            .bind(now_ms)
            .execute(&self.pool)
            .await?
            .rows_affected();
            if claimed == 0 {
                continue;
            }
            let row = sqlx::query("SELECT * FROM notices WHERE id = $1")
                .bind(id.clone())
                .fetch_one(&self.pool)
                .await?;
            let sealed: Vec<u8> = row.try_get("recipient_sealed")?;
            let recipient = self
                .keyring
                .open(&sealed, &seal_context("recipient", &id))
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(|| {
                    StoreError::Corrupt(format!("notice {id}: its address does not open"))
                })?;
            let consents = sqlx::query(
                "SELECT record_id FROM notice_consents WHERE notice_id = $1 ORDER BY record_id",
            )
            .bind(id.clone())
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| row.try_get::<String, _>("record_id"))
            .collect::<Result<Vec<_>, _>>()?;
            return Ok(Some(DueNotice {
                kind: parse_column(&row, "kind")?,
                recipient,
                recipient_type: parse_column(&row, "recipient_type")?,
                channels: parse_channels(&row.try_get::<String, _>("channels")?)?,
                locale: parse_column(&row, "locale")?,
                consent_at_ms: row.try_get("consent_at_ms")?,
                deadline_ms: row.try_get("deadline_ms")?,
                attempts: row.try_get("attempts")?,
                last_error: row.try_get("last_error")?,
                consents,
                id,
            }));
        }
        Ok(None)
    }

    /// Records a failed attempt by the holder of `token`: the notice goes again at `next_at`,
    /// and `error` (a code, never an address) says why. `false` when the claim was lost.
    pub async fn retry_notice(
        &self,
        id: &str,
        token: &str,
        next_at: Timestamp,
        error: &str,
    ) -> Result<bool, StoreError> {
        let updated = sqlx::query(
            "UPDATE notices SET attempts = attempts + 1, next_at_ms = $1, last_error = $2, claimed_until_ms = 0, claim_token = NULL WHERE id = $3 AND state = 'pending' AND claim_token = $4",
        )
        .bind(next_at.unix_millis())
        .bind(error)
        .bind(id)
        .bind(token)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(updated == 1)
    }

    /// Ends a pending notice the holder of `token` claimed with `outcome` and chains it in the
    /// ledger, in one transaction; `false` when it had ended already or the claim was lost.
    pub async fn settle_notice(
        &self,
        id: &str,
        token: &str,
        outcome: &NoticeOutcome,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut transaction = self.pool.begin().await?;
        let mut head =
            LedgerHead::lock(&mut transaction, self.backend, self.keyring.ledger()).await?;
        let row = sqlx::query(
            "SELECT * FROM notices WHERE id = $1 AND state = 'pending' AND claim_token = $2",
        )
        .bind(id)
        .bind(token)
        .fetch_optional(&mut *transaction)
        .await?;
        let Some(row) = row else {
            transaction.rollback().await?;
            return Ok(false);
        };
        let consents = sqlx::query(
            "SELECT record_id FROM notice_consents WHERE notice_id = $1 ORDER BY record_id",
        )
        .bind(id)
        .fetch_all(&mut *transaction)
        .await?
        .iter()
        .map(|row| row.try_get::<String, _>("record_id"))
        .collect::<Result<Vec<_>, _>>()?;
        let attempts = row.try_get::<i64, _>("attempts")?
            + i64::from(!matches!(outcome, NoticeOutcome::DayEnded(_)));
        let (state, content, error) = match outcome {
            NoticeOutcome::Sent(content) => ("sent", Some(content.as_str()), None::<&str>),
            NoticeOutcome::FailedLast(error) | NoticeOutcome::DayEnded(error) => {
                ("missed", None, Some(error.as_str()))
            }
        };
        let facts = NoticeFacts {
            consents,
            kind: parse_column(&row, "kind")?,
            recipient_hash: hex(&row.try_get::<Vec<u8>, _>("recipient_hash")?),
            outcome: state.to_owned(),
            attempts,
            settled_at_ms: now.unix_millis(),
            content_sha256: content.map(content_digest),
        };
        let mut update = sqlx::query(
            "UPDATE notices SET state = $1, attempts = $2, settled_at_ms = $3, content_sha256 = $4, content_sealed = $5, last_error = $6, claimed_until_ms = 0, claim_token = NULL WHERE id = $7",
        )
        .bind(state)
        .bind(attempts)
        .bind(now.unix_millis())
        .bind(facts.content_sha256.clone());
        update = match content {
            Some(content) => update.bind(Some(
                self.keyring
                    .seal(content.as_bytes(), &seal_context("content", id)),
            )),
            None => update.bind(None::<Vec<u8>>),
        };
        update
            .bind(error.map(str::to_owned))
            .bind(id)
            .execute(&mut *transaction)
            .await?;
        head.append(
            &mut transaction,
            kind::NOTICE,
            id,
            facts_text(&facts),
            now.unix_millis(),
        )
        .await?;
        head.save(&mut transaction).await?;
        transaction.commit().await?;
        Ok(true)
    }

    /// Where the notices stand at `now`.
    pub async fn notice_counts(&self, now: Timestamp) -> Result<NoticeCounts, StoreError> {
        let hour = now.unix_millis() + 3_600_000;
        let row = sqlx::query(
            "SELECT \
               COALESCE(SUM(CASE WHEN state = 'pending' THEN 1 ELSE 0 END), 0) AS pending, \
               COALESCE(SUM(CASE WHEN state = 'pending' AND attempts > 0 THEN 1 ELSE 0 END), 0) AS failing, \
               COALESCE(SUM(CASE WHEN state = 'pending' AND deadline_ms <= $1 THEN 1 ELSE 0 END), 0) AS at_risk, \
               COALESCE(SUM(CASE WHEN state = 'sent' THEN 1 ELSE 0 END), 0) AS sent, \
               COALESCE(SUM(CASE WHEN state = 'missed' THEN 1 ELSE 0 END), 0) AS missed, \
               COALESCE(SUM(CASE WHEN state = 'skipped' THEN 1 ELSE 0 END), 0) AS skipped \
             FROM notices",
        )
        .bind(hour)
        .fetch_one(&self.pool)
        .await?;
        let without = sqlx::query(
            "SELECT COUNT(*) AS count FROM consents c LEFT JOIN notice_consents n ON n.record_id = c.id WHERE c.status = 'granted' AND n.record_id IS NULL",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(NoticeCounts {
            pending: row.try_get("pending")?,
            failing: row.try_get("failing")?,
            at_risk: row.try_get("at_risk")?,
            sent: row.try_get("sent")?,
            missed: row.try_get("missed")?,
            skipped: row.try_get("skipped")?,
            without_notice: without.try_get("count")?,
        })
    }

    /// The notice of each record that has one, by record id, opened.
    pub async fn notice_summaries(
        &self,
    ) -> Result<std::collections::HashMap<String, NoticeSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT n.*, c.record_id FROM notice_consents c JOIN notices n ON n.id = c.notice_id",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut summaries = std::collections::HashMap::with_capacity(rows.len());
        for row in rows {
            let id: String = row.try_get("id")?;
            let content = match row.try_get::<Option<Vec<u8>>, _>("content_sealed")? {
                Some(sealed) => Some(
                    self.keyring
                        .open(&sealed, &seal_context("content", &id))
                        .ok()
                        .and_then(|bytes| String::from_utf8(bytes).ok())
                        .ok_or_else(|| {
                            StoreError::Corrupt(format!("notice {id}: its content does not open"))
                        })?,
                ),
                None => None,
            };
            let summary = NoticeSummary {
                kind: parse_column(&row, "kind")?,
                state: row.try_get("state")?,
                attempts: row.try_get("attempts")?,
                settled_at: row
                    .try_get::<Option<i64>, _>("settled_at_ms")?
                    .map(|ms| Timestamp::from_unix_millis(ms).to_rfc3339()),
                last_error: row.try_get("last_error")?,
                content_sha256: row.try_get("content_sha256")?,
                content,
                id,
            };
            summaries.insert(row.try_get::<String, _>("record_id")?, summary);
        }
        Ok(summaries)
    }
}
