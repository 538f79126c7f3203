//! `examples/async_server` joined to a fleet through Redis (`--redis … --fleet-key …`,
//! feature `redis-async`): sessions made by an `examples/server` process resume on it and
//! back, its lookups reaching Redis without blocking; and with Redis frozen, a handshake
//! that needs a lookup completes as a full one within the lookup deadline.
#![cfg(feature = "redis-async")]

mod fleet_support;
mod peers;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fleet_support::example::start_server;
use fleet_support::{fleet_key_bytes, RedisServer};

/// `examples/async_server` as a child process, killed on drop.
struct AsyncServer {
    child: Child,
    port: u16,
}

impl AsyncServer {
    fn start(args: &[&str]) -> Self {
        let pki = |name: &str| peers::pki::path(name).to_str().unwrap().to_owned();
        let mut child = Command::new(peers::example_binary("async_server"))
            .args(["--listen", "127.0.0.1:0", "--cert", &pki("server.pem")])
            .args(["--key", &pki("server.key")])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run examples/async_server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|addr| addr.rsplit(':').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("examples/async_server did not start: {line:?}"));
        Self { child, port }
    }
}

impl Drop for AsyncServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fleet key file for one test, removed on drop.
struct KeyFile(PathBuf);

impl KeyFile {
    fn new(test: &str) -> Self {
        let path = std::env::temp_dir().join(format!("{test}-{}.key", std::process::id()));
        std::fs::write(&path, fleet_key_bytes()).unwrap();
        Self(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for KeyFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn session_file(test: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("{test}-{}.pem", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

/// A session made by `examples/server` resumes on `examples/async_server` and one made by
/// the async server resumes on the other, through one Redis.
fn sessions_cross(server_args: &[&str], client_args: &[&str], test: &str) {
    if !peers::openssl::available(test) {
        return;
    }
    let Some(redis) = RedisServer::start(test) else {
        return;
    };
    let key = KeyFile::new(test);
    let url = redis.url();
    let fleet = ["--redis", &url, "--fleet-key", key.path()];
    let sync = start_server(
        &peers::example_binary("server"),
        &[server_args, &fleet].concat(),
    );
    let ours = AsyncServer::start(&[server_args, &fleet].concat());
    for (from, to, way) in [
        (sync.port, ours.port, "server → async_server"),
        (ours.port, sync.port, "async_server → server"),
    ] {
        let session = session_file(test);
        let first = peers::openssl::s_client(from, client_args, &session);
        assert!(first.new_session(), "{test} {way}: first\n{}", first.stdout);
        let second = peers::openssl::s_client(to, client_args, &session);
        let _ = std::fs::remove_file(&session);
        assert!(
            second.reused(),
            "{test} {way}: the session resumes on the other server\n{}\n{}",
            second.stdout,
            second.stderr
        );
    }
}

#[test]
fn a_tls12_session_id_crosses_between_the_sync_and_the_async_server() {
    sessions_cross(
        &["--tls12"],
        &["-tls1_2", "-no_ticket"],
        "fleet_async_example_tls12_id",
    );
}

#[test]
fn a_tls13_ticket_crosses_between_the_sync_and_the_async_server() {
    sessions_cross(&["--tls13"], &["-tls1_3"], "fleet_async_example_tls13");
}

#[test]
fn with_redis_frozen_a_lookup_ends_in_a_full_handshake_within_its_deadline() {
    let test = "fleet_async_example_frozen";
    if !peers::openssl::available(test) {
        return;
    }
    let Some(redis) = RedisServer::start(test) else {
        return;
    };
    let key = KeyFile::new(test);
    let url = redis.url();
    let server = AsyncServer::start(&[
        "--tls12",
        "--redis",
        &url,
        "--fleet-key",
        key.path(),
        "--lookup-timeout-ms",
        "50",
    ]);
    let session = session_file(test);
    let args = ["-tls1_2", "-no_ticket"];
    let first = peers::openssl::s_client(server.port, &args, &session);
    assert!(first.new_session(), "first\n{}", first.stdout);
    redis.freeze(true);
    let started = Instant::now();
    let second = peers::openssl::s_client(server.port, &args, &session);
    let took = started.elapsed();
    redis.freeze(false);
    let _ = std::fs::remove_file(&session);
    assert!(
        second.new_session() && !second.reused(),
        "with Redis frozen the handshake is a full one\n{}\n{}",
        second.stdout,
        second.stderr
    );
    // The lookup waits 50 ms and the reply waits for the new session's store, which the
    // command timeout (100 ms) bounds; the rest is two processes starting on a loaded
    // machine, hence the margin.
    assert!(
        took < Duration::from_secs(5),
        "the handshake waited {took:?} on a frozen Redis"
    );
}
