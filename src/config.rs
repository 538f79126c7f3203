//! Client and server configuration, with safe defaults.
//!
//! Defaults: TLS 1.3 and TLS 1.2 (ECDHE AEAD suites, extended master secret required); suites TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384,
//! TLS_CHACHA20_POLY1305_SHA256; groups X25519, secp256r1, secp384r1 (a client sends an
//! X25519 share first and answers a HelloRetryRequest for the others). A server issues two
//! stateless tickets after a full handshake and one after a resumption, accepts only
//! `psk_dhe_ke`, and refuses 0-RTT until both a size limit and a replay guard are configured.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use ring::rand::{SecureRandom, SystemRandom};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::antireplay::ReplayGuard;
use crate::crypto::kx::KxGroup;
use crate::crypto::secret::SecretArray;
use crate::crypto::CryptoError;
use crate::keylog::{KeyLog, NoKeyLog};
use crate::store::{ClientSessionStore, MemoryClientStore, SessionCache};
use crate::suites::{CipherSuite, Tls12CipherSuite};
use crate::ticket::{TicketError, TicketSealer};
use crate::time::{Clock, SystemClock};
use crate::verify::ServerCertVerifier;

mod vhost;

pub(crate) use vhost::KeyDomain;
pub use vhost::VirtualHost;

/// The suites in this crate's order of preference.
pub const DEFAULT_SUITES: [CipherSuite; 3] = [
    CipherSuite::Aes128GcmSha256,
    CipherSuite::Aes256GcmSha384,
    CipherSuite::ChaCha20Poly1305Sha256,
];

/// The shared source of randomness.
pub type Rng = Arc<dyn SecureRandom + Send + Sync>;

/// How a client connects.
#[derive(Clone)]
pub struct ClientConfig {
    pub(crate) suites: Vec<CipherSuite>,
    pub(crate) groups: Vec<KxGroup>,
    pub(crate) verifier: Arc<dyn ServerCertVerifier>,
    pub(crate) session_store: Option<Arc<dyn ClientSessionStore>>,
    pub(crate) psk_ke: bool,
    pub(crate) early_data: bool,
    pub(crate) rng: Rng,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) key_log: Arc<dyn KeyLog>,
    pub(crate) versions: Versions,
    pub(crate) tls12_suites: Vec<Tls12CipherSuite>,
    pub(crate) tls12_tickets: bool,
    pub(crate) require_ems: bool,
    pub(crate) alpn_protocols: Vec<Vec<u8>>,
    pub(crate) middlebox_compat: bool,
}

impl core::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("suites", &self.suites)
            .field("groups", &self.groups)
            .field("verifier", &self.verifier)
            .field("psk_ke", &self.psk_ke)
            .field("early_data", &self.early_data)
            .finish_non_exhaustive()
    }
}

impl ClientConfig {
    /// A client trusting what `verifier` accepts, resuming from an in-memory store of up to 32
    /// servers × 8 tickets, offering `psk_dhe_ke` only and no early data.
    pub fn new(verifier: Arc<dyn ServerCertVerifier>) -> Self {
        Self {
            suites: DEFAULT_SUITES.to_vec(),
            groups: KxGroup::ALL.to_vec(),
            verifier,
            session_store: Some(Arc::new(MemoryClientStore::new(32, 8))),
            psk_ke: false,
            early_data: false,
            rng: Arc::new(SystemRandom::new()),
            clock: Arc::new(SystemClock),
            key_log: Arc::new(NoKeyLog),
            versions: Versions::BOTH,
            tls12_suites: Tls12CipherSuite::ALL.to_vec(),
            tls12_tickets: true,
            require_ems: true,
            alpn_protocols: Vec::new(),
            middlebox_compat: true,
        }
    }

    /// The application protocols to offer (RFC 7301), most preferred first; empty (the
    /// default) offers none. Names that cannot be sent (empty, or over 255 bytes) are
    /// left out. 0-RTT data is sent only under the protocol of the ticket's connection
    /// (RFC 8446 §4.2.10): a ticket whose protocol is no longer listed is resumed without
    /// early data, and a server that accepts early data under another protocol is refused
    /// (`illegal_parameter`).
    pub fn with_alpn_protocols<P: AsRef<[u8]>>(mut self, protocols: &[P]) -> Self {
        self.alpn_protocols = alpn_list(protocols);
        self
    }

    /// The protocol versions to offer (default both; TLS 1.3 is preferred when the server
    /// has it).
    pub fn with_versions(mut self, versions: &[TlsVersion]) -> Self {
        self.versions = Versions::from_list(versions);
        self
    }

