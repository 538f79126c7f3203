//! `ConnectOptions::with_tls12_session_id_with_ticket`: a stored TLS 1.2 session's own ID
//! offered beside its ticket (RFC 5077 §3.4), so a server that cannot open the ticket may
//! still resume by the ID. Off by default: then the ID beside a ticket is a fresh random one.

mod peers;

use std::sync::Arc;

use peers::ours;
use tls_resumption::store::{ClientSessionStore, MemoryCache, MemoryClientStore};
use tls_resumption::time::{ManualClock, Timestamp};
use tls_resumption::{
    ClientConfig, ClientConnection, ConnectOptions, EarlyDataStatus, HandshakeKind,
    ResumptionMechanism, ServerConfig, ServerConnection, TlsVersion,
};

const NOW: Timestamp = Timestamp::from_secs(1_700_000_000);

fn resumed(mechanism: ResumptionMechanism) -> Option<HandshakeKind> {
    Some(HandshakeKind::Resumed {
        mechanism,
        early_data: EarlyDataStatus::NotOffered,
    })
}

/// A TLS 1.2 server with a session cache and tickets.
fn server() -> Arc<ServerConfig> {
    let clock = Arc::new(ManualClock::new(NOW));
    let cache = MemoryCache::builder().capacity(16).clock(clock).build();
    Arc::new(
        ours::server_config("server")
            .with_versions(&[TlsVersion::Tls12])
            .with_session_cache(Some(Arc::new(cache))),
    )
}

/// A client whose store holds a session with the ID the server cached and, beside it, a
/// ticket the server cannot open.
fn client_with_id_and_bad_ticket(server: &Arc<ServerConfig>) -> (Arc<ClientConfig>, Vec<u8>) {
    let store = Arc::new(MemoryClientStore::new(4, 4));
    let config = ours::client_config("server")
        .with_versions(&[TlsVersion::Tls12])
        .with_session_store(Some(store.clone()));
    // Without tickets the server names the session by an ID.
    let no_tickets = Arc::new(config.clone().with_tls12_tickets(false));
    ours::connect(&no_tickets, server, NOW, None).unwrap();
    let mut session = store.take_tls12_session("localhost", NOW).unwrap().unwrap();
    assert!(!session.session_id.is_empty() && session.ticket.is_none());
    session.ticket = Some(vec![0x5a; 80]);
    let id = session.session_id.clone();
    store.set_tls12_session("localhost", session).unwrap();
    (Arc::new(config), id)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// One connection with `options`: the client's first flight, and both sides' verdicts.
fn run(
    client: &Arc<ClientConfig>,
    server: &Arc<ServerConfig>,
    options: ConnectOptions,
) -> (Vec<u8>, Option<HandshakeKind>, Option<HandshakeKind>) {
    let mut c = ClientConnection::with_options(client.clone(), "localhost", NOW, options).unwrap();
    let mut hello = Vec::new();
    c.write_tls(&mut hello);
    let mut s = ServerConnection::new(server.clone());
    ours::feed_server(&mut s, &hello, NOW).unwrap();
    ours::pump(&mut c, &mut s, NOW).unwrap();
    assert!(!c.is_handshaking() && !s.is_handshaking());
    (hello, c.handshake_kind(), s.handshake_kind())
}

#[test]
fn by_default_the_id_beside_a_ticket_is_random_and_a_bad_ticket_means_a_full_handshake() {
    let server = server();
    let (client, id) = client_with_id_and_bad_ticket(&server);
    let (hello, client_kind, server_kind) = run(&client, &server, ConnectOptions::default());
    assert!(!contains(&hello, &id), "the stored ID was offered");
    assert_eq!(client_kind, Some(HandshakeKind::Full));
    assert_eq!(server_kind, Some(HandshakeKind::Full));
}

#[test]
fn the_option_offers_the_stored_id_beside_the_ticket_and_the_server_resumes_by_it() {
    let server = server();
    let (client, id) = client_with_id_and_bad_ticket(&server);
    let options = ConnectOptions::default().with_tls12_session_id_with_ticket(true);
    assert!(options.tls12_session_id_with_ticket());
    let (hello, client_kind, server_kind) = run(&client, &server, options);
    assert!(contains(&hello, &id), "the stored ID was not offered");
    assert_eq!(server_kind, resumed(ResumptionMechanism::SessionId));
    // The echo cannot say which of the two the server used.
    assert_eq!(client_kind, resumed(ResumptionMechanism::Ticket));
    // The session keeps its ID, so the next connection may offer it again.
    let (hello, _, server_kind) = run(&client, &server, options);
    assert!(contains(&hello, &id), "the ID was dropped from the store");
    assert_eq!(server_kind, resumed(ResumptionMechanism::SessionId));
}
