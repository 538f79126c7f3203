//! The time bounds and settings checks of the Redis handles: a cluster answering the errors
//! of a failover, a frozen cluster node, a key prefix that would break hash tags.
#![cfg(feature = "redis")]

mod fleet_support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fleet_support::fleet_key_bytes;
use tls_resumption::fleet::{
    FleetKey, KeyShape, Redis, RedisOptions, RedisSessionCache, MAX_KEY_LEN,
};
use tls_resumption::store::SessionCache;
use tls_resumption::time::{ManualClock, Timestamp};

const START: Timestamp = Timestamp::from_secs(1_700_000_000);

fn any_shape() -> KeyShape {
    KeyShape::lengths(1, MAX_KEY_LEN).expect("a valid shape")
}

/// The complete RESP arrays of bulk strings at the start of `buf` (consumed), each as its
/// arguments.
fn requests(buf: &mut Vec<u8>) -> Vec<Vec<Vec<u8>>> {
    fn line(buf: &[u8], at: usize) -> Option<(usize, usize)> {
        let end = at + buf.get(at..)?.windows(2).position(|w| w == b"\r\n")?;
        let n = std::str::from_utf8(&buf[at + 1..end]).ok()?.parse().ok()?;
        Some((n, end + 2))
    }
    let mut out = Vec::new();
    'next: while let Some((count, mut at)) = line(buf, 0) {
        let mut args = Vec::new();
        for _ in 0..count {
            let Some((len, start)) = line(buf, at) else {
                break 'next;
            };
            if buf.len() < start + len + 2 {
                break 'next;
            }
            args.push(buf[start..start + len].to_vec());
            at = start + len + 2;
        }
        buf.drain(..at);
        out.push(args);
    }
    out
}

