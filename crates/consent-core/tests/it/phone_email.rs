use consent_core::email::EmailAddress;
use consent_core::phone::{PhoneKind, PhoneNumber};
use consent_core::{Channel, Recipient};
use proptest::prelude::*;

use crate::cases;

#[test]
fn phones_from_testdata() {
    for case in cases("phones.txt") {
        let [input, channel, expected] = &case[..] else {
            panic!("bad case {case:?}");
        };
        let channel: Channel = channel.parse().unwrap();
        let outcome = Recipient::parse_for(channel, input);
        match outcome {
            Ok(recipient) => {
                assert_eq!(&recipient.normalised(), expected, "{input:?} for {channel}");
            }
            Err(error) => {
                assert_eq!(error.code(), expected, "{input:?} for {channel}: {error}");
                let message = error.to_string();
                assert!(!message.is_empty() && !message.ends_with('.'), "{message}");
            }
        }
    }
}

#[test]
fn emails_from_testdata() {
    for case in cases("emails.txt") {
        let [input, expected] = &case[..] else {
            panic!("bad case {case:?}");
        };
        match Recipient::parse_for(Channel::Email, input) {
            Ok(recipient) => assert_eq!(&recipient.normalised(), expected, "{input:?}"),
            Err(error) => assert_eq!(error.code(), expected, "{input:?}: {error}"),
        }
    }
}

#[test]
fn email_length_limits_follow_iys() {
    let longest = format!("{}@example.com", "a".repeat(265 - 12));
    assert_eq!(EmailAddress::parse(&longest).unwrap().as_str().len(), 265);
    let too_long = format!("a{longest}");
    assert_eq!(
        EmailAddress::parse(&too_long).unwrap_err().code(),
        "email_too_long"
    );
}

#[test]
fn error_messages_name_the_shape_not_the_value() {
    let error = PhoneNumber::parse("0532 123 45 6").unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid phone number: expected 10 digits after +90, found 9"
    );
    let error = EmailAddress::parse("gizli.kisi@örnek.com").unwrap_err();
    assert!(!error.to_string().contains("gizli"));
}

/// The kind `testdata/libphonenumber-tr.txt` names, as this crate calls it; `None` for a number
/// libphonenumber does not accept.
fn kind_named(name: &str) -> Option<PhoneKind> {
    match name {
        "invalid" => None,
        "mobile" => Some(PhoneKind::Mobile),
        "fixed-line" => Some(PhoneKind::FixedLine),
        "voip" => Some(PhoneKind::Voip),
        "toll-free" => Some(PhoneKind::TollFree),
        "premium-rate" => Some(PhoneKind::PremiumRate),
        "pager" => Some(PhoneKind::Pager),
        "personal-number" => Some(PhoneKind::PersonalNumber),
        other => panic!("libphonenumber names a kind this crate lacks: {other}"),
    }
}

/// Our ranges agree with libphonenumber's current Turkish metadata for every six-digit prefix,
/// as `testdata/libphonenumber-tr.py` read it from the Python port that follows Google's releases.
#[test]
fn agrees_with_current_libphonenumber() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/libphonenumber-tr.txt"
    );
    let runs = std::fs::read_to_string(path).unwrap();
    let mut next = 100_000_u32;
    let mut valid = 0;
    for line in runs.lines().filter(|line| !line.starts_with('#')) {
        let columns: Vec<&str> = line.split(' ').collect();
        let [first, last, name] = columns[..] else {
            panic!("a line of three columns, not {line:?}");
        };
        let (first, last): (u32, u32) = (first.parse().unwrap(), last.parse().unwrap());
        assert_eq!(first, next, "the runs cover every prefix in order");
        next = last + 1;
        let expected = kind_named(name);
        for prefix in first..=last {
            let national = format!("{prefix}1234");
            let ours = PhoneNumber::parse(&national)
                .ok()
                .map(|number| number.kind());
            assert_eq!(ours, expected, "+90{national}");
            valid += usize::from(ours.is_some());
        }
    }
    assert_eq!(next, 1_000_000, "the runs end at the last prefix");
    assert!(valid > 100_000, "only {valid} valid numbers checked");
}

proptest! {
    #[test]
    fn normalising_is_idempotent_and_round_trips(
        area in prop::sample::select(vec!["532", "505", "212", "850", "555", "542"]),
        rest in "[0-9]{7}",
        style in 0..5_usize,
    ) {
        let national = format!("{area}{rest}");
        let typed = match style {
            0 => format!("0{national}"),
            1 => format!("+90 ({}) {} {} {}", &national[..3], &national[3..6], &national[6..8], &national[8..]),
            2 => format!("90{national}"),
            3 => format!("0{}-{}-{}", &national[..3], &national[3..6], &national[6..]),
            _ => national.clone(),
        };
        // Every area above is assigned in full, so every number must parse.
        let number = PhoneNumber::parse(&typed).unwrap();
        let again = PhoneNumber::parse(&number.e164()).unwrap();
        prop_assert_eq!(again.e164(), number.e164());
        prop_assert_eq!(again.kind(), number.kind());
        prop_assert!(!number.e164().starts_with("+900"));
        prop_assert_eq!(number.national(), national.as_str());
    }

    #[test]
    fn email_normalising_is_idempotent(input in "[A-Za-z0-9._+-]{1,20}@[A-Za-z0-9]{2,12}\\.[A-Za-z]{2,6}") {
        // The generator makes only addresses İYS accepts, so every one must parse.
        let address = EmailAddress::parse(&input).unwrap();
        let again = EmailAddress::parse(address.as_str()).unwrap();
        prop_assert_eq!(again.as_str(), address.as_str());
        prop_assert_eq!(address.as_str(), input.to_ascii_lowercase());
    }

    #[test]
    fn phone_parsing_never_panics(input in "\\PC{0,40}") {
        let _ = PhoneNumber::parse(&input);
        let _ = EmailAddress::parse(&input);
    }
}
