//! `vroom-bench`: one subcommand per benchmark scenario, each against vroom's release
//! relay and the Socket.IO peer in the same run, and on request the uWebSockets.js
//! ceiling peer. Results print as Markdown table rows and, with `--out`, append as JSON
//! lines.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::json;
use vroom_bench::proto::Peer;
use vroom_bench::scenario::{self, Outcome, Server, Spread};
use vroom_bench::worker::Load;

#[derive(Parser)]
#[command(
    name = "vroom-bench",
    about = "Benchmarks vroom's relay against a Socket.IO relay (and a uWebSockets.js ceiling) on this machine"
)]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// 1. Idle connections in rooms of 2: server memory per connection.
    Idle {
        /// Connection counts to measure, one fresh server each.
        #[arg(long, value_delimiter = ',', default_value = "1000,5000,10000,19000")]
        conns: Vec<u32>,
        #[command(flatten)]
        common: Common,
    },
    /// 2. Fan-out at saturation in rooms of several sizes: deliveries per server
    ///    CPU-second.
    Fanout {
        /// Room sizes to measure.
        #[arg(long, value_delimiter = ',', default_value = "2,10,50")]
        room_sizes: Vec<u32>,
        /// Connections in all (rooms = conns / room size).
        #[arg(long, default_value_t = 1000)]
        conns: u32,
        /// Own messages each connection keeps in flight.
        #[arg(long, default_value_t = 2)]
        window: u32,
        /// Relay instances; more than one share a fresh Redis (vroom only).
        #[arg(long, default_value_t = 1)]
        instances: usize,
        /// Seconds measured.
        #[arg(long, default_value_t = 10)]
        duration: u64,
        #[command(flatten)]
        common: Common,
    },
    /// 3. Latency at a fixed delivery rate (one instance, or two through Redis).
    Latency {
        /// Deliveries per second to schedule.
        #[arg(long, default_value_t = 10_000)]
        rate: u32,
        /// Members per room.
        #[arg(long, default_value_t = 10)]
        room_size: u32,
        /// Rooms.
        #[arg(long, default_value_t = 100)]
        rooms: u32,
        /// Relay instances; more than one share a fresh Redis (vroom only).
        #[arg(long, default_value_t = 1)]
        instances: usize,
        /// Seconds measured.
        #[arg(long, default_value_t = 20)]
        duration: u64,
        #[command(flatten)]
        common: Common,
    },
    /// 4. Redis commands per relayed message (INFO commandstats), two instances.
    RedisCommands {
        /// Messages per second (each is delivered to every member).
        #[arg(long, default_value_t = 500)]
        msg_rate: u32,
        /// Members per room.
        #[arg(long, default_value_t = 10)]
        room_size: u32,
        /// Rooms.
        #[arg(long, default_value_t = 50)]
        rooms: u32,
        /// Seconds measured.
        #[arg(long, default_value_t = 10)]
        duration: u64,
        #[command(flatten)]
        common: Common,
    },
    /// 5. Soak: thousands of connections at a steady message rate for minutes; checks
    ///    nothing is lost and the relay's memory stays flat (exits non-zero otherwise).
    Soak {
        /// Deliveries per second to schedule.
        #[arg(long, default_value_t = 5_000)]
        rate: u32,
        /// Members per room.
        #[arg(long, default_value_t = 4)]
        room_size: u32,
        /// Rooms.
        #[arg(long, default_value_t = 1_000)]
        rooms: u32,
        /// Relay instances; more than one share a fresh Redis (vroom only).
        #[arg(long, default_value_t = 1)]
        instances: usize,
        /// Seconds the load runs.
        #[arg(long, default_value_t = 300)]
        duration: u64,
        /// Largest growth of the relay's memory allowed from the first sample of the
        /// window's second half to its last, in percent.
        #[arg(long, default_value_t = 10.0)]
        max_growth_pct: f64,
        #[command(flatten)]
        common: Common,
    },
    /// Internal: one load-generating process (started by the other subcommands).
    #[command(hide = true)]
    Worker { plan: String },
}

/// The servers one run measures, one after another.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Peers {
    /// vroom's release relay.
    Vroom,
    /// The Socket.IO room relay (bench/peers/socketio).
    Socketio,
    /// The uWebSockets.js room relay (bench/peers/uws): the ceiling a C++ WebSocket
    /// server on Node reaches.
    Uws,
    /// vroom, then Socket.IO: the comparison of BENCHMARKS.md.
    Both,
    /// vroom, then Socket.IO, then uws.
    All,
}

