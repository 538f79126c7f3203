//! This crate's session caches and rotating ticket keys inside a rustls server
//! (feature `rustls`).
//!
//! rustls already does the handshakes; what it leaves to the application is where resumable
//! state lives. Two adapters plug this crate's state layer into rustls's server traits:
//!
//! - [`CacheAdapter`] implements [`StoresServerSessions`] over any [`SessionCache`] — the
//!   built-in [`MemoryCache`](crate::store::MemoryCache) or a shared one. rustls uses it for
//!   TLS 1.2 session IDs and, when tickets are off, for TLS 1.3 stateful tickets, whose
//!   single use (and with it 0-RTT anti-replay) rests on the cache's atomic `take`.
//! - [`TicketAdapter`] implements [`ProducesTickets`] over any [`TicketSealer`] — typically a
//!   [`RotatingSealer`], whose key ring rotates on its own clock and whose
//!   [`exposure`](RotatingSealer::exposure) report stays reachable through
//!   [`TicketAdapter::sealer`].
//!
//! [`Resumption`] builds both and installs them into a `ServerConfig` in one call.
//!
//! With the `tokio` feature, [`AsyncAcceptor`] serves rustls on tokio with the session cache
//! behind an [`AsyncSessionCache`](crate::store::AsyncSessionCache) (Redis, a remote service):
//! lookups are fetched before rustls asks for them, within a deadline, and stores leave through
//! a bounded background queue, so no handshake waits on the network beyond one bounded lookup.
//!
//! rustls hands the adapters its own opaque encoding of the session; they store and seal those
//! bytes as they are. rustls never sees a ticket key: it gets sealed tickets and opened
//! plaintexts only.
//!
//! ```
//! use std::sync::Arc;
//! use rustls::pki_types::pem::PemObject;
//! use rustls::pki_types::{CertificateDer, PrivateKeyDer};
//! use tls_resumption::rustls_adapter::Resumption;
//! use tls_resumption::store::MemoryCache;
//! use tls_resumption::ticket::{RotatingSealer, Schedule};
//! use tls_resumption::time::SystemClock;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let clock = Arc::new(SystemClock);
//! let sealer = Arc::new(RotatingSealer::new(clock.clone(), Schedule::default())?);
//! let resumption = Resumption::new(Arc::new(MemoryCache::new(100_000)), sealer, clock);
//!
//! let provider = Arc::new(rustls::crypto::ring::default_provider());
//! let mut server_config = rustls::ServerConfig::builder_with_provider(provider)
//!     .with_safe_default_protocol_versions()?
//!     .with_no_client_auth()
//!     .with_single_cert(
//!         vec![CertificateDer::from_pem_file("tests/data/pki/server.pem")?],
//!         PrivateKeyDer::from_pem_file("tests/data/pki/server.key")?,
//!     )?;
//! resumption.install(&mut server_config);
//!
//! // For the operator: which ticket keys exist, and how long a recorded connection stays
//! // decryptable with them.
//! let exposure = resumption.tickets().sealer().exposure();
//! assert_eq!(exposure.keys.len(), 2); // the active key and the next one, staged
//! # Ok(()) }
//! ```

#[cfg(feature = "tokio")]
mod acceptor;
#[cfg(feature = "tokio")]
mod counters;
#[cfg(feature = "tokio")]
mod first_flight;
#[cfg(feature = "tokio")]
mod queue;
#[cfg(feature = "tokio")]
mod replay;
#[cfg(feature = "tokio")]
mod sessions;

#[cfg(feature = "tokio")]
pub use acceptor::{
    AsyncAcceptor, AsyncAcceptorBuilder, DEFAULT_FIRST_FLIGHT_TIMEOUT, DEFAULT_LOOKUP_TIMEOUT,
    DEFAULT_QUEUE_CAPACITY, DEFAULT_STORES_IN_FLIGHT,
};
#[cfg(feature = "tokio")]
pub use counters::AsyncStats;
#[cfg(feature = "tokio")]
pub use replay::Replayed;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rustls::server::{ProducesTickets, StoresServerSessions};
use zeroize::Zeroize;

