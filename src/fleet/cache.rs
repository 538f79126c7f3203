//! [`RedisSessionCache`]: a [`SessionCache`] in Redis, values sealed under the fleet's cache
//! key.
//!
//! Stored value: `version (1) ‖ nonce (12) ‖ AES-256-GCM(expires_at (8, ms, big-endian) ‖
//! encoded session) ‖ tag (16)`, with the full Redis key as additional data. A value copied to
//! another key, truncated, altered, or sealed by another fleet fails authentication and is a
//! miss; the expiry inside is checked against our clock as well as Redis's own `PX` expiry.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use ring::rand::{SecureRandom, SystemRandom};

use super::connection::Redis;
use super::FleetKey;
use crate::crypto::aead::{AeadKey, NONCE_LEN, TAG_LEN};
use crate::crypto::secret::SecretVec;
use crate::store::{SessionCache, StoreError};
use crate::time::{Clock, Timestamp};

const VERSION: u8 = 1;
const HEADER_LEN: usize = 1 + NONCE_LEN;
const EXPIRY_LEN: usize = 8;
/// Longest session key accepted (session IDs are 32 bytes, RFC 5246 §7.4.1.2; rustls's
/// stateful ticket ids are 32 too).
pub const MAX_KEY_LEN: usize = 255;
/// Longest encoded session stored; larger values are refused rather than sent.
const MAX_VALUE_LEN: usize = 64 * 1024;

/// A [`SessionCache`] shared by every server that uses the same Redis, prefix and
/// [`FleetKey`] (module docs).
pub struct RedisSessionCache {
    redis: Arc<Redis>,
    key: AeadKey,
    clock: Arc<dyn Clock>,
    rng: SystemRandom,
    untrusted: AtomicU64,
}

impl core::fmt::Debug for RedisSessionCache {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RedisSessionCache")
            .field("redis", &self.redis)
            .field("untrusted", &self.untrusted())
            .finish_non_exhaustive()
    }
}

impl RedisSessionCache {
    /// A cache in `redis`, sealing values under a key derived from `fleet`.
    pub fn new(redis: Arc<Redis>, fleet: &FleetKey, clock: Arc<dyn Clock>) -> Self {
        Self {
            redis,
            key: fleet.derive(b"session cache"),
            clock,
            rng: SystemRandom::new(),
            untrusted: AtomicU64::new(0),
        }
    }

    /// The connection handle (for its [`RedisStats`](super::RedisStats)).
    pub fn redis(&self) -> &Arc<Redis> {
        &self.redis
    }

    /// Values found in Redis that did not authenticate (or had expired inside) and were
    /// treated as misses.
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
        Ok(self.redis.key(b"session:", key))
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

    fn fetch(&self, command: &'static str, key: &[u8]) -> Result<Option<SecretVec>, StoreError> {
        let redis_key = self.redis_key(key)?;
        let stored: Option<Vec<u8>> = self
            .redis
            .query(command, redis::cmd(command).arg(&redis_key))
            .ok_or(StoreError::Unavailable)?;
        Ok(stored.and_then(|v| self.open(&redis_key, v)))
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
        self.fetch("GET", key)
    }

    /// `GETDEL` (Redis 6.2+): atomic on the server, so of any number of servers taking one
    /// key at once, one gets the value.
    fn take_encoded(&self, key: &[u8]) -> Result<Option<SecretVec>, StoreError> {
        self.fetch("GETDEL", key)
    }

    fn remove(&self, key: &[u8]) -> Result<(), StoreError> {
        let redis_key = self.redis_key(key)?;
        self.redis
            .query::<()>("DEL", redis::cmd("DEL").arg(&redis_key))
            .ok_or(StoreError::Unavailable)
    }
}
