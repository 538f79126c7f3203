//! Several rustls servers sharing one Redis through the fleet layer: sessions made on one
//! resume on another, 0-RTT is accepted once fleet-wide, and Redis going away costs only
//! resumption.
#![cfg(all(feature = "redis", feature = "rustls"))]

mod fleet_support;
mod peers;

use std::sync::Arc;
use std::time::{Duration, Instant};

use fleet_support::{fleet_key_bytes, patient_options, RedisServer};
use peers::rustls_pair::{client_config, connect, replay_first_flight, server_config};
use rustls::server::NoServerSessionStorage;
use rustls::HandshakeKind;
use tls_resumption::crypto::aead::AeadAlgorithm;
use tls_resumption::fleet::{FleetKey, FleetKeys, Redis, RedisSessionCache};
use tls_resumption::rustls_adapter::Resumption;
use tls_resumption::ticket::{KeySource, RotatingSealer, Schedule};
use tls_resumption::time::{Clock, ManualClock, Timestamp};

const TLS12: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS12];
const TLS13: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS13];

/// One server of the fleet: its own Redis handle, cache, sealer and key sync.
struct Instance {
    keys: FleetKeys,
    resumption: Resumption,
}

struct Fleet {
    redis: RedisServer,
    clock: Arc<ManualClock>,
    instances: Vec<Instance>,
}

impl Fleet {
    /// Three instances on one manual clock starting now (rustls stamps sessions with the
    /// real time), keys synced once.
    fn start(test: &str) -> Option<Self> {
        let redis = RedisServer::start(test)?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        let clock = Arc::new(ManualClock::new(Timestamp::from_millis(
            now.as_millis() as u64
        )));
        let fleet_key = fleet_key_bytes();
        let instances = (0..3)
            .map(|_| {
                let fleet = FleetKey::from_bytes(&fleet_key).unwrap();
                let handle = Arc::new(
                    Redis::open(&redis.url(), patient_options())
                        .unwrap()
                        .with_failure_hook(Arc::new(|_| {})),
                );
                let cache = Arc::new(RedisSessionCache::new(
                    handle.clone(),
                    &fleet,
                    clock.clone(),
                ));
                let sealer = Arc::new(
                    RotatingSealer::with_options(
                        clock.clone(),
                        Schedule::default(),
                        AeadAlgorithm::Aes256Gcm,
                        KeySource::External,
                    )
                    .unwrap(),
                );
                let keys = FleetKeys::new(handle, &fleet, sealer.clone(), Duration::from_secs(60));
                let resumption = Resumption::new(cache, sealer, clock.clone());
                Instance { keys, resumption }
            })
            .collect();
        let fleet = Self {
            redis,
            clock,
            instances,
        };
        fleet.sync();
        Some(fleet)
    }

    fn sync(&self) {
        for i in &self.instances {
            assert_eq!(i.keys.sync(self.clock.now()).failures, 0);
        }
    }

