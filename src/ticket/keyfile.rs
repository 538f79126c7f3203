//! Ticket key files: nginx's `ssl_session_ticket_key` files, and this crate's own versioned
//! format for sharing a key ring across a fleet.
//!
//! # nginx files
//! 48 bytes: `name (16) | AES-128 key (16) | HMAC-SHA256 key (16)`; 80 bytes:
//! `name (16) | HMAC-SHA256 key (32) | AES-256 key (32)`. The name is kept; all the key bytes
//! after it become the master secret from which this crate derives its AEAD key
//! ([`TicketKeyMaterial`]). Tickets keep this crate's format: a server switching from nginx
//! keeps its key files, not its outstanding tickets.
//!
//! # This crate's format (version 1)
//! ```text
//! "TRSTEK" (6) | u8 version = 1 | u8 count (1..=255) |
//! count × ( name (16) | u64 activates_at (ms since the epoch) | u8 len (1..=64) | master (len) )
//! ```
//! Key names must be distinct. Nothing may follow the last key. (Versions of this crate
//! before rings could hold more than 64 keys refuse files of more than 64.)

use crate::codec::{InvalidMessage, Reader, Writer};
use crate::crypto::secret::{SecretVec, MAX_INLINE_SECRET};
use crate::time::Timestamp;

use super::key::{TicketKeyMaterial, KEY_NAME_LEN};

/// The magic bytes that open a key file of this crate's format.
pub const MAGIC: &[u8; 6] = b"TRSTEK";
/// The key-file format version written.
pub const VERSION: u8 = 1;
/// Most keys one file holds (its count is one byte). A key ring never holds more
/// ([`MAX_RING_KEYS`](super::MAX_RING_KEYS)), so a whole ring always fits in one file.
pub const MAX_FILE_KEYS: usize = u8::MAX as usize;

