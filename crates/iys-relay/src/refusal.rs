//! Refusal links: `{RELAY_PUBLIC_URL}/v1/refusals/{token}`, which a person opens from a notice or
//! from one of the shop's messages to refuse with one click.
//!
//! A token says which address and channels it refuses, for which recipient type, in which
//! language, until when (never, unless the relay is configured otherwise) and which message
//! carried it. It is encrypted, so it reveals no address, and authenticated, so it cannot be
//! forged or altered; the relay keeps nothing per link, so the shop can mint one for every
//! recipient of a campaign.
//!
//! The construction is SIV (synthetic IV): the IV is the first 16 bytes of HMAC-SHA-256 of the
//! plaintext under a key of its own, and the plaintext is encrypted with XChaCha20 under that IV.
//! Opening decrypts and recomputes the tag. The same link parameters always give the same token,
//! which is all that determinism reveals. The keys derive from the data keys, so links made before
//! a rotation keep working as long as the old key stays among the previous ones.
//!
//! Layout, before base64url without padding: version byte `1`, 16-byte IV, then the encrypted
//! plaintext: one byte whose bits 0 to 2 are the channels (SMS, call, e-mail) and bits 3 to 7
//! flags (merchant, English, expiry, notice, reference), the address (a phone number's ten national
//! digits as five bytes; an e-mail address as its length and bytes), then the expiry (unix
//! seconds, eight bytes), the notice (the consent record's 16-byte id) and the reference (its
//! length and bytes), each when its flag says so. A phone link for SMS is 31 characters.

pub mod page;
pub mod routes;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20::XChaCha20;
use chacha20::cipher::{KeyIvInit, StreamCipher};
use consent_core::email::EmailAddress;
use consent_core::phone::PhoneNumber;
use consent_core::refusal::is_reference;
use consent_core::{Channel, Locale, Recipient, RecipientType, RecordId};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::crypto::LinkKey;

const VERSION: u8 = 1;
const IV_LENGTH: usize = 16;

const MERCHANT: u8 = 1;
const ENGLISH: u8 = 1 << 1;
const EXPIRES: u8 = 1 << 2;
const NOTICE: u8 = 1 << 3;
const REFERENCE: u8 = 1 << 4;

/// What a refusal link refuses, and what it says of where it came from.
#[derive(Clone, PartialEq, Eq)]
pub struct Link {
    /// The address.
    pub recipient: Recipient,
    /// The channels refused, in the order of [`Channel::ALL`]; SMS and call for a phone number
    /// (one or both), e-mail for an e-mail address.
    pub channels: Vec<Channel>,
    /// Individual or merchant.
    pub recipient_type: RecipientType,
    /// The language of the message and of the page.
    pub locale: Locale,
    /// Until when the link works, in unix seconds; never when none.
    pub expires: Option<i64>,
    /// The consent record whose notice carries the link.
    pub notice: Option<RecordId>,
    /// The shop's reference for the message that carries the link.
    pub reference: Option<String>,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The address is personal data.
        formatter
            .debug_struct("Link")
            .field("channels", &self.channels)
            .field("recipient_type", &self.recipient_type)
            .field("locale", &self.locale)
            .field("expires", &self.expires)
            .field("notice", &self.notice)
            .field("reference", &self.reference)
            .finish_non_exhaustive()
    }
}

/// Why a link cannot be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkError {
    /// No channel, or a channel the address cannot be refused on.
    Channels,
    /// A reference that is not a short plain label.
    Reference,
}

impl std::fmt::Display for LinkError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            LinkError::Channels => {
                "a link refuses sms and/or call for a phone number, email for an e-mail address"
            }
            LinkError::Reference => "a reference is 1 to 64 ASCII letters, digits and . _ : -",
        })
    }
}

impl std::error::Error for LinkError {}

/// Why a token does not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Not a token any key of this relay made: altered, truncated, forged, or made with a key the
    /// relay no longer has.
    Invalid,
    /// Past its expiry.
    Expired,
}

