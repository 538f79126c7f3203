//! RFC 5246 §7.2.2: "Thus, any connection terminated with a fatal alert MUST NOT be resumed."
//! A connection that ends with a fatal alert (sent or received) after it made a session
//! resumable takes it back: the server removes it from its session cache (and, in TLS 1.3,
//! its stateful tickets), the client drops what it stored.

mod peers;

use std::sync::Arc;
use std::time::Duration;

use peers::ours;
use tls_resumption::store::{ClientSessionStore, MemoryCache, MemoryClientStore};
use tls_resumption::time::{ManualClock, Timestamp};
use tls_resumption::{
    AlertDescription, ClientConfig, ClientConnection, HandshakeKind, ServerConfig,
    ServerConnection, TicketMode, TlsVersion,
};

const NOW: Timestamp = Timestamp::from_secs(1_700_000_000);

fn client(version: TlsVersion, store: &Arc<MemoryClientStore>) -> Arc<ClientConfig> {
    Arc::new(
        ours::client_config("server")
            .with_versions(&[version])
            .with_session_store(Some(store.clone())),
    )
}

/// A TLS 1.2 server resuming by session ID only, or a TLS 1.3 server with stateful tickets;
/// both keep their sessions in `cache`.
fn server(version: TlsVersion, cache: &Arc<MemoryCache>) -> Arc<ServerConfig> {
    let config = ours::server_config("server").with_versions(&[version]);
    Arc::new(match version {
        TlsVersion::Tls12 => config
            .with_tickets(TicketMode::Disabled)
            .with_session_cache(Some(cache.clone())),
        TlsVersion::Tls13 => config.with_tickets(TicketMode::Stateful {
            cache: cache.clone(),
            lifetime: Duration::from_secs(3600),
        }),
    })
}

fn new_cache() -> Arc<MemoryCache> {
    let clock = Arc::new(ManualClock::new(NOW));
    Arc::new(MemoryCache::builder().capacity(64).clock(clock).build())
}

/// One application-data record from `from`, its last byte flipped so it fails to decrypt.
fn corrupted_record(mut record: Vec<u8>) -> Vec<u8> {
    let last = record.len() - 1;
    record[last] ^= 1;
    record
}

/// A handshake completed (tickets delivered), then a corrupted record from the client ends
/// the connection on the server with bad_record_mac. The client never sees the alert.
/// Returns how the handshake went.
fn server_ends_with_a_fatal_alert(
    c: &Arc<ClientConfig>,
    s: &Arc<ServerConfig>,
) -> Option<HandshakeKind> {
    let mut client = ClientConnection::new(c.clone(), "localhost", NOW).unwrap();
    let mut server = ServerConnection::new(s.clone());
    ours::pump(&mut client, &mut server, NOW).unwrap();
    client.send_plaintext(b"data").unwrap();
    let mut record = Vec::new();
    client.write_tls(&mut record);
    let err = ours::feed_server(&mut server, &corrupted_record(record), NOW).unwrap_err();
    assert_eq!(err.alert(), AlertDescription::BadRecordMac);
    server.handshake_kind()
}

/// A handshake completed (tickets delivered), then a corrupted record from the server ends
/// the connection on the client with bad_record_mac. Returns the server, which has not seen
/// the client's alert yet, and the alert.
fn client_ends_with_a_fatal_alert(
    c: &Arc<ClientConfig>,
    s: &Arc<ServerConfig>,
) -> (ServerConnection, Vec<u8>) {
    let mut client = ClientConnection::new(c.clone(), "localhost", NOW).unwrap();
    let mut server = ServerConnection::new(s.clone());
    ours::pump(&mut client, &mut server, NOW).unwrap();
    assert_eq!(client.handshake_kind(), Some(HandshakeKind::Full));
    server.send_plaintext(b"data").unwrap();
    let mut record = Vec::new();
    server.write_tls(&mut record);
    let err = ours::feed_client(&mut client, &corrupted_record(record), NOW).unwrap_err();
    assert_eq!(err.alert(), AlertDescription::BadRecordMac);
    let mut alert = Vec::new();
    client.write_tls(&mut alert);
    (server, alert)
}

