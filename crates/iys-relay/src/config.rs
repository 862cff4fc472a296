//! The relay's settings: defaults, then a TOML file (`--config FILE`), then the environment.
//!
//! Secrets (the data key, the token secret, İYS's password) never appear in `Debug` output or
//! logs.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use base64::Engine;
use serde::Deserialize;

/// The shortest retention İYS's regulation allows: three years after a consent ends, plus a day
/// for the leap year.
pub const MIN_RETENTION_DAYS: u32 = 3 * 365 + 1;

/// Every relay setting.
#[derive(Clone)]
pub struct Config {
    /// Where `serve` listens.
    pub listen: SocketAddr,
    /// The folder for the default SQLite database.
    pub data_dir: PathBuf,
    /// `sqlite:` or `postgres:` URL.
    pub database_url: String,
    /// The key that encrypts personal data at rest, 32 bytes.
    pub data_key: [u8; 32],
    /// Keys used before the current one, still able to decrypt old rows.
    pub previous_data_keys: Vec<[u8; 32]>,
    /// The key that chains the ledger, when it is kept apart from the data key; without it, a
    /// key derived from the data key chains it.
    pub ledger_key: Option<[u8; 32]>,
    /// Ledger keys used before the current one, so old entries still verify.
    pub previous_ledger_keys: Vec<[u8; 32]>,
    /// How often `serve` writes a signed ledger checkpoint to its log.
    pub checkpoint_interval_seconds: u32,
    /// How long one commit of received records may take before the request is answered 503.
    pub storage_timeout_ms: u32,
    /// The HTTP server's limits: header, body and idle timeouts, connection and request caps,
    /// and the shutdown grace.
    pub limits: crate::server::Limits,
    /// The bearer token `/metrics` asks for; without one, `/metrics` answers nobody.
    pub metrics_token: Option<String>,
    /// Origins whose pages may call the relay from a browser.
    pub allowed_origins: Vec<String>,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpAddr>,
    /// The secret the shop's backend signs preference-centre tokens with.
    pub state_token_secret: Option<Vec<u8>>,
    /// How far a client's clock may be behind the relay's for its time to become the consent date.
    pub client_clock_skew_seconds: u32,
    /// The largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// The most records one request may carry.
    pub max_records_per_request: usize,
    /// Requests one client address may make per minute.
    pub rate_limit_per_minute: u32,
    /// Days a record is kept after its consent ends; never less than [`MIN_RETENTION_DAYS`].
    pub retention_days: u32,
    /// This relay's name among the relays on one database, kept across restarts (a host or pod
    /// name) and used by one running relay at a time. A relay started under a name takes back
    /// at once the records its earlier runs had claimed; without one, they wait for the claim
    /// to expire.
    pub instance: Option<String>,
    /// The relay's public base URL, without a trailing slash, as people's browsers reach it:
    /// refusal links start with it, and none is made without it.
    pub public_url: Option<String>,
    /// The brand the refusal page and the notices name; the public URL's host unless set.
    pub brand_name: String,
    /// Whether `RELAY_BRAND_NAME` is set: only then are the built-in texts registered, for it.
    pub brand_set: bool,
    /// `RELAY_ACCEPT_UNREGISTERED_TEXTS=true`: records whose text is not in the register are
    /// stored all the same, instead of refused with `unknown_text`.
    pub accept_unregistered_texts: bool,
    /// The bearer token the shop's backend calls `POST /v1/refusal-links` with; without one,
    /// that endpoint answers nobody.
    pub api_token: Option<String>,
    /// Days a refusal link works after it was made; without a value, links do not expire.
    pub refusal_link_days: Option<u32>,
    /// How same-day notices go out.
    pub notices: NoticeConfig,
    /// İYS's address and account, for forwarding.
    pub iys: IysSettings,
}

/// How the relay sends the same-day notice of each consent.
#[derive(Clone, Default)]
pub struct NoticeConfig {
    /// `RELAY_NOTICE=off`: the shop sends its own notices, and the relay sends none.
    pub off: bool,
    /// `RELAY_SMTP_URL`: the mail server for e-mail notices, `smtp://host:port` or
    /// `smtps://user:password@host:465` (`?tls=required` for STARTTLS).
    pub smtp_url: Option<String>,
    /// `RELAY_NOTICE_FROM`: the sender of e-mail notices, such as `Shop <notice@shop.example>`.
    pub from: Option<String>,
    /// `RELAY_NOTICE_WEBHOOK_URL`: where SMS notices are posted for the shop's SMS provider.
    pub webhook_url: Option<String>,
    /// `RELAY_NOTICE_WEBHOOK_SECRET`: the key each webhook request is signed with.
    pub webhook_secret: Option<String>,
    /// `RELAY_NOTICE_TEXTS`: the shop's own notice texts, read from a TOML file; the built-in
    /// ones for each text it leaves out.
    pub texts: NoticeTextSet,
}

/// The notice texts in Turkish and English.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeTextSet {
    /// In Turkish.
    pub turkish: consent_core::notice::NoticeTexts,
    /// In English.
    pub english: consent_core::notice::NoticeTexts,
}

impl Default for NoticeTextSet {
    fn default() -> Self {
        NoticeTextSet {
            turkish: consent_core::notice::default_texts(consent_core::Locale::Turkish),
            english: consent_core::notice::default_texts(consent_core::Locale::English),
        }
    }
}

