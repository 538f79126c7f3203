//! Pending session lookups (`ServerConfig::with_pending_lookups`): our server stops at the
//! cache lookup, the caller fetches the keys from a store that answers later (here an
//! in-memory cache behind a delay) and completes the lookup; new sessions and stateful tickets
//! are handed out for the caller to store. In memory, our client against our server.

mod peers;

use std::sync::Arc;
use std::time::Duration;

use peers::ours;
use tls_resumption::antireplay::StrikeRegister;
use tls_resumption::store::{
    AsyncSessionCache, Fetch, LookupKey, LookupResult, MemoryCache, MemoryClientStore, StoreError,
    StoreFuture,
};
use tls_resumption::time::{ManualClock, Timestamp};
use tls_resumption::{
    ClientConfig, ClientConnection, EarlyDataStatus, Error, HandshakeKind, LookupError,
    PendingStore, ResumptionMechanism, ServerConfig, ServerConnection, TicketMode, TlsVersion,
};

const NOW: Timestamp = Timestamp::from_secs(1_700_000_000);
const FULL: Option<HandshakeKind> = Some(HandshakeKind::Full);
const BY_ID: Option<HandshakeKind> = Some(HandshakeKind::Resumed {
    mechanism: ResumptionMechanism::SessionId,
    early_data: EarlyDataStatus::NotOffered,
});

fn resumed13(early_data: EarlyDataStatus) -> Option<HandshakeKind> {
    Some(HandshakeKind::Resumed {
        mechanism: ResumptionMechanism::Tls13Psk { dhe: true },
        early_data,
    })
}

/// A store that answers after `delay`, in front of an in-memory cache on the test's clock.
struct SlowStore {
    cache: Arc<MemoryCache>,
    delay: Duration,
}

impl SlowStore {
    fn new(delay: Duration) -> Arc<Self> {
        let clock = Arc::new(ManualClock::new(NOW));
        let cache = MemoryCache::builder().capacity(64).clock(clock).build();
        Arc::new(Self {
            cache: Arc::new(cache),
            delay,
        })
    }
}

impl AsyncSessionCache for SlowStore {
    fn fetch<'a>(&'a self, keys: &'a [LookupKey]) -> StoreFuture<'a, Vec<LookupResult>> {
        Box::pin(async move {
            tokio::time::sleep(self.delay).await;
            self.cache.fetch(keys).await
        })
    }

    fn store<'a>(
        &'a self,
        key: &'a [u8],
        value: &'a [u8],
        expires_at: Timestamp,
    ) -> StoreFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            tokio::time::sleep(self.delay).await;
            self.cache.store(key, value, expires_at).await
        })
    }

    fn remove<'a>(&'a self, key: &'a [u8]) -> StoreFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            tokio::time::sleep(self.delay).await;
            AsyncSessionCache::remove(&self.cache, key).await
        })
    }
}

/// A store that never answers a fetch.
struct DeadStore;

impl AsyncSessionCache for DeadStore {
    fn fetch<'a>(&'a self, _keys: &'a [LookupKey]) -> StoreFuture<'a, Vec<LookupResult>> {
        Box::pin(std::future::pending())
    }

    fn store<'a>(
        &'a self,
        _key: &'a [u8],
        _value: &'a [u8],
        _expires_at: Timestamp,
    ) -> StoreFuture<'a, Result<(), StoreError>> {
        Box::pin(std::future::pending())
    }

    fn remove<'a>(&'a self, _key: &'a [u8]) -> StoreFuture<'a, Result<(), StoreError>> {
        Box::pin(std::future::pending())
    }
}

/// The caller of a pending-lookup server: answers each lookup from `store` within
/// `deadline` (else abandons it), and keeps what the server hands out to store.
struct Caller {
    store: Arc<dyn AsyncSessionCache>,
    deadline: Duration,
    asked: Vec<Vec<LookupKey>>,
    handed_out: Vec<PendingStore>,
}

impl Caller {
    fn new(store: Arc<dyn AsyncSessionCache>) -> Self {
        Self {
            store,
            deadline: Duration::from_secs(5),
            asked: Vec::new(),
            handed_out: Vec::new(),
        }
    }

    /// Stores everything handed out so far.
    async fn store_handed_out(&mut self) {
        for s in self.handed_out.drain(..) {
            self.store
                .store(s.key(), s.value().expose_secret(), s.expires_at())
                .await
                .unwrap();
        }
    }

    /// Removes from the store what `server`, failed, says must not resume (after every
    /// store handed out so far: a store landing later would undo the removal).
    async fn remove_taken_back(&mut self, server: &mut ServerConnection) {
        self.store_handed_out().await;
        for key in server.take_pending_removals() {
            self.store.remove(&key).await.unwrap();
        }
    }

    async fn answer(&mut self, server: &mut ServerConnection) -> Result<(), Error> {
        while let Some(keys) = server.pending_lookup() {
            let keys = keys.to_vec();
            self.asked.push(keys.clone());
            // Waiting, the server handles nothing more.
            server.process(NOW)?;
            assert!(server.pending_lookup().is_some());
            match tokio::time::timeout(self.deadline, self.store.fetch(&keys)).await {
                Ok(results) => server.complete_lookup(results).unwrap(),
                Err(_) => server.abandon_lookup().unwrap(),
            }
            server.process(NOW)?;
        }
        Ok(())
    }

