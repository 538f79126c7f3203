//! Our TLS 1.2 client and server against rustls in memory: full handshakes for every suite
//! and key type, resumption by session ID and by RFC 5077 ticket, with rustls's own
//! `handshake_kind() == Resumed` as the proof.

mod peers;

use std::sync::Arc;

use peers::ours;
use rustls::client::Tls12Resumption;
use tls_resumption::time::Timestamp;
use tls_resumption::{EarlyDataStatus, HandshakeKind, ResumptionMechanism, TicketMode};

const NOW: Timestamp = Timestamp::from_secs(1_700_000_000);

const BY_ID: HandshakeKind = HandshakeKind::Resumed {
    mechanism: ResumptionMechanism::SessionId,
    early_data: EarlyDataStatus::NotOffered,
};
const BY_TICKET: HandshakeKind = HandshakeKind::Resumed {
    mechanism: ResumptionMechanism::Ticket,
    early_data: EarlyDataStatus::NotOffered,
};

/// Our server with its session cache on a clock at `NOW` (the cache checks expiry itself).
fn our_server(key: &str) -> tls_resumption::ServerConfig {
    let clock = Arc::new(tls_resumption::time::ManualClock::new(NOW));
    let cache = tls_resumption::store::MemoryCache::builder()
        .capacity(64)
        .clock(clock)
        .build();
    ours::server_config(key).with_session_cache(Some(Arc::new(cache)))
}

fn rustls_client(mode: Tls12Resumption) -> Arc<rustls::ClientConfig> {
    let mut config = peers::rustls_pair::client_config(&[&rustls::version::TLS12]);
    config.resumption = rustls::client::Resumption::in_memory_sessions(64).tls12_resumption(mode);
    Arc::new(config)
}

