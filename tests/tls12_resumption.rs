//! Our TLS 1.2 client with our server, in memory: full handshakes, resumption by session ID
//! and by RFC 5077 ticket, every failure that must fall back or abort, and version
//! negotiation with the TLS 1.3 downgrade sentinel.

mod peers;

use std::sync::Arc;
use std::time::Duration;

use peers::ours::{self, RecordingKeyLog};
use tls_resumption::error::{PeerIncompatible, PeerMisbehaved};
use tls_resumption::kdf::tls12 as kdf;
use tls_resumption::session::Tls12Session;
use tls_resumption::store::{
    ClientSessionStore, ClientTls12Session, MemoryCache, MemoryClientStore, SessionCache,
};
use tls_resumption::ticket::{RotatingSealer, Schedule};
use tls_resumption::time::{ManualClock, Timestamp};
use tls_resumption::{
    AlertDescription, ClientConfig, ClientConnection, EarlyDataStatus, Error, HandshakeKind,
    ResumptionMechanism, ServerConfig, ServerConnection, TicketMode, Tls12CipherSuite, TlsVersion,
};

const NOW: Timestamp = Timestamp::from_secs(1_700_000_000);

const BY_ID: Option<HandshakeKind> = Some(HandshakeKind::Resumed {
    mechanism: ResumptionMechanism::SessionId,
    early_data: EarlyDataStatus::NotOffered,
});
const BY_TICKET: Option<HandshakeKind> = Some(HandshakeKind::Resumed {
    mechanism: ResumptionMechanism::Ticket,
    early_data: EarlyDataStatus::NotOffered,
});
const FULL: Option<HandshakeKind> = Some(HandshakeKind::Full);

/// A server speaking only TLS 1.2 whose cache shares `clock`.
fn server(clock: &Arc<ManualClock>) -> ServerConfig {
    let cache = MemoryCache::builder()
        .capacity(64)
        .clock(clock.clone())
        .build();
    ours::server_config("server")
        .with_versions(&[TlsVersion::Tls12])
        .with_session_cache(Some(Arc::new(cache)))
}

fn id_only(clock: &Arc<ManualClock>) -> ServerConfig {
    server(clock).with_tickets(TicketMode::Disabled)
}

fn tickets_only(clock: &Arc<ManualClock>) -> ServerConfig {
    server(clock).with_session_cache(None)
}

/// A client speaking only TLS 1.2 with its own store (returned for tampering).
fn client() -> (ClientConfig, Arc<MemoryClientStore>) {
    let store = Arc::new(MemoryClientStore::new(4, 4));
    let config = ours::client_config("server")
        .with_versions(&[TlsVersion::Tls12])
        .with_session_store(Some(store.clone()));
    (config, store)
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(NOW))
}

#[test]
fn tls12_full_handshake_exchanges_data_and_reports_the_suite() {
    let clock = clock();
    let (client, _) = client();
    let out = ours::connect(&Arc::new(client), &Arc::new(server(&clock)), NOW, None).unwrap();
    assert_eq!(out.client_kind, FULL);
    assert_eq!(out.server_kind, FULL);
    assert_eq!(out.client_received, b"pong");
    assert_eq!(out.server_received, b"ping");
}

#[test]
fn tls12_resumes_by_session_id() {
    let clock = clock();
    let (client, _) = client();
    let (client, server) = (Arc::new(client), Arc::new(id_only(&clock)));
    assert_eq!(
        ours::connect(&client, &server, NOW, None)
            .unwrap()
            .server_kind,
        FULL
    );
    for _ in 0..2 {
        let out = ours::connect(&client, &server, NOW, None).unwrap();
        assert_eq!(out.client_kind, BY_ID);
        assert_eq!(out.server_kind, BY_ID);
        assert_eq!(out.client_received, b"pong");
    }
}

#[test]
fn tls12_resumes_by_ticket() {
    let clock = clock();
    let (client, _) = client();
    let (client, server) = (Arc::new(client), Arc::new(tickets_only(&clock)));
    assert_eq!(
        ours::connect(&client, &server, NOW, None)
            .unwrap()
            .server_kind,
        FULL
    );
    for _ in 0..2 {
        let out = ours::connect(&client, &server, NOW, None).unwrap();
        assert_eq!(out.client_kind, BY_TICKET);
        assert_eq!(out.server_kind, BY_TICKET);
        assert_eq!(out.server_received, b"ping");
    }
}

