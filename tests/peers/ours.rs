//! Our own client and server with the test PKI, and drivers that move bytes in memory between
//! our connections and rustls's.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tls_resumption::keylog::KeyLog;
use tls_resumption::time::Timestamp;
use tls_resumption::verify::PinnedCertificates;
use tls_resumption::{ClientConfig, ClientConnection, Error, ServerConfig, ServerConnection};

use super::pki;

/// The certificate chain of `name` (`server`, `server-p384`, `server-ed25519`, `server-rsa`).
pub fn certs(name: &str) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_file_iter(pki::path(&format!("{name}.pem")))
        .expect("test certificate")
        .collect::<Result<Vec<_>, _>>()
        .expect("test certificate parses")
}

/// Our server with the test key `name`, default settings.
pub fn server_config(name: &str) -> ServerConfig {
    let key = PrivateKeyDer::from_pem_file(pki::path(&format!("{name}.key"))).expect("key");
    ServerConfig::new(certs(name), &key).expect("server config")
}

/// Our client pinning the end-entity certificate of `name`, default settings.
pub fn client_config(name: &str) -> ClientConfig {
    ClientConfig::new(Arc::new(PinnedCertificates::new(certs(name))))
}

/// A key log that keeps every line, to compare secrets.
#[derive(Debug, Default)]
pub struct RecordingKeyLog(pub Mutex<Vec<Logged>>);

/// One logged secret: label, client random, secret.
pub type Logged = (String, Vec<u8>, Vec<u8>);

impl RecordingKeyLog {
    /// The secrets logged under `label`, in order.
    pub fn secrets(&self, label: &str) -> Vec<Vec<u8>> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(l, _, _)| l == label)
            .map(|(_, _, s)| s.clone())
            .collect()
    }

    /// Every line in NSS format.
    pub fn lines(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|(l, r, s)| tls_resumption::keylog::format_line(l, r, s))
            .collect()
    }
}

impl KeyLog for RecordingKeyLog {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        self.0
            .lock()
            .unwrap()
            .push((label.to_owned(), client_random.to_vec(), secret.to_vec()));
    }
}

/// Moves bytes between our client and server until neither has anything to say. A bound on
/// the rounds stops a broken pair from spinning.
pub fn pump(
    client: &mut ClientConnection,
    server: &mut ServerConnection,
    now: Timestamp,
) -> Result<(), Error> {
    for _ in 0..32 {
        let mut buf = Vec::new();
        client.write_tls(&mut buf);
        let mut moved = buf.len();
        feed_server(server, &buf, now)?;
        let mut buf = Vec::new();
        server.write_tls(&mut buf);
        moved += buf.len();
        feed_client(client, &buf, now)?;
        if moved == 0 {
            return Ok(());
        }
    }
    panic!("the pair did not settle in 32 rounds");
}

/// Feeds `bytes` to our server, processing as it goes.
pub fn feed_server(
    server: &mut ServerConnection,
    mut bytes: &[u8],
    now: Timestamp,
) -> Result<(), Error> {
    server.process(now)?;
    while !bytes.is_empty() {
        let n = server.read_tls(bytes);
        bytes = &bytes[n..];
        server.process(now)?;
        assert!(n > 0 || bytes.is_empty(), "server stopped reading");
    }
    Ok(())
}

/// Feeds `bytes` to our client, processing as it goes.
pub fn feed_client(
    client: &mut ClientConnection,
    mut bytes: &[u8],
    now: Timestamp,
) -> Result<(), Error> {
    client.process(now)?;
    while !bytes.is_empty() {
        let n = client.read_tls(bytes);
        bytes = &bytes[n..];
        client.process(now)?;
        assert!(n > 0 || bytes.is_empty(), "client stopped reading");
    }
    Ok(())
}

/// What one connection of ours showed.
#[derive(Debug)]
pub struct Session {
    pub client_kind: Option<tls_resumption::HandshakeKind>,
    pub server_kind: Option<tls_resumption::HandshakeKind>,
    pub early_data_received: Vec<u8>,
    pub client_received: Vec<u8>,
    pub server_received: Vec<u8>,
    pub tickets_received: usize,
}

