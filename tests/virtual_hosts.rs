//! Virtual hosts, in memory: one server answering several names (RFC 6066 §3 server_name),
//! each with its own certificate, ticket key and session cache, and a default for every
//! other name. A session made under one name never resumes under another, by TLS 1.3 ticket
//! (RFC 8446 §4.6.1, §4.2.11), TLS 1.2 ticket or TLS 1.2 session ID (RFC 6066 §3: "MUST NOT
//! accept the request to resume the session if the server_name extension contains a
//! different name"), and a leaked ticket key of one name opens nothing of another.

mod peers;

use std::sync::{Arc, Mutex};

use peers::ours;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tls_resumption::crypto::kx::KxGroup;
use tls_resumption::crypto::secret::SecretVec;
use tls_resumption::error::PeerMisbehaved;
use tls_resumption::store::{
    ClientSessionStore, ClientTls12Session, ClientTls13Ticket, MemoryCache, MemoryClientStore,
    SessionCache, StoreError,
};
use tls_resumption::ticket::{
    open_session, AeadSealer, RotatingSealer, Schedule, TicketKeyMaterial, TicketSealer,
};
use tls_resumption::time::{ManualClock, Timestamp};
use tls_resumption::verify::{CertificateError, PinnedCertificates, ServerCertVerifier};
use tls_resumption::{
    AlertDescription, ClientConfig, ClientConnection, EarlyDataStatus, Error, HandshakeKind,
    ResumptionMechanism, ServerConfig, ServerConnection, TicketMode, TlsVersion, VirtualHost,
};

const NOW: Timestamp = Timestamp::from_secs(1_700_000_000);
const A: &str = "a.example";
const B: &str = "b.example";
const FULL: Option<HandshakeKind> = Some(HandshakeKind::Full);

fn resumed(mechanism: ResumptionMechanism) -> Option<HandshakeKind> {
    Some(HandshakeKind::Resumed {
        mechanism,
        early_data: EarlyDataStatus::NotOffered,
    })
}

const TLS13: ResumptionMechanism = ResumptionMechanism::Tls13Psk { dhe: true };

/// How sessions are resumed in a test: the three mechanisms of RFC 8446 and RFC 5246/5077.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Mechanism {
    Tls13Ticket,
    Tls12Ticket,
    Tls12SessionId,
}

impl Mechanism {
    const ALL: [Self; 3] = [Self::Tls13Ticket, Self::Tls12Ticket, Self::Tls12SessionId];

    fn version(self) -> TlsVersion {
        match self {
            Self::Tls13Ticket => TlsVersion::Tls13,
            Self::Tls12Ticket | Self::Tls12SessionId => TlsVersion::Tls12,
        }
    }

    fn resumed(self) -> Option<HandshakeKind> {
        resumed(match self {
            Self::Tls13Ticket => TLS13,
            Self::Tls12Ticket => ResumptionMechanism::Ticket,
            Self::Tls12SessionId => ResumptionMechanism::SessionId,
        })
    }
}

fn key(name: &str) -> PrivateKeyDer<'static> {
    PrivateKeyDer::from_pem_file(peers::pki::path(&format!("{name}.key"))).unwrap()
}

fn end_entity(name: &str) -> CertificateDer<'static> {
    ours::certs(name).remove(0)
}

/// A ticket sealer under a key the test knows (so it can "leak" it).
fn sealer(byte: u8) -> Arc<AeadSealer> {
    let material = TicketKeyMaterial::new([byte; 16], &[byte; 32]).unwrap();
    Arc::new(AeadSealer::new(material, std::time::Duration::from_secs(3600)).unwrap())
}

/// A session cache on the test's clock.
fn cache() -> Arc<dyn SessionCache> {
    let clock = Arc::new(ManualClock::new(NOW));
    Arc::new(MemoryCache::builder().capacity(64).clock(clock).build())
}

