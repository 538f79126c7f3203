//! [`RedisSessionCache`]: a [`SessionCache`] in Redis, values sealed under the fleet's cache
//! key.
//!
//! Stored value: `version (1) ‖ nonce (12) ‖ AES-256-GCM(expires_at (8, ms, big-endian) ‖
//! encoded session) ‖ tag (16)`, with the full Redis key as additional data. A value copied to
//! another key, truncated, altered, or sealed by another fleet fails authentication and is a
//! miss; the expiry inside is checked against our clock as well as Redis's own `PX` expiry.
//!
//! Redis key: `prefix ‖ "session:" ‖ HMAC-SHA256(id)`, under a key derived from the fleet key
//! ([`RedisSessionCache::redis_key_for`]). Session IDs and stateful ticket identities never
//! appear in Redis, so a reader of a dump or of Redis traffic learns no id it could offer in a
//! ClientHello (to burn someone's single-use ticket, say). Entries written under another
//! naming (by a build that stored raw ids) are simply not found: a full handshake.
//!
//! Lookup keys come from ClientHellos, so an attacker chooses them, and each lookup is a
//! synchronous round trip. Keys whose [`KeyShape`] could not have been made by a server
//! (session IDs and ticket identities are 32 random bytes) are misses without a round trip.
//! Every read of this cache is bounded: a get asks Redis for a range of the value no longer
//! than the largest value this cache stores, plus one byte (`GETRANGE`), and a take reads the
//! same range in a script that deletes the key and sends back nothing of an oversized value.
//! So whoever can write to Redis cannot make a lookup here allocate more than that.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use ring::rand::{SecureRandom, SystemRandom};

use super::connection::{Bounded, Redis};
use super::{FleetError, FleetKey};
use crate::crypto::aead::{AeadKey, NONCE_LEN, TAG_LEN};
use crate::crypto::secret::SecretVec;
use crate::store::{SessionCache, StoreError};
use crate::time::{Clock, Timestamp};

type FetchResult = Result<Option<SecretVec>, StoreError>;

const VERSION: u8 = 1;
const HEADER_LEN: usize = 1 + NONCE_LEN;
const EXPIRY_LEN: usize = 8;
/// Longest session key accepted (session IDs are 32 bytes, RFC 5246 §7.4.1.2; rustls's
/// stateful ticket ids are 32 too).
pub const MAX_KEY_LEN: usize = 255;
/// Longest encoded session stored; larger values are refused rather than sent.
const MAX_VALUE_LEN: usize = 64 * 1024;
/// Longest value this cache writes to Redis, and so the longest it reads back.
const MAX_STORED_LEN: usize = HEADER_LEN + EXPIRY_LEN + MAX_VALUE_LEN + TAG_LEN;
/// Length of the session IDs and stateful ticket identities this crate's server and rustls
/// make (RFC 5246 §7.4.1.2 allows session IDs up to 32 bytes; servers here use all 32).
pub const SERVER_ID_LEN: usize = 32;

/// Which keys a [`RedisSessionCache`] stores and looks up: a length range and a fixed
/// prefix. A lookup key of any other shape cannot have been made by one of the fleet's
/// servers, so it is a miss without a Redis round trip, and storing one is refused
/// ([`StoreError::Rejected`]).
///
/// The default, [`KeyShape::exact`]`(`[`SERVER_ID_LEN`]`)` with no prefix, fits this crate's
/// server and rustls, and nothing else: with it, [`put_encoded`] of a key of any other length
/// fails. A deployment whose servers make longer or tagged ids (a fixed first byte per fleet,
/// say) must say so, and the narrower the shape, the fewer guesses reach Redis. A shape that
/// no key can fit (shortest above longest, or a prefix longer than the longest key) is
/// refused when it is made, rather than silently refusing every key later.
///
/// Behind this crate's own [`ServerConfig`](crate::ServerConfig) the cache never sees a
/// client's raw id: every key is first namespaced per host (a 32-byte SHA-256 of the host's
/// label and the id), so there only the default shape fits, a prefix shape would refuse
/// every session, and the shape check no longer stops odd-length guesses before Redis (each
/// costs one lookup, at most one per TLS 1.2 hello and four per TLS 1.3 hello). Narrower
/// shapes are for callers that hand the cache raw ids, such as the rustls adapter.
///
/// [`put_encoded`]: SessionCache::put_encoded
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyShape {
    min_len: usize,
    max_len: usize,
    prefix: Vec<u8>,
}