/// One whole connection between our client and server: early data if given and possible,
/// handshake, a message each way, close_notify both ways.
pub fn connect(
    client_config: &Arc<ClientConfig>,
    server_config: &Arc<ServerConfig>,
    now: Timestamp,
    early_data: Option<&[u8]>,
) -> Result<Session, Error> {
    let mut client = ClientConnection::new(client_config.clone(), "localhost", now)?;
    let mut server = ServerConnection::new(server_config.clone());
    if let Some(data) = early_data {
        if client.early_data_allowance() > 0 {
            client.send_early_data(data)?;
        }
    }
    pump(&mut client, &mut server, now)?;
    assert!(!client.is_handshaking() && !server.is_handshaking());
    client.send_plaintext(b"ping")?;
    server.send_plaintext(b"pong")?;
    pump(&mut client, &mut server, now)?;
    let session = Session {
        client_kind: client.handshake_kind(),
        server_kind: server.handshake_kind(),
        early_data_received: server.take_early_data(),
        client_received: client.take_plaintext(),
        server_received: server.take_plaintext(),
        tickets_received: client.tickets_received(),
    };
    client.send_close_notify()?;
    server.send_close_notify()?;
    pump(&mut client, &mut server, now)?;
    assert!(client.peer_closed() && server.peer_closed());
    Ok(session)
}

/// What a connection between ours and rustls showed.
#[derive(Debug)]
pub struct Mixed {
    pub ours_kind: Option<tls_resumption::HandshakeKind>,
    pub rustls_kind: Option<rustls::HandshakeKind>,
    pub ours_received: Vec<u8>,
    pub rustls_received: Vec<u8>,
    /// Early data the server (whichever side) received.
    pub early_data_received: Vec<u8>,
    pub rustls_early_accepted: bool,
    /// The application protocol each side reports (RFC 7301).
    pub ours_alpn: Option<Vec<u8>>,
    pub rustls_alpn: Option<Vec<u8>>,
}

fn rustls_send(conn: &mut rustls::ConnectionCommon<impl Sized>, out: &mut Vec<u8>) {
    while conn.wants_write() {
        conn.write_tls(out).expect("writing to a Vec cannot fail");
    }
}

fn rustls_recv<S>(
    conn: &mut rustls::ConnectionCommon<S>,
    mut bytes: &[u8],
) -> Result<(), rustls::Error> {
    while !bytes.is_empty() {
        conn.read_tls(&mut bytes)
            .expect("reading from a slice cannot fail");
        conn.process_new_packets()?;
    }
    Ok(())
}

/// Moves bytes between our client and a rustls server until both are quiet, collecting
/// what the server reads.
fn pump_to_rustls(
    client: &mut ClientConnection,
    server: &mut rustls::ServerConnection,
    now: Timestamp,
    early: &mut Vec<u8>,
    received: &mut Vec<u8>,
) -> Result<(), String> {
    for _ in 0..32 {
        let mut buf = Vec::new();
        client.write_tls(&mut buf);
        let mut moved = buf.len();
        rustls_recv(server, &buf).map_err(|e| format!("rustls server: {e}"))?;
        if let Some(mut reader) = server.early_data() {
            reader.read_to_end(early).expect("read early data");
        }
        let _ = server.reader().read_to_end(received);
        let mut buf = Vec::new();
        rustls_send(server, &mut buf);
        moved += buf.len();
        feed_client(client, &buf, now).map_err(|e| format!("our client: {e}"))?;
        if moved == 0 {
            return Ok(());
        }
    }
    Err("did not settle".into())
}

