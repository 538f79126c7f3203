//! The client side of a connection.
//!
//! [`ClientConnection`] is the front both protocol versions share; the TLS 1.3 handshake
//! lives in `tls13.rs` (and the ClientHello it sends in `hello.rs`), the TLS 1.2 one in
//! `tls12.rs`; the ServerHello decides which.

mod hello;
mod tls12;
mod tls13;

use std::sync::Arc;

use crate::config::ClientConfig;
use crate::conn::core::{Core, Incoming};
use crate::conn::HandshakeKind;
use crate::error::Error;
use crate::kdf::tls13::CipherSuite;
use crate::time::Timestamp;

/// The longest ticket the client keeps (TLS 1.2 or 1.3). A ticket travels in a ClientHello
/// extension next to everything else the hello carries; a server sending one near the 64 KiB
/// field limit would make the next ClientHello impossible to encode, so such tickets are
/// dropped at once rather than breaking a later connection. Real tickets are a few hundred
/// bytes.
pub(crate) const MAX_STORED_TICKET_LEN: usize = 16 * 1024;

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
        .ok_or(crate::error::InvalidMessage::EmptyList(
            "server certificate chain",
        ))?;
    let intermediates: Vec<CertificateDer<'_>> = chain.map(CertificateDer::from).collect();
    config
        .verifier
        .verify_server_cert(&end_entity, &intermediates, server_name, now)?;
    Ok(end_entity)
}

/// A client connection, sans-IO: the ClientHello is queued at creation; move bytes with
/// [`write_tls`](Self::write_tls) and [`read_tls`](Self::read_tls) and call
/// [`process`](Self::process).
pub struct ClientConnection {
    config: Arc<ClientConfig>,
    core: Core,
    state: Option<tls13::State>,
    outcome: tls13::Outcome,
    pending: Vec<u8>,
    early_data_sent: usize,
    early_data_limit: usize,
    /// Set when the server chose TLS 1.2; `state` is then unused.
    tls12: Option<tls12::State>,
    tls12_suite: Option<crate::conn::Tls12CipherSuite>,
}

impl core::fmt::Debug for ClientConnection {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ClientConnection")
            .field("kind", &self.outcome.kind)
            .field("suite", &self.outcome.suite)
            .finish_non_exhaustive()
    }
}