use crate::session::MAX_TLS13_LIFETIME_SECS;
use crate::store::SessionCache;
use crate::ticket::{RotatingSealer, TicketSealer};
use crate::time::Clock;

/// How long rustls's sessions stay in the cache unless told otherwise: rustls's own default
/// TLS 1.3 ticket lifetime is a day; TLS 1.2 sessions are kept as long.
pub const DEFAULT_CACHE_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// Counts of what the cache adapter saw, for monitoring.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CacheStats {
    /// Values stored.
    pub puts: u64,
    /// Lookups (`get` and `take`) that found a value.
    pub hits: u64,
    /// Lookups that found nothing.
    pub misses: u64,
    /// Cache failures, each answered to rustls as a miss or an unstored value.
    pub errors: u64,
}

#[derive(Debug, Default)]
struct Counters {
    puts: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
    errors: AtomicU64,
}

/// A [`SessionCache`] as rustls's [`StoresServerSessions`].
pub struct CacheAdapter {
    cache: Arc<dyn SessionCache>,
    clock: Arc<dyn Clock>,
    lifetime: Duration,
    counters: Counters,
}

impl CacheAdapter {
    /// Wraps `cache`; each value expires [`DEFAULT_CACHE_LIFETIME`] after it is stored, by
    /// `clock` — which must be the clock the cache itself checks expiry against.
    pub fn new(cache: Arc<dyn SessionCache>, clock: Arc<dyn Clock>) -> Self {
        Self {
            cache,
            clock,
            lifetime: DEFAULT_CACHE_LIFETIME,
            counters: Counters::default(),
        }
    }

    /// Sets how long stored values live.
    pub fn with_lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// The cache underneath.
    pub fn cache(&self) -> &Arc<dyn SessionCache> {
        &self.cache
    }

