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

/// `hello` (a handshake message) with a padding extension (RFC 7685) appended that fills its
/// extensions block to the most it can hold, 2^16-1 bytes, cut into records of 2^14 bytes.
fn padded_to_the_limit(hello: &[u8]) -> Vec<u8> {
    // type (1) + length (3) + version (2) + random (32), the session ID, then the suites and
    // compression methods, each length-prefixed.
    let mut at = 4 + 2 + 32;
    at += 1 + usize::from(hello[at]);
    at += 2 + usize::from(u16::from_be_bytes([hello[at], hello[at + 1]]));
    at += 1 + usize::from(hello[at]);
    let extensions_len = usize::from(u16::from_be_bytes([hello[at], hello[at + 1]]));
    let padding = 0xffff - extensions_len - 4;
    let mut body = hello[4..at].to_vec();
    body.extend_from_slice(&0xffffu16.to_be_bytes());
    body.extend_from_slice(&hello[at + 2..]);
    body.extend_from_slice(&21u16.to_be_bytes());
    body.extend_from_slice(&(padding as u16).to_be_bytes());
    body.resize(body.len() + padding, 0);
    let mut message = vec![1];
    message.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    message.extend_from_slice(&body);
    message
        .chunks(1 << 14)
        .flat_map(|c| [&[22u8, 3, 1][..], &(c.len() as u16).to_be_bytes(), c].concat())
        .collect()
}

/// RFC 8446 §4.1.2 lets a ClientHello be larger than 64 KiB: its cipher suites and its
/// extensions are each up to 2^16 bytes. A hello padded to the most its extensions hold is
/// answered, not refused as too large.
#[test]
fn a_client_hello_over_64_kib_is_accepted_rfc8446_4_1_2() {
    let flight = client_hello();
    let len = usize::from(u16::from_be_bytes([flight[3], flight[4]]));
    let big = padded_to_the_limit(&flight[5..5 + len]);
    assert!(big.len() > 65_536 + 4 * 5);
    let mut server = ServerConnection::new(Arc::new(ours::server_config("server")));
    ours::feed_server(&mut server, &big, NOW).unwrap();
    let mut answer = Vec::new();
    server.write_tls(&mut answer);
    assert_eq!(answer[0], 22, "a ServerHello");
}

/// Application data before any keys, zero-length or not, and whether or not it splits the
/// ClientHello, is unexpected_message (RFC 8446 §5.1, §5: nothing but handshake records,
/// change_cipher_spec and alerts before the handshake keys).
#[test]
fn zero_length_application_data_before_or_inside_the_client_hello_is_unexpected_message_rfc8446_5()
{
    let flight = client_hello();
    let empty_data = [23u8, 3, 3, 0, 0];
    let body = &flight[5..];
    let split =
        |part: &[u8]| [&[22u8, 3, 1][..], &(part.len() as u16).to_be_bytes(), part].concat();
    let inside = [split(&body[..2]), empty_data.to_vec(), split(&body[2..])].concat();
    let before = [&empty_data[..], &flight].concat();
    for (name, bytes) in [("inside", inside), ("before", before)] {
        assert_eq!(
            server_alert(&bytes),
            AlertDescription::UnexpectedMessage,
            "{name}"
        );
    }
}
