//! The v1 HTTP API: `POST /v1/consents`, `GET /v1/consents/state`, `GET /v1/health`.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use consent_core::calendar::registration_deadline;
use consent_core::contract::{ConsentBatch, ErrorCode, Receipt, ReceiptBatch};
use consent_core::time::{IysDateTime, Timestamp};
use consent_core::{Channel, ConsentRecord, Locale};
use serde::Serialize;

use crate::clock::Clock;
use crate::config::Config;
use crate::error::ApiError;
use crate::protect::{RateLimiter, client_ip, is_allowed_origin};
use crate::store::{ConsentDateOrigin, NewConsent, Store};
use crate::token;
use crate::writer::{WriteError, Writer};

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The settings.
    pub config: Arc<Config>,
    /// The proof store, for reads.
    pub store: Store,
    /// The group-commit writer, for writes.
    pub writer: Writer,
    /// The per-address rate limit.
    pub limiter: Arc<RateLimiter>,
    /// The per-address rate limit of refusal links and İYS's pushes, ten times the other: mail
    /// providers send the one-click requests of many people from a few addresses, and İYS
    /// pushes from its own.
    pub refusal_limiter: Arc<RateLimiter>,
    /// The clock.
    pub clock: Clock,
    /// One `/metrics` scrape at a time.
    pub metrics_scrape: Arc<tokio::sync::Semaphore>,
    /// Texts found in the register, so that each is looked up once.
    pub known_texts: Arc<std::sync::RwLock<HashSet<(String, Channel, Locale)>>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("AppState")
            .field("config", &self.config)
            .field("store", &self.store.backend())
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// The state for `config` over `store`, with a writer task started on the current runtime.
    pub fn new(config: Config, store: Store, clock: Clock) -> AppState {
        AppState {
            limiter: Arc::new(RateLimiter::new(config.rate_limit_per_minute)),
            refusal_limiter: Arc::new(RateLimiter::new(
                config.rate_limit_per_minute.saturating_mul(10),
            )),
            writer: Writer::start(store.clone(), config.storage_timeout()),
            config: Arc::new(config),
            store,
            clock,
            metrics_scrape: Arc::new(tokio::sync::Semaphore::new(1)),
            known_texts: Arc::default(),
        }
    }
}

/// The router of the v1 API.
pub fn app(state: AppState) -> Router {
    let limited = Router::new()
        .route("/v1/consents", post(post_consents))
        .route("/v1/consents/state", get(get_state))
        .layer(middleware::from_fn_with_state(state.clone(), rate_limit));
    // Refusal links are opened from mail and SMS, not called by the shop's pages: no CORS, and
    // the page's own form posts back with an `Origin` of `null` under its referrer policy.
    let refusals = crate::refusal::routes::routes().layer(middleware::from_fn_with_state(
        state.clone(),
        crate::refusal::routes::rate_limit,
    ));
    // İYS posts from its own servers: no browser, no CORS.
    let push = Router::new()
        .route(crate::forwarder::push::PUSH_PATH, post(take_push))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            wide_rate_limit,
        ));
    Router::new()
        .route("/v1/health", get(health))
        .route("/metrics", get(metrics))
        .merge(limited)
        .layer(middleware::from_fn_with_state(state.clone(), cors))
        .merge(refusals)
        .merge(push)
        .with_state(state)
}

pub(crate) fn peer(request: &Request) -> Option<std::net::IpAddr> {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip())
}

/// Refuses browsers on origins that are not the shop's, answers preflights, and adds the CORS
/// headers for allowed origins.
async fn cors(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(origin) = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
    else {
        // Not a browser's cross-origin call: nothing to check.
        return next.run(request).await;
    };
    if !is_allowed_origin(&state.config.allowed_origins, &origin) {
        tracing::info!(
            code = "origin_not_allowed",
            "refused a request from another origin"
        );
        return ApiError::new(
            ErrorCode::OriginNotAllowed,
            "this origin is not one of the shop's allowed origins",
        )
        .into_response();
    }
    let mut response = if request.method() == Method::OPTIONS {
        let requested_headers = request
            .headers()
            .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .cloned();
        let mut response = StatusCode::NO_CONTENT.into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, OPTIONS"),
        );
        if let Some(requested) = requested_headers {
            headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, requested);
        }
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        response
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&origin) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
    }
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("retry-after"),
    );
    headers.append(header::VARY, HeaderValue::from_static("origin"));
    response
}

