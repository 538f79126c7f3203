//! Client session stores: what a client keeps, per server name, to resume.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use super::StoreError;
use crate::session::{Tls12Session, Tls13Session};
use crate::time::Timestamp;

/// What a TLS 1.2 client keeps to resume: the session ID and/or an RFC 5077 ticket, and the
/// session's state.
#[derive(Debug)]
pub struct ClientTls12Session {
    /// The session ID the server gave (may be empty when only a ticket is used).
    pub session_id: Vec<u8>,
    /// The ticket from NewSessionTicket (RFC 5077 §3.3), if any.
    pub ticket: Option<Vec<u8>>,
    /// The session's state.
    pub state: Tls12Session,
}

/// One TLS 1.3 ticket (RFC 8446 §4.6.1): the opaque identity and the state to use it.
#[derive(Debug)]
pub struct ClientTls13Ticket {
    /// The ticket bytes, sent as the PSK identity.
    pub ticket: Vec<u8>,
    /// PSK, `ticket_age_add`, lifetime and the rest.
    pub state: Tls13Session,
}

impl ClientTls12Session {
    /// A copy; named rather than `Clone` because the state holds the master secret.
    pub fn duplicate(&self) -> Self {
        Self {
            session_id: self.session_id.clone(),
            ticket: self.ticket.clone(),
            state: self.state.duplicate(),
        }
    }
}

impl ClientTls13Ticket {
    /// A copy; named rather than `Clone` because the state holds the resumption PSK.
    pub fn duplicate(&self) -> Self {
        Self {
            ticket: self.ticket.clone(),
            state: self.state.duplicate(),
        }
    }

    fn is_expired(&self, now: Timestamp) -> bool {
        let expires = self
            .state
            .issued_at
            .saturating_add(std::time::Duration::from_secs(u64::from(
                self.state.lifetime_secs,
            )));
        now >= expires
    }
}

/// Where a client keeps sessions and tickets by server name.
///
/// # Contract
/// - TLS 1.3 tickets are single use (RFC 8446 §C.4): [`take_tls13_ticket`] removes the ticket
///   it returns, so no ticket is offered twice (reuse would let an observer link connections).
/// - A store is bounded: when full it drops the oldest ticket (or the least recently used
///   server) first, never fails an insert.
/// - Expired tickets are never returned.
///
/// [`take_tls13_ticket`]: Self::take_tls13_ticket
pub trait ClientSessionStore: Send + Sync {
    /// Keeps `session` as the one TLS 1.2 session for `server_name`, replacing any other.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot keep it; the client then simply cannot resume.
    fn set_tls12_session(
        &self,
        server_name: &str,
        session: ClientTls12Session,
    ) -> Result<(), StoreError>;

    /// Removes and returns the TLS 1.2 session for `server_name` if it has not expired at
    /// `now`. A client that resumes puts the session back if the server accepts it.
    ///
    /// # Errors
    /// [`StoreError`], treated as "no session".
    fn take_tls12_session(
        &self,
        server_name: &str,
        now: Timestamp,
    ) -> Result<Option<ClientTls12Session>, StoreError>;

    /// Adds a TLS 1.3 ticket for `server_name`, dropping the oldest when the server already has
    /// the maximum.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot keep it.
    fn insert_tls13_ticket(
        &self,
        server_name: &str,
        ticket: ClientTls13Ticket,
    ) -> Result<(), StoreError>;

    /// Removes and returns the newest unexpired TLS 1.3 ticket for `server_name`.
    ///
    /// # Errors
    /// [`StoreError`], treated as "no ticket".
    fn take_tls13_ticket(
        &self,
        server_name: &str,
        now: Timestamp,
    ) -> Result<Option<ClientTls13Ticket>, StoreError>;

    /// Drops what a connection to `server_name` stored, because it ended with a fatal alert
    /// and must not be resumed (RFC 5246 §7.2.2): the TLS 1.2 session if it is still the one
    /// `tls12` names (its ticket, or its session ID when it has no ticket), and the TLS 1.3
    /// tickets listed (by their ticket bytes). The default keeps everything; a store that
    /// can find them should drop them.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be changed.
    fn forget(
        &self,
        server_name: &str,
        tls12: Option<&[u8]>,
        tls13_tickets: &[Vec<u8>],
    ) -> Result<(), StoreError> {
        let _ = (server_name, tls12, tls13_tickets);
        Ok(())
    }
}

#[derive(Default)]
struct ServerEntry {
    tls12: Option<ClientTls12Session>,
    /// Oldest first.
    tls13: VecDeque<ClientTls13Ticket>,
    last_used: u64,
}

struct Inner {
    servers: HashMap<String, ServerEntry>,
    tick: u64,
}

