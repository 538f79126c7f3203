//! Resumed rustls handshakes (through the adapter) with the session cache in Redis versus in
//! memory, in the same run, against a `redis-server` on loopback that the bench starts. One
//! iteration = a whole resumed handshake, client and server, including the fresh ticket.
//!
//! - ours: `RedisSessionCache` (sealed values, one connection pool) on one Redis server and on
//!   a 3-master/3-replica Redis Cluster the bench also starts (when `redis-cli` is there), and
//!   `MemoryCache`;
//! - anchor: rustls's own `ServerSessionMemoryCache`;
//! - floor: one bare `GET` round trip to the same Redis with the `redis` crate.
//!
//! Before measuring it prints the Redis round trips per resumed handshake: one lookup (`GET`
//! for a TLS 1.2 session ID, `GETDEL` for a single-use TLS 1.3 ticket), plus, in TLS 1.3, one
//! `SET` per fresh stateful ticket the server issues.

#[path = "../tests/fleet_support/mod.rs"]
mod fleet_support;

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection};
use tls_resumption::fleet::{FleetKey, Redis, RedisOptions, RedisSessionCache};
use tls_resumption::rustls_adapter::Resumption;
use tls_resumption::store::{MemoryCache, SessionCache};
use tls_resumption::ticket::{RotatingSealer, Schedule};
use tls_resumption::time::SystemClock;

const PKI: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/pki/");

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn server_config(version: &'static rustls::SupportedProtocolVersion) -> ServerConfig {
    let certs = vec![CertificateDer::from_pem_file(format!("{PKI}server.pem")).unwrap()];
    let key = PrivateKeyDer::from_pem_file(format!("{PKI}server.key")).unwrap();
    ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[version])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap()
}

fn client_config(version: &'static rustls::SupportedProtocolVersion) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(format!("{PKI}ca.pem")).unwrap())
        .unwrap();
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[version])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.resumption = rustls::client::Resumption::in_memory_sessions(256)
        .tls12_resumption(rustls::client::Tls12Resumption::SessionIdOnly);
    Arc::new(config)
}

fn pump<A, B>(
    from: &mut rustls::ConnectionCommon<A>,
    to: &mut rustls::ConnectionCommon<B>,
    buf: &mut Vec<u8>,
) -> bool {
    buf.clear();
    while from.wants_write() {
        from.write_tls(buf).unwrap();
    }
    let mut slice = &buf[..];
    while !slice.is_empty() {
        to.read_tls(&mut slice).unwrap();
        to.process_new_packets().unwrap();
    }
    !buf.is_empty()
}

fn handshake(
    client: &Arc<ClientConfig>,
    server: &Arc<ServerConfig>,
) -> Option<rustls::HandshakeKind> {
    let mut c =
        ClientConnection::new(client.clone(), ServerName::try_from("localhost").unwrap()).unwrap();
    let mut s = ServerConnection::new(server.clone()).unwrap();
    let mut buf = Vec::with_capacity(4096);
    loop {
        let a = pump(&mut c, &mut s, &mut buf);
        let b = pump(&mut s, &mut c, &mut buf);
        if !a && !b && !c.is_handshaking() {
            break;
        }
    }
    s.handshake_kind()
}

/// A server whose session IDs and TLS 1.3 tickets live in `cache` (stateful mode: every
/// resumption goes through the cache).
fn with_cache(
    version: &'static rustls::SupportedProtocolVersion,
    cache: Option<Arc<dyn SessionCache>>,
) -> Arc<ServerConfig> {
    let mut config = server_config(version);
    match cache {
        Some(cache) => {
            let clock = Arc::new(SystemClock);
            let sealer = Arc::new(RotatingSealer::new(clock.clone(), Schedule::default()).unwrap());
            Resumption::new(cache, sealer, clock)
                .stateful()
                .install(&mut config);
        }
        None => {
            config.session_storage = rustls::server::ServerSessionMemoryCache::new(100_000);
            config.ticketer = Arc::new(NoTickets);
        }
    }
    Arc::new(config)
}

#[derive(Debug)]
struct NoTickets;

impl rustls::server::ProducesTickets for NoTickets {
    fn enabled(&self) -> bool {
        false
    }
    fn lifetime(&self) -> u32 {
        0
    }
    fn encrypt(&self, _: &[u8]) -> Option<Vec<u8>> {
        None
    }
    fn decrypt(&self, _: &[u8]) -> Option<Vec<u8>> {
        None
    }
}

