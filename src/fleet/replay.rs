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
/// # One configuration for the whole fleet
///
/// Every server of the fleet must use the same window and the same maximum skew: the record
/// of an attempt lives as long as the *recording* server's settings say, and a server with a
/// wider window or a larger skew could still accept a replay after that. Make the window
/// equal to the servers' `ServerConfig::with_max_ticket_age_skew` (10 s by default on both):
/// the server refuses 0-RTT outside its own skew before asking the guard, so the effective
/// window is the smaller of the two, and a guard window wider than the server's only keeps
/// records longer than needed.
///
/// # Clock skew between servers
///
/// Each server checks freshness by its own clock, and the id must stay in Redis for as long
/// as *any* server's check could still accept a replay. A server running δ behind the one
/// that recorded the id sees the window close δ later, so the id is kept for the window plus
/// a configured maximum skew ([`with_max_skew`](Self::with_max_skew); by default as long as
/// the window itself): Redis expires it `expected + window + max_skew` after the recording
/// server's now. A server further behind than that could accept a replay once the id has
/// expired; keep the fleet's clocks synchronised (NTP) well inside the configured skew. The
/// window and the skew are each capped at [`MAX_WINDOW`](Self::MAX_WINDOW) and
/// [`MAX_SKEW`](Self::MAX_SKEW) (an hour), so the `PX` sent is always one Redis accepts.
///
/// (The other design — checking freshness and `SET NX` in one Lua script against Redis's own
/// `TIME` — would make Redis the one clock, but it would ignore the injected clock that the
/// rest of this crate and its tests decide by, and still depend on the issuing server's clock
/// for `issued_at`. A longer record costs only memory in Redis, one small key per accepted
/// attempt.)
///
/// # When Redis forgets a record
///
/// The guarantee holds only while Redis keeps every record until its expiry. Anything that
/// makes Redis forget one lets one more replay of that ClientHello's early data through for
/// the rest of its window:
///
/// - **Failover.** Redis replicates asynchronously and acknowledges a write before any replica
///   has it. A `SET NX` lost in a failover before a replica received it is forgotten by the
///   promoted replica. `min-replicas-to-write` / `min-replicas-max-lag` do not change that for
///   any one write: they make the primary refuse writes while too few replicas are connected
///   and recently caught up, which only bounds the loss to about the last `max-lag` seconds.
///   (`WAIT` after each `SET NX` would narrow it further at the cost of a replica round trip
///   per 0-RTT attempt; this guard does not do it.) The guarantee is therefore "at most once
///   per ClientHello, plus at most once more per failover that loses writes"; deployments for
///   which that matters can reject early data for one window plus the skew after a failover.
/// - **Eviction.** Under `maxmemory`, the `volatile-ttl` policy evicts the keys closest to
///   expiry first — exactly these records, which have the shortest TTLs — and the `*-lru`,
///   `*-lfu` and `*-random` policies may evict them too. Use `maxmemory-policy noeviction`
///   (a full Redis then refuses the `SET`, and the guard rejects early data), or keep the
///   records in a Redis instance of their own with no memory limit.
/// - **Restart without persistence.** A Redis restarted empty has forgotten every record.
///   Enable AOF (`appendonly yes`, `appendfsync everysec` loses at most about a second), or
///   reject early data for one window plus the skew after a restart.
///
/// Ids are stored as their SHA-256 (fixed-size keys whatever the id's length). When Redis
/// cannot be reached, or refuses the write, the verdict is [`Verdict::Full`]: early data is
/// rejected, the handshake continues.
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
    /// The widest freshness window: an hour (RFC 8446 §8.3 suggests about 10 seconds).
    pub const MAX_WINDOW: Duration = Duration::from_secs(3600);

    /// The largest tolerated clock skew between servers: an hour.
    pub const MAX_SKEW: Duration = Duration::from_secs(3600);

    /// A guard with freshness `window` (at most [`MAX_WINDOW`](Self::MAX_WINDOW); a wider one
    /// counts as that), in `redis`, allowing the servers' clocks to differ by up to the
    /// window (see [`with_max_skew`](Self::with_max_skew)).
    pub fn new(redis: Arc<Redis>, window: Duration) -> Self {
        let window = window.min(Self::MAX_WINDOW);
        Self {
            redis,
            window,
            max_skew: window,
        }
    }

    /// Sets the largest difference between any two servers' clocks that the guard tolerates:
    /// each id is kept in Redis this much longer than the window (type docs). At most
    /// [`MAX_SKEW`](Self::MAX_SKEW): a larger value counts as that (clocks an hour apart
    /// break more than 0-RTT).
    pub fn with_max_skew(mut self, max_skew: Duration) -> Self {
        self.max_skew = max_skew.min(Self::MAX_SKEW);
        self
    }

    /// The freshness window.
    pub fn window(&self) -> Duration {
        self.window
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
