//! TLS 1.3 middlebox compatibility mode (RFC 8446 §D.4) and where a change_cipher_spec record
//! may appear in a TLS 1.3 handshake (RFC 8446 §5), checked on the records each side writes.

mod peers;

use std::sync::Arc;

use peers::ours;
use tls_resumption::alert::AlertDescription;
use tls_resumption::crypto::kx::KxGroup;
use tls_resumption::store::MemoryCache;
use tls_resumption::time::{ManualClock, Timestamp};
use tls_resumption::{
    ClientConfig, ClientConnection, HandshakeKind, ResumptionMechanism, ServerConfig,
    ServerConnection, TlsVersion,
};

const NOW: Timestamp = Timestamp::from_secs(1_700_000_000);

const HANDSHAKE: u8 = 22;
const CCS: u8 = 20;
const APPLICATION_DATA: u8 = 23;

/// The dummy change_cipher_spec record: type 20, version 0x0303, one byte 0x01.
const DUMMY_CCS: [u8; 6] = [20, 3, 3, 0, 1, 1];

/// Each record of `flight`: its content type and body.
fn records(mut flight: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    while flight.len() >= 5 {
        let len = usize::from(u16::from_be_bytes([flight[3], flight[4]]));
        out.push((flight[0], flight[5..5 + len].to_vec()));
        flight = &flight[5 + len..];
    }
    out
}

fn types(flight: &[u8]) -> Vec<u8> {
    records(flight).into_iter().map(|(t, _)| t).collect()
}

/// The legacy_session_id of the ClientHello that opens `flight`.
fn hello_session_id(flight: &[u8]) -> Vec<u8> {
    let (_, body) = &records(flight)[0];
    // handshake header (4), legacy_version (2), random (32), then the u8-prefixed ID.
    let len = usize::from(body[38]);
    body[39..39 + len].to_vec()
}

fn client(compat: bool) -> ClientConfig {
    ours::client_config("server").with_middlebox_compat(compat)
}

fn server() -> ServerConfig {
    ours::server_config("server")
}

fn take(conn_out: impl FnOnce(&mut Vec<u8>) -> usize) -> Vec<u8> {
    let mut out = Vec::new();
    conn_out(&mut out);
    out
}

/// A client and server with the client's first flight already given to the server; returns
/// the client's first flight and the server's answer.
fn first_exchange(
    c: ClientConfig,
    s: ServerConfig,
) -> (ClientConnection, ServerConnection, Vec<u8>, Vec<u8>) {
    let mut client = ClientConnection::new(Arc::new(c), "localhost", NOW).unwrap();
    let mut server = ServerConnection::new(Arc::new(s));
    let hello = take(|o| client.write_tls(o));
    ours::feed_server(&mut server, &hello, NOW).unwrap();
    let answer = take(|o| server.write_tls(o));
    (client, server, hello, answer)
}

#[test]
fn server_sends_one_dummy_ccs_right_after_its_server_hello_rfc8446_d4() {
    let (mut client, mut server, hello, answer) = first_exchange(client(true), server());
    assert_eq!(hello_session_id(&hello).len(), 32);
    let t = types(&answer);
    assert_eq!(&t[..3], &[HANDSHAKE, CCS, APPLICATION_DATA]);
    assert_eq!(t.iter().filter(|&&t| t == CCS).count(), 1);
    assert_eq!(records(&answer)[1].1, [1]);
    // The ServerHello echoes the session ID (RFC 8446 §4.1.3).
    let sh = &records(&answer)[0].1;
    assert_eq!(&sh[39..39 + 32], hello_session_id(&hello).as_slice());
    // The client's second flight starts with its own dummy record, unprotected.
    ours::feed_client(&mut client, &answer, NOW).unwrap();
    let second = take(|o| client.write_tls(o));
    assert_eq!(&second[..6], &DUMMY_CCS);
    assert!(types(&second)[1..].iter().all(|&t| t == APPLICATION_DATA));
    ours::feed_server(&mut server, &second, NOW).unwrap();
    assert!(!server.is_handshaking());
}

