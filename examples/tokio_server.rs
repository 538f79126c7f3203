//! A rustls HTTPS server on tokio whose session lookups never block a worker thread: each
//! connection's first flight is read with this crate's codec, its session ID or stateful
//! ticket identities fetched from the session store within `--lookup-timeout-ms` (late = a
//! full handshake), and new sessions stored from a bounded background queue.
//!
//! ```sh
//! cargo run --features tokio --example tokio_server -- --listen 127.0.0.1:8443 --stateful
//! printf 'GET / HTTP/1.0\r\n\r\n' | openssl s_client -connect 127.0.0.1:8443 -servername localhost -ign_eof -sess_out s.pem
//! printf 'GET / HTTP/1.0\r\n\r\n' | openssl s_client -connect 127.0.0.1:8443 -servername localhost -ign_eof -sess_in s.pem
//! printf 'GET /stats HTTP/1.0\r\n\r\n' | openssl s_client -connect 127.0.0.1:8443 -quiet
//! ```
//!
//! Every response is a `-www`-style page (`New` or `Reused`, protocol, cipher) followed by
//! the counters (lookups, hits, misses, lookup timeouts, pending time, queue drops, stores);
//! the path `/stats` answers the counters alone. SIGINT prints them and stops the server.
//!
//! Flags: the ones every example server shares (the README's table). Sessions live in memory
//! unless `--redis URL` or `--redis-cluster HOST:PORT,...` with `--fleet-key FILE` (feature
//! `redis-async`) puts them in Redis, shared by every server of the fleet.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use tls_resumption::rustls_adapter::{AsyncAcceptor, TicketAdapter, DEFAULT_LOOKUP_TIMEOUT};
use tls_resumption::store::{AsyncSessionCache, MemoryCache};
use tls_resumption::ticket::{RotatingSealer, Schedule};
use tls_resumption::time::SystemClock;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

#[path = "support/flags.rs"]
mod flags;

#[path = "serve/fleet.rs"]
mod fleet;

use flags::ServerFlags;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The longest one connection is served: handshake, request and answer.
const CONNECTION_LIMIT: Duration = Duration::from_secs(30);

fn main() {
    let flags = match flags::parse() {
        Ok(flags) => flags,
        Err(e) => {
            eprintln!("tokio_server: {e}");
            std::process::exit(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("tokio_server: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = runtime.block_on(run(flags)) {
        eprintln!("tokio_server: {e}");
        std::process::exit(1);
    }
}

/// Where sessions are kept and ticket keys come from.
struct Backend {
    cache: Arc<dyn AsyncSessionCache>,
    sealer: Arc<RotatingSealer>,
}

async fn run(flags: ServerFlags) -> Result<(), BoxError> {
    let mut config = flags::server_config(&flags)?;
    let backend = match flags.fleet.clone() {
        Some((target, key_file)) => fleet_backend(target, key_file).await?,
        None => memory_backend()?,
    };
    if !flags.stateful {
        // Stateless tickets sealed with rotating keys; rustls issues stateful TLS 1.3 tickets
        // (cache keys, looked up asynchronously) exactly when no ticketer is enabled.
        config.ticketer = Arc::new(TicketAdapter::new(backend.sealer.clone()));
    }
    let acceptor = AsyncAcceptor::builder(config, backend.cache)
        .versions(&flags.versions)
        .lookup_timeout(flags.lookup_timeout.unwrap_or(DEFAULT_LOOKUP_TIMEOUT))
        .build(&tokio::runtime::Handle::current());
    let acceptor = Arc::new(acceptor);

    let listener = TcpListener::bind(&flags.listen).await?;
    println!("listening on {}", listener.local_addr()?);
    std::io::stdout().flush()?;

    let mut connections = JoinSet::new();
    let mut accepted = 0usize;
    let mut interrupted = false;
    while flags.naccept.is_none_or(|n| accepted < n) {
        tokio::select! {
            incoming = listener.accept() => {
                let Ok((tcp, _)) = incoming else { continue };
                accepted += 1;
                let acceptor = acceptor.clone();
                connections.spawn(async move {
                    match tokio::time::timeout(CONNECTION_LIMIT, serve(&acceptor, tcp)).await {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => eprintln!("tokio_server: connection failed: {e}"),
                        Err(_) => eprintln!("tokio_server: connection took too long"),
                    }
                });
            }
            _ = tokio::signal::ctrl_c() => {
                interrupted = true;
                break;
            }
            // Reap finished connections so the set stays small on a long run.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    if !interrupted {
        while connections.join_next().await.is_some() {}
    }
    println!("stats: {}", acceptor.stats());
    std::io::stdout().flush()?;
    Ok(())
}

fn memory_backend() -> Result<Backend, BoxError> {
    let clock = Arc::new(SystemClock);
    let sealer = Arc::new(RotatingSealer::new(clock, Schedule::default())?);
    // An in-process cache answers at once behind the asynchronous interface.
    let cache: Arc<dyn AsyncSessionCache> = Arc::new(Arc::new(MemoryCache::new(100_000)));
    Ok(Backend { cache, sealer })
}

/// One request: the handshake, the request head (bounded, 10 s), the page.
async fn serve(acceptor: &AsyncAcceptor, tcp: TcpStream) -> Result<(), BoxError> {
    let mut tls = acceptor.accept(tcp).await?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    let read = async {
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 8192 {
            let n = tls.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
        Ok::<_, std::io::Error>(())
    };
    tokio::time::timeout(Duration::from_secs(10), read).await??;
    let stats_only = head.starts_with(b"GET /stats ");
    let stats = acceptor.stats();
    let page = if stats_only {
        format!("{stats}\n")
    } else {
        format!("{}\n{stats}\n", flags::www_line(tls.get_ref().1))
    };
    let response = format!(
        "HTTP/1.0 200 ok\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{page}",
        page.len()
    );
    tls.write_all(response.as_bytes()).await?;
    tls.shutdown().await?;
    Ok(())
}

/// The fleet's sessions through the asynchronous Redis client, and ticket keys from its
/// schedule, kept in step by a plain thread (the synchronous Redis calls of the key sync never
/// run on a runtime worker).
async fn fleet_backend(target: fleet::Target, key_file: String) -> Result<Backend, BoxError> {
    let cache = fleet::async_cache(target.clone(), &key_file).await?;
    let joined = tokio::task::spawn_blocking(move || fleet::join(target, &key_file)).await??;
    Ok(Backend {
        cache,
        sealer: joined.sealer,
    })
}
