//! Our TLS 1.3 client and server against rustls, in memory: full handshakes, resumption both
//! ways (rustls's own `handshake_kind() == Resumed`), 0-RTT both ways.

mod peers;

use std::sync::Arc;

use peers::ours;
use tls_resumption::time::Timestamp;
use tls_resumption::{EarlyDataStatus, HandshakeKind, ResumptionMechanism};

const NOW: Timestamp = Timestamp::from_secs(1_700_000_000);

fn rustls_server() -> rustls::ServerConfig {
    peers::rustls_pair::server_config(&[&rustls::version::TLS13])
}

fn rustls_client() -> rustls::ClientConfig {
    peers::rustls_pair::client_config(&[&rustls::version::TLS13])
}

const RESUMED_DHE: HandshakeKind = HandshakeKind::Resumed {
    mechanism: ResumptionMechanism::Tls13Psk { dhe: true },
    early_data: EarlyDataStatus::NotOffered,
};

#[test]
fn our_client_completes_a_full_handshake_with_rustls_and_exchanges_data() {
    let client = Arc::new(ours::client_config("server"));
    let server = Arc::new(rustls_server());
    let out = ours::ours_client_rustls_server(&client, &server, NOW, None).unwrap();
    assert_eq!(out.ours_kind, Some(HandshakeKind::Full));
    assert_eq!(out.rustls_kind, Some(rustls::HandshakeKind::Full));
    assert_eq!(out.ours_received, b"pong");
    assert_eq!(out.rustls_received, b"ping");
}

#[test]
fn rustls_client_completes_a_full_handshake_with_our_server_and_exchanges_data() {
    let client = Arc::new(rustls_client());
    let server = Arc::new(ours::server_config("server"));
    let out = ours::rustls_client_ours_server(&client, &server, NOW, None).unwrap();
    assert_eq!(out.ours_kind, Some(HandshakeKind::Full));
    assert_eq!(out.rustls_kind, Some(rustls::HandshakeKind::Full));
    assert_eq!(out.ours_received, b"ping");
    assert_eq!(out.rustls_received, b"pong");
}

#[test]
fn our_client_resumes_against_rustls() {
    let client = Arc::new(ours::client_config("server"));
    let server = Arc::new(rustls_server());
    let first = ours::ours_client_rustls_server(&client, &server, NOW, None).unwrap();
    assert_eq!(first.rustls_kind, Some(rustls::HandshakeKind::Full));
    let second = ours::ours_client_rustls_server(&client, &server, NOW, None).unwrap();
    assert_eq!(second.rustls_kind, Some(rustls::HandshakeKind::Resumed));
    assert_eq!(second.ours_kind, Some(RESUMED_DHE));
    assert_eq!(second.ours_received, b"pong");
}

#[test]
fn rustls_resumes_against_our_server() {
    let client = Arc::new(rustls_client());
    let server = Arc::new(ours::server_config("server"));
    let first = ours::rustls_client_ours_server(&client, &server, NOW, None).unwrap();
    assert_eq!(first.rustls_kind, Some(rustls::HandshakeKind::Full));
    let second = ours::rustls_client_ours_server(&client, &server, NOW, None).unwrap();
    assert_eq!(second.rustls_kind, Some(rustls::HandshakeKind::Resumed));
    assert_eq!(second.ours_kind, Some(RESUMED_DHE));
    assert_eq!(second.ours_received, b"ping");
}