    /// What the adapter has seen so far.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            puts: self.counters.puts.load(Ordering::Relaxed),
            hits: self.counters.hits.load(Ordering::Relaxed),
            misses: self.counters.misses.load(Ordering::Relaxed),
            errors: self.counters.errors.load(Ordering::Relaxed),
        }
    }

    fn found(
        &self,
        value: Result<Option<crate::crypto::secret::SecretVec>, crate::store::StoreError>,
    ) -> Option<Vec<u8>> {
        match value {
            Ok(Some(v)) => {
                self.counters.hits.fetch_add(1, Ordering::Relaxed);
                // rustls takes ownership of a plain Vec; from here it is rustls's to guard.
                Some(v.expose_secret().to_vec())
            }
            Ok(None) => {
                self.counters.misses.fetch_add(1, Ordering::Relaxed);
                None
            }
            Err(_) => {
                self.counters.errors.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }
}

impl StoresServerSessions for CacheAdapter {
    fn put(&self, key: Vec<u8>, mut value: Vec<u8>) -> bool {
        let expires_at = self.clock.now().saturating_add(self.lifetime);
        let stored = self.cache.put_encoded(&key, &value, expires_at);
        // rustls's encoding holds the master secret or PSK: wipe our copy of it.
        value.zeroize();
        match stored {
            Ok(()) => {
                self.counters.puts.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(_) => {
                self.counters.errors.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.found(self.cache.get_encoded(key))
    }

    fn take(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.found(self.cache.take_encoded(key))
    }

    fn can_cache(&self) -> bool {
        true
    }
}

impl fmt::Debug for CacheAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CacheAdapter")
            .field("lifetime", &self.lifetime)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// A [`TicketSealer`] as rustls's [`ProducesTickets`].
pub struct TicketAdapter<S: TicketSealer = RotatingSealer> {
    sealer: Arc<S>,
}

impl<S: TicketSealer> TicketAdapter<S> {
    /// Wraps `sealer`.
    pub fn new(sealer: Arc<S>) -> Self {
        Self { sealer }
    }

    /// The sealer underneath — for a [`RotatingSealer`], the way to its
    /// [`exposure`](RotatingSealer::exposure) report and key files.
    pub fn sealer(&self) -> &Arc<S> {
        &self.sealer
    }
}

impl<S: TicketSealer> ProducesTickets for TicketAdapter<S> {
    fn enabled(&self) -> bool {
        true
    }

    /// The sealer's own lifetime: the time a ticket sealed now stays openable under the key
    /// schedule, so the hint rustls sends is what rotation will actually honour — capped at
    /// [`MAX_TLS13_LIFETIME_SECS`], since RFC 8446 §4.6.1 forbids advertising more (rustls
    /// sends the same value as the TLS 1.2 hint, where a shorter one is harmless).
    fn lifetime(&self) -> u32 {
        let secs = self.sealer.lifetime().as_secs();
        u32::try_from(secs.min(u64::from(MAX_TLS13_LIFETIME_SECS)))
            .unwrap_or(MAX_TLS13_LIFETIME_SECS)
    }

    fn encrypt(&self, plain: &[u8]) -> Option<Vec<u8>> {
        self.sealer.seal(plain).ok()
    }

    fn decrypt(&self, cipher: &[u8]) -> Option<Vec<u8>> {
        // A ticket from a decrypt-only key still opens; rustls issues fresh tickets on every
        // resumption anyway, so the client moves to the active key without being told.
        let opened = self.sealer.open(cipher).ok()?;
        Some(opened.plaintext.expose_secret().to_vec())
    }
}

impl<S: TicketSealer> fmt::Debug for TicketAdapter<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TicketAdapter")
            .field("lifetime", &self.sealer.lifetime())
            .finish_non_exhaustive()
    }
}

/// How a rustls server resumes TLS 1.3 connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tls13Tickets {
    /// Tickets carry the sealed state; nothing is stored on the server (the default). rustls
    /// offers no 0-RTT with these.
    Stateless,
    /// Tickets are cache keys; each is taken from the cache on use, so it resumes once and
    /// can carry 0-RTT data that cannot be replayed against this cache.
    Stateful,
}

/// Both adapters, ready to install into a rustls `ServerConfig`.
#[derive(Debug)]
pub struct Resumption<S: TicketSealer = RotatingSealer> {
    cache: Arc<CacheAdapter>,
    tickets: Arc<TicketAdapter<S>>,
    tls13: Tls13Tickets,
}

impl<S: TicketSealer + 'static> Resumption<S> {
    /// Session IDs (and stateful TLS 1.3 tickets) in `cache`, tickets sealed by `sealer`,
    /// expiry by `clock`. TLS 1.3 tickets are stateless unless [`stateful`](Self::stateful).
    pub fn new(cache: Arc<dyn SessionCache>, sealer: Arc<S>, clock: Arc<dyn Clock>) -> Self {
        Self {
            cache: Arc::new(CacheAdapter::new(cache, clock)),
            tickets: Arc::new(TicketAdapter::new(sealer)),
            tls13: Tls13Tickets::Stateless,
        }
    }

    /// Chooses how TLS 1.3 tickets work.
    pub fn tls13_tickets(mut self, mode: Tls13Tickets) -> Self {
        self.tls13 = mode;
        self
    }

    /// Shorthand for [`Tls13Tickets::Stateful`]: single-use TLS 1.3 tickets from the cache,
    /// which is what rustls requires for 0-RTT.
    pub fn stateful(self) -> Self {
        self.tls13_tickets(Tls13Tickets::Stateful)
    }

    /// Installs the adapters: `session_storage` always; `ticketer` only for stateless tickets,
    /// because rustls issues stateful TLS 1.3 tickets exactly when its ticketer is disabled.
    /// (TLS 1.2 then resumes by session ID only.)
    pub fn install(&self, config: &mut rustls::ServerConfig) {
        config.session_storage = self.cache.clone();
        if self.tls13 == Tls13Tickets::Stateless {
            config.ticketer = self.tickets.clone();
        } else {
            config.ticketer = Arc::new(NoTickets);
        }
    }

    /// The cache adapter (with its [`stats`](CacheAdapter::stats)).
    pub fn cache(&self) -> &Arc<CacheAdapter> {
        &self.cache
    }

    /// The ticket adapter (with its [`sealer`](TicketAdapter::sealer)).
    pub fn tickets(&self) -> &Arc<TicketAdapter<S>> {
        &self.tickets
    }
}

