//! The database failing under the relay: Postgres stopped and started under load, Postgres
//! hanging as behind a half-open connection, SQLite out of file space. Requests get 503 `storage_unavailable` with `Retry-After` within the storage
//! deadline, never a hang, a 500 or a 200 for a record that was not stored; `/v1/health` says
//! 503 meanwhile; the relay recovers by itself, and every acknowledged record is there.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use sqlx::Row;

use crate::support::{
    DATA_KEY, ORIGIN, TestDatabase, TestRelay, base64_key, batch, config, record,
};

/// A Postgres server of the test's own, on a free port of 127.0.0.1, that the test stops and
/// starts; stopped by its process id when dropped.
struct OwnCluster {
    bin: PathBuf,
    folder: tempfile::TempDir,
    port: u16,
    server: Option<Child>,
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| output.stdout.starts_with(b"0\n"))
}

/// Runs a Postgres program as the `postgres` user when the test runs as root.
fn as_server_user(program: PathBuf) -> Command {
    if is_root() {
        let mut command = Command::new("setpriv");
        command
            .args([
                "--reuid=postgres",
                "--regid=postgres",
                "--clear-groups",
                "--",
            ])
            .arg(program);
        command
    } else {
        Command::new(program)
    }
}

impl OwnCluster {
    fn start() -> OwnCluster {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL is installed")
            .flatten()
            .map(|entry| entry.path().join("bin"))
            .find(|bin| bin.join("postgres").exists())
            .expect("a PostgreSQL server binary");
        let folder = tempfile::tempdir().unwrap();
        if is_root() {
            assert!(
                Command::new("chown")
                    .arg("postgres:postgres")
                    .arg(folder.path())
                    .status()
                    .unwrap()
                    .success()
            );
        }
        let initialised = as_server_user(bin.join("initdb"))
            .arg("-D")
            .arg(folder.path().join("data"))
            .args(["-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(initialised.success());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut cluster = OwnCluster {
            bin,
            folder,
            port,
            server: None,
        };
        cluster.start_again();
        cluster
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn start_again(&mut self) {
        let server = as_server_user(self.bin.join("postgres"))
            .arg("-D")
            .arg(self.folder.path().join("data"))
            .args(["-p", &self.port.to_string(), "-k"])
            .arg(self.folder.path())
            .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.server = Some(server);
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "Postgres did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The server's processes: the postmaster and its children, found by their parent's id.
    fn processes(&self) -> Vec<u32> {
        let Some(server) = &self.server else {
            return Vec::new();
        };
        let postmaster = server.id();
        let mut found = vec![postmaster];
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            // The parent's id is the second field after the command's closing parenthesis.
            let parent = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|parent| parent.parse::<u32>().ok());
            if parent == Some(postmaster)
                && let Ok(pid) = entry.file_name().to_string_lossy().parse()
            {
                found.push(pid);
            }
        }
        found
    }

    /// Sends `signal` to every process of the server, by process id: STOP makes every open
    /// connection hang as a half-open one does, CONT lets them go on.
    fn signal_all(&self, signal: &str) {
        for pid in self.processes() {
            let _ = Command::new("kill")
                .args([&format!("-{signal}"), &pid.to_string()])
                .status();
        }
    }

    /// Stops the server with Postgres's fast shutdown (SIGINT), by its process id.
    fn stop(&mut self) {
        if let Some(mut server) = self.server.take() {
            let _ = Command::new("kill")
                .args(["-INT", &server.id().to_string()])
                .status();
            let _ = server.wait();
        }
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What the load saw: every answer's status, and the ids of the records acknowledged stored.
#[derive(Default)]
struct Seen {
    statuses: Vec<u16>,
    unavailable_codes: HashSet<String>,
    acknowledged: HashSet<String>,
    acknowledged_at: std::collections::HashMap<String, usize>,
    slowest: Duration,
}

impl Seen {
    /// The outage was answered 503 `storage_unavailable` only, no request hung, and the
    /// relay answers 200 again by itself.
    fn assert_recovered(&self) {
        assert_eq!(
            self.unavailable_codes,
            HashSet::from(["storage_unavailable".to_owned()])
        );
        assert!(
            self.statuses
                .iter()
                .rev()
                .take(3)
                .all(|status| *status == 200),
            "the relay recovered by itself: {:?}",
            &self.statuses[self.statuses.len().saturating_sub(10)..]
        );
        assert!(
            self.slowest < Duration::from_secs(15),
            "no request hung: the slowest took {:?}",
            self.slowest
        );
    }

    /// Every record answered 200 is in `pool`.
    async fn assert_all_stored(&self, pool: &sqlx::AnyPool) {
        let stored: HashSet<String> = sqlx::query("SELECT id FROM consents")
            .fetch_all(pool)
            .await
            .unwrap()
            .iter()
            .map(|row| row.try_get("id").unwrap())
            .collect();
        let lost: Vec<&String> = self.acknowledged.difference(&stored).collect();
        let mut lost_at: Vec<usize> = lost
            .iter()
            .filter_map(|id| self.acknowledged_at.get(*id).copied())
            .collect();
        lost_at.sort_unstable();
        assert!(
            lost.is_empty(),
            "{} acknowledged records are missing, answered at {lost_at:?} of {:?}",
            lost.len(),
            self.statuses
        );
    }
}

/// Posts four records a request, one request after another, until `running` is cleared.
fn load(
    base: String,
    running: Arc<std::sync::atomic::AtomicBool>,
    seen: Arc<Mutex<Seen>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        while running.load(std::sync::atomic::Ordering::Relaxed) {
            let records: Vec<Value> = (0..4)
                .map(|n| record("email", &format!("yuk{n}@example.com"), "granted"))
                .collect();
            let started = Instant::now();
            let answer = client
                .post(format!("{base}/v1/consents"))
                .header("content-type", "application/json")
                .body(batch(records.clone()).to_string())
                .send()
                .await
                .unwrap();
            let took = started.elapsed();
            let status = answer.status().as_u16();
            let retry_after = answer.headers().get("retry-after").is_some();
            let body: Value = answer.json().await.unwrap();
            {
                let mut seen = seen.lock().unwrap();
                seen.slowest = seen.slowest.max(took);
                seen.statuses.push(status);
                match status {
                    200 => {
                        let at = seen.statuses.len() - 1;
                        for receipt in body["records"].as_array().unwrap() {
                            let id = receipt["id"].as_str().unwrap().to_owned();
                            seen.acknowledged_at.insert(id.clone(), at);
                            seen.acknowledged.insert(id);
                        }
                    }
                    503 => {
                        assert!(retry_after, "a 503 names when to try again");
                        seen.unavailable_codes
                            .insert(body["code"].as_str().unwrap_or("").to_owned());
                    }
                    other => panic!("answered {other}: {body}"),
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
}

async fn health(base: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{base}/v1/health"))
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .map_or(0, |answer| answer.status().as_u16())
}

async fn wait_for_health(base: &str, status: u16, within: Duration) {
    let started = Instant::now();
    while health(base).await != status {
        assert!(
            started.elapsed() < within,
            "/v1/health did not answer {status} within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL installed: run through `cargo xtask test`"]
async fn postgres_stopped_and_started_under_load_loses_nothing_acknowledged() {
    let mut cluster = OwnCluster::start();
    let database = TestDatabase::at(&cluster.url());
    let mut settings = config(&database.url);
    settings.storage_timeout_ms = 2_000;
    let relay = TestRelay::start_with(database, settings).await;
    let running = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let seen = Arc::new(Mutex::new(Seen::default()));
    let sender = load(relay.base.clone(), Arc::clone(&running), Arc::clone(&seen));
    tokio::time::sleep(Duration::from_secs(1)).await;

    cluster.stop();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        health(&relay.base).await,
        503,
        "health says the database is gone"
    );
    cluster.start_again();
    wait_for_health(&relay.base, 200, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;

    // The server stops answering without closing anything, as behind a half-open connection:
    // requests are answered 503 within the deadline instead of piling up, and health says so.
    let before_hang = seen.lock().unwrap().statuses.len();
    cluster.signal_all("STOP");
    tokio::time::sleep(Duration::from_secs(5)).await;
    let hung_health = health(&relay.base).await;
    cluster.signal_all("CONT");
    assert_eq!(hung_health, 503, "health says the writer cannot commit");
    assert!(
        seen.lock().unwrap().statuses[before_hang..].contains(&503),
        "a hanging database answers 503"
    );
    wait_for_health(&relay.base, 200, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    running.store(false, std::sync::atomic::Ordering::Relaxed);
    sender.await.unwrap();

    let seen = std::mem::take(&mut *seen.lock().unwrap());
    assert!(
        seen.statuses.contains(&503),
        "the outage was seen: {:?}",
        seen.statuses
    );
    seen.assert_recovered();
    seen.assert_all_stored(relay.store.pool()).await;
    assert_eq!(relay.store.verify().await.unwrap().problem, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_out_of_file_space_answers_503_and_recovers_when_space_is_back() {
    let folder = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", folder.path().join("relay.db").display());
    // The relay's files may grow to 2 MiB (a soft limit, raised later from outside), as on a
    // small, nearly full disk.
    let mut command = Command::new("prlimit");
    command
        .args(["--fsize=2097152:unlimited", "--"])
        .arg(env!("CARGO_BIN_EXE_iys-relay"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("DATABASE_URL", &url)
        .env("RELAY_DATA_KEY", base64_key(&DATA_KEY))
        .env("RELAY_ALLOWED_ORIGINS", ORIGIN)
        .env("RELAY_RATE_LIMIT_PER_MINUTE", "1000000")
        .env("RELAY_STORAGE_TIMEOUT_MS", "2000")
        .env("RELAY_ACCEPT_UNREGISTERED_TEXTS", "true")
        .env("RELAY_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(folder.path().join("relay.log")).unwrap());
    let log = || std::fs::read_to_string(folder.path().join("relay.log")).unwrap_or_default();
    let mut relay = crate::support::RelayProcess(command.spawn().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(relay.0.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let base = line.trim().rsplit(' ').next().unwrap().to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{line}");
    let running = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let seen = Arc::new(Mutex::new(Seen::default()));
    let sender = load(base.clone(), Arc::clone(&running), Arc::clone(&seen));
    let started = Instant::now();
    while !seen.lock().unwrap().statuses.contains(&503) {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the files never filled up: {}",
            log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        health(&base).await,
        503,
        "health says the writer cannot commit"
    );
    // Space is back.
    let raised = Command::new("prlimit")
        .args(["--pid", &relay.pid().to_string(), "--fsize=unlimited"])
        .status()
        .unwrap();
    assert!(raised.success(), "{}", log());
    wait_for_health(&base, 200, Duration::from_secs(30)).await;
    let recovered_at = seen.lock().unwrap().statuses.len();
    let started = Instant::now();
    while seen.lock().unwrap().statuses.len() < recovered_at + 5 {
        assert!(started.elapsed() < Duration::from_secs(30));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    running.store(false, std::sync::atomic::Ordering::Relaxed);
    sender.await.unwrap();
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    seen.assert_recovered();
    Command::new("kill")
        .args(["-TERM", &relay.pid().to_string()])
        .status()
        .unwrap();
    let _ = relay.0.wait();

    let store = iys_relay::Store::open(&url, iys_relay::crypto::Keyring::new(&DATA_KEY, &[]), 2)
        .await
        .unwrap();
    seen.assert_all_stored(store.pool()).await;
    assert_eq!(store.verify().await.unwrap().problem, None);
}
