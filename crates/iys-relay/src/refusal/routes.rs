//! `GET|POST /v1/refusals/{token}`, the page a refusal link opens and the refusal it records, and
//! `POST /v1/refusal-links`, which mints links for the shop's backend.

use axum::body::to_bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, routing};
use chacha20poly1305::aead::OsRng;
use chacha20poly1305::aead::rand_core::RngCore;
use consent_core::contract::ErrorCode;
use consent_core::refusal::{LinkAction, LinkRefusal, mask, page_statement, page_text, page_words};
use consent_core::{
    Channel, ConsentRecord, ConsentStatus, IysDateTime, Locale, Recipient, RecipientType, RecordId,
    Timestamp,
};
use serde::{Deserialize, Serialize};

use super::page::{Body, render};
use super::{Link, TokenError, url};
use crate::api::{AppState, bearer_matches, describe_json_error, is_json, peer, read_body};
use crate::config::Config;
use crate::crypto::Keyring;
use crate::error::ApiError;
use crate::protect::client_ip;
use crate::store::{ConsentDateOrigin, NewConsent, StoreError};

/// The most recipients one `POST /v1/refusal-links` may ask links for.
pub const MAX_LINKS_PER_REQUEST: usize = 1_000;

/// The routes; the caller adds the rate limit.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/refusals/{token}",
            routing::get(show_page).post(record_refusal),
        )
        .route("/v1/refusal-links", routing::post(mint_links))
}

/// The URL of `link`, made with the current key, expiring as the settings say; none without
/// `RELAY_PUBLIC_URL`, since a link to an address only this machine reaches would not work.
pub fn mint(config: &Config, keyring: &Keyring, mut link: Link, now: Timestamp) -> Option<String> {
    let base = config.public_url.as_deref()?;
    link.expires = config
        .refusal_link_days
        .map(|days| now.unix_seconds() + i64::from(days) * 86_400);
    let key = &keyring.link_keys()[0];
    Some(url(base, &link.seal(key)))
}

/// The rate limit of refusal links, per client address: ten times the API's, and answered with
/// the page in the browser's language.
pub async fn rate_limit(
    State(state): State<AppState>,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    let address = client_ip(
        peer(&request),
        request.headers(),
        &state.config.trusted_proxies,
    )
    .ok()
    .flatten()
    .unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
    match state
        .refusal_limiter
        .check(address, std::time::Instant::now())
    {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            tracing::info!(
                code = "rate_limited",
                "refused a refusal-link request over the rate limit"
            );
            let locale = browser_locale(request.headers());
            let mut response = render(
                StatusCode::TOO_MANY_REQUESTS,
                locale,
                &state.config.brand_name,
                Body::Message(page_words(locale).unavailable),
            );
            if let Ok(seconds) =
                header::HeaderValue::from_str(&(wait.as_secs_f64().ceil() as u64).to_string())
            {
                response.headers_mut().insert(header::RETRY_AFTER, seconds);
            }
            response
        }
    }
}

/// The language the visitor's browser asks for, for a page shown before a link is read.
fn browser_locale(headers: &HeaderMap) -> Locale {
    let asked = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    let first = asked.split(',').next().unwrap_or("").trim();
    if first.to_ascii_lowercase().starts_with("en") {
        Locale::English
    } else {
        Locale::Turkish
    }
}

/// Opens `token`, or answers with the page that says why it does not open.
fn open(state: &AppState, token: &str, headers: &HeaderMap) -> Result<Link, Box<Response>> {
    let now = (state.clock)().unix_seconds();
    Link::open(state.store.keyring().link_keys(), token, now).map_err(|error| {
        let locale = browser_locale(headers);
        let words = page_words(locale);
        let (status, message) = match error {
            TokenError::Invalid => (StatusCode::NOT_FOUND, words.invalid),
            TokenError::Expired => (StatusCode::GONE, words.expired),
        };
        tracing::info!(
            code = match error {
                TokenError::Invalid => "invalid_refusal_link",
                TokenError::Expired => "expired_refusal_link",
            },
            "a refusal link did not open"
        );
        Box::new(render(
            status,
            locale,
            &state.config.brand_name,
            Body::Message(message),
        ))
    })
}

