//! The part of a connection both sides run alike: the record core, one handshake state, the
//! outcome it reports, and application data queued until the handshake is done. The public
//! connection types (`ClientConnection`, `ServerConnection`) keep their own documented
//! methods; what they share is here ([`Front`]'s methods, and
//! [`shared_connection_methods`] for the methods they share word for word).

use super::core::{Core, Incoming};
use super::HandshakeKind;
use crate::config::TlsVersion;
use crate::error::Error;
use crate::suites::{CipherSuite, Tls12CipherSuite};
use crate::time::Timestamp;

/// What either side's outcome reports alike about the negotiation.
pub(crate) trait Outcome: Default {
    /// How the handshake went, once known.
    fn kind(&self) -> Option<HandshakeKind>;
    /// The TLS 1.3 suite, once chosen.
    fn suite(&self) -> Option<CipherSuite>;
    /// The TLS 1.2 suite, once chosen.
    fn tls12_suite(&self) -> Option<Tls12CipherSuite>;
}

/// Whether a state waits for something the caller supplies rather than a record.
pub(crate) enum Wait {
    /// It takes records.
    No,
    /// It waits, and what it waits for is not there yet: no record is handled.
    Blocked,
    /// What it waited for is there: [`SideState::wake`] moves it on.
    Ready,
}

/// A side's state machine as the front drives it.
pub(crate) trait SideState: Sized {
    /// The side's configuration.
    type Config;
    /// What the side reports about the handshake.
    type Outcome: self::Outcome;

    /// The state after an error: every later message is refused.
    fn failed() -> Self;

    /// True until the handshake is complete (and after a failure).
    fn is_handshaking(&self) -> bool;

    /// Moves on by one record's worth of input.
    fn handle(
        self,
        config: &Self::Config,
        core: &mut Core,
        now: Timestamp,
        outcome: &mut Self::Outcome,
        incoming: Incoming,
    ) -> Result<Self, Error>;

    /// Whether the state waits for the caller (a pending session lookup on the server).
    fn wait(&self, _outcome: &Self::Outcome) -> Wait {
        Wait::No
    }

    /// Moves on without a record once [`wait`](Self::wait) says `Ready`.
    fn wake(
        self,
        _config: &Self::Config,
        _core: &mut Core,
        _now: Timestamp,
        _outcome: &mut Self::Outcome,
    ) -> Result<Self, Error> {
        Ok(self)
    }
}

/// The record core, the state, the outcome and the queued application data of one side.
pub(crate) struct Front<S: SideState> {
    pub(crate) core: Core,
    pub(crate) state: S,
    pub(crate) outcome: S::Outcome,
    pending: Vec<u8>,
}

impl<S: SideState> Front<S> {
    pub(crate) fn new(core: Core, state: S) -> Self {
        Self {
            core,
            state,
            outcome: S::Outcome::default(),
            pending: Vec::new(),
        }
    }

    /// Processes every complete record taken so far; on an error, queues its alert, fails
    /// the state and returns the error (and the same error on every later call).
    pub(crate) fn process(&mut self, config: &S::Config, now: Timestamp) -> Result<(), Error> {
        self.core.check()?;
        match self.process_inner(config, now) {
            Ok(()) => Ok(()),
            Err(e) => {
                self.state = S::failed();
                Err(self.core.fail(e))
            }
        }
    }

    fn process_inner(&mut self, config: &S::Config, now: Timestamp) -> Result<(), Error> {
        loop {
            match self.state.wait(&self.outcome) {
                Wait::No => {}
                Wait::Blocked => break,
                Wait::Ready => {
                    let state = core::mem::replace(&mut self.state, S::failed());
                    self.state = state.wake(config, &mut self.core, now, &mut self.outcome)?;
                    continue;
                }
            }
            let handshaking = self.state.is_handshaking();
            let Some(incoming) = self.core.next_incoming(handshaking)? else {
                break;
            };
            let state = core::mem::replace(&mut self.state, S::failed());
            self.state = state.handle(config, &mut self.core, now, &mut self.outcome, incoming)?;
        }
        if !self.state.is_handshaking() && !self.pending.is_empty() {
            let pending = core::mem::take(&mut self.pending);
            self.core.send_application_data(&pending)?;
        }
        Ok(())
    }

    /// Takes the application data received so far.
    pub(crate) fn take_plaintext(&mut self) -> Vec<u8> {
        core::mem::take(&mut self.core.plaintext)
    }

    /// True until the handshake is complete (and after a failure).
    pub(crate) fn is_handshaking(&self) -> bool {
        self.state.is_handshaking()
    }

    /// The negotiated protocol version: the version whose suite was chosen.
    pub(crate) fn protocol_version(&self) -> Option<TlsVersion> {
        if self.outcome.tls12_suite().is_some() {
            Some(TlsVersion::Tls12)
        } else {
            self.outcome.suite().map(|_| TlsVersion::Tls13)
        }
    }

    /// The `Debug` form of a connection named `name`: how the handshake went and its
    /// suite, never a secret.
    pub(crate) fn debug(&self, name: &str, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct(name)
            .field("kind", &self.outcome.kind())
            .field("suite", &self.outcome.suite())
            .finish_non_exhaustive()
    }

    /// Queues application data: sent at once after the handshake, before it once it is done.
    pub(crate) fn send_plaintext(&mut self, data: &[u8]) -> Result<(), Error> {
        self.core.check()?;
        if self.core.sent_close() {
            return Err(Error::InvalidState("close_notify already sent"));
        }
        if self.state.is_handshaking() {
            self.pending.extend_from_slice(data);
            Ok(())
        } else {
            self.core.send_application_data(data)
        }
    }
}

/// The public methods `ClientConnection` and `ServerConnection` share word for word, written
/// once: moving bytes out, queueing data and close_notify, the peer's close_notify.
macro_rules! shared_connection_methods {
    () => {
        /// Moves every byte waiting to be sent into `out`; returns how many.
        pub fn write_tls(&mut self, out: &mut Vec<u8>) -> usize {
            self.front.core.write_tls(out)
        }

        /// True when bytes wait to be sent.
        pub fn wants_write(&self) -> bool {
            self.front.core.wants_write()
        }

        /// Queues application data; it is sent once the handshake is complete.
        ///
        /// # Errors
        /// The connection's error, or [`Error::InvalidState`] after close_notify was sent.
        pub fn send_plaintext(&mut self, data: &[u8]) -> Result<(), Error> {
            self.front.send_plaintext(data)
        }

        /// Queues close_notify.
        ///
        /// # Errors
        /// Only if the alert cannot be encoded.
        pub fn send_close_notify(&mut self) -> Result<(), Error> {
            self.front.core.send_close_notify()
        }

        /// True once the peer sent close_notify.
        pub fn peer_closed(&self) -> bool {
            self.front.core.peer_closed()
        }
    };
}

pub(crate) use shared_connection_methods;
