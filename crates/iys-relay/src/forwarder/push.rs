//! Push: the relay registers `{RELAY_PUBLIC_URL}/v1/iys/push` with İYS, one connection per
//! channel with credentials it made and keeps sealed, and applies what İYS posts there like
//! what it pulls. Pull stays as the fallback; a movement that arrives both ways is applied once,
//! by its transaction id.

use consent_core::iys::wire::{IysType, PushBatch, PushConnection, PushRegistration};
use serde::Deserialize;

use super::Forwarder;
use super::pull::read_movement;
use crate::store::forwarding::PulledMovement;

/// The path the relay takes pushes at.
pub const PUSH_PATH: &str = "/v1/iys/push";

/// İYS's answer to a registration.
#[derive(Debug, Deserialize)]
struct Registered {
    #[serde(default)]
    message: Option<String>,
}

impl Forwarder {
    /// Registers `{public_url}/v1/iys/push` for every channel, unless that address is the one
    /// registered last. İYS posts a test record to it before it answers, so the relay must be
    /// serving already.
    pub async fn register_push(&self, public_url: &str) -> Result<bool, String> {
        let url = format!("{}{PUSH_PATH}", public_url.trim_end_matches('/'));
        let store_error = |error: crate::store::StoreError| error.to_string();
        match self
            .store
            .push_registered_url()
            .await
            .map_err(store_error)?
        {
            Some(registered) if registered == url => return Ok(false),
            // A new address gets new credentials: whoever holds the old address gets nothing
            // more that opens. The old connection stays in İYS until removed there.
            Some(_) => self
                .store
                .forget_push_credentials()
                .await
                .map_err(store_error)?,
            None => {}
        }
        let credentials = self.store.push_credentials().await.map_err(store_error)?;
        let body = PushRegistration {
            connection: [IysType::Sms, IysType::Call, IysType::Email]
                .into_iter()
                .map(|channel| PushConnection {
                    url: url.clone(),
                    channel,
                    username: credentials.username.clone(),
                    password: credentials.password.clone(),
                })
                .collect(),
        };
        let answer: Option<Registered> = self
            .iys
            .call(
                reqwest::Method::POST,
                &self.iys.paths().push_registration(),
                Some(&body),
            )
            .await
            .map_err(|error| format!("İYS did not take the push registration: {error:?}"))?;
        self.store
            .set_push_registered_url(&url)
            .await
            .map_err(store_error)?;
        tracing::info!(
            answer = answer
                .and_then(|answer| answer.message)
                .as_deref()
                .unwrap_or(""),
            "registered the push address with İYS"
        );
        Ok(true)
    }
}

/// The movements of `batch` for the account `iys_code` and brand `brand_code` that citizens
/// made in İYS, as the relay applies them, and the transaction ids of those that do not read;
/// those for anyone else (İYS's test record) and those that are not decisions yet are left out.
/// A movement that does not read does not hold back the others: the pull brings it again and
/// stops before it, for a person to look.
pub fn read_pushed(
    batch: &PushBatch,
    iys_code: u64,
    brand_code: u64,
) -> (Vec<PulledMovement>, Vec<String>) {
    let mut movements = Vec::with_capacity(batch.list.len());
    let mut unreadable = Vec::new();
    for pushed in &batch.list {
        if pushed.iys_code != iys_code || pushed.brand_code != brand_code {
            continue;
        }
        if !pushed.movement.source.is_from_iys() {
            continue;
        }
        match read_movement(&pushed.movement) {
            Ok(Some(movement)) => movements.push(movement),
            Ok(None) => {}
            Err(why) => {
                tracing::error!(transaction = %pushed.movement.transaction_id, why, "İYS pushed a movement the relay cannot read; the others are applied");
                unreadable.push(pushed.movement.transaction_id.clone());
            }
        }
    }
    (movements, unreadable)
}
