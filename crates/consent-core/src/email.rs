//! E-mail addresses checked with İYS's seven rules and stored the way İYS stores them.
//!
//! İYS refuses Turkish letters and a list of special characters, wants at least the shape
//! `x@xx.xx`, 6 to 265 characters, allows `+` in the local part and `-`, `_`, `.` anywhere in it,
//! and keeps addresses in lower case. İYS does not publish its full expression, so this check is
//! the strict reading: what passes here passes there.
//! Errors describe the shape of the input, never the address, because it is personal data.

use core::fmt;

/// The shortest address İYS accepts, in characters.
pub const MIN_LENGTH: usize = 6;
/// The longest address İYS accepts, in characters.
pub const MAX_LENGTH: usize = 265;

/// A normalised e-mail address: trimmed, ASCII, lower-case.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress {
    normalised: String,
}

impl EmailAddress {
    /// Checks an address as typed and normalises it.
    pub fn parse(input: &str) -> Result<EmailAddress, EmailError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(EmailError::Empty);
        }
        if let Some(character) = trimmed.chars().find(|character| !character.is_ascii()) {
            return Err(if is_turkish_letter(character) {
                EmailError::TurkishLetter
            } else {
                EmailError::NonAscii
            });
        }
        if trimmed.bytes().any(|byte| byte.is_ascii_whitespace()) {
            return Err(EmailError::Whitespace);
        }
        // ASCII only from here on, so lower-casing cannot change the length or meet `İ`.
        let normalised = trimmed.to_ascii_lowercase();
        let length = normalised.len();
        if length < MIN_LENGTH {
            return Err(EmailError::TooShort { found: length });
        }
        if length > MAX_LENGTH {
            return Err(EmailError::TooLong { found: length });
        }
        let mut parts = normalised.split('@');
        let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(EmailError::AtSign);
        };
        if local.is_empty() {
            return Err(EmailError::LocalPart);
        }
        if let Some(byte) = local.bytes().find(|&byte| !is_local_byte(byte)) {
            return Err(EmailError::ForbiddenCharacter {
                character: char::from(byte),
            });
        }
        check_domain(domain)?;
        Ok(EmailAddress { normalised })
    }

    /// The address as İYS stores it.
    pub fn as_str(&self) -> &str {
        &self.normalised
    }
}

impl fmt::Debug for EmailAddress {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("EmailAddress")
            .field("length", &self.normalised.len())
            .finish_non_exhaustive()
    }
}

fn is_local_byte(byte: u8) -> bool {
    byte.is_ascii_lowercase() || byte.is_ascii_digit() || matches!(byte, b'.' | b'_' | b'-' | b'+')
}

fn is_turkish_letter(character: char) -> bool {
    matches!(
        character,
        'ç' | 'ğ'
            | 'ı'
            | 'ö'
            | 'ş'
            | 'ü'
            | 'Ç'
            | 'Ğ'
            | 'İ'
            | 'Ö'
            | 'Ş'
            | 'Ü'
            | 'â'
            | 'î'
            | 'û'
            | 'Â'
            | 'Î'
            | 'Û'
    )
}

fn check_domain(domain: &str) -> Result<(), EmailError> {
    if let Some(byte) = domain.bytes().find(|&byte| {
        !(byte.is_ascii_lowercase() || byte.is_ascii_digit() || matches!(byte, b'.' | b'-'))
    }) {
        return Err(EmailError::ForbiddenCharacter {
            character: char::from(byte),
        });
    }
    let Some((name, top_level)) = domain.rsplit_once('.') else {
        return Err(EmailError::Domain);
    };
    // İYS's minimum shape is `x@xx.xx`: two characters before the last dot and two after it.
    if name.len() < 2
        || top_level.len() < 2
        || !top_level.bytes().all(|byte| byte.is_ascii_lowercase())
    {
        return Err(EmailError::Domain);
    }
    let labels_are_valid = domain.split('.').all(|label| {
        !label.is_empty() && !label.starts_with('-') && !label.ends_with('-') && label.len() <= 63
    });
    if labels_are_valid {
        Ok(())
    } else {
        Err(EmailError::Domain)
    }
}

/// Why an e-mail address was refused. Messages describe the input's shape, never the address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EmailError {
    /// Nothing but spaces was given.
    Empty,
    /// A Turkish letter (`ç`, `ğ`, `ı`, `ö`, `ş`, `ü`, ...) appeared; İYS refuses them (its H120).
    TurkishLetter,
    /// Another non-ASCII character appeared.
    NonAscii,
    /// A space, tab or line break appeared inside the address.
    Whitespace,
    /// Fewer than six characters.
    TooShort {
        /// The length found.
        found: usize,
    },
    /// More than 265 characters.
    TooLong {
        /// The length found.
        found: usize,
    },
    /// Not exactly one `@`.
    AtSign,
    /// Nothing before the `@`.
    LocalPart,
    /// A character İYS does not allow, such as `!`, `%`, `&`, `(`, `,` or `'`.
    ForbiddenCharacter {
        /// The character; a single punctuation mark, not personal data.
        character: char,
    },
    /// The part after `@` is not a domain of at least the shape `xx.xx`.
    Domain,
}

impl EmailError {
    /// A stable snake_case code that callers and translations key on.
    pub const fn code(self) -> &'static str {
        match self {
            EmailError::Empty => "email_empty",
            EmailError::TurkishLetter => "email_turkish_letter",
            EmailError::NonAscii => "email_non_ascii",
            EmailError::Whitespace => "email_whitespace",
            EmailError::TooShort { .. } => "email_too_short",
            EmailError::TooLong { .. } => "email_too_long",
            EmailError::AtSign => "email_at_sign",
            EmailError::LocalPart => "email_local_part",
            EmailError::ForbiddenCharacter { .. } => "email_forbidden_character",
            EmailError::Domain => "email_domain",
        }
    }
}

impl fmt::Display for EmailError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("invalid e-mail address: ")?;
        match self {
            EmailError::Empty => formatter.write_str("it is empty"),
            EmailError::TurkishLetter => {
                formatter.write_str("expected ASCII letters, found a Turkish letter")
            }
            EmailError::NonAscii => formatter.write_str("expected ASCII, found another character"),
            EmailError::Whitespace => formatter.write_str("expected no spaces inside"),
            EmailError::TooShort { found } => {
                write!(
                    formatter,
                    "expected at least {MIN_LENGTH} characters, found {found}"
                )
            }
            EmailError::TooLong { found } => {
                write!(
                    formatter,
                    "expected at most {MAX_LENGTH} characters, found {found}"
                )
            }
            EmailError::AtSign => formatter.write_str("expected exactly one @"),
            EmailError::LocalPart => formatter.write_str("expected a name before the @"),
            EmailError::ForbiddenCharacter { character } => {
                write!(formatter, "the character `{character}` is not allowed")
            }
            EmailError::Domain => {
                formatter.write_str("expected a domain of the shape name.tld after the @")
            }
        }
    }
}

impl std::error::Error for EmailError {}
