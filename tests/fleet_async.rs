//! AsyncRedis and AsyncRedisSessionCache against a real redis-server.
#![cfg(feature = "redis-async")]

mod fleet_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use fleet_support::{fleet_key_bytes, patient_options, RedisServer};
use tls_resumption::fleet::{
    AsyncRedis, AsyncRedisSessionCache, FleetKey, KeyShape, Redis, RedisOptions, RedisSessionCache,
    MAX_KEY_LEN,
};
use tls_resumption::store::{AsyncSessionCache, Fetch, LookupKey, SessionCache, StoreError};
use tls_resumption::time::{Clock, ManualClock, Timestamp};

const START: Timestamp = Timestamp::from_secs(1_700_000_000);

fn fleet(key: &[u8; 32]) -> FleetKey {
    FleetKey::from_bytes(key).expect("32 bytes")
}

fn any_shape() -> KeyShape {
    KeyShape::lengths(1, MAX_KEY_LEN).expect("a valid shape")
}

fn sync_cache(server: &RedisServer, key: &[u8; 32], clock: Arc<ManualClock>) -> RedisSessionCache {
    let redis = Redis::open(&server.url(), patient_options())
        .expect("valid url")
        .with_failure_hook(Arc::new(|_| {}));
    RedisSessionCache::new(Arc::new(redis), &fleet(key), clock).with_key_shape(any_shape())
}

async fn async_cache(
    server: &RedisServer,
    key: &[u8; 32],
    clock: Arc<ManualClock>,
    options: RedisOptions,
) -> AsyncRedisSessionCache {
    let redis = AsyncRedis::open(&server.url(), options)
        .await
        .expect("valid url")
        .with_failure_hook(Arc::new(|_| {}));
    AsyncRedisSessionCache::new(redis, &fleet(key), clock).with_key_shape(any_shape())
}

fn in_an_hour(clock: &ManualClock) -> Timestamp {
    clock.now().saturating_add(Duration::from_secs(3600))
}

fn get(key: &[u8]) -> LookupKey {
    LookupKey {
        fetch: Fetch::Get,
        key: key.to_vec(),
    }
}

fn take(key: &[u8]) -> LookupKey {
    LookupKey {
        fetch: Fetch::Take,
        key: key.to_vec(),
    }
}

