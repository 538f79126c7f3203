//! A TLS 1.3 client making `--repeat N` sequential connections, each resuming from the
//! tickets of the previous ones, sending `GET / HTTP/1.0` and printing the reply.
//!
//! ```text
//! cargo run --release --example client -- --connect 127.0.0.1:4433 --server-name localhost \
//!     --ca cert.pem [--tls13|--tls12] [--repeat N] [--no-tickets] [--psk-ke] \
//!     [--early-data TEXT] [--keylog FILE] [--alpn h2,http/1.1] [--no-middlebox-compat]
//! ```
//!
//! TLS 1.3 middlebox compatibility (RFC 8446 §D.4: a session ID and a dummy change_cipher_spec)
//! is on, as in most clients; `--no-middlebox-compat` turns it off.
//!
//! `--alpn` offers application protocols (RFC 7301), most preferred first; the protocol the
//! server selected is printed after each connection's line.
//!
//! `--ca` names the certificates to trust. The trust check is an exact match of the server's
//! end-entity certificate against them (certificate pinning), not a WebPKI path validation:
//! pass the server's own certificate.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use tls_resumption::keylog::{KeyLog, KeyLogFile};
use tls_resumption::verify::PinnedCertificates;
use tls_resumption::{ClientConfig, ClientConnection, HandshakeKind, TlsVersion};

fn main() {
    if let Err(e) = run() {
        eprintln!("client: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let (mut connect, mut name, mut ca, mut keylog, mut early) = (None, None, None, None, None);
    let (mut repeat, mut no_tickets, mut psk_ke) = (1usize, false, false);
    let mut middlebox_compat = true;
    let mut versions = vec![TlsVersion::Tls13, TlsVersion::Tls12];
    let mut alpn: Vec<String> = Vec::new();
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--connect" => connect = Some(value()?),
            "--server-name" => name = Some(value()?),
            "--ca" => ca = Some(value()?),
            "--keylog" => keylog = Some(value()?),
            "--early-data" => early = Some(value()?),
            "--repeat" => repeat = value()?.parse().map_err(|e| format!("--repeat: {e}"))?,
            "--no-tickets" => no_tickets = true,
            "--psk-ke" => psk_ke = true,
            "--no-middlebox-compat" => middlebox_compat = false,
            "--alpn" => alpn = value()?.split(',').map(str::to_owned).collect(),
            "--tls13" => versions = vec![TlsVersion::Tls13],
            "--tls12" => versions = vec![TlsVersion::Tls12],
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let connect = connect.ok_or("--connect is required")?;
    let name = name.unwrap_or_else(|| "localhost".into());
    let trusted = CertificateDer::pem_file_iter(ca.ok_or("--ca is required")?)
        .map_err(|e| format!("--ca: {e}"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("--ca: {e}"))?;
    let mut config = ClientConfig::new(Arc::new(PinnedCertificates::new(trusted)))
        .with_psk_ke(psk_ke)
        .with_middlebox_compat(middlebox_compat)
        .with_early_data(early.is_some())
        .with_alpn_protocols(&alpn);
    config = config.with_versions(&versions);
    // TLS 1.2 without tickets still resumes by session ID; TLS 1.3 resumes only by ticket.
    if no_tickets {
        config = config.with_tls12_tickets(false);
        if versions.contains(&TlsVersion::Tls13) {
            config = config.with_session_store(None);
        }
    }
    let log: Option<Arc<dyn KeyLog>> = match keylog {
        Some(path) => Some(Arc::new(
            KeyLogFile::open(&path).map_err(|e| format!("{path}: {e}"))?,
        )),
        None => KeyLogFile::from_env().map(|k| Arc::new(k) as Arc<dyn KeyLog>),
    };
    if let Some(log) = log {
        config = config.with_key_log(log);
    }
    let config = Arc::new(config);
    for k in 1..=repeat {
        let (kind, protocol, reply) = once(&config, &connect, &name, early.as_deref())?;
        let word = match kind {
            HandshakeKind::Full => "full",
            _ => "resumed",
        };
        println!("connection {k}: {word} ({kind})");
        if let Some(protocol) = protocol {
            println!("ALPN protocol: {}", String::from_utf8_lossy(&protocol));
        }
        print!("{}", String::from_utf8_lossy(&reply));
        std::io::stdout().flush().map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// How one connection went: its kind, the protocol selected, and the reply.
type Outcome = (HandshakeKind, Option<Vec<u8>>, Vec<u8>);

fn once(
    config: &Arc<ClientConfig>,
    addr: &str,
    name: &str,
    early: Option<&str>,
) -> Result<Outcome, String> {
    let clock = config.clock().clone();
    let mut stream = TcpStream::connect(addr).map_err(|e| format!("{addr}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    let mut conn =
        ClientConnection::new(config.clone(), name, clock.now()).map_err(|e| e.to_string())?;
    if let Some(text) = early {
        if conn.early_data_allowance() > 0 {
            conn.send_early_data(text.as_bytes())
                .map_err(|e| e.to_string())?;
        }
    }
    conn.send_plaintext(b"GET / HTTP/1.0\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut reply = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let mut out = Vec::new();
        conn.write_tls(&mut out);
        stream.write_all(&out).map_err(|e| e.to_string())?;
        if conn.peer_closed() {
            break;
        }
        let n = stream.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        let mut data = &buf[..n];
        while !data.is_empty() {
            let taken = conn.read_tls(data);
            data = &data[taken..];
            if let Err(e) = conn.process(clock.now()) {
                let mut out = Vec::new();
                conn.write_tls(&mut out);
                let _ = stream.write_all(&out);
                return Err(e.to_string());
            }
            reply.extend(conn.take_plaintext());
            if taken == 0 {
                break;
            }
        }
    }
    reply.extend(conn.take_plaintext());
    conn.send_close_notify().map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    conn.write_tls(&mut out);
    let _ = stream.write_all(&out);
    Ok((
        conn.handshake_kind().unwrap_or(HandshakeKind::Full),
        conn.alpn_protocol().map(<[u8]>::to_vec),
        reply,
    ))
}