/// A host with the test certificate `cert`, the given sealer and cache, set up for `m`.
fn host(
    cert: &str,
    m: Mechanism,
    sealer: &Arc<AeadSealer>,
    cache: &Arc<dyn SessionCache>,
) -> VirtualHost {
    let host = VirtualHost::new(ours::certs(cert), &key(cert)).unwrap();
    match m {
        Mechanism::Tls12SessionId => host
            .with_tickets(TicketMode::Disabled)
            .with_session_cache(Some(cache.clone())),
        Mechanism::Tls13Ticket | Mechanism::Tls12Ticket => host
            .with_tickets(TicketMode::Stateless(sealer.clone()))
            .with_session_cache(None),
    }
}

/// The keys two names are served with.
struct Keys {
    a: Arc<AeadSealer>,
    b: Arc<AeadSealer>,
    cache_a: Arc<dyn SessionCache>,
    cache_b: Arc<dyn SessionCache>,
}

impl Keys {
    /// Each name its own ticket key and its own cache.
    fn own() -> Self {
        Self {
            a: sealer(0xa),
            b: sealer(0xb),
            cache_a: cache(),
            cache_b: cache(),
        }
    }

    /// One ticket key and one cache for both names: an operator's shortcut, which the
    /// name binding of every session must still make safe.
    fn shared() -> Self {
        let (sealer, cache) = (sealer(0xc), cache());
        Self {
            a: sealer.clone(),
            b: sealer,
            cache_a: cache.clone(),
            cache_b: cache,
        }
    }
}

/// A server for `m` with names A (certificate `server`) and B (certificate `b_cert`), and
/// the RSA certificate as the default for every other name.
fn server(m: Mechanism, b_cert: &str, keys: &Keys) -> Arc<ServerConfig> {
    let default = ours::server_config("server-rsa")
        .with_versions(&[m.version()])
        .with_session_cache(Some(cache()));
    Arc::new(
        default
            .with_virtual_host(A, host("server", m, &keys.a, &keys.cache_a))
            .with_virtual_host(B, host(b_cert, m, &keys.b, &keys.cache_b)),
    )
}

/// Trusts the test certificates and records which one each server name presented.
#[derive(Debug)]
struct Presented {
    pinned: PinnedCertificates,
    seen: Mutex<Vec<(String, CertificateDer<'static>)>>,
}

impl Presented {
    fn new() -> Arc<Self> {
        let certs = ["server", "server-p384", "server-rsa"].map(end_entity);
        Arc::new(Self {
            pinned: PinnedCertificates::new(certs),
            seen: Mutex::new(Vec::new()),
        })
    }

    fn last(&self) -> (String, CertificateDer<'static>) {
        self.seen.lock().unwrap().last().unwrap().clone()
    }
}

impl ServerCertVerifier for Presented {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &str,
        now: Timestamp,
    ) -> Result<(), CertificateError> {
        self.seen
            .lock()
            .unwrap()
            .push((server_name.to_owned(), end_entity.clone().into_owned()));
        self.pinned
            .verify_server_cert(end_entity, intermediates, server_name, now)
    }
}

/// A client store blind to server names: what one name left is offered under any other, as
/// a client carrying a session from one name to another would. It records the tickets and
/// session IDs it was given and how many it handed out.
#[derive(Default)]
struct NameBlind {
    inner: MemoryClientStore,
    tickets: Mutex<Vec<Vec<u8>>>,
    session_ids: Mutex<Vec<Vec<u8>>>,
    offered: Mutex<usize>,
}

impl NameBlind {
    fn offered(&self) -> usize {
        *self.offered.lock().unwrap()
    }

    fn last_ticket(&self) -> Vec<u8> {
        self.tickets.lock().unwrap().last().unwrap().clone()
    }
}

impl ClientSessionStore for NameBlind {
    fn set_tls12_session(&self, _: &str, session: ClientTls12Session) -> Result<(), StoreError> {
        if let Some(ticket) = &session.ticket {
            self.tickets.lock().unwrap().push(ticket.clone());
        }
        if !session.session_id.is_empty() {
            self.session_ids
                .lock()
                .unwrap()
                .push(session.session_id.clone());
        }
        self.inner.set_tls12_session("any", session)
    }

    fn take_tls12_session(
        &self,
        _: &str,
        now: Timestamp,
    ) -> Result<Option<ClientTls12Session>, StoreError> {
        let taken = self.inner.take_tls12_session("any", now)?;
        *self.offered.lock().unwrap() += usize::from(taken.is_some());
        Ok(taken)
    }

