//! Encryption at rest of cached tokens: AES-256-GCM with a key id per value, key rotation
//! through a keyring, and the storage key bound as associated data.
//!
//! Wire format of a stored value (bytes):
//!
//! | bytes | content |
//! |---|---|
//! | 1 | format version: [`FORMAT_AES256_GCM`] (`0x01`) or [`FORMAT_PLAINTEXT`] (`0x00`) |
//! | 1 | length `n` of the key id (encrypted format only) |
//! | n | key id, ASCII (encrypted format only) |
//! | 12 | random nonce (encrypted format only) |
//! | rest | AES-256-GCM ciphertext and 16-byte tag of the token's JSON (or the JSON itself, plaintext) |
//!
//! The associated data is the header (version, key id length, key id) followed by the full
//! storage key, so a value copied under another key, or with its key id edited, fails to decrypt.

use std::fmt;
use std::sync::Arc;

use aes_gcm::aead::{Aead, Generate, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::CachedToken;

/// Format byte of an AES-256-GCM encrypted value.
pub const FORMAT_AES256_GCM: u8 = 0x01;
/// Format byte of a plaintext (JSON) value, written only after an explicit opt-out.
pub const FORMAT_PLAINTEXT: u8 = 0x00;

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const MAX_KEY_ID_LEN: usize = 64;

/// An encryption key or keyring could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyringError {
    /// A key id must be 1 to 64 characters of `A-Z a-z 0-9 . _ -` (it is stored in clear).
    InvalidKeyId(String),
    /// AES-256 needs exactly 32 bytes of key material.
    InvalidKeyLength(usize),
    /// The key was not valid base64 (standard alphabet, with padding).
    InvalidBase64,
    /// Two keys of the keyring have the same id.
    DuplicateKeyId(String),
}

impl fmt::Display for KeyringError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyringError::InvalidKeyId(id) => write!(
                f,
                "invalid encryption key id {id:?}: use 1 to 64 characters of A-Z a-z 0-9 . _ -"
            ),
            KeyringError::InvalidKeyLength(len) => {
                write!(f, "an AES-256 key must be 32 bytes, got {len}")
            }
            KeyringError::InvalidBase64 => f.write_str("the encryption key is not valid base64"),
            KeyringError::DuplicateKeyId(id) => {
                write!(f, "the key id {id:?} appears twice in the keyring")
            }
        }
    }
}

impl std::error::Error for KeyringError {}

/// One AES-256 key with its id. `Debug` shows the id only; the key material is never shown.
///
/// ```
/// use msgraph_typed_auth::EncryptionKey;
///
/// let key = EncryptionKey::from_base64("2026-11", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")?;
/// assert_eq!(key.id(), "2026-11");
/// assert!(!format!("{key:?}").contains("MDEy"));
/// # Ok::<(), msgraph_typed_auth::KeyringError>(())
/// ```
#[derive(Clone)]
pub struct EncryptionKey {
    id: String,
    cipher: Aes256Gcm,
}

impl EncryptionKey {
    /// A key from 32 bytes of key material, named `id` (stored in clear with each value).
    ///
    /// # Errors
    /// [`KeyringError::InvalidKeyId`] or [`KeyringError::InvalidKeyLength`].
    pub fn new(id: impl Into<String>, key: &[u8]) -> Result<Self, KeyringError> {
        let id = id.into();
        validate_key_id(&id)?;
        let cipher = Aes256Gcm::new_from_slice(key)
            .map_err(|_| KeyringError::InvalidKeyLength(key.len()))?;
        Ok(Self { id, cipher })
    }

    /// A key from its base64 form (32 bytes once decoded), e.g. read from a secret store.
    ///
    /// # Errors
    /// [`KeyringError::InvalidBase64`], [`KeyringError::InvalidKeyId`] or
    /// [`KeyringError::InvalidKeyLength`].
    pub fn from_base64(id: impl Into<String>, key: &str) -> Result<Self, KeyringError> {
        let mut bytes = STANDARD
            .decode(key.trim())
            .map_err(|_| KeyringError::InvalidBase64)?;
        let key = Self::new(id, &bytes);
        // Best effort: do not leave the decoded key material in the freed buffer.
        bytes.fill(0);
        key
    }

