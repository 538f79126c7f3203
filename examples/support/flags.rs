//! The command-line flags the rustls example servers share, one form for all (the README lists
//! them once): `--listen ADDR`, `--cert FILE`, `--key FILE`, `--tls12` / `--tls13`,
//! `--stateful`, `--naccept N`, `--redis URL`, `--redis-cluster HOST:PORT,...`,
//! `--fleet-key FILE`, `--lookup-timeout-ms MS`.
// Each example server uses the part it needs.
#![allow(dead_code)]

use std::time::Duration;

/// What the flags asked for.
pub struct ServerFlags {
    /// `--listen ADDR` (default 127.0.0.1:8443; port 0 picks a free one).
    pub listen: String,
    /// `--cert FILE` (PEM chain; default: the test certificate).
    pub cert: String,
    /// `--key FILE` (PEM; default: the test key).
    pub key: String,
    /// `--tls12` or `--tls13` alone; both by default.
    pub versions: Vec<&'static rustls::SupportedProtocolVersion>,
    /// `--stateful`: TLS 1.3 tickets are cache keys, not sealed state.
    pub stateful: bool,
    /// `--naccept N`: serve N connections, then exit.
    pub naccept: Option<usize>,
    /// `--redis URL` or `--redis-cluster HOST:PORT,...`, with `--fleet-key FILE`.
    pub fleet: Option<(crate::fleet::Target, String)>,
    /// `--lookup-timeout-ms MS`.
    pub lookup_timeout: Option<Duration>,
}

/// Parses the process's arguments.
pub fn parse() -> Result<ServerFlags, String> {
    parse_from(std::env::args().skip(1))
}

/// Parses `args` (without the program name).
pub fn parse_from(args: impl IntoIterator<Item = String>) -> Result<ServerFlags, String> {
    let pki = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/pki/");
    let mut f = ServerFlags {
        listen: "127.0.0.1:8443".into(),
        cert: format!("{pki}server.pem"),
        key: format!("{pki}server.key"),
        versions: vec![&rustls::version::TLS13, &rustls::version::TLS12],
        stateful: false,
        naccept: None,
        fleet: None,
        lookup_timeout: None,
    };
    let (mut redis, mut cluster, mut fleet_key) = (None, None, None);
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--listen" => f.listen = value()?,
            "--cert" => f.cert = value()?,
            "--key" => f.key = value()?,
            "--tls12" => f.versions = vec![&rustls::version::TLS12],
            "--tls13" => f.versions = vec![&rustls::version::TLS13],
            "--stateful" => f.stateful = true,
            "--naccept" => f.naccept = Some(number(&value()?, "--naccept")?),
            "--redis" => redis = Some(value()?),
            "--redis-cluster" => {
                let nodes = value()?;
                if nodes.split(',').any(str::is_empty) {
                    return Err("--redis-cluster: HOST:PORT,HOST:PORT,...".into());
                }
                cluster = Some(nodes);
            }
            "--fleet-key" => fleet_key = Some(value()?),
            "--lookup-timeout-ms" => {
                let ms = number(&value()?, "--lookup-timeout-ms")?;
                f.lookup_timeout = Some(Duration::from_millis(ms as u64));
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    f.fleet = crate::fleet::target(redis, cluster, fleet_key)?;
    Ok(f)
}

fn number(text: &str, flag: &str) -> Result<usize, String> {
    text.parse().map_err(|e| format!("{flag}: {e}"))
}

/// Reads a PEM certificate chain and its private key.
pub fn load_identity(
    flags: &ServerFlags,
) -> Result<
    (
        Vec<rustls::pki_types::CertificateDer<'static>>,
        rustls::pki_types::PrivateKeyDer<'static>,
    ),
    String,
> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(&flags.cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{}: {e}", flags.cert))?;
    let key =
        PrivateKeyDer::from_pem_file(&flags.key).map_err(|e| format!("{}: {e}", flags.key))?;
    Ok((certs, key))
}

/// The rustls server config of the flags: their certificate and versions, the ring provider.
pub fn server_config(flags: &ServerFlags) -> Result<rustls::ServerConfig, String> {
    let (certs, key) = load_identity(flags)?;
    rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&flags.versions)
    .map_err(|e| e.to_string())?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(|e| e.to_string())
}

/// A `-www`-style line: `New` or `Reused`, the protocol and the suite.
pub fn www_line(conn: &rustls::ServerConnection) -> String {
    let version = match conn.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3",
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2",
        _ => "unknown",
    };
    let suite = conn
        .negotiated_cipher_suite()
        .map(|s| format!("{:?}", s.suite()))
        .unwrap_or_default();
    let kind = match conn.handshake_kind() {
        Some(rustls::HandshakeKind::Resumed) => "Reused",
        _ => "New",
    };
    format!("{kind}, {version}, Cipher is {suite}")
}
