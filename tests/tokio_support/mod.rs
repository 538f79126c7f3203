//! A counting fake asynchronous store, an in-process tokio server around `AsyncAcceptor`, and
//! a rustls client over loopback, for the tokio tests.
#![allow(dead_code)] // Each test binary uses the part it needs.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use rustls::HandshakeKind;
use tls_resumption::rustls_adapter::AsyncAcceptor;
use tls_resumption::store::{
    AsyncSessionCache, LookupKey, LookupResult, MemoryCache, StoreError, StoreFuture,
};
use tls_resumption::time::Timestamp;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A store in memory that answers lookups after `delay` (or never, while stalled), counts
/// every call, and can hold back its acknowledgement of stores forever (the value is written
/// at once, so it can be found; only the answer never comes).
pub struct FakeStore {
    inner: Arc<MemoryCache>,
    delay: Duration,
    stalled: AtomicBool,
    failing: AtomicBool,
    hold_stores: AtomicBool,
    /// `fetch` calls: round trips on a handshake's path.
    pub fetches: AtomicUsize,
    /// Keys asked for, over all fetches.
    pub keys: AtomicUsize,
    /// `store` calls.
    pub stores: AtomicUsize,
}

impl FakeStore {
    pub fn new(delay: Duration) -> Arc<Self> {
        Arc::new(Self {
            inner: Arc::new(MemoryCache::new(4096)),
            delay,
            stalled: AtomicBool::new(false),
            failing: AtomicBool::new(false),
            hold_stores: AtomicBool::new(false),
            fetches: AtomicUsize::new(0),
            keys: AtomicUsize::new(0),
            stores: AtomicUsize::new(0),
        })
    }

    /// While stalled, lookups never answer.
    pub fn stall(&self, stalled: bool) {
        self.stalled.store(stalled, Ordering::SeqCst);
    }

    /// While failing, lookups answer an error for every key.
    pub fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// While set, stores are written but never acknowledged.
    pub fn hold_stores(&self, hold: bool) {
        self.hold_stores.store(hold, Ordering::SeqCst);
    }

    pub fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    pub fn keys(&self) -> usize {
        self.keys.load(Ordering::SeqCst)
    }
}

impl AsyncSessionCache for FakeStore {
    fn fetch<'a>(&'a self, keys: &'a [LookupKey]) -> StoreFuture<'a, Vec<LookupResult>> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        self.keys.fetch_add(keys.len(), Ordering::SeqCst);
        let stalled = self.stalled.load(Ordering::SeqCst);
        let failing = self.failing.load(Ordering::SeqCst);
        Box::pin(async move {
            if stalled {
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(self.delay).await;
            if failing {
                return keys.iter().map(|_| Err(StoreError::Unavailable)).collect();
            }
            self.inner.fetch(keys).await
        })
    }

    fn store<'a>(
        &'a self,
        key: &'a [u8],
        value: &'a [u8],
        expires_at: Timestamp,
    ) -> StoreFuture<'a, Result<(), StoreError>> {
        self.stores.fetch_add(1, Ordering::SeqCst);
        let hold = self.hold_stores.load(Ordering::SeqCst);
        Box::pin(async move {
            let stored = self.inner.store(key, value, expires_at).await;
            if hold {
                std::future::pending::<()>().await;
            }
            stored
        })
    }

    fn remove<'a>(&'a self, key: &'a [u8]) -> StoreFuture<'a, Result<(), StoreError>> {
        self.inner.remove(key)
    }
}

/// A server on a free loopback port answering each connection with
/// `"<New|Reused> <version>\n"`; `panics` counts connection tasks that panicked.
pub struct Server {
    pub addr: SocketAddr,
    pub acceptor: Arc<AsyncAcceptor>,
    pub panics: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub async fn serve(acceptor: AsyncAcceptor) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = Arc::new(acceptor);
    let panics = Arc::new(AtomicUsize::new(0));
    let (a, p) = (acceptor.clone(), panics.clone());
    let task = tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (a, p) = (a.clone(), p.clone());
            tokio::spawn(async move {
                let conn = tokio::spawn(async move { answer(&a, tcp).await });
                if conn.await.is_err() {
                    p.fetch_add(1, Ordering::SeqCst);
                }
            });
        }
    });
    Server {
        addr,
        acceptor,
        panics,
        task,
    }
}