/// A fake Redis Cluster node on a free port: it owns every slot and answers every key
/// command with `error` (what a node answers while its slot fails over). Its port.
fn failing_over_node(error: &'static str) -> u16 {
    let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while let Ok(n @ 1..) = stream.read(&mut chunk) {
                    buf.extend_from_slice(&chunk[..n]);
                    for args in requests(&mut buf) {
                        let name = args.first().map(|a| a.to_ascii_uppercase());
                        let reply = match name.as_deref() {
                            Some(b"CLUSTER") => format!(
                                "*1\r\n*3\r\n:0\r\n:16383\r\n*2\r\n$9\r\n127.0.0.1\r\n:{port}\r\n"
                            ),
                            Some(b"PING") => "+PONG\r\n".to_owned(),
                            Some(b"CLIENT" | b"SELECT" | b"READONLY") => "+OK\r\n".to_owned(),
                            _ => format!("-{error}\r\n"),
                        };
                        if stream.write_all(reply.as_bytes()).is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    port
}

/// The sync cluster client retries a command its node answers `TRYAGAIN`, `CLUSTERDOWN`,
/// `LOADING` (a failover's answers) after a wait; that wait must stay within the command
/// timeout, not the `redis` crate's default of more than a second, or a lookup (and the
/// handshake waiting on it) blocks its thread far beyond the configured timeouts.
#[test]
fn a_cluster_failing_over_costs_a_sync_call_no_more_than_its_timeouts() {
    for error in [
        "TRYAGAIN Multiple keys request during rehashing of slot",
        "CLUSTERDOWN The cluster is down",
        "LOADING Redis is loading the dataset in memory",
    ] {
        let port = failing_over_node(error);
        let options = RedisOptions::default().timeouts_ms(200, 100);
        let redis = Redis::open_cluster(&[format!("127.0.0.1:{port}")], options)
            .expect("valid nodes")
            .with_failure_hook(Arc::new(|_| {}));
        let fleet = FleetKey::from_bytes(&fleet_key_bytes()).expect("32 bytes");
        let clock = Arc::new(ManualClock::new(START));
        let cache =
            RedisSessionCache::new(Arc::new(redis), &fleet, clock).with_key_shape(any_shape());
        let t = Instant::now();
        assert!(cache.get_encoded(b"some-id").is_err());
        let took = t.elapsed();
        eprintln!("{error}: the call failed after {took:?}");
        // Connect (200 ms) + command (100 ms), a retry wait of at most the command timeout
        // and the retry; the fake node answers at once, so this is slack for a loaded
        // machine, and below the `redis` crate's default retry wait alone (1280 ms or more).
        assert!(took < Duration::from_millis(1000), "{error}: took {took:?}");
        assert!(cache.redis().stats().failures >= 1);
    }
}

/// The key prefix may hold no `{` or `}`: a hash tag in it would put the ticket keys'
/// `{stek}` tag out of play, so that every ticket-key `MGET` of a cluster spans slots and
/// fails.
#[test]
fn a_key_prefix_with_braces_is_refused() {
    for prefix in [&b"fleet{a}:"[..], b"fleet{:", b"fleet}:"] {
        let options = || RedisOptions::default().prefix(prefix);
        let single = Redis::open("redis://127.0.0.1:1", options());
        assert!(
            matches!(&single, Err(e) if e.to_string().contains("prefix")),
            "{:?}: {single:?}",
            String::from_utf8_lossy(prefix)
        );
        let cluster = Redis::open_cluster(&["127.0.0.1:1".to_owned()], options());
        assert!(
            matches!(&cluster, Err(e) if e.to_string().contains("prefix")),
            "{:?}: {cluster:?}",
            String::from_utf8_lossy(prefix)
        );
    }
    assert!(Redis::open(
        "redis://127.0.0.1:1",
        RedisOptions::default().prefix(b"a:b:")
    )
    .is_ok());
}

#[cfg(feature = "redis-async")]
mod aio {
    use super::*;
    use fleet_support::RedisServer;
    use std::sync::atomic::{AtomicU64, Ordering};
    use tls_resumption::fleet::{AsyncRedis, AsyncRedisSessionCache};
    use tls_resumption::store::{AsyncSessionCache, Fetch, LookupKey};

    fn get(key: &[u8]) -> LookupKey {
        LookupKey {
            fetch: Fetch::Get,
            key: key.to_vec(),
        }
    }

    async fn cache(node: &RedisServer, options: RedisOptions) -> AsyncRedisSessionCache {
        let redis = AsyncRedis::open_cluster(&[format!("127.0.0.1:{}", node.port())], options)
            .await
            .expect("valid nodes")
            .with_failure_hook(Arc::new(|_| {}));
        let fleet = FleetKey::from_bytes(&fleet_key_bytes()).expect("32 bytes");
        AsyncRedisSessionCache::new(redis, &fleet, Arc::new(ManualClock::new(START)))
            .with_key_shape(any_shape())
    }

    #[test]
    fn a_prefix_with_braces_is_refused_by_the_async_handle_too() {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        rt.block_on(async {
            let options = RedisOptions::default().prefix(b"f{x}:");
            let single = AsyncRedis::open("redis://127.0.0.1:1", options.clone()).await;
            assert!(matches!(&single, Err(e) if e.to_string().contains("prefix")));
            let cluster = AsyncRedis::open_cluster(&["127.0.0.1:1".to_owned()], options).await;
            assert!(matches!(&cluster, Err(e) if e.to_string().contains("prefix")));
        });
    }

    /// Calls that queue for the cluster connection while another connects to a frozen node
    /// must neither wait their whole budget for the queue and then a whole one more to
    /// connect, nor connect again during the back-off that the failed connect started: one
    /// connect is tried, every call fails within one call budget (twice the connect plus
    /// command timeouts for a cluster; the connect fails after its 400 ms, so the slack for
    /// a loaded machine is 800 ms), queued ones as soon as the connect has failed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn calls_queued_behind_a_connect_to_a_frozen_cluster_node_keep_their_bound() {
        let Some(node) = RedisServer::start_cluster_node("queued_behind_a_frozen_node") else {
            return;
        };
        let mut options = RedisOptions::default().timeouts_ms(400, 200);
        options.retry_after = Duration::from_secs(5);
        let budget = (options.connect_timeout + options.command_timeout) * 2;
        let connects = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&connects);
        let redis = AsyncRedis::open_cluster(&[format!("127.0.0.1:{}", node.port())], options)
            .await
            .expect("valid nodes")
            .with_failure_hook(Arc::new(move |f| {
                if f.operation == "connect" {
                    counted.fetch_add(1, Ordering::Relaxed);
                }
            }));
        let fleet = FleetKey::from_bytes(&fleet_key_bytes()).expect("32 bytes");
        let cache = Arc::new(
            AsyncRedisSessionCache::new(redis, &fleet, Arc::new(ManualClock::new(START)))
                .with_key_shape(any_shape()),
        );
        node.freeze(true);
        let mut tasks = Vec::new();
        for i in 0..6u32 {
            let cache = Arc::clone(&cache);
            tasks.push(tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(100) * i).await;
                let t = Instant::now();
                let got = cache.fetch(&[get(b"k")]).await;
                assert!(got[0].is_err(), "{got:?}");
                t.elapsed()
            }));
        }
        let mut slowest = Duration::ZERO;
        for t in tasks {
            slowest = slowest.max(t.await.expect("task"));
        }
        node.freeze(false);
        let connects = connects.load(Ordering::Relaxed);
        eprintln!(
            "frozen cluster node: {connects} connect(s) tried, the slowest of 6 calls failed \
             after {slowest:?} (budget {budget:?})"
        );
        assert_eq!(connects, 1, "connects tried during the back-off");
        assert!(
            slowest < budget,
            "a call took {slowest:?}, budget {budget:?}"
        );
    }

    /// A cluster connection whose calls fail is dropped and made again, as the synchronous
    /// handle does, so a later call starts from a fresh slot map.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_cluster_connection_is_rebuilt() {
        let Some(node) = RedisServer::start_cluster_node("a_failing_cluster_connection") else {
            return;
        };
        let cache = cache(&node, RedisOptions::default().timeouts_ms(400, 200)).await;
        let deadline = Instant::now() + Duration::from_secs(10);
        while cache.fetch(&[get(b"k")]).await[0].is_err() {
            assert!(Instant::now() < deadline, "never answered");
        }
        let connects = cache.redis().stats().connects;
        node.freeze(true);
        assert!(cache.fetch(&[get(b"k")]).await[0].is_err());
        node.freeze(false);
        let deadline = Instant::now() + Duration::from_secs(10);
        while cache.fetch(&[get(b"k")]).await[0].is_err() {
            assert!(Instant::now() < deadline, "never recovered");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let after = cache.redis().stats().connects;
        assert!(
            after > connects,
            "connects before the failure {connects}, after {after}"
        );
    }
}
