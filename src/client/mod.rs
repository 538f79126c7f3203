//! The client side of a connection.
//!
//! [`ClientConnection`] is the front both protocol versions share. `hello.rs` sends the first
//! flight (offering the stored TLS 1.3 ticket and TLS 1.2 session together); the ServerHello
//! then decides which half takes over: the TLS 1.3 handshake in `tls13.rs`, the TLS 1.2 one
//! in `tls12.rs`. Neither half imports the other.

mod hello;
mod tls12;
mod tls13;

use std::sync::Arc;

use crate::config::{ClientConfig, TlsVersion};
use crate::conn::core::{Core, Incoming};
use crate::conn::front::{self, Front, SideState};
use crate::conn::tls12::decode as decode12;
use crate::conn::{HandshakeKind, Message};
use crate::crypto::kx::KxGroup;
use crate::error::{Error, PeerMisbehaved};
use crate::suites::{CipherSuite, Tls12CipherSuite};
use crate::time::Timestamp;

use hello::Offer;

/// What a step of either half works with.
pub(super) struct Context<'a> {
    pub(super) config: &'a ClientConfig,
    pub(super) core: &'a mut Core,
    pub(super) now: Timestamp,
    pub(super) outcome: &'a mut Outcome,
}

/// What the handshake decided, as the connection reports it.
#[derive(Debug, Default)]
pub(super) struct Outcome {
    pub(super) kind: Option<HandshakeKind>,
    /// The TLS 1.3 suite, once chosen.
    pub(super) suite: Option<CipherSuite>,
    /// The TLS 1.2 suite, once chosen.
    pub(super) tls12_suite: Option<Tls12CipherSuite>,
    pub(super) tickets_received: usize,
    /// The application protocol the server selected (RFC 7301).
    pub(super) alpn: Option<Vec<u8>>,
    /// The group of the handshake's (EC)DHE, once known.
    pub(super) group: Option<KxGroup>,
    /// What this connection stored for resumption: dropped if it ends with a fatal alert
    /// (RFC 5246 §7.2.2). The TLS 1.2 session by its ticket (or its ID without one).
    pub(super) stored_tls12: Option<Vec<u8>>,
    /// The TLS 1.3 tickets stored, by their ticket bytes.
    pub(super) stored_tickets: Vec<Vec<u8>>,
    /// When the full handshake that authenticated the session happened (RFC 8446 §4.6.1).
    pub(super) auth_time: Option<Timestamp>,
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

/// Where the client is: the first flight out, in one version's handshake (or past it), or
/// failed.
enum ClientState {
    ExpectServerHello(Box<Offer>),
    Tls12(tls12::State),
    Tls13(tls13::State),
    Failed,
}

impl SideState for ClientState {
    type Config = ClientConfig;
    type Outcome = Outcome;

    fn failed() -> Self {
        Self::Failed
    }

    fn is_handshaking(&self) -> bool {
        match self {
            Self::Tls12(s) => s.is_handshaking(),
            Self::Tls13(s) => s.is_handshaking(),
            Self::ExpectServerHello(_) | Self::Failed => true,
        }
    }

