//! The part of a connection both sides run alike: the record core, one handshake state, the
//! outcome it reports, and application data queued until the handshake is done.

use super::core::{Core, Incoming};
use crate::error::Error;
use crate::time::Timestamp;

/// A side's state machine as the front drives it.
pub(crate) trait SideState: Sized {
    /// The side's configuration.
    type Config;
    /// What the side reports about the handshake.
    type Outcome: Default;

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
