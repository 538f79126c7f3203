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

#[test]
fn our_client_sends_early_data_that_rustls_accepts() {
    let client = Arc::new(ours::client_config("server").with_early_data(true));
    let mut server = rustls_server();
    server.max_early_data_size = 16384;
    let server = Arc::new(server);
    ours::ours_client_rustls_server(&client, &server, NOW, None).unwrap();
    let second = ours::ours_client_rustls_server(&client, &server, NOW, Some(b"early")).unwrap();
    assert_eq!(second.rustls_kind, Some(rustls::HandshakeKind::Resumed));
    assert_eq!(
        second.ours_kind,
        Some(HandshakeKind::Resumed {
            mechanism: ResumptionMechanism::Tls13Psk { dhe: true },
            early_data: EarlyDataStatus::Accepted,
        })
    );
    assert_eq!(second.early_data_received, b"early");
    assert_eq!(second.rustls_received, b"ping");
}

#[test]
fn rustls_sends_early_data_that_our_server_accepts() {
    let mut client = rustls_client();
    client.enable_early_data = true;
    let client = Arc::new(client);
    let guard = Arc::new(tls_resumption::antireplay::StrikeRegister::new(
        100,
        std::time::Duration::from_secs(10),
    ));
    let server = Arc::new(ours::server_config("server").with_early_data(16384, guard));
    ours::rustls_client_ours_server(&client, &server, NOW, None).unwrap();
    let second = ours::rustls_client_ours_server(&client, &server, NOW, Some(b"early")).unwrap();
    assert_eq!(second.rustls_kind, Some(rustls::HandshakeKind::Resumed));
    assert!(second.rustls_early_accepted);
    assert_eq!(
        second.ours_kind,
        Some(HandshakeKind::Resumed {
            mechanism: ResumptionMechanism::Tls13Psk { dhe: true },
            early_data: EarlyDataStatus::Accepted,
        })
    );
    assert_eq!(second.early_data_received, b"early");
    assert_eq!(second.ours_received, b"ping");
}

#[test]
fn our_client_resumes_against_rustls_after_a_hello_retry_request() {
    // rustls takes only P-384; our client's first share is X25519.
    let client = Arc::new(ours::client_config("server"));
    let mut provider = rustls::crypto::ring::default_provider();
    provider.kx_groups = vec![rustls::crypto::ring::kx_group::SECP384R1];
    let certs = ours::certs("server");
    let key =
        rustls::pki_types::pem::PemObject::from_pem_file(peers::pki::path("server.key")).unwrap();
    let server = rustls::ServerConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let server = Arc::new(server);
    let first = ours::ours_client_rustls_server(&client, &server, NOW, None).unwrap();
    assert_eq!(first.ours_kind, Some(HandshakeKind::Full));
    assert_eq!(
        first.rustls_kind,
        Some(rustls::HandshakeKind::FullWithHelloRetryRequest)
    );
    let second = ours::ours_client_rustls_server(&client, &server, NOW, None).unwrap();
    assert_eq!(second.rustls_kind, Some(rustls::HandshakeKind::Resumed));
}

#[test]
fn rustls_completes_handshakes_with_every_key_type_and_suite_of_our_server() {
    for name in ["server", "server-p384", "server-ed25519", "server-rsa"] {
        for suite in tls_resumption::config::DEFAULT_SUITES {
            let server = Arc::new(ours::server_config(name).with_suites(&[suite]));
            let mut client = rustls_client();
            client
                .dangerous()
                .set_certificate_verifier(Arc::new(AcceptAny));
            let out = ours::rustls_client_ours_server(&Arc::new(client), &server, NOW, None)
                .unwrap_or_else(|e| panic!("{name} {suite:?}: {e}"));
            assert_eq!(out.rustls_received, b"pong", "{name} {suite:?}");
        }
    }
}

#[test]
fn rustls_client_gets_a_hello_retry_request_from_our_server_and_resumes() {
    // rustls sends a share for its first group, X25519, only.
    let mut provider = rustls::crypto::ring::default_provider();
    provider.kx_groups = vec![
        rustls::crypto::ring::kx_group::X25519,
        rustls::crypto::ring::kx_group::SECP384R1,
    ];
    let mut client = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAny))
        .with_no_client_auth();
    client.resumption = rustls::client::Resumption::in_memory_sessions(8);
    let client = Arc::new(client);
    // Our server takes only P-384: a HelloRetryRequest first, every time.
    let server = Arc::new(
        ours::server_config("server")
            .with_groups(&[tls_resumption::crypto::kx::KxGroup::Secp384r1]),
    );
    let first = ours::rustls_client_ours_server(&client, &server, NOW, None).unwrap();
    assert_eq!(
        first.rustls_kind,
        Some(rustls::HandshakeKind::FullWithHelloRetryRequest)
    );
    let second = ours::rustls_client_ours_server(&client, &server, NOW, None).unwrap();
    assert_eq!(second.rustls_kind, Some(rustls::HandshakeKind::Resumed));
}

/// The test certificates are self-signed leaves for three of the key types; these tests check
/// the handshake, not the PKI, so rustls is told to accept any certificate (the signature
/// over the handshake is still verified by rustls).
#[derive(Debug)]
struct AcceptAny;

