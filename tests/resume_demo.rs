//! The claims of `examples/resume_demo`'s table, checked on the demo's own run: each resumed
//! connection reuses a secret an earlier connection made, and no two connections share keys.

#[allow(dead_code)]
#[path = "../examples/resume_demo.rs"]
mod demo;

use std::collections::HashSet;

use tls_resumption::ticket::KeyState;

fn run() -> demo::Demo {
    demo::run_demo().expect("every demo connection completes")
}

#[test]
fn every_mode_starts_full_then_resumes() {
    let demo = run();
    let modes: HashSet<&str> = demo.rows.iter().map(|r| r.mode).collect();
    assert!(modes.len() >= 3, "modes: {modes:?}");
    for mode in modes {
        let rows: Vec<_> = demo.rows.iter().filter(|r| r.mode == mode).collect();
        assert_eq!(rows.len(), demo::CONNECTIONS_PER_MODE, "{mode}");
        assert!(!rows[0].resumed, "{mode}: the first connection is full");
        assert!(rows[1..].iter().all(|r| r.resumed), "{mode}: {rows:?}");
    }
}

#[test]
fn every_connection_has_keys_of_its_own() {
    let demo = run();
    let mut seen = HashSet::new();
    for row in &demo.rows {
        assert_ne!(row.client_keys, row.server_keys, "{row:?}");
        assert!(
            seen.insert(row.client_keys.clone()),
            "client keys reused: {row:?}"
        );
        assert!(
            seen.insert(row.server_keys.clone()),
            "server keys reused: {row:?}"
        );
    }
}

#[test]
fn a_resumed_connection_reuses_a_secret_the_previous_one_made() {
    let demo = run();
    for pair in demo.rows.windows(2) {
        let (before, row) = (&pair[0], &pair[1]);
        if !row.resumed {
            continue;
        }
        assert_eq!(before.mode, row.mode);
        let reused = row.reused.as_ref().expect("a resumed row names its secret");
        if row.mode.starts_with("TLS 1.3") {
            assert!(before.issued.contains(reused), "{before:?} -> {row:?}");
        } else {
            // TLS 1.2: the master secret is the same on every connection of the session.
            assert_eq!(
                before.reused.as_ref(),
                Some(reused),
                "{before:?} -> {row:?}"
            );
        }
    }
}

#[test]
fn client_and_server_log_the_same_secrets() {
    let demo = run();
    assert!(
        demo.rows.iter().all(|r| r.key_logs_agree),
        "{:?}",
        demo.rows
    );
}

#[test]
fn the_printed_table_shows_each_row_and_the_ticket_keys() {
    let demo = run();
    let text = demo::render(&demo, false);
    assert!(!text.contains('\x1b'), "no colour when asked for none");
    for row in &demo.rows {
        assert!(text.contains(&row.client_keys[..8]), "{row:?}");
    }
    assert!(text.contains("Does resumption reuse the keys?"));
    assert!(text.contains("active (seals new tickets)"));
    assert!(!demo.exposure.keys.is_empty());
    // Hours later the keys that sealed the demo's tickets are held, decrypt-only, still.
    let later = &demo.exposure_later;
    assert!(later.keys.len() > demo.exposure.keys.len());
    for key in &demo.exposure.keys {
        let held = later.keys.iter().find(|k| k.name == key.name);
        assert!(
            held.is_some_and(|k| k.state == KeyState::DecryptOnly),
            "{key:?}"
        );
    }
    assert!(later.oldest_recoverable >= demo::LATER);
    assert!(demo::render(&demo, true).contains('\x1b'));
}