fn resumed_handshakes(c: &mut Criterion) {
    let Some(server) = fleet_support::RedisServer::start("bench fleet") else {
        return;
    };
    let redis = Arc::new(
        Redis::open(
            &server.url(),
            RedisOptions::default().timeouts_ms(1000, 1000),
        )
        .unwrap(),
    );
    let fleet = FleetKey::from_bytes(&fleet_support::fleet_key_bytes()).unwrap();
    let redis_cache: Arc<dyn SessionCache> = Arc::new(RedisSessionCache::new(
        redis.clone(),
        &fleet,
        Arc::new(SystemClock),
    ));
    let memory_cache: Arc<dyn SessionCache> = Arc::new(MemoryCache::new(100_000));
    let cluster = fleet_support::cluster::RedisCluster::start("bench fleet cluster");
    let cluster_redis = cluster.as_ref().map(|cluster| {
        Arc::new(
            Redis::open_cluster(
                &cluster.nodes(),
                RedisOptions::default().timeouts_ms(1000, 1000),
            )
            .unwrap(),
        )
    });
    let cluster_cache: Option<Arc<dyn SessionCache>> = cluster_redis.as_ref().map(|redis| {
        Arc::new(RedisSessionCache::new(
            redis.clone(),
            &fleet,
            Arc::new(SystemClock),
        )) as Arc<dyn SessionCache>
    });

    let cases: [(&str, &'static rustls::SupportedProtocolVersion); 2] = [
        ("tls13_stateful_ticket", &rustls::version::TLS13),
        ("tls12_session_id", &rustls::version::TLS12),
    ];
    for (name, version) in cases {
        // Round trips per resumed handshake, counted over 200 of them; for TLS 1.3 also with
        // one ticket issued per connection instead of rustls's default two, since each
        // stateful ticket issued is one SET.
        let mut counted = vec![("redis", redis_cache.clone(), redis.clone())];
        if let (Some(cache), Some(handle)) = (&cluster_cache, &cluster_redis) {
            counted.push(("redis cluster", cache.clone(), handle.clone()));
        }
        for (backend, cache, redis) in &counted {
            for tickets in [None, Some(1usize)] {
                let mut config = with_cache(version, Some(cache.clone()));
                if let Some(n) = tickets {
                    if version == &rustls::version::TLS12 {
                        continue;
                    }
                    Arc::get_mut(&mut config).unwrap().send_tls13_tickets = n;
                }
                let client = client_config(version);
                handshake(&client, &config);
                let before = redis.stats();
                for _ in 0..200 {
                    assert_eq!(
                        handshake(&client, &config),
                        Some(rustls::HandshakeKind::Resumed)
                    );
                }
                let after = redis.stats();
                println!(
                    "fleet {name} on {backend} ({}): {:.2} Redis round trips per resumed handshake ({} failures)",
                    tickets.map_or("rustls's default tickets per connection".to_owned(), |n| {
                        format!("{n} ticket per connection")
                    }),
                    (after.round_trips - before.round_trips) as f64 / 200.0,
                    after.failures - before.failures
                );
            }
        }

        let mut group = c.benchmark_group(format!("fleet_resumed_{name}"));
        let mut caches = vec![
            ("redis_cache", Some(redis_cache.clone())),
            ("memory_cache", Some(memory_cache.clone())),
            ("rustls_own_cache", None),
        ];
        if let Some(cache) = &cluster_cache {
            caches.insert(1, ("redis_cluster_cache", Some(cache.clone())));
        }
        for (label, cache) in caches {
            let config = with_cache(version, cache);
            let client = client_config(version);
            handshake(&client, &config);
            assert_eq!(
                handshake(&client, &config),
                Some(rustls::HandshakeKind::Resumed),
                "{name} {label} must resume"
            );
            group.bench_function(BenchmarkId::new(label, 1), |b| {
                b.iter(|| black_box(handshake(&client, &config)))
            });
        }
        group.finish();
    }

    // Floor: one bare GET round trip over a kept-open connection.
    let mut group = c.benchmark_group("fleet_redis_round_trip");
    let client = redis::Client::open(server.url()).unwrap();
    let mut conn = client
        .get_connection_with_timeout(Duration::from_secs(1))
        .unwrap();
    group.bench_function("bare_get_floor", |b| {
        b.iter(|| {
            let v: Option<Vec<u8>> = redis::cmd("GET").arg("absent").query(&mut conn).unwrap();
            black_box(v)
        })
    });
    group.finish();
}

criterion_group!(benches, resumed_handshakes);
criterion_main!(benches);
