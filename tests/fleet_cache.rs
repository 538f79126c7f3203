//! RedisSessionCache against a real redis-server.
#![cfg(feature = "redis")]

mod fleet_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use fleet_support::{fleet_key_bytes, patient_options, RedisServer};
use tls_resumption::antireplay::{EarlyDataAttempt, ReplayGuard, Verdict};
use tls_resumption::fleet::{
    FleetKey, KeyShape, Redis, RedisOptions, RedisReplayGuard, RedisSessionCache, MAX_KEY_LEN,
};
use tls_resumption::store::{SessionCache, StoreError};
use tls_resumption::time::{Clock, ManualClock, Timestamp};

const START: Timestamp = Timestamp::from_secs(1_700_000_000);

fn cache_with(
    server: &RedisServer,
    key: &[u8; 32],
    prefix: &[u8],
    clock: Arc<ManualClock>,
) -> RedisSessionCache {
    cache_with_options(server, key, clock, patient_options().prefix(prefix))
}

/// A cache with the default (short) timeouts, for the tests about what they bound; values
/// are set up and read back by a [`cache_with`] of the same key and prefix.
fn impatient_cache(
    server: &RedisServer,
    key: &[u8; 32],
    clock: Arc<ManualClock>,
) -> RedisSessionCache {
    let options = RedisOptions::default().timeouts_ms(200, 100).prefix(b"t:");
    cache_with_options(server, key, clock, options)
}

