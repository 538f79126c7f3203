//! Measures a TLS server's session resumption and what it costs forward secrecy, from the
//! outside: which resumption mechanisms work, whether `psk_ke` (no fresh key exchange) is
//! accepted, whether tickets are single-use, whether 0-RTT data is accepted and whether a
//! byte-for-byte replay of it is accepted again.
//!
//! ```text
//! cargo run --release --example probe -- HOST:PORT [--server-name NAME]
//!     [--ca FILE | --pin FILE | --no-verify]
//!     [--alpn h2,http/1.1] [--tries K] [--timeout SECS] [--json]
//!     [--watch DURATION --every INTERVAL] [--svg FILE]
//! ```
//!
//! Each finding is a row: the check, a one-word verdict, what happened and what it means.
//! `--json` prints the same rows as one JSON document.
//!
//! TLS 1.2 also gets: a stored session ID offered beside a ticket the server cannot open
//! (does it fall back to its cache?) and beside a valid ticket of another session (which one
//! does it resume? the client holds one session's master secret at a time, so only the
//! resumed session's completes); and which key-exchange group the server picks from the same
//! groups offered in two orders (the client's first, or its own order). A NewSessionTicket the
//! client cannot read is reported as a malformed ticket when the same handshake without the
//! session_ticket extension completes.
//!
//! `--watch 1h --every 5m` (durations in `s`, `m`, `h`, or plain seconds) then, every
//! interval, makes a full handshake and resumes with a ticket kept from each earlier round:
//! the ticket key names seen (first 16 bytes of each ticket, the RFC 5077 layout) with when
//! each was first and last seen, and the age of the oldest ticket the server still accepts.
//! A progress line is shown on a terminal. `--svg FILE` draws that timeline.
//!
//! Certificates: `--ca FILE` validates the server's chain up to a CA certificate in FILE, for
//! the server name, with rustls-webpki; `--pin FILE` instead trusts exactly the end-entity
//! certificates in FILE (the crate's `PinnedCertificates`); `--no-verify` accepts any
//! certificate and the report says "certificate not verified".
//!
//! Every connection has a deadline (`--timeout`, 3 s by default): an unreachable host, a port
//! that does not speak TLS, a server closing mid-handshake or one that stalls each end as a row.

#[path = "probe/checks.rs"]
mod checks;
#[path = "probe/net.rs"]
mod net;
#[path = "probe/report.rs"]
mod report;
#[path = "probe/store.rs"]
mod store;
#[path = "probe/timeline.rs"]
mod timeline;
#[path = "probe/tls12.rs"]
mod tls12;
#[path = "probe/watch.rs"]
mod watch;
#[path = "probe/webpki.rs"]
mod webpki_verifier;

use std::net::ToSocketAddrs;
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use tls_resumption::time::Timestamp;
use tls_resumption::verify::{CertificateError, PinnedCertificates, ServerCertVerifier};
use tls_resumption::ClientConfig;

use checks::Probe;
use report::Row;

/// Accepts every certificate: for probing a server whose certificate cannot be checked here.
#[derive(Debug)]
struct NoVerify;

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &str,
        _: Timestamp,
    ) -> Result<(), CertificateError> {
        Ok(())
    }
}

/// The command line.
struct Args {
    target: String,
    name: Option<String>,
    ca: Option<String>,
    pin: Option<String>,
    no_verify: bool,
    alpn: Vec<String>,
    tries: usize,
    timeout: Duration,
    json: bool,
    watch: Option<(Duration, Duration)>,
    svg: Option<String>,
}

/// `90`, `90s`, `5m`, `2h` or `0.5s`.
fn duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = match text.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => text.split_at(i),
        None => (text, "s"),
    };
    let scale = match unit {
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        other => return Err(format!("{text}: unknown unit {other}")),
    };
    let value: f64 = number.parse().map_err(|e| format!("{text}: {e}"))?;
    Duration::try_from_secs_f64(value * scale).map_err(|e| format!("{text}: {e}"))
}

fn parse() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut a = Args {
        target: String::new(),
        name: None,
        ca: None,
        pin: None,
        no_verify: false,
        alpn: Vec::new(),
        tries: 3,
        timeout: Duration::from_secs(3),
        json: false,
        watch: None,
        svg: None,
    };
    let (mut watch, mut every) = (None, None);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--server-name" => a.name = Some(value()?),
            "--ca" => a.ca = Some(value()?),
            "--pin" => a.pin = Some(value()?),
            "--no-verify" => a.no_verify = true,
            "--alpn" => a.alpn = value()?.split(',').map(str::to_owned).collect(),
            "--tries" => a.tries = value()?.parse().map_err(|e| format!("--tries: {e}"))?,
            "--timeout" => {
                let secs: f64 = value()?.parse().map_err(|e| format!("--timeout: {e}"))?;
                a.timeout =
                    Duration::try_from_secs_f64(secs).map_err(|e| format!("--timeout: {e}"))?;
            }
            "--json" => a.json = true,
            "--watch" => watch = Some(duration(&value()?)?),
            "--every" => every = Some(duration(&value()?)?),
            "--svg" => a.svg = Some(value()?),
            other if other.starts_with("--") => return Err(format!("unknown argument {other}")),
            other => a.target = other.to_owned(),
        }
    }
    a.watch = match (watch, every) {
        (Some(w), Some(e)) if !e.is_zero() => Some((w, e)),
        (None, None) => None,
        _ => return Err("--watch DURATION goes with --every INTERVAL (non-zero)".into()),
    };
    if a.svg.is_some() && a.watch.is_none() {
        return Err("--svg draws the --watch timeline: give --watch and --every".into());
    }
    if a.target.is_empty() {
        return Err("HOST:PORT is required".into());
    }
    if usize::from(a.ca.is_some()) + usize::from(a.pin.is_some()) + usize::from(a.no_verify) != 1 {
        return Err("give exactly one of --ca FILE, --pin FILE and --no-verify".into());
    }
    Ok(a)
}

