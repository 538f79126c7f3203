//! RedisReplayGuard: fleet-wide 0-RTT anti-replay against a real redis-server.
#![cfg(feature = "redis")]

mod fleet_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use fleet_support::{patient_options, RedisServer};
use tls_resumption::antireplay::{EarlyDataAttempt, ReplayGuard, Verdict};
use tls_resumption::fleet::{Redis, RedisReplayGuard};
use tls_resumption::time::{Clock, ManualClock, Timestamp};

const ISSUED: Timestamp = Timestamp::from_secs(1_700_000_000);
const WINDOW: Duration = Duration::from_secs(10);

fn guard(server: &RedisServer) -> RedisReplayGuard {
    let redis = Redis::open(&server.url(), patient_options().prefix(b"r:"))
        .expect("valid url")
        .with_failure_hook(Arc::new(|_| {}));
    RedisReplayGuard::new(Arc::new(redis), WINDOW)
}

fn attempt(id: &[u8], age_ms: u32) -> EarlyDataAttempt<'_> {
    EarlyDataAttempt {
        id,
        issued_at: ISSUED,
        client_ticket_age_ms: age_ms,
    }
}

#[test]
fn an_id_is_accepted_at_most_once_across_two_servers() {
    let Some(server) = RedisServer::start("an_id_is_accepted_at_most_once") else {
        return;
    };
    let a = guard(&server);
    let b = guard(&server);
    let now = ISSUED.saturating_add(Duration::from_secs(5));
    assert_eq!(
        a.check_and_record(&attempt(b"binder-1", 5000), now),
        Verdict::Fresh
    );
    assert_eq!(
        b.check_and_record(&attempt(b"binder-1", 5000), now),
        Verdict::Replay
    );
    assert_eq!(
        a.check_and_record(&attempt(b"binder-1", 5000), now),
        Verdict::Replay
    );
    assert_eq!(
        b.check_and_record(&attempt(b"binder-2", 5000), now),
        Verdict::Fresh
    );
    // Outside the window: rejected without asking Redis.
    let late = now.saturating_add(WINDOW * 2);
    assert_eq!(
        a.check_and_record(&attempt(b"binder-3", 5000), late),
        Verdict::TooOld
    );
}

#[test]
fn concurrent_attempts_on_many_servers_accept_one() {
    let Some(server) = RedisServer::start("concurrent_attempts_accept_one") else {
        return;
    };
    let guards: Vec<Arc<RedisReplayGuard>> = (0..6).map(|_| Arc::new(guard(&server))).collect();
    let now = ISSUED.saturating_add(Duration::from_secs(1));
    let threads: Vec<_> = guards
        .iter()
        .map(|g| {
            let g = Arc::clone(g);
            std::thread::spawn(move || {
                (0..20u8)
                    .filter(|i| {
                        g.check_and_record(&attempt(&[b'x', *i], 1000), now) == Verdict::Fresh
                    })
                    .count()
            })
        })
        .collect();
    let fresh: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(fresh, 20, "each of the 20 ids accepted once over 6 servers");
}

#[test]
fn ids_expire_from_redis_after_the_window() {
    let Some(server) = RedisServer::start("ids_expire_from_redis_after_the_window") else {
        return;
    };
    let g = guard(&server).with_max_skew(Duration::from_secs(1));
    // Expected arrival 9.9 s ago with a 10 s window and 1 s of tolerated skew: kept 1.101 s
    // more, and no longer.
    let now = ISSUED.saturating_add(Duration::from_millis(19_900));
    let kept = Duration::from_millis(1101);
    let before = Instant::now();
    assert_eq!(
        g.check_and_record(&attempt(b"soon gone", 10_000), now),
        Verdict::Fresh
    );
    let recorded = Instant::now();
    let keys = server.keys();
    assert!(keys.len() <= 1, "one id recorded");
    let key = keys.first().cloned().unwrap_or_default();
    let ttl = ttl_bounds(&server, &key, before);
    assert!(ttl.at_least_covers(kept), "{ttl:?}");
    assert!(ttl.at_most(kept), "kept longer than window + skew: {ttl:?}");
    // Past its expiry however slowly this thread ran: the key was set before `recorded`.
    std::thread::sleep(
        (recorded + kept + Duration::from_millis(100)).saturating_duration_since(Instant::now()),
    );
    assert!(server.keys().is_empty(), "the id expired from Redis");
}

#[test]
fn redis_unreachable_rejects_early_data_quickly_and_recovers() {
    let Some(mut server) = RedisServer::start("redis_unreachable_rejects_early_data") else {
        return;
    };
    let g = guard(&server);
    let now = ISSUED.saturating_add(Duration::from_secs(1));
    assert_eq!(
        g.check_and_record(&attempt(b"a", 1000), now),
        Verdict::Fresh
    );
    server.stop();
    for i in 0..10u8 {
        let t = Instant::now();
        let v = g.check_and_record(&attempt(&[b'd', i], 1000), now);
        assert_eq!(v, Verdict::Full);
        assert!(!v.accepts_early_data());
        assert!(
            t.elapsed() < Duration::from_secs(1),
            "took {:?}",
            t.elapsed()
        );
    }
    server.restart();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        g.check_and_record(&attempt(b"b", 1000), now),
        Verdict::Fresh
    );
}

