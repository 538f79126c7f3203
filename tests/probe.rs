//! `examples/probe` against real server processes on loopback: our `examples/server` in
//! known configurations and `openssl s_server`; each verdict must match the configuration.

mod peers;
// The probe's timeline and SVG writer, with their unit tests.
#[allow(dead_code)] // the tests use the timeline, not every item the probe uses
#[path = "../examples/probe/timeline.rs"]
mod timeline;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use peers::fault_proxy::{Fault, FaultProxy};
use peers::openssl_server::{free_port, SServer};

fn pki(name: &str) -> String {
    peers::pki::path(name).display().to_string()
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `examples/server` on a free port with `args`.
fn ours(args: &[&str]) -> (Server, String) {
    let addr = format!("127.0.0.1:{}", free_port());
    let mut child = Command::new(peers::example_binary("server"))
        .args(["--listen", &addr, "--cert", &pki("server.pem")])
        .args(["--key", &pki("server.key")])
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

/// The probe's output and its rows as check → verdict.
struct Probed {
    out: String,
    verdicts: HashMap<String, String>,
    took: Duration,
}

impl Probed {
    fn verdict(&self, check: &str) -> &str {
        self.verdicts
            .get(check)
            .unwrap_or_else(|| panic!("no row {check}:\n{}", self.out))
    }

    fn expect(&self, pairs: &[(&str, &str)]) {
        for (check, verdict) in pairs {
            assert_eq!(self.verdict(check), *verdict, "{check}:\n{}", self.out);
        }
    }
}

fn probe(addr: &str, extra: &[&str]) -> Probed {
    let start = Instant::now();
    let out = Command::new(peers::example_binary("probe"))
        .arg(addr)
        .args(["--server-name", "localhost"])
        .args(extra)
        .output()
        .expect("run examples/probe");
    let took = start.elapsed();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verdicts = text
        .lines()
        .skip(1)
        .filter(|l| !l.starts_with(' '))
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            Some((words.next()?.to_owned(), words.next()?.to_owned()))
        })
        .collect();
    Probed {
        out: text,
        verdicts,
        took,
    }
}

/// Probes with the server's chain validated up to the test CA.
fn probe_pinned(addr: &str) -> Probed {
    probe(addr, &["--ca", &pki("ca.pem")])
}

#[test]
fn defaults_resume_every_way_refuse_psk_ke_and_the_probe_is_fast() {
    let (_s, addr) = ours(&[]);
    let p = probe_pinned(&addr);
    p.expect(&[
        ("certificate", "verified"),
        ("tls13", "supported"),
        ("tls13.tickets", "issued"),
        ("tls13.groups", "3/3"),
        ("tls13.psk_dhe_ke", "resumes"),
        ("tls13.psk_ke", "refused"),
        ("tls13.ticket_reuse", "reusable"),
        ("tls13.early_data", "not-offered"),
        ("tls12", "supported"),
        ("tls12.session_id", "resumes"),
        ("tls12.ticket", "resumes"),
        // The ticket is looked at first, the session ID when it does not open.
        ("tls12.id_bad_ticket", "resumes"),
        ("tls12.id_vs_ticket", "ticket"),
        ("tls12.group_choice", "server-order"),
    ]);
    assert!(p.out.contains("its order: X25519 > Secp256r1"), "{}", p.out);
    assert!(p.took < Duration::from_secs(5), "took {:?}", p.took);
}

#[test]
fn allow_psk_ke_is_reported_as_not_forward_secret() {
    let (_s, addr) = ours(&["--allow-psk-ke"]);
    let p = probe_pinned(&addr);
    p.expect(&[("tls13.psk_ke", "accepted")]);
    assert!(p.out.contains("NOT forward secret"), "{}", p.out);
}

#[test]
fn stateful_tickets_are_single_use_and_tls12_resumes_by_id_only() {
    let (_s, addr) = ours(&["--no-tickets"]);
    let p = probe_pinned(&addr);
    p.expect(&[
        ("tls13.psk_dhe_ke", "resumes"),
        ("tls13.ticket_reuse", "single-use"),
        ("tls12.session_id", "resumes"),
        ("tls12.ticket", "none"),
        ("tls12.id_bad_ticket", "resumes"),
        ("tls12.id_vs_ticket", "n/a"),
    ]);
}