#[test]
fn a_client_without_tickets_resumes_by_id_from_a_server_with_both() {
    let clock = clock();
    let (client, _) = client();
    let client = Arc::new(client.with_tls12_tickets(false));
    let server = Arc::new(server(&clock));
    ours::connect(&client, &server, NOW, None).unwrap();
    assert_eq!(
        ours::connect(&client, &server, NOW, None)
            .unwrap()
            .server_kind,
        BY_ID
    );
}

#[test]
fn a_ticket_from_a_decrypt_only_key_resumes_and_is_renewed() {
    let clock = clock();
    let sealer = Arc::new(RotatingSealer::new(clock.clone(), Schedule::default()).unwrap());
    let (client, store) = client();
    let client = Arc::new(client);
    let server = Arc::new(
        tickets_only(&clock)
            .with_tickets(TicketMode::Stateless(sealer))
            .with_tls12_session_lifetime(Duration::from_secs(12 * 3600)),
    );
    ours::connect(&client, &server, NOW, None).unwrap();
    let first = ticket_of(&store);
    // A rotation later the key that sealed the ticket only decrypts.
    clock.advance(Duration::from_secs(3600 + 1));
    let now = clock.now_for_test();
    let out = ours::connect(&client, &server, now, None).unwrap();
    assert_eq!(out.server_kind, BY_TICKET);
    let renewed = ticket_of(&store);
    assert_ne!(first, renewed, "a renewed ticket replaces the old one");
    assert_eq!(first[..16].len(), 16);
    assert_ne!(
        first[..16],
        renewed[..16],
        "sealed under the new active key"
    );
    assert_eq!(
        ours::connect(&client, &server, now, None)
            .unwrap()
            .server_kind,
        BY_TICKET
    );
}

trait NowForTest {
    fn now_for_test(&self) -> Timestamp;
}

impl NowForTest for ManualClock {
    fn now_for_test(&self) -> Timestamp {
        use tls_resumption::time::Clock;
        self.now()
    }
}

fn ticket_of(store: &MemoryClientStore) -> Vec<u8> {
    let session = store
        .take_tls12_session("localhost", NOW)
        .unwrap()
        .expect("a stored session");
    let ticket = session.ticket.clone().expect("a ticket");
    store.set_tls12_session("localhost", session).unwrap();
    ticket
}

#[test]
fn an_expired_session_gets_a_full_handshake() {
    for make in [id_only, tickets_only] {
        let clock = clock();
        let (client, _) = client();
        let client = Arc::new(client);
        let server = Arc::new(make(&clock).with_tls12_session_lifetime(Duration::from_secs(60)));
        ours::connect(&client, &server, NOW, None).unwrap();
        clock.advance(Duration::from_secs(61));
        let later = NOW.saturating_add(Duration::from_secs(61));
        assert_eq!(
            ours::connect(&client, &server, later, None)
                .unwrap()
                .server_kind,
            FULL
        );
    }
}

#[test]
fn a_session_of_a_suite_the_server_no_longer_takes_gets_a_full_handshake() {
    let clock = clock();
    let (client, _) = client();
    let client = Arc::new(client);
    let first = server(&clock).with_tls12_suites(&[Tls12CipherSuite::EcdheEcdsaAes128GcmSha256]);
    let second = first
        .clone()
        .with_tls12_suites(&[Tls12CipherSuite::EcdheEcdsaAes256GcmSha384]);
    ours::connect(&client, &Arc::new(first), NOW, None).unwrap();
    let out = ours::connect(&client, &Arc::new(second), NOW, None).unwrap();
    assert_eq!(out.server_kind, FULL);
    assert_eq!(out.client_kind, FULL);
}

