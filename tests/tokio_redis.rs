//! `examples/tokio_server` processes sharing one `redis-server` (feature `redis-async`):
//! sessions made on one resume on the other, for `openssl s_client` and rustls clients; with
//! Redis frozen (SIGSTOP) no handshake waits longer than the lookup deadline and the server
//! goes on serving.
#![cfg(feature = "redis-async")]

mod fleet_support;
mod peers;
mod tokio_support;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fleet_support::{fleet_key_bytes, RedisServer};
use peers::rustls_pair::client_config;
use rustls::HandshakeKind;
use tokio_support::{counter, stats_of, until_async, visit, ExampleProcess};

const TLS12: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS12];
const TLS13: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS13];

/// A fleet key file, removed on drop.
struct KeyFile(PathBuf);

impl KeyFile {
    fn new(test: &str) -> Self {
        let path = std::env::temp_dir().join(format!("{test}-{}.key", std::process::id()));
        std::fs::write(&path, fleet_key_bytes()).unwrap();
        Self(path)
    }
}

impl Drop for KeyFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Two servers, A and B, of one fleet on `redis`.
fn two_servers(
    redis: &RedisServer,
    key: &KeyFile,
    args: &[&str],
) -> (ExampleProcess, ExampleProcess) {
    let url = redis.url();
    let fleet = ["--redis", &url, "--fleet-key", key.0.to_str().unwrap()];
    let all: Vec<&str> = args.iter().copied().chain(fleet).collect();
    (
        ExampleProcess::start("tokio_server", &all),
        ExampleProcess::start("tokio_server", &all),
    )
}

fn openssl_session_from_a_resumes_on_b(server_args: &[&str], client_args: &[&str], test: &str) {
    if !peers::openssl::available(test) {
        return;
    }
    let Some(redis) = RedisServer::start(test) else {
        return;
    };
    let key = KeyFile::new(test);
    let (a, b) = two_servers(&redis, &key, server_args);
    let session = std::env::temp_dir().join(format!("{test}-{}.pem", std::process::id()));
    let _ = std::fs::remove_file(&session);
    let first = peers::openssl::s_client(a.port(), client_args, &session);
    assert!(first.new_session(), "{test}: {}", first.stdout);
    if server_args.contains(&"--stateful") {
        // The session reaches Redis from A's store queue, after the handshake.
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(until_async("A's stores", || async {
            counter(&stats_of(a.addr).await, "stored") >= 1
        }));
    }
    let second = peers::openssl::s_client(b.port(), client_args, &session);
    let _ = std::fs::remove_file(&session);
    assert!(
        second.reused() && second.stdout.contains("Reused, "),
        "{test}: the session from A resumes on B\n{}\n{}",
        second.stdout,
        second.stderr
    );
}

#[test]
fn openssl_tls13_stateful_ticket_from_one_process_resumes_on_another() {
    openssl_session_from_a_resumes_on_b(
        &["--tls13", "--stateful"],
        &["-tls1_3"],
        "tokio_redis_tls13_stateful",
    );
}

#[test]
fn openssl_tls12_session_id_from_one_process_resumes_on_another() {
    openssl_session_from_a_resumes_on_b(
        &["--tls12", "--stateful"],
        &["-tls1_2", "-no_ticket"],
        "tokio_redis_tls12_id",
    );
}

#[test]
fn openssl_tls13_ticket_sealed_with_fleet_keys_resumes_on_another() {
    openssl_session_from_a_resumes_on_b(&["--tls13"], &["-tls1_3"], "tokio_redis_tls13_ticket");
}

