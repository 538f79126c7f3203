//! Our own server on a tokio runtime, looking sessions up without blocking: the server is
//! configured with pending lookups, so a handshake that needs a session ID or a stateful
//! ticket stops, the connection's task fetches the keys from an asynchronous store and
//! completes the lookup (or abandons it at the deadline: a full handshake), and the sessions
//! and tickets the server makes are stored by spawned tasks while the handshake goes on; a
//! connection that fails with a fatal alert has what it made or resumed removed from the
//! store (RFC 5246 §7.2.2), once its stores are done. It
//! answers like `openssl s_server -www` (the page `examples/server` sends), once the
//! connection's stores are done, so a client coming back right after the page resumes.
//!
//! ```text
//! cargo run --release --example async_server -- --listen 127.0.0.1:4433 --cert cert.pem \
//!     --key key.pem [--tls13|--tls12] [--stateful] [--naccept N] \
//!     [--lookup-delay-ms N] [--lookup-timeout-ms N] \
//!     [--redis URL | --redis-cluster HOST:PORT,...] [--fleet-key FILE]
//! ```
//!
//! The first line on stdout is `listening on ADDR` (`--listen 127.0.0.1:0` picks a free
//! port). The store is an in-memory cache behind the asynchronous interface;
//! `--lookup-delay-ms N` makes each of its answers take N ms, as a remote store would, and
//! `--lookup-timeout-ms N` (default 50, as for `tokio_server`) is how long a handshake waits for a lookup.
//! `--stateful` issues TLS 1.3 stateful tickets (taken from the store when used); TLS 1.2
//! resumes by session ID. `--naccept N` serves N connections, then exits.
//!
//! With `--redis URL` or `--redis-cluster HOST:PORT,...` and `--fleet-key FILE` (built with
//! `--features redis-async`) the store is the fleet's session cache in Redis, reached without
//! blocking, and ticket keys come from the fleet's schedule, so this server resumes sessions
//! made by `examples/server` and `examples/tokio_server` processes of the same fleet.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tls_resumption::store::{
    AsyncSessionCache, LookupKey, LookupResult, MemoryCache, SessionCache, StoreError, StoreFuture,
};
use tls_resumption::ticket::RotatingSealer;
use tls_resumption::time::Timestamp;
use tls_resumption::{ServerConfig, ServerConnection, TicketMode, TlsVersion};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

#[path = "serve/page.rs"]
mod page;

#[path = "serve/fleet.rs"]
mod fleet;

/// What the command line asks for.
struct Options {
    listen: String,
    cert: String,
    key: String,
    versions: Vec<TlsVersion>,
    stateful: bool,
    naccept: Option<u64>,
    delay: Duration,
    timeout: Duration,
    /// `--redis URL` or `--redis-cluster NODES`, with `--fleet-key FILE`.
    fleet: Option<(fleet::Target, String)>,
}

fn parse() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let (mut listen, mut cert, mut key) = (None, None, None);
    let mut versions = vec![TlsVersion::Tls13, TlsVersion::Tls12];
    let (mut stateful, mut naccept) = (false, None);
    let (mut delay, mut timeout) = (Duration::ZERO, Duration::from_millis(50));
    let (mut redis, mut cluster, mut fleet_key) = (None, None, None);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--listen" => listen = Some(value()?),
            "--cert" => cert = Some(value()?),
            "--key" => key = Some(value()?),
            "--tls13" => versions = vec![TlsVersion::Tls13],
            "--tls12" => versions = vec![TlsVersion::Tls12],
            "--stateful" => stateful = true,
            "--naccept" => naccept = Some(number(&value()?, &arg)?),
            "--lookup-delay-ms" => delay = Duration::from_millis(number(&value()?, &arg)?),
            "--lookup-timeout-ms" => timeout = Duration::from_millis(number(&value()?, &arg)?),
            "--redis" => redis = Some(value()?),
            "--redis-cluster" => cluster = Some(value()?),
            "--fleet-key" => fleet_key = Some(value()?),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(Options {
        listen: listen.ok_or("--listen is required")?,
        cert: cert.ok_or("--cert is required")?,
        key: key.ok_or("--key is required")?,
        versions,
        stateful,
        naccept,
        delay,
        timeout,
        fleet: fleet::target(redis, cluster, fleet_key)?,
    })
}

