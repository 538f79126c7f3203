//! Our own servers as a fleet sharing one real `redis-server`: sessions made on one instance
//! resume on another (TLS 1.3 tickets, TLS 1.2 session IDs and tickets), a ClientHello's early
//! data is accepted at most once across instances, and two `examples/server` processes started
//! with `--redis … --fleet-key …` resume each other's `openssl s_client` sessions.
#![cfg(feature = "redis")]

mod fleet_support;
mod peers;

use std::sync::Arc;
use std::time::Duration;

use fleet_support::example::{start_server, ServerProcess};
use fleet_support::{fleet_key_bytes, patient_options, RedisServer};
use peers::ours;
use tls_resumption::crypto::aead::AeadAlgorithm;
use tls_resumption::fleet::{FleetKey, FleetKeys, Redis, RedisReplayGuard, RedisSessionCache};
use tls_resumption::ticket::{KeySource, RotatingSealer, Schedule};
use tls_resumption::time::{Clock, ManualClock, Timestamp};
use tls_resumption::{
    ClientConfig, ClientConnection, EarlyDataStatus, HandshakeKind, ServerConfig, ServerConnection,
    TicketMode, TlsVersion,
};

/// One of our servers joined to the fleet, as `examples/server.rs --redis` builds it.
fn instance(
    redis: &RedisServer,
    fleet_key: &[u8; 32],
    clock: &Arc<ManualClock>,
) -> (ServerConfig, FleetKeys) {
    let fleet = FleetKey::from_bytes(fleet_key).unwrap();
    let handle = Arc::new(
        Redis::open(&redis.url(), patient_options())
            .unwrap()
            .with_failure_hook(Arc::new(|_| {})),
    );
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
        handle.clone(),
        &fleet,
        sealer.clone(),
        Duration::from_secs(60),
    );
    let cache = Arc::new(RedisSessionCache::new(
        handle.clone(),
        &fleet,
        clock.clone(),
    ));
    let config = ours::server_config("server")
        .with_clock(clock.clone())
        .with_tickets(TicketMode::Stateless(sealer))
        .with_session_cache(Some(cache))
        .with_early_data(
            16384,
            Arc::new(RedisReplayGuard::new(handle, Duration::from_secs(10))),
        );
    (config, keys)
}

struct Fleet {
    _redis: RedisServer,
    clock: Arc<ManualClock>,
    a: Arc<ServerConfig>,
    b: Arc<ServerConfig>,
}

fn fleet(test: &str, tweak: impl Fn(ServerConfig) -> ServerConfig) -> Option<Fleet> {
    let redis = RedisServer::start(test)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(
        now.as_millis() as u64
    )));
    // Every instance of one fleet loads the same key file.
    let fleet_key = fleet_key_bytes();
    let (a, keys_a) = instance(&redis, &fleet_key, &clock);
    let (b, keys_b) = instance(&redis, &fleet_key, &clock);
    for keys in [&keys_a, &keys_b] {
        assert_eq!(keys.sync(clock.now()).failures, 0);
    }
    Some(Fleet {
        _redis: redis,
        clock,
        a: Arc::new(tweak(a)),
        b: Arc::new(tweak(b)),
    })
}

fn resumed_on_b(test: &str, server: impl Fn(ServerConfig) -> ServerConfig, client: ClientConfig) {
    let Some(f) = fleet(test, server) else {
        return;
    };
    let client = Arc::new(client);
    let now = f.clock.now();
    let first = ours::connect(&client, &f.a, now, None).unwrap();
    assert_eq!(first.server_kind, Some(HandshakeKind::Full), "{test}");
    let second = ours::connect(&client, &f.b, now, None).unwrap();
    assert!(
        second.server_kind.is_some_and(HandshakeKind::is_resumed),
        "{test}: {:?}",
        second.server_kind
    );
}

#[test]
fn a_tls13_ticket_from_one_instance_resumes_on_another() {
    resumed_on_b(
        "fleet_ours_tls13",
        |s| s,
        ours::client_config("server").with_versions(&[TlsVersion::Tls13]),
    );
}

