//! RFC 5246 §7.2.2 on a TLS 1.2 connection resuming by session ID: the session ends with a
//! fatal alert only once the connection is the session's own, i.e. once the client's Finished
//! verified (RFC 5246 §7.4.9). Before that, anyone who saw the session ID (it travels in
//! clear) could send a ClientHello naming it and then a bad Finished; the victim's session
//! must survive that.

mod peers;

use std::sync::Arc;

use peers::ours;
use tls_resumption::store::{MemoryCache, MemoryClientStore};
use tls_resumption::time::{ManualClock, Timestamp};
use tls_resumption::{
    ClientConfig, ClientConnection, ServerConfig, ServerConnection, TicketMode, TlsVersion,
};

const NOW: Timestamp = Timestamp::from_secs(1_700_000_000);

fn pair() -> (Arc<ClientConfig>, Arc<ServerConfig>, Arc<MemoryCache>) {
    let clock = Arc::new(ManualClock::new(NOW));
    let cache = Arc::new(MemoryCache::builder().capacity(64).clock(clock).build());
    let client = Arc::new(
        ours::client_config("server")
            .with_versions(&[TlsVersion::Tls12])
            .with_session_store(Some(Arc::new(MemoryClientStore::new(4, 4)))),
    );
    let server = Arc::new(
        ours::server_config("server")
            .with_versions(&[TlsVersion::Tls12])
            .with_tickets(TicketMode::Disabled)
            .with_session_cache(Some(cache.clone())),
    );
    (client, server, cache)
}

#[test]
fn a_bad_finished_on_a_resumption_by_session_id_leaves_the_session_in_the_cache() {
    let (c, s, cache) = pair();
    ours::connect(&c, &s, NOW, None).unwrap();
    assert_eq!(cache.len(), 1);
    // A ClientHello naming the session (the client's own, as anyone could replay it), the
    // server's abbreviated flight, then a Finished that does not verify.
    let mut client = ClientConnection::new(c.clone(), "localhost", NOW).unwrap();
    let mut server = ServerConnection::new(s.clone());
    let mut hello = Vec::new();
    client.write_tls(&mut hello);
    ours::feed_server(&mut server, &hello, NOW).unwrap();
    let mut answer = Vec::new();
    server.write_tls(&mut answer);
    ours::feed_client(&mut client, &answer, NOW).unwrap();
    let mut finished = Vec::new();
    client.write_tls(&mut finished);
    let last = finished.len() - 1;
    finished[last] ^= 1;
    ours::feed_server(&mut server, &finished, NOW).unwrap_err();
    assert!(server.handshake_kind().unwrap().is_resumed());
    assert_eq!(cache.len(), 1, "the session was evicted by a bad Finished");
    // Its owner still resumes it.
    let next = ours::connect(&c, &s, NOW, None).unwrap();
    assert!(next.server_kind.unwrap().is_resumed());
}
