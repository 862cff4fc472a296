//! Rows of an existing consent database, as a shop imports it: a CSV file whose columns are
//! named and valued as İYS names them in its daily change file and bulk upload
//! (`recipient, recipientType, type, status, consentDate, source`, optionally `name` and
//! `retailerCode`), each row checked with the rules a record from the widget meets.

use core::fmt;

use serde::{Deserialize, Serialize};

use crate::iys::wire::{DAILY_FILE_COLUMNS, IysRecipientType, IysSource, IysStatus, IysType};
use crate::recipient::Recipient;
use crate::record::check_name;
use crate::time::{IysDateTime, Timestamp, iys_epoch};
use crate::vocabulary::{Channel, ConsentStatus, RecipientType, Source};

/// The columns every file has: those of İYS's daily change file after the two İYS writes
/// itself.
pub const COLUMNS: &[&str] = DAILY_FILE_COLUMNS.split_at(2).1;

// A row is read as these six columns, in this order.
const _: () = assert!(COLUMNS.len() == 6);

/// The columns a file may add.
pub const OPTIONAL_COLUMNS: [&str; 2] = ["name", "retailerCode"];

/// Columns of İYS's daily change file that an import reads past: İYS wrote them, not the shop.
pub const IGNORED_COLUMNS: &[&str] = DAILY_FILE_COLUMNS.split_at(2).0;

/// What an imported record proves: the file and the row it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImportEvidence {
    /// The file's name, without its folder.
    pub file: String,
    /// The file's SHA-256, lower-case hex.
    pub file_sha256: String,
    /// The row's number in the file, the header being row 1.
    pub row: u64,
    /// Whether the file said the consents were in İYS already (`--registered`).
    pub registered: bool,
    /// The retailer the row names, when it names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retailer_code: Option<String>,
}

/// Where each column stands in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    required: [usize; 6],
    name: Option<usize>,
    retailer_code: Option<usize>,
    width: usize,
}

/// Why a header was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderError {
    /// A column every file has is missing.
    Missing(&'static str),
    /// A column that is not İYS's, or one named twice.
    Unexpected(String),
}

impl fmt::Display for HeaderError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderError::Missing(column) => write!(
                formatter,
                "the header has no column `{column}`: expected {} and optionally {}",
                COLUMNS.join(", "),
                OPTIONAL_COLUMNS.join(", ")
            ),
            HeaderError::Unexpected(column) => write!(
                formatter,
                "the header's column `{column}` is not one of İYS's or is named twice: expected {} and optionally {}",
                COLUMNS.join(", "),
                OPTIONAL_COLUMNS.join(", ")
            ),
        }
    }
}

impl std::error::Error for HeaderError {}

impl Header {
    /// Reads the header row.
    pub fn read(names: &[String]) -> Result<Header, HeaderError> {
        let mut seen: Vec<&str> = Vec::with_capacity(names.len());
        for name in names {
            let name = name.trim();
            let known = COLUMNS.contains(&name)
                || OPTIONAL_COLUMNS.contains(&name)
                || IGNORED_COLUMNS.contains(&name);
            if !known || seen.contains(&name) {
                return Err(HeaderError::Unexpected(name.chars().take(40).collect()));
            }
            seen.push(name);
        }
        let position = |column: &str| seen.iter().position(|name| *name == column);
        let mut required = [0; 6];
        for (slot, column) in required.iter_mut().zip(COLUMNS) {
            *slot = position(column).ok_or(HeaderError::Missing(column))?;
        }
        Ok(Header {
            required,
            name: position("name"),
            retailer_code: position("retailerCode"),
            width: names.len(),
        })
    }
}

/// A row that passed every check.
#[derive(Clone, PartialEq, Eq)]
pub struct ImportedRow {
    /// The address, normalised.
    pub recipient: Recipient,
    /// The address as the file writes it.
    pub recipient_as_written: String,
    /// The channel.
    pub channel: Channel,
    /// Individual or merchant.
    pub recipient_type: RecipientType,
    /// Granted or rejected.
    pub status: ConsentStatus,
    /// The consent's date, in Turkish time.
    pub consent_date: IysDateTime,
    /// How the consent was obtained.
    pub source: Source,
    /// The person's name and surname, when the file gives one.
    pub name: Option<String>,
    /// The retailer the row names.
    pub retailer_code: Option<String>,
}