#[test]
fn no_tickets_and_no_cache_resume_nothing() {
    let (_s, addr) = ours(&["--no-tickets", "--no-session-cache"]);
    let p = probe_pinned(&addr);
    p.expect(&[
        ("tls13.tickets", "none"),
        ("tls13.psk_ke", "n/a"),
        ("tls12.session_id", "no"),
        ("tls12.ticket", "none"),
        ("tls12.id_bad_ticket", "n/a"),
        ("tls12.id_vs_ticket", "n/a"),
    ]);
}

#[test]
fn no_session_cache_resumes_tls12_by_ticket_only() {
    let (_s, addr) = ours(&["--no-session-cache"]);
    let p = probe_pinned(&addr);
    p.expect(&[
        ("tls12.session_id", "no"),
        ("tls12.ticket", "resumes"),
        ("tls12.id_bad_ticket", "n/a"),
        ("tls12.id_vs_ticket", "n/a"),
    ]);
}

#[test]
fn early_data_with_the_replay_guard_is_accepted_once() {
    let (_s, addr) = ours(&["--early-data", "16384"]);
    let p = probe_pinned(&addr);
    p.expect(&[
        ("tls13.early_data", "accepted"),
        ("tls13.early_replay", "refused"),
    ]);
}

#[test]
fn early_data_without_the_replay_guard_is_replayable() {
    let (_s, addr) = ours(&["--early-data", "16384", "--no-replay-guard"]);
    let p = probe_pinned(&addr);
    p.expect(&[
        ("tls13.early_data", "accepted"),
        ("tls13.early_replay", "replayable"),
    ]);
}

#[test]
fn json_carries_the_same_rows() {
    let (_s, addr) = ours(&["--allow-psk-ke"]);
    let p = probe(&addr, &["--no-verify", "--json"]);
    let doc = p.out.trim();
    assert!(
        doc.starts_with("{\"target\":") && doc.ends_with("]}"),
        "{doc}"
    );
    assert!(
        doc.contains("{\"check\":\"tls13.psk_ke\",\"verdict\":\"accepted\""),
        "{doc}"
    );
    assert!(
        doc.contains("\"verdict\":\"not-verified\",\"detail\":\"certificate not verified"),
        "{doc}"
    );
}

#[test]
fn a_closed_port_is_one_row_not_a_panic() {
    let addr = format!("127.0.0.1:{}", free_port());
    let p = probe(&addr, &["--no-verify"]);
    p.expect(&[("tls13", "unreachable")]);
}

#[test]
fn a_silent_server_times_out_within_the_deadline() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let p = probe(&addr, &["--no-verify", "--timeout", "0.5"]);
    p.expect(&[("tls13", "timeout")]);
    assert!(p.took < Duration::from_secs(3), "took {:?}", p.took);
    drop(listener);
}

#[test]
fn a_server_closing_mid_handshake_and_a_non_tls_port_are_rows() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    // Detached: the first connection reads the ClientHello and closes, the others get an
    // HTTP answer; the thread ends with the test process.
    std::thread::spawn(move || {
        for (i, stream) in listener.incoming().enumerate() {
            let mut stream = stream.unwrap();
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            if i > 0 {
                let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
            }
        }
    });
    let closed = probe(&addr, &["--no-verify"]);
    closed.expect(&[("tls13", "closed")]);
    let http = probe(&addr, &["--no-verify", "--timeout", "1"]);
    assert_eq!(http.verdict("tls13"), "failed", "{}", http.out);
    assert_eq!(http.verdict("tls12"), "failed", "{}", http.out);
}

#[test]
fn a_malformed_tls12_ticket_is_its_own_row_not_a_generic_failure() {
    let (_s, addr) = ours(&[]);
    let proxy = FaultProxy::start(addr.parse().unwrap(), Fault::TicketLengthOverrun);
    let p = probe_pinned(&proxy.addr.to_string());
    assert!(proxy.corrupted() > 0, "the proxy corrupted no ticket");
    p.expect(&[
        ("tls13", "supported"),
        ("tls13.psk_dhe_ke", "resumes"),
        ("tls12", "supported"),
        ("tls12.session_id", "resumes"),
        ("tls12.ticket", "malformed"),
        ("tls12.id_bad_ticket", "n/a"),
        ("tls12.group_choice", "server-order"),
    ]);
    assert!(
        p.out.contains("the server sent a malformed ticket"),
        "{}",
        p.out
    );
    assert!(p.took < Duration::from_secs(5), "took {:?}", p.took);
}

