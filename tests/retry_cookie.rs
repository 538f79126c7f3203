//! Stateless retry (RFC 8446 §4.2.2, §4.1.4): a server configured for it puts what it needs of
//! the first ClientHello in an HMAC-protected cookie, and accepts a second ClientHello only
//! with that cookie intact, also on a connection that never saw the first.

mod peers;

use std::sync::Arc;
use std::time::Duration;

use peers::ours;
use tls_resumption::alert::AlertDescription;
use tls_resumption::crypto::kx::KxGroup;
use tls_resumption::crypto::secret::SecretArray;
use tls_resumption::time::Timestamp;
use tls_resumption::{ClientConnection, HandshakeKind, ServerConfig, ServerConnection};

const NOW: Timestamp = Timestamp::from_secs(1_700_000_000);

/// A server that takes only P-384 (our client's first share is X25519, so it always retries).
fn stateless_server(key: u8) -> Arc<ServerConfig> {
    Arc::new(
        ours::server_config("server")
            .with_groups(&[KxGroup::Secp384r1])
            .with_stateless_retry(SecretArray::new([key; 32])),
    )
}

fn take(write: impl FnOnce(&mut Vec<u8>) -> usize) -> Vec<u8> {
    let mut out = Vec::new();
    write(&mut out);
    out
}

/// The cookie of the HelloRetryRequest that opens `flight`.
fn cookie_of(flight: &[u8]) -> Vec<u8> {
    let hrr = &flight[5..];
    let sid_len = usize::from(hrr[38]);
    let mut at = 39 + sid_len + 3 + 2;
    loop {
        let typ = u16::from_be_bytes([hrr[at], hrr[at + 1]]);
        let len = usize::from(u16::from_be_bytes([hrr[at + 2], hrr[at + 3]]));
        if typ == 44 {
            // The extension body is a u16-prefixed cookie.
            return hrr[at + 6..at + 4 + len].to_vec();
        }
        at += 4 + len;
    }
}

/// Runs the first round trip: returns the client (holding the retry), the server that sent
/// it, the cookie, and the client's second flight (dummy CCS and second ClientHello).
fn retried(server: &Arc<ServerConfig>) -> (ClientConnection, ServerConnection, Vec<u8>, Vec<u8>) {
    let c = Arc::new(ours::client_config("server"));
    let mut client = ClientConnection::new(c, "localhost", NOW).unwrap();
    let mut first = ServerConnection::new(server.clone());
    ours::feed_server(&mut first, &take(|o| client.write_tls(o)), NOW).unwrap();
    let retry = take(|o| first.write_tls(o));
    let cookie = cookie_of(&retry);
    ours::feed_client(&mut client, &retry, NOW).unwrap();
    let second = take(|o| client.write_tls(o));
    (client, first, cookie, second)
}

#[test]
fn a_stateless_retry_cookie_is_echoed_and_the_handshake_completes_rfc8446_4_2_2() {
    let s = stateless_server(7);
    let (mut client, mut server, cookie, second) = retried(&s);
    // Version, suite, group, flags, time, server name digest, hash length, SHA-256 of the
    // first hello, 32-byte tag.
    assert_eq!(cookie.len(), 1 + 2 + 2 + 1 + 8 + 32 + 1 + 32 + 32);
    ours::feed_server(&mut server, &second, NOW).unwrap();
    ours::pump(&mut client, &mut server, NOW).unwrap();
    assert!(!client.is_handshaking() && !server.is_handshaking());
    assert_eq!(server.handshake_kind(), Some(HandshakeKind::Full));
}

#[test]
fn a_second_client_hello_is_answered_by_a_connection_that_never_saw_the_first_rfc8446_4_2_2() {
    let s = stateless_server(7);
    let (mut client, _forgotten, _, second) = retried(&s);
    let mut fresh = ServerConnection::new(s.clone());
    ours::feed_server(&mut fresh, &second, NOW).unwrap();
    ours::pump(&mut client, &mut fresh, NOW).unwrap();
    assert!(!client.is_handshaking() && !fresh.is_handshaking());
    client.send_plaintext(b"ping").unwrap();
    ours::pump(&mut client, &mut fresh, NOW).unwrap();
    assert_eq!(fresh.take_plaintext(), b"ping");
}

