//! [`AsyncRedis`]: Redis from async code on tokio, for one server or a Redis Cluster, with the
//! same bounds, counters and failure reports as the synchronous [`Redis`](super::Redis).
//!
//! - One server: the `redis` crate's `ConnectionManager`, one multiplexed connection shared by
//!   every clone of the handle and rebuilt in the background after it breaks. The keys of one
//!   lookup go out as one pipeline: one round trip (two for the first take a server sees,
//!   which is sent the script's text after a `NOSCRIPT`).
//! - A Redis Cluster: the `redis` crate's async cluster connection, made on first use. In this
//!   version of the `redis` crate a pipeline is sent whole to the node of its first key and a
//!   pipeline over keys of several slots is refused (`CROSSSLOT`); session keys are spread
//!   over the slots on purpose (see the [module docs](super)), so a lookup sends one request
//!   per key instead, all at once: the lookup waits about one network round trip, and
//!   [`RedisStats::round_trips`] counts each request.
//!
//! Every call is bounded: a request by the command timeout (the `redis` crate's response
//! timeout), and the whole call by one deadline set when it starts: the connect plus command
//! timeouts (for a cluster twice that, for one retry after a redirection or a lost node).
//! Waiting for the cluster connection, making it and the requests all end by that deadline.
//! After a failed cluster connect, or a call to one server lost to its connection (refused,
//! dropped, timed out), calls fail at once for [`RedisOptions::retry_after`], calls that were
//! waiting for the connect included, so a Redis that is down costs a handshake no wait at
//! all rather than one reconnect attempt each; a cluster connection whose request fails is dropped
//! and the next call makes a new one (fresh slot map), as the synchronous handle does. A
//! failure is counted, reported to the [`FailureHook`] and returned as a miss; nothing panics.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use redis::aio::ConnectionLike;

use super::bounded::{self, Bounded};
use super::connection::{cluster_builder, RedisOptions, CLUSTER_RETRIES};
use super::telemetry::{FailureHook, RedisStats, Telemetry};
use super::FleetError;

/// A handle on one Redis server or one Redis Cluster for async code (module docs). Cheap to
/// clone: clones share the connection, the counters and the failure hook.
#[derive(Clone)]
pub struct AsyncRedis {
    inner: Arc<Inner>,
}

struct Inner {
    backend: Backend,
    options: RedisOptions,
    telemetry: Telemetry,
    /// After a failed connect (a cluster) or a call lost to the connection (one server),
    /// calls fail at once until then.
    down_until: Mutex<Option<Instant>>,
}

enum Backend {
    Single(redis::aio::ConnectionManager),
    Cluster(Box<Cluster>),
}

/// The cluster client and its connection, made on first use and again after a failure.
struct Cluster {
    client: redis::cluster::ClusterClient,
    conn: tokio::sync::Mutex<ClusterSlot>,
}

/// The current cluster connection, if any, and how many have been made: a failed call drops
/// the connection only if it is still the one it used.
#[derive(Default)]
struct ClusterSlot {
    conn: Option<redis::cluster_async::ClusterConnection>,
    made: u64,
}

