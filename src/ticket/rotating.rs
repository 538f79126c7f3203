//! [`RotatingSealer`]: a ring of ticket keys that rotate on a schedule.
//!
//! Each key moves through four states, by its activation time and the schedule:
//!
//! - **staged**: known and able to decrypt, not yet encrypting. A fleet distributes a key
//!   while it is staged, so by the time any server encrypts with it every server can decrypt
//!   it.
//! - **active**: the newest key whose activation time has passed; it seals every new ticket.
//! - **decrypt-only**: a newer key has activated. Tickets sealed under it still open, and the
//!   server is told to renew them ([`Opened::renew`]).
//! - **erased**: `ticket_lifetime` after it stopped encrypting, the key is dropped and its
//!   material zeroized; its tickets become [`TicketError::UnknownKeyName`].
//!
//! With the default [`Schedule`] (rotate every hour, accept for 12 hours) a key is active for
//! one hour and decrypt-only for eleven, so every ticket stays openable for its full
//! 11-hour lifetime ([`Schedule::ticket_lifetime`]).
//!
//! Concurrency: the ring's current view is an immutable snapshot behind an `Arc`, published in
//! several copies, each behind its own read-write lock on its own cache line; each thread
//! seals and opens under a read lock of "its" copy (threads are spread over the copies in
//! turn), so threads sealing at once share no written cache line — no lock word, no
//! reference count. A rotation builds a new snapshot under a separate mutex and swaps it into
//! every copy. A ticket
//! sealed under a snapshot's active key stays openable for `ticket_lifetime` from that instant
//! whatever rotations happen meanwhile, because the key retires no earlier than that instant.
//!
//! Time only moves forward in the ring: a snapshot is built at the latest time any caller has
//! shown it, and a clock reading earlier than that (a thread descheduled between reading the
//! clock and sealing, or a wall clock stepped backwards) is served by the newest snapshot as
//! if it had been read at the snapshot's time. Keys erased are never needed again, so sealing
//! never fails for a stale reading. Readings more than [`CLOCK_STEP_REPORTED`] behind are
//! counted ([`RotatingSealer::clock_behind_reads`]) for the operator: they mean the wall clock
//! stepped back, and the ring keeps rotating on its own time until the clock catches up.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use ring::rand::{SecureRandom, SystemRandom};

use super::aead_sealer::{key_name_of, open_with, seal_with};
use super::key::{TicketKey, TicketKeyMaterial, KEY_NAME_LEN};
use super::keyfile::{self, KeyFileEntry, KeyFileError, MAX_FILE_KEYS};
use super::{Opened, TicketError, TicketSealer};
use crate::crypto::aead::AeadAlgorithm;
use crate::crypto::secret::SecretVec;
use crate::time::{Clock, Timestamp};

/// Most keys a ring holds; imports beyond it are refused ([`TicketError::RingFull`]), and a
/// schedule that needs more is refused when the sealer is made ([`Schedule::keys_needed`]).
/// With the default schedule a ring holds 13 (one staged, one active, eleven decrypt-only).
/// A whole ring fits in one key file.
pub const MAX_RING_KEYS: usize = MAX_FILE_KEYS;

/// How far behind the ring's time a clock reading must be to count as a backward step of the
/// wall clock ([`RotatingSealer::clock_behind_reads`]); less is ordinary thread scheduling.
pub const CLOCK_STEP_REPORTED: Duration = Duration::from_secs(1);

/// When keys rotate and how long they keep decrypting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// How long each key encrypts. Default: 1 hour.
    pub rotation_period: Duration,
    /// How long after its activation a key still decrypts. Default: 12 hours. Values below
    /// `rotation_period` are treated as equal to it.
    pub decrypt_window: Duration,
}

impl Default for Schedule {
    fn default() -> Self {
        Self {
            rotation_period: Duration::from_secs(3600),
            decrypt_window: Duration::from_secs(12 * 3600),
        }
    }
}