    /// The TLS 1.2 suites to offer, most preferred first.
    pub fn with_tls12_suites(mut self, suites: &[Tls12CipherSuite]) -> Self {
        self.tls12_suites = suites.to_vec();
        self
    }

    /// Offer and accept RFC 5077 session tickets in TLS 1.2 (default on); off resumes by
    /// session ID only.
    pub fn with_tls12_tickets(mut self, enabled: bool) -> Self {
        self.tls12_tickets = enabled;
        self
    }

    /// Refuse a TLS 1.2 server that does not negotiate the extended master secret
    /// (RFC 7627 §5.2); on by default. Off, such a handshake completes but is never resumed.
    pub fn with_require_extended_master_secret(mut self, require: bool) -> Self {
        self.require_ems = require;
        self
    }

    /// TLS 1.3 middlebox compatibility mode (RFC 8446 §D.4), on by default: a random 32-byte
    /// legacy_session_id and one dummy change_cipher_spec before the second flight. Off, the
    /// session ID is empty unless a TLS 1.2 session is offered (its ID, or a random one
    /// beside its ticket, RFC 5077 §3.4) and no change_cipher_spec is sent.
    pub fn with_middlebox_compat(mut self, enabled: bool) -> Self {
        self.middlebox_compat = enabled;
        self
    }

    /// The suites to offer, most preferred first.
    pub fn with_suites(mut self, suites: &[CipherSuite]) -> Self {
        self.suites = suites.to_vec();
        self
    }

    /// The groups to support, most preferred first; the first gets a key share in the first
    /// ClientHello.
    pub fn with_groups(mut self, groups: &[KxGroup]) -> Self {
        self.groups = groups.to_vec();
        self
    }

    /// Where tickets are kept; `None` disables resumption.
    pub fn with_session_store(mut self, store: Option<Arc<dyn ClientSessionStore>>) -> Self {
        self.session_store = store;
        self
    }

    /// Offer `psk_ke` instead of `psk_dhe_ke` (RFC 8446 §4.2.9): a resumption whose keys come
    /// from the PSK alone, **not forward secret**. A key share is still sent, for the full
    /// handshake a server that refuses `psk_ke` falls back to.
    pub fn with_psk_ke(mut self, psk_ke: bool) -> Self {
        self.psk_ke = psk_ke;
        self
    }

    /// Send 0-RTT data when a ticket allows it ([`crate::ClientConnection::send_early_data`]).
    pub fn with_early_data(mut self, enabled: bool) -> Self {
        self.early_data = enabled;
        self
    }

    /// The source of randomness.
    pub fn with_rng(mut self, rng: Rng) -> Self {
        self.rng = rng;
        self
    }

    /// The clock examples and convenience code read `now` from.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Where traffic secrets are logged (NSS key-log format).
    pub fn with_key_log(mut self, key_log: Arc<dyn KeyLog>) -> Self {
        self.key_log = key_log;
        self
    }

    /// The configured clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }
}

/// How a server issues session tickets.
#[derive(Clone)]
pub enum TicketMode {
    /// No tickets: every handshake is full.
    Disabled,
    /// Stateless tickets: the session state, sealed (RFC 8446 §4.6.1, "self-encrypted").
    Stateless(Arc<dyn TicketSealer>),
    /// Stateful tickets: a random ID naming state kept in a cache, taken on use so each
    /// ticket resumes at most once.
    Stateful {
        /// Where the state lives.
        cache: Arc<dyn SessionCache>,
        /// The ticket lifetime to announce and to keep the state for.
        lifetime: Duration,
    },
}

/// How a server answers.
#[derive(Clone)]
pub struct ServerConfig {
    /// The default host: the certificate, key, tickets and session cache for a name with no
    /// virtual host of its own (and for a client sending none).
    pub(crate) host: Arc<VirtualHost>,
    pub(crate) suites: Vec<CipherSuite>,
    pub(crate) groups: Vec<KxGroup>,
    pub(crate) tickets_after_full: usize,
    pub(crate) tickets_after_resumption: usize,
    pub(crate) allow_psk_ke: bool,
    pub(crate) max_early_data: u32,
    pub(crate) replay_guard: Option<Arc<dyn ReplayGuard>>,
    pub(crate) max_ticket_age_skew: Duration,
    pub(crate) rng: Rng,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) key_log: Arc<dyn KeyLog>,
    pub(crate) versions: Versions,
    pub(crate) tls12_suites: Vec<Tls12CipherSuite>,
    pub(crate) tls12_session_lifetime: Duration,
    pub(crate) require_ems: bool,
    /// The virtual hosts by server name (ASCII lower case).
    pub(crate) virtual_hosts: HashMap<String, Arc<VirtualHost>>,
    pub(crate) alpn_protocols: Vec<Vec<u8>>,
    pub(crate) max_auth_lifetime: Duration,
    /// The key of HelloRetryRequest cookies, when the server does stateless retry.
    pub(crate) retry_cookie_key: Option<Arc<SecretArray<32>>>,
    /// Whether session lookups and stores are handed to the caller instead of made inline.
    pub(crate) pending_lookups: bool,
    /// The most keys one ClientHello's pending lookup names.
    pub(crate) max_lookup_keys: usize,
}

