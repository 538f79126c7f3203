//! The server side of a connection.
//!
//! [`ServerConnection`] is the front both protocol versions share: record plumbing, the
//! application-facing calls and error handling live here. `hello.rs` decodes the first
//! ClientHello once, resolves the host for its server name, and chooses the version (TLS 1.3
//! whenever both sides enable it); the TLS 1.3 handshake lives in `tls13.rs` (with `psk.rs`
//! for resumption and `retry.rs` for the HelloRetryRequest), the TLS 1.2 one in `tls12.rs`.
//! Neither half imports the other.
//! `lookup.rs` holds the pending session lookups both halves may stop at.

mod cookie;
mod hello;
mod lookup;
mod psk;
mod retry;
mod tls12;
mod tls13;

use std::sync::Arc;

use crate::config::{KeyDomain, ServerConfig, TicketMode, TlsVersion, VirtualHost};
use crate::conn::core::{Core, Incoming};
use crate::conn::front::{self, Front, SideState, Wait};
use crate::conn::HandshakeKind;
use crate::error::{Error, PeerMisbehaved};
use crate::msgs::handshake::Version;
use crate::suites::{CipherSuite, Tls12CipherSuite};
use crate::time::Timestamp;

use crate::store::{LookupKey, LookupResult};
use hello::Hello;
use lookup::Lookup;
pub use lookup::{LookupError, PendingStore};

/// What a step of either half works with.
pub(super) struct Context<'a> {
    pub(super) config: &'a ServerConfig,
    /// The certificate, key, tickets and session cache chosen for the client's server name
    /// (`hello.rs` resolves it once); the halves take these from here, never from `config`.
    pub(super) host: &'a VirtualHost,
    pub(super) core: &'a mut Core,
    pub(super) now: Timestamp,
    pub(super) outcome: &'a mut Outcome,
}

impl<'a> Context<'a> {
    fn new(
        config: &'a ServerConfig,
        host: &'a VirtualHost,
        core: &'a mut Core,
        now: Timestamp,
        outcome: &'a mut Outcome,
    ) -> Self {
        Self {
            config,
            host,
            core,
            now,
            outcome,
        }
    }
}

/// What the handshake decided, as the connection reports it.
#[derive(Debug, Default)]
pub(super) struct Outcome {
    pub(super) kind: Option<HandshakeKind>,
    /// The TLS 1.3 suite, once chosen.
    pub(super) suite: Option<CipherSuite>,
    /// The TLS 1.2 suite, once chosen.
    pub(super) tls12_suite: Option<Tls12CipherSuite>,
    pub(super) server_name: Option<String>,
    pub(super) early_data: Vec<u8>,
    /// The application protocol selected (RFC 7301).
    pub(super) alpn: Option<Vec<u8>>,
    /// When the full handshake that authenticated the session happened: this one's time, or
    /// the resumed session's (RFC 8446 §4.6.1).
    pub(super) auth_time: Option<Timestamp>,
    /// What this connection made resumable or resumed: taken back if it ends with a fatal
    /// alert (RFC 5246 §7.2.2).
    pub(super) resumable: Resumable,
    /// The pending lookup of the ClientHello being answered (pending lookups only).
    pub(super) lookup: Lookup,
    /// Sessions and stateful tickets made here, for the caller to store (pending lookups
    /// only).
    pub(super) stores: Vec<PendingStore>,
    /// Storage keys of what a failed connection made resumable or resumed, for the caller to
    /// remove from its store (pending lookups only).
    pub(super) removals: Vec<Vec<u8>>,
}

/// Cache keys of the sessions a connection made resumable or resumed.
#[derive(Debug, Default)]
pub(super) struct Resumable {
    /// Session IDs in the TLS 1.2 session cache.
    pub(super) session_ids: Vec<Vec<u8>>,
    /// Stateful TLS 1.3 tickets in the ticket cache.
    pub(super) tickets: Vec<Vec<u8>>,
    /// The host whose caches hold them.
    pub(super) host: Option<Arc<VirtualHost>>,
}