impl Schedule {
    /// How long a ticket stays openable after it is sealed: `decrypt_window −
    /// rotation_period`, since a key may seal a ticket at the very end of its active period.
    pub fn ticket_lifetime(&self) -> Duration {
        self.decrypt_window.saturating_sub(self.rotation_period)
    }

    /// How many keys a ring on this schedule may need at once: one per rotation period of
    /// the decrypt window, the active and the staged key, and two for a fleet replacing the
    /// current and next slots' keys after its store lost them (fleet module). A schedule
    /// needing more than [`MAX_RING_KEYS`] is refused.
    pub fn keys_needed(&self) -> usize {
        let period = self.rotation_period.as_millis().max(1);
        let window = self.decrypt_window.as_millis().max(period);
        usize::try_from(window.div_ceil(period))
            .unwrap_or(usize::MAX)
            .saturating_add(4)
    }
}

/// The state of a key held in the ring (erased keys are no longer held).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyState {
    /// Decrypts, does not yet encrypt.
    Staged,
    /// Encrypts and decrypts.
    Active,
    /// Decrypts only; erased at its `erase_at`.
    DecryptOnly,
}

/// Where new keys come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeySource {
    /// The sealer makes its own keys from the system CSPRNG, staging each one a
    /// rotation period before it activates.
    Generate,
    /// Keys arrive only through [`RotatingSealer::import_key`] (a fleet's distribution).
    External,
}

struct RingKey {
    key: Arc<TicketKey>,
    activates_at: Timestamp,
}

struct SnapKey {
    key: Arc<TicketKey>,
    state: KeyState,
    activates_at: Timestamp,
    retires_at: Option<Timestamp>,
}

/// How many copies of the published snapshot a ring keeps (module docs).
const SHARDS: usize = 16;

/// One copy of the published snapshot, alone on its cache lines.
#[repr(align(128))]
struct Shard(RwLock<Arc<Snapshot>>);

thread_local! {
    /// The copy this thread reads, chosen on its first seal or open.
    static SHARD_OF_THREAD: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// The next copy to hand a thread.
static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);

fn shard_of_thread() -> usize {
    SHARD_OF_THREAD.with(|c| {
        let mut i = c.get();
        if i >= SHARDS {
            i = NEXT_SHARD.fetch_add(1, Ordering::Relaxed) % SHARDS;
            c.set(i);
        }
        i
    })
}

struct Snapshot {
    built_at: Timestamp,
    valid_until: Timestamp,
    keys: Vec<SnapKey>,
    active: Option<usize>,
}

/// A [`TicketSealer`] over a rotating ring of keys (module docs).
pub struct RotatingSealer {
    clock: Arc<dyn Clock>,
    schedule: Schedule,
    algorithm: AeadAlgorithm,
    source: KeySource,
    rng: Arc<dyn SecureRandom + Send + Sync>,
    ring: Mutex<Vec<RingKey>>,
    snapshot: RwLock<Arc<Snapshot>>,
    shards: Box<[Shard; SHARDS]>,
    behind_reads: AtomicU64,
}

impl core::fmt::Debug for RotatingSealer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RotatingSealer")
            .field("schedule", &self.schedule)
            .field("algorithm", &self.algorithm)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// What the ring holds now, and for how long recorded connections stay recoverable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exposure {
    /// When the report was made.
    pub now: Timestamp,
    /// Every key held, oldest activation first.
    pub keys: Vec<KeyExposure>,
    /// The age of the oldest connection whose ticket a key held now can open: a recording of
    /// any connection younger than this can have its ticket opened, and its master secret or
    /// PSK recovered, by whoever obtains the keys now. Zero when no key has activated.
    pub oldest_recoverable: Duration,
    /// The longest time, over the keys held, from the first ticket a key could seal to the
    /// key's planned erasure: how long a recorded connection's secrets stay recoverable in the
    /// worst case (the decrypt window, under a regular schedule).
    pub longest_exposure: Duration,
}

