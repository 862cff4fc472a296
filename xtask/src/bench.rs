//! `cargo xtask bench`: measures the relay, the forwarder and the widget, and writes `bench/RESULTS.md`.
//!
//! The relay runs as its release binary on a fresh SQLite file with durable commits (WAL,
//! `synchronous = FULL`) and its default logging, and the load comes from `loadgen` over
//! loopback on the same two cores, so the figures are a floor for a real server.

use std::fmt::Write as _;
use std::io::Write as _;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::loadgen;
use crate::process;
use crate::root;

/// Records stored per second the relay must sustain.
const TARGET_RECORDS_PER_SECOND: f64 = 5_000.0;
/// The p99 latency the relay must keep at 1,000 requests per second, in milliseconds.
const TARGET_P99_MS: f64 = 25.0;
/// The resident memory the relay must stay under, in MiB.
const TARGET_MEMORY_MIB: f64 = 64.0;

/// What the report says when the ingest targets are missed.
const INGEST_GAP: &str = "What meeting the ingest targets takes: the relay and the load generator share this machine's two cores, so these figures move with the machine's load from run to run; a miss here does not by itself show what the relay sustains alone, and running the load from other cores would measure that. A profile (perf) of the relay under the closed loop finds the cores idle about 40 % of the time: the single writer waits for each durable commit, and the commit that takes SQLite's log past 1,000 pages also copies the log into the database file and waits for that too. That copy sets the p99: measured with this load, copying every 256 pages brings p99 to about 23 ms but stores about 17 % fewer records a second, and copying from a task of its own brings it to about 15 ms but lets the log grow without bound while the load lasts (about 1 GB in 22 s). A p99 under 25 ms with the throughput kept takes commits that wait less for the disk, which has not been tried here.";

struct Relay {
    child: Child,
    port: u16,
    database_url: String,
    data_key: String,
}

impl Relay {
    fn start(folder: &std::path::Path) -> Result<Relay, String> {
        Relay::start_with(folder, None, &[])
    }

    /// Starts the release relay on `folder`'s database with `data_key` (a new one when `None`)
    /// and extra settings.
    fn start_with(
        folder: &std::path::Path,
        data_key: Option<&str>,
        extra: &[(&str, String)],
    ) -> Result<Relay, String> {
        let binary = root().join("target/release/iys-relay");
        let data_key = match data_key {
            Some(key) => key.to_owned(),
            None => {
                use std::io::Read;
                let mut key = [0_u8; 32];
                std::fs::File::open("/dev/urandom")
                    .and_then(|mut random| random.read_exact(&mut key))
                    .map_err(|error| error.to_string())?;
                base64(&key)
            }
        };
        let database_url = format!("sqlite://{}", folder.join("relay.db").display());
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(folder.join("relay.log"))
            .map_err(|error| error.to_string())?;
        let mut child = Command::new(binary)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .envs(extra.iter().map(|(name, value)| (*name, value.as_str())))
            .env("DATABASE_URL", &database_url)
            .env("RELAY_DATA_KEY", &data_key)
            .env("RELAY_RATE_LIMIT_PER_MINUTE", "100000000")
            // The load generator's records carry a text of their own.
            .env("RELAY_ACCEPT_UNREGISTERED_TEXTS", "true")
            .env("RELAY_METRICS_TOKEN", METRICS_TOKEN)
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(|error| format!("starting the relay: {error}"))?;
        let stdout = child.stdout.take().ok_or("no relay stdout")?;
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|error| error.to_string())?;
        let port = line
            .trim()
            .rsplit(':')
            .next()
            .and_then(|port| port.parse().ok())
            .ok_or_else(|| format!("the relay did not say where it listens: {line:?}"))?;
        Ok(Relay {
            child,
            port,
            database_url,
            data_key,
        })
    }

    /// Peak and current resident memory, in MiB, from the kernel's view of the process.
    fn memory_mib(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find(|line| line.starts_with(name))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<f64>().ok())
                .map_or(f64::NAN, |kib| kib / 1_024.0)
        };
        (field("VmHWM:"), field("VmRSS:"))
    }

    fn stop(mut self) {
        let _ = process::stop(&mut self.child, "TERM", Duration::from_secs(30));
    }
}

pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut text = String::new();
    for chunk in bytes.chunks(3) {
        let value = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for (index, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if index <= chunk.len() {
                text.push(char::from(ALPHABET[(value >> shift & 63) as usize]));
            } else {
                text.push('=');
            }
        }
    }
    text
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split(':').nth(1))
                .map(|name| name.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .next()
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1_048_576.0);
    let rustc = Command::new("rustc")
        .arg("--version")
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{cores} cores ({cpu}), {memory:.0} GiB memory, Linux {}, {rustc}",
        kernel.trim()
    )
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "NOT met" }
}

pub fn run(arguments: &[String]) -> Result<(), String> {
    let (seconds, backlog) = match arguments {
        [] => (15, 100_000),
        [flag] if flag == "--quick" => (3, 5_000),
        _ => return Err("usage: cargo xtask bench [--quick]".to_owned()),
    };
    let root = root();
    process::run(
        Command::new("cargo")
            .args(["build", "--release", "--locked", "--package", "iys-relay"])
            .current_dir(&root),
    )?;
    let folder = root
        .join("target")
        .join("bench")
        .join(format!("relay-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).map_err(|error| error.to_string())?;
    let relay = Relay::start(&folder)?;
    let port = relay.port;
    let duration = Duration::from_secs(seconds);
    eprintln!("xtask: warming up the relay on 127.0.0.1:{port}");
    let warm_up = loadgen::closed_loop(port, 8, 4, Duration::from_secs(2));
    eprintln!("xtask: throughput, closed loop, 32 connections, 8 records per request, {seconds} s");
    let throughput = loadgen::closed_loop(port, 32, 8, duration);
    eprintln!("xtask: latency, 1,000 requests per second of 2 records, {seconds} s");
    let latency = loadgen::open_loop(port, 64, 1_000, 2, duration);
    let (peak_mib, current_mib) = relay.memory_mib();
    let database_url = relay.database_url.clone();
    let data_key = relay.data_key.clone();
    relay.stop();
    let verify = Command::new(root.join("target/release/iys-relay"))
        .arg("verify")
        .env("DATABASE_URL", &database_url)
        .env("RELAY_DATA_KEY", &data_key)
        .env("RELAY_LOG", "warn")
        .output()
        .map_err(|error| error.to_string())?;
    let verify = String::from_utf8_lossy(&verify.stdout).trim().to_owned();
    let acknowledged = warm_up.records + throughput.records + latency.records;

    let records_per_second = throughput.records as f64 / throughput.elapsed.as_secs_f64();
    let achieved_rate = latency.ok as f64 / latency.elapsed.as_secs_f64();
    let p99 = latency.quantile_ms(0.99);
    let mut report = String::new();
    let _ = writeln!(report, "# Benchmark results\n");
    let _ = writeln!(report, "Made by `cargo xtask bench` on {}.", today());
    let _ = writeln!(report, "Machine: {}.\n", machine());
    let _ = writeln!(report, "## Relay ingest (`POST /v1/consents`)\n");
    let _ = writeln!(
        report,
        "The release binary on a fresh SQLite file (WAL, `synchronous = FULL`, so every acknowledged record is on disk), default logging, load from `xtask/src/loadgen.rs` over loopback on the same cores."
    );
    let _ = writeln!(
        report,
        "Each record is a full v1 record with evidence; the relay validates it, seals the address and evidence, and appends it to the ledger.\n"
    );
    let _ = writeln!(report, "| measure | target | result | |");
    let _ = writeln!(report, "|---|---|---|---|");
    let _ = writeln!(
        report,
        "| records stored per second, closed loop, 32 connections, 8 records per request, {seconds} s | at least {TARGET_RECORDS_PER_SECOND:.0} | {records_per_second:.0} | {} |",
        verdict(records_per_second >= TARGET_RECORDS_PER_SECOND)
    );
    let _ = writeln!(
        report,
        "| p99 latency at 1,000 requests per second (2 records each), open loop, from the moment each request was due | under {TARGET_P99_MS:.0} ms | {p99:.1} ms | {} |",
        verdict(p99 < TARGET_P99_MS && achieved_rate >= 950.0)
    );
    let _ = writeln!(
        report,
        "| peak resident memory of the relay over the whole run | under {TARGET_MEMORY_MIB:.0} MiB | {peak_mib:.1} MiB | {} |",
        verdict(peak_mib < TARGET_MEMORY_MIB)
    );
    let _ = writeln!(report);
    let _ = writeln!(
        report,
        "Latency at 1,000 requests per second: p50 {:.1} ms, p90 {:.1} ms, p99 {p99:.1} ms, max {:.1} ms; {:.0} requests per second achieved, {} answered 200, {} failed.",
        latency.quantile_ms(0.5),
        latency.quantile_ms(0.9),
        latency.quantile_ms(1.0),
        achieved_rate,
        latency.ok,
        latency.failed
    );
    let _ = writeln!(
        report,
        "Throughput run: {} requests answered 200, {} failed; latency p50 {:.1} ms, p99 {:.1} ms under full load.",
        throughput.ok,
        throughput.failed,
        throughput.quantile_ms(0.5),
        throughput.quantile_ms(0.99)
    );
    let _ = writeln!(report, "Resident memory at the end: {current_mib:.1} MiB.");
    if records_per_second < TARGET_RECORDS_PER_SECOND || p99 >= TARGET_P99_MS {
        let _ = writeln!(report, "{INGEST_GAP}");
    }
    let _ = writeln!(
        report,
        "Records acknowledged over the whole run, warm-up included: {acknowledged}; `iys-relay verify` afterwards: \"{verify}\"."
    );
    let _ = writeln!(report);
    report.push_str(&forwarder_section(&folder, backlog)?);
    let _ = writeln!(report);
    report.push_str(&import_section(
        &folder,
        if seconds < 15 {
            [10_000, 50_000]
        } else {
            [100_000, 1_000_000]
        },
    )?);
    let _ = writeln!(report);
    report.push_str(&widget_section(&folder)?);
    let _ = writeln!(report);
    report.push_str(&peers_section(if seconds < 15 { 3 } else { 15 })?);
    let results = root.join("bench");
    std::fs::create_dir_all(&results).map_err(|error| error.to_string())?;
    std::fs::write(results.join("RESULTS.md"), &report).map_err(|error| error.to_string())?;
    let _ = std::fs::remove_dir_all(&folder);
    print!("{report}");
    Ok(())
}

/// A running İYS sandbox (release build).
struct SandboxProcess {
    child: Child,
    url: String,
}

impl SandboxProcess {
    fn start(folder: &std::path::Path) -> Result<SandboxProcess, String> {
        let log =
            std::fs::File::create(folder.join("sandbox.log")).map_err(|error| error.to_string())?;
        let mut child = Command::new(root().join("target/release/iys-relay"))
            .args([
                "sandbox",
                "--listen",
                "127.0.0.1:0",
                "--batch-delay-seconds",
                "1",
            ])
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(|error| format!("starting the sandbox: {error}"))?;
        let mut line = String::new();
        if let Some(stdout) = child.stdout.take() {
            BufReader::new(stdout)
                .read_line(&mut line)
                .map_err(|error| error.to_string())?;
        }
        let url = line
            .trim()
            .rsplit(' ')
            .next()
            .unwrap_or_default()
            .to_owned();
        if !url.starts_with("http://127.0.0.1:") {
            return Err(format!("the sandbox did not start: {line:?}"));
        }
        Ok(SandboxProcess { child, url })
    }

    fn get(&self, path: &str) -> Result<serde_json::Value, String> {
        let address = self.url.trim_start_matches("http://");
        let mut stream =
            std::net::TcpStream::connect(address).map_err(|error| error.to_string())?;
        use std::io::{Read, Write};
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
        )
        .map_err(|error| error.to_string())?;
        let mut answer = String::new();
        stream
            .read_to_string(&mut answer)
            .map_err(|error| error.to_string())?;
        let body = answer.split_once("\r\n\r\n").map_or("", |(_, body)| body);
        serde_json::from_str(body).map_err(|error| format!("sandbox answer: {error}"))
    }

    fn stop(mut self) {
        let _ = process::stop(&mut self.child, "TERM", Duration::from_secs(30));
    }
}

/// The token the benchmark's relay asks for on `/metrics`.
const METRICS_TOKEN: &str = "benchmark-metrics-token";

/// The relay's `/metrics` figure for records in `state`.
fn accepted(port: u16) -> u64 {
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return 0;
    };
    use std::io::{Read, Write};
    let _ = write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {METRICS_TOKEN}\r\nConnection: close\r\n\r\n"
    );
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
        .lines()
        .find(|line| line.starts_with("iys_relay_records{state=\"accepted\"}"))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|count| count.parse().ok())
        .unwrap_or(0)
}

