//! Turkish phone numbers as people type them, normalised to the E.164 form İYS stores.
//!
//! İYS checks numbers with libphonenumber and the BTK numbering plan, so the ranges below follow
//! libphonenumber's current metadata for Turkey (country code 90); a test compares the two over
//! every six-digit prefix, from `testdata/libphonenumber-tr.txt`.
//! Errors describe the shape of the input, never its digits, because a phone number is personal data.

use core::fmt;

use crate::vocabulary::Channel;

/// Length of a Turkish national significant number: area or operator code (3) plus subscriber (7).
pub const NATIONAL_LENGTH: usize = 10;

/// What kind of line a number belongs to, by its range in the numbering plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PhoneKind {
    /// A mobile line (`5xx`): can receive SMS and calls.
    Mobile,
    /// A geographic landline (`2xx`, `3xx`, `4xx`): can receive calls.
    FixedLine,
    /// A nationwide VoIP number (`850`): can receive calls.
    Voip,
    /// A toll-free service number (`800`, `811`).
    TollFree,
    /// A premium-rate service number (`888`, `898`, `900`).
    PremiumRate,
    /// A paging service (`512`).
    Pager,
    /// A personal number (`592`).
    PersonalNumber,
}

impl PhoneKind {
    /// Whether a commercial message on `channel` can reach a line of this kind.
    ///
    /// - SMS reaches mobile lines only: libphonenumber, which İYS checks numbers with, types every
    ///   other range as a line that takes no SMS.
    /// - Calls reach mobile, geographic and nationwide VoIP (`0850`) lines: each is a
    ///   subscriber's own line, an individual's as often as a company's.
    /// - Toll-free (`0800`, `0811`) and premium-rate (`0888`, `0898`, `0900`) numbers are
    ///   services the public dials, not anyone's line to call: the owner of a toll-free number
    ///   pays for every call it receives, and a premium-rate number charges its callers. A
    ///   consent for them is refused (`phone_cannot_receive`), and so are pagers and personal
    ///   numbers, which forward to lines of their own.
    /// - Seven-digit `444` numbers (libphonenumber's UAN) are companies' call centres and are
    ///   refused as the wrong length; an extension (`ext`, `dahili`) cannot be written in the
    ///   E.164 form İYS stores and is refused as a character that does not belong (the
    ///   person's own line is what İYS registers).
    pub const fn can_receive(self, channel: Channel) -> bool {
        match channel {
            Channel::Sms => matches!(self, PhoneKind::Mobile),
            Channel::Call => matches!(
                self,
                PhoneKind::Mobile | PhoneKind::FixedLine | PhoneKind::Voip
            ),
            Channel::Email => false,
        }
    }

    const fn describe(self) -> &'static str {
        match self {
            PhoneKind::Mobile => "a mobile number",
            PhoneKind::FixedLine => "a landline number",
            PhoneKind::Voip => "a VoIP number",
            PhoneKind::TollFree => "a toll-free number",
            PhoneKind::PremiumRate => "a premium-rate number",
            PhoneKind::Pager => "a pager number",
            PhoneKind::PersonalNumber => "a personal number",
        }
    }
}

/// The assigned ranges of the Turkish numbering plan, in libphonenumber's notation restricted to
/// digits and `[...]` classes; each pattern matches the start of the 10-digit national number.
const RANGES: &[(&str, PhoneKind)] = &[
    ("5[03-5]", PhoneKind::Mobile),
    ("51[06]", PhoneKind::Mobile),
    ("524", PhoneKind::Mobile),
    ("56[24]", PhoneKind::Mobile),
    ("57[245]", PhoneKind::Mobile),
    ("59[46]", PhoneKind::Mobile),
    ("582[2-5]", PhoneKind::Mobile),
    ("561011", PhoneKind::Mobile),
    ("56161", PhoneKind::Mobile),
    ("21[26]", PhoneKind::FixedLine),
    ("2[28][2468]", PhoneKind::FixedLine),
    ("2[3-5][268]", PhoneKind::FixedLine),
    ("2[67][246]", PhoneKind::FixedLine),
    ("3[13][28]", PhoneKind::FixedLine),
    ("3[24-6][2468]", PhoneKind::FixedLine),
    ("3[78][02468]", PhoneKind::FixedLine),
    ("392", PhoneKind::FixedLine),
    ("4[16][246]", PhoneKind::FixedLine),
    ("4[23578][2468]", PhoneKind::FixedLine),
    ("44[26]", PhoneKind::FixedLine),
    ("850", PhoneKind::Voip),
    ("800", PhoneKind::TollFree),
    ("811", PhoneKind::TollFree),
    ("8[89]8", PhoneKind::PremiumRate),
    ("900", PhoneKind::PremiumRate),
    ("512", PhoneKind::Pager),
    ("59221[12]", PhoneKind::PersonalNumber),
    ("592461", PhoneKind::PersonalNumber),
];

