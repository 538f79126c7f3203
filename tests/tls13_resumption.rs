//! Our TLS 1.3 client with our server, in memory: every resumption path and its failures.

mod peers;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use peers::ours::{self, RecordingKeyLog};
use tls_resumption::antireplay::StrikeRegister;
use tls_resumption::crypto::kx::KxGroup;
use tls_resumption::error::PeerMisbehaved;
use tls_resumption::kdf::tls13::CipherSuite;
use tls_resumption::store::{
    ClientSessionStore, ClientTls13Ticket, MemoryCache, MemoryClientStore, StoreError,
};
use tls_resumption::ticket::{AeadSealer, TicketKeyMaterial};
use tls_resumption::time::{ManualClock, Timestamp};
use tls_resumption::{
    AlertDescription, ClientConfig, ClientConnection, EarlyDataStatus, Error, HandshakeKind,
    ResumptionMechanism, ServerConfig, ServerConnection, TicketMode,
};

const NOW: Timestamp = Timestamp::from_secs(1_700_000_000);

fn resumed(dhe: bool, early_data: EarlyDataStatus) -> Option<HandshakeKind> {
    Some(HandshakeKind::Resumed {
        mechanism: ResumptionMechanism::Tls13Psk { dhe },
        early_data,
    })
}

fn client() -> ClientConfig {
    ours::client_config("server")
}

fn server() -> ServerConfig {
    ours::server_config("server")
}

fn sealer() -> TicketMode {
    let rng = ring::rand::SystemRandom::new();
    TicketMode::Stateless(Arc::new(
        AeadSealer::new(
            TicketKeyMaterial::generate(&rng).unwrap(),
            Duration::from_secs(3600),
        )
        .unwrap(),
    ))
}

fn early_server(max: u32) -> ServerConfig {
    server().with_early_data(
        max,
        Arc::new(StrikeRegister::new(1000, Duration::from_secs(10))),
    )
}

fn arc<T>(t: T) -> Arc<T> {
    Arc::new(t)
}

#[test]
fn full_handshake_exchanges_data_and_delivers_two_tickets() {
    let out = ours::connect(&arc(client()), &arc(server()), NOW, None).unwrap();
    assert_eq!(out.client_kind, Some(HandshakeKind::Full));
    assert_eq!(out.server_kind, Some(HandshakeKind::Full));
    assert_eq!(out.client_received, b"pong");
    assert_eq!(out.server_received, b"ping");
    assert_eq!(out.tickets_received, 2);
}

#[test]
fn every_key_type_and_suite_completes_a_full_handshake() {
    for name in ["server", "server-p384", "server-ed25519", "server-rsa"] {
        for suite in tls_resumption::config::DEFAULT_SUITES {
            let c = arc(ours::client_config(name).with_suites(&[suite]));
            let out = ours::connect(&c, &arc(ours::server_config(name)), NOW, None).unwrap();
            assert_eq!(
                out.client_kind,
                Some(HandshakeKind::Full),
                "{name} {suite:?}"
            );
            assert_eq!(out.client_received, b"pong");
        }
    }
}

#[test]
fn resumption_with_psk_dhe_ke_sends_one_ticket() {
    let c = arc(client());
    let s = arc(server());
    ours::connect(&c, &s, NOW, None).unwrap();
    let second = ours::connect(&c, &s, NOW, None).unwrap();
    assert_eq!(
        second.client_kind,
        resumed(true, EarlyDataStatus::NotOffered)
    );
    assert_eq!(second.server_kind, second.client_kind);
    assert_eq!(second.tickets_received, 1);
    assert_eq!(second.client_received, b"pong");
}

#[test]
fn stateful_tickets_resume_once_each() {
    let clock = Arc::new(ManualClock::new(NOW));
    let cache = Arc::new(MemoryCache::builder().capacity(100).clock(clock).build());
    let s = arc(server().with_tickets(TicketMode::Stateful {
        cache,
        lifetime: Duration::from_secs(3600),
    }));
    let store = Arc::new(DuplicatingStore::default());
    let c = arc(client().with_session_store(Some(store.clone())));
    ours::connect(&c, &s, NOW, None).unwrap();
    // Two tickets, each resumes once.
    let second = ours::connect(&c, &s, NOW, None).unwrap();
    assert_eq!(
        second.server_kind,
        resumed(true, EarlyDataStatus::NotOffered)
    );
    // Offer the very ticket the second connection used again: the cache took it.
    store.replay_last.lock().unwrap().clone_from(&true);
    let third = ours::connect(&c, &s, NOW, None).unwrap();
    assert_eq!(third.server_kind, Some(HandshakeKind::Full));
}

