//! Fuzz entry points for whole connections: arbitrary bytes into a fresh server or client,
//! or into one that has already seen a valid first flight.
//!
//! Randomness comes from the system: ring offers no supported deterministic generator, so
//! randoms and key shares differ between runs. What the fuzzer controls (every byte after
//! the first flight) takes the same path regardless, up to values derived from them. The
//! first input byte chooses the mode (fresh, or after the valid prefix) and the size of
//! the chunks the rest is fed in.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::antireplay::StrikeRegister;
use crate::config::{ClientConfig, ServerConfig, TicketMode, TlsVersion};
use crate::ticket::{AeadSealer, TicketKeyMaterial};
use crate::time::Timestamp;
use crate::verify::PinnedCertificates;
use crate::{ClientConnection, ServerConnection};

const NOW: Timestamp = Timestamp::from_secs(1_700_000_000);

/// A certificate the client pins; the server only sends it, so any bytes do.
const CERT: &[u8] = b"fuzzing certificate";

/// A fixed Ed25519 key: the PKCS#8 v1 prefix (RFC 8410) and a 32-byte seed.
const ED25519_PKCS8: [u8; 48] = {
    let mut der = [3u8; 48];
    let prefix = [
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    let mut i = 0;
    while i < prefix.len() {
        der[i] = prefix[i];
        i += 1;
    }
    der
};

fn server_config() -> &'static Arc<ServerConfig> {
    static CONFIG: OnceLock<Arc<ServerConfig>> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let key = PrivateKeyDer::Pkcs8(ED25519_PKCS8.to_vec().into());
        let sealer = TicketKeyMaterial::new([0; 16], &[1; 32])
            .and_then(|m| AeadSealer::new(m, Duration::from_secs(3600)).ok())
            .unwrap_or_else(|| unreachable!("fixed ticket key material is valid"));
        let config = ServerConfig::new(vec![CertificateDer::from(CERT.to_vec())], &key)
            .unwrap_or_else(|_| unreachable!("a valid key and a certificate"))
            .with_tickets(TicketMode::Stateless(Arc::new(sealer)))
            .with_psk_ke(true)
            .with_early_data(
                16384,
                Arc::new(StrikeRegister::new(64, Duration::from_secs(10))),
            );
        Arc::new(config)
    })
}

fn client_config() -> &'static Arc<ClientConfig> {
    static CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let pinned = PinnedCertificates::new([CertificateDer::from(CERT.to_vec())]);
        Arc::new(ClientConfig::new(Arc::new(pinned)).with_session_store(None))
    })
}

/// Splits the input: mode bit, chunk size, and the bytes to feed.
fn split(data: &[u8]) -> (bool, usize, &[u8]) {
    match data.split_first() {
        Some((&first, rest)) => (first & 1 == 1, usize::from(first >> 1).max(1), rest),
        None => (false, 1, data),
    }
}

/// The test PKI's Ed25519 certificate and key: the TLS 1.2 client checks the
/// ServerKeyExchange signature against the certificate, so it must be a real one for the
/// fuzzed bytes after the valid prefix to meet a live connection.
const CERT12_PEM: &str = include_str!("../../tests/data/pki/server-ed25519.pem");
const KEY12_PEM: &str = include_str!("../../tests/data/pki/server-ed25519.key");

fn cert12() -> CertificateDer<'static> {
    CertificateDer::from_pem_slice(CERT12_PEM.as_bytes())
        .unwrap_or_else(|_| unreachable!("the committed certificate parses"))
}

/// The TLS 1.2-only counterparts, so fuzzed bytes reach the TLS 1.2 states.
fn server_config12() -> &'static Arc<ServerConfig> {
    static CONFIG: OnceLock<Arc<ServerConfig>> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let key = PrivateKeyDer::from_pem_slice(KEY12_PEM.as_bytes())
            .unwrap_or_else(|_| unreachable!("the committed key parses"));
        let sealer = TicketKeyMaterial::new([0; 16], &[1; 32])
            .and_then(|m| AeadSealer::new(m, Duration::from_secs(3600)).ok())
            .unwrap_or_else(|| unreachable!("fixed ticket key material is valid"));
        let config = ServerConfig::new(vec![cert12()], &key)
            .unwrap_or_else(|_| unreachable!("a valid key and its certificate"))
            .with_tickets(TicketMode::Stateless(Arc::new(sealer)))
            .with_versions(&[TlsVersion::Tls12])
            // A hello with a session ID of our length reaches the pending lookup state.
            .with_pending_lookups();
        Arc::new(config)
    })
}