/// `call`, tried until it succeeds, for up to 5 s: on a loaded machine one attempt with the
/// short default timeouts may outlast them, which the tests of those timeouts do not mean to
/// check; a handle that does not recover fails every attempt.
fn within_5s<T, E: std::fmt::Debug>(mut call: impl FnMut() -> Result<T, E>) -> T {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match call() {
            Ok(v) => return v,
            Err(e) => assert!(Instant::now() < deadline, "still failing: {e:?}"),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn cache_with_options(
    server: &RedisServer,
    key: &[u8; 32],
    clock: Arc<ManualClock>,
    options: RedisOptions,
) -> RedisSessionCache {
    let redis = Redis::open(&server.url(), options)
        .expect("valid url")
        .with_failure_hook(Arc::new(|_| {}));
    // These tests name their sessions in words: any length a server could use.
    RedisSessionCache::new(
        Arc::new(redis),
        &FleetKey::from_bytes(key).expect("32 bytes"),
        clock,
    )
    .with_key_shape(KeyShape::lengths(1, MAX_KEY_LEN).expect("a valid shape"))
}

/// `PTTL` of a key: `None` when it has none or does not exist.
fn pttl(server: &RedisServer, key: &[u8]) -> Option<Duration> {
    let reply = server.command_bytes(&[b"PTTL", key]).expect("PTTL");
    let text = String::from_utf8_lossy(&reply);
    let ms: i64 = text.trim().strip_prefix(':')?.parse().ok()?;
    u64::try_from(ms).ok().map(Duration::from_millis)
}

fn in_an_hour(clock: &ManualClock) -> Timestamp {
    clock.now().saturating_add(Duration::from_secs(3600))
}

#[test]
fn put_get_take_remove_round_trip_through_redis() {
    let Some(server) = RedisServer::start("put_get_take_remove_round_trip_through_redis") else {
        return;
    };
    let clock = Arc::new(ManualClock::new(START));
    let cache = cache_with(&server, &fleet_key_bytes(), b"t:", clock.clone());
    let until = in_an_hour(&clock);
    cache.put_encoded(b"id-1", b"state one", until).unwrap();
    cache.put_encoded(b"id-2", b"state two", until).unwrap();
    assert_eq!(
        cache.get_encoded(b"id-1").unwrap().unwrap().expose_secret(),
        b"state one"
    );
    // A get leaves it in place; a take removes it, so a second take misses.
    assert!(cache.get_encoded(b"id-1").unwrap().is_some());
    assert_eq!(
        cache
            .take_encoded(b"id-1")
            .unwrap()
            .unwrap()
            .expose_secret(),
        b"state one"
    );
    assert!(cache.take_encoded(b"id-1").unwrap().is_none());
    assert!(cache.get_encoded(b"id-1").unwrap().is_none());
    // Replacing a value, then removing it.
    cache.put_encoded(b"id-2", b"state 2b", until).unwrap();
    assert_eq!(
        cache.get_encoded(b"id-2").unwrap().unwrap().expose_secret(),
        b"state 2b"
    );
    cache.remove(b"id-2").unwrap();
    assert!(cache.get_encoded(b"id-2").unwrap().is_none());
    assert!(matches!(cache.get_encoded(b""), Err(StoreError::EmptyKey)));
    assert_eq!(cache.redis().stats().failures, 0);
}

#[test]
fn two_servers_share_values_and_take_is_single_use_across_them() {
    let Some(server) = RedisServer::start("two_servers_share_values") else {
        return;
    };
    let key = fleet_key_bytes();
    let clock = Arc::new(ManualClock::new(START));
    let a = cache_with(&server, &key, b"t:", clock.clone());
    let b = Arc::new(cache_with(&server, &key, b"t:", clock.clone()));
    a.put_encoded(b"shared", b"secret state", in_an_hour(&clock))
        .unwrap();
    assert_eq!(
        b.get_encoded(b"shared").unwrap().unwrap().expose_secret(),
        b"secret state"
    );
    let takers: Vec<_> = (0..8)
        .map(|_| {
            let b = Arc::clone(&b);
            std::thread::spawn(move || b.take_encoded(b"shared").unwrap().is_some())
        })
        .collect();
    let won = takers
        .into_iter()
        .map(|t| t.join().unwrap())
        .filter(|&got| got)
        .count();
    assert_eq!(won, 1, "exactly one concurrent take gets the value");
}

#[test]
fn values_expire_by_our_clock_and_from_redis() {
    let Some(server) = RedisServer::start("values_expire_by_our_clock_and_from_redis") else {
        return;
    };
    let clock = Arc::new(ManualClock::new(START));
    let cache = cache_with(&server, &fleet_key_bytes(), b"t:", clock.clone());
    // Our clock: past the expiry inside the value, it is a miss even though Redis still has it.
    cache
        .put_encoded(
            b"short",
            b"v",
            clock.now().saturating_add(Duration::from_secs(10)),
        )
        .unwrap();
    clock.advance(Duration::from_secs(11));
    assert!(cache.get_encoded(b"short").unwrap().is_none());
    // Redis's PX: the key itself disappears. (Its TTL is read back rather than its presence
    // checked, which a slow thread could miss.)
    let before = Instant::now();
    cache
        .put_encoded(
            b"px",
            b"v",
            clock.now().saturating_add(Duration::from_millis(100)),
        )
        .unwrap();
    let stored = Instant::now();
    let ttl = pttl(&server, &cache.redis_key_for(b"px"));
    assert!(
        ttl.is_some_and(|t| t <= Duration::from_millis(100))
            || before.elapsed() >= Duration::from_millis(100),
        "{ttl:?}"
    );
    std::thread::sleep(
        (stored + Duration::from_millis(200)).saturating_duration_since(Instant::now()),
    );
    assert!(
        server.get(&cache.redis_key_for(b"px")).is_none(),
        "PX expired the key"
    );
    // Already expired: refused, nothing stored.
    assert!(cache.put_encoded(b"past", b"v", clock.now()).is_err());
    assert!(server.get(&cache.redis_key_for(b"past")).is_none());
}

#[test]
fn prefixes_keep_caches_apart() {
    let Some(server) = RedisServer::start("prefixes_keep_caches_apart") else {
        return;
    };
    let key = fleet_key_bytes();
    let clock = Arc::new(ManualClock::new(START));
    let one = cache_with(&server, &key, b"one:", clock.clone());
    let two = cache_with(&server, &key, b"two:", clock.clone());
    one.put_encoded(b"id", b"one's", in_an_hour(&clock))
        .unwrap();
    assert!(two.get_encoded(b"id").unwrap().is_none());
    assert_eq!(server.keys(), vec![one.redis_key_for(b"id")]);
    assert!(server.keys()[0].starts_with(b"one:session:"));
}

#[test]
fn a_dump_of_redis_reveals_no_session_secret() {
    let Some(server) = RedisServer::start("a_dump_of_redis_reveals_no_session_secret") else {
        return;
    };
    let clock = Arc::new(ManualClock::new(START));
    let cache = cache_with(&server, &fleet_key_bytes(), b"t:", clock.clone());
    let secret = b"MASTER-SECRET-0123456789abcdef-MASTER-SECRET";
    for i in 0..10u8 {
        cache
            .put_encoded(&[b'k', i], secret, in_an_hour(&clock))
            .unwrap();
    }
    let keys = server.keys();
    assert_eq!(keys.len(), 10);
    for k in keys {
        let stored = server.get(&k).expect("stored");
        assert!(
            !stored.windows(8).any(|w| secret.windows(8).any(|s| s == w)),
            "no 8-byte run of the secret appears in Redis"
        );
    }
}

#[test]
fn bad_data_in_redis_is_a_miss_never_trusted() {
    let Some(server) = RedisServer::start("bad_data_in_redis_is_a_miss_never_trusted") else {
        return;
    };
    let key = fleet_key_bytes();
    let clock = Arc::new(ManualClock::new(START));
    let cache = cache_with(&server, &key, b"t:", clock.clone());
    let until = in_an_hour(&clock);
    cache.put_encoded(b"good", b"genuine state", until).unwrap();
    let genuine = server.get(&cache.redis_key_for(b"good")).unwrap();

    // Garbage, empty, truncated, one bit flipped.
    server.set(
        &cache.redis_key_for(b"garbage"),
        b"\x01this is not a sealed session at all",
    );
    server.set(&cache.redis_key_for(b"empty"), b"");
    server.set(
        &cache.redis_key_for(b"truncated"),
        &genuine[..genuine.len() - 1],
    );
    let mut flipped = genuine.clone();
    flipped[20] ^= 1;
    server.set(&cache.redis_key_for(b"flipped"), &flipped);
    // A genuine value moved to another key: the key is the additional data.
    server.set(&cache.redis_key_for(b"moved"), &genuine);
    // Another fleet's value for the same id. (Its key names differ from ours too, so it is
    // copied to where we look: sealed under another key, it does not open.)
    let other = cache_with(&server, &fleet_key_bytes(), b"t:", clock.clone());
    other.put_encoded(b"other", b"their state", until).unwrap();
    assert!(server.get(&cache.redis_key_for(b"other")).is_none());
    let theirs = server.get(&other.redis_key_for(b"other")).unwrap();
    server.set(&cache.redis_key_for(b"other"), &theirs);
    for k in [
        &b"garbage"[..],
        b"empty",
        b"truncated",
        b"flipped",
        b"moved",
        b"other",
    ] {
        assert!(cache.get_encoded(k).unwrap().is_none(), "{k:?} is a miss");
        assert!(cache.take_encoded(k).unwrap().is_none(), "{k:?} is a miss");
    }
    // Each bad value is counted by get and by take, except the empty one, which a bounded
    // read (a range of the value) cannot tell from an absent key: a miss all the same.
    assert_eq!(
        cache.untrusted(),
        10,
        "each bad value counted by get and by take"
    );
    assert_eq!(
        cache.get_encoded(b"good").unwrap().unwrap().expose_secret(),
        b"genuine state"
    );
}

#[test]
fn redis_stopped_is_a_bounded_miss_and_redis_back_works_again() {
    let Some(mut server) = RedisServer::start("redis_stopped_is_a_bounded_miss") else {
        return;
    };
    let clock = Arc::new(ManualClock::new(START));
    let key = fleet_key_bytes();
    let cache = Arc::new(impatient_cache(&server, &key, clock.clone()));
    let setup = cache_with(&server, &key, b"t:", clock.clone());
    setup
        .put_encoded(b"before", b"v", in_an_hour(&clock))
        .unwrap();
    within_5s(|| cache.get_encoded(b"before"));
    server.stop();
    // Several threads at once: each call fails (a miss), none waits past connect + command
    // timeouts (200 + 100 ms) by much.
    let calls: Vec<_> = (0..4)
        .map(|_| {
            let cache = Arc::clone(&cache);
            std::thread::spawn(move || {
                let mut slowest = Duration::ZERO;
                for _ in 0..5 {
                    let t = Instant::now();
                    assert!(matches!(
                        cache.get_encoded(b"before"),
                        Err(StoreError::Unavailable)
                    ));
                    slowest = slowest.max(t.elapsed());
                }
                slowest
            })
        })
        .collect();
    for c in calls {
        let slowest = c.join().unwrap();
        assert!(
            slowest < Duration::from_millis(1500),
            "a call took {slowest:?}"
        );
    }
    assert!(cache
        .put_encoded(b"during", b"v", in_an_hour(&clock))
        .is_err());
    assert!(cache.redis().stats().failures >= 20);

    server.restart();
    // Past the back-off, it reconnects by itself.
    std::thread::sleep(Duration::from_millis(300));
    within_5s(|| cache.put_encoded(b"after", b"v2", in_an_hour(&clock)));
    let after = within_5s(|| cache.get_encoded(b"after"));
    assert_eq!(after.unwrap().expose_secret(), b"v2");
}

#[test]
fn a_frozen_redis_costs_each_call_at_most_the_command_timeout() {
    let Some(server) = RedisServer::start("a_frozen_redis_costs_each_call_at_most") else {
        return;
    };
    let clock = Arc::new(ManualClock::new(START));
    let key = fleet_key_bytes();
    let cache = Arc::new(impatient_cache(&server, &key, clock.clone()));
    let setup = cache_with(&server, &key, b"t:", clock.clone());
    setup.put_encoded(b"k", b"v", in_an_hour(&clock)).unwrap();
    within_5s(|| cache.get_encoded(b"k"));
    // Open a few pooled connections, then freeze the server: it accepts nothing and answers
    // nothing, yet every socket stays open.
    server.freeze(true);
    let calls: Vec<_> = (0..3)
        .map(|_| {
            let cache = Arc::clone(&cache);
            std::thread::spawn(move || {
                let t = Instant::now();
                let got = cache.get_encoded(b"k");
                (got.is_err(), t.elapsed())
            })
        })
        .collect();
    for c in calls {
        let (missed, took) = c.join().unwrap();
        assert!(missed);
        // Command timeout 100 ms, or connect timeout 200 ms for a thread with no pooled
        // connection; generous slack for a loaded machine.
        assert!(took < Duration::from_millis(1000), "a call took {took:?}");
    }
    server.freeze(false);
    std::thread::sleep(Duration::from_millis(300));
    let k = within_5s(|| cache.get_encoded(b"k"));
    assert_eq!(k.unwrap().expose_secret(), b"v");
}

#[test]
fn a_fleet_key_of_the_wrong_size_is_a_clear_error() {
    let dir = std::env::temp_dir().join(format!("fleet-key-{}", std::process::id()));
    std::fs::write(&dir, [7u8; 31]).unwrap();
    let err = FleetKey::from_file(&dir).unwrap_err().to_string();
    std::fs::remove_file(&dir).unwrap();
    assert!(
        err.contains("exactly 32 bytes") && err.contains("got 31"),
        "{err}"
    );
    assert!(FleetKey::from_bytes(&[0u8; 33]).is_err());
    assert!(FleetKey::from_bytes(&[0u8; 32]).is_ok());
    let missing = FleetKey::from_file(std::path::Path::new("/nonexistent/fleet.key"));
    assert!(missing
        .unwrap_err()
        .to_string()
        .contains("/nonexistent/fleet.key"));
}

/// A cache as servers build it: the default key shape.
fn default_cache(server: &RedisServer, clock: Arc<ManualClock>) -> RedisSessionCache {
    let redis = Redis::open(&server.url(), patient_options().prefix(b"t:"))
        .expect("valid url")
        .with_failure_hook(Arc::new(|_| {}));
    RedisSessionCache::new(
        Arc::new(redis),
        &FleetKey::from_bytes(&fleet_key_bytes()).expect("32 bytes"),
        clock,
    )
}

/// One counter from `INFO <section>`: `name:value` or, for command stats, `calls=N` in the
/// line of `name`.
fn info_number(server: &RedisServer, section: &str, name: &str) -> u64 {
    let info = server.command(&["INFO", section]).expect("INFO");
    info.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
        .map(|value| {
            let value = value.strip_prefix("calls=").unwrap_or(value);
            let digits: String = value.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().expect("a number")
        })
        .unwrap_or(0)
}

/// Every ClientHello can offer identities of the attacker's choosing, and each lookup is a
/// synchronous Redis round trip. Session IDs and ticket identities this crate's server and
/// rustls make are 32 bytes: anything else cannot be ours and must not reach Redis.
#[test]
fn lookups_of_identities_that_cannot_be_ours_send_no_command_to_redis() {
    let Some(server) = RedisServer::start("lookups_of_identities_that_cannot_be_ours") else {
        return;
    };
    let cache = default_cache(&server, Arc::new(ManualClock::new(START)));
    for len in [1, 16, 31, 33, 64, 255] {
        let id = vec![0x5a; len];
        assert!(cache.get_encoded(&id).unwrap().is_none(), "{len}");
        assert!(cache.take_encoded(&id).unwrap().is_none(), "{len}");
    }
    assert_eq!(commands_run(&server), 0, "lookups that reached Redis");
    assert_eq!(cache.redis().stats().round_trips, 0);
    // A 32-byte identity is looked up, by a get and by a take: the count above would have
    // seen either.
    assert!(cache.get_encoded(&[0x5a; 32]).unwrap().is_none());
    assert_eq!(cache.redis().stats().round_trips, 1);
    let after_get = commands_run(&server);
    assert!(after_get >= 1, "{after_get}");
    assert!(cache.take_encoded(&[0x5a; 32]).unwrap().is_none());
    assert!(commands_run(&server) > after_get);
}

/// Commands Redis has run, of any kind, except the tests' own `INFO` and `PING`.
fn commands_run(server: &RedisServer) -> u64 {
    let info = server.command(&["INFO", "commandstats"]).expect("INFO");
    info.lines()
        .filter_map(|line| line.strip_prefix("cmdstat_"))
        .filter(|line| !line.starts_with("info:") && !line.starts_with("ping:"))
        .map(|line| {
            let calls = line.split_once(":calls=").map_or("", |(_, rest)| rest);
            let digits: String = calls.chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<u64>().expect("a number")
        })
        .sum()
}

/// Anyone who can write to Redis can store a value of up to 512 MB under a key a server will
/// look up; reading it whole would make every such lookup allocate that much. Values this
/// crate stores are at most 64 KiB and change: of a larger one, no more than that is ever
/// transferred.
#[test]
fn a_huge_value_in_redis_is_never_read_into_memory() {
    let Some(server) = RedisServer::start("a_huge_value_in_redis_is_never_read") else {
        return;
    };
    let cache = default_cache(&server, Arc::new(ManualClock::new(START)));
    let id = [0x42u8; 32];
    let redis_key = cache.redis_key_for(&id);
    server.set(&redis_key, &vec![0xee; 8 << 20]);
    let sent_before = info_number(&server, "stats", "total_net_output_bytes");
    assert!(cache.get_encoded(&id).unwrap().is_none());
    assert!(cache.take_encoded(&id).unwrap().is_none());
    let sent = info_number(&server, "stats", "total_net_output_bytes") - sent_before;
    assert!(sent < 80 * 1024, "Redis sent {sent} bytes for two lookups");
    assert!(server.keys().is_empty(), "take removed the oversized value");
}

/// A narrower shape (servers that tag their ids with a fixed first byte): ids without the tag
/// are not looked up, and are not stored either.
#[test]
fn a_key_shape_with_a_prefix_admits_only_tagged_ids() {
    let Some(server) = RedisServer::start("a_key_shape_with_a_prefix_admits_only") else {
        return;
    };
    let clock = Arc::new(ManualClock::new(START));
    let cache = default_cache(&server, clock.clone()).with_key_shape(
        KeyShape::exact(32)
            .and_then(|shape| shape.with_prefix(&[0xf1]))
            .expect("a valid shape"),
    );
    let mut tagged = [0x33u8; 32];
    tagged[0] = 0xf1;
    cache
        .put_encoded(&tagged, b"state", in_an_hour(&clock))
        .unwrap();
    assert!(cache
        .put_encoded(&[0x33; 32], b"state", in_an_hour(&clock))
        .is_err());
    assert_eq!(cache.redis().stats().round_trips, 1);
    assert!(cache.get_encoded(&[0x33; 32]).unwrap().is_none());
    assert!(cache.take_encoded(&[0x33; 32]).unwrap().is_none());
    assert_eq!(cache.skipped(), 2);
    assert_eq!(
        cache.redis().stats().round_trips,
        1,
        "untagged ids cost nothing"
    );
    assert_eq!(
        cache
            .take_encoded(&tagged)
            .unwrap()
            .unwrap()
            .expose_secret(),
        b"state"
    );
}

/// The bound on what is read back is no tighter than what is stored: the largest session the
/// cache accepts round-trips.
#[test]
fn the_largest_session_stored_is_read_back() {
    let Some(server) = RedisServer::start("the_largest_session_stored_is_read_back") else {
        return;
    };
    let clock = Arc::new(ManualClock::new(START));
    let cache = default_cache(&server, clock.clone());
    let big = vec![0x61; 64 * 1024];
    cache
        .put_encoded(&[1; 32], &big, in_an_hour(&clock))
        .unwrap();
    assert!(cache
        .put_encoded(&[2; 32], &[0x61; 64 * 1024 + 1], in_an_hour(&clock))
        .is_err());
    assert_eq!(
        cache
            .get_encoded(&[1; 32])
            .unwrap()
            .unwrap()
            .expose_secret(),
        &big[..]
    );
    assert_eq!(
        cache
            .take_encoded(&[1; 32])
            .unwrap()
            .unwrap()
            .expose_secret(),
        &big[..]
    );
    assert_eq!(cache.untrusted(), 0);
}

/// The commands the README's Security notes list for the fleet's ACL user. Redis checks the
/// commands a script calls against the caller's ACL too, so this list must cover those.
const DOCUMENTED_ACL_COMMANDS: &[&str] = &["get", "getrange", "set", "del", "eval", "evalsha"];

/// A Redis user limited, as the README recommends, to the key prefix and the documented
/// commands can do everything the cache and the replay guard do. A command missing from the
/// list (one called inside a script counts) makes that operation fail in production.
#[test]
fn an_acl_user_with_only_the_documented_commands_can_do_everything() {
    let Some(server) = RedisServer::start("an_acl_user_with_only_the_documented_commands") else {
        return;
    };
    let mut rule = vec!["ACL", "SETUSER", "fleet", "on", ">pw", "~t:*", "-@all"];
    let allowed: Vec<String> = DOCUMENTED_ACL_COMMANDS
        .iter()
        .map(|c| format!("+{c}"))
        .collect();
    rule.extend(allowed.iter().map(String::as_str));
    let reply = server.command(&rule).expect("ACL SETUSER");
    assert!(reply.starts_with("+OK"), "{reply}");
    let url = format!("redis://fleet:pw@127.0.0.1:{}", server.port());
    let failures = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = Arc::clone(&failures);
    let redis = Arc::new(
        Redis::open(&url, patient_options().prefix(b"t:"))
            .expect("valid url")
            .with_failure_hook(Arc::new(move |f| {
                seen.lock()
                    .unwrap()
                    .push(format!("{}: {}", f.operation, f.error));
            })),
    );
    let clock = Arc::new(ManualClock::new(START));
    let fleet = FleetKey::from_bytes(&fleet_key_bytes()).expect("32 bytes");
    let cache = RedisSessionCache::new(Arc::clone(&redis), &fleet, clock.clone());
    let id = [0x17u8; 32];
    cache
        .put_encoded(&id, b"state", in_an_hour(&clock))
        .unwrap();
    assert!(cache.get_encoded(&id).unwrap().is_some());
    assert!(cache.take_encoded(&id).unwrap().is_some());
    assert!(cache.take_encoded(&id).unwrap().is_none());
    cache.remove(&id).unwrap();
    let guard = RedisReplayGuard::new(redis, Duration::from_secs(10));
    let attempt = EarlyDataAttempt {
        id: b"binder",
        issued_at: START,
        client_ticket_age_ms: 0,
    };
    assert_eq!(guard.check_and_record(&attempt, START), Verdict::Fresh);
    assert_eq!(guard.check_and_record(&attempt, START), Verdict::Replay);
    assert!(
        failures.lock().unwrap().is_empty(),
        "{:?}",
        failures.lock().unwrap()
    );
}

/// The take script is sent once per connection at most: later takes name it by its SHA-1
/// (`EVALSHA`), and a Redis that forgot it (restart, `SCRIPT FLUSH`) is sent it again.
/// Also: the `NOSCRIPT` answer and the `EVAL` after it are two round trips, and are counted
/// as two (they were counted as one).
#[test]
fn take_sends_the_script_text_once_then_only_its_hash() {
    let Some(server) = RedisServer::start("take_sends_the_script_text_once") else {
        return;
    };
    let clock = Arc::new(ManualClock::new(START));
    let cache = default_cache(&server, clock.clone());
    for i in 0..5u8 {
        cache
            .put_encoded(&[i; 32], b"state", in_an_hour(&clock))
            .unwrap();
        assert!(cache.take_encoded(&[i; 32]).unwrap().is_some());
    }
    assert_eq!(info_number(&server, "commandstats", "cmdstat_eval"), 1);
    assert_eq!(info_number(&server, "commandstats", "cmdstat_evalsha"), 5);
    // Round trips are counted as sent: five SETs, five takes by hash, and the script's text
    // once after the first NOSCRIPT.
    assert_eq!(cache.redis().stats().round_trips, 11);
    assert!(server
        .command(&["SCRIPT", "FLUSH"])
        .is_some_and(|r| r.starts_with("+OK")));
    cache
        .put_encoded(&[9; 32], b"state", in_an_hour(&clock))
        .unwrap();
    assert!(cache.take_encoded(&[9; 32]).unwrap().is_some());
    assert_eq!(info_number(&server, "commandstats", "cmdstat_eval"), 2);
    assert_eq!(cache.redis().stats().failures, 0);
}

/// A shape no key can fit (shortest above longest, or a prefix longer than the longest key)
/// would make every put fail and every lookup miss, silently: such shapes are refused.
#[test]
fn key_shapes_that_no_key_can_fit_are_refused() {
    assert!(KeyShape::lengths(40, 20).is_err());
    assert!(
        KeyShape::lengths(300, 400).is_err(),
        "shortest over MAX_KEY_LEN"
    );
    assert!(KeyShape::exact(0).is_err());
    assert!(KeyShape::exact(MAX_KEY_LEN + 1).is_err());
    assert!(KeyShape::exact(32).unwrap().with_prefix(&[1; 33]).is_err());
    assert!(KeyShape::lengths(8, 16)
        .unwrap()
        .with_prefix(&[1; 20])
        .is_err());
    // A longest length over MAX_KEY_LEN is cut to it: keys up to MAX_KEY_LEN still fit.
    let wide = KeyShape::lengths(1, 10_000).unwrap();
    assert!(wide.admits(&[1; MAX_KEY_LEN]) && !wide.admits(&[1; MAX_KEY_LEN + 1]));
    let tagged = KeyShape::lengths(16, 32)
        .unwrap()
        .with_prefix(&[7; 16])
        .unwrap();
    assert!(tagged.admits(&[7; 16]) && tagged.admits(&[7; 32]) && !tagged.admits(&[8; 32]));
}

/// Redis key names are derived from the session id under a fleet secret, never the id itself:
/// a reader of a dump (or of Redis traffic) learns no id it could offer in a ClientHello to
/// burn an outstanding single-use ticket or look a session up.
#[test]
fn redis_key_names_reveal_no_session_id() {
    let Some(server) = RedisServer::start("redis_key_names_reveal_no_session_id") else {
        return;
    };
    let clock = Arc::new(ManualClock::new(START));
    let cache = default_cache(&server, clock.clone());
    let ids: Vec<[u8; 32]> = (0..10u8).map(|i| [i.wrapping_mul(37) ^ 0xa5; 32]).collect();
    for id in &ids {
        cache.put_encoded(id, b"state", in_an_hour(&clock)).unwrap();
    }
    let keys = server.keys();
    assert_eq!(keys.len(), ids.len());
    for key in &keys {
        assert!(key.starts_with(b"t:session:"), "{key:?}");
        for id in &ids {
            assert!(
                !key.windows(8).any(|w| id.windows(8).any(|s| s == w)),
                "a key name holds 8 bytes of a session id: {key:?}"
            );
        }
    }
    // Another fleet key names the same id differently.
    let other = cache_with(&server, &fleet_key_bytes(), b"t:", clock.clone());
    assert_ne!(other.redis_key_for(&ids[0]), cache.redis_key_for(&ids[0]));
    assert!(keys.contains(&cache.redis_key_for(&ids[0])));
    for id in &ids {
        assert!(cache.take_encoded(id).unwrap().is_some());
    }
}