/// Clock skew between servers: each guard checks freshness by its own clock, so the record of
/// an accepted attempt must outlive the window by the skew between the fastest and the slowest
/// server. Server A runs 2 s ahead of server B and records an attempt 100 ms before its window
/// closes; B's window for the same attempt closes 2 s later by A's clock, so the record must
/// be kept until then (its TTL, read back from Redis, covers `expected + window + 2 s − now`
/// by A's clock), and a replay to B at the last instant of B's window — 2 s after A's window
/// closed — is rejected. With the guard's default skew under 2 s this fails.
#[test]
fn clock_skew_a_replay_to_a_server_two_seconds_behind_is_rejected() {
    let Some(server) = RedisServer::start("clock_skew_a_replay_to_a_server_behind") else {
        return;
    };
    let skew = Duration::from_secs(2);
    let a = guard(&server);
    let b = guard(&server);
    let expected = ISSUED.saturating_add(Duration::from_secs(5));
    let clock_a = ManualClock::new(expected.saturating_add(WINDOW - Duration::from_millis(100)));
    let clock_b = ManualClock::new(clock_a.now().saturating_sub(skew));
    let id = b"binder under skew";
    let before = Instant::now();
    assert_eq!(
        a.check_and_record(&attempt(id, 5000), clock_a.now()),
        Verdict::Fresh
    );
    // B's last instant in its window is `expected + window`, which is `expected + window + 2 s`
    // by A's clock; the record must still exist 1 ms past that.
    let b_closes_by_a = expected
        .saturating_add(WINDOW)
        .saturating_add(skew)
        .saturating_add(Duration::from_millis(1));
    let needed = b_closes_by_a.saturating_duration_since(clock_a.now());
    let key = server.keys().first().cloned().expect("the id is recorded");
    let ttl = ttl_bounds(&server, &key, before);
    assert!(ttl.at_least_covers(needed), "needed {needed:?}: {ttl:?}");
    // Both clocks move to B's last instant in the window: A's closed 2 s ago.
    let step = expected
        .saturating_add(WINDOW)
        .saturating_duration_since(clock_b.now());
    clock_a.advance(step);
    clock_b.advance(step);
    assert_eq!(
        a.check_and_record(&attempt(id, 5000), clock_a.now()),
        Verdict::TooOld
    );
    assert_eq!(
        b.check_and_record(&attempt(id, 5000), clock_b.now()),
        Verdict::Replay,
        "a replay inside the skew reached the slower server"
    );
}

/// What a key's TTL, read back with `PTTL`, says about the TTL it was set with, when it was
/// set after `before`: it was set with at least `remaining` and at most `remaining + elapsed`
/// (the real time since `before`). Neither bound depends on how fast the test runs, so an
/// assertion on them cannot flake on a loaded machine.
#[derive(Debug)]
struct TtlBounds {
    /// `PTTL`; `None` when the key is gone (expired, or never set).
    remaining: Option<Duration>,
    elapsed: Duration,
}

impl TtlBounds {
    /// The key could have been set with a TTL of at least `ttl`.
    fn at_least_covers(&self, ttl: Duration) -> bool {
        self.remaining.unwrap_or(Duration::ZERO) + self.elapsed >= ttl
    }

    /// The key was set with a TTL of at most `ttl`.
    fn at_most(&self, ttl: Duration) -> bool {
        self.remaining.is_none_or(|r| r <= ttl)
    }
}

fn ttl_bounds(server: &RedisServer, key: &[u8], before: Instant) -> TtlBounds {
    let reply = server.command_bytes(&[b"PTTL", key]).expect("PTTL");
    let elapsed = before.elapsed();
    let text = String::from_utf8_lossy(&reply);
    let ms: i64 = text
        .trim()
        .strip_prefix(':')
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("PTTL reply {text:?}"));
    TtlBounds {
        remaining: u64::try_from(ms).ok().map(Duration::from_millis),
        elapsed,
    }
}

/// A maximum skew (or window) so large that Redis refuses the `PX` it makes would turn 0-RTT
/// off fleet-wide without a word: every attempt would be `Full`. Both are capped at an hour.
#[test]
fn an_unbounded_max_skew_or_window_is_capped_and_early_data_still_works() {
    let Some(server) = RedisServer::start("an_unbounded_max_skew_is_capped") else {
        return;
    };
    let hour = Duration::from_secs(3600);
    let now = ISSUED.saturating_add(Duration::from_secs(1));
    let huge = guard(&server).with_max_skew(Duration::MAX);
    assert_eq!(
        huge.check_and_record(&attempt(b"huge skew", 1000), now),
        Verdict::Fresh
    );
    assert!(huge.max_skew() <= hour, "{:?}", huge.max_skew());
    let redis = Redis::open(&server.url(), patient_options().prefix(b"w:"))
        .expect("valid url")
        .with_failure_hook(Arc::new(|_| {}));
    let wide = RedisReplayGuard::new(Arc::new(redis), Duration::MAX);
    assert_eq!(
        wide.check_and_record(&attempt(b"huge window", 1000), now),
        Verdict::Fresh
    );
    assert_eq!(
        wide.check_and_record(&attempt(b"huge window", 1000), now),
        Verdict::Replay
    );
    for key in server.keys() {
        let ttl = ttl_bounds(&server, &key, Instant::now());
        assert!(ttl.at_most(3 * hour), "{ttl:?}");
    }
}
