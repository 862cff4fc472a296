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
        if self
            .store
            .push_registered_url()
            .await
            .map_err(store_error)?
            == Some(url.clone())
        {
            return Ok(false);
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
/// made in İYS, as the relay applies them; those for anyone else (İYS's test record) and those
/// that are not decisions yet are left out. An error names a movement that does not read.
pub fn read_pushed(
    batch: &PushBatch,
    iys_code: u64,
    brand_code: u64,
) -> Result<Vec<PulledMovement>, String> {
    let mut movements = Vec::with_capacity(batch.list.len());
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
                return Err(format!(
                    "İYS's pushed movement {} cannot be read ({why})",
                    pushed.movement.transaction_id
                ));
            }
        }
    }
    Ok(movements)
}
