//! A rustls client and server talking through memory.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection};

use super::pki;

/// The ring provider, as every test uses it.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A server config with the test certificate, for the given versions, with rustls's defaults
/// for resumption (the caller swaps in what it tests).
pub fn server_config(versions: &[&'static rustls::SupportedProtocolVersion]) -> ServerConfig {
    let certs = CertificateDer::pem_file_iter(pki::path("server.pem"))
        .expect("test certificate")
        .collect::<Result<Vec<_>, _>>()
        .expect("test certificate parses");
    let key = PrivateKeyDer::from_pem_file(pki::path("server.key")).expect("test key");
    ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(versions)
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("certificate and key match")
}

/// A client config trusting the test CA, resuming with in-memory sessions (session IDs and
/// tickets for TLS 1.2).
pub fn client_config(versions: &[&'static rustls::SupportedProtocolVersion]) -> ClientConfig {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(pki::path("ca.pem")).expect("test CA") {
        roots
            .add(cert.expect("test CA parses"))
            .expect("test CA is valid");
    }
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(versions)
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.resumption = rustls::client::Resumption::in_memory_sessions(64)
        .tls12_resumption(rustls::client::Tls12Resumption::SessionIdOrTickets);
    config
}

/// What one connection between a rustls client and server showed.
#[derive(Debug)]
pub struct Outcome {
    /// The client's view: full or resumed.
    pub client_kind: Option<rustls::HandshakeKind>,
    /// The server's view.
    pub server_kind: Option<rustls::HandshakeKind>,
    /// Whether the client's early data was accepted.
    pub early_data_accepted: bool,
    /// The early data the server received.
    pub early_data_received: Vec<u8>,
    /// The client's first flight (ClientHello and any early data), for replaying it.
    pub first_flight: Vec<u8>,
}

/// Runs one connection to completion: handshake, early data if `early_data` is given and the
/// client has a ticket that allows it, tickets delivered, close_notify both ways.
pub fn connect(
    client_config: &Arc<ClientConfig>,
    server_config: &Arc<ServerConfig>,
    early_data: Option<&[u8]>,
) -> Result<Outcome, rustls::Error> {
    let name = ServerName::try_from("localhost").expect("valid name");
    let mut client = ClientConnection::new(client_config.clone(), name)?;
    let mut server = ServerConnection::new(server_config.clone())?;
    if let (Some(data), Some(mut writer)) = (early_data, client.early_data()) {
        use std::io::Write;
        writer.write_all(data).expect("early data fits");
    }
    let mut early_data_received = Vec::new();
    let mut first_flight = Vec::new();
    while client.wants_write() {
        client
            .write_tls(&mut first_flight)
            .expect("writing to a Vec cannot fail");
    }
    let mut flight = &first_flight[..];
    while !flight.is_empty() {
        server
            .read_tls(&mut flight)
            .expect("reading from a slice cannot fail");
        server.process_new_packets()?;
    }
    // Each round moves whatever is pending; a handshake needs a handful. The bound only stops a
    // broken peer from spinning forever.
    for _ in 0..32 {
        let mut moved = move_bytes(&mut client, &mut server)?;
        if let Some(mut reader) = server.early_data() {
            use std::io::Read;
            reader
                .read_to_end(&mut early_data_received)
                .expect("read early data");
        }
        moved += move_bytes(&mut server, &mut client)?;
        if moved == 0 && !client.is_handshaking() && !server.is_handshaking() {
            break;
        }
    }
    let outcome = Outcome {
        client_kind: client.handshake_kind(),
        server_kind: server.handshake_kind(),
        early_data_accepted: client.is_early_data_accepted(),
        early_data_received,
        first_flight,
    };
    client.send_close_notify();
    server.send_close_notify();
    move_bytes(&mut client, &mut server)?;
    move_bytes(&mut server, &mut client)?;
    Ok(outcome)
}

/// Moves every pending byte from one side to the other and lets the receiver process it.
/// Returns how many bytes moved.
fn move_bytes<A, B>(
    from: &mut rustls::ConnectionCommon<A>,
    to: &mut rustls::ConnectionCommon<B>,
) -> Result<usize, rustls::Error> {
    let mut buf = Vec::new();
    while from.wants_write() {
        from.write_tls(&mut buf)
            .expect("writing to a Vec cannot fail");
    }
    let mut slice = &buf[..];
    while !slice.is_empty() {
        to.read_tls(&mut slice)
            .expect("reading from a slice cannot fail");
        to.process_new_packets()?;
    }
    Ok(buf.len())
}

/// What a server made of a replayed first flight.
#[derive(Debug)]
pub struct Replay {
    /// Full or resumed, as the server decided on the ClientHello.
    pub server_kind: Option<rustls::HandshakeKind>,
    /// Early data the server accepted from the replay.
    pub early_data_received: Vec<u8>,
}

/// Feeds a recorded first flight to a fresh server connection, as an attacker replaying it
/// would.
pub fn replay_first_flight(
    server_config: &Arc<ServerConfig>,
    first_flight: &[u8],
) -> Result<Replay, rustls::Error> {
    let mut server = ServerConnection::new(server_config.clone())?;
    let mut flight = first_flight;
    let mut early_data_received = Vec::new();
    while !flight.is_empty() {
        server
            .read_tls(&mut flight)
            .expect("reading from a slice cannot fail");
        server.process_new_packets()?;
        if let Some(mut reader) = server.early_data() {
            use std::io::Read;
            reader
                .read_to_end(&mut early_data_received)
                .expect("read early data");
        }
    }
    Ok(Replay {
        server_kind: server.handshake_kind(),
        early_data_received,
    })
}