fn rustls_client_with_suite(suite: rustls::SupportedCipherSuite) -> Arc<rustls::ClientConfig> {
    let mut provider = rustls::crypto::ring::default_provider();
    provider.cipher_suites = vec![suite];
    let mut roots = rustls::RootCertStore::empty();
    use rustls::pki_types::pem::PemObject;
    for cert in
        rustls::pki_types::CertificateDer::pem_file_iter(peers::pki::path("ca.pem")).unwrap()
    {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&[&rustls::version::TLS12])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

#[test]
fn rustls_client_completes_tls12_full_handshakes_with_every_suite_and_key_type() {
    use rustls::crypto::ring::cipher_suite as cs;
    let ecdsa = [
        cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ];
    let rsa = [
        cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ];
    for (key, suites) in [
        ("server", &ecdsa),
        ("server-p384", &ecdsa),
        ("server-ed25519", &ecdsa),
        ("server-rsa", &rsa),
    ] {
        for suite in suites {
            let server = Arc::new(our_server(key));
            let client = rustls_client_with_suite(*suite);
            let out = ours::rustls_client_ours_server(&client, &server, NOW, None)
                .unwrap_or_else(|e| panic!("{key} {suite:?}: {e}"));
            assert_eq!(out.ours_kind, Some(HandshakeKind::Full), "{key} {suite:?}");
            assert_eq!(out.ours_received, b"ping", "{key} {suite:?}");
            assert_eq!(out.rustls_received, b"pong", "{key} {suite:?}");
        }
    }
}

#[test]
fn rustls_client_resumes_by_session_id_against_our_server() {
    let client = rustls_client(Tls12Resumption::SessionIdOnly);
    let server = Arc::new(our_server("server"));
    let first = ours::rustls_client_ours_server(&client, &server, NOW, None).unwrap();
    assert_eq!(first.ours_kind, Some(HandshakeKind::Full));
    assert_eq!(first.rustls_kind, Some(rustls::HandshakeKind::Full));
    let second = ours::rustls_client_ours_server(&client, &server, NOW, None).unwrap();
    assert_eq!(second.rustls_kind, Some(rustls::HandshakeKind::Resumed));
    assert_eq!(second.ours_kind, Some(BY_ID));
    assert_eq!(second.ours_received, b"ping");
    assert_eq!(second.rustls_received, b"pong");
}

#[test]
fn rustls_client_resumes_by_ticket_against_our_server() {
    let client = rustls_client(Tls12Resumption::SessionIdOrTickets);
    let server = Arc::new(our_server("server").with_session_cache(None));
    let first = ours::rustls_client_ours_server(&client, &server, NOW, None).unwrap();
    assert_eq!(first.ours_kind, Some(HandshakeKind::Full));
    let second = ours::rustls_client_ours_server(&client, &server, NOW, None).unwrap();
    assert_eq!(second.rustls_kind, Some(rustls::HandshakeKind::Resumed));
    assert_eq!(second.ours_kind, Some(BY_TICKET));
    assert_eq!(second.ours_received, b"ping");
}

#[test]
fn rustls_client_prefers_the_ticket_when_our_server_has_both() {
    let client = rustls_client(Tls12Resumption::SessionIdOrTickets);
    let server = Arc::new(our_server("server"));
    ours::rustls_client_ours_server(&client, &server, NOW, None).unwrap();
    let second = ours::rustls_client_ours_server(&client, &server, NOW, None).unwrap();
    assert_eq!(second.rustls_kind, Some(rustls::HandshakeKind::Resumed));
    assert_eq!(second.ours_kind, Some(BY_TICKET));
}

#[test]
fn without_tickets_or_cache_our_server_never_resumes_rustls() {
    let client = rustls_client(Tls12Resumption::SessionIdOrTickets);
    let server = Arc::new(
        our_server("server")
            .with_session_cache(None)
            .with_tickets(TicketMode::Disabled),
    );
    ours::rustls_client_ours_server(&client, &server, NOW, None).unwrap();
    let second = ours::rustls_client_ours_server(&client, &server, NOW, None).unwrap();
    assert_eq!(second.rustls_kind, Some(rustls::HandshakeKind::Full));
    assert_eq!(second.ours_kind, Some(HandshakeKind::Full));
}

fn rustls_server(session_ids: bool, tickets: bool) -> Arc<rustls::ServerConfig> {
    let mut config = peers::rustls_pair::server_config(&[&rustls::version::TLS12]);
    config.session_storage = if session_ids {
        rustls::server::ServerSessionMemoryCache::new(64)
    } else {
        Arc::new(rustls::server::NoServerSessionStorage {})
    };
    if tickets {
        config.ticketer = rustls::crypto::ring::Ticketer::new().unwrap();
    }
    Arc::new(config)
}

fn our_client() -> Arc<tls_resumption::ClientConfig> {
    Arc::new(ours::client_config("server"))
}

#[test]
fn our_client_completes_a_tls12_full_handshake_with_rustls() {
    let client = our_client();
    let server = rustls_server(true, false);
    let out = ours::ours_client_rustls_server(&client, &server, NOW, None).unwrap();
    assert_eq!(out.ours_kind, Some(HandshakeKind::Full));
    assert_eq!(out.rustls_kind, Some(rustls::HandshakeKind::Full));
    assert_eq!(out.ours_received, b"pong");
    assert_eq!(out.rustls_received, b"ping");
}

#[test]
fn our_client_resumes_by_session_id_against_rustls() {
    let client = our_client();
    let server = rustls_server(true, false);
    ours::ours_client_rustls_server(&client, &server, NOW, None).unwrap();
    let second = ours::ours_client_rustls_server(&client, &server, NOW, None).unwrap();
    assert_eq!(second.rustls_kind, Some(rustls::HandshakeKind::Resumed));
    assert_eq!(second.ours_kind, Some(BY_ID));
    assert_eq!(second.ours_received, b"pong");
    let third = ours::ours_client_rustls_server(&client, &server, NOW, None).unwrap();
    assert_eq!(third.rustls_kind, Some(rustls::HandshakeKind::Resumed));
}

#[test]
fn our_client_resumes_by_ticket_against_rustls() {
    let client = our_client();
    let server = rustls_server(false, true);
    ours::ours_client_rustls_server(&client, &server, NOW, None).unwrap();
    let second = ours::ours_client_rustls_server(&client, &server, NOW, None).unwrap();
    assert_eq!(second.rustls_kind, Some(rustls::HandshakeKind::Resumed));
    assert_eq!(second.ours_kind, Some(BY_TICKET));
    assert_eq!(second.ours_received, b"pong");
    let third = ours::ours_client_rustls_server(&client, &server, NOW, None).unwrap();
    assert_eq!(third.rustls_kind, Some(rustls::HandshakeKind::Resumed));
}

#[test]
fn our_client_without_tickets_resumes_by_session_id_against_rustls() {
    let client = Arc::new(ours::client_config("server").with_tls12_tickets(false));
    let server = rustls_server(true, true);
    ours::ours_client_rustls_server(&client, &server, NOW, None).unwrap();
    let second = ours::ours_client_rustls_server(&client, &server, NOW, None).unwrap();
    assert_eq!(second.rustls_kind, Some(rustls::HandshakeKind::Resumed));
    assert_eq!(second.ours_kind, Some(BY_ID));
}

/// ALPN (RFC 7301) in TLS 1.2 with rustls both ways, on full and resumed handshakes: the
/// server's preference decides and both sides report it.
#[test]
fn alpn_is_negotiated_with_rustls_in_tls12_both_ways() {
    let h2 = Some(b"h2".to_vec());
    let mut client = peers::rustls_pair::client_config(&[&rustls::version::TLS12]);
    client.alpn_protocols = vec![b"http/1.1".to_vec(), b"h2".to_vec()];
    let client = Arc::new(client);
    let server = Arc::new(our_server("server").with_alpn_protocols(&["h2", "http/1.1"]));
    for round in 0..2 {
        let out = ours::rustls_client_ours_server(&client, &server, NOW, None).unwrap();
        assert_eq!((&out.ours_alpn, &out.rustls_alpn), (&h2, &h2));
        assert_eq!(out.ours_kind.unwrap().is_resumed(), round == 1);
    }

    let client = Arc::new(
        ours::client_config("server")
            .with_versions(&[tls_resumption::TlsVersion::Tls12])
            .with_alpn_protocols(&["http/1.1", "h2"]),
    );
    let mut server = peers::rustls_pair::server_config(&[&rustls::version::TLS12]);
    server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let server = Arc::new(server);
    for round in 0..2 {
        let out = ours::ours_client_rustls_server(&client, &server, NOW, None).unwrap();
        assert_eq!((&out.ours_alpn, &out.rustls_alpn), (&h2, &h2));
        assert_eq!(out.ours_kind.unwrap().is_resumed(), round == 1);
    }
}
