//! A TLS 1.3 and TLS 1.2 server answering like `openssl s_server -www`: for any request it replies with a
//! page saying whether the session was new or reused, how, and what early data arrived.
//!
//! ```text
//! cargo run --release --example server -- --listen 127.0.0.1:4433 --cert cert.pem --key key.pem \
//!     [--tls13|--tls12] [--no-tickets] [--no-session-cache] [--allow-psk-ke] [--allow-no-ems] \
//!     [--early-data BYTES] [--keylog FILE] [--alpn h2,http/1.1] [--vhost NAME:CERT:KEY]... \
//!     [--rotation-period SECS --decrypt-window SECS] [--no-replay-guard] \
//!     [--stateless-retry [--retry-key FILE]] [--naccept N]
//! ```
//!
//! As every example server does, it prints `listening on ADDR` as its first line on stdout
//! (`--listen 127.0.0.1:0` picks a free port); `--naccept N` serves N connections, then exits.
//!
//! Like `s_server -www`, a request is answered once it is whole (its blank line arrived); after
//! its reply or alert the server reads until the client closes (or two seconds pass).
//!
//! `--stateless-retry` puts an integrity-protected cookie in every HelloRetryRequest (RFC 8446
//! §4.2.2), under a key drawn at start, or the 32 bytes of `--retry-key FILE` (servers sharing
//! the file answer each other's retries).
//!
//! `--alpn` lists the application protocols (RFC 7301) the server speaks, most preferred
//! first; the page then names the one selected.
//!
//! Tickets: stateless (sealed session state) by default. `--no-tickets` switches to stateful
//! tickets (an ID into an in-memory session cache, each usable once), as OpenSSL's
//! `-no_ticket` does for TLS 1.3; with `--no-session-cache` as well, no tickets are issued.
//! `--allow-no-ems` serves TLS 1.2 clients without extended master secret (refused by default).
//! `--keylog FILE` (or `SSLKEYLOGFILE`) writes NSS key-log lines.
//!
//! `--rotation-period SECS` / `--decrypt-window SECS` seal stateless tickets under a
//! `RotatingSealer` with that schedule (a new key every period, each opening tickets for the
//! window), so a short schedule can be watched from outside (`examples/probe --watch`).
//! `--no-replay-guard` is for testing probes only: it accepts every 0-RTT attempt, replays
//! included, as a server without anti-replay would.
//!
//! Virtual hosts: `--vhost NAME:CERT:KEY` (repeatable) answers a client asking for NAME
//! (server_name) with that certificate chain and key; every other name gets `--cert`/`--key`.
//! Each virtual host seals tickets under its own rotating ticket keys (their exposure is
//! printed at start) and keeps its sessions in its own namespace of the session cache, so a
//! session of one name never resumes under another.
//!
//! A fleet (built with `--features redis`): `--redis redis://127.0.0.1:6379 --fleet-key FILE`
//! (the file: 32 random bytes, `head -c 32 /dev/urandom > fleet.key`) puts the session cache
//! in Redis (encrypted under a key derived from the fleet key), takes ticket keys from the
//! fleet's schedule in Redis, and checks 0-RTT replay fleet-wide, so several server processes
//! resume each other's sessions and accept a ClientHello's early data at most once between them.
//! `--redis-cluster HOST:PORT,HOST:PORT,...` does the same through a Redis Cluster (any of its
//! nodes; the others are learned from them).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use tls_resumption::antireplay::{EarlyDataAttempt, ReplayGuard, StrikeRegister, Verdict};
use tls_resumption::crypto::secret::SecretArray;
use tls_resumption::keylog::{KeyLog, KeyLogFile};
use tls_resumption::store::{MemoryCache, SessionCache};
use tls_resumption::ticket::{RotatingSealer, Schedule};
use tls_resumption::time::Timestamp;
use tls_resumption::{ServerConfig, ServerConnection, TicketMode, TlsVersion, VirtualHost};

#[path = "serve/page.rs"]
mod page;

#[path = "serve/fleet.rs"]
mod fleet;

