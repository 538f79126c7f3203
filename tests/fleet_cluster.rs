//! The fleet over a real Redis Cluster (3 masters, 3 replicas, started by the test): the
//! session cache, ticket keys and replay guard work unchanged; sessions made on one server
//! resume on another, in process and across two `examples/server` processes; and when a
//! master is killed, its replica takes over and resumption comes back.
#![cfg(feature = "redis")]

mod fleet_support;
mod peers;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use fleet_support::cluster::RedisCluster;
use fleet_support::example::start_server;
use fleet_support::fleet_key_bytes;
use peers::ours;
use tls_resumption::antireplay::{EarlyDataAttempt, ReplayGuard, Verdict};
use tls_resumption::crypto::aead::AeadAlgorithm;
use tls_resumption::fleet::{
    FleetKey, FleetKeys, KeyShape, Redis, RedisOptions, RedisReplayGuard, RedisSessionCache,
    MAX_KEY_LEN,
};
use tls_resumption::store::SessionCache;
use tls_resumption::ticket::{KeySource, RotatingSealer, Schedule, TicketSealer};
use tls_resumption::time::{Clock, ManualClock, Timestamp};
use tls_resumption::{ClientConfig, HandshakeKind, ServerConfig, TicketMode, TlsVersion};

/// One cluster at a time: six `redis-server` processes per test are plenty for a loaded
/// two-core machine, and a cluster starved of CPU may fail over on its own.
static ONE_CLUSTER_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Timeouts for tests that are not about them: a loaded machine can keep a node off the CPU
/// for a while. A killed node still fails at once: it refuses, nothing is waited on.
fn options() -> RedisOptions {
    RedisOptions::default().timeouts_ms(2_000, 2_000)
}

fn handle(cluster: &RedisCluster, options: RedisOptions) -> Arc<Redis> {
    Arc::new(
        Redis::open_cluster(&cluster.nodes(), options)
            .expect("valid nodes")
            .with_failure_hook(Arc::new(|_| {})),
    )
}

fn now_clock() -> Arc<ManualClock> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    Arc::new(ManualClock::new(Timestamp::from_millis(
        u64::try_from(now.as_millis()).unwrap(),
    )))
}

/// The masters' ports that hold at least one key.
fn masters_with_keys(cluster: &RedisCluster) -> BTreeSet<u16> {
    cluster
        .masters_and_replicas()
        .into_iter()
        .filter(|(master, _)| {
            cluster
                .command(*master, &["DBSIZE"])
                .and_then(|r| r.trim().strip_prefix(':')?.parse::<u64>().ok())
                .is_some_and(|n| n > 0)
        })
        .map(|(master, _)| master)
        .collect()
}

