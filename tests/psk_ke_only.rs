//! A ClientHello that offers a PSK with `psk_ke` only and neither key_share nor
//! supported_groups (RFC 8446 §4.2.9, §9.2: those two are required only without a PSK) is
//! served by a server that allows `psk_ke`: a ServerHello selecting the PSK with no key share,
//! the flight under keys from the PSK alone. The client side is written out by hand here, as
//! our own client always sends a key share.
//!
//! Keys from the PSK alone are keys a test can compute, so the rules on what the client may
//! send under its handshake keys are checked here too: the Finished length (RFC 8446 §4.4.4,
//! both sides), empty alerts and application data before the Finished (§5.1).

mod peers;

use std::sync::Arc;

use peers::ours;
use tls_resumption::alert::AlertDescription;
use tls_resumption::crypto::aead::{xor_nonce, AeadKey};
use tls_resumption::kdf::tls13::{BinderKind, CipherSuite, KeySchedule, TrafficKeys};
use tls_resumption::store::{ClientSessionStore, ClientTls13Ticket, MemoryClientStore};
use tls_resumption::time::Timestamp;
use tls_resumption::{ClientConnection, ServerConfig, ServerConnection};

const NOW: Timestamp = Timestamp::from_secs(1_700_000_000);
const SUITE: CipherSuite = CipherSuite::Aes128GcmSha256;

fn sha256(parts: &[&[u8]]) -> Vec<u8> {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for p in parts {
        ctx.update(p);
    }
    ctx.finish().as_ref().to_vec()
}

