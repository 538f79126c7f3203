//! Whole handshakes in memory, client and server in one process: ours and rustls (ring
//! provider) doing the same work in the same run.
//!
//! Each iteration makes a fresh client and server connection and moves bytes until both are
//! quiet: the handshake, the server's NewSessionTickets and the client storing them. Both
//! servers issue stateless tickets (ours: the default AES-256-GCM sealer; rustls: its ring
//! `Ticketer`) — two after a full handshake and one after a resumption — and both clients pin
//! the server's certificate (rustls through a verifier that compares the end-entity certificate
//! and checks the CertificateVerify signature), so neither side pays for a WebPKI path check.
//! Certificate: ECDSA P-256; group: X25519; suite: TLS_AES_128_GCM_SHA256.
//!
//! Groups:
//! - `tls13_full`, `tls13_resumed_psk_dhe_ke`: ours and rustls.
//! - `tls12_full`, `tls12_resumed_session_id`, `tls12_resumed_ticket`: ours and rustls, suite
//!   TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 with the extended master secret. Each server keeps
//!   sessions the way the mode needs: a session cache for IDs; for tickets no cache, a ticket
//!   sealer, and the client offering tickets.
//! - `tls12_server_first_flight_{full,resumed_session_id,resumed_ticket}`: as below, for
//!   TLS 1.2 (the abbreviated flight is ServerHello, [NewSessionTicket,] ChangeCipherSpec,
//!   Finished; both servers accept the same session ID or ticket again).
//! - `tls13_resumed_psk_ke_ours_only`: rustls has no client that offers `psk_ke`, so only ours
//!   is measured.
//! - `tls13_server_first_flight_{full,resumed}`: the server's side alone — a recorded ClientHello
//!   replayed into a fresh server, until the server's first flight (ServerHello … Finished) is
//!   written. The rest of the server's work (the client's Finished, the tickets) cannot be
//!   replayed: the client's Finished depends on the server's fresh random and key share.
//!
//! Each TLS 1.3 group also has a `floor` line: the X25519 operations that handshake cannot
//! avoid, as bare ring calls, measured in the same run. A full handshake and `psk_dhe_ke`
//! each need four (a key pair on each side, an agreement on each side; the full handshake's
//! signature comes on top and is not in its floor); `psk_ke` needs one, the key pair of the
//! share the client sends in case the server refuses the PSK. Goals: `psk_dhe_ke` ≤ 1.2× its
//! floor, `psk_ke` ≤ 1.5× its floor.
//!
//! Goal: every resumed case at most 1.0× rustls's time, and a resumed/full ratio better than
//! rustls's. After the run the location of criterion's HTML report is printed.

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use criterion::Criterion;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::DigitallySignedStruct;
use tls_resumption::crypto::kx::KxGroup;
use tls_resumption::kdf::tls13::CipherSuite;
use tls_resumption::time::{Clock, SystemClock, Timestamp};
use tls_resumption::verify::PinnedCertificates;
use tls_resumption::{
    ClientConfig, ClientConnection, ServerConfig, ServerConnection, Tls12CipherSuite, TlsVersion,
};

const CERT_PEM: &[u8] = include_bytes!("../tests/data/pki/server.pem");
const KEY_PEM: &[u8] = include_bytes!("../tests/data/pki/server.key");

/// The time every connection runs at: real time, read once (TLS 1.2 session caches check
/// expiry against the system clock).
fn now() -> Timestamp {
    static NOW: OnceLock<Timestamp> = OnceLock::new();
    *NOW.get_or_init(|| SystemClock.now())
}

fn certs() -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_slice_iter(CERT_PEM)
        .collect::<Result<Vec<_>, _>>()
        .expect("test certificate")
}

fn key() -> PrivateKeyDer<'static> {
    PrivateKeyDer::from_pem_slice(KEY_PEM).expect("test key")
}

// ---- ours -------------------------------------------------------------------------------

fn ours_server(psk_ke: bool) -> Arc<ServerConfig> {
    Arc::new(ours_server_base().with_psk_ke(psk_ke))
}

fn ours_server_base() -> ServerConfig {
    ServerConfig::new(certs(), &key())
        .expect("server config")
        .with_suites(&[CipherSuite::Aes128GcmSha256])
        .with_tls12_suites(&[Tls12CipherSuite::EcdheEcdsaAes128GcmSha256])
        .with_groups(&[KxGroup::X25519])
        .with_ticket_counts(2, 1)
}

