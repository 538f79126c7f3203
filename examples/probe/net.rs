//! One TLS connection to the probed server, driven to the end of its handshake under a
//! deadline, optionally sending a recorded first flight instead of its own.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tls_resumption::crypto::kx::KxGroup;
use tls_resumption::time::Timestamp;
use tls_resumption::{ClientConfig, ClientConnection, ConnectOptions, HandshakeKind, TlsVersion};

/// Where and how to connect.
#[derive(Clone, Debug)]
pub struct Target {
    /// The resolved server address.
    pub addr: SocketAddr,
    /// The name sent as SNI and checked against the certificate.
    pub name: String,
    /// The deadline of each connection, from TCP connect to the end of the handshake.
    pub timeout: Duration,
}

/// What one connection should do beyond a handshake.
#[derive(Default)]
pub struct Plan<'a> {
    /// The `now` the connection starts at (the ticket age is computed from it); `None`
    /// reads the configured clock.
    pub now: Option<Timestamp>,
    /// 0-RTT data to send if the offered ticket allows it.
    pub early: Option<&'a [u8]>,
    /// Send these bytes as the first flight instead of the connection's own (a replay).
    pub replay: Option<&'a [u8]>,
    /// After the handshake, wait briefly for TLS 1.3 NewSessionTickets.
    pub collect_tickets: bool,
    /// Offer the TLS 1.2 session's own ID beside its ticket, not a random one.
    pub id_with_ticket: bool,
}

/// How a completed handshake went.
#[derive(Debug)]
pub struct Done {
    pub kind: HandshakeKind,
    pub suite: String,
    pub alpn: Option<Vec<u8>>,
    pub tickets: usize,
    /// The (EC)DHE group, if the handshake made one.
    pub group: Option<KxGroup>,
    /// The first flight this connection produced itself.
    pub first_flight: Vec<u8>,
    /// With a replay: whether the connection's own first flight equalled the replayed bytes.
    pub identical: bool,
    pub early_sent: usize,
}

/// Why a connection did not complete its handshake.
#[derive(Debug)]
pub enum Failure {
    /// TCP connect failed (refused, unreachable).
    Unreachable(String),
    /// The deadline passed.
    Timeout,
    /// The server closed the connection before the handshake completed.
    Closed,
    /// The TLS layer refused what the server sent (not TLS, an alert, a bad message).
    Tls(String),
    /// A socket error after connecting.
    Io(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unreachable(e) => write!(f, "unreachable: {e}"),
            Self::Timeout => f.write_str("timed out"),
            Self::Closed => f.write_str("server closed the connection mid-handshake"),
            Self::Tls(e) => write!(f, "TLS error: {e}"),
            Self::Io(e) => write!(f, "socket error: {e}"),
        }
    }
}

/// How long to wait for more tickets once one arrived, and at most after the handshake.
const TICKET_IDLE: Duration = Duration::from_millis(40);
const TICKET_WAIT: Duration = Duration::from_millis(400);