#[test]
fn a_tampered_ticket_gets_a_full_handshake() {
    let clock = clock();
    let (client, store) = client();
    let client = Arc::new(client);
    let server = Arc::new(tickets_only(&clock));
    ours::connect(&client, &server, NOW, None).unwrap();
    let mut session = store.take_tls12_session("localhost", NOW).unwrap().unwrap();
    if let Some(ticket) = session.ticket.as_mut() {
        let last = ticket.len() - 1;
        ticket[last] ^= 1;
    }
    store.set_tls12_session("localhost", session).unwrap();
    let out = ours::connect(&client, &server, NOW, None).unwrap();
    assert_eq!(out.server_kind, FULL);
    assert_eq!(out.client_kind, FULL);
    assert_eq!(
        ours::connect(&client, &server, NOW, None)
            .unwrap()
            .server_kind,
        BY_TICKET
    );
}

/// Runs a handshake, letting `tamper` edit the client's first flight.
fn connect_tampered(
    client: &Arc<ClientConfig>,
    server: &Arc<ServerConfig>,
    tamper: impl FnOnce(&mut Vec<u8>),
) -> (ClientConnection, ServerConnection, Result<(), Error>) {
    let mut c = ClientConnection::new(client.clone(), "localhost", NOW).unwrap();
    let mut s = ServerConnection::new(server.clone());
    let mut flight = Vec::new();
    c.write_tls(&mut flight);
    tamper(&mut flight);
    let result =
        ours::feed_server(&mut s, &flight, NOW).and_then(|()| ours::pump(&mut c, &mut s, NOW));
    (c, s, result)
}

/// The byte range of extension `typ`'s whole entry (type, length, body) in the hello that
/// starts the first record of `flight`.
fn extension_range(flight: &[u8], typ: u16, client_hello: bool) -> Option<(usize, usize)> {
    let mut at = 5 + 4 + 2 + 32;
    at += 1 + usize::from(flight[at]);
    if client_hello {
        at += 2 + usize::from(u16::from_be_bytes([flight[at], flight[at + 1]]));
        at += 1 + usize::from(flight[at]);
    } else {
        at += 3;
    }
    let end = at + 2 + usize::from(u16::from_be_bytes([flight[at], flight[at + 1]]));
    at += 2;
    while at < end {
        let t = u16::from_be_bytes([flight[at], flight[at + 1]]);
        let len = usize::from(u16::from_be_bytes([flight[at + 2], flight[at + 3]]));
        if t == typ {
            return Some((at, at + 4 + len));
        }
        at += 4 + len;
    }
    None
}

/// Removes extension `typ` from the hello at the start of `flight`, fixing the record,
/// handshake and extension-block lengths.
fn remove_extension(flight: &mut Vec<u8>, typ: u16, client_hello: bool) {
    let (start, end) = extension_range(flight, typ, client_hello).expect("extension present");
    let cut = end - start;
    flight.drain(start..end);
    let sub16 = |f: &mut Vec<u8>, at: usize| {
        let v = u16::from_be_bytes([f[at], f[at + 1]]) - cut as u16;
        f[at..at + 2].copy_from_slice(&v.to_be_bytes());
    };
    sub16(flight, 3);
    let hs = u32::from_be_bytes([0, flight[6], flight[7], flight[8]]) - cut as u32;
    flight[6..9].copy_from_slice(&hs.to_be_bytes()[1..]);
    let mut at = 5 + 4 + 2 + 32;
    at += 1 + usize::from(flight[at]);
    if client_hello {
        at += 2 + usize::from(u16::from_be_bytes([flight[at], flight[at + 1]]));
        at += 1 + usize::from(flight[at]);
    } else {
        at += 3;
    }
    sub16(flight, at);
}

const EMS: u16 = 23;
const KEY_SHARE: u16 = 51;
const SUPPORTED_VERSIONS: u16 = 43;

#[test]
fn ems_session_offered_without_ems_aborts_with_handshake_failure() {
    // RFC 7627 §5.3: the original session used EMS, the new ClientHello does not.
    let clock = clock();
    let (client, _) = client();
    let client = Arc::new(client);
    let server = Arc::new(id_only(&clock).with_require_extended_master_secret(false));
    ours::connect(&client, &server, NOW, None).unwrap();
    let (_, s, result) = connect_tampered(&client, &server, |f| remove_extension(f, EMS, true));
    assert_eq!(
        result.unwrap_err(),
        Error::PeerIncompatible(PeerIncompatible::ExtendedMasterSecretRequired)
    );
    assert_eq!(
        s.error().unwrap().alert(),
        AlertDescription::HandshakeFailure
    );
}

