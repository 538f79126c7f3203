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

#[test]
fn the_scsv_at_the_servers_highest_version_is_no_fallback_rfc7507_3() {
    fallback(&[TlsVersion::Tls12], &[TlsVersion::Tls12]).unwrap();
    let both = [TlsVersion::Tls13, TlsVersion::Tls12];
    fallback(&both, &both).unwrap();
}
