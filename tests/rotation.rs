//! RotatingSealer: key states on a ManualClock, staged imports, key-file sharing, exposure,
//! and rotation under concurrent sealing and opening.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tls_resumption::crypto::aead::AeadAlgorithm;
use tls_resumption::ticket::{
    KeySource, KeyState, RotatingSealer, Schedule, TicketError, TicketKeyMaterial, TicketSealer,
    MAX_RING_KEYS,
};
use tls_resumption::time::{Clock, ManualClock, Timestamp};

const MIN: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);
const START: Timestamp = Timestamp::from_secs(1_700_000_000);

fn generating() -> (RotatingSealer, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(START));
    let sealer = RotatingSealer::new(clock.clone(), Schedule::default()).unwrap();
    (sealer, clock)
}

fn external() -> (RotatingSealer, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(START));
    let sealer = RotatingSealer::with_options(
        clock.clone(),
        Schedule::default(),
        AeadAlgorithm::Aes256Gcm,
        KeySource::External,
    )
    .unwrap();
    (sealer, clock)
}

fn states(sealer: &RotatingSealer) -> Vec<KeyState> {
    sealer.exposure().keys.iter().map(|k| k.state).collect()
}

#[test]
fn default_schedule_rotates_hourly_and_accepts_twelve_hours() {
    let s = Schedule::default();
    assert_eq!(s.rotation_period, HOUR);
    assert_eq!(s.decrypt_window, 12 * HOUR);
    assert_eq!(s.ticket_lifetime(), 11 * HOUR);
    let (sealer, _) = generating();
    assert_eq!(sealer.lifetime(), 11 * HOUR);
}

#[test]
fn a_new_sealer_has_one_active_and_one_staged_key() {
    let (sealer, _) = generating();
    assert_eq!(states(&sealer), [KeyState::Active, KeyState::Staged]);
}

#[test]
fn after_rotation_old_tickets_open_and_ask_for_renewal() {
    let (sealer, clock) = generating();
    let old = sealer.seal(b"state").unwrap();
    assert!(!sealer.open(&old).unwrap().renew);
    clock.advance(HOUR);
    let new = sealer.seal(b"state").unwrap();
    assert_ne!(old[..16], new[..16], "a new key seals after an hour");
    let reopened = sealer.open(&old).unwrap();
    assert!(reopened.renew);
    assert_eq!(reopened.plaintext.expose_secret(), b"state");
    assert!(!sealer.open(&new).unwrap().renew);
    assert_eq!(
        states(&sealer),
        [KeyState::DecryptOnly, KeyState::Active, KeyState::Staged]
    );
}

#[test]
fn ticket_sealed_at_end_of_active_period_lives_its_full_lifetime_then_is_unknown() {
    let (sealer, clock) = generating();
    clock.advance(HOUR - Duration::from_millis(1));
    let ticket = sealer.seal(b"late").unwrap();
    clock.advance(sealer.lifetime() - Duration::from_millis(1));
    assert!(sealer.open(&ticket).is_ok(), "inside the lifetime");
    // Erased once the lifetime of a ticket sealed at the key's last instant has passed.
    clock.advance(Duration::from_millis(2));
    assert_eq!(
        sealer.open(&ticket).err(),
        Some(TicketError::UnknownKeyName)
    );
}

#[test]
fn erased_keys_leave_the_ring_and_it_stays_bounded() {
    let (sealer, clock) = generating();
    for _ in 0..48 {
        clock.advance(HOUR);
        sealer.seal(b"x").unwrap();
    }
    // One staged, one active, eleven decrypt-only.
    let keys = sealer.exposure().keys;
    assert_eq!(keys.len(), 13);
    assert_eq!(
        keys.iter()
            .filter(|k| k.state == KeyState::DecryptOnly)
            .count(),
        11
    );
}

#[test]
fn after_an_idle_gap_a_fresh_key_is_active_and_old_tickets_are_unknown() {
    let (sealer, clock) = generating();
    let old = sealer.seal(b"x").unwrap();
    clock.advance(30 * HOUR);
    let new = sealer.seal(b"x").unwrap();
    assert!(sealer.open(&new).is_ok());
    assert_eq!(sealer.open(&old).err(), Some(TicketError::UnknownKeyName));
    assert_eq!(states(&sealer), [KeyState::Active, KeyState::Staged]);
}

