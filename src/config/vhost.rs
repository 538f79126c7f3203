//! Virtual hosts: what a server presents and keys under one server name (RFC 6066 §3).
//!
//! A [`VirtualHost`] holds the pieces that belong to a name: its certificate chain and key,
//! its ticket sealer (or stateful ticket cache) and its TLS 1.2 session cache. A
//! [`ServerConfig`](super::ServerConfig) keeps an exact-name map of them beside a default
//! host (the configuration's own certificate, tickets and cache); the server resolves the
//! client's name once, when it reads the ClientHello, and the handshake works with that
//! host's pieces only.
//!
//! Each name keys its sessions apart: a fresh [`VirtualHost`] has its own random ticket key
//! and its own in-memory cache, and a cache added under a name is namespaced
//! ([`NamespacedCache`]), as are the default host's (under a fixed label no name can take),
//! so even a cache shared between names and the default host (a fleet's Redis cache) never
//! finds one name's session under another's session ID or ticket.

use std::sync::Arc;
use std::time::Duration;

use ring::digest;
use ring::rand::SystemRandom;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::{ConfigError, ServerConfig, TicketMode};
use crate::crypto::secret::SecretVec;
use crate::crypto::sign::SigningKey;
use crate::store::{MemoryCache, SessionCache, StoreError};
use crate::ticket::{AeadSealer, Exposure, TicketKeyMaterial};
use crate::time::Timestamp;

/// What a server presents and keys under one server name: certificate chain and key, how
/// tickets are issued, and where TLS 1.2 sessions are kept.
///
/// Added to a server with [`ServerConfig::with_virtual_host`](super::ServerConfig::with_virtual_host).
#[derive(Clone)]
pub struct VirtualHost {
    pub(crate) cert_chain: Vec<CertificateDer<'static>>,
    pub(crate) key: Arc<SigningKey>,
    pub(crate) tickets: TicketMode,
    pub(crate) session_cache: Option<Arc<dyn SessionCache>>,
    /// SHA-256 of the name this host's cache keys are namespaced under; the keys a server
    /// with pending lookups hands out are the ones its caches would use.
    namespace: [u8; 32],
}

