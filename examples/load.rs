//! A bounded load client for the example servers: N concurrent rustls clients on loopback,
//! each with its own session store, make one full handshake and then resume over and over,
//! until a total count or a time limit is reached. Prints resumed handshakes per second and
//! their latency's p50 and p99 (TCP connect to handshake complete, client side), and the same
//! for all handshakes of the phase (the figure that counts when the store is down).
//!
//! ```sh
//! cargo run --release --features tokio --example tokio_server -- --listen 127.0.0.1:8443 --stateful &
//! cargo run --release --features tokio --example load -- --connect 127.0.0.1:8443 --clients 64 --count 20000 --seconds 20 --full
//! ```
//!
//! Flags: `--connect ADDR` (loopback only), `--clients N` (default 64, at most 1024),
//! `--count N` (handshakes in all, default 10000), `--seconds S` (time limit, default 10),
//! `--tls12` / `--tls13` (default: both offered), `--ca FILE` (default: the test CA),
//! `--server-name NAME` (default localhost), `--full` (also a phase of full handshakes only,
//! for their rate, p50 and p99).
//!
//! Each connection sends `GET / HTTP/1.0` and reads the answer to its end, so the tickets
//! the server sends after the handshake are taken in before the next resumption.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, HandshakeKind, RootCertStore};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The longest one connection may take before it counts as failed.
const CONNECTION_LIMIT: Duration = Duration::from_secs(10);

/// The most concurrent clients.
const MAX_CLIENTS: usize = 1024;

struct Options {
    target: SocketAddr,
    clients: usize,
    count: usize,
    limit: Duration,
    versions: Vec<&'static rustls::SupportedProtocolVersion>,
    ca: String,
    server_name: ServerName<'static>,
    full: bool,
}

fn parse() -> Result<Options, String> {
    let mut o = Options {
        target: "127.0.0.1:8443".parse().map_err(|e| format!("{e}"))?,
        clients: 64,
        count: 10_000,
        limit: Duration::from_secs(10),
        versions: vec![&rustls::version::TLS13, &rustls::version::TLS12],
        ca: concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/pki/ca.pem").into(),
        server_name: ServerName::try_from("localhost").map_err(|e| e.to_string())?,
        full: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--connect" => o.target = value()?.parse().map_err(|e| format!("--connect: {e}"))?,
            "--clients" => o.clients = value()?.parse().map_err(|e| format!("--clients: {e}"))?,
            "--count" => o.count = value()?.parse().map_err(|e| format!("--count: {e}"))?,
            "--seconds" => {
                let secs: f64 = value()?.parse().map_err(|e| format!("--seconds: {e}"))?;
                o.limit =
                    Duration::try_from_secs_f64(secs).map_err(|e| format!("--seconds: {e}"))?;
            }
            "--tls12" => o.versions = vec![&rustls::version::TLS12],
            "--tls13" => o.versions = vec![&rustls::version::TLS13],
            "--ca" => o.ca = value()?,
            "--server-name" => {
                o.server_name =
                    ServerName::try_from(value()?).map_err(|e| format!("--server-name: {e}"))?
            }
            "--full" => o.full = true,
            other => return Err(format!("unknown option {other}")),
        }
    }
    if !o.target.ip().is_loopback() {
        return Err("--connect: loopback addresses only (this tool loads a local server)".into());
    }
    if o.clients == 0 || o.clients > MAX_CLIENTS {
        return Err(format!("--clients: 1 to {MAX_CLIENTS}"));
    }
    Ok(o)
}