    /// A new random key (operating system randomness), for tests and single-process use.
    /// Instances that share a cache must share the key: load it with [`Self::from_base64`].
    ///
    /// # Errors
    /// [`KeyringError::InvalidKeyId`].
    pub fn generate(id: impl Into<String>) -> Result<Self, KeyringError> {
        let id = id.into();
        validate_key_id(&id)?;
        let key = Key::<Aes256Gcm>::generate();
        Ok(Self {
            id,
            cipher: Aes256Gcm::new(&key),
        })
    }

    /// The key id written in clear with each value.
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptionKey")
            .field("id", &self.id)
            .field("key", &"[REDACTED]")
            .finish()
    }
}

fn validate_key_id(id: &str) -> Result<(), KeyringError> {
    let valid = !id.is_empty()
        && id.len() <= MAX_KEY_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if valid {
        Ok(())
    } else {
        Err(KeyringError::InvalidKeyId(id.to_string()))
    }
}

/// The keys of an encrypted cache: the current key encrypts every write; previous keys only
/// decrypt values written before a rotation (until those expire with their tokens).
///
/// To rotate without misses: (1) deploy the new key as a *previous* key everywhere (every
/// instance can read what it will write), (2) make it current, the old one previous, (3) once
/// the longest token lifetime (about 1.5 h for Entra ID) has passed, drop the old key. An
/// instance that cannot decrypt a value (unknown key id) treats it as a miss, never an error.
///
/// ```
/// use msgraph_typed_auth::{EncryptionKey, Keyring};
///
/// let old = EncryptionKey::generate("2026-10")?;
/// let new = EncryptionKey::generate("2026-11")?;
/// let keyring = Keyring::new(new).with_previous(old)?;
/// assert_eq!(keyring.current_key_id(), "2026-11");
/// assert_eq!(keyring.key_ids(), vec!["2026-11", "2026-10"]);
/// # Ok::<(), msgraph_typed_auth::KeyringError>(())
/// ```
#[derive(Clone)]
pub struct Keyring {
    current: Arc<EncryptionKey>,
    previous: Vec<Arc<EncryptionKey>>,
}

impl Keyring {
    /// A keyring writing with `current`.
    pub fn new(current: EncryptionKey) -> Self {
        Self {
            current: Arc::new(current),
            previous: Vec::new(),
        }
    }

    /// Adds a previous key, still accepted for reading.
    ///
    /// # Errors
    /// [`KeyringError::DuplicateKeyId`] when a key with that id is already in the ring.
    pub fn with_previous(mut self, key: EncryptionKey) -> Result<Self, KeyringError> {
        if self.find(key.id()).is_some() {
            return Err(KeyringError::DuplicateKeyId(key.id));
        }
        self.previous.push(Arc::new(key));
        Ok(self)
    }

    /// The id of the key new values are encrypted with.
    pub fn current_key_id(&self) -> &str {
        self.current.id()
    }

    /// Every key id, the current one first.
    pub fn key_ids(&self) -> Vec<&str> {
        std::iter::once(self.current.id())
            .chain(self.previous.iter().map(|k| k.id()))
            .collect()
    }

    fn find(&self, id: &str) -> Option<&EncryptionKey> {
        std::iter::once(&self.current)
            .chain(self.previous.iter())
            .map(AsRef::as_ref)
            .find(|k| k.id == id)
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("key_ids", &self.key_ids())
            .finish()
    }
}

