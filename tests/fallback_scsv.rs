//! TLS_FALLBACK_SCSV (RFC 7507 §3): a ClientHello carrying it whose highest version is below
//! the server's highest gets `inappropriate_fallback`; one at the server's highest version
//! goes on as usual.

mod peers;

use std::sync::Arc;

use peers::ours;
use tls_resumption::alert::AlertDescription;
use tls_resumption::time::Timestamp;
use tls_resumption::{ClientConnection, ServerConnection, TlsVersion};

const NOW: Timestamp = Timestamp::from_secs(1_700_000_000);

/// The client's first flight (one ClientHello record) with TLS_FALLBACK_SCSV (0x5600) added
/// at the end of its cipher suites, the lengths around it fixed.
fn with_scsv(flight: &[u8]) -> Vec<u8> {
    let hello = &flight[5..];
    // header (4), legacy_version (2), random (32), session ID (u8-prefixed).
    let suites_at = 4 + 2 + 32 + 1 + usize::from(hello[38]);
    let suites_len = usize::from(u16::from_be_bytes([hello[suites_at], hello[suites_at + 1]]));
    let end = suites_at + 2 + suites_len;
    let mut body = hello[4..suites_at].to_vec();
    body.extend_from_slice(&((suites_len + 2) as u16).to_be_bytes());
    body.extend_from_slice(&hello[suites_at + 2..end]);
    body.extend_from_slice(&[0x56, 0x00]);
    body.extend_from_slice(&hello[end..]);
    let mut message = vec![1, 0];
    message.extend_from_slice(&(body.len() as u16).to_be_bytes());
    message.extend_from_slice(&body);
    let mut record = vec![22, 3, 3];
    record.extend_from_slice(&(message.len() as u16).to_be_bytes());
    record.extend_from_slice(&message);
    record
}

/// Feeds a ClientHello from a client offering `client` versions, with the SCSV, to a server
/// enabling `server` versions.
fn fallback(client: &[TlsVersion], server: &[TlsVersion]) -> Result<(), tls_resumption::Error> {
    let c = Arc::new(
        ours::client_config("server")
            .with_versions(client)
            .with_session_store(None),
    );
    let s = Arc::new(ours::server_config("server").with_versions(server));
    let mut client = ClientConnection::new(c, "localhost", NOW).unwrap();
    let mut flight = Vec::new();
    client.write_tls(&mut flight);
    let mut server = ServerConnection::new(s);
    ours::feed_server(&mut server, &with_scsv(&flight), NOW)
}

#[test]
fn a_fallback_to_tls12_is_refused_by_a_server_with_tls13_rfc7507_3() {
    let err = fallback(
        &[TlsVersion::Tls12],
        &[TlsVersion::Tls13, TlsVersion::Tls12],
    )
    .unwrap_err();
    assert_eq!(err.alert(), AlertDescription::InappropriateFallback);
}

/// `flight` with legacy_version 3.`minor` and no supported_versions extension (the lengths
/// around it fixed). With 0x0304 the client's highest version is still TLS 1.2
/// (RFC 8446 §4.2.1).
fn legacy_without_supported_versions(flight: &[u8], minor: u8) -> Vec<u8> {
    let hello = &flight[5..];
    let sid_end = 39 + usize::from(hello[38]);
    let suites_len = usize::from(u16::from_be_bytes([hello[sid_end], hello[sid_end + 1]]));
    let comp_at = sid_end + 2 + suites_len;
    let ext_at = comp_at + 1 + usize::from(hello[comp_at]);
    let mut extensions = Vec::new();
    let mut at = ext_at + 2;
    while at < hello.len() {
        let typ = u16::from_be_bytes([hello[at], hello[at + 1]]);
        let len = usize::from(u16::from_be_bytes([hello[at + 2], hello[at + 3]]));
        if typ != 43 {
            extensions.extend_from_slice(&hello[at..at + 4 + len]);
        }
        at += 4 + len;
    }
    let mut body = vec![3, minor];
    body.extend_from_slice(&hello[6..ext_at]);
    body.extend_from_slice(&(extensions.len() as u16).to_be_bytes());
    body.extend_from_slice(&extensions);
    let mut message = vec![1, 0];
    message.extend_from_slice(&(body.len() as u16).to_be_bytes());
    message.extend_from_slice(&body);
    let mut record = vec![22, 3, 3];
    record.extend_from_slice(&(message.len() as u16).to_be_bytes());
    record.extend_from_slice(&message);
    record
}

#[test]
fn legacy_version_0304_without_supported_versions_is_a_fallback_to_tls12_rfc7507_3() {
    let c = Arc::new(
        ours::client_config("server")
            .with_versions(&[TlsVersion::Tls12])
            .with_session_store(None),
    );
    let mut client = ClientConnection::new(c, "localhost", NOW).unwrap();
    let mut flight = Vec::new();
    client.write_tls(&mut flight);
    let hello = with_scsv(&legacy_without_supported_versions(&flight, 4));
    let s = Arc::new(ours::server_config("server"));
    let mut server = ServerConnection::new(s);
    let err = ours::feed_server(&mut server, &hello, NOW).unwrap_err();
    assert_eq!(err.alert(), AlertDescription::InappropriateFallback);
}

#[test]
fn the_scsv_at_the_servers_highest_version_is_no_fallback_rfc7507_3() {
    fallback(&[TlsVersion::Tls12], &[TlsVersion::Tls12]).unwrap();
    let both = [TlsVersion::Tls13, TlsVersion::Tls12];
    fallback(&both, &both).unwrap();
}

#[test]
fn a_client_below_every_version_of_the_server_gets_protocol_version_even_with_the_scsv() {
    // RFC 7507 §3 concerns a version the server could negotiate; TLS 1.1 is not one here, and
    // version negotiation answers first (RFC 5246 §E.1).
    let c = Arc::new(
        ours::client_config("server")
            .with_versions(&[TlsVersion::Tls12])
            .with_session_store(None),
    );
    let mut client = ClientConnection::new(c, "localhost", NOW).unwrap();
    let mut flight = Vec::new();
    client.write_tls(&mut flight);
    let hello = with_scsv(&legacy_without_supported_versions(&flight, 2));
    let mut server = ServerConnection::new(Arc::new(ours::server_config("server")));
    let err = ours::feed_server(&mut server, &hello, NOW).unwrap_err();
    assert_eq!(err.alert(), AlertDescription::ProtocolVersion);
}