    fn insert_tls13_ticket(&self, _: &str, ticket: ClientTls13Ticket) -> Result<(), StoreError> {
        self.tickets.lock().unwrap().push(ticket.ticket.clone());
        self.inner.insert_tls13_ticket("any", ticket)
    }

    fn take_tls13_ticket(
        &self,
        _: &str,
        now: Timestamp,
    ) -> Result<Option<ClientTls13Ticket>, StoreError> {
        let taken = self.inner.take_tls13_ticket("any", now)?;
        *self.offered.lock().unwrap() += usize::from(taken.is_some());
        Ok(taken)
    }
}

fn client(
    m: Mechanism,
    verifier: Arc<Presented>,
    store: Arc<dyn ClientSessionStore>,
) -> Arc<ClientConfig> {
    Arc::new(
        ClientConfig::new(verifier)
            .with_versions(&[m.version()])
            .with_tls12_tickets(m == Mechanism::Tls12Ticket)
            .with_session_store(Some(store)),
    )
}

/// One connection to `server_name` (an IP address sends no server_name); the handshake kind
/// each side saw.
fn connect(
    client: &Arc<ClientConfig>,
    server: &Arc<ServerConfig>,
    server_name: &str,
) -> Result<(Option<HandshakeKind>, Option<HandshakeKind>), Error> {
    let mut c = ClientConnection::new(client.clone(), server_name, NOW)?;
    let mut s = ServerConnection::new(server.clone());
    ours::pump(&mut c, &mut s, NOW)?;
    assert!(!c.is_handshaking() && !s.is_handshaking());
    c.send_plaintext(b"ping")?;
    ours::pump(&mut c, &mut s, NOW)?;
    assert_eq!(s.take_plaintext(), b"ping");
    Ok((c.handshake_kind(), s.handshake_kind()))
}

/// RFC 6066 §3: the server answers each name with that name's certificate, matching names
/// without regard to case; an unknown name, and a client sending none, get the default.
#[test]
fn each_name_presents_its_own_certificate_and_other_names_the_default() {
    for m in [Mechanism::Tls13Ticket, Mechanism::Tls12SessionId] {
        let server = server(m, "server-p384", &Keys::own());
        let verifier = Presented::new();
        let client = client(m, verifier.clone(), Arc::new(MemoryClientStore::default()));
        let expected = [
            (A, "server"),
            ("A.Example", "server"),
            (B, "server-p384"),
            ("c.example", "server-rsa"),
            ("127.0.0.1", "server-rsa"),
        ];
        for (name, cert) in expected {
            connect(&client, &server, name).unwrap();
            let (seen_name, presented) = verifier.last();
            assert_eq!(seen_name, name);
            assert!(
                presented == end_entity(cert),
                "{m:?}: {name} got another certificate than {cert}"
            );
        }
    }
}

/// The control: each name resumes its own sessions, by every mechanism.
#[test]
fn a_name_resumes_its_own_sessions() {
    for m in Mechanism::ALL {
        let server = server(m, "server", &Keys::own());
        let client = client(m, Presented::new(), Arc::new(MemoryClientStore::default()));
        for name in [A, B] {
            assert_eq!(
                connect(&client, &server, name).unwrap(),
                (FULL, FULL),
                "{m:?}"
            );
            let again = connect(&client, &server, name).unwrap();
            assert_eq!(again, (m.resumed(), m.resumed()), "{m:?} under {name}");
        }
    }
}

/// RFC 6066 §3 and RFC 8446 §4.6.1: a ticket or session made under A and offered under B
/// (both names with the same certificate) gets a full handshake, by every mechanism, whether
/// the names have keys of their own or share one ticket key and one cache.
#[test]
fn a_session_made_under_one_name_is_not_resumed_under_another_with_the_same_certificate() {
    for m in Mechanism::ALL {
        for (keys, which) in [(Keys::own(), "own keys"), (Keys::shared(), "shared keys")] {
            let server = server(m, "server", &keys);
            let store = Arc::new(NameBlind::default());
            let client = client(m, Presented::new(), store.clone());
            assert_eq!(connect(&client, &server, A).unwrap(), (FULL, FULL));
            let crossed = connect(&client, &server, B).unwrap();
            assert_eq!(
                store.offered(),
                1,
                "{m:?}, {which}: A's session was offered under B"
            );
            assert_eq!(
                crossed,
                (FULL, FULL),
                "{m:?}, {which}: A's session resumed under B"
            );
        }
    }
}