impl Resumable {
    /// RFC 5246 §7.2.2: a connection that ended with a fatal alert is not resumed. Removes
    /// what it put in the caches (or resumed from them); with pending lookups, where those
    /// live in the caller's store, their storage keys go to `removals` instead and the
    /// configured caches are not called. Stateless tickets cannot be called back: they stay
    /// usable until they expire. Cache failures are ignored: nothing better can be done
    /// about them here.
    fn forget(&mut self, config: &ServerConfig, removals: &mut Vec<Vec<u8>>) {
        let Some(host) = self.host.take() else {
            return;
        };
        if config.pending_lookups {
            let ids = self.session_ids.drain(..);
            removals.extend(ids.map(|id| host.storage_key(KeyDomain::SessionId, &id)));
            let tickets = self.tickets.drain(..);
            removals.extend(tickets.map(|id| host.storage_key(KeyDomain::Ticket, &id)));
            return;
        }
        if let Some(cache) = &host.session_cache {
            for id in self.session_ids.drain(..) {
                let _ = cache.remove(&id);
            }
        }
        if let TicketMode::Stateful { cache, .. } = &host.tickets {
            for id in self.tickets.drain(..) {
                let _ = cache.remove(&id);
            }
        }
    }
}

impl front::Outcome for Outcome {
    fn kind(&self) -> Option<HandshakeKind> {
        self.kind
    }

    fn suite(&self) -> Option<CipherSuite> {
        self.suite
    }

    fn tls12_suite(&self) -> Option<Tls12CipherSuite> {
        self.tls12_suite
    }
}

/// Where the server is: before the first ClientHello, in one version's handshake (or past
/// it), or failed. The TLS 1.3 states are the large ones; they stay inline, as they did
/// before the front held one enum (no allocation per message).
#[allow(clippy::large_enum_variant)]
enum ServerState {
    ExpectClientHello,
    Tls12(Arc<VirtualHost>, tls12::State),
    Tls13(Arc<VirtualHost>, tls13::State),
    Failed,
}

impl SideState for ServerState {
    type Config = ServerConfig;
    type Outcome = Outcome;

    fn failed() -> Self {
        Self::Failed
    }

    fn is_handshaking(&self) -> bool {
        match self {
            Self::Tls12(_, s) => s.is_handshaking(),
            Self::Tls13(_, s) => s.is_handshaking(),
            Self::ExpectClientHello | Self::Failed => true,
        }
    }

    fn handle(
        self,
        config: &ServerConfig,
        core: &mut Core,
        now: Timestamp,
        outcome: &mut Outcome,
        incoming: Incoming,
    ) -> Result<Self, Error> {
        match (self, incoming) {
            (Self::ExpectClientHello, Incoming::Handshake(bytes)) => {
                first_hello(config, core, now, outcome, bytes)
            }
            (Self::ExpectClientHello, Incoming::ApplicationData(_)) => {
                Err(PeerMisbehaved::UnexpectedMessage.into())
            }
            (Self::Tls12(host, s), incoming) => {
                let cx = &mut Context::new(config, &host, core, now, outcome);
                let next = s.handle(cx, incoming)?;
                Ok(Self::Tls12(host, next))
            }
            (Self::Tls13(host, s), incoming) => {
                let cx = &mut Context::new(config, &host, core, now, outcome);
                let next = s.handle(cx, incoming)?;
                Ok(Self::Tls13(host, next))
            }
            (Self::Failed, _) => Err(Error::InvalidState("connection failed")),
        }
    }

    fn wait(&self, outcome: &Outcome) -> Wait {
        let waiting = match self {
            Self::Tls12(_, s) => s.is_waiting(),
            Self::Tls13(_, s) => s.is_waiting(),
            Self::ExpectClientHello | Self::Failed => false,
        };
        match (waiting, outcome.lookup.is_answered()) {
            (false, _) => Wait::No,
            (true, false) => Wait::Blocked,
            (true, true) => Wait::Ready,
        }
    }

    /// The lookup answered: the step that asked for it runs again on the same hello, and
    /// reads the answers where the inline path reads the cache. The answers are dropped
    /// after it, whatever it decided.
    fn wake(
        self,
        config: &ServerConfig,
        core: &mut Core,
        now: Timestamp,
        outcome: &mut Outcome,
    ) -> Result<Self, Error> {
        let next = match self {
            Self::Tls12(host, s) => {
                let cx = &mut Context::new(config, &host, core, now, outcome);
                s.wake(cx).map(|next| Self::Tls12(host, next))
            }
            Self::Tls13(host, s) => {
                let cx = &mut Context::new(config, &host, core, now, outcome);
                s.wake(cx).map(|next| Self::Tls13(host, next))
            }
            other => Ok(other),
        };
        outcome.lookup = Lookup::Idle;
        next
    }
}

