//! E-mail addresses: parsing never panics, and a parsed address is lower case and parses again
//! to itself.
#![no_main]

use consent_core::email::EmailAddress;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &str| {
    if let Ok(address) = EmailAddress::parse(input) {
        let text = address.as_str();
        assert_eq!(text, text.to_lowercase());
        assert!((6..=265).contains(&text.chars().count()), "{text}");
        assert!(EmailAddress::parse(text).ok() == Some(address.clone()));
    }
});
