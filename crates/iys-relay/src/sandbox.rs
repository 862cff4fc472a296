//! `iys-relay sandbox`: a local İYS for the endpoints the relay uses, enforcing İYS's rules
//! with İYS's error codes and shapes, so shops can test without İYS accounts and the relay's
//! tests have a faithful peer.
//!
//! Besides İYS's own endpoints it answers a few under `/sandbox/` for tests and demos:
//! `POST /sandbox/citizen` records a movement "made in İYS" (a citizen refusing by SMS to 3338),
//! `POST /sandbox/faults` queues faults for the next consent requests (`500`, `503`, `429`,
//! `H467`, `timeout`, `lost`: stored, then the answer never comes; `status-page-404`, for the
//! next status query: a proxy's 404 page instead of İYS's answer), `POST /sandbox/clock` moves the
//! sandbox's clock, and `GET /sandbox/log` shows every add request body and status query it
//! received and the grant type and outcome of every token request.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use consent_core::calendar::registration_deadline;
use consent_core::email::EmailAddress;
use consent_core::phone::PhoneNumber;
use consent_core::time::{CivilDate, IysDateTime, Timestamp, TurkeyTime, iys_epoch};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The keys a consent body may have.
const CONSENT_KEYS: &[&str] = &[
    "recipient",
    "type",
    "source",
    "status",
    "consentDate",
    "recipientType",
    "retailerCode",
    "retailerAccess",
];
const PROVIDER_SOURCES: &[&str] = &[
    "HS_FIZIKSEL_ORTAM",
    "HS_ISLAK_IMZA",
    "HS_WEB",
    "HS_CAGRI_MERKEZI",
    "HS_SOSYAL_MEDYA",
    "HS_EPOSTA",
    "HS_MESAJ",
    "HS_MOBIL",
    "HS_EORTAM",
    "HS_ETKINLIK",
    "HS_2015",
    "HS_ATM",
    "HS_KARAR",
];
/// İYS's per-second limit.
const REQUESTS_PER_SECOND: u32 = 10;
/// İYS's hourly limit on token requests.
const TOKEN_REQUESTS_PER_HOUR: usize = 100;
/// İYS's hourly limit on single status queries.
const STATUS_QUERIES_PER_HOUR: usize = 1_000;
const ACCESS_TOKEN_SECONDS: i64 = 7_200;
const REFRESH_TOKEN_SECONDS: i64 = 14_400;

/// The sandbox's settings.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// The API user.
    pub username: String,
    /// Its password.
    pub password: String,
    /// How long a batch waits before its results show.
    pub batch_delay: Duration,
    /// How old a movement must be before pull lists it (İYS: one hour).
    pub pull_lag: Duration,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            username: "sandbox".to_owned(),
            password: "sandbox".to_owned(),
            batch_delay: Duration::from_secs(5),
            pull_lag: Duration::from_secs(3_600),
        }
    }
}

#[derive(Debug, Clone)]
struct Held {
    status: String,
    consent_date: IysDateTime,
}

/// One asynchronous batch: when it came, its consents, and its results once processed.
#[derive(Debug)]
struct Batch {
    submitted_ms: i64,
    items: Vec<Value>,
    results: Option<Value>,
}

#[derive(Debug, Default)]
struct World {
    clock_offset_ms: i64,
    access_tokens: HashMap<String, i64>,
    refresh_tokens: HashMap<String, i64>,
    token_calls: VecDeque<i64>,
    /// When each single status query of the last hour came.
    status_calls: VecDeque<i64>,
    /// Every single status query's body.
    status_log: Vec<Value>,
    /// Each token request's grant type and what it got: `issued`, `H084` or `invalid`.
    token_log: Vec<Value>,
    held: HashMap<(String, String, String), Held>,
    movements: Vec<(i64, Value, bool)>,
    idempotent: HashMap<String, Value>,
    /// Every consent registered through a batch, by its exact body: where it was registered.
    registered: HashMap<String, Value>,
    batches: HashMap<String, Batch>,
    /// Batches not processed yet, in the order they came.
    queued_batches: VecDeque<String>,
    faults: VecDeque<String>,
    second: (i64, u32),
    log: Vec<Value>,
    rate_limited: u64,
    counter: u64,
}

/// A running sandbox's shared state.
#[derive(Debug, Clone)]
pub struct Sandbox {
    config: Arc<SandboxConfig>,
    world: Arc<Mutex<World>>,
}

fn error_body(code: &str, message: &str, location: Option<&str>, index: Option<usize>) -> Value {
    let mut entry = json!({ "code": code, "message": message });
    if let Some(location) = location {
        entry["location"] = json!([location]);
    }
    if let Some(index) = index {
        entry["index"] = json!(index);
    }
    entry
}

fn errors(status: StatusCode, entries: Vec<Value>) -> Response {
    (status, Json(json!({ "errors": entries }))).into_response()
}

fn single_error(status: StatusCode, code: &str, message: &str) -> Response {
    errors(status, vec![error_body(code, message, None, None)])
}