#[test]
fn psk_ke_resumes_without_dhe_only_when_both_sides_opt_in() {
    let c = arc(client().with_psk_ke(true));
    let s = arc(server().with_psk_ke(true));
    ours::connect(&c, &s, NOW, None).unwrap();
    let second = ours::connect(&c, &s, NOW, None).unwrap();
    assert_eq!(
        second.client_kind,
        resumed(false, EarlyDataStatus::NotOffered)
    );
    assert_eq!(second.server_kind, second.client_kind);
    // A server that does not allow psk_ke does a full handshake instead.
    let strict = arc(server());
    ours::connect(&c, &strict, NOW, None).unwrap();
    let third = ours::connect(&c, &strict, NOW, None).unwrap();
    assert_eq!(third.server_kind, Some(HandshakeKind::Full));
}

#[test]
fn hello_retry_request_then_resumption_recomputes_binders() {
    // The client's first share is X25519; the server takes only P-384.
    let c = arc(client());
    let s = arc(server().with_groups(&[KxGroup::Secp384r1]));
    let first = ours::connect(&c, &s, NOW, None).unwrap();
    assert_eq!(first.client_kind, Some(HandshakeKind::Full));
    let second = ours::connect(&c, &s, NOW, None).unwrap();
    assert_eq!(
        second.server_kind,
        resumed(true, EarlyDataStatus::NotOffered)
    );
    assert_eq!(second.client_received, b"pong");
}

#[test]
fn early_data_is_accepted_and_delivered_as_early() {
    let c = arc(client().with_early_data(true));
    let s = arc(early_server(16384));
    ours::connect(&c, &s, NOW, None).unwrap();
    let second = ours::connect(&c, &s, NOW, Some(b"early hello")).unwrap();
    assert_eq!(second.client_kind, resumed(true, EarlyDataStatus::Accepted));
    assert_eq!(second.server_kind, second.client_kind);
    assert_eq!(second.early_data_received, b"early hello");
    assert_eq!(second.server_received, b"ping");
}

#[test]
fn early_data_is_rejected_by_a_server_that_lowered_its_limit_or_disabled_it() {
    for later in [early_server(8), server()] {
        let mode = sealer();
        let c = arc(client().with_early_data(true));
        let first = arc(early_server(16384).with_tickets(mode.clone()));
        ours::connect(&c, &first, NOW, None).unwrap();
        let s = arc(later.with_tickets(mode));
        let second = ours::connect(&c, &s, NOW, Some(b"early hello")).unwrap();
        assert_eq!(second.server_kind, resumed(true, EarlyDataStatus::Rejected));
        assert_eq!(second.client_kind, second.server_kind);
        assert!(second.early_data_received.is_empty());
        assert_eq!(second.server_received, b"ping");
    }
}

#[test]
fn a_replayed_first_flight_gets_its_early_data_rejected() {
    let c = arc(client().with_early_data(true));
    let s = arc(early_server(16384));
    ours::connect(&c, &s, NOW, None).unwrap();
    let mut client = ClientConnection::new(c.clone(), "localhost", NOW).unwrap();
    client.send_early_data(b"transfer 100").unwrap();
    let mut flight = Vec::new();
    client.write_tls(&mut flight);
    let mut original = ServerConnection::new(s.clone());
    ours::feed_server(&mut original, &flight, NOW).unwrap();
    assert_eq!(original.take_early_data(), b"transfer 100");
    let mut replay = ServerConnection::new(s.clone());
    ours::feed_server(
        &mut replay,
        &flight,
        NOW.saturating_add(Duration::from_secs(1)),
    )
    .unwrap();
    assert_eq!(
        replay.handshake_kind(),
        resumed(true, EarlyDataStatus::Rejected)
    );
    assert!(replay.take_early_data().is_empty());
}

