//! [`AsyncRedisSessionCache`]: the [`RedisSessionCache`](super::RedisSessionCache) for async
//! code, with the same key names and sealing (a value stored by one is read by the other),
//! answering every key of one lookup in one round trip.

use std::sync::Arc;

use super::aio::AsyncRedis;
use super::cache::KeyShape;
use super::sealing::{set_command, SessionSealing, MAX_STORED_LEN};
use super::FleetKey;
use crate::store::{AsyncSessionCache, Fetch, LookupKey, LookupResult, StoreError, StoreFuture};
use crate::time::{Clock, Timestamp};

/// An [`AsyncSessionCache`] in Redis (one server or a cluster), shared with every
/// [`RedisSessionCache`](super::RedisSessionCache) and [`AsyncRedisSessionCache`] of the same
/// Redis, prefix and [`FleetKey`].
///
/// A lookup checks every key first (a key not of the [`KeyShape`] is a miss without a round
/// trip, as in the synchronous cache), then reads the others together: on one server, one
/// pipeline of bounded reads (`GETRANGE`) and takes (the take script by `EVALSHA`); on a
/// cluster, one request per key, all at once ([`AsyncRedis`] module docs).
pub struct AsyncRedisSessionCache {
    redis: AsyncRedis,
    sealing: SessionSealing,
}

impl core::fmt::Debug for AsyncRedisSessionCache {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AsyncRedisSessionCache")
            .field("redis", &self.redis)
            .field("shape", &self.sealing.shape)
            .field("untrusted", &self.untrusted())
            .field("skipped", &self.skipped())
            .finish_non_exhaustive()
    }
}

impl AsyncRedisSessionCache {
    /// A cache in `redis`, sealing values under a key derived from `fleet`, for keys of the
    /// default [`KeyShape`] (exactly 32 bytes).
    pub fn new(redis: AsyncRedis, fleet: &FleetKey, clock: Arc<dyn Clock>) -> Self {
        let sealing = SessionSealing::new(fleet, &redis.options().prefix, clock);
        Self { redis, sealing }
    }

    /// Sets the shape of the keys stored and looked up.
    pub fn with_key_shape(mut self, shape: KeyShape) -> Self {
        self.sealing.shape = shape;
        self
    }

    /// The Redis key under which the session of `id` is stored (as
    /// [`RedisSessionCache::redis_key_for`](super::RedisSessionCache::redis_key_for)).
    pub fn redis_key_for(&self, id: &[u8]) -> Vec<u8> {
        self.sealing.redis_key_for(id)
    }

    /// The connection handle (for its [`RedisStats`](super::RedisStats)).
    pub fn redis(&self) -> &AsyncRedis {
        &self.redis
    }

    /// Lookups answered as misses without asking Redis, their key not of our shape.
    pub fn skipped(&self) -> u64 {
        self.sealing.skipped()
    }

    /// Values found in Redis that did not authenticate, had expired inside or were too long,
    /// treated as misses.
    pub fn untrusted(&self) -> u64 {
        self.sealing.untrusted()
    }

    async fn fetch_all(&self, keys: &[LookupKey]) -> Vec<LookupResult> {
        let mut results: Vec<LookupResult> = Vec::with_capacity(keys.len());
        // Index in `results` and Redis key of every lookup that goes to Redis.
        let mut asked: Vec<usize> = Vec::new();
        let mut reads: Vec<(Vec<u8>, bool)> = Vec::new();
        for (i, k) in keys.iter().enumerate() {
            match self.sealing.lookup_key(&k.key) {
                Ok(Some(redis_key)) => {
                    asked.push(i);
                    reads.push((redis_key, k.fetch == Fetch::Take));
                    results.push(Ok(None));
                }
                other => results.push(other.map(|_| None)),
            }
        }
        let found = self
            .redis
            .get_bounded_many("fetch", &reads, MAX_STORED_LEN)
            .await;
        for ((i, (redis_key, _)), found) in asked.into_iter().zip(&reads).zip(found) {
            results[i] = match found {
                Some(found) => Ok(self.sealing.open_found(redis_key, found)),
                None => Err(StoreError::Unavailable),
            };
        }
        results
    }
}

impl AsyncSessionCache for AsyncRedisSessionCache {
    fn fetch<'a>(&'a self, keys: &'a [LookupKey]) -> StoreFuture<'a, Vec<LookupResult>> {
        Box::pin(self.fetch_all(keys))
    }

    fn store<'a>(
        &'a self,
        key: &'a [u8],
        value: &'a [u8],
        expires_at: Timestamp,
    ) -> StoreFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let sealed = self.sealing.seal_for_store(key, value, expires_at)?;
            self.redis
                .query::<()>("SET", &set_command(&sealed))
                .await
                .ok_or(StoreError::Unavailable)
        })
    }

    fn remove<'a>(&'a self, key: &'a [u8]) -> StoreFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            // The key the synchronous cache deletes; one not of our shape was never stored.
            let Some(redis_key) = self.sealing.removal_key(key)? else {
                return Ok(());
            };
            self.redis
                .query::<()>("DEL", redis::cmd("DEL").arg(&redis_key))
                .await
                .ok_or(StoreError::Unavailable)
        })
    }
}