/// Whether every channel of `link` has a refusal as its latest decision.
async fn refused_already(state: &AppState, link: &Link) -> Result<bool, StoreError> {
    let normalised = link.recipient.normalised();
    let addresses: Vec<(Channel, String)> = link
        .channels
        .iter()
        .map(|channel| (*channel, normalised.clone()))
        .collect();
    let states = state
        .store
        .current_state(&addresses, link.recipient_type)
        .await?;
    Ok(states.len() == link.channels.len()
        && states
            .iter()
            .all(|state| state.status == ConsentStatus::Rejected))
}

fn unavailable(state: &AppState, locale: Locale, error: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %error, "a refusal link could not read or write the database");
    let mut response = render(
        StatusCode::SERVICE_UNAVAILABLE,
        locale,
        &state.config.brand_name,
        Body::Message(page_words(locale).unavailable),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from_static("30"));
    response
}

/// `GET /v1/refusals/{token}`: the page with the button, or the word that there is nothing to
/// do. Opening the page records nothing, since mail scanners and link previews open links too.
async fn show_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let link = match open(&state, &token, &headers) {
        Ok(link) => link,
        Err(page) => return *page,
    };
    let brand = &state.config.brand_name;
    let deadline = state.config.storage_timeout();
    match tokio::time::timeout(deadline, refused_already(&state, &link)).await {
        Ok(Ok(true)) => render(
            StatusCode::OK,
            link.locale,
            brand,
            Body::Message(page_words(link.locale).already),
        ),
        Ok(Ok(false)) => {
            let statement =
                page_statement(link.locale, brand, &mask(&link.recipient), &link.channels);
            render(
                StatusCode::OK,
                link.locale,
                brand,
                Body::Form {
                    statement: &statement,
                },
            )
        }
        Ok(Err(error)) => unavailable(&state, link.locale, &error),
        Err(_) => unavailable(&state, link.locale, &"the state query took too long"),
    }
}

/// How a request to a refusal link asks to refuse, read from its form body: the page's button
/// sends `refuse=yes`, a mail client RFC 8058's `List-Unsubscribe=One-Click`, either as
/// `application/x-www-form-urlencoded` or as `multipart/form-data`.
fn action_of(body: &[u8]) -> Option<LinkAction> {
    let text = std::str::from_utf8(body).ok()?;
    let pairs: Vec<&str> = text.trim().split('&').collect();
    if pairs.contains(&"List-Unsubscribe=One-Click") {
        return Some(LinkAction::OneClick);
    }
    if pairs.contains(&"refuse=yes") {
        return Some(LinkAction::Button);
    }
    let multipart_one_click = text.contains("name=\"List-Unsubscribe\"")
        && text
            .split("name=\"List-Unsubscribe\"")
            .nth(1)
            .is_some_and(|rest| {
                rest.trim_start().starts_with("One-Click") || rest.contains("\r\n\r\nOne-Click")
            });
    multipart_one_click.then_some(LinkAction::OneClick)
}

