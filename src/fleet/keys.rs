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
//!   `SET key value NX` succeeds for exactly one server; the others read the winner's key.
//!
//! In Redis a key is stored wrapped: `version (1) ‖ nonce (12) ‖ AES-256-GCM(name (16) ‖
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

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use ring::rand::{SecureRandom, SystemRandom};

use super::connection::Redis;
use super::FleetKey;
use crate::crypto::aead::{AeadKey, NONCE_LEN, TAG_LEN};
use crate::crypto::secret::SecretVec;
use crate::ticket::{Exposure, RotatingSealer, TicketKeyMaterial, KEY_NAME_LEN};
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
    /// Redis calls that failed, and stored keys that did not unwrap.
    pub failures: u32,
}

#[derive(Default)]
struct Held {
    /// Slots whose key the sealer holds.
    slots: BTreeSet<u64>,
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
        let wanted: Vec<u64> = {
            let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
            held.slots = held.slots.split_off(&oldest);
            held.absent = held.absent.split_off(&oldest);
            (oldest..=current.saturating_add(1))
                .filter(|s| !held.slots.contains(s) && !held.absent.contains(s))
                .collect()
        };
        let mut report = SyncReport::default();
        for slot in wanted {
            let activates_at = Timestamp::from_millis(slot.saturating_mul(period));
            // Kept in Redis until the last server erases it: a period of staging, a period
            // active, then the decrypt window after its successor activates.
            let erase_at = activates_at
                .saturating_add(schedule.rotation_period)
                .saturating_add(schedule.decrypt_window);
            let ttl_ms = erase_at.saturating_duration_since(now).as_millis();
            if ttl_ms == 0 {
                continue;
            }
            let redis_key = self.redis.key(b"stek:", slot.to_string().as_bytes());
            let aad = aad(&redis_key, activates_at);
            let fetched: Option<Option<Vec<u8>>> =
                self.redis.query("GET", redis::cmd("GET").arg(&redis_key));
            let material = match fetched {
                None => {
                    report.failures += 1;
                    continue;
                }
                Some(Some(stored)) => match self.unwrap_key(&aad, stored) {
                    Some(m) => m,
                    None => {
                        report.failures += 1;
                        continue;
                    }
                },
                Some(None) if slot < current => {
                    self.held
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .absent
                        .insert(slot);
                    continue;
                }
                Some(None) => match self.claim(&redis_key, &aad, ttl_ms, &mut report) {
                    Some(m) => m,
                    None => {
                        report.failures += 1;
                        continue;
                    }
                },
            };
            // A duplicate name means another path imported it meanwhile: held either way.
            if self.sealer.import_key(material, activates_at).is_ok() {
                report.imported += 1;
            }
            self.held
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .slots
                .insert(slot);
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

    /// Creates a key and offers it with `SET NX`; on losing the race, reads the winner's.
    fn claim(
        &self,
        redis_key: &[u8],
        aad: &[u8],
        ttl_ms: u128,
        report: &mut SyncReport,
    ) -> Option<TicketKeyMaterial> {
        let material = TicketKeyMaterial::generate(&self.rng).ok()?;
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
            self.created.fetch_add(1, Ordering::Relaxed);
            report.created += 1;
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
