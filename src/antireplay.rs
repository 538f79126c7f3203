//! Anti-replay for TLS 1.3 0-RTT early data.
//!
//! Early data is not protected against replay by TLS itself (RFC 8446 §8): an attacker can
//! record a ClientHello with early data and send it again. A server accepts early data only when
//! a [`ReplayGuard`] says this is the first time it sees the attempt:
//!
//! - [`SingleUseTickets`] (RFC 8446 §8.1): each ticket identity is accepted for early data once
//!   while its ClientHello is fresh (§8.3), and remembered no longer than that.
//! - [`StrikeRegister`] (RFC 8446 §8.2): remembers the ids (binders or ticket identities) of
//!   ClientHellos seen within a freshness window, and rejects ClientHellos whose expected arrival
//!   time is outside the window (§8.3), so it need remember nothing older.
//!
//! Both are bounded in memory. When full they reject early data ([`Verdict::Full`]) rather
//! than forget an id still inside its window: forgetting could accept a replay, rejecting only
//! costs a round trip (the handshake continues without 0-RTT).
//!
//! Ids are remembered as 64-bit SipHash values under per-process random keys. Two different ids
//! with the same hash make the second one look like a replay: early data is rejected, which is
//! safe; a replay can never look fresh.

use std::collections::hash_map::RandomState;
use std::collections::{BTreeSet, HashMap};
use std::hash::BuildHasher;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use crate::time::Timestamp;

/// A guard's answer for one early-data attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// First sighting, within the window: early data may be accepted. The id is now recorded.
    Fresh,
    /// Seen before: reject early data.
    Replay,
    /// The ClientHello's expected arrival time (or the ticket's lifetime) is outside the
    /// window: reject early data.
    TooOld,
    /// The guard cannot record the id (full, or a shared backend unreachable): reject early
    /// data.
    Full,
}

impl Verdict {
    /// Whether early data may be accepted.
    pub fn accepts_early_data(self) -> bool {
        self == Self::Fresh
    }
}

/// What a server knows about one attempt to send early data.
#[derive(Clone, Copy, Debug)]
pub struct EarlyDataAttempt<'a> {
    /// What identifies the attempt: the PSK binder (unique per ClientHello) or the ticket
    /// identity (unique per ticket).
    pub id: &'a [u8],
    /// When the server issued the ticket (from the session state).
    pub issued_at: Timestamp,
    /// The client's view of the ticket's age in milliseconds: `obfuscated_ticket_age −
    /// ticket_age_add` mod 2^32 (RFC 8446 §4.2.11.1), see [`ticket_age`].
    pub client_ticket_age_ms: u32,
}

/// The client's ticket age from the `obfuscated_ticket_age` it sent (RFC 8446 §4.2.11.1).
pub fn ticket_age(obfuscated_ticket_age: u32, ticket_age_add: u32) -> u32 {
    obfuscated_ticket_age.wrapping_sub(ticket_age_add)
}

/// Decides whether early data is a first sighting.
///
/// # Security contract
/// - [`check_and_record`](Self::check_and_record) is atomic: of any number of concurrent calls
///   with the same id, from any number of servers sharing the guard, at most one returns
///   [`Verdict::Fresh`] while the id is inside its window.
/// - When the guard cannot record an id (full, backend unreachable), it returns anything but
///   `Fresh`.
pub trait ReplayGuard: Send + Sync {
    /// Checks the attempt at `now` and records it.
    fn check_and_record(&self, attempt: &EarlyDataAttempt<'_>, now: Timestamp) -> Verdict;
}

/// The ids a guard remembers, each until its own time, with a hard bound on their number.
struct Recorded {
    seen: HashMap<u64, u64>,
    by_expiry: BTreeSet<(u64, u64)>,
    capacity: usize,
}

impl Recorded {
    fn new(capacity: usize) -> Self {
        Self {
            seen: HashMap::new(),
            by_expiry: BTreeSet::new(),
            capacity: capacity.max(1),
        }
    }

    fn forget_expired(&mut self, now: u64) {
        while let Some(&(until, id)) = self.by_expiry.first() {
            if until > now {
                break;
            }
            self.by_expiry.pop_first();
            self.seen.remove(&id);
        }
    }

    fn record(&mut self, id: u64, until: u64, now: u64) -> Verdict {
        self.forget_expired(now);
        if self.seen.contains_key(&id) {
            return Verdict::Replay;
        }
        if self.seen.len() >= self.capacity {
            return Verdict::Full;
        }
        self.seen.insert(id, until);
        self.by_expiry.insert((until, id));
        Verdict::Fresh
    }
}

struct Guarded {
    recorded: Mutex<Recorded>,
    hasher: RandomState,
}

impl Guarded {
    fn new(capacity: usize) -> Self {
        Self {
            recorded: Mutex::new(Recorded::new(capacity)),
            hasher: RandomState::new(),
        }
    }

    fn record(&self, id: &[u8], until: Timestamp, now: Timestamp) -> Verdict {
        let id = self.hasher.hash_one(id);
        // A poisoned lock means a panic elsewhere mid-update; the set is still a set of ids
        // seen, so using it cannot accept a replay.
        let mut recorded = self.recorded.lock().unwrap_or_else(PoisonError::into_inner);
        recorded.record(id, until.as_millis(), now.as_millis())
    }