impl Link {
    /// A link refusing `channels` of `recipient`, in `locale`, with no expiry and no origin.
    pub fn new(
        recipient: Recipient,
        channels: &[Channel],
        recipient_type: RecipientType,
        locale: Locale,
    ) -> Result<Link, LinkError> {
        let mut sorted: Vec<Channel> = Channel::ALL
            .iter()
            .copied()
            .filter(|channel| channels.contains(channel))
            .collect();
        sorted.dedup();
        let fits = match &recipient {
            Recipient::Phone(phone) => sorted
                .iter()
                .all(|channel| channel.is_phone() && phone.check_reachable(*channel).is_ok()),
            Recipient::Email(_) => sorted.iter().all(|channel| *channel == Channel::Email),
        };
        if sorted.is_empty() || !fits {
            return Err(LinkError::Channels);
        }
        Ok(Link {
            recipient,
            channels: sorted,
            recipient_type,
            locale,
            expires: None,
            notice: None,
            reference: None,
        })
    }

    /// The same link, naming the shop's `reference` for the message that carries it.
    pub fn with_reference(mut self, reference: Option<String>) -> Result<Link, LinkError> {
        if reference.as_deref().is_some_and(|text| !is_reference(text)) {
            return Err(LinkError::Reference);
        }
        self.reference = reference;
        Ok(self)
    }

    /// The token of this link, made with `key`.
    pub fn seal(&self, key: &LinkKey) -> String {
        let plaintext = self.encode();
        let iv = synthetic_iv(key, &plaintext);
        let mut encrypted = plaintext;
        apply_keystream(key, &iv, &mut encrypted);
        let mut token = Vec::with_capacity(1 + IV_LENGTH + encrypted.len());
        token.push(VERSION);
        token.extend_from_slice(&iv);
        token.extend_from_slice(&encrypted);
        URL_SAFE_NO_PAD.encode(token)
    }

    /// The link `token` stands for, when one of `keys` made it and it has not expired at `now`
    /// (unix seconds).
    pub fn open(keys: &[LinkKey], token: &str, now: i64) -> Result<Link, TokenError> {
        // The longest token: an e-mail address of 254 bytes with every option.
        if token.len() > 512 {
            return Err(TokenError::Invalid);
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| TokenError::Invalid)?;
        if bytes.len() <= 1 + IV_LENGTH || bytes[0] != VERSION {
            return Err(TokenError::Invalid);
        }
        let iv: [u8; IV_LENGTH] = bytes[1..1 + IV_LENGTH]
            .try_into()
            .map_err(|_| TokenError::Invalid)?;
        let link = keys
            .iter()
            .find_map(|key| {
                let mut plaintext = bytes[1 + IV_LENGTH..].to_vec();
                apply_keystream(key, &iv, &mut plaintext);
                verify_iv(key, &plaintext, &iv).then_some(plaintext)
            })
            .and_then(|plaintext| Link::decode(&plaintext))
            .ok_or(TokenError::Invalid)?;
        match link.expires {
            Some(expires) if now >= expires => Err(TokenError::Expired),
            _ => Ok(link),
        }
    }

    fn encode(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(64);
        let channels = self.channels.iter().fold(0_u8, |bits, channel| {
            bits | match channel {
                Channel::Sms => 1,
                Channel::Call => 2,
                Channel::Email => 4,
            }
        });
        let mut flags = 0;
        if self.recipient_type == RecipientType::Merchant {
            flags |= MERCHANT;
        }
        if self.locale == Locale::English {
            flags |= ENGLISH;
        }
        if self.expires.is_some() {
            flags |= EXPIRES;
        }
        if self.notice.is_some() {
            flags |= NOTICE;
        }
        if self.reference.is_some() {
            flags |= REFERENCE;
        }
        bytes.push(channels | flags << 3);
        match &self.recipient {
            Recipient::Phone(phone) => {
                let digits: u64 = phone.national().parse().unwrap_or_default();
                bytes.extend_from_slice(&digits.to_be_bytes()[3..]);
            }
            Recipient::Email(email) => {
                let address = email.as_str().as_bytes();
                bytes.push(u8::try_from(address.len()).unwrap_or(u8::MAX));
                bytes.extend_from_slice(&address[..address.len().min(255)]);
            }
        }
        if let Some(expires) = self.expires {
            bytes.extend_from_slice(&expires.to_be_bytes());
        }
        if let Some(notice) = self.notice {
            bytes.extend_from_slice(notice.as_bytes());
        }
        if let Some(reference) = &self.reference {
            bytes.push(reference.len() as u8);
            bytes.extend_from_slice(reference.as_bytes());
        }
        bytes
    }