/// Whether `digits` starts with something `pattern` matches.
fn prefix_matches(pattern: &str, digits: &[u8]) -> bool {
    let mut pattern = pattern.as_bytes();
    let mut digits = digits.iter();
    while let Some((&first, rest)) = pattern.split_first() {
        let Some(&digit) = digits.next() else {
            return false;
        };
        if first == b'[' {
            let end = rest
                .iter()
                .position(|&byte| byte == b']')
                .unwrap_or(rest.len());
            let class = &rest[..end];
            if !class_contains(class, digit) {
                return false;
            }
            pattern = rest.get(end + 1..).unwrap_or_default();
        } else {
            if first != digit {
                return false;
            }
            pattern = rest;
        }
    }
    true
}

fn class_contains(class: &[u8], digit: u8) -> bool {
    let mut index = 0;
    while index < class.len() {
        if class.get(index + 1) == Some(&b'-') && index + 2 < class.len() {
            if (class[index]..=class[index + 2]).contains(&digit) {
                return true;
            }
            index += 3;
        } else {
            if class[index] == digit {
                return true;
            }
            index += 1;
        }
    }
    false
}

/// The kind of the national number `digits`, or `None` when no assigned range holds it.
fn classify(digits: &[u8; NATIONAL_LENGTH]) -> Option<PhoneKind> {
    RANGES
        .iter()
        .find(|(pattern, _)| prefix_matches(pattern, digits))
        .map(|&(_, kind)| kind)
}

/// A valid Turkish phone number in an assigned range.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber {
    national: [u8; NATIONAL_LENGTH],
    kind: PhoneKind,
}

impl PhoneNumber {
    /// Reads a number the way people write it in Turkey.
    ///
    /// Accepts `0532 123 45 67`, `532-123-4567`, `+90 (532) 123 45 67`, `905321234567`, `0090...`,
    /// with spaces, dashes, dots, slashes and parentheses. A stray trunk `0` after the country code
    /// (`+90 0532...`) is dropped, so the result is never `+9005...`.
    pub fn parse(input: &str) -> Result<PhoneNumber, PhoneError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(PhoneError::Empty);
        }
        // A `+` may stand only before the first digit, as in `+90 ...` or `(+90) ...`.
        let mut has_plus = false;
        let mut digits = Vec::with_capacity(16);
        for character in trimmed.chars() {
            match character {
                '0'..='9' => digits.push(character as u8),
                '+' if digits.is_empty() && !has_plus => has_plus = true,
                '-' | '.' | '(' | ')' | '/' => {}
                other if other.is_whitespace() => {}
                _ => return Err(PhoneError::InvalidCharacter),
            }
        }
        if digits.is_empty() {
            return Err(PhoneError::Empty);
        }
        let national: &[u8] = if has_plus {
            digits.strip_prefix(b"90").ok_or(PhoneError::NotTurkish)?
        } else if let Some(international) = digits.strip_prefix(b"00") {
            international
                .strip_prefix(b"90")
                .ok_or(PhoneError::NotTurkish)?
        } else if (digits.len() == NATIONAL_LENGTH + 2 && digits.starts_with(b"90"))
            || (digits.len() == NATIONAL_LENGTH + 3 && digits.starts_with(b"900"))
        {
            // `90` and the national number, or the `9005...` mistake with a trunk zero kept.
            &digits[2..]
        } else {
            &digits
        };
        // A national number never starts with 0: a leading 0 is the trunk prefix.
        let national = national.strip_prefix(b"0").unwrap_or(national);
        let national: [u8; NATIONAL_LENGTH] =
            national.try_into().map_err(|_| PhoneError::WrongLength {
                found: national.len(),
            })?;
        let kind = classify(&national).ok_or(PhoneError::Unassigned)?;
        Ok(PhoneNumber { national, kind })
    }

    /// Reads a number and checks that a message on `channel` can reach it.
    pub fn parse_for(channel: Channel, input: &str) -> Result<PhoneNumber, PhoneError> {
        let number = PhoneNumber::parse(input)?;
        number.check_reachable(channel)?;
        Ok(number)
    }

    /// Checks that a message on `channel` can reach this number.
    pub fn check_reachable(&self, channel: Channel) -> Result<(), PhoneError> {
        if self.kind.can_receive(channel) {
            Ok(())
        } else if channel == Channel::Sms {
            Err(PhoneError::NotMobile { found: self.kind })
        } else {
            Err(PhoneError::CannotReceive {
                channel,
                found: self.kind,
            })
        }
    }

    /// The kind of line.
    pub fn kind(&self) -> PhoneKind {
        self.kind
    }

    /// The ten national digits, without trunk prefix or country code.
    pub fn national(&self) -> &str {
        // The array holds ASCII digits only; `parse` put nothing else there.
        core::str::from_utf8(&self.national).unwrap_or_default()
    }

    /// The E.164 form İYS stores: `+90` and ten digits.
    pub fn e164(&self) -> String {
        let mut text = String::with_capacity(NATIONAL_LENGTH + 3);
        text.push_str("+90");
        text.push_str(self.national());
        text
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Personal data stays out of debug output too.
        formatter
            .debug_struct("PhoneNumber")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// Why a phone number was refused. Messages describe the input's shape, never its digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PhoneError {
    /// Nothing but spaces and separators was given.
    Empty,
    /// A character other than digits, spaces, `-`, `.`, `/`, parentheses or a leading `+` appeared.
    InvalidCharacter,
    /// An international number with a country code other than 90.
    NotTurkish,
    /// The national part does not have ten digits.
    WrongLength {
        /// How many national digits were found.
        found: usize,
    },
    /// Ten digits, but in no range the numbering plan assigns.
    Unassigned,
    /// SMS needs a mobile number and this is another kind.
    NotMobile {
        /// The kind that was found.
        found: PhoneKind,
    },
    /// The channel cannot reach a line of this kind (for example a call to a premium-rate number).
    CannotReceive {
        /// The channel asked for.
        channel: Channel,
        /// The kind that was found.
        found: PhoneKind,
    },
}

