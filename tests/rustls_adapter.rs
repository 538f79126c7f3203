//! A rustls server whose resumption state is this crate's (feature `rustls`), resuming rustls
//! clients in memory and `openssl s_client` on loopback.
#![cfg(feature = "rustls")]

mod peers;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use peers::rustls_pair::{client_config, connect, replay_first_flight, server_config};
use rustls::server::NoServerSessionStorage;
use rustls::server::ProducesTickets;
use rustls::HandshakeKind;
use tls_resumption::rustls_adapter::{Resumption, TicketAdapter};
use tls_resumption::store::MemoryCache;
use tls_resumption::ticket::{Opened, RotatingSealer, Schedule, TicketError, TicketSealer};
use tls_resumption::time::{ManualClock, Timestamp};

const TLS12: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS12];
const TLS13: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS13];

struct Fixture {
    clock: Arc<ManualClock>,
    cache: Arc<MemoryCache>,
    resumption: Resumption,
}

/// Our cache and rotating sealer, on one manual clock that starts now (rustls stamps its
/// sessions with the real time, and the two must not disagree by years).
fn fixture() -> Fixture {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(
        now.as_millis() as u64
    )));
    let cache = Arc::new(
        MemoryCache::builder()
            .capacity(1024)
            .clock(clock.clone())
            .build(),
    );
    let sealer = Arc::new(RotatingSealer::new(clock.clone(), Schedule::default()).unwrap());
    let resumption = Resumption::new(cache.clone(), sealer, clock.clone());
    Fixture {
        clock,
        cache,
        resumption,
    }
}

