//! The consent record: one channel decision with the proof of what the person saw.

use core::fmt;

use sha2::{Digest, Sha256};

use crate::contract::{ErrorCode, WireEvidence, WireRecord};
use crate::import::{ImportEvidence, ImportedRow};
use crate::recipient::{Recipient, RecipientError};
use crate::refusal::LinkRefusal;
use crate::time::{TimeError, Timestamp};
use crate::vocabulary::{Channel, ConsentStatus, Locale, Mode, RecipientType, Source};

/// Upper bounds on evidence fields, in bytes: generous for real pages, small enough that a record
/// cannot be used to store arbitrary data.
pub mod limits {
    /// The consent text of one box.
    pub const TEXT: usize = 4_096;
    /// The text version label.
    pub const TEXT_VERSION: usize = 64;
    /// The page URL.
    pub const PAGE_URL: usize = 2_048;
    /// The form id.
    pub const FORM_ID: usize = 128;
    /// The user agent.
    pub const USER_AGENT: usize = 512;
    /// The SDK version.
    pub const SDK_VERSION: usize = 32;
    /// The recipient as typed.
    pub const RECIPIENT: usize = 320;
    /// The person's name and surname.
    pub const NAME: usize = 200;
}

/// A record's id: a UUID of version 7, whose first 48 bits are the creation time in milliseconds.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordId([u8; 16]);

impl RecordId {
    /// Makes a version-7 id from a Unix time in milliseconds (its low 48 bits, enough until the
    /// year 10889) and ten random bytes.
    pub fn v7(unix_millis: u64, random: [u8; 10]) -> RecordId {
        let mut bytes = [0_u8; 16];
        bytes[..6].copy_from_slice(&unix_millis.to_be_bytes()[2..]);
        bytes[6..].copy_from_slice(&random);
        bytes[6] = 0x70 | (bytes[6] & 0x0f);
        bytes[8] = 0x80 | (bytes[8] & 0x3f);
        RecordId(bytes)
    }

    /// Parses the hyphenated form `0193741f-6c2a-7b1e-9a51-3f0c2d7e8a11` (either case) and checks
    /// that it is a version-7 UUID of the RFC 9562 variant.
    pub fn parse(text: &str) -> Result<RecordId, RecordIdError> {
        let bytes = text.as_bytes();
        if bytes.len() != 36 {
            return Err(RecordIdError::Shape);
        }
        let mut id = [0_u8; 16];
        let mut nibbles = 0;
        for (index, &byte) in bytes.iter().enumerate() {
            if matches!(index, 8 | 13 | 18 | 23) {
                if byte != b'-' {
                    return Err(RecordIdError::Shape);
                }
                continue;
            }
            let value = match byte {
                b'0'..=b'9' => byte - b'0',
                b'a'..=b'f' => byte - b'a' + 10,
                b'A'..=b'F' => byte - b'A' + 10,
                _ => return Err(RecordIdError::Shape),
            };
            id[nibbles / 2] |= if nibbles % 2 == 0 { value << 4 } else { value };
            nibbles += 1;
        }
        RecordId::from_bytes(id)
    }

    /// The id whose sixteen bytes are `bytes`, checked as [`RecordId::parse`] checks the text.
    pub fn from_bytes(bytes: [u8; 16]) -> Result<RecordId, RecordIdError> {
        if bytes[6] >> 4 != 7 || bytes[8] >> 6 != 0b10 {
            return Err(RecordIdError::NotVersion7);
        }
        Ok(RecordId(bytes))
    }

    /// The creation time written into the id, in milliseconds since the Unix epoch.
    pub fn unix_millis(self) -> u64 {
        let mut millis = [0_u8; 8];
        millis[2..].copy_from_slice(&self.0[..6]);
        u64::from_be_bytes(millis)
    }

    /// The sixteen bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl RecordId {
    /// The hyphenated form, `0193a1b2-0000-7000-8000-000000000001`, as `Display` writes it.
    // Size: without `core::fmt`, which the widget would otherwise carry for this alone.
    pub fn to_hyphenated(&self) -> String {
        let mut text = String::with_capacity(36);
        for (from, to) in [(0, 4), (4, 6), (6, 8), (8, 10), (10, 16)] {
            if from > 0 {
                text.push('-');
            }
            text.push_str(&hex(&self.0[from..to]));
        }
        text
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.to_hyphenated())
    }
}

impl fmt::Debug for RecordId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "RecordId({self})")
    }
}

/// Why a record id was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordIdError {
    /// Not 32 hex digits in the 8-4-4-4-12 hyphenated layout.
    Shape,
    /// A UUID, but not version 7 of the RFC 9562 variant.
    NotVersion7,
}

impl fmt::Display for RecordIdError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            RecordIdError::Shape => "invalid id: expected a hyphenated UUID of 36 characters",
            RecordIdError::NotVersion7 => "invalid id: expected a version 7 UUID",
        })
    }
}

