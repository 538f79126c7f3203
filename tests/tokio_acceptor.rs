//! rustls on tokio through `AsyncAcceptor` (feature `tokio`): sessions fetched from a store
//! that answers later, within a deadline, and stored through a bounded background queue.
//! In-process server, real sockets on loopback.
#![cfg(feature = "tokio")]

mod peers;
mod tokio_support;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use peers::rustls_pair::{client_config, server_config};
use rustls::HandshakeKind;
use tls_resumption::rustls_adapter::AsyncAcceptor;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_support::{serve, until, visit, FakeStore, Server};

const TLS12: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS12];
const TLS13: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS13];

/// A server whose rustls config has no ticketer: TLS 1.2 resumes by session ID, TLS 1.3 by
/// stateful tickets, both through `store`.
async fn server(
    versions: &[&'static rustls::SupportedProtocolVersion],
    store: &Arc<FakeStore>,
    tune: impl FnOnce(
        tls_resumption::rustls_adapter::AsyncAcceptorBuilder,
    ) -> tls_resumption::rustls_adapter::AsyncAcceptorBuilder,
) -> Server {
    let builder = AsyncAcceptor::builder(server_config(versions), store.clone())
        .versions(versions)
        .lookup_timeout(Duration::from_secs(5));
    serve(tune(builder).build(&tokio::runtime::Handle::current())).await
}

/// A full handshake, then waits until the sessions it made are in the store.
async fn first_visit(client: &Arc<rustls::ClientConfig>, server: &Server) -> tokio_support::Visit {
    let before = server.acceptor.stats().stored;
    let first = visit(client, server.addr).await;
    assert_eq!(first.kind, Some(HandshakeKind::Full), "{}", first.page);
    until("the new session stored", || {
        server.acceptor.stats().stored > before
    })
    .await;
    first
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls12_session_id_resumes_through_a_store_that_answers_later() {
    let store = FakeStore::new(Duration::from_millis(20));
    let server = server(TLS12, &store, |b| b).await;
    let client = Arc::new(client_config(TLS12));
    first_visit(&client, &server).await;
    let fetches = store.fetches();
    let second = visit(&client, server.addr).await;
    assert_eq!(second.kind, Some(HandshakeKind::Resumed), "{}", second.page);
    assert!(second.page.starts_with("Reused TLSv1_2"), "{}", second.page);
    assert_eq!(
        store.fetches() - fetches,
        1,
        "one lookup for the session ID"
    );
    let stats = server.acceptor.stats();
    assert_eq!(stats.hits, 1, "{stats}");
    assert!(stats.pending_max >= Duration::from_millis(20), "{stats}");
    assert_eq!(server.panics.load(Ordering::SeqCst), 0);
}

/// The critical path of a resumed TLS 1.3 stateful handshake holds exactly one store round
/// trip, the fetch: stores are queued, and here never even acknowledged, yet every handshake
/// completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls13_stateful_resumption_costs_one_fetch_and_never_waits_on_a_store() {
    let store = FakeStore::new(Duration::from_millis(10));
    store.hold_stores(true);
    let server = server(TLS13, &store, |b| b).await;
    let client = Arc::new(client_config(TLS13));
    // Stores are never acknowledged here, so wait for them to be issued instead.
    let first = visit(&client, server.addr).await;
    assert_eq!(first.kind, Some(HandshakeKind::Full));
    assert_eq!(
        store.fetches(),
        0,
        "a fresh client offers nothing to look up"
    );
    for round in 1..=5 {
        until("the tickets handed to the store", || {
            store.stores.load(Ordering::SeqCst) >= 2 * round
        })
        .await;
        let (fetches, keys) = (store.fetches(), store.keys());
        let resumed = visit(&client, server.addr).await;
        assert_eq!(
            resumed.kind,
            Some(HandshakeKind::Resumed),
            "round {round}: {}",
            resumed.page
        );
        assert!(
            resumed.page.starts_with("Reused TLSv1_3"),
            "{}",
            resumed.page
        );
        assert_eq!(
            store.fetches() - fetches,
            1,
            "round {round}: one round trip"
        );
        assert_eq!(
            store.keys() - keys,
            1,
            "round {round}: the one ticket offered"
        );
    }
    let stats = server.acceptor.stats();
    assert_eq!(
        (stats.lookups, stats.hits, stats.misses),
        (5, 5, 0),
        "{stats}"
    );
    assert_eq!(stats.stored, 0, "no store was ever acknowledged: {stats}");
    assert_eq!(stats.queue_drops, 0, "{stats}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lookup_that_never_answers_is_a_full_handshake_at_the_deadline() {
    let store = FakeStore::new(Duration::ZERO);
    let deadline = Duration::from_millis(300);
    let server = server(TLS13, &store, |b| b.lookup_timeout(deadline)).await;
    let client = Arc::new(client_config(TLS13));
    first_visit(&client, &server).await;
    store.stall(true);
    let second = visit(&client, server.addr).await;
    assert_eq!(second.kind, Some(HandshakeKind::Full), "{}", second.page);
    assert!(
        second.elapsed >= deadline,
        "waited for the lookup: {:?}",
        second.elapsed
    );
    assert!(
        second.elapsed < deadline + Duration::from_secs(3),
        "no longer than the deadline and a margin: {:?}",
        second.elapsed
    );
    let stats = server.acceptor.stats();
    assert_eq!((stats.lookup_timeouts, stats.misses), (1, 1), "{stats}");
    assert!(stats.pending_max >= deadline, "{stats}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_error_is_a_miss_and_a_full_handshake() {
    let store = FakeStore::new(Duration::ZERO);
    let server = server(TLS12, &store, |b| b).await;
    let client = Arc::new(client_config(TLS12));
    first_visit(&client, &server).await;
    store.fail(true);
    let second = visit(&client, server.addr).await;
    assert_eq!(second.kind, Some(HandshakeKind::Full), "{}", second.page);
    let stats = server.acceptor.stats();
    assert_eq!(
        (stats.lookup_errors, stats.misses, stats.hits),
        (1, 1, 0),
        "{stats}"
    );
    store.fail(false);
    // The full handshake made a new session, which resumes.
    until("the new session stored", || {
        server.acceptor.stats().stored >= 2
    })
    .await;
    let third = visit(&client, server.addr).await;
    assert_eq!(third.kind, Some(HandshakeKind::Resumed), "{}", third.page);
}

/// rustls answers a ClientHello without a usable key share with a HelloRetryRequest before it
/// looks at the PSKs, and takes the ticket from the retried hello: the value fetched for the
/// first hello is still this connection's then.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_fetched_before_a_hello_retry_resumes_after_it() {
    let test = "tokio_acceptor_hello_retry";
    if !peers::openssl::available(test) {
        return;
    }
    let mut provider = rustls::crypto::ring::default_provider();
    provider.kx_groups = vec![rustls::crypto::ring::kx_group::X25519];
    let mut config = server_config(TLS13);
    let key = config.cert_resolver.clone();
    config = rustls::ServerConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(TLS13)
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(key);
    let store = FakeStore::new(Duration::from_millis(5));
    let acceptor = AsyncAcceptor::builder(config, store.clone())
        .versions(TLS13)
        .lookup_timeout(Duration::from_secs(5))
        .build(&tokio::runtime::Handle::current());
    let server = serve(acceptor).await;
    let port = server.addr.port();
    let session = std::env::temp_dir().join(format!("{test}-{}.pem", std::process::id()));
    let _ = std::fs::remove_file(&session);
    // OpenSSL sends a key share for its first group only: P-256, which this server lacks.
    let args = ["-tls1_3", "-groups", "P-256:X25519", "-msg"];
    let s = session.clone();
    let first = tokio::task::spawn_blocking(move || peers::openssl::s_client(port, &args, &s))
        .await
        .unwrap();
    assert!(first.new_session(), "{}", first.stdout);
    until("the tickets stored", || server.acceptor.stats().stored >= 1).await;
    let s = session.clone();
    let second = tokio::task::spawn_blocking(move || peers::openssl::s_client(port, &args, &s))
        .await
        .unwrap();
    let _ = std::fs::remove_file(&session);
    assert!(second.reused(), "{}\n{}", second.stdout, second.stderr);
    assert_eq!(
        second.stdout.matches(", ClientHello").count(),
        2,
        "the resumption went through a HelloRetryRequest: {}",
        second.stdout
    );
    assert_eq!(store.fetches(), 1, "one lookup, for the first hello");
}

/// A lookup stuck until its deadline holds its own connection only: a plain request on
/// another connection meanwhile is answered long before that deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_lookup_does_not_delay_a_concurrent_plain_request() {
    let store = FakeStore::new(Duration::ZERO);
    let deadline = Duration::from_secs(4);
    let server = server(TLS13, &store, |b| b.lookup_timeout(deadline)).await;
    let client = Arc::new(client_config(TLS13));
    first_visit(&client, &server).await;
    store.stall(true);
    let addr = server.addr;
    let stuck = tokio::spawn(async move { visit(&client, addr).await });
    until("the lookup under way", || {
        server.acceptor.stats().lookups == 1
    })
    .await;
    let started = Instant::now();
    let plain = visit(&Arc::new(client_config(TLS13)), server.addr).await;
    let plain_latency = started.elapsed();
    assert_eq!(plain.kind, Some(HandshakeKind::Full));
    assert!(
        !stuck.is_finished(),
        "the stuck lookup is still pending while the plain request is answered"
    );
    assert!(
        plain_latency < deadline / 2,
        "plain request took {plain_latency:?} beside a lookup stuck for {deadline:?}"
    );
    let stuck = stuck.await.unwrap();
    assert_eq!(stuck.kind, Some(HandshakeKind::Full));
    assert_eq!(server.acceptor.stats().lookup_timeouts, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_store_queue_drops_and_counts_and_handshakes_go_on() {
    let store = FakeStore::new(Duration::ZERO);
    store.hold_stores(true);
    let server = server(TLS13, &store, |b| b.queue_capacity(1).stores_in_flight(1)).await;
    for _ in 0..4 {
        let fresh = Arc::new(client_config(TLS13));
        let v = visit(&fresh, server.addr).await;
        assert_eq!(v.kind, Some(HandshakeKind::Full));
        assert!(v.page.starts_with("New TLSv1_3"), "{}", v.page);
    }
    let stats = server.acceptor.stats();
    // rustls puts two tickets per handshake: one store in flight (never acknowledged), one
    // held by the draining task, one in the queue; the rest are dropped.
    assert_eq!(stats.queued + stats.queue_drops, 8, "{stats}");
    assert!(stats.queue_drops >= 4, "{stats}");
    assert_eq!(server.panics.load(Ordering::SeqCst), 0);
}

/// A ClientHello (TLS 1.3, x25519) offering `n` PSK identities of 32 bytes with binders.
fn hello_with_identities(n: usize) -> Vec<u8> {
    let mut psk = Vec::new();
    let mut ids = Vec::new();
    let mut binders = Vec::new();
    for i in 0..n {
        ids.extend_from_slice(&32u16.to_be_bytes());
        ids.extend_from_slice(&[(i % 251) as u8; 32]);
        ids.extend_from_slice(&[0, 0, 0, 1]);
        binders.push(32u8);
        binders.extend_from_slice(&[7; 32]);
    }
    psk.extend_from_slice(&(ids.len() as u16).to_be_bytes());
    psk.extend_from_slice(&ids);
    psk.extend_from_slice(&(binders.len() as u16).to_be_bytes());
    psk.extend_from_slice(&binders);
    let mut share = vec![0, 0x1d, 0, 32];
    share.extend_from_slice(&[9; 32]);
    let mut ext = Vec::new();
    let mut push = |typ: u16, body: &[u8]| {
        ext.extend_from_slice(&typ.to_be_bytes());
        ext.extend_from_slice(&(body.len() as u16).to_be_bytes());
        ext.extend_from_slice(body);
    };
    push(43, &[2, 3, 4]); // supported_versions: TLS 1.3
    push(10, &[0, 2, 0, 0x1d]); // supported_groups: x25519
    push(13, &[0, 2, 4, 3]); // signature_algorithms: ecdsa_secp256r1_sha256
    push(45, &[1, 1]); // psk_key_exchange_modes: psk_dhe_ke
    let mut shares = (share.len() as u16).to_be_bytes().to_vec();
    shares.extend_from_slice(&share);
    push(51, &shares); // key_share
    push(41, &psk); // pre_shared_key, last
    let mut body = vec![3, 3];
    body.extend_from_slice(&[1; 32]);
    body.extend_from_slice(&[0, 0, 2, 0x13, 0x01, 1, 0]);
    body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    body.extend_from_slice(&ext);
    let mut msg = vec![1];
    msg.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    msg.extend_from_slice(&body);
    let mut record = vec![22, 3, 1];
    record.extend_from_slice(&(msg.len() as u16).to_be_bytes());
    record.extend_from_slice(&msg);
    record
}

/// Sends `bytes`, closes the sending side and waits for the server to close; true when it
/// did within 5 s.
async fn send_and_expect_close(addr: std::net::SocketAddr, bytes: &[u8]) -> bool {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let _ = tcp.write_all(bytes).await;
    let _ = tcp.shutdown().await;
    let mut sink = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut sink))
        .await
        .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_first_flights_are_capped_closed_cleanly_and_never_panic() {
    let store = FakeStore::new(Duration::ZERO);
    let server = server(TLS13, &store, |b| {
        b.first_flight_timeout(Duration::from_millis(500))
    })
    .await;

    // Many identities: one lookup, of the first four only.
    assert!(send_and_expect_close(server.addr, &hello_with_identities(200)).await);
    until("the capped lookup", || store.fetches() == 1).await;
    assert_eq!(store.keys(), 4, "at most four identities looked up");

    // Records announced far over the limit, garbage, plain HTTP, an endless 1-byte-record
    // hello, silence: closed, nothing looked up.
    // A ClientHello header announcing 32 KiB, then its body one byte per record.
    let mut endless = Vec::new();
    for byte in [1u8, 0, 0x80, 0].into_iter().chain([0; 12_000]) {
        endless.extend_from_slice(&[22, 3, 1, 0, 1, byte]);
    }
    let hostile: [&[u8]; 5] = [
        &[22, 3, 1, 0xff, 0xff, 1, 0, 0, 0],
        &[0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x02, 0x03, 0xff, 0xfe],
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        &endless,
        &[],
    ];
    for bytes in hostile {
        assert!(send_and_expect_close(server.addr, bytes).await);
    }
    let silent = TcpStream::connect(server.addr).await.unwrap();
    let mut silent = silent;
    let mut sink = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), silent.read_to_end(&mut sink)).await;
    assert!(
        closed.is_ok(),
        "a silent client is closed at the first-flight deadline"
    );

    assert_eq!(store.fetches(), 1, "no lookup for any of them");
    assert_eq!(server.panics.load(Ordering::SeqCst), 0);
    // And the server still serves.
    let fine = visit(&Arc::new(client_config(TLS13)), server.addr).await;
    assert_eq!(fine.kind, Some(HandshakeKind::Full));
    assert!(server.acceptor.stats().unparsed >= 4);
}
