//! A client session store the probe steers: it offers exactly the session or ticket it is
//! told to, and keeps every session and ticket the server hands out.

use std::sync::Mutex;

use tls_resumption::store::{
    ClientSessionStore, ClientTls12Session, ClientTls13Ticket, StoreError,
};
use tls_resumption::time::Timestamp;

/// Offers what [`Steered::offer13`] / [`Steered::offer12`] set (once each), keeps what arrives.
#[derive(Default)]
pub struct Steered {
    offer12: Mutex<Option<ClientTls12Session>>,
    offer13: Mutex<Option<ClientTls13Ticket>>,
    received12: Mutex<Vec<ClientTls12Session>>,
    received13: Mutex<Vec<ClientTls13Ticket>>,
}

impl Steered {
    /// The next connection offers `ticket` (TLS 1.3).
    pub fn offer13(&self, ticket: Option<ClientTls13Ticket>) {
        *self.offer13.lock().expect("store lock") = ticket;
    }

    /// The next connection offers `session` (TLS 1.2).
    pub fn offer12(&self, session: Option<ClientTls12Session>) {
        *self.offer12.lock().expect("store lock") = session;
    }

    /// Takes every TLS 1.3 ticket received since the last call, oldest first.
    pub fn drain13(&self) -> Vec<ClientTls13Ticket> {
        std::mem::take(&mut *self.received13.lock().expect("store lock"))
    }

    /// Takes every TLS 1.2 session stored since the last call, oldest first.
    pub fn drain12(&self) -> Vec<ClientTls12Session> {
        std::mem::take(&mut *self.received12.lock().expect("store lock"))
    }
}

impl ClientSessionStore for Steered {
    fn set_tls12_session(&self, _: &str, session: ClientTls12Session) -> Result<(), StoreError> {
        self.received12.lock().expect("store lock").push(session);
        Ok(())
    }

    fn take_tls12_session(
        &self,
        _: &str,
        _: Timestamp,
    ) -> Result<Option<ClientTls12Session>, StoreError> {
        Ok(self.offer12.lock().expect("store lock").take())
    }

    fn insert_tls13_ticket(&self, _: &str, ticket: ClientTls13Ticket) -> Result<(), StoreError> {
        self.received13.lock().expect("store lock").push(ticket);
        Ok(())
    }

    fn take_tls13_ticket(
        &self,
        _: &str,
        _: Timestamp,
    ) -> Result<Option<ClientTls13Ticket>, StoreError> {
        Ok(self.offer13.lock().expect("store lock").take())
    }
}
