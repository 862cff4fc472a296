//! A relay started on 127.0.0.1 for one test, over a fresh database.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use consent_core::record::{RecordId, text_sha256};
use iys_relay::clock::system_clock;
use iys_relay::config::Config;
use iys_relay::{AppState, Store, app};
use serde_json::{Value, json};
use tokio::sync::oneshot;

pub const DATA_KEY: [u8; 32] = [7; 32];
pub const TOKEN_SECRET: &str = "a-shared-secret-of-at-least-32-bytes!";
pub const ORIGIN: &str = "https://shop.test";

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh database: a SQLite file in a temporary folder, or a new database on the test
/// Postgres server.
pub struct TestDatabase {
    pub url: String,
    pub sqlite_file: Option<PathBuf>,
    _folder: tempfile::TempDir,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

impl TestDatabase {
    /// A database a test made itself, at `url`.
    pub fn at(url: &str) -> TestDatabase {
        TestDatabase {
            url: url.to_owned(),
            sqlite_file: None,
            _folder: tempfile::tempdir().unwrap(),
        }
    }

    pub async fn new(backend: Backend) -> TestDatabase {
        let folder = tempfile::tempdir().unwrap();
        match backend {
            Backend::Sqlite => {
                let file = folder.path().join("relay.db");
                TestDatabase {
                    url: format!("sqlite://{}", file.display()),
                    sqlite_file: Some(file),
                    _folder: folder,
                }
            }
            Backend::Postgres => {
                let server = std::env::var("IYS_TEST_POSTGRES_URL").expect(
                    "IYS_TEST_POSTGRES_URL is not set: run the Postgres tests through `cargo xtask test`",
                );
                sqlx::any::install_default_drivers();
                let name = format!(
                    "relay_test_{}_{}",
                    std::process::id(),
                    COUNTER.fetch_add(1, Ordering::Relaxed)
                );
                let admin = sqlx::AnyPool::connect(&server).await.unwrap();
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&admin)
                    .await
                    .unwrap();
                admin.close().await;
                let (base, _) = server.rsplit_once('/').unwrap();
                TestDatabase {
                    url: format!("{base}/{name}"),
                    sqlite_file: None,
                    _folder: folder,
                }
            }
        }
    }
}

/// The settings tests start from.
pub fn config(database_url: &str) -> Config {
    let mut config = Config::load(None, &|name| match name {
        "RELAY_DATA_KEY" => Some(base64_key(&DATA_KEY)),
        "RELAY_ALLOWED_ORIGINS" => Some(ORIGIN.to_owned()),
        "RELAY_STATE_TOKEN_SECRET" => Some(TOKEN_SECRET.to_owned()),
        "RELAY_RATE_LIMIT_PER_MINUTE" => Some("100000".to_owned()),
        // The tests' records carry texts of their own; `texts.rs` tests the register.
        "RELAY_ACCEPT_UNREGISTERED_TEXTS" => Some("true".to_owned()),
        _ => None,
    })
    .unwrap();
    config.database_url = database_url.to_owned();
    config
}

/// Runs the real `iys-relay` binary with the test key, quiet logs and `settings` (which win).
pub fn run_relay(arguments: &[&str], settings: &[(&str, &str)]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_iys-relay"))
        .args(arguments)
        .env("RELAY_DATA_KEY", base64_key(&DATA_KEY))
        .env("RELAY_LOG", "warn")
        .envs(settings.iter().copied())
        .output()
        .unwrap()
}

pub fn base64_key(key: &[u8; 32]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(key)
}

/// A relay serving on a free port of 127.0.0.1 until dropped.
pub struct TestRelay {
    pub base: String,
    pub store: Store,
    pub database: TestDatabase,
    pub client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
}

impl TestRelay {
    pub async fn start(backend: Backend) -> TestRelay {
        let database = TestDatabase::new(backend).await;
        let config = config(&database.url);
        TestRelay::start_with(database, config).await
    }

