//! What the asynchronous acceptor counts, for monitoring.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A snapshot of [`AsyncAcceptor`](super::AsyncAcceptor)'s counters.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct AsyncStats {
    /// Lookups sent to the store (one per connection that had something to look up).
    pub lookups: u64,
    /// Keys the store answered with a value.
    pub hits: u64,
    /// Keys answered with nothing, with an error, or not in time.
    pub misses: u64,
    /// Lookups that missed their deadline (their keys are counted as misses too).
    pub lookup_timeouts: u64,
    /// Lookups the store answered with an error for at least one key.
    pub lookup_errors: u64,
    /// Time connections spent waiting for lookups, added up.
    pub pending_total: Duration,
    /// The longest one connection waited for its lookup.
    pub pending_max: Duration,
    /// First flights this crate's codec did not make out, handed to rustls without a lookup.
    pub unparsed: u64,
    /// Values rustls stored that were queued.
    pub queued: u64,
    /// Values dropped because the queue was full.
    pub queue_drops: u64,
    /// Queued values the store confirmed.
    pub stored: u64,
    /// Queued values the store refused or failed to store.
    pub store_errors: u64,
}

impl fmt::Display for AsyncStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "lookups {} hits {} misses {} lookup_timeouts {} lookup_errors {} \
             pending_total_us {} pending_max_us {} unparsed {} \
             queued {} queue_drops {} stored {} store_errors {}",
            self.lookups,
            self.hits,
            self.misses,
            self.lookup_timeouts,
            self.lookup_errors,
            self.pending_total.as_micros(),
            self.pending_max.as_micros(),
            self.unparsed,
            self.queued,
            self.queue_drops,
            self.stored,
            self.store_errors
        )
    }
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) lookups: AtomicU64,
    pub(crate) hits: AtomicU64,
    pub(crate) misses: AtomicU64,
    pub(crate) lookup_timeouts: AtomicU64,
    pub(crate) lookup_errors: AtomicU64,
    pending_total_ns: AtomicU64,
    pending_max_ns: AtomicU64,
    pub(crate) unparsed: AtomicU64,
    pub(crate) queued: AtomicU64,
    pub(crate) queue_drops: AtomicU64,
    pub(crate) stored: AtomicU64,
    pub(crate) store_errors: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn pending(&self, waited: Duration) {
        let ns = u64::try_from(waited.as_nanos()).unwrap_or(u64::MAX);
        self.pending_total_ns.fetch_add(ns, Ordering::Relaxed);
        self.pending_max_ns.fetch_max(ns, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> AsyncStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        AsyncStats {
            lookups: get(&self.lookups),
            hits: get(&self.hits),
            misses: get(&self.misses),
            lookup_timeouts: get(&self.lookup_timeouts),
            lookup_errors: get(&self.lookup_errors),
            pending_total: Duration::from_nanos(get(&self.pending_total_ns)),
            pending_max: Duration::from_nanos(get(&self.pending_max_ns)),
            unparsed: get(&self.unparsed),
            queued: get(&self.queued),
            queue_drops: get(&self.queue_drops),
            stored: get(&self.stored),
            store_errors: get(&self.store_errors),
        }
    }
}