    fn handle(
        self,
        config: &ClientConfig,
        core: &mut Core,
        now: Timestamp,
        outcome: &mut Outcome,
        incoming: Incoming,
    ) -> Result<Self, Error> {
        let cx = &mut Context {
            config,
            core,
            now,
            outcome,
        };
        match (self, incoming) {
            (Self::ExpectServerHello(offer), Incoming::Handshake(bytes)) => {
                server_hello(cx, *offer, bytes)
            }
            (Self::ExpectServerHello(_), Incoming::ApplicationData(_)) => {
                Err(PeerMisbehaved::UnexpectedMessage.into())
            }
            (Self::Tls12(s), incoming) => Ok(Self::Tls12(s.handle(cx, incoming)?)),
            (Self::Tls13(s), incoming) => Ok(Self::Tls13(s.handle(cx, incoming)?)),
            (Self::Failed, _) => Err(Error::InvalidState("connection failed")),
        }
    }
}

/// The server's first answer, decoded once, goes to the half of the version it chose: a
/// ServerHello without supported_versions is TLS 1.2 (RFC 8446 §4.1.3), anything else
/// (a TLS 1.3 ServerHello, a HelloRetryRequest, or a message that is no ServerHello at all)
/// is the TLS 1.3 half's to judge.
fn server_hello(cx: &mut Context<'_>, offer: Offer, bytes: Vec<u8>) -> Result<ClientState, Error> {
    if !cx.config.versions.tls12 {
        return Ok(ClientState::Tls13(tls13::ExpectServerHello::first(
            cx,
            offer,
            Message::decode(bytes)?,
        )?));
    }
    let message = decode12(bytes)?;
    if hello::is_tls12_server_hello(&message.payload) {
        let Offer { sent, tls12, .. } = offer;
        return Ok(ClientState::Tls12(tls12::start(cx, sent, tls12, message)?));
    }
    Ok(ClientState::Tls13(tls13::ExpectServerHello::first(
        cx, offer, message,
    )?))
}

/// The longest ticket the client keeps (TLS 1.2 or 1.3). A ticket travels in a ClientHello
/// extension next to everything else the hello carries; a server sending one near the 64 KiB
/// field limit would make the next ClientHello impossible to encode, so such tickets are
/// dropped at once rather than breaking a later connection. Real tickets are a few hundred
/// bytes.
pub(crate) const MAX_STORED_TICKET_LEN: usize = 16 * 1024;

/// Checks the application protocol a server selected (RFC 7301 §3.2): a list of one, and
/// one the client offered. Returns it.
///
/// # Errors
/// `illegal_parameter` for a protocol the client did not offer.
pub(crate) fn check_selected_alpn(
    config: &ClientConfig,
    selected: Option<&[u8]>,
) -> Result<Option<Vec<u8>>, Error> {
    match selected {
        None => Ok(None),
        Some(p) if config.alpn_protocols.iter().any(|o| o == p) => Ok(Some(p.to_vec())),
        Some(_) => Err(PeerMisbehaved::SelectedUnoffered("application protocol").into()),
    }
}

/// Hands the server's chain (end-entity first) to the configured verifier and returns the
/// end-entity certificate, whose key must then sign the handshake. An empty chain is a
/// decode_error in both versions (RFC 8446 §4.4.2.4; RFC 5246 §7.4.2 requires a certificate).
pub(crate) fn verify_server_chain<'a>(
    config: &ClientConfig,
    mut chain: impl Iterator<Item = &'a [u8]>,
    server_name: &str,
    now: Timestamp,
) -> Result<rustls_pki_types::CertificateDer<'static>, Error> {
    use rustls_pki_types::CertificateDer;
    let end_entity = chain
        .next()
        .map(|c| CertificateDer::from(c.to_vec()))
        .ok_or(crate::codec::InvalidMessage::EmptyList(
            "server certificate chain",
        ))?;
    let intermediates: Vec<CertificateDer<'_>> = chain.map(CertificateDer::from).collect();
    config
        .verifier
        .verify_server_cert(&end_entity, &intermediates, server_name, now)?;
    Ok(end_entity)
}

/// Choices for one connection beyond its [`ClientConfig`]. The default is what
/// [`ClientConnection::new`] does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConnectOptions {
    tls12_session_id_with_ticket: bool,
}