fn server(
    versions: &[&'static rustls::SupportedProtocolVersion],
    resumption: &Resumption,
) -> Arc<rustls::ServerConfig> {
    let mut config = server_config(versions);
    resumption.install(&mut config);
    Arc::new(config)
}

/// As [`server`], with no session-ID storage at all, so only a ticket can resume TLS 1.2.
fn ticket_only_server(
    versions: &[&'static rustls::SupportedProtocolVersion],
    resumption: &Resumption,
) -> Arc<rustls::ServerConfig> {
    let mut config = server_config(versions);
    resumption.install(&mut config);
    config.session_storage = Arc::new(NoServerSessionStorage {});
    Arc::new(config)
}

#[test]
fn tls12_resumes_by_session_id_through_our_cache() {
    let f = fixture();
    // Stateful TLS 1.3 mode disables the ticketer, so TLS 1.2 can only resume by session ID.
    let resumption = f.resumption.stateful();
    let server = server(TLS12, &resumption);
    let client = Arc::new(client_config(TLS12));
    let first = connect(&client, &server, None).unwrap();
    assert_eq!(first.server_kind, Some(HandshakeKind::Full));
    assert_eq!(f.cache.len(), 1, "the session was stored in our cache");
    let second = connect(&client, &server, None).unwrap();
    assert_eq!(second.server_kind, Some(HandshakeKind::Resumed));
    assert_eq!(second.client_kind, Some(HandshakeKind::Resumed));
    assert!(resumption.cache().stats().hits >= 1);
}

#[test]
fn tls12_resumes_by_ticket_sealed_with_our_keys() {
    let f = fixture();
    let server = ticket_only_server(TLS12, &f.resumption);
    let client = Arc::new(client_config(TLS12));
    connect(&client, &server, None).unwrap();
    let second = connect(&client, &server, None).unwrap();
    assert_eq!(second.server_kind, Some(HandshakeKind::Resumed));
    assert_eq!(f.cache.len(), 0, "resumed by ticket, nothing cached");
}

#[test]
fn tls13_resumes_with_stateless_tickets_from_our_sealer() {
    let f = fixture();
    let server = server(TLS13, &f.resumption);
    let client = Arc::new(client_config(TLS13));
    connect(&client, &server, None).unwrap();
    assert_eq!(f.cache.len(), 0, "stateless tickets store nothing");
    let second = connect(&client, &server, None).unwrap();
    assert_eq!(second.server_kind, Some(HandshakeKind::Resumed));
    assert_eq!(second.client_kind, Some(HandshakeKind::Resumed));
}

#[test]
fn tls13_stateful_tickets_resume_once_then_fall_back_to_full() {
    let f = fixture();
    let resumption = f.resumption.stateful();
    let server = server(TLS13, &resumption);
    let client = Arc::new(client_config(TLS13));
    connect(&client, &server, None).unwrap();
    assert!(!f.cache.is_empty(), "stateful tickets live in our cache");
    let second = connect(&client, &server, None).unwrap();
    assert_eq!(second.server_kind, Some(HandshakeKind::Resumed));
    // The same ClientHello, ticket and binder again: the ticket was taken on first use.
    let replay = replay_first_flight(&server, &second.first_flight).unwrap();
    assert_eq!(replay.server_kind, Some(HandshakeKind::Full));
}

#[test]
fn zero_rtt_is_accepted_once_and_rejected_on_replay() {
    let f = fixture();
    let resumption = f.resumption.stateful();
    let mut config = server_config(TLS13);
    resumption.install(&mut config);
    config.max_early_data_size = 16384;
    let server = Arc::new(config);
    let mut client = client_config(TLS13);
    client.enable_early_data = true;
    let client = Arc::new(client);
    connect(&client, &server, None).unwrap();
    let first = connect(&client, &server, Some(b"GET /early")).unwrap();
    assert!(first.early_data_accepted);
    assert_eq!(first.early_data_received, b"GET /early");
    let replay = replay_first_flight(&server, &first.first_flight).unwrap();
    assert!(
        replay.early_data_received.is_empty(),
        "replayed early data was accepted"
    );
    assert_eq!(replay.server_kind, Some(HandshakeKind::Full));
}

#[test]
fn tickets_survive_rotation_inside_the_decrypt_window_and_not_after() {
    for versions in [TLS12, TLS13] {
        let f = fixture();
        let server = ticket_only_server(versions, &f.resumption);
        let client_with_ticket = || {
            let client = Arc::new(client_config(versions));
            connect(&client, &server, None).unwrap();
            client
        };

        // Issued, then two rotations later (still inside the 12 h window): resumes.
        let client = client_with_ticket();
        f.clock.advance(Duration::from_secs(2 * 3600 + 60));
        let resumed = connect(&client, &server, None).unwrap();
        assert_eq!(
            resumed.server_kind,
            Some(HandshakeKind::Resumed),
            "{versions:?}"
        );

        // Issued, then past the decrypt window: the key is erased, full handshake.
        let client = client_with_ticket();
        f.clock.advance(Duration::from_secs(13 * 3600));
        let full = connect(&client, &server, None).unwrap();
        assert_eq!(full.server_kind, Some(HandshakeKind::Full), "{versions:?}");
        let erased = f.resumption.tickets().sealer().exposure();
        assert!(!format!("{erased:?}").is_empty());
    }
}

// ---- openssl s_client against examples/rustls_server.rs ----

struct ServerProcess {
    child: Child,
    port: u16,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_example(args: &[&str]) -> ServerProcess {
    let mut child = Command::new(peers::example_binary("rustls_server"))
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run examples/rustls_server (built by cargo test --features rustls)");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .trim()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line from the example: {line:?}"));
    ServerProcess { child, port }
}

fn openssl_resumes(server_args: &[&str], client_args: &[&str], test: &str) {
    if !peers::openssl::available(test) {
        return;
    }
    let server = start_example(server_args);
    let session = std::env::temp_dir().join(format!("{test}-{}.pem", std::process::id()));
    let _ = std::fs::remove_file(&session);
    let first = peers::openssl::s_client(server.port, client_args, &session);
    assert!(
        first.new_session(),
        "{test}: first connection\n{}",
        first.stdout
    );
    assert!(
        first.stdout.contains("New, "),
        "{test}: the server's page\n{}",
        first.stdout
    );
    let second = peers::openssl::s_client(server.port, client_args, &session);
    let _ = std::fs::remove_file(&session);
    assert!(
        second.reused(),
        "{test}: second connection\n{}\n{}",
        second.stdout,
        second.stderr
    );
    assert!(
        second.stdout.contains("Reused, "),
        "{test}: the server saw a resumption too\n{}",
        second.stdout
    );
}

#[test]
fn openssl_resumes_tls13_against_rustls_with_our_sealer() {
    openssl_resumes(
        &["--tls13", "--naccept", "2"],
        &["-tls1_3"],
        "openssl_tls13_stateless",
    );
}

#[test]
fn openssl_resumes_tls13_against_rustls_with_our_cache() {
    openssl_resumes(
        &["--tls13", "--stateful", "--naccept", "2"],
        &["-tls1_3"],
        "openssl_tls13_stateful",
    );
}

#[test]
fn openssl_resumes_tls12_by_session_id_against_rustls_with_our_cache() {
    openssl_resumes(
        &["--tls12", "--naccept", "2"],
        &["-tls1_2", "-no_ticket"],
        "openssl_tls12_session_id",
    );
}

#[test]
fn openssl_resumes_tls12_by_ticket_against_rustls_with_our_sealer() {
    openssl_resumes(
        &["--tls12", "--naccept", "2"],
        &["-tls1_2"],
        "openssl_tls12_ticket",
    );
}

/// A sealer whose tickets stay openable for `lifetime`, however long.
struct LongLived {
    lifetime: Duration,
}

impl TicketSealer for LongLived {
    fn seal(&self, _: &[u8]) -> Result<Vec<u8>, TicketError> {
        Err(TicketError::NoActiveKey)
    }

    fn open(&self, _: &[u8]) -> Result<Opened, TicketError> {
        Err(TicketError::UnknownKeyName)
    }

    fn lifetime(&self) -> Duration {
        self.lifetime
    }
}

/// RFC 8446 §4.6.1: servers MUST NOT use a ticket lifetime over 604,800 s (7 days). The
/// adapter hands rustls its sealer's lifetime; a sealer that keeps tickets openable longer
/// must not make rustls advertise more than 7 days.
#[test]
fn ticket_lifetime_sent_to_rustls_never_exceeds_seven_days() {
    for (days, expected) in [(1, 86_400), (7, 604_800), (8, 604_800), (30, 604_800)] {
        let adapter = TicketAdapter::new(Arc::new(LongLived {
            lifetime: Duration::from_secs(days * 86_400),
        }));
        assert_eq!(adapter.lifetime(), expected, "{days} days");
    }
    let adapter = TicketAdapter::new(Arc::new(LongLived {
        lifetime: Duration::MAX,
    }));
    assert_eq!(adapter.lifetime(), 604_800);
}
