//! `iys-relay import FILE`: a shop's existing consent database, as a CSV file in İYS's columns,
//! into the ledger.
//!
//! The file streams through in bounded memory: its SHA-256 first, then its rows, stored a few
//! hundred at a time. Each row is checked with the core's rules; a row that fails goes to
//! `FILE.rejected.csv` with its number and a stable reason, and nothing else of the file is lost.
//! A row's record id comes from its content (address, channel, recipient type, status and date,
//! under the relay's keyed hash), so importing a file again, or a row another file held, adds
//! nothing. Records go to İYS like the widget's, in batches of up to 1000 when there are many;
//! with `--registered` they are kept as evidence only, as İYS holds them already.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use consent_core::calendar::registration_deadline;
use consent_core::contract::Outcome;
use consent_core::import::{Header, ImportEvidence, ImportedRow, read_row};
use consent_core::time::Timestamp;
use consent_core::{ConsentRecord, ConsentStatus, Source};
use sha2::{Digest, Sha256};

use crate::clock::Clock;
use crate::store::{ConsentDateOrigin, NewConsent, Store, StoreError};

/// Rows stored per transaction.
const CHUNK: usize = 500;

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Rows read, the header not counted.
    pub rows: u64,
    /// Rows stored now.
    pub imported: u64,
    /// Rows refused, written to the rejected file.
    pub rejected: u64,
    /// Rows whose decision the relay held already.
    pub already_present: u64,
    /// Imported rows that go to İYS.
    pub to_send: u64,
    /// Imported consents older than İYS's three-business-day window: kept, not sent.
    pub past_window: u64,
    /// Imported rows kept as registered in İYS already.
    pub registered: u64,
}

/// Why an import stopped before its end; the rows stored before stay stored.
#[derive(Debug)]
pub enum ImportError {
    /// The file or the rejected file could not be read or written.
    Io(std::io::Error),
    /// The header is not İYS's.
    Header(consent_core::import::HeaderError),
    /// The file is not CSV: a quote left open.
    Csv(u64),
    /// The database failed.
    Store(StoreError),
}

impl std::fmt::Display for ImportError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImportError::Io(error) => write!(formatter, "{error}"),
            ImportError::Header(error) => write!(formatter, "{error}"),
            ImportError::Csv(row) => {
                write!(
                    formatter,
                    "row {row} does not read as CSV: a quote is left open"
                )
            }
            ImportError::Store(error) => write!(formatter, "{error}"),
        }
    }
}

impl std::error::Error for ImportError {}

impl From<std::io::Error> for ImportError {
    fn from(error: std::io::Error) -> Self {
        ImportError::Io(error)
    }
}

impl From<StoreError> for ImportError {
    fn from(error: StoreError) -> Self {
        ImportError::Store(error)
    }
}

impl<R> std::fmt::Debug for CsvReader<R>
where
    R: Read,
{
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The line read may hold an address.
        formatter
            .debug_struct("CsvReader")
            .field("bytes", &self.bytes())
            .finish_non_exhaustive()
    }
}

/// A reader of RFC 4180 CSV: fields split by commas, quoted with `"` (a quote doubled inside),
/// rows ending in LF or CRLF, line breaks allowed inside quotes. It counts the bytes it read.
pub struct CsvReader<R: Read> {
    input: BufReader<Counting<R>>,
    line: String,
}

/// A reader that counts the bytes read through it.
#[derive(Debug)]
pub struct Counting<R> {
    inner: R,
    /// Bytes read so far.
    pub bytes: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buffer)?;
        self.bytes += read as u64;
        Ok(read)
    }
}

impl<R: Read> CsvReader<R> {
    /// A reader over `input`.
    pub fn new(input: R) -> CsvReader<R> {
        CsvReader {
            input: BufReader::with_capacity(
                1 << 16,
                Counting {
                    inner: input,
                    bytes: 0,
                },
            ),
            line: String::new(),
        }
    }

    /// Bytes read so far.
    pub fn bytes(&self) -> u64 {
        self.input.get_ref().bytes
    }