impl core::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("suites", &self.suites)
            .field("groups", &self.groups)
            .field("tickets_after_full", &self.tickets_after_full)
            .field("allow_psk_ke", &self.allow_psk_ke)
            .field("max_early_data", &self.max_early_data)
            .finish_non_exhaustive()
    }
}

/// The longest a TLS 1.2 session stays resumable: 24 hours, the upper limit RFC 5246 §F.1.4
/// suggests for session ID lifetimes. A master secret that lives longer widens the window in
/// which one stolen cache entry (or ticket key) opens every connection resumed from it.
pub const MAX_TLS12_SESSION_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// How long resumptions may go on after the full handshake that authenticated a session:
/// seven days, the longest a TLS 1.3 ticket may live (RFC 8446 §4.6.1).
pub const DEFAULT_MAX_AUTH_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

/// The most keys one ClientHello's pending lookup names by default (see
/// [`ServerConfig::with_pending_lookups`]): an honest client offers one or two tickets.
pub const DEFAULT_MAX_LOOKUP_KEYS: usize = 2;

/// The most keys a pending lookup may name: the server looks at no more PSK identities than
/// this on either path.
pub const MAX_LOOKUP_KEYS: usize = 4;

/// Why a server configuration could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The private key could not be loaded.
    #[error("private key: {0}")]
    Key(#[from] CryptoError),
    /// The certificate chain is empty.
    #[error("empty certificate chain")]
    NoCertificate,
    /// The default ticket sealer could not be made.
    #[error("ticket sealer: {0}")]
    Ticket(#[from] TicketError),
}

impl ServerConfig {
    /// A server with this certificate chain (end-entity first) and private key (PKCS#8 ECDSA
    /// P-256/P-384 or Ed25519, PKCS#8/PKCS#1 RSA), issuing stateless tickets under a fresh
    /// random key (lifetime 2 hours).
    ///
    /// # Errors
    /// [`ConfigError`] for a key that cannot be loaded or an empty chain.
    pub fn new(
        cert_chain: Vec<CertificateDer<'static>>,
        key: &PrivateKeyDer<'_>,
    ) -> Result<Self, ConfigError> {
        let rng: Rng = Arc::new(SystemRandom::new());
        Ok(Self {
            host: Arc::new(VirtualHost::new(cert_chain, key)?),
            suites: DEFAULT_SUITES.to_vec(),
            groups: KxGroup::ALL.to_vec(),
            tickets_after_full: 2,
            tickets_after_resumption: 1,
            allow_psk_ke: false,
            max_early_data: 0,
            replay_guard: None,
            max_ticket_age_skew: crate::antireplay::DEFAULT_WINDOW,
            rng,
            clock: Arc::new(SystemClock),
            key_log: Arc::new(NoKeyLog),
            versions: Versions::BOTH,
            tls12_suites: Tls12CipherSuite::ALL.to_vec(),
            tls12_session_lifetime: Duration::from_secs(2 * 3600),
            require_ems: true,
            virtual_hosts: HashMap::new(),
            alpn_protocols: Vec::new(),
            max_auth_lifetime: DEFAULT_MAX_AUTH_LIFETIME,
            retry_cookie_key: None,
            pending_lookups: false,
            max_lookup_keys: DEFAULT_MAX_LOOKUP_KEYS,
        })
    }

    /// The application protocols this server speaks (RFC 7301), most preferred first: it
    /// selects the first of them the client offers, and refuses a client offering none of
    /// them with `no_application_protocol`. Empty (the default) ignores the client's list.
    /// Names that cannot be sent (empty, or over 255 bytes) are left out.
    pub fn with_alpn_protocols<P: AsRef<[u8]>>(mut self, protocols: &[P]) -> Self {
        self.alpn_protocols = alpn_list(protocols);
        self
    }

    /// How long after the full handshake that authenticated the client's session a chain
    /// of resumptions may go on (RFC 8446 §4.6.1): a ticket issued on a resumed connection
    /// never outlives it, and once it has passed no ticket is issued. Default
    /// [`DEFAULT_MAX_AUTH_LIFETIME`].
    pub fn with_max_auth_lifetime(mut self, lifetime: Duration) -> Self {
        self.max_auth_lifetime = lifetime;
        self
    }

    /// The protocol versions to accept (default both; TLS 1.3 when the client offers it).
    pub fn with_versions(mut self, versions: &[TlsVersion]) -> Self {
        self.versions = Versions::from_list(versions);
        self
    }

    /// The TLS 1.2 suites to accept, most preferred first.
    pub fn with_tls12_suites(mut self, suites: &[Tls12CipherSuite]) -> Self {
        self.tls12_suites = suites.to_vec();
        self
    }

    /// Where TLS 1.2 sessions are kept under their session IDs (RFC 5246 §7.4.1.2);
    /// `None` resumes by ticket only. Default: an in-memory cache of 1024 sessions on the
    /// system clock. The cache checks expiry against its own clock, so a cache for a server
    /// driven with another `now` (tests, a [`crate::time::ManualClock`]) should share it.
    /// This is the default host's cache; each [`VirtualHost`] has its own. Like theirs, it
    /// is namespaced (under a fixed label no server name can take), so a cache shared with
    /// virtual hosts keeps the default host's sessions apart from theirs.
    pub fn with_session_cache(mut self, cache: Option<Arc<dyn SessionCache>>) -> Self {
        let cache = cache.map(|c| {
            vhost::namespaced_cache(
                vhost::DEFAULT_HOST_NAMESPACE,
                vhost::KeyDomain::SessionId,
                c,
            )
        });
        Arc::make_mut(&mut self.host).session_cache = cache;
        self
    }

    /// How long a TLS 1.2 session stays resumable, by session ID or ticket (default 2 hours;
    /// at most [`MAX_TLS12_SESSION_LIFETIME`], a longer one is cut down to it).
    pub fn with_tls12_session_lifetime(mut self, lifetime: Duration) -> Self {
        self.tls12_session_lifetime = lifetime.min(MAX_TLS12_SESSION_LIFETIME);
        self
    }

    /// Refuse TLS 1.2 clients that do not offer the extended master secret (RFC 7627 §5.2);
    /// on by default. Off, such a client gets a full handshake that is never resumable.
    pub fn with_require_extended_master_secret(mut self, require: bool) -> Self {
        self.require_ems = require;
        self
    }

    /// The suites to accept, most preferred first (the server's preference decides).
    pub fn with_suites(mut self, suites: &[CipherSuite]) -> Self {
        self.suites = suites.to_vec();
        self
    }

    /// The groups to accept, most preferred first.
    pub fn with_groups(mut self, groups: &[KxGroup]) -> Self {
        self.groups = groups.to_vec();
        self
    }

    /// Stateless retry (RFC 8446 §4.2.2): every HelloRetryRequest carries a cookie holding
    /// what the server needs of the first ClientHello, protected by an HMAC under `key`, and
    /// a second ClientHello is accepted only with a valid cookie, also by a connection that
    /// never saw the first (servers sharing `key` answer each other's retries). Off by
    /// default: a HelloRetryRequest carries no cookie.
    pub fn with_stateless_retry(mut self, key: SecretArray<32>) -> Self {
        self.retry_cookie_key = Some(Arc::new(key));
        self
    }

    /// How tickets are issued (by the default host; each [`VirtualHost`] has its own). A
    /// stateful ticket cache is namespaced as the session cache is.
    pub fn with_tickets(mut self, mode: TicketMode) -> Self {
        let mode = vhost::namespaced_tickets(vhost::DEFAULT_HOST_NAMESPACE, mode);
        Arc::make_mut(&mut self.host).tickets = mode;
        self
    }

    /// How many tickets after a full handshake and after a resumption (0 sends none).
    pub fn with_ticket_counts(mut self, after_full: usize, after_resumption: usize) -> Self {
        self.tickets_after_full = after_full;
        self.tickets_after_resumption = after_resumption;
        self
    }

    /// Accept `psk_ke` resumption when a client offers only it (RFC 8446 §4.2.9): keys from
    /// the PSK alone, not forward secret. Off by default.
    pub fn with_psk_ke(mut self, allow: bool) -> Self {
        self.allow_psk_ke = allow;
        self
    }

    /// Accept up to `max` bytes of 0-RTT data per connection, when `guard` says the attempt
    /// is a first use (RFC 8446 §8). `max == 0` refuses 0-RTT.
    pub fn with_early_data(mut self, max: u32, guard: Arc<dyn ReplayGuard>) -> Self {
        self.max_early_data = max;
        self.replay_guard = Some(guard);
        self
    }

    /// How far the client's ticket age may differ from the server's view for 0-RTT to be
    /// accepted (RFC 8446 §8.3); 10 s by default.
    pub fn with_max_ticket_age_skew(mut self, skew: Duration) -> Self {
        self.max_ticket_age_skew = skew;
        self
    }

    /// The source of randomness.
    pub fn with_rng(mut self, rng: Rng) -> Self {
        self.rng = rng;
        self
    }

    /// The clock examples and convenience code read `now` from.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Where traffic secrets are logged (NSS key-log format).
    pub fn with_key_log(mut self, key_log: Arc<dyn KeyLog>) -> Self {
        self.key_log = key_log;
        self
    }

    /// Pending lookups: the server never calls its session caches to find or keep a session
    /// (TLS 1.2 session IDs, TLS 1.3 stateful tickets), so a store that answers later (a
    /// network store on an async runtime, an
    /// [`AsyncSessionCache`](crate::store::AsyncSessionCache)) never blocks a handshake.
    ///
    /// When a ClientHello needs a lookup, [`process`](crate::ServerConnection::process)
    /// stops there and [`pending_lookup`](crate::ServerConnection::pending_lookup) names the
    /// keys: the session ID to read ([`Fetch::Get`](crate::store::Fetch::Get)) or the
    /// stateful ticket identities to take ([`Fetch::Take`](crate::store::Fetch::Take)), only
    /// those of the length this server issues, at most
    /// [`with_max_lookup_keys`](Self::with_max_lookup_keys) of them, under the keys the
    /// host's caches would use. The caller answers with
    /// [`complete_lookup`](crate::ServerConnection::complete_lookup) (or gives up with
    /// [`abandon_lookup`](crate::ServerConnection::abandon_lookup): every key a miss, a full
    /// handshake) and calls `process` again, which checks what it got as it checks what a
    /// cache returns. New sessions and tickets are handed out by
    /// [`take_pending_stores`](crate::ServerConnection::take_pending_stores) instead of
    /// stored, and the keys of what a connection ending with a fatal alert made or resumed
    /// (RFC 5246 §7.2.2: not to be resumed) by
    /// [`take_pending_removals`](crate::ServerConnection::take_pending_removals) instead of
    /// removed. The caches configured only say what is issued (session IDs when a session
    /// cache is set, stateful tickets): the handshake never calls them, so a blocking cache
    /// may be configured here.
    ///
    /// A stateful ticket is taken when it is fetched, before its binder is checked (one
    /// round trip to the store): a ClientHello replaying a ticket's identity with a forged
    /// binder uses it up, where the inline path takes it only after the binder verified.
    pub fn with_pending_lookups(mut self) -> Self {
        self.pending_lookups = true;
        self
    }

    /// The most keys one ClientHello's pending lookup names (default
    /// [`DEFAULT_MAX_LOOKUP_KEYS`], at most [`MAX_LOOKUP_KEYS`]); identities past it are
    /// misses. 0 looks nothing up.
    pub fn with_max_lookup_keys(mut self, max: usize) -> Self {
        self.max_lookup_keys = max.min(MAX_LOOKUP_KEYS);
        self
    }

    /// The configured clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }
}

/// A protocol version a configuration may enable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TlsVersion {
    /// TLS 1.2 (RFC 5246), ECDHE with AEAD suites only.
    Tls12,
    /// TLS 1.3 (RFC 8446).
    Tls13,
}

/// Which versions are enabled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Versions {
    pub(crate) tls12: bool,
    pub(crate) tls13: bool,
}

impl Versions {
    const BOTH: Self = Self {
        tls12: true,
        tls13: true,
    };

    fn from_list(list: &[TlsVersion]) -> Self {
        Self {
            tls12: list.contains(&TlsVersion::Tls12),
            tls13: list.contains(&TlsVersion::Tls13),
        }
    }
}

/// A protocol list as it can be sent: names of 1 to 255 bytes (RFC 7301 §3.1).
fn alpn_list<P: AsRef<[u8]>>(protocols: &[P]) -> Vec<Vec<u8>> {
    protocols
        .iter()
        .map(AsRef::as_ref)
        .filter(|p| (1..=255).contains(&p.len()))
        .map(<[u8]>::to_vec)
        .collect()
}