#[derive(Args)]
struct Common {
    /// Which servers to measure (only vroom with --connect; the Node peers run one
    /// instance, so `latency --instances 2` measures vroom alone).
    #[arg(long, value_enum, default_value = "both")]
    peer: Peers,
    /// The relay binary. Default: `vroom-relay` beside this executable, built first when
    /// run through cargo.
    #[arg(long)]
    relay_bin: Option<PathBuf>,
    /// Measure a vroom relay already listening here instead of starting one…
    #[arg(long, requires = "server_pid")]
    connect: Option<SocketAddr>,
    /// …whose process is this.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Worker processes (more are used when the connections need them).
    #[arg(long, default_value_t = 2)]
    workers: u32,
    /// vroom's instances share a fresh local Redis Cluster of three masters instead of
    /// one Redis (with --instances 1 too).
    #[arg(long)]
    redis_cluster: bool,
    /// Bytes per relayed payload (a 200-byte chat message is ~360 bytes sealed).
    #[arg(long, default_value_t = 360)]
    payload: usize,
    /// Append results here as JSON lines.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Directory of the Socket.IO peer.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/peers/socketio"))]
    socketio_dir: PathBuf,
    /// Directory of the uWebSockets.js peer.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/peers/uws"))]
    uws_dir: PathBuf,
}

impl Common {
    /// The peers to measure with `instances`: only vroom's relay runs as several
    /// (through Redis).
    fn peers_for(&self, instances: usize) -> Vec<Peer> {
        let mut peers = self.peers();
        peers.retain(|p| *p == Peer::Vroom || instances == 1);
        peers
    }

    fn peers(&self) -> Vec<Peer> {
        match (self.peer, self.connect.is_some()) {
            (_, true) | (Peers::Vroom, _) => vec![Peer::Vroom],
            (Peers::Socketio, _) => vec![Peer::Socketio],
            (Peers::Uws, _) => vec![Peer::Uws],
            (Peers::Both, _) => vec![Peer::Vroom, Peer::Socketio],
            (Peers::All, _) => vec![Peer::Vroom, Peer::Socketio, Peer::Uws],
        }
    }

    async fn start(&self, peer: Peer, instances: usize) -> anyhow::Result<Server> {
        if let (Some(addr), Some(pid)) = (self.connect, self.server_pid) {
            return Ok(Server::external(Peer::Vroom, addr, pid));
        }
        match peer {
            Peer::Vroom => {
                Server::vroom(
                    &relay_bin(self.relay_bin.as_deref())?,
                    instances,
                    false,
                    self.redis_cluster,
                )
                .await
            }
            Peer::Socketio => Server::socketio(&self.socketio_dir).await,
            Peer::Uws => Server::uws(&self.uws_dir).await,
        }
    }

    fn record(&self, scenario: &str, value: serde_json::Value) -> anyhow::Result<()> {
        if let Some(path) = &self.out {
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("could not open {}", path.display()))?;
            writeln!(f, "{}", json!({ "scenario": scenario, "result": value }))?;
        }
        Ok(())
    }
}