#[test]
fn a_tls12_session_id_from_one_instance_resumes_on_another() {
    resumed_on_b(
        "fleet_ours_tls12_id",
        |s| s.with_tickets(TicketMode::Disabled),
        ours::client_config("server")
            .with_versions(&[TlsVersion::Tls12])
            .with_tls12_tickets(false),
    );
}

#[test]
fn a_tls12_ticket_from_one_instance_resumes_on_another() {
    resumed_on_b(
        "fleet_ours_tls12_ticket",
        |s| s.with_session_cache(None),
        ours::client_config("server").with_versions(&[TlsVersion::Tls12]),
    );
}

#[test]
fn early_data_replayed_to_another_instance_is_rejected() {
    let Some(f) = fleet("fleet_ours_replay", |s| s) else {
        return;
    };
    let now = f.clock.now();
    let c = Arc::new(ours::client_config("server").with_early_data(true));
    ours::connect(&c, &f.a, now, None).unwrap();
    let mut client = ClientConnection::new(c.clone(), "localhost", now).unwrap();
    client.send_early_data(b"transfer 100").unwrap();
    let mut flight = Vec::new();
    client.write_tls(&mut flight);

    let mut on_a = ServerConnection::new(f.a.clone());
    ours::feed_server(&mut on_a, &flight, now).unwrap();
    assert_eq!(on_a.take_early_data(), b"transfer 100");

    let mut on_b = ServerConnection::new(f.b.clone());
    ours::feed_server(
        &mut on_b,
        &flight,
        now.saturating_add(Duration::from_secs(1)),
    )
    .unwrap();
    assert!(
        on_b.take_early_data().is_empty(),
        "replayed early data accepted on B"
    );
    assert!(matches!(
        on_b.handshake_kind(),
        Some(HandshakeKind::Resumed {
            early_data: EarlyDataStatus::Rejected,
            ..
        }) | Some(HandshakeKind::Full)
    ));
}

// ---- two `examples/server` processes and openssl s_client ----

fn start_example(args: &[&str]) -> ServerProcess {
    start_server(&peers::example_binary("server"), args)
}

fn processes_share_sessions(server_args: &[&str], client_args: &[&str], test: &str) {
    if !peers::openssl::available(test) {
        return;
    }
    let Some(redis) = RedisServer::start(test) else {
        return;
    };
    let key = std::env::temp_dir().join(format!("{test}-{}.key", std::process::id()));
    std::fs::write(&key, fleet_key_bytes()).unwrap();
    let url = redis.url();
    let fleet = ["--redis", &url, "--fleet-key", key.to_str().unwrap()];
    let a = start_example(&[server_args, &fleet].concat());
    let b = start_example(&[server_args, &fleet].concat());
    let session = std::env::temp_dir().join(format!("{test}-{}.pem", std::process::id()));
    let _ = std::fs::remove_file(&session);
    let first = peers::openssl::s_client(a.port, client_args, &session);
    assert!(
        first.new_session(),
        "{test}: first connection\n{}",
        first.stdout
    );
    let second = peers::openssl::s_client(b.port, client_args, &session);
    let _ = std::fs::remove_file(&session);
    let _ = std::fs::remove_file(&key);
    assert!(
        second.reused() && second.stdout.contains("Reused, "),
        "{test}: the session from A resumes on B\n{}\n{}",
        second.stdout,
        second.stderr
    );
}

#[test]
fn openssl_tls13_session_from_one_server_process_resumes_on_another() {
    processes_share_sessions(&["--tls13"], &["-tls1_3"], "fleet_ours_example_tls13");
}

#[test]
fn openssl_tls12_session_id_from_one_server_process_resumes_on_another() {
    processes_share_sessions(
        &["--tls12"],
        &["-tls1_2", "-no_ticket"],
        "fleet_ours_example_tls12_id",
    );
}

#[test]
fn openssl_tls12_ticket_from_one_server_process_resumes_on_another() {
    processes_share_sessions(
        &["--tls12", "--no-session-cache"],
        &["-tls1_2"],
        "fleet_ours_example_tls12_ticket",
    );
}