fn u16_prefixed(body: &[u8]) -> Vec<u8> {
    let mut out = (body.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

fn extension(typ: u16, body: &[u8]) -> Vec<u8> {
    [&typ.to_be_bytes()[..], &u16_prefixed(body)].concat()
}

/// A ticket from a full handshake with `server`.
fn ticket(server: &Arc<ServerConfig>) -> ClientTls13Ticket {
    let store = Arc::new(MemoryClientStore::new(4, 4));
    let client = ours::client_config("server")
        .with_session_store(Some(store.clone()))
        .with_suites(&[SUITE]);
    ours::connect(&Arc::new(client), server, NOW, None).unwrap();
    store.take_tls13_ticket("localhost", NOW).unwrap().unwrap()
}

/// The ClientHello (handshake message) offering `ticket` with psk_ke only, no key_share and
/// no supported_groups, its binder computed.
fn psk_only_hello(ticket: &ClientTls13Ticket) -> Vec<u8> {
    let mut identity = u16_prefixed(&ticket.ticket);
    identity.extend_from_slice(&ticket.state.ticket_age_add.to_be_bytes()); // age 0
    let binders = u16_prefixed(&[&[32u8][..], &[0u8; 32]].concat());
    let extensions = [
        extension(
            0,
            &u16_prefixed(&[&[0u8][..], &u16_prefixed(b"localhost")].concat()),
        ),
        extension(43, &[2, 3, 4]), // supported_versions: 1.3
        extension(45, &[1, 0]),    // psk_key_exchange_modes: psk_ke
        extension(41, &[u16_prefixed(&identity), binders].concat()), // pre_shared_key, last
    ]
    .concat();
    let mut body = vec![3, 3];
    body.extend_from_slice(&[7u8; 32]);
    body.push(0); // empty legacy_session_id
    body.extend_from_slice(&u16_prefixed(&0x1301u16.to_be_bytes()));
    body.extend_from_slice(&[1, 0]);
    body.extend_from_slice(&u16_prefixed(&extensions));
    let mut hello = vec![1, 0];
    hello.extend_from_slice(&(body.len() as u16).to_be_bytes());
    hello.extend_from_slice(&body);
    let psk = ticket.state.resumption_psk.expose_secret();
    let early = KeySchedule::with_psk(SUITE.hash(), psk);
    let cut = hello.len() - 2 - 1 - 32;
    let binder = early
        .binder_key(BinderKind::Resumption)
        .binder(&sha256(&[&hello[..cut]]))
        .unwrap();
    let at = hello.len() - 32;
    hello[at..].copy_from_slice(binder.as_ref());
    hello
}

fn record(typ: u8, body: &[u8]) -> Vec<u8> {
    [&[typ, 3, 3][..], &u16_prefixed(body)].concat()
}

/// Each record of `flight`: content type and body.
fn records(mut flight: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    while flight.len() >= 5 {
        let len = usize::from(u16::from_be_bytes([flight[3], flight[4]]));
        out.push((flight[0], flight[5..5 + len].to_vec()));
        flight = &flight[5 + len..];
    }
    out
}

/// Opens the protected records of `flight` in order under `keys`: the handshake bytes.
fn open_all(keys: &TrafficKeys, flight: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let key = AeadKey::new(SUITE.aead(), keys.key.expose_secret()).unwrap();
    let mut out = Vec::new();
    for (seq, (_, body)) in flight.iter().enumerate() {
        let aad = [&[23u8, 3, 3][..], &(body.len() as u16).to_be_bytes()].concat();
        let mut buf = body.clone();
        let nonce = xor_nonce(keys.iv.expose_secret(), seq as u64);
        let plain = key.open_in_place(nonce, &aad, &mut buf).unwrap();
        assert_eq!(plain.last(), Some(&22), "inner type handshake");
        out.extend_from_slice(&plain[..plain.len() - 1]);
    }
    out
}

fn seal(keys: &TrafficKeys, seq: u64, handshake: &[u8]) -> Vec<u8> {
    seal_typed(keys, seq, 22, handshake)
}

/// A protected record whose inner content type is `typ`.
fn seal_typed(keys: &TrafficKeys, seq: u64, typ: u8, content: &[u8]) -> Vec<u8> {
    let key = AeadKey::new(SUITE.aead(), keys.key.expose_secret()).unwrap();
    let mut buf = [content, &[typ]].concat();
    let aad = [&[23u8, 3, 3][..], &((buf.len() + 16) as u16).to_be_bytes()].concat();
    key.seal_in_place(xor_nonce(keys.iv.expose_secret(), seq), &aad, &mut buf)
        .unwrap();
    record(23, &buf)
}

/// Whether the ServerHello body `sh` carries an extension of type `typ`.
fn has_extension(sh: &[u8], typ: u16) -> bool {
    let mut at = 39 + usize::from(sh[38]) + 3 + 2;
    while at + 4 <= sh.len() {
        if u16::from_be_bytes([sh[at], sh[at + 1]]) == typ {
            return true;
        }
        at += 4 + usize::from(u16::from_be_bytes([sh[at + 2], sh[at + 3]]));
    }
    false
}

/// A server that answered a psk_ke hello without key share (checking that it did), and what
/// the client side of that exchange needs: its handshake traffic keys and its Finished.
struct AwaitingClientFinished {
    server: ServerConnection,
    client_keys: TrafficKeys,
    client_finished: Vec<u8>,
}

fn served_psk_ke_hello() -> AwaitingClientFinished {
    let config = Arc::new(ours::server_config("server").with_psk_ke(true));
    let ticket = ticket(&config);
    let hello = psk_only_hello(&ticket);
    let mut server = ServerConnection::new(config);
    ours::feed_server(&mut server, &record(22, &hello), NOW).unwrap();
    let mut flight = Vec::new();
    server.write_tls(&mut flight);
    let recs = records(&flight);
    let sh = &recs[0].1;
    assert!(has_extension(sh, 41), "pre_shared_key selected");
    assert!(!has_extension(sh, 51), "no key share");
    // Keys from the PSK alone (psk_ke): the server's flight opens under them.
    let psk = ticket.state.resumption_psk.expose_secret();
    let hs = KeySchedule::with_psk(SUITE.hash(), psk).psk_ke();
    let secrets = hs.traffic_secrets(&sha256(&[&hello, sh])).unwrap();
    let server_keys = secrets.server.traffic_keys(SUITE.aead());
    let encrypted = open_all(&server_keys, &recs[1..]);
    // EncryptedExtensions, then Finished (no certificate when resuming).
    let finished_at = 4 + usize::from(encrypted[3]) + (usize::from(encrypted[2]) << 8);
    let (ee, fin) = encrypted.split_at(finished_at);
    assert_eq!(fin[0], 20);
    secrets
        .server
        .verify_finished(&sha256(&[&hello, sh, ee]), &fin[4..])
        .unwrap();
    let client_finished = secrets
        .client
        .finished_verify_data(&sha256(&[&hello, sh, ee, fin]))
        .unwrap();
    AwaitingClientFinished {
        server,
        client_keys: secrets.client.traffic_keys(SUITE.aead()),
        client_finished: client_finished.as_ref().to_vec(),
    }
}

/// A Finished handshake message carrying `verify_data`.
fn finished_message(verify_data: &[u8]) -> Vec<u8> {
    let len = verify_data.len() as u32;
    [&[20u8][..], &len.to_be_bytes()[1..], verify_data].concat()
}

#[test]
fn a_psk_ke_hello_without_key_share_is_served_by_a_server_allowing_psk_ke_rfc8446_4_2_9() {
    let mut s = served_psk_ke_hello();
    let fin = finished_message(&s.client_finished);
    ours::feed_server(&mut s.server, &seal(&s.client_keys, 0, &fin), NOW).unwrap();
    assert!(!s.server.is_handshaking());
}

/// A Finished whose verify_data is not Hash.length bytes is malformed, not a wrong MAC:
/// RFC 8446 §4.4.4 fixes its length and §6 names decode_error for "the length of the message
/// was incorrect" (decrypt_error is for a Finished that has the right form and fails).
#[test]
fn a_client_finished_of_the_wrong_length_is_decode_error_rfc8446_4_4_4() {
    for cut in [1usize, 0] {
        let mut s = served_psk_ke_hello();
        let mut verify_data = s.client_finished.clone();
        if cut == 1 {
            verify_data.pop();
        } else {
            verify_data.push(0);
        }
        let fin = finished_message(&verify_data);
        let err =
            ours::feed_server(&mut s.server, &seal(&s.client_keys, 0, &fin), NOW).unwrap_err();
        assert_eq!(
            err.alert(),
            AlertDescription::DecodeError,
            "{} bytes",
            verify_data.len()
        );
    }
}

/// The client side of the same rule: our client resumes with psk_ke (so the server's flight is
/// under keys from the PSK alone, which the test knows), and the server's Finished is
/// rewritten one byte longer and one byte shorter.
#[test]
fn a_server_finished_of_the_wrong_length_is_decode_error_rfc8446_4_4_4() {
    for longer in [true, false] {
        let store = Arc::new(MemoryClientStore::new(4, 4));
        let c = Arc::new(
            ours::client_config("server")
                .with_session_store(Some(store.clone()))
                .with_psk_ke(true)
                .with_suites(&[SUITE]),
        );
        let s = Arc::new(ours::server_config("server").with_psk_ke(true));
        ours::connect(&c, &s, NOW, None).unwrap();
        let ticket = store.take_tls13_ticket("localhost", NOW).unwrap().unwrap();
        let psk = ticket.state.resumption_psk.expose_secret().to_vec();
        store.insert_tls13_ticket("localhost", ticket).unwrap();
        let mut client = ClientConnection::new(c, "localhost", NOW).unwrap();
        let mut server = ServerConnection::new(s);
        let mut hello = Vec::new();
        client.write_tls(&mut hello);
        ours::feed_server(&mut server, &hello, NOW).unwrap();
        let mut answer = Vec::new();
        server.write_tls(&mut answer);
        let recs = records(&answer);
        let (ch, sh) = (&records(&hello)[0].1, &recs[0].1);
        let hs = KeySchedule::with_psk(SUITE.hash(), &psk).psk_ke();
        let keys = hs
            .traffic_secrets(&sha256(&[ch, sh]))
            .unwrap()
            .server
            .traffic_keys(SUITE.aead());
        let protected: Vec<_> = recs[1..]
            .iter()
            .filter(|(t, _)| *t == 23)
            .cloned()
            .collect();
        let mut encrypted = open_all(&keys, &protected);
        let finished_at = 4 + usize::from(encrypted[3]) + (usize::from(encrypted[2]) << 8);
        let mut verify_data = encrypted.split_off(finished_at)[4..].to_vec();
        if longer {
            verify_data.push(0);
        } else {
            verify_data.pop();
        }
        encrypted.extend_from_slice(&finished_message(&verify_data));
        let forged = [&record(22, sh)[..], &seal(&keys, 0, &encrypted)].concat();
        let err = ours::feed_client(&mut client, &forged, NOW).unwrap_err();
        assert_eq!(
            err.alert(),
            AlertDescription::DecodeError,
            "{} bytes",
            verify_data.len()
        );
    }
}

#[test]
fn a_psk_ke_hello_without_key_share_gets_handshake_failure_when_psk_ke_is_refused_rfc8446_4_1_1() {
    let config = Arc::new(ours::server_config("server"));
    let hello = psk_only_hello(&ticket(&config));
    let mut server = ServerConnection::new(config);
    let err = ours::feed_server(&mut server, &record(22, &hello), NOW).unwrap_err();
    assert_eq!(err.alert(), AlertDescription::HandshakeFailure);
}

/// RFC 8446 §5.1: a record of type alert holds exactly one alert message; an empty one holds
/// none, and is unexpected_message (as for a plaintext one before the ClientHello).
#[test]
fn an_empty_alert_record_is_unexpected_message_rfc8446_5_1() {
    let mut s = served_psk_ke_hello();
    let err =
        ours::feed_server(&mut s.server, &seal_typed(&s.client_keys, 0, 21, &[]), NOW).unwrap_err();
    assert_eq!(err.alert(), AlertDescription::UnexpectedMessage);
    let mut server = ServerConnection::new(Arc::new(ours::server_config("server")));
    let err = ours::feed_server(&mut server, &record(21, &[]), NOW).unwrap_err();
    assert_eq!(err.alert(), AlertDescription::UnexpectedMessage);
}

/// Application data is sent only under application (or early) traffic keys (RFC 8446 §2,
/// §5.1): a zero-length one under the client's handshake keys, before its Finished, is as
/// unexpected as a longer one, not skipped as padding.
#[test]
fn zero_length_application_data_before_the_client_finished_is_unexpected_message_rfc8446_5_1() {
    for data in [&b""[..], b"x"] {
        let mut s = served_psk_ke_hello();
        let err = ours::feed_server(&mut s.server, &seal_typed(&s.client_keys, 0, 23, data), NOW)
            .unwrap_err();
        assert_eq!(err.alert(), AlertDescription::UnexpectedMessage, "{data:?}");
    }
}

/// A client that gives up on the server's flight (an untrusted certificate, say) may send its
/// alert before it has switched to its handshake keys, so unprotected. The server takes it as
/// the client's alert, which ends the connection (RFC 8446 §6), and sends none of its own.
#[test]
fn a_plaintext_alert_after_the_server_finished_is_the_clients_alert_rfc8446_6() {
    let mut s = served_psk_ke_hello();
    let err = ours::feed_server(&mut s.server, &record(21, &[2, 48]), NOW).unwrap_err();
    assert_eq!(
        err,
        tls_resumption::Error::AlertReceived(AlertDescription::UnknownCa)
    );
    let mut out = Vec::new();
    s.server.write_tls(&mut out);
    assert!(out.is_empty(), "no alert answers an alert: {out:?}");
}

/// A protected record with no ciphertext at all (not even the AEAD tag) cannot open: it is
/// bad_record_mac (RFC 8446 §5.2), not skipped, when no refused early data is being skipped.
#[test]
fn an_empty_protected_record_is_bad_record_mac_rfc8446_5_2() {
    let mut s = served_psk_ke_hello();
    let err = ours::feed_server(&mut s.server, &record(23, &[]), NOW).unwrap_err();
    assert_eq!(err.alert(), AlertDescription::BadRecordMac);
}