/// How a TLS 1.2 pair resumes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tls12Resume {
    /// No resumption: full handshakes (the server still keeps each session by ID).
    Never,
    /// By session ID only.
    SessionId,
    /// By RFC 5077 ticket only (the server keeps no session cache).
    Ticket,
}

fn ours_tls12(resume: Tls12Resume) -> (Arc<ClientConfig>, Arc<ServerConfig>) {
    let mut client = ClientConfig::new(Arc::new(PinnedCertificates::new(certs())))
        .with_versions(&[TlsVersion::Tls12])
        .with_tls12_suites(&[Tls12CipherSuite::EcdheEcdsaAes128GcmSha256])
        .with_groups(&[KxGroup::X25519])
        .with_tls12_tickets(resume == Tls12Resume::Ticket);
    if resume == Tls12Resume::Never {
        client = client.with_session_store(None);
    }
    let mut server = ours_server_base();
    if resume == Tls12Resume::Ticket {
        server = server.with_session_cache(None);
    }
    (Arc::new(client), Arc::new(server))
}

fn ours_client(resume: bool, psk_ke: bool) -> Arc<ClientConfig> {
    let mut config = ClientConfig::new(Arc::new(PinnedCertificates::new(certs())))
        .with_suites(&[CipherSuite::Aes128GcmSha256])
        .with_groups(&[KxGroup::X25519])
        .with_psk_ke(psk_ke);
    if !resume {
        config = config.with_session_store(None);
    }
    Arc::new(config)
}

fn ours_feed_server(server: &mut ServerConnection, mut bytes: &[u8]) {
    server.process(now()).expect("server");
    while !bytes.is_empty() {
        let n = server.read_tls(bytes);
        server.process(now()).expect("server");
        assert!(n > 0, "server stopped reading");
        bytes = &bytes[n..];
    }
}

fn ours_feed_client(client: &mut ClientConnection, mut bytes: &[u8]) {
    client.process(now()).expect("client");
    while !bytes.is_empty() {
        let n = client.read_tls(bytes);
        client.process(now()).expect("client");
        assert!(n > 0, "client stopped reading");
        bytes = &bytes[n..];
    }
}

/// One whole connection of ours; returns whether it resumed.
fn ours_handshake(client: &Arc<ClientConfig>, server: &Arc<ServerConfig>) -> bool {
    let mut c = ClientConnection::new(client.clone(), "localhost", now()).expect("client");
    let mut s = ServerConnection::new(server.clone());
    let (mut to_server, mut to_client) = (Vec::new(), Vec::new());
    for _ in 0..16 {
        to_server.clear();
        to_client.clear();
        c.write_tls(&mut to_server);
        ours_feed_server(&mut s, &to_server);
        s.write_tls(&mut to_client);
        ours_feed_client(&mut c, &to_client);
        if to_server.is_empty() && to_client.is_empty() {
            break;
        }
    }
    assert!(!c.is_handshaking() && !s.is_handshaking());
    s.handshake_kind().is_some_and(|k| k.is_resumed())
}

/// The ClientHello our client sends (resuming when `resume`, after a first connection).
fn ours_recorded_hello(resume: bool) -> (Arc<ServerConfig>, Vec<u8>) {
    let server = ours_server(false);
    let client = ours_client(resume, false);
    if resume {
        ours_handshake(&client, &server);
    }
    let c = ClientConnection::new(client, "localhost", now()).expect("client");
    let mut c = c;
    let mut hello = Vec::new();
    c.write_tls(&mut hello);
    (server, hello)
}

fn ours_server_first_flight(server: &Arc<ServerConfig>, hello: &[u8]) -> usize {
    let mut s = ServerConnection::new(server.clone());
    ours_feed_server(&mut s, hello);
    let mut out = Vec::new();
    s.write_tls(&mut out);
    out.len()
}

// ---- rustls -----------------------------------------------------------------------------

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    let mut provider = rustls::crypto::ring::default_provider();
    provider.cipher_suites = vec![rustls::crypto::ring::cipher_suite::TLS13_AES_128_GCM_SHA256];
    provider.kx_groups = vec![rustls::crypto::ring::kx_group::X25519];
    Arc::new(provider)
}

