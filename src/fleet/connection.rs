//! A bounded-time Redis connection shared by the fleet components.
//!
//! Connections wait in a small idle pool. A call takes one out under a lock held only for the
//! pop, runs the command with no lock held (bounded by the command timeout), and puts it back
//! on success. A failed connection is dropped, and for [`RedisOptions::retry_after`] every call
//! fails at once instead of paying the connect timeout again; the next call after that
//! reconnects. So no thread ever waits longer than the connect plus command timeouts.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::FleetError;

/// Connection settings.
#[derive(Clone, Debug)]
pub struct RedisOptions {
    /// Longest wait for a TCP connection. Default: 200 ms.
    pub connect_timeout: Duration,
    /// Longest wait for one command's reply (read and write timeouts). Default: 100 ms.
    pub command_timeout: Duration,
    /// After a failure, calls fail at once for this long before reconnecting. Default: 250 ms.
    pub retry_after: Duration,
    /// Prefix of every key this crate writes, so several fleets or applications can share one
    /// Redis. Default: `tls-resumption:`.
    pub prefix: Vec<u8>,
    /// Most idle connections kept. Default: 8.
    pub max_idle: usize,
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_millis(200),
            command_timeout: Duration::from_millis(100),
            retry_after: Duration::from_millis(250),
            prefix: b"tls-resumption:".to_vec(),
            max_idle: 8,
        }
    }
}

impl RedisOptions {
    /// Sets the timeouts in milliseconds.
    pub fn timeouts_ms(mut self, connect: u64, command: u64) -> Self {
        self.connect_timeout = Duration::from_millis(connect);
        self.command_timeout = Duration::from_millis(command);
        self
    }

    /// Sets the key prefix.
    pub fn prefix(mut self, prefix: &[u8]) -> Self {
        self.prefix = prefix.to_vec();
        self
    }
}

/// One Redis failure, as reported to a [`FailureHook`].
#[derive(Clone, Debug)]
pub struct Failure {
    /// What was being done (`"GET"`, `"connect"`, …).
    pub operation: &'static str,
    /// The error, as text.
    pub error: String,
}

/// Called on every Redis failure (from the thread that saw it; keep it quick).
pub type FailureHook = Arc<dyn Fn(&Failure) + Send + Sync>;

/// Counters since the connection handle was made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RedisStats {
    /// Commands sent and answered: Redis round trips.
    pub round_trips: u64,
    /// Calls that failed (connect, timeout, error reply, or refused during back-off).
    pub failures: u64,
    /// Connections opened.
    pub connects: u64,
}

/// A handle on one Redis server, shared by the fleet components (module docs).
pub struct Redis {
    client: redis::Client,
    options: RedisOptions,
    idle: Mutex<Vec<redis::Connection>>,
    down_until: Mutex<Option<Instant>>,
    hook: Option<FailureHook>,
    last_log: Mutex<Option<Instant>>,
    suppressed: AtomicU64,
    round_trips: AtomicU64,
    failures: AtomicU64,
    connects: AtomicU64,
}

impl core::fmt::Debug for Redis {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Redis")
            .field("options", &self.options)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// What [`Redis::get_bounded`] found.
#[derive(Debug)]
pub(crate) enum Bounded {
    /// No value under the key.
    Missing,
    /// The value, within the size bound.
    Value(Vec<u8>),
    /// A value over the bound: not sent (and deleted when taken).
    TooLarge,
}

/// `KEYS[1]`: the key; `ARGV[1]`: the largest length sent back. Replies nil (missing), the
/// value (deleted), or the integer -1 (too large, deleted unsent). Only `GETRANGE` and `DEL`
/// are called, so an ACL user needs no more than a read needs (Redis checks the commands a
/// script calls against the caller's ACL); `GETRANGE` reads at most `ARGV[1] + 1` bytes into
/// the script, whatever the value's size, is empty for a missing key and an error for a key
/// that holds no string. The script runs atomically, as `GETDEL` would.
const TAKE_BOUNDED: &str = "\
local v = redis.call('GETRANGE', KEYS[1], 0, ARGV[1])
if #v == 0 then return nil end
redis.call('DEL', KEYS[1])
if #v > tonumber(ARGV[1]) then return -1 end
return v";

/// The take script's SHA-1 in hex, by which `EVALSHA` names it once Redis has it (Redis
/// names scripts by SHA-1; no security rests on it here).
static TAKE_SHA1: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let digest = ring::digest::digest(
        &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
        TAKE_BOUNDED.as_bytes(),
    );
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
});

