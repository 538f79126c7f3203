//! `examples/tokio_server` and `examples/load` as processes on loopback (feature `tokio`):
//! `openssl s_client` resumes, the counters are served at `/stats` and printed on SIGINT, and
//! the load client runs a short bounded load.
#![cfg(feature = "tokio")]

mod peers;
mod tokio_support;

use std::path::PathBuf;
use std::process::Command;

use tokio_support::ExampleProcess;

fn session_file(test: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("{test}-{}.pem", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

/// Two s_client runs sharing a session file: the first full, the second resumed.
fn openssl_resumes(server_args: &[&str], client_args: &[&str], test: &str) -> String {
    let server = ExampleProcess::start("tokio_server", server_args);
    let session = session_file(test);
    let first = peers::openssl::s_client(server.port(), client_args, &session);
    assert!(first.new_session(), "{test}: {}", first.stdout);
    let second = peers::openssl::s_client(server.port(), client_args, &session);
    let _ = std::fs::remove_file(&session);
    assert!(
        second.reused() && second.stdout.contains("Reused, "),
        "{test}: the second connection resumes\n{}\n{}",
        second.stdout,
        second.stderr
    );
    server.interrupt()
}

#[test]
fn openssl_resumes_a_tls13_stateful_ticket_looked_up_asynchronously() {
    let test = "tokio_server_tls13_stateful";
    if !peers::openssl::available(test) {
        return;
    }
    let printed = openssl_resumes(&["--tls13", "--stateful"], &["-tls1_3"], test);
    let stats = printed
        .lines()
        .find_map(|l| l.strip_prefix("stats: "))
        .unwrap_or_else(|| panic!("stats printed on SIGINT: {printed:?}"));
    assert!(stats.contains("lookups 1 hits 1 misses 0"), "{stats}");
}

#[test]
fn openssl_resumes_a_tls12_session_id_looked_up_asynchronously() {
    let test = "tokio_server_tls12_id";
    if !peers::openssl::available(test) {
        return;
    }
    let printed = openssl_resumes(&["--tls12", "--stateful"], &["-tls1_2", "-no_ticket"], test);
    assert!(printed.contains("lookups 1 hits 1"), "{printed}");
}

#[test]
fn openssl_resumes_stateless_tickets_without_a_lookup() {
    let test = "tokio_server_tls13_stateless";
    if !peers::openssl::available(test) {
        return;
    }
    let printed = openssl_resumes(&["--tls13"], &["-tls1_3"], test);
    assert!(printed.contains("lookups 0 "), "{printed}");
}

#[test]
fn openssl_resumes_a_tls12_ticket_without_a_lookup() {
    let test = "tokio_server_tls12_ticket";
    if !peers::openssl::available(test) {
        return;
    }
    let printed = openssl_resumes(&["--tls12"], &["-tls1_2"], test);
    assert!(printed.contains("lookups 0 "), "{printed}");
}

#[test]
fn the_stats_path_answers_the_counters() {
    let test = "tokio_server_stats";
    if !peers::openssl::available(test) {
        return;
    }
    let server = ExampleProcess::start("tokio_server", &["--stateful"]);
    let session = session_file(test);
    let _ = peers::openssl::s_client(server.port(), &[], &session);
    let _ = std::fs::remove_file(&session);
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "printf 'GET /stats HTTP/1.0\\r\\n\\r\\n' | timeout 20 openssl s_client -connect {} -quiet",
            server.addr
        ))
        .output()
        .unwrap();
    let body = String::from_utf8_lossy(&out.stdout);
    assert!(
        body.contains("lookups 0 ") && body.contains("queue_drops 0") && !body.contains("New,"),
        "{body}"
    );
}

#[test]
fn load_runs_a_short_bounded_load_and_reports_rates_and_percentiles() {
    let server = ExampleProcess::start("tokio_server", &["--stateful"]);
    let out = Command::new(peers::example_binary("load"))
        .args(["--connect", &server.addr.to_string()])
        .args([
            "--clients",
            "4",
            "--count",
            "40",
            "--seconds",
            "60",
            "--full",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = |phase: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(phase))
            .unwrap_or_else(|| panic!("no {phase:?} line: {stdout}"))
            .to_owned()
    };
    let resuming = line("resuming phase: ");
    let (count, rest) = resuming.split_once(" of ").unwrap();
    let count: usize = count.parse().unwrap();
    assert!(
        rest.starts_with("40 handshakes resumed, 0 failed"),
        "{stdout}"
    );
    assert!(count >= 1, "{stdout}");
    assert!(
        resuming.contains("; resumed ") && resuming.contains("/s, p50 "),
        "{stdout}"
    );
    let full = line("full phase: ");
    assert!(
        full.starts_with("0 of 40 handshakes resumed, 0 failed"),
        "{stdout}"
    );
    assert!(
        full.contains("; all ") && full.contains(" ms, p99 "),
        "{stdout}"
    );
    let stats = server.interrupt();
    assert!(stats.contains("stats: lookups 40 "), "{stats}");
}

#[test]
fn load_refuses_a_target_off_loopback() {
    let out = Command::new(peers::example_binary("load"))
        .args(["--connect", "192.0.2.1:443", "--count", "1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"));
}