/// Accepts exactly the pinned end-entity certificate and checks the handshake signature with
/// the provider's algorithms: the same work as our `PinnedCertificates`.
#[derive(Debug)]
struct Pinned {
    cert: CertificateDer<'static>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.cert.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

fn rustls_tls12(resume: Tls12Resume) -> (Arc<rustls::ClientConfig>, Arc<rustls::ServerConfig>) {
    let mut provider = rustls::crypto::ring::default_provider();
    provider.cipher_suites =
        vec![rustls::crypto::ring::cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256];
    provider.kx_groups = vec![rustls::crypto::ring::kx_group::X25519];
    let provider = Arc::new(provider);
    let mut server = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS12])
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(certs(), key())
        .expect("certificate and key");
    if resume == Tls12Resume::Ticket {
        server.ticketer = rustls::crypto::ring::Ticketer::new().expect("ticketer");
        server.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    }
    let verifier = Arc::new(Pinned {
        cert: certs().remove(0),
        provider: provider.clone(),
    });
    let mut client = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS12])
        .expect("versions")
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    client.resumption = match resume {
        Tls12Resume::Never => rustls::client::Resumption::disabled(),
        Tls12Resume::SessionId => rustls::client::Resumption::in_memory_sessions(32)
            .tls12_resumption(rustls::client::Tls12Resumption::SessionIdOnly),
        Tls12Resume::Ticket => rustls::client::Resumption::in_memory_sessions(32)
            .tls12_resumption(rustls::client::Tls12Resumption::SessionIdOrTickets),
    };
    (Arc::new(client), Arc::new(server))
}

fn rustls_server(tickets: usize) -> Arc<rustls::ServerConfig> {
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(certs(), key())
        .expect("certificate and key");
    config.ticketer = rustls::crypto::ring::Ticketer::new().expect("ticketer");
    config.send_tls13_tickets = tickets;
    Arc::new(config)
}

fn rustls_client(resume: bool) -> Arc<rustls::ClientConfig> {
    let provider = provider();
    let verifier = Arc::new(Pinned {
        cert: certs().remove(0),
        provider: provider.clone(),
    });
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("versions")
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    if !resume {
        config.resumption = rustls::client::Resumption::disabled();
    }
    Arc::new(config)
}

fn rustls_move<S, T>(
    from: &mut rustls::ConnectionCommon<S>,
    to: &mut rustls::ConnectionCommon<T>,
) -> usize {
    let mut buf = Vec::new();
    while from.wants_write() {
        from.write_tls(&mut buf).expect("write to a Vec");
    }
    let mut rest = &buf[..];
    while !rest.is_empty() {
        to.read_tls(&mut rest).expect("read from a slice");
        to.process_new_packets().expect("rustls handshake");
    }
    buf.len()
}

/// One whole rustls connection; returns whether it resumed.
fn rustls_handshake(
    client: &Arc<rustls::ClientConfig>,
    server: &Arc<rustls::ServerConfig>,
) -> bool {
    let name = ServerName::try_from("localhost").expect("name");
    let mut c = rustls::ClientConnection::new(client.clone(), name).expect("client");
    let mut s = rustls::ServerConnection::new(server.clone()).expect("server");
    for _ in 0..16 {
        let moved = rustls_move(&mut c, &mut s) + rustls_move(&mut s, &mut c);
        if moved == 0 {
            break;
        }
    }
    assert!(!c.is_handshaking() && !s.is_handshaking());
    s.handshake_kind() == Some(rustls::HandshakeKind::Resumed)
}

fn rustls_recorded_hello(resume: bool) -> (Arc<rustls::ServerConfig>, Vec<u8>) {
    let server = rustls_server(2);
    let client = rustls_client(resume);
    if resume {
        rustls_handshake(&client, &server);
    }
    let name = ServerName::try_from("localhost").expect("name");
    let mut c = rustls::ClientConnection::new(client, name).expect("client");
    let mut hello = Vec::new();
    while c.wants_write() {
        c.write_tls(&mut hello).expect("write to a Vec");
    }
    (server, hello)
}