#[test]
fn an_expired_ticket_means_a_full_handshake() {
    let c = arc(client());
    let s = arc(server().with_tickets(sealer()));
    ours::connect(&c, &s, NOW, None).unwrap();
    // The client store would drop it too; a store that keeps it shows the server refuses it.
    let later = NOW.saturating_add(Duration::from_secs(3601));
    let store = Arc::new(DuplicatingStore::default());
    let c2 = arc(client().with_session_store(Some(store.clone())));
    ours::connect(&c2, &s, NOW, None).unwrap();
    store.ignore_expiry.lock().unwrap().clone_from(&true);
    let out = ours::connect(&c2, &s, later, None).unwrap();
    assert_eq!(out.server_kind, Some(HandshakeKind::Full));
}

#[test]
fn a_ticket_under_a_key_the_server_no_longer_holds_means_a_full_handshake() {
    let c = arc(client());
    ours::connect(&c, &arc(server().with_tickets(sealer())), NOW, None).unwrap();
    let rotated = arc(server().with_tickets(sealer()));
    let out = ours::connect(&c, &rotated, NOW, None).unwrap();
    assert_eq!(out.server_kind, Some(HandshakeKind::Full));
    assert_eq!(out.client_kind, Some(HandshakeKind::Full));
}

#[test]
fn a_tampered_ticket_means_a_full_handshake() {
    let store = Arc::new(DuplicatingStore::default());
    let c = arc(client().with_session_store(Some(store.clone())));
    let s = arc(server());
    ours::connect(&c, &s, NOW, None).unwrap();
    store.tamper.lock().unwrap().clone_from(&true);
    let out = ours::connect(&c, &s, NOW, None).unwrap();
    assert_eq!(out.server_kind, Some(HandshakeKind::Full));
}

#[test]
fn a_tampered_binder_is_decrypt_error() {
    let c = arc(client());
    let s = arc(server());
    ours::connect(&c, &s, NOW, None).unwrap();
    let mut client = ClientConnection::new(c.clone(), "localhost", NOW).unwrap();
    let mut flight = Vec::new();
    client.write_tls(&mut flight);
    // The ClientHello is one plaintext record and its binder its last bytes.
    let last = flight.len() - 1;
    flight[last] ^= 1;
    let mut server = ServerConnection::new(s);
    let err = ours::feed_server(&mut server, &flight, NOW).unwrap_err();
    assert_eq!(err, Error::from(PeerMisbehaved::BadPskBinder));
    assert_eq!(err.alert(), AlertDescription::DecryptError);
    // The alert goes out, and nothing more is accepted.
    let mut out = Vec::new();
    server.write_tls(&mut out);
    assert_eq!(out, [21, 3, 3, 0, 2, 2, 51]);
    assert_eq!(server.read_tls(&flight), 0);
    assert_eq!(server.process(NOW), Err(err));
}

#[test]
fn a_ticket_of_a_suite_with_another_hash_means_a_full_handshake() {
    let mode = sealer();
    let c = arc(client());
    ours::connect(&c, &arc(server().with_tickets(mode.clone())), NOW, None).unwrap();
    let sha384 = arc(server()
        .with_tickets(mode)
        .with_suites(&[CipherSuite::Aes256GcmSha384]));
    let out = ours::connect(&c, &sha384, NOW, None).unwrap();
    assert_eq!(out.server_kind, Some(HandshakeKind::Full));
}

#[test]
fn resumed_connections_have_traffic_secrets_of_their_own() {
    let log = Arc::new(RecordingKeyLog::default());
    let c = arc(client().with_key_log(log.clone()));
    let s = arc(server());
    ours::connect(&c, &s, NOW, None).unwrap();
    ours::connect(&c, &s, NOW, None).unwrap();
    ours::connect(&c, &s, NOW, None).unwrap();
    for label in [
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
        "SERVER_HANDSHAKE_TRAFFIC_SECRET",
        "CLIENT_TRAFFIC_SECRET_0",
        "SERVER_TRAFFIC_SECRET_0",
    ] {
        let secrets = log.secrets(label);
        assert_eq!(secrets.len(), 3, "{label}");
        assert_ne!(secrets[0], secrets[1], "{label}");
        assert_ne!(secrets[1], secrets[2], "{label}");
        assert_ne!(secrets[0], secrets[2], "{label}");
    }
}

/// A client store over [`MemoryClientStore`] that can misbehave on purpose: offer a ticket
/// again, offer it past its expiry, or offer it with a flipped byte.
struct DuplicatingStore {
    inner: MemoryClientStore,
    last: Mutex<Option<(Vec<u8>, tls_resumption::session::Tls13Session)>>,
    replay_last: Mutex<bool>,
    ignore_expiry: Mutex<bool>,
    tamper: Mutex<bool>,
    /// Makes the client believe the ticket was issued this long before it was.
    backdate: Mutex<Option<Duration>>,
}