impl ConnectOptions {
    /// With `true`, a stored TLS 1.2 session that has both a session ID and a ticket offers
    /// both: its ID in `legacy_session_id` beside its ticket in `session_ticket`, instead of a
    /// fresh random ID (RFC 5077 §3.4 lets a client send either). A server that cannot open
    /// the ticket may then still resume by the ID. Default `false`.
    ///
    /// The server echoes the ID whichever of the two it resumed, so the ServerHello cannot say
    /// which: the handshake is reported as resumed by ticket and continues with the stored
    /// session's master secret. An ID and a ticket of the same session lead to the same
    /// secret; when they belong to different sessions (as a probe may offer them), a server
    /// that resumed the other one fails the handshake at its Finished, which tells them apart.
    #[must_use]
    pub fn with_tls12_session_id_with_ticket(mut self, on: bool) -> Self {
        self.tls12_session_id_with_ticket = on;
        self
    }

    /// Whether a stored TLS 1.2 session ID is offered beside its ticket.
    pub fn tls12_session_id_with_ticket(&self) -> bool {
        self.tls12_session_id_with_ticket
    }
}

/// A client connection, sans-IO: the ClientHello is queued at creation; move bytes with
/// [`write_tls`](Self::write_tls) and [`read_tls`](Self::read_tls) and call
/// [`process`](Self::process).
pub struct ClientConnection {
    config: Arc<ClientConfig>,
    server_name: String,
    front: Front<ClientState>,
    early_data_sent: usize,
    early_data_limit: usize,
}

impl core::fmt::Debug for ClientConnection {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.front.debug("ClientConnection", f)
    }
}

impl ClientConnection {
    front::shared_connection_methods!();

    /// Starts a connection to `server_name` (a DNS name, sent as SNI, and the name the
    /// certificate verifier checks), at `now`. The newest stored ticket for that name, if
    /// any, is offered (and used up).
    ///
    /// # Errors
    /// A failure of the random generator or an empty group list in the configuration.
    pub fn new(
        config: Arc<ClientConfig>,
        server_name: &str,
        now: Timestamp,
    ) -> Result<Self, Error> {
        Self::with_options(config, server_name, now, ConnectOptions::default())
    }

    /// [`new`](Self::new) with `options` for this connection.
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn with_options(
        config: Arc<ClientConfig>,
        server_name: &str,
        now: Timestamp,
        options: ConnectOptions,
    ) -> Result<Self, Error> {
        let mut core = Core::new();
        let start = hello::start(&config, &mut core, server_name, now, options)?;
        let early_data_limit = start
            .ticket
            .as_ref()
            .filter(|_| start.early_data_offered)
            .map_or(0, |t| t.state.max_early_data as usize);
        Ok(Self {
            config,
            server_name: server_name.to_owned(),
            front: Front::new(core, ClientState::ExpectServerHello(Box::new(start))),
            early_data_sent: 0,
            early_data_limit,
        })
    }

    /// Takes bytes from the peer and returns how many it took.
    pub fn read_tls(&mut self, data: &[u8]) -> usize {
        self.front.core.read_tls(data)
    }

    /// Processes every complete record taken so far, at time `now`.
    ///
    /// # Errors
    /// The error that ended the connection; the alert it names is queued, and every later
    /// call returns the same error. What the connection stored for resumption is dropped from
    /// the store then: a connection that ends with a fatal alert is not resumed
    /// (RFC 5246 §7.2.2). A warning-level alert from the server (TLS 1.2) ends the
    /// connection but leaves the session stored.
    pub fn process(&mut self, now: Timestamp) -> Result<(), Error> {
        let result = self.front.process(&self.config, now);
        if result.is_err() && !self.front.core.ended_by_warning() {
            self.forget_stored();
        }
        result
    }

    /// RFC 5246 §7.2.2: drops from the store what this connection put there.
    fn forget_stored(&mut self) {
        let outcome = &mut self.front.outcome;
        let tls12 = outcome.stored_tls12.take();
        let tickets = core::mem::take(&mut outcome.stored_tickets);
        if tls12.is_none() && tickets.is_empty() {
            return;
        }
        if let Some(store) = &self.config.session_store {
            // A store that cannot forget leaves a session whose resumption the server
            // refuses or completes; nothing better can be done here.
            let _ = store.forget(&self.server_name, tls12.as_deref(), &tickets);
        }
    }