/// Stderr lines about failures are printed at most this often.
const LOG_INTERVAL: Duration = Duration::from_secs(10);

impl Redis {
    /// A handle on the Redis server at `url` (`redis://host:port[/db]`). Nothing is connected
    /// yet: the first command connects.
    ///
    /// # Errors
    /// [`FleetError::InvalidUrl`].
    pub fn open(url: &str, options: RedisOptions) -> Result<Self, FleetError> {
        let client = redis::Client::open(url).map_err(|e| FleetError::InvalidUrl(e.to_string()))?;
        Ok(Self {
            client,
            options,
            idle: Mutex::new(Vec::new()),
            down_until: Mutex::new(None),
            hook: None,
            last_log: Mutex::new(None),
            suppressed: AtomicU64::new(0),
            round_trips: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            connects: AtomicU64::new(0),
        })
    }

    /// Reports failures to `hook` instead of the default rate-limited stderr line.
    pub fn with_failure_hook(mut self, hook: FailureHook) -> Self {
        self.hook = Some(hook);
        self
    }

    /// The settings.
    pub fn options(&self) -> &RedisOptions {
        &self.options
    }

    /// The counters so far.
    pub fn stats(&self) -> RedisStats {
        RedisStats {
            round_trips: self.round_trips.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
            connects: self.connects.load(Ordering::Relaxed),
        }
    }

    /// `prefix ‖ kind ‖ key`: the Redis key for one of this crate's values.
    pub(crate) fn key(&self, kind: &[u8], key: &[u8]) -> Vec<u8> {
        let mut k = Vec::with_capacity(self.options.prefix.len() + kind.len() + key.len());
        k.extend_from_slice(&self.options.prefix);
        k.extend_from_slice(kind);
        k.extend_from_slice(key);
        k
    }