#[test]
fn the_session_cache_the_ticket_keys_and_the_replay_guard_work_over_a_cluster() {
    let _one = ONE_CLUSTER_AT_A_TIME
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let Some(cluster) = RedisCluster::start("fleet_cluster_components") else {
        return;
    };
    let clock = now_clock();
    let key = FleetKey::from_bytes(&fleet_key_bytes()).unwrap();
    let redis = handle(&cluster, options());
    assert!(redis.is_cluster());
    let shape = KeyShape::lengths(1, MAX_KEY_LEN).unwrap();
    let a =
        RedisSessionCache::new(redis.clone(), &key, clock.clone()).with_key_shape(shape.clone());
    let b = RedisSessionCache::new(handle(&cluster, options()), &key, clock.clone())
        .with_key_shape(shape);
    let later = clock.now().saturating_add(Duration::from_secs(3600));
    for i in 0..30u8 {
        a.put_encoded(&[i; 32], &[i; 100], later).unwrap();
    }
    // Session keys spread over the slots, so over every master.
    assert_eq!(masters_with_keys(&cluster).len(), 3);
    for i in 0..30u8 {
        let got = if i % 2 == 0 {
            b.get_encoded(&[i; 32])
        } else {
            b.take_encoded(&[i; 32])
        };
        assert_eq!(got.unwrap().unwrap().expose_secret(), &[i; 100]);
    }
    for i in (1..30u8).step_by(2) {
        assert!(a.take_encoded(&[i; 32]).unwrap().is_none(), "taken once");
    }
    a.remove(&[0; 32]).unwrap();
    assert!(b.get_encoded(&[0; 32]).unwrap().is_none());

    // Ticket keys: two servers agree on one key per slot, all in one cluster slot.
    let sealers: Vec<(FleetKeys, Arc<RotatingSealer>)> = (0..2)
        .map(|_| {
            let sealer = Arc::new(
                RotatingSealer::with_options(
                    clock.clone(),
                    Schedule::default(),
                    AeadAlgorithm::Aes256Gcm,
                    KeySource::External,
                )
                .unwrap(),
            );
            let keys = FleetKeys::new(
                handle(&cluster, options()),
                &key,
                sealer.clone(),
                Duration::from_secs(60),
            );
            (keys, sealer)
        })
        .collect();
    let reports: Vec<_> = sealers.iter().map(|(k, _)| k.sync(clock.now())).collect();
    assert!(reports.iter().all(|r| r.failures == 0), "{reports:?}");
    assert_eq!(reports[0].created + reports[1].created, 2, "{reports:?}");
    let sealed = sealers[0].1.seal(b"state").unwrap();
    assert_eq!(
        sealers[1]
            .1
            .open(&sealed)
            .unwrap()
            .plaintext
            .expose_secret(),
        b"state"
    );
    let slots: BTreeSet<String> = cluster
        .masters_and_replicas()
        .into_iter()
        .filter_map(|(m, _)| {
            let keys = cluster.command(m, &["KEYS", "*{stek}*"])?;
            keys.contains("{stek}").then(|| m.to_string())
        })
        .collect();
    assert_eq!(slots.len(), 1, "every ticket key on one master: {slots:?}");

    // The replay guard: one fresh verdict per id, whichever server asks.
    let guards = [
        RedisReplayGuard::new(redis.clone(), Duration::from_secs(10)),
        RedisReplayGuard::new(handle(&cluster, options()), Duration::from_secs(10)),
    ];
    for n in 0..20u8 {
        let attempt = EarlyDataAttempt {
            id: &[n; 32],
            issued_at: clock.now(),
            client_ticket_age_ms: 0,
        };
        let first = guards[usize::from(n % 2)].check_and_record(&attempt, clock.now());
        let second = guards[usize::from(1 - n % 2)].check_and_record(&attempt, clock.now());
        assert_eq!((first, second), (Verdict::Fresh, Verdict::Replay));
    }
    assert_eq!(redis.stats().failures, 0);
}

/// One of our servers joined to the fleet through the cluster, as `examples/server.rs
/// --redis-cluster` builds it, with the session cache answering `tickets` too.
fn instance(
    redis: &Arc<Redis>,
    fleet_key: &[u8; 32],
    clock: &Arc<ManualClock>,
    stateful: bool,
) -> (ServerConfig, FleetKeys) {
    let fleet = FleetKey::from_bytes(fleet_key).unwrap();
    let sealer = Arc::new(
        RotatingSealer::with_options(
            clock.clone(),
            Schedule::default(),
            AeadAlgorithm::Aes256Gcm,
            KeySource::External,
        )
        .unwrap(),
    );
    let keys = FleetKeys::new(
        redis.clone(),
        &fleet,
        sealer.clone(),
        Duration::from_secs(60),
    );
    let cache = Arc::new(RedisSessionCache::new(redis.clone(), &fleet, clock.clone()));
    let tickets = if stateful {
        TicketMode::Stateful {
            cache: cache.clone(),
            lifetime: Duration::from_secs(3600),
        }
    } else {
        TicketMode::Stateless(sealer)
    };
    let config = ours::server_config("server")
        .with_clock(clock.clone())
        .with_tickets(tickets)
        .with_session_cache(Some(cache))
        .with_early_data(
            16384,
            Arc::new(RedisReplayGuard::new(
                redis.clone(),
                Duration::from_secs(10),
            )),
        );
    (config, keys)
}

