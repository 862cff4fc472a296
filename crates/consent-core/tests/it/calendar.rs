use std::collections::HashMap;

use consent_core::calendar::{
    DayKind, LAST_KNOWN_YEAR, day_kind, half_day_eve, holiday, is_past_deadline,
    registration_deadline,
};
use consent_core::time::{CivilDate, IysDateTime, Timestamp};
use proptest::prelude::*;

use crate::cases;

#[test]
fn holidays_match_the_published_calendar() {
    let mut years = Vec::new();
    let mut published = HashMap::new();
    for case in cases("holidays.txt") {
        if case[0].starts_with("years") {
            years = case[1]
                .split_whitespace()
                .map(|year| year.parse::<i32>().unwrap())
                .collect();
            continue;
        }
        let [date, kind] = &case[..] else {
            panic!("bad case {case:?}");
        };
        published.insert(CivilDate::parse_iso(date).unwrap(), kind.clone());
    }
    assert_eq!(years.len(), 5);
    for year in years {
        let mut date = CivilDate::new(year, 1, 1).unwrap();
        while date.year() == year {
            let expected = published.get(&date).map(String::as_str);
            let ours = match (holiday(date), half_day_eve(date)) {
                (Some(_), _) => Some("holiday"),
                (None, Some(_)) => Some("half"),
                (None, None) => None,
            };
            assert_eq!(ours, expected, "{date}");
            date = date.add_days(1);
        }
    }
}

fn instant(text: &str) -> Timestamp {
    IysDateTime::parse(text).unwrap().to_instant()
}

#[test]
fn deadlines_from_testdata() {
    for case in cases("deadlines.txt") {
        let [given, expected] = &case[..] else {
            panic!("bad case {case:?}");
        };
        let deadline = registration_deadline(instant(given));
        assert_eq!(
            IysDateTime::from_instant(deadline).to_string(),
            *expected,
            "given {given}"
        );
        assert!(!is_past_deadline(instant(given), deadline));
        assert!(is_past_deadline(instant(given), deadline.add_millis(1)));
    }
}

#[test]
fn weekends_and_half_days_are_told_apart() {
    let saturday = CivilDate::new(2026, 11, 28).unwrap();
    assert_eq!(day_kind(saturday), DayKind::Weekend);
    assert!(matches!(
        day_kind(CivilDate::new(2026, 10, 28).unwrap()),
        DayKind::HalfDay(_)
    ));
    assert!(matches!(
        day_kind(CivilDate::new(2026, 5, 28).unwrap()),
        DayKind::Holiday(_)
    ));
    assert_eq!(
        day_kind(CivilDate::new(2026, 11, 30).unwrap()),
        DayKind::Business
    );
    // An eve that falls on a Saturday is a weekend day, not a half day.
    assert_eq!(
        day_kind(CivilDate::new(2025, 3, 29).unwrap()),
        DayKind::Weekend
    );
}

#[test]
fn years_past_the_table_count_only_fixed_holidays() {
    let year = LAST_KNOWN_YEAR + 1;
    let mut holidays = 0;
    let mut date = CivilDate::new(year, 1, 1).unwrap();
    while date.year() == year {
        holidays += usize::from(holiday(date).is_some());
        date = date.add_days(1);
    }
    assert_eq!(holidays, 7);
}

proptest! {
    /// The deadline is at least three calendar days and at most a fortnight after the consent,
    /// and a later consent never has an earlier deadline.
    #[test]
    fn deadlines_are_bounded_and_monotonic(seconds in 1_430_427_600_i64..1_956_528_000, step in 1_i64..400_000) {
        let given = Timestamp::from_unix_seconds(seconds);
        let deadline = registration_deadline(given);
        let span = deadline.unix_seconds() - given.unix_seconds();
        prop_assert!(span >= 3 * 86_400 - 3_600, "span {span}");
        prop_assert!(span <= 14 * 86_400, "span {span}");
        let later = registration_deadline(given.add_millis(step * 1_000));
        prop_assert!(later >= deadline);
    }
}

#[test]
fn the_conservative_deadline_ignores_holidays_but_not_weekends() {
    use consent_core::calendar::conservative_deadline;
    // Kurban Bayramı 2026: the registration deadline skips the feast, the conservative one
    // counts it as working days.
    let given = instant("2026-05-25 14:00:00");
    assert_eq!(
        IysDateTime::from_instant(conservative_deadline(given)).to_string(),
        "2026-05-28 14:00:00"
    );
    assert_eq!(
        IysDateTime::from_instant(registration_deadline(given)).to_string(),
        "2026-06-03 01:00:00"
    );
    // Over a weekend both agree.
    let friday = instant("2026-11-27 15:00:00");
    assert_eq!(conservative_deadline(friday), registration_deadline(friday));
}

proptest! {
    #[test]
    fn the_conservative_deadline_is_never_later(seconds in 1_430_427_600_i64..1_956_528_000) {
        let given = Timestamp::from_unix_seconds(seconds);
        prop_assert!(consent_core::calendar::conservative_deadline(given) <= registration_deadline(given));
    }
}