impl rustls::client::danger::ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General("TLS 1.2 not used".into()))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &rustls::crypto::ring::default_provider().signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[test]
fn our_server_skips_rustls_early_data_it_does_not_take() {
    let mut client = rustls_client();
    client.enable_early_data = true;
    let client = Arc::new(client);
    let rng = ring::rand::SystemRandom::new();
    let sealer = Arc::new(
        tls_resumption::ticket::AeadSealer::new(
            tls_resumption::ticket::TicketKeyMaterial::generate(&rng).unwrap(),
            std::time::Duration::from_secs(3600),
        )
        .unwrap(),
    );
    let mode = tls_resumption::TicketMode::Stateless(sealer);
    let guard = Arc::new(tls_resumption::antireplay::StrikeRegister::new(
        100,
        std::time::Duration::from_secs(10),
    ));
    let issuing = Arc::new(
        ours::server_config("server")
            .with_tickets(mode.clone())
            .with_early_data(16384, guard),
    );
    ours::rustls_client_ours_server(&client, &issuing, NOW, None).unwrap();
    // The same ticket keys, but no 0-RTT: the early data must be skipped, not fail the
    // handshake (RFC 8446 §4.2.10).
    let refusing = Arc::new(ours::server_config("server").with_tickets(mode));
    let second = ours::rustls_client_ours_server(&client, &refusing, NOW, Some(b"early")).unwrap();
    assert_eq!(second.rustls_kind, Some(rustls::HandshakeKind::Resumed));
    assert!(!second.rustls_early_accepted);
    assert!(second.early_data_received.is_empty());
    assert_eq!(
        second.ours_kind,
        Some(HandshakeKind::Resumed {
            mechanism: ResumptionMechanism::Tls13Psk { dhe: true },
            early_data: EarlyDataStatus::Rejected,
        })
    );
    assert_eq!(second.ours_received, b"ping");
}

/// Moves bytes one way between a rustls connection and one of ours, both directions, until
/// quiet.
fn exchange(
    client: &mut rustls::ClientConnection,
    server: &mut tls_resumption::ServerConnection,
) -> Vec<u8> {
    use std::io::Read;
    let mut received = Vec::new();
    for _ in 0..16 {
        let mut buf = Vec::new();
        while client.wants_write() {
            client.write_tls(&mut buf).unwrap();
        }
        let mut moved = buf.len();
        ours::feed_server(server, &buf, NOW).unwrap();
        let mut back = Vec::new();
        server.write_tls(&mut back);
        moved += back.len();
        let mut slice = &back[..];
        while !slice.is_empty() {
            client.read_tls(&mut slice).unwrap();
            client.process_new_packets().unwrap();
        }
        let _ = client.reader().read_to_end(&mut received);
        if moved == 0 {
            break;
        }
    }
    received
}

#[test]
fn our_server_answers_a_key_update_from_rustls() {
    use std::io::Write;
    let config = Arc::new(rustls_client());
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut client = rustls::ClientConnection::new(config, name).unwrap();
    let mut server = tls_resumption::ServerConnection::new(Arc::new(ours::server_config("server")));
    exchange(&mut client, &mut server);
    assert!(!client.is_handshaking() && !server.is_handshaking());
    // rustls asks for an update of both directions (update_requested).
    client.refresh_traffic_keys().unwrap();
    client.writer().write_all(b"after update").unwrap();
    exchange(&mut client, &mut server);
    assert_eq!(server.take_plaintext(), b"after update");
    // Our answer went out under our new keys: rustls reads it.
    server.send_plaintext(b"new keys").unwrap();
    assert_eq!(exchange(&mut client, &mut server), b"new keys");
}

/// ALPN (RFC 7301) with rustls both ways: the server's preference decides, both sides report
/// it, and 0-RTT under the ticket's protocol is accepted (RFC 8446 §4.2.10).
#[test]
fn alpn_is_negotiated_with_rustls_both_ways_and_carries_early_data() {
    let h2 = Some(b"h2".to_vec());
    let client = Arc::new(
        ours::client_config("server")
            .with_early_data(true)
            .with_alpn_protocols(&["http/1.1", "h2"]),
    );
    let mut server = rustls_server();
    server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    server.max_early_data_size = 16384;
    let server = Arc::new(server);
    let first = ours::ours_client_rustls_server(&client, &server, NOW, None).unwrap();
    assert_eq!((&first.ours_alpn, &first.rustls_alpn), (&h2, &h2));
    let second = ours::ours_client_rustls_server(&client, &server, NOW, Some(b"early")).unwrap();
    assert_eq!(second.ours_alpn, h2);
    assert_eq!(second.early_data_received, b"early");

    let mut client = rustls_client();
    client.alpn_protocols = vec![b"http/1.1".to_vec(), b"h2".to_vec()];
    client.enable_early_data = true;
    let client = Arc::new(client);
    let guard = Arc::new(tls_resumption::antireplay::StrikeRegister::new(
        100,
        std::time::Duration::from_secs(10),
    ));
    let server = Arc::new(
        ours::server_config("server")
            .with_early_data(16384, guard)
            .with_alpn_protocols(&["h2", "http/1.1"]),
    );
    let first = ours::rustls_client_ours_server(&client, &server, NOW, None).unwrap();
    assert_eq!((&first.ours_alpn, &first.rustls_alpn), (&h2, &h2));
    let second = ours::rustls_client_ours_server(&client, &server, NOW, Some(b"early")).unwrap();
    assert_eq!((&second.ours_alpn, &second.rustls_alpn), (&h2, &h2));
    assert!(second.rustls_early_accepted);
    assert_eq!(second.early_data_received, b"early");
}
