//! The İYS client of the forwarder: the account's tokens (cached, refreshed before they
//! expire, and none asked for an hour after H084, since an early retry restarts İYS's counter),
//! every call within the request budget shared through the database by every relay instance,
//! and İYS's answers and error codes read typed.

use std::sync::Arc;
use std::time::Duration;

use consent_core::iys::errors::{Disposition, disposition};
use consent_core::iys::wire::{
    AddConsentResponse, ChangesResponse, IysConsent, IysErrorBody, IysPaths, TokenRequest,
    TokenResponse,
};
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;

use super::IysAccount;
use crate::clock::Clock;
use crate::store::Store;

#[derive(Default)]
pub(super) struct Tokens {
    access: Option<(String, i64)>,
    refresh: Option<(String, i64)>,
    halted_until: i64,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The tokens are secrets: only when they expire is shown.
        formatter
            .debug_struct("Tokens")
            .field("access_expires", &self.access.as_ref().map(|(_, at)| at))
            .field("refresh_expires", &self.refresh.as_ref().map(|(_, at)| at))
            .field("halted_until", &self.halted_until)
            .finish()
    }
}

/// Why a call to İYS did not succeed.
#[derive(Debug)]
pub(super) enum CallError {
    /// No answer: a network error or the timeout.
    Network,
    /// İYS answered with an error.
    Iys { status: u16, code: String },
    /// No token can be had until this moment (after H084).
    Halted(i64),
    /// İYS refused the account itself: credentials, rights or subscription.
    Account(String),
}

/// Calls İYS for one account.
#[derive(Clone)]
pub(super) struct IysClient {
    account: Arc<IysAccount>,
    http: reqwest::Client,
    tokens: Arc<Mutex<Tokens>>,
    /// Where the request budget shared by every instance is kept.
    store: Store,
    requests_per_second: u32,
    clock: Clock,
}

