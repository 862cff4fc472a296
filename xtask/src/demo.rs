//! `cargo xtask demo`: builds the widget and the relay, starts the relay on SQLite, and serves
//! the demo shop on 127.0.0.1 with the relay under the shop's own origin.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use crate::serve::{self, Site};
use crate::setup::{self, Needs};
use crate::{dist, process, root};

/// The demo's default port.
const DEFAULT_PORT: u16 = 8080;

/// The signed-in customer of the preference-centre page.
pub const DEMO_PHONE: &str = "0532 123 45 67";
/// The signed-in customer's e-mail address.
pub const DEMO_EMAIL: &str = "musteri@example.com";

/// How long the relay or the sandbox may take to stop after SIGTERM before it is killed: the
/// relay finishes its requests and gives the forwarder up to 20 s.
const STOP_GRACE: Duration = Duration::from_secs(25);

/// A server this program started, stopped when dropped: SIGTERM, then SIGKILL after
/// [`STOP_GRACE`].
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = process::stop(&mut self.0, "TERM", STOP_GRACE);
    }
}

/// The İYS sandbox, the relay, the mailbox and the shop's web server, running. Dropping it stops
/// the relay, then the sandbox and the mailbox.
pub struct Stack {
    // Held to be stopped when the stack is dropped, in this order.
    _relay: Server,
    _sandbox: Server,
    _mailbox: Server,
    /// The İYS sandbox's address, such as `http://127.0.0.1:8788`.
    pub sandbox_url: String,
    /// The mailbox's SMTP server, such as `smtp://127.0.0.1:2525`.
    pub smtp_url: String,
    /// What the import of the sample file of existing consents said.
    pub import_summary: String,
    /// The shop's address, such as `http://127.0.0.1:8080`.
    pub origin: String,
    /// The relay's own address.
    pub relay_address: SocketAddr,
    /// The data folder: the SQLite file and the demo's keys.
    pub folder: PathBuf,
}

impl std::fmt::Debug for Stack {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Stack")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

/// A secret kept in `folder/name`, made from random bytes the first time.
fn secret(folder: &Path, name: &str, bytes: usize) -> Result<String, String> {
    let path = folder.join(name);
    if let Ok(existing) = std::fs::read_to_string(&path) {
        return Ok(existing.trim().to_owned());
    }
    let mut random = vec![0_u8; bytes];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut source| source.read_exact(&mut random))
        .map_err(|error| error.to_string())?;
    let text = crate::bench::base64(&random);
    // A key file is readable by its owner alone.
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(&path)
        .and_then(|mut file| std::io::Write::write_all(&mut file, text.as_bytes()))
        .map_err(|error| format!("writing {}: {error}", path.display()))?;
    Ok(text)
}

fn relay_binary() -> PathBuf {
    root().join("target/debug/iys-relay")
}

/// Reads the two lines the mailbox prints first: its SMTP server's URL and its webhook's.
fn mailbox_addresses(child: &mut Child, log: &Path) -> Result<(String, String), String> {
    let mut lines = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        let mut reader = BufReader::new(stdout);
        for _ in 0..2 {
            let mut line = String::new();
            reader
                .read_line(&mut line)
                .map_err(|error| error.to_string())?;
            lines.push(line.trim().to_owned());
        }
    }
    match lines.as_slice() {
        [smtp, webhook] if smtp.starts_with("smtp://") && webhook.starts_with("http://") => {
            Ok((smtp.clone(), webhook.clone()))
        }
        _ => Err(format!(
            "the mailbox did not start: {lines:?}; see {}",
            log.display()
        )),
    }
}

/// Reads the `... listening on http://ADDR` line a server prints first.
fn listening_address(child: &mut Child, what: &str, log: &Path) -> Result<SocketAddr, String> {
    let mut line = String::new();
    if let Some(stdout) = child.stdout.take() {
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|error| error.to_string())?;
    }
    line.trim()
        .rsplit("//")
        .next()
        .and_then(|address| address.parse().ok())
        .ok_or_else(|| format!("the {what} did not start: {line:?}; see {}", log.display()))
}