impl core::fmt::Debug for VirtualHost {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("VirtualHost")
            .field("certificates", &self.cert_chain.len())
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl VirtualHost {
    /// A host with this certificate chain (end-entity first) and private key (the forms
    /// [`ServerConfig::new`](super::ServerConfig::new) takes), issuing stateless tickets under
    /// a fresh random key of its own (lifetime 2 hours) and keeping TLS 1.2 sessions in an
    /// in-memory cache of its own (1024 sessions).
    ///
    /// # Errors
    /// [`ConfigError`] for a key that cannot be loaded or an empty chain.
    pub fn new(
        cert_chain: Vec<CertificateDer<'static>>,
        key: &PrivateKeyDer<'_>,
    ) -> Result<Self, ConfigError> {
        if cert_chain.is_empty() {
            return Err(ConfigError::NoCertificate);
        }
        let rng = SystemRandom::new();
        let key = SigningKey::from_der(key, &rng)?;
        let sealer = AeadSealer::new(
            TicketKeyMaterial::generate(&rng)?,
            Duration::from_secs(2 * 3600),
        )?;
        Ok(Self {
            cert_chain,
            key: Arc::new(key),
            tickets: TicketMode::Stateless(Arc::new(sealer)),
            session_cache: Some(Arc::new(MemoryCache::new(1024))),
            namespace: namespace_of(DEFAULT_HOST_NAMESPACE),
        })
    }

    /// How this host issues tickets. Give each host a sealer of its own: whoever holds a
    /// ticket key opens every ticket sealed under it.
    pub fn with_tickets(mut self, mode: TicketMode) -> Self {
        self.tickets = mode;
        self
    }

    /// Where this host keeps TLS 1.2 sessions by session ID; `None` resumes by ticket only.
    pub fn with_session_cache(mut self, cache: Option<Arc<dyn SessionCache>>) -> Self {
        self.session_cache = cache;
        self
    }

    /// The exposure report of this host's ticket keys, when its sealer can give one (a
    /// [`RotatingSealer`](crate::ticket::RotatingSealer) can); `None` for other sealers and
    /// for stateful or disabled tickets.
    pub fn exposure(&self) -> Option<Exposure> {
        match &self.tickets {
            TicketMode::Stateless(sealer) => sealer.exposure_report(),
            TicketMode::Stateful { .. } | TicketMode::Disabled => None,
        }
    }

    /// This host with its caches (session cache and stateful ticket cache) namespaced
    /// under `name`.
    pub(super) fn namespaced(mut self, name: &str) -> Self {
        self.session_cache = self
            .session_cache
            .map(|cache| namespaced_cache(name, KeyDomain::SessionId, cache));
        self.tickets = namespaced_tickets(name, self.tickets);
        self.namespace = namespace_of(name);
        self
    }

    /// The key `key` (a session ID or stateful ticket, as `domain` says) is kept under in a
    /// store shared with other hosts: what [`NamespacedCache`] passes to the cache it wraps.
    pub(crate) fn storage_key(&self, domain: KeyDomain, key: &[u8]) -> Vec<u8> {
        namespaced_key(&self.namespace, domain, key)
            .as_ref()
            .to_vec()
    }
}

impl ServerConfig {
    /// Serves `name` as its own host: a client asking for it (server_name, RFC 6066 §3) gets
    /// `host`'s certificate, and its tickets and sessions are sealed and kept by `host`
    /// alone. Names match exactly, without regard to ASCII case; any other name, and a client
    /// sending none, gets the default host (the certificate given to
    /// [`ServerConfig::new`] with its tickets and cache). Adding a name again replaces it.
    ///
    /// A session never resumes under another name than its own, even where two names share
    /// a certificate: each host has its own ticket key (give each its own sealer), and its
    /// caches are namespaced by name (the default host's under a fixed label), so a cache
    /// shared between hosts, the default one included, still keeps them apart.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use rustls_pki_types::pem::PemObject;
    /// use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    /// use tls_resumption::ticket::{RotatingSealer, Schedule};
    /// use tls_resumption::time::SystemClock;
    /// use tls_resumption::{ServerConfig, TicketMode, VirtualHost};
    ///
    /// let cert = CertificateDer::from_pem_slice(include_bytes!("../../tests/data/pki/server.pem")).unwrap();
    /// let key = PrivateKeyDer::from_pem_slice(include_bytes!("../../tests/data/pki/server.key")).unwrap();
    /// // Each name rotates its own ticket keys.
    /// let sealer = Arc::new(RotatingSealer::new(Arc::new(SystemClock), Schedule::default()).unwrap());
    /// let shop = VirtualHost::new(vec![cert.clone()], &key)
    ///     .unwrap()
    ///     .with_tickets(TicketMode::Stateless(sealer));
    /// let config = ServerConfig::new(vec![cert], &key)
    ///     .unwrap()
    ///     .with_virtual_host("shop.example", shop);
    /// // The operator reads each name's ticket-key exposure.
    /// let exposure = config.exposure(Some("shop.example")).unwrap();
    /// assert!(exposure.longest_exposure > Duration::ZERO);
    /// // A plain AeadSealer (the default host's) gives no report.
    /// assert!(config.exposure(None).is_none());
    /// ```
    pub fn with_virtual_host(mut self, name: &str, host: VirtualHost) -> Self {
        let name = name_key(name);
        let host = host.namespaced(&name);
        self.virtual_hosts.insert(name, Arc::new(host));
        self
    }

    /// The names with a virtual host of their own (lower case), in no particular order.
    pub fn virtual_host_names(&self) -> impl Iterator<Item = &str> {
        self.virtual_hosts.keys().map(String::as_str)
    }

    /// The exposure report of the ticket keys serving `server_name`, resolved as a
    /// handshake resolves it (an unknown name or `None` is the default host); see
    /// [`VirtualHost::exposure`].
    pub fn exposure(&self, server_name: Option<&str>) -> Option<Exposure> {
        self.resolve_host(server_name).exposure()
    }