#[test]
fn a_server_requiring_ems_refuses_a_client_without_it() {
    let clock = clock();
    let (client, _) = client();
    let server = Arc::new(server(&clock));
    let (_, _, result) = connect_tampered(&Arc::new(client), &server, |f| {
        remove_extension(f, EMS, true)
    });
    assert_eq!(
        result.unwrap_err(),
        Error::PeerIncompatible(PeerIncompatible::ExtendedMasterSecretRequired)
    );
}

#[test]
fn a_server_allowing_no_ems_answers_without_it_and_our_client_refuses() {
    let clock = clock();
    let (client, store) = client();
    let client = Arc::new(client);
    let server = Arc::new(server(&clock).with_require_extended_master_secret(false));
    let (c, s, result) = connect_tampered(&client, &server, |f| remove_extension(f, EMS, true));
    // The client offered EMS (the tampering is invisible to it), the server did not take it:
    // the client, requiring EMS, ends the handshake.
    assert!(result.is_err());
    assert_eq!(s.handshake_kind(), FULL);
    assert!(c.error().is_some());
    assert!(store
        .take_tls12_session("localhost", NOW)
        .unwrap()
        .is_none());
}

#[test]
fn a_cached_session_without_ems_is_not_resumed_by_an_ems_hello() {
    // RFC 7627 §5.3: the original session did not use EMS, the new ClientHello does: full.
    let clock = clock();
    let cache = Arc::new(
        MemoryCache::builder()
            .capacity(8)
            .clock(clock.clone())
            .build(),
    );
    let (client, store) = client();
    let server = Arc::new(
        ours::server_config("server")
            .with_versions(&[TlsVersion::Tls12])
            .with_tickets(TicketMode::Disabled)
            .with_session_cache(Some(cache.clone())),
    );
    let id = vec![7u8; 32];
    let state = |ems| Tls12Session {
        protocol_version: 0x0303,
        cipher_suite: Tls12CipherSuite::EcdheEcdsaAes128GcmSha256.to_u16(),
        master_secret: tls_resumption::crypto::secret::SecretArray::new([9; 48]),
        extended_master_secret: ems,
        server_name: Some("localhost".into()),
        alpn: None,
        issued_at: NOW,
        lifetime_secs: 3600,
    };
    let server_state = tls_resumption::session::SessionState::Tls12(state(false));
    cache
        .put(&id, &server_state, server_state.expires_at())
        .unwrap();
    store
        .set_tls12_session(
            "localhost",
            ClientTls12Session {
                session_id: id,
                ticket: None,
                state: state(true),
            },
        )
        .unwrap();
    let out = ours::connect(&Arc::new(client), &server, NOW, None).unwrap();
    assert_eq!(out.server_kind, FULL);
    assert_eq!(out.client_kind, FULL);
}

#[test]
fn a_resumed_ems_session_answered_without_ems_aborts_the_client() {
    // RFC 7627 §5.3, client side: the server resumes but does not echo EMS.
    let clock = clock();
    let (client, _) = client();
    let client = Arc::new(client);
    let server = Arc::new(id_only(&clock));
    ours::connect(&client, &server, NOW, None).unwrap();
    let mut c = ClientConnection::new(client.clone(), "localhost", NOW).unwrap();
    let mut s = ServerConnection::new(server.clone());
    let mut flight = Vec::new();
    c.write_tls(&mut flight);
    ours::feed_server(&mut s, &flight, NOW).unwrap();
    assert_eq!(s.handshake_kind(), BY_ID);
    let mut answer = Vec::new();
    s.write_tls(&mut answer);
    remove_extension(&mut answer, EMS, false);
    let err = ours::feed_client(&mut c, &answer, NOW).unwrap_err();
    assert_eq!(
        err,
        Error::PeerIncompatible(PeerIncompatible::ExtendedMasterSecretRequired)
    );
}