#[test]
fn external_ring_without_keys_cannot_seal() {
    let (sealer, _) = external();
    assert_eq!(sealer.seal(b"x").err(), Some(TicketError::NoActiveKey));
    assert_eq!(
        sealer.open(&[0u8; 60]).err(),
        Some(TicketError::UnknownKeyName)
    );
}

#[test]
fn staged_key_decrypts_before_it_activates_then_takes_over() {
    let (a, clock) = external();
    let first = TicketKeyMaterial::new([1; 16], &[1; 32]).unwrap();
    let second = TicketKeyMaterial::new([2; 16], &[2; 32]).unwrap();
    let at = START.saturating_add(HOUR);
    a.import_key(first, START).unwrap();
    a.import_key(second.duplicate(), at).unwrap();
    assert_eq!(states(&a), [KeyState::Active, KeyState::Staged]);
    // Server B's clock runs ahead: it already seals under the second key.
    let from_staged = {
        let (b, _) = external();
        b.import_key(second, START).unwrap();
        b.seal(b"early").unwrap()
    };
    let opened = a.open(&from_staged).unwrap();
    assert!(!opened.renew, "a staged key's tickets are not renewed");
    assert_eq!(&a.seal(b"x").unwrap()[..16], &[1; 16]);
    clock.set(at);
    assert_eq!(&a.seal(b"x").unwrap()[..16], &[2; 16]);
    assert_eq!(states(&a), [KeyState::DecryptOnly, KeyState::Active]);
}

#[test]
fn chacha20_poly1305_ring_rotates_too() {
    let clock = Arc::new(ManualClock::new(START));
    let sealer = RotatingSealer::with_options(
        clock.clone(),
        Schedule::default(),
        AeadAlgorithm::ChaCha20Poly1305,
        KeySource::Generate,
    )
    .unwrap();
    let t = sealer.seal(b"chacha").unwrap();
    clock.advance(2 * HOUR);
    let opened = sealer.open(&t).unwrap();
    assert_eq!(opened.plaintext.expose_secret(), b"chacha");
    assert!(opened.renew);
}

#[test]
fn duplicate_key_names_are_refused() {
    let (sealer, _) = external();
    let k = TicketKeyMaterial::new([7; 16], &[1; 32]).unwrap();
    sealer.import_key(k.duplicate(), START).unwrap();
    assert_eq!(
        sealer.import_key(k, START).err(),
        Some(TicketError::DuplicateKeyName)
    );
}

#[test]
fn a_fleet_shares_its_ring_through_a_key_file() {
    let (a, clock) = generating();
    let b = RotatingSealer::with_options(
        clock.clone(),
        Schedule::default(),
        AeadAlgorithm::Aes256Gcm,
        KeySource::External,
    )
    .unwrap();
    let file = a.export_key_file().unwrap();
    b.import_key_file(file.expose_secret()).unwrap();
    let t = a.seal(b"fleet").unwrap();
    assert_eq!(b.open(&t).unwrap().plaintext.expose_secret(), b"fleet");
    clock.advance(HOUR);
    // B imported A's staged key too, so both now seal under the same new key.
    assert_eq!(a.seal(b"").unwrap()[..16], b.seal(b"").unwrap()[..16]);
    assert!(
        b.import_key_file(file.expose_secret()).is_err(),
        "duplicates refused"
    );
}

