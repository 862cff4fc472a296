//! İYS's answers to a pull of changes and to a status query: any bytes read to an answer or to
//! an error, never a panic, and every movement read names a channel its address may or may not
//! fit, without a panic either way.
#![no_main]

use consent_core::iys::wire::{ChangesResponse, ConsentDetail, IysErrorBody};
use consent_core::time::IysDateTime;
use consent_core::{Channel, Recipient};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
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
});
