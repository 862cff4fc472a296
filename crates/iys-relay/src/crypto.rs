//! Encryption of personal data at rest, the keyed hash that finds records without it, and the
//! keys that chain the ledger.
//!
//! Every sealed value is XChaCha20-Poly1305 under the current data key with a random nonce, bound
//! to its row and column through the associated data, so a value moved to another row or column
//! no longer opens. A sealed value names its key, so after a rotation old rows still open with
//! the previous keys.
//!
//! Layout of a sealed value: version byte `1`, key id (4 bytes), nonce (24 bytes), ciphertext.

use std::fmt;

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

const VERSION: u8 = 1;
const NONCE_LENGTH: usize = 24;
const HEADER_LENGTH: usize = 1 + 4 + NONCE_LENGTH;

/// One data key and its id.
#[derive(Clone)]
struct DataKey {
    id: u32,
    cipher: XChaCha20Poly1305,
}

impl DataKey {
    fn new(key: &[u8; 32]) -> DataKey {
        let digest = Sha256::new()
            .chain_update(b"iys-relay data key id\0")
            .chain_update(key)
            .finalize();
        DataKey {
            id: u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]),
            cipher: XChaCha20Poly1305::new(key.into()),
        }
    }
}

/// The current data key and the previous ones, with the ledger keys.
#[derive(Clone)]
pub struct Keyring {
    current: DataKey,
    previous: Vec<DataKey>,
    ledger: LedgerKeys,
    links: Vec<LinkKey>,
}

/// The two keys refusal links are made with, derived from one data key for this purpose alone:
/// one authenticates what a link says, the other encrypts it.
#[derive(Clone)]
pub struct LinkKey {
    /// The HMAC-SHA-256 key whose tag is the link's synthetic IV.
    pub mac: [u8; 32],
    /// The XChaCha20 key that encrypts what the link says.
    pub cipher: [u8; 32],
}

impl fmt::Debug for LinkKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("LinkKey(<redacted>)")
    }
}

impl LinkKey {
    fn derived_from_data_key(data_key: &[u8; 32]) -> LinkKey {
        let derive = |label: &[u8]| -> [u8; 32] {
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(data_key)
                // HMAC accepts keys of any length.
                .unwrap_or_else(|_| unreachable!());
            mac.update(label);
            mac.finalize().into_bytes().into()
        };
        LinkKey {
            mac: derive(b"iys-relay refusal link mac v1"),
            cipher: derive(b"iys-relay refusal link cipher v1"),
        }
    }
}

/// One key that chains ledger entries, and its id. The id is stored with each entry, so after a
/// rotation old entries are checked with the key that made them.
#[derive(Clone)]
pub struct LedgerKey {
    id: u32,
    key: [u8; 32],
}

impl LedgerKey {
    /// The key from its 32 bytes.
    pub fn new(key: [u8; 32]) -> LedgerKey {
        let digest = Sha256::new()
            .chain_update(b"iys-relay ledger key id\0")
            .chain_update(key)
            .finalize();
        LedgerKey {
            id: u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]),
            key,
        }
    }

    /// The ledger key a data key stands for when no ledger key of its own is set: a key derived
    /// from it for this purpose alone.
    pub fn derived_from_data_key(data_key: &[u8; 32]) -> LedgerKey {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(data_key)
            // HMAC accepts keys of any length.
            .unwrap_or_else(|_| unreachable!());
        mac.update(b"iys-relay ledger key v1");
        LedgerKey::new(mac.finalize().into_bytes().into())
    }

    /// Its id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// HMAC-SHA-256 of `parts` under this key, as lower-case hex.
    pub fn mac_hex(&self, parts: &[&[u8]]) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            // HMAC accepts keys of any length.
            .unwrap_or_else(|_| unreachable!());
        for part in parts {
            mac.update(part);
        }
        consent_core::record::hex(&mac.finalize().into_bytes())
    }
}

/// The ledger key new entries are chained with, and the ones earlier entries were.
#[derive(Clone)]
pub struct LedgerKeys {
    current: LedgerKey,
    previous: Vec<LedgerKey>,
}