/// One key in an [`Exposure`] report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyExposure {
    /// The key's public name.
    pub name: [u8; KEY_NAME_LEN],
    /// Its state now.
    pub state: KeyState,
    /// When it starts (or started) encrypting.
    pub activates_at: Timestamp,
    /// Time since activation; zero while staged.
    pub age: Duration,
    /// When it will be erased: planned from its successor's activation, or, for an active key
    /// with no successor yet, from the earliest the schedule lets it retire.
    pub erase_at: Timestamp,
}

impl RotatingSealer {
    /// A sealer that generates its own keys (AES-256-GCM), with the first key active at once.
    ///
    /// # Errors
    /// [`TicketError::Random`] when the generator fails.
    pub fn new(clock: Arc<dyn Clock>, schedule: Schedule) -> Result<Self, TicketError> {
        Self::with_options(
            clock,
            schedule,
            AeadAlgorithm::Aes256Gcm,
            KeySource::Generate,
        )
    }

    /// A sealer with a chosen AEAD and key source. With [`KeySource::External`] the ring
    /// starts empty and sealing fails with [`TicketError::NoActiveKey`] until a key is
    /// imported and activates.
    ///
    /// # Errors
    /// [`TicketError::Random`] when the generator fails.
    pub fn with_options(
        clock: Arc<dyn Clock>,
        schedule: Schedule,
        algorithm: AeadAlgorithm,
        source: KeySource,
    ) -> Result<Self, TicketError> {
        Self::with_rng(
            clock,
            schedule,
            algorithm,
            source,
            Arc::new(SystemRandom::new()),
        )
    }

    /// As [`with_options`](Self::with_options), drawing key names and key secrets from
    /// `rng` (tests and simulations inject a deterministic one).
    ///
    /// # Errors
    /// [`TicketError::Random`] when the generator fails,
    /// [`TicketError::ScheduleNeedsTooManyKeys`] for a schedule a ring cannot hold.
    pub fn with_rng(
        clock: Arc<dyn Clock>,
        schedule: Schedule,
        algorithm: AeadAlgorithm,
        source: KeySource,
        rng: Arc<dyn SecureRandom + Send + Sync>,
    ) -> Result<Self, TicketError> {
        let schedule = Schedule {
            rotation_period: schedule.rotation_period.max(Duration::from_millis(1)),
            decrypt_window: schedule.decrypt_window.max(schedule.rotation_period),
        };
        if schedule.keys_needed() > MAX_RING_KEYS {
            return Err(TicketError::ScheduleNeedsTooManyKeys(
                schedule.keys_needed(),
            ));
        }
        let empty = Arc::new(Snapshot {
            built_at: Timestamp::EPOCH,
            valid_until: Timestamp::EPOCH,
            keys: Vec::new(),
            active: None,
        });
        let sealer = Self {
            clock,
            schedule,
            algorithm,
            source,
            rng,
            ring: Mutex::new(Vec::new()),
            shards: Box::new(std::array::from_fn(|_| {
                Shard(RwLock::new(Arc::clone(&empty)))
            })),
            snapshot: RwLock::new(empty),
            behind_reads: AtomicU64::new(0),
        };
        let now = sealer.clock.now();
        sealer.refresh(now, true)?;
        Ok(sealer)
    }

    /// The schedule in force.
    pub fn schedule(&self) -> Schedule {
        self.schedule
    }

    /// How many clock readings since creation were more than [`CLOCK_STEP_REPORTED`] behind
    /// the ring's own time: each is a wall clock that stepped backwards (or a thread stalled
    /// that long). The ring served them at its own time, so no seal or open failed; a growing
    /// count is a clock to fix.
    pub fn clock_behind_reads(&self) -> u64 {
        self.behind_reads.load(Ordering::Relaxed)
    }