/// `POST /v1/refusals/{token}`: records the refusal, one record per channel of the link that has
/// not refused already, and forwards it to İYS like every refusal.
async fn record_refusal(
    State(state): State<AppState>,
    Path(token): Path<String>,
    request: Request,
) -> Response {
    let headers = request.headers().clone();
    let link = match open(&state, &token, &headers) {
        Ok(link) => link,
        Err(page) => return *page,
    };
    let brand = state.config.brand_name.clone();
    let client = client_ip(peer(&request), &headers, &state.config.trusted_proxies)
        .ok()
        .flatten();
    let masked = mask(&link.recipient);
    let body = tokio::time::timeout(
        state.config.limits.body_timeout,
        to_bytes(request.into_body(), 4_096),
    )
    .await
    .ok()
    .and_then(Result::ok);
    let Some(action) = body.as_deref().and_then(action_of) else {
        return render(
            StatusCode::BAD_REQUEST,
            link.locale,
            &brand,
            Body::Retry {
                statement: &page_statement(link.locale, &brand, &masked, &link.channels),
            },
        );
    };
    let text = match action {
        LinkAction::Button => page_text(link.locale, &brand, &masked, &link.channels),
        LinkAction::OneClick => String::new(),
    };
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    let evidence = LinkRefusal::new(
        action,
        &text,
        link.locale,
        link.notice.map(|id| id.to_string()),
        link.reference.clone(),
        user_agent,
    );
    let now = (state.clock)();
    let mut refusals = Vec::with_capacity(link.channels.len());
    for channel in &link.channels {
        let mut random = [0_u8; 10];
        OsRng.fill_bytes(&mut random);
        let id = RecordId::v7(now.unix_millis().max(0) as u64, random);
        let record = match ConsentRecord::refused_by_link(
            id,
            *channel,
            link.recipient.clone(),
            link.recipient_type,
            now,
            evidence.clone(),
        ) {
            Ok(record) => record,
            // A link opens only when its channels fit its address.
            Err(error) => return unavailable(&state, link.locale, &error),
        };
        refusals.push(NewConsent {
            record,
            received_at: now,
            consent_date: IysDateTime::from_instant(now),
            consent_date_origin: ConsentDateOrigin::Receipt,
            client_ip: client,
            registered: false,
        });
    }
    let deadline = state.config.storage_timeout();
    match tokio::time::timeout(deadline, state.store.store_refusal(&refusals)).await {
        Ok(Ok(stored)) if stored.is_empty() => render(
            StatusCode::OK,
            link.locale,
            &brand,
            Body::Message(page_words(link.locale).already),
        ),
        Ok(Ok(stored)) => {
            tracing::info!(
                records = stored.len(),
                action = action.as_str(),
                "refusal recorded through a link"
            );
            render(
                StatusCode::OK,
                link.locale,
                &brand,
                Body::Message(page_words(link.locale).done),
            )
        }
        Ok(Err(error)) => unavailable(&state, link.locale, &error),
        Err(_) => unavailable(&state, link.locale, &"storing the refusal took too long"),
    }
}

/// The body of `POST /v1/refusal-links`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct MintRequest {
    recipients: Vec<MintRecipient>,
    /// The shop's reference for the message the links go in, such as a campaign's id.
    #[serde(default)]
    reference: Option<String>,
}

/// One recipient to mint a link for.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct MintRecipient {
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    /// For a phone number: `sms`, `call` or both. An e-mail address needs none.
    #[serde(default)]
    channels: Vec<Channel>,
    #[serde(default = "individual")]
    recipient_type: RecipientType,
    #[serde(default = "turkish")]
    locale: Locale,
}

impl std::fmt::Debug for MintRecipient {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The addresses are personal data.
        formatter
            .debug_struct("MintRecipient")
            .field("channels", &self.channels)
            .finish_non_exhaustive()
    }
}

fn individual() -> RecipientType {
    RecipientType::Individual
}

fn turkish() -> Locale {
    Locale::Turkish
}

/// One minted link, in the order of the request.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct MintedLink {
    url: String,
    channels: Vec<Channel>,
}

#[derive(Debug, Serialize)]
struct MintResponse {
    links: Vec<MintedLink>,
}