/// The first ClientHello, decoded once (in its TLS 1.2 form, as nothing is negotiated yet),
/// picks the host for its server name and the version, and goes to that half with the host.
fn first_hello(
    config: &ServerConfig,
    core: &mut Core,
    now: Timestamp,
    outcome: &mut Outcome,
    bytes: Vec<u8>,
) -> Result<ServerState, Error> {
    let hello = Hello::decode(bytes, Version::Tls12)?;
    let host = hello::resolve_host(config, &hello);
    outcome.resumable.host = Some(host.clone());
    outcome.server_name = hello.server_name.clone();
    let version = hello::choose_version(config, &hello)?;
    let cx = &mut Context::new(config, &host, core, now, outcome);
    match version {
        TlsVersion::Tls12 => {
            let state = tls12::start(cx, hello)?;
            Ok(ServerState::Tls12(host, state))
        }
        TlsVersion::Tls13 => {
            let state = tls13::start(cx, hello)?;
            Ok(ServerState::Tls13(host, state))
        }
    }
}

/// A server connection, sans-IO: feed it the peer's bytes with [`read_tls`](Self::read_tls),
/// call [`process`](Self::process), send what [`write_tls`](Self::write_tls) gives.
pub struct ServerConnection {
    config: Arc<ServerConfig>,
    front: Front<ServerState>,
}

impl core::fmt::Debug for ServerConnection {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.front.debug("ServerConnection", f)
    }
}

impl ServerConnection {
    front::shared_connection_methods!();

    /// A connection waiting for a ClientHello.
    pub fn new(config: Arc<ServerConfig>) -> Self {
        let mut core = Core::new();
        if config.retry_cookie_key.is_some() {
            // A stateless server cannot tell the client's dummy change_cipher_spec before a
            // second ClientHello from one before a first (RFC 8446 §5) until the hello
            // arrives: only one with a valid cookie may follow it (`hello.rs`).
            core.allow_change_cipher_spec_before_hello();
        }
        Self {
            config,
            front: Front::new(core, ServerState::ExpectClientHello),
        }
    }

    /// Takes bytes from the peer and returns how many it took; offer the rest again after
    /// [`process`](Self::process). Takes nothing after an error, after the peer's
    /// close_notify, or while 64 KiB of received plaintext wait to be taken.
    pub fn read_tls(&mut self, data: &[u8]) -> usize {
        self.front.core.read_tls(data)
    }

    /// Processes every complete record taken so far, at time `now`.
    ///
    /// # Errors
    /// The error that ended the connection; the alert it names is queued for
    /// [`write_tls`](Self::write_tls), and every later call returns the same error.
    pub fn process(&mut self, now: Timestamp) -> Result<(), Error> {
        let result = self.front.process(&self.config, now);
        if result.is_err() && !self.front.core.ended_by_warning() {
            let outcome = &mut self.front.outcome;
            outcome
                .resumable
                .forget(&self.config, &mut outcome.removals);
            // Nothing of a connection that failed is kept: what was not taken yet is dropped.
            outcome.stores.clear();
        }
        result
    }

    /// With [`ServerConfig::with_pending_lookups`]: the keys this connection waits for,
    /// while it waits. [`process`](Self::process) handles nothing more until
    /// [`complete_lookup`](Self::complete_lookup) or [`abandon_lookup`](Self::abandon_lookup).
    /// Fetch each key as its [`Fetch`](crate::store::Fetch) says, for instance with
    /// [`AsyncSessionCache::fetch`](crate::store::AsyncSessionCache::fetch).
    pub fn pending_lookup(&self) -> Option<&[LookupKey]> {
        self.front.outcome.lookup.asked()
    }

    /// Answers the pending lookup: one result per key of
    /// [`pending_lookup`](Self::pending_lookup), in its order (a failed read is a miss).
    /// Call [`process`](Self::process) next: the handshake goes on from the ClientHello
    /// with these values, checked as values from a cache are.
    ///
    /// # Errors
    /// [`LookupError::NotPending`] when no lookup waits, [`LookupError::WrongCount`] when
    /// the results do not match the keys; the lookup still waits after the latter.
    pub fn complete_lookup(&mut self, results: Vec<LookupResult>) -> Result<(), LookupError> {
        self.front.outcome.lookup.complete(results)
    }

    /// Gives up on the pending lookup (a store too slow or down): every key is a miss, and
    /// the next [`process`](Self::process) goes on with a full handshake.
    ///
    /// # Errors
    /// [`LookupError::NotPending`] when no lookup waits.
    pub fn abandon_lookup(&mut self) -> Result<(), LookupError> {
        self.front.outcome.lookup.abandon()
    }

