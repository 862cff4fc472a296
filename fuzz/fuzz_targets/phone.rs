//! Phone numbers as people type them: parsing never panics, and a parsed number parses again
//! to itself from its `+90` form and from its national form.
#![no_main]

use consent_core::Channel;
use consent_core::phone::PhoneNumber;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &str| {
    if let Ok(number) = PhoneNumber::parse(input) {
        let again = PhoneNumber::parse(&number.e164()).expect("the +90 form parses");
        assert!(again == number);
        assert!(PhoneNumber::parse(number.national()).ok() == Some(number.clone()));
        assert_eq!(number.e164().len(), 13);
    }
    for channel in [Channel::Sms, Channel::Call, Channel::Email] {
        if let Ok(number) = PhoneNumber::parse_for(channel, input) {
            assert!(number.check_reachable(channel).is_ok());
        }
    }
});