impl fmt::Debug for ImportedRow {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The address and the name are personal data.
        formatter
            .debug_struct("ImportedRow")
            .field("channel", &self.channel)
            .field("recipient_type", &self.recipient_type)
            .field("status", &self.status)
            .field("consent_date", &self.consent_date)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// Why a row was refused: a stable code, and the column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowError {
    /// A stable snake_case code, such as `unknown_type` or `phone_not_mobile`.
    pub code: &'static str,
    /// The column, or `row` for the row as a whole.
    pub column: &'static str,
}

impl RowError {
    const fn new(code: &'static str, column: &'static str) -> RowError {
        RowError { code, column }
    }
}

impl ImportedRow {
    /// The day-to-day key of the decision: the same address, channel, recipient type, status
    /// and date are the same decision, whichever file or row carries them.
    pub fn identity(&self) -> String {
        format!(
            "{}\n{}\n{}\n{}\n{}",
            self.recipient.normalised(),
            self.channel,
            self.recipient_type,
            self.status,
            self.consent_date
        )
    }
}

/// Checks one row of `fields` under `header` at `now`, with İYS's rules for a provider's
/// upload: its vocabulary, an address that fits the channel, a date between 1 May 2015 and now
/// (`HS_2015` consents dated exactly 2015-05-01 00:00:00), and `HS_KARAR` only for a refusal.
pub fn read_row(
    header: &Header,
    fields: &[String],
    now: Timestamp,
) -> Result<ImportedRow, RowError> {
    if fields.len() != header.width {
        return Err(RowError::new("wrong_column_count", "row"));
    }
    let value = |index: usize| fields[index].trim();
    let [recipient, recipient_type, kind, status, date, source] = header.required.map(value);
    // A spreadsheet's mark that keeps `+90…` as text, as `iys-relay export` writes it.
    let recipient = recipient.strip_prefix('\'').unwrap_or(recipient);
    for (text, column) in [
        (recipient, "recipient"),
        (kind, "type"),
        (status, "status"),
        (date, "consentDate"),
        (source, "source"),
    ] {
        if text.is_empty() {
            return Err(RowError::new("missing_value", column));
        }
    }
    let channel = IysType::from_wire_name(kind).ok_or(RowError::new("unknown_type", "type"))?;
    let status =
        IysStatus::from_wire_name(status).ok_or(RowError::new("unknown_status", "status"))?;
    let recipient_type = if recipient_type.is_empty() {
        RecipientType::Individual
    } else {
        IysRecipientType::from_wire_name(recipient_type)
            .ok_or(RowError::new("unknown_recipient_type", "recipientType"))?
    };
    let source =
        IysSource::provider_source(source).ok_or(RowError::new("unknown_source", "source"))?;
    if source == Source::ProviderDecision && status != ConsentStatus::Rejected {
        return Err(RowError::new("provider_decision_not_refusal", "source"));
    }
    let address = Recipient::parse_for(channel, recipient)
        .map_err(|error| RowError::new(error.code(), "recipient"))?;
    let consent_date =
        IysDateTime::parse(date).map_err(|_| RowError::new("invalid_date", "consentDate"))?;
    let instant = consent_date.to_instant();
    if instant < iys_epoch() {
        return Err(RowError::new("date_before_2015", "consentDate"));
    }
    if instant.unix_seconds() > now.unix_seconds() {
        return Err(RowError::new("future_date", "consentDate"));
    }
    if source == Source::Before2015 && instant != iys_epoch() {
        return Err(RowError::new("hs_2015_date", "consentDate"));
    }
    let name =
        check_name(header.name.map(value)).map_err(|_| RowError::new("invalid_name", "name"))?;
    let retailer_code = match header.retailer_code.map(value) {
        None | Some("") => None,
        Some(code) if (1..=8).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_digit()) => {
            Some(code.to_owned())
        }
        Some(_) => return Err(RowError::new("invalid_retailer_code", "retailerCode")),
    };
    Ok(ImportedRow {
        recipient: address,
        recipient_as_written: recipient.to_owned(),
        channel,
        recipient_type,
        status,
        consent_date,
        source,
        name,
        retailer_code,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|value| (*value).to_owned()).collect()
    }

    fn header() -> Header {
        Header::read(&strings(&[
            "recipient",
            "recipientType",
            "type",
            "status",
            "consentDate",
            "source",
            "name",
        ]))
        .unwrap()
    }

    fn now() -> Timestamp {
        // 2026-12-06 09:15:00 in Turkey.
        Timestamp::from_unix_seconds(1_796_537_700)
    }

    fn row(values: &[&str]) -> Result<ImportedRow, RowError> {
        read_row(&header(), &strings(values), now())
    }

    #[test]
    fn headers_name_iys_columns_in_any_order() {
        let shuffled = Header::read(&strings(&[
            "source",
            "status",
            "recipient",
            "consentDate",
            "type",
            "recipientType",
        ]))
        .unwrap();
        let read = read_row(
            &shuffled,
            &strings(&[
                "HS_WEB",
                "ONAY",
                "05321234567",
                "2026-12-05 10:00:00",
                "MESAJ",
                "BIREYSEL",
            ]),
            now(),
        )
        .unwrap();
        assert_eq!(read.recipient.normalised(), "+905321234567");
        assert_eq!(
            Header::read(&strings(&["recipient", "type"])),
            Err(HeaderError::Missing("recipientType"))
        );
        assert!(matches!(
            Header::read(&strings(&["recipient", "recipient"])),
            Err(HeaderError::Unexpected(_))
        ));
        assert!(matches!(
            Header::read(&strings(&["recipient", "colour"])),
            Err(HeaderError::Unexpected(_))
        ));
        // İYS's daily change file reads as it is.
        let daily: Vec<String> = crate::iys::wire::DAILY_FILE_COLUMNS
            .iter()
            .map(|column| (*column).to_owned())
            .collect();
        let header = Header::read(&daily).unwrap();
        let read = read_row(
            &header,
            &strings(&[
                "2026-12-05 10:00:02",
                "abc",
                "'+905321234567",
                "BIREYSEL",
                "MESAJ",
                "ONAY",
                "2026-12-05 10:00:00",
                "HS_WEB",
            ]),
            now(),
        )
        .unwrap();
        assert_eq!(read.recipient.normalised(), "+905321234567");
    }

    #[test]
    fn good_rows_read_to_the_domain() {
        let read = row(&[
            " 0532 123 45 67 ",
            "TACIR",
            "ARAMA",
            "RET",
            "2026-12-05 10:00:00",
            "HS_ISLAK_IMZA",
            "Ayşe Yılmaz",
        ])
        .unwrap();
        assert_eq!(read.channel, Channel::Call);
        assert_eq!(read.recipient_type, RecipientType::Merchant);
        assert_eq!(read.status, ConsentStatus::Rejected);
        assert_eq!(read.source, Source::WetSignature);
        assert_eq!(read.name.as_deref(), Some("Ayşe Yılmaz"));
        assert_eq!(read.recipient_as_written, "0532 123 45 67");
        let before = row(&[
            "a@example.com",
            "",
            "EPOSTA",
            "ONAY",
            "2015-05-01 00:00:00",
            "HS_2015",
            "",
        ])
        .unwrap();
        assert_eq!(before.recipient_type, RecipientType::Individual);
        assert_eq!(before.name, None);
    }

    #[test]
    fn bad_rows_get_stable_codes_naming_the_column() {
        let good = [
            "05321234567",
            "BIREYSEL",
            "MESAJ",
            "ONAY",
            "2026-12-05 10:00:00",
            "HS_WEB",
            "",
        ];
        let with = |index: usize, value: &'static str| {
            let mut values = good;
            values[index] = value;
            row(&values).unwrap_err()
        };
        assert_eq!(with(2, "SMS"), RowError::new("unknown_type", "type"));
        assert_eq!(with(3, "EVET"), RowError::new("unknown_status", "status"));
        assert_eq!(
            with(1, "KURUMSAL"),
            RowError::new("unknown_recipient_type", "recipientType")
        );
        assert_eq!(
            with(5, "IYS_MOBIL"),
            RowError::new("unknown_source", "source")
        );
        assert_eq!(
            with(5, "HS_KARAR"),
            RowError::new("provider_decision_not_refusal", "source")
        );
        assert_eq!(
            with(0, "0212 123 45 67"),
            RowError::new("phone_not_mobile", "recipient")
        );
        assert_eq!(with(0, ""), RowError::new("missing_value", "recipient"));
        assert_eq!(
            with(4, "05.12.2026"),
            RowError::new("invalid_date", "consentDate")
        );
        assert_eq!(
            with(4, "2015-04-30 23:59:59"),
            RowError::new("date_before_2015", "consentDate")
        );
        assert_eq!(
            with(4, "2027-01-01 00:00:00"),
            RowError::new("future_date", "consentDate")
        );
        assert_eq!(
            with(5, "HS_2015"),
            RowError::new("hs_2015_date", "consentDate")
        );
        assert_eq!(
            read_row(&header(), &strings(&good[..5]), now()).unwrap_err(),
            RowError::new("wrong_column_count", "row")
        );
    }
}
