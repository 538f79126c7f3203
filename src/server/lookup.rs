//! Pending lookups: the session cache reached by the caller instead of the handshake.
//!
//! With [`ServerConfig::with_pending_lookups`], a ClientHello step that would read a cache
//! first asks ([`Lookup::ask`]): the keys it needs go out through
//! `ServerConnection::pending_lookup`, the half parks in its `ExpectLookup` state, and the
//! front handles no record until the caller answers. The front then runs the same step again
//! on the same hello; this time [`read`] gives the answers where the inline path calls the
//! cache, so every check after it is the inline path's own. Sessions and tickets to keep go
//! out as [`PendingStore`]s ([`keep`]) instead of into the cache.

use crate::config::{KeyDomain, ServerConfig, VirtualHost};
use crate::crypto::secret::SecretVec;
use crate::session::SessionState;
use crate::store::{Fetch, LookupKey, LookupResult, SessionCache, StoreError};
use crate::time::Timestamp;

/// Why [`complete_lookup`](crate::ServerConnection::complete_lookup) or
/// [`abandon_lookup`](crate::ServerConnection::abandon_lookup) refused its call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LookupError {
    /// No lookup is pending: none was asked, or it was answered already.
    #[error("no session lookup is pending")]
    NotPending,
    /// The results do not match the keys one for one.
    #[error("{got} lookup results for {expected} keys")]
    WrongCount {
        /// How many keys the lookup named.
        expected: usize,
        /// How many results were given.
        got: usize,
    },
}

/// A session or stateful ticket the server made, for the caller to store (for instance with
/// [`AsyncSessionCache::store`](crate::store::AsyncSessionCache::store)); until then it
/// cannot be resumed.
pub struct PendingStore {
    key: Vec<u8>,
    value: SecretVec,
    expires_at: Timestamp,
}

impl PendingStore {
    /// The key to store under (namespaced for its host, as its cache would key it).
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    /// The encoded session state: secret, kept confidential by the store.
    pub fn value(&self) -> &SecretVec {
        &self.value
    }

    /// When the value stops being usable: the store may drop it then.
    pub fn expires_at(&self) -> Timestamp {
        self.expires_at
    }

    /// The key, the value and the expiry, taken apart.
    pub fn into_parts(self) -> (Vec<u8>, SecretVec, Timestamp) {
        (self.key, self.value, self.expires_at)
    }
}

impl core::fmt::Debug for PendingStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PendingStore")
            .field("key_len", &self.key.len())
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Where the lookup of the ClientHello being answered stands.
#[derive(Default)]
pub(crate) enum Lookup {
    /// Nothing asked.
    #[default]
    Idle,
    /// Keys handed to the caller (store keys), with the keys the client sent, one for one.
    Asked {
        keys: Vec<LookupKey>,
        client_keys: Vec<Vec<u8>>,
    },
    /// The caller's answers, by the client's key: the value found, or `None` for a miss.
    Answered(Vec<(Vec<u8>, Option<SecretVec>)>),
}

impl core::fmt::Debug for Lookup {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Idle => f.write_str("Idle"),
            Self::Asked { keys, .. } => f.debug_tuple("Asked").field(keys).finish(),
            Self::Answered(a) => f.debug_tuple("Answered").field(&a.len()).finish(),
        }
    }
}

impl Lookup {
    /// With pending lookups on: asks for `wanted` (fetch and the key as the client sent it,
    /// all of `domain`, at most the configured number of keys) unless this hello's answers
    /// are in already.
    /// True when the step must wait for them. Without them (the inline path) or with nothing
    /// wanted, never waits.
    pub(super) fn ask(
        &mut self,
        config: &ServerConfig,
        host: &VirtualHost,
        domain: KeyDomain,
        mut wanted: Vec<(Fetch, Vec<u8>)>,
    ) -> bool {
        wanted.truncate(config.max_lookup_keys);
        if !config.pending_lookups || wanted.is_empty() || matches!(self, Self::Answered(_)) {
            return false;
        }
        let keys = wanted
            .iter()
            .map(|(fetch, key)| LookupKey {
                fetch: *fetch,
                key: host.storage_key(domain, key),
            })
            .collect();
        let client_keys = wanted.into_iter().map(|(_, key)| key).collect();
        *self = Self::Asked { keys, client_keys };
        true
    }

    /// The keys asked, while no answer is in.
    pub(super) fn asked(&self) -> Option<&[LookupKey]> {
        match self {
            Self::Asked { keys, .. } => Some(keys),
            _ => None,
        }
    }

    /// Whether the caller answered.
    pub(super) fn is_answered(&self) -> bool {
        matches!(self, Self::Answered(_))
    }

    /// Takes the caller's results, one per key asked, in order; a failed read is a miss.
    pub(super) fn complete(&mut self, results: Vec<LookupResult>) -> Result<(), LookupError> {
        let Self::Asked { keys, client_keys } = self else {
            return Err(LookupError::NotPending);
        };
        if results.len() != keys.len() {
            return Err(LookupError::WrongCount {
                expected: keys.len(),
                got: results.len(),
            });
        }
        let answers = core::mem::take(client_keys)
            .into_iter()
            .zip(results)
            .map(|(key, result)| (key, result.ok().flatten()))
            .collect();
        *self = Self::Answered(answers);
        Ok(())
    }

    /// Gives up on the lookup: every key a miss.
    pub(super) fn abandon(&mut self) -> Result<(), LookupError> {
        let count = self.asked().ok_or(LookupError::NotPending)?.len();
        self.complete((0..count).map(|_| Ok(None)).collect())
    }

    /// The answer for `key`; a key never asked is a miss.
    fn answer(&self, key: &[u8]) -> Option<&SecretVec> {
        let Self::Answered(answers) = self else {
            return None;
        };
        answers
            .iter()
            .find(|(k, _)| k.as_slice() == key)
            .and_then(|(_, v)| v.as_ref())
    }
}

/// The state kept under `key` (as the client sent it): from `cache` on the inline path, from
/// the caller's answers with pending lookups (never the cache). A value that does not decode
/// is [`StoreError::Corrupt`], as from the cache.
pub(super) fn read(
    config: &ServerConfig,
    lookup: &Lookup,
    cache: &dyn SessionCache,
    key: &[u8],
) -> Result<Option<SessionState>, StoreError> {
    if !config.pending_lookups {
        return cache.get(key);
    }
    match lookup.answer(key) {
        Some(value) => Ok(Some(SessionState::decode(value.expose_secret())?)),
        None => Ok(None),
    }
}

/// Keeps `state` under `key` (a session ID or a ticket, as its domain says) until
/// `expires_at`: in `cache` (the host's cache of that domain) on the inline path, handed out
/// in `pending` (under the host's store key) with pending lookups.
///
/// # Errors
/// The cache's [`StoreError`], or [`StoreError::Corrupt`] for a state that cannot be encoded.
pub(super) fn keep(
    config: &ServerConfig,
    host: &VirtualHost,
    cache: &dyn SessionCache,
    pending: &mut Vec<PendingStore>,
    (domain, key): (KeyDomain, &[u8]),
    state: &SessionState,
    expires_at: Timestamp,
) -> Result<(), StoreError> {
    if !config.pending_lookups {
        return cache.put(key, state, expires_at);
    }
    pending.push(PendingStore {
        key: host.storage_key(domain, key),
        value: state.encode()?,
        expires_at,
    });
    Ok(())
}
