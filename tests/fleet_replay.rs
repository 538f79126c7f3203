//! RedisReplayGuard: fleet-wide 0-RTT anti-replay against a real redis-server.
#![cfg(feature = "redis")]

mod fleet_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use fleet_support::RedisServer;
use tls_resumption::antireplay::{EarlyDataAttempt, ReplayGuard, Verdict};
use tls_resumption::fleet::{Redis, RedisOptions, RedisReplayGuard};
use tls_resumption::time::{Clock, ManualClock, Timestamp};

const ISSUED: Timestamp = Timestamp::from_secs(1_700_000_000);
const WINDOW: Duration = Duration::from_secs(10);

fn guard(server: &RedisServer) -> RedisReplayGuard {
    let redis = Redis::open(&server.url(), RedisOptions::default().prefix(b"r:"))
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
    let g = guard(&server).with_max_skew(Duration::from_millis(100));
    // Expected arrival 9.9 s ago with a 10 s window and 100 ms of tolerated skew: kept about
    // 200 ms more.
    let now = ISSUED.saturating_add(Duration::from_millis(19_900));
    assert_eq!(
        g.check_and_record(&attempt(b"soon gone", 10_000), now),
        Verdict::Fresh
    );
    assert_eq!(server.keys().len(), 1);
    std::thread::sleep(Duration::from_millis(500));
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
/// server. Server A runs 2 s ahead of server B; a replay of A's early data sent to B after A's
/// view of the window has closed, but while B's is still open, must be rejected.
#[test]
fn clock_skew_a_replay_to_a_server_two_seconds_behind_is_rejected() {
    let Some(server) = RedisServer::start("clock_skew_a_replay_to_a_server_behind") else {
        return;
    };
    let a = guard(&server);
    let b = guard(&server);
    let expected = ISSUED.saturating_add(Duration::from_secs(5));
    let clock_a = ManualClock::new(expected.saturating_add(WINDOW - Duration::from_millis(100)));
    let clock_b = ManualClock::new(clock_a.now().saturating_sub(Duration::from_secs(2)));
    let id = b"binder under skew";
    assert_eq!(
        a.check_and_record(&attempt(id, 5000), clock_a.now()),
        Verdict::Fresh
    );
    // Well past the 100 ms A still saw in its window; B is 1.9 s inside its own.
    let waited = Duration::from_millis(400);
    std::thread::sleep(waited);
    clock_a.advance(waited);
    clock_b.advance(waited);
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