    fn decode(bytes: &[u8]) -> Option<Link> {
        let mut reader = Reader(bytes);
        let first = reader.byte()?;
        let (channel_bits, flags) = (first & 0b111, first >> 3);
        let channels: Vec<Channel> = [(1, Channel::Sms), (2, Channel::Call), (4, Channel::Email)]
            .into_iter()
            .filter(|(bit, _)| channel_bits & bit != 0)
            .map(|(_, channel)| channel)
            .collect();
        let recipient = if channel_bits & 4 == 0 {
            let digits = reader.take(5)?;
            let mut wide = [0_u8; 8];
            wide[3..].copy_from_slice(digits);
            let national = format!("{:010}", u64::from_be_bytes(wide));
            Recipient::Phone(PhoneNumber::parse(&national).ok()?)
        } else {
            let length = usize::from(reader.byte()?);
            let address = std::str::from_utf8(reader.take(length)?).ok()?;
            Recipient::Email(EmailAddress::parse(address).ok()?)
        };
        let expires = if flags & EXPIRES != 0 {
            Some(i64::from_be_bytes(reader.take(8)?.try_into().ok()?))
        } else {
            None
        };
        let notice = if flags & NOTICE != 0 {
            let id: [u8; 16] = reader.take(16)?.try_into().ok()?;
            Some(RecordId::from_bytes(id).ok()?)
        } else {
            None
        };
        let reference = if flags & REFERENCE != 0 {
            let length = usize::from(reader.byte()?);
            Some(std::str::from_utf8(reader.take(length)?).ok()?.to_owned())
        } else {
            None
        };
        if !reader.0.is_empty() {
            return None;
        }
        let recipient_type = if flags & MERCHANT != 0 {
            RecipientType::Merchant
        } else {
            RecipientType::Individual
        };
        let locale = if flags & ENGLISH != 0 {
            Locale::English
        } else {
            Locale::Turkish
        };
        let mut link = Link::new(recipient, &channels, recipient_type, locale)
            .ok()?
            .with_reference(reference)
            .ok()?;
        link.expires = expires;
        link.notice = notice;
        Some(link)
    }
}

/// `{public_url}/v1/refusals/{token}`.
pub fn url(public_url: &str, token: &str) -> String {
    format!("{}/v1/refusals/{token}", public_url.trim_end_matches('/'))
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Option<u8> {
        self.take(1).map(|bytes| bytes[0])
    }

    fn take(&mut self, count: usize) -> Option<&'a [u8]> {
        if self.0.len() < count {
            return None;
        }
        let (taken, rest) = self.0.split_at(count);
        self.0 = rest;
        Some(taken)
    }
}

fn iv_mac(key: &LinkKey, plaintext: &[u8]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key.mac)
        // HMAC accepts keys of any length.
        .unwrap_or_else(|_| unreachable!());
    mac.update(b"iys-relay refusal link v1\0");
    mac.update(plaintext);
    mac
}

fn synthetic_iv(key: &LinkKey, plaintext: &[u8]) -> [u8; IV_LENGTH] {
    let tag = iv_mac(key, plaintext).finalize().into_bytes();
    let mut iv = [0_u8; IV_LENGTH];
    iv.copy_from_slice(&tag[..IV_LENGTH]);
    iv
}

/// Checks the IV in constant time.
fn verify_iv(key: &LinkKey, plaintext: &[u8], iv: &[u8; IV_LENGTH]) -> bool {
    iv_mac(key, plaintext).verify_truncated_left(iv).is_ok()
}