/// `openssl s_server` with `flags`; echo mode (no `-www`) when 0-RTT is on.
fn openssl(flags: &[&str]) -> Option<SServer> {
    if !peers::openssl::available("probe") {
        return None;
    }
    Some(SServer::start("server", flags))
}

#[test]
fn openssl_default_and_no_ticket_and_no_cache() {
    let Some(s) = openssl(&["-www"]) else { return };
    let p = probe_pinned(&s.addr.to_string());
    p.expect(&[
        ("tls13.psk_dhe_ke", "resumes"),
        ("tls13.psk_ke", "refused"),
        ("tls13.ticket_reuse", "reusable"),
        ("tls13.early_data", "not-offered"),
        ("tls12.session_id", "resumes"),
        ("tls12.ticket", "resumes"),
        // A ticket that does not open is not followed by a cache lookup.
        ("tls12.id_bad_ticket", "no"),
        ("tls12.id_vs_ticket", "ticket"),
        ("tls12.group_choice", "client-order"),
    ]);
    drop(s);
    let s = openssl(&["-www", "-no_ticket"]).unwrap();
    probe_pinned(&s.addr.to_string()).expect(&[
        ("tls12.session_id", "resumes"),
        ("tls12.ticket", "none"),
        // Tickets off, the offered one is ignored and the session ID looked up.
        ("tls12.id_bad_ticket", "resumes"),
        ("tls12.id_vs_ticket", "n/a"),
    ]);
    drop(s);
    let s = openssl(&["-www", "-no_cache"]).unwrap();
    probe_pinned(&s.addr.to_string()).expect(&[
        ("tls12.session_id", "no"),
        ("tls12.ticket", "resumes"),
        ("tls12.id_bad_ticket", "n/a"),
        ("tls12.id_vs_ticket", "n/a"),
    ]);
}

#[test]
fn openssl_tls12_group_choice_follows_serverpref() {
    let flags = ["-www", "-serverpref", "-groups", "P-384:P-256:X25519"];
    let Some(s) = openssl(&flags) else { return };
    let p = probe_pinned(&s.addr.to_string());
    p.expect(&[("tls12.group_choice", "server-order")]);
    assert!(
        p.out.contains("its order: Secp384r1 > Secp256r1"),
        "{}",
        p.out
    );
}

#[test]
fn openssl_groups_each_offered_alone() {
    let Some(s) = openssl(&["-www", "-groups", "P-384:P-256"]) else {
        return;
    };
    let p = probe_pinned(&s.addr.to_string());
    p.expect(&[("tls13.groups", "2/3")]);
    assert!(
        p.out.contains("completes with: Secp256r1, Secp384r1"),
        "{}",
        p.out
    );
}

#[test]
fn openssl_allow_no_dhe_kex_accepts_psk_ke() {
    let Some(s) = openssl(&["-www", "-allow_no_dhe_kex"]) else {
        return;
    };
    probe_pinned(&s.addr.to_string()).expect(&[("tls13.psk_ke", "accepted")]);
}

#[test]
fn openssl_early_data_with_and_without_anti_replay() {
    let early = ["-early_data", "-max_early_data", "16384"];
    let Some(s) = openssl(&early) else { return };
    probe_pinned(&s.addr.to_string()).expect(&[
        ("tls13.early_data", "accepted"),
        ("tls13.early_replay", "refused"),
        ("tls13.ticket_reuse", "single-use"),
    ]);
    drop(s);
    let s = openssl(&[&early[..], &["-no_anti_replay"]].concat()).unwrap();
    probe_pinned(&s.addr.to_string()).expect(&[
        ("tls13.early_data", "accepted"),
        ("tls13.early_replay", "replayable"),
        ("tls13.ticket_reuse", "reusable"),
    ]);
}