/// Our client against a rustls server, in memory: handshake (with early data when given and
/// possible), a message each way, close_notify both ways.
pub fn ours_client_rustls_server(
    client_config: &Arc<ClientConfig>,
    server_config: &Arc<rustls::ServerConfig>,
    now: Timestamp,
    early_data: Option<&[u8]>,
) -> Result<Mixed, String> {
    let mut client = ClientConnection::new(client_config.clone(), "localhost", now)
        .map_err(|e| e.to_string())?;
    let mut server =
        rustls::ServerConnection::new(server_config.clone()).map_err(|e| e.to_string())?;
    if let Some(data) = early_data {
        if client.early_data_allowance() > 0 {
            client.send_early_data(data).map_err(|e| e.to_string())?;
        }
    }
    let mut early_data_received = Vec::new();
    let mut rustls_received = Vec::new();
    pump_to_rustls(
        &mut client,
        &mut server,
        now,
        &mut early_data_received,
        &mut rustls_received,
    )?;
    if client.is_handshaking() || server.is_handshaking() {
        return Err("handshake did not complete".into());
    }
    client.send_plaintext(b"ping").map_err(|e| e.to_string())?;
    server.writer().write_all(b"pong").expect("write");
    pump_to_rustls(
        &mut client,
        &mut server,
        now,
        &mut early_data_received,
        &mut rustls_received,
    )?;
    let ours_received = client.take_plaintext();
    client.send_close_notify().map_err(|e| e.to_string())?;
    server.send_close_notify();
    pump_to_rustls(
        &mut client,
        &mut server,
        now,
        &mut early_data_received,
        &mut rustls_received,
    )?;
    if !client.peer_closed() {
        return Err("no close_notify from rustls".into());
    }
    Ok(Mixed {
        ours_kind: client.handshake_kind(),
        rustls_kind: server.handshake_kind(),
        ours_received,
        rustls_received,
        early_data_received,
        rustls_early_accepted: false,
        ours_alpn: client.alpn_protocol().map(<[u8]>::to_vec),
        rustls_alpn: server.alpn_protocol().map(<[u8]>::to_vec),
    })
}

/// A rustls client against our server, in memory.
pub fn rustls_client_ours_server(
    client_config: &Arc<rustls::ClientConfig>,
    server_config: &Arc<ServerConfig>,
    now: Timestamp,
    early_data: Option<&[u8]>,
) -> Result<Mixed, String> {
    let name = ServerName::try_from("localhost").expect("valid name");
    let mut client =
        rustls::ClientConnection::new(client_config.clone(), name).map_err(|e| e.to_string())?;
    let mut server = ServerConnection::new(server_config.clone());
    if let (Some(data), Some(mut writer)) = (early_data, client.early_data()) {
        writer.write_all(data).expect("early data fits");
    }
    let mut rustls_received = Vec::new();
    let mut sent_ping = false;
    let mut early_data_received = Vec::new();
    for _ in 0..32 {
        let mut buf = Vec::new();
        rustls_send(&mut client, &mut buf);
        let mut moved = buf.len();
        feed_server(&mut server, &buf, now).map_err(|e| format!("our server: {e}"))?;
        early_data_received.extend(server.take_early_data());
        if !server.is_handshaking() && !sent_ping {
            server.send_plaintext(b"pong").map_err(|e| e.to_string())?;
            sent_ping = true;
        }
        let mut buf = Vec::new();
        server.write_tls(&mut buf);
        moved += buf.len();
        rustls_recv(&mut client, &buf).map_err(|e| format!("rustls client: {e}"))?;
        let _ = client.reader().read_to_end(&mut rustls_received);
        if !client.is_handshaking() && moved == 0 {
            break;
        }
    }
    client.writer().write_all(b"ping").expect("write");
    let mut buf = Vec::new();
    rustls_send(&mut client, &mut buf);
    feed_server(&mut server, &buf, now).map_err(|e| format!("our server: {e}"))?;
    let ours_received = server.take_plaintext();
    let early_accepted = client.is_early_data_accepted();
    client.send_close_notify();
    let mut buf = Vec::new();
    rustls_send(&mut client, &mut buf);
    feed_server(&mut server, &buf, now).map_err(|e| format!("our server: {e}"))?;
    server.send_close_notify().map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    server.write_tls(&mut buf);
    rustls_recv(&mut client, &buf).map_err(|e| format!("rustls client: {e}"))?;
    Ok(Mixed {
        ours_kind: server.handshake_kind(),
        rustls_kind: client.handshake_kind(),
        ours_received,
        rustls_received,
        early_data_received,
        rustls_early_accepted: early_accepted,
        ours_alpn: server.alpn_protocol().map(<[u8]>::to_vec),
        rustls_alpn: client.alpn_protocol().map(<[u8]>::to_vec),
    })
}

