//! New sessions and tickets stored off the handshake: rustls's `put` offers them to a bounded
//! queue and returns; a tokio task hands them to the [`AsyncSessionCache`], a bounded number at
//! a time. A full queue drops the value and counts it — a session not stored is a later full
//! handshake, a blocked handshake would be every connection's problem.

use std::sync::Arc;

use tokio::sync::{mpsc, Semaphore};

use super::counters::Counters;
use crate::crypto::secret::SecretVec;
use crate::store::AsyncSessionCache;
use crate::time::Timestamp;

/// One value waiting to be stored.
struct Job {
    key: Vec<u8>,
    value: SecretVec,
    expires_at: Timestamp,
}

/// The sending side: cheap to clone, never waits.
#[derive(Clone)]
pub(crate) struct StoreQueue {
    tx: mpsc::Sender<Job>,
    counters: Arc<Counters>,
}

impl StoreQueue {
    /// A queue of `capacity` values drained on `runtime` into `cache`, at most `in_flight`
    /// stores outstanding. The draining task ends once every sender is gone and the queue
    /// is empty.
    pub(crate) fn start(
        runtime: &tokio::runtime::Handle,
        cache: Arc<dyn AsyncSessionCache>,
        capacity: usize,
        in_flight: usize,
        counters: Arc<Counters>,
    ) -> Self {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let permits = Arc::new(Semaphore::new(in_flight.max(1)));
        runtime.spawn(drain(rx, cache, permits, counters.clone()));
        Self { tx, counters }
    }

    /// Queues one value; false (and counted) when the queue is full.
    pub(crate) fn offer(&self, key: Vec<u8>, value: SecretVec, expires_at: Timestamp) -> bool {
        let job = Job {
            key,
            value,
            expires_at,
        };
        match self.tx.try_send(job) {
            Ok(()) => {
                Counters::add(&self.counters.queued, 1);
                true
            }
            Err(_) => {
                Counters::add(&self.counters.queue_drops, 1);
                false
            }
        }
    }
}

async fn drain(
    mut rx: mpsc::Receiver<Job>,
    cache: Arc<dyn AsyncSessionCache>,
    permits: Arc<Semaphore>,
    counters: Arc<Counters>,
) {
    while let Some(job) = rx.recv().await {
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return;
        };
        let cache = cache.clone();
        let counters = counters.clone();
        tokio::spawn(async move {
            let stored = cache
                .store(&job.key, job.value.expose_secret(), job.expires_at)
                .await;
            match stored {
                Ok(()) => Counters::add(&counters.stored, 1),
                Err(_) => Counters::add(&counters.store_errors, 1),
            }
            drop(permit);
        });
    }
}