#[test]
fn a_tampered_transcript_fails_the_finished_check_with_decrypt_error() {
    // In an abbreviated handshake the keys come from the master secret and the randoms, so a
    // byte the TLS 1.2 server ignores (the TLS 1.3 key share) changes only the transcript:
    // the Finished check must catch it.
    let clock = clock();
    let (client, _) = client();
    let client = Arc::new(client.with_versions(&[TlsVersion::Tls12, TlsVersion::Tls13]));
    let server = Arc::new(id_only(&clock));
    ours::connect(&client, &server, NOW, None).unwrap();
    let (c, _, result) = connect_tampered(&client, &server, |f| {
        let (_, end) = extension_range(f, KEY_SHARE, true).expect("key share");
        f[end - 1] ^= 1;
    });
    assert_eq!(
        result.unwrap_err(),
        Error::PeerMisbehaved(PeerMisbehaved::BadFinished)
    );
    assert_eq!(c.error().unwrap().alert(), AlertDescription::DecryptError);
}

fn server_random(flight: &[u8]) -> [u8; 32] {
    flight[11..43].try_into().unwrap()
}

#[test]
fn resumed_connections_share_the_master_secret_but_not_the_key_block() {
    let clock = clock();
    let log = Arc::new(RecordingKeyLog::default());
    let (client, _) = client();
    let client = Arc::new(client);
    let server = Arc::new(server(&clock).with_key_log(log.clone()));
    let mut blocks = Vec::new();
    for _ in 0..3 {
        let mut c = ClientConnection::new(client.clone(), "localhost", NOW).unwrap();
        let mut s = ServerConnection::new(server.clone());
        let mut flight = Vec::new();
        c.write_tls(&mut flight);
        let client_random: [u8; 32] = flight[11..43].try_into().unwrap();
        ours::feed_server(&mut s, &flight, NOW).unwrap();
        let mut answer = Vec::new();
        s.write_tls(&mut answer);
        let sr = server_random(&answer);
        ours::feed_client(&mut c, &answer, NOW).unwrap();
        ours::pump(&mut c, &mut s, NOW).unwrap();
        c.send_close_notify().unwrap();
        ours::pump(&mut c, &mut s, NOW).unwrap();
        let ms = log.secrets("CLIENT_RANDOM").last().unwrap().clone();
        let ms = kdf::MasterSecret::new(ms.try_into().unwrap());
        let block = kdf::key_block(
            tls_resumption::crypto::HashAlgorithm::Sha256,
            &ms,
            &sr,
            &client_random,
            40,
        )
        .unwrap();
        blocks.push((ms, block, s.handshake_kind()));
    }
    assert_eq!(blocks[0].2, FULL);
    assert!(blocks[1].2.unwrap().is_resumed() && blocks[2].2.unwrap().is_resumed());
    for (i, j) in [(0, 1), (0, 2), (1, 2)] {
        assert!(blocks[i].0.ct_eq(&blocks[j].0), "master secret {i} == {j}");
        assert_ne!(
            blocks[i].1.expose_secret(),
            blocks[j].1.expose_secret(),
            "key block {i} != {j}"
        );
    }
}

#[test]
fn both_versions_configured_negotiate_tls13() {
    let c = Arc::new(ours::client_config("server"));
    let s = Arc::new(ours::server_config("server"));
    let mut client = ClientConnection::new(c, "localhost", NOW).unwrap();
    let mut server = ServerConnection::new(s);
    ours::pump(&mut client, &mut server, NOW).unwrap();
    assert_eq!(client.protocol_version(), Some(TlsVersion::Tls13));
    assert_eq!(server.protocol_version(), Some(TlsVersion::Tls13));
}

#[test]
fn a_tls12_only_server_gets_tls12_from_a_client_with_both() {
    let clock = clock();
    let c = Arc::new(ours::client_config("server"));
    let mut client = ClientConnection::new(c, "localhost", NOW).unwrap();
    let mut server = ServerConnection::new(Arc::new(server(&clock)));
    ours::pump(&mut client, &mut server, NOW).unwrap();
    assert_eq!(client.protocol_version(), Some(TlsVersion::Tls12));
    assert_eq!(server.protocol_version(), Some(TlsVersion::Tls12));
    assert_eq!(
        client.tls12_cipher_suite(),
        Some(Tls12CipherSuite::EcdheEcdsaAes128GcmSha256)
    );
}

