//! rustls servers on tokio whose session lookups never block a worker thread (feature `tokio`).

use std::io;
use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use super::counters::{AsyncStats, Counters};
use super::first_flight::{lookup_keys, FirstFlight, Plan, Progress};
use super::queue::StoreQueue;
use super::replay::Replayed;
use super::sessions::{Prefetched, Queued};
use super::DEFAULT_CACHE_LIFETIME;
use crate::crypto::secret::SecretVec;
use crate::store::{AsyncSessionCache, LookupKey};
use crate::time::{Clock, SystemClock};

/// How long a lookup may take by default before the handshake goes on without it.
pub const DEFAULT_LOOKUP_TIMEOUT: Duration = Duration::from_millis(50);

/// How long a client may take to send its ClientHello by default.
pub const DEFAULT_FIRST_FLIGHT_TIMEOUT: Duration = Duration::from_secs(10);

/// How many values to store may wait by default.
pub const DEFAULT_QUEUE_CAPACITY: usize = 4096;

/// How many stores may be outstanding at once by default.
pub const DEFAULT_STORES_IN_FLIGHT: usize = 64;

/// Accepts rustls connections on tokio, resuming from an [`AsyncSessionCache`] without
/// blocking a worker thread.
///
/// [`AsyncAcceptor::accept`] reads the client's first flight with this crate's codec, fetches
/// the session ID or stateful ticket identities it names from an [`AsyncSessionCache`] in one
/// lookup bounded by a deadline, gives the values to this connection's own copy of the
/// `ServerConfig` (its session storage answers from them), and hands every byte read to
/// tokio-rustls through [`Replayed`]. A late or failed lookup is a miss: the handshake goes on
/// in full. What rustls stores goes through a bounded queue to a background task
/// ([`AsyncStats::queue_drops`] counts what a full queue refused).
///
/// Why a copy of the `ServerConfig` per resuming connection rather than one shared map of
/// fetched values consulted by a shared storage: rustls asks its storage by key alone, with no
/// way to tell which connection asks. A shared map would let a connection consume what another
/// fetched (two clients presenting one ticket), needs removal when a handshake ends before
/// rustls asks (a failed or abandoned one) and a bound against clients that never finish. The
/// copy scopes the values to the connection by construction and drops them with it; it costs a
/// few reference-count increments and small vectors, and only connections whose lookup found
/// something pay it.
///
/// ```no_run
/// use std::sync::Arc;
/// use rustls::pki_types::pem::PemObject;
/// use rustls::pki_types::{CertificateDer, PrivateKeyDer};
/// use tls_resumption::rustls_adapter::AsyncAcceptor;
/// use tls_resumption::store::{AsyncSessionCache, MemoryCache};
///
/// # async fn serve() -> Result<(), Box<dyn std::error::Error>> {
/// let versions = [&rustls::version::TLS13];
/// let provider = Arc::new(rustls::crypto::ring::default_provider());
/// let config = rustls::ServerConfig::builder_with_provider(provider)
///     .with_protocol_versions(&versions)?
///     .with_no_client_auth()
///     .with_single_cert(
///         vec![CertificateDer::from_pem_file("tests/data/pki/server.pem")?],
///         PrivateKeyDer::from_pem_file("tests/data/pki/server.key")?,
///     )?;
/// // No ticketer: TLS 1.3 tickets are stateful, looked up in the cache. Any
/// // AsyncSessionCache does: Redis, or (here) an in-process cache.
/// let cache: Arc<dyn AsyncSessionCache> = Arc::new(Arc::new(MemoryCache::new(100_000)));
/// let acceptor = Arc::new(
///     AsyncAcceptor::builder(config, cache)
///         .versions(&versions)
///         .build(&tokio::runtime::Handle::current()),
/// );
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8443").await?;
/// loop {
///     let (tcp, _) = listener.accept().await?;
///     let acceptor = acceptor.clone();
///     tokio::spawn(async move {
///         if let Ok(tls) = acceptor.accept(tcp).await {
///             // tls: a tokio_rustls::server::TlsStream, handshake done.
///             # drop(tls);
///         }
///     });
/// }
/// # }
/// ```
pub struct AsyncAcceptor {
    config: Arc<ServerConfig>,
    shared: Arc<Queued>,
    cache: Arc<dyn AsyncSessionCache>,
    plan: Plan,
    lookup_timeout: Duration,
    first_flight_timeout: Duration,
    counters: Arc<Counters>,
}