impl Sandbox {
    /// A sandbox with `config`.
    pub fn new(config: SandboxConfig) -> Sandbox {
        Sandbox {
            config: Arc::new(config),
            world: Arc::default(),
        }
    }

    /// The world, with every batch whose delay has passed processed, in the order the batches
    /// came: İYS works through its queue whether or not anyone asks for the results.
    fn lock(&self) -> std::sync::MutexGuard<'_, World> {
        let mut world = self
            .world
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = self.now(&world);
        let delay = self.config.batch_delay.as_millis() as i64;
        while let Some(request) = world.queued_batches.front().cloned() {
            let due = world
                .batches
                .get(&request)
                .is_some_and(|batch| now.unix_millis() - batch.submitted_ms >= delay);
            if !due {
                break;
            }
            world.queued_batches.pop_front();
            // Processed as of when it was due, whenever someone looks.
            let submitted = world
                .batches
                .get(&request)
                .map_or(now.unix_millis(), |batch| batch.submitted_ms);
            process_batch(
                &mut world,
                &request,
                Timestamp::from_unix_millis(submitted + delay),
            );
        }
        world
    }

    fn now(&self, world: &World) -> Timestamp {
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_millis() as i64);
        Timestamp::from_unix_millis(millis + world.clock_offset_ms)
    }

    fn next_id(world: &mut World) -> String {
        world.counter += 1;
        let digest = Sha256::digest(
            format!("iys-sandbox {} {}", world.counter, std::process::id()).as_bytes(),
        );
        consent_core::record::hex(&digest)
    }
}

/// The sandbox's router.
pub fn router(sandbox: Sandbox) -> Router {
    let consents = Router::new()
        .route("/sps/{iys}/brands/{brand}/consents", post(add_v1))
        .route("/v2/sps/{iys}/brands/{brand}/consents", post(add_v2))
        .route(
            "/sps/{iys}/brands/{brand}/consents/request",
            post(batch_add),
        )
        .route(
            "/v2/sps/{iys}/brands/{brand}/consents/request",
            post(batch_add),
        )
        .route(
            "/sps/{iys}/brands/{brand}/consents/request/{request}",
            get(batch_result),
        )
        .route(
            "/v2/sps/{iys}/brands/{brand}/consents/request/{request}",
            get(batch_result),
        )
        .route(
            "/sps/{iys}/brands/{brand}/consents/status",
            post(single_status),
        )
        .route(
            "/sps/{iys}/brands/{brand}/consents/{recipient_type}/status/{kind}",
            post(multi_status),
        )
        .route("/sps/{iys}/brands/{brand}/consents/history", post(history))
        .route("/sps/{iys}/brands/{brand}/consents/changes", get(changes))
        .route(
            "/sps/{iys}/brands/{brand}/changes/{date}/file",
            get(daily_file),
        );
    Router::new()
        .route("/oauth2/token", post(token))
        .merge(consents)
        .route("/sandbox/citizen", post(citizen))
        .route("/sandbox/faults", post(faults))
        .route("/sandbox/clock", post(clock))
        .route("/sandbox/log", get(log))
        .with_state(sandbox)
}

/// Answers the per-second limit, the bearer token and the path codes shared by every consent
/// endpoint; `Ok` when the request may go on.
#[allow(
    clippy::result_large_err,
    reason = "the error is the answer itself, sent at once"
)]
fn gate(sandbox: &Sandbox, headers: &HeaderMap, iys: &str, brand: &str) -> Result<(), Response> {
    let mut world = sandbox.lock();
    let now = sandbox.now(&world);
    let second = now.unix_seconds();
    if world.second.0 == second {
        world.second.1 += 1;
    } else {
        world.second = (second, 1);
    }
    if world.second.1 > REQUESTS_PER_SECOND {
        world.rate_limited += 1;
        return Err(single_error(
            StatusCode::TOO_MANY_REQUESTS,
            "H124",
            "more than 10 requests per second",
        ));
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    let valid = token
        .and_then(|token| world.access_tokens.get(token))
        .is_some_and(|expires| *expires > now.unix_seconds());
    if !valid {
        return Err(single_error(
            StatusCode::UNAUTHORIZED,
            "H351",
            "the access token is missing, invalid or expired",
        ));
    }
    if iys.parse::<u64>().is_err() {
        return Err(single_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "H190",
            "iysCode must be an integer",
        ));
    }
    if brand.parse::<u64>().is_err() {
        return Err(single_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "H191",
            "brandCode must be an integer",
        ));
    }
    Ok(())
}

