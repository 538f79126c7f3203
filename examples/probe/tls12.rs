//! TLS 1.2 checks beyond the resumption rates: a session ID offered beside a ticket, and the
//! server's choice among the key-exchange groups offered.

use tls_resumption::crypto::kx::KxGroup;
use tls_resumption::store::ClientTls12Session;
use tls_resumption::ClientConfig;

use crate::checks::{failure_row, Probe};
use crate::net::{Done, Failure, Plan};
use crate::report::Row;

/// What one offer of a session ID beside a ticket came to.
enum Outcome {
    /// The handshake resumed the session whose master secret the client used.
    Resumed,
    /// A full handshake.
    Full,
    /// The handshake failed: after an echoed ID, the server resumed the other session.
    Failed(Failure),
}

impl Outcome {
    fn text(&self) -> String {
        match self {
            Self::Resumed => "resumed".into(),
            Self::Full => "full handshake".into(),
            Self::Failed(e) => e.to_string(),
        }
    }
}

/// `ticket` with its last 16 bytes (the MAC or AEAD tag in the usual layouts) inverted: the
/// server's key name stays, the ticket no longer opens.
fn corrupted(ticket: &[u8]) -> Vec<u8> {
    let mut bad = ticket.to_vec();
    let from = bad.len().saturating_sub(16);
    for b in &mut bad[from..] {
        *b ^= 0xff;
    }
    bad
}

/// A session offering `id` and `ticket`, with the state (master secret) of `state`.
fn combined(id: &[u8], ticket: Vec<u8>, state: &ClientTls12Session) -> ClientTls12Session {
    let mut s = state.duplicate();
    s.session_id = id.to_vec();
    s.ticket = Some(ticket);
    s
}

impl Probe {
    /// A full TLS 1.2 handshake with `config`: the session it stored.
    fn tls12_session(&mut self, config: &ClientConfig) -> Option<ClientTls12Session> {
        self.store.offer13(None);
        self.store.offer12(None);
        self.run(config, &Plan::default()).ok()?;
        self.store.drain12().pop()
    }

    /// One connection offering `session` with its own ID beside its ticket.
    fn offer_both(&mut self, config: &ClientConfig, session: ClientTls12Session) -> Outcome {
        self.store.offer13(None);
        self.store.offer12(Some(session));
        let plan = Plan {
            id_with_ticket: true,
            ..Plan::default()
        };
        let outcome = match self.run(config, &plan) {
            Ok(Done { kind, .. }) if kind.is_resumed() => Outcome::Resumed,
            Ok(_) => Outcome::Full,
            Err(e) => Outcome::Failed(e),
        };
        self.store.drain12();
        outcome
    }