#[test]
fn watch_sees_rotating_key_names_and_the_oldest_accepted_ticket_matches_the_schedule() {
    // A new key every second, each opening tickets for 3 s: tickets live 2 s (advertised),
    // and none can be opened after 3 s.
    let (_s, addr) = ours(&["--rotation-period", "1", "--decrypt-window", "3"]);
    let svg = std::env::temp_dir().join(format!("probe-watch-{}.svg", std::process::id()));
    let p = probe(
        &addr,
        &[
            "--no-verify",
            "--watch",
            "5s",
            "--every",
            "0.5s",
            "--svg",
            svg.to_str().unwrap(),
        ],
    );
    let names: usize = p.verdict("watch.key_names").parse().unwrap();
    assert!(names >= 3, "{}", p.out);
    let oldest: f64 = p
        .verdict("watch.oldest_accepted")
        .trim_end_matches('s')
        .parse()
        .unwrap();
    assert!((1.5..=3.5).contains(&oldest), "oldest {oldest}:\n{}", p.out);
    assert!(p.out.contains("advertised lifetime 2 s"), "{}", p.out);
    let picture = std::fs::read_to_string(&svg).unwrap();
    assert!(picture.starts_with("<svg") && picture.trim_end().ends_with("</svg>"));
    assert_eq!(picture.matches("<rect ").count(), names + 2, "{picture}");
    let _ = std::fs::remove_file(svg);
}

#[test]
fn watch_against_fixed_keys_sees_one_key_name_for_the_whole_watch() {
    let (_s, addr) = ours(&[]);
    let p = probe(
        &addr,
        &["--no-verify", "--watch", "1.5s", "--every", "0.5s"],
    );
    p.expect(&[("watch.key_names", "1")]);
    let oldest: f64 = p
        .verdict("watch.oldest_accepted")
        .trim_end_matches('s')
        .parse()
        .unwrap();
    assert!(oldest >= 0.9, "{}", p.out);
}

/// How `examples/rustls_server` is told to listen on a free loopback port.
/// `examples/rustls_server` (feature `rustls`) on a free port; `extra` flags.
#[cfg(feature = "rustls")]
fn rustls_server(extra: &[&str]) -> (Server, String) {
    let mut child = Command::new(peers::example_binary("rustls_server"))
        .args(["--listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run examples/rustls_server (cargo test --features rustls builds it)");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while stdout.read_line(&mut line).unwrap() > 0 && !line.contains("listening on") {
        line.clear();
    }
    let addr = line.trim().rsplit(' ').next().unwrap().to_owned();
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    (Server(child), addr)
}

#[cfg(feature = "rustls")]
#[test]
fn rustls_server_stateless_and_stateful_tickets() {
    let (_s, addr) = rustls_server(&[]);
    probe(&addr, &["--no-verify"]).expect(&[
        ("tls13.psk_dhe_ke", "resumes"),
        ("tls13.psk_ke", "refused"),
        ("tls13.ticket_reuse", "reusable"),
        ("tls12.session_id", "resumes"),
        ("tls12.ticket", "resumes"),
        // A ticket offered means the session ID is not looked up.
        ("tls12.id_bad_ticket", "no"),
        ("tls12.id_vs_ticket", "ticket"),
        ("tls12.group_choice", "client-order"),
    ]);
    let (_s, addr) = rustls_server(&["--stateful"]);
    probe(&addr, &["--no-verify"]).expect(&[
        ("tls13.psk_dhe_ke", "resumes"),
        ("tls13.ticket_reuse", "single-use"),
        ("tls12.session_id", "resumes"),
        ("tls12.id_bad_ticket", "no"),
        ("tls12.id_vs_ticket", "n/a"),
    ]);
}

#[test]
fn certificates_are_validated_to_the_ca_pinned_or_refused() {
    let (_s, addr) = ours(&[]);
    probe(&addr, &["--pin", &pki("server.pem")])
        .expect(&[("certificate", "pinned"), ("tls13", "supported")]);
    // A CA that did not issue the server's certificate.
    let other = probe(&addr, &["--ca", &pki("server-rsa-self.pem")]);
    other.expect(&[("certificate", "verified"), ("tls13", "failed")]);
    assert!(other.out.contains("not trusted"), "{}", other.out);
    // The right CA, the wrong name.
    let out = Command::new(peers::example_binary("probe"))
        .args([
            &addr,
            "--server-name",
            "example.com",
            "--ca",
            &pki("ca.pem"),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("not valid for this server name"), "{text}");
}

#[test]
fn a_single_version_server_is_probed_in_the_version_it_speaks() {
    let (_s, addr) = ours(&["--tls12"]);
    probe_pinned(&addr).expect(&[
        ("tls13", "failed"),
        ("tls12", "supported"),
        ("tls12.session_id", "resumes"),
        ("tls12.ticket", "resumes"),
    ]);
    let (_s, addr) = ours(&["--tls13"]);
    probe_pinned(&addr).expect(&[
        ("tls13", "supported"),
        ("tls13.psk_dhe_ke", "resumes"),
        ("tls12", "failed"),
    ]);
}