impl Default for DuplicatingStore {
    fn default() -> Self {
        Self {
            inner: MemoryClientStore::new(8, 8),
            last: Mutex::default(),
            replay_last: Mutex::default(),
            ignore_expiry: Mutex::default(),
            tamper: Mutex::default(),
            backdate: Mutex::default(),
        }
    }
}

impl DuplicatingStore {
    fn inner(&self) -> &MemoryClientStore {
        &self.inner
    }
}

impl ClientSessionStore for DuplicatingStore {
    fn set_tls12_session(
        &self,
        name: &str,
        session: tls_resumption::store::ClientTls12Session,
    ) -> Result<(), StoreError> {
        self.inner().set_tls12_session(name, session)
    }

    fn take_tls12_session(
        &self,
        name: &str,
        now: Timestamp,
    ) -> Result<Option<tls_resumption::store::ClientTls12Session>, StoreError> {
        self.inner().take_tls12_session(name, now)
    }

    fn insert_tls13_ticket(&self, name: &str, ticket: ClientTls13Ticket) -> Result<(), StoreError> {
        self.inner().insert_tls13_ticket(name, ticket)
    }

    fn take_tls13_ticket(
        &self,
        name: &str,
        now: Timestamp,
    ) -> Result<Option<ClientTls13Ticket>, StoreError> {
        if *self.replay_last.lock().unwrap() {
            if let Some((ticket, state)) = &*self.last.lock().unwrap() {
                return Ok(Some(ClientTls13Ticket {
                    ticket: ticket.clone(),
                    state: state.duplicate(),
                }));
            }
        }
        // Looked up as of the first connection's time, so an expired ticket is still handed out.
        let lookup = if *self.ignore_expiry.lock().unwrap() {
            NOW
        } else {
            now
        };
        let mut taken = self.inner().take_tls13_ticket(name, lookup)?;
        if let Some(t) = &mut taken {
            *self.last.lock().unwrap() = Some((t.ticket.clone(), t.state.duplicate()));
            if let Some(by) = *self.backdate.lock().unwrap() {
                t.state.issued_at = t.state.issued_at.saturating_sub(by);
            }
            if *self.tamper.lock().unwrap() {
                let mid = t.ticket.len() / 2;
                t.ticket[mid] ^= 0x80;
            }
        }
        Ok(taken)
    }
}

#[test]
fn an_untrusted_certificate_ends_the_handshake_with_unknown_ca() {
    let c = arc(ours::client_config("server-p384"));
    let err = ours::connect(&c, &arc(server()), NOW, None).unwrap_err();
    assert_eq!(
        err,
        Error::InvalidCertificate(tls_resumption::verify::CertificateError::NotTrusted)
    );
    assert_eq!(err.alert(), AlertDescription::UnknownCa);
}

#[test]
fn a_client_that_offers_no_common_suite_gets_handshake_failure() {
    let c = arc(client().with_suites(&[CipherSuite::ChaCha20Poly1305Sha256]));
    let s = arc(server().with_suites(&[CipherSuite::Aes128GcmSha256]));
    let mut client = ClientConnection::new(c, "localhost", NOW).unwrap();
    let mut server = ServerConnection::new(s);
    let mut flight = Vec::new();
    client.write_tls(&mut flight);
    let err = ours::feed_server(&mut server, &flight, NOW).unwrap_err();
    assert_eq!(err.alert(), AlertDescription::HandshakeFailure);
    let mut alert = Vec::new();
    server.write_tls(&mut alert);
    let client_err = ours::feed_client(&mut client, &alert, NOW).unwrap_err();
    assert_eq!(
        client_err,
        Error::AlertReceived(AlertDescription::HandshakeFailure)
    );
}

/// The client handshake traffic secret a resumption would have if only the PSK went into the
/// key schedule (psk_ke), computed from the wire bytes of ClientHello and ServerHello.
fn psk_only_client_handshake_secret(
    psk: &[u8],
    client_hello: &[u8],
    server_hello: &[u8],
) -> Vec<u8> {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(client_hello);
    ctx.update(server_hello);
    let transcript = ctx.finish();
    let hs = tls_resumption::kdf::tls13::KeySchedule::with_psk(
        tls_resumption::crypto::HashAlgorithm::Sha256,
        psk,
    )
    .psk_ke();
    let secrets = hs.traffic_secrets(transcript.as_ref()).unwrap();
    secrets.client.secret().expose_secret().to_vec()
}