fn main() {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("probe: {e}");
            std::process::exit(2);
        }
    };
    let rows = match probe(&args) {
        Ok(rows) | Err(rows) => rows,
    };
    if args.json {
        print!("{}", report::json(&args.target, &rows));
    } else {
        print!("{}", report::text(&args.target, &rows));
    }
}

/// All the checks; `Err` carries the rows gathered before the server turned out unprobeable.
fn probe(args: &Args) -> Result<Vec<Row>, Vec<Row>> {
    let mut rows = Vec::new();
    let verifier = match verifier(args) {
        Ok((verifier, row)) => {
            rows.push(row);
            verifier
        }
        Err(row) => {
            rows.push(row);
            return Err(rows);
        }
    };
    let addr = match args.target.to_socket_addrs().map(|mut a| a.next()) {
        Ok(Some(addr)) => addr,
        Ok(None) => {
            rows.push(Row::new(
                "connect",
                "unreachable",
                "the name has no address",
            ));
            return Err(rows);
        }
        Err(e) => {
            rows.push(Row::new(
                "connect",
                "unreachable",
                format!("{}: {e}", args.target),
            ));
            return Err(rows);
        }
    };
    let host = args
        .target
        .rsplit_once(':')
        .map_or(args.target.as_str(), |(h, _)| h);
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| host.trim_matches(['[', ']']).to_owned());
    let target = net::Target {
        addr,
        name,
        timeout: args.timeout,
    };
    let base = ClientConfig::new(verifier).with_alpn_protocols(&args.alpn);
    let mut probe = Probe::new(target, base, args.tries);
    let tls13 = probe.tls13_basics(&mut rows).map_err(|()| rows.clone())?;
    if tls13 {
        probe.tls13_groups(&mut rows);
        probe.tls13_resume(&mut rows);
        probe.tls13_psk_ke(&mut rows);
        probe.tls13_reuse(&mut rows);
        probe.tls13_early(&mut rows);
        probe.tls13_replay(&mut rows);
    }
    let tls12 = probe.tls12_basics(&mut rows);
    if let Some(config) = &tls12 {
        probe.tls12_session_id(config, &mut rows);
        probe.tls12_ticket(config, &mut rows);
        probe.tls12_id_with_ticket(config, &mut rows);
        probe.tls12_groups(config, &mut rows);
    }
    if let Some((duration, every)) = args.watch {
        let tl = watch::watch(&mut probe, tls13, tls12.as_ref(), duration, every);
        rows.extend(watch::rows(&tl));
        if let Some(file) = &args.svg {
            let title = format!("ticket keys and exposure of {}", args.target);
            let row = match std::fs::write(file, timeline::svg(&title, &tl)) {
                Ok(()) => Row::new("watch.svg", "written", file.clone()),
                Err(e) => Row::new("watch.svg", "error", format!("{file}: {e}")),
            };
            rows.push(row);
        }
    }
    Ok(rows)
}

/// The verifier the command line asks for, and the row saying what it checks.
fn verifier(args: &Args) -> Result<(Arc<dyn ServerCertVerifier>, Row), Row> {
    let error = |e: String| Row::new("certificate", "error", e);
    if let Some(file) = &args.ca {
        let validator = webpki_verifier::PathValidator::new(&load_ca(file).map_err(error)?)
            .map_err(|e| error(format!("{file}: {e}")))?;
        let row = Row::new(
            "certificate",
            "verified",
            format!("chain validated up to a CA in {file}"),
        );
        return Ok((Arc::new(validator), row));
    }
    if let Some(file) = &args.pin {
        let pinned = PinnedCertificates::new(load_ca(file).map_err(error)?);
        let row = Row::new(
            "certificate",
            "pinned",
            format!("end-entity certificate must be one of {file}"),
        );
        return Ok((Arc::new(pinned), row));
    }
    let row = Row::new(
        "certificate",
        "not-verified",
        "certificate not verified (--no-verify)",
    );
    Ok((Arc::new(NoVerify), row))
}

fn load_ca(file: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(file)
        .map_err(|e| format!("{file}: {e}"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{file}: {e}"))?;
    if certs.is_empty() {
        return Err(format!("{file}: no certificate"));
    }
    Ok(certs)
}