/// When [`tcp_client`] stops reading.
#[derive(Clone, Copy, Debug)]
pub enum Stop {
    /// When the server closes.
    PeerClose,
    /// Once the handshake is done and this many NewSessionTickets arrived (for servers that
    /// never close on their own).
    Tickets(usize),
}

/// Runs our client over TCP to `addr`: early data (if given and possible), `request` once the
/// handshake allows, reads until `stop`, and sends close_notify.
/// Returns the handshake kind and the reply.
pub fn tcp_client(
    config: &Arc<ClientConfig>,
    addr: std::net::SocketAddr,
    now: Timestamp,
    early_data: Option<&[u8]>,
    request: &[u8],
    stop: Stop,
) -> Result<(Option<tls_resumption::HandshakeKind>, Vec<u8>), String> {
    let (conn, reply) = tcp_client_connection(config, addr, now, early_data, request, stop)?;
    Ok((conn.handshake_kind(), reply))
}

/// [`tcp_client`], returning the whole connection (for what else it reports) and the reply.
pub fn tcp_client_connection(
    config: &Arc<ClientConfig>,
    addr: std::net::SocketAddr,
    now: Timestamp,
    early_data: Option<&[u8]>,
    request: &[u8],
    stop: Stop,
) -> Result<(ClientConnection, Vec<u8>), String> {
    use std::net::TcpStream;
    let mut stream = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    let mut conn =
        ClientConnection::new(config.clone(), "localhost", now).map_err(|e| e.to_string())?;
    if let Some(data) = early_data {
        if conn.early_data_allowance() > 0 {
            conn.send_early_data(data).map_err(|e| e.to_string())?;
        }
    }
    conn.send_plaintext(request).map_err(|e| e.to_string())?;
    let mut reply = Vec::new();
    let mut buf = vec![0u8; 16384];
    loop {
        let mut out = Vec::new();
        conn.write_tls(&mut out);
        stream.write_all(&out).map_err(|e| e.to_string())?;
        let done = match stop {
            Stop::PeerClose => false,
            Stop::Tickets(n) => !conn.is_handshaking() && conn.tickets_received() >= n,
        };
        if conn.peer_closed() || done {
            break;
        }
        let n = read_some(&mut stream, &mut buf).map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            break;
        }
        feed_client(&mut conn, &buf[..n], now).map_err(|e| e.to_string())?;
        reply.extend(conn.take_plaintext());
    }
    conn.send_close_notify().map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    conn.write_tls(&mut out);
    let _ = stream.write_all(&out);
    Ok((conn, reply))
}

/// What our server saw on one TCP connection.
#[derive(Debug)]
pub struct Served {
    pub kind: Option<tls_resumption::HandshakeKind>,
    pub early_data: Vec<u8>,
    pub request: Vec<u8>,
    /// The application protocol selected (RFC 7301).
    pub alpn: Option<Vec<u8>>,
}

/// Serves `count` connections on `listener` with our server, answering each request with a
/// line saying New or Reused, then close_notify.
pub fn tcp_server(
    listener: std::net::TcpListener,
    config: Arc<ServerConfig>,
    count: usize,
    now: Timestamp,
) -> std::thread::JoinHandle<Vec<Result<Served, String>>> {
    std::thread::spawn(move || {
        let mut results = Vec::new();
        for _ in 0..count {
            let Ok((mut stream, _)) = listener.accept() else {
                break;
            };
            results.push(serve_one(&mut stream, &config, now));
        }
        results
    })
}