async fn token(State(sandbox): State<Sandbox>, headers: HeaderMap, body: Bytes) -> Response {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
    let fields: HashMap<String, String> = if is_form {
        String::from_utf8_lossy(&body)
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(key, value)| (key.to_owned(), value.replace('+', " ")))
            .collect()
    } else {
        serde_json::from_slice::<HashMap<String, Value>>(&body)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(key, value)| value.as_str().map(|text| (key, text.to_owned())))
            .collect()
    };
    let mut world = sandbox.lock();
    let now = sandbox.now(&world).unix_seconds();
    // Over the hourly limit, and a retry before the hour is over restarts the counter.
    world.token_calls.retain(|at| now - at < 3_600);
    let grant = fields.get("grant_type").cloned().unwrap_or_default();
    if world.token_calls.len() >= TOKEN_REQUESTS_PER_HOUR {
        world.token_calls.push_back(now);
        world.token_calls.pop_front();
        world
            .token_log
            .push(json!({"grant": grant, "outcome": "H084"}));
        return single_error(
            StatusCode::TOO_MANY_REQUESTS,
            "H084",
            "the hourly token limit is reached",
        );
    }
    world.token_calls.push_back(now);
    world
        .token_log
        .push(json!({"grant": grant, "outcome": "invalid"}));
    let invalid = |description: &str| {
        (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant", "error_description": description})),
        )
            .into_response()
    };
    match fields.get("grant_type").map(String::as_str) {
        Some("password") => {
            if fields.get("username") != Some(&sandbox.config.username)
                || fields.get("password") != Some(&sandbox.config.password)
            {
                return invalid("the user credentials are not valid");
            }
        }
        Some("refresh_token") => {
            let refresh = fields.get("refresh_token").cloned().unwrap_or_default();
            match world.refresh_tokens.remove(&refresh) {
                Some(expires) if expires > now => {}
                _ => return invalid("the refresh token is not valid"),
            }
        }
        _ => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": "invalid_request", "error_description": "grant_type must be password or refresh_token"})),
            )
                .into_response();
        }
    }
    if let Some(last) = world.token_log.last_mut() {
        last["outcome"] = json!("issued");
    }
    let access = Sandbox::next_id(&mut world);
    let refresh = Sandbox::next_id(&mut world);
    world
        .access_tokens
        .insert(access.clone(), now + ACCESS_TOKEN_SECONDS);
    world
        .refresh_tokens
        .insert(refresh.clone(), now + REFRESH_TOKEN_SECONDS);
    Json(json!({
        "access_token": access,
        "refresh_token": refresh,
        "expires_in": ACCESS_TOKEN_SECONDS,
        "refresh_expires_in": REFRESH_TOKEN_SECONDS,
        "token_type": "bearer",
    }))
    .into_response()
}

/// A consent that passed every check: what to store.
struct Checked {
    key: (String, String, String),
    movement: Value,
    consent_date: Option<IysDateTime>,
    status: String,
}