impl ClientConnection {
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
        let mut core = Core::new();
        let start = tls13::ExpectServerHello::start(&config, &mut core, server_name, now)?;
        let early_data_limit = start
            .ticket
            .as_ref()
            .filter(|_| start.early_data_offered)
            .map_or(0, |t| t.state.max_early_data as usize);
        Ok(Self {
            config,
            core,
            state: Some(tls13::State::ExpectServerHello(Box::new(start))),
            outcome: tls13::Outcome::default(),
            pending: Vec::new(),
            early_data_sent: 0,
            early_data_limit,
            tls12: None,
            tls12_suite: None,
        })
    }

    /// Takes bytes from the peer and returns how many it took.
    pub fn read_tls(&mut self, data: &[u8]) -> usize {
        self.core.read_tls(data)
    }

    /// Processes every complete record taken so far, at time `now`.
    ///
    /// # Errors
    /// The error that ended the connection; the alert it names is queued, and every later
    /// call returns the same error.
    pub fn process(&mut self, now: Timestamp) -> Result<(), Error> {
        self.core.check()?;
        match self.process_inner(now) {
            Ok(()) => Ok(()),
            Err(e) => {
                self.state = None;
                self.tls12 = None;
                Err(self.core.fail(e))
            }
        }
    }

    fn process_inner(&mut self, now: Timestamp) -> Result<(), Error> {
        loop {
            let handshaking = self.is_handshaking();
            let Some(incoming) = self.core.next_incoming(handshaking)? else {
                break;
            };
            let Some(incoming) = self.tls12_step(now, incoming)? else {
                continue;
            };
            let state = self
                .state
                .take()
                .ok_or(Error::InvalidState("connection failed"))?;
            let mut cx = tls13::Context {
                config: &self.config,
                core: &mut self.core,
                now,
                outcome: &mut self.outcome,
            };
            self.state = Some(state.handle(&mut cx, incoming)?);
        }
        if !self.is_handshaking() && !self.pending.is_empty() {
            let pending = core::mem::take(&mut self.pending);
            self.core.send_application_data(&pending)?;
        }
        Ok(())
    }

    /// Runs `incoming` through the TLS 1.2 state machine when the server chose TLS 1.2 (seen
    /// on its ServerHello); gives it back when TLS 1.3 takes it.
    fn tls12_step(
        &mut self,
        now: Timestamp,
        incoming: Incoming,
    ) -> Result<Option<Incoming>, Error> {
        let state = match self.tls12.take() {
            Some(state) => state,
            None => {
                let (Incoming::Handshake(bytes), Some(tls13::State::ExpectServerHello(hello))) =
                    (&incoming, &self.state)
                else {
                    return Ok(Some(incoming));
                };
                if hello.retried || !self.config.versions.tls12 {
                    return Ok(Some(incoming));
                }
                let message = crate::conn::tls12::decode(bytes.clone())?;
                if !tls12::is_tls12_server_hello(&message) {
                    return Ok(Some(incoming));
                }
                let Some(tls13::State::ExpectServerHello(hello)) = self.state.take() else {
                    return Err(Error::InvalidState("no ClientHello sent"));
                };
                let hello = *hello;
                let offer = tls12::Offer {
                    server_name: hello.server_name,
                    random: hello.random,
                    session_id: hello.session_id,
                    hello_bytes: hello.hello_bytes,
                    session: hello.tls12,
                };
                let mut cx = tls12::Context {
                    config: &self.config,
                    core: &mut self.core,
                    now,
                    outcome: &mut self.outcome,
                    suite: &mut self.tls12_suite,
                };
                self.tls12 = Some(tls12::start(&mut cx, offer, message)?);
                return Ok(None);
            }
        };
        let mut cx = tls12::Context {
            config: &self.config,
            core: &mut self.core,
            now,
            outcome: &mut self.outcome,
            suite: &mut self.tls12_suite,
        };
        self.tls12 = Some(state.handle(&mut cx, incoming)?);
        Ok(None)
    }

    /// The negotiated protocol version, once the ServerHello arrived.
    pub fn protocol_version(&self) -> Option<crate::TlsVersion> {
        if self.tls12_suite.is_some() {
            Some(crate::TlsVersion::Tls12)
        } else {
            self.outcome.suite.map(|_| crate::TlsVersion::Tls13)
        }
    }

    /// The negotiated TLS 1.2 suite ([`cipher_suite`](Self::cipher_suite) is the TLS 1.3
    /// one).
    pub fn tls12_cipher_suite(&self) -> Option<crate::conn::Tls12CipherSuite> {
        self.tls12_suite
    }

    /// Moves every byte waiting to be sent into `out`; returns how many.
    pub fn write_tls(&mut self, out: &mut Vec<u8>) -> usize {
        self.core.write_tls(out)
    }

    /// True when bytes wait to be sent.
    pub fn wants_write(&self) -> bool {
        self.core.wants_write()
    }

    /// How many bytes of 0-RTT data may still be sent: non-zero only before the server's
    /// answer, when early data is enabled and the ticket offered allows it.
    pub fn early_data_allowance(&self) -> usize {
        if self
            .state
            .as_ref()
            .is_some_and(tls13::State::may_send_early_data)
        {
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
        self.core.check()?;
        let allowance = self.early_data_allowance();
        if allowance == 0 {
            return Err(Error::InvalidState("early data not possible"));
        }
        let n = allowance.min(data.len());
        self.core.send_application_data(&data[..n])?;
        self.early_data_sent += n;
        Ok(n)
    }

    /// Queues application data; it is sent once the handshake is complete.
    ///
    /// # Errors
    /// The connection's error, or [`Error::InvalidState`] after close_notify was sent.
    pub fn send_plaintext(&mut self, data: &[u8]) -> Result<(), Error> {
        self.core.check()?;
        if self.core.sent_close() {
            return Err(Error::InvalidState("close_notify already sent"));
        }
        if self.is_handshaking() {
            self.pending.extend_from_slice(data);
            Ok(())
        } else {
            self.core.send_application_data(data)
        }
    }

    /// Takes the application data received so far.
    pub fn take_plaintext(&mut self) -> Vec<u8> {
        core::mem::take(&mut self.core.plaintext)
    }

    /// Queues close_notify.
    ///
    /// # Errors
    /// Only if the alert cannot be encoded.
    pub fn send_close_notify(&mut self) -> Result<(), Error> {
        self.core.send_close_notify()
    }

    /// True once the peer sent close_notify.
    pub fn peer_closed(&self) -> bool {
        self.core.peer_closed()
    }

    /// True until the server's Finished verified and the client's was sent (and after a
    /// failure).
    pub fn is_handshaking(&self) -> bool {
        if self.tls12_suite.is_some() {
            return self.tls12.as_ref().is_none_or(tls12::State::is_handshaking);
        }
        self.state.as_ref().is_none_or(tls13::State::is_handshaking)
    }

    /// How the handshake went, once the server's EncryptedExtensions arrived.
    pub fn handshake_kind(&self) -> Option<HandshakeKind> {
        self.outcome.kind
    }

    /// The negotiated suite, once known.
    pub fn cipher_suite(&self) -> Option<CipherSuite> {
        self.outcome.suite
    }

    /// How many NewSessionTickets arrived on this connection.
    pub fn tickets_received(&self) -> usize {
        self.outcome.tickets_received
    }

    /// The error that ended the connection, if any.
    pub fn error(&self) -> Option<&Error> {
        self.core.error()
    }
}