async fn rate_limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    limited(&state, &state.limiter, request, next).await
}

/// The rate limit of İYS's pushes: the wider one refusal links have, so that the shop's own
/// traffic through the same proxy does not use up İYS's.
async fn wide_rate_limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    limited(&state, &state.refusal_limiter, request, next).await
}

async fn limited(
    state: &AppState,
    limiter: &RateLimiter,
    request: Request,
    next: Next,
) -> Response {
    let address = match client_ip(
        peer(&request),
        request.headers(),
        &state.config.trusted_proxies,
    ) {
        Ok(address) => address.unwrap_or(std::net::IpAddr::from([0, 0, 0, 0])),
        Err(_) => {
            tracing::warn!(
                code = "invalid_forwarded_for",
                "a trusted proxy sent an X-Forwarded-For that does not read"
            );
            return ApiError::new(
                ErrorCode::InvalidForwardedFor,
                "the X-Forwarded-For header a trusted proxy sent does not read",
            )
            .into_response();
        }
    };
    match limiter.check(address, Instant::now()) {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            tracing::info!(
                code = "rate_limited",
                "refused a request over the rate limit"
            );
            ApiError::new(
                ErrorCode::RateLimited,
                "too many requests from this address; try again later",
            )
            .with_retry_after(wait.as_secs_f64().ceil() as u64)
            .into_response()
        }
    }
}

pub(crate) fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

/// A serde error as a message that names what was expected, never the value that was sent.
pub(crate) fn describe_json_error(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let text = text.split(" at line ").next().unwrap_or(&text);
    match text.find(", expected ") {
        Some(index) if text.starts_with("invalid ") => text[index + 2..].to_owned(),
        _ => text.to_owned(),
    }
}