impl NoticeTextSet {
    /// The texts in `locale`.
    pub fn get(&self, locale: consent_core::Locale) -> &consent_core::notice::NoticeTexts {
        match locale {
            consent_core::Locale::Turkish => &self.turkish,
            consent_core::Locale::English => &self.english,
        }
    }

    /// The built-in texts with those of the TOML file `path` over them: tables `[tr]` and
    /// `[en]`, each with `email_subject`, `email_body` and `sms`, all optional.
    pub fn load(path: &Path) -> Result<NoticeTextSet, ConfigError> {
        #[derive(Deserialize, Default)]
        #[serde(deny_unknown_fields)]
        struct Texts {
            email_subject: Option<String>,
            email_body: Option<String>,
            sms: Option<String>,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct File {
            tr: Option<Texts>,
            en: Option<Texts>,
        }
        let where_ = format!("RELAY_NOTICE_TEXTS {}", path.display());
        let text = std::fs::read_to_string(path)
            .map_err(|error| ConfigError(format!("reading {where_}: {error}")))?;
        let file: File = toml::from_str(&text)
            .map_err(|error| ConfigError(format!("{where_}: {}", error.message())))?;
        let mut set = NoticeTextSet::default();
        for (locale, texts, target) in [
            ("tr", file.tr, &mut set.turkish),
            ("en", file.en, &mut set.english),
        ] {
            let texts = texts.unwrap_or_default();
            let bad = |key: &str, error: consent_core::notice::TemplateError| {
                ConfigError(format!("{where_}: [{locale}] {key}: {error}"))
            };
            if let Some(subject) = texts.email_subject {
                target.email_subject = consent_core::notice::Template::parse_subject(&subject)
                    .map_err(|error| bad("email_subject", error))?;
            }
            if let Some(body) = texts.email_body {
                target.email_body = consent_core::notice::Template::parse(&body)
                    .map_err(|error| bad("email_body", error))?;
            }
            if let Some(sms) = texts.sms {
                target.sms = consent_core::notice::Template::parse(&sms)
                    .map_err(|error| bad("sms", error))?;
            }
        }
        Ok(set)
    }
}

impl fmt::Debug for NoticeConfig {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("NoticeConfig")
            .field("off", &self.off)
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_url))
            .field("from", &self.from)
            .field(
                "webhook_url",
                &self
                    .webhook_url
                    .as_deref()
                    .map(|url| url.split('?').next().unwrap_or(url)),
            )
            .field(
                "webhook_secret",
                &self.webhook_secret.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

impl NoticeConfig {
    /// Whether e-mail notices go out.
    pub fn sends_email(&self) -> bool {
        !self.off && self.smtp_url.is_some()
    }

    /// Whether SMS notices go out.
    pub fn sends_sms(&self) -> bool {
        !self.off && self.webhook_url.is_some()
    }
}

/// How to reach İYS.
#[derive(Clone)]
pub struct IysSettings {
    /// For example `https://api.iys.org.tr`, or the built-in sandbox.
    pub base_url: Option<String>,
    /// The API user.
    pub username: Option<String>,
    /// The API user's password.
    pub password: Option<String>,
    /// The provider's İYS number.
    pub iys_code: Option<u64>,
    /// The brand's code.
    pub brand_code: Option<u64>,
    /// Requests per second to İYS, shared by every relay on one database (İYS allows 10).
    pub requests_per_second: u32,
    /// Seconds between pulls of İYS's changes.
    pub pull_interval_seconds: u32,
    /// With more records than this due, they go in batches.
    pub batch_threshold: u32,
    /// Seconds before a batch's results are first read (İYS: at least 300).
    pub batch_poll_seconds: u32,
}

impl fmt::Debug for Config {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Config")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("database_url", &redact_url(&self.database_url))
            .field("data_key", &"<redacted>")
            .field("previous_data_keys", &self.previous_data_keys.len())
            .field("ledger_key", &self.ledger_key.map(|_| "<redacted>"))
            .field("previous_ledger_keys", &self.previous_ledger_keys.len())
            .field(
                "checkpoint_interval_seconds",
                &self.checkpoint_interval_seconds,
            )
            .field("storage_timeout_ms", &self.storage_timeout_ms)
            .field("limits", &self.limits)
            .field(
                "metrics_token",
                &self.metrics_token.as_ref().map(|_| "<redacted>"),
            )
            .field("allowed_origins", &self.allowed_origins)
            .field("trusted_proxies", &self.trusted_proxies)
            .field(
                "state_token_secret",
                &self.state_token_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("client_clock_skew_seconds", &self.client_clock_skew_seconds)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("max_records_per_request", &self.max_records_per_request)
            .field("rate_limit_per_minute", &self.rate_limit_per_minute)
            .field("retention_days", &self.retention_days)
            .field("instance", &self.instance)
            .field("public_url", &self.public_url)
            .field("brand_name", &self.brand_name)
            .field("brand_set", &self.brand_set)
            .field("accept_unregistered_texts", &self.accept_unregistered_texts)
            .field("api_token", &self.api_token.as_ref().map(|_| "<redacted>"))
            .field("refusal_link_days", &self.refusal_link_days)
            .field("notices", &self.notices)
            .field("iys", &self.iys)
            .finish()
    }
}

impl fmt::Debug for IysSettings {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("IysSettings")
            .field("base_url", &self.base_url)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("iys_code", &self.iys_code)
            .field("brand_code", &self.brand_code)
            .field("requests_per_second", &self.requests_per_second)
            .field("pull_interval_seconds", &self.pull_interval_seconds)
            .field("batch_threshold", &self.batch_threshold)
            .field("batch_poll_seconds", &self.batch_poll_seconds)
            .finish()
    }
}

