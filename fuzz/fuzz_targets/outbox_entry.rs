//! The widget's outbox entries as read back from `localStorage`, which the page, an extension or
//! an older or newer version of the widget may have written: any text reads to an entry or to
//! nothing, never a panic. The reader accepts every object `serde_json` accepts and reads the
//! same members from it; an entry it reads writes back to valid JSON that reads to the same
//! entry, with its record kept as written.
#![no_main]

use iys_consent::entry::{Entry, State};
use iys_consent::json;
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    let members = json::members(text);
    let reference = serde_json::from_str::<Map<String, Value>>(text).ok();
    if let Some(reference) = &reference {
        let members = members.as_ref().expect("an object serde_json reads");
        for (key, value) in reference {
            let (_, raw) = members
                .iter()
                .rev()
                .find(|(name, _)| name == key)
                .expect("every member");
            let read: Value = serde_json::from_str(raw).expect("a member's raw value");
            assert_eq!(&read, value, "member {key:?}");
            if let Value::String(expected) = value {
                assert_eq!(json::string(raw).as_ref(), Some(expected));
            }
            if let Value::Number(expected) = value
                && let Some(expected) = expected.as_i64()
                && expected.unsigned_abs() < 1 << 53
            {
                assert_eq!(json::number(raw), Some(expected as f64));
            }
        }
    }
    for (_, raw) in members.iter().flatten() {
        assert_eq!(
            raw.trim_matches([' ', '\t', '\n', '\r']),
            *raw,
            "a raw value with blanks"
        );
    }
    let Some(entry) = Entry::parse(text) else {
        return;
    };
    for number in [entry.next_at, entry.lease_until, entry.consented_at] {
        assert!(number.is_finite(), "a time that never falls due");
    }
    let written = entry.to_json();
    let again = Entry::parse(&written).expect("a written entry reads");
    assert_eq!(again.to_json(), written, "writing is stable");
    assert_eq!(again.id, entry.id);
    assert_eq!(again.record, entry.record, "the record is kept as written");
    if let Some(reference) = &reference {
        for (key, read) in [
            ("nextAt", entry.next_at),
            ("leaseUntil", entry.lease_until),
            ("consentedAt", entry.consented_at),
        ] {
            if let Some(expected) = reference.get(key).and_then(Value::as_i64)
                && expected.unsigned_abs() < 1 << 53
            {
                assert_eq!(read, expected as f64, "{key}");
            }
        }
        let state = reference.get("state").and_then(Value::as_str);
        assert_eq!(entry.state == State::Pending, state == Some("pending"));
        assert_eq!(entry.state == State::Failed, state == Some("failed"));
        let written: Map<String, Value> =
            serde_json::from_str(&written).expect("a written entry is JSON");
        assert_eq!(written.get("record"), reference.get("record"));
        assert_eq!(written.get("id"), reference.get("id"));
    }
});
