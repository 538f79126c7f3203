//! Application-Layer Protocol Negotiation (RFC 7301) between our client and server, in
//! memory, in both versions: the server's preference, the refusal when nothing is common,
//! malformed lists, the protocol kept with the session, and the 0-RTT rule of RFC 8446
//! §4.2.10 on both sides.

mod peers;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use peers::ours;
use tls_resumption::antireplay::StrikeRegister;
use tls_resumption::store::{ClientSessionStore, MemoryClientStore};
use tls_resumption::time::Timestamp;
use tls_resumption::{
    AlertDescription, ClientConfig, ClientConnection, EarlyDataStatus, Error, HandshakeKind,
    ResumptionMechanism, ServerConfig, ServerConnection, TlsVersion,
};

const NOW: Timestamp = Timestamp::from_secs(1_700_000_000);
const BOTH: [TlsVersion; 2] = [TlsVersion::Tls12, TlsVersion::Tls13];

fn client(version: TlsVersion, store: &Arc<MemoryClientStore>) -> ClientConfig {
    ours::client_config("server")
        .with_versions(&[version])
        .with_session_store(Some(store.clone()))
}

fn server(version: TlsVersion) -> ServerConfig {
    ours::server_config("server").with_versions(&[version])
}

fn early_server() -> ServerConfig {
    server(TlsVersion::Tls13).with_early_data(
        16384,
        Arc::new(StrikeRegister::new(1000, Duration::from_secs(10))),
    )
}

/// Runs one handshake (with `early` as 0-RTT data when the client may send it) and returns
/// both connections and the result.
fn handshake(
    c: &ClientConfig,
    s: &ServerConfig,
    early: Option<&[u8]>,
) -> (ClientConnection, ServerConnection, Result<(), Error>) {
    let mut client = ClientConnection::new(Arc::new(c.clone()), "localhost", NOW).unwrap();
    let mut server = ServerConnection::new(Arc::new(s.clone()));
    if let Some(data) = early {
        if client.early_data_allowance() > 0 {
            client.send_early_data(data).unwrap();
        }
    }
    let result = ours::pump(&mut client, &mut server, NOW);
    (client, server, result)
}

/// RFC 7301 §3.2: the server picks by its own preference, both connections report the
/// protocol, and the session the client keeps remembers it (both versions).
#[test]
fn the_server_preference_decides_and_the_session_remembers_it() {
    for version in BOTH {
        let store = Arc::new(MemoryClientStore::new(4, 4));
        let c = client(version, &store).with_alpn_protocols(&["http/1.1", "h2"]);
        let s = server(version).with_alpn_protocols(&["h2", "http/1.1"]);
        let (client, server, result) = handshake(&c, &s, None);
        result.unwrap();
        assert_eq!(server.alpn_protocol(), Some(&b"h2"[..]), "{version:?}");
        assert_eq!(client.alpn_protocol(), Some(&b"h2"[..]), "{version:?}");
        let kept = match version {
            TlsVersion::Tls13 => {
                store
                    .take_tls13_ticket("localhost", NOW)
                    .unwrap()
                    .unwrap()
                    .state
                    .alpn
            }
            TlsVersion::Tls12 => {
                store
                    .take_tls12_session("localhost", NOW)
                    .unwrap()
                    .unwrap()
                    .state
                    .alpn
            }
        };
        assert_eq!(kept.as_deref(), Some(&b"h2"[..]), "{version:?}");
    }
}

/// A resumed handshake negotiates the protocol again (RFC 7301 §3.1), in both versions.
#[test]
fn a_resumed_handshake_negotiates_the_protocol_again() {
    for version in BOTH {
        let store = Arc::new(MemoryClientStore::new(4, 4));
        let c = client(version, &store).with_alpn_protocols(&["h2"]);
        let s = server(version).with_alpn_protocols(&["h2"]);
        handshake(&c, &s, None).2.unwrap();
        let (client, server, result) = handshake(&c, &s, None);
        result.unwrap();
        assert!(
            matches!(server.handshake_kind(), Some(HandshakeKind::Resumed { .. })),
            "{version:?}"
        );
        assert_eq!(server.alpn_protocol(), Some(&b"h2"[..]), "{version:?}");
        assert_eq!(client.alpn_protocol(), Some(&b"h2"[..]), "{version:?}");
    }
}