impl LedgerKeys {
    /// The key new entries are chained with.
    pub fn current(&self) -> &LedgerKey {
        &self.current
    }

    /// The key with `id`, current or previous.
    pub fn find(&self, id: u32) -> Option<&LedgerKey> {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|key| key.id == id)
    }
}

impl fmt::Debug for LedgerKeys {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("LedgerKeys")
            .field("current", &self.current.id)
            .field(
                "previous",
                &self.previous.iter().map(|key| key.id).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Keyring")
            .field("current", &self.current.id)
            .field(
                "previous",
                &self.previous.iter().map(|key| key.id).collect::<Vec<_>>(),
            )
            .field("ledger", &self.ledger)
            .finish()
    }
}

/// A sealed value that does not open: altered, moved, or sealed under an unknown key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenError {
    /// Too short or of an unknown version.
    Malformed,
    /// Sealed under a key that is neither the current nor a previous one.
    UnknownKey(u32),
    /// The authentication tag does not match: the value was altered or moved.
    Tampered,
}

impl fmt::Display for OpenError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::Malformed => formatter.write_str("sealed value is malformed"),
            OpenError::UnknownKey(id) => {
                write!(
                    formatter,
                    "sealed value uses unknown key {id:08x}; add it to previous_data_keys"
                )
            }
            OpenError::Tampered => formatter.write_str("sealed value fails authentication"),
        }
    }
}

impl std::error::Error for OpenError {}

impl Keyring {
    /// A keyring that seals with `current` and still opens what `previous` sealed. The ledger is
    /// chained with a key derived from `current`, and entries chained with keys derived from
    /// `previous` still verify.
    pub fn new(current: &[u8; 32], previous: &[[u8; 32]]) -> Keyring {
        Keyring {
            current: DataKey::new(current),
            previous: previous.iter().map(DataKey::new).collect(),
            ledger: LedgerKeys {
                current: LedgerKey::derived_from_data_key(current),
                previous: previous
                    .iter()
                    .map(LedgerKey::derived_from_data_key)
                    .collect(),
            },
            links: std::iter::once(current)
                .chain(previous)
                .map(LinkKey::derived_from_data_key)
                .collect(),
        }
    }

    /// The keys of refusal links: the current data key's first, which makes new links, then the
    /// previous ones', which still open the links made before a rotation.
    pub fn link_keys(&self) -> &[LinkKey] {
        &self.links
    }

    /// The same keyring with a ledger key of its own (`RELAY_LEDGER_KEY`), kept apart from the
    /// data key; entries chained with `previous` ledger keys, or with the keys derived from the
    /// data keys before, still verify.
    pub fn with_ledger_key(mut self, current: [u8; 32], previous: &[[u8; 32]]) -> Keyring {
        let derived = std::mem::replace(&mut self.ledger.current, LedgerKey::new(current));
        let mut earlier: Vec<LedgerKey> = previous.iter().copied().map(LedgerKey::new).collect();
        earlier.push(derived);
        earlier.append(&mut self.ledger.previous);
        self.ledger.previous = earlier;
        self
    }

    /// The keys that chain the ledger.
    pub fn ledger(&self) -> &LedgerKeys {
        &self.ledger
    }

    /// The id of the key new values are sealed with.
    pub fn current_key_id(&self) -> u32 {
        self.current.id
    }

    /// Encrypts `plaintext`, bound to `context` (for example `consents.recipient/<id>`).
    pub fn seal(&self, plaintext: &[u8], context: &str) -> Vec<u8> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let ciphertext = self
            .current
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            // Encryption fails only for inputs of more than 256 GiB.
            .unwrap_or_default();
        let mut sealed = Vec::with_capacity(HEADER_LENGTH + ciphertext.len());
        sealed.push(VERSION);
        sealed.extend_from_slice(&self.current.id.to_be_bytes());
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        sealed
    }

    /// Decrypts what [`Keyring::seal`] produced with the same `context`.
    pub fn open(&self, sealed: &[u8], context: &str) -> Result<Vec<u8>, OpenError> {
        if sealed.len() < HEADER_LENGTH || sealed[0] != VERSION {
            return Err(OpenError::Malformed);
        }
        let key_id = u32::from_be_bytes([sealed[1], sealed[2], sealed[3], sealed[4]]);
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|key| key.id == key_id)
            .ok_or(OpenError::UnknownKey(key_id))?;
        let nonce = XNonce::from_slice(&sealed[5..HEADER_LENGTH]);
        key.cipher
            .decrypt(
                nonce,
                Payload {
                    msg: &sealed[HEADER_LENGTH..],
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| OpenError::Tampered)
    }

    /// The key id a sealed value names, if it is well formed.
    pub fn key_id_of(sealed: &[u8]) -> Option<u32> {
        (sealed.len() >= HEADER_LENGTH && sealed[0] == VERSION)
            .then(|| u32::from_be_bytes([sealed[1], sealed[2], sealed[3], sealed[4]]))
    }
}

