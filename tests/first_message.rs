//! What a server accepts as the first message of a connection: a ClientHello (RFC 8446 §4,
//! §6: any other handshake message is `unexpected_message`, whatever its body holds) with a
//! `legacy_version` above SSL 3.0 (RFC 8446 §D.5: `protocol_version` otherwise).

mod peers;

use std::sync::Arc;

use peers::ours;
use tls_resumption::alert::AlertDescription;
use tls_resumption::time::Timestamp;
use tls_resumption::{ClientConnection, ServerConnection};

const NOW: Timestamp = Timestamp::from_secs(1_700_000_000);

/// Our client's first flight: one handshake record holding its ClientHello.
fn client_hello() -> Vec<u8> {
    let config = Arc::new(ours::client_config("server"));
    let mut client = ClientConnection::new(config, "localhost", NOW).unwrap();
    let mut flight = Vec::new();
    client.write_tls(&mut flight);
    flight
}

fn server_alert(flight: &[u8]) -> AlertDescription {
    let mut server = ServerConnection::new(Arc::new(ours::server_config("server")));
    ours::feed_server(&mut server, flight, NOW)
        .unwrap_err()
        .alert()
}

#[test]
fn a_first_handshake_message_other_than_client_hello_is_unexpected_message_rfc8446_4() {
    // The type is checked before the body is read: a ClientHello's body under another
    // type (which would not decode as that type) is as unexpected as a well-formed one.
    for typ in [2u8, 4, 8, 11, 13, 15, 20, 24] {
        let mut flight = client_hello();
        flight[5] = typ;
        assert_eq!(
            server_alert(&flight),
            AlertDescription::UnexpectedMessage,
            "handshake type {typ}"
        );
    }
}

#[test]
fn a_client_hello_with_legacy_version_ssl3_or_lower_is_protocol_version_rfc8446_d5() {
    for version in [[3u8, 0], [2, 0], [0, 0]] {
        let mut flight = client_hello();
        // record header (5), handshake header (4), then legacy_version.
        flight[9..11].copy_from_slice(&version);
        assert_eq!(
            server_alert(&flight),
            AlertDescription::ProtocolVersion,
            "legacy_version {version:?}"
        );
    }
}
