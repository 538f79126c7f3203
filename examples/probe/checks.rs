//! The checks: each drives a few connections and turns them into rows.

use std::sync::Arc;

#[allow(deprecated)] // ring keeps its fixed-bytes generator under a deprecated module.
use ring::test::rand::FixedByteRandom;
use tls_resumption::crypto::kx::KxGroup;
use tls_resumption::store::{ClientTls12Session, ClientTls13Ticket};
use tls_resumption::{
    ClientConfig, EarlyDataStatus, HandshakeKind, ResumptionMechanism, TlsVersion,
};

use crate::net::{connect, Done, Failure, Plan, Target};
use crate::report::{hex, Row};
use crate::store::Steered;

/// The early data the 0-RTT checks send: a request any web server may safely see twice.
pub const EARLY: &[u8] = b"GET / HTTP/1.0\r\n\r\n";

/// The probe's state: the target, the base configuration, the steered store and the unused
/// TLS 1.3 tickets received so far.
pub struct Probe {
    pub target: Target,
    pub base: ClientConfig,
    pub store: Arc<Steered>,
    pub tries: usize,
    /// Unused TLS 1.3 tickets received so far.
    pub pool: Vec<ClientTls13Ticket>,
    /// Whether the same TLS 1.3 ticket resumed twice, once that was tried.
    pub reusable: Option<bool>,
    /// Why a TLS 1.2 handshake failed only when tickets were offered, if it did.
    pub ticket_fault: Option<String>,
}

pub fn mechanism(kind: HandshakeKind) -> Option<ResumptionMechanism> {
    match kind {
        HandshakeKind::Resumed { mechanism, .. } => Some(mechanism),
        _ => None,
    }
}

fn early_status(kind: HandshakeKind) -> EarlyDataStatus {
    match kind {
        HandshakeKind::Resumed { early_data, .. } => early_data,
        _ => EarlyDataStatus::Rejected,
    }
}

/// The first 16 bytes of a ticket: the key name in the RFC 5077 §4 layout.
pub fn key_name(ticket: &[u8]) -> String {
    hex(&ticket[..ticket.len().min(16)])
}

fn alpn_text(alpn: &Option<Vec<u8>>) -> String {
    alpn.as_ref()
        .map_or("none".into(), |p| String::from_utf8_lossy(p).into_owned())
}

pub fn failure_row(check: &'static str, e: &Failure) -> Row {
    let verdict = match e {
        Failure::Unreachable(_) => "unreachable",
        Failure::Timeout => "timeout",
        Failure::Closed => "closed",
        Failure::Tls(_) => "failed",
        Failure::Io(_) => "error",
    };
    Row::new(check, verdict, e.to_string())
}

impl Probe {
    pub fn new(target: Target, base: ClientConfig, tries: usize) -> Self {
        Self {
            target,
            base,
            store: Arc::new(Steered::default()),
            tries,
            pool: Vec::new(),
            reusable: None,
            ticket_fault: None,
        }
    }

    /// A configuration for `versions` using the steered store.
    pub fn config(&self, versions: &[TlsVersion]) -> ClientConfig {
        self.base
            .clone()
            .with_versions(versions)
            .with_session_store(Some(self.store.clone() as _))
    }

    pub fn run(&self, config: &ClientConfig, plan: &Plan<'_>) -> Result<Done, Failure> {
        connect(&self.target, &Arc::new(config.clone()), plan)
    }

    /// A TLS 1.3 connection offering `ticket`; the tickets it receives go to the pool.
    pub fn tls13(
        &mut self,
        config: &ClientConfig,
        ticket: Option<ClientTls13Ticket>,
        plan: &Plan<'_>,
    ) -> Result<Done, Failure> {
        self.store.offer12(None);
        self.store.offer13(ticket);
        let done = self.run(config, plan);
        self.pool.extend(self.store.drain13());
        done
    }

    /// An unused ticket: from the pool, else from a new full handshake.
    fn fresh(&mut self) -> Result<Option<ClientTls13Ticket>, Failure> {
        if self.pool.is_empty() {
            let config = self.config(&[TlsVersion::Tls13]);
            let plan = Plan {
                collect_tickets: true,
                ..Plan::default()
            };
            self.tls13(&config, None, &plan)?;
        }
        Ok(self.pool.pop())
    }

