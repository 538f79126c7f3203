//! A throwaway `redis-server` on a free loopback port, for the fleet tests.
#![allow(dead_code)] // Each test binary uses the part it needs.

pub mod cluster;
pub mod example;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `redis-server`, killed (by its PID) on drop.
pub struct RedisServer {
    port: u16,
    child: Option<Child>,
    /// Cluster mode: a one-node Redis Cluster holding every slot.
    cluster: bool,
}

impl RedisServer {
    /// Starts one, or returns `None` after printing why the test skips — unless
    /// `REQUIRE_INTEROP=1` (CI), when a missing `redis-server` fails the test.
    pub fn start(test: &str) -> Option<Self> {
        Self::start_as(test, false)
    }

    /// Starts a one-node Redis Cluster (cluster mode, every slot assigned to it, state ok),
    /// or `None` as [`start`](Self::start) does.
    pub fn start_cluster_node(test: &str) -> Option<Self> {
        let server = Self::start_as(test, true)?;
        let reply = server.command(&["CLUSTER", "ADDSLOTSRANGE", "0", "16383"]);
        assert!(
            reply.as_deref().is_some_and(|r| r.starts_with("+OK")),
            "{test}: CLUSTER ADDSLOTSRANGE: {reply:?}"
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        while !server
            .command(&["CLUSTER", "INFO"])
            .is_some_and(|r| r.contains("cluster_state:ok"))
        {
            assert!(Instant::now() < deadline, "{test}: cluster state never ok");
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(server)
    }

    fn start_as(test: &str, cluster: bool) -> Option<Self> {
        let present = Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !present {
            if std::env::var("REQUIRE_INTEROP").as_deref() == Ok("1") {
                panic!("{test}: redis-server is required (REQUIRE_INTEROP=1) but cannot be run");
            }
            eprintln!("{test}: skipped, redis-server is not installed");
            return None;
        }
        // The port was free when chosen, but any process may take it before redis-server
        // binds it: then that server exits, and another free port is tried.
        for _ in 0..20 {
            let mut server = Self {
                port: free_port(),
                child: None,
                cluster,
            };
            if server.spawn_and_wait() {
                return Some(server);
            }
        }
        panic!("{test}: redis-server did not start on any of 20 free ports");
    }

    /// Starts one on `port` and waits until it answers; `None` when it cannot listen there
    /// (whatever else may answer on the port) or does not answer.
    pub fn try_on_port(port: u16) -> Option<Self> {
        let mut server = Self {
            port,
            child: None,
            cluster: false,
        };
        server.spawn_and_wait().then_some(server)
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server and waits until it is gone.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // A frozen server would not die of SIGKILL any later, but make sure it is thawed
            // so nothing lingers.
            let _ = Command::new("kill")
                .args(["-CONT", &child.id().to_string()])
                .status();
            let _ = child.kill();
            let _ = child.wait();
        }
        if self.cluster {
            let _ = std::fs::remove_file(self.cluster_config());
        }
    }

    /// Where a cluster-mode server keeps its node configuration.
    fn cluster_config(&self) -> std::path::PathBuf {
        std::env::temp_dir().join(format!(
            "fleet-node-{}-{}.conf",
            std::process::id(),
            self.port
        ))
    }

    /// Freezes (`SIGSTOP`) or thaws (`SIGCONT`) the server: it keeps its connections open but
    /// answers nothing, the case only a command timeout catches.
    pub fn freeze(&self, frozen: bool) {
        let pid = self.child.as_ref().expect("running").id().to_string();
        let signal = if frozen { "-STOP" } else { "-CONT" };
        let status = Command::new("kill")
            .args([signal, &pid])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Starts it (again) on the same port, empty, and waits until it answers — retrying
    /// while another process holds the port for a moment.
    pub fn restart(&mut self) {
        self.stop();
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.spawn_and_wait() {
            assert!(
                Instant::now() < deadline,
                "redis-server on port {} did not start",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Spawns redis-server on the port and waits until that very process answers (`INFO`
    /// names its PID): an answer on the port may come from another server, and ours then
    /// exits for want of the port. `false` when ours exits or does not answer in time.
    fn spawn_and_wait(&mut self) -> bool {
        let mut command = Command::new("redis-server");
        command
            .args(["--save", "", "--appendonly", "no", "--bind", "127.0.0.1"])
            .args(["--port", &self.port.to_string()]);
        if self.cluster {
            let _ = std::fs::remove_file(self.cluster_config());
            command
                .args(["--cluster-enabled", "yes", "--cluster-config-file"])
                .arg(self.cluster_config());
        }
        let mut child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        let pid = format!("process_id:{}\r\n", child.id());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if !matches!(child.try_wait(), Ok(None)) {
                let _ = child.wait();
                return false;
            }
            if self
                .command(&["INFO", "server"])
                .is_some_and(|r| r.contains(&pid))
            {
                self.child = Some(child);
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    }

    /// Sends one command (RESP, binary-safe arguments) and returns the raw reply.
    pub fn command_bytes(&self, args: &[&[u8]]) -> Option<Vec<u8>> {
        command_on(self.port, args)
    }

    /// Sends one command of text arguments; the reply as text.
    pub fn command(&self, args: &[&str]) -> Option<String> {
        text_command_on(self.port, args)
    }

    /// The raw value under `key` (a bulk string), or `None`.
    pub fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        let reply = self.command_bytes(&[b"GET", key])?;
        let text_end = reply.windows(2).position(|w| w == b"\r\n")?;
        let len: isize = std::str::from_utf8(&reply[1..text_end])
            .ok()?
            .parse()
            .ok()?;
        let len = usize::try_from(len).ok()?;
        Some(reply[text_end + 2..text_end + 2 + len].to_vec())
    }

    /// Stores a raw value.
    pub fn set(&self, key: &[u8], value: &[u8]) {
        let reply = self.command_bytes(&[b"SET", key, value]).expect("SET");
        assert!(reply.starts_with(b"+OK"), "SET failed: {reply:?}");
    }

    /// Every key, as raw bytes.
    pub fn keys(&self) -> Vec<Vec<u8>> {
        let reply = self.command_bytes(&[b"KEYS", b"*"]).expect("KEYS");
        // Array of bulk strings: "*N\r\n" then "$len\r\nbytes\r\n" each.
        let mut out = Vec::new();
        let mut rest = &reply[..];
        let line = |r: &[u8]| r.windows(2).position(|w| w == b"\r\n");
        let Some(end) = line(rest) else { return out };
        rest = &rest[end + 2..];
        while let Some(end) = line(rest) {
            if rest.first() != Some(&b'$') {
                break;
            }
            let len: usize = std::str::from_utf8(&rest[1..end])
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            out.push(rest[end + 2..end + 2 + len].to_vec());
            rest = &rest[end + 2 + len + 2..];
        }
        out
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Sends one command (RESP, binary-safe arguments) to the Redis on `port` and returns the raw
/// reply.
pub fn command_on(port: u16, args: &[&[u8]]) -> Option<Vec<u8>> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let mut req = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        req.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        req.extend_from_slice(a);
        req.extend_from_slice(b"\r\n");
    }
    stream.write_all(&req).ok()?;
    let mut reply = Vec::new();
    let mut buf = [0u8; 65536];
    // One read answers the small commands used here; a second catches a split reply.
    let n = stream.read(&mut buf).ok()?;
    reply.extend_from_slice(&buf[..n]);
    stream
        .set_read_timeout(Some(Duration::from_millis(20)))
        .ok()?;
    if let Ok(n) = stream.read(&mut buf) {
        reply.extend_from_slice(&buf[..n]);
    }
    Some(reply)
}

/// Sends one command of text arguments to the Redis on `port`; the reply as text.
pub fn text_command_on(port: u16, args: &[&str]) -> Option<String> {
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    command_on(port, &args).map(|r| String::from_utf8_lossy(&r).into_owned())
}

/// A loopback port nothing listens on (bound, read, released).
pub fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Connection settings for tests that are not about timeouts. The defaults (200 ms connect,
/// 100 ms per command) are for servers on a quiet network; a loaded test machine can keep
/// Redis or the test off the CPU for longer, and a miss there would fail a test about
/// something else. A stopped Redis still fails at once: it refuses, nothing is waited on.
pub fn patient_options() -> tls_resumption::fleet::RedisOptions {
    tls_resumption::fleet::RedisOptions::default().timeouts_ms(5_000, 5_000)
}

/// A random 32-byte fleet key.
pub fn fleet_key_bytes() -> [u8; 32] {
    use ring::rand::SecureRandom;
    let mut k = [0u8; 32];
    ring::rand::SystemRandom::new()
        .fill(&mut k)
        .expect("random");
    k
}