    async fn feed_server(
        &mut self,
        server: &mut ServerConnection,
        mut bytes: &[u8],
    ) -> Result<(), Error> {
        loop {
            let n = server.read_tls(bytes);
            bytes = &bytes[n..];
            server.process(NOW)?;
            self.answer(server).await?;
            if bytes.is_empty() {
                break;
            }
            assert!(n > 0, "server stopped reading");
        }
        self.handed_out.extend(server.take_pending_stores());
        Ok(())
    }

    async fn pump(
        &mut self,
        client: &mut ClientConnection,
        server: &mut ServerConnection,
    ) -> Result<(), Error> {
        for _ in 0..32 {
            let mut buf = Vec::new();
            client.write_tls(&mut buf);
            let mut moved = buf.len();
            self.feed_server(server, &buf).await?;
            let mut buf = Vec::new();
            server.write_tls(&mut buf);
            moved += buf.len();
            ours::feed_client(client, &buf, NOW)?;
            if moved == 0 {
                return Ok(());
            }
        }
        panic!("the pair did not settle in 32 rounds");
    }

    /// One connection: handshake (with early data when given and allowed), a message each
    /// way. Returns the server's view and the early data it took.
    async fn connect(
        &mut self,
        client: &Arc<ClientConfig>,
        server: &Arc<ServerConfig>,
        early: Option<&[u8]>,
    ) -> Result<(Option<HandshakeKind>, Vec<u8>), Error> {
        let mut c = ClientConnection::new(client.clone(), "localhost", NOW)?;
        let mut s = ServerConnection::new(server.clone());
        if let Some(data) = early.filter(|_| c.early_data_allowance() > 0) {
            c.send_early_data(data)?;
        }
        self.pump(&mut c, &mut s).await?;
        assert!(!c.is_handshaking() && !s.is_handshaking());
        c.send_plaintext(b"ping")?;
        s.send_plaintext(b"pong")?;
        self.pump(&mut c, &mut s).await?;
        assert_eq!(c.take_plaintext(), b"pong");
        assert_eq!(s.take_plaintext(), b"ping");
        assert_eq!(c.handshake_kind(), s.handshake_kind());
        Ok((s.handshake_kind(), s.take_early_data()))
    }
}

/// A client with its own store.
fn client(versions: &[TlsVersion]) -> Arc<ClientConfig> {
    let store = Arc::new(MemoryClientStore::new(4, 4));
    Arc::new(
        ours::client_config("server")
            .with_versions(versions)
            .with_session_store(Some(store)),
    )
}

/// The synchronous cache configured on a pending-lookup server: it says session IDs are
/// issued, and must never be written by the handshake.
fn untouched_cache() -> Arc<MemoryCache> {
    let clock = Arc::new(ManualClock::new(NOW));
    Arc::new(MemoryCache::builder().capacity(64).clock(clock).build())
}

/// A TLS 1.2 server resuming by session ID only, with pending lookups.
fn tls12_server(cache: &Arc<MemoryCache>) -> Arc<ServerConfig> {
    Arc::new(
        ours::server_config("server")
            .with_versions(&[TlsVersion::Tls12])
            .with_tickets(TicketMode::Disabled)
            .with_session_cache(Some(cache.clone()))
            .with_pending_lookups(),
    )
}

/// A TLS 1.3 server with stateful tickets, with pending lookups.
fn stateful_server(cache: &Arc<MemoryCache>) -> ServerConfig {
    ours::server_config("server")
        .with_tickets(TicketMode::Stateful {
            cache: cache.clone(),
            lifetime: Duration::from_secs(3600),
        })
        .with_pending_lookups()
}

#[tokio::test]
async fn tls12_resumes_by_session_id_through_a_lookup_answered_late() {
    let store = SlowStore::new(Duration::from_millis(20));
    let mut caller = Caller::new(store.clone());
    let cache = untouched_cache();
    let (c, s) = (client(&[TlsVersion::Tls12]), tls12_server(&cache));
    assert_eq!(caller.connect(&c, &s, None).await.unwrap().0, FULL);
    assert_eq!(caller.handed_out.len(), 1, "the new session is handed out");
    caller.store_handed_out().await;
    caller.asked.clear();
    for _ in 0..2 {
        assert_eq!(caller.connect(&c, &s, None).await.unwrap().0, BY_ID);
    }
    // One lookup per connection, the session ID read (not taken), under a 32-byte key.
    assert_eq!(caller.asked.len(), 2);
    for keys in &caller.asked {
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].fetch, Fetch::Get);
        assert_eq!(keys[0].key.len(), 32);
    }
    assert!(cache.is_empty(), "the configured cache is never written");
}