#[test]
fn a_downgrade_to_tls12_is_detected_by_the_sentinel() {
    // An attacker strips supported_versions: a server with both versions picks TLS 1.2 and
    // marks its random (RFC 8446 §4.1.3); the client, which offered TLS 1.3, aborts.
    let c = Arc::new(ours::client_config("server"));
    let s = Arc::new(ours::server_config("server"));
    let (client, _, result) =
        connect_tampered(&c, &s, |f| remove_extension(f, SUPPORTED_VERSIONS, true));
    assert_eq!(
        result.unwrap_err(),
        Error::PeerMisbehaved(PeerMisbehaved::IllegalParameter(
            "TLS 1.3 downgrade sentinel"
        ))
    );
    assert_eq!(
        client.error().unwrap().alert(),
        AlertDescription::IllegalParameter
    );
}

#[test]
fn tls12_fuzz_entry_points_survive_arbitrary_bytes_after_a_valid_prefix() {
    // A small deterministic sweep; the fuzz targets explore further.
    let mut x: u32 = 0x1234_5678;
    for len in 0..200usize {
        let mut data = vec![1u8 | (len as u8) << 1];
        for _ in 0..len {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            data.push((x >> 24) as u8);
        }
        tls_resumption::fuzzing::server_connection_tls12(&data);
        tls_resumption::fuzzing::client_connection_tls12(&data);
    }
}

#[test]
fn a_change_cipher_spec_before_the_client_key_exchange_is_unexpected() {
    let clock = clock();
    let (client, _) = client();
    let mut c = ClientConnection::new(Arc::new(client), "localhost", NOW).unwrap();
    let mut s = ServerConnection::new(Arc::new(server(&clock)));
    let mut flight = Vec::new();
    c.write_tls(&mut flight);
    ours::feed_server(&mut s, &flight, NOW).unwrap();
    let err = ours::feed_server(&mut s, &[20, 3, 3, 0, 1, 1], NOW).unwrap_err();
    assert_eq!(
        err,
        Error::PeerMisbehaved(PeerMisbehaved::UnexpectedMessage)
    );
    assert_eq!(
        s.error().unwrap().alert(),
        AlertDescription::UnexpectedMessage
    );
}

#[test]
fn a_finished_without_change_cipher_spec_is_unexpected() {
    // The client's Finished sent in plaintext where the protected one belongs.
    let clock = clock();
    let (client, _) = client();
    let mut c = ClientConnection::new(Arc::new(client), "localhost", NOW).unwrap();
    let mut s = ServerConnection::new(Arc::new(server(&clock)));
    let mut flight = Vec::new();
    c.write_tls(&mut flight);
    ours::feed_server(&mut s, &flight, NOW).unwrap();
    let mut answer = Vec::new();
    s.write_tls(&mut answer);
    ours::feed_client(&mut c, &answer, NOW).unwrap();
    let mut second = Vec::new();
    c.write_tls(&mut second);
    // ClientKeyExchange record, then a plaintext Finished instead of CCS + protected Finished.
    let cke_len = usize::from(u16::from_be_bytes([second[3], second[4]]));
    let mut tampered = second[..5 + cke_len].to_vec();
    tampered.extend_from_slice(&[22, 3, 3, 0, 16, 20, 0, 0, 12]);
    tampered.extend_from_slice(&[0; 12]);
    let err = ours::feed_server(&mut s, &tampered, NOW).unwrap_err();
    assert_eq!(
        err,
        Error::PeerMisbehaved(PeerMisbehaved::UnexpectedMessage)
    );
}