/// Checks one consent body against İYS's rules, given what İYS holds.
fn check(
    body: &Value,
    world: &World,
    now: Timestamp,
    index: Option<usize>,
) -> Result<Checked, Vec<Value>> {
    let fail = |code: &str, message: &str, location: Option<&str>| {
        vec![error_body(code, message, location, index)]
    };
    let Some(object) = body.as_object() else {
        return Err(fail("H085", "the consent-add request is invalid", None));
    };
    if let Some(unknown) = object
        .keys()
        .find(|key| !CONSENT_KEYS.contains(&key.as_str()))
    {
        return Err(fail(
            "H118",
            "the body has a field İYS does not know",
            Some(unknown),
        ));
    }
    let text = |key: &str| object.get(key).and_then(Value::as_str);
    let recipient =
        text("recipient").ok_or_else(|| fail("H114", "recipient is missing", Some("recipient")))?;
    let kind = text("type").ok_or_else(|| fail("H111", "type is missing", Some("type")))?;
    let status = text("status").ok_or_else(|| fail("H110", "status is missing", Some("status")))?;
    let recipient_type = match object.get("recipientType") {
        None => "BIREYSEL",
        Some(value) => value.as_str().unwrap_or(""),
    };
    if !matches!(status, "ONAY" | "RET") {
        return Err(fail("H115", "status must be ONAY or RET", Some("status")));
    }
    if !matches!(recipient_type, "BIREYSEL" | "TACIR") {
        return Err(fail(
            "H116",
            "recipientType must be BIREYSEL or TACIR",
            Some("recipientType"),
        ));
    }
    if !matches!(kind, "ARAMA" | "MESAJ" | "EPOSTA") {
        return Err(fail(
            "H117",
            "type must be ARAMA, MESAJ or EPOSTA",
            Some("type"),
        ));
    }
    if let Some(value) = object.get("retailerCode")
        && (value.is_null() || value.as_str() == Some(""))
    {
        return Err(fail(
            "H267",
            "retailerCode must not be empty",
            Some("retailerCode"),
        ));
    }
    if let Some(access) = object.get("retailerAccess") {
        match access.as_array() {
            Some(list) if list.is_empty() => {
                return Err(fail(
                    "H163",
                    "the retailer list is empty",
                    Some("retailerAccess"),
                ));
            }
            Some(list) if list.len() > 100 => {
                return Err(fail(
                    "H126",
                    "retailerAccess is too long",
                    Some("retailerAccess"),
                ));
            }
            Some(_) => {}
            None => {
                return Err(fail(
                    "H169",
                    "retailerAccess must be a list",
                    Some("retailerAccess"),
                ));
            }
        }
    }
    let is_phone_type = kind != "EPOSTA";
    let looks_like_email = recipient.contains('@');
    if is_phone_type == looks_like_email {
        return Err(fail(
            "H464",
            "the recipient does not fit the type",
            Some("recipient"),
        ));
    }
    let normalised = if is_phone_type {
        if recipient.len() > 15 {
            return Err(fail(
                "H160",
                "the phone number is longer than 15 characters",
                Some("recipient"),
            ));
        }
        match PhoneNumber::parse(recipient) {
            Ok(number) if recipient.starts_with('+') && number.e164() == recipient => number.e164(),
            _ => {
                return Err(fail(
                    "H121",
                    "the phone number is not in E.164 form",
                    Some("recipient"),
                ));
            }
        }
    } else {
        EmailAddress::parse(recipient)
            .map(|address| address.as_str().to_owned())
            .map_err(|_| fail("H120", "the e-mail address is invalid", Some("recipient")))?
    };
    let key = (
        normalised.clone(),
        kind.to_owned(),
        recipient_type.to_owned(),
    );
    let held = world.held.get(&key);
    let is_merchant_first = recipient_type == "TACIR" && held.is_none();
    let source = match object.get("source") {
        Some(value) => {
            let source = value.as_str().unwrap_or("");
            if !PROVIDER_SOURCES.contains(&source) {
                return Err(fail(
                    "H119",
                    "source is not an allowed value",
                    Some("source"),
                ));
            }
            Some(source)
        }
        None if is_merchant_first => None,
        None if recipient_type == "TACIR" => {
            return Err(fail(
                "H463",
                "updating a TACIR record needs source",
                Some("source"),
            ));
        }
        None => return Err(fail("H113", "source is missing", Some("source"))),
    };
    let consent_date = match object.get("consentDate") {
        Some(value) => {
            let text = value.as_str().unwrap_or("");
            let shaped = text.len() == 19 && text.as_bytes()[10] == b' ';
            if !shaped {
                return Err(fail(
                    "H158",
                    "consentDate must be yyyy-mm-dd hh:mm:ss",
                    Some("consentDate"),
                ));
            }
            let date = IysDateTime::parse(text).map_err(|_| {
                fail(
                    "H157",
                    "consentDate is not a valid date",
                    Some("consentDate"),
                )
            })?;
            if date.to_instant() < iys_epoch() {
                return Err(fail(
                    "H156",
                    "consentDate is before 2015-05-01",
                    Some("consentDate"),
                ));
            }
            if date.to_instant().unix_seconds() > now.unix_seconds() {
                return Err(fail(
                    "H162",
                    "consentDate is in the future",
                    Some("consentDate"),
                ));
            }
            if source == Some("HS_2015") && date != IysDateTime::from_instant(iys_epoch()) {
                return Err(fail(
                    "H155",
                    "an HS_2015 consent must be dated 2015-05-01 00:00:00",
                    Some("consentDate"),
                ));
            }
            if now > registration_deadline(date.to_instant()) {
                return Err(fail(
                    "H467",
                    "consents taken more than three business days ago cannot be registered",
                    Some("consentDate"),
                ));
            }
            Some(date)
        }
        None if is_merchant_first => None,
        None if recipient_type == "TACIR" => {
            return Err(fail(
                "H462",
                "updating a TACIR record needs consentDate",
                Some("consentDate"),
            ));
        }
        None => return Err(fail("H112", "consentDate is missing", Some("consentDate"))),
    };
    if source == Some("HS_KARAR") && status != "RET" {
        return Err(fail(
            "H408",
            "source HS_KARAR must come with status RET",
            Some("status"),
        ));
    }
    match held {
        None if status == "RET" => {
            return Err(fail(
                "H175",
                "the first record for an address cannot be RET",
                Some("status"),
            ));
        }
        Some(held) if held.status == "RET" && status == "RET" => {
            return Err(fail(
                "H174",
                "an update must change the status; it is already RET",
                Some("status"),
            ));
        }
        Some(held) if consent_date.is_some_and(|date| date <= held.consent_date) => {
            return Err(fail(
                "H178",
                "consentDate is older than the stored one",
                Some("consentDate"),
            ));
        }
        _ => {}
    }
    let movement = json!({
        "consentDate": consent_date.map(|date| date.to_string()),
        "source": source.unwrap_or("HS_WEB"),
        "recipient": normalised,
        "recipientType": recipient_type,
        "status": status,
        "type": kind,
    });
    Ok(Checked {
        key,
        movement,
        consent_date,
        status: status.to_owned(),
    })
}