#[test]
fn exposure_reports_ages_and_the_recoverable_window() {
    let (sealer, clock) = generating();
    let e = sealer.exposure();
    assert_eq!(e.oldest_recoverable, Duration::ZERO);
    assert_eq!(e.longest_exposure, 12 * HOUR);
    for _ in 0..5 {
        clock.advance(HOUR);
        sealer.seal(b"").unwrap();
    }
    let e = sealer.exposure();
    assert_eq!(e.oldest_recoverable, 5 * HOUR);
    assert_eq!(e.longest_exposure, 12 * HOUR);
    let active = e.keys.iter().find(|k| k.state == KeyState::Active).unwrap();
    assert_eq!(active.age, Duration::ZERO);
    assert_eq!(active.erase_at, clock.now().saturating_add(12 * HOUR));
    let as_dyn: &dyn TicketSealer = &sealer;
    assert_eq!(as_dyn.exposure_report(), Some(e));
    clock.advance(30 * HOUR);
    let e = sealer.exposure();
    assert!(
        e.oldest_recoverable < 12 * HOUR,
        "erased keys stop counting"
    );
    assert!(e.keys.iter().all(|k| k.erase_at > clock.now()));
}

#[test]
fn rotation_under_concurrent_load_never_rejects_a_ticket_in_its_window() {
    let clock = Arc::new(ManualClock::new(START));
    let schedule = Schedule {
        rotation_period: 10 * MIN,
        decrypt_window: HOUR,
    };
    let sealer = Arc::new(RotatingSealer::new(clock.clone(), schedule).unwrap());
    let lifetime = sealer.lifetime();
    let workers: Vec<_> = (0..2)
        .map(|w| {
            let (sealer, clock) = (sealer.clone(), clock.clone());
            std::thread::spawn(move || {
                let mut pending: VecDeque<(Timestamp, Vec<u8>)> = VecDeque::new();
                let mut opened_in_window = 0u32;
                for i in 0..4000u32 {
                    clock.advance(Duration::from_secs(3 + u64::from((i + w) % 5)));
                    let before = clock.now();
                    pending.push_back((before, sealer.seal(&i.to_be_bytes()).unwrap()));
                    // Open the oldest ticket and one from the middle of the queue.
                    for idx in [0, pending.len() / 2] {
                        let (sealed_before, ticket) = &pending[idx];
                        let result = sealer.open(ticket);
                        let after = clock.now();
                        if after < sealed_before.saturating_add(lifetime) {
                            assert!(result.is_ok(), "in-window ticket rejected: {result:?}");
                            opened_in_window += 1;
                        }
                    }
                    while pending
                        .front()
                        .is_some_and(|(t, _)| clock.now() >= t.saturating_add(lifetime))
                    {
                        pending.pop_front();
                    }
                }
                opened_in_window
            })
        })
        .collect();
    for w in workers {
        assert!(w.join().unwrap() > 4000);
    }
    // Many rotations happened during the run.
    assert!(clock.now() > START.saturating_add(10 * HOUR));
}

/// Monotonic rotation: a wall clock stepped back 13 hours (an NTP correction, a VM restored
/// from a snapshot) must not leave the ring without an active key. The ring keeps its own
/// time and reports the step instead of failing.
#[test]
fn monotonic_rotation_a_clock_stepped_back_13_hours_still_seals_and_opens() {
    let (sealer, clock) = generating();
    clock.advance(30 * HOUR);
    let before = sealer.seal(b"before").unwrap();
    assert_eq!(sealer.clock_behind_reads(), 0);
    clock.set(clock.now().saturating_sub(13 * HOUR));
    let after = sealer.seal(b"after").unwrap();
    assert!(
        sealer.clock_behind_reads() >= 1,
        "the backward step is reported"
    );
    assert_eq!(
        sealer.open(&before).unwrap().plaintext.expose_secret(),
        b"before"
    );
    assert_eq!(
        sealer.open(&after).unwrap().plaintext.expose_secret(),
        b"after"
    );
    // The clock catching up again rotates as usual.
    clock.advance(13 * HOUR + HOUR);
    let later = sealer.seal(b"later").unwrap();
    assert_ne!(later[..16], after[..16]);
    assert!(sealer.open(&after).unwrap().renew);
}

