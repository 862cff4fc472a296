//! Instants, Turkey's civil time, and İYS's `consentDate` format.
//!
//! Nothing here reads a clock: callers pass `now`. Turkey's offsets come from the IANA time-zone
//! rules for `Europe/Istanbul` (summer time until 2016, `+03` all year since), kept as a table of
//! transitions that a test compares with a full time-zone database.

use core::fmt;

const MILLIS_PER_SECOND: i64 = 1_000;
const SECONDS_PER_DAY: i64 = 86_400;

/// An instant, as milliseconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    unix_millis: i64,
}

impl Timestamp {
    /// The instant `unix_millis` milliseconds after the Unix epoch.
    pub const fn from_unix_millis(unix_millis: i64) -> Timestamp {
        Timestamp { unix_millis }
    }

    /// The instant `unix_seconds` seconds after the Unix epoch.
    pub const fn from_unix_seconds(unix_seconds: i64) -> Timestamp {
        Timestamp {
            unix_millis: unix_seconds * MILLIS_PER_SECOND,
        }
    }

    /// Milliseconds since the Unix epoch.
    pub const fn unix_millis(self) -> i64 {
        self.unix_millis
    }

    /// Whole seconds since the Unix epoch, rounded down.
    pub const fn unix_seconds(self) -> i64 {
        self.unix_millis.div_euclid(MILLIS_PER_SECOND)
    }

    /// This instant moved by `millis` (negative goes back).
    pub const fn add_millis(self, millis: i64) -> Timestamp {
        Timestamp {
            unix_millis: self.unix_millis + millis,
        }
    }

    /// Parses an RFC 3339 date-time such as `2026-11-28T21:04:05.123Z` or `...+03:00`.
    ///
    /// Fractions beyond milliseconds are truncated. A time without zone is refused: a consent's
    /// moment must be unambiguous.
    pub fn parse_rfc3339(text: &str) -> Result<Timestamp, TimeError> {
        let bytes = text.as_bytes();
        if bytes.len() < 20 || !matches!(bytes[10], b'T' | b't') {
            return Err(TimeError::Rfc3339);
        }
        let date = CivilDate::parse_iso(&text[..10]).ok_or(TimeError::Rfc3339)?;
        let time_of_day = parse_time_of_day(&bytes[11..19]).ok_or(TimeError::Rfc3339)?;
        let mut rest = &bytes[19..];
        let mut millis = 0_i64;
        if let Some((b'.', fraction)) = rest.split_first() {
            let digits = fraction
                .iter()
                .take_while(|byte| byte.is_ascii_digit())
                .count();
            if digits == 0 {
                return Err(TimeError::Rfc3339);
            }
            for (index, &digit) in fraction[..digits].iter().enumerate().take(3) {
                millis += i64::from(digit - b'0') * [100, 10, 1][index];
            }
            rest = &fraction[digits..];
        }
        let offset_seconds = match rest {
            [b'Z' | b'z'] => 0,
            [sign @ (b'+' | b'-'), hours @ ..] if hours.len() == 5 && hours[2] == b':' => {
                let hour = two_digits(&hours[0..2]).ok_or(TimeError::Rfc3339)?;
                let minute = two_digits(&hours[3..5]).ok_or(TimeError::Rfc3339)?;
                if hour > 23 || minute > 59 {
                    return Err(TimeError::Rfc3339);
                }
                let seconds = i64::from(hour) * 3_600 + i64::from(minute) * 60;
                if *sign == b'-' { -seconds } else { seconds }
            }
            _ => return Err(TimeError::Rfc3339),
        };
        let local_seconds = date.days_since_epoch() * SECONDS_PER_DAY + time_of_day;
        Ok(Timestamp::from_unix_millis(
            (local_seconds - offset_seconds) * MILLIS_PER_SECOND + millis,
        ))
    }

    /// The RFC 3339 form in UTC with milliseconds, as the widget sends it: `2026-11-28T21:04:05.123Z`.
    // Size: written digit by digit rather than with `format!`, which the widget would carry
    // with the whole of `core::fmt`.
    pub fn to_rfc3339(self) -> String {
        let seconds = self.unix_seconds();
        let millis = self.unix_millis.rem_euclid(MILLIS_PER_SECOND);
        let date = CivilDate::from_days_since_epoch(seconds.div_euclid(SECONDS_PER_DAY));
        let second_of_day = seconds.rem_euclid(SECONDS_PER_DAY);
        let mut text = String::with_capacity(24);
        for (separator, value, width) in [
            ("", i64::from(date.year), 4),
            ("-", i64::from(date.month), 2),
            ("-", i64::from(date.day), 2),
            ("T", second_of_day / 3_600, 2),
            (":", second_of_day / 60 % 60, 2),
            (":", second_of_day % 60, 2),
            (".", millis, 3),
        ] {
            text.push_str(separator);
            push_digits(&mut text, value, width);
        }
        text.push('Z');
        text
    }
}