/// RFC 5246 §7.2.2, server side: after the fatal alert, the session ID (TLS 1.2) or the
/// stateful tickets (TLS 1.3) the client still holds resume nothing.
#[test]
fn the_server_forgets_a_session_whose_connection_ended_with_a_fatal_alert() {
    for version in [TlsVersion::Tls12, TlsVersion::Tls13] {
        let store = Arc::new(MemoryClientStore::new(4, 4));
        let (c, cache) = (client(version, &store), new_cache());
        let s = server(version, &cache);
        // Control: without the alert, the next connection resumes.
        ours::connect(&c, &s, NOW, None).unwrap();
        let resumed = ours::connect(&c, &s, NOW, None).unwrap();
        assert!(resumed.server_kind.unwrap().is_resumed(), "{version:?}");

        let store = Arc::new(MemoryClientStore::new(4, 4));
        let (c, cache) = (client(version, &store), new_cache());
        let s = server(version, &cache);
        server_ends_with_a_fatal_alert(&c, &s);
        assert!(
            cache.is_empty(),
            "{version:?}: {} entries left",
            cache.len()
        );
        let next = ours::connect(&c, &s, NOW, None).unwrap();
        assert_eq!(next.server_kind, Some(HandshakeKind::Full), "{version:?}");
    }
}

/// RFC 5246 §7.2.2, client side: after the fatal alert, the client has nothing stored for
/// the server, and its next connection is a full handshake.
#[test]
fn the_client_drops_a_session_whose_connection_ended_with_a_fatal_alert() {
    for version in [TlsVersion::Tls12, TlsVersion::Tls13] {
        let store = Arc::new(MemoryClientStore::new(4, 4));
        let (c, cache) = (client(version, &store), new_cache());
        let s = server(version, &cache);
        let _ = client_ends_with_a_fatal_alert(&c, &s);
        assert_eq!(store.tls13_ticket_count("localhost"), 0, "{version:?}");
        assert!(
            store
                .take_tls12_session("localhost", NOW)
                .unwrap()
                .is_none(),
            "{version:?}"
        );
        let next = ours::connect(&c, &s, NOW, None).unwrap();
        assert_eq!(next.client_kind, Some(HandshakeKind::Full), "{version:?}");
    }
}

/// A close_notify is no fatal alert: the session stays resumable.
#[test]
fn a_connection_closed_normally_stays_resumable() {
    for version in [TlsVersion::Tls12, TlsVersion::Tls13] {
        let store = Arc::new(MemoryClientStore::new(4, 4));
        let (c, cache) = (client(version, &store), new_cache());
        let s = server(version, &cache);
        ours::connect(&c, &s, NOW, None).unwrap();
        let next = ours::connect(&c, &s, NOW, None).unwrap();
        assert!(next.client_kind.unwrap().is_resumed(), "{version:?}");
    }
}

/// RFC 5246 §7.2.2 on a resumed TLS 1.2 connection: the session it resumed by ID ends with it.
#[test]
fn a_session_resumed_by_id_ends_with_its_connections_fatal_alert() {
    let store = Arc::new(MemoryClientStore::new(4, 4));
    let (c, cache) = (client(TlsVersion::Tls12, &store), new_cache());
    let s = server(TlsVersion::Tls12, &cache);
    ours::connect(&c, &s, NOW, None).unwrap();
    let kind = server_ends_with_a_fatal_alert(&c, &s);
    assert!(kind.unwrap().is_resumed());
    assert!(cache.is_empty(), "{} entries left", cache.len());
    let next = ours::connect(&c, &s, NOW, None).unwrap();
    assert_eq!(next.server_kind, Some(HandshakeKind::Full));
}

/// RFC 5246 §7.2.2 for a fatal alert the server receives: the session ends too.
#[test]
fn the_server_forgets_a_session_when_it_receives_a_fatal_alert() {
    for version in [TlsVersion::Tls12, TlsVersion::Tls13] {
        let store = Arc::new(MemoryClientStore::new(4, 4));
        let (c, cache) = (client(version, &store), new_cache());
        let s = server(version, &cache);
        let (mut server, alert) = client_ends_with_a_fatal_alert(&c, &s);
        assert!(!cache.is_empty(), "{version:?}");
        let err = ours::feed_server(&mut server, &alert, NOW).unwrap_err();
        assert_eq!(
            err,
            tls_resumption::Error::AlertReceived(AlertDescription::BadRecordMac)
        );
        assert!(
            cache.is_empty(),
            "{version:?}: {} entries left",
            cache.len()
        );
    }
}
