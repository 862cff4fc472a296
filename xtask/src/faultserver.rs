//! A relay stand-in for the widget's delivery tests, on 127.0.0.1, that can be told to fail.
//!
//! Each test uses its own scenario, `/s/<name>/...`:
//! - `POST /s/<name>/plan` with a JSON array of what the next requests meet, in order: `ok`,
//!   `500`, `503:<seconds>` (with `Retry-After`), `429:<seconds>`, `422` (a refusal naming no
//!   record), `422:<index>` (a refusal of the record at that index), the setup problems `401`,
//!   `403`, `404`, `405`, `413` and `415`, `garbage` (a page that is not the relay's answer),
//!   `hang` (never answer), `drop` (store, then close without answering), `reset` (close
//!   without reading), `unsaid` (store and answer as a relay that does not say whether a
//!   record is late).
//!   When the plan runs out, requests are answered `ok`.
//! - `POST /s/<name>/v1/consents`: the v1 contract. Records are checked with `consent-core` as
//!   the relay checks them, and deduplicated by id.
//! - `GET /s/<name>/log`: `{ posts: {id: n}, stored: {id: n}, requests: n, bodies: [bytes of
//!   each request's body, in order], records: {id: {channel, status, consentedAt, mode, name}} }`.
//! - `POST /s/<name>/state` sets the answer of `GET /s/<name>/v1/consents/state`, which also
//!   checks the bearer token: `{ token, body }`; like the relay, it refuses a URL with a query.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use consent_core::ConsentRecord;
use consent_core::calendar::registration_deadline;
use consent_core::contract::ConsentBatch;
use serde_json::{Value, json};

#[derive(Default)]
struct Scenario {
    plan: VecDeque<String>,
    posts: HashMap<String, u64>,
    stored: HashMap<String, u64>,
    seen: std::collections::HashSet<String>,
    records: HashMap<String, Value>,
    /// The body size of each request, in order.
    bodies: Vec<usize>,
    state: Option<(String, Value)>,
}

type Scenarios = Arc<Mutex<HashMap<String, Scenario>>>;

/// Starts the server on a free port of 127.0.0.1 and returns the port. It runs until the
/// process ends.
pub fn start() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|error| error.to_string())?;
    let port = listener
        .local_addr()
        .map_err(|error| error.to_string())?
        .port();
    let scenarios: Scenarios = Arc::default();
    thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let scenarios = scenarios.clone();
            thread::spawn(move || {
                let _ = serve_connection(stream, &scenarios);
            });
        }
    });
    Ok(port)
}

/// `cargo xtask fault-server`: runs the server in the foreground, for working on the tests.
pub fn serve_forever() -> Result<(), String> {
    let port = start()?;
    println!("IYS_FAULT_SERVER=http://127.0.0.1:{port}");
    loop {
        std::thread::park();
    }
}

struct Request {
    method: String,
    path: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

fn read_request(reader: &mut BufReader<TcpStream>) -> std::io::Result<Option<Request>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let mut headers = HashMap::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    let length = headers
        .get("content-length")
        .and_then(|value| value.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(Some(Request {
        method,
        path,
        headers,
        body,
    }))
}

fn respond(
    stream: &mut TcpStream,
    status: u16,
    extra: &[(&str, String)],
    body: &Value,
) -> std::io::Result<()> {
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let mut head = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nAccess-Control-Allow-Origin: *\r\nAccess-Control-Expose-Headers: retry-after\r\nCache-Control: no-store\r\n",
        body.len()
    );
    for (name, value) in extra {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.as_bytes())?;
    stream.flush()
}