/// Options of an [`AsyncAcceptor`].
pub struct AsyncAcceptorBuilder {
    config: ServerConfig,
    cache: Arc<dyn AsyncSessionCache>,
    plan: Plan,
    lookup_timeout: Duration,
    first_flight_timeout: Duration,
    queue_capacity: usize,
    stores_in_flight: usize,
    clock: Arc<dyn Clock>,
    lifetime: Duration,
}

impl AsyncAcceptorBuilder {
    /// The protocol versions `config` was built with (rustls does not tell): which lookup a
    /// ClientHello needs depends on the version it will negotiate. Default: TLS 1.2 and 1.3.
    pub fn versions(mut self, versions: &[&'static rustls::SupportedProtocolVersion]) -> Self {
        let has = |v| versions.iter().any(|s| s.version == v);
        self.plan.tls12 = has(rustls::ProtocolVersion::TLSv1_2);
        self.plan.tls13 = has(rustls::ProtocolVersion::TLSv1_3);
        self
    }

    /// How long a lookup may take before the handshake goes on without it.
    pub fn lookup_timeout(mut self, timeout: Duration) -> Self {
        self.lookup_timeout = timeout;
        self
    }

    /// How long a client may take to send its ClientHello before the connection is closed.
    pub fn first_flight_timeout(mut self, timeout: Duration) -> Self {
        self.first_flight_timeout = timeout;
        self
    }

    /// How many values to store may wait; more are dropped (and counted).
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = capacity;
        self
    }

    /// How many stores may be outstanding at once.
    pub fn stores_in_flight(mut self, n: usize) -> Self {
        self.stores_in_flight = n;
        self
    }

    /// The clock that sets expiry times — the one the store checks them against.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// How long stored values live (default [`DEFAULT_CACHE_LIFETIME`]).
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// The acceptor, its store queue drained by a task on `runtime`.
    pub fn build(mut self, runtime: &tokio::runtime::Handle) -> AsyncAcceptor {
        let counters = Arc::new(Counters::default());
        let queue = StoreQueue::start(
            runtime,
            self.cache.clone(),
            self.queue_capacity,
            self.stores_in_flight,
            counters.clone(),
        );
        let shared = Arc::new(Queued {
            queue,
            clock: self.clock,
            lifetime: self.lifetime,
        });
        self.config.session_storage = shared.clone();
        AsyncAcceptor {
            config: Arc::new(self.config),
            shared,
            cache: self.cache,
            plan: self.plan,
            lookup_timeout: self.lookup_timeout,
            first_flight_timeout: self.first_flight_timeout,
            counters,
        }
    }
}

impl AsyncAcceptor {
    /// An acceptor serving `config` (its `session_storage` is replaced; TLS 1.3 tickets are
    /// stateful, looked up in `cache`, exactly when its `ticketer` is disabled, as rustls
    /// decides) and storing sessions in `cache`.
    pub fn builder(
        config: ServerConfig,
        cache: Arc<dyn AsyncSessionCache>,
    ) -> AsyncAcceptorBuilder {
        let plan = Plan {
            tls12: true,
            tls13: true,
            tls13_stateful: !config.ticketer.enabled(),
        };
        AsyncAcceptorBuilder {
            config,
            cache,
            plan,
            lookup_timeout: DEFAULT_LOOKUP_TIMEOUT,
            first_flight_timeout: DEFAULT_FIRST_FLIGHT_TIMEOUT,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            stores_in_flight: DEFAULT_STORES_IN_FLIGHT,
            clock: Arc::new(SystemClock),
            lifetime: DEFAULT_CACHE_LIFETIME,
        }
    }

