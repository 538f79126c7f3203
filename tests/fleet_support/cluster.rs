//! A throwaway Redis Cluster (3 masters, 3 replicas) on free loopback ports, for the fleet
//! tests. The test owns its processes: every node is killed (by its PID) on drop.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{free_port, text_command_on};

/// How long the cluster may take to form, or to settle after a failover, on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(60);

struct Node {
    port: u16,
    child: Option<Child>,
}

/// A running cluster of six `redis-server` processes.
pub struct RedisCluster {
    dir: PathBuf,
    nodes: Vec<Node>,
}

impl RedisCluster {
    /// Starts one and waits until every node reports `cluster_state:ok` and every replica is
    /// in sync with its master; `None` (after saying why) when `redis-server` or `redis-cli`
    /// is missing, unless `REQUIRE_INTEROP=1`.
    pub fn start(test: &str) -> Option<Self> {
        for tool in ["redis-server", "redis-cli"] {
            let present = Command::new(tool)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if !present {
                if std::env::var("REQUIRE_INTEROP").as_deref() == Ok("1") {
                    panic!("{test}: {tool} is required (REQUIRE_INTEROP=1) but cannot be run");
                }
                eprintln!("{test}: skipped, {tool} is not installed");
                return None;
            }
        }
        // A port may be taken between its choice and the server's bind: then that node
        // exits, and the whole cluster is tried again on other ports.
        for _ in 0..5 {
            if let Some(cluster) = Self::try_start(test) {
                return Some(cluster);
            }
        }
        panic!("{test}: no Redis Cluster could be started");
    }

