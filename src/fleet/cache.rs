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

use std::sync::Arc;

use super::connection::Redis;
use super::sealing::{set_command, SessionSealing, MAX_STORED_LEN};
use super::{FleetError, FleetKey};
use crate::crypto::secret::SecretVec;
use crate::store::{SessionCache, StoreError};
use crate::time::Clock;

/// Longest session key accepted (session IDs are 32 bytes, RFC 5246 §7.4.1.2; rustls's
/// stateful ticket ids are 32 too).
pub const MAX_KEY_LEN: usize = 255;
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
    sealing: SessionSealing,
}

impl core::fmt::Debug for RedisSessionCache {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RedisSessionCache")
            .field("redis", &self.redis)
            .field("shape", &self.sealing.shape)
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
        let sealing = SessionSealing::new(fleet, &redis.options().prefix, clock);
        Self { redis, sealing }
    }

    /// The Redis key under which the session of `id` is stored: `prefix ‖ "session:" ‖
    /// HMAC-SHA256(id)` under a key derived from the fleet key (module docs), so an operator
    /// who knows an id can find or delete its entry.
    pub fn redis_key_for(&self, id: &[u8]) -> Vec<u8> {
        self.sealing.redis_key_for(id)
    }

    /// Sets the shape of the keys stored and looked up.
    pub fn with_key_shape(mut self, shape: KeyShape) -> Self {
        self.sealing.shape = shape;
        self
    }

    /// Lookups answered as misses without asking Redis, their key not of our shape.
    pub fn skipped(&self) -> u64 {
        self.sealing.skipped()
    }

    /// The connection handle (for its [`RedisStats`](super::RedisStats)).
    pub fn redis(&self) -> &Arc<Redis> {
        &self.redis
    }

    /// Values found in Redis that did not authenticate (or had expired inside, or were
    /// longer than any value this cache stores) and were treated as misses.
    pub fn untrusted(&self) -> u64 {
        self.sealing.untrusted()
    }

    fn fetch(
        &self,
        operation: &'static str,
        key: &[u8],
        take: bool,
    ) -> Result<Option<SecretVec>, StoreError> {
        let Some(redis_key) = self.sealing.lookup_key(key)? else {
            return Ok(None);
        };
        let found = self
            .redis
            .get_bounded(operation, &redis_key, MAX_STORED_LEN, take)
            .ok_or(StoreError::Unavailable)?;
        Ok(self.sealing.open_found(&redis_key, found))
    }
}

impl SessionCache for RedisSessionCache {
    fn put_encoded(
        &self,
        key: &[u8],
        value: &[u8],
        expires_at: crate::time::Timestamp,
    ) -> Result<(), StoreError> {
        let sealed = self.sealing.seal_for_store(key, value, expires_at)?;
        self.redis
            .query::<()>("SET", &set_command(&sealed))
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
        let Some(redis_key) = self.sealing.removal_key(key)? else {
            return Ok(());
        };
        self.redis
            .query::<()>("DEL", redis::cmd("DEL").arg(&redis_key))
            .ok_or(StoreError::Unavailable)
    }
}
