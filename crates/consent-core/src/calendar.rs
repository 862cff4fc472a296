//! Turkish public holidays and İYS's three-business-day registration deadline.
//!
//! A consent collected outside İYS must reach İYS within three business days, and İYS refuses
//! one taken earlier than that (its H467). İYS does not publish how it counts, so two deadlines
//! are offered:
//!
//! - [`registration_deadline`] reads the rule as the law's calendar does: only time on business
//!   days counts, three days are 72 hours of it, weekends and public holidays do not count, and a
//!   half-day eve counts until 13:00. A record is late only after this.
//! - [`conservative_deadline`] counts only weekends as days off, so holidays cannot push it out.
//!   It is never later than the other; a relay that sends before it is safe under either reading.
//!
//! Fixed holidays follow Law 2429 and its amendments. The religious feasts move with the lunar
//! calendar; their first days are data below, from the Presidency of Religious Affairs' calendar.

use crate::time::{CivilDate, Timestamp, TurkeyTime, Weekday};

/// The first day of each religious feast: Ramazan Bayramı lasts three days, Kurban Bayramı
/// four, and the afternoon before each (arife) is a half day. A lunar year is shorter than a
/// solar one, so some years (2033) hold two Ramazan Bayramı; the list allows that.
const FEASTS: &[(Holiday, i32, u8, u8)] = &[
    (Holiday::RamadanFeast, 2015, 7, 17),
    (Holiday::SacrificeFeast, 2015, 9, 24),
    (Holiday::RamadanFeast, 2016, 7, 5),
    (Holiday::SacrificeFeast, 2016, 9, 12),
    (Holiday::RamadanFeast, 2017, 6, 25),
    (Holiday::SacrificeFeast, 2017, 9, 1),
    (Holiday::RamadanFeast, 2018, 6, 15),
    (Holiday::SacrificeFeast, 2018, 8, 21),
    (Holiday::RamadanFeast, 2019, 6, 4),
    (Holiday::SacrificeFeast, 2019, 8, 11),
    (Holiday::RamadanFeast, 2020, 5, 24),
    (Holiday::SacrificeFeast, 2020, 7, 31),
    (Holiday::RamadanFeast, 2021, 5, 13),
    (Holiday::SacrificeFeast, 2021, 7, 20),
    (Holiday::RamadanFeast, 2022, 5, 2),
    (Holiday::SacrificeFeast, 2022, 7, 9),
    (Holiday::RamadanFeast, 2023, 4, 21),
    (Holiday::SacrificeFeast, 2023, 6, 28),
    (Holiday::RamadanFeast, 2024, 4, 10),
    (Holiday::SacrificeFeast, 2024, 6, 16),
    (Holiday::RamadanFeast, 2025, 3, 30),
    (Holiday::SacrificeFeast, 2025, 6, 6),
    (Holiday::RamadanFeast, 2026, 3, 20),
    (Holiday::SacrificeFeast, 2026, 5, 27),
    (Holiday::RamadanFeast, 2027, 3, 9),
    (Holiday::SacrificeFeast, 2027, 5, 16),
    (Holiday::RamadanFeast, 2028, 2, 26),
    (Holiday::SacrificeFeast, 2028, 5, 5),
    (Holiday::RamadanFeast, 2029, 2, 14),
    (Holiday::SacrificeFeast, 2029, 4, 24),
    (Holiday::RamadanFeast, 2030, 2, 4),
    (Holiday::SacrificeFeast, 2030, 4, 13),
    (Holiday::RamadanFeast, 2031, 1, 24),
    (Holiday::SacrificeFeast, 2031, 4, 2),
    (Holiday::RamadanFeast, 2032, 1, 14),
    (Holiday::SacrificeFeast, 2032, 3, 22),
];

/// The first year whose religious feasts are in the table.
pub const FIRST_KNOWN_YEAR: i32 = 2015;
/// The last year whose religious feasts are in the table. Later years count only the fixed
/// holidays, which makes deadlines earlier, never later; [`covers`] tells callers to warn.
pub const LAST_KNOWN_YEAR: i32 = 2032;

/// Whether the holiday table knows every holiday of `year`.
pub const fn covers(year: i32) -> bool {
    year >= FIRST_KNOWN_YEAR && year <= LAST_KNOWN_YEAR
}

