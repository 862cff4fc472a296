use consent_core::time::{
    CivilDate, IysDateTime, TimeError, Timestamp, TurkeyTime, consent_date, end_of_turkish_day,
    istanbul_offset_seconds, iys_epoch, push_digits,
};
use proptest::prelude::*;

use crate::cases;

#[test]
fn turkey_time_from_testdata() {
    for case in cases("turkey-time.txt") {
        let [instant, expected] = &case[..] else {
            panic!("bad case {case:?}");
        };
        let instant = Timestamp::parse_rfc3339(instant).unwrap();
        let iys = IysDateTime::from_instant(instant);
        assert_eq!(&iys.to_string(), expected, "{case:?}");
        // And back: the same wall-clock time (in the repeated hour of 2015-11-08 two instants
        // share it, and parsing picks the earlier).
        let parsed = IysDateTime::parse(expected).unwrap();
        assert_eq!(
            IysDateTime::from_instant(parsed.to_instant()),
            iys,
            "{case:?}"
        );
        assert!(
            parsed.to_instant().unix_seconds() <= instant.unix_seconds(),
            "{case:?}"
        );
    }
}

#[test]
fn offsets_match_the_time_zone_database_every_hour_from_2015_to_2040() {
    let zone = jiff::tz::TimeZone::get("Europe/Istanbul").unwrap();
    let start = 1_420_070_400_i64; // 2015-01-01T00:00:00Z
    let end = 2_208_988_800_i64; // 2040-01-01T00:00:00Z
    let mut checked = 0;
    for seconds in (start..end).step_by(1_800) {
        let jiff_offset = zone
            .to_offset(jiff::Timestamp::from_second(seconds).unwrap())
            .seconds();
        let ours = istanbul_offset_seconds(Timestamp::from_unix_seconds(seconds));
        assert_eq!(ours, i64::from(jiff_offset), "at {seconds}");
        checked += 1;
    }
    assert!(checked > 400_000);
}

#[test]
fn skipped_and_repeated_hours_of_2015() {
    assert_eq!(
        IysDateTime::parse("2015-03-29 03:30:00"),
        Err(TimeError::NonexistentLocalTime)
    );
    // 03:30 happened twice on 2015-11-08; the earlier one, still in summer time, is chosen.
    let repeated = IysDateTime::parse("2015-11-08 03:30:00").unwrap();
    assert_eq!(
        repeated.to_instant(),
        Timestamp::parse_rfc3339("2015-11-08T00:30:00Z").unwrap()
    );
}

#[test]
fn iys_format_is_strict() {
    for bad in [
        "2026-11-28T21:04:05",
        "2026-11-28 21:04",
        "2026-11-28 21:04:05.000",
        "28.11.2026 21:04:05",
        "2026-02-30 10:00:00",
        "2026-11-28 24:00:00",
        "2026-11-28 21:60:00",
        "",
    ] {
        assert_eq!(
            IysDateTime::parse(bad),
            Err(TimeError::IysFormat),
            "{bad:?}"
        );
    }
}

#[test]
fn rfc3339_needs_a_zone_and_a_real_date() {
    for bad in [
        "2026-11-28T21:04:05",
        "2026-11-28 21:04:05Z",
        "2026-13-28T21:04:05Z",
        "2026-11-28T21:04:05.Z",
        "2026-11-28T21:04:05+3:00",
        "2026-11-28T21:04:05+24:00",
        "not a time",
    ] {
        assert_eq!(
            Timestamp::parse_rfc3339(bad),
            Err(TimeError::Rfc3339),
            "{bad:?}"
        );
    }
    let with_micros = Timestamp::parse_rfc3339("2026-11-28T21:04:05.123999Z").unwrap();
    assert_eq!(with_micros.to_rfc3339(), "2026-11-28T21:04:05.123Z");
    // Year 0 in a local time one hour ahead is the last hour of year -1 in UTC.
    let year_zero = Timestamp::parse_rfc3339("0000-01-01T00:00:00+01:00").unwrap();
    assert_eq!(year_zero.to_rfc3339(), "-001-12-31T23:00:00.000Z");
}