async fn post_consents(
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, ApiError> {
    let peer = peer(&request);
    // The rate limit in front refused a request whose forwarded address does not read.
    let client = client_ip(peer, request.headers(), &state.config.trusted_proxies)
        .ok()
        .flatten();
    if !is_json(request.headers()) {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "expected Content-Type: application/json",
        ));
    }
    let limit = state.config.max_body_bytes;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    let too_large = || {
        ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("the body is larger than {limit} bytes"),
        )
    };
    if declared.is_some_and(|length| length > limit) {
        return Err(too_large());
    }
    let body_timeout = state.config.limits.body_timeout;
    let bytes = match tokio::time::timeout(body_timeout, to_bytes(request.into_body(), limit)).await
    {
        Ok(read) => read.map_err(|_| too_large())?,
        Err(_) => {
            tracing::info!(
                code = "request_timeout",
                "closed a request whose body did not arrive in time"
            );
            return Err(ApiError::new(
                ErrorCode::RequestTimeout,
                format!(
                    "the body did not arrive within {} seconds; nothing was stored",
                    body_timeout.as_secs()
                ),
            ));
        }
    };
    let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
    let batch: ConsentBatch = match serde_path_to_error::deserialize(&mut deserializer) {
        Ok(batch) => batch,
        Err(error) => {
            let path = error.path().to_string();
            let inner = error.into_inner();
            return Err(if inner.is_syntax() || inner.is_eof() {
                ApiError::new(
                    ErrorCode::MalformedJson,
                    format!(
                        "the body is not valid JSON: {}",
                        describe_json_error(&inner)
                    ),
                )
            } else {
                let field = if path == "." { String::new() } else { path };
                let message = format!("{field}: {}", describe_json_error(&inner));
                let error = ApiError::new(ErrorCode::InvalidRecord, message);
                if field.is_empty() {
                    error
                } else {
                    error.with_field(field)
                }
            });
        }
    };
    if deserializer.end().is_err() {
        return Err(ApiError::new(
            ErrorCode::MalformedJson,
            "the body has data after the JSON value",
        ));
    }
    if batch.records.is_empty() {
        return Err(ApiError::new(
            ErrorCode::InvalidRecord,
            "records: expected at least one record",
        )
        .with_field("records"));
    }
    if batch.records.len() > state.config.max_records_per_request {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!(
                "records: expected at most {} records per request, found {}",
                state.config.max_records_per_request,
                batch.records.len()
            ),
        )
        .with_field("records"));
    }
    let received_at = (state.clock)();
    let skew_millis = i64::from(state.config.client_clock_skew_seconds) * 1_000;
    let mut records = Vec::with_capacity(batch.records.len());
    for (index, wire) in batch.records.iter().enumerate() {
        let record = ConsentRecord::from_wire(wire).map_err(|error| {
            let field = format!("records[{index}].{}", error.field());
            tracing::info!(code = error.code().as_str(), reason = error.reason(), field = %field, "refused a record");
            ApiError::new(error.code(), format!("records[{index}].{error}"))
                .with_field(field)
                .with_reason(error.reason())
        })?;
        let age = received_at.unix_millis() - record.consented_at().unix_millis();
        let (moment, origin) = if (0..=skew_millis).contains(&age) {
            (record.consented_at(), ConsentDateOrigin::Client)
        } else {
            (received_at, ConsentDateOrigin::Receipt)
        };
        records.push(NewConsent {
            consent_date: IysDateTime::from_instant(moment),
            consent_date_origin: origin,
            received_at,
            client_ip: client,
            record,
            registered: false,
        });
    }
    if !state.config.accept_unregistered_texts
        && let Some((index, refused)) = unknown_texts(&state, &records).await?
    {
        // Refusals, and consents whose text is known, are stored at once: a refusal is never
        // held back by a consent beside it. The widget sends the request again once the text is
        // registered, and what was stored now comes back as a duplicate.
        let known: Vec<NewConsent> = records
            .into_iter()
            .enumerate()
            .filter(|(position, _)| !refused.contains(position))
            .map(|(_, record)| record)
            .collect();
        if !known.is_empty() {
            state
                .writer
                .store(known)
                .await
                .map_err(|error| match error {
                    WriteError::ConflictingDuplicate(_) => ApiError::new(
                        ErrorCode::ConflictingDuplicate,
                        "a record of this request was stored with another payload; nothing more was stored",
                    ),
                    other => ApiError::storage_unavailable(&other),
                })?;
        }
        return Err(unknown_text_error(&records_text(index)));
    }
    let deadlines: HashMap<String, Timestamp> = records
        .iter()
        .map(|record| {
            (
                record.record.id().to_string(),
                registration_deadline(record.record.consented_at()),
            )
        })
        .collect();
    let receipts = state
        .writer
        .store(records)
        .await
        .map_err(|error| match error {
            WriteError::ConflictingDuplicate(index) => {
                tracing::info!(
                    code = "conflicting_duplicate",
                    index,
                    "refused a record id sent again with another payload"
                );
                ApiError::new(
                    ErrorCode::ConflictingDuplicate,
                    format!("records[{index}].id: this id was stored with another payload; nothing was stored"),
                )
                .with_field(format!("records[{index}].id"))
            }
            other => ApiError::storage_unavailable(&other),
        })?;
    let stored = receipts
        .iter()
        .filter(|receipt| receipt.outcome == consent_core::contract::Outcome::Stored)
        .count();
    tracing::info!(
        records = receipts.len(),
        stored,
        duplicates = receipts.len() - stored,
        "consents received"
    );
    let body = ReceiptBatch {
        records: receipts
            .into_iter()
            .map(|receipt| Receipt {
                late: deadlines
                    .get(&receipt.id)
                    .is_some_and(|deadline| *deadline < received_at),
                id: receipt.id,
                outcome: receipt.outcome,
                consent_date: receipt.consent_date,
                receipt: receipt.receipt,
            })
            .collect(),
    };
    Ok(Json(body).into_response())
}

