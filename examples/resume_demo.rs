//! Every resumption mode, in memory, our client against our server: one table row per
//! connection showing which secret is reused and that every connection's keys are new.
//!
//! ```text
//! cargo run --release --example resume_demo
//! ```
//!
//! Fingerprints are the first 8 hex digits of SHA-256 over the secret. Traffic secrets come from
//! the key log (a [`KeyLog`] that keeps lines in memory); the TLS 1.3 resumption PSK comes from
//! the client session store, whose tickets carry it publicly (`Tls13Session::resumption_psk`).
//! No secret is printed, only fingerprints. Colours only when stdout is a terminal.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ring::digest::{digest, SHA256};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tls_resumption::antireplay::SingleUseTickets;
use tls_resumption::keylog::KeyLog;
use tls_resumption::store::{
    ClientSessionStore, ClientTls12Session, ClientTls13Ticket, MemoryClientStore, StoreError,
};
use tls_resumption::ticket::{Exposure, KeyState, RotatingSealer, Schedule};
use tls_resumption::time::{Clock, ManualClock, Timestamp};
use tls_resumption::verify::PinnedCertificates;
use tls_resumption::{
    ClientConfig, ClientConnection, Error, ServerConfig, ServerConnection, TicketMode,
};

const CERT_PEM: &[u8] = include_bytes!("../tests/data/pki/server.pem");
const KEY_PEM: &[u8] = include_bytes!("../tests/data/pki/server.key");

/// Connections per mode: one full handshake, then resumptions.
pub const CONNECTIONS_PER_MODE: usize = 3;

/// One connection of the demo, as the table shows it. Digests are whole SHA-256 hex strings;
/// the table prints their first 8 digits.
#[derive(Clone, Debug)]
pub struct Row {
    /// The resumption mode the pair is configured for.
    pub mode: &'static str,
    /// 1-based connection number within the mode.
    pub number: usize,
    /// Whether both sides report a resumed handshake.
    pub resumed: bool,
    /// The handshake kind in words, as the client reports it.
    pub kind: String,
    /// What the reused secret is called in this mode.
    pub secret_name: &'static str,
    /// Digest of the secret this connection reused (resumed connections), or of the one it
    /// made for later connections to reuse (TLS 1.2 full handshakes).
    pub reused: Option<String>,
    /// Digests of the resumption PSKs of the TLS 1.3 tickets this connection received.
    pub issued: Vec<String>,
    /// Digest of the client's application traffic secret (TLS 1.3) or of the key block (TLS 1.2).
    pub client_keys: String,
    /// Digest of the server's application traffic secret (TLS 1.3); equal to `client_keys`
    /// for TLS 1.2, whose key block holds both directions.
    pub server_keys: String,
    /// Whether the client's and the server's key logs hold the same lines.
    pub key_logs_agree: bool,
}

/// Everything the demo found.
#[derive(Debug)]
pub struct Demo {
    /// One row per connection, mode by mode.
    pub rows: Vec<Row>,
    /// The ticket-key report of the server's [`RotatingSealer`] at the end of the run.
    pub exposure: Exposure,
}

/// A key log that keeps every line in memory.
#[derive(Debug, Default)]
pub struct MemoryKeyLog(Mutex<Vec<Line>>);

/// One key-log line: label, client random, secret.
pub type Line = (String, Vec<u8>, Vec<u8>);

impl MemoryKeyLog {
    /// Removes and returns every line logged so far.
    fn drain(&self) -> Vec<Line> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl KeyLog for MemoryKeyLog {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push((
            label.to_owned(),
            client_random.to_vec(),
            secret.to_vec(),
        ));
    }
}

/// A client store that notes the fingerprints of the PSKs going in and out.
#[derive(Debug, Default)]
struct WatchedStore {
    inner: MemoryClientStore,
    inserted: Mutex<Vec<String>>,
    taken: Mutex<Option<String>>,
}

impl WatchedStore {
    fn take_notes(&self) -> (Option<String>, Vec<String>) {
        let taken = self.taken.lock().unwrap_or_else(|e| e.into_inner()).take();
        let inserted =
            std::mem::take(&mut *self.inserted.lock().unwrap_or_else(|e| e.into_inner()));
        (taken, inserted)
    }
}

impl ClientSessionStore for WatchedStore {
    fn set_tls12_session(&self, name: &str, session: ClientTls12Session) -> Result<(), StoreError> {
        self.inner.set_tls12_session(name, session)
    }