impl core::fmt::Debug for AsyncRedis {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AsyncRedis")
            .field("cluster", &self.is_cluster())
            .field("options", &self.inner.options)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// A connection of either kind, for one call.
enum Conn {
    Single(redis::aio::ConnectionManager),
    /// The connection and its number ([`ClusterSlot::made`]).
    Cluster(redis::cluster_async::ClusterConnection, u64),
}

impl AsyncRedis {
    /// A handle on the Redis server at `url` (`redis://host:port[/db]`). It connects in the
    /// background and reconnects after failures; a Redis down at start is a miss on each
    /// call until it is up, not an error here. Must be called within a tokio runtime.
    ///
    /// # Errors
    /// [`FleetError::InvalidUrl`], [`FleetError::InvalidPrefix`].
    pub async fn open(url: &str, options: RedisOptions) -> Result<Self, FleetError> {
        let options = options.checked()?;
        let client = redis::Client::open(url).map_err(|e| FleetError::InvalidUrl(e.to_string()))?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.connect_timeout))
            .set_response_timeout(Some(options.command_timeout))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(10))
            .set_max_delay(options.retry_after.max(Duration::from_millis(10)));
        let manager = redis::aio::ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| FleetError::InvalidUrl(e.to_string()))?;
        Ok(Self::with_backend(Backend::Single(manager), options))
    }

    /// A handle on the Redis Cluster that `nodes` belong to (`host:port` or
    /// `redis://host:port`; any reachable one is enough). The first call connects and reads
    /// the slot map; until a connect succeeds calls are misses, with the back-off of
    /// [`RedisOptions::retry_after`] between attempts.
    ///
    /// # Errors
    /// [`FleetError::InvalidUrl`] for an empty list or an address that is not valid,
    /// [`FleetError::InvalidPrefix`].
    pub async fn open_cluster(nodes: &[String], options: RedisOptions) -> Result<Self, FleetError> {
        let options = options.checked()?;
        let client = cluster_builder(nodes, &options)?
            .overall_response_timeout(Some(cluster_call_budget(&options)))
            .build()
            .map_err(|e| FleetError::InvalidUrl(e.to_string()))?;
        Ok(Self::with_backend(
            Backend::Cluster(Box::new(Cluster {
                client,
                conn: tokio::sync::Mutex::new(ClusterSlot::default()),
            })),
            options,
        ))
    }

    fn with_backend(backend: Backend, options: RedisOptions) -> Self {
        Self {
            inner: Arc::new(Inner {
                backend,
                options,
                telemetry: Telemetry::default(),
                down_until: Mutex::new(None),
            }),
        }
    }

    /// Reports failures (of this handle and all its clones) to `hook` instead of the default
    /// rate-limited stderr line.
    pub fn with_failure_hook(self, hook: FailureHook) -> Self {
        self.inner.telemetry.set_hook(hook);
        self
    }

    /// Whether this is a handle on a Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        matches!(self.inner.backend, Backend::Cluster(_))
    }

    /// The settings.
    pub fn options(&self) -> &RedisOptions {
        &self.inner.options
    }

    /// The counters so far (shared by the clones).
    pub fn stats(&self) -> RedisStats {
        self.inner.telemetry.stats()
    }

    /// Runs one command; `None` on any failure (counted and reported).
    pub(crate) async fn query<T: redis::FromRedisValue>(
        &self,
        operation: &'static str,
        cmd: &redis::Cmd,
    ) -> Option<T> {
        let deadline = self.deadline();
        let mut conn = self.connection(deadline).await?;
        let reply = match tokio::time::timeout_at(deadline, conn.send(cmd)).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(e)) => {
                self.back_off_if_lost(&conn, Some(&e));
                return self.failed_on(&conn, operation, &e.to_string());
            }
            Err(_) => {
                self.back_off_if_lost(&conn, None);
                return self.failed_on(&conn, operation, "timed out");
            }
        };
        self.inner.telemetry.answered(1);
        let parsed = reply
            .extract_error()
            .and_then(|r| redis::from_redis_value(r).map_err(Into::into));
        match parsed {
            Ok(v) => Some(v),
            Err(e) => self.failed(operation, &e.to_string()),
        }
    }

    /// Bounded reads (`true`: takes) of several keys in one logical round trip (module docs):
    /// one answer per key, in order, `None` for each that failed (counted and reported).
    pub(crate) async fn get_bounded_many(
        &self,
        operation: &'static str,
        keys: &[(Vec<u8>, bool)],
        max_len: usize,
    ) -> Vec<Option<Bounded>> {
        if keys.is_empty() {
            return Vec::new();
        }
        let deadline = self.deadline();
        let Some(conn) = self.connection(deadline).await else {
            return keys.iter().map(|_| None).collect();
        };
        let replies = match conn {
            Conn::Single(manager) => {
                let single = Conn::Single(manager.clone());
                let call = self.pipelined(manager, keys, max_len);
                match tokio::time::timeout_at(deadline, call).await {
                    Ok(Ok(replies)) => replies,
                    Ok(Err(e)) => {
                        self.back_off_if_lost(&single, Some(&e));
                        self.failed::<()>(operation, &e.to_string());
                        return keys.iter().map(|_| None).collect();
                    }
                    Err(_) => {
                        self.back_off_if_lost(&single, None);
                        self.failed::<()>(operation, "timed out");
                        return keys.iter().map(|_| None).collect();
                    }
                }
            }
            Conn::Cluster(cluster, made) => {
                self.per_key(cluster, made, keys, max_len, deadline).await
            }
        };
        replies
            .into_iter()
            .zip(keys)
            .map(|(reply, (_, take))| {
                match reply.and_then(|r| bounded::interpret(r, max_len, *take)) {
                    Ok(found) => Some(found),
                    Err(error) => self.failed(operation, &error),
                }
            })
            .collect()
    }

    /// The keys' reads on a cluster, one request per key, all at once; each reply or why it
    /// failed. A failed request drops the connection (the next call makes a new one).
    async fn per_key(
        &self,
        cluster: redis::cluster_async::ClusterConnection,
        made: u64,
        keys: &[(Vec<u8>, bool)],
        max_len: usize,
        deadline: tokio::time::Instant,
    ) -> Vec<Result<redis::Value, String>> {
        let calls = keys
            .iter()
            .map(|(key, take)| {
                let mut conn = Conn::Cluster(cluster.clone(), made);
                let call = async move {
                    let command = bounded::command(key, max_len, *take);
                    conn.send_bounded(&command, key, max_len, *take).await
                };
                Box::pin(tokio::time::timeout_at(deadline, call))
            })
            .collect();
        let replies: Vec<_> = JoinAll {
            pending: calls,
            done: keys.iter().map(|_| None).collect(),
        }
        .await
        .into_iter()
        .map(|r| match r {
            Some(Ok(Ok((reply, requests)))) => {
                self.inner.telemetry.answered(requests);
                Ok(reply)
            }
            Some(Ok(Err(e))) => Err(e.to_string()),
            _ => Err("timed out".to_owned()),
        })
        .collect();
        if replies.iter().any(Result::is_err) {
            self.drop_cluster_connection(made);
        }
        replies
    }

    /// The keys' reads as one pipeline on one server, then the takes Redis answered
    /// `NOSCRIPT` as a second one, sent as the script's text. One reply per key, an error
    /// reply among them as a `ServerError` value.
    async fn pipelined(
        &self,
        mut manager: redis::aio::ConnectionManager,
        keys: &[(Vec<u8>, bool)],
        max_len: usize,
    ) -> redis::RedisResult<Vec<Result<redis::Value, String>>> {
        let mut pipe = redis::pipe();
        for (key, take) in keys {
            pipe.add_command(bounded::command(key, max_len, *take));
        }
        let mut replies = manager.req_packed_commands(&pipe, 0, keys.len()).await?;
        self.inner.telemetry.answered(1);
        if replies.len() != keys.len() {
            return Err((
                redis::ErrorKind::Client,
                "pipeline reply of the wrong length",
            )
                .into());
        }
        let unloaded: Vec<usize> = (0..replies.len())
            .filter(|&i| keys[i].1 && bounded::lacks_script(Ok(&replies[i])))
            .collect();
        if !unloaded.is_empty() {
            let mut pipe = redis::pipe();
            for &i in &unloaded {
                pipe.add_command(bounded::take_by_text(&keys[i].0, max_len));
            }
            let again = manager
                .req_packed_commands(&pipe, 0, unloaded.len())
                .await?;
            self.inner.telemetry.answered(1);
            for (i, reply) in unloaded.into_iter().zip(again) {
                replies[i] = reply;
            }
        }
        Ok(replies.into_iter().map(Ok).collect())
    }

    /// The connection for one call: the manager (which connects by itself), or the cluster
    /// connection, made now if there is none. Waiting for another call's connect and making
    /// one both end by `deadline`; during the back-off after a failed connect, calls are
    /// refused at once, those that waited for that connect included.
    async fn connection(&self, deadline: tokio::time::Instant) -> Option<Conn> {
        if self.backing_off() {
            return None;
        }
        let cluster = match &self.inner.backend {
            Backend::Single(manager) => return Some(Conn::Single(manager.clone())),
            Backend::Cluster(cluster) => cluster,
        };
        let Ok(mut slot) = tokio::time::timeout_at(deadline, cluster.conn.lock()).await else {
            return self.failed(
                "wait for connect",
                "timed out waiting for another call's connect",
            );
        };
        if let Some(conn) = slot.conn.as_ref() {
            return Some(Conn::Cluster(conn.clone(), slot.made));
        }
        // Another call's connect may have failed while this one waited.
        if self.backing_off() {
            return None;
        }
        match tokio::time::timeout_at(deadline, cluster.client.get_async_connection()).await {
            Ok(Ok(conn)) => {
                self.inner.telemetry.connected();
                slot.made += 1;
                slot.conn = Some(conn.clone());
                Some(Conn::Cluster(conn, slot.made))
            }
            failed => {
                self.back_off();
                let error = match failed {
                    Ok(Err(e)) => e.to_string(),
                    _ => "timed out".to_owned(),
                };
                self.failed("connect", &error)
            }
        }
    }

    /// Calls fail at once for [`RedisOptions::retry_after`] from now.
    fn back_off(&self) {
        *self
            .inner
            .down_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner) =
            Some(Instant::now() + self.inner.options.retry_after);
    }

    /// After a call on one server lost to its connection (refused, dropped, an I/O error;
    /// `None`: timed out), starts the back-off: the connection manager reconnects by itself,
    /// but without it every following call would wait for one more reconnect. An error
    /// reply from a server that answers does not count.
    fn back_off_if_lost(&self, conn: &Conn, error: Option<&redis::RedisError>) {
        let lost = error.is_none_or(|e| {
            e.is_io_error()
                || e.is_connection_refusal()
                || e.is_connection_dropped()
                || e.is_timeout()
        });
        if lost && matches!(conn, Conn::Single(_)) {
            self.back_off();
        }
    }

    /// Whether calls are refused now, during a back-off (counted as refused).
    fn backing_off(&self) -> bool {
        let refused = self
            .inner
            .down_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some_and(|until| Instant::now() < until);
        if refused {
            self.inner.telemetry.refused();
        }
        refused
    }

    /// Drops the cluster connection numbered `made` if it is still the current one, so the
    /// next call makes a new one. Skipped when another call holds the slot: it is either
    /// connecting (there is no connection to drop) or taking a copy for a moment (the next
    /// failure drops it).
    fn drop_cluster_connection(&self, made: u64) {
        if let Backend::Cluster(cluster) = &self.inner.backend {
            if let Ok(mut slot) = cluster.conn.try_lock() {
                if slot.made == made {
                    slot.conn = None;
                }
            }
        }
    }

    /// When a call starting now must be over.
    fn deadline(&self) -> tokio::time::Instant {
        tokio::time::Instant::now() + self.call_budget()
    }

    /// The longest one call may take, reconnection included.
    fn call_budget(&self) -> Duration {
        let options = &self.inner.options;
        match self.inner.backend {
            Backend::Single(_) => options.connect_timeout + options.command_timeout,
            Backend::Cluster(_) => cluster_call_budget(options),
        }
    }

    fn failed<T>(&self, operation: &'static str, error: &str) -> Option<T> {
        self.inner.telemetry.failed(operation, error);
        None
    }

    /// [`failed`](Self::failed) for a request sent on `conn`: a cluster connection is dropped.
    fn failed_on<T>(&self, conn: &Conn, operation: &'static str, error: &str) -> Option<T> {
        if let Conn::Cluster(_, made) = conn {
            self.drop_cluster_connection(*made);
        }
        self.failed(operation, error)
    }
}

