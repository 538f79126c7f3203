//! Resumed rustls handshakes in memory, with rustls's own resumption state (its `Ticketer`
//! and `ServerSessionMemoryCache`) and with this crate's (a `RotatingSealer` and a
//! `MemoryCache` through the adapters), in the same run, 1 and 2 threads. One iteration = a
//! whole resumed handshake, client and server, including delivery of the fresh tickets.
//!
//! Goal: no slower than rustls's own state; the cache case faster at 2 threads.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection};
use tls_resumption::rustls_adapter::Resumption;
use tls_resumption::store::MemoryCache;
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

fn client_config(
    version: &'static rustls::SupportedProtocolVersion,
    tickets: bool,
) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(format!("{PKI}ca.pem")).unwrap())
        .unwrap();
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[version])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tls12 = if tickets {
        rustls::client::Tls12Resumption::SessionIdOrTickets
    } else {
        rustls::client::Tls12Resumption::SessionIdOnly
    };
    config.resumption = rustls::client::Resumption::in_memory_sessions(256).tls12_resumption(tls12);
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

/// One connection, handshake to the delivery of the server's tickets.
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

/// The server's resumption state under test.
#[derive(Clone, Copy)]
enum State {
    RustlsOwn,
    Ours,
}

fn configure(mut config: ServerConfig, state: State, tickets: bool) -> Arc<ServerConfig> {
    match state {
        State::RustlsOwn => {
            config.session_storage = rustls::server::ServerSessionMemoryCache::new(100_000);
            config.ticketer = if tickets {
                rustls::crypto::ring::Ticketer::new().unwrap()
            } else {
                Arc::new(NoTickets)
            };
        }
        State::Ours => {
            let clock = Arc::new(SystemClock);
            let sealer = Arc::new(RotatingSealer::new(clock.clone(), Schedule::default()).unwrap());
            let mut resumption =
                Resumption::new(Arc::new(MemoryCache::new(100_000)), sealer, clock);
            if !tickets {
                resumption = resumption.stateful();
            }
            resumption.install(&mut config);
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

fn run(
    threads: usize,
    iters: u64,
    client: &[Arc<ClientConfig>],
    server: &Arc<ServerConfig>,
) -> Duration {
    let start = Instant::now();
    std::thread::scope(|s| {
        for c in client.iter().take(threads) {
            s.spawn(move || {
                for _ in 0..iters {
                    black_box(handshake(c, server));
                }
            });
        }
    });
    start.elapsed()
}

fn resumed_handshakes(c: &mut Criterion) {
    let cases: [(&str, &'static rustls::SupportedProtocolVersion, bool); 3] = [
        ("tls13_stateless_ticket", &rustls::version::TLS13, true),
        ("tls13_stateful_ticket", &rustls::version::TLS13, false),
        ("tls12_session_id", &rustls::version::TLS12, false),
    ];
    for (name, version, tickets) in cases {
        let mut group = c.benchmark_group(format!("rustls_resumed_{name}"));
        group.measurement_time(Duration::from_secs(4));
        for (label, state) in [
            ("rustls_own_state", State::RustlsOwn),
            ("our_state", State::Ours),
        ] {
            let server = configure(server_config(version), state, tickets);
            for threads in [1usize, 2] {
                // One client config per thread, each primed with a full handshake.
                let clients: Vec<_> = (0..threads)
                    .map(|_| client_config(version, tickets))
                    .collect();
                for client in &clients {
                    handshake(client, &server);
                    assert_eq!(
                        handshake(client, &server),
                        Some(rustls::HandshakeKind::Resumed),
                        "{name} {label} must resume"
                    );
                }
                group.bench_function(BenchmarkId::new(label, threads), |b| {
                    b.iter_custom(|iters| run(threads, iters, &clients, &server))
                });
            }
        }
        group.finish();
    }
}

criterion_group!(benches, resumed_handshakes);
criterion_main!(benches);