#[test]
fn without_compat_mode_neither_side_sends_a_ccs_and_the_session_id_is_empty_rfc8446_d4() {
    let (mut client, mut server, hello, answer) = first_exchange(client(false), server());
    assert!(hello_session_id(&hello).is_empty());
    assert!(!types(&answer).contains(&CCS));
    ours::feed_client(&mut client, &answer, NOW).unwrap();
    let second = take(|o| client.write_tls(o));
    assert!(!types(&second).contains(&CCS));
    ours::feed_server(&mut server, &second, NOW).unwrap();
    assert!(!server.is_handshaking());
}

#[test]
fn after_a_hello_retry_request_each_side_sends_its_ccs_once_rfc8446_d4() {
    // The client's first share is X25519; the server takes only P-384.
    let s = server().with_groups(&[KxGroup::Secp384r1]);
    let (mut client, mut server, _, retry) = first_exchange(client(true), s);
    assert_eq!(types(&retry), [HANDSHAKE, CCS]);
    ours::feed_client(&mut client, &retry, NOW).unwrap();
    let second_hello = take(|o| client.write_tls(o));
    assert_eq!(types(&second_hello), [CCS, HANDSHAKE]);
    ours::feed_server(&mut server, &second_hello, NOW).unwrap();
    let flight = take(|o| server.write_tls(o));
    // No second dummy record after the ServerHello.
    assert_eq!(types(&flight)[..2], [HANDSHAKE, APPLICATION_DATA]);
    assert!(!types(&flight).contains(&CCS));
    ours::feed_client(&mut client, &flight, NOW).unwrap();
    let finished = take(|o| client.write_tls(o));
    assert!(!types(&finished).contains(&CCS));
    ours::feed_server(&mut server, &finished, NOW).unwrap();
    assert!(!server.is_handshaking());
}

/// The server's error after the client's first flight is followed by `extra` records.
fn server_error_after_hello_and(extra: &[u8]) -> AlertDescription {
    let (_, mut server, _, _) = first_exchange(client(false), server());
    let err = ours::feed_server(&mut server, extra, NOW).unwrap_err();
    err.alert()
}

#[test]
fn a_second_ccs_is_unexpected_message_rfc8446_d4() {
    let two = [DUMMY_CCS, DUMMY_CCS].concat();
    assert_eq!(
        server_error_after_hello_and(&two),
        AlertDescription::UnexpectedMessage
    );
}

#[test]
fn a_ccs_other_than_the_single_byte_1_is_unexpected_message_rfc8446_5() {
    assert_eq!(
        server_error_after_hello_and(&[20, 3, 3, 0, 2, 1, 1]),
        AlertDescription::UnexpectedMessage
    );
    assert_eq!(
        server_error_after_hello_and(&[20, 3, 3, 0, 1, 2]),
        AlertDescription::UnexpectedMessage
    );
}

#[test]
fn a_ccs_before_the_client_hello_is_unexpected_message_rfc8446_5() {
    let mut server = ServerConnection::new(Arc::new(server()));
    let err = ours::feed_server(&mut server, &DUMMY_CCS, NOW).unwrap_err();
    assert_eq!(err.alert(), AlertDescription::UnexpectedMessage);
}

#[test]
fn a_ccs_after_the_client_finished_is_unexpected_message_rfc8446_5() {
    let (mut client, mut server, _, answer) = first_exchange(client(true), server());
    ours::feed_client(&mut client, &answer, NOW).unwrap();
    let second = take(|o| client.write_tls(o));
    // Take the client's own dummy record off and send it after its Finished instead.
    let moved = [&second[6..], &DUMMY_CCS[..]].concat();
    let err = ours::feed_server(&mut server, &moved, NOW).unwrap_err();
    assert_eq!(err.alert(), AlertDescription::UnexpectedMessage);
}