fn records_text(index: usize) -> String {
    format!("records[{index}].evidence.text")
}

fn unknown_text_error(field: &str) -> ApiError {
    ApiError::new(
        ErrorCode::UnknownText,
        format!(
            "{field}: this text is not registered for its channel and language; register it with `iys-relay texts add`; the request's refusals and registered consents were stored"
        ),
    )
    .with_field(field.to_owned())
}

/// The consents of `records` whose text is not in the register for their channel and language:
/// the first one's index, and every one's. A refusal is never checked: whatever it was shown
/// with, the person refused.
async fn unknown_texts(
    state: &AppState,
    records: &[NewConsent],
) -> Result<Option<(usize, Vec<usize>)>, ApiError> {
    let mut unknown = Vec::new();
    for (index, new) in records.iter().enumerate() {
        if new.record.status() == consent_core::ConsentStatus::Rejected {
            continue;
        }
        let Some(evidence) = new.record.evidence() else {
            continue;
        };
        let key = (
            evidence.text_sha256().to_owned(),
            new.record.channel(),
            evidence.locale(),
        );
        let cached = state
            .known_texts
            .read()
            .is_ok_and(|known| known.contains(&key));
        if cached {
            continue;
        }
        let lookup = state.store.registered_text(&key.0, key.1, key.2);
        let found = tokio::time::timeout(state.config.storage_timeout(), lookup)
            .await
            .map_err(|_| {
                ApiError::storage_unavailable(&"the register of texts did not answer in time")
            })?
            .map_err(|error| ApiError::storage_unavailable(&error))?;
        if found.is_some() {
            if let Ok(mut known) = state.known_texts.write() {
                known.insert(key);
            }
            continue;
        }
        tracing::info!(code = "unknown_text", field = %records_text(index), channel = %key.1, locale = %key.2, sha256 = %key.0, "refused a record whose text is not registered");
        unknown.push(index);
    }
    Ok(unknown.first().map(|first| (*first, unknown.clone())))
}

/// One channel's state in the preference centre.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ChannelStateBody {
    channel: Channel,
    status: Option<consent_core::ConsentStatus>,
    consent_date: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct StateBody {
    recipient_type: consent_core::RecipientType,
    channels: Vec<ChannelStateBody>,
}

fn unauthorized(why: &str) -> ApiError {
    tracing::info!(code = "unauthorized", why, "refused a state request");
    ApiError::new(
        ErrorCode::Unauthorized,
        "a valid preference-centre token for this recipient is required",
    )
}

async fn get_state(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let secret = state
        .config
        .state_token_secret
        .as_deref()
        .ok_or_else(|| unauthorized("no state token secret is configured"))?;
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .ok_or_else(|| unauthorized("missing bearer token"))?;
    let now = (state.clock)().unix_seconds();
    let grant =
        token::verify(secret, token.trim(), now).map_err(|error| unauthorized(error.describe()))?;
    // Whom the page asks about is whom the token was signed for: the address never travels in
    // a URL, where proxies and logs would keep it.
    if let Some(named) = ["phone", "email"]
        .into_iter()
        .find(|name| query.contains_key(*name))
    {
        return Err(ApiError::new(
            ErrorCode::InvalidRecord,
            format!("{named}: the person's address belongs in the token, never in the URL"),
        )
        .with_field(named));
    }
    let mut addresses = Vec::new();
    if let Some(phone) = &grant.phone {
        addresses.push((Channel::Sms, phone.clone()));
        addresses.push((Channel::Call, phone.clone()));
    }
    if let Some(email) = &grant.email {
        addresses.push((Channel::Email, email.clone()));
    }
    let states = state
        .store
        .current_state(&addresses, grant.recipient_type)
        .await
        .map_err(|error| ApiError::storage_unavailable(&error))?;
    let channels = addresses
        .iter()
        .map(|(channel, _)| {
            let found = states.iter().find(|state| state.channel == *channel);
            ChannelStateBody {
                channel: *channel,
                status: found.map(|state| state.status),
                consent_date: found.map(|state| state.consent_date.clone()),
            }
        })
        .collect();
    Ok(Json(StateBody {
        recipient_type: grant.recipient_type,
        channels,
    })
    .into_response())
}