/// Either side without a list means no protocol, and no failure.
#[test]
fn no_protocol_when_either_side_lists_none() {
    for version in BOTH {
        let store = Arc::new(MemoryClientStore::new(4, 4));
        for (c, s) in [
            (
                client(version, &store).with_alpn_protocols(&["h2"]),
                server(version),
            ),
            (
                client(version, &store),
                server(version).with_alpn_protocols(&["h2"]),
            ),
        ] {
            let (client, server, result) = handshake(&c, &s, None);
            result.unwrap();
            assert_eq!(server.alpn_protocol(), None);
            assert_eq!(client.alpn_protocol(), None);
        }
    }
}

/// RFC 7301 §3.2: no protocol in common is refused with `no_application_protocol`.
#[test]
fn no_common_protocol_is_refused_with_no_application_protocol() {
    for version in BOTH {
        let store = Arc::new(MemoryClientStore::new(4, 4));
        let c = client(version, &store).with_alpn_protocols(&["spdy/3"]);
        let s = server(version).with_alpn_protocols(&["h2", "http/1.1"]);
        let (mut client, mut server, result) = handshake(&c, &s, None);
        assert_eq!(
            result.unwrap_err().alert(),
            AlertDescription::NoApplicationProtocol,
            "{version:?}"
        );
        let mut alert = Vec::new();
        server.write_tls(&mut alert);
        assert_eq!(
            ours::feed_client(&mut client, &alert, NOW).unwrap_err(),
            Error::AlertReceived(AlertDescription::NoApplicationProtocol)
        );
        assert_eq!(client.alpn_protocol(), None);
    }
}

/// RFC 7301 §3.1: an empty protocol list, or an empty protocol name, is a decode_error.
#[test]
fn an_empty_list_or_an_empty_name_is_a_decode_error() {
    // The client offers "h2x": type 16, length 6, list length 4, name length 3, "h2x".
    let offered = [0, 16, 0, 6, 0, 4, 3, b'h', b'2', b'x'];
    let malformed: [[u8; 10]; 2] = [
        // An empty list, then an unknown empty extension to keep every length the same.
        [0, 16, 0, 2, 0, 0, 0xff, 0x01, 0, 0],
        // A list of one empty name (and a second name), lengths unchanged.
        [0, 16, 0, 6, 0, 4, 0, 2, b'h', b'2'],
    ];
    for version in BOTH {
        for bad in malformed {
            let store = Arc::new(MemoryClientStore::new(4, 4));
            let c = client(version, &store).with_alpn_protocols(&["h2x"]);
            let mut client = ClientConnection::new(Arc::new(c), "localhost", NOW).unwrap();
            let mut flight = Vec::new();
            client.write_tls(&mut flight);
            let at = flight
                .windows(offered.len())
                .position(|w| w == offered)
                .expect("ALPN offered");
            flight[at..at + offered.len()].copy_from_slice(&bad);
            let s = server(version).with_alpn_protocols(&["h2"]);
            let mut server = ServerConnection::new(Arc::new(s));
            let err = ours::feed_server(&mut server, &flight, NOW).unwrap_err();
            assert_eq!(
                err.alert(),
                AlertDescription::DecodeError,
                "{version:?} {err}"
            );
        }
    }
}