impl Stack {
    /// Starts the relay with its data in `folder` and the shop on `port` (0 for any free one).
    /// The package must be built already.
    pub fn start(folder: &Path, port: u16) -> Result<Stack, String> {
        std::fs::create_dir_all(folder).map_err(|error| error.to_string())?;
        let data_key = secret(folder, "data.key", 32)?;
        let token_secret = secret(folder, "state-token.secret", 32)?;
        let api_token = secret(folder, "api.token", 32)?;
        let webhook_secret = secret(folder, "webhook.secret", 32)?;
        // The mailbox: a real SMTP server for e-mail notices and the SMS provider's webhook.
        let mailbox_file = folder.join("mailbox.jsonl");
        let mailbox_log = folder.join("mailbox.log");
        let mut mailbox = Server(
            Command::new(setup::smtp_python())
                .arg(root().join("xtask/mailbox.py"))
                .arg("--out")
                .arg(&mailbox_file)
                .arg("--secret-file")
                .arg(folder.join("webhook.secret"))
                .stdout(Stdio::piped())
                .stderr(std::fs::File::create(&mailbox_log).map_err(|error| error.to_string())?)
                .spawn()
                .map_err(|error| format!("starting the mailbox: {error}"))?,
        );
        let (smtp_url, webhook_url) = mailbox_addresses(&mut mailbox.0, &mailbox_log)?;
        let listener = serve::bind(port)?;
        let port = listener
            .local_addr()
            .map_err(|error| error.to_string())?
            .port();
        let origin = format!("http://127.0.0.1:{port}");
        let database_url = format!("sqlite://{}", folder.join("relay.db").display());
        let environment = |command: &mut Command| {
            command
                .env("DATABASE_URL", &database_url)
                .env("RELAY_DATA_KEY", &data_key)
                .env("RELAY_STATE_TOKEN_SECRET", &token_secret)
                .env("RELAY_ALLOWED_ORIGINS", &origin)
                .env("RELAY_TRUSTED_PROXIES", "127.0.0.1")
                .env("RELAY_PUBLIC_URL", &origin)
                .env("RELAY_BRAND_NAME", "Örnek Mağaza")
                .env("RELAY_API_TOKEN", &api_token)
                .env("RELAY_SMTP_URL", &smtp_url)
                .env(
                    "RELAY_NOTICE_FROM",
                    "Örnek Mağaza <bildirim@ornek-magaza.test>",
                )
                .env("RELAY_NOTICE_WEBHOOK_URL", &webhook_url)
                .env("RELAY_NOTICE_WEBHOOK_SECRET", &webhook_secret)
                .env("RELAY_LOG", "warn");
        };
        // The İYS sandbox: movements made "in İYS" show in pull at once, batches after 5 s.
        let sandbox_log = folder.join("sandbox.log");
        let mut sandbox = Server(
            Command::new(relay_binary())
                .args([
                    "sandbox",
                    "--listen",
                    "127.0.0.1:0",
                    "--pull-lag-seconds",
                    "0",
                ])
                .stdout(Stdio::piped())
                .stderr(std::fs::File::create(&sandbox_log).map_err(|error| error.to_string())?)
                .spawn()
                .map_err(|error| format!("starting the İYS sandbox: {error}"))?,
        );
        let sandbox_url = format!(
            "http://{}",
            listening_address(&mut sandbox.0, "İYS sandbox", &sandbox_log)?
        );
        let relay_log = folder.join("relay.log");
        let mut serve_command = Command::new(relay_binary());
        serve_command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("IYS_BASE_URL", &sandbox_url)
            .env("IYS_USERNAME", "sandbox")
            .env("IYS_PASSWORD", "sandbox")
            .env("IYS_CODE", "700001")
            .env("IYS_BRAND_CODE", "700001")
            .env("IYS_PULL_INTERVAL_SECONDS", "2")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&relay_log).map_err(|error| error.to_string())?);
        environment(&mut serve_command);
        let mut relay = Server(
            serve_command
                .spawn()
                .map_err(|error| format!("starting the relay: {error}"))?,
        );
        let relay_address = listening_address(&mut relay.0, "relay", &relay_log)?;

        // A shop's first day: the consents it held before, imported once from a sample file.
        let sample = folder.join("existing-consents.csv");
        if !sample.exists() {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.as_millis() as i64);
            let date = consent_core::IysDateTime::from_instant(
                consent_core::Timestamp::from_unix_millis(now - 600_000),
            );
            std::fs::write(
                &sample,
                format!(
                    "recipient,recipientType,type,status,consentDate,source,name\n\
                     0533 444 55 66,BIREYSEL,MESAJ,ONAY,{date},HS_FIZIKSEL_ORTAM,Deniz Kaya\n\
                     deniz@example.com,BIREYSEL,EPOSTA,ONAY,{date},HS_ISLAK_IMZA,Deniz Kaya\n\
                     0212 555 66 77,BIREYSEL,MESAJ,ONAY,{date},HS_FIZIKSEL_ORTAM,\n\
                     eski.musteri@example.com,BIREYSEL,EPOSTA,ONAY,2015-05-01 00:00:00,HS_2015,\n"
                ),
            )
            .map_err(|error| error.to_string())?;
        }
        let mut import_command = Command::new(relay_binary());
        import_command.arg("import").arg(&sample);
        environment(&mut import_command);
        let import_summary = process::output(&mut import_command)?
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned();

        let mut token_command = Command::new(relay_binary());
        token_command.args([
            "token",
            "--phone",
            DEMO_PHONE,
            "--email",
            DEMO_EMAIL,
            "--ttl-seconds",
            "604800",
        ]);
        environment(&mut token_command);
        let token = process::output(&mut token_command)?.trim().to_owned();
        // The refusal links the shop would put in its messages to the customer.
        let refusal_link = |arguments: &[&str]| -> Result<String, String> {
            let mut command = Command::new(relay_binary());
            command.arg("refusal-link").args(arguments);
            environment(&mut command);
            Ok(process::output(&mut command)?.trim().to_owned())
        };
        let phone_link = refusal_link(&["--phone", DEMO_PHONE, "--channel", "sms,call"])?;
        let email_link = refusal_link(&["--email", DEMO_EMAIL])?;
        let config = format!(
            "// Made by cargo xtask demo: the signed-in customer, the token the shop's backend signed, and the refusal links its messages carry.\nexport const customer = {{ phone: \"{DEMO_PHONE}\", email: \"{DEMO_EMAIL}\" }};\nexport const stateToken = \"{token}\";\nexport const refusalLinks = {{ phone: \"{phone_link}\", email: \"{email_link}\" }};\n"
        );
        let export_env = (database_url.clone(), data_key.clone());
        let verify_env = export_env.clone();
        let reconcile_env = (database_url.clone(), data_key.clone(), sandbox_url.clone());
        let site = Site {
            mounts: vec![
                ("/pkg/".to_owned(), root().join("pkg")),
                ("/".to_owned(), root().join("www")),
            ],
            generated: vec![
                (
                    "/demo-config.js".to_owned(),
                    Arc::new(move || {
                        (
                            "text/javascript; charset=utf-8",
                            config.clone().into_bytes(),
                        )
                    }) as serve::Generated,
                ),
                (
                    "/operator/records.json".to_owned(),
                    Arc::new(move || {
                        let output = Command::new(relay_binary())
                            .args(["export", "--format", "jsonl"])
                            .env("DATABASE_URL", &export_env.0)
                            .env("RELAY_DATA_KEY", &export_env.1)
                            .env("RELAY_LOG", "error")
                            .output();
                        let lines = output
                            .map(|output| String::from_utf8_lossy(&output.stdout).into_owned())
                            .unwrap_or_default();
                        let array = format!("[{}]", lines.lines().collect::<Vec<_>>().join(","));
                        ("application/json", array.into_bytes())
                    }) as serve::Generated,
                ),
                (
                    "/mailbox/messages.json".to_owned(),
                    Arc::new(move || {
                        let text = std::fs::read_to_string(&mailbox_file).unwrap_or_default();
                        let mut lines: Vec<&str> = text
                            .lines()
                            .filter(|line| !line.trim().is_empty())
                            .collect();
                        lines.reverse();
                        let array = format!("[{}]", lines.join(","));
                        ("application/json", array.into_bytes())
                    }) as serve::Generated,
                ),
                (
                    "/operator/reconciliation.json".to_owned(),
                    Arc::new(move || {
                        let output = Command::new(relay_binary())
                            .arg("reconcile")
                            .env("DATABASE_URL", &reconcile_env.0)
                            .env("RELAY_DATA_KEY", &reconcile_env.1)
                            .env("IYS_BASE_URL", &reconcile_env.2)
                            .env("IYS_USERNAME", "sandbox")
                            .env("IYS_PASSWORD", "sandbox")
                            .env("IYS_CODE", "700001")
                            .env("IYS_BRAND_CODE", "700001")
                            .env("RELAY_LOG", "error")
                            .output();
                        let (agreed, message) = match output {
                            Ok(output) => (
                                output.status.success(),
                                String::from_utf8_lossy(&output.stdout).trim().to_owned(),
                            ),
                            Err(error) => (false, error.to_string()),
                        };
                        let body = serde_json::json!({ "agreed": agreed, "message": message });
                        ("application/json", body.to_string().into_bytes())
                    }) as serve::Generated,
                ),
                (
                    "/operator/verify.json".to_owned(),
                    Arc::new(move || {
                        let output = Command::new(relay_binary())
                            .arg("verify")
                            .env("DATABASE_URL", &verify_env.0)
                            .env("RELAY_DATA_KEY", &verify_env.1)
                            .env("RELAY_LOG", "error")
                            .output();
                        let (intact, message) = match output {
                            Ok(output) => (
                                output.status.success(),
                                String::from_utf8_lossy(&output.stdout).trim().to_owned(),
                            ),
                            Err(error) => (false, error.to_string()),
                        };
                        let body = serde_json::json!({ "intact": intact, "message": message });
                        ("application/json", body.to_string().into_bytes())
                    }) as serve::Generated,
                ),
            ],
            relay: Some(relay_address),
        };
        serve::start(listener, site);
        Ok(Stack {
            _relay: relay,
            _sandbox: sandbox,
            _mailbox: mailbox,
            smtp_url,
            import_summary,
            sandbox_url,
            origin,
            relay_address,
            folder: folder.to_path_buf(),
        })
    }
}