/// Appends `value` in decimal, zero-padded to at least `width` characters with a minus sign
/// counting as one, as `format!("{value:0width$}")` writes it.
pub fn push_digits(text: &mut String, value: i64, width: usize) {
    let mut width = width;
    if value < 0 {
        text.push('-');
        width = width.saturating_sub(1);
    }
    let mut digits = [b'0'; 20];
    let mut rest = value.unsigned_abs();
    let mut start = digits.len();
    while rest > 0 || digits.len() - start < width.max(1) {
        start -= 1;
        digits[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    for digit in &digits[start..] {
        text.push(char::from(*digit));
    }
}

fn two_digits(bytes: &[u8]) -> Option<u8> {
    match bytes {
        [tens @ b'0'..=b'9', ones @ b'0'..=b'9'] => Some((tens - b'0') * 10 + (ones - b'0')),
        _ => None,
    }
}

/// Parses `HH:MM:SS` into seconds of the day.
fn parse_time_of_day(bytes: &[u8]) -> Option<i64> {
    if bytes.len() != 8 || bytes[2] != b':' || bytes[5] != b':' {
        return None;
    }
    let hour = two_digits(&bytes[0..2])?;
    let minute = two_digits(&bytes[3..5])?;
    let second = two_digits(&bytes[6..8])?;
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    Some(i64::from(hour) * 3_600 + i64::from(minute) * 60 + i64::from(second))
}

/// A day of the proleptic Gregorian calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CivilDate {
    year: i32,
    month: u8,
    day: u8,
}

/// A day of the week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Weekday {
    /// Pazartesi.
    Monday,
    /// Salı.
    Tuesday,
    /// Çarşamba.
    Wednesday,
    /// Perşembe.
    Thursday,
    /// Cuma.
    Friday,
    /// Cumartesi.
    Saturday,
    /// Pazar.
    Sunday,
}

impl CivilDate {
    /// The date, or `None` when the month or day does not exist.
    pub const fn new(year: i32, month: u8, day: u8) -> Option<CivilDate> {
        if month == 0 || month > 12 || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(CivilDate { year, month, day })
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse_iso(text: &str) -> Option<CivilDate> {
        let bytes = text.as_bytes();
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return None;
        }
        if !bytes[..4].iter().all(u8::is_ascii_digit) {
            return None;
        }
        let year = text[..4].parse().ok()?;
        CivilDate::new(year, two_digits(&bytes[5..7])?, two_digits(&bytes[8..10])?)
    }

    /// The year.
    pub const fn year(self) -> i32 {
        self.year
    }

    /// The month, 1 to 12.
    pub const fn month(self) -> u8 {
        self.month
    }

    /// The day of the month, from 1.
    pub const fn day(self) -> u8 {
        self.day
    }

    /// Days since 1970-01-01 (negative before it).
    pub const fn days_since_epoch(self) -> i64 {
        // Count in eras of 400 years that start on 1 March, so the leap day ends each year.
        let year = if self.month <= 2 {
            self.year - 1
        } else {
            self.year
        } as i64;
        let era = year.div_euclid(400);
        let year_of_era = year - era * 400;
        let month_from_march = (self.month as i64 + 9) % 12;
        let day_of_year = (153 * month_from_march + 2) / 5 + self.day as i64 - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        era * 146_097 + day_of_era - 719_468
    }

    /// The date `days` days after 1970-01-01.
    pub const fn from_days_since_epoch(days: i64) -> CivilDate {
        let shifted = days + 719_468;
        let era = shifted.div_euclid(146_097);
        let day_of_era = shifted - era * 146_097;
        let year_of_era =
            (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let month_from_march = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
        let month = if month_from_march < 10 {
            month_from_march + 3
        } else {
            month_from_march - 9
        };
        let year = year_of_era + era * 400 + if month <= 2 { 1 } else { 0 };
        CivilDate {
            year: year as i32,
            month: month as u8,
            day: day as u8,
        }
    }

    /// The day `days` days later (earlier when negative).
    pub const fn add_days(self, days: i64) -> CivilDate {
        CivilDate::from_days_since_epoch(self.days_since_epoch() + days)
    }

    /// The day of the week.
    pub const fn weekday(self) -> Weekday {
        // 1970-01-01 was a Thursday.
        match (self.days_since_epoch() + 3).rem_euclid(7) {
            0 => Weekday::Monday,
            1 => Weekday::Tuesday,
            2 => Weekday::Wednesday,
            3 => Weekday::Thursday,
            4 => Weekday::Friday,
            5 => Weekday::Saturday,
            _ => Weekday::Sunday,
        }
    }
}

impl fmt::Display for CivilDate {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{:04}-{:02}-{:02}",
            self.year, self.month, self.day
        )
    }
}

