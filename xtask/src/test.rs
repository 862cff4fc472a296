//! `cargo xtask test`: installs what is missing, then runs every check and every test.
//!
//! Steps run in order and all of them run even when one fails, so one run shows every problem.
//! The output ends with a summary table and one `N passed, M failed` line, where each check
//! (fmt, clippy, docs) counts as one test and each test runner adds the tests it ran.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::postgres::PostgresServer;
use crate::process::{self, Counts};
use crate::root;
use crate::setup::{self, CHROMEDRIVER, Needs, WASM_TARGET};
use crate::{demo, dist, faultserver, fuzz, package, standalone};

/// How long the smoke runs each fuzz target; `cargo xtask fuzz` runs them for minutes.
const FUZZ_SMOKE_SECONDS: u32 = 20;

/// What a step is.
enum Kind {
    /// Checks that pass or fail as a whole, run one after the other.
    Check(Vec<Command>),
    /// A test runner whose summary lines are counted.
    Tests(Command),
    /// The npm package: built, its types diffed with the golden copy, its size checked.
    Package,
    /// The end-to-end tests: the demo shop and relay started, node's test runner driving
    /// Chromium through playwright-core.
    EndToEnd,
    /// No tracked file refers to anything beside the repository.
    StandsAlone,
    /// `cargo xtask demo` started as a user would, then sent SIGTERM: its relay and İYS sandbox
    /// must stop with it.
    DemoStops,
    /// Every fuzz target, run briefly from its seeds.
    FuzzSmoke,
}

struct Step {
    name: &'static str,
    kind: Kind,
}

fn cargo(arguments: &[&str]) -> Command {
    let mut command = Command::new("cargo");
    command.args(arguments).current_dir(root());
    command
}

fn steps(postgres_url: &str, fault_server: &str) -> Vec<Step> {
    let mut docs = cargo(&["doc", "--workspace", "--no-deps", "--locked"]);
    docs.env("RUSTDOCFLAGS", "-D warnings");
    let mut browser = cargo(&[
        "test",
        "--locked",
        "--package",
        "iys-consent",
        "--target",
        WASM_TARGET,
        "--test",
        "browser",
    ]);
    browser.env("CHROMEDRIVER", CHROMEDRIVER);
    // The runner gives the whole suite 20 s by default, which a slow moment of a shared machine
    // can exceed; each test bounds its own waits.
    browser.env("WASM_BINDGEN_TEST_TIMEOUT", "600");
    // Read at compile time by the delivery tests, which run in the browser.
    browser.env("IYS_FAULT_SERVER", fault_server);
    // The same tests compiled as the shipped package is: the pinned nightly, the standard
    // library rebuilt for size, panics aborting at once, the wasm-release profile.
    let mut shipped_browser = dist::shipped_browser_tests();
    shipped_browser
        .env("CHROMEDRIVER", CHROMEDRIVER)
        .env("WASM_BINDGEN_TEST_TIMEOUT", "600")
        .env("IYS_FAULT_SERVER", fault_server);
    vec![
        Step {
            name: "stands alone",
            kind: Kind::StandsAlone,
        },
        Step {
            name: "rustfmt",
            kind: Kind::Check(vec![cargo(&["fmt", "--all", "--", "--check"])]),
        },
        Step {
            name: "clippy (host)",
            kind: Kind::Check(vec![cargo(&[
                "clippy",
                "--workspace",
                "--all-targets",
                "--locked",
                "--",
                "-D",
                "warnings",
            ])]),
        },
        Step {
            name: "clippy (wasm32)",
            // consent-core's test-only dependencies are host tools, so only its library is
            // checked for wasm32; the widget is checked with its browser tests.
            kind: Kind::Check(vec![
                cargo(&[
                    "clippy",
                    "--package",
                    "iys-consent",
                    "--target",
                    WASM_TARGET,
                    "--all-targets",
                    "--locked",
                    "--",
                    "-D",
                    "warnings",
                ]),
                cargo(&[
                    "clippy",
                    "--package",
                    "consent-core",
                    "--lib",
                    "--target",
                    WASM_TARGET,
                    "--locked",
                    "--",
                    "-D",
                    "warnings",
                ]),
            ]),
        },
        Step {
            name: "rustdoc",
            kind: Kind::Check(vec![docs]),
        },
        Step {
            name: "native tests",
            // The ignored tests are those that need Postgres, which the server started above
            // serves, or aiosmtpd, which the setup installed.
            kind: Kind::Tests({
                let mut command =
                    cargo(&["test", "--workspace", "--locked", "--", "--include-ignored"]);
                command.env("IYS_TEST_POSTGRES_URL", postgres_url);
                command.env("IYS_TEST_SMTP_PYTHON", setup::smtp_python());
                command
            }),
        },
        Step {
            name: "fuzz smoke",
            kind: Kind::FuzzSmoke,
        },
        Step {
            name: "browser tests",
            kind: Kind::Tests(browser),
        },
        Step {
            name: "browser (shipped)",
            kind: Kind::Tests(shipped_browser),
        },
        Step {
            name: "npm package",
            kind: Kind::Package,
        },
        Step {
            name: "end-to-end tests",
            kind: Kind::EndToEnd,
        },
        Step {
            name: "demo stops",
            kind: Kind::DemoStops,
        },
    ]
}