fn serve_one(
    stream: &mut std::net::TcpStream,
    config: &Arc<ServerConfig>,
    now: Timestamp,
) -> Result<Served, String> {
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    let mut conn = ServerConnection::new(config.clone());
    let mut early = Vec::new();
    let mut request = Vec::new();
    let mut buf = vec![0u8; 16384];
    loop {
        let mut out = Vec::new();
        conn.write_tls(&mut out);
        stream.write_all(&out).map_err(|e| e.to_string())?;
        let n = read_some(stream, &mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("closed before a request".into());
        }
        if let Err(e) = feed_server(&mut conn, &buf[..n], now) {
            let mut out = Vec::new();
            conn.write_tls(&mut out);
            let _ = stream.write_all(&out);
            return Err(e.to_string());
        }
        early.extend(conn.take_early_data());
        request.extend(conn.take_plaintext());
        if !conn.is_handshaking() && (request.ends_with(b"\r\n\r\n") || !early.is_empty()) {
            let kind = conn.handshake_kind();
            let word = if kind.is_some_and(|k| k.is_resumed()) {
                "Reused"
            } else {
                "New"
            };
            let page = format!("HTTP/1.0 200 ok\r\n\r\n{word}, TLSv1.3\n");
            conn.send_plaintext(page.as_bytes())
                .map_err(|e| e.to_string())?;
            conn.send_close_notify().map_err(|e| e.to_string())?;
            let mut out = Vec::new();
            conn.write_tls(&mut out);
            stream.write_all(&out).map_err(|e| e.to_string())?;
            return Ok(Served {
                kind,
                early_data: early,
                request,
                alpn: conn.alpn_protocol().map(<[u8]>::to_vec),
            });
        }
    }
}

/// One `read`, retried when a signal interrupts it (`EINTR`): on a loaded machine a signal
/// can land in the middle of a blocking read, which is not the peer's doing.
fn read_some(stream: &mut std::net::TcpStream, buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        match stream.read(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            result => return result,
        }
    }
}

/// A client store that rewrites each TLS 1.3 ticket as it hands it out: stands for a client
/// offering something other than what the server issued (another protocol, a larger early
/// data limit, ...). Everything else is a [`MemoryClientStore`] of 4 names × 4 tickets.
///
/// [`MemoryClientStore`]: tls_resumption::store::MemoryClientStore
pub struct RewritingStore {
    inner: tls_resumption::store::MemoryClientStore,
    rewrite: RewriteTicket,
}

type RewriteTicket = Box<dyn Fn(&mut tls_resumption::store::ClientTls13Ticket) + Send + Sync>;

impl RewritingStore {
    /// A store applying `rewrite` to every TLS 1.3 ticket it returns.
    pub fn new(
        rewrite: impl Fn(&mut tls_resumption::store::ClientTls13Ticket) + Send + Sync + 'static,
    ) -> Self {
        Self {
            inner: tls_resumption::store::MemoryClientStore::new(4, 4),
            rewrite: Box::new(rewrite),
        }
    }
}

impl tls_resumption::store::ClientSessionStore for RewritingStore {
    fn set_tls12_session(
        &self,
        name: &str,
        session: tls_resumption::store::ClientTls12Session,
    ) -> Result<(), tls_resumption::store::StoreError> {
        self.inner.set_tls12_session(name, session)
    }

    fn take_tls12_session(
        &self,
        name: &str,
        now: Timestamp,
    ) -> Result<Option<tls_resumption::store::ClientTls12Session>, tls_resumption::store::StoreError>
    {
        self.inner.take_tls12_session(name, now)
    }

    fn insert_tls13_ticket(
        &self,
        name: &str,
        ticket: tls_resumption::store::ClientTls13Ticket,
    ) -> Result<(), tls_resumption::store::StoreError> {
        self.inner.insert_tls13_ticket(name, ticket)
    }

    fn take_tls13_ticket(
        &self,
        name: &str,
        now: Timestamp,
    ) -> Result<Option<tls_resumption::store::ClientTls13Ticket>, tls_resumption::store::StoreError>
    {
        let mut ticket = self.inner.take_tls13_ticket(name, now)?;
        if let Some(t) = &mut ticket {
            (self.rewrite)(t);
        }
        Ok(ticket)
    }
}
