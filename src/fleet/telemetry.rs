//! Counters and failure reports shared by the synchronous and asynchronous Redis handles.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

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
    /// Requests sent and answered: a single command or a whole pipeline sent to one Redis
    /// server counts one. (Against a Redis Cluster a lookup of keys in several slots sends one
    /// request per key, concurrently: see the module docs of [`AsyncRedis`](super::AsyncRedis).)
    pub round_trips: u64,
    /// Calls that failed (connect, timeout, error reply, or refused during back-off).
    pub failures: u64,
    /// Connections opened.
    pub connects: u64,
}

/// Stderr lines about failures are printed at most this often.
const LOG_INTERVAL: Duration = Duration::from_secs(10);

/// The counters of one handle and where its failures go.
#[derive(Default)]
pub(crate) struct Telemetry {
    hook: Mutex<Option<FailureHook>>,
    last_log: Mutex<Option<Instant>>,
    suppressed: AtomicU64,
    round_trips: AtomicU64,
    failures: AtomicU64,
    connects: AtomicU64,
}

impl Telemetry {
    pub(crate) fn set_hook(&self, hook: FailureHook) {
        *self.hook.lock().unwrap_or_else(PoisonError::into_inner) = Some(hook);
    }

    pub(crate) fn stats(&self) -> RedisStats {
        RedisStats {
            round_trips: self.round_trips.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
            connects: self.connects.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn answered(&self, requests: u64) {
        self.round_trips.fetch_add(requests, Ordering::Relaxed);
    }

    pub(crate) fn connected(&self) {
        self.connects.fetch_add(1, Ordering::Relaxed);
    }

    /// A call refused without being tried (during a back-off): counted, not reported.
    pub(crate) fn refused(&self) {
        self.failures.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a failure and reports it to the hook, or by default as a stderr line at most
    /// every ten seconds (with the number of failures not shown since).
    pub(crate) fn failed(&self, operation: &'static str, error: &str) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        let failure = Failure {
            operation,
            error: error.to_owned(),
        };
        let hook = self
            .hook
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(hook) = hook {
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
