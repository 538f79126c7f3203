//! The server side of a connection.
//!
//! [`ServerConnection`] is the front both protocol versions share: record plumbing, the
//! application-facing calls and error handling live here; the TLS 1.3 handshake lives in
//! `tls13.rs`, the TLS 1.2 one in `tls12.rs`; the first ClientHello decides which
//! (TLS 1.3 whenever both sides enable it).

mod psk;
mod retry;
mod tls12;
mod tls13;

use std::sync::Arc;

use crate::config::ServerConfig;
use crate::conn::core::{Core, Incoming};
use crate::conn::HandshakeKind;
use crate::error::Error;
use crate::kdf::tls13::CipherSuite;
use crate::msgs::handshake::HandshakePayload;
use crate::time::Timestamp;

/// A server connection, sans-IO: feed it the peer's bytes with [`read_tls`](Self::read_tls),
/// call [`process`](Self::process), send what [`write_tls`](Self::write_tls) gives.
pub struct ServerConnection {
    config: Arc<ServerConfig>,
    core: Core,
    state: Option<tls13::State>,
    outcome: tls13::Outcome,
    pending: Vec<u8>,
    /// Set when the first ClientHello chose TLS 1.2; `state` is then unused.
    tls12: Option<tls12::State>,
    tls12_suite: Option<crate::conn::Tls12CipherSuite>,
    version_chosen: bool,
}

impl core::fmt::Debug for ServerConnection {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ServerConnection")
            .field("kind", &self.outcome.kind)
            .field("suite", &self.outcome.suite)
            .finish_non_exhaustive()
    }
}

impl ServerConnection {
    /// A connection waiting for a ClientHello.
    pub fn new(config: Arc<ServerConfig>) -> Self {
        Self {
            config,
            core: Core::new(),
            state: Some(tls13::State::initial()),
            outcome: tls13::Outcome::default(),
            pending: Vec::new(),
            tls12: None,
            tls12_suite: None,
            version_chosen: false,
        }
    }

    /// Takes bytes from the peer and returns how many it took; offer the rest again after
    /// [`process`](Self::process). Takes nothing after an error, after the peer's
    /// close_notify, or while 64 KiB of received plaintext wait to be taken.
    pub fn read_tls(&mut self, data: &[u8]) -> usize {
        self.core.read_tls(data)
    }

    /// Processes every complete record taken so far, at time `now`.
    ///
    /// # Errors
    /// The error that ended the connection; the alert it names is queued for
    /// [`write_tls`](Self::write_tls), and every later call returns the same error.
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
            if self.tls12_step(now, &incoming)? {
                continue;
            }
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

    /// Runs `incoming` through the TLS 1.2 state machine when this connection speaks TLS 1.2
    /// (deciding the version on the first ClientHello); false when TLS 1.3 takes it.
    fn tls12_step(&mut self, now: Timestamp, incoming: &Incoming) -> Result<bool, Error> {
        if !self.version_chosen {
            let Incoming::Handshake(bytes) = incoming else {
                return Ok(false);
            };
            self.version_chosen = true;
            let message = crate::conn::tls12::decode(bytes.clone())?;
            let HandshakePayload::ClientHello(hello) = &message.payload else {
                return Ok(false);
            };
            if !tls12::chooses_tls12(&self.config, hello)? {
                return Ok(false);
            }
            let mut cx = tls12::Context {
                config: &self.config,
                core: &mut self.core,
                now,
                outcome: &mut self.outcome,
                suite: &mut self.tls12_suite,
            };
            self.tls12 = Some(tls12::start(&mut cx, message)?);
            self.state = None;
            return Ok(true);
        }
        let Some(state) = self.tls12.take() else {
            return Ok(false);
        };
        let mut cx = tls12::Context {
            config: &self.config,
            core: &mut self.core,
            now,
            outcome: &mut self.outcome,
            suite: &mut self.tls12_suite,
        };
        let incoming = match incoming {
            Incoming::Handshake(b) => Incoming::Handshake(b.clone()),
            Incoming::ApplicationData(d) => Incoming::ApplicationData(d.clone()),
        };
        self.tls12 = Some(state.handle(&mut cx, incoming)?);
        Ok(true)
    }

    /// The negotiated protocol version, once the ClientHello is answered.
    pub fn protocol_version(&self) -> Option<crate::TlsVersion> {
        if self.tls12_suite.is_some() {
            Some(crate::TlsVersion::Tls12)
        } else {
            self.outcome.suite.map(|_| crate::TlsVersion::Tls13)
        }
    }

    /// The negotiated TLS 1.2 suite, once decided ([`cipher_suite`](Self::cipher_suite) is
    /// the TLS 1.3 one).
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

    /// Takes the application data received so far (after the handshake).
    pub fn take_plaintext(&mut self) -> Vec<u8> {
        core::mem::take(&mut self.core.plaintext)
    }

    /// Takes the 0-RTT data received so far. **Early data is replayable**: an attacker can
    /// deliver the same first flight again to another server sharing the ticket keys, so it
    /// must only trigger actions that are safe to repeat (RFC 8446 §8, §E.5).
    pub fn take_early_data(&mut self) -> Vec<u8> {
        core::mem::take(&mut self.outcome.early_data)
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

    /// True until the client's Finished verified (and after a failure).
    pub fn is_handshaking(&self) -> bool {
        if self.tls12_suite.is_some() {
            return self.tls12.as_ref().is_none_or(tls12::State::is_handshaking);
        }
        self.state.as_ref().is_none_or(tls13::State::is_handshaking)
    }

    /// How the handshake went, once the ServerHello is decided.
    pub fn handshake_kind(&self) -> Option<HandshakeKind> {
        self.outcome.kind
    }

    /// The negotiated suite, once decided.
    pub fn cipher_suite(&self) -> Option<CipherSuite> {
        self.outcome.suite
    }

    /// The server name the client asked for (SNI), if any.
    pub fn server_name(&self) -> Option<&str> {
        self.outcome.server_name.as_deref()
    }

    /// The error that ended the connection, if any.
    pub fn error(&self) -> Option<&Error> {
        self.core.error()
    }
}