/// The second flight with one bit of the cookie flipped.
fn tampered(second: &[u8], cookie: &[u8], index: usize) -> Vec<u8> {
    let at = second
        .windows(cookie.len())
        .position(|w| w == cookie)
        .expect("cookie echoed");
    let mut out = second.to_vec();
    out[at + index] ^= 1;
    out
}

#[test]
fn a_tampered_cookie_is_illegal_parameter_rfc8446_4_2_2() {
    let s = stateless_server(7);
    for index in [0, 3, 10, 20, 70] {
        // Same connection (compared with what was sent) and a fresh one (tag checked).
        let (_, mut server, cookie, second) = retried(&s);
        let bad = tampered(&second, &cookie, index);
        let err = ours::feed_server(&mut server, &bad, NOW).unwrap_err();
        assert_eq!(err.alert(), AlertDescription::IllegalParameter);
        let mut fresh = ServerConnection::new(s.clone());
        let err = ours::feed_server(&mut fresh, &bad, NOW).unwrap_err();
        assert_eq!(
            err.alert(),
            AlertDescription::IllegalParameter,
            "byte {index}"
        );
    }
}

#[test]
fn a_cookie_under_another_key_or_too_old_is_illegal_parameter_rfc8446_4_2_2() {
    let (_, _, _, second) = retried(&stateless_server(7));
    let mut other_key = ServerConnection::new(stateless_server(8));
    let err = ours::feed_server(&mut other_key, &second, NOW).unwrap_err();
    assert_eq!(err.alert(), AlertDescription::IllegalParameter);
    let mut later = ServerConnection::new(stateless_server(7));
    let late = NOW.saturating_add(Duration::from_secs(61));
    let err = ours::feed_server(&mut later, &second, late).unwrap_err();
    assert_eq!(err.alert(), AlertDescription::IllegalParameter);
}

/// RFC 8446 §4.1.2: the second ClientHello keeps the first's server name. A connection that
/// never saw the first hello learns its name from the cookie only, so a cookie issued for one
/// name (the default host here) must not open a handshake under another (a virtual host with
/// its own certificate) over a transcript that starts with a hello for the first.
#[test]
fn a_cookie_issued_for_one_server_name_is_refused_under_another_rfc8446_4_1_2() {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::PrivateKeyDer;
    use tls_resumption::error::PeerMisbehaved;
    use tls_resumption::{Error, VirtualHost};

    // "otherhost" has as many bytes as "localhost", the name our client sends.
    let key = PrivateKeyDer::from_pem_file(peers::pki::path("server-p384.key")).unwrap();
    let other = VirtualHost::new(ours::certs("server-p384"), &key).unwrap();
    let s = Arc::new(
        ours::server_config("server")
            .with_groups(&[KxGroup::Secp384r1])
            .with_stateless_retry(SecretArray::new([7; 32]))
            .with_virtual_host("otherhost", other),
    );
    let (_, _, _, mut second) = retried(&s);
    let at = second
        .windows(9)
        .position(|w| w == b"localhost")
        .expect("the second ClientHello names localhost");
    second[at..at + 9].copy_from_slice(b"OtherHost");
    let mut fresh = ServerConnection::new(s.clone());
    let err = ours::feed_server(&mut fresh, &second, NOW).unwrap_err();
    assert!(
        matches!(
            err,
            Error::PeerMisbehaved(PeerMisbehaved::IllegalParameter(
                "server_name changed after retry"
            ))
        ),
        "{err:?}"
    );
    // The same name in another case is the same name (RFC 4343).
    let (_, _, _, mut second) = retried(&s);
    let at = second.windows(9).position(|w| w == b"localhost").unwrap();
    second[at..at + 9].copy_from_slice(b"LocalHost");
    let mut fresh = ServerConnection::new(s.clone());
    ours::feed_server(&mut fresh, &second, NOW).unwrap();
    assert_eq!(fresh.server_name(), Some("LocalHost"));
}