const fn is_leap_year(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

const fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Offset changes of `Europe/Istanbul` since 2000: from this Unix second on, local time is UTC
/// plus this many minutes. Since 2016-09-07 Turkey keeps `+03` all year, so no entry follows.
const ISTANBUL_TRANSITIONS: &[(i64, i16)] = &[
    (946_684_800, 120),
    (954_025_200, 180),
    (972_774_000, 120),
    (985_474_800, 180),
    (1_004_223_600, 120),
    (1_017_529_200, 180),
    (1_035_673_200, 120),
    (1_048_978_800, 180),
    (1_067_122_800, 120),
    (1_080_428_400, 180),
    (1_099_177_200, 120),
    (1_111_878_000, 180),
    (1_130_626_800, 120),
    (1_143_327_600, 180),
    (1_162_076_400, 120),
    (1_174_784_400, 180),
    (1_193_533_200, 120),
    (1_206_838_800, 180),
    (1_224_982_800, 120),
    (1_238_288_400, 180),
    (1_256_432_400, 120),
    (1_269_738_000, 180),
    (1_288_486_800, 120),
    (1_301_274_000, 180),
    (1_319_936_400, 120),
    (1_332_637_200, 180),
    (1_351_386_000, 120),
    (1_364_691_600, 180),
    (1_382_835_600, 120),
    (1_396_227_600, 180),
    (1_414_285_200, 120),
    (1_427_590_800, 180),
    (1_446_944_400, 120),
    (1_459_040_400, 180),
];

/// The earliest instant whose Turkish civil time this module knows: 2000-01-01T00:00:00Z.
pub const EARLIEST_KNOWN: Timestamp = Timestamp::from_unix_seconds(946_684_800);

/// Turkey's offset from UTC, in seconds, at `instant`.
///
/// Instants before [`EARLIEST_KNOWN`] get standard time (`+02`); İYS accepts nothing that old.
pub fn istanbul_offset_seconds(instant: Timestamp) -> i64 {
    let seconds = instant.unix_seconds();
    let index = ISTANBUL_TRANSITIONS.partition_point(|&(start, _)| start <= seconds);
    let minutes = match index {
        0 => 120,
        _ => ISTANBUL_TRANSITIONS[index - 1].1,
    };
    i64::from(minutes) * 60
}

/// A wall-clock time in Turkey, to the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TurkeyTime {
    date: CivilDate,
    second_of_day: u32,
}

impl TurkeyTime {
    /// Turkey's wall-clock time at `instant` (milliseconds are dropped).
    pub fn at(instant: Timestamp) -> TurkeyTime {
        let local = instant.unix_seconds() + istanbul_offset_seconds(instant);
        TurkeyTime {
            date: CivilDate::from_days_since_epoch(local.div_euclid(SECONDS_PER_DAY)),
            second_of_day: local.rem_euclid(SECONDS_PER_DAY) as u32,
        }
    }

    /// A wall-clock time from its date and second of the day (below 86,400).
    pub const fn new(date: CivilDate, second_of_day: u32) -> Option<TurkeyTime> {
        if second_of_day >= SECONDS_PER_DAY as u32 {
            return None;
        }
        Some(TurkeyTime {
            date,
            second_of_day,
        })
    }

    /// The date.
    pub const fn date(self) -> CivilDate {
        self.date
    }

    /// Seconds since local midnight.
    pub const fn second_of_day(self) -> u32 {
        self.second_of_day
    }

    /// The instant this wall-clock time names.
    ///
    /// In the hour that repeats when summer time ends, the earlier instant is chosen; a time inside
    /// the hour skipped when it begins does not exist and gives `None`.
    pub fn to_instant(self) -> Option<Timestamp> {
        let local = self.date.days_since_epoch() * SECONDS_PER_DAY + i64::from(self.second_of_day);
        // Try the larger offset first, which gives the earlier instant when both fit.
        [10_800_i64, 7_200].into_iter().find_map(|offset| {
            let candidate = Timestamp::from_unix_seconds(local - offset);
            (istanbul_offset_seconds(candidate) == offset).then_some(candidate)
        })
    }
}

impl fmt::Display for TurkeyTime {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{} {:02}:{:02}:{:02}",
            self.date,
            self.second_of_day / 3_600,
            self.second_of_day / 60 % 60,
            self.second_of_day % 60
        )
    }
}