/// Ramazan Bayramı lasts three days.
const RAMADAN_FEAST_DAYS: i64 = 3;
/// Kurban Bayramı lasts four days.
const SACRIFICE_FEAST_DAYS: i64 = 4;
/// On a half-day eve, work ends at 13:00.
const HALF_DAY_END_SECOND: u32 = 13 * 3_600;
const SECONDS_PER_DAY: u32 = 86_400;
/// Three business days of 24 hours each.
const DEADLINE_BUSINESS_SECONDS: u64 = 3 * 86_400;

/// A public holiday in Turkey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Holiday {
    /// Yılbaşı, 1 January.
    NewYear,
    /// Ulusal Egemenlik ve Çocuk Bayramı, 23 April.
    NationalSovereigntyAndChildren,
    /// Emek ve Dayanışma Günü, 1 May.
    LabourAndSolidarity,
    /// Atatürk'ü Anma, Gençlik ve Spor Bayramı, 19 May.
    AtaturkYouthAndSports,
    /// Demokrasi ve Millî Birlik Günü, 15 July, since 2017.
    DemocracyAndNationalUnity,
    /// Zafer Bayramı, 30 August.
    Victory,
    /// Cumhuriyet Bayramı, 29 October (its eve, 28 October, is a half day).
    Republic,
    /// Ramazan Bayramı, three days.
    RamadanFeast,
    /// Kurban Bayramı, four days.
    SacrificeFeast,
}

/// How much of a day is working time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DayKind {
    /// A working day, all 24 hours.
    Business,
    /// The eve of a holiday: working until 13:00.
    HalfDay(Holiday),
    /// A public holiday.
    Holiday(Holiday),
    /// Saturday or Sunday.
    Weekend,
}

impl DayKind {
    /// The working seconds of the day, counted from midnight.
    const fn business_seconds(self) -> u32 {
        match self {
            DayKind::Business => SECONDS_PER_DAY,
            DayKind::HalfDay(_) => HALF_DAY_END_SECOND,
            DayKind::Holiday(_) | DayKind::Weekend => 0,
        }
    }
}

/// The public holiday on `date`, if any (half-day eves are not included; see [`day_kind`]).
pub fn holiday(date: CivilDate) -> Option<Holiday> {
    fixed_holiday(date).or_else(|| feast_on(date))
}

fn fixed_holiday(date: CivilDate) -> Option<Holiday> {
    match (date.month(), date.day()) {
        (1, 1) => Some(Holiday::NewYear),
        (4, 23) => Some(Holiday::NationalSovereigntyAndChildren),
        (5, 1) => Some(Holiday::LabourAndSolidarity),
        (5, 19) => Some(Holiday::AtaturkYouthAndSports),
        (7, 15) if date.year() >= 2017 => Some(Holiday::DemocracyAndNationalUnity),
        (8, 30) => Some(Holiday::Victory),
        (10, 29) => Some(Holiday::Republic),
        _ => None,
    }
}

/// The first days of the feasts that could cover a date in `year` (a feast starting late in the
/// previous year could run into this one).
fn feast_starts(year: i32) -> impl Iterator<Item = (Holiday, CivilDate)> {
    FEASTS
        .iter()
        .filter(move |&&(_, feast_year, _, _)| feast_year == year || feast_year == year - 1)
        .filter_map(|&(feast, feast_year, month, day)| {
            CivilDate::new(feast_year, month, day).map(|date| (feast, date))
        })
}

const fn feast_length(feast: Holiday) -> i64 {
    match feast {
        Holiday::SacrificeFeast => SACRIFICE_FEAST_DAYS,
        _ => RAMADAN_FEAST_DAYS,
    }
}

fn feast_on(date: CivilDate) -> Option<Holiday> {
    let day = date.days_since_epoch();
    feast_starts(date.year()).find_map(|(feast, first)| {
        let offset = day - first.days_since_epoch();
        (0..feast_length(feast)).contains(&offset).then_some(feast)
    })
}

/// The holiday whose eve `date` is, if it is a half-day eve (whatever day of the week it falls on).
pub fn half_day_eve(date: CivilDate) -> Option<Holiday> {
    if (date.month(), date.day()) == (10, 28) {
        return Some(Holiday::Republic);
    }
    let next = date.add_days(1);
    feast_starts(next.year()).find_map(|(feast, first)| (first == next).then_some(feast))
}