/// RFC 8446 §4.2.10: the server accepts 0-RTT only when the protocol it selects is the
/// ticket's; under another one the early data is rejected and the handshake resumes.
#[test]
fn the_server_rejects_early_data_when_it_selects_another_protocol() {
    let store = Arc::new(MemoryClientStore::new(4, 4));
    let c = client(TlsVersion::Tls13, &store)
        .with_early_data(true)
        .with_alpn_protocols(&["h2", "http/1.1"]);
    let first = early_server().with_alpn_protocols(&["h2"]);
    handshake(&c, &first, None).2.unwrap();
    // The same ticket keys, now preferring http/1.1.
    let later = first.clone().with_alpn_protocols(&["http/1.1", "h2"]);
    let (client, mut server, result) = handshake(&c, &later, Some(b"GET /"));
    result.unwrap();
    assert_eq!(server.alpn_protocol(), Some(&b"http/1.1"[..]));
    assert_eq!(
        server.handshake_kind(),
        Some(HandshakeKind::Resumed {
            mechanism: ResumptionMechanism::Tls13Psk { dhe: true },
            early_data: EarlyDataStatus::Rejected,
        })
    );
    assert_eq!(client.handshake_kind(), server.handshake_kind());
    assert!(server.take_early_data().is_empty());

    // That connection's ticket is http/1.1's: selecting it again, the server takes the
    // early data.
    let (_, mut server, result) = handshake(&c, &later, Some(b"GET /"));
    result.unwrap();
    assert_eq!(server.take_early_data(), b"GET /");
}

/// RFC 8446 §4.2.10: the client offers 0-RTT only under the ticket's protocol, so a ticket
/// whose protocol it no longer lists is resumed without early data.
#[test]
fn the_client_sends_no_early_data_when_the_tickets_protocol_is_no_longer_listed() {
    let store = Arc::new(MemoryClientStore::new(4, 4));
    let c = client(TlsVersion::Tls13, &store)
        .with_early_data(true)
        .with_alpn_protocols(&["h2"]);
    let s = early_server().with_alpn_protocols(&["h2", "http/1.1"]);
    handshake(&c, &s, None).2.unwrap();
    let now_http = c.clone().with_alpn_protocols(&["http/1.1"]);
    let client = ClientConnection::new(Arc::new(now_http.clone()), "localhost", NOW).unwrap();
    assert_eq!(client.early_data_allowance(), 0);
    drop(client);
    // The ticket was taken by that attempt; make another and resume without 0-RTT.
    handshake(&c, &s, None).2.unwrap();
    let (client, server, result) = handshake(&now_http, &s, Some(b"GET /"));
    result.unwrap();
    assert_eq!(
        server.handshake_kind(),
        Some(HandshakeKind::Resumed {
            mechanism: ResumptionMechanism::Tls13Psk { dhe: true },
            early_data: EarlyDataStatus::NotOffered,
        })
    );
    assert_eq!(client.alpn_protocol(), Some(&b"http/1.1"[..]));
}

/// RFC 8446 §4.2.10: a server that accepts 0-RTT but selects a protocol other than the one
/// the early data was written for makes the client abort with illegal_parameter.
#[test]
fn the_client_aborts_when_early_data_is_accepted_under_another_protocol() {
    // The client's store claims its tickets were made under the protocol in `label`.
    let label: Arc<Mutex<Option<Vec<u8>>>> = Arc::new(Mutex::new(None));
    let relabel = label.clone();
    let store = Arc::new(ours::RewritingStore::new(move |t| {
        t.state.alpn = relabel.lock().unwrap().clone();
    }));
    let c = ours::client_config("server")
        .with_versions(&[TlsVersion::Tls13])
        .with_session_store(Some(store.clone()))
        .with_early_data(true)
        .with_alpn_protocols(&["h2"]);
    // The server speaks no protocol: its tickets have none, and it accepts 0-RTT on them.
    let s = early_server();
    handshake(&c, &s, None).2.unwrap();
    let (_, mut server, result) = handshake(&c, &s, Some(b"GET /"));
    result.unwrap();
    assert_eq!(server.take_early_data(), b"GET /", "the honest case works");

    handshake(&c, &s, None).2.unwrap();
    *label.lock().unwrap() = Some(b"h2".to_vec());
    let (client, _, result) = handshake(&c, &s, Some(b"GET /"));
    assert!(result.is_err());
    assert_eq!(
        client.error().map(Error::alert),
        Some(AlertDescription::IllegalParameter)
    );
}
