//! A real local Redis Cluster for tests: three masters with one replica each, every
//! node a `redis-server --cluster-enabled yes` on a free loopback port (no
//! persistence), joined with `redis-cli --cluster create … --cluster-replicas 1`, and
//! killed when the guard is dropped.
//!
//! Besides starting it, the harness does to the cluster what an operator's trouble
//! would: [`RedisCluster::kill_master_of`] SIGKILLs the master that owns a key's slot
//! (its replica is promoted), and [`RedisCluster::move_slot_of`] reshards a key's slot
//! to another master while it is in use (`CLUSTER SETSLOT … IMPORTING/MIGRATING`,
//! `MIGRATE`, `CLUSTER SETSLOT … NODE`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::free_port;
use crate::redis::{make_certificates, tls_args, RedisServer};

/// Masters, each with one replica.
const MASTERS: usize = 3;

/// How long a node may be unreachable before the others count it as failed and its
/// replica takes over. Short, so a failover takes a couple of seconds.
const NODE_TIMEOUT_MS: u64 = 1000;

/// How long forming the cluster, or recovering from a failure, may take.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(60);

/// A running Redis Cluster owned by one test (or by a whole test process).
pub struct RedisCluster {
    /// Every node, masters and replicas, in the order they were created.
    nodes: Vec<RedisServer>,
    /// For a cluster that speaks TLS (to clients and between nodes): each node's TLS
    /// port, and the directory of the certificates (`ca.pem` signed the nodes').
    tls: Option<(Vec<u16>, tempfile::TempDir)>,
}

/// One node as `CLUSTER NODES` describes it.
#[derive(Clone, Debug)]
struct NodeInfo {
    id: String,
    port: u16,
    master: bool,
    failed: bool,
    /// The slot ranges it serves (masters), inclusive.
    slots: Vec<(u16, u16)>,
}

impl RedisCluster {
    /// Starts six nodes and joins them into a cluster of three masters with one
    /// replica each; returns once every node sees `cluster_state:ok` and every replica
    /// is in sync. Panics with an installation hint when `redis-server` or `redis-cli`
    /// is missing, and with the nodes' logs when the cluster does not form.
    pub fn start() -> RedisCluster {
        Self::start_with(false, false)
    }

    /// Like [`RedisCluster::start`], with every node also listening for TLS (its
    /// certificate, for `127.0.0.1`, signed by a CA made for this cluster), and the
    /// nodes talking to each other over TLS: see [`RedisCluster::tls_urls`] and
    /// [`RedisCluster::ca_file`].
    pub fn start_tls() -> RedisCluster {
        Self::start_with(false, true)
    }

    /// Like [`RedisCluster::start`], for a `static` shared by a whole test binary: the
    /// nodes die with the test process (see [`RedisServer::start_for_process`]).
    pub fn start_for_process() -> RedisCluster {
        Self::start_with(true, false)
    }