impl std::error::Error for RecordIdError {}

/// Lower-case hex SHA-256 of the UTF-8 bytes of `text`, as the record's `textSha256`.
pub fn text_sha256(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

/// `bytes` as lower-case hex, two digits each.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

/// What the person saw when deciding, checked. Built only by [`ConsentRecord::from_wire`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    text: String,
    text_sha256: String,
    text_version: String,
    locale: Locale,
    page_url: String,
    form_id: String,
    mode: Mode,
    user_agent: String,
    sdk_version: String,
}

impl Evidence {
    /// The exact consent text shown.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Its SHA-256, lower-case hex, equal to `text_sha256(self.text())`.
    pub fn text_sha256(&self) -> &str {
        &self.text_sha256
    }

    /// The shop's version label of the text.
    pub fn text_version(&self) -> &str {
        &self.text_version
    }

    /// The language shown.
    pub fn locale(&self) -> Locale {
        self.locale
    }

    /// The page, an `http` or `https` URL.
    pub fn page_url(&self) -> &str {
        &self.page_url
    }

    /// The form.
    pub fn form_id(&self) -> &str {
        &self.form_id
    }

    /// How the widget was embedded.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The browser's user agent.
    pub fn user_agent(&self) -> &str {
        &self.user_agent
    }

    /// The widget's version.
    pub fn sdk_version(&self) -> &str {
        &self.sdk_version
    }

    /// The evidence in its wire form.
    pub fn to_wire(&self) -> WireEvidence {
        WireEvidence {
            text: self.text.clone(),
            text_sha256: self.text_sha256.clone(),
            text_version: self.text_version.clone(),
            locale: self.locale,
            page_url: self.page_url.clone(),
            form_id: self.form_id.clone(),
            mode: self.mode,
            user_agent: self.user_agent.clone(),
            sdk_version: self.sdk_version.clone(),
        }
    }
}

/// Where a record came from, with the proof of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proof {
    /// The widget, with what the person saw.
    Widget(Evidence),
    /// A refusal link, from a notice or one of the shop's messages.
    RefusalLink(LinkRefusal),
    /// A row of an existing consent database the shop imported.
    Import(ImportEvidence),
}

/// A validated consent record: one channel decision and its proof. It can only be built by
/// [`ConsentRecord::from_wire`], from what the widget sent, or by
/// [`ConsentRecord::refused_by_link`], so every value of this type has passed every check.
#[derive(Clone, PartialEq, Eq)]
pub struct ConsentRecord {
    id: RecordId,
    channel: Channel,
    recipient: Recipient,
    recipient_as_typed: String,
    recipient_type: RecipientType,
    status: ConsentStatus,
    consented_at: Timestamp,
    source: Source,
    proof: Proof,
    name: Option<String>,
}

impl fmt::Debug for ConsentRecord {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The address (as typed and normalised) and the name are personal data and stay out of
        // debug output.
        formatter
            .debug_struct("ConsentRecord")
            .field("id", &self.id)
            .field("channel", &self.channel)
            .field("recipient_type", &self.recipient_type)
            .field("status", &self.status)
            .field("consented_at", &self.consented_at)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl ConsentRecord {
    /// The id and idempotency key.
    pub fn id(&self) -> RecordId {
        self.id
    }

    /// The channel.
    pub fn channel(&self) -> Channel {
        self.channel
    }

    /// The normalised address, valid for the channel.
    pub fn recipient(&self) -> &Recipient {
        &self.recipient
    }

    /// The address as the person typed it, kept as evidence.
    pub fn recipient_as_typed(&self) -> &str {
        &self.recipient_as_typed
    }

    /// Individual or merchant.
    pub fn recipient_type(&self) -> RecipientType {
        self.recipient_type
    }

    /// Granted or rejected.
    pub fn status(&self) -> ConsentStatus {
        self.status
    }

    /// The client's clock at the decision.
    pub fn consented_at(&self) -> Timestamp {
        self.consented_at
    }

    /// How the consent was obtained: a web page or an app's web view for the widget, İYS's
    /// source from the file for an import.
    pub fn source(&self) -> Source {
        self.source
    }

    /// What the person saw in the widget, for a record that came from it.
    pub fn evidence(&self) -> Option<&Evidence> {
        match &self.proof {
            Proof::Widget(evidence) => Some(evidence),
            Proof::RefusalLink(_) | Proof::Import(_) => None,
        }
    }

    /// Where the record came from, with the proof of it.
    pub fn proof(&self) -> &Proof {
        &self.proof
    }

    /// The person's name and surname when the record gives one, without the blanks around it.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
}

impl ConsentRecord {
    /// Checks a record as received and builds the validated form.
    ///
    /// Every field is checked; the first problem found is returned with the field's name.
    pub fn from_wire(wire: &WireRecord) -> Result<ConsentRecord, RecordError> {
        let id = RecordId::parse(&wire.id).map_err(|error| RecordError::new("id", error.into()))?;
        check_length("recipient", &wire.recipient, limits::RECIPIENT)?;
        let recipient = Recipient::parse_for(wire.channel, &wire.recipient)
            .map_err(|error| RecordError::new("recipient", Problem::Recipient(error)))?;
        let consented_at = Timestamp::parse_rfc3339(&wire.consented_at)
            .map_err(|error| RecordError::new("consentedAt", Problem::Time(error)))?;
        let evidence = check_evidence(&wire.evidence)?;
        let name = check_name(wire.name.as_deref())?;
        Ok(ConsentRecord {
            id,
            channel: wire.channel,
            recipient,
            recipient_as_typed: wire.recipient.clone(),
            recipient_type: wire.recipient_type,
            status: wire.status,
            consented_at,
            source: Source::from(wire.source),
            proof: Proof::Widget(evidence),
            name,
        })
    }