fn apply_keystream(key: &LinkKey, iv: &[u8; IV_LENGTH], data: &mut [u8]) {
    let mut nonce = [0_u8; 24];
    nonce[..IV_LENGTH].copy_from_slice(iv);
    let mut cipher = XChaCha20::new(&key.cipher.into(), &nonce.into());
    cipher.apply_keystream(data);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Keyring;

    fn keys(seed: u8) -> Vec<LinkKey> {
        Keyring::new(&[seed; 32], &[]).link_keys().to_vec()
    }

    fn phone_link() -> Link {
        let phone = Recipient::parse_for(Channel::Sms, "0532 123 45 67").unwrap();
        Link::new(
            phone,
            &[Channel::Call, Channel::Sms],
            RecipientType::Individual,
            Locale::Turkish,
        )
        .unwrap()
    }

    #[test]
    fn a_token_opens_to_the_link_it_was_made_from() {
        let keys = keys(7);
        let link = phone_link();
        let token = link.seal(&keys[0]);
        assert_eq!(token.len(), 31, "{token}");
        let opened = Link::open(&keys, &token, 0).unwrap();
        assert_eq!(opened, link);
        assert_eq!(opened.channels, vec![Channel::Sms, Channel::Call]);

        let email = Recipient::parse_for(Channel::Email, "ayse@example.com").unwrap();
        let mut link = Link::new(
            email,
            &[Channel::Email],
            RecipientType::Merchant,
            Locale::English,
        )
        .unwrap()
        .with_reference(Some("winter-sale".into()))
        .unwrap();
        link.expires = Some(2_000_000_000);
        link.notice = Some(RecordId::v7(1_765_000_000_000, [9; 10]));
        let token = link.seal(&keys[0]);
        assert_eq!(Link::open(&keys, &token, 1_999_999_999).unwrap(), link);
        assert_eq!(
            Link::open(&keys, &token, 2_000_000_000),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn a_token_reveals_no_address_and_is_the_same_each_time() {
        let keys = keys(7);
        let token = phone_link().seal(&keys[0]);
        let bytes = URL_SAFE_NO_PAD.decode(&token).unwrap();
        let digits = 5_321_234_567_u64.to_be_bytes();
        assert!(!bytes.windows(5).any(|window| window == &digits[3..]));
        assert!(!token.contains("5321234567"));
        assert_eq!(phone_link().seal(&keys[0]), token);
    }

    #[test]
    fn altered_truncated_or_foreign_tokens_do_not_open() {
        let keys = keys(7);
        let token = phone_link().seal(&keys[0]);
        let bytes = URL_SAFE_NO_PAD.decode(&token).unwrap();
        for index in 0..bytes.len() {
            for bit in 0..8 {
                let mut altered = bytes.clone();
                altered[index] ^= 1 << bit;
                let altered = URL_SAFE_NO_PAD.encode(altered);
                assert_eq!(
                    Link::open(&keys, &altered, 0),
                    Err(TokenError::Invalid),
                    "byte {index} bit {bit}"
                );
            }
        }
        for length in 0..token.len() {
            assert!(Link::open(&keys, &token[..length], 0).is_err());
        }
        assert_eq!(
            Link::open(&super::tests::keys(8), &token, 0),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            Link::open(&keys, "not a token!", 0),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            Link::open(&keys, &"A".repeat(600), 0),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn links_made_before_a_rotation_still_open() {
        let old = Keyring::new(&[1; 32], &[]);
        let token = phone_link().seal(&old.link_keys()[0]);
        let rotated = Keyring::new(&[2; 32], &[[1; 32]]);
        assert_eq!(
            Link::open(rotated.link_keys(), &token, 0).unwrap(),
            phone_link()
        );
        let forgotten = Keyring::new(&[2; 32], &[]);
        assert!(Link::open(forgotten.link_keys(), &token, 0).is_err());
    }

    #[test]
    fn links_refuse_only_channels_their_address_can_be_refused_on() {
        let landline = Recipient::parse_for(Channel::Call, "0212 123 45 67").unwrap();
        assert_eq!(
            Link::new(
                landline.clone(),
                &[Channel::Sms],
                RecipientType::Individual,
                Locale::Turkish
            ),
            Err(LinkError::Channels)
        );
        assert!(
            Link::new(
                landline,
                &[Channel::Call],
                RecipientType::Individual,
                Locale::Turkish
            )
            .is_ok()
        );
        let email = Recipient::parse_for(Channel::Email, "a@example.com").unwrap();
        assert_eq!(
            Link::new(
                email.clone(),
                &[Channel::Sms],
                RecipientType::Individual,
                Locale::Turkish
            ),
            Err(LinkError::Channels)
        );
        assert_eq!(
            Link::new(email, &[], RecipientType::Individual, Locale::Turkish),
            Err(LinkError::Channels)
        );
        assert_eq!(
            phone_link().with_reference(Some("a b".into())),
            Err(LinkError::Reference)
        );
    }
}