/// A ticketer that issues nothing, which tells rustls to use stateful TLS 1.3 tickets.
#[derive(Debug)]
struct NoTickets;

impl ProducesTickets for NoTickets {
    fn enabled(&self) -> bool {
        false
    }

    fn lifetime(&self) -> u32 {
        0
    }

    fn encrypt(&self, _: &[u8]) -> Option<Vec<u8>> {
        None
    }

    fn decrypt(&self, _: &[u8]) -> Option<Vec<u8>> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryCache;
    use crate::ticket::Schedule;
    use crate::time::{ManualClock, Timestamp};

    fn clock() -> Arc<ManualClock> {
        Arc::new(ManualClock::new(Timestamp::from_secs(1_700_000_000)))
    }

    /// The cache and the adapter must read the same clock: the adapter sets expiry times, the
    /// cache enforces them.
    fn cache(clock: &Arc<ManualClock>) -> Arc<MemoryCache> {
        Arc::new(
            MemoryCache::builder()
                .capacity(16)
                .clock(clock.clone())
                .build(),
        )
    }

    #[test]
    fn cache_adapter_stores_takes_once_and_counts() {
        let clock = clock();
        let adapter = CacheAdapter::new(cache(&clock), clock.clone());
        assert!(adapter.put(vec![1; 32], b"rustls-state".to_vec()));
        assert_eq!(adapter.get(&[1; 32]).as_deref(), Some(&b"rustls-state"[..]));
        assert_eq!(
            adapter.take(&[1; 32]).as_deref(),
            Some(&b"rustls-state"[..])
        );
        assert_eq!(adapter.take(&[1; 32]), None);
        // A key the cache refuses is a failed put, not a panic.
        assert!(!adapter.put(vec![2; 200], b"x".to_vec()));
        assert_eq!(
            adapter.stats(),
            CacheStats {
                puts: 1,
                hits: 2,
                misses: 1,
                errors: 1
            }
        );
    }

    #[test]
    fn cached_values_expire_by_the_injected_clock() {
        let clock = clock();
        let adapter =
            CacheAdapter::new(cache(&clock), clock.clone()).with_lifetime(Duration::from_secs(60));
        assert!(adapter.put(vec![3; 32], b"v".to_vec()));
        clock.advance(Duration::from_secs(61));
        assert_eq!(adapter.get(&[3; 32]), None);
    }

    #[test]
    fn ticket_adapter_round_trips_and_rejects_forgeries() {
        let sealer = Arc::new(RotatingSealer::new(clock(), Schedule::default()).unwrap());
        let adapter = TicketAdapter::new(sealer);
        assert!(adapter.enabled());
        assert_eq!(adapter.lifetime(), 11 * 3600);
        let ticket = adapter.encrypt(b"rustls-state").unwrap();
        assert_eq!(
            adapter.decrypt(&ticket).as_deref(),
            Some(&b"rustls-state"[..])
        );
        let mut forged = ticket.clone();
        *forged.last_mut().unwrap() ^= 1;
        assert_eq!(adapter.decrypt(&forged), None);
        assert_eq!(adapter.decrypt(&[]), None);
    }
}