    /// A refusal of `channel` for `recipient`, given at `at` through a refusal link, which is a
    /// page on the web: the address as typed is the normalised one, since nobody typed it.
    pub fn refused_by_link(
        id: RecordId,
        channel: Channel,
        recipient: Recipient,
        recipient_type: RecipientType,
        at: Timestamp,
        link: LinkRefusal,
    ) -> Result<ConsentRecord, RecordError> {
        if channel.is_phone() != matches!(recipient, Recipient::Phone(_)) {
            return Err(RecordError::new(
                "recipient",
                Problem::Recipient(RecipientError::ChannelMismatch { channel }),
            ));
        }
        if let Recipient::Phone(phone) = &recipient {
            phone
                .check_reachable(channel)
                .map_err(|error| RecordError::new("recipient", Problem::Recipient(error.into())))?;
        }
        Ok(ConsentRecord {
            id,
            channel,
            recipient_as_typed: recipient.normalised(),
            recipient,
            recipient_type,
            status: ConsentStatus::Rejected,
            consented_at: at,
            source: Source::Web,
            proof: Proof::RefusalLink(link),
            name: None,
        })
    }
}

impl ConsentRecord {
    /// A record of a row of an imported consent database, which `import::read_row` checked;
    /// `id` comes from the row's content, so the same row imported again is the same record.
    pub fn imported(id: RecordId, row: ImportedRow, evidence: ImportEvidence) -> ConsentRecord {
        ConsentRecord {
            id,
            channel: row.channel,
            recipient_as_typed: row.recipient_as_written,
            recipient: row.recipient,
            recipient_type: row.recipient_type,
            status: row.status,
            consented_at: row.consent_date.to_instant(),
            source: row.source,
            proof: Proof::Import(evidence),
            name: row.name,
        }
    }
}

/// `name` as a record can carry it: on one line (each run of control characters, a line break
/// among them, and the blanks around it becomes one space), trimmed, and cut to
/// [`limits::NAME`] bytes at a character boundary; empty when nothing is left. What it returns
/// always passes the record's check, so a client that sends it never has a decision refused for
/// how a name field was filled in.
pub fn fit_name(name: &str) -> String {
    let one_line = name
        .split(char::is_control)
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let mut end = one_line.len().min(limits::NAME);
    while !one_line.is_char_boundary(end) {
        end -= 1;
    }
    one_line[..end].trim_end().to_owned()
}

/// A name as sent: trimmed, a blank one read as none; refused when too long or holding a
/// control character (a line break included: a name is one line).
pub(crate) fn check_name(name: Option<&str>) -> Result<Option<String>, RecordError> {
    let Some(name) = name.map(str::trim).filter(|name| !name.is_empty()) else {
        return Ok(None);
    };
    check_length("name", name, limits::NAME)?;
    if name.chars().any(char::is_control) {
        return Err(RecordError::new("name", Problem::ControlCharacter));
    }
    Ok(Some(name.to_owned()))
}

fn check_evidence(wire: &WireEvidence) -> Result<Evidence, RecordError> {
    check_required("evidence.text", &wire.text, limits::TEXT)?;
    if text_sha256(&wire.text) != wire.text_sha256 {
        return Err(RecordError::new(
            "evidence.textSha256",
            Problem::TextHashMismatch,
        ));
    }
    check_required(
        "evidence.textVersion",
        &wire.text_version,
        limits::TEXT_VERSION,
    )?;
    check_required("evidence.pageUrl", &wire.page_url, limits::PAGE_URL)?;
    let scheme_end = wire.page_url.find("://").unwrap_or(0);
    if !matches!(&wire.page_url[..scheme_end], "http" | "https") {
        return Err(RecordError::new("evidence.pageUrl", Problem::NotHttpUrl));
    }
    check_length("evidence.formId", &wire.form_id, limits::FORM_ID)?;
    check_length("evidence.userAgent", &wire.user_agent, limits::USER_AGENT)?;
    check_required(
        "evidence.sdkVersion",
        &wire.sdk_version,
        limits::SDK_VERSION,
    )?;
    Ok(Evidence {
        text: wire.text.clone(),
        text_sha256: wire.text_sha256.clone(),
        text_version: wire.text_version.clone(),
        locale: wire.locale,
        page_url: wire.page_url.clone(),
        form_id: wire.form_id.clone(),
        mode: wire.mode,
        user_agent: wire.user_agent.clone(),
        sdk_version: wire.sdk_version.clone(),
    })
}

fn check_required(field: &'static str, value: &str, limit: usize) -> Result<(), RecordError> {
    if value.trim().is_empty() {
        return Err(RecordError::new(field, Problem::Empty));
    }
    check_length(field, value, limit)
}

fn check_length(field: &'static str, value: &str, limit: usize) -> Result<(), RecordError> {
    if value.len() > limit {
        return Err(RecordError::new(
            field,
            Problem::TooLong {
                limit,
                found: value.len(),
            },
        ));
    }
    // Line breaks and tabs occur in rendered text (an indented label); other controls do not.
    if value
        .chars()
        .any(|character| character.is_control() && !matches!(character, '\n' | '\r' | '\t'))
    {
        return Err(RecordError::new(field, Problem::ControlCharacter));
    }
    Ok(())
}

/// Why a record was refused, and which field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    field: &'static str,
    problem: Problem,
}

