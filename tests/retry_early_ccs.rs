//! A server doing stateless retry (RFC 8446 §4.2.2) takes the client's dummy
//! change_cipher_spec before a ClientHello it has not seen, because the hello that follows may
//! be a second one, answering a HelloRetryRequest another connection sent (RFC 8446 §D.4).
//! Only such a hello, carrying a valid cookie, may follow it: before any other first
//! ClientHello a change_cipher_spec is unexpected_message (RFC 8446 §5).

mod peers;

use std::sync::Arc;

use peers::ours;
use tls_resumption::alert::AlertDescription;
use tls_resumption::crypto::kx::KxGroup;
use tls_resumption::crypto::secret::SecretArray;
use tls_resumption::time::Timestamp;
use tls_resumption::{ClientConnection, ServerConfig, ServerConnection, TlsVersion};

const NOW: Timestamp = Timestamp::from_secs(1_700_000_000);
const DUMMY_CCS: [u8; 6] = [20, 3, 3, 0, 1, 1];

fn stateless_server(groups: &[KxGroup]) -> Arc<ServerConfig> {
    Arc::new(
        ours::server_config("server")
            .with_groups(groups)
            .with_stateless_retry(SecretArray::new([7; 32])),
    )
}

/// The client's first flight for `versions`, with a dummy change_cipher_spec in front.
fn ccs_then_first_hello(versions: &[TlsVersion]) -> Vec<u8> {
    let c = Arc::new(ours::client_config("server").with_versions(versions));
    let mut client = ClientConnection::new(c, "localhost", NOW).unwrap();
    let mut out = DUMMY_CCS.to_vec();
    client.write_tls(&mut out);
    out
}

#[test]
fn a_change_cipher_spec_before_a_first_client_hello_without_cookie_is_unexpected_rfc8446_5() {
    // X25519 is the client's first share: no retry, a plain first hello.
    let s = stateless_server(&[KxGroup::X25519]);
    for versions in [&[TlsVersion::Tls13][..], &[TlsVersion::Tls12]] {
        let mut server = ServerConnection::new(s.clone());
        let err = ours::feed_server(&mut server, &ccs_then_first_hello(versions), NOW)
            .expect_err("change_cipher_spec before the first ClientHello");
        assert_eq!(
            err.alert(),
            AlertDescription::UnexpectedMessage,
            "{versions:?}"
        );
    }
    // A first hello that only earns a HelloRetryRequest is refused the same.
    let s = stateless_server(&[KxGroup::Secp384r1]);
    let mut server = ServerConnection::new(s);
    let err = ours::feed_server(
        &mut server,
        &ccs_then_first_hello(&[TlsVersion::Tls13]),
        NOW,
    )
    .expect_err("change_cipher_spec before the first ClientHello");
    assert_eq!(err.alert(), AlertDescription::UnexpectedMessage);
}

#[test]
fn a_change_cipher_spec_before_a_second_client_hello_with_a_valid_cookie_is_taken_rfc8446_d_4() {
    let s = stateless_server(&[KxGroup::Secp384r1]);
    let c = Arc::new(ours::client_config("server"));
    let mut client = ClientConnection::new(c, "localhost", NOW).unwrap();
    let mut first = ServerConnection::new(s.clone());
    let mut hello = Vec::new();
    client.write_tls(&mut hello);
    ours::feed_server(&mut first, &hello, NOW).unwrap();
    let mut retry = Vec::new();
    first.write_tls(&mut retry);
    ours::feed_client(&mut client, &retry, NOW).unwrap();
    let mut second = Vec::new();
    client.write_tls(&mut second);
    assert_eq!(&second[..6], &DUMMY_CCS);
    let mut fresh = ServerConnection::new(s);
    ours::feed_server(&mut fresh, &second, NOW).unwrap();
    ours::pump(&mut client, &mut fresh, NOW).unwrap();
    assert!(!client.is_handshaking() && !fresh.is_handshaking());
}
