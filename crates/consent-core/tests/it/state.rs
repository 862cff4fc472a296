use consent_core::ConsentStatus::{Granted, Rejected};
use consent_core::iys::state::{Decision, HeldConsent, decide};
use consent_core::time::IysDateTime;

fn at(text: &str) -> IysDateTime {
    IysDateTime::parse(text).unwrap()
}

#[test]
fn a_first_record_may_be_a_consent_but_not_a_refusal() {
    assert_eq!(
        decide(None, Granted, at("2026-11-28 10:00:00")),
        Decision::Send
    );
    let skip = decide(None, Rejected, at("2026-11-28 10:00:00"));
    assert_eq!(skip, Decision::SkipNothingToRefuse);
    assert_eq!(skip.iys_code(), Some("H175"));
}

#[test]
fn newer_movements_are_sent_except_a_refusal_over_a_refusal() {
    let held = |status| {
        Some(HeldConsent {
            status,
            consent_date: at("2026-11-28 10:00:00"),
        })
    };
    let later = at("2026-11-28 10:00:01");
    assert_eq!(decide(held(Granted), Rejected, later), Decision::Send);
    assert_eq!(decide(held(Rejected), Granted, later), Decision::Send);
    assert_eq!(decide(held(Granted), Granted, later), Decision::Send);
    assert_eq!(
        decide(held(Rejected), Rejected, later),
        Decision::SkipAlreadyRefused
    );
    assert_eq!(Decision::SkipAlreadyRefused.iys_code(), Some("H174"));
}

#[test]
fn movements_not_newer_than_the_stored_one_are_superseded() {
    let held = Some(HeldConsent {
        status: Granted,
        consent_date: at("2026-11-28 10:00:00"),
    });
    assert_eq!(
        decide(held, Rejected, at("2026-11-28 09:59:59")),
        Decision::Supersede
    );
    assert_eq!(
        decide(held, Rejected, at("2026-11-28 10:00:00")),
        Decision::Supersede
    );
    assert_eq!(Decision::Supersede.iys_code(), Some("H178"));
    assert_eq!(Decision::Send.iys_code(), None);
}
