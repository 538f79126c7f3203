//! The `server` and `client` examples, run as a user would: separate processes on loopback
//! with the command lines their docs give.

mod peers;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

fn pki(name: &str) -> String {
    format!("{}/tests/data/pki/{name}", env!("CARGO_MANIFEST_DIR"))
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `examples/server` on a free port with `args`; returns it and the address.
fn server(args: &[&str]) -> (Server, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = Command::new(peers::example_binary("server"))
        .args([
            "--listen",
            &addr,
            "--cert",
            &pki("server.pem"),
            "--key",
            &pki("server.key"),
        ])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run examples/server (cargo test builds it)");
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while stderr.read_line(&mut line).unwrap() > 0 && !line.contains("listening") {
        line.clear();
    }
    assert!(line.contains("listening"), "examples/server did not start");
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    (Server(child), addr)
}

fn client(addr: &str, args: &[&str]) -> String {
    let out = Command::new(peers::example_binary("client"))
        .args([
            "--connect",
            addr,
            "--server-name",
            "localhost",
            "--ca",
            &pki("server.pem"),
        ])
        .args(args)
        .output()
        .expect("run examples/client");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_client_example_resumes_against_the_server_example_with_early_data() {
    let (_server, addr) = server(&["--early-data", "16384"]);
    let out = client(&addr, &["--repeat", "3", "--early-data", "hello early"]);
    assert!(out.contains("connection 1: full"), "{out}");
    assert!(out.contains("New, TLSv1.3, Cipher is"), "{out}");
    assert_eq!(out.matches("early data accepted").count(), 4, "{out}");
    assert!(out.contains("connection 3: resumed"), "{out}");
    assert!(out.contains("Reused, TLSv1.3"), "{out}");
    assert!(out.contains("early data: hello early"), "{out}");
}

#[test]
fn the_examples_resume_tls12_by_ticket_and_by_session_id() {
    let (_server, addr) = server(&[]);
    let out = client(&addr, &["--tls12", "--repeat", "2"]);
    assert!(out.contains("New, TLSv1.2"), "{out}");
    assert!(out.contains("connection 2: resumed"), "{out}");
    assert!(out.contains("Reused, TLSv1.2"), "{out}");
    let (_server, addr) = server(&["--no-tickets"]);
    let out = client(&addr, &["--tls12", "--repeat", "2"]);
    assert!(out.contains("connection 2: resumed"), "{out}");
    assert!(out.to_lowercase().contains("session id"), "{out}");
}

/// The first certificate of a PEM file, as `openssl s_client` prints it.
fn first_pem_certificate(path: &str) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let end = "-----END CERTIFICATE-----";
    let start = text.find("-----BEGIN CERTIFICATE-----").unwrap();
    let stop = text.find(end).unwrap() + end.len();
    text[start..stop].to_owned()
}

/// `examples/server --vhost` with OpenSSL's client (RFC 6066 §3 server_name): each name gets
/// its own certificate in both versions, any other name the default one, and each name
/// resumes its own session.
#[test]
fn the_server_example_presents_each_virtual_hosts_certificate_to_openssl() {
    if !peers::openssl::available("vhost example") {
        return;
    }
    let a = format!(
        "a.example:{}:{}",
        pki("server-p384.pem"),
        pki("server-p384.key")
    );
    let b = format!(
        "b.example:{}:{}",
        pki("server-rsa.pem"),
        pki("server-rsa.key")
    );
    let (_server, addr) = server(&["--vhost", &a, "--vhost", &b]);
    let port: u16 = addr.rsplit(':').next().unwrap().parse().unwrap();
    let dir = std::env::temp_dir().join(format!("tls-resumption-vhost-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let names = [
        ("a.example", "server-p384.pem"),
        ("b.example", "server-rsa.pem"),
        ("c.example", "server.pem"),
    ];
    for version in ["-tls1_3", "-tls1_2"] {
        for (name, pem) in names {
            let session = dir.join(format!("{name}{version}.pem"));
            let _ = std::fs::remove_file(&session);
            let args = [version, "-servername", name];
            let run = peers::openssl::s_client(port, &args, &session);
            assert!(run.new_session(), "{name} {version}: {}", run.stderr);
            let expected = first_pem_certificate(&pki(pem));
            assert!(
                run.stdout.contains(&expected),
                "{name} {version}: not the certificate of {pem}:\n{}",
                run.stdout
            );
            let again = peers::openssl::s_client(port, &args, &session);
            assert!(
                again.reused(),
                "{name} {version} did not resume:\n{}",
                again.stdout
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_examples_negotiate_alpn_and_keep_0rtt_under_it() {
    let (_server, addr) = server(&["--alpn", "h2,http/1.1", "--early-data", "16384"]);
    let out = client(
        &addr,
        &[
            "--alpn",
            "http/1.1,h2",
            "--repeat",
            "2",
            "--early-data",
            "hi",
        ],
    );
    // The client's line and the server's page each name it, on both connections.
    assert_eq!(out.matches("ALPN protocol: h2").count(), 4, "{out}");
    assert!(out.contains("early data: hi"), "{out}");
    let out = client(&addr, &["--tls12", "--alpn", "http/1.1", "--repeat", "2"]);
    assert_eq!(out.matches("ALPN protocol: http/1.1").count(), 4, "{out}");
}

/// Our client over TCP to the server example, driven a step at a time.
struct Raw {
    conn: tls_resumption::ClientConnection,
    stream: std::net::TcpStream,
    now: tls_resumption::time::Timestamp,
}

impl Raw {
    fn connect(addr: &str) -> Raw {
        let config = std::sync::Arc::new(peers::ours::client_config("server"));
        let now = config.clock().now();
        let conn = tls_resumption::ClientConnection::new(config, "localhost", now).unwrap();
        let stream = std::net::TcpStream::connect(addr).unwrap();
        Raw { conn, stream, now }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        use std::io::Write;
        let mut out = Vec::new();
        self.conn.write_tls(&mut out);
        self.stream.write_all(&out)
    }

    /// Sends `request`, then reads for up to `wait`: the application data that arrived, and
    /// whether the server's close_notify came with it.
    fn exchange(&mut self, request: &[u8], wait: std::time::Duration) -> (Vec<u8>, bool) {
        use std::io::Read;
        self.conn.send_plaintext(request).unwrap();
        let deadline = std::time::Instant::now() + wait;
        let mut reply = Vec::new();
        let mut buf = vec![0u8; 16384];
        while !self.conn.peer_closed() {
            self.flush().unwrap();
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                break;
            }
            self.stream.set_read_timeout(Some(left)).unwrap();
            let n = match self.stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => break,
                Err(e) => panic!("read: {e}"),
            };
            peers::ours::feed_client(&mut self.conn, &buf[..n], self.now).unwrap();
            reply.extend(self.conn.take_plaintext());
        }
        (reply, self.conn.peer_closed())
    }
}

/// Like `openssl s_server -www`, the server example answers an HTTP request once it is whole
/// (its blank line arrived), not the first bytes of it.
#[test]
fn the_server_example_answers_a_request_only_once_its_blank_line_arrives() {
    let (_server, addr) = server(&[]);
    let mut c = Raw::connect(&addr);
    let wait = std::time::Duration::from_millis(500);
    let (reply, _) = c.exchange(b"GET / HTTP/1.0\r\n", wait);
    assert!(reply.is_empty(), "answered half a request: {reply:?}");
    let (reply, closed) = c.exchange(b"\r\n", std::time::Duration::from_secs(10));
    assert!(reply.starts_with(b"HTTP/1.0 200 ok"), "{reply:?}");
    assert!(closed, "close_notify after the page");
}

/// The server example does not close its socket under a client still sending: after its
/// close_notify it reads until the client's close (or a timeout), so bytes the client sends
/// meanwhile are read, not answered with a TCP reset.
#[test]
fn the_server_example_reads_until_the_client_closes_instead_of_resetting() {
    use std::io::{Read, Write};
    let (_server, addr) = server(&[]);
    let mut c = Raw::connect(&addr);
    let (reply, closed) = c.exchange(
        b"GET / HTTP/1.0\r\n\r\n",
        std::time::Duration::from_secs(10),
    );
    assert!(reply.starts_with(b"HTTP/1.0 200 ok") && closed, "{reply:?}");
    // The client is still talking (its close_notify comes late, after more data).
    for _ in 0..3 {
        std::thread::sleep(std::time::Duration::from_millis(50));
        c.stream.write_all(&[23, 3, 3, 0, 17]).unwrap();
        c.stream.write_all(&[0; 17]).unwrap();
    }
    c.conn.send_close_notify().unwrap();
    c.flush().unwrap();
    c.stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut rest = Vec::new();
    let end = c.stream.read_to_end(&mut rest);
    assert!(end.is_ok(), "the server reset the connection: {end:?}");
}

/// The options of stateless retry (server: `--stateless-retry`, its cookie key random at start
/// or read from `--retry-key FILE`) and of middlebox compatibility (client:
/// `--no-middlebox-compat`) are taken, and the examples still resume.
#[test]
fn the_examples_take_the_stateless_retry_and_middlebox_compatibility_options() {
    let key = std::env::temp_dir().join(format!("retry-{}.key", std::process::id()));
    std::fs::write(&key, [5u8; 32]).unwrap();
    for args in [
        vec!["--stateless-retry"],
        vec!["--stateless-retry", "--retry-key", key.to_str().unwrap()],
    ] {
        let (_server, addr) = server(&args);
        let out = client(&addr, &["--repeat", "2", "--no-middlebox-compat"]);
        assert!(out.contains("connection 2: resumed"), "{args:?}: {out}");
    }
    std::fs::remove_file(&key).unwrap();
}

#[test]
fn the_server_names_its_address_on_stdout_and_exits_after_naccept_connections() {
    let mut child = Command::new(peers::example_binary("server"))
        .args(["--listen", "127.0.0.1:0", "--cert", &pki("server.pem")])
        .args(["--key", &pki("server.key"), "--naccept", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run examples/server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first stdout line: {line:?}"))
        .to_owned();
    let out = client(&addr, &["--repeat", "2"]);
    assert!(out.contains("resumed"), "{out}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the server did not exit after --naccept 2"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(status.success());
}
