//! FleetKeys: ticket keys shared by three RotatingSealers through a real redis-server.
#![cfg(feature = "redis")]

mod fleet_support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use fleet_support::{fleet_key_bytes, patient_options, RedisServer};
use tls_resumption::crypto::aead::AeadAlgorithm;
use tls_resumption::fleet::{FleetKey, FleetKeys, Redis};
use tls_resumption::ticket::keyfile::decode_key_file;
use tls_resumption::ticket::{KeySource, KeyState, RotatingSealer, Schedule, TicketSealer};
use tls_resumption::time::{ManualClock, Timestamp};

const START: Timestamp = Timestamp::from_secs(1_700_000_000);
const PERIOD: Duration = Duration::from_secs(10);
const WINDOW: Duration = Duration::from_secs(40);

fn schedule() -> Schedule {
    Schedule {
        rotation_period: PERIOD,
        decrypt_window: WINDOW,
    }
}

fn instance_with(
    server: &RedisServer,
    key: &[u8; 32],
    clock: Arc<ManualClock>,
    schedule: Schedule,
) -> FleetKeys {
    let redis = Redis::open(&server.url(), patient_options().prefix(b"f:"))
        .expect("valid url")
        .with_failure_hook(Arc::new(|_| {}));
    let sealer = RotatingSealer::with_options(
        clock,
        schedule,
        AeadAlgorithm::Aes256Gcm,
        KeySource::External,
    )
    .expect("sealer");
    FleetKeys::new(
        Arc::new(redis),
        &FleetKey::from_bytes(key).expect("32 bytes"),
        Arc::new(sealer),
        Duration::from_secs(1),
    )
}

fn instance(server: &RedisServer, key: &[u8; 32], clock: Arc<ManualClock>) -> FleetKeys {
    instance_with(server, key, clock, schedule())
}

fn active_name(keys: &FleetKeys) -> Option<[u8; 16]> {
    keys.exposure()
        .keys
        .iter()
        .find(|k| k.state == KeyState::Active)
        .map(|k| k.name)
}

#[test]
fn three_servers_rotate_in_step_with_one_creator_per_key_and_no_failed_opens() {
    let Some(server) = RedisServer::start("three_servers_rotate_in_step") else {
        return;
    };
    let fleet = fleet_key_bytes();
    let clock = Arc::new(ManualClock::new(START));
    let servers: Vec<Arc<FleetKeys>> = (0..3)
        .map(|_| Arc::new(instance(&server, &fleet, clock.clone())))
        .collect();

    // The first sync races on all three at once: exactly one creates each key.
    let racers: Vec<_> = servers
        .iter()
        .map(|s| {
            let s = Arc::clone(s);
            std::thread::spawn(move || s.sync(START))
        })
        .collect();
    for r in racers {
        assert_eq!(r.join().unwrap().failures, 0);
    }
    let created: u64 = servers.iter().map(|s| s.created()).sum();
    assert_eq!(created, 2, "the current and the next slot's key, once each");

    let lifetime = schedule().ticket_lifetime();
    let mut tickets: Vec<(Timestamp, usize, Vec<u8>)> = Vec::new();
    let mut actives_seen = BTreeSet::new();
    let mut opens = 0u32;
    // 100 seconds (ten rotations) in 250 ms steps: each server syncs at most once a second,
    // seals a ticket every step, and every server opens every ticket still in its lifetime.
    for step in 0..400u64 {
        let now = START.saturating_add(Duration::from_millis(step * 250));
        clock.set(now);
        for s in &servers {
            s.sync_if_due(now);
        }
        let names: BTreeSet<_> = servers.iter().map(|s| active_name(s)).collect();
        assert_eq!(
            names.len(),
            1,
            "every server encrypts with one key at {now:?}"
        );
        actives_seen.extend(names.into_iter().flatten());
        for (i, s) in servers.iter().enumerate() {
            let ticket = s
                .sealer()
                .seal(format!("state {step} {i}").as_bytes())
                .unwrap();
            tickets.push((now, i, ticket));
        }
        tickets.retain(|(at, _, _)| now.saturating_duration_since(*at) < lifetime);
        for (at, from, ticket) in &tickets {
            for (i, s) in servers.iter().enumerate() {
                let opened = s.sealer().open(ticket);
                assert!(
                    opened.is_ok(),
                    "server {i} failed to open a ticket from server {from} sealed at {at:?}, now {now:?}: {opened:?}"
                );
                opens += 1;
            }
        }
    }
    assert!(opens > 100_000);
    assert_eq!(actives_seen.len(), 10, "one active key per rotation period");
    let created: u64 = servers.iter().map(|s| s.created()).sum();
    assert_eq!(
        created, 11,
        "ten periods and the staged next one, each created once"
    );
    let stored: BTreeSet<_> = server
        .keys()
        .into_iter()
        .filter(|k| k.starts_with(b"f:{stek}:"))
        .collect();
    assert!(stored.len() <= 11);

    // Every server holds the same keys: each one's exposure report is the fleet's.
    let reports: Vec<BTreeMap<[u8; 16], KeyState>> = servers
        .iter()
        .map(|s| {
            s.exposure()
                .keys
                .iter()
                .map(|k| (k.name, k.state))
                .collect()
        })
        .collect();
    assert_eq!(reports[0], reports[1]);
    assert_eq!(reports[1], reports[2]);
    let exposure = servers[0].exposure();
    assert!(exposure.longest_exposure <= WINDOW, "{exposure:?}");
    // Retired keys are gone locally: only the keys whose tickets may still be open remain.
    assert!(
        exposure.keys.len() <= 6,
        "{} keys held",
        exposure.keys.len()
    );
}

