//! A bounded-time Redis connection shared by the fleet components.
//!
//! Connections wait in a small idle pool. A call takes one out under a lock held only for the
//! pop, runs the command with no lock held (bounded by the command timeout), and puts it back
//! on success. A failed connection is dropped, and for [`RedisOptions::retry_after`] every call
//! fails at once instead of paying the connect timeout again; the next call after that
//! reconnects. So a call to one server waits at most the connect plus command timeouts (a
//! pooled connection the server closed fails at once, before its replacement is made and the
//! command sent again), with one exception: a take that Redis answers `NOSCRIPT` (the first
//! take a server sees after a start or a `SCRIPT FLUSH`) is sent again with the script's
//! text, a second command bounded by the command timeout of its own.
//!
//! Against a Redis Cluster ([`Redis::open_cluster`]) each pooled connection is the `redis`
//! crate's cluster connection: it knows the slot map, sends each command to the master of its
//! key's slot, follows one `MOVED`/`ASK` redirection and refreshes its map on the way. One
//! retry is allowed; after the answers a failover gives (`TRYAGAIN`, `CLUSTERDOWN`,
//! `MASTERDOWN`, `LOADING`, `READONLY`) the `redis` crate pauses before it, and that pause is
//! configured to stay below the command timeout (the crate's own default is over a second).
//! So a command there waits at most about twice the connect plus command timeouts, plus that
//! pause. A new cluster connection tries the given nodes in order until one answers
//! (each attempt bounded by the connect timeout; a node that is down refuses at once), so
//! list reachable nodes first. After a failed call the pooled connections are dropped and the
//! next call builds one with a fresh slot map: that is how a promoted replica is found.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::bounded::{self, Bounded};
use super::telemetry::{FailureHook, RedisStats, Telemetry};
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
    /// Redis. It may hold no `{` or `}` (a Redis Cluster hash tag in it would override the
    /// tags of the keys after it): the handles refuse to open with one. Default:
    /// `tls-resumption:`.
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

    /// Sets the key prefix (no `{` or `}`: see [`prefix`](Self::prefix)).
    pub fn prefix(mut self, prefix: &[u8]) -> Self {
        self.prefix = prefix.to_vec();
        self
    }

    /// The settings, or [`FleetError::InvalidPrefix`] for a prefix holding `{` or `}`.
    pub(crate) fn checked(self) -> Result<Self, FleetError> {
        if self.prefix.iter().any(|b| matches!(b, b'{' | b'}')) {
            return Err(FleetError::InvalidPrefix(
                String::from_utf8_lossy(&self.prefix).into_owned(),
            ));
        }
        Ok(self)
    }
}

/// A handle on one Redis server or one Redis Cluster, shared by the fleet components (module
/// docs).
pub struct Redis {
    backend: Backend,
    options: RedisOptions,
    idle: Mutex<Vec<Connection>>,
    down_until: Mutex<Option<Instant>>,
    telemetry: Telemetry,
}

enum Backend {
    Single(redis::Client),
    Cluster(Box<redis::cluster::ClusterClient>),
}

/// A connection to one server, or to every master of a cluster.
enum Connection {
    Single(redis::Connection),
    Cluster(Box<redis::cluster::ClusterConnection>),
}

impl Connection {
    fn as_dyn(&mut self) -> &mut dyn redis::ConnectionLike {
        match self {
            Self::Single(c) => c,
            Self::Cluster(c) => c.as_mut(),
        }
    }
}

impl core::fmt::Debug for Redis {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Redis")
            .field("cluster", &self.is_cluster())
            .field("options", &self.options)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// How many times a cluster command is sent again after a redirection or a lost node.
pub(crate) const CLUSTER_RETRIES: u32 = 1;

/// Node addresses as the `redis` crate takes them: `host:port` becomes `redis://host:port`.
pub(crate) fn node_urls(nodes: &[String]) -> Result<Vec<String>, FleetError> {
    if nodes.is_empty() {
        return Err(FleetError::InvalidUrl("no Redis Cluster node given".into()));
    }
    Ok(nodes
        .iter()
        .map(|n| {
            let n = n.trim();
            if n.contains("://") {
                n.to_owned()
            } else {
                format!("redis://{n}")
            }
        })
        .collect())
}

/// A cluster client for `nodes` with the timeouts of `options`, [`CLUSTER_RETRIES`] retries,
/// and a pause before a retry after a failover's answer (`TRYAGAIN`, `CLUSTERDOWN`, …) drawn
/// below the command timeout instead of the `redis` crate's default of 1.28 s or more.
pub(crate) fn cluster_builder(
    nodes: &[String],
    options: &RedisOptions,
) -> Result<redis::cluster::ClusterClientBuilder, FleetError> {
    let most_wait_ms = u64::try_from(options.command_timeout.as_millis())
        .unwrap_or(u64::MAX)
        .max(1);
    Ok(redis::cluster::ClusterClient::builder(node_urls(nodes)?)
        .connection_timeout(options.connect_timeout)
        .response_timeout(options.command_timeout)
        .retries(CLUSTER_RETRIES)
        .min_retry_wait(0)
        .max_retry_wait(most_wait_ms))
}

/// `prefix ‖ kind ‖ key`: the Redis key for one of this crate's values.
pub(crate) fn prefixed(prefix: &[u8], kind: &[u8], key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(prefix.len() + kind.len() + key.len());
    k.extend_from_slice(prefix);
    k.extend_from_slice(kind);
    k.extend_from_slice(key);
    k
}

impl Redis {
    /// A handle on the Redis server at `url` (`redis://host:port[/db]`). Nothing is connected
    /// yet: the first command connects.
    ///
    /// # Errors
    /// [`FleetError::InvalidUrl`], [`FleetError::InvalidPrefix`].
    pub fn open(url: &str, options: RedisOptions) -> Result<Self, FleetError> {
        let options = options.checked()?;
        let client = redis::Client::open(url).map_err(|e| FleetError::InvalidUrl(e.to_string()))?;
        Ok(Self::with_backend(Backend::Single(client), options))
    }

