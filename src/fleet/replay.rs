//! [`RedisReplayGuard`]: a strike register (RFC 8446 §8.2) shared by the fleet through Redis.

use std::sync::Arc;
use std::time::Duration;

use ring::digest;

use super::connection::Redis;
use crate::antireplay::{EarlyDataAttempt, ReplayGuard, Verdict};
use crate::time::Timestamp;

/// Fleet-wide 0-RTT anti-replay: an attempt is fresh when its expected arrival time is within
/// the window of now (RFC 8446 §8.3) and `SET NX PX` on its id succeeds, which Redis grants
/// to one caller only. The id is kept until the last instant a replay could still pass the
/// window check, then expires from Redis.
///
/// Ids are stored as their SHA-256 (fixed-size keys whatever the id's length). When Redis
/// cannot be reached the verdict is [`Verdict::Full`]: early data is rejected, the handshake
/// continues.
pub struct RedisReplayGuard {
    redis: Arc<Redis>,
    window: Duration,
}

impl core::fmt::Debug for RedisReplayGuard {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RedisReplayGuard")
            .field("window", &self.window)
            .finish_non_exhaustive()
    }
}

impl RedisReplayGuard {
    /// A guard with freshness `window`, in `redis`.
    pub fn new(redis: Arc<Redis>, window: Duration) -> Self {
        Self { redis, window }
    }

    /// The connection handle.
    pub fn redis(&self) -> &Arc<Redis> {
        &self.redis
    }
}

impl ReplayGuard for RedisReplayGuard {
    fn check_and_record(&self, attempt: &EarlyDataAttempt<'_>, now: Timestamp) -> Verdict {
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
        if skew > self.window {
            return Verdict::TooOld;
        }
        // Kept one millisecond past the last instant a replay could still pass the check.
        let until = expected
            .saturating_add(self.window)
            .saturating_add(Duration::from_millis(1));
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