#[test]
fn keys_in_redis_are_wrapped_and_expire() {
    let Some(server) = RedisServer::start("keys_in_redis_are_wrapped_and_expire") else {
        return;
    };
    let clock = Arc::new(ManualClock::new(START));
    let keys = instance(&server, &fleet_key_bytes(), clock.clone());
    keys.sync(START);
    let exported = keys.sealer().export_key_file().unwrap();
    let entries = decode_key_file(exported.expose_secret()).unwrap();
    assert_eq!(entries.len(), 2);
    let stored: Vec<Vec<u8>> = server.keys().iter().filter_map(|k| server.get(k)).collect();
    assert_eq!(stored.len(), 2);
    for e in &entries {
        let secret = e.material.expose_secret();
        for v in &stored {
            assert!(
                !v.windows(secret.len()).any(|w| w == secret),
                "secret stored in clear"
            );
        }
    }
    for k in server.keys() {
        let ttl: u64 = server
            .command(&["PTTL", std::str::from_utf8(&k).unwrap()])
            .and_then(|r| r.trim_start_matches(':').trim().parse().ok())
            .expect("a TTL");
        let most = (PERIOD * 2 + WINDOW).as_millis() as u64;
        assert!(ttl > 0 && ttl <= most, "key {k:?} lives {ttl} ms");
    }
}

#[test]
fn keys_under_another_fleet_key_or_tampered_are_never_imported() {
    let Some(server) = RedisServer::start("keys_under_another_fleet_key") else {
        return;
    };
    let clock = Arc::new(ManualClock::new(START));
    let ours = instance(&server, &fleet_key_bytes(), clock.clone());
    let theirs = instance(&server, &fleet_key_bytes(), clock.clone());
    ours.sync(START);
    let report = theirs.sync(START);
    assert_eq!(report.imported, 0);
    assert_eq!(report.failures, 2, "both stored keys refused");
    assert!(theirs.sealer().seal(b"x").is_err(), "no key to seal with");

    // A key copied into another slot does not unwrap either (the slot is authenticated).
    let slot = START.as_millis() / PERIOD.as_millis() as u64;
    let current = server.get(format!("f:{{stek}}:{slot}").as_bytes()).unwrap();
    server.set(format!("f:{{stek}}:{}", slot + 5).as_bytes(), &current);
    let moved_check = ours.sync(START.saturating_add(PERIOD * 5));
    assert_eq!(moved_check.failures, 1, "{moved_check:?}");
    assert_eq!(
        moved_check.imported, 1,
        "only the next slot's new key: {moved_check:?}"
    );
}

#[test]
fn redis_down_keeps_the_keys_held_and_sync_resumes_after() {
    let Some(mut server) = RedisServer::start("redis_down_keeps_the_keys_held") else {
        return;
    };
    let clock = Arc::new(ManualClock::new(START));
    let keys = instance(&server, &fleet_key_bytes(), clock.clone());
    keys.sync(START);
    server.stop();
    // A slot later the next key is wanted, and Redis is gone.
    let later = START.saturating_add(PERIOD);
    clock.set(later);
    let t = std::time::Instant::now();
    let report = keys.sync(later);
    assert!(t.elapsed() < Duration::from_secs(2));
    assert!(report.failures > 0);
    assert!(keys.sealer().seal(b"still sealing").is_ok());
    server.restart();
    std::thread::sleep(Duration::from_millis(300));
    let after = later.saturating_add(PERIOD * 2);
    clock.set(after);
    let report = keys.sync(after);
    assert_eq!(report.failures, 0, "{report:?}");
    assert_eq!(
        report.created, 2,
        "the empty Redis gets the current and next keys again"
    );
}

