//! A rustls HTTPS server on loopback whose resumption state lives in this crate: session IDs
//! and stateful tickets in a `MemoryCache`, stateless tickets sealed by a `RotatingSealer`.
//!
//! Each response is a small page in the spirit of `openssl s_server -www`: whether the
//! connection was `New` or `Reused`, the protocol and cipher, the cache counters and the
//! ticket-key exposure report.
//!
//! ```sh
//! cargo run --features rustls --example rustls_server -- --listen 127.0.0.1:8443 --naccept 2
//! printf 'GET / HTTP/1.0\r\n\r\n' | openssl s_client -connect 127.0.0.1:8443 -servername localhost -ign_eof -sess_out s.pem
//! printf 'GET / HTTP/1.0\r\n\r\n' | openssl s_client -connect 127.0.0.1:8443 -servername localhost -ign_eof -sess_in s.pem
//! ```
//!
//! Options: the flags every example server shares (the README's table): `--listen ADDR`
//! (port 0 picks a free one; the first stdout line is `listening on ADDR`), `--cert FILE`,
//! `--key FILE` (PEM; default: the test certificate in tests/data/pki), `--tls12` or `--tls13`
//! (default: both), `--stateful` (TLS 1.3 tickets from the cache instead of sealed),
//! `--naccept N` (stop after N connections; default: serve forever).
//!
//! With the `redis` feature, `--redis redis://127.0.0.1:6379 --fleet-key FILE` (the file: 32
//! random bytes, `head -c 32 /dev/urandom > fleet.key`; or `--redis-cluster HOST:PORT,...` for
//! a Redis Cluster) puts the session cache in Redis and
//! takes ticket keys from the fleet, so several server processes resume each other's sessions:
//!
//! ```sh
//! cargo run --features rustls,redis --example rustls_server -- --listen 127.0.0.1:8443 --redis redis://127.0.0.1:6379 --fleet-key fleet.key
//! cargo run --features rustls,redis --example rustls_server -- --listen 127.0.0.1:8444 --redis redis://127.0.0.1:6379 --fleet-key fleet.key
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use rustls::{ServerConfig, ServerConnection, StreamOwned};
use tls_resumption::rustls_adapter::Resumption;
use tls_resumption::store::MemoryCache;
use tls_resumption::ticket::{RotatingSealer, Schedule};
use tls_resumption::time::SystemClock;

#[path = "support/flags.rs"]
mod flags;

#[path = "serve/fleet.rs"]
mod fleet;

use flags::ServerFlags;

fn main() {
    let args = match flags::parse().and_then(only_this_examples_flags) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("rustls_server: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(args) {
        eprintln!("rustls_server: {e}");
        std::process::exit(1);
    }
}

/// The shared flags this server has no use for are refused rather than ignored.
fn only_this_examples_flags(flags: ServerFlags) -> Result<ServerFlags, String> {
    if flags.lookup_timeout.is_some() {
        return Err(
            "--lookup-timeout-ms is for tokio_server (lookups here are synchronous)".into(),
        );
    }
    Ok(flags)
}

fn run(args: ServerFlags) -> Result<(), Box<dyn std::error::Error>> {
    let mut config = flags::server_config(&args)?;

    let clock = Arc::new(SystemClock);
    let mut resumption = match args.fleet.clone() {
        Some((target, key_file)) => {
            // The session cache in Redis, ticket keys from the fleet, kept in step by a
            // background thread.
            let joined = fleet::join(target, &key_file)?;
            Resumption::new(joined.cache, joined.sealer, clock)
        }
        None => {
            let sealer = Arc::new(RotatingSealer::new(clock.clone(), Schedule::default())?);
            Resumption::new(Arc::new(MemoryCache::new(100_000)), sealer, clock)
        }
    };
    if args.stateful {
        resumption = resumption.stateful();
    }
    resumption.install(&mut config);
    let config = Arc::new(config);

    let listener = TcpListener::bind(&args.listen)?;
    println!("listening on {}", listener.local_addr()?);
    std::io::stdout().flush()?;

    for (served, stream) in listener.incoming().enumerate() {
        if let Err(e) = serve(stream?, &config, &resumption) {
            eprintln!("connection failed: {e}");
        }
        if args.naccept.is_some_and(|n| served + 1 >= n) {
            break;
        }
    }
    Ok(())
}

fn serve(
    tcp: TcpStream,
    config: &Arc<ServerConfig>,
    resumption: &Resumption,
) -> Result<(), Box<dyn std::error::Error>> {
    tcp.set_read_timeout(Some(Duration::from_secs(10)))?;
    let conn = ServerConnection::new(config.clone())?;
    let mut tls = StreamOwned::new(conn, tcp);
    // Read the request head (bounded), which also completes the handshake.
    let mut request = Vec::new();
    {
        let mut reader = BufReader::new((&mut tls).take(8192));
        loop {
            let mut line = Vec::new();
            if reader.read_until(b'\n', &mut line)? == 0 || line == b"\r\n" || line == b"\n" {
                break;
            }
            request.extend_from_slice(&line);
        }
    }
    let page = page(&tls.conn, resumption);
    let response = format!(
        "HTTP/1.0 200 ok\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{page}",
        page.len()
    );
    tls.write_all(response.as_bytes())?;
    tls.conn.send_close_notify();
    tls.flush()?;
    while tls.conn.wants_write() {
        tls.conn.write_tls(&mut tls.sock)?;
    }
    Ok(())
}

fn page(conn: &ServerConnection, resumption: &Resumption) -> String {
    let stats = resumption.cache().stats();
    let exposure = resumption.tickets().sealer().exposure();
    format!(
        "{}\n\
         session cache: {} puts, {} hits, {} misses, {} errors\n\
         ticket keys: {exposure:?}\n",
        flags::www_line(conn),
        stats.puts,
        stats.hits,
        stats.misses,
        stats.errors
    )
}