    /// Reads (or, with `take`, atomically reads and deletes) the string under `key`, in one
    /// round trip (two for the first take a Redis sees: it is sent the script), never
    /// receiving more than `max_len + 1` bytes of it: whoever can write to Redis may store a
    /// value of up to 512 MB where a lookup will find it.
    ///
    /// A read is `GETRANGE key 0 max_len`: a value longer than `max_len` arrives cut at
    /// `max_len + 1` bytes and is reported as [`Bounded::TooLarge`]; a missing key reads as
    /// empty, which no caller stores. A take is a script (atomic in Redis, like `GETDEL`)
    /// that reads the same range, deletes the key and sends back nothing of an oversized
    /// value; it is named by its hash (`EVALSHA`) and sent whole only when Redis lacks it.
    /// `None` on any failure, a key holding no string included (counted and reported).
    pub(crate) fn get_bounded(
        &self,
        operation: &'static str,
        key: &[u8],
        max_len: usize,
        take: bool,
    ) -> Option<Bounded> {
        if !take {
            let value: Vec<u8> = self.query(
                operation,
                redis::cmd("GETRANGE").arg(key).arg(0).arg(max_len),
            )?;
            return Some(match value.len() {
                0 => Bounded::Missing,
                n if n > max_len => Bounded::TooLarge,
                _ => Bounded::Value(value),
            });
        }
        let by_hash = {
            let mut cmd = redis::cmd("EVALSHA");
            cmd.arg(TAKE_SHA1.as_str()).arg(1).arg(key).arg(max_len);
            cmd
        };
        let by_text = {
            let mut cmd = redis::cmd("EVAL");
            cmd.arg(TAKE_BOUNDED).arg(1).arg(key).arg(max_len);
            cmd
        };
        // By hash; a Redis that does not have the script yet (first take, restart, `SCRIPT
        // FLUSH`) answers NOSCRIPT, and `EVAL` then runs it and caches it.
        let reply: redis::Value = self.run(operation, |conn| match by_hash.query(conn) {
            Err(e) if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) => {
                by_text.query(conn)
            }
            answered => answered,
        })?;
        match reply {
            redis::Value::Nil => Some(Bounded::Missing),
            redis::Value::BulkString(value) if value.len() <= max_len => {
                Some(Bounded::Value(value))
            }
            redis::Value::Int(_) => Some(Bounded::TooLarge),
            _ => {
                self.fail(operation, "unexpected reply to the bounded take");
                None
            }
        }
    }

    /// Runs one command; `None` on any failure (already counted and reported).
    ///
    /// A pooled connection the server closed meanwhile (a restart) fails at once with a
    /// dropped-connection error rather than a timeout; the command is then retried once on a
    /// new connection, so a Redis restart costs no miss. A timeout is never retried: the
    /// caller has waited long enough.
    pub(crate) fn query<T: redis::FromRedisValue>(
        &self,
        operation: &'static str,
        cmd: &redis::Cmd,
    ) -> Option<T> {
        self.run(operation, |conn| cmd.query::<T>(conn))
    }

    /// [`query`](Self::query) for anything done on one connection: `call` may send several
    /// commands, and is run again on a new connection when a pooled one turns out closed.
    fn run<T>(
        &self,
        operation: &'static str,
        call: impl Fn(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Option<T> {
        let (mut conn, pooled) = self.checkout()?;
        let error = match call(&mut conn) {
            Ok(v) => return Some(self.answered(conn, v)),
            Err(e) => e,
        };
        // The connection may hold a half-read reply: never reuse it.
        drop(conn);
        if pooled && !error.is_timeout() && error.is_connection_dropped() {
            self.idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clear();
            if let Some(mut conn) = self.connect() {
                match call(&mut conn) {
                    Ok(v) => return Some(self.answered(conn, v)),
                    Err(e) => {
                        self.fail(operation, &e.to_string());
                        return None;
                    }
                }
            }
            return None;
        }
        self.fail(operation, &error.to_string());
        None
    }

    fn answered<T>(&self, conn: redis::Connection, value: T) -> T {
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        self.checkin(conn);
        value
    }

    /// An idle connection (`true`: pooled) or a new one.
    fn checkout(&self) -> Option<(redis::Connection, bool)> {
        if let Some(conn) = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
        {
            return Some((conn, true));
        }
        {
            let down = self
                .down_until
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if down.is_some_and(|until| Instant::now() < until) {
                drop(down);
                self.failures.fetch_add(1, Ordering::Relaxed);
                return None;
            }
        }
        self.connect().map(|c| (c, false))
    }

    /// A new connection with the timeouts set; `None` (reported) when it cannot be made.
    fn connect(&self) -> Option<redis::Connection> {
        let conn = self
            .client
            .get_connection_with_timeout(self.options.connect_timeout)
            .and_then(|c| {
                c.set_read_timeout(Some(self.options.command_timeout))?;
                c.set_write_timeout(Some(self.options.command_timeout))?;
                Ok(c)
            });
        match conn {
            Ok(c) => {
                self.connects.fetch_add(1, Ordering::Relaxed);
                *self
                    .down_until
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = None;
                Some(c)
            }
            Err(e) => {
                self.fail("connect", &e.to_string());
                None
            }
        }
    }

    fn checkin(&self, conn: redis::Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < self.options.max_idle {
            idle.push(conn);
        }
    }

    fn fail(&self, operation: &'static str, error: &str) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        // Every idle connection likely shares the fault (server gone): drop them all so the
        // next call reconnects instead of timing out on each in turn.
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        *self
            .down_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner) =
            Some(Instant::now() + self.options.retry_after);
        let failure = Failure {
            operation,
            error: error.to_owned(),
        };
        if let Some(hook) = &self.hook {
            hook(&failure);
            return;
        }
        let mut last = self.last_log.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        if last.is_some_and(|t| now.duration_since(t) < LOG_INTERVAL) {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            return;
        }
        *last = Some(now);
        drop(last);
        let suppressed = self.suppressed.swap(0, Ordering::Relaxed);
        eprintln!(
            "tls-resumption: Redis {} failed ({}); treated as a miss ({} similar failures not shown)",
            failure.operation, failure.error, suppressed
        );
    }
}