    /// The host serving `server_name`: its own virtual host, else the default.
    pub(crate) fn resolve_host(&self, server_name: Option<&str>) -> &Arc<VirtualHost> {
        if self.virtual_hosts.is_empty() {
            return &self.host;
        }
        // Host names are matched case-insensitively (RFC 6066 §3); a name already in lower
        // case, as clients send them, is looked up without a copy.
        server_name
            .and_then(|name| {
                if name.bytes().any(|b| b.is_ascii_uppercase()) {
                    self.virtual_hosts.get(&name_key(name))
                } else {
                    self.virtual_hosts.get(name)
                }
            })
            .unwrap_or(&self.host)
    }
}

/// The namespace of the default host's caches: a NUL byte is in no host name (RFC 6066 §3
/// names are DNS host names), so no named host shares it.
pub(super) const DEFAULT_HOST_NAMESPACE: &str = "\0default host";

/// What kind of identity a cache keeps. TLS 1.2 session IDs (public in the ServerHello) and
/// TLS 1.3 stateful ticket identities have the same length; kept under keys of their own
/// kind, one can never name the other (a TLS 1.3 hello offering a session ID as its PSK
/// identity would otherwise take that TLS 1.2 session from a store both share).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyDomain {
    /// TLS 1.2 session IDs (the session cache).
    SessionId,
    /// TLS 1.3 stateful tickets (the stateful ticket cache).
    Ticket,
}

impl KeyDomain {
    /// The label hashed between the namespace and the key; neither is a prefix of the other.
    fn label(self) -> &'static [u8] {
        match self {
            Self::SessionId => b"tls12 session id\0",
            Self::Ticket => b"tls13 ticket\0",
        }
    }
}

/// `cache` seen through the namespace `name`, for identities of `domain`.
pub(super) fn namespaced_cache(
    name: &str,
    domain: KeyDomain,
    cache: Arc<dyn SessionCache>,
) -> Arc<dyn SessionCache> {
    Arc::new(NamespacedCache::new(name, domain, cache))
}

/// `mode` with its stateful ticket cache, if any, seen through the namespace `name`.
pub(super) fn namespaced_tickets(name: &str, mode: TicketMode) -> TicketMode {
    match mode {
        TicketMode::Stateful { cache, lifetime } => TicketMode::Stateful {
            cache: namespaced_cache(name, KeyDomain::Ticket, cache),
            lifetime,
        },
        other => other,
    }
}