/// Why a stored value was not accepted. The text names no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Rejected {
    Malformed,
    UnknownFormat(u8),
    UnexpectedPlaintext,
    UnexpectedCiphertext,
    UnknownKey(String),
    Authentication(String),
    Decode,
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejected::Malformed => f.write_str("the value is empty or truncated"),
            Rejected::UnknownFormat(format) => write!(f, "unknown value format {format:#04x}"),
            Rejected::UnexpectedPlaintext => f.write_str(
                "a plaintext value was found but the cache is encrypted; plaintext values are never trusted",
            ),
            Rejected::UnexpectedCiphertext => f.write_str(
                "an encrypted value was found but the cache was configured for plaintext storage",
            ),
            Rejected::UnknownKey(id) => write!(
                f,
                "the value was encrypted with key id {id:?}, which is not in the keyring"
            ),
            Rejected::Authentication(id) => write!(
                f,
                "the value failed authentication with key id {id:?} (tampered, or stored under another key)"
            ),
            Rejected::Decode => f.write_str("the decrypted value is not a cached token"),
        }
    }
}

impl std::error::Error for Rejected {}

/// How values are turned into stored bytes: encrypted (the default) or plaintext (opt-out).
#[derive(Clone)]
pub(crate) enum ValueCodec {
    Encrypted(Keyring),
    Plaintext,
}

impl fmt::Debug for ValueCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueCodec::Encrypted(keyring) => write!(
                f,
                "AES-256-GCM (current key {:?}, {} key(s))",
                keyring.current_key_id(),
                keyring.key_ids().len()
            ),
            ValueCodec::Plaintext => f.write_str("plaintext (unencrypted storage allowed)"),
        }
    }
}

impl ValueCodec {
    /// The bytes to store for `value` under `storage_key`.
    pub(crate) fn seal(
        &self,
        storage_key: &str,
        value: &CachedToken,
    ) -> Result<Vec<u8>, super::CacheError> {
        let json = serde_json::to_vec(value)
            .map_err(|e| super::CacheError(format!("cannot encode the token: {e}")))?;
        match self {
            ValueCodec::Plaintext => {
                let mut out = Vec::with_capacity(1 + json.len());
                out.push(FORMAT_PLAINTEXT);
                out.extend_from_slice(&json);
                Ok(out)
            }
            ValueCodec::Encrypted(keyring) => {
                let key = &keyring.current;
                let header = header(&key.id);
                let nonce = aes_gcm::aead::Nonce::<Aes256Gcm>::generate();
                let aad = associated_data(&header, storage_key);
                let mut json = json;
                let sealed = key.cipher.encrypt(
                    &nonce,
                    Payload {
                        msg: &json,
                        aad: &aad,
                    },
                );
                json.fill(0);
                let ciphertext =
                    sealed.map_err(|_| super::CacheError("encryption failed".into()))?;
                let mut out = Vec::with_capacity(header.len() + NONCE_LEN + ciphertext.len());
                out.extend_from_slice(&header);
                out.extend_from_slice(&nonce);
                out.extend_from_slice(&ciphertext);
                Ok(out)
            }
        }
    }