pub fn run(arguments: &[String]) -> Result<(), String> {
    if let Some(unknown) = arguments.first() {
        return Err(format!("test takes no arguments, found `{unknown}`"));
    }
    setup::ensure(Needs {
        wasm: true,
        browser: true,
        postgres: true,
        npm: true,
        smtp: true,
    })?;
    let postgres = PostgresServer::start()?;
    let fault_server = format!("http://127.0.0.1:{}", faultserver::start()?);
    let mut results = Vec::new();
    let mut total = Counts::default();
    for mut step in steps(&postgres.url, &fault_server) {
        eprintln!("\n== {} ==", step.name);
        let started = Instant::now();
        let (passed, counts) = match &mut step.kind {
            Kind::Check(commands) => {
                let mut passed = true;
                for command in commands {
                    passed &= process::run(command).is_ok();
                }
                single(passed)
            }
            Kind::Package => {
                // The shipped build against its budget, then the stable build's size beside it.
                checked(
                    dist::build()
                        .and_then(|package| package::check(&package, false))
                        .and_then(|()| dist::report_stable()),
                )
            }
            Kind::EndToEnd => tally(end_to_end()),
            Kind::DemoStops => checked(demo_stops_its_servers()),
            Kind::StandsAlone => checked(standalone::check()),
            Kind::FuzzSmoke => tally(fuzz::run_targets(
                &[],
                FUZZ_SMOKE_SECONDS,
                fuzz::Sanitizer::None,
            )),
            Kind::Tests(command) => tally(process::run_tests(command)),
        };
        total.add(counts);
        results.push((step.name, passed, counts, started.elapsed().as_secs_f64()));
    }
    drop(postgres);
    println!("\nsummary:");
    for (name, passed, counts, seconds) in &results {
        let verdict = if *passed { "ok" } else { "FAILED" };
        println!(
            "  {verdict:<6} {name:<16} {:>5} passed {:>3} failed {:>3} ignored {seconds:>7.1}s",
            counts.passed, counts.failed, counts.ignored
        );
    }
    let failed_steps: Vec<&str> = results
        .iter()
        .filter(|(_, passed, _, _)| !passed)
        .map(|(name, _, _, _)| *name)
        .collect();
    println!(
        "tests: {} passed, {} failed, {} skipped",
        total.passed, total.failed, total.ignored
    );
    if failed_steps.is_empty() {
        Ok(())
    } else {
        Err(format!("failed: {}", failed_steps.join(", ")))
    }
}

/// A step that is one check with its outcome: one passed, or one failed with its message shown.
fn checked(outcome: Result<(), String>) -> (bool, Counts) {
    if let Err(message) = &outcome {
        eprintln!("xtask: {message}");
    }
    single(outcome.is_ok())
}

/// A step that is one check: one passed or one failed.
fn single(passed: bool) -> (bool, Counts) {
    (
        passed,
        Counts {
            passed: u64::from(passed),
            failed: u64::from(!passed),
            ignored: 0,
        },
    )
}