/// Runs one connection under `target.timeout`.
pub fn connect(
    target: &Target,
    config: &Arc<ClientConfig>,
    plan: &Plan<'_>,
) -> Result<Done, Failure> {
    let deadline = Instant::now() + target.timeout;
    let clock = config.clock().clone();
    let now = plan.now.unwrap_or_else(|| clock.now());
    let options = ConnectOptions::default().with_tls12_session_id_with_ticket(plan.id_with_ticket);
    let mut conn = ClientConnection::with_options(config.clone(), &target.name, now, options)
        .map_err(|e| Failure::Tls(e.to_string()))?;
    let mut early_sent = 0;
    if let Some(data) = plan.early {
        if conn.early_data_allowance() > 0 {
            early_sent = conn
                .send_early_data(data)
                .map_err(|e| Failure::Tls(e.to_string()))?;
        }
    }
    let mut first_flight = Vec::new();
    conn.write_tls(&mut first_flight);
    let identical = plan.replay.is_none_or(|r| r == first_flight.as_slice());
    let mut stream = TcpStream::connect_timeout(&target.addr, target.timeout)
        .map_err(|e| Failure::Unreachable(e.to_string()))?;
    let _ = stream.set_nodelay(true);
    stream
        .set_write_timeout(Some(target.timeout))
        .map_err(|e| Failure::Io(e.to_string()))?;
    let sent = plan.replay.unwrap_or(&first_flight);
    stream.write_all(sent).map_err(io_failure)?;
    let mut buf = vec![0u8; 16 * 1024];
    let mut handshake_end: Option<Instant> = None;
    loop {
        let limit = match handshake_end {
            None => deadline,
            Some(_) if conn.tickets_received() > 0 => Instant::now() + TICKET_IDLE,
            Some(end) => end + TICKET_WAIT,
        };
        let limit = limit.min(deadline.max(Instant::now()));
        let Some(wait) = limit
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
        else {
            if handshake_end.is_some() {
                break;
            }
            return Err(Failure::Timeout);
        };
        stream
            .set_read_timeout(Some(wait))
            .map_err(|e| Failure::Io(e.to_string()))?;
        let n = match stream.read(&mut buf) {
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if handshake_end.is_some() {
                    break;
                }
                return Err(Failure::Timeout);
            }
            Err(e) if handshake_end.is_some() => {
                let _ = e;
                break;
            }
            Err(e) => return Err(io_failure(e)),
        };
        if n == 0 {
            if handshake_end.is_some() {
                break;
            }
            return Err(Failure::Closed);
        }
        feed(&mut conn, &mut stream, &buf[..n], clock.now())?;
        if handshake_end.is_none() && !conn.is_handshaking() {
            handshake_end = Some(Instant::now());
            let tls13 = conn.protocol_version() == Some(TlsVersion::Tls13);
            if !(plan.collect_tickets && tls13) {
                break;
            }
        }
        if conn.peer_closed() {
            break;
        }
    }
    let _ = conn.send_close_notify();
    let mut out = Vec::new();
    conn.write_tls(&mut out);
    let _ = stream.write_all(&out);
    let suite = match (conn.tls12_cipher_suite(), conn.cipher_suite()) {
        (Some(s), _) => s.to_string(),
        (None, Some(s)) => s.to_string(),
        (None, None) => "(none)".into(),
    };
    Ok(Done {
        kind: conn.handshake_kind().unwrap_or(HandshakeKind::Full),
        suite,
        alpn: conn.alpn_protocol().map(<[u8]>::to_vec),
        tickets: conn.tickets_received(),
        group: conn.kx_group(),
        first_flight,
        identical,
        early_sent,
    })
}

/// Hands `data` to the connection and sends what it answers; a TLS error's alert is sent
/// before the error is returned.
fn feed(
    conn: &mut ClientConnection,
    stream: &mut TcpStream,
    mut data: &[u8],
    now: Timestamp,
) -> Result<(), Failure> {
    while !data.is_empty() {
        let taken = conn.read_tls(data);
        data = &data[taken..];
        if let Err(e) = conn.process(now) {
            let mut out = Vec::new();
            conn.write_tls(&mut out);
            let _ = stream.write_all(&out);
            return Err(Failure::Tls(e.to_string()));
        }
        if taken == 0 {
            break;
        }
    }
    let mut out = Vec::new();
    conn.write_tls(&mut out);
    stream.write_all(&out).map_err(io_failure)
}

fn io_failure(e: std::io::Error) -> Failure {
    match e.kind() {
        ErrorKind::WouldBlock | ErrorKind::TimedOut => Failure::Timeout,
        ErrorKind::ConnectionReset | ErrorKind::BrokenPipe | ErrorKind::UnexpectedEof => {
            Failure::Closed
        }
        _ => Failure::Io(e.to_string()),
    }
}
