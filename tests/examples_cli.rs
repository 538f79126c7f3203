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