fn main() {
    let options = match parse() {
        Ok(options) => options,
        Err(e) => {
            eprintln!("load: {e}");
            std::process::exit(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| {
            eprintln!("load: {e}");
            std::process::exit(1)
        });
    if let Err(e) = runtime.block_on(run(options)) {
        eprintln!("load: {e}");
        std::process::exit(1);
    }
}

async fn run(o: Options) -> Result<(), BoxError> {
    let base = client_config(&o)?;
    println!(
        "load: {} clients against {}, at most {} handshakes or {:?} per phase",
        o.clients, o.target, o.count, o.limit
    );
    let resumed = phase(&o, &base, true).await?;
    resumed.print("resuming");
    if o.full {
        let full = phase(&o, &base, false).await?;
        full.print("full");
    }
    Ok(())
}

fn client_config(o: &Options) -> Result<ClientConfig, BoxError> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(&o.ca)? {
        roots.add(cert?)?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&o.versions)?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// What one phase measured.
struct Phase {
    elapsed: Duration,
    /// Latency of each handshake that completed, and whether it resumed.
    handshakes: Vec<(Duration, bool)>,
    failures: usize,
}

impl Phase {
    /// One line: how many resumed, then rate and latency of the resumed handshakes and of all
    /// of them (with the store down, none resume and only the second figure says anything).
    fn print(&self, label: &str) {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        let all: Vec<Duration> = self.handshakes.iter().map(|(d, _)| *d).collect();
        let resumed: Vec<Duration> = self
            .handshakes
            .iter()
            .filter(|(_, r)| *r)
            .map(|(d, _)| *d)
            .collect();
        let figures = |v: &[Duration]| {
            format!(
                "{:.1}/s, p50 {:.3} ms, p99 {:.3} ms",
                v.len() as f64 / secs,
                ms(percentile(v, 0.50)),
                ms(percentile(v, 0.99))
            )
        };
        println!(
            "{label} phase: {} of {} handshakes resumed, {} failed, in {:.3} s; resumed {}; all {}",
            resumed.len(),
            all.len(),
            self.failures,
            secs,
            figures(&resumed),
            figures(&all),
        );
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The `q` quantile (nearest rank) of `values`; zero for none.
fn percentile(values: &[Duration], q: f64) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    match sorted.len() {
        0 => Duration::ZERO,
        n => sorted[((n - 1) as f64 * q).round() as usize],
    }
}

/// Runs the clients until `o.count` handshakes were started or the time limit passed. Each
/// resuming client first makes the full handshake that gives it a session (not counted).
async fn phase(o: &Options, base: &ClientConfig, resuming: bool) -> Result<Phase, BoxError> {
    let budget = Arc::new(AtomicUsize::new(o.count));
    let started = Instant::now();
    let deadline = started + o.limit;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..o.clients {
        let mut config = base.clone();
        config.resumption = if resuming {
            rustls::client::Resumption::in_memory_sessions(16)
                .tls12_resumption(rustls::client::Tls12Resumption::SessionIdOrTickets)
        } else {
            rustls::client::Resumption::disabled()
        };
        let client = Client {
            config: Arc::new(config),
            target: o.target,
            name: o.server_name.clone(),
        };
        let budget = budget.clone();
        tasks.spawn(async move { client.run(resuming, &budget, deadline).await });
    }
    let mut result = Phase {
        elapsed: Duration::ZERO,
        handshakes: Vec::new(),
        failures: 0,
    };
    while let Some(done) = tasks.join_next().await {
        let (handshakes, failures) = done?;
        result.handshakes.extend(handshakes);
        result.failures += failures;
    }
    result.elapsed = started.elapsed();
    Ok(result)
}

struct Client {
    config: Arc<ClientConfig>,
    target: SocketAddr,
    name: ServerName<'static>,
}

impl Client {
    async fn run(
        &self,
        resuming: bool,
        budget: &AtomicUsize,
        deadline: Instant,
    ) -> (Vec<(Duration, bool)>, usize) {
        let (mut handshakes, mut failures) = (Vec::new(), 0);
        if resuming && self.once().await.is_err() {
            failures += 1;
        }
        while Instant::now() < deadline
            && budget
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok()
        {
            match self.once().await {
                Ok(h) => handshakes.push(h),
                Err(_) => failures += 1,
            }
        }
        (handshakes, failures)
    }

    /// One connection: its handshake latency and whether it resumed.
    async fn once(&self) -> Result<(Duration, bool), BoxError> {
        tokio::time::timeout(CONNECTION_LIMIT, self.connect()).await?
    }

    async fn connect(&self) -> Result<(Duration, bool), BoxError> {
        let started = Instant::now();
        let tcp = TcpStream::connect(self.target).await?;
        tcp.set_nodelay(true)?;
        let connector = tokio_rustls::TlsConnector::from(self.config.clone());
        let mut tls = connector.connect(self.name.clone(), tcp).await?;
        let latency = started.elapsed();
        let resumed = tls.get_ref().1.handshake_kind() == Some(HandshakeKind::Resumed);
        tls.write_all(b"GET / HTTP/1.0\r\n\r\n").await?;
        let mut sink = Vec::new();
        tls.read_to_end(&mut sink).await?;
        Ok((latency, resumed))
    }
}