#[tokio::test]
async fn tls13_stateful_ticket_resumes_through_a_lookup_answered_late_once_each() {
    let store = SlowStore::new(Duration::from_millis(20));
    let mut caller = Caller::new(store.clone());
    let cache = untouched_cache();
    let (c, s) = (
        client(&[TlsVersion::Tls13]),
        Arc::new(stateful_server(&cache)),
    );
    assert_eq!(caller.connect(&c, &s, None).await.unwrap().0, FULL);
    assert_eq!(caller.handed_out.len(), 2, "both tickets handed out");
    assert!(
        caller.asked.is_empty(),
        "a hello without a ticket asks nothing"
    );
    caller.store_handed_out().await;
    let resumed = caller.connect(&c, &s, None).await.unwrap().0;
    assert_eq!(resumed, resumed13(EarlyDataStatus::NotOffered));
    let keys = caller.asked.pop().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].fetch, Fetch::Take);
    // The ticket was taken: the store holds the other one and the resumption's new one,
    // once stored.
    assert_eq!(store.cache.len(), 1);
    caller.store_handed_out().await;
    assert_eq!(store.cache.len(), 2);
    assert!(cache.is_empty(), "the configured cache is never written");
}

#[tokio::test]
async fn tls13_stateful_ticket_with_0rtt_through_a_pending_lookup() {
    let store = SlowStore::new(Duration::from_millis(20));
    let mut caller = Caller::new(store.clone());
    let cache = untouched_cache();
    let guard = Arc::new(StrikeRegister::new(100, Duration::from_secs(10)));
    let s = Arc::new(stateful_server(&cache).with_early_data(1024, guard));
    let store_c = Arc::new(MemoryClientStore::new(4, 4));
    let c = Arc::new(
        ours::client_config("server")
            .with_session_store(Some(store_c))
            .with_early_data(true),
    );
    caller.connect(&c, &s, None).await.unwrap();
    caller.store_handed_out().await;
    let (kind, early) = caller.connect(&c, &s, Some(b"early")).await.unwrap();
    assert_eq!(kind, resumed13(EarlyDataStatus::Accepted));
    assert_eq!(early, b"early");
}

#[tokio::test]
async fn a_lookup_never_answered_is_abandoned_at_the_deadline_into_a_full_handshake() {
    // The sessions are made against a store that works, then looked up in one that never
    // answers.
    let working = SlowStore::new(Duration::ZERO);
    let mut caller = Caller::new(working.clone());
    let cache = untouched_cache();
    let (c12, s12) = (client(&[TlsVersion::Tls12]), tls12_server(&cache));
    let (c13, s13) = (
        client(&[TlsVersion::Tls13]),
        Arc::new(stateful_server(&cache)),
    );
    caller.connect(&c12, &s12, None).await.unwrap();
    caller.connect(&c13, &s13, None).await.unwrap();
    caller.store_handed_out().await;
    let mut dead = Caller::new(Arc::new(DeadStore));
    dead.deadline = Duration::from_millis(30);
    assert_eq!(dead.connect(&c12, &s12, None).await.unwrap().0, FULL);
    assert_eq!(dead.connect(&c13, &s13, None).await.unwrap().0, FULL);
    assert_eq!(dead.asked.len(), 2, "each connection asked, and gave up");
}

#[tokio::test]
async fn stores_are_handed_out_and_resume_only_once_the_caller_stores_them() {
    let store = SlowStore::new(Duration::ZERO);
    let mut caller = Caller::new(store.clone());
    let cache = untouched_cache();
    let (c, s) = (client(&[TlsVersion::Tls12]), tls12_server(&cache));
    caller.connect(&c, &s, None).await.unwrap();
    let handed = caller.handed_out.len();
    assert_eq!(handed, 1);
    assert!(store.cache.is_empty() && cache.is_empty());
    // Not stored yet: the session ID is looked up and missed.
    assert_eq!(caller.connect(&c, &s, None).await.unwrap().0, FULL);
    // The second full handshake handed out its own session; store both.
    caller.store_handed_out().await;
    assert_eq!(store.cache.len(), 2);
    assert_eq!(caller.connect(&c, &s, None).await.unwrap().0, BY_ID);
    assert!(cache.is_empty());
}

#[tokio::test]
async fn stateless_tickets_ask_for_no_lookup() {
    let store = SlowStore::new(Duration::ZERO);
    let mut caller = Caller::new(store);
    let cache = untouched_cache();
    // TLS 1.3 stateless tickets, and TLS 1.2 tickets beside a session cache: a ticket that
    // opens needs no store.
    let s13 = Arc::new(ours::server_config("server").with_pending_lookups());
    let s12 = Arc::new(
        ours::server_config("server")
            .with_versions(&[TlsVersion::Tls12])
            .with_session_cache(Some(cache.clone()))
            .with_pending_lookups(),
    );
    for (c, s) in [
        (client(&[TlsVersion::Tls13]), s13),
        (client(&[TlsVersion::Tls12]), s12),
    ] {
        caller.connect(&c, &s, None).await.unwrap();
        caller.asked.clear();
        let kind = caller.connect(&c, &s, None).await.unwrap().0;
        assert!(matches!(kind, Some(HandshakeKind::Resumed { .. })));
        assert!(caller.asked.is_empty(), "{:?}", caller.asked);
    }
}

