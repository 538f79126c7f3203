//! Anti-replay for 0-RTT: a replayed ClientHello's early data is never accepted, by one server
//! or by several sharing a guard; freshness windows; safe behaviour when full.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tls_resumption::antireplay::{
    ticket_age, EarlyDataAttempt, ReplayGuard, SingleUseTickets, StrikeRegister, Verdict,
};
use tls_resumption::time::Timestamp;

const ISSUED: Timestamp = Timestamp::from_secs(1_000_000);
const WINDOW: Duration = Duration::from_secs(10);

fn attempt(id: &[u8], age_ms: u32) -> EarlyDataAttempt<'_> {
    EarlyDataAttempt {
        id,
        issued_at: ISSUED,
        client_ticket_age_ms: age_ms,
    }
}

fn at(ms_after_issue: u64) -> Timestamp {
    ISSUED.saturating_add(Duration::from_millis(ms_after_issue))
}

fn guards() -> Vec<(&'static str, Arc<dyn ReplayGuard>)> {
    vec![
        (
            "strike register",
            Arc::new(StrikeRegister::new(1000, WINDOW)),
        ),
        (
            "single-use tickets",
            Arc::new(SingleUseTickets::new(1000, Duration::from_secs(3600))),
        ),
    ]
}

#[test]
fn obfuscated_age_is_unmasked_modulo_2_32() {
    // RFC 8446 §4.2.11.1: obfuscated = age + ticket_age_add mod 2^32.
    assert_eq!(
        ticket_age(5_000u32.wrapping_add(0xffff_f000), 0xffff_f000),
        5_000
    );
}

#[test]
fn replayed_early_data_is_never_accepted() {
    for (name, guard) in guards() {
        let a = attempt(b"binder-1", 5_000);
        assert_eq!(
            guard.check_and_record(&a, at(5_100)),
            Verdict::Fresh,
            "{name}"
        );
        for later in [5_100, 5_200, 9_000, 14_999] {
            let v = guard.check_and_record(&a, at(later));
            assert!(
                !v.accepts_early_data(),
                "{name}: replay at {later} gave {v:?}"
            );
        }
        assert_eq!(
            guard.check_and_record(&attempt(b"binder-2", 5_000), at(5_300)),
            Verdict::Fresh,
            "{name}: another ClientHello is fresh"
        );
    }
}

#[test]
fn two_servers_sharing_a_guard_accept_early_data_at_most_once() {
    for (name, guard) in guards() {
        for round in 0u32..200 {
            let id = round.to_be_bytes();
            let accepted = Arc::new(AtomicUsize::new(0));
            let servers: Vec<_> = (0..2)
                .map(|_| {
                    let (guard, accepted) = (guard.clone(), accepted.clone());
                    std::thread::spawn(move || {
                        let v = guard.check_and_record(&attempt(&id, 1_000), at(1_050));
                        if v.accepts_early_data() {
                            accepted.fetch_add(1, Ordering::SeqCst);
                        }
                    })
                })
                .collect();
            for s in servers {
                s.join().unwrap();
            }
            assert_eq!(accepted.load(Ordering::SeqCst), 1, "{name}, round {round}");
        }
    }
}

#[test]
fn strike_register_rejects_client_hellos_outside_the_window() {
    let guard = StrikeRegister::new(100, WINDOW);
    // The client says the ticket is 5 s old; it arrives 20 s after issue: 15 s late.
    assert_eq!(
        guard.check_and_record(&attempt(b"late", 5_000), at(20_000)),
        Verdict::TooOld
    );
    // Arriving 15 s before the client's claimed age: too early, equally suspicious (§8.3).
    assert_eq!(
        guard.check_and_record(&attempt(b"early", 20_000), at(5_000)),
        Verdict::TooOld
    );
    // At the window's edge it is still fresh.
    assert_eq!(
        guard.check_and_record(&attempt(b"edge", 5_000), at(15_000)),
        Verdict::Fresh
    );
    assert!(guard.is_empty() || guard.len() == 1);
}

#[test]
fn strike_register_forgets_ids_only_after_a_replay_would_be_too_old() {
    let guard = StrikeRegister::new(1, WINDOW);
    assert_eq!(
        guard.check_and_record(&attempt(b"a", 0), at(0)),
        Verdict::Fresh
    );
    // Full: a new id cannot be recorded, so its early data is rejected.
    assert_eq!(
        guard.check_and_record(&attempt(b"b", 0), at(5_000)),
        Verdict::Full
    );
    // Once "a" is out of its window it is forgotten, and its replay is rejected as too old.
    assert_eq!(
        guard.check_and_record(&attempt(b"a", 0), at(10_001)),
        Verdict::TooOld
    );
    assert_eq!(
        guard.check_and_record(&attempt(b"c", 10_001), at(10_001)),
        Verdict::Fresh
    );
    assert_eq!(guard.len(), 1);
}

