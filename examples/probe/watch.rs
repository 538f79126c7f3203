//! Exposure over time: every interval a full handshake (which ticket key names appear) and a
//! resumption with each ticket kept from earlier rounds (how old a ticket the server still
//! accepts).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use tls_resumption::store::{ClientTls12Session, ClientTls13Ticket};
use tls_resumption::{ClientConfig, TlsVersion};

use crate::checks::{key_name, Probe};
use crate::net::Plan;
use crate::report::Row;
use crate::timeline::Timeline;

struct Kept13 {
    issued: f64,
    tickets: Vec<ClientTls13Ticket>,
}

struct Kept12 {
    issued: f64,
    session: ClientTls12Session,
}

/// Watches for `duration`, a round every `every`; `tls13` says whether to use TLS 1.3 and
/// `tls12` is the TLS 1.2 configuration that worked, if any.
pub fn watch(
    probe: &mut Probe,
    tls13: bool,
    tls12: Option<&ClientConfig>,
    duration: Duration,
    every: Duration,
) -> Timeline {
    let progress = std::io::stderr().is_terminal();
    let start = Instant::now();
    let mut tl = Timeline {
        every: every.as_secs_f64(),
        ..Timeline::default()
    };
    let (mut kept13, mut kept12): (Vec<Kept13>, Vec<Kept12>) = (Vec::new(), Vec::new());
    let config13 = probe.config(&[TlsVersion::Tls13]);
    let mut round = 0u32;
    loop {
        let now = start.elapsed().as_secs_f64();
        if tls13 {
            retry13(probe, &config13, &mut kept13, &mut tl, now);
            full13(probe, &config13, &mut kept13, &mut tl, now);
        }
        if let Some(config) = tls12 {
            retry12(probe, config, &mut kept12, &mut tl, now);
            full12(probe, config, &mut kept12, &mut tl, now);
        }
        tl.span = start.elapsed().as_secs_f64();
        if progress {
            eprint!(
                "\rwatching: {:.0}/{:.0} s, {} key names, oldest accepted {}   ",
                tl.span,
                duration.as_secs_f64(),
                tl.keys.len(),
                tl.oldest().map_or("-".into(), |a| format!("{a:.1} s"))
            );
            let _ = std::io::stderr().flush();
        }
        round += 1;
        let next = every.saturating_mul(round);
        if next >= duration {
            break;
        }
        if let Some(wait) = next.checked_sub(start.elapsed()) {
            std::thread::sleep(wait);
        }
    }
    if progress {
        eprintln!();
    }
    tl
}

/// Resumes with a ticket of each earlier round, oldest first; drops those refused.
fn retry13(
    probe: &mut Probe,
    config: &ClientConfig,
    kept: &mut Vec<Kept13>,
    tl: &mut Timeline,
    now: f64,
) {
    let reusable = probe.reusable != Some(false);
    for k in kept.iter_mut() {
        let ticket = if reusable {
            k.tickets.first().map(ClientTls13Ticket::duplicate)
        } else {
            k.tickets.pop()
        };
        let Some(ticket) = ticket else { continue };
        let age = now - k.issued;
        let resumed = probe
            .tls13(
                config,
                Some(ticket),
                &Plan {
                    collect_tickets: true,
                    ..Plan::default()
                },
            )
            .is_ok_and(|d| d.kind.is_resumed());
        if resumed {
            tl.oldest13 = Some(tl.oldest13.map_or(age, |o| o.max(age)));
        } else {
            tl.first_refused = Some(tl.first_refused.map_or(age, |r| r.min(age)));
            k.tickets.clear();
        }
    }
    kept.retain(|k| !k.tickets.is_empty());
    for t in std::mem::take(&mut probe.pool) {
        tl.saw(key_name(&t.ticket), now);
    }
}

fn full13(
    probe: &mut Probe,
    config: &ClientConfig,
    kept: &mut Vec<Kept13>,
    tl: &mut Timeline,
    now: f64,
) {
    let plan = Plan {
        collect_tickets: true,
        ..Plan::default()
    };
    if probe.tls13(config, None, &plan).is_err() {
        return;
    }
    let tickets = std::mem::take(&mut probe.pool);
    for t in &tickets {
        tl.saw(key_name(&t.ticket), now);
        tl.advertised = Some(t.state.lifetime_secs);
    }
    if !tickets.is_empty() {
        kept.push(Kept13 {
            issued: now,
            tickets,
        });
    }
}

fn retry12(
    probe: &mut Probe,
    config: &ClientConfig,
    kept: &mut Vec<Kept12>,
    tl: &mut Timeline,
    now: f64,
) {
    kept.retain(|k| {
        let age = now - k.issued;
        probe.store.offer13(None);
        probe.store.offer12(Some(k.session.duplicate()));
        let resumed = probe
            .run(config, &Plan::default())
            .is_ok_and(|d| d.kind.is_resumed());
        for s in probe.store.drain12() {
            if let Some(t) = &s.ticket {
                tl.saw(key_name(t), now);
            }
        }
        if resumed {
            tl.oldest12 = Some(tl.oldest12.map_or(age, |o| o.max(age)));
        } else {
            tl.first_refused = Some(tl.first_refused.map_or(age, |r| r.min(age)));
        }
        resumed
    });
}

fn full12(
    probe: &mut Probe,
    config: &ClientConfig,
    kept: &mut Vec<Kept12>,
    tl: &mut Timeline,
    now: f64,
) {
    probe.store.offer13(None);
    probe.store.offer12(None);
    if probe.run(config, &Plan::default()).is_err() {
        return;
    }
    for session in probe.store.drain12() {
        if let Some(t) = &session.ticket {
            tl.saw(key_name(t), now);
            if tl.advertised.is_none() {
                tl.advertised = Some(session.state.lifetime_secs);
            }
            kept.push(Kept12 {
                issued: now,
                session,
            });
        }
    }
}

/// The watch as rows.
pub fn rows(tl: &Timeline) -> Vec<Row> {
    let names: Vec<String> = tl
        .keys
        .iter()
        .map(|k| {
            format!(
                "{} seen {:.1}..{:.1} s (alive >= {:.1} s)",
                k.name,
                k.first,
                k.last,
                k.last - k.first
            )
        })
        .collect();
    let keys = Row::new(
        "watch.key_names",
        tl.keys.len().to_string(),
        if names.is_empty() { "no tickets seen".into() } else { names.join("; ") },
    )
    .meaning("each ticket key name is a key that decrypts every ticket it sealed; first..last is a lower bound on how long it was used");
    let advertised = tl.advertised.map_or("none".into(), |l| format!("{l} s"));
    let refused = tl.first_refused.map_or("none refused".into(), |r| {
        format!("first refused at age {r:.1} s")
    });
    let fmt = |o: Option<f64>| o.map_or("-".into(), |a| format!("{a:.1} s"));
    let oldest = Row::new(
        "watch.oldest_accepted",
        tl.oldest().map_or("none".into(), |a| format!("{a:.1}s")),
        format!(
            "oldest ticket still accepted: TLS 1.3 {}, TLS 1.2 {}; {refused}; advertised lifetime {advertised}; watched {:.1} s every {:.1} s",
            fmt(tl.oldest13),
            fmt(tl.oldest12),
            tl.span,
            tl.every
        ),
    )
    .meaning("a recorded TLS 1.2, psk_ke or 0-RTT connection stays decryptable by whoever obtains the server's current keys for at least this long");
    vec![keys, oldest]
}