    fn take_tls12_session(
        &self,
        name: &str,
        now: Timestamp,
    ) -> Result<Option<ClientTls12Session>, StoreError> {
        self.inner.take_tls12_session(name, now)
    }

    fn insert_tls13_ticket(&self, name: &str, ticket: ClientTls13Ticket) -> Result<(), StoreError> {
        let fp = sha256_hex(ticket.state.resumption_psk.expose_secret());
        self.inserted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(fp);
        self.inner.insert_tls13_ticket(name, ticket)
    }

    fn take_tls13_ticket(
        &self,
        name: &str,
        now: Timestamp,
    ) -> Result<Option<ClientTls13Ticket>, StoreError> {
        let ticket = self.inner.take_tls13_ticket(name, now)?;
        *self.taken.lock().unwrap_or_else(|e| e.into_inner()) = ticket
            .as_ref()
            .map(|t| sha256_hex(t.state.resumption_psk.expose_secret()));
        Ok(ticket)
    }
}

/// The whole SHA-256 of `bytes`, in hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    digest(&SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A demo mode: how the pair is configured.
#[derive(Clone, Copy, Debug)]
enum Mode {
    PskDheKe,
    PskKe,
    ZeroRtt,
}

impl Mode {
    const ALL: [Mode; 3] = [Mode::PskDheKe, Mode::PskKe, Mode::ZeroRtt];

    fn name(self) -> &'static str {
        match self {
            Mode::PskDheKe => "TLS 1.3 psk_dhe_ke",
            Mode::PskKe => "TLS 1.3 psk_ke",
            Mode::ZeroRtt => "TLS 1.3 0-RTT",
        }
    }

    fn secret_name(self) -> &'static str {
        "PSK"
    }
}

struct Pair {
    client: Arc<ClientConfig>,
    server: Arc<ServerConfig>,
    store: Arc<WatchedStore>,
    client_log: Arc<MemoryKeyLog>,
    server_log: Arc<MemoryKeyLog>,
}

fn pair(mode: Mode, base: &ServerConfig, clock: &Arc<ManualClock>) -> Result<Pair, String> {
    let cert = CertificateDer::from_pem_slice(CERT_PEM).map_err(|e| e.to_string())?;
    let store = Arc::new(WatchedStore::default());
    let client_log = Arc::new(MemoryKeyLog::default());
    let server_log = Arc::new(MemoryKeyLog::default());
    let mut client = ClientConfig::new(Arc::new(PinnedCertificates::new([cert])))
        .with_session_store(Some(store.clone()))
        .with_clock(clock.clone())
        .with_key_log(client_log.clone());
    let mut server = base.clone().with_key_log(server_log.clone());
    match mode {
        Mode::PskDheKe => {}
        Mode::PskKe => {
            client = client.with_psk_ke(true);
            server = server.with_psk_ke(true);
        }
        Mode::ZeroRtt => {
            client = client.with_early_data(true);
            let guard = SingleUseTickets::new(1024, Duration::from_secs(7 * 24 * 3600));
            server = server.with_early_data(16 * 1024, Arc::new(guard));
        }
    }
    Ok(Pair {
        client: Arc::new(client),
        server: Arc::new(server),
        store,
        client_log,
        server_log,
    })
}

/// The two calls the byte pump needs, for either end.
trait Endpoint {
    fn read(&mut self, bytes: &[u8]) -> usize;
    fn step(&mut self, now: Timestamp) -> Result<(), Error>;
}

impl Endpoint for ClientConnection {
    fn read(&mut self, bytes: &[u8]) -> usize {
        self.read_tls(bytes)
    }
    fn step(&mut self, now: Timestamp) -> Result<(), Error> {
        self.process(now)
    }
}

impl Endpoint for ServerConnection {
    fn read(&mut self, bytes: &[u8]) -> usize {
        self.read_tls(bytes)
    }
    fn step(&mut self, now: Timestamp) -> Result<(), Error> {
        self.process(now)
    }
}

/// Moves bytes between the pair until neither has anything to say (bounded, so a broken pair
/// cannot spin).
fn pump(
    client: &mut ClientConnection,
    server: &mut ServerConnection,
    now: Timestamp,
) -> Result<(), Error> {
    for _ in 0..32 {
        let mut to_server = Vec::new();
        client.write_tls(&mut to_server);
        feed(server, &to_server, now)?;
        let mut to_client = Vec::new();
        server.write_tls(&mut to_client);
        feed(client, &to_client, now)?;
        if to_server.is_empty() && to_client.is_empty() {
            return Ok(());
        }
    }
    Err(Error::InvalidState("the pair did not settle"))
}

