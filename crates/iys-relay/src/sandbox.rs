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
//! received, the grant type and outcome of every token request, every push registration and
//! every movement pushed.

mod adds;
mod auth;
mod controls;
mod push;
mod queries;
mod rules;

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

use self::adds::*;
use self::auth::*;
use self::controls::*;
use self::push::*;
use self::queries::*;
use self::rules::*;

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
    /// The push connections registered.
    push_targets: Vec<PushTarget>,
    /// Every push registration's body.
    push_log: Vec<Value>,
    /// Every movement pushed: where, which, and the answer's status (0: none).
    pushes: Vec<Value>,
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
        )
        .route(
            "/sps/{iys}/brands/{brand}/push/registration",
            post(push_registration),
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
