use consent_core::contract::{ConsentBatch, ErrorCode, WireRecord};
use consent_core::record::{RecordId, text_sha256};
use consent_core::{Channel, ConsentRecord, Recipient};
use proptest::prelude::*;
use serde_json::json;

/// The record from PRODUCT.md's contract example, with a real hash.
fn example() -> serde_json::Value {
    let text = "the exact consent text shown for this box";
    json!({
        "id": "0193741f-6c2a-7b1e-9a51-3f0c2d7e8a11",
        "channel": "sms",
        "recipient": "0532 123 45 67",
        "recipientType": "individual",
        "status": "granted",
        "consentedAt": "2026-11-28T21:04:05.123Z",
        "source": "web",
        "evidence": {
            "text": text,
            "textSha256": text_sha256(text),
            "textVersion": "2026-11",
            "locale": "tr",
            "pageUrl": "https://shop.example/checkout",
            "formId": "checkout",
            "mode": "checkout",
            "userAgent": "Mozilla/5.0 ...",
            "sdkVersion": "0.1.0"
        }
    })
}

fn wire(value: serde_json::Value) -> WireRecord {
    serde_json::from_value(value).unwrap()
}

#[test]
fn the_contract_example_is_accepted_and_normalised() {
    let record = ConsentRecord::from_wire(&wire(example())).unwrap();
    assert_eq!(
        record.id().to_string(),
        "0193741f-6c2a-7b1e-9a51-3f0c2d7e8a11"
    );
    assert_eq!(record.channel(), Channel::Sms);
    assert!(matches!(record.recipient(), Recipient::Phone(_)));
    assert_eq!(record.recipient().normalised(), "+905321234567");
    assert_eq!(record.recipient_as_typed(), "0532 123 45 67");
    assert_eq!(
        record.consented_at().to_rfc3339(),
        "2026-11-28T21:04:05.123Z"
    );
    assert_eq!(
        record.evidence().unwrap().to_wire(),
        wire(example()).evidence
    );
    let debug = format!("{record:?} {:?}", wire(example()));
    assert!(!debug.contains("532"), "{debug}");
    let batch: ConsentBatch = serde_json::from_value(json!({"records": [example()]})).unwrap();
    assert_eq!(batch.records.len(), 1);
}