/// A database URL with any password replaced, for logs: the one before `@` and any `password=`
/// (or `sslpassword=`) in the query string.
pub fn redact_url(url: &str) -> String {
    let (address, query) = match url.split_once('?') {
        Some((address, query)) => (address, Some(query)),
        None => (url, None),
    };
    let mut redacted = match (address.find("://"), address.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &address[scheme_end + 3..at];
            let user = credentials.split(':').next().unwrap_or("");
            format!(
                "{}://{user}:<redacted>{}",
                &address[..scheme_end],
                &address[at..]
            )
        }
        _ => address.to_owned(),
    };
    if let Some(query) = query {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) if name.to_ascii_lowercase().contains("password") => {
                    format!("{name}=<redacted>")
                }
                _ => pair.to_owned(),
            })
            .collect();
        redacted.push('?');
        redacted.push_str(&pairs.join("&"));
    }
    redacted
}

/// Whether `url` may carry İYS credentials or personal data: https, or plain http to this
/// machine only (the built-in sandbox, the demo's mailbox).
fn is_safe_iys_url(url: &str) -> bool {
    if url.starts_with("https://") {
        return true;
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    // Whatever stands before an `@` is user information, not the host.
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let host = match host_port.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or(""),
        None => host_port
            .rsplit_once(':')
            .map_or(host_port, |(host, _)| host),
    };
    host == "localhost"
        || host
            .parse::<IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

/// The settings as written in the TOML file; every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    data_key: Option<String>,
    previous_data_keys: Option<Vec<String>>,
    ledger_key: Option<String>,
    previous_ledger_keys: Option<Vec<String>>,
    checkpoint_interval_seconds: Option<u32>,
    storage_timeout_ms: Option<u32>,
    header_timeout_seconds: Option<u32>,
    body_timeout_seconds: Option<u32>,
    idle_timeout_seconds: Option<u32>,
    max_connections: Option<u32>,
    max_requests_in_flight: Option<u32>,
    shutdown_grace_seconds: Option<u32>,
    metrics_token: Option<String>,
    allowed_origins: Option<Vec<String>>,
    trusted_proxies: Option<Vec<String>>,
    state_token_secret: Option<String>,
    client_clock_skew_seconds: Option<u32>,
    max_body_bytes: Option<usize>,
    max_records_per_request: Option<usize>,
    rate_limit_per_minute: Option<u32>,
    retention_days: Option<u32>,
    instance: Option<String>,
    public_url: Option<String>,
    brand_name: Option<String>,
    api_token: Option<String>,
    refusal_link_days: Option<u32>,
    notice: Option<String>,
    accept_unregistered_texts: Option<bool>,
    smtp_url: Option<String>,
    notice_from: Option<String>,
    notice_webhook_url: Option<String>,
    notice_webhook_secret: Option<String>,
    notice_texts: Option<PathBuf>,
    iys_base_url: Option<String>,
    iys_username: Option<String>,
    iys_password: Option<String>,
    iys_code: Option<u64>,
    iys_brand_code: Option<u64>,
    iys_requests_per_second: Option<u32>,
    iys_pull_interval_seconds: Option<u32>,
    iys_batch_threshold: Option<u32>,
    iys_batch_poll_seconds: Option<u32>,
}

/// A setting that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(String);

impl fmt::Display for ConfigError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

fn invalid(setting: &str, expected: &str) -> ConfigError {
    ConfigError(format!("invalid setting {setting}: expected {expected}"))
}

