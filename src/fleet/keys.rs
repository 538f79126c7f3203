//! [`FleetKeys`]: ticket keys created once for the whole fleet and imported by every server.
//!
//! Time is cut into slots of one rotation period, counted from the Unix epoch; slot `n`'s key
//! activates at `n × rotation_period`. On each [`FleetKeys::sync`] a server makes sure it
//! holds the keys of the current slot and the next one, and of the past slots whose keys still
//! decrypt:
//!
//! - a key missing locally is fetched from Redis and imported into the [`RotatingSealer`] with
//!   its slot's activation time — staged, for the next slot, a whole rotation period early;
//! - a current or next key missing from Redis is created by whichever server looks first:
//!   `SET key value NX` succeeds for exactly one server; the others read the winner's key;
//! - the current and next slots are looked up on every sync, even when held: if Redis lost
//!   them (a flush, a failover to an empty replica), the server re-publishes its own key with
//!   `SET NX`, and if another server's key is there instead, imports it. Both keys of the
//!   slot are then held and the one imported last encrypts, so the fleet converges on the key
//!   in Redis within one sync interval; tickets sealed under the losing key open only on the
//!   servers that held it, and fall back to a full handshake elsewhere.
//!
//! A slot is recorded as held only when its key was imported (or was already held under that
//! name); a refused import is a failure, retried on the next sync.
//!
//! Slot `n`'s key is stored under `prefix ‖ "{stek}:" ‖ n`: the hash tag `{stek}` keeps every
//! slot's key in one Redis Cluster slot, so one `MGET` reads all the slots a sync looks at
//! (one round trip, on one server or a cluster). In Redis a key is stored wrapped: `version (1) ‖ nonce (12) ‖ AES-256-GCM(name (16) ‖
//! secret (32)) ‖ tag`, under the wrapping key derived from the [`FleetKey`], with the Redis
//! key and the activation time as additional data (a key cannot be replayed into another
//! slot). It expires from Redis when the last server would erase it; locally the sealer
//! zeroizes it on the same schedule.
//!
//! At a fleet's very first start no key is staged yet: the current slot's key is created
//! active at once, and a server that has not synced yet cannot open tickets sealed under it
//! until it does. Servers should therefore sync before they serve; from then on every key is
//! staged a whole period before it activates. Servers' clocks must agree to well within a
//! rotation period (slots are computed from each server's own clock).
//!
//! If Redis is unreachable a sync does nothing: the sealer keeps its keys, and its active key
//! keeps encrypting past its period (a sealer with no successor keeps its key active) until
//! the fleet agrees on the next one.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use ring::rand::{SecureRandom, SystemRandom};

use super::connection::Redis;
use super::FleetKey;
use crate::crypto::aead::{AeadKey, NONCE_LEN, TAG_LEN};
use crate::crypto::secret::SecretVec;
use crate::ticket::{Exposure, RotatingSealer, TicketError, TicketKeyMaterial, KEY_NAME_LEN};
use crate::time::Timestamp;

const VERSION: u8 = 1;
const SECRET_LEN: usize = 32;
const WRAPPED_LEN: usize = 1 + NONCE_LEN + KEY_NAME_LEN + SECRET_LEN + TAG_LEN;

/// What one [`FleetKeys::sync`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Keys this server created (won the `SET NX` claim).
    pub created: u32,
    /// Keys imported into the sealer (created here or fetched).
    pub imported: u32,
    /// Redis calls that failed, stored keys that did not unwrap, and imports the sealer
    /// refused (each such slot is tried again on the next sync).
    pub failures: u32,
}

/// What syncing one slot came to.
enum SlotStep {
    /// The sealer holds the slot's key, of this name.
    Held([u8; KEY_NAME_LEN]),
    /// A past slot with no key in Redis.
    Absent,
    /// A Redis call failed, a stored key did not unwrap, or the import was refused.
    Failed,
    /// Nothing to do (the slot's key is past erasure).
    Skipped,
}

#[derive(Default)]
struct Held {
    /// Slots whose key the sealer holds, with the key's name.
    slots: BTreeMap<u64, [u8; KEY_NAME_LEN]>,
    /// Past slots found empty in Redis: no one creates a past slot's key, so no need to ask
    /// again.
    absent: BTreeSet<u64>,
    last_sync: Option<Timestamp>,
}

/// Keeps a [`RotatingSealer`] (made with [`KeySource::External`](crate::ticket::KeySource)
/// and the fleet's common [`Schedule`](crate::ticket::Schedule)) in step with every other
/// server of the fleet (module docs).
pub struct FleetKeys {
    redis: Arc<Redis>,
    sealer: Arc<RotatingSealer>,
    wrap: AeadKey,
    rng: SystemRandom,
    interval: Duration,
    held: Mutex<Held>,
    created: AtomicU64,
}