impl Default for KeyShape {
    fn default() -> Self {
        Self {
            min_len: SERVER_ID_LEN,
            max_len: SERVER_ID_LEN,
            prefix: Vec::new(),
        }
    }
}

impl KeyShape {
    /// Keys of exactly `len` bytes (1 to [`MAX_KEY_LEN`]).
    ///
    /// # Errors
    /// [`FleetError::EmptyKeyShape`] for a length no key can have.
    pub fn exact(len: usize) -> Result<Self, FleetError> {
        if len > MAX_KEY_LEN {
            return Err(FleetError::EmptyKeyShape("length over MAX_KEY_LEN"));
        }
        Self::lengths(len, len)
    }

    /// Keys from `min_len` to `max_len` bytes. Keys are never empty nor longer than
    /// [`MAX_KEY_LEN`]: a `min_len` of 0 counts as 1, a `max_len` over [`MAX_KEY_LEN`] as
    /// [`MAX_KEY_LEN`].
    ///
    /// # Errors
    /// [`FleetError::EmptyKeyShape`] when no length is left (shortest above longest).
    pub fn lengths(min_len: usize, max_len: usize) -> Result<Self, FleetError> {
        let (min_len, max_len) = (min_len.max(1), max_len.min(MAX_KEY_LEN));
        if min_len > max_len {
            return Err(FleetError::EmptyKeyShape("no length in range"));
        }
        Ok(Self {
            min_len,
            max_len,
            prefix: Vec::new(),
        })
    }

    /// Keys that also start with `prefix` (counted in their length).
    ///
    /// # Errors
    /// [`FleetError::EmptyKeyShape`] when `prefix` is longer than the longest key.
    pub fn with_prefix(mut self, prefix: &[u8]) -> Result<Self, FleetError> {
        if prefix.len() > self.max_len {
            return Err(FleetError::EmptyKeyShape(
                "prefix longer than the longest key",
            ));
        }
        self.prefix = prefix.to_vec();
        Ok(self)
    }

    /// Whether `key` could be one of ours.
    pub fn admits(&self, key: &[u8]) -> bool {
        (self.min_len..=self.max_len).contains(&key.len()) && key.starts_with(&self.prefix)
    }
}

/// A [`SessionCache`] shared by every server that uses the same Redis, prefix and
/// [`FleetKey`] (module docs).
pub struct RedisSessionCache {
    redis: Arc<Redis>,
    key: AeadKey,
    names: ring::hmac::Key,
    clock: Arc<dyn Clock>,
    rng: SystemRandom,
    shape: KeyShape,
    untrusted: AtomicU64,
    skipped: AtomicU64,
}

impl core::fmt::Debug for RedisSessionCache {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RedisSessionCache")
            .field("redis", &self.redis)
            .field("shape", &self.shape)
            .field("untrusted", &self.untrusted())
            .field("skipped", &self.skipped())
            .finish_non_exhaustive()
    }
}

impl RedisSessionCache {
    /// A cache in `redis`, sealing values under a key derived from `fleet`, for keys of the
    /// default [`KeyShape`]: exactly 32 bytes, so storing a key of any other length fails
    /// until [`with_key_shape`](Self::with_key_shape) says otherwise.
    pub fn new(redis: Arc<Redis>, fleet: &FleetKey, clock: Arc<dyn Clock>) -> Self {
        Self {
            redis,
            key: fleet.derive(b"session cache"),
            names: fleet.derive_hmac(b"session cache key names"),
            clock,
            rng: SystemRandom::new(),
            shape: KeyShape::default(),
            untrusted: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
        }
    }