    /// Adds a key that starts encrypting at `activates_at`: staged until then. This is how a
    /// fleet rolls out a key: every server imports it well before `activates_at`.
    ///
    /// An activation time in the past makes the key active (or decrypt-only, if a newer key
    /// has activated) at once; it then retires the previously active key early.
    ///
    /// # Errors
    /// [`TicketError::DuplicateKeyName`] when a key of that name is held,
    /// [`TicketError::RingFull`] when [`MAX_RING_KEYS`] keys are held and none is due for
    /// erasure (for a generating ring: when fewer than [`Schedule::keys_needed`] places are
    /// left for its own keys), [`TicketError::Random`] when the key cannot be derived.
    pub fn import_key(
        &self,
        material: TicketKeyMaterial,
        activates_at: Timestamp,
    ) -> Result<(), TicketError> {
        // The key schedule is derived before the ring is locked: no handshake waits on it.
        let key = Arc::new(TicketKey::new(material, self.algorithm)?);
        {
            let mut ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
            // Erase what is due first: a key past its time must not take a new key's place.
            self.erase_due(&mut ring, self.ring_time(self.clock.now()));
            if ring.iter().any(|k| k.key.name() == key.name()) {
                return Err(TicketError::DuplicateKeyName);
            }
            if ring.len() >= self.import_capacity() {
                return Err(TicketError::RingFull);
            }
            let at = ring.partition_point(|k| k.activates_at <= activates_at);
            ring.insert(at, RingKey { key, activates_at });
        }
        self.refresh(self.clock.now(), true).map(drop)
    }

    /// Imports every key of a key file in this crate's format ([`keyfile`]).
    ///
    /// # Errors
    /// The file's [`KeyFileError`], [`KeyFileError::DuplicateKeyName`] when a key is held
    /// already, [`KeyFileError::RingFull`] when the ring has no room left.
    pub fn import_key_file(&self, bytes: &[u8]) -> Result<(), KeyFileError> {
        for entry in keyfile::decode_key_file(bytes)? {
            let name = *entry.material.name();
            let len = entry.material.expose_secret().len();
            self.import_key(entry.material, entry.activates_at)
                .map_err(|e| match e {
                    TicketError::RingFull => KeyFileError::RingFull,
                    TicketError::DuplicateKeyName => KeyFileError::DuplicateKeyName(name),
                    _ => KeyFileError::BadSecretLength(len),
                })?;
        }
        Ok(())
    }

    /// A copy of the material of the key named `name`, if held (a fleet re-publishes the
    /// keys it holds when its store lost them).
    #[cfg(feature = "redis")]
    pub(crate) fn key_material(&self, name: &[u8; KEY_NAME_LEN]) -> Option<TicketKeyMaterial> {
        let ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        ring.iter()
            .find(|k| k.key.name() == name)
            .map(|k| k.key.material.duplicate())
    }

    /// How many keys the ring may hold after an import: all of [`MAX_RING_KEYS`] for keys
    /// that only arrive by import; a generating ring keeps room for a whole window of its own
    /// keys, which it adds whatever was imported.
    fn import_capacity(&self) -> usize {
        match self.source {
            KeySource::External => MAX_RING_KEYS,
            KeySource::Generate => MAX_RING_KEYS.saturating_sub(self.schedule.keys_needed()),
        }
    }

    /// The later of `now` and the published snapshot's time: the ring's time never moves back.
    fn ring_time(&self, now: Timestamp) -> Timestamp {
        let built_at = self
            .snapshot
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .built_at;
        now.max(built_at)
    }

    /// Erases the keys whose last ticket's lifetime has run out by `now`; dropping the last
    /// `Arc` zeroizes the material (snapshots still in flight hold it until they finish).
    fn erase_due(&self, ring: &mut Vec<RingKey>, now: Timestamp) {
        let lifetime = self.schedule.ticket_lifetime();
        let mut i = 0;
        while i < ring.len() {
            match self.retires_at(ring, i) {
                Some(r) if r.saturating_add(lifetime) <= now => {
                    ring.remove(i);
                }
                _ => i += 1,
            }
        }
    }

