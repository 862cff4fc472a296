//! The credentials İYS pushes citizens' movements with, and the address they were registered
//! for: made once, kept sealed in `relay_meta`, shared by every relay on the database.

use chacha20poly1305::aead::OsRng;
use chacha20poly1305::aead::rand_core::RngCore;
use sqlx::Row;

use super::{Store, StoreError};

const CREDENTIALS: &str = "push_credentials";
const CONTEXT: &str = "relay_meta.push_credentials";
const REGISTERED: &str = "push_registered_url";

/// The Basic authentication İYS's pushes must carry.
#[derive(Clone, PartialEq, Eq)]
pub struct PushCredentials {
    /// The user name.
    pub username: String,
    /// The password.
    pub password: String,
}

impl std::fmt::Debug for PushCredentials {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("PushCredentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// The push credentials, made the first time they are asked for.
    pub async fn push_credentials(&self) -> Result<PushCredentials, StoreError> {
        if let Some(credentials) = self.stored_push_credentials().await? {
            return Ok(credentials);
        }
        let mut random = [0_u8; 40];
        OsRng.fill_bytes(&mut random);
        let credentials = PushCredentials {
            username: format!("iys-relay-{}", consent_core::record::hex(&random[..4])),
            password: consent_core::record::hex(&random[8..]),
        };
        let plain = format!("{}\n{}", credentials.username, credentials.password);
        sqlx::query(
            "INSERT INTO relay_meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(CREDENTIALS)
        .bind(self.keyring.seal(plain.as_bytes(), CONTEXT))
        .execute(&self.pool)
        .await?;
        // Another relay may have made them first: read back whichever were kept.
        self.stored_push_credentials()
            .await?
            .ok_or_else(|| StoreError::Corrupt("the push credentials were not kept".to_owned()))
    }

    /// The push credentials, if they were made.
    pub async fn stored_push_credentials(&self) -> Result<Option<PushCredentials>, StoreError> {
        let row = sqlx::query("SELECT value FROM relay_meta WHERE name = $1")
            .bind(CREDENTIALS)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let sealed: Vec<u8> = row.try_get("value")?;
        let opened = self
            .keyring
            .open(&sealed, CONTEXT)
            .map_err(|error| StoreError::Sealed {
                record_id: CREDENTIALS.to_owned(),
                error,
            })?;
        // After a key rotation, reseal them under the current key, so they outlive the old one.
        if crate::crypto::Keyring::key_id_of(&sealed) != Some(self.keyring.current_key_id()) {
            sqlx::query("UPDATE relay_meta SET value = $1 WHERE name = $2")
                .bind(self.keyring.seal(&opened, CONTEXT))
                .bind(CREDENTIALS)
                .execute(&self.pool)
                .await?;
        }
        let text = String::from_utf8(opened)
            .map_err(|_| StoreError::Corrupt("the push credentials are not text".to_owned()))?;
        let (username, password) = text
            .split_once('\n')
            .ok_or_else(|| StoreError::Corrupt("the push credentials do not read".to_owned()))?;
        Ok(Some(PushCredentials {
            username: username.to_owned(),
            password: password.to_owned(),
        }))
    }

    /// Forgets the push credentials, so that the next registration makes new ones: the address
    /// registered before, which İYS may still post to, no longer opens with them.
    pub async fn forget_push_credentials(&self) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM relay_meta WHERE name = $1")
            .bind(CREDENTIALS)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The address the push was last registered for with İYS.
    pub async fn push_registered_url(&self) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT value FROM relay_meta WHERE name = $1")
            .bind(REGISTERED)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            let bytes: Vec<u8> = row.try_get("value")?;
            String::from_utf8(bytes)
                .map_err(|_| StoreError::Corrupt("the push address is not text".to_owned()))
        })
        .transpose()
    }

    /// Notes that İYS took the push registration for `url`.
    pub async fn set_push_registered_url(&self, url: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO relay_meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = $2",
        )
        .bind(REGISTERED)
        .bind(url.as_bytes().to_vec())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