use page::{load, request_complete};

fn main() {
    if let Err(e) = run() {
        eprintln!("server: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let (mut listen, mut cert, mut key, mut keylog) = (None, None, None, None);
    let (mut no_tickets, mut no_cache, mut psk_ke, mut early) = (false, false, false, 0u32);
    let mut require_ems = true;
    let mut versions = vec![TlsVersion::Tls13, TlsVersion::Tls12];
    let (mut redis, mut redis_cluster, mut fleet_key) = (None, None, None);
    let mut vhosts = Vec::new();
    let mut alpn: Vec<String> = Vec::new();
    let (mut rotation, mut window, mut no_guard) = (None, None, false);
    let (mut stateless_retry, mut retry_key) = (false, None);
    let mut naccept = None;
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--listen" => listen = Some(value()?),
            "--cert" => cert = Some(value()?),
            "--key" => key = Some(value()?),
            "--keylog" => keylog = Some(value()?),
            "--early-data" => early = value()?.parse().map_err(|e| format!("--early-data: {e}"))?,
            "--no-tickets" => no_tickets = true,
            "--no-session-cache" => no_cache = true,
            "--allow-psk-ke" => psk_ke = true,
            "--allow-no-ems" => require_ems = false,
            "--tls13" => versions = vec![TlsVersion::Tls13],
            "--tls12" => versions = vec![TlsVersion::Tls12],
            "--redis" => redis = Some(value()?),
            "--redis-cluster" => redis_cluster = Some(value()?),
            "--fleet-key" => fleet_key = Some(value()?),
            "--vhost" => vhosts.push(value()?),
            "--alpn" => alpn = value()?.split(',').map(str::to_owned).collect(),
            "--rotation-period" => rotation = Some(secs(&value()?, "--rotation-period")?),
            "--decrypt-window" => window = Some(secs(&value()?, "--decrypt-window")?),
            "--no-replay-guard" => no_guard = true,
            "--stateless-retry" => stateless_retry = true,
            "--retry-key" => retry_key = Some(value()?),
            "--naccept" => {
                naccept = Some(value()?.parse().map_err(|e| format!("--naccept: {e}"))?);
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let listen = listen.ok_or("--listen is required")?;
    let (certs, key) = load(
        &cert.ok_or("--cert is required")?,
        &key.ok_or("--key is required")?,
    )?;
    let fleet = match fleet::target(redis, redis_cluster, fleet_key)? {
        Some((target, file)) => Some(fleet::join(target, &file)?),
        None => None,
    };
    let mut config = ServerConfig::new(certs, &key).map_err(|e| e.to_string())?;
    let cache: Arc<dyn SessionCache> = match &fleet {
        Some(f) => f.cache.clone(),
        None => Arc::new(MemoryCache::new(10_000)),
    };
    if let Some(f) = &fleet {
        config = config
            .with_tickets(TicketMode::Stateless(f.sealer.clone()))
            .with_session_cache(Some(cache.clone()));
    }
    if let Some(schedule) = schedule(rotation, window) {
        let sealer =
            RotatingSealer::new(config.clock().clone(), schedule).map_err(|e| e.to_string())?;
        config = config.with_tickets(TicketMode::Stateless(Arc::new(sealer)));
    }
    config = match (no_tickets, no_cache) {
        (false, _) => config,
        (true, false) => config.with_tickets(TicketMode::Stateful {
            cache: cache.clone(),
            lifetime: Duration::from_secs(7200),
        }),
        (true, true) => config.with_tickets(TicketMode::Disabled),
    };
    // TLS 1.2: `--no-tickets` resumes by session ID only, `--no-session-cache` by ticket only.
    config = config.with_versions(&versions).with_alpn_protocols(&alpn);
    if no_cache {
        config = config.with_session_cache(None);
    }
    if !vhosts.is_empty() && fleet.is_some() {
        return Err("--vhost keeps ticket keys in the process; it does not go with --redis".into());
    }
    for spec in &vhosts {
        config = add_vhost(config, spec, &cache, no_tickets, no_cache)?;
    }
    match (stateless_retry, retry_key) {
        (true, key) => config = config.with_stateless_retry(retry_cookie_key(key.as_deref())?),
        (false, Some(_)) => return Err("--retry-key goes with --stateless-retry".into()),
        (false, None) => {}
    }
    config = config
        .with_psk_ke(psk_ke)
        .with_require_extended_master_secret(require_ems);
    if early > 0 {
        let guard: Arc<dyn ReplayGuard> = match &fleet {
            _ if no_guard => Arc::new(NoReplayGuard),
            Some(f) => f.replay_guard.clone(),
            None => Arc::new(StrikeRegister::new(100_000, Duration::from_secs(10))),
        };
        config = config.with_early_data(early, guard);
    }
    let log: Option<Arc<dyn KeyLog>> = match keylog {
        Some(path) => Some(Arc::new(
            KeyLogFile::open(&path).map_err(|e| format!("{path}: {e}"))?,
        )),
        None => KeyLogFile::from_env().map(|k| Arc::new(k) as Arc<dyn KeyLog>),
    };
    if let Some(log) = log {
        config = config.with_key_log(log);
    }
    let config = Arc::new(config);
    let listener = TcpListener::bind(&listen).map_err(|e| format!("{listen}: {e}"))?;
    // The bound address, so `--listen 127.0.0.1:0` tells its caller the port chosen.
    let bound = listener
        .local_addr()
        .map_err(|e| format!("{listen}: {e}"))?;
    // Like every example server: the address on the first line of stdout, and in the log.
    println!("listening on {bound}");
    eprintln!("server: listening on {bound}");
    accept(&listener, &config, naccept);
    Ok(())
}

/// Serves each connection on its own thread; with `--naccept N`, N connections, then
/// returns once they are done.
fn accept(listener: &TcpListener, config: &Arc<ServerConfig>, naccept: Option<u64>) {
    let (mut served, mut accepted) = (Vec::new(), 0u64);
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let config = config.clone();
        served.push(std::thread::spawn(move || {
            let peer = stream
                .peer_addr()
                .map(|a| a.to_string())
                .unwrap_or_default();
            match serve(stream, config) {
                Ok(line) => eprintln!("server: {peer}: {line}"),
                Err(e) => eprintln!("server: {peer}: failed: {e}"),
            }
        }));
        served.retain(|t| !t.is_finished());
        accepted += 1;
        if naccept.is_some_and(|n| accepted >= n) {
            break;
        }
    }
    for thread in served {
        let _ = thread.join();
    }
}

/// `--no-replay-guard`: takes every 0-RTT attempt as fresh. Only for testing that a probe
/// sees replays accepted; a real server must keep a guard.
struct NoReplayGuard;

impl ReplayGuard for NoReplayGuard {
    fn check_and_record(&self, _: &EarlyDataAttempt<'_>, _: Timestamp) -> Verdict {
        Verdict::Fresh
    }
}

/// Whole or fractional seconds.
fn secs(text: &str, flag: &str) -> Result<Duration, String> {
    let secs: f64 = text.parse().map_err(|e| format!("{flag}: {e}"))?;
    Duration::try_from_secs_f64(secs).map_err(|e| format!("{flag}: {e}"))
}

/// The ticket-key schedule of `--rotation-period` / `--decrypt-window`, if either is given
/// (the other keeps its default).
fn schedule(rotation: Option<Duration>, window: Option<Duration>) -> Option<Schedule> {
    if rotation.is_none() && window.is_none() {
        return None;
    }
    let default = Schedule::default();
    Some(Schedule {
        rotation_period: rotation.unwrap_or(default.rotation_period),
        decrypt_window: window.unwrap_or(default.decrypt_window),
    })
}

/// The key of HelloRetryRequest cookies: the 32 bytes of `file`, or random ones.
fn retry_cookie_key(file: Option<&str>) -> Result<SecretArray<32>, String> {
    use ring::rand::SecureRandom;
    let mut key = SecretArray::zeroed();
    match file {
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
            key = SecretArray::from_slice(&bytes)
                .map_err(|_| format!("{path}: a retry key is 32 bytes"))?;
        }
        None => ring::rand::SystemRandom::new()
            .fill(key.expose_secret_mut())
            .map_err(|_| "no randomness for the retry key")?,
    }
    Ok(key)
}

/// Adds the virtual host of `--vhost NAME:CERT:KEY`: its certificate, a rotating ticket key
/// of its own (or stateful tickets in the shared cache, as `--no-tickets` says), and the
/// shared session cache, which the configuration namespaces by name.
fn add_vhost(
    config: ServerConfig,
    spec: &str,
    cache: &Arc<dyn SessionCache>,
    no_tickets: bool,
    no_cache: bool,
) -> Result<ServerConfig, String> {
    let mut parts = spec.splitn(3, ':');
    let (Some(name), Some(cert), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!("--vhost {spec}: expected NAME:CERT:KEY"));
    };
    let (certs, key) = load(cert, key)?;
    let sealer = RotatingSealer::new(config.clock().clone(), Schedule::default())
        .map_err(|e| e.to_string())?;
    let tickets = match (no_tickets, no_cache) {
        (false, _) => TicketMode::Stateless(Arc::new(sealer)),
        (true, false) => TicketMode::Stateful {
            cache: cache.clone(),
            lifetime: Duration::from_secs(7200),
        },
        (true, true) => TicketMode::Disabled,
    };
    let host = VirtualHost::new(certs, &key)
        .map_err(|e| format!("--vhost {name}: {e}"))?
        .with_tickets(tickets)
        .with_session_cache((!no_cache).then(|| cache.clone()));
    let config = config.with_virtual_host(name, host);
    match config.exposure(Some(name)) {
        Some(e) => eprintln!(
            "server: vhost {name}: {} ticket keys, a recorded session stays recoverable for at most {}s",
            e.keys.len(),
            e.longest_exposure.as_secs()
        ),
        None => eprintln!("server: vhost {name}: no ticket keys"),
    }
    Ok(config)
}