#[test]
fn digits_are_written_as_format_writes_them() {
    for value in (-123_456..=123_456)
        .step_by(7)
        .chain([i64::MIN + 1, i64::MAX, 0, -1])
    {
        for width in 0..=6 {
            let mut text = String::new();
            push_digits(&mut text, value, width);
            assert_eq!(text, format!("{value:0width$}"), "{value} {width}");
        }
    }
}

#[test]
fn consent_date_refuses_the_future_and_before_2015_05_01() {
    let now = Timestamp::parse_rfc3339("2026-11-28T21:04:05.500Z").unwrap();
    assert_eq!(
        consent_date(now.add_millis(1_000), now),
        Err(TimeError::InFuture)
    );
    // Later within the same second is not the future for İYS, which compares seconds.
    assert!(consent_date(now.add_millis(400), now).is_ok());
    assert_eq!(
        consent_date(iys_epoch().add_millis(-1_000), now),
        Err(TimeError::BeforeIysEpoch)
    );
    assert_eq!(
        consent_date(iys_epoch(), now).unwrap().to_string(),
        "2015-05-01 00:00:00"
    );
}

#[test]
fn weekdays_and_dates_round_trip() {
    let date = CivilDate::new(2026, 11, 29).unwrap();
    assert_eq!(date.weekday(), consent_core::time::Weekday::Sunday);
    assert_eq!(
        CivilDate::new(2024, 2, 29).map(|d| d.add_days(365).to_string()),
        Some("2025-02-28".to_owned())
    );
    assert_eq!(CivilDate::new(2025, 2, 29), None);
    assert_eq!(CivilDate::new(1900, 2, 29), None);
    assert!(CivilDate::new(2000, 2, 29).is_some());
}

proptest! {
    #[test]
    fn rfc3339_round_trips(millis in 0_i64..4_102_444_800_000) {
        let instant = Timestamp::from_unix_millis(millis);
        prop_assert_eq!(Timestamp::parse_rfc3339(&instant.to_rfc3339()), Ok(instant));
    }

    #[test]
    fn civil_dates_round_trip(days in -800_000_i64..800_000) {
        let date = CivilDate::from_days_since_epoch(days);
        prop_assert_eq!(date.days_since_epoch(), days);
        if (0..=9999).contains(&date.year()) {
            prop_assert_eq!(CivilDate::parse_iso(&date.to_string()), Some(date));
        }
    }

    #[test]
    fn iys_date_time_round_trips(seconds in 1_430_427_600_i64..2_208_988_800) {
        let instant = Timestamp::from_unix_seconds(seconds);
        let iys = IysDateTime::from_instant(instant);
        let parsed = IysDateTime::parse(&iys.to_string()).unwrap();
        // Only the repeated hour of 2015-11-08 maps two instants to one wall-clock time.
        if parsed.to_instant() != instant {
            let text = iys.to_string();
            prop_assert_eq!(text.get(..13), Some("2015-11-08 03"));
        }
        prop_assert_eq!(TurkeyTime::at(parsed.to_instant()), iys.turkey_time());
    }
}

#[test]
fn a_turkish_day_ends_at_local_midnight() {
    // 2026-12-06 23:59:30 in Turkey (+03) is 20:59:30 UTC.
    let late = Timestamp::from_unix_seconds(1_796_590_770);
    let end = end_of_turkish_day(late);
    assert_eq!(end.unix_seconds() - late.unix_seconds(), 30);
    let morning = Timestamp::from_unix_seconds(1_796_537_700);
    assert_eq!(end_of_turkish_day(morning), end);
    // A day of 2016, when Turkey still changed its clocks: still the next local midnight.
    let summer = Timestamp::from_unix_seconds(1_466_000_000);
    let end = end_of_turkish_day(summer);
    assert_eq!(TurkeyTime::at(end).second_of_day(), 0);
    assert!(end > summer && end.unix_seconds() - summer.unix_seconds() <= 86_400);
}