/// Monotonic rotation: after an idle gap longer than the decrypt window, the first seal
/// rebuilds the ring at its clock reading; a second handshake whose clock read was taken 1 ms
/// earlier (two threads racing) must still seal.
#[test]
fn monotonic_rotation_a_1ms_stale_read_after_a_long_idle_gap_seals() {
    let (sealer, clock) = generating();
    sealer.seal(b"x").unwrap();
    clock.advance(30 * HOUR + Duration::from_millis(1));
    let fresh = sealer.seal(b"fresh").unwrap();
    clock.set(clock.now().saturating_sub(Duration::from_millis(1)));
    let stale = sealer.seal(b"stale").unwrap();
    assert_eq!(fresh[..16], stale[..16]);
    assert!(sealer.open(&stale).is_ok());
    assert_eq!(sealer.clock_behind_reads(), 0, "1 ms of skew is not a step");
}

/// A clock that hands one thread's reading back only after the test lets it go: models a
/// thread that read the clock, was descheduled, and sealed much later.
struct PausingClock {
    inner: Arc<ManualClock>,
    read: std::sync::mpsc::SyncSender<Timestamp>,
    resume: std::sync::Mutex<std::sync::mpsc::Receiver<()>>,
}

thread_local! {
    static PAUSES_HERE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

impl Clock for PausingClock {
    fn now(&self) -> Timestamp {
        let t = self.inner.now();
        if PAUSES_HERE.with(std::cell::Cell::get) {
            self.read.send(t).unwrap();
            self.resume.lock().unwrap().recv().unwrap();
        }
        t
    }
}

/// Monotonic rotation, concurrent: one thread reads the clock and is paused before it seals
/// while another seals and opens through more than a whole decrypt window of rotations. The
/// paused seal succeeds, and its ticket opens.
#[test]
fn monotonic_rotation_a_thread_that_reads_the_clock_then_pauses_still_seals() {
    let manual = Arc::new(ManualClock::new(START));
    let (read_tx, read_rx) = std::sync::mpsc::sync_channel(1);
    let (resume_tx, resume_rx) = std::sync::mpsc::channel();
    let clock = Arc::new(PausingClock {
        inner: manual.clone(),
        read: read_tx,
        resume: std::sync::Mutex::new(resume_rx),
    });
    let schedule = Schedule {
        rotation_period: 10 * MIN,
        decrypt_window: HOUR,
    };
    let sealer = Arc::new(RotatingSealer::new(clock, schedule).unwrap());
    let paused = {
        let sealer = sealer.clone();
        std::thread::spawn(move || {
            let mut opened = Vec::new();
            for i in 0..5u8 {
                PAUSES_HERE.with(|p| p.set(true));
                let ticket = sealer.seal(&[i]);
                PAUSES_HERE.with(|p| p.set(false));
                opened.push(ticket.map(|t| sealer.open(&t)));
            }
            opened
        })
    };
    for _ in 0..5 {
        let stale = read_rx.recv().unwrap();
        // Two hours of traffic while the paused thread holds its reading.
        for _ in 0..240 {
            manual.advance(Duration::from_secs(30));
            let t = sealer.seal(b"busy").unwrap();
            assert!(sealer.open(&t).is_ok());
        }
        assert!(manual.now() > stale.saturating_add(schedule.decrypt_window));
        resume_tx.send(()).unwrap();
    }
    for (i, result) in paused.join().unwrap().into_iter().enumerate() {
        let opened = result.expect("a seal with a stale clock reading succeeds");
        assert_eq!(opened.unwrap().plaintext.expose_secret(), [i as u8]);
    }
}

/// Ring limits: a schedule whose decrypt window needs more keys than a ring can hold is
/// refused when the sealer is made, not discovered when imports start failing.
#[test]
fn ring_limits_a_schedule_needing_more_keys_than_the_ring_holds_is_refused() {
    let clock = Arc::new(ManualClock::new(START));
    let too_long = Schedule {
        rotation_period: MIN,
        decrypt_window: 7 * 24 * HOUR,
    };
    for source in [KeySource::Generate, KeySource::External] {
        let made =
            RotatingSealer::with_options(clock.clone(), too_long, AeadAlgorithm::Aes256Gcm, source);
        assert!(made.is_err(), "{source:?}: accepted a ring of 10,082 keys");
    }
}

/// Ring limits: a generating sealer on a 10 min / 12 h schedule (74 keys held) exports its
/// whole ring as a key file, and another sealer imports it.
#[test]
fn ring_limits_export_key_file_works_for_a_10_min_12_h_schedule() {
    let clock = Arc::new(ManualClock::new(START));
    let schedule = Schedule {
        rotation_period: 10 * MIN,
        decrypt_window: 12 * HOUR,
    };
    let a = RotatingSealer::new(clock.clone(), schedule).unwrap();
    for _ in 0..(20 * 6) {
        clock.advance(10 * MIN);
        a.seal(b"x").unwrap();
    }
    let held = a.exposure().keys.len();
    assert!(held > 64, "{held} keys held");
    let file = a.export_key_file().expect("the whole ring exports");
    let b = RotatingSealer::with_options(
        clock.clone(),
        schedule,
        AeadAlgorithm::Aes256Gcm,
        KeySource::External,
    )
    .unwrap();
    b.import_key_file(file.expose_secret()).unwrap();
    assert_eq!(b.exposure().keys.len(), held);
}

/// Ring limits: a full ring is its own error (not a duplicate name), and keys whose time is
/// up are pruned before the capacity is checked, so an import after them succeeds.
#[test]
fn ring_limits_a_full_ring_is_reported_and_expired_keys_make_room() {
    let (sealer, clock) = external();
    let key = |i: u32| {
        let mut name = [0u8; 16];
        name[..4].copy_from_slice(&i.to_be_bytes());
        TicketKeyMaterial::new(name, &[1; 32]).unwrap()
    };
    let mut held = 0u32;
    let full = loop {
        match sealer.import_key(key(held), START.saturating_add(HOUR * held)) {
            Ok(()) => held += 1,
            Err(e) => break e,
        }
        assert!(held < 10_000, "the ring never filled");
    };
    assert_eq!(
        full,
        TicketError::RingFull,
        "a full ring is not a duplicate"
    );
    assert_eq!(held as usize, MAX_RING_KEYS);
    // Long after every key but the last has been erased, with nothing else touching the ring.
    clock.set(START.saturating_add(HOUR * (held + 20)));
    sealer.import_key(key(held), clock.now()).unwrap();
}

/// Ring limits: a generating ring filled by imports still has room for the keys it makes
/// itself, so it keeps rotating and still exports as one key file.
#[test]
fn ring_limits_a_generating_ring_full_of_imports_still_rotates_and_exports() {
    let (sealer, clock) = generating();
    let mut n = 0u32;
    while n < 10_000 {
        let mut name = [0xee; 16];
        name[..4].copy_from_slice(&n.to_be_bytes());
        let key = TicketKeyMaterial::new(name, &[1; 32]).unwrap();
        if sealer.import_key(key, START).is_err() {
            break;
        }
        n += 1;
    }
    // A whole decrypt window of rotations: the imported keys are erased only at its end.
    for hour in 1..=12 {
        clock.advance(HOUR);
        sealer.seal(b"x").unwrap();
        let held = sealer.exposure().keys.len();
        assert!(held <= MAX_RING_KEYS, "{held} keys held after {hour} h");
        assert!(sealer.export_key_file().is_ok(), "after {hour} h");
    }
}

#[test]
#[allow(deprecated)] // ring keeps its fixed-bytes generator under a deprecated name.
fn injected_randomness_makes_key_generation_deterministic() {
    use ring::test::rand::FixedByteRandom;

    let clock = Arc::new(ManualClock::new(Timestamp::from_secs(1_700_000_000)));
    let sealer = |byte| {
        RotatingSealer::with_rng(
            clock.clone(),
            Schedule::default(),
            AeadAlgorithm::Aes256Gcm,
            KeySource::Generate,
            Arc::new(FixedByteRandom { byte }),
        )
        .unwrap()
    };
    let (a, b, other) = (sealer(7), sealer(7), sealer(8));
    let ticket = a.seal(b"state").unwrap();
    // Same generator output, same keys: b opens a's ticket; a different generator cannot.
    assert_eq!(b.open(&ticket).unwrap().plaintext.expose_secret(), b"state");
    assert!(other.open(&ticket).is_err());
}