/// Reads an environment variable; an empty value counts as unset.
pub type Environment<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment.
pub fn process_environment(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

impl IysSettings {
    /// The account, when every İYS setting is there; forwarding runs only then.
    pub fn account(&self) -> Option<crate::forwarder::IysAccount> {
        Some(crate::forwarder::IysAccount {
            base_url: self.base_url.clone()?,
            username: self.username.clone()?,
            password: self.password.clone()?,
            iys_code: self.iys_code?,
            brand_code: self.brand_code?,
        })
    }
}

impl Config {
    /// How long one commit, or one read the API waits for, may take.
    pub fn storage_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(u64::from(self.storage_timeout_ms))
    }

    /// The keys the store seals with and chains the ledger with.
    pub fn keyring(&self) -> crate::crypto::Keyring {
        let keyring = crate::crypto::Keyring::new(&self.data_key, &self.previous_data_keys);
        match self.ledger_key {
            Some(key) => keyring.with_ledger_key(key, &self.previous_ledger_keys),
            None => keyring,
        }
    }

    /// Loads the settings from `file` (if given) and `environment`, which wins.
    pub fn load(file: Option<&Path>, environment: Environment<'_>) -> Result<Config, ConfigError> {
        let settings = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|error| {
                    ConfigError(format!("reading config file {}: {error}", path.display()))
                })?;
                toml::from_str::<FileSettings>(&text).map_err(|error| {
                    ConfigError(format!(
                        "config file {}: {}",
                        path.display(),
                        error.message()
                    ))
                })?
            }
            None => FileSettings::default(),
        };
        Config::from_settings(settings, environment)
    }

    fn from_settings(
        file: FileSettings,
        environment: Environment<'_>,
    ) -> Result<Config, ConfigError> {
        let pick = |name: &str, from_file: Option<String>| environment(name).or(from_file);
        let listen: SocketAddr = pick("RELAY_LISTEN", file.listen)
            .unwrap_or_else(|| "127.0.0.1:8787".to_owned())
            .parse()
            .map_err(|_| invalid("RELAY_LISTEN / listen", "an address like 127.0.0.1:8787"))?;
        let data_dir = environment("RELAY_DATA_DIR")
            .map(PathBuf::from)
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("data"));
        let database_url = pick("DATABASE_URL", file.database_url)
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("relay.db").display()));
        if !database_url.starts_with("sqlite:")
            && !database_url.starts_with("postgres:")
            && !database_url.starts_with("postgresql:")
        {
            return Err(invalid(
                "DATABASE_URL / database_url",
                "a sqlite: or postgres: URL",
            ));
        }
        let data_key = pick("RELAY_DATA_KEY", file.data_key)
            .ok_or_else(|| {
                ConfigError(
                    "missing setting RELAY_DATA_KEY / data_key: expected base64 of 32 random bytes, for example from `openssl rand -base64 32`".to_owned(),
                )
            })
            .and_then(|text| decode_key("RELAY_DATA_KEY / data_key", &text))?;
        let previous_data_keys = match environment("RELAY_PREVIOUS_DATA_KEYS") {
            Some(list) => split_list(&list),
            None => file.previous_data_keys.unwrap_or_default(),
        }
        .iter()
        .map(|text| decode_key("RELAY_PREVIOUS_DATA_KEYS / previous_data_keys", text))
        .collect::<Result<Vec<_>, _>>()?;
        let ledger_key = pick("RELAY_LEDGER_KEY", file.ledger_key)
            .map(|text| decode_key("RELAY_LEDGER_KEY / ledger_key", &text))
            .transpose()?;
        let previous_ledger_keys = match environment("RELAY_PREVIOUS_LEDGER_KEYS") {
            Some(list) => split_list(&list),
            None => file.previous_ledger_keys.unwrap_or_default(),
        }
        .iter()
        .map(|text| decode_key("RELAY_PREVIOUS_LEDGER_KEYS / previous_ledger_keys", text))
        .collect::<Result<Vec<_>, _>>()?;
        let allowed_origins = match environment("RELAY_ALLOWED_ORIGINS") {
            Some(list) => split_list(&list),
            None => file.allowed_origins.unwrap_or_default(),
        };
        for origin in &allowed_origins {
            if !is_origin(origin) {
                return Err(invalid(
                    "RELAY_ALLOWED_ORIGINS / allowed_origins",
                    "origins like https://shop.example, without a path",
                ));
            }
        }
        let trusted_proxies = match environment("RELAY_TRUSTED_PROXIES") {
            Some(list) => split_list(&list),
            None => file.trusted_proxies.unwrap_or_default(),
        }
        .iter()
        .map(|text| {
            text.parse::<IpAddr>()
                .map_err(|_| invalid("RELAY_TRUSTED_PROXIES / trusted_proxies", "IP addresses"))
        })
        .collect::<Result<Vec<_>, _>>()?;
        let state_token_secret = pick("RELAY_STATE_TOKEN_SECRET", file.state_token_secret)
            .map(|secret| {
                if secret.len() < 32 {
                    Err(invalid(
                        "RELAY_STATE_TOKEN_SECRET / state_token_secret",
                        "at least 32 characters",
                    ))
                } else {
                    Ok(secret.into_bytes())
                }
            })
            .transpose()?;
        let number =
            |name: &str, from_file: Option<u64>, default: u64| -> Result<u64, ConfigError> {
                match environment(name) {
                    Some(text) => text.parse().map_err(|_| invalid(name, "a whole number")),
                    None => Ok(from_file.unwrap_or(default)),
                }
            };
        let client_clock_skew_seconds = number(
            "RELAY_CLIENT_CLOCK_SKEW_SECONDS",
            file.client_clock_skew_seconds.map(u64::from),
            600,
        )? as u32;
        let max_body_bytes = number(
            "RELAY_MAX_BODY_BYTES",
            file.max_body_bytes.map(|v| v as u64),
            65_536,
        )? as usize;
        let max_records_per_request = number(
            "RELAY_MAX_RECORDS_PER_REQUEST",
            file.max_records_per_request.map(|v| v as u64),
            16,
        )? as usize;
        let rate_limit_per_minute = number(
            "RELAY_RATE_LIMIT_PER_MINUTE",
            file.rate_limit_per_minute.map(u64::from),
            600,
        )? as u32;
        let retention_days = number(
            "RELAY_RETENTION_DAYS",
            file.retention_days.map(u64::from),
            u64::from(MIN_RETENTION_DAYS),
        )?;
        if retention_days < u64::from(MIN_RETENTION_DAYS) || retention_days > 36_500 {
            return Err(invalid(
                "RELAY_RETENTION_DAYS / retention_days",
                "at least 1096 days (three years after a consent ends), at most 36500",
            ));
        }
        if max_records_per_request == 0 || max_body_bytes < 1_024 || rate_limit_per_minute == 0 {
            return Err(ConfigError(
                "invalid limits: records per request and rate limit must be positive, the body limit at least 1024 bytes".to_owned(),
            ));
        }
        let checkpoint_interval_seconds = number(
            "RELAY_CHECKPOINT_INTERVAL_SECONDS",
            file.checkpoint_interval_seconds.map(u64::from),
            3_600,
        )?
        .clamp(1, 86_400) as u32;
        let storage_timeout_ms = number(
            "RELAY_STORAGE_TIMEOUT_MS",
            file.storage_timeout_ms.map(u64::from),
            10_000,
        )?
        .clamp(100, 120_000) as u32;
        let seconds = |name: &str,
                       from_file: Option<u32>,
                       default: u64|
         -> Result<std::time::Duration, ConfigError> {
            let value = number(name, from_file.map(u64::from), default)?;
            if value == 0 || value > 3_600 {
                return Err(invalid(name, "1 to 3600 seconds"));
            }
            Ok(std::time::Duration::from_secs(value))
        };
        let defaults = crate::server::Limits::default();
        let limits = crate::server::Limits {
            header_timeout: seconds(
                "RELAY_HEADER_TIMEOUT_SECONDS",
                file.header_timeout_seconds,
                defaults.header_timeout.as_secs(),
            )?,
            body_timeout: seconds(
                "RELAY_BODY_TIMEOUT_SECONDS",
                file.body_timeout_seconds,
                defaults.body_timeout.as_secs(),
            )?,
            idle_timeout: seconds(
                "RELAY_IDLE_TIMEOUT_SECONDS",
                file.idle_timeout_seconds,
                defaults.idle_timeout.as_secs(),
            )?,
            max_connections: number(
                "RELAY_MAX_CONNECTIONS",
                file.max_connections.map(u64::from),
                defaults.max_connections as u64,
            )?
            .clamp(1, 1_000_000) as usize,
            max_in_flight: number(
                "RELAY_MAX_REQUESTS_IN_FLIGHT",
                file.max_requests_in_flight.map(u64::from),
                defaults.max_in_flight as u64,
            )?
            .clamp(1, 1_000_000) as usize,
            shutdown_grace: seconds(
                "RELAY_SHUTDOWN_GRACE_SECONDS",
                file.shutdown_grace_seconds,
                defaults.shutdown_grace.as_secs(),
            )?,
        };
        let metrics_token = pick("RELAY_METRICS_TOKEN", file.metrics_token);
        if metrics_token.as_ref().is_some_and(|token| token.len() < 16) {
            return Err(invalid(
                "RELAY_METRICS_TOKEN / metrics_token",
                "at least 16 characters",
            ));
        }
        let instance = pick("RELAY_INSTANCE", file.instance);
        if let Some(name) = &instance
            && (name.is_empty()
                || name.len() > 64
                || !name
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || b"._-".contains(&byte)))
        {
            return Err(invalid(
                "RELAY_INSTANCE / instance",
                "1 to 64 letters, digits, '.', '_' or '-'",
            ));
        }
        let public_url = pick("RELAY_PUBLIC_URL", file.public_url)
            .map(|url| url.trim_end_matches('/').to_owned());
        if public_url.as_deref().is_some_and(|url| !is_base_url(url)) {
            return Err(invalid(
                "RELAY_PUBLIC_URL / public_url",
                "an http:// or https:// URL without a query, like https://relay.shop.example",
            ));
        }
        let brand_named = environment("RELAY_BRAND_NAME").is_some() || file.brand_name.is_some();
        // Kept exactly as given: the built-in texts name it as the widget's `brand` does.
        let brand_name =
            pick("RELAY_BRAND_NAME", file.brand_name).unwrap_or_else(|| match &public_url {
                Some(url) => {
                    let rest = url.split_once("://").map_or("", |(_, rest)| rest);
                    rest.split('/').next().unwrap_or(rest).to_owned()
                }
                None => listen.ip().to_string(),
            });
        if brand_name.trim().is_empty()
            || brand_name.len() > 100
            || brand_name.chars().any(char::is_control)
        {
            return Err(invalid(
                "RELAY_BRAND_NAME / brand_name",
                "the brand's name on one line, at most 100 bytes",
            ));
        }
        let accept_unregistered_texts =
            match environment("RELAY_ACCEPT_UNREGISTERED_TEXTS").as_deref() {
                Some("true") => true,
                Some("false") => false,
                Some(_) => {
                    return Err(invalid(
                        "RELAY_ACCEPT_UNREGISTERED_TEXTS / accept_unregistered_texts",
                        "true or false",
                    ));
                }
                // Without a brand there are no built-in texts to know: records are taken whatever
                // their text, as before the register, unless the setting says otherwise.
                None => file.accept_unregistered_texts.unwrap_or(!brand_named),
            };
        let api_token = pick("RELAY_API_TOKEN", file.api_token);
        if api_token.as_ref().is_some_and(|token| token.len() < 32) {
            return Err(invalid(
                "RELAY_API_TOKEN / api_token",
                "at least 32 characters",
            ));
        }
        let refusal_link_days = match environment("RELAY_REFUSAL_LINK_DAYS") {
            Some(text) => Some(text.parse::<u32>().unwrap_or(0)),
            None => file.refusal_link_days,
        };
        if refusal_link_days.is_some_and(|days| !(1..=36_500).contains(&days)) {
            return Err(invalid(
                "RELAY_REFUSAL_LINK_DAYS / refusal_link_days",
                "1 to 36500 days",
            ));
        }

        let notices = {
            let off = match pick("RELAY_NOTICE", file.notice).as_deref() {
                None | Some("on") => false,
                Some("off") => true,
                Some(_) => return Err(invalid("RELAY_NOTICE / notice", "on or off")),
            };
            let smtp_url = pick("RELAY_SMTP_URL", file.smtp_url);
            if let Some(url) = &smtp_url {
                let encrypted = url.starts_with("smtps://") || url.contains("tls=required");
                let local = url
                    .strip_prefix("smtp://")
                    .is_some_and(|rest| is_safe_iys_url(&format!("http://{rest}")));
                if !(encrypted || local) {
                    return Err(invalid(
                        "RELAY_SMTP_URL / smtp_url",
                        "smtps://user:password@host:465, or smtp://host:587?tls=required (plain smtp:// only to this machine), since a notice carries the address in clear",
                    ));
                }
            }
            let from = pick("RELAY_NOTICE_FROM", file.notice_from);
            if smtp_url.is_some() && !off && from.is_none() {
                return Err(ConfigError(
                    "missing setting RELAY_NOTICE_FROM / notice_from: e-mail notices need a sender, such as `Shop <notice@shop.example>`".to_owned(),
                ));
            }
            let webhook_url = pick("RELAY_NOTICE_WEBHOOK_URL", file.notice_webhook_url);
            if webhook_url.as_deref().is_some_and(|url| {
                !is_base_url(url.split('?').next().unwrap_or(url)) || !is_safe_iys_url(url)
            }) {
                return Err(invalid(
                    "RELAY_NOTICE_WEBHOOK_URL / notice_webhook_url",
                    "an https:// URL (plain http only to 127.0.0.1, ::1 or localhost), since a notice carries the phone number",
                ));
            }
            let webhook_secret = pick("RELAY_NOTICE_WEBHOOK_SECRET", file.notice_webhook_secret);
            match (&webhook_url, &webhook_secret) {
                (Some(_), None) if !off => {
                    return Err(ConfigError(
                        "missing setting RELAY_NOTICE_WEBHOOK_SECRET / notice_webhook_secret: every webhook request is signed with it (at least 32 characters)".to_owned(),
                    ));
                }
                (_, Some(secret)) if secret.len() < 32 => {
                    return Err(invalid(
                        "RELAY_NOTICE_WEBHOOK_SECRET / notice_webhook_secret",
                        "at least 32 characters",
                    ));
                }
                _ => {}
            }
            let texts = match environment("RELAY_NOTICE_TEXTS")
                .map(PathBuf::from)
                .or(file.notice_texts)
            {
                Some(path) => NoticeTextSet::load(&path)?,
                None => NoticeTextSet::default(),
            };
            let notices = NoticeConfig {
                off,
                smtp_url,
                from,
                webhook_url,
                webhook_secret,
                texts,
            };
            if (notices.sends_email() || notices.sends_sms())
                && (public_url.is_none() || !brand_named)
            {
                return Err(ConfigError(
                    "notices need RELAY_PUBLIC_URL (the address people's browsers reach the relay at, which the refusal link in each notice starts with) and RELAY_BRAND_NAME (the brand each notice names)".to_owned(),
                ));
            }
            notices
        };
        let iys_number = |name: &str, from_file: Option<u64>| -> Result<Option<u64>, ConfigError> {
            match environment(name) {
                Some(text) => text
                    .parse()
                    .map(Some)
                    .map_err(|_| invalid(name, "a number")),
                None => Ok(from_file),
            }
        };
        let iys = IysSettings {
            base_url: match pick("IYS_BASE_URL", file.iys_base_url) {
                Some(url) if !is_safe_iys_url(&url) => {
                    return Err(invalid(
                        "IYS_BASE_URL / iys_base_url",
                        "an https:// URL (plain http only to 127.0.0.1, ::1 or localhost)",
                    ));
                }
                url => url,
            },
            username: pick("IYS_USERNAME", file.iys_username),
            password: pick("IYS_PASSWORD", file.iys_password),
            iys_code: iys_number("IYS_CODE", file.iys_code)?,
            brand_code: iys_number("IYS_BRAND_CODE", file.iys_brand_code)?,
            requests_per_second: number(
                "IYS_REQUESTS_PER_SECOND",
                file.iys_requests_per_second.map(u64::from),
                8,
            )?
            .clamp(1, 10) as u32,
            pull_interval_seconds: number(
                "IYS_PULL_INTERVAL_SECONDS",
                file.iys_pull_interval_seconds.map(u64::from),
                60,
            )?
            .clamp(1, 3_600) as u32,
            batch_threshold: number(
                "IYS_BATCH_THRESHOLD",
                file.iys_batch_threshold.map(u64::from),
                100,
            )?
            .min(u64::from(u32::MAX)) as u32,
            batch_poll_seconds: number(
                "IYS_BATCH_POLL_SECONDS",
                file.iys_batch_poll_seconds.map(u64::from),
                300,
            )?
            .min(86_400) as u32,
        };
        Ok(Config {
            listen,
            data_dir,
            database_url,
            data_key,
            previous_data_keys,
            ledger_key,
            previous_ledger_keys,
            checkpoint_interval_seconds,
            storage_timeout_ms,
            limits,
            metrics_token,
            allowed_origins,
            trusted_proxies,
            state_token_secret,
            client_clock_skew_seconds,
            max_body_bytes,
            max_records_per_request,
            rate_limit_per_minute,
            retention_days: retention_days as u32,
            instance,
            public_url,
            brand_name,
            brand_set: brand_named,
            accept_unregistered_texts,
            api_token,
            refusal_link_days,
            notices,
            iys,
        })
    }
}