/// The body of the first record in `flight` (a plaintext handshake record).
fn first_record(flight: &[u8]) -> &[u8] {
    let len = usize::from(u16::from_be_bytes([flight[3], flight[4]]));
    &flight[5..5 + len]
}

/// Resumes once and returns (PSK used, ClientHello, ServerHello, logged client handshake
/// traffic secret).
fn resume_and_capture(psk_ke: bool) -> (Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>) {
    let store = Arc::new(DuplicatingStore::default());
    let log = Arc::new(RecordingKeyLog::default());
    let c = arc(client()
        .with_session_store(Some(store.clone()))
        .with_key_log(log.clone())
        .with_psk_ke(psk_ke)
        .with_suites(&[CipherSuite::Aes128GcmSha256]));
    let s = arc(server().with_psk_ke(psk_ke));
    ours::connect(&c, &s, NOW, None).unwrap();
    let mut client = ClientConnection::new(c, "localhost", NOW).unwrap();
    let mut server = ServerConnection::new(s);
    let mut flight = Vec::new();
    client.write_tls(&mut flight);
    let client_hello = first_record(&flight).to_vec();
    ours::feed_server(&mut server, &flight, NOW).unwrap();
    let mut answer = Vec::new();
    server.write_tls(&mut answer);
    let server_hello = first_record(&answer).to_vec();
    ours::feed_client(&mut client, &answer, NOW).unwrap();
    ours::pump(&mut client, &mut server, NOW).unwrap();
    assert_eq!(
        server.handshake_kind(),
        resumed(!psk_ke, EarlyDataStatus::NotOffered)
    );
    let psk = store
        .last
        .lock()
        .unwrap()
        .as_ref()
        .unwrap()
        .1
        .resumption_psk
        .expose_secret()
        .to_vec();
    let logged = log
        .secrets("CLIENT_HANDSHAKE_TRAFFIC_SECRET")
        .pop()
        .unwrap();
    (psk, client_hello, server_hello, logged)
}

#[test]
fn psk_dhe_ke_handshake_secret_takes_a_fresh_key_exchange_that_psk_ke_does_not() {
    // psk_ke: the PSK and the transcript alone give the handshake secret.
    let (psk, ch, sh, logged) = resume_and_capture(true);
    assert_eq!(psk_only_client_handshake_secret(&psk, &ch, &sh), logged);
    // psk_dhe_ke: the same computation misses the fresh (EC)DHE secret, so it cannot match.
    let (psk, ch, sh, logged) = resume_and_capture(false);
    assert_ne!(psk_only_client_handshake_secret(&psk, &ch, &sh), logged);
}

#[test]
fn early_data_before_a_hello_retry_request_is_skipped_and_reported_rejected() {
    let c = arc(client().with_early_data(true));
    let mode = sealer();
    ours::connect(
        &c,
        &arc(early_server(16384).with_tickets(mode.clone())),
        NOW,
        None,
    )
    .unwrap();
    // Same ticket keys, but only P-384: the first hello (X25519 share) gets a retry.
    let s = arc(early_server(16384)
        .with_tickets(mode)
        .with_groups(&[KxGroup::Secp384r1]));
    let out = ours::connect(&c, &s, NOW, Some(b"lost early data")).unwrap();
    assert_eq!(out.server_kind, resumed(true, EarlyDataStatus::Rejected));
    assert_eq!(out.client_kind, out.server_kind);
    assert!(out.early_data_received.is_empty());
    assert_eq!(out.server_received, b"ping");
}

#[test]
fn a_ticket_the_client_reports_older_than_its_lifetime_means_a_full_handshake() {
    let store = Arc::new(DuplicatingStore::default());
    let c = arc(client().with_session_store(Some(store.clone())));
    let s = arc(server().with_tickets(sealer()));
    ours::connect(&c, &s, NOW, None).unwrap();
    // The client's age (over two hours) is past the one-hour lifetime; the server's own
    // view says the ticket is fresh, and still refuses it.
    *store.backdate.lock().unwrap() = Some(Duration::from_secs(7200));
    let out = ours::connect(&c, &s, NOW, None).unwrap();
    assert_eq!(out.server_kind, Some(HandshakeKind::Full));
    // The same setup without backdating resumes: the age is what made the difference.
    *store.backdate.lock().unwrap() = None;
    let out = ours::connect(&c, &s, NOW, None).unwrap();
    assert_eq!(out.server_kind, resumed(true, EarlyDataStatus::NotOffered));
}