/// A test runner's outcome. A runner that failed without reporting a failed test, or could not
/// run at all, still counts as one failed test.
fn tally(outcome: Result<(bool, Counts), String>) -> (bool, Counts) {
    match outcome {
        Ok((succeeded, counts)) => {
            let missing = u64::from(!succeeded && counts.failed == 0);
            (
                succeeded,
                Counts {
                    failed: counts.failed + missing,
                    ..counts
                },
            )
        }
        Err(message) => {
            eprintln!("xtask: {message}");
            (
                false,
                Counts {
                    failed: 1,
                    ..Counts::default()
                },
            )
        }
    }
}

/// Starts the demo shop and a relay on a fresh database, and runs the end-to-end tests.
fn end_to_end() -> Result<(bool, Counts), String> {
    process::run(&mut cargo(&["build", "--locked", "--package", "iys-relay"]))?;
    let folder = root()
        .join("target")
        .join(format!("e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&folder);
    let stack = demo::Stack::start(&folder, 0)?;
    let mut node = Command::new("node");
    node.args(["--test", "--test-concurrency=1", "tests/e2e/"])
        .current_dir(root())
        .env("IYS_E2E_ORIGIN", &stack.origin)
        .env("IYS_E2E_SANDBOX", &stack.sandbox_url)
        .env("CHROMIUM", setup::CHROMIUM);
    let outcome = process::run_tests(&mut node);
    drop(stack);
    let _ = std::fs::remove_dir_all(&folder);
    outcome
}

/// Starts `cargo xtask demo` on any free port with a data folder of its own, waits for it to
/// print where its relay, İYS sandbox and mailbox listen, checks each answers, sends the demo SIGTERM, and
/// checks that it exits and that neither server answers any more.
fn demo_stops_its_servers() -> Result<(), String> {
    let program = std::env::current_exe().map_err(|error| error.to_string())?;
    let data = root()
        .join("target")
        .join(format!("demo-stops-{}", std::process::id()));
    let mut command = Command::new(program);
    command
        .args(["demo", "--port", "0", "--data"])
        .arg(&data)
        .current_dir(root())
        .stdout(Stdio::piped());
    eprintln!("$ {}", process::describe(&command));
    let mut demo = command
        .spawn()
        .map_err(|error| format!("starting the demo: {error}"))?;
    let outcome = servers_of(&mut demo).and_then(|servers| {
        for (name, address) in &servers {
            TcpStream::connect_timeout(address, Duration::from_secs(5)).map_err(|error| {
                format!("the demo's {name} at {address} does not answer: {error}")
            })?;
        }
        Ok(servers)
    });
    let exited = process::stop(&mut demo, "TERM", Duration::from_secs(90));
    let _ = std::fs::remove_dir_all(&data);
    let servers = outcome?;
    match exited {
        Some(status) if status.success() => {}
        Some(status) => return Err(format!("the demo exited with {status} on SIGTERM")),
        None => return Err("the demo did not exit within 90 s of SIGTERM".to_owned()),
    }
    for (name, address) in &servers {
        if TcpStream::connect_timeout(address, Duration::from_secs(5)).is_ok() {
            return Err(format!(
                "the demo's {name} at {address} still answers after the demo stopped"
            ));
        }
    }
    eprintln!("xtask: the demo, its relay, its İYS sandbox and its mailbox stopped on SIGTERM");
    Ok(())
}

/// The relay's and the İYS sandbox's addresses, from the lines the demo prints once it runs;
/// its build comes first, so it has ten minutes. Its output is passed on until it ends.
fn servers_of(demo: &mut Child) -> Result<Vec<(&'static str, SocketAddr)>, String> {
    let stdout = demo.stdout.take().ok_or("the demo's output is not piped")?;
    let (lines, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            println!("{line}");
            let _ = lines.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut servers = Vec::new();
    while servers.len() < 3 {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = received.recv_timeout(left).map_err(|_| {
            "the demo did not print where its relay, İYS sandbox and mailbox listen".to_owned()
        })?;
        for (name, prefix) in [
            ("relay", "relay: http://"),
            ("İYS sandbox", "İYS sandbox: http://"),
            ("mailbox", "mailbox: smtp://"),
        ] {
            if let Some(rest) = line.strip_prefix(prefix) {
                let address = rest
                    .split([' ', ';'])
                    .next()
                    .and_then(|address| address.parse().ok())
                    .ok_or_else(|| format!("no address in the demo's line {line:?}"))?;
                servers.push((name, address));
            }
        }
    }
    Ok(servers)
}