    /// TLS 1.3 basics and the tickets of a full handshake. `Err` when the server cannot be
    /// probed at all (the rows say why).
    pub fn tls13_basics(&mut self, rows: &mut Vec<Row>) -> Result<bool, ()> {
        let config = self.config(&[TlsVersion::Tls13]);
        let plan = Plan {
            collect_tickets: true,
            ..Plan::default()
        };
        let done = match self.tls13(&config, None, &plan) {
            Ok(d) => d,
            Err(e @ (Failure::Unreachable(_) | Failure::Timeout | Failure::Closed)) => {
                rows.push(failure_row("tls13", &e));
                return Err(());
            }
            Err(e) => {
                rows.push(failure_row("tls13", &e).meaning("TLS 1.3 not negotiated"));
                return Ok(false);
            }
        };
        rows.push(Row::new(
            "tls13",
            "supported",
            format!("suite {}, ALPN {}", done.suite, alpn_text(&done.alpn)),
        ));
        let detail = match self.pool.last() {
            Some(t) => format!(
                "{} tickets after a full handshake, lifetime {} s, max_early_data {}, key name {}",
                done.tickets,
                t.state.lifetime_secs,
                t.state.max_early_data,
                key_name(&t.ticket)
            ),
            None => "no NewSessionTicket after a full handshake".into(),
        };
        let verdict = if done.tickets > 0 { "issued" } else { "none" };
        rows.push(Row::new("tls13.tickets", verdict, detail));
        Ok(true)
    }

    /// The key-exchange groups a TLS 1.3 handshake completes with, each offered alone.
    pub fn tls13_groups(&mut self, rows: &mut Vec<Row>) {
        let mut accepted = Vec::new();
        for group in KxGroup::ALL {
            let config = self.config(&[TlsVersion::Tls13]).with_groups(&[group]);
            if self.tls13(&config, None, &Plan::default()).is_ok() {
                accepted.push(format!("{group:?}"));
            }
        }
        rows.push(Row::new(
            "tls13.groups",
            format!("{}/{}", accepted.len(), KxGroup::ALL.len()),
            format!(
                "each offered alone, completes with: {}",
                accepted.join(", ")
            ),
        ));
    }

    /// A full TLS 1.2 handshake with `config`; when it fails in TLS and the same handshake
    /// without the session_ticket extension completes, the failure is the server's ticket's,
    /// kept in `ticket_fault`.
    fn tls12_full(&mut self, config: &ClientConfig) -> Result<Done, Failure> {
        self.store.offer12(None);
        match self.run(config, &Plan::default()) {
            Err(Failure::Tls(e)) => {
                let without = config.clone().with_tls12_tickets(false);
                let done = self
                    .run(&without, &Plan::default())
                    .map_err(|_| Failure::Tls(e.clone()))?;
                self.ticket_fault = Some(e);
                Ok(done)
            }
            other => other,
        }
    }

    /// TLS 1.2 basics (suite, EMS, ALPN). `Some(config)` is the configuration that worked.
    pub fn tls12_basics(&mut self, rows: &mut Vec<Row>) -> Option<ClientConfig> {
        let strict = self.config(&[TlsVersion::Tls12]);
        let mut ems = "yes";
        let (done, config) = match self.tls12_full(&strict) {
            Ok(done) => (done, strict),
            Err(Failure::Tls(_)) => {
                let lax = strict.clone().with_require_extended_master_secret(false);
                ems = "no";
                match self.tls12_full(&lax) {
                    Ok(done) => (done, lax),
                    Err(e) => {
                        rows.push(failure_row("tls12", &e));
                        return None;
                    }
                }
            }
            Err(e) => {
                rows.push(failure_row("tls12", &e));
                return None;
            }
        };
        self.store.drain12();
        rows.push(Row::new(
            "tls12",
            "supported",
            format!(
                "suite {}, extended master secret {ems}, ALPN {}",
                done.suite,
                alpn_text(&done.alpn)
            ),
        ));
        Some(config)
    }

    /// TLS 1.2 resumption by session ID (tickets not offered).
    pub fn tls12_session_id(&mut self, config: &ClientConfig, rows: &mut Vec<Row>) {
        let config = config.clone().with_tls12_tickets(false);
        let (hits, tried, _) = self.tls12_rate(&config, ResumptionMechanism::SessionId);
        let verdict = if hits > 0 { "resumes" } else { "no" };
        rows.push(
            Row::new(
                "tls12.session_id",
                verdict,
                format!("{hits}/{tried} resumed by session ID"),
            )
            .meaning(if hits > 0 {
                "the master secret stays in the server's cache: recorded sessions are exposed until it is evicted"
            } else {
                ""
            }),
        );
    }

