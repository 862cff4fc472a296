//! Hostile connections against a real `iys-relay serve` process: many connections that never
//! send a byte and clients that trickle a body. The relay closes each stalled connection within
//! its timeout, answers a newcomer at once, keeps its memory bounded, and stops within its grace
//! on SIGTERM in the middle of the flood.

use std::process::Command;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

use crate::support::{Backend, RelayProcess, TestDatabase};

const IDLE: usize = 1_500;
const TRICKLING: usize = 100;
const KEPT_ALIVE: usize = 50;
const HEADER_TIMEOUT: u64 = 5;
const BODY_TIMEOUT: u64 = 2;
const IDLE_TIMEOUT: u64 = 3;
/// Room for a slow machine between a timeout and the close it causes.
const SLACK: Duration = Duration::from_secs(6);

/// What a stalled connection saw: what it was, and how long after it connected the relay
/// closed it (`None`: still open when the test stopped waiting).
type Closed = (&'static str, Option<Duration>);

/// Opens the flood on `address`: trickling clients first, then silent connections. Each task
/// ends when the relay closes its connection.
async fn flood(address: &str, tasks: &mut JoinSet<Closed>) {
    for _ in 0..TRICKLING {
        let mut stream = TcpStream::connect(address).await.unwrap();
        tasks.spawn(async move {
            let started = Instant::now();
            let headers = "POST /v1/consents HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n";
            if stream.write_all(headers.as_bytes()).await.is_err() {
                return ("trickling", Some(started.elapsed()));
            }
            let mut answer = [0_u8; 512];
            loop {
                tokio::select! {
                    read = stream.read(&mut answer) => {
                        let timed_out = matches!(read, Ok(count) if answer[..count].starts_with(b"HTTP/1.1 408"));
                        let what = if timed_out { "trickling" } else { "trickling, not answered 408" };
                        return (what, Some(started.elapsed()));
                    }
                    () = tokio::time::sleep(Duration::from_millis(200)) => {
                        if stream.write_all(b" ").await.is_err() {
                            return ("trickling", Some(started.elapsed()));
                        }
                        if started.elapsed() > Duration::from_secs(60) {
                            return ("trickling", None);
                        }
                    }
                }
            }
        });
    }
    for _ in 0..KEPT_ALIVE {
        let mut stream = TcpStream::connect(address).await.unwrap();
        tasks.spawn(async move {
            let request = "GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
            stream.write_all(request.as_bytes()).await.unwrap();
            let mut answer = [0_u8; 1_024];
            let count = stream.read(&mut answer).await.unwrap_or(0);
            assert!(
                answer[..count].starts_with(b"HTTP/1.1 200"),
                "{:?}",
                String::from_utf8_lossy(&answer[..count])
            );
            // Silent after its request, the kept-alive connection is closed by the idle timeout.
            let started = Instant::now();
            match tokio::time::timeout(Duration::from_secs(60), stream.read(&mut answer)).await {
                Ok(_) => ("kept alive", Some(started.elapsed())),
                Err(_) => ("kept alive", None),
            }
        });
    }
    for _ in 0..IDLE {
        let Ok(mut stream) = TcpStream::connect(address).await else {
            continue;
        };
        tasks.spawn(async move {
            let started = Instant::now();
            let mut byte = [0_u8; 1];
            match tokio::time::timeout(Duration::from_secs(60), stream.read(&mut byte)).await {
                Ok(_) => ("idle", Some(started.elapsed())),
                Err(_) => ("idle", None),
            }
        });
    }
}

fn resident_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_connections_are_closed_in_time_and_the_relay_stays_up_and_stops_on_time() {
    let database = TestDatabase::new(Backend::Sqlite).await;
    let timeouts = [
        ("RELAY_HEADER_TIMEOUT_SECONDS", HEADER_TIMEOUT.to_string()),
        ("RELAY_BODY_TIMEOUT_SECONDS", BODY_TIMEOUT.to_string()),
        ("RELAY_IDLE_TIMEOUT_SECONDS", IDLE_TIMEOUT.to_string()),
    ];
    let settings: Vec<(&str, &str)> = timeouts
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    let (mut relay, base) = RelayProcess::start(&database.url, &settings);
    let address = base.trim_start_matches("http://").to_owned();
    let pid = relay.pid();

    let mut tasks = JoinSet::new();
    flood(&address, &mut tasks).await;
    let mut peak_kib = resident_kib(pid);
    let mut closed = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(IDLE_TIMEOUT.max(BODY_TIMEOUT)) + SLACK * 2;
    while !tasks.is_empty() && Instant::now() < deadline {
        peak_kib = peak_kib.max(resident_kib(pid));
        if let Ok(Some(done)) =
            tokio::time::timeout(Duration::from_millis(200), tasks.join_next()).await
        {
            closed.push(done.unwrap());
        }
    }
    assert!(tasks.is_empty(), "{} connections still open", tasks.len());
    for (what, after) in &closed {
        let limit = Duration::from_secs(match *what {
            "trickling" => BODY_TIMEOUT,
            "idle" | "kept alive" => IDLE_TIMEOUT,
            other => panic!("a {other} connection, closed after {after:?}"),
        }) + SLACK;
        let after = after.unwrap_or_else(|| panic!("a {what} connection was never closed"));
        assert!(
            after <= limit,
            "a {what} connection was closed after {after:?}"
        );
    }
    assert_eq!(closed.len(), IDLE + TRICKLING + KEPT_ALIVE);
    assert!(
        peak_kib < 64 * 1_024,
        "the relay grew to {peak_kib} KiB under the flood"
    );

    // A newcomer is answered at once.
    let started = Instant::now();
    let health = reqwest::Client::new()
        .get(format!("{base}/v1/health"))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "a newcomer waited {:?}",
        started.elapsed()
    );

    // SIGTERM in the middle of a second flood: the relay is gone within 30 s, cleanly.
    let mut second = JoinSet::new();
    flood(&address, &mut second).await;
    let started = Instant::now();
    Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    let exited = loop {
        if let Some(status) = relay.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the relay did not stop within 30 s of SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(exited.success(), "{exited:?}");
    second.abort_all();
}

#[test]
fn the_default_timeouts_close_a_stalled_connection_within_30_seconds() {
    let limits = iys_relay::server::Limits::default();
    for timeout in [
        limits.header_timeout,
        limits.body_timeout,
        limits.idle_timeout,
    ] {
        assert!(timeout <= Duration::from_secs(30), "{timeout:?}");
    }
    assert!(limits.shutdown_grace < Duration::from_secs(30));
}
