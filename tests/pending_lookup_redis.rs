//! The removal pending lookups hand out (RFC 5246 §7.2.2), applied through
//! `AsyncRedisSessionCache::remove` against a real redis-server: it deletes the key the
//! synchronous cache reads and deletes, and is bounded like the cache's other calls.
#![cfg(feature = "redis-async")]

mod fleet_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use fleet_support::{fleet_key_bytes, patient_options, RedisServer};
use tls_resumption::fleet::{
    AsyncRedis, AsyncRedisSessionCache, FleetKey, Redis, RedisOptions, RedisSessionCache,
};
use tls_resumption::store::{AsyncSessionCache, Fetch, LookupKey, SessionCache, StoreError};
use tls_resumption::time::{Clock, ManualClock, Timestamp};

const START: Timestamp = Timestamp::from_secs(1_700_000_000);

async fn caches(
    server: &RedisServer,
    clock: Arc<ManualClock>,
    options: RedisOptions,
) -> (RedisSessionCache, AsyncRedisSessionCache) {
    let fleet = FleetKey::from_bytes(&fleet_key_bytes()).expect("32 bytes");
    let redis = Redis::open(&server.url(), patient_options()).expect("valid url");
    let sync = RedisSessionCache::new(Arc::new(redis), &fleet, clock.clone());
    let redis = AsyncRedis::open(&server.url(), options)
        .await
        .expect("valid url")
        .with_failure_hook(Arc::new(|_| {}));
    (sync, AsyncRedisSessionCache::new(redis, &fleet, clock))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removal_deletes_what_either_cache_stored() {
    let Some(server) = RedisServer::start("a_removal_deletes_what_either_cache_stored") else {
        return;
    };
    let clock = Arc::new(ManualClock::new(START));
    let (sync, asynchronous) = caches(&server, clock.clone(), patient_options()).await;
    let later = clock.now().saturating_add(Duration::from_secs(3600));
    let (a, b) = ([1u8; 32], [2u8; 32]);
    asynchronous.store(&a, b"one", later).await.unwrap();
    sync.put_encoded(&b, b"two", later).unwrap();
    assert!(sync.get_encoded(&a).unwrap().is_some());
    for key in [&a, &b] {
        AsyncSessionCache::remove(&asynchronous, key).await.unwrap();
        assert!(sync.get_encoded(key).unwrap().is_none());
        let lookup = [LookupKey {
            fetch: Fetch::Get,
            key: key.to_vec(),
        }];
        let found = asynchronous.fetch(&lookup).await;
        assert!(found[0].as_ref().unwrap().is_none());
        assert!(server.get(&asynchronous.redis_key_for(key)).is_none());
    }
    // Removing what is not there, or a key of no shape we store, succeeds.
    AsyncSessionCache::remove(&asynchronous, &a).await.unwrap();
    AsyncSessionCache::remove(&asynchronous, &[3u8; 5])
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removal_against_a_frozen_redis_fails_within_the_call_budget() {
    let Some(server) = RedisServer::start("a_removal_against_a_frozen_redis") else {
        return;
    };
    let clock = Arc::new(ManualClock::new(START));
    let options = patient_options().timeouts_ms(5_000, 200);
    let (_, asynchronous) = caches(&server, clock, options).await;
    // Connected first, then frozen.
    AsyncSessionCache::remove(&asynchronous, &[1u8; 32])
        .await
        .unwrap();
    server.freeze(true);
    let started = Instant::now();
    let result = AsyncSessionCache::remove(&asynchronous, &[1u8; 32]).await;
    server.freeze(false);
    assert_eq!(result, Err(StoreError::Unavailable));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}