/// A ClientHello (handshake message) for TLS 1.3 offering `identities` as PSKs (each with a
/// zero binder), with an X25519 share so a full handshake can follow.
fn hello_with_identities(identities: &[Vec<u8>]) -> Vec<u8> {
    fn u16_prefixed(body: &[u8]) -> Vec<u8> {
        [&(body.len() as u16).to_be_bytes()[..], body].concat()
    }
    fn extension(typ: u16, body: &[u8]) -> Vec<u8> {
        [&typ.to_be_bytes()[..], &u16_prefixed(body)].concat()
    }
    let ids: Vec<u8> = identities
        .iter()
        .flat_map(|id| [u16_prefixed(id), vec![0, 0, 0, 0]].concat())
        .collect();
    let binders: Vec<u8> = identities
        .iter()
        .flat_map(|_| [[32u8].as_slice(), &[0u8; 32]].concat())
        .collect();
    let share = [&0x001du16.to_be_bytes()[..], &u16_prefixed(&[9u8; 32])].concat();
    let extensions = [
        extension(
            0,
            &u16_prefixed(&[&[0u8][..], &u16_prefixed(b"localhost")].concat()),
        ),
        extension(43, &[2, 3, 4]),
        extension(10, &u16_prefixed(&0x001du16.to_be_bytes())),
        extension(13, &u16_prefixed(&0x0403u16.to_be_bytes())),
        extension(51, &u16_prefixed(&share)),
        extension(45, &[1, 1]),
        extension(41, &[u16_prefixed(&ids), u16_prefixed(&binders)].concat()),
    ]
    .concat();
    let mut body = vec![3, 3];
    body.extend_from_slice(&[7u8; 32]);
    body.push(0);
    body.extend_from_slice(&u16_prefixed(&0x1301u16.to_be_bytes()));
    body.extend_from_slice(&[1, 0]);
    body.extend_from_slice(&u16_prefixed(&extensions));
    let mut hello = vec![1, 0];
    hello.extend_from_slice(&(body.len() as u16).to_be_bytes());
    hello.extend_from_slice(&body);
    hello
}

fn record(handshake: &[u8]) -> Vec<u8> {
    [
        &[22u8, 3, 1][..],
        &(handshake.len() as u16).to_be_bytes(),
        handshake,
    ]
    .concat()
}

/// Sends `hello` to `server`; the keys it asks for.
fn asked_for(server: &Arc<ServerConfig>, hello: &[u8]) -> (ServerConnection, Vec<LookupKey>) {
    let mut conn = ServerConnection::new(server.clone());
    assert_eq!(conn.read_tls(&record(hello)), hello.len() + 5);
    conn.process(NOW).unwrap();
    let keys = conn.pending_lookup().map(<[_]>::to_vec).unwrap_or_default();
    (conn, keys)
}

#[test]
fn a_hello_with_many_identities_asks_for_at_most_the_capped_number_of_our_shape() {
    let cache = untouched_cache();
    let id = |n: u8, len: usize| vec![n; len];
    // Odd lengths first, a repeat, then many of ours.
    let mut identities = vec![id(1, 31), id(2, 32), id(2, 32), id(4, 32), id(3, 33)];
    identities.extend((10..200).map(|n| id(n, 32)));
    let hello = hello_with_identities(&identities);
    for (cap, expected) in [
        (None, vec![2u8, 4]),
        (Some(1), vec![2]),
        (Some(100), vec![2, 4]),
    ] {
        let mut config = stateful_server(&cache);
        if let Some(cap) = cap {
            config = config.with_max_lookup_keys(cap);
        }
        let (mut conn, keys) = asked_for(&Arc::new(config), &hello);
        // Only the first identities the server looks at, of our length, each once, and
        // no more than the cap (the store keys are namespaced, so compare by count).
        assert_eq!(keys.len(), expected.len(), "cap {cap:?}");
        assert!(keys
            .iter()
            .all(|k| k.fetch == Fetch::Take && k.key.len() == 32));
        // Answered with misses, the handshake goes on as a full one.
        let misses = keys.iter().map(|_| Ok(None)).collect();
        conn.complete_lookup(misses).unwrap();
        conn.process(NOW).unwrap();
        assert_eq!(conn.handshake_kind(), FULL);
        assert!(conn.wants_write());
    }
    // Identities of no length this server issues: nothing asked, a full handshake at once.
    let odd = hello_with_identities(&[id(1, 16), id(2, 31), id(3, 33), id(4, 300)]);
    let (conn, keys) = asked_for(&Arc::new(stateful_server(&cache)), &odd);
    assert!(keys.is_empty());
    assert_eq!(conn.handshake_kind(), FULL);
    // A cap of 0 looks nothing up.
    let none = Arc::new(stateful_server(&cache).with_max_lookup_keys(0));
    let (conn, keys) = asked_for(&none, &hello);
    assert!(keys.is_empty());
    assert_eq!(conn.handshake_kind(), FULL);
}

