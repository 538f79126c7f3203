//! `examples/async_server` as a process (our server on tokio, sessions looked up through
//! pending lookups): our client and `openssl s_client` resume against it, TLS 1.2 by session
//! ID and TLS 1.3 by stateful ticket; a store slower than the deadline gives full handshakes.

mod peers;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};

struct ServerProcess {
    child: Child,
    port: u16,
}

impl ServerProcess {
    /// Starts the example with `args` (on a free port) and reads the port from its first line.
    fn start(args: &[&str]) -> Self {
        let pki = |name: &str| peers::pki::path(name).to_str().unwrap().to_owned();
        let mut child = Command::new(peers::example_binary("async_server"))
            .args(["--listen", "127.0.0.1:0", "--cert", &pki("server.pem")])
            .args(["--key", &pki("server.key")])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
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
            .unwrap_or_else(|| panic!("unexpected first line from the example: {line:?}"));
        Self { child, port }
    }

    /// Waits for the server to exit (after `--naccept`), and returns its log.
    fn finish(mut self) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while self.child.try_wait().unwrap().is_none() {
            assert!(std::time::Instant::now() < deadline, "server did not exit");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let mut log = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut log)
            .unwrap();
        log
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `examples/client` making `--repeat N` connections with `args`; its output.
fn our_client(port: u16, args: &[&str]) -> String {
    let out = Command::new(peers::example_binary("client"))
        .args(["--connect", &format!("127.0.0.1:{port}"), "--ca"])
        .arg(peers::pki::path("server.pem"))
        .args(args)
        .output()
        .expect("run examples/client");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "client failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The lines of our client's output that sum up each connection.
fn connections(output: &str) -> Vec<&str> {
    output
        .lines()
        .filter(|l| l.starts_with("connection "))
        .collect()
}

#[test]
fn our_client_resumes_tls12_by_session_id_through_pending_lookups() {
    let server = ServerProcess::start(&["--tls12", "--naccept", "3", "--lookup-delay-ms", "1"]);
    let out = our_client(server.port, &["--tls12", "--no-tickets", "--repeat", "3"]);
    let lines = connections(&out);
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[0].contains("full"), "{out}");
    for line in &lines[1..] {
        assert!(line.contains("resumed via session ID"), "{out}");
    }
    let log = server.finish();
    assert!(log.contains("0 lookups abandoned"), "{log}");
}

#[test]
fn our_client_resumes_tls13_by_stateful_ticket_through_pending_lookups() {
    let server = ServerProcess::start(&["--tls13", "--stateful", "--naccept", "3"]);
    let out = our_client(server.port, &["--tls13", "--repeat", "3"]);
    let lines = connections(&out);
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[0].contains("full"), "{out}");
    for line in &lines[1..] {
        assert!(line.contains("resumed via ticket (psk_dhe_ke)"), "{out}");
    }
    drop(server);
}

#[test]
fn a_store_slower_than_the_deadline_gives_full_handshakes() {
    let server = ServerProcess::start(&[
        "--tls12",
        "--naccept",
        "2",
        "--lookup-delay-ms",
        "300",
        "--lookup-timeout-ms",
        "20",
    ]);
    let out = our_client(server.port, &["--tls12", "--no-tickets", "--repeat", "2"]);
    let lines = connections(&out);
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines.iter().all(|l| l.contains("full")), "{out}");
    let log = server.finish();
    assert!(!log.contains(" 0 lookups abandoned"), "{log}");
}

#[test]
fn the_redis_flags_go_with_a_fleet_key_and_need_their_feature() {
    let run = |args: &[&str]| {
        let out = Command::new(peers::example_binary("async_server"))
            .args(["--listen", "127.0.0.1:0", "--cert", "c", "--key", "k"])
            .args(args)
            .output()
            .expect("run examples/async_server");
        assert!(!out.status.success(), "{args:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    for flag in ["--redis", "--redis-cluster"] {
        let err = run(&[flag, "x"]);
        assert!(err.contains("go together"), "{flag}: {err}");
    }
    let err = run(&["--redis", "x", "--redis-cluster", "y", "--fleet-key", "f"]);
    assert!(err.contains("exclude each other"), "{err}");
    if !cfg!(feature = "redis-async") {
        let key = std::env::temp_dir().join(format!("async-flags-{}.key", std::process::id()));
        std::fs::write(&key, [7u8; 32]).unwrap();
        let pki = |name: &str| peers::pki::path(name).to_str().unwrap().to_owned();
        let out = Command::new(peers::example_binary("async_server"))
            .args(["--listen", "127.0.0.1:0", "--cert", &pki("server.pem")])
            .args([
                "--key",
                &pki("server.key"),
                "--redis",
                "redis://127.0.0.1:1",
            ])
            .args(["--fleet-key", key.to_str().unwrap()])
            .output()
            .expect("run examples/async_server");
        let _ = std::fs::remove_file(&key);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains("--features"), "{err}");
    }
}

