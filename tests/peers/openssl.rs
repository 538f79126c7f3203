//! The `openssl` command-line tool as a peer: present or not, and s_client runs with a deadline.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Whether `openssl` can be run. When it cannot, a test prints why it skips — unless
/// `REQUIRE_INTEROP=1` is set (CI sets it), in which case the absence is a failure.
pub fn available(test: &str) -> bool {
    let present = Command::new("openssl")
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !present {
        if std::env::var("REQUIRE_INTEROP").as_deref() == Ok("1") {
            panic!("{test}: openssl is required (REQUIRE_INTEROP=1) but cannot be run");
        }
        eprintln!("{test}: skipped, openssl is not installed");
    }
    present
}

/// What one `openssl s_client` run printed.
#[derive(Debug)]
pub struct ClientRun {
    /// Standard output: the session summary and the server's page.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl ClientRun {
    /// True when s_client reports a resumed session (`Reused, ...`).
    pub fn reused(&self) -> bool {
        self.stdout.lines().any(|l| l.starts_with("Reused,"))
    }

    /// True when s_client reports a full handshake (`New, ...`).
    pub fn new_session(&self) -> bool {
        self.stdout.lines().any(|l| l.starts_with("New,"))
    }
}

/// Runs `openssl s_client` against `127.0.0.1:port` with `extra` arguments, sends an HTTP
/// request, and waits (at most 20 s) for it to end. `session` is written with `-sess_out`
/// when it does not exist yet and read with `-sess_in` when it does.
pub fn s_client(port: u16, extra: &[&str], session: &Path) -> ClientRun {
    let mut cmd = Command::new("openssl");
    cmd.arg("s_client")
        .arg("-connect")
        .arg(format!("127.0.0.1:{port}"))
        .args(["-servername", "localhost", "-ign_eof"])
        .args(extra);
    if session.exists() {
        cmd.arg("-sess_in").arg(session);
    } else {
        cmd.arg("-sess_out").arg(session);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn openssl s_client");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"GET / HTTP/1.0\r\n\r\n")
        .expect("write request");
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("openssl s_client did not finish in 20 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut stdout)
        .expect("read");
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read");
    ClientRun { stdout, stderr }
}