    fn len(&self) -> usize {
        self.recorded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .seen
            .len()
    }
}

/// The freshness window [`SingleUseTickets`] uses unless told otherwise: RFC 8446 §8.3
/// suggests allowing for about 10 seconds of clock error and network delay.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(10);

/// Accepts early data at most once per ticket (RFC 8446 §8.1) while its ClientHello is fresh.
///
/// An attempt is accepted when the ticket is within its lifetime, its expected arrival time
/// is within the freshness window of now (§8.3, as for [`StrikeRegister`]) and the ticket
/// identity has not been recorded. The identity is remembered only until a replay of that
/// ClientHello would fail the freshness check — not for the ticket's whole lifetime, which
/// would let anyone holding many tickets of their own fill the guard for days and have early
/// data refused to every client. A later ClientHello with the same ticket, made by the
/// client with its own fresh age and binder, is not a replay and may be accepted again.
///
/// # The window and the server's `max_ticket_age_skew`
///
/// The guard's window is its own setting, [`DEFAULT_WINDOW`] (10 s) unless given; the server
/// has another, `ServerConfig::with_max_ticket_age_skew` (also 10 s by default), and compares
/// the same quantity (the client's ticket age against the server's) before it asks the guard.
/// So early data is accepted only within the smaller of the two; a guard window wider than
/// the server's skew only keeps each ticket longer (memory), a narrower one refuses ages the
/// server would take. Build the guard with the server's skew, [`windowed`](Self::windowed),
/// so the two stay equal. Every server sharing one guard (a fleet's
/// `RedisReplayGuard`, feature `redis`, included) must use the same window.
pub struct SingleUseTickets {
    inner: Guarded,
    max_ticket_lifetime: Duration,
    window: Duration,
}

impl core::fmt::Debug for SingleUseTickets {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SingleUseTickets")
            .field("max_ticket_lifetime", &self.max_ticket_lifetime)
            .field("window", &self.window)
            .finish_non_exhaustive()
    }
}

impl SingleUseTickets {
    /// A guard remembering at most `capacity` tickets, for tickets living at most
    /// `max_ticket_lifetime` after issue, with freshness window [`DEFAULT_WINDOW`].
    pub fn new(capacity: usize, max_ticket_lifetime: Duration) -> Self {
        Self {
            inner: Guarded::new(capacity),
            max_ticket_lifetime,
            window: DEFAULT_WINDOW,
        }
    }

    /// A guard remembering at most `capacity` tickets, for tickets living at most
    /// `max_ticket_lifetime` after issue, with freshness `window`: pass the server's
    /// `max_ticket_age_skew` (type docs).
    pub fn windowed(capacity: usize, max_ticket_lifetime: Duration, window: Duration) -> Self {
        Self::new(capacity, max_ticket_lifetime).with_window(window)
    }

    /// Sets the freshness window (type docs); each ticket is remembered about this long.
    pub fn with_window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// Ids remembered now (expired ones not yet forgotten included).
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// True when nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl ReplayGuard for SingleUseTickets {
    fn check_and_record(&self, attempt: &EarlyDataAttempt<'_>, now: Timestamp) -> Verdict {
        if now >= attempt.issued_at.saturating_add(self.max_ticket_lifetime) {
            return Verdict::TooOld;
        }
        match fresh_until(attempt, self.window, now) {
            Some(until) => self.inner.record(attempt.id, until, now),
            None => Verdict::TooOld,
        }
    }
}

/// A strike register (RFC 8446 §8.2): remembers ClientHello ids seen within a freshness
/// window and rejects ClientHellos outside it (§8.3).
///
/// The expected arrival time of a ClientHello is `issued_at + client_ticket_age`; it is fresh
/// when that is within `window` of `now` (both directions: clocks and networks skew). A
/// replay of an accepted ClientHello carries the same age, so once `now` passes
/// `expected + window` it is rejected as [`Verdict::TooOld`] without being remembered; the id
/// is kept exactly that long.
pub struct StrikeRegister {
    inner: Guarded,
    window: Duration,
}

impl core::fmt::Debug for StrikeRegister {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StrikeRegister")
            .field("window", &self.window)
            .finish_non_exhaustive()
    }
}

impl StrikeRegister {
    /// A register with freshness `window` remembering at most `capacity` ids.
    pub fn new(capacity: usize, window: Duration) -> Self {
        Self {
            inner: Guarded::new(capacity),
            window,
        }
    }

    /// Ids remembered now (expired ones not yet forgotten included).
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// True when nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl ReplayGuard for StrikeRegister {
    fn check_and_record(&self, attempt: &EarlyDataAttempt<'_>, now: Timestamp) -> Verdict {
        match fresh_until(attempt, self.window, now) {
            Some(until) => self.inner.record(attempt.id, until, now),
            None => Verdict::TooOld,
        }
    }
}

/// The freshness check of RFC 8446 §8.3: the attempt's expected arrival time,
/// `issued_at + client_ticket_age`, must be within `window` of `now` (either side: clocks and
/// networks skew both ways). `None` when it is not; otherwise the instant, one millisecond
/// past the last one at which a replay of the attempt could still pass this check at the
/// same clock — how long its id must be remembered.
pub(crate) fn fresh_until(
    attempt: &EarlyDataAttempt<'_>,
    window: Duration,
    now: Timestamp,
) -> Option<Timestamp> {
    let expected = attempt
        .issued_at
        .saturating_add(Duration::from_millis(u64::from(
            attempt.client_ticket_age_ms,
        )));
    let skew = if now >= expected {
        now.saturating_duration_since(expected)
    } else {
        expected.saturating_duration_since(now)
    };
    if skew > window {
        return None;
    }
    Some(
        expected
            .saturating_add(window)
            .saturating_add(Duration::from_millis(1)),
    )
}