fn feed(end: &mut impl Endpoint, mut bytes: &[u8], now: Timestamp) -> Result<(), Error> {
    end.step(now)?;
    while !bytes.is_empty() {
        let n = end.read(bytes);
        end.step(now)?;
        if n == 0 {
            return Err(Error::InvalidState("a side stopped reading"));
        }
        bytes = &bytes[n..];
    }
    Ok(())
}

fn logged(lines: &[Line], label: &str) -> Result<String, String> {
    lines
        .iter()
        .find(|(l, _, _)| l == label)
        .map(|(_, _, secret)| sha256_hex(secret))
        .ok_or_else(|| format!("no {label} in the key log"))
}

fn connect(mode: Mode, pair: &Pair, number: usize, now: Timestamp) -> Result<Row, String> {
    let err = |e: Error| format!("{} connection {number}: {e}", mode.name());
    let mut client = ClientConnection::new(pair.client.clone(), "localhost", now).map_err(err)?;
    let mut server = ServerConnection::new(pair.server.clone());
    if client.early_data_allowance() > 0 {
        client.send_early_data(b"GET / (early)").map_err(err)?;
    }
    pump(&mut client, &mut server, now).map_err(err)?;
    client.send_plaintext(b"ping").map_err(err)?;
    server.send_plaintext(b"pong").map_err(err)?;
    pump(&mut client, &mut server, now).map_err(err)?;
    if client.take_plaintext() != b"pong" || server.take_plaintext() != b"ping" {
        return Err(format!("{} connection {number}: data lost", mode.name()));
    }
    client.send_close_notify().map_err(err)?;
    server.send_close_notify().map_err(err)?;
    pump(&mut client, &mut server, now).map_err(err)?;

    let client_kind = client.handshake_kind().ok_or("no handshake kind")?;
    let server_kind = server.handshake_kind().ok_or("no handshake kind")?;
    if client_kind != server_kind {
        return Err(format!(
            "the sides disagree: {client_kind} vs {server_kind}"
        ));
    }
    let client_lines = pair.client_log.drain();
    let server_lines = pair.server_log.drain();
    let mut sorted_client = client_lines.clone();
    let mut sorted_server = server_lines;
    sorted_client.sort();
    sorted_server.sort();
    let (taken, issued) = pair.store.take_notes();
    Ok(Row {
        mode: mode.name(),
        number,
        resumed: client_kind.is_resumed(),
        kind: client_kind.to_string(),
        secret_name: mode.secret_name(),
        reused: if client_kind.is_resumed() {
            taken
        } else {
            None
        },
        issued,
        client_keys: logged(&client_lines, "CLIENT_TRAFFIC_SECRET_0")?,
        server_keys: logged(&client_lines, "SERVER_TRAFFIC_SECRET_0")?,
        key_logs_agree: sorted_client == sorted_server,
    })
}

/// Runs every mode and returns the rows and the ticket-key report.
///
/// # Errors
/// A description of the first connection that failed.
pub fn run_demo() -> Result<Demo, String> {
    let clock = Arc::new(ManualClock::new(Timestamp::from_secs(1_700_000_000)));
    let sealer = Arc::new(
        RotatingSealer::new(clock.clone(), Schedule::default()).map_err(|e| e.to_string())?,
    );
    let cert = CertificateDer::from_pem_slice(CERT_PEM).map_err(|e| e.to_string())?;
    let key = PrivateKeyDer::from_pem_slice(KEY_PEM).map_err(|e| e.to_string())?;
    let base = ServerConfig::new(vec![cert], &key)
        .map_err(|e| e.to_string())?
        .with_tickets(TicketMode::Stateless(sealer.clone()))
        .with_clock(clock.clone());
    let mut rows = Vec::new();
    for mode in Mode::ALL {
        let pair = pair(mode, &base, &clock)?;
        for number in 1..=CONNECTIONS_PER_MODE {
            rows.push(connect(mode, &pair, number, clock.now())?);
            clock.advance(Duration::from_secs(1));
        }
    }
    Ok(Demo {
        rows,
        exposure: sealer.exposure(),
    })
}

