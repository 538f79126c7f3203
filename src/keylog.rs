//! NSS key-log output: the secrets of a connection, one line each, in the format Wireshark and
//! OpenSSL's `-keylogfile` use, so an independent tool can decrypt a capture or cross-check our
//! key schedule.
//!
//! Writing key logs defeats the confidentiality of every logged connection: enable it only for
//! debugging, never in production.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

/// Receives connection secrets as they are derived.
pub trait KeyLog: Send + Sync + fmt::Debug {
    /// Records `secret` under `label` (e.g. `CLIENT_RANDOM`, `CLIENT_HANDSHAKE_TRAFFIC_SECRET`)
    /// for the connection with `client_random`.
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]);

    /// Whether [`log`](Self::log) does anything; lets callers skip formatting.
    fn will_log(&self, _label: &str) -> bool {
        true
    }
}

/// Logs nothing: the default.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoKeyLog;

impl KeyLog for NoKeyLog {
    fn log(&self, _: &str, _: &[u8], _: &[u8]) {}

    fn will_log(&self, _: &str) -> bool {
        false
    }
}

/// Appends lines to a file, as `SSLKEYLOGFILE` does for browsers.
pub struct KeyLogFile {
    file: Mutex<File>,
}

impl KeyLogFile {
    /// Opens (creating or appending to) the file at `path`.
    ///
    /// # Errors
    /// The I/O error of opening the file.
    pub fn open(path: impl AsRef<Path>) -> std::io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Self {
            file: Mutex::new(file),
        })
    }

    /// Opens the file named by the `SSLKEYLOGFILE` environment variable, if it is set.
    pub fn from_env() -> Option<Self> {
        let path = std::env::var_os("SSLKEYLOGFILE")?;
        Self::open(path).ok()
    }
}

impl fmt::Debug for KeyLogFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyLogFile")
    }
}

/// One NSS key-log line (without the newline).
pub fn format_line(label: &str, client_random: &[u8], secret: &[u8]) -> String {
    let mut line =
        String::with_capacity(label.len() + 2 + 2 * (client_random.len() + secret.len()));
    line.push_str(label);
    line.push(' ');
    push_hex(&mut line, client_random);
    line.push(' ');
    push_hex(&mut line, secret);
    line
}

fn push_hex(out: &mut String, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
}

impl KeyLog for KeyLogFile {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        let mut line = format_line(label, client_random, secret);
        line.push('\n');
        // A key log is a debugging aid: a write failure must not break the connection.
        if let Ok(mut file) = self.file.lock() {
            let _ = file.write_all(line.as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_in_nss_format() {
        assert_eq!(
            format_line("CLIENT_RANDOM", &[0x01, 0xab], &[0xff, 0x00]),
            "CLIENT_RANDOM 01ab ff00"
        );
    }

    #[test]
    fn a_file_receives_one_line_per_secret() {
        let path = std::env::temp_dir().join(format!("keylog-test-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let log = KeyLogFile::open(&path).unwrap();
        log.log("EXPORTER_SECRET", &[1; 32], &[2; 32]);
        log.log("CLIENT_TRAFFIC_SECRET_0", &[1; 32], &[3; 48]);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[1].starts_with("CLIENT_TRAFFIC_SECRET_0 0101"));
        assert!(!NoKeyLog.will_log("CLIENT_RANDOM"));
    }
}