    fn server(
        &self,
        i: usize,
        versions: &[&'static rustls::SupportedProtocolVersion],
        stateful: bool,
        session_ids: bool,
    ) -> Arc<rustls::ServerConfig> {
        let mut config = server_config(versions);
        let resumption = &self.instances[i].resumption;
        if stateful {
            Resumption::new(
                resumption.cache().cache().clone(),
                resumption.tickets().sealer().clone(),
                self.clock.clone(),
            )
            .stateful()
            .install(&mut config);
            config.max_early_data_size = 16384;
        } else {
            resumption.install(&mut config);
        }
        if !session_ids {
            config.session_storage = Arc::new(NoServerSessionStorage {});
        }
        Arc::new(config)
    }
}

/// Connects to `a` for a full handshake, then to `b` with what the client kept.
fn made_on_a_resumes_on_b(
    a: &Arc<rustls::ServerConfig>,
    b: &Arc<rustls::ServerConfig>,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Option<HandshakeKind> {
    let client = Arc::new(client_config(versions));
    let first = connect(&client, a, None).unwrap();
    assert_eq!(first.server_kind, Some(HandshakeKind::Full));
    connect(&client, b, None).unwrap().server_kind
}

#[test]
fn tls12_session_id_from_a_resumes_on_b() {
    let Some(fleet) = Fleet::start("tls12_session_id_from_a_resumes_on_b") else {
        return;
    };
    // Stateful mode installs no ticketer: TLS 1.2 can only resume by session ID.
    let a = fleet.server(0, TLS12, true, true);
    let b = fleet.server(1, TLS12, true, true);
    assert_eq!(
        made_on_a_resumes_on_b(&a, &b, TLS12),
        Some(HandshakeKind::Resumed)
    );
}

#[test]
fn tls12_ticket_from_a_resumes_on_b() {
    let Some(fleet) = Fleet::start("tls12_ticket_from_a_resumes_on_b") else {
        return;
    };
    let a = fleet.server(0, TLS12, false, false);
    let b = fleet.server(1, TLS12, false, false);
    assert_eq!(
        made_on_a_resumes_on_b(&a, &b, TLS12),
        Some(HandshakeKind::Resumed)
    );
    assert!(fleet
        .redis
        .keys()
        .iter()
        .all(|k| k.starts_with(b"tls-resumption:{stek}:")));
}

#[test]
fn tls13_stateless_ticket_from_a_resumes_on_b_and_c() {
    let Some(fleet) = Fleet::start("tls13_stateless_ticket_from_a_resumes_on_b") else {
        return;
    };
    let a = fleet.server(0, TLS13, false, true);
    let b = fleet.server(1, TLS13, false, true);
    let c = fleet.server(2, TLS13, false, true);
    assert_eq!(
        made_on_a_resumes_on_b(&a, &b, TLS13),
        Some(HandshakeKind::Resumed)
    );
    assert_eq!(
        made_on_a_resumes_on_b(&a, &c, TLS13),
        Some(HandshakeKind::Resumed)
    );
}

#[test]
fn tls13_stateful_ticket_from_a_resumes_on_b_once() {
    let Some(fleet) = Fleet::start("tls13_stateful_ticket_from_a_resumes_on_b") else {
        return;
    };
    let a = fleet.server(0, TLS13, true, true);
    let b = fleet.server(1, TLS13, true, true);
    let client = Arc::new(client_config(TLS13));
    connect(&client, &a, None).unwrap();
    let resumed = connect(&client, &b, None).unwrap();
    assert_eq!(resumed.server_kind, Some(HandshakeKind::Resumed));
    // Replaying that resumption's ClientHello to A: the ticket was taken (GETDEL) on B.
    let replay = replay_first_flight(&a, &resumed.first_flight).unwrap();
    assert_eq!(replay.server_kind, Some(HandshakeKind::Full));
}

#[test]
fn zero_rtt_accepted_on_a_is_rejected_when_replayed_to_b() {
    let Some(fleet) = Fleet::start("zero_rtt_accepted_on_a_is_rejected_on_b") else {
        return;
    };
    let a = fleet.server(0, TLS13, true, true);
    let b = fleet.server(1, TLS13, true, true);
    let mut client = client_config(TLS13);
    client.enable_early_data = true;
    let client = Arc::new(client);
    connect(&client, &a, None).unwrap();
    let first = connect(&client, &a, Some(b"GET /early")).unwrap();
    assert!(first.early_data_accepted);
    assert_eq!(first.early_data_received, b"GET /early");
    for server in [&b, &a] {
        let replay = replay_first_flight(server, &first.first_flight).unwrap();
        assert!(
            replay.early_data_received.is_empty(),
            "replayed early data accepted"
        );
        assert_eq!(replay.server_kind, Some(HandshakeKind::Full));
    }
}

#[test]
fn rotations_keep_every_ticket_resuming_across_instances() {
    let Some(fleet) = Fleet::start("rotations_keep_every_ticket_resuming") else {
        return;
    };
    for versions in [TLS12, TLS13] {
        let servers: Vec<_> = (0..3)
            .map(|i| fleet.server(i, versions, false, false))
            .collect();
        // Six rotations; each hour a client gets a ticket on one instance and resumes on the
        // next, and the clients from earlier hours (inside the decrypt window) resume too.
        let mut clients = Vec::new();
        for hour in 0..6usize {
            let client = Arc::new(client_config(versions));
            connect(&client, &servers[hour % 3], None).unwrap();
            clients.push(client);
            for (n, client) in clients.iter().enumerate() {
                let to = &servers[(hour + n + 1) % 3];
                let kind = connect(client, to, None).unwrap().server_kind;
                assert_eq!(
                    kind,
                    Some(HandshakeKind::Resumed),
                    "{versions:?} hour {hour}"
                );
            }
            fleet.clock.advance(Duration::from_secs(3600));
            fleet.sync();
        }
    }
    let active: Vec<_> = fleet
        .instances
        .iter()
        .map(|i| {
            let e = i.keys.exposure();
            e.keys
                .iter()
                .find(|k| k.state == tls_resumption::ticket::KeyState::Active)
                .map(|k| k.name)
        })
        .collect();
    assert!(active[0].is_some());
    assert!(active.iter().all(|n| *n == active[0]), "one key fleet-wide");
    let created: u64 = fleet.instances.iter().map(|i| i.keys.created()).sum();
    assert_eq!(
        created, 14,
        "two at start, one per hour over twelve hours, each once"
    );
}

#[test]
fn redis_down_means_full_handshakes_then_resumption_comes_back() {
    let Some(mut fleet) = Fleet::start("redis_down_means_full_handshakes") else {
        return;
    };
    let a = fleet.server(0, TLS13, true, true);
    let b = fleet.server(1, TLS13, true, true);
    let mut client = client_config(TLS13);
    client.enable_early_data = true;
    let client = Arc::new(client);
    connect(&client, &a, None).unwrap();

    fleet.redis.stop();
    for _ in 0..3 {
        let t = Instant::now();
        let out = connect(&client, &b, Some(b"GET /early")).unwrap();
        assert_eq!(out.server_kind, Some(HandshakeKind::Full));
        assert!(!out.early_data_accepted);
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "took {:?}",
            t.elapsed()
        );
    }
    // Stateless tickets need no Redis on the way in: keys are held locally.
    let sa = fleet.server(0, TLS13, false, true);
    let sb = fleet.server(1, TLS13, false, true);
    assert_eq!(
        made_on_a_resumes_on_b(&sa, &sb, TLS13),
        Some(HandshakeKind::Resumed)
    );

    fleet.redis.restart();
    std::thread::sleep(Duration::from_millis(300));
    let fresh = Arc::new(client_config(TLS13));
    connect(&fresh, &a, None).unwrap();
    assert_eq!(
        connect(&fresh, &b, None).unwrap().server_kind,
        Some(HandshakeKind::Resumed)
    );
}

/// The cause of a fleet test seeing Redis still up after stopping it, and of a fleet start
/// finding keys it cannot open: a free port can be taken between choosing it and
/// `redis-server` binding it, and another server answering there (another test's) was taken
/// for ours. A server that cannot listen must not pass for started.
#[test]
fn a_redis_server_that_cannot_listen_is_not_mistaken_for_the_one_already_there() {
    let Some(theirs) = RedisServer::start("a_redis_server_that_cannot_listen") else {
        return;
    };
    let ours = RedisServer::try_on_port(theirs.port());
    assert!(
        ours.is_none(),
        "another server's answer was taken for a started one"
    );
}