fn split_list(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

fn is_base_url(url: &str) -> bool {
    let Some((scheme, rest)) = url.split_once("://") else {
        return false;
    };
    matches!(scheme, "http" | "https")
        && !rest.is_empty()
        && !rest.starts_with('/')
        && !rest.contains(['?', '#', ' '])
}

fn is_origin(origin: &str) -> bool {
    let Some((scheme, rest)) = origin.split_once("://") else {
        return false;
    };
    matches!(scheme, "http" | "https") && !rest.is_empty() && !rest.contains('/')
}

/// Decodes a base64 key of exactly 32 bytes.
pub fn decode_key(setting: &str, text: &str) -> Result<[u8; 32], ConfigError> {
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .ok_or_else(|| invalid(setting, "base64 of exactly 32 bytes"))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn passwords_in_database_urls_are_redacted_wherever_they_stand() {
        assert_eq!(
            redact_url("postgres://relay:s3cret@db.example:5432/proof?sslmode=require"),
            "postgres://relay:<redacted>@db.example:5432/proof?sslmode=require"
        );
        assert_eq!(
            redact_url("postgres://db.example/proof?user=relay&password=s3cret&sslpassword=k3y"),
            "postgres://db.example/proof?user=relay&password=<redacted>&sslpassword=<redacted>"
        );
        assert_eq!(
            redact_url("sqlite://data/relay.db?mode=rwc"),
            "sqlite://data/relay.db?mode=rwc"
        );
    }

    #[test]
    fn iys_is_reached_over_https_or_on_this_machine_only() {
        for safe in [
            "https://api.iys.org.tr",
            "http://127.0.0.1:8788",
            "http://localhost:8788/",
            "http://[::1]:8788",
        ] {
            assert!(is_safe_iys_url(safe), "{safe}");
        }
        for unsafe_url in [
            "http://api.iys.org.tr",
            "http://10.0.0.5:8788",
            "http://127.0.0.1.evil.example",
            "http://127.0.0.1:1@evil.example/",
            "ftp://127.0.0.1",
            "api.iys.org.tr",
        ] {
            assert!(!is_safe_iys_url(unsafe_url), "{unsafe_url}");
        }
    }

    const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    fn with_env(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect();
        Config::load(None, &move |name| map.get(name).cloned())
    }

    #[test]
    fn defaults_need_only_a_data_key() {
        let config = with_env(&[("RELAY_DATA_KEY", KEY)]).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8787");
        assert_eq!(config.database_url, "sqlite://data/relay.db");
        assert_eq!(config.retention_days, MIN_RETENTION_DAYS);
        assert_eq!(config.data_key[31], 31);
    }

    #[test]
    fn a_missing_or_short_key_is_refused() {
        assert!(
            with_env(&[])
                .unwrap_err()
                .to_string()
                .contains("RELAY_DATA_KEY")
        );
        assert!(with_env(&[("RELAY_DATA_KEY", "c2hvcnQ=")]).is_err());
    }

    #[test]
    fn notices_need_a_public_url_a_brand_and_transport_security() {
        let webhook = [
            ("RELAY_DATA_KEY", KEY),
            (
                "RELAY_NOTICE_WEBHOOK_URL",
                "https://sms.shop.example/hook?key=k",
            ),
            (
                "RELAY_NOTICE_WEBHOOK_SECRET",
                "a-webhook-secret-of-at-least-32-chars",
            ),
        ];
        let error = with_env(&webhook).unwrap_err().to_string();
        assert!(
            error.contains("RELAY_PUBLIC_URL") && error.contains("RELAY_BRAND_NAME"),
            "{error}"
        );
        let mut complete = webhook.to_vec();
        complete.extend([
            ("RELAY_PUBLIC_URL", "https://relay.shop.example/"),
            ("RELAY_BRAND_NAME", "Örnek Mağaza"),
        ]);
        let config = with_env(&complete).unwrap();
        assert!(config.notices.sends_sms() && !config.notices.sends_email());
        assert_eq!(
            config.public_url.as_deref(),
            Some("https://relay.shop.example")
        );
        let debug = format!("{config:?}");
        assert!(
            !debug.contains("key=k") && !debug.contains("at-least-32"),
            "{debug}"
        );
        let mut off = webhook.to_vec();
        off.push(("RELAY_NOTICE", "off"));
        assert!(!with_env(&off).unwrap().notices.sends_sms());
        for (name, value) in [
            ("RELAY_NOTICE_WEBHOOK_URL", "http://sms.shop.example/hook"),
            ("RELAY_SMTP_URL", "smtp://mail.shop.example:25"),
            ("RELAY_NOTICE", "maybe"),
            ("RELAY_REFUSAL_LINK_DAYS", "0"),
        ] {
            let mut bad = complete.clone();
            bad.extend([
                (name, value),
                ("RELAY_NOTICE_FROM", "Shop <n@shop.example>"),
            ]);
            let error = with_env(&bad).unwrap_err().to_string();
            assert!(error.contains(name), "{name}: {error}");
        }
        for (name, value) in [
            ("RELAY_SMTP_URL", "smtp://127.0.0.1:2525"),
            (
                "RELAY_SMTP_URL",
                "smtp://mail.shop.example:587?tls=required",
            ),
            ("RELAY_SMTP_URL", "smtps://user:pass@mail.shop.example:465"),
        ] {
            let mut good = complete.clone();
            good.extend([
                (name, value),
                ("RELAY_NOTICE_FROM", "Shop <n@shop.example>"),
            ]);
            assert!(with_env(&good).unwrap().notices.sends_email(), "{value}");
        }
    }

    #[test]
    fn texts_are_checked_once_a_brand_names_the_built_in_ones() {
        let base = [("RELAY_DATA_KEY", KEY)];
        assert!(with_env(&base).unwrap().accept_unregistered_texts);
        let branded =
            with_env(&[("RELAY_DATA_KEY", KEY), ("RELAY_BRAND_NAME", " Örnek ")]).unwrap();
        assert!(!branded.accept_unregistered_texts);
        assert_eq!(
            branded.brand_name, " Örnek ",
            "kept as the widget is given it"
        );
        let strict = with_env(&[
            ("RELAY_DATA_KEY", KEY),
            ("RELAY_ACCEPT_UNREGISTERED_TEXTS", "false"),
        ])
        .unwrap();
        assert!(!strict.accept_unregistered_texts);
        assert!(with_env(&[("RELAY_DATA_KEY", KEY), ("RELAY_BRAND_NAME", "  ")]).is_err());
    }

    #[test]
    fn retention_can_only_grow() {
        assert!(with_env(&[("RELAY_DATA_KEY", KEY), ("RELAY_RETENTION_DAYS", "365")]).is_err());
        let longer =
            with_env(&[("RELAY_DATA_KEY", KEY), ("RELAY_RETENTION_DAYS", "3650")]).unwrap();
        assert_eq!(longer.retention_days, 3_650);
    }

    #[test]
    fn an_instance_name_is_a_short_plain_word() {
        let named = with_env(&[("RELAY_DATA_KEY", KEY), ("RELAY_INSTANCE", "relay-a.eu_1")]);
        assert_eq!(named.unwrap().instance.as_deref(), Some("relay-a.eu_1"));
        assert_eq!(with_env(&[("RELAY_DATA_KEY", KEY)]).unwrap().instance, None);
        for bad in ["relay a", "relay/a", "ä", &"r".repeat(65)] {
            let error = with_env(&[("RELAY_DATA_KEY", KEY), ("RELAY_INSTANCE", bad)]).unwrap_err();
            assert!(
                error.to_string().contains("RELAY_INSTANCE"),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn environment_wins_over_the_file() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("relay.toml");
        std::fs::write(
            &path,
            format!(
                "listen = \"127.0.0.1:9000\"\ndata_key = \"{KEY}\"\nallowed_origins = [\"https://shop.example\"]\n"
            ),
        )
        .unwrap();
        let from_file = Config::load(Some(&path), &|_| None).unwrap();
        assert_eq!(from_file.listen.port(), 9000);
        assert_eq!(from_file.allowed_origins, ["https://shop.example"]);
        let overridden = Config::load(Some(&path), &|name| {
            (name == "RELAY_LISTEN").then(|| "127.0.0.1:9001".to_owned())
        })
        .unwrap();
        assert_eq!(overridden.listen.port(), 9001);
        std::fs::write(&path, "colour = \"red\"\n").unwrap();
        assert!(Config::load(Some(&path), &|_| None).is_err());
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let config = with_env(&[
            ("RELAY_DATA_KEY", KEY),
            (
                "RELAY_STATE_TOKEN_SECRET",
                "a-very-long-state-token-secret-of-40-chars",
            ),
            ("DATABASE_URL", "postgres://relay:hunter2@127.0.0.1/relay"),
            ("IYS_PASSWORD", "iys-secret"),
        ])
        .unwrap();
        let debug = format!("{config:?}");
        for secret in [KEY, "a-very-long", "hunter2", "iys-secret"] {
            assert!(!debug.contains(secret), "{debug}");
        }
    }

    #[test]
    fn origins_must_be_bare() {
        assert!(
            with_env(&[
                ("RELAY_DATA_KEY", KEY),
                ("RELAY_ALLOWED_ORIGINS", "https://a.example/path")
            ])
            .is_err()
        );
        let config = with_env(&[
            ("RELAY_DATA_KEY", KEY),
            (
                "RELAY_ALLOWED_ORIGINS",
                "https://a.example, http://127.0.0.1:8080",
            ),
        ])
        .unwrap();
        assert_eq!(
            config.allowed_origins,
            ["https://a.example", "http://127.0.0.1:8080"]
        );
    }
}