/// An in-process [`ClientSessionStore`], bounded in servers and in tickets per server.
///
/// When a new server would exceed the bound, the least recently used server is dropped; the
/// scan that finds it is linear in the bound, which is small (clients talk to few servers).
pub struct MemoryClientStore {
    inner: Mutex<Inner>,
    max_servers: usize,
    max_tickets: usize,
}

impl core::fmt::Debug for MemoryClientStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MemoryClientStore")
            .field("max_servers", &self.max_servers)
            .field("max_tickets", &self.max_tickets)
            .finish_non_exhaustive()
    }
}

impl Default for MemoryClientStore {
    /// 256 servers, 4 tickets each.
    fn default() -> Self {
        Self::new(256, 4)
    }
}

impl MemoryClientStore {
    /// A store of at most `max_servers` servers and `max_tickets` TLS 1.3 tickets per server
    /// (each at least 1).
    pub fn new(max_servers: usize, max_tickets: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                servers: HashMap::new(),
                tick: 0,
            }),
            max_servers: max_servers.max(1),
            max_tickets: max_tickets.max(1),
        }
    }

    /// How many servers have something stored.
    pub fn server_count(&self) -> usize {
        self.inner.lock().map(|i| i.servers.len()).unwrap_or(0)
    }

    /// How many TLS 1.3 tickets are stored for `server_name`.
    pub fn tls13_ticket_count(&self, server_name: &str) -> usize {
        self.inner
            .lock()
            .ok()
            .and_then(|i| i.servers.get(server_name).map(|e| e.tls13.len()))
            .unwrap_or(0)
    }

    /// Runs `f` on the server's entry. A lookup (`create` false) of an unknown server returns
    /// `R::default()` without touching the store: only inserts may evict another server.
    fn with_entry<R: Default>(
        &self,
        server_name: &str,
        create: bool,
        f: impl FnOnce(&mut ServerEntry) -> R,
    ) -> Result<R, StoreError> {
        let mut inner = self.inner.lock().map_err(|_| StoreError::Unavailable)?;
        if !create && !inner.servers.contains_key(server_name) {
            return Ok(R::default());
        }
        inner.tick += 1;
        let tick = inner.tick;
        if !inner.servers.contains_key(server_name) && inner.servers.len() >= self.max_servers {
            let oldest = inner
                .servers
                .iter()
                .min_by_key(|(_, e)| e.last_used)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                inner.servers.remove(&k);
            }
        }
        let entry = inner.servers.entry(server_name.to_owned()).or_default();
        entry.last_used = tick;
        let out = f(entry);
        if entry.tls12.is_none() && entry.tls13.is_empty() {
            inner.servers.remove(server_name);
        }
        Ok(out)
    }
}

impl ClientSessionStore for MemoryClientStore {
    fn set_tls12_session(
        &self,
        server_name: &str,
        session: ClientTls12Session,
    ) -> Result<(), StoreError> {
        self.with_entry(server_name, true, |e| e.tls12 = Some(session))
    }

    fn take_tls12_session(
        &self,
        server_name: &str,
        now: Timestamp,
    ) -> Result<Option<ClientTls12Session>, StoreError> {
        self.with_entry(server_name, false, |e| {
            e.tls12.take().filter(|s| {
                let expires = s
                    .state
                    .issued_at
                    .saturating_add(std::time::Duration::from_secs(u64::from(
                        s.state.lifetime_secs,
                    )));
                now < expires
            })
        })
    }

    fn insert_tls13_ticket(
        &self,
        server_name: &str,
        ticket: ClientTls13Ticket,
    ) -> Result<(), StoreError> {
        let max = self.max_tickets;
        self.with_entry(server_name, true, |e| {
            while e.tls13.len() >= max {
                e.tls13.pop_front();
            }
            e.tls13.push_back(ticket);
        })
    }

    fn take_tls13_ticket(
        &self,
        server_name: &str,
        now: Timestamp,
    ) -> Result<Option<ClientTls13Ticket>, StoreError> {
        self.with_entry(server_name, false, |e| {
            // Expired tickets are useless and hold PSKs: drop them while looking.
            e.tls13.retain(|t| !t.is_expired(now));
            e.tls13.pop_back()
        })
    }

    fn forget(
        &self,
        server_name: &str,
        tls12: Option<&[u8]>,
        tls13_tickets: &[Vec<u8>],
    ) -> Result<(), StoreError> {
        self.with_entry(server_name, false, |e| {
            let named = |s: &ClientTls12Session| {
                Some(s.ticket.as_deref().unwrap_or(&s.session_id)) == tls12
            };
            if e.tls12.as_ref().is_some_and(named) {
                e.tls12 = None;
            }
            e.tls13.retain(|t| !tls13_tickets.contains(&t.ticket));
        })
    }
}