/// Builds the package and the relay.
pub fn build_all() -> Result<PathBuf, String> {
    let package = dist::build()?;
    process::run(
        Command::new("cargo")
            .args(["build", "--locked", "--package", "iys-relay"])
            .current_dir(root()),
    )?;
    Ok(package)
}

pub fn run(arguments: &[String]) -> Result<(), String> {
    const USAGE: &str = "usage: cargo xtask demo [--port N] [--data DIR]";
    let mut port = DEFAULT_PORT;
    let mut data = root().join("target").join("demo");
    let mut rest = arguments.iter();
    while let Some(flag) = rest.next() {
        let value = rest.next().ok_or(USAGE)?;
        match flag.as_str() {
            "--port" => {
                port = value
                    .parse()
                    .map_err(|_| format!("--port expects a port number, found `{value}`"))?;
            }
            "--data" => data = PathBuf::from(value),
            _ => return Err(USAGE.to_owned()),
        }
    }
    setup::ensure(Needs {
        wasm: true,
        npm: true,
        smtp: true,
        ..Needs::default()
    })?;
    build_all()?;
    let stopped = stop_requests()?;
    let stack = Stack::start(&data, port)?;
    let origin = &stack.origin;
    println!("iys-consent demo shop: {origin}/");
    for (page, what) in [
        ("checkout", "the boxes inside the shop's order form"),
        ("newsletter", "a sign-up form of its own"),
        ("preferences", "a signed-in customer's choices"),
        (
            "headless",
            "the page's own buttons, recording through the JS API",
        ),
        ("operator", "what the relay stored, and the ledger check"),
        (
            "mailbox",
            "the same-day notices the relay sent, with their refusal links",
        ),
    ] {
        println!("  {origin}/{page}/  {what}");
    }
    println!(
        "relay: http://{} (also under {origin}/v1/); data in {}",
        stack.relay_address,
        stack.folder.display()
    );
    println!(
        "İYS sandbox: {0}; to refuse \"in İYS\" as a citizen would: curl -X POST {0}/sandbox/citizen -H 'content-type: application/json' -d '{{\"recipient\":\"+905321234567\",\"type\":\"MESAJ\",\"status\":\"RET\"}}'",
        stack.sandbox_url
    );
    println!(
        "mailbox: {} (the notices are at {origin}/mailbox/)",
        stack.smtp_url
    );
    println!(
        "existing consents imported from {}: {}",
        stack.folder.join("existing-consents.csv").display(),
        stack.import_summary
    );
    println!("press Ctrl-C to stop");
    stopped.recv().map_err(|error| error.to_string())?;
    eprintln!("xtask: stopping the relay, the İYS sandbox and the mailbox");
    drop(stack);
    Ok(())
}

/// A channel that receives once the demo is asked to stop: Ctrl-C, or SIGTERM or SIGHUP from
/// whatever started it, so the relay and the sandbox stop with it rather than keep running.
fn stop_requests() -> Result<std::sync::mpsc::Receiver<()>, String> {
    let (sender, receiver) = std::sync::mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = sender.send(());
    })
    .map_err(|error| format!("listening for the signal to stop: {error}"))?;
    Ok(receiver)
}