/// The release relay beside this executable; when run through cargo, built first so it
/// is never stale.
fn relay_bin(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(p) = given {
        return Ok(p.to_path_buf());
    }
    let exe = std::env::current_exe()?;
    let dir = exe.parent().context("executable without a directory")?;
    if let Some(cargo) = std::env::var_os("CARGO") {
        let mut cmd = std::process::Command::new(cargo);
        cmd.args(["build", "-q", "-p", "vroom-relay", "--bin", "vroom-relay"]);
        if dir.ends_with("release") {
            cmd.arg("--release");
        } else {
            eprintln!("warning: a debug build measures nothing useful; run with --release");
        }
        if !cmd.status()?.success() {
            bail!("could not build the relay (cargo build -p vroom-relay)");
        }
    }
    let bin = dir.join("vroom-relay");
    if !bin.exists() {
        bail!(
            "no relay at {}: build it with `cargo build --release -p vroom-relay` or pass --relay-bin",
            bin.display()
        );
    }
    Ok(bin)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn check(o: &Outcome) {
    if o.workers.failed > 0 || o.workers.errors > 0 {
        eprintln!(
            "warning: {} connections failed, {} ended in error; first: {}",
            o.workers.failed,
            o.workers.errors,
            o.workers.first_error.as_deref().unwrap_or("-")
        );
    }
}

async fn idle(conns: &[u32], common: &Common) -> anyhow::Result<()> {
    println!("| peer | connections | joined | RSS before (MiB) | RSS idle (MiB) | KiB/conn (total) | KiB/conn (added) |");
    println!("|---|---|---|---|---|---|---|");
    for peer in common.peers() {
        for &n in conns {
            let server = common.start(peer, 1).await?;
            tokio::time::sleep(Duration::from_millis(500)).await;
            let spread = Spread {
                rooms: n / 2,
                members: 2,
                workers: common.workers,
            };
            let o = scenario::run(
                &server,
                &spread,
                Load::Idle,
                common.payload,
                Duration::from_secs(1),
                Duration::from_secs(3),
            )
            .await;
            server.stop().await;
            let o = o?;
            check(&o);
            let joined = o.workers.joined.max(1) as f64;
            let total = o.rss_ready as f64 / 1024.0 / joined;
            let added = o.rss_ready.saturating_sub(o.rss_before) as f64 / 1024.0 / joined;
            println!(
                "| {} | {n} | {} | {:.1} | {:.1} | {total:.2} | {added:.2} |",
                peer.name(),
                o.workers.joined,
                mib(o.rss_before),
                mib(o.rss_ready)
            );
            common.record(
                "idle",
                json!({ "peer": peer.name(), "conns": n, "outcome": o,
                        "kib_per_conn_total": total, "kib_per_conn_added": added }),
            )?;
        }
    }
    Ok(())
}

fn latency_row(label: &str, o: &Outcome) -> String {
    format!(
        "| {label} | {:.0} | {:.2} | {:.0} | {:.2} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} |",
        o.deliveries_per_s(),
        o.cpu_s,
        o.deliveries_per_cpu_s(),
        o.redis_cpu_s,
        o.workers.delivered_in_window as f64 / (o.cpu_s + o.redis_cpu_s).max(0.01),
        o.p50_us,
        o.p99_us,
        o.p999_us,
        o.max_us
    )
}

const LATENCY_HEADER: &str = "|---|---|---|---|---|---|---|---|---|---|";

/// The columns of [`latency_row`] after the first.
const LATENCY_COLUMNS: &str = "deliveries/s | server CPU-s | deliveries per CPU-s | Redis CPU-s | deliveries per CPU-s with Redis | p50 µs | p99 µs | p99.9 µs | max µs |";

/// A row's label: the peer, its instances, and where Redis runs.
fn peer_label(common: &Common, peer: Peer, instances: usize) -> String {
    let redis = match (common.redis_cluster, instances > 1) {
        (true, _) => ", cluster",
        (false, true) => ", one Redis",
        (false, false) => "",
    };
    format!("{} ×{instances}{redis}", peer.name())
}

/// Starts `peer` with `instances`, runs `load` on `rooms` rooms of `members` for `secs`,
/// stops it, checks the outcome and prints its row, labelled `label`.
#[allow(clippy::too_many_arguments)]
async fn measure(
    common: &Common,
    peer: Peer,
    instances: usize,
    rooms: (u32, u32),
    load: Load,
    secs: u64,
    label: &str,
) -> anyhow::Result<Outcome> {
    let o = run_once(common, peer, instances, rooms, load, secs).await?;
    println!("{}", latency_row(label, &o));
    Ok(o)
}

/// Starts `peer` with `instances`, runs `load` on `rooms` rooms of `members` for `secs`,
/// stops it and checks the outcome.
async fn run_once(
    common: &Common,
    peer: Peer,
    instances: usize,
    (rooms, members): (u32, u32),
    load: Load,
    secs: u64,
) -> anyhow::Result<Outcome> {
    let server = common.start(peer, instances).await?;
    let spread = Spread {
        rooms,
        members,
        workers: common.workers,
    };
    let o = scenario::run(
        &server,
        &spread,
        load,
        common.payload,
        Duration::from_secs(secs),
        Duration::from_secs(1),
    )
    .await;
    server.stop().await;
    let o = o?;
    check(&o);
    Ok(o)
}

async fn fanout(
    sizes: &[u32],
    conns: u32,
    window: u32,
    instances: usize,
    secs: u64,
    common: &Common,
) -> anyhow::Result<()> {
    println!("| peer, room size | {LATENCY_COLUMNS}");
    println!("{LATENCY_HEADER}");
    for peer in common.peers_for(instances) {
        for &m in sizes {
            let label = format!("{}, {m}", peer_label(common, peer, instances));
            let load = Load::Saturate { window };
            let rooms = ((conns / m).max(1), m);
            let o = measure(common, peer, instances, rooms, load, secs, &label).await?;
            common.record(
                "fanout",
                json!({ "peer": peer.name(), "room_size": m, "conns": conns, "window": window,
                        "instances": instances, "redis_cluster": common.redis_cluster,
                        "outcome": o, "deliveries_per_cpu_s": o.deliveries_per_cpu_s() }),
            )?;
        }
    }
    Ok(())
}

async fn latency(
    rate: u32,
    room_size: u32,
    rooms: u32,
    instances: usize,
    secs: u64,
    common: &Common,
) -> anyhow::Result<()> {
    println!("| peer, instances | {LATENCY_COLUMNS}");
    println!("{LATENCY_HEADER}");
    let conns = room_size * rooms;
    // Every message reaches every member of its room, the sender included.
    let load = Load::Rate {
        per_conn_hz: f64::from(rate) / f64::from(room_size) / f64::from(conns),
    };
    for peer in common.peers_for(instances) {
        let label = peer_label(common, peer, instances);
        let o = measure(
            common,
            peer,
            instances,
            (rooms, room_size),
            load,
            secs,
            &label,
        )
        .await?;
        common.record(
            "latency",
            json!({ "peer": peer.name(), "rate": rate, "room_size": room_size, "rooms": rooms,
                    "instances": instances, "redis_cluster": common.redis_cluster,
                    "outcome": o }),
        )?;
    }
    Ok(())
}

async fn redis_commands(
    msg_rate: u32,
    room_size: u32,
    rooms: u32,
    secs: u64,
    common: &Common,
) -> anyhow::Result<()> {
    let per_conn_hz = f64::from(msg_rate) / f64::from(room_size * rooms);
    let load = Load::Rate { per_conn_hz };
    let label = peer_label(common, Peer::Vroom, 2);
    println!("| peer | {LATENCY_COLUMNS}");
    println!("{LATENCY_HEADER}");
    let o = measure(
        common,
        Peer::Vroom,
        2,
        (rooms, room_size),
        load,
        secs,
        &label,
    )
    .await?;
    // Calls per command and node (by port).
    let mut table: std::collections::BTreeMap<String, Vec<u64>> = Default::default();
    let nodes = o.redis_commandstats.len();
    for (i, (_, info)) in o.redis_commandstats.iter().enumerate() {
        // Lines look like `cmdstat_evalsha:calls=3,usec=40,…`.
        for line in info.lines() {
            let Some((name, fields)) = line
                .strip_prefix("cmdstat_")
                .and_then(|l| l.split_once(':'))
            else {
                continue;
            };
            let calls = fields
                .split(',')
                .find_map(|f| f.strip_prefix("calls="))
                .and_then(|c| c.parse().ok())
                .unwrap_or(0);
            table
                .entry(name.to_owned())
                .or_insert_with(|| vec![0; nodes])[i] = calls;
        }
    }
    let ports: Vec<String> = o
        .redis_commandstats
        .iter()
        .map(|(p, _)| format!("node :{p}"))
        .collect();
    println!(
        "| command | calls | calls per relayed message | {} |",
        ports.join(" | ")
    );
    println!("|---|---|---|{}", "---|".repeat(nodes));
    let mut rows = Vec::new();
    for (name, per_node) in &table {
        let calls: u64 = per_node.iter().sum();
        let per = calls as f64 / o.workers.sent.max(1) as f64;
        let cells: Vec<String> = per_node.iter().map(u64::to_string).collect();
        println!("| {name} | {calls} | {per:.3} | {} |", cells.join(" | "));
        rows.push(
            json!({ "command": name, "calls": calls, "per_message": per, "per_node": per_node }),
        );
    }
    println!(
        "messages sent in the window: {} (counts are Redis's INFO commandstats over the \
         same window, heartbeats included); Redis CPU-s in the window: {:.2}",
        o.workers.sent, o.redis_cpu_s
    );
    common.record(
        "redis-commands",
        json!({ "msg_rate": msg_rate, "room_size": room_size, "rooms": rooms,
                "redis_cluster": common.redis_cluster, "outcome": o, "commands": rows }),
    )
}

/// What a soak run found: messages lost and how the relay's memory moved.
struct Soaked {
    lost: u64,
    /// Memory at the first sample of the window's second half and at the last.
    settled: u64,
    last: u64,
}

impl Soaked {
    fn of(o: &Outcome, room_size: u32) -> Soaked {
        // Every message reaches every member of its room, the sender included.
        let expected = o.workers.sent * u64::from(room_size);
        let half = o.rss_during.len() / 2;
        Soaked {
            lost: expected.saturating_sub(o.workers.delivered),
            settled: o.rss_during.get(half).copied().unwrap_or(o.rss_ready),
            last: o.rss_during.last().copied().unwrap_or(o.rss_ready),
        }
    }

    fn growth_pct(&self) -> f64 {
        (self.last as f64 - self.settled as f64) * 100.0 / self.settled.max(1) as f64
    }
}

async fn soak(
    (rate, room_size, rooms): (u32, u32, u32),
    instances: usize,
    secs: u64,
    max_growth_pct: f64,
    common: &Common,
) -> anyhow::Result<()> {
    println!("| peer | connections | sent | lost | RSS ready (MiB) | RSS mid-run (MiB) | RSS end (MiB) | growth | p99 (µs) |");
    println!("|---|---|---|---|---|---|---|---|---|");
    let conns = room_size * rooms;
    let load = Load::Rate {
        per_conn_hz: f64::from(rate) / f64::from(room_size) / f64::from(conns),
    };
    let mut failures = Vec::new();
    for peer in common.peers_for(instances) {
        let o = run_once(common, peer, instances, (rooms, room_size), load, secs).await?;
        let s = Soaked::of(&o, room_size);
        let label = peer_label(common, peer, instances);
        println!(
            "| {label} | {} | {} | {} | {:.1} | {:.1} | {:.1} | {:+.1} % | {:.0} |",
            o.workers.joined,
            o.workers.sent,
            s.lost,
            mib(o.rss_ready),
            mib(s.settled),
            mib(s.last),
            s.growth_pct(),
            o.p99_us
        );
        if o.workers.joined < u64::from(conns) || o.workers.errors > 0 {
            failures.push(format!(
                "{label}: {} of {conns} connections joined, {} ended in error",
                o.workers.joined, o.workers.errors
            ));
        }
        if s.lost > 0 {
            failures.push(format!("{label}: {} deliveries lost", s.lost));
        }
        if s.growth_pct() > max_growth_pct {
            failures.push(format!(
                "{label}: memory grew {:.1} % in the second half (limit {max_growth_pct} %)",
                s.growth_pct()
            ));
        }
        common.record(
            "soak",
            json!({ "peer": peer.name(), "rate": rate, "room_size": room_size, "rooms": rooms,
                    "instances": instances, "outcome": o, "lost": s.lost,
                    "growth_pct": s.growth_pct() }),
        )?;
    }
    if !failures.is_empty() {
        bail!("the soak failed: {}", failures.join("; "));
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Scenario::Worker { plan } = &cli.scenario {
        return scenario::worker_main(plan);
    }
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        match &cli.scenario {
            Scenario::Idle { conns, common } => idle(conns, common).await,
            Scenario::Fanout {
                room_sizes,
                conns,
                window,
                instances,
                duration,
                common,
            } => fanout(room_sizes, *conns, *window, *instances, *duration, common).await,
            Scenario::Latency {
                rate,
                room_size,
                rooms,
                instances,
                duration,
                common,
            } => latency(*rate, *room_size, *rooms, *instances, *duration, common).await,
            Scenario::RedisCommands {
                msg_rate,
                room_size,
                rooms,
                duration,
                common,
            } => redis_commands(*msg_rate, *room_size, *rooms, *duration, common).await,
            Scenario::Soak {
                rate,
                room_size,
                rooms,
                instances,
                duration,
                max_growth_pct,
                common,
            } => {
                let shape = (*rate, *room_size, *rooms);
                soak(shape, *instances, *duration, *max_growth_pct, common).await
            }
            Scenario::Worker { .. } => unreachable!("handled above"),
        }
    })
}