fn openssl_resumes(server_args: &[&str], client_args: &[&str], test: &str) {
    if !peers::openssl::available(test) {
        return;
    }
    let server = ServerProcess::start(&[server_args, &["--naccept", "2"]].concat());
    let session = std::env::temp_dir().join(format!("{test}-{}.pem", std::process::id()));
    let _ = std::fs::remove_file(&session);
    let first = peers::openssl::s_client(server.port, client_args, &session);
    assert!(first.new_session(), "{test}: first\n{}", first.stdout);
    let second = peers::openssl::s_client(server.port, client_args, &session);
    assert!(second.reused(), "{test}: second\n{}", second.stdout);
    let _ = std::fs::remove_file(&session);
    let log = server.finish();
    assert!(log.contains("0 lookups abandoned"), "{log}");
}

#[test]
fn openssl_resumes_tls12_by_session_id_through_pending_lookups() {
    openssl_resumes(
        &["--tls12"],
        &["-tls1_2", "-no_ticket"],
        "openssl_resumes_tls12_by_session_id_through_pending_lookups",
    );
}

#[test]
fn openssl_resumes_tls13_by_stateful_ticket_through_pending_lookups() {
    openssl_resumes(
        &["--tls13", "--stateful"],
        &["-tls1_3"],
        "openssl_resumes_tls13_by_stateful_ticket_through_pending_lookups",
    );
}

/// RFC 5246 §7.2.2 through the example: a TLS 1.2 connection that fails with a fatal alert
/// right after its handshake (its session's store still under way, the store being slow)
/// leaves nothing resumable; the next connection is a full handshake, and the one after it
/// resumes the session the second one made.
#[test]
fn a_session_whose_connection_failed_is_removed_from_the_store() {
    use std::io::Write;
    use std::sync::Arc;
    use tls_resumption::store::MemoryClientStore;
    use tls_resumption::time::{Clock, SystemClock};
    use tls_resumption::{ClientConnection, HandshakeKind, TlsVersion};

    let server = ServerProcess::start(&["--tls12", "--naccept", "3", "--lookup-delay-ms", "50"]);
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], server.port).into();
    let config = Arc::new(
        peers::ours::client_config("server")
            .with_versions(&[TlsVersion::Tls12])
            .with_tls12_tickets(false)
            .with_session_store(Some(Arc::new(MemoryClientStore::new(4, 4)))),
    );
    let now = SystemClock.now();
    // The handshake, then a record that does not decrypt (bad_record_mac).
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut conn = ClientConnection::new(config.clone(), "localhost", now).unwrap();
    let mut buf = vec![0u8; 16384];
    while conn.is_handshaking() {
        let mut out = Vec::new();
        conn.write_tls(&mut out);
        stream.write_all(&out).unwrap();
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "server closed during the handshake");
        peers::ours::feed_client(&mut conn, &buf[..n], now).unwrap();
    }
    let mut out = Vec::new();
    conn.write_tls(&mut out);
    stream.write_all(&out).unwrap();
    stream
        .write_all(&[
            23, 3, 3, 0, 20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
        ])
        .unwrap();
    // The server's alert, then its close.
    while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
    drop(stream);
    // Long enough for the slow store of the failed connection's session to have landed.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let stop = peers::ours::Stop::PeerClose;
    let request = b"GET / HTTP/1.0\r\n\r\n";
    let kinds: Vec<_> = (0..2)
        .map(|_| {
            peers::ours::tcp_client(&config, addr, now, None, request, stop)
                .unwrap()
                .0
        })
        .collect();
    assert_eq!(kinds[0], Some(HandshakeKind::Full), "{kinds:?}");
    assert!(kinds[1].is_some_and(|k| k.is_resumed()), "{kinds:?}");
    let log = server.finish();
    assert!(log.contains("failed"), "{log}");
}
