//! Joining a fleet through Redis (feature `redis`), shared by the example servers: the
//! session cache in Redis, ticket keys from the fleet's schedule, fleet-wide 0-RTT replay
//! checks; with feature `redis-async`, the same session cache reached without blocking.
use std::sync::Arc;

use tls_resumption::antireplay::ReplayGuard;
use tls_resumption::store::{AsyncSessionCache, SessionCache};
use tls_resumption::ticket::RotatingSealer;

/// Where the fleet's Redis is: `--redis URL` or `--redis-cluster HOST:PORT,...`.
#[derive(Clone)]
#[cfg_attr(not(feature = "redis"), allow(dead_code))]
pub enum Target {
    Single(String),
    Cluster(String),
}

/// The fleet's Redis and key file from the flags (`--redis URL` or
/// `--redis-cluster HOST:PORT,...`, with `--fleet-key FILE`), or none.
pub fn target(
    redis: Option<String>,
    cluster: Option<String>,
    key_file: Option<String>,
) -> Result<Option<(Target, String)>, String> {
    match (redis, cluster, key_file) {
        (Some(url), None, Some(file)) => Ok(Some((Target::Single(url), file))),
        (None, Some(nodes), Some(file)) => Ok(Some((Target::Cluster(nodes), file))),
        (None, None, None) => Ok(None),
        (Some(_), Some(_), _) => Err("--redis and --redis-cluster exclude each other".into()),
        _ => Err("--redis (or --redis-cluster) and --fleet-key go together".into()),
    }
}

/// What the fleet shares.
pub struct Fleet {
    #[allow(dead_code)] // A server looking sessions up asynchronously uses `async_cache`.
    pub cache: Arc<dyn SessionCache>,
    pub sealer: Arc<RotatingSealer>,
    #[allow(dead_code)] // Not every example server takes early data.
    pub replay_guard: Arc<dyn ReplayGuard>,
}

/// Connects to Redis, loads the fleet key, syncs the ticket keys once and keeps them in
/// step from a background thread.
#[cfg(feature = "redis")]
pub fn join(target: Target, key_file: &str) -> Result<Fleet, String> {
    use std::time::Duration;
    use tls_resumption::crypto::aead::AeadAlgorithm;
    use tls_resumption::fleet::{
        FleetKey, FleetKeys, Redis, RedisOptions, RedisReplayGuard, RedisSessionCache,
    };
    use tls_resumption::ticket::{KeySource, Schedule};
    use tls_resumption::time::{Clock, SystemClock};

    let clock = Arc::new(SystemClock);
    let key = FleetKey::from_file(std::path::Path::new(key_file)).map_err(|e| e.to_string())?;
    let redis = Arc::new(match target {
        Target::Single(url) => {
            Redis::open(&url, RedisOptions::default()).map_err(|e| format!("{url}: {e}"))?
        }
        Target::Cluster(nodes) => {
            let nodes: Vec<String> = nodes.split(',').map(str::to_owned).collect();
            Redis::open_cluster(&nodes, RedisOptions::default())
                .map_err(|e| format!("--redis-cluster: {e}"))?
        }
    });
    let sealer = Arc::new(
        RotatingSealer::with_options(
            clock.clone(),
            Schedule::default(),
            AeadAlgorithm::Aes256Gcm,
            KeySource::External,
        )
        .map_err(|e| e.to_string())?,
    );
    let keys = FleetKeys::new(redis.clone(), &key, sealer.clone(), Duration::from_secs(60));
    let report = keys.sync(clock.now());
    if report.failures > 0 {
        eprintln!("ticket keys not synced yet ({report:?}); retrying in the background");
    }
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_secs(5));
        keys.sync_if_due(SystemClock.now());
    });
    Ok(Fleet {
        cache: Arc::new(RedisSessionCache::new(redis.clone(), &key, clock)),
        sealer,
        replay_guard: Arc::new(RedisReplayGuard::new(redis, Duration::from_secs(10))),
    })
}

#[cfg(not(feature = "redis"))]
pub fn join(_: Target, _: &str) -> Result<Fleet, String> {
    Err("--redis needs the example built with `--features redis`".into())
}

/// The fleet's session cache reached without blocking (feature `redis-async`; call it on a
/// tokio runtime): the key names and sealing of [`Fleet::cache`], so each reads what the
/// other stored.
#[cfg(feature = "redis-async")]
#[allow(dead_code)] // Not every example server looks sessions up asynchronously.
pub async fn async_cache(
    target: Target,
    key_file: &str,
) -> Result<Arc<dyn AsyncSessionCache>, String> {
    use tls_resumption::fleet::{AsyncRedis, AsyncRedisSessionCache, FleetKey, RedisOptions};
    use tls_resumption::time::SystemClock;

    let key = FleetKey::from_file(std::path::Path::new(key_file)).map_err(|e| e.to_string())?;
    let redis = match target {
        Target::Single(url) => AsyncRedis::open(&url, RedisOptions::default())
            .await
            .map_err(|e| format!("{url}: {e}"))?,
        Target::Cluster(nodes) => {
            let nodes: Vec<String> = nodes.split(',').map(str::to_owned).collect();
            AsyncRedis::open_cluster(&nodes, RedisOptions::default())
                .await
                .map_err(|e| format!("--redis-cluster: {e}"))?
        }
    };
    Ok(Arc::new(AsyncRedisSessionCache::new(
        redis,
        &key,
        Arc::new(SystemClock),
    )))
}

#[cfg(not(feature = "redis-async"))]
#[allow(dead_code)]
pub async fn async_cache(_: Target, _: &str) -> Result<Arc<dyn AsyncSessionCache>, String> {
    Err("--redis here needs the example built with `--features redis-async`".into())
}
