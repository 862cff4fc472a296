//! İYS's answers to a token request, a pull of changes, a status query and its daily change file:
//! any bytes read to an answer or to an error, never a panic; every movement read names a channel
//! its address may or may not fit, without a panic either way; a token answer never yields a
//! token that expired before it arrived; a daily file that does not read names its line.
#![no_main]

use consent_core::iys::wire::{
    ChangesResponse, ConsentDetail, DailyChange, IysErrorBody, TokenRequest, TokenResponse,
};
use consent_core::time::IysDateTime;
use consent_core::{Channel, Recipient};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    if let Ok(token) = serde_json::from_slice::<TokenResponse>(input) {
        for now in [0, 1_765_000_000, i64::MAX - 1, i64::MIN + 1] {
            assert!(token.access_expires_at(now) >= now);
            assert!(token.refresh_expires_at(now) >= now);
        }
        // Debug output does not depend on the secrets.
        let mut blank = token.clone();
        blank.access_token = String::new();
        blank.refresh_token = blank.refresh_token.map(|_| String::new());
        assert_eq!(
            format!("{token:?}"),
            format!("{blank:?}"),
            "a token in debug output"
        );
    }
    if let Ok(request) = serde_json::from_slice::<TokenRequest>(input) {
        let mut blank = request.clone();
        match &mut blank {
            TokenRequest::Password { username, password } => {
                username.clear();
                password.clear();
            }
            TokenRequest::RefreshToken { refresh_token } => refresh_token.clear(),
        }
        assert_eq!(
            format!("{request:?}"),
            format!("{blank:?}"),
            "a secret in debug output"
        );
        let written = serde_json::to_vec(&request).expect("a token request writes");
        let read: TokenRequest = serde_json::from_slice(&written).expect("and reads back");
        assert_eq!(read, request);
    }
    if let Ok(page) = serde_json::from_slice::<ChangesResponse>(input) {
        for movement in &page.list {
            let _ = Recipient::parse_for(Channel::from(movement.channel), &movement.recipient);
            let _ = movement.status.consent_status();
            if let Some(date) = &movement.consent_date {
                let _ = IysDateTime::parse(date);
            }
            let _ = IysDateTime::parse(&movement.creation_date);
            let _ = format!("{movement:?}");
        }
    }
    if let Ok(detail) = serde_json::from_slice::<ConsentDetail>(input) {
        let _ = detail.status.consent_status();
        if let Some(date) = &detail.consent_date {
            let _ = IysDateTime::parse(date);
        }
    }
    let _ = serde_json::from_slice::<IysErrorBody>(input);
    if let Ok(text) = std::str::from_utf8(input)
        && let Err(error) = DailyChange::parse_file(text)
    {
        assert!(error.line >= 1);
        let _ = error.to_string();
    }
});