fn number(text: &str, flag: &str) -> Result<u64, String> {
    text.parse().map_err(|e| format!("{flag}: {e}"))
}

/// An in-memory cache answering through the asynchronous interface after `delay`, as a
/// store across the network would.
struct DelayedStore {
    cache: Arc<MemoryCache>,
    delay: Duration,
}

impl AsyncSessionCache for DelayedStore {
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

/// What every connection's task shares.
struct Shared {
    config: Arc<ServerConfig>,
    store: Arc<dyn AsyncSessionCache>,
    timeout: Duration,
    /// Lookups given up at the deadline.
    abandoned: AtomicU64,
}

fn main() {
    let result = parse().and_then(|options| {
        let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
        runtime.block_on(run(options))
    });
    if let Err(e) = result {
        eprintln!("async_server: {e}");
        std::process::exit(1);
    }
}

async fn run(options: Options) -> Result<(), String> {
    let (certs, key) = page::load(&options.cert, &options.key)?;
    let (cache, store, sealer) = stores(&options).await?;
    let mut config = ServerConfig::new(certs, &key)
        .map_err(|e| e.to_string())?
        .with_versions(&options.versions)
        .with_session_cache(Some(cache.clone()))
        .with_pending_lookups();
    if options.stateful {
        config = config.with_tickets(TicketMode::Stateful {
            cache,
            lifetime: Duration::from_secs(7200),
        });
    } else if let Some(sealer) = sealer {
        config = config.with_tickets(TicketMode::Stateless(sealer));
    }
    let shared = Arc::new(Shared {
        config: Arc::new(config),
        store,
        timeout: options.timeout,
        abandoned: AtomicU64::new(0),
    });
    let listener = TcpListener::bind(&options.listen)
        .await
        .map_err(|e| format!("{}: {e}", options.listen))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    println!("listening on {bound}");
    let mut tasks = tokio::task::JoinSet::new();
    let mut accepted = 0u64;
    while options.naccept.is_none_or(|n| accepted < n) {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        accepted += 1;
        let shared = shared.clone();
        tasks.spawn(async move {
            match serve(stream, &shared).await {
                Ok(line) => eprintln!("async_server: {peer}: {line}"),
                Err(e) => eprintln!("async_server: {peer}: failed: {e}"),
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    let abandoned = shared.abandoned.load(Ordering::Relaxed);
    eprintln!("async_server: {accepted} connections, {abandoned} lookups abandoned");
    Ok(())
}

/// The configured cache, which only says what is issued (session IDs; stateful tickets with
/// `--stateful`): with pending lookups the handshake never calls it, so its blocking calls
/// never run on a runtime worker; the store that lookups, stores and removals go through;
/// and the fleet's ticket sealer when there is a fleet.
///
/// Without a fleet both are one in-memory cache (the store answering after
/// `--lookup-delay-ms`); with `--redis` or `--redis-cluster` both are the fleet's Redis
/// cache, the configured one synchronous (never called), the store without blocking.
async fn stores(
    options: &Options,
) -> Result<
    (
        Arc<dyn SessionCache>,
        Arc<dyn AsyncSessionCache>,
        Option<Arc<RotatingSealer>>,
    ),
    String,
> {
    let Some((target, key_file)) = options.fleet.clone() else {
        let cache = Arc::new(MemoryCache::new(10_000));
        let store = Arc::new(DelayedStore {
            cache: cache.clone(),
            delay: options.delay,
        });
        return Ok((cache, store, None));
    };
    let store = fleet::async_cache(target.clone(), &key_file).await?;
    let joined = tokio::task::spawn_blocking(move || fleet::join(target, &key_file))
        .await
        .map_err(|e| e.to_string())??;
    Ok((joined.cache, store, Some(joined.sealer)))
}

/// One connection: the exchange, then a short linger so the client reads our reply or alert
/// rather than a reset.
async fn serve(mut stream: TcpStream, shared: &Shared) -> Result<String, String> {
    let result = exchange(&mut stream, shared).await;
    let _ = stream.shutdown().await;
    let mut buf = [0u8; 4096];
    let linger = async { while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {} };
    let _ = tokio::time::timeout(Duration::from_secs(2), linger).await;
    result
}

async fn exchange(stream: &mut TcpStream, shared: &Shared) -> Result<String, String> {
    let clock = shared.config.clock().clone();
    let mut conn = ServerConnection::new(shared.config.clone());
    let (mut early, mut request) = (Vec::new(), Vec::new());
    let mut stores = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        flush(&mut conn, stream).await?;
        let read = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut buf));
        let n = read
            .await
            .map_err(|_| "read timed out".to_string())?
            .map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("peer closed before a request".into());
        }
        let mut data = &buf[..n];
        while !data.is_empty() {
            let taken = conn.read_tls(data);
            data = &data[taken..];
            let mut result = conn.process(clock.now());
            if result.is_ok() && conn.pending_lookup().is_some() {
                look_up(&mut conn, shared).await;
                result = conn.process(clock.now());
            }
            hand_out_stores(&mut conn, shared, &mut stores);
            if let Err(e) = result {
                let _ = flush(&mut conn, stream).await;
                take_back(&mut conn, shared, &mut stores).await;
                return Err(e.to_string());
            }
            if taken == 0 {
                break;
            }
        }
        early.extend(conn.take_early_data());
        request.extend(conn.take_plaintext());
        if !conn.is_handshaking() && page::request_complete(&early, &request) {
            // The handshake did not wait for the stores; the reply does, so a client coming
            // back as soon as it has the page finds its session stored.
            for store in stores.drain(..) {
                let _ = store.await;
            }
            let (line, page) = page::page(&conn, &early);
            conn.send_plaintext(page.as_bytes())
                .map_err(|e| e.to_string())?;
            conn.send_close_notify().map_err(|e| e.to_string())?;
            flush(&mut conn, stream).await?;
            return Ok(line);
        }
        if conn.peer_closed() {
            return Err("peer closed before a request".into());
        }
    }
}

/// Fetches the keys the connection waits for, within the deadline; gives up after it.
async fn look_up(conn: &mut ServerConnection, shared: &Shared) {
    let Some(keys) = conn.pending_lookup().map(<[LookupKey]>::to_vec) else {
        return;
    };
    let answered = tokio::time::timeout(shared.timeout, shared.store.fetch(&keys)).await;
    let done = match answered {
        Ok(results) => conn.complete_lookup(results),
        Err(_) => {
            shared.abandoned.fetch_add(1, Ordering::Relaxed);
            conn.abandon_lookup()
        }
    };
    if let Err(e) = done {
        eprintln!("async_server: lookup: {e}");
    }
}

/// Stores what the connection made from spawned tasks, off the handshake's path; their
/// handles go to `stores`.
fn hand_out_stores(conn: &mut ServerConnection, shared: &Shared, stores: &mut Vec<JoinHandle<()>>) {
    for pending in conn.take_pending_stores() {
        let store = shared.store.clone();
        stores.push(tokio::spawn(async move {
            let (key, value, expires_at) = pending.into_parts();
            if let Err(e) = store.store(&key, value.expose_secret(), expires_at).await {
                eprintln!("async_server: store: {e}");
            }
        }));
    }
}

/// After a fatal alert (RFC 5246 §7.2.2): removes from the store what the connection made or
/// resumed, once every store it handed out is done (a store landing after the removal would
/// make the session resumable again).
async fn take_back(conn: &mut ServerConnection, shared: &Shared, stores: &mut Vec<JoinHandle<()>>) {
    for store in stores.drain(..) {
        let _ = store.await;
    }
    for key in conn.take_pending_removals() {
        if let Err(e) = shared.store.remove(&key).await {
            eprintln!("async_server: remove: {e}");
        }
    }
}

async fn flush(conn: &mut ServerConnection, stream: &mut TcpStream) -> Result<(), String> {
    let mut out = Vec::new();
    conn.write_tls(&mut out);
    stream.write_all(&out).await.map_err(|e| e.to_string())
}