#[test]
fn text_hash_is_sha256_of_the_exact_characters() {
    assert_eq!(
        text_sha256(""),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        text_sha256("abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    // Turkish letters are hashed as their UTF-8 bytes; a changed dot changes the hash.
    assert_ne!(text_sha256("İzin"), text_sha256("Izin"));
}

#[test]
fn each_bad_field_is_named_with_a_stable_code() {
    let cases: Vec<(&str, serde_json::Value, ErrorCode, &str)> = vec![
        (
            "/id",
            json!("not-a-uuid"),
            ErrorCode::InvalidRecord,
            "id_not_uuid",
        ),
        (
            "/id",
            json!("0193741f-6c2a-4b1e-9a51-3f0c2d7e8a11"),
            ErrorCode::InvalidRecord,
            "id_not_uuid_v7",
        ),
        (
            "/recipient",
            json!("0212 123 00 00"),
            ErrorCode::InvalidRecipient,
            "phone_not_mobile",
        ),
        (
            "/recipient",
            json!("ali@example.com"),
            ErrorCode::InvalidRecipient,
            "recipient_channel_mismatch",
        ),
        (
            "/consentedAt",
            json!("2026-11-28 21:04:05"),
            ErrorCode::InvalidRecord,
            "time_not_rfc3339",
        ),
        (
            "/evidence/textSha256",
            json!("00"),
            ErrorCode::InvalidRecord,
            "text_hash_mismatch",
        ),
        (
            "/evidence/textVersion",
            json!(" "),
            ErrorCode::InvalidRecord,
            "empty",
        ),
        (
            "/evidence/pageUrl",
            json!("javascript:alert(1)"),
            ErrorCode::InvalidRecord,
            "url_not_http",
        ),
        (
            "/evidence/formId",
            json!("x".repeat(129)),
            ErrorCode::InvalidRecord,
            "too_long",
        ),
        (
            "/evidence/userAgent",
            json!("a\u{0}b"),
            ErrorCode::InvalidRecord,
            "control_character",
        ),
        (
            "/evidence/sdkVersion",
            json!(""),
            ErrorCode::InvalidRecord,
            "empty",
        ),
    ];
    for (pointer, value, code, reason) in cases {
        let mut record = example();
        *record.pointer_mut(pointer).unwrap() = value;
        let error = ConsentRecord::from_wire(&wire(record)).unwrap_err();
        let field = pointer[1..].replace('/', ".");
        assert_eq!(error.field(), field, "{pointer}");
        assert_eq!(error.code(), code, "{pointer}");
        assert_eq!(error.reason(), reason, "{pointer}");
        assert!(
            error.to_string().starts_with(&format!("{field}: ")),
            "{error}"
        );
    }
}

#[test]
fn rendered_text_may_hold_line_breaks_and_tabs() {
    let mut record = example();
    let text = "Örnek Mağaza tarafından\r\n\t\tkampanya iletileri";
    record["evidence"]["text"] = json!(text);
    record["evidence"]["textSha256"] = json!(text_sha256(text));
    assert!(ConsentRecord::from_wire(&wire(record)).is_ok());
}

#[test]
fn unknown_fields_and_values_are_refused_by_the_wire_types() {
    let mut extra = example();
    extra["evidence"]["checked"] = json!(true);
    assert!(serde_json::from_value::<WireRecord>(extra).is_err());
    let mut fax = example();
    fax["channel"] = json!("fax");
    assert!(serde_json::from_value::<WireRecord>(fax).is_err());
}

proptest! {
    #[test]
    fn v7_ids_round_trip(millis in 0_u64..(1 << 48), random in any::<[u8; 10]>()) {
        let id = RecordId::v7(millis, random);
        let text = id.to_string();
        prop_assert_eq!(RecordId::parse(&text), Ok(id));
        prop_assert_eq!(RecordId::parse(&text.to_uppercase()), Ok(id));
        prop_assert_eq!(id.unix_millis(), millis);
        prop_assert_eq!(&text[14..15], "7");
    }
}

#[test]
fn a_record_may_name_the_person_and_without_a_name_stays_valid() {
    let without = ConsentRecord::from_wire(&wire(example())).unwrap();
    assert_eq!(without.name(), None);
    let written = serde_json::to_value(wire(example())).unwrap();
    assert!(written.get("name").is_none(), "no name is written as none");
    let mut named = example();
    named["name"] = json!("  Ayşe Yılmaz ");
    let record = ConsentRecord::from_wire(&wire(named.clone())).unwrap();
    assert_eq!(record.name(), Some("Ayşe Yılmaz"));
    let debug = format!("{record:?} {:?}", wire(named));
    assert!(!debug.contains("Ayşe"), "{debug}");
    for blank in ["", "   "] {
        let mut value = example();
        value["name"] = json!(blank);
        assert_eq!(ConsentRecord::from_wire(&wire(value)).unwrap().name(), None);
    }
}

#[test]
fn a_name_is_one_line_of_at_most_200_bytes() {
    for (name, reason) in [
        ("Ayşe\nYılmaz".to_owned(), "control_character"),
        ("Ayşe\tYılmaz".to_owned(), "control_character"),
        ("ş".repeat(101), "too_long"),
    ] {
        let mut value = example();
        value["name"] = json!(name);
        let error = ConsentRecord::from_wire(&wire(value)).unwrap_err();
        assert_eq!(error.field(), "name");
        assert_eq!(error.reason(), reason);
        assert_eq!(error.code(), ErrorCode::InvalidRecord);
        assert!(!error.to_string().contains("Ayşe"));
    }
    let mut value = example();
    value["name"] = json!("ş".repeat(100));
    assert!(ConsentRecord::from_wire(&wire(value)).is_ok());
}

#[test]
fn a_fitted_name_is_one_line_within_the_limit() {
    use consent_core::record::fit_name;
    assert_eq!(fit_name("  Ayşe Yılmaz "), "Ayşe Yılmaz");
    assert_eq!(fit_name("Ayşe\r\n  Yılmaz\t"), "Ayşe Yılmaz");
    assert_eq!(fit_name(" \n "), "");
    // 14 bytes, then 93 two-byte letters: 200 bytes.
    let long = format!("Ayşe\n  Yılmaz\t{}", "ş".repeat(150));
    assert_eq!(fit_name(&long), format!("Ayşe Yılmaz {}", "ş".repeat(93)));
}

proptest! {
    #[test]
    fn whatever_is_typed_as_a_name_fits_the_record(name in "\\PC{0,40}[\n\t\r\u{1}]?\\PC{0,300}") {
        let fitted = consent_core::record::fit_name(&name);
        let mut value = example();
        value["name"] = json!(fitted.clone());
        let record = ConsentRecord::from_wire(&wire(value)).unwrap();
        prop_assert_eq!(record.name().unwrap_or(""), fitted.as_str());
    }
}
