//! The command line: `serve`, `sandbox`, `export`, `verify`, `reconcile`, `checkpoint`, `purge`,
//! `import`, `refusal-link`, `texts`, `token`.

#![allow(
    clippy::print_stdout,
    reason = "the commands answer on standard output"
)]

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use consent_core::RecipientType;
use consent_core::time::{CivilDate, Timestamp, TurkeyTime};

use crate::api::{AppState, app};
use crate::clock::system_clock;
use crate::config::{Config, process_environment};
use crate::export::{self, Format};
use crate::store::{Checkpoint, Store};
use crate::token;

/// The shop's backend half of iys-consent: receives consent records from the widget, keeps the
/// proof sealed and hash-chained, and exports it.
///
/// Settings come from `--config FILE` (TOML) and the environment, which wins:
/// DATABASE_URL (sqlite: file, the default under RELAY_DATA_DIR, or postgres:),
/// RELAY_LISTEN, RELAY_DATA_DIR, RELAY_DATA_KEY (base64 of 32 bytes, required),
/// RELAY_PREVIOUS_DATA_KEYS (comma-separated, after a key rotation), RELAY_LEDGER_KEY (base64 of
/// 32 bytes: the key that chains the ledger, kept apart from the data key; derived from the data
/// key when unset), RELAY_PREVIOUS_LEDGER_KEYS, RELAY_CHECKPOINT_INTERVAL_SECONDS (3600: how
/// often serve logs a signed ledger checkpoint), RELAY_ALLOWED_ORIGINS
/// (comma-separated shop origins), RELAY_TRUSTED_PROXIES, RELAY_STATE_TOKEN_SECRET (at least 32
/// characters), RELAY_CLIENT_CLOCK_SKEW_SECONDS (600), RELAY_MAX_BODY_BYTES (65536),
/// RELAY_MAX_RECORDS_PER_REQUEST (16), RELAY_RATE_LIMIT_PER_MINUTE (600), RELAY_RETENTION_DAYS
/// (1096, can only be raised), IYS_BASE_URL, IYS_USERNAME, IYS_PASSWORD, IYS_CODE,
/// IYS_BRAND_CODE (forwarding runs when all five are set), IYS_REQUESTS_PER_SECOND (8, shared by
/// every relay on one database), IYS_PULL_INTERVAL_SECONDS (60), IYS_BATCH_THRESHOLD (100),
/// IYS_BATCH_POLL_SECONDS (300), RELAY_STORAGE_TIMEOUT_MS (10000: how long one commit may take
/// before requests are answered 503 storage_unavailable), RELAY_HEADER_TIMEOUT_SECONDS (10),
/// RELAY_BODY_TIMEOUT_SECONDS (20), RELAY_IDLE_TIMEOUT_SECONDS (30: a kept-alive connection's
/// silence), RELAY_MAX_CONNECTIONS (1024; keep it under the process's open-file limit),
/// RELAY_MAX_REQUESTS_IN_FLIGHT (256), RELAY_SHUTDOWN_GRACE_SECONDS (10), RELAY_METRICS_TOKEN (the
/// bearer token /metrics asks for, at least 16 characters; without it /metrics answers
/// nobody), RELAY_INSTANCE (this relay's name among those on one database,
/// kept across restarts, so a restarted relay takes back its claims at once), RELAY_PUBLIC_URL
/// (the relay's public base URL, which refusal links start with), RELAY_BRAND_NAME (the brand
/// the refusal page names), RELAY_API_TOKEN (the bearer token of POST /v1/refusal-links, at
/// least 32 characters), RELAY_REFUSAL_LINK_DAYS (days a refusal link works; never expires when
/// unset), RELAY_SMTP_URL and RELAY_NOTICE_FROM (same-day notices by e-mail),
/// RELAY_NOTICE_WEBHOOK_URL and RELAY_NOTICE_WEBHOOK_SECRET (same-day notices by SMS through the
/// shop's provider), RELAY_NOTICE_TEXTS (a TOML file with the shop's notice texts), RELAY_NOTICE
/// (off when the shop sends its own notices), RELAY_ACCEPT_UNREGISTERED_TEXTS (true to store records
/// whose text is not in the register of texts). The TOML keys are the same names in lower case without the RELAY_ prefix.
#[derive(Debug, Parser)]
#[command(name = "iys-relay", version)]
pub struct Cli {
    /// A TOML file with settings; the environment overrides it.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the v1 API: POST /v1/consents, GET /v1/consents/state, GET|POST
    /// /v1/refusals/{token}, POST /v1/refusal-links, GET /v1/health, GET /metrics.
    Serve {
        /// The address to listen on, such as 127.0.0.1:8787 (overrides RELAY_LISTEN).
        #[arg(long, value_name = "ADDR")]
        listen: Option<SocketAddr>,
    },
    /// Run a local İYS: token, single and batch add, status, history and changes, with İYS's
    /// rules and error codes, for testing without İYS accounts. Credentials come from
    /// IYS_USERNAME and IYS_PASSWORD (both `sandbox` when unset).
    Sandbox {
        /// The address to listen on, such as 127.0.0.1:8788.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8788")]
        listen: SocketAddr,
        /// Seconds before a batch's results can be read (İYS asks for at least 300).
        #[arg(long, default_value_t = 5)]
        batch_delay_seconds: u64,
        /// Seconds before a movement made in İYS shows in pull (İYS: 3600).
        #[arg(long, default_value_t = 3_600)]
        pull_lag_seconds: u64,
    },
    /// Write the stored proof, decrypted, for an operator or an auditor.
    Export {
        /// jsonl (one object per record) or csv (İYS's daily-change columns first).
        #[arg(long, value_enum, default_value = "jsonl")]
        format: Format,
        /// Only records with a consent date on or after this day (YYYY-MM-DD, Turkish time)
        /// or instant (RFC 3339).
        #[arg(long, value_name = "DATE")]
        from: Option<String>,
        /// Only records with a consent date before this day or instant.
        #[arg(long, value_name = "DATE")]
        to: Option<String>,
        /// Write to this file instead of standard output.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Walk the ledger, rebuild every record from it and compare them with the rows; exits 1
    /// naming the first entry that was altered, removed, reordered or added outside the relay.
    Verify {
        /// A file with checkpoints printed by `iys-relay checkpoint` or logged by `serve` (other
        /// lines are ignored): exits 1 when the ledger no longer extends one of them.
        #[arg(long, value_name = "FILE")]
        checkpoint: Option<PathBuf>,
    },
    /// Compare a day with İYS's daily change file: apply the movements the relay missed (such as
    /// a refusal made in İYS), and list the records the relay holds as accepted that İYS does
    /// not; exits 1 when such a record is left for a person. Needs the İYS settings.
    Reconcile {
        /// The Turkish day, YYYY-MM-DD, one that is over; by default the newest İYS has written
        /// its file of (yesterday from 03:00 Turkish time). İYS keeps seven days.
        #[arg(long, value_name = "DATE")]
        date: Option<String>,
    },
    /// Print a signed checkpoint of the ledger (entry count, newest hash, time, signature), to
    /// be kept outside the database and checked later with `verify --checkpoint`.
    Checkpoint,
    /// Remove records whose consent ended longer ago than the retention period, leaving a
    /// ledger entry for each.
    Purge,
    /// Print a refusal link for one address, to put in the shop's own message: a
    /// List-Unsubscribe header, or the end of an SMS. Links start with RELAY_PUBLIC_URL and do
    /// not expire unless RELAY_REFUSAL_LINK_DAYS is set.
    RefusalLink {
        /// The e-mail address (refuses e-mail).
        #[arg(long, conflicts_with = "phone", required_unless_present = "phone")]
        email: Option<String>,
        /// The phone number (refuses the channels of --channel).
        #[arg(long, requires = "channel")]
        phone: Option<String>,
        /// For a phone number: sms, call, or sms,call.
        #[arg(long, value_delimiter = ',')]
        channel: Vec<consent_core::Channel>,
        /// individual or merchant.
        #[arg(long, default_value = "individual")]
        recipient_type: RecipientType,
        /// The language of the page: tr or en.
        #[arg(long, default_value = "tr")]
        locale: consent_core::Locale,
        /// The shop's reference for the message, such as a campaign id (letters, digits, . _ : -).
        #[arg(long)]
        reference: Option<String>,
    },
    /// Import an existing consent database: a CSV file with a header row in İYS's columns
    /// (recipient, recipientType, type, status, consentDate, source; optionally name,
    /// retailerCode; İYS's creationDate and transactionId are read past). Rows that fail go to
    /// FILE.rejected.csv with a reason; the others are stored and sent to İYS, in batches when
    /// many. Importing again adds nothing.
    Import {
        /// The CSV file.
        file: PathBuf,
        /// The file's consents are in İYS already: keep them as evidence, send nothing.
        #[arg(long)]
        registered: bool,
    },
    /// The register of consent texts: the texts records may carry, per channel and language.
    Texts {
        #[command(subcommand)]
        command: TextsCommand,
    },
    /// Sign a preference-centre token, as the shop's backend would (for tests and the demo).
    Token {
        /// The customer's phone number.
        #[arg(long)]
        phone: Option<String>,
        /// The customer's e-mail address.
        #[arg(long)]
        email: Option<String>,
        /// individual or merchant.
        #[arg(long, default_value = "individual")]
        recipient_type: String,
        /// How long the token is valid, in seconds.
        #[arg(long, default_value_t = 900)]
        ttl_seconds: i64,
    },
}

#[derive(Debug, Subcommand)]
enum TextsCommand {
    /// Register the text in FILE (UTF-8; one final line break is not part of it), exactly as
    /// the page shows it: records carrying it are accepted from now on. Registering a text again
    /// changes nothing.
    Add {
        /// sms, call or email.
        #[arg(long)]
        channel: consent_core::Channel,
        /// tr or en.
        #[arg(long)]
        locale: consent_core::Locale,
        /// The shop's version label, such as 2026-12; records carry it as textVersion.
        #[arg(long)]
        version: String,
        /// The file with the text.
        file: PathBuf,
    },
    /// List every registered text: channel, language, version, SHA-256, where it came from,
    /// when it was registered and when the first record with it arrived.
    List {
        /// table (for people) or jsonl (one object per text, with the text).
        #[arg(long, value_enum, default_value = "table")]
        format: TextsFormat,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum TextsFormat {
    Table,
    Jsonl,
}

/// Runs the command line and returns the process's exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    if let Command::Sandbox {
        listen,
        batch_delay_seconds,
        pull_lag_seconds,
    } = cli.command
    {
        return run_sandbox(listen, batch_delay_seconds, pull_lag_seconds);
    }
    let config = match Config::load(cli.config.as_deref(), &process_environment) {
        Ok(config) => config,
        Err(error) => {
            tracing::error!(%error, "cannot start");
            return ExitCode::from(2);
        }
    };
    let Some(runtime) = runtime() else {
        return ExitCode::FAILURE;
    };
    match runtime.block_on(run(cli.command, config)) {
        Ok(code) => code,
        Err(error) => {
            tracing::error!(%error, "failed");
            ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RELAY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

async fn open_store(config: &Config) -> Result<Store, Box<dyn std::error::Error>> {
    if config.database_url.starts_with("sqlite:") {
        std::fs::create_dir_all(&config.data_dir)?;
    }
    Ok(Store::open(&config.database_url, config.keyring(), 8).await?)
}

fn parse_bound(text: &str) -> Result<Timestamp, String> {
    if let Ok(instant) = Timestamp::parse_rfc3339(text) {
        return Ok(instant);
    }
    CivilDate::parse_iso(text)
        .and_then(|date| TurkeyTime::new(date, 0))
        .and_then(TurkeyTime::to_instant)
        .ok_or_else(|| format!("expected YYYY-MM-DD or an RFC 3339 instant, found `{text}`"))
}

async fn run(command: Command, mut config: Config) -> Result<ExitCode, Box<dyn std::error::Error>> {
    match command {
        Command::Sandbox { .. } => Ok(ExitCode::FAILURE),
        Command::Serve { listen } => {
            if let Some(listen) = listen {
                config.listen = listen;
            }
            serve(config).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Export {
            format,
            from,
            to,
            output,
        } => {
            let from = from.as_deref().map(parse_bound).transpose()?;
            let to = to.as_deref().map(parse_bound).transpose()?;
            let store = open_store(&config).await?;
            let records = store.records(from, to).await?;
            let mut writer: Box<dyn Write> = match output {
                Some(path) => Box::new(std::io::BufWriter::new(private_file(&path)?)),
                None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            };
            let notices = store.notice_summaries().await?;
            export::write(&records, &notices, format, &mut writer)?;
            tracing::info!(records = records.len(), "exported");
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify { checkpoint } => {
            let checkpoints = match &checkpoint {
                Some(path) => {
                    let text = std::fs::read_to_string(path)
                        .map_err(|error| format!("reading {}: {error}", path.display()))?;
                    let found = Checkpoint::find_all(&text);
                    if found.is_empty() {
                        return Err(format!("no checkpoint in {}", path.display()).into());
                    }
                    found
                }
                None => Vec::new(),
            };
            let store = open_store(&config).await?;
            let report = store.verify().await?;
            let mut problem = report.problem.clone();
            for checkpoint in &checkpoints {
                if let Some((seq, what)) = store.check_checkpoint(checkpoint).await?
                    && problem.as_ref().is_none_or(|(first, _, _)| seq < *first)
                {
                    problem = Some((seq, String::new(), what));
                }
            }
            match problem {
                None => {
                    println!(
                        "ledger intact: {} entries, {} records and {} movements from İYS match their entries{}",
                        report.entries,
                        report.records,
                        report.movements,
                        match checkpoints.len() {
                            0 => String::new(),
                            count => format!(", and it extends {count} checkpoints"),
                        }
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Some((seq, record_id, what)) if record_id.is_empty() => {
                    println!("ledger broken at entry {seq}: {what}");
                    Ok(ExitCode::from(1))
                }
                Some((seq, record_id, what)) => {
                    println!("ledger broken at entry {seq} (record {record_id}): {what}");
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::Reconcile { date } => {
            let account = config.iys.account().ok_or(
                "reconcile needs IYS_BASE_URL, IYS_USERNAME, IYS_PASSWORD, IYS_CODE and IYS_BRAND_CODE",
            )?;
            let now = (system_clock())();
            let day = match &date {
                Some(text) => CivilDate::parse_iso(text)
                    .ok_or_else(|| format!("expected --date YYYY-MM-DD, found `{text}`"))?,
                None => crate::forwarder::due_day(now),
            };
            let store = open_store(&config).await?;
            let settings = crate::forwarder::ForwarderSettings {
                requests_per_second: config.iys.requests_per_second,
                instance: config.instance.clone(),
                ..crate::forwarder::ForwarderSettings::default()
            };
            let forwarder =
                crate::forwarder::Forwarder::new(store, account, settings, system_clock())?;
            let report = forwarder.reconcile(day).await?;
            println!(
                "{day}: İYS lists {} movements; the relay knew {}, applied {} it had missed, {} wait for the person's confirmation",
                report.listed, report.known, report.applied, report.waiting
            );
            if report.deferred > 0 {
                println!(
                    "{day}: {} movements wait until the relay's own records for the same addresses settle; run again later",
                    report.deferred
                );
            }
            for transaction in &report.unreadable {
                println!("transaction {transaction}: its line in İYS's file does not read");
            }
            for (record, transaction) in &report.unlisted {
                println!(
                    "record {record}: accepted by İYS as transaction {transaction}, which İYS's file does not list"
                );
            }
            if report.agrees() {
                println!("{day}: the relay and İYS agree");
                Ok(ExitCode::SUCCESS)
            } else {
                println!(
                    "{day}: {} records and {} movements are left to decide",
                    report.unlisted.len(),
                    report.unreadable.len() + report.deferred
                );
                Ok(ExitCode::FAILURE)
            }
        }
        Command::Checkpoint => {
            let store = open_store(&config).await?;
            println!("{}", store.checkpoint((system_clock())()).await?.line());
            Ok(ExitCode::SUCCESS)
        }
        Command::Purge => {
            let store = open_store(&config).await?;
            let now = (system_clock())();
            let report = store.purge(now, config.retention_days).await?;
            println!(
                "purged {} records whose consent ended more than {} days ago",
                report.purged, config.retention_days
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::RefusalLink {
            email,
            phone,
            channel,
            recipient_type,
            locale,
            reference,
        } => {
            let (recipient, channels) = match (email, phone) {
                (Some(email), None) => (
                    consent_core::Recipient::parse_for(consent_core::Channel::Email, &email)
                        .map_err(|error| format!("--email: {error}"))?,
                    vec![consent_core::Channel::Email],
                ),
                (None, Some(phone)) => (
                    consent_core::Recipient::parse_for(
                        channel
                            .first()
                            .copied()
                            .unwrap_or(consent_core::Channel::Sms),
                        &phone,
                    )
                    .map_err(|error| format!("--phone: {error}"))?,
                    channel,
                ),
                _ => return Err("give --email, or --phone with --channel".into()),
            };
            let link = crate::refusal::Link::new(recipient, &channels, recipient_type, locale)
                .and_then(|link| link.with_reference(reference))?;
            let url = crate::refusal::routes::mint(
                &config,
                &config.keyring(),
                link,
                (system_clock())(),
            )
            .ok_or(
                "RELAY_PUBLIC_URL is not set: a link needs the address people reach the relay at",
            )?;
            println!("{url}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Import { file, registered } => {
            let store = open_store(&config).await?;
            let started = std::time::Instant::now();
            let bar = crate::import::progress_bar(std::fs::metadata(&file)?.len());
            let mut progress = |done: u64, _total: u64| {
                if let Some(bar) = &bar {
                    bar.set_position(done);
                }
            };
            let summary =
                crate::import::import(&store, &file, registered, &system_clock(), &mut progress)
                    .await?;
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            let seconds = started.elapsed().as_secs_f64();
            println!(
                "imported {}, rejected {}, already present {}, to be sent {}, past İYS's window {} (kept, not sent), registered {}; {} rows in {:.1} s ({:.0} rows/s), peak memory {} KiB",
                summary.imported,
                summary.rejected,
                summary.already_present,
                summary.to_send,
                summary.past_window,
                summary.registered,
                summary.rows,
                seconds,
                summary.rows as f64 / seconds.max(0.001),
                crate::import::peak_memory_kib().unwrap_or(0),
            );
            if summary.rejected > 0 {
                println!(
                    "rejected rows, each with its number and reason: {}",
                    crate::import::rejected_path(&file).display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Texts { command } => {
            let store = open_store(&config).await?;
            match command {
                TextsCommand::Add {
                    channel,
                    locale,
                    version,
                    file,
                } => {
                    let read = std::fs::read_to_string(&file)
                        .map_err(|error| format!("reading {}: {error}", file.display()))?;
                    let text = read
                        .strip_suffix("\r\n")
                        .or_else(|| read.strip_suffix('\n'))
                        .unwrap_or(&read);
                    crate::store::texts::check_text(text, &version)?;
                    let (registered, new) = store
                        .register_text(
                            channel,
                            locale,
                            &version,
                            text,
                            crate::store::texts::TextOrigin::Published,
                            (system_clock())(),
                        )
                        .await?;
                    if new {
                        println!(
                            "registered {channel} {locale} {} {}",
                            registered.version, registered.sha256
                        );
                    } else {
                        println!(
                            "already registered {channel} {locale} {} {} on {}",
                            registered.version, registered.sha256, registered.registered_at
                        );
                    }
                }
                TextsCommand::List { format } => {
                    let texts = store.registered_texts().await?;
                    let mut out = std::io::stdout().lock();
                    match format {
                        TextsFormat::Table => {
                            writeln!(
                                out,
                                "channel\tlocale\tversion\tsha256\torigin\tregistered\tfirst used"
                            )?;
                            for text in &texts {
                                writeln!(
                                    out,
                                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                                    text.channel,
                                    text.locale,
                                    text.version,
                                    text.sha256,
                                    text.origin.as_str(),
                                    text.registered_at,
                                    text.first_used_at.as_deref().unwrap_or("never")
                                )?;
                            }
                        }
                        TextsFormat::Jsonl => {
                            for text in &texts {
                                serde_json::to_writer(&mut out, text)?;
                                writeln!(out)?;
                            }
                        }
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Token {
            phone,
            email,
            recipient_type,
            ttl_seconds,
        } => {
            let secret = config
                .state_token_secret
                .as_deref()
                .ok_or("RELAY_STATE_TOKEN_SECRET is not set")?;
            let recipient_type: RecipientType = recipient_type.parse()?;
            let now = (system_clock())().unix_seconds();
            let claims = token::Claims {
                phone,
                email,
                recipient_type,
                exp: now + ttl_seconds,
            };
            println!("{}", token::sign(secret, &claims));
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Creates (or empties) a file only its owner may read: an export holds every address and the
/// evidence in clear.
pub(crate) fn private_file(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let file = options.open(path)?;
        // A file that existed before keeps its mode on open; narrow it.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        Ok(file)
    }
    #[cfg(not(unix))]
    {
        options.open(path)
    }
}

/// The multi-threaded runtime the commands run on; `None`, logged, when it cannot start.
fn runtime() -> Option<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| tracing::error!(%error, "cannot start the async runtime"))
        .ok()
}

fn run_sandbox(listen: SocketAddr, batch_delay_seconds: u64, pull_lag_seconds: u64) -> ExitCode {
    let config = crate::sandbox::SandboxConfig {
        username: process_environment("IYS_USERNAME").unwrap_or_else(|| "sandbox".to_owned()),
        password: process_environment("IYS_PASSWORD").unwrap_or_else(|| "sandbox".to_owned()),
        batch_delay: std::time::Duration::from_secs(batch_delay_seconds),
        pull_lag: std::time::Duration::from_secs(pull_lag_seconds),
    };
    let Some(runtime) = runtime() else {
        return ExitCode::FAILURE;
    };
    let outcome: Result<(), Box<dyn std::error::Error>> = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        println!(
            "iys-relay sandbox listening on http://{}",
            listener.local_addr()?
        );
        axum::serve(
            listener,
            crate::sandbox::router(crate::sandbox::Sandbox::new(config)),
        )
        .with_graceful_shutdown(shutdown_signal())
        .await?;
        Ok(())
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "the sandbox failed");
            ExitCode::FAILURE
        }
    }
}

/// Serves the API until SIGINT or SIGTERM, then finishes the requests in flight.
pub async fn serve(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    // A file-size limit reached makes the kernel send SIGXFSZ, which ends a process by default.
    // Caught, the write fails instead and the writer answers 503 until there is room again.
    #[cfg(unix)]
    let _file_size_signal =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::from_raw(libc::SIGXFSZ))?;
    let store = open_store(&config).await?;
    register_built_in_texts(&store, &config).await?;
    let listen = config.listen;
    tracing::info!(
        listen = %listen,
        database = %crate::config::redact_url(&config.database_url),
        origins = config.allowed_origins.len(),
        "starting the relay"
    );
    let forwarder = match config.iys.account() {
        Some(account) => {
            let settings = crate::forwarder::ForwarderSettings {
                requests_per_second: config.iys.requests_per_second,
                pull_interval: std::time::Duration::from_secs(u64::from(
                    config.iys.pull_interval_seconds,
                )),
                batch_threshold: i64::from(config.iys.batch_threshold),
                batch_poll_delay: std::time::Duration::from_secs(u64::from(
                    config.iys.batch_poll_seconds,
                )),
                instance: config.instance.clone(),
                ..crate::forwarder::ForwarderSettings::default()
            };
            tracing::info!(iys = %account.base_url, "forwarding to İYS");
            let forwarder =
                crate::forwarder::Forwarder::new(store.clone(), account, settings, system_clock())?;
            Some((forwarder.clone(), tokio::spawn(forwarder.run())))
        }
        None => {
            tracing::warn!(
                "İYS settings incomplete (IYS_BASE_URL, IYS_USERNAME, IYS_PASSWORD, IYS_CODE, IYS_BRAND_CODE): records are stored but not forwarded"
            );
            None
        }
    };
    if config.metrics_token.is_none() {
        tracing::warn!("RELAY_METRICS_TOKEN is not set: /metrics answers nobody");
    }
    let notices = &config.notices;
    if !notices.off && !notices.sends_email() && !notices.sends_sms() {
        tracing::warn!(
            "no notice settings (RELAY_SMTP_URL and RELAY_NOTICE_FROM, RELAY_NOTICE_WEBHOOK_URL and RELAY_NOTICE_WEBHOOK_SECRET): consents get no same-day notice, and /metrics counts them; set RELAY_NOTICE=off if the shop sends its own"
        );
    } else if !notices.off && !notices.sends_email() {
        tracing::warn!("RELAY_SMTP_URL is not set: e-mail consents get no same-day notice");
    } else if !notices.off && !notices.sends_sms() {
        tracing::warn!(
            "RELAY_NOTICE_WEBHOOK_URL is not set: SMS and call consents get no same-day notice"
        );
    }
    let checkpoints = tokio::spawn(log_checkpoints(
        store.clone(),
        std::time::Duration::from_secs(u64::from(config.checkpoint_interval_seconds)),
    ));
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let bound = listener.local_addr()?;
    if config.public_url.is_none() {
        tracing::warn!(
            "RELAY_PUBLIC_URL is not set: no refusal link can be made, and POST /v1/refusal-links answers 500"
        );
    }
    let state = AppState::new(config, store.clone(), system_clock());
    let notifier = crate::notice::Notifier::new(store, state.config.clone(), system_clock())?
        .map(|notifier| (notifier.clone(), tokio::spawn(notifier.run())));
    // İYS checks the push address answers before it takes the registration: it is made once the
    // server listens, and tried again every five minutes until İYS takes it.
    let push = match (&forwarder, state.config.public_url.clone()) {
        (Some((forwarder, _)), Some(public)) if takes_pushes(&public) => {
            let forwarder = forwarder.clone();
            Some(tokio::spawn(async move {
                loop {
                    match forwarder.register_push(&public).await {
                        Ok(_) => return,
                        Err(error) => {
                            tracing::warn!(%error, "the push registration failed; the pull goes on, and the registration is tried again in five minutes");
                        }
                    }
                    tokio::time::sleep(std::time::Duration::from_secs(300)).await;
                }
            }))
        }
        (Some(_), _) => {
            tracing::info!(
                "İYS pushes need RELAY_PUBLIC_URL with https: citizens' changes come by the pull alone"
            );
            None
        }
        _ => None,
    };
    // Scripts wait for this line to know the port, also when it was chosen by the system.
    println!("iys-relay listening on http://{bound}");
    let limits = state.config.limits.clone();
    crate::server::serve(listener, app(state), limits, shutdown_signal()).await?;
    if let Some((forwarder, mut task)) = forwarder {
        // The record being settled is settled (İYS may have registered it already), unless
        // that takes longer than a request may; then the forwarder is cut off.
        forwarder.stop();
        if tokio::time::timeout(std::time::Duration::from_secs(20), &mut task)
            .await
            .is_err()
        {
            task.abort();
            let _cancelled = task.await;
        }
        // Whatever it still held goes back at once to the other relays, or to the next run.
        if let Err(error) = forwarder.release_claims().await {
            tracing::warn!(%error, "could not let go of the forwarder's claims");
        }
    }
    if let Some((notifier, task)) = notifier {
        notifier.stop();
        if tokio::time::timeout(std::time::Duration::from_secs(25), task)
            .await
            .is_err()
        {
            tracing::warn!("the notices in progress did not finish in time");
        }
    }
    if let Some(push) = push {
        push.abort();
    }
    checkpoints.abort();
    tracing::info!("stopped");
    Ok(())
}

/// Registers the default texts for the configured brand in both languages, which is what the
/// widget shows unless the shop gives its own; without `RELAY_BRAND_NAME`, none.
pub async fn register_built_in_texts(
    store: &Store,
    config: &Config,
) -> Result<(), Box<dyn std::error::Error>> {
    if !config.brand_set {
        if !config.accept_unregistered_texts {
            tracing::warn!(
                "RELAY_BRAND_NAME is not set: no built-in text is registered, and records with the widget's default texts are refused with unknown_text"
            );
        }
        return Ok(());
    }
    let now = (system_clock())();
    for &locale in consent_core::Locale::ALL {
        for &channel in consent_core::Channel::ALL {
            let text = consent_core::texts::consent_text(locale, channel, &config.brand_name);
            let (_, new) = store
                .register_text(
                    channel,
                    locale,
                    consent_core::texts::DEFAULT_TEXT_VERSION,
                    &text,
                    crate::store::texts::TextOrigin::BuiltIn,
                    now,
                )
                .await?;
            if new {
                tracing::info!(%channel, %locale, "registered the built-in text");
            }
        }
    }
    Ok(())
}

/// Whether İYS can push to `public_url`: https, or plain http to this machine, where only the
/// sandbox reaches it.
fn takes_pushes(public_url: &str) -> bool {
    if public_url.starts_with("https://") {
        return true;
    }
    let host = public_url
        .strip_prefix("http://")
        .and_then(|rest| rest.split(['/', ':']).next())
        .unwrap_or("");
    matches!(host, "127.0.0.1" | "localhost")
}

/// Logs a signed checkpoint of the ledger at start and then every `interval`, for the log to
/// keep outside the database.
async fn log_checkpoints(store: Store, interval: std::time::Duration) {
    let mut ticks = tokio::time::interval(interval);
    loop {
        ticks.tick().await;
        match store.checkpoint((system_clock())()).await {
            Ok(checkpoint) => tracing::info!(checkpoint = %checkpoint.line(), "ledger checkpoint"),
            Err(error) => tracing::warn!(%error, "could not take a ledger checkpoint"),
        }
    }
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let Ok(mut terminate) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        else {
            let _ = interrupt.await;
            return;
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
    tracing::info!("shutting down after the requests in flight");
}