/// A full TLS 1.2 handshake between our client and server whose key block the test knows
/// (from the server's CLIENT_RANDOM line and both randoms), so it can inject records.
fn handshake_with_known_keys() -> (ClientConnection, ServerConnection, kdf::KeyMaterial) {
    let clock = clock();
    let log = Arc::new(RecordingKeyLog::default());
    let (client, _) = client();
    let mut c = ClientConnection::new(Arc::new(client), "localhost", NOW).unwrap();
    let server = server(&clock)
        .with_key_log(log.clone())
        .with_tls12_suites(&[Tls12CipherSuite::EcdheEcdsaAes128GcmSha256]);
    let mut s = ServerConnection::new(Arc::new(server));
    let mut flight = Vec::new();
    c.write_tls(&mut flight);
    let client_random: [u8; 32] = flight[11..43].try_into().unwrap();
    ours::feed_server(&mut s, &flight, NOW).unwrap();
    let mut answer = Vec::new();
    s.write_tls(&mut answer);
    let sr = server_random(&answer);
    ours::feed_client(&mut c, &answer, NOW).unwrap();
    ours::pump(&mut c, &mut s, NOW).unwrap();
    assert!(!c.is_handshaking() && !s.is_handshaking());
    let ms = log.secrets("CLIENT_RANDOM").pop().unwrap();
    let ms = kdf::MasterSecret::new(ms.try_into().unwrap());
    let keys = kdf::KeyMaterial::derive(
        tls_resumption::crypto::HashAlgorithm::Sha256,
        tls_resumption::crypto::aead::AeadAlgorithm::Aes128Gcm,
        &ms,
        &sr,
        &client_random,
    );
    (c, s, keys)
}

/// A TLS 1.2 AES-GCM handshake record (RFC 5288 §3) under `keys` with sequence number `seq`.
fn protected_handshake_record(keys: &kdf::WriteKeys, seq: u64, body: &[u8]) -> Vec<u8> {
    use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM};
    let key = LessSafeKey::new(UnboundKey::new(&AES_128_GCM, keys.key.expose_secret()).unwrap());
    let mut aad = seq.to_be_bytes().to_vec();
    aad.extend_from_slice(&[22, 3, 3]);
    aad.extend_from_slice(&(body.len() as u16).to_be_bytes());
    let mut sealed = body.to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(keys.iv.nonce(seq)),
        Aad::from(aad),
        &mut sealed,
    )
    .unwrap();
    let mut record = vec![22, 3, 3];
    record.extend_from_slice(&((8 + sealed.len()) as u16).to_be_bytes());
    record.extend_from_slice(&seq.to_be_bytes());
    record.extend_from_slice(&sealed);
    record
}

/// Whether `out` is exactly one protected alert record holding a no_renegotiation warning
/// (level 1, description 100), sealed under `keys` with sequence number `seq`.
fn is_no_renegotiation_warning(out: &[u8], keys: &kdf::WriteKeys, seq: u64) -> bool {
    use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM};
    if out.len() != 5 + 8 + 2 + 16 || out[0] != 21 {
        return false;
    }
    let key = LessSafeKey::new(UnboundKey::new(&AES_128_GCM, keys.key.expose_secret()).unwrap());
    let mut aad = seq.to_be_bytes().to_vec();
    aad.extend_from_slice(&[21, 3, 3, 0, 2]);
    let mut body = out[13..].to_vec();
    let explicit = u64::from_be_bytes(out[5..13].try_into().unwrap());
    let nonce = Nonce::assume_unique_for_key(keys.iv.nonce(explicit));
    matches!(key.open_in_place(nonce, Aad::from(aad), &mut body), Ok(p) if p == [1, 100])
}

#[test]
fn a_renegotiating_client_hello_gets_no_renegotiation_warnings_then_the_close() {
    let (_c, mut s, keys) = handshake_with_known_keys();
    let hello = {
        let (client, _) = client();
        let mut fresh = ClientConnection::new(Arc::new(client), "localhost", NOW).unwrap();
        let mut flight = Vec::new();
        fresh.write_tls(&mut flight);
        flight[5..].to_vec()
    };
    // The client's Finished used sequence number 0.
    for seq in 1..=4 {
        let record = protected_handshake_record(&keys.client, seq, &hello);
        ours::feed_server(&mut s, &record, NOW).unwrap();
        let mut out = Vec::new();
        s.write_tls(&mut out);
        assert!(
            is_no_renegotiation_warning(&out, &keys.server, seq),
            "{out:?}"
        );
    }
    let record = protected_handshake_record(&keys.client, 5, &hello);
    let err = ours::feed_server(&mut s, &record, NOW).unwrap_err();
    assert_eq!(
        err,
        Error::PeerIncompatible(PeerIncompatible::Renegotiation)
    );
}