/// A TLS 1.2 ClientHello with `session_id`, the extended master secret and one ECDHE suite.
fn tls12_hello(session_id: &[u8]) -> Vec<u8> {
    fn ext(typ: u16, body: &[u8]) -> Vec<u8> {
        [
            &typ.to_be_bytes()[..],
            &(body.len() as u16).to_be_bytes(),
            body,
        ]
        .concat()
    }
    let extensions = [
        ext(10, &[0, 2, 0, 0x17]),
        ext(11, &[1, 0]),
        ext(13, &[0, 2, 4, 3]),
        ext(23, &[]),
        ext(0xff01, &[0]),
    ]
    .concat();
    let mut body = vec![3, 3];
    body.extend_from_slice(&[7u8; 32]);
    body.push(session_id.len() as u8);
    body.extend_from_slice(session_id);
    body.extend_from_slice(&[0, 2, 0xc0, 0x2b, 1, 0]);
    body.extend_from_slice(&(extensions.len() as u16).to_be_bytes());
    body.extend_from_slice(&extensions);
    let mut hello = vec![1, 0];
    hello.extend_from_slice(&(body.len() as u16).to_be_bytes());
    hello.extend_from_slice(&body);
    hello
}

#[test]
fn a_session_id_of_a_length_we_never_issue_is_not_looked_up() {
    let cache = untouched_cache();
    let server = tls12_server(&cache);
    for len in [1, 16, 31] {
        let (conn, keys) = asked_for(&server, &tls12_hello(&vec![5; len]));
        assert!(keys.is_empty(), "{len}-byte session ID");
        assert_eq!(conn.handshake_kind(), FULL);
    }
    let (_, keys) = asked_for(&server, &tls12_hello(&[5; 32]));
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].fetch, Fetch::Get);
    // A cap of 0 looks nothing up, in TLS 1.2 too.
    let none = Arc::new(Arc::unwrap_or_clone(server).with_max_lookup_keys(0));
    let (conn, keys) = asked_for(&none, &tls12_hello(&[5; 32]));
    assert!(keys.is_empty());
    assert_eq!(conn.handshake_kind(), FULL);
}

#[test]
fn completing_with_the_wrong_count_or_with_nothing_pending_is_a_typed_error() {
    let cache = untouched_cache();
    let server = tls12_server(&cache);
    let mut idle = ServerConnection::new(server.clone());
    assert_eq!(
        idle.complete_lookup(Vec::new()),
        Err(LookupError::NotPending)
    );
    assert_eq!(idle.abandon_lookup(), Err(LookupError::NotPending));
    let (mut conn, keys) = asked_for(&server, &tls12_hello(&[5; 32]));
    assert_eq!(keys.len(), 1);
    for got in [0, 2, 5] {
        let results = (0..got).map(|_| Ok(None)).collect();
        assert_eq!(
            conn.complete_lookup(results),
            Err(LookupError::WrongCount { expected: 1, got })
        );
        // Still waiting, still nothing sent.
        conn.process(NOW).unwrap();
        assert!(conn.pending_lookup().is_some());
        assert!(!conn.wants_write());
    }
    // A store error is a miss; garbage from the store is a miss too.
    let garbage = tls_resumption::crypto::secret::SecretVec::from_slice(b"not a session");
    conn.complete_lookup(vec![Ok(Some(garbage))]).unwrap();
    assert_eq!(
        conn.complete_lookup(vec![Ok(None)]),
        Err(LookupError::NotPending)
    );
    conn.process(NOW).unwrap();
    assert_eq!(conn.handshake_kind(), FULL);
    assert!(conn.pending_lookup().is_none());
    let (mut conn, _) = asked_for(&server, &tls12_hello(&[5; 32]));
    conn.complete_lookup(vec![Err(StoreError::Unavailable)])
        .unwrap();
    conn.process(NOW).unwrap();
    assert_eq!(conn.handshake_kind(), FULL);
}

/// Without the option nothing is pending and nothing is handed out: the cache is written
/// inline.
#[test]
fn the_synchronous_path_stays_the_default() {
    let cache = untouched_cache();
    let config = Arc::new(
        ours::server_config("server")
            .with_versions(&[TlsVersion::Tls12])
            .with_tickets(TicketMode::Disabled)
            .with_session_cache(Some(cache.clone())),
    );
    let c = client(&[TlsVersion::Tls12]);
    let first = ours::connect(&c, &config, NOW, None).unwrap();
    assert_eq!(first.server_kind, FULL);
    assert_eq!(cache.len(), 1, "stored inline");
    let (_, keys) = asked_for(&config, &tls12_hello(&[5; 32]));
    assert!(keys.is_empty(), "never pending");
    let mut conn = ServerConnection::new(config);
    assert!(conn.take_pending_stores().is_empty());
    assert!(conn.take_pending_removals().is_empty());
}

#[tokio::test]
async fn after_a_hello_retry_request_the_second_hello_is_looked_up() {
    use tls_resumption::crypto::kx::KxGroup;
    let store = SlowStore::new(Duration::from_millis(5));
    let mut caller = Caller::new(store);
    let cache = untouched_cache();
    // Our client sends an X25519 share first; a server taking only P-256 asks for another.
    let s = Arc::new(stateful_server(&cache).with_groups(&[KxGroup::Secp256r1]));
    let c = client(&[TlsVersion::Tls13]);
    assert_eq!(caller.connect(&c, &s, None).await.unwrap().0, FULL);
    caller.store_handed_out().await;
    let kind = caller.connect(&c, &s, None).await.unwrap().0;
    assert_eq!(kind, resumed13(EarlyDataStatus::NotOffered));
    // One lookup, for the second hello only: the first was answered with a retry.
    assert_eq!(caller.asked.len(), 1);
}