impl PhoneError {
    /// A stable snake_case code that callers and translations key on.
    pub const fn code(self) -> &'static str {
        match self {
            PhoneError::Empty => "phone_empty",
            PhoneError::InvalidCharacter => "phone_invalid_character",
            PhoneError::NotTurkish => "phone_not_turkish",
            PhoneError::WrongLength { .. } => "phone_wrong_length",
            PhoneError::Unassigned => "phone_unassigned",
            PhoneError::NotMobile { .. } => "phone_not_mobile",
            PhoneError::CannotReceive { .. } => "phone_cannot_receive",
        }
    }
}

impl fmt::Display for PhoneError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PhoneError::Empty => formatter.write_str("invalid phone number: it is empty"),
            PhoneError::InvalidCharacter => formatter.write_str(
                "invalid phone number: expected digits with optional spaces, dashes, dots, slashes, parentheses and a leading +",
            ),
            PhoneError::NotTurkish => {
                formatter.write_str("invalid phone number: expected the Turkish country code +90")
            }
            PhoneError::WrongLength { found } => write!(
                formatter,
                "invalid phone number: expected {NATIONAL_LENGTH} digits after +90, found {found}"
            ),
            PhoneError::Unassigned => formatter
                .write_str("invalid phone number: the digits are in no assigned Turkish range"),
            PhoneError::NotMobile { found } => write!(
                formatter,
                "invalid phone number for sms: expected a mobile number, found {}",
                found.describe()
            ),
            PhoneError::CannotReceive { channel, found } => write!(
                formatter,
                "invalid phone number for {channel}: {} cannot receive it",
                found.describe()
            ),
        }
    }
}

impl std::error::Error for PhoneError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_classes_and_ranges() {
        assert!(prefix_matches("3[24-6][2468]", b"3522000000"));
        assert!(!prefix_matches("3[24-6][2468]", b"3722000000"));
        assert!(prefix_matches("850", b"8501234567"));
        assert!(!prefix_matches("850", b"85"));
    }

    #[test]
    fn errors_never_contain_the_digits() {
        for input in [
            "0532 123 45 6",
            "+44 7911 123456",
            "0532x1234567",
            "0112 345 67 89",
        ] {
            let message = PhoneNumber::parse(input).unwrap_err().to_string();
            assert!(!message.contains("123"), "{message}");
        }
        let debug = format!("{:?}", PhoneNumber::parse("05321234567").unwrap());
        assert!(!debug.contains("532"), "{debug}");
    }
}