    /// The Redis key under which the session of `id` is stored: `prefix ‖ "session:" ‖
    /// HMAC-SHA256(id)` under a key derived from the fleet key (module docs), so an operator
    /// who knows an id can find or delete its entry.
    pub fn redis_key_for(&self, id: &[u8]) -> Vec<u8> {
        let tag = crate::crypto::hmac_sign_parts(&self.names, &[id]);
        self.redis.key(b"session:", tag.as_ref())
    }

    /// Sets the shape of the keys stored and looked up.
    pub fn with_key_shape(mut self, shape: KeyShape) -> Self {
        self.shape = shape;
        self
    }

    /// Lookups answered as misses without asking Redis, their key not of our shape.
    pub fn skipped(&self) -> u64 {
        self.skipped.load(Ordering::Relaxed)
    }

    /// The connection handle (for its [`RedisStats`](super::RedisStats)).
    pub fn redis(&self) -> &Arc<Redis> {
        &self.redis
    }

    /// Values found in Redis that did not authenticate (or had expired inside, or were
    /// longer than any value this cache stores) and were treated as misses.
    pub fn untrusted(&self) -> u64 {
        self.untrusted.load(Ordering::Relaxed)
    }

    fn redis_key(&self, key: &[u8]) -> Result<Vec<u8>, StoreError> {
        if key.is_empty() {
            return Err(StoreError::EmptyKey);
        }
        if key.len() > MAX_KEY_LEN {
            return Err(StoreError::KeyTooLong(key.len()));
        }
        Ok(self.redis_key_for(key))
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

    /// Opens a stored value; `None` (counted) when it is not ours, not for this key, or
    /// expired.
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

    fn fetch(&self, operation: &'static str, key: &[u8], take: bool) -> FetchResult {
        let redis_key = self.redis_key(key)?;
        if !self.shape.admits(key) {
            self.skipped.fetch_add(1, Ordering::Relaxed);
            return Ok(None);
        }
        match self
            .redis
            .get_bounded(operation, &redis_key, MAX_STORED_LEN, take)
            .ok_or(StoreError::Unavailable)?
        {
            Bounded::Missing => Ok(None),
            Bounded::Value(stored) => Ok(self.open(&redis_key, stored)),
            Bounded::TooLarge => {
                self.untrusted.fetch_add(1, Ordering::Relaxed);
                Ok(None)
            }
        }
    }
}

impl SessionCache for RedisSessionCache {
    fn put_encoded(
        &self,
        key: &[u8],
        value: &[u8],
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        let redis_key = self.redis_key(key)?;
        if !self.shape.admits(key) {
            return Err(StoreError::Rejected("key not of the configured shape"));
        }
        if value.len() > MAX_VALUE_LEN {
            return Err(StoreError::Rejected("session too large"));
        }
        let ttl = expires_at
            .saturating_duration_since(self.clock.now())
            .as_millis();
        if ttl == 0 {
            return Err(StoreError::Rejected("session already expired"));
        }
        let sealed = self
            .seal(&redis_key, value, expires_at)
            .ok_or(StoreError::Rejected("sealing failed"))?;
        self.redis
            .query::<()>(
                "SET",
                redis::cmd("SET")
                    .arg(&redis_key)
                    .arg(sealed)
                    .arg("PX")
                    .arg(u64::try_from(ttl).unwrap_or(u64::MAX)),
            )
            .ok_or(StoreError::Unavailable)
    }

    fn get_encoded(&self, key: &[u8]) -> Result<Option<SecretVec>, StoreError> {
        self.fetch("GETRANGE", key, false)
    }

    /// A bounded read and `DEL` in a script, which Redis runs atomically: of any number of
    /// servers taking one key at once, one gets the value.
    fn take_encoded(&self, key: &[u8]) -> Result<Option<SecretVec>, StoreError> {
        self.fetch("take script", key, true)
    }

    fn remove(&self, key: &[u8]) -> Result<(), StoreError> {
        let redis_key = self.redis_key(key)?;
        if !self.shape.admits(key) {
            return Ok(());
        }
        self.redis
            .query::<()>("DEL", redis::cmd("DEL").arg(&redis_key))
            .ok_or(StoreError::Unavailable)
    }
}
