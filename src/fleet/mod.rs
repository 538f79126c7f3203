//! Resumption across a fleet of servers through Redis (feature `redis`).
//!
//! One server's cache and ticket keys stop helping the moment a load balancer sends a client
//! to another machine. This module shares them through a Redis server the fleet already runs:
//!
//! - [`RedisSessionCache`]: a [`SessionCache`](crate::store::SessionCache) in Redis
//!   (`SET … PX`; reads with `GETRANGE`, and the single-use `take` in a script run by its hash
//!   with `EVALSHA`, so a lookup never receives more than the longest value the cache stores).
//!   Values are sealed under a cache key derived from the [`FleetKey`], with the Redis key as
//!   additional data, so a dump of Redis reveals no master secret or PSK and a value moved to
//!   another key does not open; Redis keys are named by an HMAC of the session id, so a dump
//!   reveals no id either. Lookup keys not of the [`KeyShape`] servers make are misses without
//!   a round trip.
//! - [`FleetKeys`]: keeps every server's [`RotatingSealer`](crate::ticket::RotatingSealer) in
//!   step. Each ticket key belongs to a time slot of the schedule; the first server to look for
//!   a slot's key creates it with `SET NX` (so exactly one key per slot), wrapped under the
//!   fleet key, and every server imports it as *staged* a rotation period before it activates.
//! - [`RedisReplayGuard`]: a fleet-wide strike register for 0-RTT (RFC 8446 §8.2) on
//!   `SET NX PX`.
//!
//! - [`AsyncRedis`] and [`AsyncRedisSessionCache`] (feature `redis-async`): the same cache for
//!   async code on tokio, with the same key names and sealing (a value stored by one is read by
//!   the other), answering every key of one lookup in one round trip (a pipeline; on a cluster,
//!   one concurrent request per key).
//!
//! # One Redis server or a Redis Cluster
//!
//! [`Redis::open`] and [`AsyncRedis::open`] take one server's URL; [`Redis::open_cluster`] and
//! [`AsyncRedis::open_cluster`] take some nodes of a Redis Cluster (any reachable node is
//! enough: the others and the slot map are learned from it), and the components above work
//! over either unchanged. In a cluster each key lives in one of 16384 hash slots, by a hash
//! of the key or, when the key holds a `{…}` hash tag, of the tag alone; a command or a script
//! may only touch keys of one slot. The keys this crate writes (after the configured prefix,
//! which may hold no `{` or `}`: opening a handle refuses one):
//!
//! | key | written by | slot |
//! |---|---|---|
//! | `session:` ‖ HMAC(id) | session caches (`SET PX`, `GETRANGE`, the take script, `DEL`) | spread over every slot: each command and the take script touch one key |
//! | `{stek}:` ‖ slot number | [`FleetKeys`] (`MGET`, `SET NX PX`) | all in the one slot of the tag `stek` |
//! | `replay:` ‖ SHA-256(id) | [`RedisReplayGuard`] (`SET NX PX`) | spread: one key per command |
//!
//! Session and replay keys are spread on purpose: they are most of the traffic and of the
//! memory, so every master takes its share, and losing one master costs only its share of
//! sessions. The ticket keys share a hash tag so that one sync reads every slot's key with one
//! `MGET` (several keys in one command must share a slot) from one node; the `SET NX` claim of
//! a slot's key is on that same key, so exactly one server's key wins there as on one server.
//! They are few and small, so one node holding them all costs nothing, and while that node's
//! slot fails over a sync fails and is retried (servers keep their keys meanwhile).
//!
//! The `redis` crate in this version sends a pipeline whole to one node and refuses one over
//! keys of several slots; [`AsyncRedisSessionCache`] therefore sends one request per key to a
//! cluster, concurrently (one network round trip of waiting, one request per key counted in
//! [`RedisStats::round_trips`]), and one pipeline to a single server.
//!
//! When a master fails, the keys of its slots are unavailable (misses, full handshakes) until
//! the cluster promotes its replica; connections then learn the new slot map (a redirection or
//! a failed node makes the next call rebuild or refresh it) and lookups resume. Sessions
//! written to the old master but not yet replicated are lost (Redis replicates
//! asynchronously): full handshakes again, never a wrong session.
//!
//! Every Redis failure is a miss (cache), a rejected early-data attempt (replay guard) or a
//! skipped step (keys): it is counted ([`RedisStats`]), reported to a hook (by default a
//! rate-limited line on stderr) and never fails a handshake. Every call is bounded by the
//! connect and command timeouts of [`RedisOptions`]: a call to one server by their sum (the
//! synchronous [`Redis`] adds one command timeout when it sends a take's script again after
//! `NOSCRIPT`), a call to a cluster by twice their sum, for one retry (the synchronous handle
//! adds a pause of less than the command timeout before that retry after a failover's
//! answer); after a failure the connection is dropped and rebuilt on a later call, and calls
//! fail fast during a short back-off rather than each paying the connect timeout.

