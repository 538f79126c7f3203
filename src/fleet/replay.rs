//! [`RedisReplayGuard`]: a strike register (RFC 8446 §8.2) shared by the fleet through Redis.

use std::sync::Arc;
use std::time::Duration;

use ring::digest;

use super::connection::Redis;
use crate::antireplay::{fresh_until, EarlyDataAttempt, ReplayGuard, Verdict};
use crate::time::Timestamp;

/// Fleet-wide 0-RTT anti-replay: an attempt is fresh when its expected arrival time is within
/// the window of now (RFC 8446 §8.3) and `SET NX PX` on its id succeeds, which Redis grants
/// to one caller only.
///
/// # Clock skew between servers
///
/// Each server checks freshness by its own clock, and the id must stay in Redis for as long
/// as *any* server's check could still accept a replay. A server running δ behind the one
/// that recorded the id sees the window close δ later, so the id is kept for the window plus
/// a configured maximum skew ([`with_max_skew`](Self::with_max_skew); by default as long as
/// the window itself): Redis expires it `expected + window + max_skew` after the recording
/// server's now. A server further behind than that could accept a replay once the id has
/// expired; keep the fleet's clocks synchronised (NTP) well inside the configured skew.
///
/// (The other design — checking freshness and `SET NX` in one Lua script against Redis's own
/// `TIME` — would make Redis the one clock, but it would ignore the injected clock that the
/// rest of this crate and its tests decide by, and still depend on the issuing server's clock
/// for `issued_at`. A longer record costs only memory in Redis, one small key per accepted
/// attempt.)
///
/// # Redis failover
///
/// Redis replicates asynchronously. A `SET NX` that the primary acknowledged and lost in a
/// failover before a replica received it is forgotten: for the rest of that id's window one
/// replay of that ClientHello's early data can be accepted by the promoted replica. The
/// guarantee is therefore "at most once per ClientHello, plus at most once more per failover
/// that loses writes". Deployments for which that matters can reject early data for one
/// window plus the skew after a failover, or configure the primary with
/// `min-replicas-to-write` so an unreplicated write fails (and the guard rejects the early
/// data).
///
/// Ids are stored as their SHA-256 (fixed-size keys whatever the id's length). When Redis
/// cannot be reached the verdict is [`Verdict::Full`]: early data is rejected, the handshake
/// continues.
pub struct RedisReplayGuard {
    redis: Arc<Redis>,
    window: Duration,
    max_skew: Duration,
}

impl core::fmt::Debug for RedisReplayGuard {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RedisReplayGuard")
            .field("window", &self.window)
            .field("max_skew", &self.max_skew)
            .finish_non_exhaustive()
    }
}

impl RedisReplayGuard {
    /// A guard with freshness `window`, in `redis`, allowing the servers' clocks to differ by
    /// up to `window` (see [`with_max_skew`](Self::with_max_skew)).
    pub fn new(redis: Arc<Redis>, window: Duration) -> Self {
        Self {
            redis,
            window,
            max_skew: window,
        }
    }

    /// Sets the largest difference between any two servers' clocks that the guard tolerates:
    /// each id is kept in Redis this much longer than the window (type docs).
    pub fn with_max_skew(mut self, max_skew: Duration) -> Self {
        self.max_skew = max_skew;
        self
    }

    /// The tolerated clock skew.
    pub fn max_skew(&self) -> Duration {
        self.max_skew
    }

    /// The connection handle.
    pub fn redis(&self) -> &Arc<Redis> {
        &self.redis
    }
}

impl ReplayGuard for RedisReplayGuard {
    fn check_and_record(&self, attempt: &EarlyDataAttempt<'_>, now: Timestamp) -> Verdict {
        let Some(until) = fresh_until(attempt, self.window, now) else {
            return Verdict::TooOld;
        };
        // Past the last instant a replay could pass the check by our clock, and by the clock
        // of any server up to `max_skew` behind ours.
        let until = until.saturating_add(self.max_skew);
        let ttl_ms = until.saturating_duration_since(now).as_millis().max(1);
        let id = digest::digest(&digest::SHA256, attempt.id);
        let key = self.redis.key(b"replay:", id.as_ref());
        let set: Option<Option<String>> = self.redis.query(
            "SET NX",
            redis::cmd("SET")
                .arg(key)
                .arg(1u8)
                .arg("NX")
                .arg("PX")
                .arg(u64::try_from(ttl_ms).unwrap_or(u64::MAX)),
        );
        match set {
            Some(Some(_)) => Verdict::Fresh,
            Some(None) => Verdict::Replay,
            None => Verdict::Full,
        }
    }
}