#[test]
fn a_full_guard_rejects_early_data_and_never_forgets_a_live_id() {
    for (name, guard) in [
        (
            "strike",
            Arc::new(StrikeRegister::new(3, WINDOW)) as Arc<dyn ReplayGuard>,
        ),
        (
            "single",
            Arc::new(SingleUseTickets::new(3, Duration::from_secs(60))),
        ),
    ] {
        for id in [b"1", b"2", b"3"] {
            assert_eq!(
                guard.check_and_record(&attempt(id, 0), at(0)),
                Verdict::Fresh
            );
        }
        assert_eq!(
            guard.check_and_record(&attempt(b"4", 0), at(1)),
            Verdict::Full,
            "{name}"
        );
        for id in [b"1", b"2", b"3"] {
            assert_eq!(
                guard.check_and_record(&attempt(id, 0), at(2)),
                Verdict::Replay,
                "{name}"
            );
        }
    }
}

#[test]
fn single_use_tickets_expire_with_the_ticket_lifetime() {
    let guard = SingleUseTickets::new(10, Duration::from_secs(60));
    assert_eq!(
        guard.check_and_record(&attempt(b"t", 59_999), at(59_999)),
        Verdict::Fresh
    );
    assert_eq!(
        guard.check_and_record(&attempt(b"t", 59_999), at(59_999)),
        Verdict::Replay
    );
    // Fresh by its age, but past the ticket's lifetime.
    assert_eq!(
        guard.check_and_record(&attempt(b"t", 60_000), at(60_000)),
        Verdict::TooOld
    );
    assert_eq!(
        guard.check_and_record(&attempt(b"u", 60_000), at(60_000)),
        Verdict::TooOld
    );
    assert!(guard.check_and_record(&attempt(b"v", 61_000), at(61_000)) == Verdict::TooOld);
}

/// Single-use tickets must not hold a record longer than the freshness check could accept a
/// replay of it. Kept until the ticket's end of life (up to 7 days), the records of an
/// attacker's own tickets, each used once for 0-RTT, fill the guard and early data is then
/// refused to every client for days.
#[test]
fn single_use_tickets_forget_a_ticket_once_its_replay_would_be_too_old() {
    let week = Duration::from_secs(7 * 24 * 3600);
    let guard = SingleUseTickets::new(3, week);
    // The attacker's three tickets, used at once for early data, fill the guard.
    for id in [b"attacker-1", b"attacker-2", b"attacker-3"] {
        assert_eq!(
            guard.check_and_record(&attempt(id, 1_000), at(1_000)),
            Verdict::Fresh
        );
    }
    // Inside the window, replays are still caught and a new ticket cannot be recorded.
    assert_eq!(
        guard.check_and_record(&attempt(b"attacker-1", 1_000), at(2_000)),
        Verdict::Replay
    );
    // A minute later no replay of those attempts can pass the freshness check any more, so
    // an honest client's first early data is accepted.
    assert_eq!(
        guard.check_and_record(&attempt(b"honest", 61_000), at(61_000)),
        Verdict::Fresh,
        "the attacker's records still fill the guard"
    );
    assert_eq!(guard.len(), 1);
    // And the attacker's replay, a minute late, is rejected as too old.
    assert_eq!(
        guard.check_and_record(&attempt(b"attacker-1", 1_000), at(61_000)),
        Verdict::TooOld
    );
}

/// A guard built with the server's ticket-age skew uses that window: ages further off are
/// refused, and each record is kept only that long.
#[test]
fn single_use_tickets_built_with_the_servers_skew_use_it_as_their_window() {
    let skew = Duration::from_secs(2);
    let guard = SingleUseTickets::windowed(10, Duration::from_secs(3600), skew);
    // The client says 10 s, the server's clock says 12.5 s: outside 2 s.
    assert_eq!(
        guard.check_and_record(&attempt(b"late", 10_000), at(12_500)),
        Verdict::TooOld
    );
    assert_eq!(
        guard.check_and_record(&attempt(b"on time", 10_000), at(11_500)),
        Verdict::Fresh
    );
    // Remembered until a replay would be 2 s off, and no longer.
    assert_eq!(
        guard.check_and_record(&attempt(b"on time", 10_000), at(12_000)),
        Verdict::Replay
    );
    assert_eq!(
        guard.check_and_record(&attempt(b"other", 12_001), at(12_001)),
        Verdict::Fresh
    );
    assert_eq!(guard.len(), 1, "the first record was forgotten at 12.001 s");
}