/// The keys a pending lookup names are the ones the inline path gives its cache (namespaced
/// per host): a session made by a server writing inline resumes on a server with pending
/// lookups sharing the store, and the other way round.
#[tokio::test]
async fn inline_and_pending_servers_sharing_one_store_resume_each_others_sessions() {
    let store = SlowStore::new(Duration::ZERO);
    let mut caller = Caller::new(store.clone());
    let shared: Arc<MemoryCache> = store.cache.clone();
    let config = |pending: bool| {
        let config = ours::server_config("server")
            .with_versions(&[TlsVersion::Tls12])
            .with_tickets(TicketMode::Disabled)
            .with_session_cache(Some(shared.clone()));
        Arc::new(if pending {
            config.with_pending_lookups()
        } else {
            config
        })
    };
    let (inline, pending) = (config(false), config(true));
    let c = client(&[TlsVersion::Tls12]);
    assert_eq!(
        ours::connect(&c, &inline, NOW, None).unwrap().server_kind,
        FULL
    );
    assert_eq!(caller.connect(&c, &pending, None).await.unwrap().0, BY_ID);
    let c = client(&[TlsVersion::Tls12]);
    assert_eq!(caller.connect(&c, &pending, None).await.unwrap().0, FULL);
    caller.store_handed_out().await;
    let resumed = ours::connect(&c, &inline, NOW, None).unwrap();
    assert_eq!(resumed.server_kind, BY_ID);
}

/// RFC 5246 §7.2.2: a connection that ends with a fatal alert is not resumed; what it made
/// and nobody took yet is dropped rather than handed out.
#[test]
fn a_failed_connection_hands_out_nothing_it_made() {
    let cache = untouched_cache();
    let config = Arc::new(stateful_server(&cache));
    for fail in [false, true] {
        let c = client(&[TlsVersion::Tls13]);
        let mut client = ClientConnection::new(c, "localhost", NOW).unwrap();
        let mut server = ServerConnection::new(config.clone());
        ours::pump(&mut client, &mut server, NOW).unwrap();
        assert!(!server.is_handshaking());
        if fail {
            // A record that does not decrypt: bad_record_mac.
            let garbage = [
                23u8, 3, 3, 0, 20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18,
                19, 20,
            ];
            server.read_tls(&garbage);
            assert!(server.process(NOW).is_err());
        }
        let expected = if fail { 0 } else { 2 };
        assert_eq!(server.take_pending_stores().len(), expected, "fail: {fail}");
    }
    assert!(cache.is_empty());
}

#[tokio::test]
async fn early_data_behind_an_abandoned_lookup_is_skipped_and_the_full_handshake_works() {
    let working = SlowStore::new(Duration::ZERO);
    let mut caller = Caller::new(working);
    let cache = untouched_cache();
    let guard = Arc::new(StrikeRegister::new(100, Duration::from_secs(10)));
    let s = Arc::new(stateful_server(&cache).with_early_data(1024, guard));
    let c = Arc::new(
        ours::client_config("server")
            .with_session_store(Some(Arc::new(MemoryClientStore::new(4, 4))))
            .with_early_data(true),
    );
    caller.connect(&c, &s, None).await.unwrap();
    caller.store_handed_out().await;
    let mut dead = Caller::new(Arc::new(DeadStore));
    dead.deadline = Duration::from_millis(20);
    let (kind, early) = dead.connect(&c, &s, Some(b"early")).await.unwrap();
    assert_eq!(kind, FULL);
    assert!(early.is_empty());
    assert_eq!(dead.asked.len(), 1);
}

/// The garbage record that fails a connection with bad_record_mac.
const GARBAGE: [u8; 25] = [
    23, 3, 3, 0, 20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
];

/// RFC 5246 §7.2.2 with pending lookups: a TLS 1.2 session whose store the caller already
/// took (made here, or resumed here) is not resumable once the connection fails with a
/// fatal alert: the removal goes out to the caller like the store did.
#[tokio::test]
async fn a_fatal_alert_after_the_stores_were_taken_hands_out_the_removal() {
    for resume_first in [false, true] {
        let store = SlowStore::new(Duration::ZERO);
        let mut caller = Caller::new(store.clone());
        let cache = untouched_cache();
        let (c, s) = (client(&[TlsVersion::Tls12]), tls12_server(&cache));
        if resume_first {
            assert_eq!(caller.connect(&c, &s, None).await.unwrap().0, FULL);
            caller.store_handed_out().await;
        }
        let mut cc = ClientConnection::new(c.clone(), "localhost", NOW).unwrap();
        let mut sc = ServerConnection::new(s.clone());
        caller.pump(&mut cc, &mut sc).await.unwrap();
        assert!(!sc.is_handshaking());
        let expected = if resume_first { BY_ID } else { FULL };
        assert_eq!(sc.handshake_kind(), expected);
        caller.store_handed_out().await;
        assert_eq!(store.cache.len(), 1);
        sc.read_tls(&GARBAGE);
        assert!(sc.process(NOW).is_err());
        caller.remove_taken_back(&mut sc).await;
        assert!(store.cache.is_empty(), "resumed first: {resume_first}");
        let kind = caller.connect(&c, &s, None).await.unwrap().0;
        assert_eq!(kind, FULL, "resumed first: {resume_first}");
    }
}