/// 200 while the database answers and the writer commits; 503 while either fails, so a load
/// balancer sends the shop's pages elsewhere and an operator sees it.
async fn health(State(state): State<AppState>) -> Response {
    let deadline = state.config.storage_timeout();
    let answers = match tokio::time::timeout(deadline, state.store.health()).await {
        Ok(Ok(())) => true,
        Ok(Err(error)) => {
            tracing::error!(error = %error, "health check found the database unavailable");
            false
        }
        Err(_) => {
            tracing::error!("health check: the database did not answer in time");
            false
        }
    };
    if answers && state.writer.is_healthy() {
        Json(serde_json::json!({"status": "ok"})).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "5")],
            Json(serde_json::json!({"status": "unavailable"})),
        )
            .into_response()
    }
}

/// `POST /v1/iys/push`: citizens' movements İYS pushes, with the Basic authentication the relay
/// registered. They are applied like pulled ones, once each by their transaction id; İYS's test
/// record and movements for other accounts are taken and left aside.
async fn take_push(State(state): State<AppState>, request: Request) -> Result<Response, ApiError> {
    let (Some(iys_code), Some(brand_code)) =
        (state.config.iys.iys_code, state.config.iys.brand_code)
    else {
        return Err(ApiError::new(
            ErrorCode::Unauthorized,
            "this relay has no İYS account to take pushes for",
        ));
    };
    let credentials = state
        .store
        .stored_push_credentials()
        .await
        .map_err(|error| ApiError::storage_unavailable(&error))?;
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "))
        .and_then(|encoded| {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .ok()
        })
        .and_then(|bytes| String::from_utf8(bytes).ok());
    let allowed = match (&credentials, presented) {
        (Some(credentials), Some(presented)) => same_secret(
            &format!("{}:{}", credentials.username, credentials.password),
            &presented,
        ),
        _ => false,
    };
    if !allowed {
        tracing::info!(
            code = "unauthorized",
            "refused a push without the registered credentials"
        );
        let mut response = ApiError::new(
            ErrorCode::Unauthorized,
            "a push needs the Basic authentication the relay registered with İYS",
        )
        .into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"iys-relay push\""),
        );
        return Ok(response);
    }
    let body = read_body(&state, request.into_body(), 1 << 20).await?;
    let batch: consent_core::iys::wire::PushBatch =
        serde_json::from_slice(&body).map_err(|error| {
            // Something İYS sent that this version cannot read: the pull brings the same
            // movements, and stops before one that does not read, for a person to look.
            tracing::error!(error = %describe_json_error(&error), "İYS pushed a body the relay cannot read");
            ApiError::new(ErrorCode::MalformedJson, "the push is not İYS's push body")
        })?;
    let (movements, unreadable) = crate::forwarder::push::read_pushed(&batch, iys_code, brand_code);
    let applied = tokio::time::timeout(
        state.config.storage_timeout(),
        state.store.apply_pulled(&movements, None, (state.clock)()),
    )
    .await
    .map_err(|_| ApiError::storage_unavailable(&"applying the push took too long"))?
    .map_err(|error| ApiError::storage_unavailable(&error))?;
    tracing::info!(
        listed = batch.list.len(),
        applied,
        unreadable = unreadable.len(),
        "took İYS's push"
    );
    Ok(Json(serde_json::json!({ "applied": applied, "unreadable": unreadable })).into_response())
}

