//! Preference-centre tokens: the shop's backend signs, for one signed-in customer, which
//! addresses the widget may read the consent state of, and until when.
//!
//! A token is `v1.<claims>.<signature>`: `claims` is the base64url (no padding) of a JSON object
//! `{"phone": "...", "email": "...", "recipientType": "individual", "exp": <unix seconds>}` (phone
//! and e-mail optional, at least one), and `signature` the base64url of HMAC-SHA-256 over
//! `v1.<claims>` with the relay's `RELAY_STATE_TOKEN_SECRET`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use consent_core::RecipientType;
use consent_core::email::EmailAddress;
use consent_core::phone::PhoneNumber;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// What a token grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Claims {
    /// The customer's phone number, in any form people type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// The customer's e-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Individual unless said otherwise.
    #[serde(default = "individual")]
    pub recipient_type: RecipientType,
    /// Expiry, in seconds since the Unix epoch.
    pub exp: i64,
}

fn individual() -> RecipientType {
    RecipientType::Individual
}

/// The addresses a valid token covers, normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// `+90` and ten digits.
    pub phone: Option<String>,
    /// Lower-case address.
    pub email: Option<String>,
    /// Individual or merchant.
    pub recipient_type: RecipientType,
}

/// Why a token was refused; the client only ever learns `unauthorized`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Not of the `v1.<claims>.<signature>` shape.
    Malformed,
    /// The signature does not match.
    BadSignature,
    /// Past its expiry.
    Expired,
    /// No usable address in it.
    NoAddress,
}

impl TokenError {
    /// A short description for the relay's log.
    pub fn describe(self) -> &'static str {
        match self {
            TokenError::Malformed => "malformed token",
            TokenError::BadSignature => "token signature does not match",
            TokenError::Expired => "token expired",
            TokenError::NoAddress => "token names no valid address",
        }
    }
}

fn mac(secret: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length.
    <Hmac<Sha256> as Mac>::new_from_slice(secret).unwrap_or_else(|_| unreachable!())
}

/// Signs `claims`, as the shop's backend does.
pub fn sign(secret: &[u8], claims: &Claims) -> String {
    let json = serde_json::to_vec(claims).unwrap_or_default();
    let body = format!("v1.{}", URL_SAFE_NO_PAD.encode(json));
    let mut signer = mac(secret);
    signer.update(body.as_bytes());
    format!(
        "{body}.{}",
        URL_SAFE_NO_PAD.encode(signer.finalize().into_bytes())
    )
}

/// Checks a token's signature and expiry at `now_seconds` and returns what it grants.
pub fn verify(secret: &[u8], token: &str, now_seconds: i64) -> Result<Grant, TokenError> {
    let (body, signature) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
    let claims = body.strip_prefix("v1.").ok_or(TokenError::Malformed)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| TokenError::Malformed)?;
    let mut verifier = mac(secret);
    verifier.update(body.as_bytes());
    verifier
        .verify_slice(&signature)
        .map_err(|_| TokenError::BadSignature)?;
    let claims = URL_SAFE_NO_PAD
        .decode(claims)
        .map_err(|_| TokenError::Malformed)?;
    let claims: Claims = serde_json::from_slice(&claims).map_err(|_| TokenError::Malformed)?;
    if claims.exp <= now_seconds {
        return Err(TokenError::Expired);
    }
    let phone = claims
        .phone
        .as_deref()
        .map(|phone| PhoneNumber::parse(phone).map(|number| number.e164()))
        .transpose()
        .map_err(|_| TokenError::NoAddress)?;
    let email = claims
        .email
        .as_deref()
        .map(|email| EmailAddress::parse(email).map(|address| address.as_str().to_owned()))
        .transpose()
        .map_err(|_| TokenError::NoAddress)?;
    if phone.is_none() && email.is_none() {
        return Err(TokenError::NoAddress);
    }
    Ok(Grant {
        phone,
        email,
        recipient_type: claims.recipient_type,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"a-shared-secret-of-at-least-32-bytes!";

    fn claims(exp: i64) -> Claims {
        Claims {
            phone: Some("0532 123 45 67".to_owned()),
            email: Some("Ali@Example.com".to_owned()),
            recipient_type: RecipientType::Individual,
            exp,
        }
    }

    #[test]
    fn a_signed_token_grants_its_normalised_addresses() {
        let token = sign(SECRET, &claims(2_000));
        let grant = verify(SECRET, &token, 1_000).unwrap();
        assert_eq!(grant.phone.as_deref(), Some("+905321234567"));
        assert_eq!(grant.email.as_deref(), Some("ali@example.com"));
    }

    #[test]
    fn wrong_secret_altered_claims_and_expiry_are_refused() {
        let token = sign(SECRET, &claims(2_000));
        assert_eq!(
            verify(b"another-secret-of-at-least-32-bytes!!", &token, 1_000),
            Err(TokenError::BadSignature)
        );
        assert_eq!(verify(SECRET, &token, 2_000), Err(TokenError::Expired));
        let (_, signature) = token.rsplit_once('.').unwrap();
        let forged_claims = URL_SAFE_NO_PAD.encode(br#"{"phone":"05551112233","exp":9999999999}"#);
        let forged = format!("v1.{forged_claims}.{signature}");
        assert_eq!(
            verify(SECRET, &forged, 1_000),
            Err(TokenError::BadSignature)
        );
        for malformed in ["", "v1", "v1.abc", "v2.abc.def", "v1.abc.!!!"] {
            assert!(verify(SECRET, malformed, 1_000).is_err(), "{malformed}");
        }
    }
}