/// The same from the default host: a session made under an unknown name resumes neither
/// under a virtual host's name nor under another unknown name.
#[test]
fn a_session_of_the_default_host_is_not_resumed_under_another_name() {
    for m in Mechanism::ALL {
        let server = server(m, "server", &Keys::shared());
        let store = Arc::new(NameBlind::default());
        let client = client(m, Presented::new(), store.clone());
        connect(&client, &server, "c.example").unwrap();
        assert_eq!(
            connect(&client, &server, "d.example").unwrap(),
            (FULL, FULL),
            "{m:?}"
        );
        assert_eq!(connect(&client, &server, A).unwrap(), (FULL, FULL), "{m:?}");
        assert_eq!(store.offered(), 2, "{m:?}");
    }
}

/// A leak of A's ticket key (an attacker holding a copy of it) opens A's tickets, and none
/// of B's, even where A and B share a certificate: each name seals under its own key.
#[test]
fn a_leaked_ticket_key_of_one_name_opens_no_ticket_of_the_other() {
    for m in [Mechanism::Tls13Ticket, Mechanism::Tls12Ticket] {
        let keys = Keys::own();
        let server = server(m, "server", &keys);
        let store = Arc::new(NameBlind::default());
        let client = client(m, Presented::new(), store.clone());
        connect(&client, &server, A).unwrap();
        let ticket_a = store.last_ticket();
        connect(&client, &server, B).unwrap();
        let ticket_b = store.last_ticket();
        // The attacker's copy of A's key.
        let leaked = sealer(0xa);
        assert!(
            open_session(leaked.as_ref(), &ticket_a, NOW).is_ok(),
            "{m:?}: the leak is A's key"
        );
        assert!(
            open_session(leaked.as_ref(), &ticket_b, NOW).is_err(),
            "{m:?}: A's key opened B's ticket"
        );
        assert!(keys.a.open(&ticket_b).is_err());
        assert!(
            open_session(keys.b.as_ref(), &ticket_b, NOW).is_ok(),
            "{m:?}: B opens its own"
        );
    }
}

/// A session cache that counts the lookups that found something.
struct CountingCache {
    inner: Arc<dyn SessionCache>,
    hits: Mutex<usize>,
}

impl SessionCache for CountingCache {
    fn put_encoded(&self, key: &[u8], value: &[u8], expires: Timestamp) -> Result<(), StoreError> {
        self.inner.put_encoded(key, value, expires)
    }

    fn get_encoded(&self, key: &[u8]) -> Result<Option<SecretVec>, StoreError> {
        let found = self.inner.get_encoded(key)?;
        *self.hits.lock().unwrap() += usize::from(found.is_some());
        Ok(found)
    }

    fn take_encoded(&self, key: &[u8]) -> Result<Option<SecretVec>, StoreError> {
        self.inner.take_encoded(key)
    }

    fn remove(&self, key: &[u8]) -> Result<(), StoreError> {
        self.inner.remove(key)
    }
}

