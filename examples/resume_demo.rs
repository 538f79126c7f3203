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
use tls_resumption::kdf::tls12::{key_block, MasterSecret, Random};
use tls_resumption::keylog::KeyLog;
use tls_resumption::store::{
    ClientSessionStore, ClientTls12Session, ClientTls13Ticket, MemoryClientStore, StoreError,
};
use tls_resumption::ticket::{Exposure, KeyState, RotatingSealer, Schedule};
use tls_resumption::time::{Clock, ManualClock, SystemClock, Timestamp};
use tls_resumption::verify::PinnedCertificates;
use tls_resumption::{
    ClientConfig, ClientConnection, EarlyDataStatus, Error, HandshakeKind, ServerConfig,
    ServerConnection, TicketMode, Tls12CipherSuite, TlsVersion,
};

const CERT_PEM: &[u8] = include_bytes!("../tests/data/pki/server.pem");
const KEY_PEM: &[u8] = include_bytes!("../tests/data/pki/server.key");

/// How far ahead the second ticket-key report looks.
pub const LATER: Duration = Duration::from_secs(150 * 60);

/// What the 0-RTT mode sends as early data.
const EARLY_DATA: &[u8] = b"GET / (early)";

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
    /// Digest of the client's application traffic secret (TLS 1.3), or of the client's write
    /// key and IV from the key block (TLS 1.2).
    pub client_keys: String,
    /// The same for the server.
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
    /// The same report [`LATER`] on, with no traffic meanwhile: the ring after rotations.
    pub exposure_later: Exposure,
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
    Tls12SessionId,
    Tls12Ticket,
    PskDheKe,
    PskKe,
    ZeroRtt,
}

impl Mode {
    const ALL: [Mode; 5] = [
        Mode::Tls12SessionId,
        Mode::Tls12Ticket,
        Mode::PskDheKe,
        Mode::PskKe,
        Mode::ZeroRtt,
    ];

    fn is_tls12(self) -> bool {
        matches!(self, Mode::Tls12SessionId | Mode::Tls12Ticket)
    }