    /// The next row's fields; `None` at the end. An error for a quote left open at the end, or
    /// text that is not UTF-8.
    pub fn next_row(&mut self) -> std::io::Result<Option<Vec<String>>> {
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        let mut started = false;
        loop {
            self.line.clear();
            if self.input.read_line(&mut self.line)? == 0 {
                if quoted {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "a quote is left open",
                    ));
                }
                if !started {
                    return Ok(None);
                }
                fields.push(field);
                return Ok(Some(fields));
            }
            started = true;
            let mut characters = self.line.chars().peekable();
            while let Some(character) = characters.next() {
                match (quoted, character) {
                    (true, '"') if characters.peek() == Some(&'"') => {
                        characters.next();
                        field.push('"');
                    }
                    (true, '"') => quoted = false,
                    (true, other) => field.push(other),
                    (false, '"') if field.is_empty() => quoted = true,
                    (false, ',') => fields.push(std::mem::take(&mut field)),
                    (false, '\r') if characters.peek() == Some(&'\n') => {}
                    (false, '\n') => {
                        fields.push(field);
                        return Ok(Some(fields));
                    }
                    (false, other) => field.push(other),
                }
            }
        }
    }
}

/// The SHA-256 of the file at `path`, read in pieces.
fn file_sha256(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut digest = Sha256::new();
    let mut buffer = vec![0_u8; 1 << 16];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        digest.update(&buffer[..read]);
    }
    Ok(consent_core::record::hex(&digest.finalize()))
}

/// The rejected file beside `path`: `FILE.rejected.csv`.
pub fn rejected_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".rejected.csv");
    PathBuf::from(name)
}

/// The peak resident memory of this process, in KiB, where the system tells it.
pub fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Imports the file at `path` into `store`; with `registered`, its consents are kept as held by
/// İYS already and never sent. `on_progress` hears how many bytes of `total` were read.
pub async fn import(
    store: &Store,
    path: &Path,
    registered: bool,
    clock: &Clock,
    on_progress: &mut dyn FnMut(u64, u64),
) -> Result<ImportSummary, ImportError> {
    let file_name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let file_sha256 = file_sha256(path)?;
    let total = std::fs::metadata(path)?.len();
    let mut reader = CsvReader::new(std::fs::File::open(path)?);
    let Some(mut names) = reader.next_row().map_err(|_| ImportError::Csv(1))? else {
        return Err(ImportError::Header(
            consent_core::import::HeaderError::Missing("recipient"),
        ));
    };
    if let Some(first) = names.first_mut() {
        // A byte-order mark some spreadsheets write.
        *first = first.trim_start_matches('\u{feff}').to_owned();
    }
    let header = Header::read(&names).map_err(ImportError::Header)?;
    let rejected_file = rejected_path(path);
    let mut rejected: Option<std::io::BufWriter<std::fs::File>> = None;
    let mut summary = ImportSummary::default();
    let mut pending: Vec<(NewConsent, bool)> = Vec::with_capacity(CHUNK);
    let mut row_number = 1_u64;
    loop {
        let fields = match reader.next_row() {
            Ok(Some(fields)) => fields,
            Ok(None) => break,
            Err(_) => return Err(ImportError::Csv(row_number + 1)),
        };
        row_number += 1;
        // A blank line is no row.
        if fields.len() == 1 && fields[0].trim().is_empty() {
            continue;
        }
        summary.rows += 1;
        let now = clock();
        match read_row(&header, &fields, now) {
            Ok(row) => {
                let past = !registered
                    && row.status == ConsentStatus::Granted
                    && row.source != Source::Before2015
                    && now > registration_deadline(row.consent_date.to_instant());
                let evidence = ImportEvidence {
                    file: file_name.clone(),
                    file_sha256: file_sha256.clone(),
                    row: row_number,
                    registered,
                    retailer_code: row.retailer_code.clone(),
                };
                pending.push((new_consent(store, row, evidence, registered, now), past));
            }
            Err(error) => {
                let writer = match &mut rejected {
                    Some(writer) => writer,
                    None => {
                        let mut writer =
                            std::io::BufWriter::new(crate::cli::private_file(&rejected_file)?);
                        write_row(&mut writer, &names, &["row", "reason", "column"])?;
                        rejected.insert(writer)
                    }
                };
                let number = row_number.to_string();
                write_row(writer, &fields, &[&number, error.code, error.column])?;
                summary.rejected += 1;
            }
        }
        if pending.len() >= CHUNK {
            store_chunk(store, &mut pending, &mut summary).await?;
            on_progress(reader.bytes(), total);
        }
    }
    store_chunk(store, &mut pending, &mut summary).await?;
    on_progress(reader.bytes(), total);
    if let Some(mut writer) = rejected {
        writer.flush()?;
    }
    Ok(summary)
}