/// A synchronous cache that counts every call made to it.
struct CountingCache {
    inner: Arc<MemoryCache>,
    calls: std::sync::atomic::AtomicUsize,
}

impl CountingCache {
    fn calls(&self) -> usize {
        self.calls.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn count(&self) {
        self.calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

impl tls_resumption::store::SessionCache for CountingCache {
    fn put_encoded(
        &self,
        key: &[u8],
        value: &[u8],
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        self.count();
        self.inner.put_encoded(key, value, expires_at)
    }

    fn get_encoded(
        &self,
        key: &[u8],
    ) -> Result<Option<tls_resumption::crypto::secret::SecretVec>, StoreError> {
        self.count();
        self.inner.get_encoded(key)
    }

    fn take_encoded(
        &self,
        key: &[u8],
    ) -> Result<Option<tls_resumption::crypto::secret::SecretVec>, StoreError> {
        self.count();
        self.inner.take_encoded(key)
    }

    fn remove(&self, key: &[u8]) -> Result<(), StoreError> {
        self.count();
        tls_resumption::store::SessionCache::remove(&*self.inner, key)
    }
}

/// With pending lookups the configured (synchronous, possibly blocking) cache is never
/// called, not even to take back what a failed connection made or resumed.
#[tokio::test]
async fn a_failed_connection_with_pending_lookups_never_calls_the_configured_cache() {
    let counting = Arc::new(CountingCache {
        inner: untouched_cache(),
        calls: Default::default(),
    });
    let store = SlowStore::new(Duration::ZERO);
    let mut caller = Caller::new(store.clone());
    let s12 = Arc::new(
        ours::server_config("server")
            .with_versions(&[TlsVersion::Tls12])
            .with_tickets(TicketMode::Disabled)
            .with_session_cache(Some(counting.clone()))
            .with_pending_lookups(),
    );
    let s13 = Arc::new(
        ours::server_config("server")
            .with_tickets(TicketMode::Stateful {
                cache: counting.clone(),
                lifetime: Duration::from_secs(3600),
            })
            .with_pending_lookups(),
    );
    for (c, s) in [
        (client(&[TlsVersion::Tls12]), s12),
        (client(&[TlsVersion::Tls13]), s13),
    ] {
        for _ in 0..2 {
            let mut cc = ClientConnection::new(c.clone(), "localhost", NOW).unwrap();
            let mut sc = ServerConnection::new(s.clone());
            caller.pump(&mut cc, &mut sc).await.unwrap();
            caller.store_handed_out().await;
            sc.read_tls(&GARBAGE);
            assert!(sc.process(NOW).is_err());
            assert!(!sc.take_pending_removals().is_empty());
        }
    }
    assert_eq!(counting.calls(), 0);
}

/// The session ID of the TLS 1.2 handshake `caller` runs with `c` against `s12` (public in
/// the ServerHello), the session stored.
async fn tls12_session_id(
    caller: &mut Caller,
    c: &Arc<ClientConfig>,
    s12: &Arc<ServerConfig>,
) -> Vec<u8> {
    let mut cc = ClientConnection::new(c.clone(), "localhost", NOW).unwrap();
    let mut sc = ServerConnection::new(s12.clone());
    let mut buf = Vec::new();
    cc.write_tls(&mut buf);
    caller.feed_server(&mut sc, &buf).await.unwrap();
    let mut out = Vec::new();
    sc.write_tls(&mut out);
    // Record header, handshake header, version, random: then the session ID's length.
    let at = 5 + 4 + 2 + 32;
    assert_eq!(out[at], 32);
    let sid = out[at + 1..at + 33].to_vec();
    ours::feed_client(&mut cc, &out, NOW).unwrap();
    caller.pump(&mut cc, &mut sc).await.unwrap();
    assert!(!sc.is_handshaking());
    caller.store_handed_out().await;
    sid
}

/// TLS 1.2 session IDs and TLS 1.3 ticket identities are kept apart in the store: a TLS 1.3
/// hello naming a victim's (public) TLS 1.2 session ID as its PSK identity finds nothing,
/// and takes nothing, so the victim still resumes. With pending lookups.
#[tokio::test]
async fn a_tls13_identity_naming_a_tls12_session_id_does_not_take_the_session() {
    let store = SlowStore::new(Duration::ZERO);
    let mut caller = Caller::new(store.clone());
    let (c, s12) = (
        client(&[TlsVersion::Tls12]),
        tls12_server(&untouched_cache()),
    );
    let sid = tls12_session_id(&mut caller, &c, &s12).await;
    let s13 = Arc::new(stateful_server(&untouched_cache()));
    let (mut conn, keys) = asked_for(&s13, &hello_with_identities(&[sid]));
    assert_eq!(keys.len(), 1);
    let results = store.fetch(&keys).await;
    assert!(results[0].as_ref().unwrap().is_none(), "found the session");
    conn.complete_lookup(results).unwrap();
    let _ = conn.process(NOW);
    assert_eq!(caller.connect(&c, &s12, None).await.unwrap().0, BY_ID);
}

/// The same on the inline path: one cache keeping both TLS 1.2 sessions and TLS 1.3
/// stateful tickets, a TLS 1.3 identity naming a session ID takes nothing from it.
#[tokio::test]
async fn inline_a_tls13_identity_naming_a_tls12_session_id_does_not_take_the_session() {
    let store = SlowStore::new(Duration::ZERO);
    let mut caller = Caller::new(store.clone());
    let shared = store.cache.clone();
    let s12 = Arc::new(
        ours::server_config("server")
            .with_versions(&[TlsVersion::Tls12])
            .with_tickets(TicketMode::Disabled)
            .with_session_cache(Some(shared.clone())),
    );
    let c = client(&[TlsVersion::Tls12]);
    let sid = tls12_session_id(&mut caller, &c, &s12).await;
    assert_eq!(shared.len(), 1);
    let s13 = Arc::new(
        ours::server_config("server").with_tickets(TicketMode::Stateful {
            cache: shared.clone(),
            lifetime: Duration::from_secs(3600),
        }),
    );
    let mut conn = ServerConnection::new(s13);
    let hello = hello_with_identities(&[sid]);
    conn.read_tls(&record(&hello));
    let _ = conn.process(NOW);
    assert_eq!(shared.len(), 1, "the session was taken");
    assert_eq!(
        ours::connect(&c, &s12, NOW, None).unwrap().server_kind,
        BY_ID
    );
}

/// A sealer counting the tickets it opens.
struct CountingSealer {
    inner: tls_resumption::ticket::AeadSealer,
    opens: std::sync::atomic::AtomicUsize,
}

impl tls_resumption::ticket::TicketSealer for CountingSealer {
    fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>, tls_resumption::ticket::TicketError> {
        self.inner.seal(plaintext)
    }

    fn open(
        &self,
        ticket: &[u8],
    ) -> Result<tls_resumption::ticket::Opened, tls_resumption::ticket::TicketError> {
        self.opens
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.open(ticket)
    }

    fn lifetime(&self) -> Duration {
        self.inner.lifetime()
    }
}

/// The default (inline) TLS 1.2 path opens the client's ticket once per handshake, also
/// when the client sends a session ID beside it and a session cache is configured: the
/// pending lookup's question is not asked without pending lookups.
#[test]
fn the_inline_tls12_path_opens_a_ticket_once_per_handshake() {
    for pending in [false, true] {
        let material = tls_resumption::ticket::TicketKeyMaterial::new([3; 16], &[9; 32]).unwrap();
        let sealer = Arc::new(CountingSealer {
            inner: tls_resumption::ticket::AeadSealer::new(material, Duration::from_secs(3600))
                .unwrap(),
            opens: Default::default(),
        });
        let inline = ours::server_config("server")
            .with_versions(&[TlsVersion::Tls12])
            .with_tickets(TicketMode::Stateless(sealer.clone()))
            .with_session_cache(Some(untouched_cache()));
        // With pending lookups too (the ticket from an inline server of the same key): a
        // ticket that opens needs no lookup, and is opened once.
        let config = Arc::new(if pending {
            inline.clone().with_pending_lookups()
        } else {
            inline.clone()
        });
        let c = client(&[TlsVersion::Tls12]);
        assert_eq!(
            ours::connect(&c, &Arc::new(inline), NOW, None)
                .unwrap()
                .server_kind,
            FULL
        );
        let before = sealer.opens.load(std::sync::atomic::Ordering::Relaxed);
        let resumed = ours::connect(&c, &config, NOW, None).unwrap();
        assert!(matches!(
            resumed.server_kind,
            Some(HandshakeKind::Resumed {
                mechanism: ResumptionMechanism::Ticket,
                ..
            })
        ));
        let opens = sealer.opens.load(std::sync::atomic::Ordering::Relaxed) - before;
        assert_eq!(
            opens, 1,
            "ticket opens per handshake (pending lookups: {pending})"
        );
    }
}

/// TLS 1.3 stateful tickets are kept under the same keys on both paths too: a ticket issued
/// by a server writing inline is taken by a server with pending lookups sharing the store,
/// and the other way round.
#[tokio::test]
async fn inline_and_pending_servers_sharing_one_store_take_each_others_tickets() {
    let store = SlowStore::new(Duration::ZERO);
    let mut caller = Caller::new(store.clone());
    let shared: Arc<MemoryCache> = store.cache.clone();
    let config = |pending: bool| {
        let config = ours::server_config("server").with_tickets(TicketMode::Stateful {
            cache: shared.clone(),
            lifetime: Duration::from_secs(3600),
        });
        Arc::new(if pending {
            config.with_pending_lookups()
        } else {
            config
        })
    };
    let (inline, pending) = (config(false), config(true));
    let resumed = resumed13(EarlyDataStatus::NotOffered);
    let c = client(&[TlsVersion::Tls13]);
    let first = ours::connect(&c, &inline, NOW, None).unwrap();
    assert_eq!(first.server_kind, FULL);
    assert_eq!(caller.connect(&c, &pending, None).await.unwrap().0, resumed);
    let c = client(&[TlsVersion::Tls13]);
    assert_eq!(caller.connect(&c, &pending, None).await.unwrap().0, FULL);
    caller.store_handed_out().await;
    let again = ours::connect(&c, &inline, NOW, None).unwrap();
    assert_eq!(again.server_kind, resumed);
}
