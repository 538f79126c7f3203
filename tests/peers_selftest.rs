//! The test peers themselves work: rustls resumes against rustls with its own state, in memory.
//! If these fail, the interop tests built on them cannot be trusted.

mod peers;

use std::sync::Arc;

use rustls::HandshakeKind;

#[test]
fn rustls_resumes_against_rustls_in_memory_tls13() {
    let server = Arc::new(peers::rustls_pair::server_config(&[
        &rustls::version::TLS13,
    ]));
    let client = Arc::new(peers::rustls_pair::client_config(&[
        &rustls::version::TLS13,
    ]));
    let first = peers::rustls_pair::connect(&client, &server, None).unwrap();
    assert_eq!(first.server_kind, Some(HandshakeKind::Full));
    let second = peers::rustls_pair::connect(&client, &server, None).unwrap();
    assert_eq!(second.client_kind, Some(HandshakeKind::Resumed));
    assert_eq!(second.server_kind, Some(HandshakeKind::Resumed));
}

#[test]
fn rustls_resumes_against_rustls_in_memory_tls12() {
    let server = Arc::new(peers::rustls_pair::server_config(&[
        &rustls::version::TLS12,
    ]));
    let client = Arc::new(peers::rustls_pair::client_config(&[
        &rustls::version::TLS12,
    ]));
    let first = peers::rustls_pair::connect(&client, &server, None).unwrap();
    assert_eq!(first.client_kind, Some(HandshakeKind::Full));
    let second = peers::rustls_pair::connect(&client, &server, None).unwrap();
    assert_eq!(second.client_kind, Some(HandshakeKind::Resumed));
}