fn rustls_server_first_flight(server: &Arc<rustls::ServerConfig>, hello: &[u8]) -> usize {
    let mut s = rustls::ServerConnection::new(server.clone()).expect("server");
    let mut rest = hello;
    while !rest.is_empty() {
        s.read_tls(&mut rest).expect("read from a slice");
        s.process_new_packets().expect("rustls server");
    }
    let mut out = Vec::new();
    while s.wants_write() {
        s.write_tls(&mut out).expect("write to a Vec");
    }
    out.len()
}

// ---- groups -----------------------------------------------------------------------------

/// The X25519 work a TLS 1.3 handshake cannot avoid: `pairs` key pairs generated and
/// `agreements` agreements made, as bare ring calls.
fn x25519_floor(pairs: usize, agreements: usize) -> usize {
    use ring::agreement::{agree_ephemeral, EphemeralPrivateKey, UnparsedPublicKey, X25519};
    let rng = ring::rand::SystemRandom::new();
    let mut keys = Vec::with_capacity(pairs);
    for _ in 0..pairs {
        keys.push(EphemeralPrivateKey::generate(&X25519, &rng).expect("key pair"));
    }
    // Each key pair's public half stands in for the peer's (the agreement costs the same).
    let publics: Vec<_> = keys
        .iter()
        .map(|k| k.compute_public_key().expect("public key"))
        .collect();
    let mut out = 0;
    for (i, key) in keys.into_iter().enumerate().take(agreements) {
        let peer = UnparsedPublicKey::new(&X25519, publics[(i + 1) % publics.len()].as_ref());
        out += agree_ephemeral(key, &peer, |secret| secret[0] as usize).expect("agreement");
    }
    out
}

fn tls13_full(c: &mut Criterion) {
    let (oc, os) = (ours_client(false, false), ours_server(false));
    let (rc, rs) = (rustls_client(false), rustls_server(2));
    assert!(!ours_handshake(&oc, &os) && !rustls_handshake(&rc, &rs));
    let mut group = c.benchmark_group("tls13_full");
    group.bench_function("ours", |b| b.iter(|| black_box(ours_handshake(&oc, &os))));
    group.bench_function("rustls", |b| {
        b.iter(|| black_box(rustls_handshake(&rc, &rs)))
    });
    group.bench_function("floor", |b| b.iter(|| black_box(x25519_floor(2, 2))));
    group.finish();
}

fn tls13_resumed_psk_dhe_ke(c: &mut Criterion) {
    let (oc, os) = (ours_client(true, false), ours_server(false));
    // rustls sends one ticket per connection here, as ours does after a resumption.
    let (rc, rs) = (rustls_client(true), rustls_server(1));
    ours_handshake(&oc, &os);
    rustls_handshake(&rc, &rs);
    // Each resumed connection brings the ticket for the next one: a steady state.
    assert!(ours_handshake(&oc, &os) && rustls_handshake(&rc, &rs));
    let mut group = c.benchmark_group("tls13_resumed_psk_dhe_ke");
    group.bench_function("ours", |b| b.iter(|| assert!(ours_handshake(&oc, &os))));
    group.bench_function("rustls", |b| b.iter(|| assert!(rustls_handshake(&rc, &rs))));
    group.bench_function("floor", |b| b.iter(|| black_box(x25519_floor(2, 2))));
    group.finish();
}

fn tls13_resumed_psk_ke(c: &mut Criterion) {
    let (oc, os) = (ours_client(true, true), ours_server(true));
    ours_handshake(&oc, &os);
    assert!(ours_handshake(&oc, &os));
    let mut group = c.benchmark_group("tls13_resumed_psk_ke_ours_only");
    group.bench_function("ours", |b| b.iter(|| assert!(ours_handshake(&oc, &os))));
    group.bench_function("floor", |b| b.iter(|| black_box(x25519_floor(1, 0))));
    group.finish();
}

fn tls13_server_first_flight(c: &mut Criterion) {
    for (name, resume) in [("full", false), ("resumed", true)] {
        let (os, ohello) = ours_recorded_hello(resume);
        let (rs, rhello) = rustls_recorded_hello(resume);
        let (ours_len, rustls_len) = (
            ours_server_first_flight(&os, &ohello),
            rustls_server_first_flight(&rs, &rhello),
        );
        // A resumed first flight carries no Certificate: far shorter than a full one.
        let full_len = ours_server_first_flight(&os, &ours_recorded_hello(false).1);
        assert_eq!(
            resume,
            ours_len + 200 < full_len,
            "ours {name}: {ours_len} vs {full_len}"
        );
        assert!(rustls_len > 0);
        let mut group = c.benchmark_group(format!("tls13_server_first_flight_{name}"));
        group.bench_function("ours", |b| {
            b.iter(|| black_box(ours_server_first_flight(&os, &ohello)))
        });
        group.bench_function("rustls", |b| {
            b.iter(|| black_box(rustls_server_first_flight(&rs, &rhello)))
        });
        group.finish();
    }
}