    /// A handle on the Redis Cluster that `nodes` belong to (`host:port` or
    /// `redis://host:port`; any reachable one is enough to learn the others). Nothing is
    /// connected yet: the first command connects to the nodes and reads the slot map. The
    /// fleet components work over it unchanged (see the [module docs](super) for which keys
    /// share a slot).
    ///
    /// # Errors
    /// [`FleetError::InvalidUrl`] for an empty list or an address that is not valid,
    /// [`FleetError::InvalidPrefix`].
    pub fn open_cluster(nodes: &[String], options: RedisOptions) -> Result<Self, FleetError> {
        let options = options.checked()?;
        let client = cluster_builder(nodes, &options)?
            .build()
            .map_err(|e| FleetError::InvalidUrl(e.to_string()))?;
        Ok(Self::with_backend(
            Backend::Cluster(Box::new(client)),
            options,
        ))
    }

    fn with_backend(backend: Backend, options: RedisOptions) -> Self {
        Self {
            backend,
            options,
            idle: Mutex::new(Vec::new()),
            down_until: Mutex::new(None),
            telemetry: Telemetry::default(),
        }
    }

    /// Reports failures to `hook` instead of the default rate-limited stderr line.
    pub fn with_failure_hook(self, hook: FailureHook) -> Self {
        self.telemetry.set_hook(hook);
        self
    }

    /// Whether this is a handle on a Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        matches!(self.backend, Backend::Cluster(_))
    }

    /// The settings.
    pub fn options(&self) -> &RedisOptions {
        &self.options
    }

    /// The counters so far.
    pub fn stats(&self) -> RedisStats {
        self.telemetry.stats()
    }

    /// `prefix ‖ kind ‖ key`: the Redis key for one of this crate's values.
    pub(crate) fn key(&self, kind: &[u8], key: &[u8]) -> Vec<u8> {
        prefixed(&self.options.prefix, kind, key)
    }

    /// Reads (or, with `take`, atomically reads and deletes) the string under `key`, in one
    /// round trip (two for the first take a Redis sees: it is sent the script), never
    /// receiving more than `max_len + 1` bytes of it ([`bounded`] says how). `None` on any
    /// failure, a key holding no string included (counted and reported).
    pub(crate) fn get_bounded(
        &self,
        operation: &'static str,
        key: &[u8],
        max_len: usize,
        take: bool,
    ) -> Option<Bounded> {
        let command = bounded::command(key, max_len, take);
        // A take by hash that Redis answers NOSCRIPT did not run: `EVAL` (built only then)
        // runs it and caches it.
        let reply: redis::Value = self.run(operation, |conn| {
            let reply = command.query(conn);
            if take && bounded::lacks_script(reply.as_ref()) {
                // The NOSCRIPT answer was a round trip of its own.
                self.telemetry.answered(1);
                return bounded::take_by_text(key, max_len).query(conn);
            }
            reply
        })?;
        match bounded::interpret(reply, max_len, take) {
            Ok(found) => Some(found),
            Err(error) => {
                self.fail(operation, &error);
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
        call: impl Fn(&mut dyn redis::ConnectionLike) -> redis::RedisResult<T>,
    ) -> Option<T> {
        let (mut conn, pooled) = self.checkout()?;
        let error = match call(conn.as_dyn()) {
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
                match call(conn.as_dyn()) {
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

    fn answered<T>(&self, conn: Connection, value: T) -> T {
        self.telemetry.answered(1);
        self.checkin(conn);
        value
    }

    /// An idle connection (`true`: pooled) or a new one.
    fn checkout(&self) -> Option<(Connection, bool)> {
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
                self.telemetry.refused();
                return None;
            }
        }
        self.connect().map(|c| (c, false))
    }

    /// A new connection with the timeouts set; `None` (reported) when it cannot be made.
    fn connect(&self) -> Option<Connection> {
        let conn = match &self.backend {
            Backend::Single(client) => client
                .get_connection_with_timeout(self.options.connect_timeout)
                .and_then(|c| {
                    c.set_read_timeout(Some(self.options.command_timeout))?;
                    c.set_write_timeout(Some(self.options.command_timeout))?;
                    Ok(Connection::Single(c))
                }),
            Backend::Cluster(client) => client.get_connection().and_then(|c| {
                c.set_read_timeout(Some(self.options.command_timeout))?;
                c.set_write_timeout(Some(self.options.command_timeout))?;
                Ok(Connection::Cluster(Box::new(c)))
            }),
        };
        match conn {
            Ok(c) => {
                self.telemetry.connected();
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

    fn checkin(&self, conn: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < self.options.max_idle {
            idle.push(conn);
        }
    }

    fn fail(&self, operation: &'static str, error: &str) {
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
        self.telemetry.failed(operation, error);
    }
}
