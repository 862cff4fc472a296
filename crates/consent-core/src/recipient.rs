//! The address a consent is about, checked against the channel it is for.

use core::fmt;

use crate::email::{EmailAddress, EmailError};
use crate::phone::{PhoneError, PhoneNumber};
use crate::vocabulary::Channel;

/// A validated, normalised address that a channel can reach.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Recipient {
    /// A Turkish phone number, for SMS or calls.
    Phone(PhoneNumber),
    /// An e-mail address.
    Email(EmailAddress),
}

impl Recipient {
    /// Checks what a person typed for `channel` and normalises it.
    ///
    /// SMS and calls need a phone number (SMS a mobile one), e-mail needs an e-mail address;
    /// an address of the other kind is [`RecipientError::ChannelMismatch`].
    pub fn parse_for(channel: Channel, input: &str) -> Result<Recipient, RecipientError> {
        if channel.is_phone() {
            if input.as_bytes().contains(&b'@') {
                return Err(RecipientError::ChannelMismatch { channel });
            }
            Ok(Recipient::Phone(PhoneNumber::parse_for(channel, input)?))
        } else {
            if !input.as_bytes().contains(&b'@') && PhoneNumber::parse(input).is_ok() {
                return Err(RecipientError::ChannelMismatch { channel });
            }
            Ok(Recipient::Email(EmailAddress::parse(input)?))
        }
    }

    /// The form İYS stores: `+90` and ten digits, or the lower-case address.
    pub fn normalised(&self) -> String {
        match self {
            Recipient::Phone(phone) => phone.e164(),
            Recipient::Email(email) => email.as_str().to_owned(),
        }
    }
}

/// Why an address was refused for a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecipientError {
    /// The phone number is not valid for the channel.
    Phone(PhoneError),
    /// The e-mail address is not valid.
    Email(EmailError),
    /// A phone number for e-mail, or an e-mail address for SMS or calls (İYS's H464).
    ChannelMismatch {
        /// The channel the address was given for.
        channel: Channel,
    },
}

impl RecipientError {
    /// A stable snake_case code, such as `phone_not_mobile` or `email_domain`.
    pub const fn code(self) -> &'static str {
        match self {
            RecipientError::Phone(error) => error.code(),
            RecipientError::Email(error) => error.code(),
            RecipientError::ChannelMismatch { .. } => "recipient_channel_mismatch",
        }
    }
}

impl From<PhoneError> for RecipientError {
    fn from(error: PhoneError) -> Self {
        RecipientError::Phone(error)
    }
}

impl From<EmailError> for RecipientError {
    fn from(error: EmailError) -> Self {
        RecipientError::Email(error)
    }
}

impl fmt::Display for RecipientError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecipientError::Phone(error) => error.fmt(formatter),
            RecipientError::Email(error) => error.fmt(formatter),
            RecipientError::ChannelMismatch { channel } if channel.is_phone() => write!(
                formatter,
                "recipient does not fit the channel: {channel} needs a phone number, found an e-mail address"
            ),
            RecipientError::ChannelMismatch { channel } => write!(
                formatter,
                "recipient does not fit the channel: {channel} needs an e-mail address, found a phone number"
            ),
        }
    }
}

impl std::error::Error for RecipientError {}