    /// A stored session ID offered beside a ticket the server cannot open, then beside a
    /// valid ticket of another session (RFC 5077 §3.4 lets a client send both): does the
    /// server fall back to the ID, and which of the two does it prefer?
    pub fn tls12_id_with_ticket(&mut self, config: &ClientConfig, rows: &mut Vec<Row>) {
        let (bad_check, both_check) = ("tls12.id_bad_ticket", "tls12.id_vs_ticket");
        if self.ticket_fault.is_some() {
            rows.push(Row::new(
                bad_check,
                "n/a",
                "the server's tickets are malformed",
            ));
            return rows.push(Row::new(
                both_check,
                "n/a",
                "the server's tickets are malformed",
            ));
        }
        let by_id = self
            .tls12_session(&config.clone().with_tls12_tickets(false))
            .filter(|s| !s.session_id.is_empty());
        let Some(by_id) = by_id else {
            rows.push(Row::new(bad_check, "n/a", "no session ID issued"));
            return rows.push(Row::new(both_check, "n/a", "no session ID issued"));
        };
        let by_ticket = self.tls12_session(config).filter(|s| s.ticket.is_some());
        let bad = match &by_ticket {
            Some(t) => corrupted(t.ticket.as_deref().unwrap_or_default()),
            None => vec![0x5a; 96],
        };
        let id = by_id.session_id.clone();
        let row = match self.offer_both(config, combined(&id, bad, &by_id)) {
            Outcome::Resumed => Row::new(
                bad_check,
                "resumes",
                "a stored session ID beside a ticket the server cannot open: resumed by the ID",
            )
            .meaning("the session cache answers whatever ticket is offered: a cached session stays exposed for as long as it is cached"),
            Outcome::Full => Row::new(
                bad_check,
                "no",
                "a stored session ID beside a ticket the server cannot open: full handshake (the ID is not looked up once a ticket is offered)",
            ),
            Outcome::Failed(e) => failure_row(bad_check, &e),
        };
        rows.push(row);
        let Some(by_ticket) = by_ticket else {
            return rows.push(Row::new(both_check, "n/a", "no ticket issued"));
        };
        let ticket = by_ticket.ticket.clone().unwrap_or_default();
        // The same offer twice, the client holding the ID's master secret, then the ticket's:
        // the handshake completes only with the secret of the session the server resumed.
        let with_id_secret = self.offer_both(config, combined(&id, ticket.clone(), &by_id));
        let with_ticket_secret = self.offer_both(config, combined(&id, ticket, &by_ticket));
        let detail = format!(
            "a stored session ID beside a valid ticket of another session: with the ID's secret {}, with the ticket's {}",
            with_id_secret.text(),
            with_ticket_secret.text()
        );
        let verdict = match (&with_id_secret, &with_ticket_secret) {
            (Outcome::Resumed, Outcome::Failed(_)) => "id",
            (Outcome::Failed(_), Outcome::Resumed) => "ticket",
            (Outcome::Full, Outcome::Full) => "neither",
            _ => "unclear",
        };
        rows.push(Row::new(both_check, verdict, detail));
    }

    /// The (EC)DHE group of a TLS 1.2 handshake offering `groups` in that order.
    fn tls12_group(&mut self, config: &ClientConfig, groups: &[KxGroup]) -> Option<KxGroup> {
        self.store.offer13(None);
        self.store.offer12(None);
        let config = config.clone().with_groups(groups);
        let done = self.run(&config, &Plan::default()).ok()?;
        self.store.drain12();
        done.group
    }

    /// Which group the server picks when several are offered: the client's first, or its own
    /// favourite whatever the order (then its order among them). Every group is offered each
    /// time: in TLS 1.2 the list also names the curves an ECDSA certificate may use (RFC 8422
    /// §5.1), so a group offered alone says little.
    pub fn tls12_groups(&mut self, config: &ClientConfig, rows: &mut Vec<Row>) {
        let check = "tls12.group_choice";
        // Around malformed tickets: the handshake without them.
        let config = &config
            .clone()
            .with_tls12_tickets(self.ticket_fault.is_none());
        let forward: Vec<KxGroup> = KxGroup::ALL.to_vec();
        let backward: Vec<KxGroup> = forward.iter().rev().copied().collect();
        let (first, second) = (
            self.tls12_group(config, &forward),
            self.tls12_group(config, &backward),
        );
        let names = |gs: &[KxGroup], sep: &str| {
            gs.iter()
                .map(|g| format!("{g:?}"))
                .collect::<Vec<_>>()
                .join(sep)
        };
        let picked = |g: Option<KxGroup>| g.map_or("failed".into(), |g| format!("{g:?}"));
        let detail = format!(
            "offered {} → {}; offered {} → {}",
            names(&forward, ", "),
            picked(first),
            names(&backward, ", "),
            picked(second)
        );
        if first == forward.first().copied() && second == backward.first().copied() {
            return rows.push(Row::new(check, "client-order", detail));
        }
        let Some(top) = first.filter(|_| first == second) else {
            return rows.push(Row::new(check, "unclear", detail));
        };
        // The server's own order: its pick among the groups left, one at a time.
        let mut ranking = vec![top];
        let mut left = forward.clone();
        left.retain(|g| *g != top);
        while left.len() > 1 {
            let Some(next) = self.tls12_group(config, &left).filter(|g| left.contains(g)) else {
                break;
            };
            ranking.push(next);
            left.retain(|g| *g != next);
        }
        rows.push(Row::new(
            check,
            "server-order",
            format!("{detail}; its order: {}", names(&ranking, " > ")),
        ));
    }
}
