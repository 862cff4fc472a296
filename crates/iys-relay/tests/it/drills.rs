//! Fault drills against real `iys-relay serve` processes: killed with SIGKILL under load, and
//! fed hostile input over raw sockets.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use iys_relay::Store;
use iys_relay::crypto::Keyring;
use serde_json::Value;

use crate::both_backends;
use crate::support::{Backend, DATA_KEY, ORIGIN, RelayProcess, TestDatabase, base64_key, record};

/// Senders that post two records at a time to whichever relay `base` names, and keep the ids
/// of every record a relay acknowledged with 200.
fn start_senders(
    base: Arc<Mutex<String>>,
    stop: Arc<AtomicBool>,
    acknowledged: Arc<Mutex<Vec<String>>>,
) -> Vec<tokio::task::JoinHandle<u64>> {
    (0..6)
        .map(|sender| {
            let base = base.clone();
            let stop = stop.clone();
            let acknowledged = acknowledged.clone();
            tokio::spawn(async move {
                let client = reqwest::Client::builder()
                    .timeout(Duration::from_secs(5))
                    .build()
                    .unwrap();
                let mut failures = 0;
                let mut round = 0_u32;
                while !stop.load(Ordering::Relaxed) {
                    round += 1;
                    let records = vec![
                        record(
                            "sms",
                            &format!("0532 {sender}{:02} 00 00", round % 100),
                            "granted",
                        ),
                        record(
                            "email",
                            &format!("s{sender}.{round}@example.com"),
                            "granted",
                        ),
                    ];
                    let ids: Vec<String> = records
                        .iter()
                        .map(|record| record["id"].as_str().unwrap().to_owned())
                        .collect();
                    let url = format!("{}/v1/consents", base.lock().unwrap());
                    let answer = client
                        .post(url)
                        .json(&serde_json::json!({ "records": records }))
                        .send()
                        .await;
                    match answer {
                        Ok(answer) if answer.status().as_u16() == 200 => {
                            // Acknowledged only once the whole answer has arrived.
                            if answer.bytes().await.is_ok() {
                                acknowledged.lock().unwrap().extend(ids);
                            }
                        }
                        Ok(answer) => {
                            assert!(
                                answer.status().is_server_error()
                                    || answer.status().as_u16() == 429,
                                "unexpected {}",
                                answer.status()
                            );
                            failures += 1;
                        }
                        Err(_) => {
                            failures += 1;
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    }
                }
                failures
            })
        })
        .collect()
}

async fn every_acknowledged_record_survives_sigkill_under_load(backend: Backend) {
    let database = TestDatabase::new(backend).await;
    let (mut relay, address) = RelayProcess::start(&database.url, &[]);
    let base = Arc::new(Mutex::new(address));
    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let senders = start_senders(base.clone(), stop.clone(), acknowledged.clone());
    let mut kills = 0;
    for pause in [300, 450, 200, 600, 350, 500] {
        tokio::time::sleep(Duration::from_millis(pause)).await;
        relay.kill();
        kills += 1;
        let (restarted, address) = RelayProcess::start(&database.url, &[]);
        relay = restarted;
        *base.lock().unwrap() = address;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let mut failed_requests = 0;
    for sender in senders {
        failed_requests += sender.await.unwrap();
    }
    relay.kill();

    let acknowledged: Vec<String> = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= 100,
        "the drill acknowledged only {} records",
        acknowledged.len()
    );
    assert!(
        failed_requests > 0,
        "no request met a killed relay in {kills} kills"
    );
    let store = Store::open(&database.url, Keyring::new(&DATA_KEY, &[]), 2)
        .await
        .unwrap();
    let stored: HashSet<String> = store
        .records(None, None)
        .await
        .unwrap()
        .into_iter()
        .map(|record| record.plain.id)
        .collect();
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|id| !stored.contains(*id))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged records are missing: {lost:?}",
        lost.len(),
        acknowledged.len()
    );
    assert_eq!(store.verify().await.unwrap().problem, None);
    let verify = std::process::Command::new(env!("CARGO_BIN_EXE_iys-relay"))
        .arg("verify")
        .env("DATABASE_URL", &database.url)
        .env("RELAY_DATA_KEY", base64_key(&DATA_KEY))
        .env("RELAY_LOG", "error")
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "iys-relay verify: {}",
        String::from_utf8_lossy(&verify.stdout)
    );
}