/// A body of at most `limit` bytes that arrives within the body timeout (at least a second), or
/// 413 `payload_too_large` saying either went wrong; for the endpoints the shop's backend and
/// İYS call, whose bodies may be larger than the widget's.
pub async fn read_body(
    state: &AppState,
    body: Body,
    limit: usize,
) -> Result<axum::body::Bytes, ApiError> {
    tokio::time::timeout(
        state
            .config
            .limits
            .body_timeout
            .max(std::time::Duration::from_secs(1)),
        to_bytes(body, limit),
    )
    .await
    .ok()
    .and_then(Result::ok)
    .ok_or_else(|| {
        ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("the body is larger than {limit} bytes or did not arrive in time"),
        )
    })
}

/// Whether `headers` carry `Authorization: Bearer <token>` with the configured `token`; never
/// when none is configured. The two are compared through their digests, so the time taken says
/// nothing of the token.
pub fn bearer_matches(headers: &HeaderMap, token: Option<&str>) -> bool {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim);
    match (token, presented) {
        (Some(token), Some(presented)) => same_secret(token, presented),
        _ => false,
    }
}

/// Whether `presented` is the secret `expected`, compared through their digests, so the time
/// taken says nothing of the secret.
fn same_secret(expected: &str, presented: &str) -> bool {
    use sha2::Digest;
    sha2::Sha256::digest(expected.as_bytes()) == sha2::Sha256::digest(presented.as_bytes())
}

/// An empty body, for tests that build requests.
pub fn empty_body() -> Body {
    Body::empty()
}

