//! Server session-ID caches and client session stores.
//!
//! - [`SessionCache`]: where a server keeps TLS 1.2 sessions by session ID (RFC 5246 §7.4.1.2)
//!   and TLS 1.3 state for stateful tickets (RFC 8446 §4.6.1). [`MemoryCache`] is the in-process
//!   implementation; its byte-level core ([`MemoryCache::put_bytes`] and friends) also serves
//!   callers that bring their own value encoding.
//! - [`ClientSessionStore`]: where a client keeps what it needs to resume, by server name.
//!   [`MemoryClientStore`] is the in-process implementation.
//! - [`AsyncSessionCache`]: a session cache that answers later (a network store on an async
//!   runtime), looked up without blocking the handshake; every [`SessionCache`] behind an
//!   `Arc` is one that answers at once.

mod client;
mod memory;
mod pending;

pub use client::{ClientSessionStore, ClientTls12Session, ClientTls13Ticket, MemoryClientStore};
pub use memory::{MemoryCache, MemoryCacheBuilder, MAX_KEY_LEN};
pub use pending::{AsyncSessionCache, Fetch, LookupKey, LookupResult, StoreFuture};

use crate::crypto::secret::SecretVec;
use crate::session::{SessionError, SessionState};
use crate::time::Timestamp;

/// A session cache or store failed. A server treats every such failure as a cache miss.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store is unavailable (a backend down, a lock poisoned by a panic elsewhere).
    #[error("session store unavailable")]
    Unavailable,
    /// The key is longer than the store accepts.
    #[error("session key of {0} bytes is too long for this store")]
    KeyTooLong(usize),
    /// The key is empty.
    #[error("empty session key")]
    EmptyKey,
    /// The stored value could not be decoded as session state; it is not trusted.
    #[error("stored session state is corrupt: {0}")]
    Corrupt(#[from] SessionError),
    /// The value was not stored (too large to keep, or refused by the backend).
    #[error("session not stored: {0}")]
    Rejected(&'static str),
}

/// A server-side cache of resumable sessions, keyed by session ID (TLS 1.2) or ticket
/// identity (TLS 1.3 stateful tickets).
///
/// Implementations store opaque encoded bytes ([`put_encoded`](Self::put_encoded) and friends);
/// the typed methods [`put`](Self::put), [`get`](Self::get) and [`take`](Self::take) encode and
/// decode [`SessionState`] on top, so one cache serves both this crate's handshakes and
/// callers with their own encoding.
///
/// # Security contract
///
/// An implementation must:
/// - return only values stored under exactly that key, never a value for another key, and
///   never a value past the expiry it was stored with;
/// - make [`take_encoded`](Self::take_encoded) atomic: of any number of concurrent `take`s of
///   one key, at most one returns the value (single-use TLS 1.3 tickets and 0-RTT depend on
///   it, RFC 8446 §8.1);
/// - keep values confidential: they hold master secrets and PSKs. A store outside the process
///   must encrypt and authenticate them; an in-process store must zeroize them when evicted;
/// - report failures as a [`StoreError`], never panic; the server treats every error as a miss
///   and completes a full handshake.
///
/// Callers must not put attacker-chosen keys: session IDs and ticket identities are made by
/// the server from a CSPRNG.
pub trait SessionCache: Send + Sync {
    /// Stores `value` under `key` until `expires_at`, replacing any value already there.
    ///
    /// # Errors
    /// A [`StoreError`] when the value could not be stored; the session is then not resumable.
    fn put_encoded(
        &self,
        key: &[u8],
        value: &[u8],
        expires_at: Timestamp,
    ) -> Result<(), StoreError>;

    /// The value stored under `key`, if present and not expired.
    ///
    /// # Errors
    /// A [`StoreError`], which the caller treats as a miss.
    fn get_encoded(&self, key: &[u8]) -> Result<Option<SecretVec>, StoreError>;

    /// Removes and returns the value under `key` (atomic; see the security contract).
    ///
    /// # Errors
    /// A [`StoreError`], which the caller treats as a miss.
    fn take_encoded(&self, key: &[u8]) -> Result<Option<SecretVec>, StoreError>;

    /// Removes the value under `key`, if any.
    ///
    /// # Errors
    /// A [`StoreError`] when the backend could not be reached.
    fn remove(&self, key: &[u8]) -> Result<(), StoreError>;

    /// Stores `state` under `key` until `expires_at`.
    ///
    /// # Errors
    /// As [`put_encoded`](Self::put_encoded), and [`StoreError::Corrupt`] when the state cannot
    /// be encoded.
    fn put(
        &self,
        key: &[u8],
        state: &SessionState,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        let encoded = state.encode()?;
        self.put_encoded(key, encoded.expose_secret(), expires_at)
    }

    /// The state under `key`, if present, not expired and decodable.
    ///
    /// # Errors
    /// As [`get_encoded`](Self::get_encoded); [`StoreError::Corrupt`] for undecodable bytes.
    fn get(&self, key: &[u8]) -> Result<Option<SessionState>, StoreError> {
        match self.get_encoded(key)? {
            Some(v) => Ok(Some(SessionState::decode(v.expose_secret())?)),
            None => Ok(None),
        }
    }

    /// Removes and returns the state under `key` (single use).
    ///
    /// # Errors
    /// As [`take_encoded`](Self::take_encoded); [`StoreError::Corrupt`] for undecodable bytes.
    fn take(&self, key: &[u8]) -> Result<Option<SessionState>, StoreError> {
        match self.take_encoded(key)? {
            Some(v) => Ok(Some(SessionState::decode(v.expose_secret())?)),
            None => Ok(None),
        }
    }
}