fn client_config12() -> &'static Arc<ClientConfig> {
    static CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let pinned = PinnedCertificates::new([cert12()]);
        Arc::new(
            ClientConfig::new(Arc::new(pinned))
                .with_session_store(None)
                .with_versions(&[TlsVersion::Tls12]),
        )
    })
}

fn client_hello(config: &Arc<ClientConfig>) -> Vec<u8> {
    let mut out = Vec::new();
    if let Ok(mut client) = ClientConnection::new(config.clone(), "localhost", NOW) {
        client.write_tls(&mut out);
    }
    out
}

/// Processes, answering a pending session lookup with misses (and processing again), as a
/// caller whose store has nothing would.
fn process_server(server: &mut ServerConnection) -> bool {
    if server.process(NOW).is_err() {
        return false;
    }
    if let Some(keys) = server.pending_lookup() {
        let misses = keys.iter().map(|_| Ok(None)).collect();
        if server.complete_lookup(misses).is_err() {
            return false;
        }
        return server.process(NOW).is_ok();
    }
    true
}

/// Feeds `input` to `read`/`process` in chunks until it is used up or the connection fails.
/// Each round takes at least one byte or stops, so the loop ends.
fn feed(
    mut input: &[u8],
    chunk: usize,
    mut read: impl FnMut(&[u8]) -> usize,
    mut process: impl FnMut() -> bool,
) {
    while !input.is_empty() {
        let n = read(&input[..chunk.min(input.len())]);
        input = &input[n..];
        if !process() || n == 0 {
            return;
        }
    }
}

/// Arbitrary bytes into a server: fresh, or after a valid ClientHello from our client.
pub fn server_connection(data: &[u8]) {
    run_server(server_config(), client_config(), data);
}

/// As [`server_connection`], with a TLS 1.2-only server and client: after the prefix the
/// server waits for a ClientKeyExchange.
pub fn server_connection_tls12(data: &[u8]) {
    run_server(server_config12(), client_config12(), data);
}

/// As [`client_connection`], with a TLS 1.2-only client and server: after the prefix the
/// client has a verified ServerKeyExchange and has sent its Finished.
pub fn client_connection_tls12(data: &[u8]) {
    run_client(client_config12(), server_config12(), data);
}

fn run_server(config: &Arc<ServerConfig>, client: &Arc<ClientConfig>, data: &[u8]) {
    let (after_hello, chunk, rest) = split(data);
    let mut server = ServerConnection::new(config.clone());
    if after_hello {
        let hello = client_hello(client);
        let _ = server.read_tls(&hello);
        if !process_server(&mut server) {
            return;
        }
    }
    let server = std::cell::RefCell::new(server);
    feed(
        rest,
        chunk,
        |bytes| server.borrow_mut().read_tls(bytes),
        || {
            let mut s = server.borrow_mut();
            let ok = process_server(&mut s);
            let mut out = Vec::new();
            s.write_tls(&mut out);
            let _ = s.take_plaintext();
            let _ = s.take_early_data();
            ok
        },
    );
}

/// Arbitrary bytes into a client: fresh (its ClientHello sent), or after our server's valid
/// answer to that ClientHello.
pub fn client_connection(data: &[u8]) {
    run_client(client_config(), server_config(), data);
}

fn run_client(config: &Arc<ClientConfig>, server: &Arc<ServerConfig>, data: &[u8]) {
    let (after_answer, chunk, rest) = split(data);
    let Ok(mut client) = ClientConnection::new(config.clone(), "localhost", NOW) else {
        return;
    };
    if after_answer {
        let mut hello = Vec::new();
        client.write_tls(&mut hello);
        let mut server = ServerConnection::new(server.clone());
        let _ = server.read_tls(&hello);
        let _ = process_server(&mut server);
        let mut answer = Vec::new();
        server.write_tls(&mut answer);
        let mut at = 0;
        while at < answer.len() {
            let n = client.read_tls(&answer[at..]);
            if client.process(NOW).is_err() || n == 0 {
                return;
            }
            at += n;
        }
    }
    let client = std::cell::RefCell::new(client);
    feed(
        rest,
        chunk,
        |bytes| client.borrow_mut().read_tls(bytes),
        || {
            let mut c = client.borrow_mut();
            let ok = c.process(NOW).is_ok();
            let mut out = Vec::new();
            c.write_tls(&mut out);
            let _ = c.take_plaintext();
            ok
        },
    );
}
