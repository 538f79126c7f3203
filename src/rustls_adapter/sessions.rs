//! rustls's session storage on the asynchronous path: what one connection's lookup fetched,
//! and the store queue for what rustls puts.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::server::StoresServerSessions;

use super::queue::StoreQueue;
use crate::crypto::secret::SecretVec;
use crate::store::{Fetch, LookupKey};
use crate::time::Clock;

/// The storage every connection shares: puts go to the queue, lookups find nothing (a value
/// is only ever found through a connection's own prefetch, so rustls never waits on the store).
pub(crate) struct Queued {
    pub(crate) queue: StoreQueue,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) lifetime: Duration,
}

impl StoresServerSessions for Queued {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> bool {
        let expires_at = self.clock.now().saturating_add(self.lifetime);
        // The value holds a master secret or PSK: from here it lives in a zeroizing buffer.
        self.queue.offer(key, SecretVec::new(value), expires_at)
    }

    fn get(&self, _: &[u8]) -> Option<Vec<u8>> {
        None
    }

    fn take(&self, _: &[u8]) -> Option<Vec<u8>> {
        None
    }

    fn can_cache(&self) -> bool {
        true
    }
}

impl fmt::Debug for Queued {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queued")
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

/// One connection's storage: the values its lookup found, then [`Queued`] for the rest. It
/// lives in that connection's own `ServerConfig`, so no other connection can see its values,
/// and they are wiped when the connection's handshake state is dropped.
pub(crate) struct Prefetched {
    found: Mutex<Vec<(LookupKey, SecretVec)>>,
    shared: Arc<Queued>,
}

impl Prefetched {
    pub(crate) fn new(found: Vec<(LookupKey, SecretVec)>, shared: Arc<Queued>) -> Self {
        Self {
            found: Mutex::new(found),
            shared,
        }
    }
}

impl StoresServerSessions for Prefetched {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> bool {
        self.shared.put(key, value)
    }

    /// A TLS 1.2 session ID: the fetched value stays (the ID may resume again in this
    /// connection's retry, and in the store for later ones).
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        let found = self.found.lock().ok()?;
        found
            .iter()
            .find(|(k, _)| k.fetch == Fetch::Get && k.key == key)
            .map(|(_, v)| v.expose_secret().to_vec())
    }

    /// A TLS 1.3 stateful ticket, already taken from the store: handed out once.
    fn take(&self, key: &[u8]) -> Option<Vec<u8>> {
        let mut found = self.found.lock().ok()?;
        let at = found
            .iter()
            .position(|(k, _)| k.fetch == Fetch::Take && k.key == key)?;
        let (_, value) = found.swap_remove(at);
        Some(value.expose_secret().to_vec())
    }

    fn can_cache(&self) -> bool {
        true
    }
}

impl fmt::Debug for Prefetched {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let held = self.found.lock().map(|f| f.len()).unwrap_or(0);
        f.debug_struct("Prefetched")
            .field("held", &held)
            .finish_non_exhaustive()
    }
}
