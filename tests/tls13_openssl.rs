//! Our TLS 1.3 client and server against the `openssl` command-line tool on loopback:
//! resumption both ways, 0-RTT both ways, and key-log lines equal to OpenSSL's. Skipped with a
//! printed reason when `openssl` is absent, unless `REQUIRE_INTEROP=1`.

mod peers;

use std::net::TcpListener;
use std::sync::Arc;

use peers::openssl_server::SServer;
use peers::ours::{self, RecordingKeyLog, Stop};
use tls_resumption::antireplay::StrikeRegister;
use tls_resumption::time::{Clock, SystemClock};
use tls_resumption::{EarlyDataStatus, HandshakeKind, ResumptionMechanism};

const REQUEST: &[u8] = b"GET / HTTP/1.0\r\n\r\n";

fn resumed(early_data: EarlyDataStatus) -> Option<HandshakeKind> {
    Some(HandshakeKind::Resumed {
        mechanism: ResumptionMechanism::Tls13Psk { dhe: true },
        early_data,
    })
}

#[test]
fn our_client_resumes_against_s_server() {
    if !peers::openssl::available("our_client_resumes_against_s_server") {
        return;
    }
    let server = SServer::start("server", &["-www", "-tls1_3"]);
    let client = Arc::new(ours::client_config("server"));
    let now = SystemClock.now();
    let (kind, page) =
        ours::tcp_client(&client, server.addr, now, None, REQUEST, Stop::PeerClose).unwrap();
    assert_eq!(kind, Some(HandshakeKind::Full));
    assert!(String::from_utf8_lossy(&page).contains("New, TLSv1.3"));
    let (kind, page) =
        ours::tcp_client(&client, server.addr, now, None, REQUEST, Stop::PeerClose).unwrap();
    assert_eq!(kind, resumed(EarlyDataStatus::NotOffered));
    let page = String::from_utf8_lossy(&page);
    assert!(page.contains("Reused, TLSv1.3"), "{page}");
}

#[test]
fn our_client_sends_early_data_that_s_server_accepts() {
    if !peers::openssl::available("our_client_sends_early_data_that_s_server_accepts") {
        return;
    }
    // Echo mode: s_server writes back nothing on its own, so the client stops after the
    // handshake has settled.
    let server = SServer::start(
        "server",
        &["-tls1_3", "-early_data", "-max_early_data", "16384"],
    );
    let client = Arc::new(ours::client_config("server").with_early_data(true));
    let now = SystemClock.now();
    // Echo mode never closes: read until the tickets are in.
    let (kind, _) = ours::tcp_client(
        &client,
        server.addr,
        now,
        None,
        b"hello\n",
        Stop::Tickets(2),
    )
    .unwrap();
    assert_eq!(kind, Some(HandshakeKind::Full));
    let (kind, _) = ours::tcp_client(
        &client,
        server.addr,
        SystemClock.now(),
        Some(b"early\n"),
        b"late\n",
        Stop::Tickets(1),
    )
    .unwrap();
    assert_eq!(kind, resumed(EarlyDataStatus::Accepted));
}