/// The end of the Turkish calendar day of `instant`: the next local midnight.
pub fn end_of_turkish_day(instant: Timestamp) -> Timestamp {
    let date = TurkeyTime::at(instant).date();
    let next = CivilDate::from_days_since_epoch(date.days_since_epoch() + 1);
    TurkeyTime::new(next, 0)
        .and_then(TurkeyTime::to_instant)
        // Turkey has not moved its clocks at midnight; a day is never shorter than 23 hours.
        .unwrap_or_else(|| Timestamp::from_unix_millis(instant.unix_millis() + 23 * 3_600_000))
}

/// The first moment İYS accepts as a consent date: 2015-05-01 00:00:00 in Turkey.
pub fn iys_epoch() -> Timestamp {
    // 2015-05-01 was in summer time (+03): 2015-04-30T21:00:00Z.
    Timestamp::from_unix_seconds(1_430_427_600)
}

/// A date-time in İYS's format, `YYYY-MM-DD HH:mm:ss` in Turkish time, with no zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IysDateTime {
    time: TurkeyTime,
}

impl IysDateTime {
    /// The İYS form of `instant` (milliseconds are dropped).
    pub fn from_instant(instant: Timestamp) -> IysDateTime {
        IysDateTime {
            time: TurkeyTime::at(instant),
        }
    }

    /// Parses `YYYY-MM-DD HH:mm:ss`, the only form İYS accepts (its H158).
    pub fn parse(text: &str) -> Result<IysDateTime, TimeError> {
        let bytes = text.as_bytes();
        if bytes.len() != 19 || bytes[10] != b' ' {
            return Err(TimeError::IysFormat);
        }
        let date = CivilDate::parse_iso(&text[..10]).ok_or(TimeError::IysFormat)?;
        let second_of_day = parse_time_of_day(&bytes[11..]).ok_or(TimeError::IysFormat)?;
        let time = TurkeyTime::new(date, second_of_day as u32).ok_or(TimeError::IysFormat)?;
        time.to_instant().ok_or(TimeError::NonexistentLocalTime)?;
        Ok(IysDateTime { time })
    }

    /// The instant this date-time names.
    pub fn to_instant(self) -> Timestamp {
        // Every value was made from an instant or checked by `parse`, so the time exists.
        self.time.to_instant().unwrap_or(EARLIEST_KNOWN)
    }

    /// The wall-clock time in Turkey.
    pub const fn turkey_time(self) -> TurkeyTime {
        self.time
    }
}

impl fmt::Display for IysDateTime {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.time.fmt(formatter)
    }
}

/// Checks that `moment` can be sent to İYS as a consent date at `now`: not before
/// 2015-05-01 00:00:00 (İYS's H156) and not in the future (H162).
pub fn consent_date(moment: Timestamp, now: Timestamp) -> Result<IysDateTime, TimeError> {
    // İYS compares whole seconds, so a moment within the current second is not in the future.
    if moment.unix_seconds() > now.unix_seconds() {
        return Err(TimeError::InFuture);
    }
    if moment < iys_epoch() {
        return Err(TimeError::BeforeIysEpoch);
    }
    Ok(IysDateTime::from_instant(moment))
}

/// Why a time was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeError {
    /// Not an RFC 3339 date-time with a zone, such as `2026-11-28T21:04:05.123Z`.
    Rfc3339,
    /// Not İYS's `YYYY-MM-DD HH:mm:ss`.
    IysFormat,
    /// A Turkish wall-clock time inside the hour skipped when summer time began.
    NonexistentLocalTime,
    /// Later than now.
    InFuture,
    /// Before 2015-05-01 00:00:00, the earliest consent date İYS accepts.
    BeforeIysEpoch,
}

impl TimeError {
    /// A stable snake_case code.
    pub const fn code(self) -> &'static str {
        match self {
            TimeError::Rfc3339 => "time_not_rfc3339",
            TimeError::IysFormat => "time_not_iys_format",
            TimeError::NonexistentLocalTime => "time_nonexistent",
            TimeError::InFuture => "time_in_future",
            TimeError::BeforeIysEpoch => "time_before_2015_05_01",
        }
    }
}

impl fmt::Display for TimeError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            TimeError::Rfc3339 => {
                "invalid time: expected RFC 3339 with a zone, like 2026-11-28T21:04:05.123Z"
            }
            TimeError::IysFormat => "invalid time: expected YYYY-MM-DD HH:mm:ss",
            TimeError::NonexistentLocalTime => {
                "invalid time: that wall-clock time was skipped in Turkey when summer time began"
            }
            TimeError::InFuture => "invalid time: it is in the future",
            TimeError::BeforeIysEpoch => "invalid time: expected 2015-05-01 00:00:00 or later",
        })
    }
}

impl std::error::Error for TimeError {}
