//! RFC 8446 §4.6.1: "the server MAY [...] but MUST NOT [issue tickets] beyond the original
//! authentication": each resumption chains from the full handshake that authenticated the
//! client's session, and tickets issued on resumed connections never outlive that
//! authentication plus the server's maximum (here 3 hours, with 2-hour tickets).

mod peers;

use std::sync::Arc;
use std::time::Duration;

use peers::ours;
use tls_resumption::store::{ClientSessionStore, MemoryClientStore};
use tls_resumption::ticket::{AeadSealer, TicketKeyMaterial};
use tls_resumption::time::Timestamp;
use tls_resumption::{
    ClientConfig, ClientConnection, HandshakeKind, ServerConfig, ServerConnection, TicketMode,
    TlsVersion,
};

const T0: Timestamp = Timestamp::from_secs(1_700_000_000);
const HOUR: u64 = 3600;

fn at(secs: u64) -> Timestamp {
    T0.saturating_add(Duration::from_secs(secs))
}

fn setup() -> (Arc<ClientConfig>, Arc<MemoryClientStore>, ServerConfig) {
    let store = Arc::new(MemoryClientStore::new(4, 8));
    let client = ours::client_config("server")
        .with_versions(&[TlsVersion::Tls13])
        .with_session_store(Some(store.clone()));
    let rng = ring::rand::SystemRandom::new();
    let sealer = AeadSealer::new(
        TicketKeyMaterial::generate(&rng).unwrap(),
        Duration::from_secs(2 * HOUR),
    )
    .unwrap();
    let server = ours::server_config("server")
        .with_versions(&[TlsVersion::Tls13])
        .with_tickets(TicketMode::Stateless(Arc::new(sealer)));
    (Arc::new(client), store, server)
}

/// The lifetime of the newest ticket the client holds (left in the store).
fn newest_lifetime(store: &MemoryClientStore, now: Timestamp) -> u32 {
    let ticket = store
        .take_tls13_ticket("localhost", now)
        .unwrap()
        .expect("a ticket");
    let lifetime = ticket.state.lifetime_secs;
    store.insert_tls13_ticket("localhost", ticket).unwrap();
    lifetime
}

/// RFC 8446 §4.6.1: a chain of resumptions whose ticket lifetimes shrink to the end of the
/// authentication lifetime, after which the chain stops resuming.
#[test]
fn ticket_lifetimes_shrink_to_the_authentication_limit_and_the_chain_ends() {
    let (client, store, server) = setup();
    let server = Arc::new(server.with_max_auth_lifetime(Duration::from_secs(3 * HOUR)));
    let full = ours::connect(&client, &server, T0, None).unwrap();
    assert_eq!(full.server_kind, Some(HandshakeKind::Full));
    assert_eq!(newest_lifetime(&store, T0), 2 * 3600);
    // Each resumption at `when` issues one ticket of `lifetime` seconds.
    let chain = [
        (HOUR, 2 * HOUR),
        (2 * HOUR, HOUR),
        (2 * HOUR + 1800, 1800),
        (2 * HOUR + 3000, 600),
    ];
    for (when, lifetime) in chain {
        let out = ours::connect(&client, &server, at(when), None).unwrap();
        assert!(out.server_kind.unwrap().is_resumed(), "at {when} s");
        assert_eq!(
            u64::from(newest_lifetime(&store, at(when))),
            lifetime,
            "ticket issued at {when} s"
        );
    }
    // Three hours after the full handshake nothing resumes: a full handshake starts a new
    // chain, with full-length tickets again.
    let out = ours::connect(&client, &server, at(3 * HOUR), None).unwrap();
    assert_eq!(out.server_kind, Some(HandshakeKind::Full));
    assert_eq!(newest_lifetime(&store, at(3 * HOUR)), 2 * 3600);
}

/// Both connections report the authentication time the chain started with, and the tickets
/// of a resumed connection carry it (RFC 8446 §4.6.1).
#[test]
fn both_sides_report_the_original_authentication_time() {
    let (client, store, server) = setup();
    let server = Arc::new(server);
    for when in [0, HOUR, HOUR + 1800] {
        let mut c = ClientConnection::new(client.clone(), "localhost", at(when)).unwrap();
        let mut s = ServerConnection::new(server.clone());
        ours::pump(&mut c, &mut s, at(when)).unwrap();
        assert_eq!(s.authenticated_at(), Some(T0), "server at {when} s");
        assert_eq!(c.authenticated_at(), Some(T0), "client at {when} s");
        let ticket = store
            .take_tls13_ticket("localhost", at(when))
            .unwrap()
            .unwrap();
        let expected = (when > 0).then_some(T0);
        assert_eq!(ticket.state.auth_time, expected, "ticket of {when} s");
        store.insert_tls13_ticket("localhost", ticket).unwrap();
    }
}

/// A ticket still within its lifetime is not resumed past the authentication limit: a server
/// whose limit was lowered since refuses it (RFC 8446 §4.6.1).
#[test]
fn a_ticket_past_the_authentication_limit_is_not_resumed() {
    let (client, _store, server) = setup();
    ours::connect(&client, &Arc::new(server.clone()), T0, None).unwrap();
    let lowered = Arc::new(server.with_max_auth_lifetime(Duration::from_secs(HOUR)));
    let out = ours::connect(&client, &lowered, at(HOUR + 1800), None).unwrap();
    assert_eq!(out.server_kind, Some(HandshakeKind::Full));
}
