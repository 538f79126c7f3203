//! `openssl s_server` as a peer, started on a free loopback port and stopped (by its own
//! child handle) when dropped.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

/// A running s_server.
pub struct SServer {
    child: Child,
    /// Held open so echo mode (no `-www`) keeps running.
    _stdin: Option<ChildStdin>,
    /// Where it listens.
    pub addr: SocketAddr,
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl SServer {
    /// Starts `openssl s_server` with the test certificate `name` and `extra` flags, and
    /// waits (at most 10 s) until it accepts connections.
    pub fn start(name: &str, extra: &[&str]) -> Self {
        let port = free_port();
        let pki = |f: &str| super::pki::path(f);
        let mut child = Command::new("openssl")
            .arg("s_server")
            .arg("-accept")
            .arg(format!("127.0.0.1:{port}"))
            .arg("-cert")
            .arg(pki(&format!("{name}.pem")))
            .arg("-key")
            .arg(pki(&format!("{name}.key")))
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn openssl s_server");
        let stdin = child.stdin.take();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("address");
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(addr).is_err() {
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("openssl s_server did not start in 10 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // The probe above was a connection too: give s_server a moment to finish with it
        // before the test's own connection arrives.
        std::thread::sleep(Duration::from_millis(100));
        Self {
            child,
            _stdin: stdin,
            addr,
        }
    }

    /// A key-log file path for this server, under the target directory.
    pub fn keylog_path(tag: &str) -> std::path::PathBuf {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
        dir.join(format!("keylog-{tag}-{}", std::process::id()))
    }
}

impl Drop for SServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