fn serve_connection(stream: TcpStream, scenarios: &Scenarios) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut stream = stream;
    while let Some(request) = read_request(&mut reader)? {
        let Some(rest) = request.path.strip_prefix("/s/") else {
            respond(&mut stream, 404, &[], &json!({"code": "not_found"}))?;
            continue;
        };
        let (name, route) = rest.split_once('/').unwrap_or((rest, ""));
        let route = route.split('?').next().unwrap_or_default();
        if request.method == "OPTIONS" {
            let allowed = request
                .headers
                .get("access-control-request-headers")
                .cloned()
                .unwrap_or_default();
            respond(
                &mut stream,
                204,
                &[
                    (
                        "Access-Control-Allow-Methods",
                        "GET, POST, OPTIONS".to_owned(),
                    ),
                    ("Access-Control-Allow-Headers", allowed),
                ],
                &Value::Null,
            )?;
            continue;
        }
        match (request.method.as_str(), route) {
            ("POST", "plan") => {
                let plan: Vec<String> = serde_json::from_slice(&request.body).unwrap_or_default();
                scenarios
                    .lock()
                    .map_err(|_| std::io::ErrorKind::Other)?
                    .entry(name.to_owned())
                    .or_default()
                    .plan = plan.into();
                respond(&mut stream, 200, &[], &json!({"ok": true}))?;
            }
            ("POST", "state") => {
                let value: Value = serde_json::from_slice(&request.body).unwrap_or_default();
                let token = value["token"].as_str().unwrap_or_default().to_owned();
                scenarios
                    .lock()
                    .map_err(|_| std::io::ErrorKind::Other)?
                    .entry(name.to_owned())
                    .or_default()
                    .state = Some((token, value["body"].clone()));
                respond(&mut stream, 200, &[], &json!({"ok": true}))?;
            }
            ("GET", "log") => {
                let log = {
                    let scenarios = scenarios.lock().map_err(|_| std::io::ErrorKind::Other)?;
                    match scenarios.get(name) {
                        Some(scenario) => {
                            json!({"posts": scenario.posts, "stored": scenario.stored, "requests": scenario.bodies.len(), "bodies": scenario.bodies, "records": scenario.records})
                        }
                        None => {
                            json!({"posts": {}, "stored": {}, "requests": 0, "bodies": [], "records": {}})
                        }
                    }
                };
                respond(&mut stream, 200, &[], &log)?;
            }
            ("GET", "v1/consents/state") if request.path.contains('?') => {
                // As the relay: the person is named by the token, never in the URL.
                respond(
                    &mut stream,
                    422,
                    &[],
                    &json!({"code": "invalid_record", "message": "the address belongs in the token"}),
                )?;
            }
            ("GET", "v1/consents/state") => {
                let state = scenarios
                    .lock()
                    .map_err(|_| std::io::ErrorKind::Other)?
                    .get(name)
                    .and_then(|scenario| scenario.state.clone());
                let authorised = state.as_ref().is_some_and(|(token, _)| {
                    request.headers.get("authorization") == Some(&format!("Bearer {token}"))
                });
                match state {
                    Some((_, body)) if authorised => respond(&mut stream, 200, &[], &body)?,
                    _ => respond(
                        &mut stream,
                        401,
                        &[],
                        &json!({"code": "unauthorized", "message": "no"}),
                    )?,
                }
            }
            ("POST", "v1/consents") => {
                if !consents(&mut stream, name, &request, scenarios)? {
                    return Ok(());
                }
            }
            _ => respond(&mut stream, 404, &[], &json!({"code": "not_found"}))?,
        }
    }
    Ok(())
}