#[test]
fn a_rotating_sealer_resumes_across_rotations_and_not_after_its_key_is_erased() {
    use tls_resumption::ticket::{RotatingSealer, Schedule, TicketError, TicketSealer};
    let clock = Arc::new(ManualClock::new(NOW));
    let sealer = Arc::new(RotatingSealer::new(clock.clone(), Schedule::default()).unwrap());
    let s = arc(server().with_tickets(TicketMode::Stateless(sealer.clone())));
    let store = Arc::new(DuplicatingStore::default());
    let c = arc(client().with_session_store(Some(store.clone())));
    ours::connect(&c, &s, NOW, None).unwrap();

    // Two rotations later the issuing key is decrypt-only: the ticket still resumes.
    let later = NOW.saturating_add(Duration::from_secs(2 * 3600 + 60));
    clock.set(later);
    let out = ours::connect(&c, &s, later, None).unwrap();
    assert_eq!(out.server_kind, resumed(true, EarlyDataStatus::NotOffered));

    // Past the decrypt window the key is erased: the ticket offered above no longer opens,
    // and a client that offers it again anyway gets a full handshake.
    let erased = NOW.saturating_add(Duration::from_secs(13 * 3600));
    clock.set(erased);
    let ticket = store.last.lock().unwrap().as_ref().unwrap().0.clone();
    assert_eq!(
        sealer.open(&ticket).unwrap_err(),
        TicketError::UnknownKeyName
    );
    *store.replay_last.lock().unwrap() = true;
    let out = ours::connect(&c, &s, erased, None).unwrap();
    assert_eq!(out.server_kind, Some(HandshakeKind::Full));
}

#[test]
fn a_forged_binder_does_not_burn_the_clients_stateful_ticket() {
    let clock = Arc::new(ManualClock::new(NOW));
    let cache = Arc::new(MemoryCache::builder().capacity(100).clock(clock).build());
    let s = arc(server().with_tickets(TicketMode::Stateful {
        cache,
        lifetime: Duration::from_secs(3600),
    }));
    let c = arc(client());
    ours::connect(&c, &s, NOW, None).unwrap();
    let mut client = ClientConnection::new(c.clone(), "localhost", NOW).unwrap();
    let mut genuine = Vec::new();
    client.write_tls(&mut genuine);
    // An observer replays the ticket identity with a forged binder (the ClientHello's last
    // bytes): refused with decrypt_error, and the ticket must still be there afterwards.
    let mut forged = genuine.clone();
    let last = forged.len() - 1;
    forged[last] ^= 1;
    let err = ours::feed_server(&mut ServerConnection::new(s.clone()), &forged, NOW).unwrap_err();
    assert_eq!(err, Error::from(PeerMisbehaved::BadPskBinder));
    let mut server = ServerConnection::new(s);
    ours::feed_server(&mut server, &genuine, NOW).unwrap();
    assert_eq!(
        server.handshake_kind(),
        resumed(true, EarlyDataStatus::NotOffered)
    );
}

/// A client store that hands out every server's tickets under any name, to present a ticket
/// to a server name it was not issued for.
struct AnyNameStore(MemoryClientStore);

impl ClientSessionStore for AnyNameStore {
    fn set_tls12_session(
        &self,
        _: &str,
        session: tls_resumption::store::ClientTls12Session,
    ) -> Result<(), StoreError> {
        self.0.set_tls12_session("any", session)
    }

    fn take_tls12_session(
        &self,
        _: &str,
        now: Timestamp,
    ) -> Result<Option<tls_resumption::store::ClientTls12Session>, StoreError> {
        self.0.take_tls12_session("any", now)
    }

    fn insert_tls13_ticket(&self, _: &str, ticket: ClientTls13Ticket) -> Result<(), StoreError> {
        self.0.insert_tls13_ticket("any", ticket)
    }

    fn take_tls13_ticket(
        &self,
        _: &str,
        now: Timestamp,
    ) -> Result<Option<ClientTls13Ticket>, StoreError> {
        self.0.take_tls13_ticket("any", now)
    }
}