/// What was wrong with a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// The id is not a version-7 UUID.
    Id(RecordIdError),
    /// The recipient does not fit the channel.
    Recipient(RecipientError),
    /// A time could not be read.
    Time(TimeError),
    /// `textSha256` is not the SHA-256 of `text`.
    TextHashMismatch,
    /// The page URL is not `http` or `https`.
    NotHttpUrl,
    /// A required field is empty.
    Empty,
    /// A field is longer than its limit, in bytes.
    TooLong {
        /// The limit.
        limit: usize,
        /// The length found.
        found: usize,
    },
    /// A field holds a control character.
    ControlCharacter,
}

impl From<RecordIdError> for Problem {
    fn from(error: RecordIdError) -> Self {
        Problem::Id(error)
    }
}

impl RecordError {
    fn new(field: &'static str, problem: Problem) -> RecordError {
        RecordError { field, problem }
    }

    /// The field's path inside the record, such as `evidence.textSha256`.
    pub fn field(&self) -> &'static str {
        self.field
    }

    /// What was wrong.
    pub fn problem(&self) -> Problem {
        self.problem
    }

    /// The contract's error code: `invalid_recipient` for addresses, else `invalid_record`.
    pub fn code(&self) -> ErrorCode {
        match self.problem {
            Problem::Recipient(_) => ErrorCode::InvalidRecipient,
            _ => ErrorCode::InvalidRecord,
        }
    }

    /// A finer stable code, such as `phone_not_mobile` or `text_hash_mismatch`.
    pub fn reason(&self) -> &'static str {
        match self.problem {
            Problem::Id(RecordIdError::Shape) => "id_not_uuid",
            Problem::Id(RecordIdError::NotVersion7) => "id_not_uuid_v7",
            Problem::Recipient(error) => error.code(),
            Problem::Time(error) => error.code(),
            Problem::TextHashMismatch => "text_hash_mismatch",
            Problem::NotHttpUrl => "url_not_http",
            Problem::Empty => "empty",
            Problem::TooLong { .. } => "too_long",
            Problem::ControlCharacter => "control_character",
        }
    }
}

impl fmt::Display for RecordError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}: ", self.field)?;
        match self.problem {
            Problem::Id(error) => error.fmt(formatter),
            Problem::Recipient(error) => error.fmt(formatter),
            Problem::Time(error) => error.fmt(formatter),
            Problem::TextHashMismatch => {
                formatter.write_str("expected the SHA-256 of the text, found another value")
            }
            Problem::NotHttpUrl => formatter.write_str("expected an http or https URL"),
            Problem::Empty => formatter.write_str("expected a value, found an empty one"),
            Problem::TooLong { limit, found } => {
                write!(formatter, "expected at most {limit} bytes, found {found}")
            }
            Problem::ControlCharacter => {
                formatter.write_str("expected text without control characters")
            }
        }
    }
}

impl std::error::Error for RecordError {}

#[cfg(test)]
mod tests {
    use super::{hex, text_sha256};

    #[test]
    fn hex_is_lower_case_two_digits_per_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(hex(&[]), "");
    }

    #[test]
    fn text_sha256_is_the_hex_of_the_digest() {
        assert_eq!(
            text_sha256("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