/// A cluster call: a connect and a command, once more after a redirection or a lost node.
fn cluster_call_budget(options: &RedisOptions) -> Duration {
    (options.connect_timeout + options.command_timeout) * (1 + CLUSTER_RETRIES)
}

impl Conn {
    async fn send(&mut self, cmd: &redis::Cmd) -> redis::RedisResult<redis::Value> {
        match self {
            Self::Single(c) => c.req_packed_command(cmd).await,
            Self::Cluster(c, _) => c.req_packed_command(cmd).await,
        }
    }

    /// One bounded read; a take Redis answers `NOSCRIPT` is sent again as the script's text.
    /// The reply and the number of requests it took.
    async fn send_bounded(
        &mut self,
        command: &redis::Cmd,
        key: &[u8],
        max_len: usize,
        take: bool,
    ) -> redis::RedisResult<(redis::Value, u64)> {
        let reply = self.send(command).await;
        if take && bounded::lacks_script(reply.as_ref()) {
            return Ok((self.send(&bounded::take_by_text(key, max_len)).await?, 2));
        }
        reply.map(|r| (r, 1))
    }
}

/// Polls every future of a list together until all are done; their outputs in order.
struct JoinAll<F: Future> {
    pending: Vec<Pin<Box<F>>>,
    done: Vec<Option<F::Output>>,
}

impl<F: Future> Future for JoinAll<F>
where
    F::Output: Unpin,
{
    type Output = Vec<Option<F::Output>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let mut waiting = false;
        for (future, out) in this.pending.iter_mut().zip(this.done.iter_mut()) {
            if out.is_some() {
                continue;
            }
            match future.as_mut().poll(cx) {
                Poll::Ready(v) => *out = Some(v),
                Poll::Pending => waiting = true,
            }
        }
        if waiting {
            Poll::Pending
        } else {
            Poll::Ready(core::mem::take(&mut this.done))
        }
    }
}