    /// Every key held, with its activation time, as a key file ([`keyfile`]) for the fleet.
    /// The output holds key material and is zeroized on drop.
    ///
    /// # Errors
    /// [`KeyFileError::NoKeys`] when the ring is empty.
    pub fn export_key_file(&self) -> Result<SecretVec, KeyFileError> {
        let entries: Vec<KeyFileEntry> = {
            let ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
            ring.iter()
                .map(|k| KeyFileEntry {
                    material: k.key.material.duplicate(),
                    activates_at: k.activates_at,
                })
                .collect()
        };
        keyfile::encode_key_file(&entries)
    }

    /// The keys held now, their states and ages, and how long recorded connections stay
    /// recoverable (see [`Exposure`]).
    pub fn exposure(&self) -> Exposure {
        let read = self.clock.now();
        let snap = self.current(read);
        // The ring's own time: a clock that stepped back does not rewind the report.
        let now = snap.built_at.max(read);
        let lifetime = self.schedule.ticket_lifetime();
        let keys: Vec<KeyExposure> = snap
            .keys
            .iter()
            .map(|k| {
                let retires = k.retires_at.unwrap_or_else(|| {
                    now.max(k.activates_at.saturating_add(self.schedule.rotation_period))
                });
                KeyExposure {
                    name: *k.key.name(),
                    state: k.state,
                    activates_at: k.activates_at,
                    age: now.saturating_duration_since(k.activates_at),
                    erase_at: retires.saturating_add(lifetime),
                }
            })
            .collect();
        let activated = keys.iter().filter(|k| k.state != KeyState::Staged);
        let oldest_recoverable = activated.clone().map(|k| k.age).max().unwrap_or_default();
        let longest_exposure = activated
            .map(|k| k.erase_at.saturating_duration_since(k.activates_at))
            .max()
            .unwrap_or_default();
        Exposure {
            now,
            keys,
            oldest_recoverable,
            longest_exposure,
        }
    }

    /// The snapshot for `now`, rebuilt when a key changed state since it was made. A snapshot
    /// also serves every `now` before its `built_at` (module docs).
    fn current(&self, now: Timestamp) -> Arc<Snapshot> {
        let snap = self
            .snapshot
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if now < snap.valid_until {
            if now.saturating_add(CLOCK_STEP_REPORTED) < snap.built_at {
                self.behind_reads.fetch_add(1, Ordering::Relaxed);
            }
            return snap;
        }
        // A failed key generation leaves the ring as it was; the old view is still correct
        // for every key it holds, so use it rather than fail the handshake.
        self.refresh(now, false).unwrap_or(snap)
    }

    /// Runs `f` on the snapshot for `now`, under a read lock of this thread's copy (module
    /// docs); as [`current`](Self::current) when that copy is out of date.
    fn with_current<R>(&self, now: Timestamp, f: impl FnOnce(&Snapshot) -> R) -> R {
        {
            let copy = self.shards[shard_of_thread()]
                .0
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            if now < copy.valid_until {
                if now.saturating_add(CLOCK_STEP_REPORTED) < copy.built_at {
                    self.behind_reads.fetch_add(1, Ordering::Relaxed);
                }
                return f(&copy);
            }
        }
        f(&self.current(now))
    }

