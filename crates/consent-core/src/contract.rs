//! The widget-to-relay contract, version 1: the JSON bodies of `POST /v1/consents` and its answers.
//!
//! These types only describe the wire; [`crate::record::ConsentRecord::from_wire`] decides whether
//! a record is acceptable. Field names are camelCase. Requests refuse unknown fields, so a typo
//! cannot drop evidence; answers accept them, so an older widget keeps working with a newer relay.

use serde::{Deserialize, Serialize};

use crate::vocabulary::{CaptureSource, Channel, ConsentStatus, Locale, Mode, RecipientType};

/// The body of `POST /v1/consents`: the decisions of one submit, one record per channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConsentBatch {
    /// The records, at least one.
    pub records: Vec<WireRecord>,
}

/// One channel decision as the widget sends it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WireRecord {
    /// A UUIDv7 in its hyphenated lower-case form; also the idempotency key.
    pub id: String,
    /// The channel the decision is for.
    pub channel: Channel,
    /// The address as the person typed it.
    pub recipient: String,
    /// Individual or merchant.
    pub recipient_type: RecipientType,
    /// Granted or rejected.
    pub status: ConsentStatus,
    /// The client's clock at the decision, RFC 3339 in UTC.
    pub consented_at: String,
    /// Web page or app web view.
    pub source: CaptureSource,
    /// What the person saw.
    pub evidence: WireEvidence,
    /// The person's name and surname, as the regulation lists it with a consent; optional, and
    /// a blank one counts as none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Proof of what the person saw when deciding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WireEvidence {
    /// The exact consent text shown for the box.
    pub text: String,
    /// Lower-case hex SHA-256 of the UTF-8 bytes of `text`.
    pub text_sha256: String,
    /// The shop's version label of the text.
    pub text_version: String,
    /// The language the text was shown in.
    pub locale: Locale,
    /// The page the widget ran on.
    pub page_url: String,
    /// The shop's identifier of the form.
    pub form_id: String,
    /// How the widget was embedded.
    pub mode: Mode,
    /// The browser's user agent.
    pub user_agent: String,
    /// The widget's version.
    pub sdk_version: String,
}

/// The 200 answer to `POST /v1/consents`: one receipt per record, in request order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptBatch {
    /// The receipts.
    pub records: Vec<Receipt>,
}

/// What the relay did with one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    /// The record's id.
    pub id: String,
    /// Stored now, or stored before.
    pub outcome: Outcome,
    /// The consent date the relay will give İYS, `YYYY-MM-DD HH:mm:ss` in Turkish time.
    pub consent_date: String,
    /// The relay's receipt: the record's ledger hash.
    pub receipt: String,
    /// Whether this request brought the record to the relay after İYS's three-business-day
    /// window from its `consentedAt` ([`crate::calendar::registration_deadline`]), by the
    /// relay's clock; false from a relay that does not say.
    #[serde(default)]
    pub late: bool,
}

/// Whether a record was new to the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Stored by this request.
    Stored,
    /// The same `id` was stored before; the receipt is the first one.
    Duplicate,
}

/// The body of every 4xx and 5xx answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// A stable code to branch on.
    pub code: ErrorCode,
    /// A sentence for developers; it may change between versions.
    pub message: String,
    /// The JSON path of the offending field, such as `records[0].evidence.textSha256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// A finer-grained stable code, such as `phone_not_mobile`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The stable error codes of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The body is not JSON, or not of the contract's shape.
    MalformedJson,
    /// A record is of the right shape but not acceptable.
    InvalidRecord,
    /// A recipient is not a valid address for its channel.
    InvalidRecipient,
    /// A record's consent text is not in the relay's register of texts for its channel and
    /// language. Nothing of the request was stored; it can be sent again once the shop has
    /// registered the text.
    UnknownText,
    /// The request is not `application/json`.
    UnsupportedMediaType,
    /// The body or the number of records is over the limit.
    PayloadTooLarge,
    /// The body did not arrive within the relay's time for it; nothing was stored.
    RequestTimeout,
    /// A trusted proxy's `X-Forwarded-For` does not read: the proxy's setup is wrong.
    InvalidForwardedFor,
    /// The page's origin is not one of the shop's.
    OriginNotAllowed,
    /// Too many requests from this address; see `Retry-After`.
    RateLimited,
    /// A missing, wrong or expired preference-centre token.
    Unauthorized,
    /// A known record id sent again with a different payload.
    ConflictingDuplicate,
    /// The relay's database cannot commit now; nothing was stored. Try again after
    /// `Retry-After`.
    StorageUnavailable,
    /// A fault on the relay's side; nothing the client sent caused it.
    Internal,
    /// A code a newer relay sent that this version does not know.
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// The code as it appears on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MalformedJson => "malformed_json",
            ErrorCode::InvalidRecord => "invalid_record",
            ErrorCode::InvalidRecipient => "invalid_recipient",
            ErrorCode::UnknownText => "unknown_text",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::RequestTimeout => "request_timeout",
            ErrorCode::InvalidForwardedFor => "invalid_forwarded_for",
            ErrorCode::OriginNotAllowed => "origin_not_allowed",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::ConflictingDuplicate => "conflicting_duplicate",
            ErrorCode::StorageUnavailable => "storage_unavailable",
            ErrorCode::Internal => "internal",
            ErrorCode::Unknown => "unknown",
        }
    }
}

impl core::fmt::Debug for WireRecord {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // The recipient, the name and the page URL may hold personal data.
        formatter
            .debug_struct("WireRecord")
            .field("id", &self.id)
            .field("channel", &self.channel)
            .field("recipient_type", &self.recipient_type)
            .field("status", &self.status)
            .field("consented_at", &self.consented_at)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}