/// A cache shared by two names is namespaced: A's TLS 1.2 session sits in it under a key of
/// A's, so B's lookup of A's session ID finds nothing at all (rather than finding it and
/// refusing it for its name), and neither does a lookup of the bare ID.
#[test]
fn a_cache_shared_by_two_names_keeps_their_session_ids_apart() {
    let counting = Arc::new(CountingCache {
        inner: cache(),
        hits: Mutex::new(0),
    });
    let shared: Arc<dyn SessionCache> = counting.clone();
    let keys = Keys {
        cache_a: shared.clone(),
        cache_b: shared.clone(),
        ..Keys::shared()
    };
    let m = Mechanism::Tls12SessionId;
    let server = server(m, "server", &keys);
    let store = Arc::new(NameBlind::default());
    let client = client(m, Presented::new(), store.clone());
    connect(&client, &server, A).unwrap();
    assert_eq!(connect(&client, &server, B).unwrap(), (FULL, FULL));
    assert_eq!(store.offered(), 1);
    assert_eq!(
        *counting.hits.lock().unwrap(),
        0,
        "B's lookup found A's session"
    );
    let id = store.session_ids.lock().unwrap()[0].clone();
    assert!(
        shared.get(&id).unwrap().is_none(),
        "stored under the bare session ID"
    );
    // B's own session, offered under B, is found and resumed.
    assert_eq!(
        connect(&client, &server, B).unwrap(),
        (m.resumed(), m.resumed())
    );
    assert_eq!(*counting.hits.lock().unwrap(), 1);
}

/// The operator reads each name's ticket-key exposure, resolved as a handshake resolves the
/// name; the default host's plain sealer gives no report.
#[test]
fn exposure_is_reported_per_name() {
    let clock = Arc::new(ManualClock::new(NOW));
    let rotating = || Arc::new(RotatingSealer::new(clock.clone(), Schedule::default()).unwrap());
    let (a, b) = (rotating(), rotating());
    let vhost = |sealer: &Arc<RotatingSealer>| {
        VirtualHost::new(ours::certs("server"), &key("server"))
            .unwrap()
            .with_tickets(TicketMode::Stateless(sealer.clone()))
    };
    let config = ours::server_config("server-rsa")
        .with_virtual_host(A, vhost(&a))
        .with_virtual_host(B, vhost(&b));
    let exposure_a = config.exposure(Some(A)).unwrap();
    let exposure_b = config.exposure(Some("B.EXAMPLE")).unwrap();
    assert_eq!(exposure_a, a.exposure());
    assert_eq!(exposure_b, b.exposure());
    assert_ne!(exposure_a.keys[0].name, exposure_b.keys[0].name);
    assert!(config.exposure(Some("c.example")).is_none());
    assert!(config.exposure(None).is_none());
    let mut names: Vec<&str> = config.virtual_host_names().collect();
    names.sort_unstable();
    assert_eq!(names, [A, B]);
}

/// RFC 8446 §4.1.2: after a HelloRetryRequest the client repeats its ClientHello with only
/// the listed changes, and the server name is not one of them. The server resolved its host
/// from the first; a second naming another host would pair one name's certificate with the
/// other's sessions, so it is refused with illegal_parameter.
#[test]
fn a_server_name_changed_after_a_hello_retry_request_is_refused() {
    let keys = Keys::own();
    let m = Mechanism::Tls13Ticket;
    // The client's first share is X25519; the server takes only P-384: a retry.
    let server = Arc::new(
        ours::server_config("server-rsa")
            .with_groups(&[KxGroup::Secp384r1])
            .with_virtual_host(A, host("server", m, &keys.a, &keys.cache_a))
            .with_virtual_host(B, host("server-p384", m, &keys.b, &keys.cache_b)),
    );
    let client = client(m, Presented::new(), Arc::new(MemoryClientStore::default()));
    let mut c = ClientConnection::new(client, A, NOW).unwrap();
    let mut s = ServerConnection::new(server);
    let mut first = Vec::new();
    c.write_tls(&mut first);
    ours::feed_server(&mut s, &first, NOW).unwrap();
    let mut retry = Vec::new();
    s.write_tls(&mut retry);
    ours::feed_client(&mut c, &retry, NOW).unwrap();
    let mut second = Vec::new();
    c.write_tls(&mut second);
    let at = second
        .windows(A.len())
        .position(|w| w == A.as_bytes())
        .expect("the second ClientHello names A");
    second[at..at + B.len()].copy_from_slice(B.as_bytes());
    let err = ours::feed_server(&mut s, &second, NOW).unwrap_err();
    assert!(
        matches!(
            err,
            Error::PeerMisbehaved(PeerMisbehaved::IllegalParameter(
                "server_name changed after retry"
            ))
        ),
        "{err:?}"
    );
    assert_eq!(err.alert(), AlertDescription::IllegalParameter);
}