    /// The negotiated protocol version, once the ServerHello arrived.
    pub fn protocol_version(&self) -> Option<TlsVersion> {
        self.front.protocol_version()
    }

    /// The negotiated TLS 1.2 suite ([`cipher_suite`](Self::cipher_suite) is the TLS 1.3
    /// one).
    pub fn tls12_cipher_suite(&self) -> Option<Tls12CipherSuite> {
        self.front.outcome.tls12_suite
    }

    /// How many bytes of 0-RTT data may still be sent: non-zero only before the server's
    /// answer, when early data is enabled and the ticket offered allows it.
    pub fn early_data_allowance(&self) -> usize {
        // Only before the server's first answer: after a HelloRetryRequest (the TLS 1.3
        // half) or a TLS 1.2 ServerHello, early data is lost.
        let first_flight =
            matches!(&self.front.state, ClientState::ExpectServerHello(o) if o.early_data_offered);
        if first_flight {
            self.early_data_limit.saturating_sub(self.early_data_sent)
        } else {
            0
        }
    }

    /// Sends 0-RTT data with the first flight (RFC 8446 §4.2.10) and returns how many bytes
    /// were taken (at most [`early_data_allowance`](Self::early_data_allowance)). Whether the
    /// server took it shows in [`handshake_kind`](Self::handshake_kind); rejected early data
    /// is not resent: send it again as ordinary data if it still matters.
    ///
    /// # Errors
    /// [`Error::InvalidState`] when no early data may be sent now.
    pub fn send_early_data(&mut self, data: &[u8]) -> Result<usize, Error> {
        self.front.core.check()?;
        let allowance = self.early_data_allowance();
        if allowance == 0 {
            return Err(Error::InvalidState("early data not possible"));
        }
        let n = allowance.min(data.len());
        self.front.core.send_application_data(&data[..n])?;
        self.early_data_sent += n;
        Ok(n)
    }

    /// Takes the application data received so far.
    pub fn take_plaintext(&mut self) -> Vec<u8> {
        self.front.take_plaintext()
    }

    /// True until the server's Finished verified and the client's was sent (and after a
    /// failure).
    pub fn is_handshaking(&self) -> bool {
        self.front.is_handshaking()
    }

    /// How the handshake went, once the server's EncryptedExtensions arrived.
    pub fn handshake_kind(&self) -> Option<HandshakeKind> {
        self.front.outcome.kind
    }

    /// The negotiated suite, once known.
    pub fn cipher_suite(&self) -> Option<CipherSuite> {
        self.front.outcome.suite
    }

    /// The key-exchange group of the handshake's (EC)DHE, once known (TLS 1.3: after the
    /// ServerHello; TLS 1.2: after the ServerKeyExchange). `None` for a handshake without
    /// one: a TLS 1.2 abbreviated handshake, a TLS 1.3 psk_ke resumption.
    pub fn kx_group(&self) -> Option<KxGroup> {
        self.front.outcome.group
    }

    /// How many NewSessionTickets arrived on this connection.
    pub fn tickets_received(&self) -> usize {
        self.front.outcome.tickets_received
    }

    /// When the full handshake that authenticated the server for this session happened, once
    /// the ServerHello arrived: this connection's time on a full handshake, the original
    /// one's on a resumption (RFC 8446 §4.6.1).
    pub fn authenticated_at(&self) -> Option<Timestamp> {
        self.front.outcome.auth_time
    }

    /// The application protocol the server selected (RFC 7301), once known (TLS 1.3: after
    /// EncryptedExtensions; TLS 1.2: after the ServerHello).
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        self.front.outcome.alpn.as_deref()
    }

    /// The error that ended the connection, if any.
    pub fn error(&self) -> Option<&Error> {
        self.front.core.error()
    }
}