    /// TLS 1.2 resumption by RFC 5077 ticket: rate, lifetime hint, renewal, key names.
    pub fn tls12_ticket(&mut self, config: &ClientConfig, rows: &mut Vec<Row>) {
        if let Some(e) = &self.ticket_fault {
            return rows.push(
                Row::new(
                    "tls12.ticket",
                    "malformed",
                    format!("the server sent a malformed ticket: {e}; the same handshake without the session_ticket extension completes"),
                )
                .meaning("clients that offer tickets cannot connect to this server"),
            );
        }
        let (hits, tried, sessions) = self.tls12_rate(config, ResumptionMechanism::Ticket);
        let tickets: Vec<&ClientTls12Session> =
            sessions.iter().filter(|s| s.ticket.is_some()).collect();
        let Some(first) = tickets.first() else {
            rows.push(Row::new("tls12.ticket", "none", "no ticket issued"));
            return;
        };
        let mut names: Vec<String> = Vec::new();
        for s in &tickets {
            let name = key_name(s.ticket.as_deref().unwrap_or_default());
            if !names.contains(&name) {
                names.push(name);
            }
        }
        let distinct = {
            let mut t: Vec<&[u8]> = tickets.iter().filter_map(|s| s.ticket.as_deref()).collect();
            t.dedup();
            t.len()
        };
        let renewed = if hits == 0 {
            "n/a"
        } else if distinct > 1 {
            "yes"
        } else {
            "no"
        };
        let verdict = if hits > 0 { "resumes" } else { "no" };
        rows.push(
            Row::new(
                "tls12.ticket",
                verdict,
                format!(
                    "{hits}/{tried} resumed by ticket; lifetime hint {} s; renewed on resumption: {renewed}; key names {}",
                    first.state.lifetime_secs,
                    names.join(" ")
                ),
            )
            .meaning("the master secret is sealed under the ticket key: whoever gets that key decrypts recorded sessions"),
        );
    }

    /// A full TLS 1.2 handshake, then `tries` resumptions each offering the latest session.
    fn tls12_rate(
        &mut self,
        config: &ClientConfig,
        want: ResumptionMechanism,
    ) -> (usize, usize, Vec<ClientTls12Session>) {
        self.store.offer13(None);
        self.store.offer12(None);
        let mut seen = Vec::new();
        if self.run(config, &Plan::default()).is_err() {
            return (0, 0, seen);
        }
        seen.extend(self.store.drain12());
        let mut hits = 0;
        for _ in 0..self.tries {
            let Some(latest) = seen.last() else { break };
            self.store.offer12(Some(latest.duplicate()));
            if let Ok(done) = self.run(config, &Plan::default()) {
                hits += usize::from(mechanism(done.kind) == Some(want));
            }
            seen.extend(self.store.drain12());
        }
        (hits, self.tries, seen)
    }

    /// TLS 1.3 resumption with psk_dhe_ke, each time with a fresh ticket.
    pub fn tls13_resume(&mut self, rows: &mut Vec<Row>) {
        let config = self.config(&[TlsVersion::Tls13]);
        let mut hits = 0;
        for _ in 0..self.tries {
            let Ok(Some(ticket)) = self.fresh() else {
                break;
            };
            let plan = Plan {
                collect_tickets: true,
                ..Plan::default()
            };
            if let Ok(done) = self.tls13(&config, Some(ticket), &plan) {
                hits += usize::from(
                    mechanism(done.kind) == Some(ResumptionMechanism::Tls13Psk { dhe: true }),
                );
            }
        }
        let verdict = if hits > 0 { "resumes" } else { "no" };
        rows.push(
            Row::new(
                "tls13.psk_dhe_ke",
                verdict,
                format!("{hits}/{} resumed with psk_dhe_ke", self.tries),
            )
            .meaning("a fresh (EC)DHE protects each connection even if the ticket key leaks later"),
        );
    }

    /// Is a resumption offering only psk_ke accepted?
    pub fn tls13_psk_ke(&mut self, rows: &mut Vec<Row>) {
        let config = self.config(&[TlsVersion::Tls13]).with_psk_ke(true);
        let ticket = match self.fresh() {
            Ok(Some(t)) => t,
            _ => return rows.push(Row::new("tls13.psk_ke", "n/a", "no ticket to offer")),
        };
        let row = match self.tls13(&config, Some(ticket), &Plan::default()) {
            Ok(done)
                if mechanism(done.kind) == Some(ResumptionMechanism::Tls13Psk { dhe: false }) =>
            {
                Row::new(
                    "tls13.psk_ke",
                    "accepted",
                    "offered only psk_ke: resumed without a key exchange",
                )
                .meaning("NOT forward secret: a leaked ticket key decrypts these whole connections")
            }
            Ok(done) => Row::new(
                "tls13.psk_ke",
                "refused",
                format!("offered only psk_ke: {}", done.kind),
            ),
            Err(e) => failure_row("tls13.psk_ke", &e).meaning("offering only psk_ke failed"),
        };
        rows.push(row);
    }