/// The key a server name is looked up under: DNS names compare without regard to ASCII case
/// (RFC 4343), and RFC 6066 §3 sends them without a trailing dot, so nothing else is changed.
pub(super) fn name_key(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// A session cache seen through one server name and one [`KeyDomain`]: every key is replaced
/// by SHA-256(SHA-256(name) ‖ label ‖ key), so names sharing one cache never see each other's
/// entries, session IDs and tickets never meet, and the keys keep the 32-byte length every
/// backend takes.
pub(crate) struct NamespacedCache {
    namespace: [u8; 32],
    domain: KeyDomain,
    inner: Arc<dyn SessionCache>,
}

/// SHA-256(name): the namespace of one host's keys.
fn namespace_of(name: &str) -> [u8; 32] {
    let mut namespace = [0u8; 32];
    namespace.copy_from_slice(digest::digest(&digest::SHA256, name.as_bytes()).as_ref());
    namespace
}

/// SHA-256(namespace ‖ label ‖ key): where `key` (of `domain`) is kept for the host of
/// `namespace`.
fn namespaced_key(namespace: &[u8; 32], domain: KeyDomain, key: &[u8]) -> digest::Digest {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(namespace);
    ctx.update(domain.label());
    ctx.update(key);
    ctx.finish()
}

impl NamespacedCache {
    pub(crate) fn new(name: &str, domain: KeyDomain, inner: Arc<dyn SessionCache>) -> Self {
        Self {
            namespace: namespace_of(name),
            domain,
            inner,
        }
    }

    fn key(&self, key: &[u8]) -> digest::Digest {
        namespaced_key(&self.namespace, self.domain, key)
    }
}

impl SessionCache for NamespacedCache {
    fn put_encoded(
        &self,
        key: &[u8],
        value: &[u8],
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        self.inner
            .put_encoded(self.key(key).as_ref(), value, expires_at)
    }

    fn get_encoded(&self, key: &[u8]) -> Result<Option<SecretVec>, StoreError> {
        self.inner.get_encoded(self.key(key).as_ref())
    }

    fn take_encoded(&self, key: &[u8]) -> Result<Option<SecretVec>, StoreError> {
        self.inner.take_encoded(self.key(key).as_ref())
    }

    fn remove(&self, key: &[u8]) -> Result<(), StoreError> {
        self.inner.remove(self.key(key).as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{SessionState, Tls12Session};

    fn state() -> SessionState {
        SessionState::Tls12(Tls12Session {
            protocol_version: 0x0303,
            cipher_suite: 0xc02b,
            master_secret: crate::crypto::secret::SecretArray::new([7; 48]),
            extended_master_secret: true,
            server_name: Some("a.example".into()),
            alpn: None,
            issued_at: Timestamp::from_secs(1),
            lifetime_secs: 60,
        })
    }

    /// One cache shared by two names: an entry put under one name is found under it and
    /// under no other, whatever the session ID.
    #[test]
    fn names_sharing_one_cache_do_not_see_each_others_sessions() {
        let shared: Arc<dyn SessionCache> = Arc::new(MemoryCache::new(8));
        let a = NamespacedCache::new("a.example", KeyDomain::SessionId, shared.clone());
        let b = NamespacedCache::new("b.example", KeyDomain::SessionId, shared.clone());
        let id = [1u8; 32];
        a.put(&id, &state(), Timestamp::from_secs(u64::MAX / 2))
            .unwrap();
        assert!(a.get(&id).unwrap().is_some());
        assert!(b.get(&id).unwrap().is_none());
        assert!(shared.get(&id).unwrap().is_none());
        assert!(b.take(&id).unwrap().is_none());
        assert!(a.take(&id).unwrap().is_some());
    }

    /// The default host's caches are namespaced too: a session a named host keeps in a
    /// cache it shares with the default host (TLS 1.2 sessions or stateful tickets) is not
    /// found by the default host under the key it is stored at, which a client could offer
    /// as its session ID or ticket.
    #[test]
    fn the_default_host_does_not_find_a_named_hosts_session_in_a_shared_cache() {
        use rustls_pki_types::pem::PemObject;
        let cert =
            CertificateDer::from_pem_slice(include_bytes!("../../tests/data/pki/server.pem"))
                .unwrap();
        let key = PrivateKeyDer::from_pem_slice(include_bytes!("../../tests/data/pki/server.key"))
            .unwrap();
        let shared: Arc<dyn SessionCache> = Arc::new(MemoryCache::new(8));
        let stateful = TicketMode::Stateful {
            cache: shared.clone(),
            lifetime: Duration::from_secs(60),
        };
        let host = VirtualHost::new(vec![cert.clone()], &key)
            .unwrap()
            .with_session_cache(Some(shared.clone()))
            .with_tickets(stateful.clone());
        let config = ServerConfig::new(vec![cert], &key)
            .unwrap()
            .with_session_cache(Some(shared.clone()))
            .with_tickets(stateful)
            .with_virtual_host("a.example", host);
        let caches = |name: Option<&str>| {
            let host = config.resolve_host(name);
            let TicketMode::Stateful { cache, .. } = &host.tickets else {
                panic!("stateful tickets");
            };
            [host.session_cache.clone().unwrap(), cache.clone()]
        };
        let id = [1u8; 32];
        let domains = [KeyDomain::SessionId, KeyDomain::Ticket];
        let named_caches = caches(Some("a.example"));
        for ((named, default), domain) in named_caches.iter().zip(caches(None)).zip(domains) {
            let stored_at = NamespacedCache::new("a.example", domain, shared.clone()).key(&id);
            named
                .put(&id, &state(), Timestamp::from_secs(u64::MAX / 2))
                .unwrap();
            assert!(shared.get(stored_at.as_ref()).unwrap().is_some());
            assert!(named.get(&id).unwrap().is_some());
            assert!(default.get(stored_at.as_ref()).unwrap().is_none());
            assert!(default.get(&id).unwrap().is_none());
            named.remove(&id).unwrap();
        }
    }
}