    /// The configuration connections without a prefetched value use.
    pub fn config(&self) -> &Arc<ServerConfig> {
        &self.config
    }

    /// The counters so far.
    pub fn stats(&self) -> AsyncStats {
        self.counters.snapshot()
    }

    /// Reads the first flight, looks up what it names, and runs the rustls handshake.
    ///
    /// # Errors
    /// No ClientHello within the first-flight deadline ([`io::ErrorKind::TimedOut`]), a read
    /// error, or whatever tokio-rustls reports for the handshake. A lookup never makes it fail.
    pub async fn accept<S>(&self, mut stream: S) -> io::Result<TlsStream<Replayed<S>>>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let read = tokio::time::timeout(self.first_flight_timeout, read_first_flight(&mut stream));
        let (bytes, keys) = match read.await {
            Ok(read) => {
                let (flight, progress) = read?;
                let keys = match progress {
                    Progress::Hello(hello) => lookup_keys(&hello, &self.plan),
                    _ => {
                        Counters::add(&self.counters.unparsed, 1);
                        Vec::new()
                    }
                };
                (flight.into_bytes(), keys)
            }
            Err(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no ClientHello before the deadline",
                ))
            }
        };
        let config = match self.lookup(keys).await {
            found if found.is_empty() => self.config.clone(),
            found => {
                let mut own = ServerConfig::clone(&self.config);
                own.session_storage = Arc::new(Prefetched::new(found, self.shared.clone()));
                Arc::new(own)
            }
        };
        TlsAcceptor::from(config)
            .accept(Replayed::new(bytes, stream))
            .await
    }

    /// One lookup of `keys` within the deadline: the values found, nothing when late.
    async fn lookup(&self, keys: Vec<LookupKey>) -> Vec<(LookupKey, SecretVec)> {
        if keys.is_empty() {
            return Vec::new();
        }
        let c = &*self.counters;
        Counters::add(&c.lookups, 1);
        let started = tokio::time::Instant::now();
        let answer = tokio::time::timeout(self.lookup_timeout, self.cache.fetch(&keys)).await;
        c.pending(started.elapsed());
        let Ok(results) = answer else {
            Counters::add(&c.lookup_timeouts, 1);
            Counters::add(&c.misses, keys.len() as u64);
            return Vec::new();
        };
        let mut found = Vec::new();
        let mut errors = false;
        // A store answering fewer results than keys leaves the rest missing.
        let mut results = results.into_iter();
        for key in keys {
            match results.next() {
                Some(Ok(Some(value))) => {
                    Counters::add(&c.hits, 1);
                    found.push((key, value));
                }
                Some(Err(_)) => {
                    errors = true;
                    Counters::add(&c.misses, 1);
                }
                Some(Ok(None)) | None => Counters::add(&c.misses, 1),
            }
        }
        if errors {
            Counters::add(&c.lookup_errors, 1);
        }
        found
    }
}

/// Reads until the first flight holds a ClientHello or cannot (end of stream included).
async fn read_first_flight<S: AsyncRead + Unpin>(
    stream: &mut S,
) -> io::Result<(FirstFlight, Progress)> {
    let mut flight = FirstFlight::new();
    let mut buf = vec![0u8; 4096];
    loop {
        let want = buf.len().min(flight.room());
        let n = stream.read(&mut buf[..want]).await?;
        if n == 0 {
            return Ok((flight, Progress::Unparsed));
        }
        match flight.push(&buf[..n]) {
            Progress::More => continue,
            done => return Ok((flight, done)),
        }
    }
}

impl std::fmt::Debug for AsyncAcceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncAcceptor")
            .field("lookup_timeout", &self.lookup_timeout)
            .field("first_flight_timeout", &self.first_flight_timeout)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}