#[test]
fn with_early_data_the_client_ccs_follows_its_first_client_hello_rfc8446_d4() {
    let guard = Arc::new(tls_resumption::antireplay::StrikeRegister::new(
        1000,
        std::time::Duration::from_secs(10),
    ));
    let c = Arc::new(client(true).with_early_data(true));
    let s = Arc::new(server().with_early_data(1000, guard));
    ours::connect(&c, &s, NOW, None).unwrap();
    let mut client = ClientConnection::new(c.clone(), "localhost", NOW).unwrap();
    client.send_early_data(b"early").unwrap();
    let first = take(|o| client.write_tls(o));
    assert_eq!(types(&first), [HANDSHAKE, CCS, APPLICATION_DATA]);
    let mut server = ServerConnection::new(s.clone());
    ours::feed_server(&mut server, &first, NOW).unwrap();
    ours::pump(&mut client, &mut server, NOW).unwrap();
    assert!(!server.is_handshaking());
    assert_eq!(server.take_early_data(), b"early");
}

#[test]
fn without_compat_mode_a_tls12_session_is_still_offered_by_its_id_rfc5246_7_4_1_2() {
    let c = Arc::new(
        client(false)
            .with_versions(&[TlsVersion::Tls12])
            .with_tls12_tickets(false),
    );
    let cache = MemoryCache::builder()
        .capacity(8)
        .clock(Arc::new(ManualClock::new(NOW)))
        .build();
    let s = Arc::new(server().with_session_cache(Some(Arc::new(cache))));
    ours::connect(&c, &s, NOW, None).unwrap();
    let mut client = ClientConnection::new(c.clone(), "localhost", NOW).unwrap();
    let hello = take(|o| client.write_tls(o));
    assert_eq!(hello_session_id(&hello).len(), 32);
    let mut server = ServerConnection::new(s.clone());
    ours::feed_server(&mut server, &hello, NOW).unwrap();
    ours::pump(&mut client, &mut server, NOW).unwrap();
    assert!(matches!(
        server.handshake_kind(),
        Some(HandshakeKind::Resumed {
            mechanism: ResumptionMechanism::SessionId,
            ..
        })
    ));
}

#[test]
fn a_ccs_inside_a_fragmented_handshake_message_is_unexpected_message_rfc8446_5_1() {
    let s = server().with_groups(&[KxGroup::Secp384r1]);
    let (mut client, mut server, _, retry) = first_exchange(client(false), s);
    ours::feed_client(&mut client, &retry, NOW).unwrap();
    let second_hello = take(|o| client.write_tls(o));
    let body = &records(&second_hello)[0].1;
    let (a, b) = body.split_at(body.len() / 2);
    let split = |part: &[u8]| {
        let mut r = vec![HANDSHAKE, 3, 3];
        r.extend_from_slice(&(part.len() as u16).to_be_bytes());
        r.extend_from_slice(part);
        r
    };
    let interleaved = [split(a), DUMMY_CCS.to_vec(), split(b)].concat();
    let err = ours::feed_server(&mut server, &interleaved, NOW).unwrap_err();
    assert_eq!(err.alert(), AlertDescription::UnexpectedMessage);
}

#[test]
fn the_client_ignores_one_server_ccs_and_refuses_a_second_rfc8446_5() {
    let (mut client, _, _, answer) = first_exchange(client(true), server());
    // ServerHello record, then its dummy CCS (6 bytes), then the protected flight.
    let sh_len = 5 + usize::from(u16::from_be_bytes([answer[3], answer[4]]));
    let (head, rest) = answer.split_at(sh_len + 6);
    let doubled = [head, &DUMMY_CCS[..], rest].concat();
    let err = ours::feed_client(&mut client, &doubled, NOW).unwrap_err();
    assert_eq!(err.alert(), AlertDescription::UnexpectedMessage);
}
