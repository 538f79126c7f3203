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
