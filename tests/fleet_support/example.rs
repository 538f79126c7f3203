//! `examples/server` as a child process of a test, killed on drop.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A running example server and the port it listens on.
pub struct ServerProcess {
    child: Child,
    pub port: u16,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the `examples/server` binary at `binary` on a port the system picks when it binds
/// (a port chosen free beforehand may be taken by then), read back from its log, with the
/// test certificate and `args`.
pub fn start_server(binary: &Path, args: &[&str]) -> ServerProcess {
    let pki = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/pki/");
    let mut child = Command::new(binary)
        .args(["--listen", "127.0.0.1:0"])
        .args(["--cert", &format!("{pki}server.pem")])
        .args(["--key", &format!("{pki}server.key")])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run examples/server (built by cargo test --features redis)");
    // The example says on stderr when it listens.
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while stderr.read_line(&mut line).unwrap() > 0 && !line.contains("listening") {
        line.clear();
    }
    assert!(line.contains("listening"), "examples/server did not start");
    let port = line
        .trim()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("unexpected line from examples/server: {line:?}"));
    // Keep draining its log so it never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    ServerProcess { child, port }
}