    /// The same ticket offered twice.
    pub fn tls13_reuse(&mut self, rows: &mut Vec<Row>) {
        let config = self.config(&[TlsVersion::Tls13]);
        let ticket = match self.fresh() {
            Ok(Some(t)) => t,
            _ => return rows.push(Row::new("tls13.ticket_reuse", "n/a", "no ticket to offer")),
        };
        let mut resumed = [false; 2];
        for r in &mut resumed {
            if let Ok(done) = self.tls13(&config, Some(ticket.duplicate()), &Plan::default()) {
                *r = done.kind.is_resumed();
            }
        }
        if resumed[0] {
            self.reusable = Some(resumed[1]);
        }
        let row = match resumed {
            [false, _] => Row::new("tls13.ticket_reuse", "n/a", "the ticket did not resume at all"),
            [true, true] => Row::new("tls13.ticket_reuse", "reusable", "the same ticket resumed twice")
                .meaning("tickets are not single-use: connections can be linked, and 0-RTT replay rests on other guards"),
            [true, false] => Row::new("tls13.ticket_reuse", "single-use", "the same ticket resumed once, then a full handshake"),
        };
        rows.push(row);
    }

    /// A fresh ticket allowing 0-RTT, if the server issues one.
    fn early_ticket(&mut self) -> Option<ClientTls13Ticket> {
        for _ in 0..3 {
            let t = self.fresh().ok()??;
            if t.state.max_early_data > 0 {
                return Some(t);
            }
        }
        None
    }

    /// Is 0-RTT data accepted?
    pub fn tls13_early(&mut self, rows: &mut Vec<Row>) {
        let config = self.config(&[TlsVersion::Tls13]).with_early_data(true);
        let Some(ticket) = self.early_ticket() else {
            return rows.push(Row::new(
                "tls13.early_data",
                "not-offered",
                "tickets allow no early data (max_early_data 0)",
            ));
        };
        let plan = Plan {
            early: Some(EARLY),
            ..Plan::default()
        };
        let row = match self.tls13(&config, Some(ticket), &plan) {
            Ok(done) if early_status(done.kind) == EarlyDataStatus::Accepted => Row::new(
                "tls13.early_data",
                "accepted",
                format!("{} bytes of 0-RTT data accepted", done.early_sent),
            )
            .meaning("0-RTT data is protected by the ticket's PSK alone: not forward secret"),
            Ok(done) => Row::new("tls13.early_data", "rejected", format!("{}", done.kind)),
            Err(e) => failure_row("tls13.early_data", &e),
        };
        rows.push(row);
    }

    /// The exact same first flight (ClientHello and early data) sent on a second connection.
    pub fn tls13_replay(&mut self, rows: &mut Vec<Row>) {
        let check = "tls13.early_replay";
        let Some(ticket) = self.early_ticket() else {
            return rows.push(Row::new(check, "n/a", "tickets allow no early data"));
        };
        // The same generator and the same `now` give both connections the same randoms and key
        // share, so the second one can read the server's answer to the replayed bytes. The key
        // share is then guessable, but the handshake keys also depend on the ticket's PSK,
        // which stays secret; nothing but the fixed request above is sent.
        let mut byte = [0u8; 1];
        let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut byte);
        #[allow(deprecated)] // ring keeps its fixed-bytes generator under a deprecated module
        let rng = Arc::new(FixedByteRandom {
            byte: 1 + byte[0] % 0x7f,
        });
        let config = self
            .config(&[TlsVersion::Tls13])
            .with_early_data(true)
            .with_rng(rng);
        let now = config.clock().now();
        let original = Plan {
            now: Some(now),
            early: Some(EARLY),
            ..Plan::default()
        };
        let first = match self.tls13(&config, Some(ticket.duplicate()), &original) {
            Ok(done) => done,
            Err(e) => return rows.push(failure_row(check, &e)),
        };
        if early_status(first.kind) != EarlyDataStatus::Accepted {
            return rows.push(Row::new(
                check,
                "n/a",
                "the original early data was not accepted",
            ));
        }
        let replay = Plan {
            now: Some(now),
            early: Some(EARLY),
            replay: Some(&first.first_flight),
            ..Plan::default()
        };
        let row = match self.tls13(&config, Some(ticket), &replay) {
            Ok(done) if !done.identical => {
                Row::new(check, "error", "could not rebuild the same first flight")
            }
            Ok(done) if early_status(done.kind) == EarlyDataStatus::Accepted => Row::new(
                check,
                "replayable",
                format!(
                    "the same {}-byte first flight was accepted again with its early data",
                    first.first_flight.len()
                ),
            )
            .meaning("an attacker who records 0-RTT data can make the server act on it twice"),
            Ok(done) => Row::new(
                check,
                "refused",
                format!(
                    "the same {}-byte first flight: {}",
                    first.first_flight.len(),
                    done.kind
                ),
            ),
            Err(e) => Row::new(check, "refused", format!("the replayed first flight: {e}")),
        };
        rows.push(row);
    }
}
