//! The register of consent texts: the texts the relay accepts records with, for each channel and
//! language, each registered once with a ledger entry, so the shop can show which wording was in
//! force and since when.

use consent_core::record::{limits, text_sha256};
use consent_core::time::Timestamp;
use consent_core::{Channel, Locale};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::ledger::{LedgerHead, facts_text};
use super::{Store, StoreError, kind, parse_column};

/// Where a registered text came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextOrigin {
    /// The default text for the configured brand, the one the widget shows unless told otherwise.
    BuiltIn,
    /// Published by the shop with `iys-relay texts add`.
    Published,
}

impl TextOrigin {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            TextOrigin::BuiltIn => "built_in",
            TextOrigin::Published => "published",
        }
    }
}

impl std::str::FromStr for TextOrigin {
    type Err = ();

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "built_in" => Ok(TextOrigin::BuiltIn),
            "published" => Ok(TextOrigin::Published),
            _ => Err(()),
        }
    }
}

/// A text in the register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisteredText {
    /// Its SHA-256, lower-case hex, as records carry it in `textSha256`.
    pub sha256: String,
    /// The channel it asks consent for.
    pub channel: Channel,
    /// Its language.
    pub locale: Locale,
    /// The shop's version label.
    pub version: String,
    /// The text.
    pub text: String,
    /// Built in or published.
    pub origin: TextOrigin,
    /// When it was registered.
    pub registered_at: String,
    /// When the first record with it arrived, if one has.
    pub first_used_at: Option<String>,
}

/// What a text's ledger entry says: everything of its registration but the text, whose digest
/// the entry's record id is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TextFacts {
    /// The text's SHA-256.
    pub sha256: String,
    /// The channel.
    pub channel: Channel,
    /// The language.
    pub locale: Locale,
    /// The version label.
    pub version: String,
    /// Built in or published.
    pub origin: TextOrigin,
    /// When it was registered.
    pub registered_at_ms: i64,
}

/// Why a text cannot be registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextError {
    /// Empty, too long, or with control characters other than line breaks and tabs.
    Text(String),
    /// A version label that is empty or too long.
    Version,
}

impl std::fmt::Display for TextError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TextError::Text(why) => write!(formatter, "the text cannot be registered: {why}"),
            TextError::Version => write!(
                formatter,
                "a version label is 1 to {} bytes on one line",
                limits::TEXT_VERSION
            ),
        }
    }
}

impl std::error::Error for TextError {}

/// Checks a text and its version as a record's evidence would be checked.
pub fn check_text(text: &str, version: &str) -> Result<(), TextError> {
    if text.trim().is_empty() {
        return Err(TextError::Text("it is empty".to_owned()));
    }
    if text.len() > limits::TEXT {
        return Err(TextError::Text(format!(
            "it is longer than {} bytes",
            limits::TEXT
        )));
    }
    if text
        .chars()
        .any(|character| character.is_control() && !matches!(character, '\n' | '\r' | '\t'))
    {
        return Err(TextError::Text("it holds a control character".to_owned()));
    }
    if version.trim().is_empty()
        || version.len() > limits::TEXT_VERSION
        || version.chars().any(char::is_control)
    {
        return Err(TextError::Version);
    }
    Ok(())
}

/// The record id a text's ledger entry carries: its digest, channel and language.
pub fn entry_id(sha256: &str, channel: Channel, locale: Locale) -> String {
    format!("{sha256}:{channel}:{locale}")
}

impl Store {
    /// Registers `text` for `channel` and `locale` under `version`, with a ledger entry, in one
    /// transaction. A text registered before for that channel and language stays as it was; the
    /// answer is the register's entry and whether it is new.
    pub async fn register_text(
        &self,
        channel: Channel,
        locale: Locale,
        version: &str,
        text: &str,
        origin: TextOrigin,
        now: Timestamp,
    ) -> Result<(RegisteredText, bool), StoreError> {
        check_text(text, version).map_err(|error| StoreError::Corrupt(error.to_string()))?;
        let sha256 = text_sha256(text);
        let mut transaction = self.pool.begin().await?;
        let mut head =
            LedgerHead::lock(&mut transaction, self.backend, self.keyring.ledger()).await?;
        let inserted = sqlx::query(
            "INSERT INTO consent_texts (sha256, channel, locale, version, text, origin, registered_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (sha256, channel, locale) DO NOTHING",
        )
        .bind(sha256.clone())
        .bind(channel.as_str())
        .bind(locale.as_str())
        .bind(version)
        .bind(text)
        .bind(origin.as_str())
        .bind(now.unix_millis())
        .execute(&mut *transaction)
        .await?
        .rows_affected()
            == 1;
        if inserted {
            let facts = TextFacts {
                sha256: sha256.clone(),
                channel,
                locale,
                version: version.to_owned(),
                origin,
                registered_at_ms: now.unix_millis(),
            };
            head.append(
                &mut transaction,
                kind::TEXT,
                &entry_id(&sha256, channel, locale),
                facts_text(&facts),
                now.unix_millis(),
            )
            .await?;
            head.save(&mut transaction).await?;
        }
        transaction.commit().await?;
        let registered = self
            .registered_text(&sha256, channel, locale)
            .await?
            .ok_or_else(|| StoreError::Corrupt("a text just registered is not there".to_owned()))?;
        Ok((registered, inserted))
    }

    /// The register's entry for a text, if it has one.
    pub async fn registered_text(
        &self,
        sha256: &str,
        channel: Channel,
        locale: Locale,
    ) -> Result<Option<RegisteredText>, StoreError> {
        let row = sqlx::query(
            "SELECT * FROM consent_texts WHERE sha256 = $1 AND channel = $2 AND locale = $3",
        )
        .bind(sha256)
        .bind(channel.as_str())
        .bind(locale.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(registered_text).transpose()
    }

    /// Every registered text, oldest first.
    pub async fn registered_texts(&self) -> Result<Vec<RegisteredText>, StoreError> {
        sqlx::query(
            "SELECT * FROM consent_texts ORDER BY registered_at_ms, channel, locale, sha256",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(registered_text)
        .collect()
    }
}

fn registered_text(row: &sqlx::any::AnyRow) -> Result<RegisteredText, StoreError> {
    Ok(RegisteredText {
        sha256: row.try_get("sha256")?,
        channel: parse_column(row, "channel")?,
        locale: parse_column(row, "locale")?,
        version: row.try_get("version")?,
        text: row.try_get("text")?,
        origin: parse_column(row, "origin")?,
        registered_at: Timestamp::from_unix_millis(row.try_get("registered_at_ms")?).to_rfc3339(),
        first_used_at: row
            .try_get::<Option<i64>, _>("first_used_at_ms")?
            .map(|ms| Timestamp::from_unix_millis(ms).to_rfc3339()),
    })
}
