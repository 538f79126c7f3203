//! Our TLS 1.2 client and server against the `openssl` command-line tool on loopback:
//! resumption by session ID and by RFC 5077 ticket both ways, and `CLIENT_RANDOM` key-log
//! lines equal to OpenSSL's. Skipped with a printed reason when `openssl` is absent, unless
//! `REQUIRE_INTEROP=1`.

mod peers;

use std::net::TcpListener;
use std::sync::Arc;

use peers::openssl_server::SServer;
use peers::ours::{self, RecordingKeyLog, Stop};
use tls_resumption::time::{Clock, SystemClock};
use tls_resumption::{EarlyDataStatus, HandshakeKind, ResumptionMechanism};

const REQUEST: &[u8] = b"GET / HTTP/1.0\r\n\r\n";

fn resumed(mechanism: ResumptionMechanism) -> Option<HandshakeKind> {
    Some(HandshakeKind::Resumed {
        mechanism,
        early_data: EarlyDataStatus::NotOffered,
    })
}

/// Two connections of our client (offering both versions) to an s_server with `flags`; the
/// second must resume with `mechanism`, and s_server's page must say so.
fn our_client_resumes(flags: &[&str], mechanism: ResumptionMechanism) {
    let server = SServer::start("server", flags);
    let client = Arc::new(ours::client_config("server"));
    let now = SystemClock.now();
    let (kind, page) =
        ours::tcp_client(&client, server.addr, now, None, REQUEST, Stop::PeerClose).unwrap();
    assert_eq!(kind, Some(HandshakeKind::Full));
    let page = String::from_utf8_lossy(&page);
    assert!(page.contains("New, TLSv1.2"), "{page}");
    for _ in 0..2 {
        let (kind, page) =
            ours::tcp_client(&client, server.addr, now, None, REQUEST, Stop::PeerClose).unwrap();
        assert_eq!(kind, resumed(mechanism));
        let page = String::from_utf8_lossy(&page);
        assert!(page.contains("Reused, TLSv1.2"), "{page}");
    }
}

#[test]
fn our_client_resumes_by_session_id_against_s_server() {
    if !peers::openssl::available("our_client_resumes_by_session_id_against_s_server") {
        return;
    }
    our_client_resumes(
        &["-www", "-tls1_2", "-no_ticket"],
        ResumptionMechanism::SessionId,
    );
}

#[test]
fn our_client_resumes_by_ticket_against_s_server() {
    if !peers::openssl::available("our_client_resumes_by_ticket_against_s_server") {
        return;
    }
    our_client_resumes(
        &["-www", "-tls1_2", "-no_cache"],
        ResumptionMechanism::Ticket,
    );
}

/// s_client with `flags` twice against our server `config`; the second must resume with
/// `mechanism`.
fn s_client_resumes(
    tag: &str,
    flags: &[&str],
    config: tls_resumption::ServerConfig,
    mechanism: ResumptionMechanism,
) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let served = ours::tcp_server(listener, Arc::new(config), 2, SystemClock.now());
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let session = dir.join(format!("s_client-tls12-{tag}-{}.pem", std::process::id()));
    let _ = std::fs::remove_file(&session);
    let first = peers::openssl::s_client(port, flags, &session);
    assert!(first.new_session(), "{}", first.stdout);
    let second = peers::openssl::s_client(port, flags, &session);
    assert!(second.reused(), "{}", second.stdout);
    assert!(second.stdout.contains("TLSv1.2"), "{}", second.stdout);
    let results: Vec<_> = served
        .join()
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(results[0].kind, Some(HandshakeKind::Full));
    assert_eq!(results[1].kind, resumed(mechanism));
    let _ = std::fs::remove_file(&session);
}

#[test]
fn s_client_resumes_by_session_id_against_our_server() {
    if !peers::openssl::available("s_client_resumes_by_session_id_against_our_server") {
        return;
    }
    s_client_resumes(
        "id",
        &["-tls1_2", "-no_ticket"],
        ours::server_config("server"),
        ResumptionMechanism::SessionId,
    );
}

#[test]
fn s_client_resumes_by_ticket_against_our_server() {
    if !peers::openssl::available("s_client_resumes_by_ticket_against_our_server") {
        return;
    }
    s_client_resumes(
        "ticket",
        &["-tls1_2"],
        ours::server_config("server").with_session_cache(None),
        ResumptionMechanism::Ticket,
    );
}