struct Style {
    on: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

fn short(digest: &str) -> &str {
    digest.get(..8).unwrap_or(digest)
}

fn pad(text: &str, width: usize) -> String {
    let fill = width.saturating_sub(text.chars().count());
    format!("{text}{}", " ".repeat(fill))
}

fn human(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, s % 3600 / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// The table, the answer and the ticket-key report, as printed.
pub fn render(demo: &Demo, colour: bool) -> String {
    let style = Style { on: colour };
    // Each cell: text and the colour code it is painted with ("" for none).
    let header = [
        "mode",
        "#",
        "full/resumed",
        "handshake kind",
        "reuses",
        "new tickets' PSKs",
        "client keys",
        "server keys",
    ];
    let mut table: Vec<Vec<(String, &str)>> = Vec::new();
    for row in &demo.rows {
        let list: Vec<&str> = row.issued.iter().map(|d| short(d)).collect();
        table.push(vec![
            (row.mode.to_owned(), ""),
            (row.number.to_string(), ""),
            if row.resumed {
                ("resumed".to_owned(), "32")
            } else {
                ("full".to_owned(), "")
            },
            (row.kind.clone(), ""),
            match &row.reused {
                Some(d) => (format!("{} {}", row.secret_name, short(d)), "36"),
                None => ("—".to_owned(), ""),
            },
            (list.join(","), ""),
            (short(&row.client_keys).to_owned(), "33"),
            (short(&row.server_keys).to_owned(), "33"),
        ]);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            table
                .iter()
                .map(|r| r[i].0.chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    let head: Vec<String> = header
        .iter()
        .zip(&widths)
        .map(|(h, w)| pad(h, *w))
        .collect();
    out.push_str(style.paint("1", head.join("  ").trim_end()).as_str());
    out.push('\n');
    for row in &table {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|((text, code), w)| {
                let padded = pad(text, *w);
                if code.is_empty() {
                    padded
                } else {
                    style.paint(code, &padded)
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out.push_str(
        "\nFingerprints: first 8 hex digits of SHA-256. Keys: the application traffic secrets \
         from the key log.\nPSKs: from the client session store's tickets (their public \
         `resumption_psk`), not from the key log.\n",
    );
    out.push_str(&style.paint("1", "\nDoes resumption reuse the keys?"));
    out.push('\n');
    out.push_str(
        "  No. It reuses a secret — in TLS 1.3 a one-time resumption PSK from the previous \
         connection's ticket —\n  and every connection derives new traffic keys from it with \
         fresh randoms (and, in psk_dhe_ke, a fresh ECDHE).\n  psk_ke and 0-RTT early data \
         depend on the PSK alone: whoever learns the PSK (or the ticket key) can decrypt them.\n",
    );
    out.push_str(&render_exposure(&demo.exposure, &style));
    out
}

fn render_exposure(exposure: &Exposure, style: &Style) -> String {
    let mut out = style.paint(
        "1",
        "\nSession-ticket keys (STEK) held by the server's RotatingSealer:",
    );
    out.push('\n');
    for key in &exposure.keys {
        let name: String = key
            .name
            .iter()
            .take(4)
            .map(|b| format!("{b:02x}"))
            .collect();
        let state = match key.state {
            KeyState::Staged => "staged (decrypts, not yet sealing)",
            KeyState::Active => "active (seals new tickets)",
            KeyState::DecryptOnly => "decrypt-only",
        };
        let age = if key.state == KeyState::Staged {
            format!(
                "activates in {}",
                human(key.activates_at.saturating_duration_since(exposure.now))
            )
        } else {
            format!("age {}", human(key.age))
        };
        let erase = human(key.erase_at.saturating_duration_since(exposure.now));
        out.push_str(&format!(
            "  key {name}…  {state:<36} {age:<20} erased in {erase}\n"
        ));
    }
    out.push_str(&format!(
        "  A recorded connection's ticket can be opened, and its PSK or master secret recovered, \
         by whoever\n  obtains these keys: now for connections up to {} old; in the worst case \
         for {} after it was made.\n",
        human(exposure.oldest_recoverable),
        human(exposure.longest_exposure),
    ));
    out
}

#[allow(dead_code)] // `main` is unused when the tests include this file.
fn main() {
    match run_demo() {
        Ok(demo) => print!("{}", render(&demo, std::io::stdout().is_terminal())),
        Err(e) => {
            eprintln!("resume_demo: {e}");
            std::process::exit(1);
        }
    }
}
