//! A small HTTP/1.1 load generator for the relay benchmarks, over keep-alive connections on
//! 127.0.0.1.
//!
//! Two shapes: closed loop (every connection sends its next request as soon as the last one is
//! answered: the most the relay can take) and open loop at a fixed rate, where each request's
//! latency is counted from the moment it was due, not from when it was sent, so a stalled relay
//! cannot hide its stall by slowing the generator down.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use consent_core::record::{RecordId, text_sha256};

/// What one run measured.
#[derive(Debug, Clone, Default)]
pub struct Run {
    /// Requests answered 200.
    pub ok: u64,
    /// Requests answered otherwise, or failed.
    pub failed: u64,
    /// Records acknowledged as stored.
    pub records: u64,
    /// Latencies in microseconds, sorted.
    pub latencies: Vec<u64>,
    /// How long the run took.
    pub elapsed: Duration,
}

impl Run {
    /// The latency at quantile `q` (0 to 1), in milliseconds.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let index = ((self.latencies.len() - 1) as f64 * q).round() as usize;
        self.latencies[index] as f64 / 1_000.0
    }
}

static SEQUENCE: AtomicU64 = AtomicU64::new(1);

/// A consent request body with `records` records, each with a fresh id.
pub fn body(records: usize) -> String {
    let text = "Örnek Mağaza tarafından kampanya iletilerinin SMS ile gönderilmesini kabul ediyorum. Bu onayı dilediğim zaman ücretsiz geri alabilirim.";
    let hash = text_sha256(text);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let consented_at =
        consent_core::Timestamp::from_unix_millis(now.as_millis() as i64).to_rfc3339();
    let items: Vec<String> = (0..records)
        .map(|_| {
            let sequence = SEQUENCE.fetch_add(1, Ordering::Relaxed);
            let mut random = [0_u8; 10];
            random[2..].copy_from_slice(&sequence.to_be_bytes());
            let id = RecordId::v7(now.as_millis() as u64, random);
            format!(
                r#"{{"id":"{id}","channel":"sms","recipient":"0532 {:03} {:02} {:02}","recipientType":"individual","status":"granted","consentedAt":"{consented_at}","source":"web","evidence":{{"text":"{text}","textSha256":"{hash}","textVersion":"bench","locale":"tr","pageUrl":"https://shop.example/checkout","formId":"checkout","mode":"checkout","userAgent":"iys-consent bench","sdkVersion":"0.1.0"}}}}"#,
                sequence % 1_000,
                sequence / 1_000 % 100,
                sequence / 100_000 % 100
            )
        })
        .collect();
    format!(r#"{{"records":[{}]}}"#, items.join(","))
}

struct Connection {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Connection {
    fn open(port: u16) -> std::io::Result<Connection> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok(Connection {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
        })
    }

    /// Sends one POST and reads the answer; returns the status.
    fn post(&mut self, port: u16, body: &str) -> std::io::Result<u16> {
        let request = format!(
            "POST /v1/consents HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.writer.write_all(request.as_bytes())?;
        let mut line = String::new();
        self.reader.read_line(&mut line)?;
        let status = line
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or(0);
        let mut length = 0;
        loop {
            line.clear();
            self.reader.read_line(&mut line)?;
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut answer = vec![0; length];
        self.reader.read_exact(&mut answer)?;
        Ok(status)
    }
}

fn merge(parts: Vec<Run>, elapsed: Duration) -> Run {
    let mut run = Run {
        elapsed,
        ..Run::default()
    };
    for part in parts {
        run.ok += part.ok;
        run.failed += part.failed;
        run.records += part.records;
        run.latencies.extend(part.latencies);
    }
    run.latencies.sort_unstable();
    run
}

/// When a connection sends its next request.
enum Next {
    /// No more requests.
    Stop,
    /// At once; latency counts from the send.
    Now,
    /// At this moment; latency counts from it, however late the send.
    At(Instant),
}

/// Sends requests of `records_per_request` records over `connections` keep-alive connections,
/// one thread each, each asking `next` when to send its next request; a connection that fails
/// is reopened, and a thread whose connection cannot be reopened stops.
fn drive(
    port: u16,
    connections: usize,
    records_per_request: usize,
    next: impl Fn() -> Next + Send + Sync + 'static,
) -> Vec<Run> {
    let next = Arc::new(next);
    let threads: Vec<_> = (0..connections)
        .map(|_| {
            let next = next.clone();
            std::thread::spawn(move || {
                let mut part = Run::default();
                let Ok(mut connection) = Connection::open(port) else {
                    part.failed += 1;
                    return part;
                };
                loop {
                    let planned = match next() {
                        Next::Stop => break,
                        Next::Now => None,
                        Next::At(due) => Some(due),
                    };
                    let body = body(records_per_request);
                    let due = match planned {
                        None => Instant::now(),
                        Some(due) => {
                            std::thread::sleep(due.saturating_duration_since(Instant::now()));
                            due
                        }
                    };
                    match connection.post(port, &body) {
                        Ok(200) => {
                            part.ok += 1;
                            part.records += records_per_request as u64;
                            part.latencies
                                .push(Instant::now().saturating_duration_since(due).as_micros()
                                    as u64);
                        }
                        _ => {
                            part.failed += 1;
                            match Connection::open(port) {
                                Ok(fresh) => connection = fresh,
                                Err(_) => break,
                            }
                        }
                    }
                }
                part
            })
        })
        .collect();
    threads
        .into_iter()
        .filter_map(|thread| thread.join().ok())
        .collect()
}

/// Every connection sends as fast as it is answered, for `duration`.
pub fn closed_loop(
    port: u16,
    connections: usize,
    records_per_request: usize,
    duration: Duration,
) -> Run {
    let started = Instant::now();
    let parts = drive(port, connections, records_per_request, move || {
        if started.elapsed() < duration {
            Next::Now
        } else {
            Next::Stop
        }
    });
    merge(parts, started.elapsed())
}

/// Requests due at a fixed `rate` per second for `duration`, spread over `connections`.
pub fn open_loop(
    port: u16,
    connections: usize,
    rate: u64,
    records_per_request: usize,
    duration: Duration,
) -> Run {
    let total = rate * duration.as_secs();
    let interval = Duration::from_nanos(1_000_000_000 / rate);
    let start = Instant::now() + Duration::from_millis(100);
    let issued = AtomicU64::new(0);
    let parts = drive(port, connections, records_per_request, move || {
        let index = issued.fetch_add(1, Ordering::Relaxed);
        if index < total {
            Next::At(start + interval * index as u32)
        } else {
            Next::Stop
        }
    });
    merge(parts, start.elapsed())
}

/// Sends exactly `requests` requests of `records_per_request` records over `connections`
/// connections, as fast as they are answered.
pub fn send_count(port: u16, connections: usize, requests: u64, records_per_request: usize) -> Run {
    let started = Instant::now();
    let issued = AtomicU64::new(0);
    let parts = drive(port, connections, records_per_request, move || {
        if issued.fetch_add(1, Ordering::Relaxed) < requests {
            Next::Now
        } else {
            Next::Stop
        }
    });
    merge(parts, started.elapsed())
}