/// One connection: the exchange, then (answered or failed) the socket is kept open until the
/// client closes or a short while passes, so that bytes it is still sending are read rather than
/// answered with a TCP reset that would hide our reply or alert from it.
fn serve(mut stream: TcpStream, config: Arc<ServerConfig>) -> Result<String, String> {
    let result = exchange(&mut stream, config);
    linger(&mut stream);
    result
}

/// After our close_notify or alert: no more writes, and reads until the client's close (EOF)
/// or two seconds, whichever comes first.
fn linger(stream: &mut TcpStream) {
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return;
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

fn exchange(stream: &mut TcpStream, config: Arc<ServerConfig>) -> Result<String, String> {
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    let clock = config.clock().clone();
    let mut conn = ServerConnection::new(config);
    let mut early = Vec::new();
    let mut request = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        flush(&mut conn, stream)?;
        let n = stream.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("peer closed before a request".into());
        }
        let mut data = &buf[..n];
        while !data.is_empty() {
            let taken = conn.read_tls(data);
            data = &data[taken..];
            let result = conn.process(clock.now());
            if let Err(e) = result {
                let _ = flush(&mut conn, stream);
                return Err(e.to_string());
            }
            if taken == 0 {
                break;
            }
        }
        early.extend(conn.take_early_data());
        request.extend(conn.take_plaintext());
        if !conn.is_handshaking() && request_complete(&early, &request) {
            let (line, page) = page::page(&conn, &early);
            conn.send_plaintext(page.as_bytes())
                .map_err(|e| e.to_string())?;
            conn.send_close_notify().map_err(|e| e.to_string())?;
            flush(&mut conn, stream)?;
            return Ok(line);
        }
        if conn.peer_closed() {
            return Err("peer closed before a request".into());
        }
    }
}

fn flush(conn: &mut ServerConnection, stream: &mut TcpStream) -> Result<(), String> {
    let mut out = Vec::new();
    conn.write_tls(&mut out);
    stream.write_all(&out).map_err(|e| e.to_string())
}