    /// A relay on `database` with `config`; its refusal links point at it unless the config
    /// names a public URL.
    pub async fn start_with(database: TestDatabase, mut config: Config) -> TestRelay {
        let store = Store::open(&config.database_url, config.keyring(), 8)
            .await
            .unwrap();
        let limits = config.limits.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        if config.public_url.is_none() {
            config.public_url = Some(format!("http://{address}"));
        }
        let state = AppState::new(config, store.clone(), system_clock());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            iys_relay::server::serve(listener, app(state), limits, async move {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        TestRelay {
            base: format!("http://{address}"),
            store,
            database,
            client: reqwest::Client::new(),
            stop: Some(stop),
        }
    }

    pub async fn post(&self, body: &Value) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}/v1/consents", self.base))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    pub async fn count(&self, table: &str) -> i64 {
        use sqlx::Row;
        sqlx::query(&format!("SELECT COUNT(*) AS count FROM {table}"))
            .fetch_one(self.store.pool())
            .await
            .unwrap()
            .try_get("count")
            .unwrap()
    }
}

impl Drop for TestRelay {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A fresh UUIDv7.
pub fn new_id() -> String {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut random = [0_u8; 10];
    random[..8].copy_from_slice(&count.to_be_bytes());
    random[8] = std::process::id() as u8;
    RecordId::v7(millis, random).to_string()
}

/// The client clock's time now, in the contract's form.
pub fn now_rfc3339() -> String {
    (system_clock())().to_rfc3339()
}

/// A valid record for `channel` and `recipient`.
pub fn record(channel: &str, recipient: &str, status: &str) -> Value {
    let text =
        format!("Örnek Mağaza {channel} iletileri göndersin; onayımı ücretsiz geri alabilirim.");
    json!({
        "id": new_id(),
        "channel": channel,
        "recipient": recipient,
        "recipientType": "individual",
        "status": status,
        "consentedAt": now_rfc3339(),
        "source": "web",
        "evidence": {
            "text": text,
            "textSha256": text_sha256(&text),
            "textVersion": "2026-11",
            "locale": "tr",
            "pageUrl": "https://shop.test/checkout",
            "formId": "checkout",
            "mode": "checkout",
            "userAgent": "Mozilla/5.0 (test)",
            "sdkVersion": "0.1.0"
        }
    })
}

pub fn batch(records: Vec<Value>) -> Value {
    json!({ "records": records })
}

/// An `iys-relay serve` process a test started on 127.0.0.1; killed with SIGKILL when dropped,
/// so that a failing test leaves none behind.
pub struct RelayProcess(pub std::process::Child);

impl RelayProcess {
    /// Starts `iys-relay serve` on `database_url` with the test key and origin, a rate limit
    /// tests do not reach, and `settings` on top; returns it with its address once it listens.
    pub fn start(database_url: &str, settings: &[(&str, &str)]) -> (RelayProcess, String) {
        use std::io::{BufRead, BufReader};
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_iys-relay"));
        command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("DATABASE_URL", database_url)
            .env("RELAY_DATA_KEY", base64_key(&DATA_KEY))
            .env("RELAY_ALLOWED_ORIGINS", ORIGIN)
            .env("RELAY_RATE_LIMIT_PER_MINUTE", "1000000")
            .env("RELAY_ACCEPT_UNREGISTERED_TEXTS", "true")
            .env("RELAY_LOG", "warn")
            .envs(settings.iter().copied())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null());
        let mut relay = RelayProcess(command.spawn().unwrap());
        let mut line = String::new();
        BufReader::new(relay.0.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = line.trim().rsplit(' ').next().unwrap().to_owned();
        assert!(base.starts_with("http://127.0.0.1:"), "{line}");
        (relay, base)
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.0.id()
    }

    /// Kills it with SIGKILL, as a crash or an out-of-memory kill would, and reaps it.
    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Declares one test per backend: `sqlite` runs always, `postgres` when asked for.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$body($crate::support::Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[ignore = "needs Postgres: run through `cargo xtask test`"]
            async fn postgres() {
                super::$body($crate::support::Backend::Postgres).await;
            }
        }
    };
}

/// The relay's own OpenAPI document.
pub fn openapi() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Checks that `body` is what the OpenAPI document promises for `path`, `method`, `status`.
pub fn assert_matches_openapi(path: &str, method: &str, status: u16, body: &Value) {
    let document = openapi();
    let response = &document["paths"][path][method]["responses"][status.to_string()];
    assert!(
        !response.is_null(),
        "the document has no {status} for {method} {path}"
    );
    let response = match response["$ref"].as_str() {
        Some(reference) => {
            let name = reference.rsplit('/').next().unwrap();
            document["components"]["responses"][name].clone()
        }
        None => response.clone(),
    };
    let schema = json!({
        "$ref": response["content"]["application/json"]["schema"]["$ref"],
        "components": document["components"].clone(),
    });
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|error| error.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {path} {status}: {body}: {errors:?}"
    );
}
