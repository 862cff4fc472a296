use consent_core::ConsentStatus::{Granted, Rejected};
use consent_core::iys::state::{Decision, HeldConsent, decide};
use consent_core::time::{IysDateTime, Timestamp};

fn at(text: &str) -> IysDateTime {
    IysDateTime::parse(text).unwrap()
}

fn now() -> Timestamp {
    at("2026-11-28 12:00:00").to_instant()
}

fn held(status: consent_core::ConsentStatus, date: &str) -> Option<HeldConsent> {
    Some(HeldConsent {
        status,
        consent_date: at(date),
    })
}

#[test]
fn a_first_record_may_be_a_consent_but_not_a_refusal() {
    let date = at("2026-11-28 10:00:00");
    assert_eq!(
        decide(None, Granted, date, now()),
        Decision::Send { consent_date: date }
    );
    let skip = decide(None, Rejected, date, now());
    assert_eq!(skip, Decision::SkipNothingToRefuse);
    assert_eq!(skip.iys_code(), Some("H175"));
}

#[test]
fn newer_movements_are_sent_except_a_refusal_over_a_refusal() {
    let later = at("2026-11-28 10:00:01");
    let send = Decision::Send {
        consent_date: later,
    };
    assert_eq!(
        decide(held(Granted, "2026-11-28 10:00:00"), Rejected, later, now()),
        send
    );
    assert_eq!(
        decide(held(Rejected, "2026-11-28 10:00:00"), Granted, later, now()),
        send
    );
    assert_eq!(
        decide(held(Granted, "2026-11-28 10:00:00"), Granted, later, now()),
        send
    );
    let skip = decide(
        held(Rejected, "2026-11-28 10:00:00"),
        Rejected,
        later,
        now(),
    );
    assert_eq!(skip, Decision::SkipAlreadyRefused);
    assert_eq!(skip.iys_code(), Some("H174"));
}

#[test]
fn a_consent_not_newer_than_the_stored_one_is_superseded() {
    for date in ["2026-11-28 09:59:59", "2026-11-28 10:00:00"] {
        let decision = decide(
            held(Granted, "2026-11-28 10:00:00"),
            Granted,
            at(date),
            now(),
        );
        assert_eq!(decision, Decision::Supersede, "{date}");
        let decision = decide(
            held(Rejected, "2026-11-28 10:00:00"),
            Granted,
            at(date),
            now(),
        );
        assert_eq!(decision, Decision::Supersede, "{date}");
    }
    assert_eq!(Decision::Supersede.iys_code(), Some("H178"));
}

#[test]
fn a_refusal_always_wins_over_a_consent_even_with_an_older_date() {
    for date in ["2026-11-28 09:59:59", "2026-11-28 10:00:00"] {
        let decision = decide(
            held(Granted, "2026-11-28 10:00:00"),
            Rejected,
            at(date),
            now(),
        );
        assert_eq!(
            decision,
            Decision::Send {
                consent_date: at("2026-11-28 10:00:01")
            },
            "{date}"
        );
        assert_eq!(decision.iys_code(), None);
    }
    // When the consent İYS holds is from this very second, the refusal waits for the next one.
    let this_second = at("2026-11-28 12:00:00");
    let decision = decide(
        Some(HeldConsent {
            status: Granted,
            consent_date: this_second,
        }),
        Rejected,
        this_second,
        now(),
    );
    assert_eq!(
        decision,
        Decision::WaitUntil(at("2026-11-28 12:00:01").to_instant())
    );
}
