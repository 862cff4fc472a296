//! The body of `POST /v1/consents`: reading it never panics, every record either becomes a
//! consent record or is refused with a field and a code, the same way every time.
#![no_main]

use consent_core::ConsentRecord;
use consent_core::contract::ConsentBatch;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Ok(batch) = serde_json::from_slice::<ConsentBatch>(input) else {
        return;
    };
    for wire in &batch.records {
        match ConsentRecord::from_wire(wire) {
            Ok(record) => {
                assert!(ConsentRecord::from_wire(wire).ok() == Some(record));
            }
            Err(error) => {
                assert!(!error.field().is_empty());
                assert!(!error.code().as_str().is_empty());
            }
        }
    }
});