    fn name(self) -> &'static str {
        match self {
            Mode::Tls12SessionId => "TLS 1.2 session ID",
            Mode::Tls12Ticket => "TLS 1.2 ticket",
            Mode::PskDheKe => "TLS 1.3 psk_dhe_ke",
            Mode::PskKe => "TLS 1.3 psk_ke",
            Mode::ZeroRtt => "TLS 1.3 0-RTT",
        }
    }

    fn secret_name(self) -> &'static str {
        if self.is_tls12() {
            "master"
        } else {
            "PSK"
        }
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
        Mode::Tls12SessionId | Mode::Tls12Ticket => {
            client = client
                .with_versions(&[TlsVersion::Tls12])
                .with_tls12_suites(&[TLS12_SUITE])
                // Session ID mode: the client offers no ticket. Ticket mode: the server keeps
                // no session cache, so only the ticket can resume.
                .with_tls12_tickets(matches!(mode, Mode::Tls12Ticket));
            if matches!(mode, Mode::Tls12Ticket) {
                server = server.with_session_cache(None);
            }
        }
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
/// Everything the client sends is appended to `wire`.
fn pump(
    client: &mut ClientConnection,
    server: &mut ServerConnection,
    now: Timestamp,
    wire: &mut Vec<u8>,
) -> Result<(), Error> {
    for _ in 0..32 {
        let mut to_server = Vec::new();
        client.write_tls(&mut to_server);
        wire.extend_from_slice(&to_server);
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

/// The one TLS 1.2 suite the demo uses, so the key block's layout is known: client write key,
/// server write key (16 bytes each), client and server implicit IVs (4 bytes each), RFC 5288 §3.
const TLS12_SUITE: Tls12CipherSuite = Tls12CipherSuite::EcdheEcdsaAes128GcmSha256;
const TLS12_KEY_BLOCK_LEN: usize = 2 * 16 + 2 * 4;

/// The server random from the ServerHello at the start of the server's first flight
/// (record header 5 bytes, handshake header 4, legacy_version 2, then the random).
fn server_random(first_flight: &[u8]) -> Result<Random, String> {
    if first_flight.first() != Some(&22) || first_flight.get(5) != Some(&2) {
        return Err("the server's first flight does not start with a ServerHello".into());
    }
    first_flight
        .get(11..43)
        .and_then(|r| r.try_into().ok())
        .ok_or_else(|| "short ServerHello".into())
}

/// Digests of the master secret, and of the client's and the server's write key and IV from
/// the key block the logged master secret and the connection's randoms give (RFC 5246 §6.3).
///
/// The recomputed client key must open the client's Finished (the first handshake record after
/// its ChangeCipherSpec, in `client_wire`): proof that these are the keys the connection used.
fn tls12_keys(
    lines: &[Line],
    server_random: &Random,
    client_wire: &[u8],
) -> Result<(String, String, String), String> {
    let (_, client_random, master) = lines
        .iter()
        .find(|(l, _, _)| l == "CLIENT_RANDOM")
        .ok_or("no CLIENT_RANDOM in the key log")?;
    let client_random: Random = client_random[..]
        .try_into()
        .map_err(|_| "client random is not 32 bytes")?;
    let master = MasterSecret::from_slice(master).map_err(|e| e.to_string())?;
    let block = key_block(
        TLS12_SUITE.hash(),
        &master,
        server_random,
        &client_random,
        TLS12_KEY_BLOCK_LEN,
    )
    .map_err(|e| e.to_string())?;
    let block = block.expose_secret();
    let client = [&block[0..16], &block[32..36]].concat();
    let server = [&block[16..32], &block[36..40]].concat();
    open_client_finished(&block[0..16], &block[32..36], client_wire)?;
    Ok((
        sha256_hex(master.expose_secret()),
        sha256_hex(&client),
        sha256_hex(&server),
    ))
}

/// Opens the client's first encrypted record — its Finished, sequence number 0 — with the
/// AES-128-GCM key and implicit IV (RFC 5288 §3: nonce = IV ‖ explicit nonce; RFC 5246
/// §6.2.3.3: additional data = seq_num ‖ type ‖ version ‖ plaintext length).
fn open_client_finished(key: &[u8], iv: &[u8], client_wire: &[u8]) -> Result<(), String> {
    use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM};
    let mut rest = client_wire;
    let mut after_ccs = false;
    while rest.len() >= 5 {
        let len = usize::from(u16::from_be_bytes([rest[3], rest[4]]));
        let record = rest.get(5..5 + len).ok_or("truncated record")?;
        if after_ccs && rest[0] == 22 {
            let explicit = record.get(..8).ok_or("short record")?;
            let nonce: [u8; 12] = [iv, explicit]
                .concat()
                .try_into()
                .map_err(|_| "bad nonce")?;
            let plain_len = len.checked_sub(8 + 16).ok_or("short record")?;
            let mut aad = [0u8; 13];
            aad[8] = 22;
            aad[9..11].copy_from_slice(&[3, 3]);
            aad[11..13]
                .copy_from_slice(&u16::try_from(plain_len).map_err(|_| "long")?.to_be_bytes());
            let key = UnboundKey::new(&AES_128_GCM, key).map_err(|_| "bad key")?;
            let mut body = record[8..].to_vec();
            let plain = LessSafeKey::new(key)
                .open_in_place(
                    Nonce::assume_unique_for_key(nonce),
                    Aad::from(aad),
                    &mut body,
                )
                .map_err(|_| "the recomputed TLS 1.2 key does not open the client's Finished")?;
            // A Finished message: type 20, 12 bytes of verify_data (RFC 5246 §7.4.9).
            return if plain.first() == Some(&20) && plain.len() == 16 {
                Ok(())
            } else {
                Err("the client's first encrypted record is not a Finished".into())
            };
        }
        after_ccs |= rest[0] == 20;
        rest = &rest[5 + len..];
    }
    Err("no encrypted client Finished on the wire".into())
}

fn connect(mode: Mode, pair: &Pair, number: usize, now: Timestamp) -> Result<Row, String> {
    let err = |e: Error| format!("{} connection {number}: {e}", mode.name());
    let mut client = ClientConnection::new(pair.client.clone(), "localhost", now).map_err(err)?;
    let mut server = ServerConnection::new(pair.server.clone());
    let mut sent_early = 0;
    if client.early_data_allowance() > 0 {
        sent_early = client.send_early_data(EARLY_DATA).map_err(err)?;
    }
    // The first round by hand, to keep the server's first flight (its ServerHello random).
    let mut wire = Vec::new();
    client.write_tls(&mut wire);
    feed(&mut server, &wire, now).map_err(err)?;
    let mut first_flight = Vec::new();
    server.write_tls(&mut first_flight);
    feed(&mut client, &first_flight, now).map_err(err)?;
    pump(&mut client, &mut server, now, &mut wire).map_err(err)?;
    client.send_plaintext(b"ping").map_err(err)?;
    server.send_plaintext(b"pong").map_err(err)?;
    pump(&mut client, &mut server, now, &mut wire).map_err(err)?;
    // Early data arrives whole when the handshake says it was accepted, and not at all otherwise.
    let accepted = matches!(
        client.handshake_kind(),
        Some(HandshakeKind::Resumed {
            early_data: EarlyDataStatus::Accepted,
            ..
        })
    );
    let early_ok = if accepted {
        server.take_early_data() == EARLY_DATA[..sent_early]
    } else {
        server.take_early_data().is_empty()
    };
    if client.take_plaintext() != b"pong" || server.take_plaintext() != b"ping" || !early_ok {
        return Err(format!("{} connection {number}: data lost", mode.name()));
    }
    client.send_close_notify().map_err(err)?;
    server.send_close_notify().map_err(err)?;
    pump(&mut client, &mut server, now, &mut wire).map_err(err)?;

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
    let (reused, client_keys, server_keys) = if mode.is_tls12() {
        let (master, client_keys, server_keys) =
            tls12_keys(&client_lines, &server_random(&first_flight)?, &wire)?;
        (Some(master), client_keys, server_keys)
    } else {
        (
            if client_kind.is_resumed() {
                taken
            } else {
                None
            },
            logged(&client_lines, "CLIENT_TRAFFIC_SECRET_0")?,
            logged(&client_lines, "SERVER_TRAFFIC_SECRET_0")?,
        )
    };
    Ok(Row {
        mode: mode.name(),
        number,
        resumed: client_kind.is_resumed(),
        kind: client_kind.to_string(),
        secret_name: mode.secret_name(),
        reused,
        issued,
        client_keys,
        server_keys,
        key_logs_agree: sorted_client == sorted_server,
    })
}

/// Runs every mode and returns the rows and the ticket-key report.
///
/// # Errors
/// A description of the first connection that failed.
pub fn run_demo() -> Result<Demo, String> {
    // Real time as the start: a TLS 1.2 session cache keeps its own (system) clock.
    let clock = Arc::new(ManualClock::new(SystemClock.now()));
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
    let exposure = sealer.exposure();
    clock.advance(LATER);
    Ok(Demo {
        rows,
        exposure,
        exposure_later: sealer.exposure(),
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
                Some(d) if row.resumed => (format!("{} {}", row.secret_name, short(d)), "36"),
                Some(d) => (format!("— (makes {} {})", row.secret_name, short(d)), ""),
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
        "\nFingerprints: first 8 hex digits of SHA-256. TLS 1.3 keys: the application traffic \
         secrets from the key log.\nTLS 1.2 keys: each side's write key + IV from \
         kdf::tls12::key_block over the key log's master secret\n(CLIENT_RANDOM line) and the \
         randoms; checked: the client's key opens the client's Finished on the wire.\nMaster \
         secrets: from the key log. PSKs: from the client session store's tickets (their public \
         `resumption_psk`).\n",
    );
    out.push_str(&style.paint("1", "\nDoes resumption reuse the keys?"));
    out.push('\n');
    out.push_str(
        "  No. It reuses a secret — in TLS 1.2 the master secret itself (same fingerprint on every \
         row of a session), in TLS 1.3\n  a one-time PSK from the previous connection's ticket — \
         and every connection derives new keys from it with fresh\n  randoms (and, in \
         psk_dhe_ke, a fresh ECDHE). TLS 1.2 resumption, psk_ke and 0-RTT data depend on the \
         reused secret\n  alone: whoever learns it (or the ticket key that seals it) can \
         decrypt those connections.\n",
    );
    out.push_str(&style.paint(
        "1",
        "\nSession-ticket keys (STEK) held by the server's RotatingSealer, now:",
    ));
    out.push('\n');
    out.push_str(&render_exposure(&demo.exposure));
    out.push_str(&style.paint(
        "1",
        &format!("\n… and {} later, after rotations:", human(LATER)),
    ));
    out.push('\n');
    out.push_str(&render_exposure(&demo.exposure_later));
    out
}

fn render_exposure(exposure: &Exposure) -> String {
    let mut out = String::new();
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
         by whoever\n  obtains these keys: for connections up to {} old; in the worst case \
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