    /// The token stored as `bytes` under `storage_key`, if it is acceptable.
    pub(crate) fn open(&self, storage_key: &str, bytes: &[u8]) -> Result<CachedToken, Rejected> {
        let (&format, rest) = bytes.split_first().ok_or(Rejected::Malformed)?;
        match (format, self) {
            (FORMAT_PLAINTEXT, ValueCodec::Plaintext) => {
                serde_json::from_slice(rest).map_err(|_| Rejected::Decode)
            }
            (FORMAT_PLAINTEXT, ValueCodec::Encrypted(_)) => Err(Rejected::UnexpectedPlaintext),
            (FORMAT_AES256_GCM, ValueCodec::Plaintext) => Err(Rejected::UnexpectedCiphertext),
            (FORMAT_AES256_GCM, ValueCodec::Encrypted(keyring)) => {
                let (&id_len, rest) = rest.split_first().ok_or(Rejected::Malformed)?;
                let id_len = usize::from(id_len);
                if rest.len() < id_len + NONCE_LEN + TAG_LEN {
                    return Err(Rejected::Malformed);
                }
                let (id, rest) = rest.split_at(id_len);
                let id = std::str::from_utf8(id).map_err(|_| Rejected::Malformed)?;
                let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
                let key = keyring
                    .find(id)
                    .ok_or_else(|| Rejected::UnknownKey(printable(id)))?;
                let nonce = aes_gcm::aead::Nonce::<Aes256Gcm>::try_from(nonce)
                    .map_err(|_| Rejected::Malformed)?;
                let aad = associated_data(&bytes[..2 + id_len], storage_key);
                let mut json = key
                    .cipher
                    .decrypt(
                        &nonce,
                        Payload {
                            msg: ciphertext,
                            aad: &aad,
                        },
                    )
                    .map_err(|_| Rejected::Authentication(id.to_string()))?;
                let token = serde_json::from_slice(&json).map_err(|_| Rejected::Decode);
                json.fill(0);
                token
            }
            (other, _) => Err(Rejected::UnknownFormat(other)),
        }
    }
}

/// The key id of an encrypted value, if it is one (for inspection and tests).
pub(crate) fn key_id_of(bytes: &[u8]) -> Option<&str> {
    let (&format, rest) = bytes.split_first()?;
    if format != FORMAT_AES256_GCM {
        return None;
    }
    let (&len, rest) = rest.split_first()?;
    std::str::from_utf8(rest.get(..usize::from(len))?).ok()
}

fn header(key_id: &str) -> Vec<u8> {
    let mut header = Vec::with_capacity(2 + key_id.len());
    header.push(FORMAT_AES256_GCM);
    // The id was validated to be at most 64 bytes long.
    header.push(u8::try_from(key_id.len()).unwrap_or(u8::MAX));
    header.extend_from_slice(key_id.as_bytes());
    header
}

fn associated_data(header: &[u8], storage_key: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(header.len() + storage_key.len());
    aad.extend_from_slice(header);
    aad.extend_from_slice(storage_key.as_bytes());
    aad
}