/// Stores a checked consent and returns its `{transactionId, creationDate}`.
fn store(world: &mut World, checked: Checked, now: Timestamp) -> Value {
    let transaction_id = Sandbox::next_id(world);
    let creation_date = IysDateTime::from_instant(now).to_string();
    let held_date = checked
        .consent_date
        .unwrap_or_else(|| IysDateTime::from_instant(now));
    world.held.insert(
        checked.key,
        Held {
            status: checked.status,
            consent_date: held_date,
        },
    );
    let mut movement = checked.movement;
    movement["creationDate"] = json!(creation_date);
    movement["transactionId"] = json!(transaction_id);
    world.movements.push((now.unix_millis(), movement, false));
    json!({ "transactionId": transaction_id, "creationDate": creation_date })
}

/// The answer a planned fault gives instead of doing the work: `500`, `503`, `429`, or
/// `timeout` (no answer for a minute, then 503). `lost` does the work and is handled after it.
async fn failure(fault: Option<&str>) -> Option<Response> {
    match fault {
        Some("500") => Some(single_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "H015",
            "an unexpected error",
        )),
        Some("503") => Some(single_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "H192",
            "the request timed out",
        )),
        Some("429") => Some(single_error(
            StatusCode::TOO_MANY_REQUESTS,
            "H124",
            "more than 10 requests per second",
        )),
        // İYS counting a window otherwise than the relay does.
        Some("H467") => Some(single_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "H467",
            "consents taken more than three business days ago cannot be registered",
        )),
        Some("timeout") => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Some(single_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "H192",
                "the request timed out",
            ))
        }
        _ => None,
    }
}

/// Takes the next planned fault, if any.
fn next_fault(sandbox: &Sandbox) -> Option<String> {
    sandbox.lock().faults.pop_front()
}