/// Answers one consent POST; returns false when the connection was closed on purpose.
fn consents(
    stream: &mut TcpStream,
    name: &str,
    request: &Request,
    scenarios: &Scenarios,
) -> std::io::Result<bool> {
    let action = {
        let mut all = scenarios.lock().map_err(|_| std::io::ErrorKind::Other)?;
        let scenario = all.entry(name.to_owned()).or_default();
        scenario.bodies.push(request.body.len());
        scenario.plan.pop_front().unwrap_or_else(|| "ok".to_owned())
    };
    let (kind, seconds) = action.split_once(':').unwrap_or((action.as_str(), "1"));
    match kind {
        "reset" => {
            let _ = stream.shutdown(Shutdown::Both);
            return Ok(false);
        }
        "500" => {
            respond(
                stream,
                500,
                &[],
                &json!({"code": "internal", "message": "planned fault"}),
            )?;
            return Ok(true);
        }
        "503" | "429" => {
            let status = if kind == "503" { 503 } else { 429 };
            let code = if kind == "503" {
                "internal"
            } else {
                "rate_limited"
            };
            respond(
                stream,
                status,
                &[("Retry-After", seconds.to_owned())],
                &json!({"code": code, "message": "planned"}),
            )?;
            return Ok(true);
        }
        "422" => {
            // `422:<index>` refuses the record at that index for good, as the relay names it;
            // a bare `422` names none.
            let mut refusal = json!({"code": "invalid_record", "message": "planned refusal"});
            if let Some((_, index)) = action.split_once(':') {
                refusal = json!({"code": "invalid_recipient", "message": "planned refusal", "field": format!("records[{index}].recipient")});
            }
            respond(stream, 422, &[], &refusal)?;
            return Ok(true);
        }
        "401" | "403" | "404" | "405" | "413" | "415" => {
            let (status, code) = match kind {
                "401" => (401, "unauthorized"),
                "403" => (403, "origin_not_allowed"),
                "404" => (404, "not_found"),
                "405" => (405, "method_not_allowed"),
                "413" => (413, "payload_too_large"),
                _ => (415, "unsupported_media_type"),
            };
            let mut answer = json!({"code": code, "message": "planned setup problem"});
            if kind == "413" {
                answer["field"] = json!("records");
            }
            respond(stream, status, &[], &answer)?;
            return Ok(true);
        }
        "garbage" => {
            // A proxy's page instead of the relay's answer.
            let page = b"<html><body>Bad gateway configuration</body></html>";
            stream.write_all(
                format!(
                    "HTTP/1.1 400 X\r\nContent-Type: text/html\r\nContent-Length: {}\r\nAccess-Control-Allow-Origin: *\r\nCache-Control: no-store\r\n\r\n",
                    page.len()
                )
                .as_bytes(),
            )?;
            stream.write_all(page)?;
            return Ok(true);
        }
        "hang" => {
            thread::sleep(Duration::from_secs(30));
            let _ = stream.shutdown(Shutdown::Both);
            return Ok(false);
        }
        _ => {}
    }
    let batch: ConsentBatch = match serde_json::from_slice(&request.body) {
        Ok(batch) => batch,
        Err(error) => {
            respond(
                stream,
                400,
                &[],
                &json!({"code": "malformed_json", "message": error.to_string()}),
            )?;
            return Ok(true);
        }
    };
    for (index, wire) in batch.records.iter().enumerate() {
        if let Err(error) = ConsentRecord::from_wire(wire) {
            let field = format!("records[{index}].{}", error.field());
            respond(
                stream,
                422,
                &[],
                &json!({"code": error.code().as_str(), "message": error.to_string(), "field": field, "reason": error.reason()}),
            )?;
            return Ok(true);
        }
    }
    let now = consent_core::Timestamp::from_unix_millis(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_millis() as i64),
    );
    let receipts: Vec<Value> = {
        let mut all = scenarios.lock().map_err(|_| std::io::ErrorKind::Other)?;
        let scenario = all.entry(name.to_owned()).or_default();
        batch
            .records
            .iter()
            .map(|record| {
                *scenario.posts.entry(record.id.clone()).or_default() += 1;
                let outcome = if scenario.seen.insert(record.id.clone()) {
                    *scenario.stored.entry(record.id.clone()).or_default() += 1;
                    scenario.records.insert(
                        record.id.clone(),
                        json!({"channel": record.channel, "status": record.status, "consentedAt": record.consented_at, "mode": record.evidence.mode, "name": record.name, "recipientType": record.recipient_type}),
                    );
                    "stored"
                } else {
                    "duplicate"
                };
                let mut receipt = json!({"id": record.id, "outcome": outcome, "consentDate": "2026-11-29 10:00:00", "receipt": "0".repeat(64)});
                if kind != "unsaid" {
                    receipt["late"] = json!(consent_core::Timestamp::parse_rfc3339(&record.consented_at)
                        .is_ok_and(|at| registration_deadline(at) < now));
                }
                receipt
            })
            .collect()
    };
    if kind == "drop" {
        let _ = stream.shutdown(Shutdown::Both);
        return Ok(false);
    }
    respond(stream, 200, &[], &json!({ "records": receipts }))?;
    Ok(true)
}