/// Every server's active key, which must be one key that activated at `slot_start`, and a
/// ticket each server seals that every server opens.
fn assert_in_step(servers: &[&FleetKeys], slot_start: Timestamp, at: &str) {
    let actives: Vec<_> = servers
        .iter()
        .map(|s| {
            s.exposure()
                .keys
                .into_iter()
                .find(|k| k.state == KeyState::Active)
                .map(|k| (k.name, k.activates_at))
        })
        .collect();
    assert!(
        actives.iter().all(|a| *a == actives[0]),
        "servers seal with different keys {at}: {actives:?}"
    );
    assert_eq!(
        actives[0].map(|a| a.1),
        Some(slot_start),
        "the active key is not the current slot's {at}"
    );
    for (i, s) in servers.iter().enumerate() {
        let ticket = s.sealer().seal(b"in step").unwrap();
        for (j, other) in servers.iter().enumerate() {
            assert!(
                other.sealer().open(&ticket).is_ok(),
                "server {j} cannot open server {i}'s ticket {at}"
            );
        }
    }
}

/// Fleet ring limits: a 10 min / 12 h schedule needs 74 keys held at once (72 decrypt-only,
/// the active and the staged one). Over 200 slots, with a server joining at slot 150 and
/// importing the whole window at once, no import fails and every server seals with the
/// current slot's key at every step.
#[test]
fn fleet_ring_limits_a_10_min_12_h_schedule_imports_every_key_for_200_slots() {
    let Some(server) = RedisServer::start("fleet_ring_limits_10_min_12_h") else {
        return;
    };
    let schedule = Schedule {
        rotation_period: Duration::from_secs(600),
        decrypt_window: Duration::from_secs(12 * 3600),
    };
    let period_ms = 600_000u64;
    let fleet = fleet_key_bytes();
    let first_slot = START.as_millis() / period_ms + 1;
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(
        first_slot * period_ms,
    )));
    let early: Vec<FleetKeys> = (0..2)
        .map(|_| instance_with(&server, &fleet, clock.clone(), schedule))
        .collect();
    let mut late: Option<FleetKeys> = None;
    for n in 0..200u64 {
        let slot_start = Timestamp::from_millis((first_slot + n) * period_ms);
        if n == 150 {
            late = Some(instance_with(&server, &fleet, clock.clone(), schedule));
        }
        // Four syncs a slot, every 2.5 minutes.
        for quarter in 0..4u64 {
            let now = slot_start.saturating_add(Duration::from_secs(150 * quarter));
            clock.set(now);
            let servers: Vec<&FleetKeys> = early.iter().chain(late.as_ref()).collect();
            for s in &servers {
                let report = s.sync(now);
                assert_eq!(report.failures, 0, "slot {n}: {report:?}");
            }
            assert_in_step(&servers, slot_start, &format!("at slot {n} + {quarter}/4"));
        }
    }
    let held = late.unwrap().exposure().keys.len();
    assert!((73..=75).contains(&held), "{held} keys held");
}

/// Fleet ring limits: after Redis loses its data (a flush, a failover to an empty replica),
/// a server that restarts creates fresh keys for the current and next slots; the servers
/// that were running re-check those slots on their next sync and converge with it.
#[test]
fn fleet_ring_limits_servers_converge_again_after_redis_is_flushed() {
    let Some(server) = RedisServer::start("fleet_ring_limits_flush") else {
        return;
    };
    let fleet = fleet_key_bytes();
    let period_ms = PERIOD.as_millis() as u64;
    let first_slot = START.as_millis() / period_ms + 1;
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(
        first_slot * period_ms,
    )));
    let running: Vec<FleetKeys> = (0..2)
        .map(|_| instance_with(&server, &fleet, clock.clone(), schedule()))
        .collect();
    let mut restarted: Option<FleetKeys> = None;
    for n in 0..8u64 {
        let slot_start = Timestamp::from_millis((first_slot + n) * period_ms);
        for quarter in 0..4u64 {
            let now = slot_start.saturating_add(PERIOD / 4 * quarter as u32);
            clock.set(now);
            if n == 3 && quarter == 1 {
                assert!(server.command(&["FLUSHALL"]).is_some());
                // The restarted server syncs first, finding Redis empty.
                let fresh = instance_with(&server, &fleet, clock.clone(), schedule());
                assert_eq!(fresh.sync(now).created, 2);
                restarted = Some(fresh);
            }
            let servers: Vec<&FleetKeys> = running.iter().chain(restarted.as_ref()).collect();
            for s in &servers {
                let report = s.sync(now);
                assert_eq!(report.failures, 0, "slot {n}: {report:?}");
            }
            assert_in_step(&servers, slot_start, &format!("at slot {n} + {quarter}/4"));
        }
    }
}
