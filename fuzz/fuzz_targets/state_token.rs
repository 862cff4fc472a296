//! Preference-centre tokens: any string is refused or granted without a panic, and claims
//! signed with the right secret grant only normalised addresses.
#![no_main]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use consent_core::email::EmailAddress;
use hmac::{Hmac, Mac};
use iys_relay::token::verify;
use libfuzzer_sys::fuzz_target;
use sha2::Sha256;

const SECRET: &[u8] = b"a-shared-secret-of-at-least-32-bytes!";

fuzz_target!(|input: &[u8]| {
    if let Ok(text) = std::str::from_utf8(input) {
        let _ = verify(SECRET, text, 1_800_000_000);
    }
    // The input as the claims of a correctly signed token.
    let body = format!("v1.{}", URL_SAFE_NO_PAD.encode(input));
    let mut signer = <Hmac<Sha256> as Mac>::new_from_slice(SECRET).expect("any key length");
    signer.update(body.as_bytes());
    let token = format!("{body}.{}", URL_SAFE_NO_PAD.encode(signer.finalize().into_bytes()));
    if let Ok(grant) = verify(SECRET, &token, 1_800_000_000) {
        assert!(grant.phone.is_some() || grant.email.is_some());
        if let Some(phone) = &grant.phone {
            assert!(phone.starts_with("+90") && phone.len() == 13, "{phone}");
        }
        if let Some(email) = &grant.email {
            assert_eq!(EmailAddress::parse(email).map(|address| address.as_str().to_owned()).ok().as_deref(), Some(email.as_str()));
        }
    }
});