/// A key id read from storage, safe to log (anything unexpected is escaped).
fn printable(id: &str) -> String {
    id.chars().flat_map(char::escape_default).take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn token() -> CachedToken {
        CachedToken::new(
            "eyJ.secret-token",
            UNIX_EPOCH + Duration::from_secs(2_000_000_000),
            None,
        )
    }

    fn codec(id: &str) -> (EncryptionKey, ValueCodec) {
        let key = EncryptionKey::generate(id).unwrap();
        (key.clone(), ValueCodec::Encrypted(Keyring::new(key)))
    }

    mod properties {
        use super::*;
        use crate::fuzz_support;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(fuzz_support::config())]

            #[test]
            fn stored_values_never_panic_and_forgeries_are_refused(
                bytes in fuzz_support::hostile_bytes(),
                edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
            ) {
                let (_, encrypted) = codec("k1");
                // Arbitrary bytes: refused (nothing but a sealed value opens), never a panic.
                prop_assert!(encrypted.open("prefix:key", &bytes).is_err());
                let _ = ValueCodec::Plaintext.open("prefix:key", &bytes);
                let _ = key_id_of(&bytes);
                // A real sealed value with bytes changed: refused.
                let mut sealed = encrypted.seal("prefix:key", &token()).unwrap();
                let original = sealed.clone();
                for (at, byte) in edits {
                    let i = at.index(sealed.len());
                    sealed[i] = byte;
                }
                if sealed != original {
                    prop_assert!(encrypted.open("prefix:key", &sealed).is_err());
                }
            }
        }
    }

    #[test]
    fn round_trip_hides_the_token_and_names_the_key() {
        let (_, codec) = codec("k1");
        let sealed = codec.seal("prefix:key", &token()).unwrap();
        assert!(!String::from_utf8_lossy(&sealed).contains("secret-token"));
        assert_eq!(key_id_of(&sealed), Some("k1"));
        assert_eq!(
            codec.open("prefix:key", &sealed).unwrap().secret(),
            "eyJ.secret-token"
        );
        // two seals of one value differ (random nonce)
        assert_ne!(sealed, codec.seal("prefix:key", &token()).unwrap());
    }

    #[test]
    fn another_storage_key_or_a_flipped_bit_fails() {
        let (_, codec) = codec("k1");
        let sealed = codec.seal("prefix:a", &token()).unwrap();
        assert_eq!(
            codec.open("prefix:b", &sealed).unwrap_err(),
            Rejected::Authentication("k1".into())
        );
        for i in 0..sealed.len() {
            let mut tampered = sealed.clone();
            tampered[i] ^= 0x01;
            assert!(
                codec.open("prefix:a", &tampered).is_err(),
                "byte {i} flipped was accepted"
            );
        }
        assert_eq!(
            codec.open("prefix:a", &sealed[..10]).unwrap_err(),
            Rejected::Malformed
        );
        assert_eq!(
            codec.open("prefix:a", &[]).unwrap_err(),
            Rejected::Malformed
        );
    }

    #[test]
    fn rotation_reads_old_values_and_writes_with_the_new_key() {
        let (old, old_codec) = codec("old");
        let written_before = old_codec.seal("k", &token()).unwrap();
        let rotated = ValueCodec::Encrypted(
            Keyring::new(EncryptionKey::generate("new").unwrap())
                .with_previous(old)
                .unwrap(),
        );
        assert_eq!(
            rotated.open("k", &written_before).unwrap().secret(),
            "eyJ.secret-token"
        );
        let written_after = rotated.seal("k", &token()).unwrap();
        assert_eq!(key_id_of(&written_after), Some("new"));
        // a node still on the old key alone cannot read the new value
        assert_eq!(
            old_codec.open("k", &written_after).unwrap_err(),
            Rejected::UnknownKey("new".into())
        );
    }

    #[test]
    fn plaintext_and_ciphertext_are_never_confused() {
        let (_, encrypted) = codec("k1");
        let plain = ValueCodec::Plaintext.seal("k", &token()).unwrap();
        assert_eq!(plain[0], FORMAT_PLAINTEXT);
        assert_eq!(
            ValueCodec::Plaintext.open("k", &plain).unwrap().secret(),
            "eyJ.secret-token"
        );
        assert_eq!(
            encrypted.open("k", &plain).unwrap_err(),
            Rejected::UnexpectedPlaintext
        );
        let sealed = encrypted.seal("k", &token()).unwrap();
        assert_eq!(
            ValueCodec::Plaintext.open("k", &sealed).unwrap_err(),
            Rejected::UnexpectedCiphertext
        );
        assert_eq!(
            encrypted.open("k", &[7, 1, 2]).unwrap_err(),
            Rejected::UnknownFormat(7)
        );
    }

    #[test]
    fn keys_and_ids_are_validated_and_never_printed() {
        assert_eq!(
            EncryptionKey::new("k", &[0; 16]).unwrap_err(),
            KeyringError::InvalidKeyLength(16)
        );
        assert_eq!(
            EncryptionKey::new("", &[0; 32]).unwrap_err(),
            KeyringError::InvalidKeyId(String::new())
        );
        assert!(EncryptionKey::new("a b", &[0; 32]).is_err());
        assert_eq!(
            EncryptionKey::from_base64("k", "not base64!").unwrap_err(),
            KeyringError::InvalidBase64
        );
        let key = EncryptionKey::new("k", &[0x41; 32]).unwrap();
        let ring = Keyring::new(key.clone());
        assert_eq!(
            ring.clone().with_previous(key).unwrap_err(),
            KeyringError::DuplicateKeyId("k".into())
        );
        assert!(!format!("{ring:?}{:?}", ValueCodec::Encrypted(ring.clone())).contains("AAAA"));
    }
}