/// The values found, `None` for misses; panics on an error.
fn values(results: Vec<tls_resumption::store::LookupResult>) -> Vec<Option<Vec<u8>>> {
    results
        .into_iter()
        .map(|r| r.expect("no error").map(|v| v.expose_secret().to_vec()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_stored_by_the_sync_cache_are_read_by_the_async_one_and_back() {
    let Some(server) = RedisServer::start("values_stored_by_the_sync_cache") else {
        return;
    };
    let clock = Arc::new(ManualClock::new(START));
    let key = fleet_key_bytes();
    let sync = sync_cache(&server, &key, clock.clone());
    let cache = async_cache(&server, &key, clock.clone(), patient_options()).await;
    assert_eq!(cache.redis_key_for(b"id"), sync.redis_key_for(b"id"));

    let later = in_an_hour(&clock);
    tokio::task::block_in_place(|| sync.put_encoded(b"from-sync", b"one", later)).unwrap();
    cache.store(b"from-async", b"two", later).await.unwrap();
    let got = values(
        cache
            .fetch(&[get(b"from-sync"), get(b"nothing"), take(b"from-sync")])
            .await,
    );
    assert_eq!(got, [Some(b"one".to_vec()), None, Some(b"one".to_vec())]);
    // The take removed it for both.
    let gone = tokio::task::block_in_place(|| sync.get_encoded(b"from-sync")).unwrap();
    assert!(gone.is_none());
    let two = tokio::task::block_in_place(|| sync.take_encoded(b"from-async")).unwrap();
    assert_eq!(two.unwrap().expose_secret(), b"two");
    assert_eq!(values(cache.fetch(&[get(b"from-async")]).await), [None]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fetch_of_three_keys_is_one_round_trip() {
    let Some(server) = RedisServer::start("a_fetch_of_three_keys_is_one_round_trip") else {
        return;
    };
    let clock = Arc::new(ManualClock::new(START));
    let cache = async_cache(
        &server,
        &fleet_key_bytes(),
        clock.clone(),
        patient_options(),
    )
    .await;
    let later = in_an_hour(&clock);
    for k in [&b"a"[..], b"b", b"c", b"d"] {
        cache.store(k, k, later).await.unwrap();
    }
    // The first take this Redis sees sends the script's text after NOSCRIPT: a second trip.
    let before = cache.redis().stats().round_trips;
    assert_eq!(
        values(cache.fetch(&[take(b"d")]).await),
        [Some(b"d".to_vec())]
    );
    assert_eq!(cache.redis().stats().round_trips - before, 2);

    let before = cache.redis().stats().round_trips;
    let got = values(cache.fetch(&[get(b"a"), take(b"b"), get(b"c")]).await);
    assert_eq!(
        got,
        [
            Some(b"a".to_vec()),
            Some(b"b".to_vec()),
            Some(b"c".to_vec())
        ]
    );
    assert_eq!(cache.redis().stats().round_trips - before, 1);
    // After SCRIPT FLUSH the takes of one fetch come back together in one more trip.
    server.command(&["SCRIPT", "FLUSH"]).expect("SCRIPT FLUSH");
    cache.store(b"b", b"b", later).await.unwrap();
    cache.store(b"d", b"d", later).await.unwrap();
    let before = cache.redis().stats().round_trips;
    let got = values(cache.fetch(&[take(b"b"), get(b"a"), take(b"d")]).await);
    assert_eq!(
        got,
        [
            Some(b"b".to_vec()),
            Some(b"a".to_vec()),
            Some(b"d".to_vec())
        ]
    );
    assert_eq!(cache.redis().stats().round_trips - before, 2);
    assert_eq!(cache.redis().stats().failures, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_not_of_our_shape_are_misses_without_a_round_trip() {
    let Some(server) = RedisServer::start("keys_not_of_our_shape_are_misses") else {
        return;
    };
    let clock = Arc::new(ManualClock::new(START));
    let cache = async_cache(
        &server,
        &fleet_key_bytes(),
        clock.clone(),
        patient_options(),
    )
    .await
    .with_key_shape(KeyShape::exact(32).unwrap());
    let id = [7u8; 32];
    cache.store(&id, b"v", in_an_hour(&clock)).await.unwrap();
    let before = cache.redis().stats().round_trips;
    let got = cache.fetch(&[get(b"short"), get(&[]), get(&id)]).await;
    assert!(matches!(got[0], Ok(None)));
    assert!(matches!(got[1], Err(StoreError::EmptyKey)));
    assert_eq!(
        got[2].as_ref().unwrap().as_ref().unwrap().expose_secret(),
        b"v"
    );
    assert_eq!(cache.skipped(), 1);
    assert_eq!(cache.redis().stats().round_trips - before, 1);
    // Nothing to ask Redis: no round trip at all.
    let got = cache.fetch(&[get(b"short")]).await;
    assert!(matches!(got[0], Ok(None)));
    assert_eq!(cache.redis().stats().round_trips - before, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn take_is_single_use_under_concurrency() {
    let Some(server) = RedisServer::start("take_is_single_use_under_concurrency") else {
        return;
    };
    let clock = Arc::new(ManualClock::new(START));
    let key = fleet_key_bytes();
    let sync = Arc::new(sync_cache(&server, &key, clock.clone()));
    // Several handles (as several servers would have), each shared by several tasks.
    let mut caches = Vec::new();
    for _ in 0..3 {
        caches.push(Arc::new(
            async_cache(&server, &key, clock.clone(), patient_options()).await,
        ));
    }
    let later = in_an_hour(&clock);
    for round in 0..20u8 {
        let ticket = [round; 8];
        caches[0].store(&ticket, b"once", later).await.unwrap();
        let mut tasks = Vec::new();
        for i in 0..12 {
            let cache = Arc::clone(&caches[i % caches.len()]);
            tasks.push(tokio::spawn(async move {
                values(cache.fetch(&[take(&ticket)]).await)[0].is_some()
            }));
        }
        // And one synchronous server at the same time.
        let sync = Arc::clone(&sync);
        let from_sync =
            tokio::task::spawn_blocking(move || sync.take_encoded(&ticket).unwrap().is_some());
        let mut winners = usize::from(from_sync.await.unwrap());
        for t in tasks {
            winners += usize::from(t.await.unwrap());
        }
        assert_eq!(winners, 1, "round {round}: {winners} takes got the ticket");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_redis_fails_each_fetch_within_the_timeouts() {
    let Some(server) = RedisServer::start("a_frozen_redis_fails_each_fetch") else {
        return;
    };
    let clock = Arc::new(ManualClock::new(START));
    let key = fleet_key_bytes();
    let setup = async_cache(&server, &key, clock.clone(), patient_options()).await;
    setup.store(b"k", b"v", in_an_hour(&clock)).await.unwrap();
    let options = RedisOptions::default().timeouts_ms(200, 100);
    let cache = Arc::new(async_cache(&server, &key, clock.clone(), options).await);
    // Connected and answering first, within the short timeouts (retried: a loaded machine
    // may keep Redis off the CPU for one of them).
    let deadline = Instant::now() + Duration::from_secs(10);
    while cache.fetch(&[get(b"k")]).await[0].is_err() {
        assert!(Instant::now() < deadline, "never answered");
    }
    server.freeze(true);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let cache = Arc::clone(&cache);
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            let got = cache.fetch(&[get(b"k"), take(b"k"), get(b"x")]).await;
            (got, t.elapsed())
        }));
    }
    let mut slowest = Duration::ZERO;
    for t in tasks {
        let (got, took) = t.await.unwrap();
        slowest = slowest.max(took);
        assert!(
            got.iter()
                .all(|r| matches!(r, Err(StoreError::Unavailable))),
            "{got:?}"
        );
        // Bounded by the command timeout (100 ms), at worst connect + command; generous
        // slack for a loaded machine, far below a hang.
        assert!(took < Duration::from_millis(1500), "a fetch took {took:?}");
    }
    eprintln!("frozen Redis: the slowest of 8 concurrent fetches failed after {slowest:?}");
    assert!(cache.redis().stats().failures >= 8);
    server.freeze(false);
    // Thawed, it answers again (the take above never ran).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(Some(v)) = &cache.fetch(&[get(b"k")]).await[0] {
            assert_eq!(v.expose_secret(), b"v");
            break;
        }
        assert!(Instant::now() < deadline, "never recovered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_redis_is_a_bounded_miss_and_a_restarted_one_works_again() {
    let Some(mut server) = RedisServer::start("a_stopped_redis_is_a_bounded_miss") else {
        return;
    };
    let clock = Arc::new(ManualClock::new(START));
    let options = RedisOptions::default().timeouts_ms(200, 100);
    let cache = async_cache(&server, &fleet_key_bytes(), clock.clone(), options).await;
    tokio::task::block_in_place(|| server.stop());
    for _ in 0..5 {
        let t = Instant::now();
        let got = cache.fetch(&[get(b"k"), take(b"t")]).await;
        assert!(got.iter().all(|r| r.is_err()), "{got:?}");
        assert!(
            t.elapsed() < Duration::from_millis(1500),
            "{:?}",
            t.elapsed()
        );
    }
    assert!(cache.store(b"k", b"v", in_an_hour(&clock)).await.is_err());
    tokio::task::block_in_place(|| server.restart());
    let deadline = Instant::now() + Duration::from_secs(10);
    while cache.store(b"k", b"v", in_an_hour(&clock)).await.is_err() {
        assert!(Instant::now() < deadline, "never reconnected");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        values(cache.fetch(&[take(b"k")]).await),
        [Some(b"v".to_vec())]
    );
}

/// Redis down on one server: after a failed call, calls fail at once for `retry_after`
/// instead of each waiting for the connection manager's reconnect (with 64 clients and
/// Redis refusing connections, those waits added ~8 ms to every handshake's lookup).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_server_down_is_backed_off_calls_fail_at_once_until_retry_after() {
    let Some(mut server) = RedisServer::start("a_single_server_down_is_backed_off") else {
        return;
    };
    let clock = Arc::new(ManualClock::new(START));
    let key = fleet_key_bytes();
    let mut options = patient_options();
    options.retry_after = Duration::from_secs(600);
    let cache = async_cache(&server, &key, clock.clone(), options).await;
    cache
        .store(b"id", b"value", in_an_hour(&clock))
        .await
        .expect("stored while Redis is up");
    server.stop();
    let failed = cache.fetch(&[get(b"id")]).await;
    assert!(failed[0].is_err(), "Redis is down: {failed:?}");
    // Redis is back, but the handle is backing off: it must not even try.
    server.restart();
    let during = cache.fetch(&[get(b"id")]).await;
    assert!(
        during[0].is_err(),
        "a call during the back-off fails at once, without a reconnect: {during:?}"
    );
}