async fn add(
    sandbox: Sandbox,
    headers: HeaderMap,
    path: String,
    iys: String,
    brand: String,
    body: Bytes,
    v2: bool,
) -> Response {
    if let Err(response) = gate(&sandbox, &headers, &iys, &brand) {
        return response;
    }
    let fault = next_fault(&sandbox);
    if let Some(response) = failure(fault.as_deref()).await {
        return response;
    }
    let Ok(value) = serde_json::from_slice::<Value>(&body) else {
        return single_error(
            StatusCode::BAD_REQUEST,
            "H014",
            "the body is not valid JSON",
        );
    };
    let answer = {
        let mut world = sandbox.lock();
        world.log.push(value.clone());
        let now = sandbox.now(&world);
        let fingerprint = format!("{path}\n{}", String::from_utf8_lossy(&body));
        if let Some(first) = world.idempotent.get(&fingerprint).filter(|_| v2) {
            Ok(first.clone())
        } else {
            match check(&value, &world, now, None) {
                Ok(checked) => {
                    let answer = store(&mut world, checked, now);
                    if v2 {
                        world.idempotent.insert(fingerprint, answer.clone());
                    }
                    Ok(answer)
                }
                Err(entries) => Err(entries),
            }
        }
    };
    match answer {
        Ok(answer) => {
            if fault.as_deref() == Some("lost") {
                // Stored, but the answer never arrives.
                tokio::time::sleep(Duration::from_secs(60)).await;
            }
            Json(answer).into_response()
        }
        Err(entries) => {
            let status = match entries[0]["code"].as_str() {
                Some("H174" | "H175" | "H178" | "H085") => StatusCode::BAD_REQUEST,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            errors(status, entries)
        }
    }
}

async fn add_v1(
    State(sandbox): State<Sandbox>,
    Path((iys, brand)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/sps/{iys}/brands/{brand}/consents");
    add(sandbox, headers, path, iys, brand, body, false).await
}

async fn add_v2(
    State(sandbox): State<Sandbox>,
    Path((iys, brand)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/v2/sps/{iys}/brands/{brand}/consents");
    add(sandbox, headers, path, iys, brand, body, true).await
}

async fn batch_add(
    State(sandbox): State<Sandbox>,
    Path((iys, brand)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(response) = gate(&sandbox, &headers, &iys, &brand) {
        return response;
    }
    let fault = next_fault(&sandbox);
    if let Some(response) = failure(fault.as_deref()).await {
        return response;
    }
    let Ok(Value::Array(items)) = serde_json::from_slice::<Value>(&body) else {
        return single_error(
            StatusCode::BAD_REQUEST,
            "H092",
            "the batch request is invalid",
        );
    };
    if items.len() > 1_000 {
        return single_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "H091",
            "a batch holds more than 1000 consents",
        );
    }
    let mut seen = std::collections::HashSet::new();
    for (index, item) in items.iter().enumerate() {
        let key = (
            item["recipientType"]
                .as_str()
                .unwrap_or("BIREYSEL")
                .to_owned(),
            item["type"].clone(),
            item["recipient"].clone(),
        );
        if !seen.insert(format!("{key:?}")) {
            return errors(
                StatusCode::UNPROCESSABLE_ENTITY,
                vec![error_body(
                    "H194",
                    "a (recipientType, type, recipient) appears twice in the batch",
                    None,
                    Some(index),
                )],
            );
        }
    }
    let (request_id, sub_requests) = {
        let mut world = sandbox.lock();
        world.log.extend(items.iter().cloned());
        let now = sandbox.now(&world);
        let request_id = {
            let id = Sandbox::next_id(&mut world);
            format!(
                "{}-{}-{}-{}-{}",
                &id[..8],
                &id[8..12],
                &id[12..16],
                &id[16..20],
                &id[20..32]
            )
        };
        let sub_requests: Vec<Value> = items
            .iter()
            .enumerate()
            .map(|(index, item)| {
                let mut sub = item.clone();
                sub["subRequestId"] = json!(format!("{request_id}-{index}"));
                sub
            })
            .collect();
        world.batches.insert(
            request_id.clone(),
            Batch {
                submitted_ms: now.unix_millis(),
                items,
                results: None,
            },
        );
        world.queued_batches.push_back(request_id.clone());
        (request_id, sub_requests)
    };
    if fault.as_deref() == Some("lost") {
        // Queued, but the answer never arrives.
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
    (
        StatusCode::ACCEPTED,
        Json(json!({ "requestId": request_id, "subRequests": sub_requests })),
    )
        .into_response()
}

async fn batch_result(
    State(sandbox): State<Sandbox>,
    Path((iys, brand, request)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(response) = gate(&sandbox, &headers, &iys, &brand) {
        return response;
    }
    let world = sandbox.lock();
    match world.batches.get(&request) {
        None => single_error(StatusCode::NOT_FOUND, "H093", "the request was not found"),
        Some(Batch {
            results: Some(results),
            ..
        }) => Json(results.clone()).into_response(),
        // Not processed yet: İYS answers with an empty body.
        Some(_) => StatusCode::OK.into_response(),
    }
}

/// Registers a batch's consents in order. A consent already registered through a batch with the
/// very same data and date is not registered again: its result points to the original, as İYS's
/// V2 batch does.
fn process_batch(world: &mut World, request: &str, now: Timestamp) {
    let Some(items) = world.batches.get(request).map(|batch| batch.items.clone()) else {
        return;
    };
    let mut results = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let sub_request_id = format!("{request}-{index}");
        let fingerprint = item.to_string();
        if let Some(original) = world.registered.get(&fingerprint) {
            results.push(json!({"index": index, "status": "success", "subrequestId": sub_request_id, "requestId": request, "transactionId": original["transactionId"], "creationDate": original["creationDate"], "isAddConsentV2Service": true, "originalRequestInformation": {"requestId": original["requestId"], "subRequestId": original["subRequestId"]}}));
            continue;
        }
        match check(item, world, now, Some(index)) {
            Ok(checked) => {
                let answer = store(world, checked, now);
                world.registered.insert(
                    fingerprint,
                    json!({"transactionId": answer["transactionId"], "creationDate": answer["creationDate"], "requestId": request, "subRequestId": sub_request_id}),
                );
                results.push(json!({"index": index, "status": "success", "subrequestId": sub_request_id, "requestId": request, "transactionId": answer["transactionId"], "creationDate": answer["creationDate"], "isAddConsentV2Service": true}));
            }
            Err(entries) => {
                results.push(json!({"index": index, "status": "failure", "subrequestId": sub_request_id, "requestId": request, "error": {"code": entries[0]["code"], "message": entries[0]["message"]}}));
            }
        }
    }
    if let Some(batch) = world.batches.get_mut(request) {
        batch.results = Some(Value::Array(results));
    }
}

/// İYS's single status query: its checks of the body and its limit of 1000 queries an hour,
/// then the movement İYS holds for the key. İYS documents no answer for a key it has never
/// seen; the sandbox answers 404 with no H-code.
async fn single_status(
    State(sandbox): State<Sandbox>,
    Path((iys, brand)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(response) = gate(&sandbox, &headers, &iys, &brand) {
        return response;
    }
    {
        let mut world = sandbox.lock();
        if world.faults.front().map(String::as_str) == Some("status-page-404") {
            // A proxy's own page in front of İYS, not İYS's answer.
            world.faults.pop_front();
            return (
                StatusCode::NOT_FOUND,
                [(header::CONTENT_TYPE, "text/html")],
                "<html><body>Not Found</body></html>",
            )
                .into_response();
        }
    }
    let Ok(Value::Object(query)) = serde_json::from_slice::<Value>(&body) else {
        return single_error(
            StatusCode::BAD_REQUEST,
            "H097",
            "the status query is invalid",
        );
    };
    let fail = |code: &str, message: &str, location: &str| {
        errors(
            StatusCode::UNPROCESSABLE_ENTITY,
            vec![error_body(code, message, Some(location), None)],
        )
    };
    let text = |key: &str| query.get(key).and_then(Value::as_str);
    let Some(kind) = text("type") else {
        return fail("H111", "type is missing", "type");
    };
    let Some(recipient_type) = text("recipientType") else {
        return fail("H170", "recipientType is missing", "recipientType");
    };
    let Some(recipient) = text("recipient") else {
        return fail("H114", "recipient is missing", "recipient");
    };
    if !matches!(kind, "ARAMA" | "MESAJ" | "EPOSTA") {
        return fail("H117", "type must be ARAMA, MESAJ or EPOSTA", "type");
    }
    if !matches!(recipient_type, "BIREYSEL" | "TACIR") {
        return fail(
            "H116",
            "recipientType must be BIREYSEL or TACIR",
            "recipientType",
        );
    }
    if kind == "EPOSTA" {
        if EmailAddress::parse(recipient).map(|address| address.as_str() == recipient) != Ok(true) {
            return fail("H120", "the e-mail address is invalid", "recipient");
        }
    } else if recipient.len() > 15 {
        return fail(
            "H166",
            "the phone number is longer than 15 characters",
            "recipient",
        );
    } else if PhoneNumber::parse(recipient).map(|number| number.e164() == recipient) != Ok(true)
        || !recipient.starts_with('+')
    {
        return fail("H121", "the phone number is not in E.164 form", "recipient");
    }
    let mut world = sandbox.lock();
    let now = sandbox.now(&world).unix_seconds();
    world.status_calls.retain(|at| now - at < 3_600);
    if world.status_calls.len() >= STATUS_QUERIES_PER_HOUR {
        return single_error(
            StatusCode::TOO_MANY_REQUESTS,
            "H086",
            "the hourly single-status limit is reached",
        );
    }
    world.status_calls.push_back(now);
    world.status_log.push(Value::Object(query.clone()));
    let key = (
        recipient.to_owned(),
        kind.to_owned(),
        recipient_type.to_owned(),
    );
    let Some(held) = world.held.get(&key) else {
        return errors(
            StatusCode::NOT_FOUND,
            vec![json!({"message": "no consent is recorded for this address"})],
        );
    };
    let latest = world.movements.iter().rev().find(|(_, movement, _)| {
        movement["recipient"] == recipient
            && movement["type"] == kind
            && movement["recipientType"] == recipient_type
    });
    let mut answer = json!({
        "consentDate": held.consent_date.to_string(),
        "recipient": recipient,
        "recipientType": recipient_type,
        "status": held.status,
        "type": kind,
    });
    if let Some((_, movement, _)) = latest {
        for field in ["creationDate", "source", "transactionId"] {
            answer[field] = movement[field].clone();
        }
    }
    Json(answer).into_response()
}

async fn multi_status(
    State(sandbox): State<Sandbox>,
    Path((iys, brand, recipient_type, kind)): Path<(String, String, String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Err(response) = gate(&sandbox, &headers, &iys, &brand) {
        return response;
    }
    let Some(recipients) = body["recipients"].as_array() else {
        return single_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "H478",
            "recipients is not a list",
        );
    };
    if recipients.len() > 1_000 {
        return single_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "H127",
            "the recipients list is too long",
        );
    }
    let world = sandbox.lock();
    let granted: Vec<&Value> = recipients
        .iter()
        .filter(|recipient| {
            let key = (
                recipient.as_str().unwrap_or("").to_owned(),
                kind.clone(),
                recipient_type.clone(),
            );
            world
                .held
                .get(&key)
                .is_some_and(|held| held.status == "ONAY")
        })
        .collect();
    let request_id = format!("{:032x}", world.counter);
    Json(json!({ "requestId": request_id, "list": granted })).into_response()
}

async fn history(
    State(sandbox): State<Sandbox>,
    Path((iys, brand)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Err(response) = gate(&sandbox, &headers, &iys, &brand) {
        return response;
    }
    let world = sandbox.lock();
    let list: Vec<Value> = world
        .movements
        .iter()
        .rev()
        .filter(|(_, movement, _)| {
            movement["recipient"] == body["recipient"] && movement["type"] == body["type"]
        })
        .map(|(_, movement, _)| movement.clone())
        .take(100)
        .collect();
    Json(json!({ "list": list })).into_response()
}

async fn changes(
    State(sandbox): State<Sandbox>,
    Path((iys, brand)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Err(response) = gate(&sandbox, &headers, &iys, &brand) {
        return response;
    }
    let source = query.get("source").map_or("IYS", String::as_str);
    if !matches!(source, "IYS" | "HS") {
        return single_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "H506",
            "the pull source is invalid",
        );
    }
    let limit: usize = query
        .get("limit")
        .and_then(|limit| limit.parse().ok())
        .unwrap_or(1_000);
    if limit > 1_000 {
        return single_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "H507",
            "the pull limit is over 1000",
        );
    }
    let after: usize = query
        .get("after")
        .and_then(|after| after.split('_').next())
        .and_then(|position| position.parse().ok())
        .unwrap_or(0);
    let world = sandbox.lock();
    let now = sandbox.now(&world).unix_millis();
    // The last hour (the configured lag) is not listed yet; İYS keeps seven days.
    let lag = sandbox.config.pull_lag.as_millis() as i64;
    let visible: Vec<(usize, &Value)> = world
        .movements
        .iter()
        .enumerate()
        .filter(|(position, (created, _, from_iys))| {
            *position >= after
                && *from_iys == (source == "IYS")
                && now - created >= lag
                && now - created <= 7 * 86_400_000
        })
        .map(|(position, (_, movement, _))| (position, movement))
        .take(limit)
        .collect();
    let Some(&(last, _)) = visible.last() else {
        return StatusCode::NO_CONTENT.into_response();
    };
    let list: Vec<Value> = visible
        .into_iter()
        .map(|(_, movement)| movement.clone())
        .collect();
    Json(json!({ "after": format!("{}_{}", last + 1, list.last().and_then(|movement| movement["transactionId"].as_str()).unwrap_or("")), "list": list })).into_response()
}

/// İYS's daily change file of a past day: every movement İYS registered that Turkish day, from
/// the provider and from citizens, as CSV with its header, sorted by creation date and then
/// transaction id, ending with a line break. A date not written `YYYY-MM-DD` is H501, one more
/// than seven days back H502; a day without movements, and a day not over yet, have no file
/// (204).
async fn daily_file(
    State(sandbox): State<Sandbox>,
    Path((iys, brand, date)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(response) = gate(&sandbox, &headers, &iys, &brand) {
        return response;
    }
    let Some(day) = CivilDate::parse_iso(&date) else {
        return single_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "H501",
            "the date must be written yyyy-aa-gg",
        );
    };
    let world = sandbox.lock();
    let today = TurkeyTime::at(sandbox.now(&world)).date();
    if today.days_since_epoch() - day.days_since_epoch() > 7 {
        return single_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "H502",
            "the report date is more than seven days back",
        );
    }
    if day >= today {
        return StatusCode::NO_CONTENT.into_response();
    }
    let prefix = format!("{day} ");
    let field = |movement: &Value, key: &str| movement[key].as_str().unwrap_or("").to_owned();
    let mut rows: Vec<[String; 8]> = world
        .movements
        .iter()
        .map(|(_, movement, _)| movement)
        .filter(|movement| field(movement, "creationDate").starts_with(&prefix))
        .map(|movement| {
            [
                "creationDate",
                "transactionId",
                "recipient",
                "recipientType",
                "type",
                "status",
                "consentDate",
                "source",
            ]
            .map(|key| field(movement, key))
        })
        .collect();
    if rows.is_empty() {
        return StatusCode::NO_CONTENT.into_response();
    }
    rows.sort_by(|a, b| (&a[0], &a[1]).cmp(&(&b[0], &b[1])));
    let mut file = String::from(
        "creationDate,transactionId,recipient,recipientType,type,status,consentDate,source\n",
    );
    for row in rows {
        file.push_str(&row.join(","));
        file.push('\n');
    }
    ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], file).into_response()
}

async fn citizen(State(sandbox): State<Sandbox>, Json(body): Json<Value>) -> Response {
    let mut world = sandbox.lock();
    let now = sandbox.now(&world);
    let key = (
        body["recipient"].as_str().unwrap_or("").to_owned(),
        body["type"].as_str().unwrap_or("").to_owned(),
        body["recipientType"]
            .as_str()
            .unwrap_or("BIREYSEL")
            .to_owned(),
    );
    let status = body["status"].as_str().unwrap_or("RET").to_owned();
    let date = IysDateTime::from_instant(now);
    world.held.insert(
        key.clone(),
        Held {
            status: status.clone(),
            consent_date: date,
        },
    );
    let transaction_id = Sandbox::next_id(&mut world);
    let movement = json!({
        "consentDate": date.to_string(),
        "creationDate": date.to_string(),
        "source": body["source"].as_str().unwrap_or("IYS_KISAMESAJ"),
        "recipient": key.0,
        "recipientType": key.2,
        "status": status,
        "type": key.1,
        "transactionId": transaction_id,
    });
    world
        .movements
        .push((now.unix_millis(), movement.clone(), true));
    Json(movement).into_response()
}

async fn faults(State(sandbox): State<Sandbox>, Json(plan): Json<Vec<String>>) -> Response {
    sandbox.lock().faults.extend(plan);
    Json(json!({"ok": true})).into_response()
}

async fn clock(State(sandbox): State<Sandbox>, Json(body): Json<Value>) -> Response {
    let mut world = sandbox.lock();
    world.clock_offset_ms += body["advanceSeconds"].as_i64().unwrap_or(0) * 1_000;
    Json(json!({"offsetSeconds": world.clock_offset_ms / 1_000})).into_response()
}

async fn log(State(sandbox): State<Sandbox>) -> Response {
    let world = sandbox.lock();
    Json(json!({
        "requests": world.log,
        "tokenRequests": world.token_log,
        "statusQueries": world.status_log,
        "rateLimited": world.rate_limited,
        "batches": world.batches.len(),
        "held": world.held.len(),
        "movements": world.movements.len(),
    }))
    .into_response()
}
