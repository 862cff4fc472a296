//! İYS's answers as the forwarder reads them: single add, error bodies and batch results never
//! panic, and every H-code found gets a disposition.
#![no_main]

use consent_core::iys::errors::disposition;
use consent_core::iys::wire::{AddConsentResponse, IysErrorBody};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let status = input.first().map(|byte| 400 + u16::from(*byte) % 200);
    let _ = serde_json::from_slice::<AddConsentResponse>(input);
    if let Ok(body) = serde_json::from_slice::<IysErrorBody>(input) {
        for entry in &body.errors {
            let _ = disposition(&entry.code, status);
        }
    }
    if let Ok(serde_json::Value::Array(results)) = serde_json::from_slice(input) {
        for result in &results {
            if let Some(code) = result["error"]["code"].as_str() {
                let _ = disposition(code, None);
            }
        }
    }
});