impl IysClient {
    /// A client for `account` whose requests take at most `timeout`, within
    /// `requests_per_second` shared through `store`.
    pub(super) fn new(
        account: IysAccount,
        timeout: Duration,
        requests_per_second: u32,
        store: Store,
        clock: Clock,
    ) -> Result<IysClient, String> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|error| format!("cannot build the İYS client: {error}"))?;
        Ok(IysClient {
            account: Arc::new(account),
            http,
            tokens: Arc::default(),
            store,
            requests_per_second,
            clock,
        })
    }

    /// The account, for debug output (its password stays out of it).
    pub(super) fn account(&self) -> &IysAccount {
        &self.account
    }

    /// The paths of this account.
    pub(super) fn paths(&self) -> IysPaths {
        IysPaths::new(self.account.iys_code, self.account.brand_code)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.account.base_url.trim_end_matches('/'))
    }

    /// Sends one request to İYS with the cached token and one permit from the shared budget,
    /// and renews the token and sends once more if İYS says it expired; the answer's status and
    /// body.
    async fn send<B: serde::Serialize>(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&B>,
    ) -> Result<(u16, String), CallError> {
        for _ in 0..2 {
            let token = self.token().await?;
            self.permit().await.map_err(|_| CallError::Network)?;
            let mut request = self
                .http
                .request(method.clone(), self.url(path))
                .bearer_auth(&token)
                .query(query);
            if let Some(body) = body {
                request = request.json(body);
            }
            let response = request.send().await.map_err(|_| CallError::Network)?;
            let status = response.status().as_u16();
            let text = response.text().await.map_err(|_| CallError::Network)?;
            if status == 401 || (!(200..300).contains(&status) && error_code(&text) == "H351") {
                // The token expired early or was revoked: forget it and try once more.
                self.tokens.lock().await.access = None;
                continue;
            }
            return Ok((status, text));
        }
        Err(CallError::Iys {
            status: 401,
            code: "H351".to_owned(),
        })
    }

    /// Calls İYS; İYS's answer read as `T`, or `None` for an empty one.
    pub(super) async fn call<B: serde::Serialize, T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<Option<T>, CallError> {
        let (status, text) = self.send(method, path, &[], body).await?;
        if (200..300).contains(&status) {
            // An empty body, or a JSON `null`: İYS has nothing to say (a status query's key it
            // holds nothing for).
            if matches!(text.trim(), "" | "null") {
                return Ok(None);
            }
            // An answer that is not İYS's counts as no answer: the same body goes again, and V2
            // answers an identical repeat with the same transaction.
            return serde_json::from_str(&text)
                .map(Some)
                .map_err(|_| CallError::Network);
        }
        if status == 404 && serde_json::from_str::<IysErrorBody>(&text).is_err() {
            // Not İYS's error body (a proxy's page, a wrong path): no answer from İYS.
            tracing::warn!("a 404 without İYS's error body; treated as no answer");
            return Err(CallError::Network);
        }
        let code = error_code(&text);
        if disposition(&code, Some(status)) == Disposition::Account {
            return Err(CallError::Account(code));
        }
        Err(CallError::Iys { status, code })
    }

    /// Sends one consent through single add V2.
    pub(super) async fn call_add(
        &self,
        path: &str,
        body: &IysConsent,
    ) -> Result<AddConsentResponse, CallError> {
        // A 2xx without İYS's answer counts as no answer; the same body goes again.
        self.call(reqwest::Method::POST, path, Some(body))
            .await?
            .ok_or(CallError::Network)
    }

    /// İYS's daily change file of `day` as text; `None` when İYS has none (204: nothing was
    /// registered that day).
    pub(super) async fn daily_file(
        &self,
        day: consent_core::time::CivilDate,
    ) -> Result<Option<String>, String> {
        let path = self.paths().daily_file(day);
        let get = || self.send::<()>(reqwest::Method::GET, &path, &[], None);
        // A refused refresh token is a `Network` error, after which the next try signs in with
        // the password.
        let (status, text) = match get().await {
            Err(CallError::Network) => get().await,
            answer => answer,
        }
        .map_err(|error| {
            format!("no answer from İYS to the daily change file of {day}: {error:?}")
        })?;
        match status {
            204 => Ok(None),
            200..300 => Ok(Some(text)),
            _ => Err(format!(
                "İYS answered {status} {} to the daily change file of {day}",
                error_code(&text)
            )),
        }
    }

    /// A page of İYS's changes made by citizens after the cursor `after` (from the start
    /// without one), up to 1000; `None` when İYS has nothing new (204).
    pub(super) async fn changes(
        &self,
        after: Option<&str>,
    ) -> Result<Option<ChangesResponse>, String> {
        let mut query = vec![("source", "IYS"), ("limit", "1000")];
        if let Some(after) = after {
            query.push(("after", after));
        }
        let (status, text) = self
            .send::<()>(reqwest::Method::GET, &self.paths().changes(), &query, None)
            .await
            .map_err(|error| format!("no answer from İYS to the pull: {error:?}"))?;
        match status {
            204 => Ok(None),
            200..300 => serde_json::from_str(&text)
                .map(Some)
                .map_err(|error| error.to_string()),
            _ => Err(format!("İYS answered {status} to the pull")),
        }
    }

    /// Takes one request from the budget shared through the database, waiting for the next
    /// second when this one's is spent.
    pub(super) async fn permit(&self) -> Result<(), crate::store::StoreError> {
        for _ in 0..50 {
            let now = (self.clock)();
            if self
                .store
                .take_request_permit(self.requests_per_second)
                .await?
            {
                return Ok(());
            }
            let next_second = (now.unix_seconds() + 1) * 1_000;
            tokio::time::sleep(Duration::from_millis(
                (next_second - now.unix_millis()).max(1) as u64,
            ))
            .await;
        }
        Err(crate::store::StoreError::Corrupt(
            "no request budget for 50 seconds".to_owned(),
        ))
    }

    /// A valid access token: cached, refreshed, or new.
    pub(super) async fn token(&self) -> Result<String, CallError> {
        let mut tokens = self.tokens.lock().await;
        let now = (self.clock)().unix_seconds();
        if let Some((access, expires)) = &tokens.access
            && *expires > now + 300
        {
            return Ok(access.clone());
        }
        if tokens.halted_until > now {
            return Err(CallError::Halted(tokens.halted_until));
        }
        let refresh = tokens
            .refresh
            .clone()
            .filter(|(_, expires)| *expires > now + 60);
        let body = match &refresh {
            Some((refresh, _)) => TokenRequest::RefreshToken {
                refresh_token: refresh.clone(),
            },
            None => TokenRequest::Password {
                username: self.account.username.clone(),
                password: self.account.password.clone(),
            },
        };
        self.permit().await.map_err(|_| CallError::Network)?;
        let response = self
            .http
            .post(self.url(IysPaths::TOKEN))
            .json(&body)
            .send()
            .await
            .map_err(|_| CallError::Network)?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(|_| CallError::Network)?;
        if status == 429 || error_code(&text) == "H084" {
            tracing::error!("İYS's hourly token limit is reached; no token request for an hour");
            tokens.halted_until = now + 3_600;
            return Err(CallError::Halted(tokens.halted_until));
        }
        if !(200..300).contains(&status) {
            if refresh.is_some() {
                // A refused refresh token falls back to the password next time.
                tokens.refresh = None;
            }
            tracing::error!(status, "İYS refused the token request");
            if refresh.is_some() {
                return Err(CallError::Network);
            }
            // The credentials are wrong: nothing to do but wait for an operator.
            return Err(CallError::Account(format!("token_{status}")));
        }
        let answer: TokenResponse = serde_json::from_str(&text).map_err(|_| CallError::Network)?;
        tokens.access = Some((answer.access_token.clone(), answer.access_expires_at(now)));
        if let Some(refresh) = &answer.refresh_token {
            tokens.refresh = Some((refresh.clone(), answer.refresh_expires_at(now)));
        }
        Ok(answer.access_token)
    }
}

fn error_code(body: &str) -> String {
    serde_json::from_str::<IysErrorBody>(body)
        .ok()
        .and_then(|body| body.errors.into_iter().next())
        .map(|entry| entry.code)
        .unwrap_or_default()
}