fn openssl_lines(path: &std::path::Path) -> std::collections::BTreeSet<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn our_client_random_lines_equal_s_servers() {
    if !peers::openssl::available("our_client_random_lines_equal_s_servers") {
        return;
    }
    let path = SServer::keylog_path("tls12-client");
    let _ = std::fs::remove_file(&path);
    let path_arg = path.to_string_lossy().into_owned();
    let server = SServer::start("server", &["-www", "-tls1_2", "-keylogfile", &path_arg]);
    let log = Arc::new(RecordingKeyLog::default());
    let client = Arc::new(ours::client_config("server").with_key_log(log.clone()));
    let now = SystemClock.now();
    ours::tcp_client(&client, server.addr, now, None, REQUEST, Stop::PeerClose).unwrap();
    let (kind, _) =
        ours::tcp_client(&client, server.addr, now, None, REQUEST, Stop::PeerClose).unwrap();
    assert!(kind.is_some_and(HandshakeKind::is_resumed));
    drop(server);
    let theirs = openssl_lines(&path);
    let ours_lines = log.lines();
    assert_eq!(ours_lines.len(), 2, "{ours_lines:?}");
    for line in &ours_lines {
        assert!(line.starts_with("CLIENT_RANDOM "), "{line}");
        assert!(theirs.contains(line), "OpenSSL did not log: {line}");
    }
    let _ = std::fs::remove_file(&path);
}

#[test]
fn our_server_client_random_lines_equal_s_clients() {
    if !peers::openssl::available("our_server_client_random_lines_equal_s_clients") {
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let log = Arc::new(RecordingKeyLog::default());
    let config = Arc::new(ours::server_config("server").with_key_log(log.clone()));
    let served = ours::tcp_server(listener, config, 2, SystemClock.now());
    let path = SServer::keylog_path("tls12-server");
    let _ = std::fs::remove_file(&path);
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let session = dir.join(format!("s_client-tls12-keylog-{}.pem", std::process::id()));
    let _ = std::fs::remove_file(&session);
    let path_arg = path.to_string_lossy().into_owned();
    let flags = ["-tls1_2", "-keylogfile", &path_arg];
    assert!(peers::openssl::s_client(port, &flags, &session).new_session());
    assert!(peers::openssl::s_client(port, &flags, &session).reused());
    served.join().unwrap().into_iter().for_each(|r| {
        r.unwrap();
    });
    let theirs = openssl_lines(&path);
    let ours_lines = log.lines();
    assert_eq!(ours_lines.len(), 2, "{ours_lines:?}");
    for line in &ours_lines {
        assert!(theirs.contains(line), "OpenSSL did not log: {line}");
    }
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(&session);
}

/// ALPN (RFC 7301) with OpenSSL both ways in TLS 1.2: `s_server -alpn` selects by its
/// preference for our client, and our server selects by its own for `s_client -alpn`, on
/// full and resumed handshakes.
#[test]
fn alpn_is_negotiated_with_openssl_in_tls12_both_ways() {
    if !peers::openssl::available("alpn_is_negotiated_with_openssl_in_tls12_both_ways") {
        return;
    }
    let h2 = Some(b"h2".to_vec());
    let server = SServer::start("server", &["-www", "-tls1_2", "-alpn", "h2,http/1.1"]);
    let client = Arc::new(
        ours::client_config("server")
            .with_versions(&[tls_resumption::TlsVersion::Tls12])
            .with_alpn_protocols(&["http/1.1", "h2"]),
    );
    for _ in 0..2 {
        let (conn, _) = ours::tcp_client_connection(
            &client,
            server.addr,
            SystemClock.now(),
            None,
            REQUEST,
            Stop::PeerClose,
        )
        .unwrap();
        assert_eq!(conn.alpn_protocol().map(<[u8]>::to_vec), h2);
    }

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let config = ours::server_config("server")
        .with_versions(&[tls_resumption::TlsVersion::Tls12])
        .with_alpn_protocols(&["h2", "http/1.1"]);
    let served = ours::tcp_server(listener, Arc::new(config), 2, SystemClock.now());
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let session = dir.join(format!("s_client-tls12-alpn-{}.pem", std::process::id()));
    let _ = std::fs::remove_file(&session);
    let flags = ["-tls1_2", "-alpn", "http/1.1,h2"];
    let first = peers::openssl::s_client(port, &flags, &session);
    assert!(
        first.stdout.contains("ALPN protocol: h2"),
        "{}",
        first.stdout
    );
    let second = peers::openssl::s_client(port, &flags, &session);
    assert!(second.reused(), "{}", second.stdout);
    assert!(
        second.stdout.contains("ALPN protocol: h2"),
        "{}",
        second.stdout
    );
    for served in served.join().unwrap() {
        assert_eq!(served.unwrap().alpn, h2);
    }
    let _ = std::fs::remove_file(&session);
}