    /// With [`ServerConfig::with_pending_lookups`]: takes the sessions and stateful tickets
    /// this connection made so far, for the caller to store; none is resumable before it
    /// is stored. What a connection made before it failed is dropped, never handed out; what
    /// was handed out already is taken back through
    /// [`take_pending_removals`](Self::take_pending_removals).
    pub fn take_pending_stores(&mut self) -> Vec<PendingStore> {
        core::mem::take(&mut self.front.outcome.stores)
    }

    /// With [`ServerConfig::with_pending_lookups`], once [`process`](Self::process) failed
    /// (a fatal alert sent or received): takes the storage keys (namespaced like those of
    /// [`take_pending_stores`](Self::take_pending_stores) and
    /// [`pending_lookup`](Self::pending_lookup)) of the TLS 1.2 sessions and stateful
    /// tickets this connection made or resumed, which RFC 5246 §7.2.2 says must not resume.
    /// Remove each from the store, for instance with
    /// [`AsyncSessionCache::remove`](crate::store::AsyncSessionCache::remove), after any
    /// store of this connection still under way (else that store could land after the
    /// removal). Always empty on the inline path, where the server removes them itself.
    pub fn take_pending_removals(&mut self) -> Vec<Vec<u8>> {
        core::mem::take(&mut self.front.outcome.removals)
    }

    /// The negotiated protocol version, once the ClientHello is answered.
    pub fn protocol_version(&self) -> Option<TlsVersion> {
        self.front.protocol_version()
    }

    /// The negotiated TLS 1.2 suite, once decided ([`cipher_suite`](Self::cipher_suite) is
    /// the TLS 1.3 one).
    pub fn tls12_cipher_suite(&self) -> Option<Tls12CipherSuite> {
        self.front.outcome.tls12_suite
    }

    /// Takes the application data received so far (after the handshake).
    pub fn take_plaintext(&mut self) -> Vec<u8> {
        self.front.take_plaintext()
    }

    /// Takes the 0-RTT data received so far. **Early data is replayable**: an attacker can
    /// deliver the same first flight again to another server sharing the ticket keys, so it
    /// must only trigger actions that are safe to repeat (RFC 8446 §8, §E.5).
    pub fn take_early_data(&mut self) -> Vec<u8> {
        core::mem::take(&mut self.front.outcome.early_data)
    }

    /// True until the client's Finished verified (and after a failure).
    pub fn is_handshaking(&self) -> bool {
        self.front.is_handshaking()
    }

    /// How the handshake went, once the ServerHello is decided.
    pub fn handshake_kind(&self) -> Option<HandshakeKind> {
        self.front.outcome.kind
    }

    /// The negotiated suite, once decided.
    pub fn cipher_suite(&self) -> Option<CipherSuite> {
        self.front.outcome.suite
    }

    /// The server name the client asked for (SNI), if any.
    pub fn server_name(&self) -> Option<&str> {
        self.front.outcome.server_name.as_deref()
    }

    /// When the full handshake that authenticated the client's session happened, once the
    /// ClientHello is answered: this connection's time on a full handshake, the original
    /// one's on a resumption (RFC 8446 §4.6.1). Tickets issued here never outlive it plus
    /// [`ServerConfig::with_max_auth_lifetime`].
    pub fn authenticated_at(&self) -> Option<Timestamp> {
        self.front.outcome.auth_time
    }

    /// The application protocol selected (RFC 7301), once the ClientHello is answered.
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        self.front.outcome.alpn.as_deref()
    }

    /// The error that ended the connection, if any. A connection that ended with an error
    /// (a fatal alert sent or received) is not resumable (RFC 5246 §7.2.2): the server has
    /// removed the session IDs it cached or resumed and its stateful tickets (with pending
    /// lookups, it hands their keys out through
    /// [`take_pending_removals`](Self::take_pending_removals) for the caller to remove). That is all
    /// the server can take back: stateless tickets cannot be recalled and stay usable until
    /// they expire; a client whose store implements
    /// [`ClientSessionStore::forget`](crate::store::ClientSessionStore::forget) drops them.
    /// A TLS 1.2 warning-level alert from the client ends the connection but takes nothing
    /// back (TLS 1.3 has no such level, RFC 8446 §6).
    pub fn error(&self) -> Option<&Error> {
        self.front.core.error()
    }
}