    fn try_start(test: &str) -> Option<Self> {
        let dir = std::env::temp_dir().join(format!(
            "{test}-cluster-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&dir).expect("cluster directory");
        // Client and cluster-bus ports: twelve distinct free ports.
        let mut ports = BTreeSet::new();
        while ports.len() < 12 {
            ports.insert(free_port());
        }
        let ports: Vec<u16> = ports.into_iter().collect();
        let mut cluster = Self {
            dir,
            nodes: Vec::new(),
        };
        for pair in ports.chunks(2) {
            let child = cluster.spawn(pair[0], pair[1]);
            cluster.nodes.push(Node {
                port: pair[0],
                child: Some(child),
            });
        }
        let deadline = Instant::now() + PATIENCE;
        for i in 0..cluster.nodes.len() {
            if !cluster.wait_answering(i, deadline) {
                return None;
            }
        }
        let mut create = Command::new("redis-cli");
        create.arg("--cluster").arg("create");
        for n in &cluster.nodes {
            create.arg(format!("127.0.0.1:{}", n.port));
        }
        let status = create
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("redis-cli runs");
        assert!(
            status.success(),
            "{test}: redis-cli --cluster create failed"
        );
        cluster.wait_settled(deadline);
        Some(cluster)
    }

    fn spawn(&self, port: u16, bus: u16) -> Child {
        Command::new("redis-server")
            .current_dir(&self.dir)
            .args(["--port", &port.to_string()])
            .args(["--cluster-port", &bus.to_string()])
            .args(["--cluster-enabled", "yes"])
            .args(["--cluster-config-file", &format!("nodes-{port}.conf")])
            .args(["--cluster-node-timeout", "1000"])
            .args(["--appendonly", "no", "--save", "", "--bind", "127.0.0.1"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts")
    }

    /// Waits until node `i`'s own process answers (`INFO` names its PID); `false` when it
    /// exited (its port was taken).
    fn wait_answering(&mut self, i: usize, deadline: Instant) -> bool {
        let node = &mut self.nodes[i];
        let child = node.child.as_mut().expect("running");
        let pid = format!("process_id:{}\r\n", child.id());
        while Instant::now() < deadline {
            if !matches!(child.try_wait(), Ok(None)) {
                return false;
            }
            if text_command_on(node.port, &["INFO", "server"]).is_some_and(|r| r.contains(&pid)) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Waits (up to a minute) until every live node reports `cluster_state:ok`, sees the
    /// same masters, and every live replica's link to its master is up.
    pub fn wait_settled(&self, deadline: Instant) {
        loop {
            if self.settled() {
                return;
            }
            assert!(Instant::now() < deadline, "the cluster did not settle");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn settled(&self) -> bool {
        let mut masters_seen = None;
        for port in self.live_ports() {
            let ok = text_command_on(port, &["CLUSTER", "INFO"])
                .is_some_and(|i| i.contains("cluster_state:ok"));
            let Some(role) = text_command_on(port, &["INFO", "replication"]) else {
                return false;
            };
            if !ok || (role.contains("role:slave") && !role.contains("master_link_status:up")) {
                return false;
            }
            let masters = self.masters_seen_by(port);
            if masters.len() != 3 || masters_seen.get_or_insert(masters.clone()) != &masters {
                return false;
            }
        }
        true
    }

    /// The ports of the nodes `port` believes are masters serving slots, not failed.
    fn masters_seen_by(&self, port: u16) -> BTreeSet<u16> {
        let nodes = text_command_on(port, &["CLUSTER", "NODES"]).unwrap_or_default();
        nodes
            .lines()
            .filter_map(|line| {
                let fields: Vec<&str> = line.split(' ').collect();
                let flags = fields.get(2)?;
                let serves = fields.len() > 8;
                (flags.contains("master") && !flags.contains("fail") && serves)
                    .then(|| node_port(fields.get(1)?))?
            })
            .collect()
    }

    fn live_ports(&self) -> Vec<u16> {
        self.nodes
            .iter()
            .filter(|n| n.child.is_some())
            .map(|n| n.port)
            .collect()
    }

    /// Every node as `127.0.0.1:PORT`, as `--redis-cluster` takes them.
    pub fn nodes(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect()
    }

    /// Each master's port with its replica's port.
    pub fn masters_and_replicas(&self) -> Vec<(u16, u16)> {
        let mut pairs = Vec::new();
        for port in self.live_ports() {
            let info = text_command_on(port, &["INFO", "replication"]).unwrap_or_default();
            if !info.contains("role:slave") {
                continue;
            }
            let master = info
                .lines()
                .find_map(|l| l.strip_prefix("master_port:"))
                .and_then(|p| p.trim().parse().ok())
                .expect("a replica names its master");
            pairs.push((master, port));
        }
        pairs.sort();
        pairs
    }

    /// Kills the node on `port` with SIGKILL, as a crash would.
    pub fn kill(&mut self, port: u16) {
        let node = self
            .nodes
            .iter_mut()
            .find(|n| n.port == port)
            .expect("a node of this cluster");
        if let Some(mut child) = node.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Waits until the node on `port` is a master (promoted after its master failed) and
    /// returns when that was first seen.
    pub fn wait_promoted(port: u16, deadline: Instant) -> Instant {
        loop {
            if text_command_on(port, &["ROLE"]).is_some_and(|r| r.contains("master")) {
                return Instant::now();
            }
            assert!(
                Instant::now() < deadline,
                "the replica on {port} was not promoted"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A deadline a minute from now, for [`wait_settled`](Self::wait_settled) and
    /// [`wait_promoted`](Self::wait_promoted).
    pub fn patience() -> Instant {
        Instant::now() + PATIENCE
    }

    /// Sends one command to the node on `port`; the reply as text.
    pub fn command(&self, port: u16, args: &[&str]) -> Option<String> {
        text_command_on(port, args)
    }
}

/// The client port in a `CLUSTER NODES` address (`127.0.0.1:6379@16379`).
fn node_port(address: &str) -> Option<u16> {
    address.split('@').next()?.rsplit(':').next()?.parse().ok()
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            if let Some(mut child) = node.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
