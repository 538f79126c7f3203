//! What the synchronous and the asynchronous Redis session caches share: Redis key names,
//! the [`KeyShape`] check, and the sealing of values (format in the module docs of
//! [`RedisSessionCache`](super::RedisSessionCache)). Pure: no Redis call is made here, so a
//! value stored by one cache is read by the other.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use ring::rand::{SecureRandom, SystemRandom};

use super::bounded::Bounded;
use super::cache::{KeyShape, MAX_KEY_LEN};
use super::connection::prefixed;
use super::FleetKey;
use crate::crypto::aead::{AeadKey, NONCE_LEN, TAG_LEN};
use crate::crypto::secret::SecretVec;
use crate::store::StoreError;
use crate::time::{Clock, Timestamp};

const VERSION: u8 = 1;
const HEADER_LEN: usize = 1 + NONCE_LEN;
const EXPIRY_LEN: usize = 8;
/// Longest encoded session stored; larger values are refused rather than sent.
const MAX_VALUE_LEN: usize = 64 * 1024;
/// Longest value a session cache writes to Redis, and so the longest it reads back.
pub(crate) const MAX_STORED_LEN: usize = HEADER_LEN + EXPIRY_LEN + MAX_VALUE_LEN + TAG_LEN;

/// A sealed value ready to be written: `SET key value PX ttl_ms`.
pub(crate) struct Sealed {
    pub(crate) redis_key: Vec<u8>,
    pub(crate) value: Vec<u8>,
    pub(crate) ttl_ms: u64,
}

/// Key names, shape check and sealing of one session cache, with its counters.
pub(crate) struct SessionSealing {
    key: AeadKey,
    names: ring::hmac::Key,
    prefix: Vec<u8>,
    clock: Arc<dyn Clock>,
    rng: SystemRandom,
    pub(crate) shape: KeyShape,
    untrusted: AtomicU64,
    skipped: AtomicU64,
}

impl SessionSealing {
    /// Keys derived from `fleet`, Redis keys under `prefix`, the default [`KeyShape`].
    pub(crate) fn new(fleet: &FleetKey, prefix: &[u8], clock: Arc<dyn Clock>) -> Self {
        Self {
            key: fleet.derive(b"session cache"),
            names: fleet.derive_hmac(b"session cache key names"),
            prefix: prefix.to_vec(),
            clock,
            rng: SystemRandom::new(),
            shape: KeyShape::default(),
            untrusted: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
        }
    }

    pub(crate) fn untrusted(&self) -> u64 {
        self.untrusted.load(Ordering::Relaxed)
    }

    pub(crate) fn skipped(&self) -> u64 {
        self.skipped.load(Ordering::Relaxed)
    }

    /// `prefix ‖ "session:" ‖ HMAC-SHA256(id)` under the key-naming key.
    pub(crate) fn redis_key_for(&self, id: &[u8]) -> Vec<u8> {
        let tag = crate::crypto::hmac_sign_parts(&self.names, &[id]);
        prefixed(&self.prefix, b"session:", tag.as_ref())
    }

    /// The Redis key of a lookup, checked: an error for an empty or too long key, `None`
    /// (counted as skipped) for a key not of our shape, which is a miss without a round trip.
    pub(crate) fn lookup_key(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let redis_key = self.checked_key(key)?;
        if redis_key.is_none() {
            self.skipped.fetch_add(1, Ordering::Relaxed);
        }
        Ok(redis_key)
    }

    /// The Redis key to delete, or `None` for a key not of our shape (never stored).
    pub(crate) fn removal_key(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.checked_key(key)
    }

    /// The Redis key for `key`: an error for an empty or too long key, `None` for a key not
    /// of our shape; the shape is checked before the name's HMAC is computed, so a guessed
    /// key costs nothing.
    fn checked_key(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        if key.is_empty() {
            return Err(StoreError::EmptyKey);
        }
        if key.len() > MAX_KEY_LEN {
            return Err(StoreError::KeyTooLong(key.len()));
        }
        Ok(self.shape.admits(key).then(|| self.redis_key_for(key)))
    }

    /// What to write for `key`, checked and sealed.
    pub(crate) fn seal_for_store(
        &self,
        key: &[u8],
        value: &[u8],
        expires_at: Timestamp,
    ) -> Result<Sealed, StoreError> {
        let Some(redis_key) = self.checked_key(key)? else {
            return Err(StoreError::Rejected("key not of the configured shape"));
        };
        if value.len() > MAX_VALUE_LEN {
            return Err(StoreError::Rejected("session too large"));
        }
        let ttl = expires_at
            .saturating_duration_since(self.clock.now())
            .as_millis();
        if ttl == 0 {
            return Err(StoreError::Rejected("session already expired"));
        }
        let value = self
            .seal(&redis_key, value, expires_at)
            .ok_or(StoreError::Rejected("sealing failed"))?;
        Ok(Sealed {
            redis_key,
            value,
            ttl_ms: u64::try_from(ttl).unwrap_or(u64::MAX),
        })
    }

    fn seal(&self, redis_key: &[u8], value: &[u8], expires_at: Timestamp) -> Option<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).ok()?;
        let mut out = Vec::with_capacity(HEADER_LEN + EXPIRY_LEN + value.len() + TAG_LEN);
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        let mut body =
            zeroize::Zeroizing::new(Vec::with_capacity(EXPIRY_LEN + value.len() + TAG_LEN));
        body.extend_from_slice(&expires_at.as_millis().to_be_bytes());
        body.extend_from_slice(value);
        self.key.seal_in_place(nonce, redis_key, &mut body).ok()?;
        out.extend_from_slice(&body);
        Some(out)
    }

    /// The session in what a bounded read found under `redis_key`: `None` for a miss, and
    /// (counted as untrusted) for a value that is too large, not ours, not for this key, or
    /// expired.
    pub(crate) fn open_found(&self, redis_key: &[u8], found: Bounded) -> Option<SecretVec> {
        match found {
            Bounded::Missing => None,
            Bounded::Value(stored) => self.open(redis_key, stored),
            Bounded::TooLarge => {
                self.untrusted.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    fn open(&self, redis_key: &[u8], stored: Vec<u8>) -> Option<SecretVec> {
        let mut stored = SecretVec::new(stored);
        let bytes = stored.expose_secret_mut();
        let opened = (|| {
            if bytes.len() < HEADER_LEN + EXPIRY_LEN + TAG_LEN || bytes[0] != VERSION {
                return None;
            }
            let (header, body) = bytes.split_at_mut(HEADER_LEN);
            let nonce: [u8; NONCE_LEN] = header[1..].try_into().ok()?;
            let plain = self.key.open_in_place(nonce, redis_key, body).ok()?;
            let (expiry, value) = plain.split_at(EXPIRY_LEN);
            let expires_at = Timestamp::from_millis(u64::from_be_bytes(expiry.try_into().ok()?));
            if self.clock.now() >= expires_at {
                return None;
            }
            Some(SecretVec::from_slice(value))
        })();
        if opened.is_none() {
            self.untrusted.fetch_add(1, Ordering::Relaxed);
        }
        opened
    }
}

/// `SET key value PX ttl`: the write of a sealed value.
pub(crate) fn set_command(sealed: &Sealed) -> redis::Cmd {
    let mut cmd = redis::cmd("SET");
    cmd.arg(&sealed.redis_key)
        .arg(&sealed.value)
        .arg("PX")
        .arg(sealed.ttl_ms);
    cmd
}