impl core::fmt::Debug for FleetKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FleetKeys")
            .field("interval", &self.interval)
            .field("created", &self.created())
            .finish_non_exhaustive()
    }
}

impl FleetKeys {
    /// Distribution for `sealer` through `redis`, wrapping keys under `fleet`. [`sync_if_due`]
    /// syncs at most once per `interval` (a tenth of the rotation period is plenty: keys are
    /// staged a whole period ahead).
    ///
    /// [`sync_if_due`]: Self::sync_if_due
    pub fn new(
        redis: Arc<Redis>,
        fleet: &FleetKey,
        sealer: Arc<RotatingSealer>,
        interval: Duration,
    ) -> Self {
        Self {
            redis,
            sealer,
            wrap: fleet.derive(b"ticket key wrap"),
            rng: SystemRandom::new(),
            interval,
            held: Mutex::new(Held::default()),
            created: AtomicU64::new(0),
        }
    }

    /// The sealer kept in step.
    pub fn sealer(&self) -> &Arc<RotatingSealer> {
        &self.sealer
    }

    /// Keys this server has created since it started.
    pub fn created(&self) -> u64 {
        self.created.load(Ordering::Relaxed)
    }

    /// The exposure report of the keys held. Every server of the fleet holds the same keys
    /// (the current, the next and every past key still decrypting), so this is the fleet's
    /// report: whoever obtains them can open any ticket any server issued in the window.
    pub fn exposure(&self) -> Exposure {
        self.sealer.exposure()
    }

    /// Runs [`sync`](Self::sync) when the last complete one was at least the interval ago (or
    /// the last one failed).
    pub fn sync_if_due(&self, now: Timestamp) -> Option<SyncReport> {
        {
            let held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
            if held
                .last_sync
                .is_some_and(|t| now.saturating_duration_since(t) < self.interval && now >= t)
            {
                return None;
            }
        }
        Some(self.sync(now))
    }