    /// Rebuilds the snapshot for `now`, or for the published snapshot's time if that is later
    /// (time never moves back in the ring). Unless `force`d (the ring changed), a snapshot
    /// another thread rebuilt while this one waited for the lock is used as it is.
    fn refresh(&self, now: Timestamp, force: bool) -> Result<Arc<Snapshot>, TicketError> {
        let mut ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        let published = self
            .snapshot
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let now = now.max(published.built_at);
        if !force && now < published.valid_until {
            return Ok(published);
        }
        if self.source == KeySource::Generate {
            self.generate_keys(&mut ring, now)?;
        }
        self.erase_due(&mut ring, now);
        let lifetime = self.schedule.ticket_lifetime();
        let active = ring.iter().rposition(|k| k.activates_at <= now);
        let mut valid_until = Timestamp::from_millis(u64::MAX);
        let keys: Vec<SnapKey> = ring
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let retires_at = self.retires_at(&ring, i);
                let state = match active {
                    Some(a) if i == a => KeyState::Active,
                    Some(a) if i < a => KeyState::DecryptOnly,
                    _ => KeyState::Staged,
                };
                for event in [
                    Some(k.activates_at),
                    retires_at,
                    retires_at.map(|r| r.saturating_add(lifetime)),
                ]
                .into_iter()
                .flatten()
                {
                    if event > now && event < valid_until {
                        valid_until = event;
                    }
                }
                SnapKey {
                    key: Arc::clone(&k.key),
                    state,
                    activates_at: k.activates_at,
                    retires_at,
                }
            })
            .collect();
        let snap = Arc::new(Snapshot {
            built_at: now,
            valid_until,
            keys,
            active,
        });
        *self
            .snapshot
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::clone(&snap);
        for copy in self.shards.iter() {
            *copy.0.write().unwrap_or_else(PoisonError::into_inner) = Arc::clone(&snap);
        }
        Ok(snap)
    }

    /// When key `i` stops (or stopped) encrypting: when its successor activates.
    ///
    /// A generated key never encrypts for longer than a rotation period: whenever the ring is
    /// looked at while a key is active, its successor is generated to activate a period later.
    /// If nothing looked at the ring for longer than that (an idle server), the successor
    /// activates late, but the key sealed nothing after its period ended, so its retirement
    /// (and erasure) is counted from the end of its period rather than kept alive longer.
    fn retires_at(&self, ring: &[RingKey], i: usize) -> Option<Timestamp> {
        let next = ring.get(i + 1)?.activates_at;
        Some(match (self.source, ring.get(i)) {
            (KeySource::Generate, Some(k)) => {
                next.min(k.activates_at.saturating_add(self.schedule.rotation_period))
            }
            _ => next,
        })
    }

    /// Keeps one key active and its successor staged a rotation period ahead.
    fn generate_keys(&self, ring: &mut Vec<RingKey>, now: Timestamp) -> Result<(), TicketError> {
        let period = self.schedule.rotation_period;
        // At most three keys are added: one active now, after an idle gap, and one staged.
        for _ in 0..3 {
            let next_at = match ring.last() {
                None => now,
                Some(last) if last.activates_at > now => return Ok(()),
                Some(last) => {
                    let due = last.activates_at.saturating_add(period);
                    // After a gap longer than a period, activate at once rather than
                    // backfilling keys for times already past.
                    if due <= now {
                        now
                    } else {
                        due
                    }
                }
            };
            let material = TicketKeyMaterial::generate(&*self.rng)?;
            let key = Arc::new(TicketKey::new(material, self.algorithm)?);
            ring.push(RingKey {
                key,
                activates_at: next_at,
            });
        }
        Ok(())
    }
}

impl TicketSealer for RotatingSealer {
    fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>, TicketError> {
        self.with_current(self.clock.now(), |snap| {
            let active = snap
                .active
                .and_then(|i| snap.keys.get(i))
                .ok_or(TicketError::NoActiveKey)?;
            seal_with(&active.key, plaintext)
        })
    }

    fn open(&self, ticket: &[u8]) -> Result<Opened, TicketError> {
        let name = key_name_of(ticket)?;
        self.with_current(self.clock.now(), |snap| {
            let entry = snap
                .keys
                .iter()
                .find(|k| k.key.name() == name)
                .ok_or(TicketError::UnknownKeyName)?;
            Ok(Opened {
                plaintext: open_with(&entry.key, ticket)?,
                renew: entry.state == KeyState::DecryptOnly,
            })
        })
    }

    fn lifetime(&self) -> Duration {
        self.schedule.ticket_lifetime()
    }

    fn exposure_report(&self) -> Option<Exposure> {
        Some(self.exposure())
    }
}