/// Prometheus text: pending records, the oldest one's age and time left to its deadline,
/// records per İYS outcome and refusals per H-code.
///
/// It answers only the bearer of `RELAY_METRICS_TOKEN`, and one scrape at a time within the
/// storage deadline, so that its queries cannot take the connections the writer needs.
async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !bearer_matches(&headers, state.config.metrics_token.as_deref()) {
        tracing::info!(code = "unauthorized", "refused a metrics request");
        return ApiError::new(
            ErrorCode::Unauthorized,
            "/metrics needs Authorization: Bearer with RELAY_METRICS_TOKEN",
        )
        .into_response();
    }
    let Ok(_scrape) = state.metrics_scrape.clone().try_acquire_owned() else {
        return ApiError::new(
            ErrorCode::RateLimited,
            "another metrics scrape is running; try again shortly",
        )
        .with_retry_after(1)
        .into_response();
    };
    let deadline = state.config.storage_timeout();
    let counts = match tokio::time::timeout(deadline, state.store.forwarding_counts()).await {
        Ok(Ok(counts)) => counts,
        Ok(Err(error)) => return ApiError::storage_unavailable(&error).into_response(),
        Err(_) => {
            return ApiError::storage_unavailable(&"the metrics queries took too long")
                .into_response();
        }
    };
    let now = (state.clock)();
    let mut text = String::new();
    let pending = counts
        .by_state
        .iter()
        .find(|(name, _)| name == "pending")
        .map_or(0, |(_, count)| *count);
    text.push_str("# HELP iys_relay_pending_records Records not yet settled with İYS.\n# TYPE iys_relay_pending_records gauge\n");
    text.push_str(&format!("iys_relay_pending_records {pending}\n"));
    if let Some(oldest) = counts.oldest_pending_consent_ms {
        let oldest = Timestamp::from_unix_millis(oldest);
        let age = (now.unix_millis() - oldest.unix_millis()) as f64 / 1_000.0;
        let left = (consent_core::calendar::conservative_deadline(oldest).unix_millis()
            - now.unix_millis()) as f64
            / 1_000.0;
        text.push_str("# HELP iys_relay_oldest_pending_age_seconds Age of the oldest pending record's consent.\n# TYPE iys_relay_oldest_pending_age_seconds gauge\n");
        text.push_str(&format!("iys_relay_oldest_pending_age_seconds {age}\n"));
        text.push_str("# HELP iys_relay_seconds_to_deadline Time left before the oldest pending record misses İYS's window.\n# TYPE iys_relay_seconds_to_deadline gauge\n");
        text.push_str(&format!("iys_relay_seconds_to_deadline {left}\n"));
    }
    text.push_str(
        "# HELP iys_relay_records Records by İYS outcome.\n# TYPE iys_relay_records gauge\n",
    );
    for (name, count) in &counts.by_state {
        text.push_str(&format!("iys_relay_records{{state=\"{name}\"}} {count}\n"));
    }
    text.push_str("# HELP iys_relay_refused_records Records İYS refused, by H-code.\n# TYPE iys_relay_refused_records gauge\n");
    for (code, count) in &counts.refused_by_code {
        text.push_str(&format!(
            "iys_relay_refused_records{{code=\"{code}\"}} {count}\n"
        ));
    }
    if let Some(last) = &counts.last_reconciliation {
        let midnight = consent_core::time::CivilDate::parse_iso(&last.day)
            .and_then(|day| consent_core::time::TurkeyTime::new(day, 0))
            .and_then(consent_core::time::TurkeyTime::to_instant)
            .map_or(0, Timestamp::unix_seconds);
        text.push_str("# HELP iys_relay_reconciled_day_timestamp_seconds The newest day reconciled with İYS's daily change file, as its Turkish midnight.\n# TYPE iys_relay_reconciled_day_timestamp_seconds gauge\n");
        text.push_str(&format!(
            "iys_relay_reconciled_day_timestamp_seconds {midnight}\n"
        ));
        text.push_str("# HELP iys_relay_reconciliation_movements Movements of that day in İYS's file: listed, known to the relay, applied by the reconciliation, waiting for confirmation.\n# TYPE iys_relay_reconciliation_movements gauge\n");
        for (kind, count) in [
            ("listed", last.listed),
            ("known", last.known),
            ("applied", last.applied),
            ("waiting", last.waiting),
        ] {
            text.push_str(&format!(
                "iys_relay_reconciliation_movements{{kind=\"{kind}\"}} {count}\n"
            ));
        }
        text.push_str("# HELP iys_relay_reconciliation_unlisted Records of that day the relay holds as accepted that İYS does not list, left for a person.\n# TYPE iys_relay_reconciliation_unlisted gauge\n");
        text.push_str(&format!(
            "iys_relay_reconciliation_unlisted {}\n",
            last.unlisted
        ));
    }
    let notices = match tokio::time::timeout(deadline, state.store.notice_counts(now)).await {
        Ok(Ok(counts)) => counts,
        Ok(Err(error)) => return ApiError::storage_unavailable(&error).into_response(),
        Err(_) => {
            return ApiError::storage_unavailable(&"the metrics queries took too long")
                .into_response();
        }
    };
    text.push_str("# HELP iys_relay_notices Same-day notices by state: pending (not delivered yet), sent, missed (the day ended first).\n# TYPE iys_relay_notices gauge\n");
    for (name, count) in [
        ("pending", notices.pending),
        ("sent", notices.sent),
        ("missed", notices.missed),
    ] {
        text.push_str(&format!("iys_relay_notices{{state=\"{name}\"}} {count}\n"));
    }
    text.push_str("# HELP iys_relay_notices_failing Pending notices whose delivery failed at least once.\n# TYPE iys_relay_notices_failing gauge\n");
    text.push_str(&format!("iys_relay_notices_failing {}\n", notices.failing));
    text.push_str("# HELP iys_relay_notices_at_risk Pending notices whose Turkish day ends within the hour.\n# TYPE iys_relay_notices_at_risk gauge\n");
    text.push_str(&format!("iys_relay_notices_at_risk {}\n", notices.at_risk));
    text.push_str("# HELP iys_relay_consents_without_notice Granted consents no notice tells of: stored before notices were set up, or of a kind no notice is sent for.\n# TYPE iys_relay_consents_without_notice gauge\n");
    text.push_str(&format!(
        "iys_relay_consents_without_notice {}\n",
        notices.without_notice
    ));
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}