    /// Fetches, creates and imports keys for the slots around `now` (module docs). Each
    /// Redis call is bounded by the connection's timeouts; the lock guarding the local record
    /// is not held across them.
    pub fn sync(&self, now: Timestamp) -> SyncReport {
        let schedule = self.sealer.schedule();
        let period = u64::try_from(schedule.rotation_period.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let window = u64::try_from(schedule.decrypt_window.as_millis()).unwrap_or(u64::MAX);
        let current = now.as_millis() / period;
        // Past slots whose keys may still open tickets: activated within the decrypt window.
        let oldest = current.saturating_sub(window / period);
        let wanted: Vec<(u64, Option<[u8; KEY_NAME_LEN]>)> = {
            let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
            held.slots = held.slots.split_off(&oldest);
            held.absent = held.absent.split_off(&oldest);
            // A past slot's key never changes; the current and next slots' are checked on
            // every sync, so a server reconciles with what the fleet holds after Redis lost
            // its data (and re-publishes its own when Redis holds none).
            (oldest..=current.saturating_add(1))
                .filter(|s| {
                    *s >= current || (!held.slots.contains_key(s) && !held.absent.contains(s))
                })
                .map(|s| (s, held.slots.get(&s).copied()))
                .collect()
        };
        let mut report = SyncReport::default();
        // Every wanted slot's key in one round trip: they share a hash tag, so in a Redis
        // Cluster they live in one slot, on one node, and one `MGET` reads them all.
        let names: Vec<Vec<u8>> = wanted.iter().map(|(s, _)| self.slot_key(*s)).collect();
        let stored: Option<Vec<Option<Vec<u8>>>> = if names.is_empty() {
            Some(Vec::new())
        } else {
            self.redis
                .query("MGET", redis::cmd("MGET").arg(&names))
                .filter(|v: &Vec<Option<Vec<u8>>>| v.len() == names.len())
        };
        let Some(stored) = stored else {
            report.failures += 1;
            return report;
        };
        for ((slot, held_name), fetched) in wanted.into_iter().zip(stored) {
            let step = self.sync_slot(slot, current, period, held_name, fetched, now, &mut report);
            match step {
                SlotStep::Held(name) => {
                    self.held
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .slots
                        .insert(slot, name);
                }
                SlotStep::Absent => {
                    self.held
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .absent
                        .insert(slot);
                }
                SlotStep::Failed => report.failures += 1,
                SlotStep::Skipped => {}
            }
        }
        // A sync that failed is retried on the next call rather than an interval later (each
        // retry during an outage fails fast, in the connection's back-off).
        if report.failures == 0 {
            self.held
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .last_sync = Some(now);
        }
        report
    }

    /// The Redis key of one slot's ticket key: `prefix ‖ "{stek}:" ‖ slot`. The hash tag
    /// `{stek}` puts every slot's key in the same Redis Cluster slot.
    fn slot_key(&self, slot: u64) -> Vec<u8> {
        self.redis.key(b"{stek}:", slot.to_string().as_bytes())
    }

    /// Brings one slot's key in step with Redis, given what Redis held for it (`fetched`):
    /// import it, or create it (or re-publish the one held here) when Redis has none.
    #[allow(clippy::too_many_arguments)] // One slot's whole context; called from one place.
    fn sync_slot(
        &self,
        slot: u64,
        current: u64,
        period: u64,
        held_name: Option<[u8; KEY_NAME_LEN]>,
        fetched: Option<Vec<u8>>,
        now: Timestamp,
        report: &mut SyncReport,
    ) -> SlotStep {
        let schedule = self.sealer.schedule();
        let activates_at = Timestamp::from_millis(slot.saturating_mul(period));
        // Kept in Redis until the last server erases it: a period of staging, a period
        // active, then the decrypt window after its successor activates.
        let erase_at = activates_at
            .saturating_add(schedule.rotation_period)
            .saturating_add(schedule.decrypt_window);
        let ttl_ms = erase_at.saturating_duration_since(now).as_millis();
        if ttl_ms == 0 {
            return SlotStep::Skipped;
        }
        let redis_key = self.slot_key(slot);
        let aad = aad(&redis_key, activates_at);
        let material = match fetched {
            Some(stored) => match self.unwrap_key(&aad, stored) {
                Some(m) => m,
                None => return SlotStep::Failed,
            },
            None if slot < current => return SlotStep::Absent,
            None => {
                // Re-publish the key held for this slot, or create one.
                let (offer, fresh) = match held_name.and_then(|n| self.sealer.key_material(&n)) {
                    Some(m) => (m, false),
                    None => match TicketKeyMaterial::generate(&self.rng) {
                        Ok(m) => (m, true),
                        Err(_) => return SlotStep::Failed,
                    },
                };
                match self.offer(&redis_key, &aad, ttl_ms, offer, fresh, report) {
                    Some(m) => m,
                    None => return SlotStep::Failed,
                }
            }
        };
        let name = *material.name();
        if held_name == Some(name) {
            return SlotStep::Held(name);
        }
        match self.sealer.import_key(material, activates_at) {
            Ok(()) => {
                report.imported += 1;
                SlotStep::Held(name)
            }
            // Imported meanwhile by another path: held either way.
            Err(TicketError::DuplicateKeyName) => SlotStep::Held(name),
            Err(_) => SlotStep::Failed,
        }
    }

    /// Offers `material` with `SET NX`; on losing the race, reads the winner's key.
    fn offer(
        &self,
        redis_key: &[u8],
        aad: &[u8],
        ttl_ms: u128,
        material: TicketKeyMaterial,
        fresh: bool,
        report: &mut SyncReport,
    ) -> Option<TicketKeyMaterial> {
        let wrapped = self.wrap_key(aad, &material)?;
        let set: Option<String> = self.redis.query(
            "SET NX",
            redis::cmd("SET")
                .arg(redis_key)
                .arg(wrapped)
                .arg("NX")
                .arg("PX")
                .arg(u64::try_from(ttl_ms).unwrap_or(u64::MAX)),
        )?;
        if set.is_some() {
            if fresh {
                self.created.fetch_add(1, Ordering::Relaxed);
                report.created += 1;
            }
            return Some(material);
        }
        let stored: Option<Vec<u8>> = self.redis.query("GET", redis::cmd("GET").arg(redis_key))?;
        self.unwrap_key(aad, stored?)
    }

    fn wrap_key(&self, aad: &[u8], material: &TicketKeyMaterial) -> Option<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).ok()?;
        let secret = material.expose_secret();
        if secret.len() != SECRET_LEN {
            return None;
        }
        let mut body = zeroize::Zeroizing::new(Vec::with_capacity(WRAPPED_LEN));
        body.extend_from_slice(material.name());
        body.extend_from_slice(secret);
        self.wrap.seal_in_place(nonce, aad, &mut body).ok()?;
        let mut out = Vec::with_capacity(WRAPPED_LEN);
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&body);
        Some(out)
    }

    fn unwrap_key(&self, aad: &[u8], stored: Vec<u8>) -> Option<TicketKeyMaterial> {
        let mut stored = SecretVec::new(stored);
        let bytes = stored.expose_secret_mut();
        if bytes.len() != WRAPPED_LEN || bytes[0] != VERSION {
            return None;
        }
        let (header, body) = bytes.split_at_mut(1 + NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = header[1..].try_into().ok()?;
        let plain = self.wrap.open_in_place(nonce, aad, body).ok()?;
        let (name, secret) = plain.split_at(KEY_NAME_LEN);
        TicketKeyMaterial::new(name.try_into().ok()?, secret)
    }
}

fn aad(redis_key: &[u8], activates_at: Timestamp) -> Vec<u8> {
    let mut aad = redis_key.to_vec();
    aad.extend_from_slice(&activates_at.as_millis().to_be_bytes());
    aad
}
