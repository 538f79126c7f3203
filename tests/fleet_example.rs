//! Two `examples/rustls_server` processes sharing one Redis (`--redis … --fleet-key …`): a
//! session `openssl s_client` made on one resumes on the other.
#![cfg(all(feature = "redis", feature = "rustls"))]

mod fleet_support;
mod peers;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use fleet_support::{fleet_key_bytes, RedisServer};

struct ServerProcess {
    child: Child,
    port: u16,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_example(args: &[&str]) -> ServerProcess {
    let mut child = Command::new(peers::example_binary("rustls_server"))
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run examples/rustls_server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .trim()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line from the example: {line:?}"));
    ServerProcess { child, port }
}

fn key_file(test: &str, bytes: &[u8]) -> PathBuf {
    let path = std::env::temp_dir().join(format!("{test}-{}.key", std::process::id()));
    std::fs::write(&path, bytes).unwrap();
    path
}

fn session_made_on_a_resumes_on_b(server_args: &[&str], client_args: &[&str], test: &str) {
    if !peers::openssl::available(test) {
        return;
    }
    let Some(redis) = RedisServer::start(test) else {
        return;
    };
    let key = key_file(test, &fleet_key_bytes());
    let url = redis.url();
    let fleet = [
        "--redis",
        &url,
        "--fleet-key",
        key.to_str().unwrap(),
        "--naccept",
        "1",
    ];
    let a = start_example(&[server_args, &fleet].concat());
    let b = start_example(&[server_args, &fleet].concat());
    let session = std::env::temp_dir().join(format!("{test}-{}.pem", std::process::id()));
    let _ = std::fs::remove_file(&session);
    let first = peers::openssl::s_client(a.port, client_args, &session);
    assert!(
        first.new_session(),
        "{test}: first connection\n{}",
        first.stdout
    );
    let second = peers::openssl::s_client(b.port, client_args, &session);
    let _ = std::fs::remove_file(&session);
    let _ = std::fs::remove_file(&key);
    assert!(
        second.reused() && second.stdout.contains("Reused, "),
        "{test}: the session from A resumes on B\n{}\n{}",
        second.stdout,
        second.stderr
    );
}

#[test]
fn openssl_tls13_ticket_from_one_process_resumes_on_another() {
    session_made_on_a_resumes_on_b(&["--tls13"], &["-tls1_3"], "fleet_example_tls13_ticket");
}

#[test]
fn openssl_tls13_stateful_ticket_from_one_process_resumes_on_another() {
    session_made_on_a_resumes_on_b(
        &["--tls13", "--stateful"],
        &["-tls1_3"],
        "fleet_example_tls13_stateful",
    );
}

#[test]
fn openssl_tls12_session_id_from_one_process_resumes_on_another() {
    session_made_on_a_resumes_on_b(
        &["--tls12"],
        &["-tls1_2", "-no_ticket"],
        "fleet_example_tls12_session_id",
    );
}

#[test]
fn openssl_tls12_ticket_from_one_process_resumes_on_another() {
    session_made_on_a_resumes_on_b(&["--tls12"], &["-tls1_2"], "fleet_example_tls12_ticket");
}

#[test]
fn a_fleet_key_file_of_the_wrong_size_stops_the_example_with_a_clear_error() {
    let key = key_file("fleet_example_short_key", &[1u8; 16]);
    let out = Command::new(peers::example_binary("rustls_server"))
        .args(["--listen", "127.0.0.1:0", "--redis", "redis://127.0.0.1:1"])
        .args(["--fleet-key", key.to_str().unwrap()])
        .output()
        .expect("run examples/rustls_server");
    let _ = std::fs::remove_file(&key);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("exactly 32 bytes") && stderr.contains("got 16"),
        "{stderr}"
    );
}