async fn answer(acceptor: &AsyncAcceptor, tcp: TcpStream) -> std::io::Result<()> {
    let mut tls = acceptor.accept(tcp).await?;
    let mut request = Vec::new();
    let mut buf = [0u8; 512];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 8192 {
        let n = tls.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        request.extend_from_slice(&buf[..n]);
    }
    let conn = tls.get_ref().1;
    let kind = match conn.handshake_kind() {
        Some(HandshakeKind::Resumed) => "Reused",
        _ => "New",
    };
    let version = conn.protocol_version().map(|v| format!("{v:?}"));
    let page = format!("{kind} {}\n", version.unwrap_or_default());
    tls.write_all(page.as_bytes()).await?;
    tls.shutdown().await
}

/// One connection of a rustls client: the client's view of the handshake, the page, and how
/// long the whole exchange took.
pub struct Visit {
    pub kind: Option<HandshakeKind>,
    pub page: String,
    pub elapsed: Duration,
}

pub async fn visit(client: &Arc<rustls::ClientConfig>, addr: SocketAddr) -> Visit {
    get(client, addr, "/").await
}

/// The counters a server answers at `/stats`, asked by a client without a session (so the
/// request itself looks nothing up).
pub async fn stats_of(addr: SocketAddr) -> String {
    let fresh = Arc::new(crate::peers::rustls_pair::client_config(&[
        &rustls::version::TLS13,
        &rustls::version::TLS12,
    ]));
    get(&fresh, addr, "/stats").await.page
}

/// One counter, `name N`, out of a counters line.
pub fn counter(stats: &str, name: &str) -> u64 {
    let mut words = stats.split_whitespace();
    while let Some(word) = words.next() {
        if word == name {
            return words.next().and_then(|n| n.parse().ok()).unwrap_or(0);
        }
    }
    panic!("no counter {name} in {stats:?}")
}

/// `GET path` over a new connection.
pub async fn get(client: &Arc<rustls::ClientConfig>, addr: SocketAddr, path: &str) -> Visit {
    let started = Instant::now();
    let connector = tokio_rustls::TlsConnector::from(client.clone());
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await.expect("handshake");
    let kind = tls.get_ref().1.handshake_kind();
    let request = format!("GET {path} HTTP/1.0\r\n\r\n");
    tls.write_all(request.as_bytes()).await.unwrap();
    let mut page = Vec::new();
    // Reading to the end also takes in the tickets sent after the handshake.
    let _ = tls.read_to_end(&mut page).await;
    Visit {
        kind,
        page: String::from_utf8_lossy(&page).into_owned(),
        elapsed: started.elapsed(),
    }
}

/// Waits (at most 10 s) until `done` holds.
pub async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// An example server running as a process on a free loopback port.
pub struct ExampleProcess {
    child: std::process::Child,
    stdout: std::io::BufReader<std::process::ChildStdout>,
    pub addr: SocketAddr,
}

impl ExampleProcess {
    /// Starts `examples/<name> --listen 127.0.0.1:0 <args>` and reads the address from its
    /// first line, `listening on ADDR`.
    pub fn start(name: &str, args: &[&str]) -> Self {
        use std::io::BufRead;
        let mut child = std::process::Command::new(crate::peers::example_binary(name))
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("run examples/{name} (cargo test builds it): {e}"));
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line from {name}: {line:?}"));
        Self {
            child,
            stdout,
            addr,
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Sends SIGINT and returns what the process printed after its first line.
    pub fn interrupt(mut self) -> String {
        use std::io::Read;
        let pid = self.child.id().to_string();
        let status = std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap();
        assert!(status.success());
        let mut rest = String::new();
        let _ = self.stdout.read_to_string(&mut rest);
        let _ = self.child.wait();
        rest
    }
}

impl Drop for ExampleProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits (at most 10 s) until `done` resolves to true.
pub async fn until_async<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
