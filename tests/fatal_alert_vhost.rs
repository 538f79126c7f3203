//! RFC 5246 §7.2.2 through a virtual host: a session kept in a host's namespaced cache (the
//! TLS 1.2 session cache, or the stateful TLS 1.3 ticket cache) is removed from it when its
//! connection ends with a fatal alert, though the cache's keys are not the session IDs or
//! ticket identities the connection saw.

mod peers;

use std::sync::Arc;
use std::time::Duration;

use peers::ours;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::PrivateKeyDer;
use tls_resumption::store::{MemoryCache, MemoryClientStore};
use tls_resumption::time::{ManualClock, Timestamp};
use tls_resumption::{
    AlertDescription, ClientConfig, ClientConnection, HandshakeKind, ServerConfig,
    ServerConnection, TicketMode, TlsVersion, VirtualHost,
};

const NOW: Timestamp = Timestamp::from_secs(1_700_000_000);

fn new_cache() -> Arc<MemoryCache> {
    let clock = Arc::new(ManualClock::new(NOW));
    Arc::new(MemoryCache::builder().capacity(64).clock(clock).build())
}

fn client(version: TlsVersion) -> Arc<ClientConfig> {
    Arc::new(
        ours::client_config("server")
            .with_versions(&[version])
            .with_session_store(Some(Arc::new(MemoryClientStore::new(4, 4)))),
    )
}

/// A server whose virtual host "localhost" (the name our client sends) keeps its sessions
/// in `cache`: by session ID in TLS 1.2, as stateful tickets in TLS 1.3. The default host
/// has caches of its own.
fn server(version: TlsVersion, cache: &Arc<MemoryCache>) -> Arc<ServerConfig> {
    let key = PrivateKeyDer::from_pem_file(peers::pki::path("server.key")).unwrap();
    let host = VirtualHost::new(ours::certs("server"), &key).unwrap();
    let host = match version {
        TlsVersion::Tls12 => host
            .with_tickets(TicketMode::Disabled)
            .with_session_cache(Some(cache.clone())),
        TlsVersion::Tls13 => host.with_tickets(TicketMode::Stateful {
            cache: cache.clone(),
            lifetime: Duration::from_secs(3600),
        }),
    };
    Arc::new(
        ours::server_config("server")
            .with_versions(&[version])
            .with_virtual_host("localhost", host),
    )
}

/// A completed handshake, then an application-data record from the client that fails to
/// decrypt: the server ends the connection with bad_record_mac.
fn server_ends_with_a_fatal_alert(c: &Arc<ClientConfig>, s: &Arc<ServerConfig>) {
    let mut client = ClientConnection::new(c.clone(), "localhost", NOW).unwrap();
    let mut server = ServerConnection::new(s.clone());
    ours::pump(&mut client, &mut server, NOW).unwrap();
    assert_eq!(server.server_name(), Some("localhost"));
    client.send_plaintext(b"data").unwrap();
    let mut record = Vec::new();
    client.write_tls(&mut record);
    let last = record.len() - 1;
    record[last] ^= 1;
    let err = ours::feed_server(&mut server, &record, NOW).unwrap_err();
    assert_eq!(err.alert(), AlertDescription::BadRecordMac);
}

#[test]
fn a_fatal_alert_removes_the_session_from_a_virtual_hosts_namespaced_cache_rfc5246_7_2_2() {
    for version in [TlsVersion::Tls12, TlsVersion::Tls13] {
        // Control: without the alert, the session is in the host's cache and resumes.
        let cache = new_cache();
        let (c, s) = (client(version), server(version, &cache));
        ours::connect(&c, &s, NOW, None).unwrap();
        assert!(!cache.is_empty(), "{version:?}");
        let next = ours::connect(&c, &s, NOW, None).unwrap();
        assert!(next.server_kind.unwrap().is_resumed(), "{version:?}");

        let cache = new_cache();
        let (c, s) = (client(version), server(version, &cache));
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