/// The link for one recipient of a minting request, or the error that names its field.
fn link_for(index: usize, asked: &MintRecipient) -> Result<Link, ApiError> {
    let field = |name: &str| format!("recipients[{index}].{name}");
    let invalid = |name: &str, message: String| {
        ApiError::new(
            ErrorCode::InvalidRecipient,
            format!("{}: {message}", field(name)),
        )
        .with_field(field(name))
    };
    let (recipient, channels, name) = match (&asked.email, &asked.phone) {
        (Some(email), None) => {
            if asked
                .channels
                .iter()
                .any(|channel| *channel != Channel::Email)
            {
                return Err(invalid(
                    "channels",
                    "an e-mail address is refused on email only".to_owned(),
                ));
            }
            let address = Recipient::parse_for(Channel::Email, email)
                .map_err(|error| invalid("email", error.to_string()))?;
            (address, vec![Channel::Email], "email")
        }
        (None, Some(phone)) => {
            if asked.channels.is_empty() {
                return Err(invalid(
                    "channels",
                    "expected sms, call or both for a phone number".to_owned(),
                ));
            }
            // Checked for its first channel; `Link::new` checks every channel fits it.
            let address = Recipient::parse_for(asked.channels[0], phone)
                .map_err(|error| invalid("phone", error.to_string()))?;
            (address, asked.channels.clone(), "phone")
        }
        _ => {
            return Err(ApiError::new(
                ErrorCode::InvalidRecord,
                format!("{}: expected exactly one of email and phone", field("")),
            )
            .with_field(format!("recipients[{index}]")));
        }
    };
    Link::new(recipient, &channels, asked.recipient_type, asked.locale).map_err(|error| {
        invalid(
            if name == "email" { "email" } else { "channels" },
            error.to_string(),
        )
    })
}

/// `POST /v1/refusal-links`, for the bearer of `RELAY_API_TOKEN`: one link per recipient, in the
/// order asked, for the shop's own messages.
async fn mint_links(State(state): State<AppState>, request: Request) -> Result<Response, ApiError> {
    if !bearer_matches(request.headers(), state.config.api_token.as_deref()) {
        tracing::info!(code = "unauthorized", "refused a refusal-links request");
        return Err(ApiError::new(
            ErrorCode::Unauthorized,
            "/v1/refusal-links needs Authorization: Bearer with RELAY_API_TOKEN",
        ));
    }
    if !is_json(request.headers()) {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "expected Content-Type: application/json",
        ));
    }
    let body = read_body(&state, request.into_body(), 1 << 20).await?;
    let asked: MintRequest = serde_json::from_slice(&body).map_err(|error| {
        let code = if error.is_syntax() || error.is_eof() {
            ErrorCode::MalformedJson
        } else {
            ErrorCode::InvalidRecord
        };
        ApiError::new(code, describe_json_error(&error))
    })?;
    if asked.recipients.is_empty() || asked.recipients.len() > MAX_LINKS_PER_REQUEST {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("recipients: expected 1 to {MAX_LINKS_PER_REQUEST} recipients"),
        )
        .with_field("recipients"));
    }
    if state.config.public_url.is_none() {
        return Err(ApiError::new(
            ErrorCode::Internal,
            "RELAY_PUBLIC_URL is not set: the relay does not know the address people reach it at",
        ));
    }
    let now = (state.clock)();
    let keyring = state.store.keyring();
    let mut links = Vec::with_capacity(asked.recipients.len());
    for (index, recipient) in asked.recipients.iter().enumerate() {
        let link = link_for(index, recipient)?
            .with_reference(asked.reference.clone())
            .map_err(|error| {
                ApiError::new(ErrorCode::InvalidRecord, format!("reference: {error}"))
                    .with_field("reference")
            })?;
        links.push(MintedLink {
            channels: link.channels.clone(),
            url: mint(&state.config, keyring, link, now).unwrap_or_default(),
        });
    }
    tracing::info!(links = links.len(), "refusal links minted");
    Ok(Json(MintResponse { links }).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_button_and_both_forms_of_one_click() {
        assert_eq!(action_of(b"refuse=yes"), Some(LinkAction::Button));
        assert_eq!(
            action_of(b"List-Unsubscribe=One-Click"),
            Some(LinkAction::OneClick)
        );
        let multipart = b"--b\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--b--\r\n";
        assert_eq!(action_of(multipart), Some(LinkAction::OneClick));
        assert_eq!(action_of(b""), None);
        assert_eq!(action_of(b"refuse=no"), None);
        assert_eq!(action_of(b"List-Unsubscribe=Maybe"), None);
    }
}
