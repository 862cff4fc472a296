//! `iys-relay export`: the proof, decrypted for the operator, as JSON lines or CSV.
//!
//! CSV starts with İYS's daily-change columns (`creationDate, transactionId, recipient,
//! recipientType, type, status, consentDate, source`) in İYS's vocabulary, so it lines up with
//! İYS's own reconciliation file, then adds the evidence columns. Column `proof` says where a
//! record came from: `widget`, or `refusal_link` for a refusal given through a link.

use std::collections::HashMap;
use std::io::Write;

use consent_core::iys::wire::{
    DAILY_FILE_COLUMNS, IysRecipientType, IysSource, IysStatus, IysType,
};
use serde::Serialize;

use crate::store::notices::NoticeSummary;
use crate::store::{IysOutcome, PlainRecord, ProofDetails, StoredRecord};

/// The output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One JSON object per line.
    Jsonl,
    /// Comma-separated values with a header row.
    Csv,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonLine<'a> {
    #[serde(flatten)]
    record: &'a PlainRecord,
    ledger_seq: i64,
    ledger_hash: &'a str,
    iys: &'a IysOutcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    notice: Option<&'a NoticeSummary>,
}

/// The CSV columns after İYS's daily-change columns (`DAILY_FILE_COLUMNS`), which come first.
pub const CSV_EXTRA_COLUMNS: &[&str] = &[
    "id",
    "iysState",
    "iysError",
    "iysSentDate",
    "iysLate",
    "iysEvidence",
    "receivedAt",
    "consentedAt",
    "consentDateOrigin",
    "recipientAsTyped",
    "name",
    "clientIp",
    "proof",
    "reference",
    "text",
    "textSha256",
    "textVersion",
    "locale",
    "pageUrl",
    "formId",
    "mode",
    "userAgent",
    "sdkVersion",
    "noticeState",
    "noticeSettledAt",
    "noticeSha256",
    "ledgerSeq",
    "ledgerHash",
];

fn wire_name<T: Serialize>(value: T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Quotes a CSV field when it needs it, and defuses spreadsheet formulas: a cell that starts
/// with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading apostrophe, which also
/// keeps a phone number such as `+905321234567` as text rather than a number.
fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// The evidence columns of one record. A refusal given through a link fills in what it has: the
/// page's text, its language and the browser; `mode` says how the link was used (`button` or
/// `one_click`) and `reference` which message carried it (`notice:<record id>` or the shop's
/// reference).
#[derive(Default)]
struct ProofColumns {
    reference: String,
    text: String,
    text_sha256: String,
    text_version: String,
    locale: String,
    page_url: String,
    form_id: String,
    mode: String,
    user_agent: String,
    sdk_version: String,
}

fn proof_columns(proof: &ProofDetails) -> ProofColumns {
    match proof {
        ProofDetails::Widget(evidence) => ProofColumns {
            reference: String::new(),
            text: evidence.text.clone(),
            text_sha256: evidence.text_sha256.clone(),
            text_version: evidence.text_version.clone(),
            locale: evidence.locale.to_string(),
            page_url: evidence.page_url.clone(),
            form_id: evidence.form_id.clone(),
            mode: evidence.mode.to_string(),
            user_agent: evidence.user_agent.clone(),
            sdk_version: evidence.sdk_version.clone(),
        },
        ProofDetails::RefusalLink(link) => ProofColumns {
            reference: match (&link.notice, &link.reference) {
                (Some(notice), _) => format!("notice:{notice}"),
                (None, Some(reference)) => reference.clone(),
                (None, None) => String::new(),
            },
            text: link.text.clone(),
            text_sha256: link.text_sha256.clone(),
            locale: link.locale.to_string(),
            mode: link.action.as_str().to_owned(),
            user_agent: link.user_agent.clone(),
            ..ProofColumns::default()
        },
        ProofDetails::Import(import) => ProofColumns {
            reference: format!("{}:{}", import.file, import.row),
            text_sha256: import.file_sha256.clone(),
            mode: if import.registered {
                "registered".to_owned()
            } else {
                "import".to_owned()
            },
            ..ProofColumns::default()
        },
    }
}

/// Writes `records` to `output` in `format`, each with its same-day notice from `notices` (by
/// record id) when it has one.
pub fn write(
    records: &[StoredRecord],
    notices: &HashMap<String, NoticeSummary>,
    format: Format,
    output: &mut dyn Write,
) -> std::io::Result<()> {
    match format {
        Format::Jsonl => {
            for stored in records {
                let line = JsonLine {
                    record: &stored.plain,
                    ledger_seq: stored.ledger_seq,
                    ledger_hash: &stored.ledger_hash,
                    iys: &stored.iys,
                    notice: notices.get(&stored.plain.id),
                };
                serde_json::to_writer(&mut *output, &line)?;
                output.write_all(b"\n")?;
            }
        }
        Format::Csv => {
            let header: Vec<&str> = DAILY_FILE_COLUMNS
                .iter()
                .chain(CSV_EXTRA_COLUMNS)
                .copied()
                .collect();
            writeln!(output, "{}", header.join(","))?;
            for stored in records {
                let plain = &stored.plain;
                let proof = proof_columns(&plain.details.proof);
                let notice = notices.get(&plain.id);
                let fields = [
                    stored.iys.creation_date.clone().unwrap_or_default(),
                    stored.iys.transaction_id.clone().unwrap_or_default(),
                    plain.recipient.clone(),
                    wire_name(IysRecipientType::from(plain.recipient_type)),
                    wire_name(IysType::from(plain.channel)),
                    wire_name(IysStatus::from(plain.status)),
                    plain.consent_date.clone(),
                    wire_name(IysSource::from(plain.source)),
                    plain.id.clone(),
                    stored.iys.state.to_string(),
                    stored.iys.error.clone().unwrap_or_default(),
                    stored.iys.sent_date.clone().unwrap_or_default(),
                    stored.iys.late.to_string(),
                    stored
                        .iys
                        .evidence
                        .as_ref()
                        .and_then(|evidence| serde_json::to_string(evidence).ok())
                        .unwrap_or_default(),
                    plain.received_at.clone(),
                    plain.consented_at.clone(),
                    wire_name(plain.consent_date_origin),
                    plain.details.recipient_as_typed.clone(),
                    plain.details.name.clone().unwrap_or_default(),
                    plain.details.client_ip.clone().unwrap_or_default(),
                    plain.details.proof.kind().to_owned(),
                    proof.reference,
                    proof.text,
                    proof.text_sha256,
                    proof.text_version,
                    proof.locale,
                    proof.page_url,
                    proof.form_id,
                    proof.mode,
                    proof.user_agent,
                    proof.sdk_version,
                    notice
                        .map(|notice| notice.state.clone())
                        .unwrap_or_default(),
                    notice
                        .and_then(|notice| notice.settled_at.clone())
                        .unwrap_or_default(),
                    notice
                        .and_then(|notice| notice.content_sha256.clone())
                        .unwrap_or_default(),
                    stored.ledger_seq.to_string(),
                    stored.ledger_hash.clone(),
                ];
                let line: Vec<String> = fields.iter().map(|field| csv_field(field)).collect();
                writeln!(output, "{}", line.join(","))?;
            }
        }
    }
    output.flush()
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        for formula in ["+SUM(A1)", "-1+1", "@cmd", "\t=1", "\r=1"] {
            assert!(
                csv_field(formula).starts_with("'") || csv_field(formula).starts_with("\"'"),
                "{formula}"
            );
        }
        assert_eq!(
            csv_field("+905321234567"),
            "'+905321234567",
            "a phone number stays text"
        );
    }
}