/// What kind of day `date` is for counting business time.
pub fn day_kind(date: CivilDate) -> DayKind {
    if let Some(holiday) = holiday(date) {
        return DayKind::Holiday(holiday);
    }
    if matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday) {
        return DayKind::Weekend;
    }
    match half_day_eve(date) {
        Some(holiday) => DayKind::HalfDay(holiday),
        None => DayKind::Business,
    }
}

/// The last moment at which İYS still accepts a consent given at `consented`.
///
/// That is when 72 hours of business time have passed since `consented`, counting whole working
/// days and half-day eves until 13:00, and skipping weekends and public holidays.
pub fn registration_deadline(consented: Timestamp) -> Timestamp {
    deadline_after(consented, |date| day_kind(date).business_seconds())
}

/// A deadline that holds under any reading of İYS's rule: 72 hours of time on weekdays, with
/// public holidays counted as working days. It is never later than [`registration_deadline`].
pub fn conservative_deadline(consented: Timestamp) -> Timestamp {
    deadline_after(consented, |date| match date.weekday() {
        Weekday::Saturday | Weekday::Sunday => 0,
        _ => SECONDS_PER_DAY,
    })
}

fn deadline_after(consented: Timestamp, business_seconds: impl Fn(CivilDate) -> u32) -> Timestamp {
    let start = TurkeyTime::at(consented);
    let mut remaining = DEADLINE_BUSINESS_SECONDS;
    let mut date = start.date();
    let mut from_second = start.second_of_day();
    loop {
        let available = u64::from(business_seconds(date).saturating_sub(from_second));
        if remaining <= available {
            let end_second = from_second + remaining as u32;
            let (end_date, end_second) = if end_second == SECONDS_PER_DAY {
                (date.add_days(1), 0)
            } else {
                (date, end_second)
            };
            return to_instant_forward(end_date, end_second);
        }
        remaining -= available;
        date = date.add_days(1);
        from_second = 0;
    }
}

/// The instant of a Turkish wall-clock time. A time skipped when summer time began is read as
/// the instant the clock reached an hour later, so the deadline never moves earlier.
fn to_instant_forward(date: CivilDate, second_of_day: u32) -> Timestamp {
    [second_of_day, second_of_day + 3_600]
        .into_iter()
        .find_map(|second| TurkeyTime::new(date, second).and_then(TurkeyTime::to_instant))
        .unwrap_or_else(|| {
            // Only a skipped hour just before midnight could land here, and Turkey never had one;
            // fall back to the permanent +03 offset.
            let local = date.days_since_epoch() * 86_400 + i64::from(second_of_day);
            Timestamp::from_unix_seconds(local - 10_800)
        })
}

/// Whether a consent given at `consented` is too old for İYS at `now`.
pub fn is_past_deadline(consented: Timestamp, now: Timestamp) -> bool {
    now > registration_deadline(consented)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(year: i32, month: u8, day: u8) -> CivilDate {
        CivilDate::new(year, month, day).unwrap()
    }

    #[test]
    fn feast_table_has_both_feasts_of_every_known_year_in_order() {
        for year in FIRST_KNOWN_YEAR..=LAST_KNOWN_YEAR {
            let of_year: Vec<(Holiday, CivilDate)> = FEASTS
                .iter()
                .filter(|&&(_, feast_year, _, _)| feast_year == year)
                .map(|&(feast, feast_year, month, day)| (feast, date(feast_year, month, day)))
                .collect();
            let [
                (Holiday::RamadanFeast, ramadan),
                (Holiday::SacrificeFeast, sacrifice),
            ] = of_year[..]
            else {
                panic!("{year}: expected one Ramazan and one Kurban Bayramı, found {of_year:?}");
            };
            // Kurban Bayramı (10 Dhu al-Hijjah) is two lunar months and nine days after
            // Ramazan Bayramı (1 Shawwal): 67 to 69 days.
            let gap = sacrifice.days_since_epoch() - ramadan.days_since_epoch();
            assert!((67..=69).contains(&gap), "{year}: gap of {gap} days");
        }
        assert!(covers(2026) && !covers(2033) && !covers(2014));
    }

    #[test]
    fn democracy_day_is_a_holiday_only_from_2017() {
        assert_eq!(holiday(date(2016, 7, 15)), None);
        assert_eq!(
            holiday(date(2017, 7, 15)),
            Some(Holiday::DemocracyAndNationalUnity)
        );
    }
}