#[cfg(feature = "redis-async")]
mod aio;
#[cfg(feature = "redis-async")]
mod async_cache;
mod bounded;
mod cache;
mod connection;
mod keys;
mod replay;
mod sealing;
mod telemetry;

#[cfg(feature = "redis-async")]
pub use aio::AsyncRedis;
#[cfg(feature = "redis-async")]
pub use async_cache::AsyncRedisSessionCache;
pub use cache::{KeyShape, RedisSessionCache, MAX_KEY_LEN, SERVER_ID_LEN};
pub use connection::{Redis, RedisOptions};
pub use keys::{FleetKeys, SyncReport};
pub use replay::RedisReplayGuard;
pub use telemetry::{Failure, FailureHook, RedisStats};

use std::path::Path;

use ring::hkdf;

use crate::crypto::aead::{AeadAlgorithm, AeadKey};
use crate::crypto::secret::SecretArray;
use crate::crypto::{hmac_key, HashAlgorithm};

/// Length of a fleet key file: 32 random bytes (`head -c 32 /dev/urandom > fleet.key`).
pub const FLEET_KEY_LEN: usize = 32;

/// The fleet's shared secret, from which the cache key and the ticket-key wrapping key are
/// derived (HKDF-SHA256, RFC 5869, one label each), so one file configures both.
pub struct FleetKey {
    secret: SecretArray<FLEET_KEY_LEN>,
}

impl core::fmt::Debug for FleetKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("FleetKey(..)")
    }
}

/// A fleet component could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FleetError {
    /// The fleet key file could not be read.
    #[error("cannot read fleet key file {path}: {source}")]
    KeyFileUnreadable {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The fleet key is not exactly [`FLEET_KEY_LEN`] bytes.
    #[error("fleet key must be exactly {FLEET_KEY_LEN} bytes (head -c 32 /dev/urandom), got {0}")]
    KeyWrongSize(usize),
    /// The Redis URL is not valid.
    #[error("invalid Redis URL: {0}")]
    InvalidUrl(String),
    /// A key prefix holding `{` or `}` (see [`RedisOptions::prefix`]).
    #[error("the Redis key prefix must hold no '{{' or '}}' (a cluster hash tag): {0:?}")]
    InvalidPrefix(String),
    /// A [`KeyShape`] that no key could fit.
    #[error("no key fits this key shape: {0}")]
    EmptyKeyShape(&'static str),
}

impl FleetKey {
    /// A fleet key from its 32 bytes.
    ///
    /// # Errors
    /// [`FleetError::KeyWrongSize`] for any other length.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, FleetError> {
        let secret =
            SecretArray::from_slice(bytes).map_err(|_| FleetError::KeyWrongSize(bytes.len()))?;
        Ok(Self { secret })
    }

    /// Reads a fleet key file (exactly 32 bytes, no encoding).
    ///
    /// # Errors
    /// [`FleetError::KeyFileUnreadable`], [`FleetError::KeyWrongSize`].
    pub fn from_file(path: &Path) -> Result<Self, FleetError> {
        let bytes = zeroize::Zeroizing::new(std::fs::read(path).map_err(|source| {
            FleetError::KeyFileUnreadable {
                path: path.display().to_string(),
                source,
            }
        })?);
        Self::from_bytes(&bytes)
    }

    /// An AES-256-GCM key for one purpose, derived with HKDF-SHA256 (RFC 5869): extract with
    /// a fixed salt, expand with `label` as info, so each purpose's key is independent.
    pub(crate) fn derive(&self, label: &[u8]) -> AeadKey {
        AeadKey::new(
            AeadAlgorithm::Aes256Gcm,
            self.derive_secret(label).expose_secret(),
        )
        .expect("AES-256-GCM takes 32-byte keys")
    }

    /// An HMAC-SHA256 key for one purpose, derived as [`derive`](Self::derive) does.
    pub(crate) fn derive_hmac(&self, label: &[u8]) -> ring::hmac::Key {
        hmac_key(
            HashAlgorithm::Sha256,
            self.derive_secret(label).expose_secret(),
        )
    }

    /// 32 bytes for one purpose: HKDF-SHA256, `label` as info.
    fn derive_secret(&self, label: &[u8]) -> SecretArray<32> {
        let salt = hkdf::Salt::new(hkdf::HKDF_SHA256, b"tls-resumption fleet v1");
        let prk = salt.extract(self.secret.expose_secret());
        let info = [label];
        let mut out = SecretArray::<32>::zeroed();
        // 32 bytes from HKDF-SHA256 (at most 255 × 32 allowed) is a fixed size that cannot
        // fail; nothing here depends on input.
        prk.expand(&info, hkdf::HKDF_SHA256)
            .and_then(|okm| okm.fill(out.expose_secret_mut()))
            .expect("HKDF-SHA256 expands to 32 bytes");
        out
    }
}