both_backends!(
    sigkill_under_load,
    every_acknowledged_record_survives_sigkill_under_load
);

/// Sends `request` on a fresh connection and reads what comes back until the relay closes or
/// two seconds pass; `None` when nothing came back.
fn exchange(address: &str, request: &[u8]) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    stream
        .set_write_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    // The relay may answer and close before it has read everything: a failed write is fine.
    let _ = stream.write_all(request);
    let mut answer = Vec::new();
    let mut buffer = [0_u8; 8192];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(read) => {
                answer.extend_from_slice(&buffer[..read]);
                if complete(&answer) {
                    break;
                }
            }
        }
    }
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    Some((status, body))
}

/// Whether `answer` holds a whole response with a `Content-Length` body.
fn complete(answer: &[u8]) -> bool {
    let text = String::from_utf8_lossy(answer);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    head.lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())
                .flatten()
        })
        .is_some_and(|length| body.len() >= length)
}

fn post(content_type: &str, extra_headers: &str, body: &[u8]) -> Vec<u8> {
    let mut request = format!(
        "POST /v1/consents HTTP/1.1\r\nHost: relay.test\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{extra_headers}\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    request
}

/// The relay's resident memory, in KiB.
fn resident_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Asserts an answer is a 4xx and, unless `codes` is empty (an answer of the HTTP parser, before
/// the relay sees the request), a JSON body with one of `codes`.
fn assert_refused(what: &str, answer: Option<(u16, String)>, codes: &[&str]) {
    let (status, body) = answer.unwrap_or_else(|| panic!("{what}: no answer"));
    assert!((400..500).contains(&status), "{what}: {status} {body}");
    if !codes.is_empty() {
        let body: Value = serde_json::from_str(&body)
            .unwrap_or_else(|error| panic!("{what}: {error} in {body:?}"));
        assert!(
            codes.iter().any(|code| body["code"] == *code),
            "{what}: {body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_input_gets_4xx_codes_and_leaves_the_relay_up_with_bounded_memory() {
    let database = TestDatabase::new(Backend::Sqlite).await;
    let (relay, base) = RelayProcess::start(&database.url, &[]);
    let address = base.trim_start_matches("http://").to_owned();
    let pid = relay.pid();
    let good = serde_json::json!({ "records": [record("sms", "0532 123 45 67", "granted")] })
        .to_string()
        .into_bytes();
    let health = |address: &str| {
        exchange(
            address,
            b"GET /v1/health HTTP/1.1\r\nHost: relay.test\r\nConnection: close\r\n\r\n",
        )
        .map(|(status, _)| status)
    };
    assert_eq!(health(&address), Some(200));
    let memory_before = resident_kib(pid);

    let drill = {
        let address = address.clone();
        let good = good.clone();
        tokio::task::spawn_blocking(move || {
            for round in 0..3 {
                // An enormous body, declared: refused before it is read.
                let mut declared = b"POST /v1/consents HTTP/1.1\r\nHost: relay.test\r\nContent-Type: application/json\r\nContent-Length: 1000000000000\r\n\r\n".to_vec();
                declared.extend_from_slice(&[b'['; 4096]);
                assert_refused(
                    "a declared huge body",
                    exchange(&address, &declared),
                    &["payload_too_large"],
                );
                // An enormous body, chunked with no length: cut off at the limit.
                let mut chunked = b"POST /v1/consents HTTP/1.1\r\nHost: relay.test\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
                for _ in 0..(8 * 1024 * 1024 / 65_536) {
                    chunked.extend_from_slice(b"10000\r\n");
                    chunked.extend(std::iter::repeat_n(b' ', 65_536));
                    chunked.extend_from_slice(b"\r\n");
                }
                chunked.extend_from_slice(b"0\r\n\r\n");
                assert_refused(
                    "a chunked huge body",
                    exchange(&address, &chunked),
                    &["payload_too_large"],
                );
                // Deep nesting within the size limit.
                for nested in [
                    "[".repeat(60_000),
                    "{\"a\":".repeat(10_000),
                    format!("{{\"records\":{}", "[".repeat(30_000)),
                ] {
                    assert_refused(
                        "deep nesting",
                        exchange(&address, &post("application/json", "", nested.as_bytes())),
                        &["malformed_json", "invalid_record"],
                    );
                }
                // Invalid UTF-8, inside a string and bare.
                let mut invalid = good.clone();
                let at = invalid
                    .windows(5)
                    .position(|window| window == b"Mozil")
                    .unwrap();
                invalid[at] = 0xC3;
                invalid[at + 1] = 0x28;
                assert_refused(
                    "invalid UTF-8 in a string",
                    exchange(&address, &post("application/json", "", &invalid)),
                    &["malformed_json"],
                );
                assert_refused(
                    "bare invalid bytes",
                    exchange(&address, &post("application/json", "", b"\xff\xfe\xfd")),
                    &["malformed_json"],
                );
                // Wrong content types.
                for content_type in [
                    "text/plain",
                    "multipart/form-data; boundary=x",
                    "application/jsonx",
                    "application/xml",
                ] {
                    assert_refused(
                        content_type,
                        exchange(&address, &post(content_type, "", &good)),
                        &["unsupported_media_type"],
                    );
                }
                // Header injection: a bare CR, a NUL and a line break folded into a value; a
                // forged forwarding header from a peer that is not a trusted proxy changes
                // nothing.
                for header in [
                    "X-Note: a\rInjected: 1\r\n",
                    "X-Note: a\0b\r\n",
                    "X-Note: a\r\n folded\r\n",
                ] {
                    assert_refused(
                        "an injected header",
                        exchange(&address, &post("application/json", header, &good)),
                        &[],
                    );
                }
                let (status, _) = exchange(&address, &post("application/json", &format!("Origin: {ORIGIN}\r\nX-Forwarded-For: 203.0.113.7\r\nConnection: close\r\n"), &good)).unwrap();
                assert_eq!(status, 200);
                assert_refused(
                    "a forbidden origin",
                    exchange(
                        &address,
                        &post("application/json", "Origin: https://evil.test\r\n", &good),
                    ),
                    &["origin_not_allowed"],
                );
                // Oversized headers: one huge header, and very many small ones.
                let huge = format!("X-Big: {}\r\n", "a".repeat(512 * 1024));
                let answer = exchange(&address, &post("application/json", &huge, &good));
                if let Some((status, body)) = answer {
                    assert!(
                        (400..500).contains(&status),
                        "a huge header: {status} {body}"
                    );
                }
                let many: String = (0..500).map(|index| format!("X-H{index}: v\r\n")).collect();
                assert_refused(
                    "too many headers",
                    exchange(&address, &post("application/json", &many, &good)),
                    &[],
                );
                assert_eq!(health(&address), Some(200), "round {round}");
            }
        })
    };
    drill.await.unwrap();

    // Slow clients: many connections that send their request a byte at a time do not keep
    // others out.
    let slow: Vec<TcpStream> = (0..200)
        .map(|_| {
            let mut stream = TcpStream::connect(&address).unwrap();
            stream
                .write_all(b"POST /v1/consents HTTP/1.1\r\nHost: relay.test\r\nContent-Type: appl")
                .unwrap();
            stream
        })
        .collect();
    let client = reqwest::Client::new();
    for _ in 0..10 {
        let started = Instant::now();
        let answer = client
            .post(format!("{base}/v1/consents"))
            .header("content-type", "application/json")
            .body(good.clone())
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success(), "{}", answer.status());
        assert!(started.elapsed() < Duration::from_secs(10));
    }
    for mut stream in slow {
        let _ = stream.write_all(b"i");
    }

    assert_eq!(health(&address), Some(200));
    let memory_after = resident_kib(pid);
    assert!(
        memory_after < memory_before + 64 * 1024,
        "resident memory grew from {memory_before} KiB to {memory_after} KiB"
    );
}