/// Servers A and B of one fleet (its own fleet key and key prefix), each with its own
/// cluster handle.
struct Pair {
    a: Arc<ServerConfig>,
    b: Arc<ServerConfig>,
    handles: [Arc<Redis>; 2],
}

fn pair(
    cluster: &RedisCluster,
    clock: &Arc<ManualClock>,
    stateful: bool,
    opts: RedisOptions,
) -> Pair {
    let key = fleet_key_bytes();
    let prefix = format!(
        "fleet-{}:",
        u32::from_be_bytes([key[0], key[1], key[2], key[3]])
    );
    let opts = opts.prefix(prefix.as_bytes());
    let handles = [handle(cluster, opts.clone()), handle(cluster, opts)];
    let (a, keys_a) = instance(&handles[0], &key, clock, stateful);
    let (b, keys_b) = instance(&handles[1], &key, clock, stateful);
    for keys in [&keys_a, &keys_b] {
        let report = keys.sync(clock.now());
        assert_eq!(report.failures, 0, "{report:?}");
    }
    Pair {
        a: Arc::new(a),
        b: Arc::new(b),
        handles,
    }
}

/// One of the three ways of resuming through the fleet: its name, whether the servers issue
/// stateful tickets, and a new client (with an empty session store) for it.
type Way = (&'static str, bool, fn() -> ClientConfig);

const WAYS: [Way; 3] = [
    ("TLS 1.2 session ID", false, || {
        ours::client_config("server")
            .with_versions(&[TlsVersion::Tls12])
            .with_tls12_tickets(false)
    }),
    ("TLS 1.3 stateful ticket", true, || {
        ours::client_config("server").with_versions(&[TlsVersion::Tls13])
    }),
    ("TLS 1.3 stateless ticket", false, || {
        ours::client_config("server").with_versions(&[TlsVersion::Tls13])
    }),
];

#[test]
fn sessions_made_on_one_server_resume_on_another_through_the_cluster() {
    let _one = ONE_CLUSTER_AT_A_TIME
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let Some(cluster) = RedisCluster::start("fleet_cluster_in_process") else {
        return;
    };
    let clock = now_clock();
    for (what, stateful, client) in WAYS {
        let servers = pair(&cluster, &clock, stateful, options());
        for _ in 0..10 {
            // A new client each time: a new session, so a new key in some slot.
            let client = Arc::new(client());
            let first = ours::connect(&client, &servers.a, clock.now(), None).unwrap();
            assert_eq!(first.server_kind, Some(HandshakeKind::Full), "{what}");
            let second = ours::connect(&client, &servers.b, clock.now(), None).unwrap();
            assert!(
                second.server_kind.is_some_and(HandshakeKind::is_resumed),
                "{what}: {:?}",
                second.server_kind
            );
        }
        let failures: u64 = servers.handles.iter().map(|h| h.stats().failures).sum();
        assert_eq!(failures, 0, "{what}");
    }
}

#[test]
fn openssl_sessions_from_one_server_process_resume_on_another_through_the_cluster() {
    let test = "fleet_cluster_processes";
    if !peers::openssl::available(test) {
        return;
    }
    let _one = ONE_CLUSTER_AT_A_TIME
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let Some(cluster) = RedisCluster::start(test) else {
        return;
    };
    let key = KeyFile::new(test);
    let nodes = cluster.nodes().join(",");
    let fleet = ["--redis-cluster", &nodes, "--fleet-key", key.path()];
    let binary = peers::example_binary("server");
    for (server_args, client_args) in [
        (&["--tls13"][..], &["-tls1_3"][..]),
        (&["--tls12"], &["-tls1_2", "-no_ticket"]),
    ] {
        let a = start_server(&binary, &[server_args, &fleet].concat());
        let b = start_server(&binary, &[server_args, &fleet].concat());
        for round in 0..3 {
            let session =
                std::env::temp_dir().join(format!("{test}-{}-{round}.pem", std::process::id()));
            let _ = std::fs::remove_file(&session);
            let first = peers::openssl::s_client(a.port, client_args, &session);
            assert!(
                first.new_session(),
                "{client_args:?}: first\n{}",
                first.stdout
            );
            let second = peers::openssl::s_client(b.port, client_args, &session);
            let _ = std::fs::remove_file(&session);
            assert!(
                second.reused() && second.stdout.contains("Reused, "),
                "{client_args:?}: the session from A resumes on B\n{}\n{}",
                second.stdout,
                second.stderr
            );
        }
    }
}

/// A fleet key file for server processes, removed on drop (a failed test included).
struct KeyFile(std::path::PathBuf);

impl KeyFile {
    fn new(test: &str) -> Self {
        let path = std::env::temp_dir().join(format!("{test}-{}.key", std::process::id()));
        std::fs::write(&path, fleet_key_bytes()).unwrap();
        Self(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("a UTF-8 temporary path")
    }
}

impl Drop for KeyFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// What a failover run saw: when each attempt started and whether it resumed.
#[derive(Default)]
struct Record {
    attempts: Vec<(Instant, bool)>,
}

impl Record {
    /// Whether the last `n` attempts all started at or after `since` and at least 95 % of
    /// them resumed.
    fn recovered(&self, since: Instant, n: usize) -> bool {
        let Some(last) = self
            .attempts
            .len()
            .checked_sub(n)
            .map(|i| &self.attempts[i..])
        else {
            return false;
        };
        let resumed = last.iter().filter(|(_, r)| *r).count();
        last.iter().all(|(t, _)| *t >= since) && resumed * 100 >= n * 95
    }
}

#[test]
fn a_master_killed_mid_run_costs_no_connection_and_resumption_recovers_after_promotion() {
    let _one = ONE_CLUSTER_AT_A_TIME
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let Some(mut cluster) = RedisCluster::start("fleet_cluster_failover") else {
        return;
    };
    let clock = now_clock();
    // Patient enough for a loaded machine; a killed node refuses at once anyway.
    let opts = RedisOptions::default().timeouts_ms(1_000, 1_000);
    let pairs: Vec<Pair> = WAYS
        .iter()
        .map(|(_, stateful, _)| pair(&cluster, &clock, *stateful, opts.clone()))
        .collect();
    let mut record = Record::default();
    let attempt = |record: &mut Record| {
        let i = record.attempts.len() % WAYS.len();
        let (what, _, client) = &WAYS[i];
        let client = Arc::new(client());
        let (a, b) = (&pairs[i].a, &pairs[i].b);
        let started = Instant::now();
        ours::connect(&client, a, clock.now(), None)
            .unwrap_or_else(|e| panic!("{what}: a connection failed: {e:?}"));
        let second = ours::connect(&client, b, clock.now(), None)
            .unwrap_or_else(|e| panic!("{what}: a connection failed: {e:?}"));
        let resumed = second.server_kind.is_some_and(HandshakeKind::is_resumed);
        record.attempts.push((started, resumed));
    };
    // Before: every session resumes.
    for _ in 0..30 {
        attempt(&mut record);
    }
    assert!(
        record.attempts.iter().all(|(_, r)| *r),
        "before the failover"
    );

    let (master, replica) = cluster.masters_and_replicas()[0];
    // (killed, promoted): when the master was killed and its replica first seen as master.
    let events: Mutex<(Option<Instant>, Option<Instant>)> = Mutex::default();
    let attempts_made = AtomicUsize::new(record.attempts.len());
    std::thread::scope(|scope| {
        // The kill lands while handshakes are under way (once ten more have started).
        scope.spawn(|| {
            let start = attempts_made.load(Ordering::Relaxed);
            while attempts_made.load(Ordering::Relaxed) < start + 10 {
                std::thread::sleep(Duration::from_millis(5));
            }
            cluster.kill(master);
            events.lock().unwrap().0 = Some(Instant::now());
            let at = RedisCluster::wait_promoted(replica, RedisCluster::patience());
            events.lock().unwrap().1 = Some(at);
        });
        // Keep serving through the failover: no connection fails (checked in `attempt`),
        // and within 10 s of the promotion at least 95 % of the last 30 sessions resume.
        let overall = RedisCluster::patience();
        loop {
            attempt(&mut record);
            attempts_made.store(record.attempts.len(), Ordering::Relaxed);
            let (killed, promoted) = *events.lock().unwrap();
            if let (Some(killed), Some(at)) = (killed, promoted) {
                if record.recovered(at, 30) {
                    eprintln!(
                        "promoted {:?} after the kill; recovered {:?} after the promotion",
                        at - killed,
                        at.elapsed()
                    );
                    break;
                }
                let waited = at.elapsed();
                let misses = record.attempts.iter().rev().take(30).filter(|(_, r)| !*r);
                assert!(
                    waited < Duration::from_secs(10),
                    "resumption still below 95 % {waited:?} after the promotion: {} of the \
                     last 30 missed",
                    misses.count()
                );
            }
            assert!(Instant::now() < overall, "the replica was never promoted");
        }
    });
}

#[cfg(feature = "redis-async")]
mod asynchronous {
    use super::*;
    use tls_resumption::fleet::{AsyncRedis, AsyncRedisSessionCache};
    use tls_resumption::store::{AsyncSessionCache, Fetch, LookupKey};

    fn lookup(fetch: Fetch, id: u8) -> LookupKey {
        LookupKey {
            fetch,
            key: vec![id; 32],
        }
    }

    async fn async_cache(
        cluster: &RedisCluster,
        key: &FleetKey,
        clock: &Arc<ManualClock>,
        options: RedisOptions,
    ) -> Arc<AsyncRedisSessionCache> {
        let redis = AsyncRedis::open_cluster(&cluster.nodes(), options)
            .await
            .expect("valid nodes")
            .with_failure_hook(Arc::new(|_| {}));
        assert!(redis.is_cluster());
        Arc::new(AsyncRedisSessionCache::new(redis, key, clock.clone()))
    }

    /// A two-thread runtime: the cluster (and the lock on it) stays outside it.
    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime")
    }

    #[test]
    fn the_async_cache_shares_values_with_the_sync_one_over_a_cluster() {
        let _one = ONE_CLUSTER_AT_A_TIME
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(cluster) = RedisCluster::start("fleet_cluster_async") else {
            return;
        };
        runtime().block_on(shares_values(&cluster));
    }

    async fn shares_values(cluster: &RedisCluster) {
        let clock = now_clock();
        let key = FleetKey::from_bytes(&fleet_key_bytes()).unwrap();
        let sync = RedisSessionCache::new(handle(cluster, options()), &key, clock.clone());
        let cache = async_cache(cluster, &key, &clock, options()).await;
        let later = clock.now().saturating_add(Duration::from_secs(3600));
        for i in 0..30u8 {
            if i % 2 == 0 {
                cache.store(&[i; 32], &[i; 10], later).await.unwrap();
            } else {
                tokio::task::block_in_place(|| sync.put_encoded(&[i; 32], &[i; 10], later))
                    .unwrap();
            }
        }
        for i in 0..30u8 {
            let got = tokio::task::block_in_place(|| sync.get_encoded(&[i; 32])).unwrap();
            assert_eq!(got.unwrap().expose_secret(), &[i; 10]);
        }
        // Every master learns the take script (a NOSCRIPT then EVAL on each, once).
        let takes: Vec<LookupKey> = (0..30).map(|i| lookup(Fetch::Take, i)).collect();
        let got = cache.fetch(&takes).await;
        for (i, r) in got.into_iter().enumerate() {
            assert_eq!(r.unwrap().unwrap().expose_secret(), &[i as u8; 10]);
        }
        for i in [1u8, 2, 3] {
            cache.store(&[i; 32], &[i; 10], later).await.unwrap();
        }
        // One request per key, sent together: three for three keys in three slots.
        let before = cache.redis().stats().round_trips;
        let keys = [
            lookup(Fetch::Get, 1),
            lookup(Fetch::Take, 2),
            lookup(Fetch::Get, 3),
        ];
        let got = cache.fetch(&keys).await;
        assert!(got.iter().all(|r| matches!(r, Ok(Some(_)))), "{got:?}");
        assert_eq!(cache.redis().stats().round_trips - before, 3);

        // Why a lookup sends one request per key to a cluster: this version of the redis
        // crate refuses a pipeline over keys of several slots ("a", "b", "c": slots 15495,
        // 3300 and 7365).
        let urls: Vec<String> = cluster
            .nodes()
            .iter()
            .map(|n| format!("redis://{n}"))
            .collect();
        let client = redis::cluster::ClusterClient::new(urls).unwrap();
        let mut conn = client.get_async_connection().await.unwrap();
        let mut pipe = redis::pipe();
        for k in ["a", "b", "c"] {
            pipe.cmd("GET").arg(k);
        }
        let crossed: redis::RedisResult<Vec<Option<Vec<u8>>>> = pipe.query_async(&mut conn).await;
        assert!(
            crossed.as_ref().is_err_and(
                |e| e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::CrossSlot)
            ),
            "{crossed:?}"
        );

        // Single use among concurrent takers.
        cache.store(&[9; 32], b"once", later).await.unwrap();
        let mut tasks = Vec::new();
        for _ in 0..12 {
            let cache = Arc::clone(&cache);
            tasks.push(tokio::spawn(async move {
                matches!(cache.fetch(&[lookup(Fetch::Take, 9)]).await[0], Ok(Some(_)))
            }));
        }
        let mut winners = 0;
        for t in tasks {
            winners += usize::from(t.await.unwrap());
        }
        assert_eq!(winners, 1);
        assert_eq!(cache.redis().stats().failures, 0);
    }

    #[test]
    fn the_async_cache_recovers_after_a_failover_and_never_hangs() {
        let _one = ONE_CLUSTER_AT_A_TIME
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(mut cluster) = RedisCluster::start("fleet_cluster_async_failover") else {
            return;
        };
        runtime().block_on(recovers_after_a_failover(&mut cluster));
    }

    async fn recovers_after_a_failover(cluster: &mut RedisCluster) {
        let clock = now_clock();
        let key = FleetKey::from_bytes(&fleet_key_bytes()).unwrap();
        let opts = RedisOptions::default().timeouts_ms(1_000, 1_000);
        let cache = async_cache(cluster, &key, &clock, opts).await;
        let later = clock.now().saturating_add(Duration::from_secs(3600));
        // Store then read back 30 sessions; the share that made it.
        let round = |n: u8| {
            let cache = Arc::clone(&cache);
            async move {
                let mut ok = 0usize;
                for i in 0..30u8 {
                    let mut id = [0u8; 32];
                    (id[0], id[1]) = (n, i);
                    let t = Instant::now();
                    let stored = cache.store(&id, b"v", later).await.is_ok();
                    let keys = [LookupKey {
                        fetch: Fetch::Take,
                        key: id.to_vec(),
                    }];
                    let found = matches!(cache.fetch(&keys).await[0], Ok(Some(_)));
                    assert!(t.elapsed() < Duration::from_secs(6), "{:?}", t.elapsed());
                    ok += usize::from(stored && found);
                }
                ok
            }
        };
        assert_eq!(round(0).await, 30);
        let (master, replica) = cluster.masters_and_replicas()[0];
        tokio::task::block_in_place(|| cluster.kill(master));
        // Watched from a thread of its own, so the promotion is seen when it happens.
        let watcher = tokio::task::spawn_blocking(move || {
            RedisCluster::wait_promoted(replica, RedisCluster::patience())
        });
        let mut n = 1u8;
        while !watcher.is_finished() {
            round(n).await;
            n = n.wrapping_add(1);
        }
        let promoted = watcher.await.unwrap();
        loop {
            let ok = round(n).await;
            n = n.wrapping_add(1);
            if ok * 100 >= 30 * 95 {
                eprintln!("recovered {:?} after the promotion", promoted.elapsed());
                break;
            }
            assert!(
                promoted.elapsed() < Duration::from_secs(10),
                "only {ok} of 30 sessions stored and found {:?} after the promotion",
                promoted.elapsed()
            );
        }
    }
}