/// A ticket key file could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    /// The file's length matches no known format.
    #[error("key file has an unknown length of {0} bytes (nginx key files are 48 or 80 bytes)")]
    UnknownLength(usize),
    /// The file does not start with this crate's magic bytes.
    #[error("key file does not start with \"TRSTEK\"")]
    BadMagic,
    /// The file's format version is not one this crate reads.
    #[error("key file has unknown format version {0}")]
    UnknownVersion(u8),
    /// The file ended inside the named field.
    #[error("key file truncated in {0}")]
    Truncated(&'static str),
    /// Bytes followed the last key.
    #[error("key file has trailing bytes after its last key")]
    TrailingBytes,
    /// Two keys have the same name (or a key of that name is already held).
    #[error("key file has a duplicate key name {}", hex(.0))]
    DuplicateKeyName([u8; KEY_NAME_LEN]),
    /// A master secret was empty or over 64 bytes.
    #[error("key file has a master key of invalid length {0}")]
    BadSecretLength(usize),
    /// The file holds no key, or more than a file can hold.
    #[error("key file must hold between 1 and 255 keys, holds {0}")]
    BadKeyCount(usize),
    /// The ring importing the file has no room for another key.
    #[error("the key ring is full")]
    RingFull,
    /// There were no keys to write.
    #[error("no keys to write")]
    NoKeys,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl From<InvalidMessage> for KeyFileError {
    fn from(e: InvalidMessage) -> Self {
        match e {
            InvalidMessage::Truncated(what) => Self::Truncated(what),
            InvalidMessage::TrailingBytes(_) => Self::TrailingBytes,
            InvalidMessage::TooLongToEncode => Self::BadSecretLength(MAX_INLINE_SECRET + 1),
            // Key files use only plain reads; any other codec rule reads as a cut-off file.
            _ => Self::Truncated("key file"),
        }
    }
}

/// One key of a key file.
#[derive(Debug)]
pub struct KeyFileEntry {
    /// Name and master secret.
    pub material: TicketKeyMaterial,
    /// When it starts encrypting.
    pub activates_at: Timestamp,
}

/// Reads one nginx `ssl_session_ticket_key` file (48 or 80 bytes).
///
/// # Errors
/// [`KeyFileError::UnknownLength`] for any other length.
pub fn import_nginx_key(bytes: &[u8]) -> Result<TicketKeyMaterial, KeyFileError> {
    if bytes.len() != 48 && bytes.len() != 80 {
        return Err(KeyFileError::UnknownLength(bytes.len()));
    }
    let mut name = [0u8; KEY_NAME_LEN];
    name.copy_from_slice(&bytes[..KEY_NAME_LEN]);
    TicketKeyMaterial::new(name, &bytes[KEY_NAME_LEN..])
        .ok_or(KeyFileError::BadSecretLength(bytes.len() - KEY_NAME_LEN))
}

/// Reads several nginx key files, as nginx takes several `ssl_session_ticket_key` directives.
///
/// # Errors
/// As [`import_nginx_key`], and [`KeyFileError::DuplicateKeyName`] when two share a name.
pub fn import_nginx_keys(files: &[&[u8]]) -> Result<Vec<TicketKeyMaterial>, KeyFileError> {
    let mut out: Vec<TicketKeyMaterial> = Vec::with_capacity(files.len());
    for file in files {
        let key = import_nginx_key(file)?;
        if out.iter().any(|k| k.name() == key.name()) {
            return Err(KeyFileError::DuplicateKeyName(*key.name()));
        }
        out.push(key);
    }
    Ok(out)
}

/// Writes `entries` in this crate's format; the output is zeroized on drop.
///
/// # Errors
/// [`KeyFileError::NoKeys`], [`KeyFileError::BadKeyCount`] (over 255),
/// [`KeyFileError::DuplicateKeyName`].
pub fn encode_key_file(entries: &[KeyFileEntry]) -> Result<SecretVec, KeyFileError> {
    if entries.is_empty() {
        return Err(KeyFileError::NoKeys);
    }
    if entries.len() > MAX_FILE_KEYS {
        return Err(KeyFileError::BadKeyCount(entries.len()));
    }
    check_distinct(entries)?;
    let len = MAGIC.len() + 2 + entries.len() * (KEY_NAME_LEN + 8 + 1 + MAX_INLINE_SECRET);
    let mut w = Writer::with_capacity(len);
    w.bytes(MAGIC);
    w.u8(VERSION);
    w.u8(entries.len() as u8);
    let mut result = Ok(());
    for e in entries {
        w.bytes(e.material.name());
        w.u64(e.activates_at.as_millis());
        result = result.and(w.u8_prefixed_bytes(e.material.expose_secret()));
    }
    let out = SecretVec::new(w.into_vec());
    result?;
    Ok(out)
}

/// Reads a key file in this crate's format.
///
/// # Errors
/// A [`KeyFileError`] naming the problem: [`BadMagic`](KeyFileError::BadMagic),
/// [`UnknownVersion`](KeyFileError::UnknownVersion), [`Truncated`](KeyFileError::Truncated),
/// [`TrailingBytes`](KeyFileError::TrailingBytes), [`BadKeyCount`](KeyFileError::BadKeyCount),
/// [`BadSecretLength`](KeyFileError::BadSecretLength),
/// [`DuplicateKeyName`](KeyFileError::DuplicateKeyName).
pub fn decode_key_file(bytes: &[u8]) -> Result<Vec<KeyFileEntry>, KeyFileError> {
    let mut r = Reader::new(bytes);
    if r.take(MAGIC.len(), "magic")
        .map_err(|_| KeyFileError::BadMagic)?
        != MAGIC
    {
        return Err(KeyFileError::BadMagic);
    }
    let version = r.u8("version")?;
    if version != VERSION {
        return Err(KeyFileError::UnknownVersion(version));
    }
    let count = usize::from(r.u8("key count")?);
    if count == 0 || count > MAX_FILE_KEYS {
        return Err(KeyFileError::BadKeyCount(count));
    }
    let mut entries = Vec::with_capacity(count);
    for _ in 0..count {
        let name = r.array::<KEY_NAME_LEN>("key name")?;
        let activates_at = Timestamp::from_millis(r.u64("activation time")?);
        let secret = r.u8_prefixed("master key")?;
        let material = TicketKeyMaterial::new(name, secret)
            .ok_or(KeyFileError::BadSecretLength(secret.len()))?;
        entries.push(KeyFileEntry {
            material,
            activates_at,
        });
    }
    r.expect_empty("key file")?;
    check_distinct(&entries)?;
    Ok(entries)
}

fn check_distinct(entries: &[KeyFileEntry]) -> Result<(), KeyFileError> {
    for (i, e) in entries.iter().enumerate() {
        if entries[..i]
            .iter()
            .any(|o| o.material.name() == e.material.name())
        {
            return Err(KeyFileError::DuplicateKeyName(*e.material.name()));
        }
    }
    Ok(())
}