fn iys_settings(sandbox: &SandboxProcess, batch_threshold: u64) -> Vec<(&'static str, String)> {
    vec![
        ("IYS_BASE_URL", sandbox.url.clone()),
        ("IYS_USERNAME", "sandbox".to_owned()),
        ("IYS_PASSWORD", "sandbox".to_owned()),
        ("IYS_CODE", "700001".to_owned()),
        ("IYS_BRAND_CODE", "700001".to_owned()),
        ("IYS_REQUESTS_PER_SECOND", "8".to_owned()),
        ("IYS_BATCH_THRESHOLD", batch_threshold.to_string()),
        ("IYS_BATCH_POLL_SECONDS", "1".to_owned()),
        ("RELAY_LOG", "warn".to_owned()),
    ]
}

/// Waits until the relay reports `target` records accepted by İYS; returns the time it took.
fn until_accepted(port: u16, target: u64, limit: Duration) -> Result<Duration, String> {
    let started = std::time::Instant::now();
    loop {
        if accepted(port) >= target {
            return Ok(started.elapsed());
        }
        if started.elapsed() > limit {
            return Err(format!(
                "only {} of {target} accepted after {limit:?}",
                accepted(port)
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Measures forwarding to the sandbox: the sustained single-add rate, and draining a backlog
/// through batch add. Returns the report's section.
fn forwarder_section(folder: &std::path::Path, backlog: u64) -> Result<String, String> {
    let mut report = String::new();
    // The sustained rate: 480 records through single add V2 at 8 requests a second.
    let rate_folder = folder.join("rate");
    std::fs::create_dir_all(&rate_folder).map_err(|error| error.to_string())?;
    let sandbox = SandboxProcess::start(&rate_folder)?;
    let relay = Relay::start_with(&rate_folder, None, &iys_settings(&sandbox, 1_000_000_000))?;
    let count = 480;
    eprintln!("xtask: forwarding {count} records one by one at 8 per second");
    let sent = loadgen::send_count(relay.port, 8, count, 1);
    let took = until_accepted(relay.port, count, Duration::from_secs(180))?;
    let rate = count as f64 / took.as_secs_f64();
    let log = sandbox.get("/sandbox/log")?;
    let limited = log["rateLimited"].as_u64().unwrap_or(u64::MAX);
    relay.stop();
    sandbox.stop();
    let _ = writeln!(report, "## Forwarding to İYS (the relay's sandbox)\n");
    let _ = writeln!(report, "| measure | target | result | |");
    let _ = writeln!(report, "|---|---|---|---|");
    let _ = writeln!(
        report,
        "| sustained single-add rate with the budget at 8 per second | at least 95 % of 8 (7.6 per second) | {rate:.2} per second ({:.0} %), {count} records in {:.1} s | {} |",
        rate / 8.0 * 100.0,
        took.as_secs_f64(),
        verdict(rate >= 7.6)
    );
    let _ = writeln!(
        report,
        "| answers 429 from İYS's 10 per second limit during that run | 0 | {limited} | {} |",
        verdict(limited == 0)
    );

    // The backlog: records stored while İYS was out of reach, then drained through batch add.
    let backlog_folder = folder.join("backlog");
    std::fs::create_dir_all(&backlog_folder).map_err(|error| error.to_string())?;
    let offline = Relay::start_with(&backlog_folder, None, &[])?;
    eprintln!("xtask: storing a backlog of {backlog} records with forwarding off");
    let stored = loadgen::send_count(offline.port, 8, backlog / 16, 16);
    let data_key = offline.data_key.clone();
    offline.stop();
    let sandbox = SandboxProcess::start(&backlog_folder)?;
    let relay = Relay::start_with(
        &backlog_folder,
        Some(&data_key),
        &iys_settings(&sandbox, 100),
    )?;
    eprintln!("xtask: draining the backlog through batch add");
    let drained = until_accepted(relay.port, stored.records, Duration::from_secs(900))?;
    let log = sandbox.get("/sandbox/log")?;
    let batches = log["batches"].as_u64().unwrap_or(u64::MAX);
    let limited = log["rateLimited"].as_u64().unwrap_or(u64::MAX);
    relay.stop();
    sandbox.stop();
    let allowed = stored.records.div_ceil(1_000);
    let _ = writeln!(
        report,
        "| batch requests to drain a backlog of {} records | at most {allowed} | {batches}, drained in {:.0} s, {limited} answers 429 | {} |",
        stored.records,
        drained.as_secs_f64(),
        verdict(batches <= allowed && limited == 0)
    );
    let _ = writeln!(
        report,
        "\nThe rate run stored its {count} records in {:.1} s ({} answered 200) while the forwarder was already sending; the backlog was stored with forwarding off ({} records answered 200), then a relay with forwarding on drained it.",
        sent.elapsed.as_secs_f64(),
        sent.ok,
        stored.records
    );
    Ok(report)
}

/// Measures the widget's main-thread time per submit against the demo stack.
/// `iys-relay import` of generated files of two sizes into fresh SQLite files: rows per second,
/// and peak memory, which must not grow with the file.
fn import_section(folder: &std::path::Path, sizes: [u64; 2]) -> Result<String, String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as i64);
    let date = consent_core::IysDateTime::from_instant(consent_core::Timestamp::from_unix_millis(
        now - 3_600_000,
    ))
    .to_string();
    let mut results = Vec::new();
    for rows in sizes {
        eprintln!("xtask: importing a file of {rows} rows");
        let file = folder.join(format!("import-{rows}.csv"));
        {
            let mut out = std::io::BufWriter::new(
                std::fs::File::create(&file).map_err(|error| error.to_string())?,
            );
            writeln!(
                out,
                "recipient,recipientType,type,status,consentDate,source"
            )
            .map_err(|error| error.to_string())?;
            for row in 0..rows {
                // Distinct mobile numbers and e-mail addresses, half of each.
                let line = if row % 2 == 0 {
                    format!("0532{:07},BIREYSEL,MESAJ,ONAY,{date},HS_WEB", row / 2)
                } else {
                    format!("kisi{row}@example.com,BIREYSEL,EPOSTA,ONAY,{date},HS_WEB")
                };
                writeln!(out, "{line}").map_err(|error| error.to_string())?;
            }
        }
        let database = folder.join(format!("import-{rows}.db"));
        let started = Instant::now();
        let output = Command::new(root().join("target/release/iys-relay"))
            .args(["import", "--registered"])
            .arg(&file)
            .env("DATABASE_URL", format!("sqlite://{}", database.display()))
            .env("RELAY_DATA_KEY", base64(&[9; 32]))
            .env("RELAY_LOG", "warn")
            .output()
            .map_err(|error| error.to_string())?;
        let elapsed = started.elapsed().as_secs_f64();
        let said = String::from_utf8_lossy(&output.stdout).into_owned();
        if !output.status.success() {
            return Err(format!("the import failed: {said}"));
        }
        let peak_kib: u64 = said
            .rsplit("peak memory ")
            .next()
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|number| number.parse().ok())
            .ok_or_else(|| format!("no peak memory in the import's summary: {said}"))?;
        let imported = said.starts_with(&format!("imported {rows},"));
        results.push((rows, elapsed, peak_kib, imported));
        let _ = std::fs::remove_file(&file);
    }
    let mut section = String::new();
    let _ = writeln!(
        section,
        "## Import (`iys-relay import`)
"
    );
    let _ = writeln!(
        section,
        "Generated files of mobile numbers and e-mail addresses in İYS's columns, imported with `--registered` into a fresh SQLite file by the release binary: each row checked, sealed, and chained in the ledger.\n"
    );
    let _ = writeln!(
        section,
        "| rows | seconds | rows per second | peak memory | all imported |"
    );
    let _ = writeln!(section, "|---|---|---|---|---|");
    for (rows, elapsed, peak_kib, imported) in &results {
        let _ = writeln!(
            section,
            "| {rows} | {elapsed:.1} | {:.0} | {:.1} MiB | {} |",
            *rows as f64 / elapsed.max(0.001),
            *peak_kib as f64 / 1024.0,
            if *imported { "yes" } else { "no" }
        );
    }
    let bounded = results[1].2 as f64 <= results[0].2 as f64 * 1.5;
    let _ = writeln!(
        section,
        "\nPeak memory for the larger file is within 1.5 times the smaller one's (the file streams through): {}.",
        verdict(bounded)
    );
    Ok(section)
}

fn widget_section(folder: &std::path::Path) -> Result<String, String> {
    crate::demo::build_all()?;
    let stack = crate::demo::Stack::start(&folder.join("widget"), 0)?;
    let output = Command::new("node")
        .arg(root().join("bench/widget.mjs"))
        .env("IYS_BENCH_ORIGIN", &stack.origin)
        .output()
        .map_err(|error| format!("running bench/widget.mjs: {error}"))?;
    drop(stack);
    let text = String::from_utf8_lossy(&output.stdout);
    let figures: serde_json::Value = serde_json::from_str(text.trim()).map_err(|error| {
        format!(
            "bench/widget.mjs: {error}: {text}{}",
            String::from_utf8_lossy(&output.stderr)
        )
    })?;
    let per_submit = figures["mainThreadMsPerSubmit"]
        .as_f64()
        .unwrap_or(f64::NAN);
    let mut report = String::new();
    let _ = writeln!(report, "## Widget: main-thread time per submit\n");
    let rounds: Vec<String> = figures["mainThreadMsPerSubmitRounds"]
        .as_array()
        .map(|values| {
            values
                .iter()
                .map(|value| format!("{:.2}", value.as_f64().unwrap_or(f64::NAN)))
                .collect()
        })
        .unwrap_or_default();
    let _ = writeln!(
        report,
        "Headless Chromium, the release package, a headless widget recording two decisions (SMS and e-mail) per submit to the demo's relay over loopback; Chrome's `TaskDuration` across {} rounds of {} submits after a warm-up, each less the same number of empty round trips through the debugging protocol ({:.2} ms each), so building the records, writing them to storage, sending and handling the answer all count. The result is the median round; the rounds were {} ms.\n",
        figures["rounds"],
        figures["submits"],
        figures["harnessMsPerCall"].as_f64().unwrap_or(f64::NAN),
        rounds.join(", ")
    );
    let _ = writeln!(report, "| measure | target | result | |");
    let _ = writeln!(report, "|---|---|---|---|");
    let _ = writeln!(
        report,
        "| main-thread time per submit (median round) | under 5 ms | {per_submit:.2} ms | {} |",
        verdict(per_submit < 5.0)
    );
    let _ = writeln!(
        report,
        "| synchronous part of `record()` (median, max) | | {:.2} ms, {:.2} ms | |",
        figures["synchronousMedianMs"].as_f64().unwrap_or(f64::NAN),
        figures["synchronousMaxMs"].as_f64().unwrap_or(f64::NAN)
    );
    let _ = writeln!(
        report,
        "\n{} of {} submits were stored by the relay; the requests left from the {}.",
        figures["sent"],
        figures["total"],
        match figures["sentFrom"].as_str() {
            Some("worker") => "package's sending worker",
            _ => "page itself (the sending worker did not start)",
        }
    );
    report.push_str(&size_section()?);
    Ok(report)
}

/// The widget against vanilla-cookieconsent, cookieconsent and klaro and a plain-DOM floor, at
/// normal and 4× CPU: `bench/peers.mjs` writes the section.
fn peers_section(loads: u32) -> Result<String, String> {
    eprintln!("xtask: the widget against its peers, {loads} loads per page and CPU speed");
    let output = Command::new("node")
        .arg(root().join("bench/peers.mjs"))
        .env("IYS_BENCH_LOADS", loads.to_string())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|error| format!("running bench/peers.mjs: {error}"))?;
    if !output.status.success() {
        return Err(format!("bench/peers.mjs failed: {}", output.status));
    }
    String::from_utf8(output.stdout).map_err(|error| error.to_string())
}

/// The package's size as a page downloads it: the wasm, the JS and the CSS under `pkg/`, and
/// where the wasm's bytes go; the stable build's size beside it.
fn size_section() -> Result<String, String> {
    const TARGET_BROTLI: u64 = 70 * 1024;
    const MILESTONE_BROTLI: u64 = 60 * 1024;
    let (raw, gzip, brotli) = crate::package::sizes(&root().join("pkg"))?;
    let met = brotli <= TARGET_BROTLI;
    crate::dist::report_stable()?;
    let (_, _, stable_brotli) = crate::package::sizes(&root().join("target").join("stable-pkg"))?;
    let mut report = String::new();
    let _ = writeln!(report, "\n## Widget: package size\n");
    let _ = writeln!(
        report,
        "Every `.wasm`, `.js` and `.css` file of `pkg/` as `cargo xtask dist` builds it (the pinned nightly `{}` with the standard library rebuilt for size and immediate-abort panics, wasm-opt -Oz with whole-module flow analysis, the scripts and styles minified), compressed one by one: gzip level 9 and brotli quality 11. The test command enforces the budget in `npm/size-budget.json`. The same package built with the stable toolchain (`cargo xtask dist --stable`) is {stable_brotli} bytes brotli.\n",
        crate::setup::SHIPPED_TOOLCHAIN
    );
    let _ = writeln!(report, "| measure | target | result | |");
    let _ = writeln!(report, "|---|---|---|---|");
    let _ = writeln!(report, "| raw | | {raw} bytes | |");
    let _ = writeln!(report, "| gzip | | {gzip} bytes | |");
    let _ = writeln!(
        report,
        "| brotli | at most 70 KB ({TARGET_BROTLI} bytes) | {brotli} bytes | {} |",
        verdict(met)
    );
    let _ = writeln!(
        report,
        "| brotli, the next milestone | at most 60 KB ({MILESTONE_BROTLI} bytes) | {brotli} bytes | {} |",
        verdict(brotli <= MILESTONE_BROTLI)
    );
    let folder = root().join("target").join("bench").join("named");
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).map_err(|error| error.to_string())?;
    let named = crate::dist::named_wasm(&folder)?;
    let table = process::output(
        Command::new("node")
            .arg(root().join("bench/wasm-size.mjs"))
            .arg(&named)
            .args(["--functions", "30"]),
    )?;
    let _ = writeln!(
        report,
        "\nWhere the wasm's bytes go, before compression: the shipped module rebuilt with its function names kept, each function counted under the first path in its name (generic code counts under the crate that defines it, whatever types it was made for; what wasm-opt inlined counts under the function it went into), and the largest functions.\n"
    );
    report.push_str(&table);
    let _ = writeln!(
        report,
        "\nWhat the targets take. The steps that brought the package from 109.3 KB to under 70 KB were each a commit with its measured saving: the nightly build with immediate-abort panics (10.7 KB), every function offered for inlining across crates (8.2 KB), one component instead of four (3.8 KB), one owner for the state (1.8 KB), the view's elements built through one function over Yew's own constructors instead of `html!` (2.6 KB with the listener and attribute forms that followed), talc instead of dlmalloc (1.6 KB), no panic hook in the shipped build (1.6 KB), the relay judging lateness (1.3 KB), errors made as JS objects (1.1 KB), the page's callbacks, the DOM listeners and the storage reads kept by the bindings' JavaScript (0.5 KB), and smaller steps of under 0.4 KB each. Short names for the closure shims the wasm exports, as for its imports, took 0.3 KB more. One more step was measured and left in reserve: wasm-opt's `--flatten --rereloop` before `-Oz` (about 0.2 KB; only the end-to-end tests run the wasm-opt output, and its effect on speed is not measured). The next milestone, 60 KB, is {} bytes away, {} % of the package. Yew's own code (its virtual DOM, scheduler and event registry, with the hash maps and B-trees they use) is about 30 % of the wasm's code (the table above) and does not shrink with the widget; the rest is the widget's outbox (leases, locks, retries, the stored format), its options' reader, its four modes' view and its records (SHA-256, the address rules). 60 KB would take about a third of that gone without losing what it does: the outbox's bookkeeping of leases and outcomes moved into the JavaScript it already calls, and the options read by the custom element's JavaScript, are the candidates; each moves checked Rust into untyped JavaScript, so each needs its own tests first.",
        brotli.saturating_sub(MILESTONE_BROTLI),
        brotli.saturating_sub(MILESTONE_BROTLI) * 100 / brotli.max(1)
    );
    Ok(report)
}

fn today() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as i64);
    consent_core::Timestamp::from_unix_millis(now).to_rfc3339()[..10].to_owned()
}