async fn rustls_session_from_a_resumes_on_b(
    versions: &[&'static rustls::SupportedProtocolVersion],
    test: &str,
) {
    let Some(redis) = RedisServer::start(test) else {
        return;
    };
    let key = KeyFile::new(test);
    let (a, b) = two_servers(&redis, &key, &["--stateful"]);
    let client = Arc::new(client_config(versions));
    let first = visit(&client, a.addr).await;
    assert_eq!(first.kind, Some(HandshakeKind::Full), "{}", first.page);
    until_async("A's stores", || async {
        counter(&stats_of(a.addr).await, "stored") >= 1
    })
    .await;
    let second = visit(&client, b.addr).await;
    assert_eq!(
        second.kind,
        Some(HandshakeKind::Resumed),
        "{test}: {}",
        second.page
    );
    let stats = b.interrupt();
    assert!(stats.contains("lookups 1 hits 1 "), "{stats}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rustls_tls13_stateful_ticket_from_one_process_resumes_on_another() {
    rustls_session_from_a_resumes_on_b(TLS13, "tokio_redis_rustls_tls13").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rustls_tls12_session_id_from_one_process_resumes_on_another() {
    rustls_session_from_a_resumes_on_b(TLS12, "tokio_redis_rustls_tls12").await;
}

/// The same through a Redis Cluster (3 masters, 3 replicas): a TLS 1.3 stateful ticket made on
/// A resumes on B, for rustls and for OpenSSL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_resume_across_processes_through_a_redis_cluster() {
    let test = "tokio_redis_cluster";
    let Some(cluster) = fleet_support::cluster::RedisCluster::start(test) else {
        return;
    };
    let key = KeyFile::new(test);
    let nodes = cluster.nodes().join(",");
    let args = [
        "--tls13",
        "--stateful",
        "--redis-cluster",
        &nodes,
        "--fleet-key",
        key.0.to_str().unwrap(),
    ];
    let (a, b) = (
        ExampleProcess::start("tokio_server", &args),
        ExampleProcess::start("tokio_server", &args),
    );
    let client = Arc::new(client_config(TLS13));
    let first = visit(&client, a.addr).await;
    assert_eq!(first.kind, Some(HandshakeKind::Full), "{}", first.page);
    until_async("A's stores", || async {
        counter(&stats_of(a.addr).await, "stored") >= 2
    })
    .await;
    let second = visit(&client, b.addr).await;
    assert_eq!(second.kind, Some(HandshakeKind::Resumed), "{}", second.page);

    if peers::openssl::available(test) {
        let session = std::env::temp_dir().join(format!("{test}-{}.pem", std::process::id()));
        let _ = std::fs::remove_file(&session);
        let stored = counter(&stats_of(a.addr).await, "stored");
        let (pa, s) = (a.port(), session.clone());
        let first =
            tokio::task::spawn_blocking(move || peers::openssl::s_client(pa, &["-tls1_3"], &s))
                .await
                .unwrap();
        until_async("A's stores of OpenSSL's tickets", || async {
            counter(&stats_of(a.addr).await, "stored") > stored
        })
        .await;
        let (pb, s) = (b.port(), session.clone());
        let second =
            tokio::task::spawn_blocking(move || peers::openssl::s_client(pb, &["-tls1_3"], &s))
                .await
                .unwrap();
        let _ = std::fs::remove_file(&session);
        assert!(first.new_session(), "{}", first.stdout);
        assert!(second.reused(), "{}\n{}", second.stdout, second.stderr);
    }
    let stats = b.interrupt();
    assert!(stats.contains("lookup_timeouts 0 "), "{stats}");
}

/// Redis frozen: a resumption waits at most the lookup deadline (set below the Redis command
/// timeout, so it is the acceptor's deadline that cuts the wait), then goes on in full; a plain
/// request beside it is answered; once Redis thaws the fleet resumes again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_redis_delays_no_request_past_the_lookup_deadline() {
    let test = "tokio_redis_frozen";
    let Some(redis) = RedisServer::start(test) else {
        return;
    };
    let key = KeyFile::new(test);
    let deadline = Duration::from_millis(50);
    // Generous: the machine may be loaded; an unbounded wait would still show.
    let margin = Duration::from_millis(1500);
    let url = redis.url();
    let server = ExampleProcess::start(
        "tokio_server",
        &[
            "--tls13",
            "--stateful",
            "--lookup-timeout-ms",
            "50",
            "--redis",
            &url,
            "--fleet-key",
            key.0.to_str().unwrap(),
        ],
    );
    let client = Arc::new(client_config(TLS13));
    visit(&client, server.addr).await;
    until_async("the tickets stored", || async {
        counter(&stats_of(server.addr).await, "stored") >= 1
    })
    .await;

    redis.freeze(true);
    let fresh = Arc::new(client_config(TLS13));
    let started = Instant::now();
    let (resuming, plain) = tokio::join!(visit(&client, server.addr), async {
        let v = visit(&fresh, server.addr).await;
        (v, started.elapsed())
    });
    let resuming_latency = started.elapsed();
    let (plain, plain_latency) = plain;
    assert_eq!(
        resuming.kind,
        Some(HandshakeKind::Full),
        "{}",
        resuming.page
    );
    assert!(
        resuming.elapsed < deadline + margin,
        "a resumption waited {:?} on a frozen Redis",
        resuming.elapsed
    );
    assert_eq!(plain.kind, Some(HandshakeKind::Full));
    assert!(
        plain_latency < margin,
        "a plain request beside it took {plain_latency:?} (both done after {resuming_latency:?})"
    );
    // More requests while Redis stays frozen: each bounded, none failing.
    for _ in 0..3 {
        let v = visit(&client, server.addr).await;
        assert!(v.elapsed < deadline + margin, "{:?}", v.elapsed);
        assert_eq!(v.kind, Some(HandshakeKind::Full), "{}", v.page);
    }
    redis.freeze(false);

    // Thawed: sessions reach Redis again and resume.
    let client = Arc::new(client_config(TLS13));
    let resumed_again = Instant::now() + Duration::from_secs(20);
    loop {
        let v = visit(&client, server.addr).await;
        if v.kind == Some(HandshakeKind::Resumed) {
            break;
        }
        assert!(
            Instant::now() < resumed_again,
            "no resumption after Redis thawed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stats = server.interrupt();
    let stats = stats
        .lines()
        .find_map(|l| l.strip_prefix("stats: "))
        .unwrap();
    // The first lookup on the frozen Redis is cut by our deadline; once a call to it has
    // timed out (a store, bounded by the command timeout), the handle backs off and later
    // lookups fail at once instead: each of the four was one or the other.
    assert!(
        counter(stats, "lookup_timeouts") >= 1
            && counter(stats, "lookup_timeouts") + counter(stats, "lookup_errors") >= 4,
        "our deadline or the back-off cut the lookups: {stats}"
    );
    assert!(
        counter(stats, "pending_max_us") < (deadline + margin).as_micros() as u64,
        "{stats}"
    );
}