/// The key of the lookup hash. It is random, kept in the database sealed under the data key, and
/// survives key rotations, so lookups keep working.
#[derive(Clone)]
pub struct IndexKey([u8; 32]);

impl fmt::Debug for IndexKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("IndexKey(<redacted>)")
    }
}

impl IndexKey {
    /// A fresh random key.
    pub fn generate() -> IndexKey {
        IndexKey(XChaCha20Poly1305::generate_key(&mut OsRng).into())
    }

    /// The key from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> IndexKey {
        IndexKey(bytes)
    }

    /// The 32 bytes, to be sealed.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// HMAC-SHA-256 of `data` under this key, for the purpose `label` names.
    pub fn keyed_digest(&self, label: &[u8], data: &[u8]) -> Vec<u8> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            // HMAC accepts keys of any length.
            .unwrap_or_else(|_| unreachable!());
        mac.update(label);
        mac.update(b"\0");
        mac.update(data);
        mac.finalize().into_bytes().to_vec()
    }

    /// The lookup hash of a normalised recipient: HMAC-SHA-256, so the database holds no value
    /// from which the address can be guessed without the key.
    pub fn recipient_hash(&self, normalised: &str) -> Vec<u8> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            // HMAC accepts keys of any length.
            .unwrap_or_else(|_| unreachable!());
        mac.update(b"recipient\0");
        mac.update(normalised.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_in_their_context() {
        let keyring = Keyring::new(&[7; 32], &[]);
        let sealed = keyring.seal(b"+905321234567", "consents.recipient/a");
        assert!(!sealed.windows(4).any(|window| window == b"5321"));
        assert_eq!(
            keyring.open(&sealed, "consents.recipient/a").unwrap(),
            b"+905321234567"
        );
        assert_eq!(
            keyring.open(&sealed, "consents.recipient/b"),
            Err(OpenError::Tampered)
        );
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert_eq!(
            keyring.open(&altered, "consents.recipient/a"),
            Err(OpenError::Tampered)
        );
        assert_eq!(
            keyring.open(&sealed[..10], "consents.recipient/a"),
            Err(OpenError::Malformed)
        );
    }

    #[test]
    fn old_values_open_after_a_rotation() {
        let old = Keyring::new(&[1; 32], &[]);
        let sealed = old.seal(b"ali@example.com", "x");
        let rotated = Keyring::new(&[2; 32], &[[1; 32]]);
        assert_eq!(rotated.open(&sealed, "x").unwrap(), b"ali@example.com");
        let resealed = rotated.seal(b"ali@example.com", "x");
        assert_eq!(
            Keyring::key_id_of(&resealed),
            Some(rotated.current_key_id())
        );
        let forgotten = Keyring::new(&[2; 32], &[]);
        assert!(matches!(
            forgotten.open(&sealed, "x"),
            Err(OpenError::UnknownKey(_))
        ));
    }

    #[test]
    fn lookup_hashes_depend_on_the_key() {
        let first = IndexKey::from_bytes([3; 32]);
        let second = IndexKey::from_bytes([4; 32]);
        assert_eq!(first.recipient_hash("a"), first.recipient_hash("a"));
        assert_ne!(first.recipient_hash("a"), first.recipient_hash("b"));
        assert_ne!(first.recipient_hash("a"), second.recipient_hash("a"));
    }
}