#[test]
fn a_ticket_issued_for_one_server_name_does_not_resume_under_another() {
    let s = arc(server());
    let store = Arc::new(AnyNameStore(MemoryClientStore::new(8, 8)));
    let c = arc(client().with_session_store(Some(store)));
    ours::connect(&c, &s, NOW, None).unwrap();
    let mut client = ClientConnection::new(c.clone(), "other.example", NOW).unwrap();
    let mut server = ServerConnection::new(s.clone());
    ours::pump(&mut client, &mut server, NOW).unwrap();
    assert_eq!(server.server_name(), Some("other.example"));
    assert_eq!(server.handshake_kind(), Some(HandshakeKind::Full));
}

/// Seals like an `AeadSealer` and pads every ticket to 65,400 bytes: legal on the wire, but
/// too big to fit in a later ClientHello beside everything else.
struct PaddingSealer(AeadSealer);

impl tls_resumption::ticket::TicketSealer for PaddingSealer {
    fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>, tls_resumption::ticket::TicketError> {
        let mut ticket = self.0.seal(plaintext)?;
        ticket.resize(65_400, 0);
        Ok(ticket)
    }

    fn open(
        &self,
        ticket: &[u8],
    ) -> Result<tls_resumption::ticket::Opened, tls_resumption::ticket::TicketError> {
        self.0.open(ticket)
    }

    fn lifetime(&self) -> Duration {
        self.0.lifetime()
    }
}

#[test]
fn a_server_sending_oversized_tickets_only_costs_the_client_its_resumption() {
    use tls_resumption::ticket::TicketSealer;
    let rng = ring::rand::SystemRandom::new();
    let sealer = AeadSealer::new(
        TicketKeyMaterial::generate(&rng).unwrap(),
        Duration::from_secs(3600),
    )
    .unwrap();
    assert!(sealer.lifetime() > Duration::ZERO);
    let s = arc(server().with_tickets(TicketMode::Stateless(Arc::new(PaddingSealer(sealer)))));
    let c = arc(client());
    let first = ours::connect(&c, &s, NOW, None).unwrap();
    assert_eq!(first.tickets_received, 2);
    // The next connection starts (its ClientHello encodes) and makes a full handshake.
    let second = ours::connect(&c, &s, NOW, None).unwrap();
    assert_eq!(second.server_kind, Some(HandshakeKind::Full));
}

/// Whether the handshake message in `record` (one plaintext handshake record) has an
/// extension of type `typ` (a ServerHello or HelloRetryRequest).
fn server_hello_has_extension(record: &[u8], typ: u16) -> bool {
    // header (4), version (2), random (32), session ID, suite (2), compression (1).
    let sid_len = usize::from(record[38]);
    let mut at = 39 + sid_len + 3 + 2;
    while at + 4 <= record.len() {
        let t = u16::from_be_bytes([record[at], record[at + 1]]);
        let len = usize::from(u16::from_be_bytes([record[at + 2], record[at + 3]]));
        if t == typ {
            return true;
        }
        at += 4 + len;
    }
    false
}

/// A HelloRetryRequest carries a cookie only from a server doing stateless retry
/// (RFC 8446 §4.2.2, §4.1.4): one that is not must not send one, which strict clients
/// reject as unexpected.
#[test]
fn a_hello_retry_request_carries_no_cookie_unless_configured_for_stateless_retry() {
    let c = arc(client());
    let s = arc(server().with_groups(&[KxGroup::Secp384r1]));
    let mut client = ClientConnection::new(c, "localhost", NOW).unwrap();
    let mut server = ServerConnection::new(s);
    let mut hello = Vec::new();
    client.write_tls(&mut hello);
    ours::feed_server(&mut server, &hello, NOW).unwrap();
    let mut retry = Vec::new();
    server.write_tls(&mut retry);
    let hrr = first_record(&retry);
    // key_share (51) is there; cookie (44) is not.
    assert!(server_hello_has_extension(hrr, 51));
    assert!(!server_hello_has_extension(hrr, 44), "unrequested cookie");
    ours::feed_client(&mut client, &retry, NOW).unwrap();
    ours::pump(&mut client, &mut server, NOW).unwrap();
    assert_eq!(server.handshake_kind(), Some(HandshakeKind::Full));
}
