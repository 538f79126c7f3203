//! Session caches reached without blocking: the interface between a handshake that must not
//! wait on the network and a store that answers later (Redis on an async runtime, a remote
//! service).
//!
//! A lookup names its keys and how each is read ([`Fetch::Get`] for TLS 1.2 session IDs,
//! [`Fetch::Take`] for single-use TLS 1.3 stateful tickets); a store answers every key of one
//! lookup together, in one round trip where the backend allows. Stores of new sessions are
//! handed to [`AsyncSessionCache::store`] off the critical path, and removals of sessions a
//! failed connection must not leave resumable to [`AsyncSessionCache::remove`].

use core::future::Future;
use core::pin::Pin;
use std::sync::Arc;

use super::{SessionCache, StoreError};
use crate::crypto::secret::SecretVec;
use crate::time::Timestamp;

/// A boxed future returned by [`AsyncSessionCache`] (the trait stays object safe).
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How one key of a lookup is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fetch {
    /// Read and keep (a TLS 1.2 session ID may resume again).
    Get,
    /// Read and remove atomically (a single-use TLS 1.3 stateful ticket, RFC 8446 §8.1).
    Take,
}

/// One key of a lookup.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct LookupKey {
    /// How the key is read.
    pub fetch: Fetch,
    /// The session ID or ticket identity, as the client sent it.
    pub key: Vec<u8>,
}

impl core::fmt::Debug for LookupKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Session IDs and ticket identities are public on the wire; the length is enough to
        // tell lookups apart in logs.
        f.debug_struct("LookupKey")
            .field("fetch", &self.fetch)
            .field("key_len", &self.key.len())
            .finish()
    }
}

/// The answer for one key: the encoded value if present, or why not.
pub type LookupResult = Result<Option<SecretVec>, StoreError>;

/// A session cache whose operations complete later.
///
/// The contract of [`SessionCache`] holds for each key: values only under their own key and
/// never past their expiry, [`Fetch::Take`] atomic, values confidential, failures reported as
/// [`StoreError`] (a miss to the handshake), never a panic.
pub trait AsyncSessionCache: Send + Sync {
    /// Answers every key of one lookup: one result per key, in the order given.
    fn fetch<'a>(&'a self, keys: &'a [LookupKey]) -> StoreFuture<'a, Vec<LookupResult>>;

    /// Stores one encoded value until `expires_at`.
    fn store<'a>(
        &'a self,
        key: &'a [u8],
        value: &'a [u8],
        expires_at: Timestamp,
    ) -> StoreFuture<'a, Result<(), StoreError>>;

    /// Removes the value under `key`, if any (a session that must not resume, RFC 5246
    /// §7.2.2). Removing a key that is not there succeeds.
    fn remove<'a>(&'a self, key: &'a [u8]) -> StoreFuture<'a, Result<(), StoreError>>;
}

/// Any [`SessionCache`] answers as an [`AsyncSessionCache`] that is ready at once: an
/// in-process cache behind the asynchronous interface, for tests and for servers that mix.
impl<C: SessionCache + ?Sized> AsyncSessionCache for Arc<C> {
    fn fetch<'a>(&'a self, keys: &'a [LookupKey]) -> StoreFuture<'a, Vec<LookupResult>> {
        let results = keys
            .iter()
            .map(|k| match k.fetch {
                Fetch::Get => self.get_encoded(&k.key),
                Fetch::Take => self.take_encoded(&k.key),
            })
            .collect();
        Box::pin(core::future::ready(results))
    }

    fn store<'a>(
        &'a self,
        key: &'a [u8],
        value: &'a [u8],
        expires_at: Timestamp,
    ) -> StoreFuture<'a, Result<(), StoreError>> {
        Box::pin(core::future::ready(
            self.put_encoded(key, value, expires_at),
        ))
    }

    fn remove<'a>(&'a self, key: &'a [u8]) -> StoreFuture<'a, Result<(), StoreError>> {
        Box::pin(core::future::ready(SessionCache::remove(&**self, key)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryCache;
    use crate::time::{Clock, ManualClock};

    fn block_on<F: Future>(f: F) -> F::Output {
        // The in-process adapter's futures are ready at once; one poll with a no-op waker
        // completes them.
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let mut f = core::pin::pin!(f);
        match f.as_mut().poll(&mut cx) {
            core::task::Poll::Ready(v) => v,
            core::task::Poll::Pending => panic!("an in-process cache must answer at once"),
        }
    }

    #[test]
    fn an_in_process_cache_answers_gets_and_takes_in_order() {
        let clock = Arc::new(ManualClock::new(Timestamp::from_secs(1_000)));
        let cache = Arc::new(
            MemoryCache::builder()
                .capacity(16)
                .clock(clock.clone())
                .build(),
        );
        let later = clock
            .now()
            .saturating_add(core::time::Duration::from_secs(60));
        block_on(cache.store(b"id-1", b"one", later)).unwrap();
        block_on(cache.store(b"tk-2", b"two", later)).unwrap();
        let keys = [
            LookupKey {
                fetch: Fetch::Get,
                key: b"id-1".to_vec(),
            },
            LookupKey {
                fetch: Fetch::Take,
                key: b"tk-2".to_vec(),
            },
            LookupKey {
                fetch: Fetch::Get,
                key: b"none".to_vec(),
            },
        ];
        let got = block_on(cache.fetch(&keys));
        let bytes: Vec<Option<Vec<u8>>> = got
            .into_iter()
            .map(|r| r.unwrap().map(|v| v.expose_secret().to_vec()))
            .collect();
        assert_eq!(bytes, [Some(b"one".to_vec()), Some(b"two".to_vec()), None]);
        // The take removed its key; the get kept its own.
        let again = block_on(cache.fetch(&keys));
        assert!(again[0].as_ref().unwrap().is_some());
        assert!(again[1].as_ref().unwrap().is_none());
        // A removal takes the kept key away; removing a missing key succeeds.
        block_on(AsyncSessionCache::remove(&cache, b"id-1")).unwrap();
        block_on(AsyncSessionCache::remove(&cache, b"none")).unwrap();
        let gone = block_on(cache.fetch(&keys));
        assert!(gone[0].as_ref().unwrap().is_none());
    }
}