fn tls12(c: &mut Criterion) {
    for (name, resume) in [
        ("tls12_full", Tls12Resume::Never),
        ("tls12_resumed_session_id", Tls12Resume::SessionId),
        ("tls12_resumed_ticket", Tls12Resume::Ticket),
    ] {
        let (oc, os) = ours_tls12(resume);
        let (rc, rs) = rustls_tls12(resume);
        ours_handshake(&oc, &os);
        rustls_handshake(&rc, &rs);
        let resumed = resume != Tls12Resume::Never;
        assert_eq!(ours_handshake(&oc, &os), resumed, "ours {name}");
        assert_eq!(rustls_handshake(&rc, &rs), resumed, "rustls {name}");
        let mut group = c.benchmark_group(name);
        group.bench_function("ours", |b| {
            b.iter(|| assert_eq!(ours_handshake(&oc, &os), resumed))
        });
        group.bench_function("rustls", |b| {
            b.iter(|| assert_eq!(rustls_handshake(&rc, &rs), resumed))
        });
        group.finish();
    }
}

/// The server's side of TLS 1.2 alone: a recorded ClientHello (fresh, or offering a cached
/// session ID or a ticket) replayed into a fresh server until its first flight is written.
fn tls12_server_first_flight(c: &mut Criterion) {
    let mut full_lens = (0, 0);
    for (name, resume) in [
        ("full", Tls12Resume::Never),
        ("resumed_session_id", Tls12Resume::SessionId),
        ("resumed_ticket", Tls12Resume::Ticket),
    ] {
        let (oc, os) = ours_tls12(resume);
        let (rc, rs) = rustls_tls12(resume);
        if resume != Tls12Resume::Never {
            ours_handshake(&oc, &os);
            rustls_handshake(&rc, &rs);
        }
        let mut ohello = Vec::new();
        ClientConnection::new(oc, "localhost", now())
            .expect("client")
            .write_tls(&mut ohello);
        let mut rhello = Vec::new();
        let mut r =
            rustls::ClientConnection::new(rc, ServerName::try_from("localhost").expect("name"))
                .expect("client");
        while r.wants_write() {
            r.write_tls(&mut rhello).expect("write to a Vec");
        }
        let lens = (
            ours_server_first_flight(&os, &ohello),
            rustls_server_first_flight(&rs, &rhello),
        );
        if resume == Tls12Resume::Never {
            full_lens = lens;
        } else {
            // An abbreviated first flight carries no Certificate: far shorter than a full one.
            assert!(
                lens.0 + 200 < full_lens.0 && lens.1 + 200 < full_lens.1,
                "{lens:?}"
            );
        }
        let mut group = c.benchmark_group(format!("tls12_server_first_flight_{name}"));
        group.bench_function("ours", |b| {
            b.iter(|| black_box(ours_server_first_flight(&os, &ohello)))
        });
        group.bench_function("rustls", |b| {
            b.iter(|| black_box(rustls_server_first_flight(&rs, &rhello)))
        });
        group.finish();
    }
}

/// Where criterion writes its reports: as criterion itself decides (`CRITERION_HOME`, else
/// `CARGO_TARGET_DIR/criterion`, else `target/criterion` under the package).
fn report_path() -> PathBuf {
    let base = std::env::var_os("CRITERION_HOME")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR").map(|d| PathBuf::from(d).join("criterion"))
        })
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/criterion"));
    base.join("report/index.html")
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    tls13_full(&mut c);
    tls13_resumed_psk_dhe_ke(&mut c);
    tls13_resumed_psk_ke(&mut c);
    tls13_server_first_flight(&mut c);
    tls12(&mut c);
    tls12_server_first_flight(&mut c);
    c.final_summary();
    println!("HTML report: {}", report_path().display());
}