    fn start_with(watchdog: bool, tls: bool) -> RedisCluster {
        let cli = find_cli();
        let tls = tls.then(|| {
            let certs = tempfile::Builder::new()
                .prefix("vroom-redis-cluster-tls-")
                .tempdir()
                .expect("create a temporary directory for certificates");
            make_certificates(certs.path());
            let ports: Vec<u16> = (0..MASTERS * 2).map(|_| free_port()).collect();
            (ports, certs)
        });
        let nodes: Vec<RedisServer> = (0..MASTERS * 2)
            .map(|i| {
                let mut extra: Vec<String> = match &tls {
                    Some((ports, certs)) => {
                        let mut args = tls_args(ports[i], certs.path());
                        args.extend(
                            ["--tls-cluster", "yes", "--tls-replication", "yes"].map(String::from),
                        );
                        args
                    }
                    None => Vec::new(),
                };
                extra.extend(
                    [
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        "nodes.conf",
                        "--cluster-node-timeout",
                        &NODE_TIMEOUT_MS.to_string(),
                        // A replica of a killed master takes over whatever its lag.
                        "--cluster-replica-validity-factor",
                        "0",
                    ]
                    .map(String::from),
                );
                RedisServer::start_with(watchdog, extra)
            })
            .collect();
        let cluster = RedisCluster { nodes, tls };
        let output = Command::new(&cli)
            .arg("--cluster")
            .arg("create")
            .args(
                cluster
                    .nodes
                    .iter()
                    .map(|n| format!("127.0.0.1:{}", n.port())),
            )
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .output()
            .unwrap_or_else(|e| panic!("could not run {}: {e}", cli.display()));
        assert!(
            output.status.success(),
            "redis-cli --cluster create failed:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        cluster.wait_until_settled();
        cluster
    }

    /// The URLs of every node, comma separated, as `--redis-cluster` takes them.
    pub fn urls(&self) -> String {
        self.nodes
            .iter()
            .map(|n| n.url())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The TLS URLs of every node (`rediss://127.0.0.1:PORT`), comma separated, for a
    /// cluster from [`RedisCluster::start_tls`].
    pub fn tls_urls(&self) -> String {
        let (ports, _) = self.tls.as_ref().expect("a cluster started with start_tls");
        ports
            .iter()
            .map(|p| format!("rediss://127.0.0.1:{p}/?protocol=resp3"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The PEM file of the CA that signed the nodes' certificates.
    pub fn ca_file(&self) -> PathBuf {
        let (_, certs) = self.tls.as_ref().expect("a cluster started with start_tls");
        certs.path().join("ca.pem")
    }

    /// The ports of the running nodes.
    pub fn ports(&self) -> Vec<u16> {
        self.running().map(RedisServer::port).collect()
    }

    fn running(&self) -> impl Iterator<Item = &RedisServer> {
        self.nodes.iter().filter(|n| n.is_running())
    }

    /// The running masters.
    fn masters(&self) -> Vec<&RedisServer> {
        let table = self.table();
        self.running()
            .filter(|n| {
                table
                    .iter()
                    .any(|i| i.port == n.port() && i.master && !i.failed)
            })
            .collect()
    }

    /// `CLUSTER NODES` as seen by the first running node that answers.
    fn table(&self) -> Vec<NodeInfo> {
        for node in self.running() {
            let Ok(text) = redis::cmd("CLUSTER")
                .arg("NODES")
                .query::<String>(&mut node.connection())
            else {
                continue;
            };
            return parse_nodes(&text);
        }
        panic!("no node of the cluster answers CLUSTER NODES");
    }

    /// The slot a key (or sharded channel) hashes to.
    pub fn slot_of(&self, key: &str) -> u16 {
        let node = self.running().next().expect("a running node");
        redis::cmd("CLUSTER")
            .arg("KEYSLOT")
            .arg(key)
            .query(&mut node.connection())
            .expect("CLUSTER KEYSLOT")
    }

    /// The port of the master serving `key`'s slot.
    ///
    /// After a failover the nodes learn of the promotion by gossip, so the node asked
    /// may not know the new master yet: the table is read again until one serves the
    /// slot (at most 15 s).
    pub fn owner_of(&self, key: &str) -> u16 {
        let slot = self.slot_of(key);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            if let Some(node) = owner(&self.table(), slot) {
                return node.port;
            }
            if std::time::Instant::now() > deadline {
                panic!("no master serves slot {slot}");
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// Every key of the cluster (found with `SCAN` on each master), with its `PTTL`
    /// in milliseconds (-1: no expiry).
    pub fn keys_with_ttl(&self) -> Vec<(String, i64)> {
        self.masters()
            .into_iter()
            .flat_map(|m| m.keys_with_ttl())
            .collect()
    }

    /// Panics, naming the keys, if any key in the cluster has no expiry.
    pub fn assert_every_key_expires(&self) {
        for master in self.masters() {
            master.assert_every_key_expires();
        }
    }

    /// How many connections follow the sharded channel, summed over the masters.
    pub fn shard_subscribers(&self, channel: &str) -> i64 {
        self.masters()
            .into_iter()
            .map(|m| {
                let (_, n): (String, i64) = redis::cmd("PUBSUB")
                    .arg("SHARDNUMSUB")
                    .arg(channel)
                    .query(&mut m.connection())
                    .expect("PUBSUB SHARDNUMSUB");
                n
            })
            .sum()
    }

    /// `INFO commandstats` calls of each master (by port) since the last
    /// [`RedisCluster::reset_stats`].
    pub fn command_calls_per_master(&self) -> BTreeMap<u16, BTreeMap<String, u64>> {
        self.masters()
            .into_iter()
            .map(|m| (m.port(), m.command_calls()))
            .collect()
    }

    /// Clears the counters of every running node.
    pub fn reset_stats(&self) {
        for node in self.running() {
            node.reset_stats();
        }
    }

    /// SIGKILLs the master that owns `key`'s slot and returns its port; its replica is
    /// promoted by the others once [`NODE_TIMEOUT_MS`] has passed. Wait with
    /// [`RedisCluster::wait_until_settled`].
    pub fn kill_master_of(&mut self, key: &str) -> u16 {
        let port = self.owner_of(key);
        let node = self
            .nodes
            .iter_mut()
            .find(|n| n.port() == port)
            .expect("the owner is one of the nodes");
        node.kill();
        port
    }

    /// Waits until every running node sees `cluster_state:ok`, every slot is served by
    /// a running master, and every running replica is in sync with its master.
    pub fn wait_until_settled(&self) {
        let deadline = Instant::now() + SETTLE_TIMEOUT;
        loop {
            if self.settled() {
                return;
            }
            if Instant::now() > deadline {
                let logs: Vec<String> = self
                    .nodes
                    .iter()
                    .map(|n| format!("--- node {}:\n{}", n.port(), n.log()))
                    .collect();
                panic!(
                    "the Redis Cluster did not settle in {SETTLE_TIMEOUT:?}; logs:\n{}",
                    logs.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn settled(&self) -> bool {
        let running: Vec<u16> = self.ports();
        self.running()
            .all(|node| node_settled(node.port(), &running).is_some())
    }

    /// Moves `key`'s slot to another master while it is in use, as `redis-cli --cluster
    /// reshard` does for each slot: the target imports, the source migrates, the keys
    /// move with `MIGRATE`, and every master learns the new owner. Between the steps,
    /// `between` runs (with the step's name), so a test can use the room while the slot
    /// is half moved (requests then get `ASK` redirections). Returns the new owner's port.
    pub fn move_slot_of(&self, key: &str, between: impl FnMut(&str)) -> u16 {
        self.move_slot_of_by(key, 100, between)
    }

    /// Like [`RedisCluster::move_slot_of`], moving at most `per_migrate` keys with each
    /// `MIGRATE` (as `redis-cli --cluster reshard --cluster-pipeline` does); between two
    /// batches `between` runs with `"split"`: the slot's keys are then on both masters,
    /// and a request naming keys on both is answered `TRYAGAIN` until the next batch.
    pub fn move_slot_of_by(
        &self,
        key: &str,
        per_migrate: usize,
        mut between: impl FnMut(&str),
    ) -> u16 {
        let slot = self.slot_of(key);
        let table = self.table();
        let source = owner(&table, slot).expect("the slot has an owner").clone();
        let target = table
            .iter()
            .find(|i| i.master && !i.failed && i.port != source.port && self.is_up(i.port))
            .expect("another running master")
            .clone();
        let node = |port: u16| {
            self.nodes
                .iter()
                .find(|n| n.port() == port)
                .expect("a node of the cluster")
                .connection()
        };
        let setslot = |port: u16, how: &str, id: &str| {
            let _: () = redis::cmd("CLUSTER")
                .arg("SETSLOT")
                .arg(slot)
                .arg(how)
                .arg(id)
                .query(&mut node(port))
                .unwrap_or_else(|e| panic!("CLUSTER SETSLOT {slot} {how} on {port}: {e}"));
        };
        setslot(target.port, "IMPORTING", &source.id);
        setslot(source.port, "MIGRATING", &target.id);
        between("migrating");
        for batch in 0.. {
            let keys: Vec<String> = redis::cmd("CLUSTER")
                .arg("GETKEYSINSLOT")
                .arg(slot)
                .arg(per_migrate)
                .query(&mut node(source.port))
                .expect("CLUSTER GETKEYSINSLOT");
            if keys.is_empty() {
                break;
            }
            if batch > 0 {
                between("split");
            }
            let _: redis::Value = redis::cmd("MIGRATE")
                .arg("127.0.0.1")
                .arg(target.port)
                .arg("")
                .arg(0)
                .arg(5000)
                .arg("KEYS")
                .arg(&keys)
                .query(&mut node(source.port))
                .expect("MIGRATE the slot's keys");
        }
        between("migrated");
        // The target first, then the source, then the others, as redis-cli does.
        setslot(target.port, "NODE", &target.id);
        setslot(source.port, "NODE", &target.id);
        for other in table
            .iter()
            .filter(|i| i.master && !i.failed && self.is_up(i.port))
        {
            if other.port != target.port && other.port != source.port {
                setslot(other.port, "NODE", &target.id);
            }
        }
        self.wait_until_settled();
        target.port
    }

    fn is_up(&self, port: u16) -> bool {
        self.running().any(|n| n.port() == port)
    }
}

/// `Some` when the node on `port` sees `cluster_state:ok`, every slot served by a
/// master among `running`, and (a replica) its link to its master up.
fn node_settled(port: u16, running: &[u16]) -> Option<()> {
    let mut conn = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(500)))
        .ok()?;
    let mut ask = |command: &str, arg: &str| -> Option<String> {
        redis::cmd(command).arg(arg).query(&mut conn).ok()
    };
    ask("CLUSTER", "INFO")?
        .contains("cluster_state:ok")
        .then_some(())?;
    let served: u32 = parse_nodes(&ask("CLUSTER", "NODES")?)
        .iter()
        .filter(|i| i.master && !i.failed && running.contains(&i.port))
        .flat_map(|i| i.slots.iter())
        .map(|(a, b)| u32::from(b - a) + 1)
        .sum();
    (served == 16384).then_some(())?;
    let replication = ask("INFO", "replication")?;
    let in_sync =
        !replication.contains("role:slave") || replication.contains("master_link_status:up");
    in_sync.then_some(())
}

/// The master serving `slot`.
fn owner(table: &[NodeInfo], slot: u16) -> Option<&NodeInfo> {
    table
        .iter()
        .find(|i| i.master && !i.failed && i.slots.iter().any(|(a, b)| (*a..=*b).contains(&slot)))
}

/// Reads `CLUSTER NODES`: `<id> <ip:port@cport> <flags> <master> <ping> <pong>
/// <epoch> <link> <slot> <slot>…`, slots as `n` or `a-b` (or `[…]` while migrating).
fn parse_nodes(text: &str) -> Vec<NodeInfo> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let id = fields.next()?.to_owned();
            let address = fields.next()?;
            let port = address
                .split('@')
                .next()?
                .rsplit(':')
                .next()?
                .parse()
                .ok()?;
            let flags = fields.next()?;
            let master = flags.split(',').any(|f| f == "master");
            let failed = flags.split(',').any(|f| f == "fail" || f == "noaddr");
            let slots = fields
                .skip(5)
                .filter(|s| !s.starts_with('['))
                .filter_map(|s| match s.split_once('-') {
                    Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
                    None => s.parse().ok().map(|n| (n, n)),
                })
                .collect();
            Some(NodeInfo {
                id,
                port,
                master,
                failed,
                slots,
            })
        })
        .collect()
}

fn find_cli() -> PathBuf {
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let full = dir.join("redis-cli");
            if full.is_file() {
                return full;
            }
        }
    }
    panic!(
        "redis-cli not found: install it with `apt-get install redis-tools` \
         (it comes with redis-server)"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_nodes_lines_are_parsed() {
        let text =
            "a1 127.0.0.1:7001@17001 myself,master - 0 0 1 connected 0-5460 6000 [7000->-b2]\n\
                    b2 127.0.0.1:7002@17002 slave,fail a1 0 0 1 disconnected\n";
        let nodes = parse_nodes(text);
        assert_eq!(nodes.len(), 2);
        assert_eq!(nodes[0].port, 7001);
        assert!(nodes[0].master && !nodes[0].failed);
        assert_eq!(nodes[0].slots, vec![(0, 5460), (6000, 6000)]);
        assert!(!nodes[1].master && nodes[1].failed);
        assert_eq!(owner(&nodes, 6000).map(|n| n.port), Some(7001));
        assert!(owner(&nodes, 6001).is_none());
    }
}