#[test]
fn a_hello_request_gets_a_no_renegotiation_warning() {
    let (mut c, _s, keys) = handshake_with_known_keys();
    // The server's Finished used sequence number 0; HelloRequest is empty (RFC 5246 §7.4.1.1).
    let record = protected_handshake_record(&keys.server, 1, &[0, 0, 0, 0]);
    ours::feed_client(&mut c, &record, NOW).unwrap();
    let mut out = Vec::new();
    c.write_tls(&mut out);
    assert!(
        is_no_renegotiation_warning(&out, &keys.client, 1),
        "{out:?}"
    );
    assert!(c.error().is_none());
}

/// TLS 1.2 session-ID resumption checks the session's own expiry against the connection's
/// `now`, as TLS 1.3 does, not only the cache's clock: a cache on another clock (here one
/// never advanced) must not make an expired session resumable.
#[test]
fn an_expired_session_id_gets_a_full_handshake_whatever_the_cache_clock_says() {
    let cache_clock = clock();
    let (client, _) = client();
    let client = Arc::new(client.with_tls12_tickets(false));
    let server =
        Arc::new(id_only(&cache_clock).with_tls12_session_lifetime(Duration::from_secs(60)));
    ours::connect(&client, &server, NOW, None).unwrap();
    let later = NOW.saturating_add(Duration::from_secs(61));
    let out = ours::connect(&client, &server, later, None).unwrap();
    assert_eq!(out.server_kind, FULL);
    assert_eq!(out.client_kind, FULL);
}

/// A session cache that remembers the expiry of every session put into it.
struct ExpiryRecorder {
    inner: MemoryCache,
    expiries: std::sync::Mutex<Vec<Timestamp>>,
}

impl SessionCache for ExpiryRecorder {
    fn put_encoded(
        &self,
        key: &[u8],
        value: &[u8],
        expires_at: Timestamp,
    ) -> Result<(), tls_resumption::store::StoreError> {
        self.expiries.lock().unwrap().push(expires_at);
        self.inner.put_encoded(key, value, expires_at)
    }
    fn get_encoded(
        &self,
        key: &[u8],
    ) -> Result<Option<tls_resumption::crypto::secret::SecretVec>, tls_resumption::store::StoreError>
    {
        self.inner.get_encoded(key)
    }
    fn take_encoded(
        &self,
        key: &[u8],
    ) -> Result<Option<tls_resumption::crypto::secret::SecretVec>, tls_resumption::store::StoreError>
    {
        self.inner.take_encoded(key)
    }
    fn remove(&self, key: &[u8]) -> Result<(), tls_resumption::store::StoreError> {
        self.inner.remove(key)
    }
}

/// The TLS 1.2 session lifetime is capped at 24 hours (RFC 5246 §F.1.4 suggests an upper
/// limit of 24 hours on session ID lifetimes): a longer configured lifetime is cut down.
#[test]
fn the_tls12_session_lifetime_is_capped_at_a_day() {
    let cache = Arc::new(ExpiryRecorder {
        inner: MemoryCache::builder().capacity(8).clock(clock()).build(),
        expiries: std::sync::Mutex::new(Vec::new()),
    });
    let (client, _) = client();
    let client = Arc::new(client.with_tls12_tickets(false));
    let server = Arc::new(
        ours::server_config("server")
            .with_versions(&[TlsVersion::Tls12])
            .with_tickets(TicketMode::Disabled)
            .with_session_cache(Some(cache.clone()))
            .with_tls12_session_lifetime(Duration::from_secs(48 * 3600)),
    );
    ours::connect(&client, &server, NOW, None).unwrap();
    let expiries = cache.expiries.lock().unwrap();
    assert_eq!(
        *expiries,
        [NOW.saturating_add(Duration::from_secs(24 * 3600))]
    );
}