#[test]
fn s_client_resumes_against_our_server_and_its_early_data_is_accepted() {
    if !peers::openssl::available("s_client_resumes_against_our_server") {
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let guard = Arc::new(StrikeRegister::new(100, std::time::Duration::from_secs(10)));
    let config = Arc::new(ours::server_config("server").with_early_data(16384, guard));
    let served = ours::tcp_server(listener, config, 3, SystemClock.now());
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let session = dir.join(format!("s_client-{}.pem", std::process::id()));
    let _ = std::fs::remove_file(&session);
    let first = peers::openssl::s_client(port, &["-tls1_3"], &session);
    assert!(first.new_session(), "{}", first.stdout);
    let second = peers::openssl::s_client(port, &["-tls1_3"], &session);
    assert!(second.reused(), "{}", second.stdout);
    // 0-RTT: the request itself goes as early data.
    let early = dir.join(format!("early-{}.txt", std::process::id()));
    std::fs::write(&early, REQUEST).unwrap();
    let early_arg = early.to_string_lossy().into_owned();
    let third = peers::openssl::s_client(port, &["-tls1_3", "-early_data", &early_arg], &session);
    assert!(third.reused(), "{}", third.stdout);
    assert!(
        third.stdout.contains("Early data was accepted"),
        "{}",
        third.stdout
    );
    let results = served.join().unwrap();
    let results: Vec<_> = results.into_iter().map(Result::unwrap).collect();
    assert_eq!(results[0].kind, Some(HandshakeKind::Full));
    assert_eq!(results[1].kind, resumed(EarlyDataStatus::NotOffered));
    assert_eq!(results[2].kind, resumed(EarlyDataStatus::Accepted));
    assert_eq!(results[2].early_data, REQUEST);
    let _ = std::fs::remove_file(&session);
    let _ = std::fs::remove_file(&early);
}

#[test]
fn our_key_log_lines_equal_openssls_for_full_and_resumed_connections() {
    if !peers::openssl::available("our_key_log_lines_equal_openssls") {
        return;
    }
    let path = SServer::keylog_path("client");
    let _ = std::fs::remove_file(&path);
    let path_arg = path.to_string_lossy().into_owned();
    let server = SServer::start("server", &["-www", "-tls1_3", "-keylogfile", &path_arg]);
    let log = Arc::new(RecordingKeyLog::default());
    let client = Arc::new(ours::client_config("server").with_key_log(log.clone()));
    let now = SystemClock.now();
    ours::tcp_client(&client, server.addr, now, None, REQUEST, Stop::PeerClose).unwrap();
    let (kind, _) =
        ours::tcp_client(&client, server.addr, now, None, REQUEST, Stop::PeerClose).unwrap();
    assert_eq!(kind, resumed(EarlyDataStatus::NotOffered));
    drop(server);
    let theirs = std::fs::read_to_string(&path).unwrap();
    let theirs: std::collections::BTreeSet<&str> = theirs
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect();
    let ours_lines = log.lines();
    // Two connections × five secrets.
    assert_eq!(ours_lines.len(), 10, "{ours_lines:?}");
    for line in &ours_lines {
        assert!(
            theirs.contains(line.as_str()),
            "OpenSSL did not log: {line}"
        );
    }
    let _ = std::fs::remove_file(&path);
}

#[test]
fn our_server_key_log_lines_equal_s_clients() {
    if !peers::openssl::available("our_server_key_log_lines_equal_s_clients") {
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let log = Arc::new(RecordingKeyLog::default());
    let config = Arc::new(ours::server_config("server").with_key_log(log.clone()));
    let served = ours::tcp_server(listener, config, 1, SystemClock.now());
    let path = SServer::keylog_path("server");
    let _ = std::fs::remove_file(&path);
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let session = dir.join(format!("s_client-keylog-{}.pem", std::process::id()));
    let _ = std::fs::remove_file(&session);
    let path_arg = path.to_string_lossy().into_owned();
    let run = peers::openssl::s_client(port, &["-tls1_3", "-keylogfile", &path_arg], &session);
    assert!(run.new_session(), "{}", run.stdout);
    served.join().unwrap().into_iter().for_each(|r| {
        r.unwrap();
    });
    let theirs = std::fs::read_to_string(&path).unwrap();
    let theirs: std::collections::BTreeSet<&str> = theirs
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect();
    let ours_lines = log.lines();
    assert_eq!(ours_lines.len(), 5, "{ours_lines:?}");
    for line in &ours_lines {
        assert!(
            theirs.contains(line.as_str()),
            "OpenSSL did not log: {line}"
        );
    }
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(&session);
}

/// ALPN (RFC 7301) with OpenSSL both ways in TLS 1.3: `s_server -alpn` selects by its
/// preference for our client, and our server selects by its own for `s_client -alpn`, which
/// prints the protocol; a resumed handshake negotiates it again.
#[test]
fn alpn_is_negotiated_with_openssl_both_ways() {
    if !peers::openssl::available("alpn_is_negotiated_with_openssl_both_ways") {
        return;
    }
    let h2 = Some(b"h2".to_vec());
    let server = SServer::start("server", &["-www", "-tls1_3", "-alpn", "h2,http/1.1"]);
    let client = Arc::new(ours::client_config("server").with_alpn_protocols(&["http/1.1", "h2"]));
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
    let config = Arc::new(ours::server_config("server").with_alpn_protocols(&["h2", "http/1.1"]));
    let served = ours::tcp_server(listener, config, 2, SystemClock.now());
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let session = dir.join(format!("s_client-alpn-{}.pem", std::process::id()));
    let _ = std::fs::remove_file(&session);
    let flags = ["-tls1_3", "-alpn", "http/1.1,h2"];
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