fn new_consent(
    store: &Store,
    row: ImportedRow,
    evidence: ImportEvidence,
    registered: bool,
    now: Timestamp,
) -> NewConsent {
    let id = store.import_id(&row.identity(), row.consent_date.to_instant());
    let consent_date = row.consent_date;
    NewConsent {
        record: ConsentRecord::imported(id, row, evidence),
        received_at: now,
        consent_date,
        consent_date_origin: ConsentDateOrigin::File,
        client_ip: None,
        registered,
    }
}

/// Stores the rows gathered, each as a request of its own, so that a row whose decision another
/// file brought first counts as present and does not stop the others.
async fn store_chunk(
    store: &Store,
    pending: &mut Vec<(NewConsent, bool)>,
    summary: &mut ImportSummary,
) -> Result<(), ImportError> {
    if pending.is_empty() {
        return Ok(());
    }
    let requests: Vec<&[NewConsent]> = pending
        .iter()
        .map(|(new, _)| std::slice::from_ref(new))
        .collect();
    let outcomes = store.store_requests(&requests).await?;
    for ((new, past), outcome) in pending.iter().zip(outcomes) {
        let stored = matches!(&outcome, Ok(receipts) if receipts.iter().all(|receipt| receipt.outcome == Outcome::Stored));
        if !stored {
            summary.already_present += 1;
            continue;
        }
        summary.imported += 1;
        if new.registered {
            summary.registered += 1;
        } else if *past {
            summary.past_window += 1;
        } else {
            summary.to_send += 1;
        }
    }
    pending.clear();
    Ok(())
}

/// Writes `fields` and then `extra` as one CSV row.
fn write_row(output: &mut dyn Write, fields: &[String], extra: &[&str]) -> std::io::Result<()> {
    let quoted: Vec<String> = fields
        .iter()
        .map(String::as_str)
        .chain(extra.iter().copied())
        .map(|field| {
            if field.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", field.replace('"', "\"\""))
            } else {
                field.to_owned()
            }
        })
        .collect();
    writeln!(output, "{}", quoted.join(","))
}

/// A progress bar on standard error for a terminal: `None` otherwise.
pub fn progress_bar(total: u64) -> Option<indicatif::ProgressBar> {
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        return None;
    }
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} {eta} left",
    ) {
        bar.set_style(style);
    }
    Some(bar)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str) -> Vec<Vec<String>> {
        let mut reader = CsvReader::new(text.as_bytes());
        let mut rows = Vec::new();
        while let Some(row) = reader.next_row().unwrap() {
            rows.push(row);
        }
        rows
    }

    #[test]
    fn reads_quotes_doubled_quotes_commas_and_line_breaks() {
        assert_eq!(
            rows("a,b\r\n\"x, y\",\"say \"\"hi\"\"\"\n\"two\nlines\",z"),
            vec![
                vec!["a".to_owned(), "b".to_owned()],
                vec!["x, y".to_owned(), "say \"hi\"".to_owned()],
                vec!["two\nlines".to_owned(), "z".to_owned()],
            ]
        );
        assert_eq!(rows(""), Vec::<Vec<String>>::new());
        assert_eq!(rows("a,\n"), vec![vec!["a".to_owned(), String::new()]]);
        let mut open = CsvReader::new("\"never closed".as_bytes());
        assert!(open.next_row().is_err());
    }

    #[test]
    fn rejected_files_sit_beside_the_file() {
        assert_eq!(
            rejected_path(Path::new("/data/old customers.csv")),
            PathBuf::from("/data/old customers.csv.rejected.csv")
        );
    }
}
