//! The scenario runner: starts the server under test (vroom's release relay, one of the
//! Node peers, or Redis plus two relays), starts the worker processes, lines them up
//! on one start time, samples the server's `/proc` figures around the measured window,
//! and merges the workers' reports.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context};
use serde::Serialize;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

use crate::procfs::{self, Sample};
use crate::proto::{now_ns, Peer};
use crate::worker::{self, Load, Plan, Report};

/// Connections one worker process holds at most: one process may open ~20,000 files
/// here, and a worker needs a few besides its sockets.
pub const MAX_CONNS_PER_WORKER: u32 = 9_000;

/// Loopback source addresses per worker.
const SOURCES_PER_WORKER: u8 = 4;

/// A running server under test: one or more processes whose `/proc` figures are summed.
pub struct Server {
    /// Which protocol it speaks.
    pub peer: Peer,
    /// Where its instances listen.
    pub addrs: Vec<SocketAddr>,
    /// The processes to sample: the relay instances, or the Node process.
    pub pids: Vec<u32>,
    /// Processes this runner started (killed when the server is stopped or dropped).
    children: Vec<Child>,
    /// The Redis (one server, or a cluster's nodes) started for this server.
    pub redis: Option<Redis>,
}

/// Redis processes started for a benchmark: one server, or the masters of a local
/// Redis Cluster (no replicas: on this machine they would only take CPU from the
/// servers measured).
pub struct Redis {
    /// Each node's process and port.
    nodes: Vec<(Child, u16)>,
    /// Whether the nodes form a cluster.
    cluster: bool,
    /// The cluster nodes' working directories (their cluster files), removed at the end.
    dirs: Vec<PathBuf>,
}

/// Masters of the benchmark's Redis Cluster.
const CLUSTER_MASTERS: usize = 3;

impl Redis {
    /// One `redis-server` on a free port, without persistence.
    pub async fn single() -> anyhow::Result<Redis> {
        Ok(Redis {
            nodes: vec![start_redis(&[]).await?],
            cluster: false,
            dirs: Vec::new(),
        })
    }

    /// A Redis Cluster of three masters on free ports, joined with `redis-cli --cluster
    /// create`, once every node says `cluster_state:ok`.
    pub async fn cluster() -> anyhow::Result<Redis> {
        let mut redis = Redis {
            nodes: Vec::new(),
            cluster: true,
            dirs: Vec::new(),
        };
        for i in 0..CLUSTER_MASTERS {
            let dir =
                std::env::temp_dir().join(format!("vroom-bench-redis-{}-{i}", std::process::id()));
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("could not create {}", dir.display()))?;
            let dir_arg = dir.to_string_lossy().into_owned();
            redis.dirs.push(dir);
            let node = start_redis(&["--cluster-enabled", "yes", "--dir", &dir_arg]).await?;
            redis.nodes.push(node);
        }
        let mut create = Command::new("redis-cli");
        create.args(["--cluster", "create"]);
        for port in redis.ports() {
            create.arg(format!("127.0.0.1:{port}"));
        }
        let out = create
            .arg("--cluster-yes")
            .output()
            .await
            .context("could not run redis-cli: install redis-tools")?;
        if !out.status.success() {
            bail!(
                "redis-cli --cluster create failed: {}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
        for _ in 0..600 {
            let mut ok = true;
            for port in redis.ports() {
                ok &= redis_cli(port, &["CLUSTER", "INFO"])
                    .await?
                    .contains("cluster_state:ok");
            }
            if ok {
                return Ok(redis);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("the benchmark's Redis Cluster did not reach cluster_state:ok in 30 s")
    }

    /// Every node's port.
    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(|(_, port)| *port).collect()
    }

    /// The relay flags that point at this Redis.
    fn flags(&self) -> [String; 2] {
        let urls: Vec<String> = self
            .ports()
            .iter()
            .map(|port| format!("redis://127.0.0.1:{port}"))
            .collect();
        if self.cluster {
            ["--redis-cluster".into(), urls.join(",")]
        } else {
            ["--redis-url".into(), urls.join(",")]
        }
    }

    /// The nodes' process ids.
    fn pids(&self) -> Vec<u32> {
        self.nodes.iter().filter_map(|(c, _)| c.id()).collect()
    }

    /// CPU-seconds of every node so far.
    fn cpu_s(&self) -> anyhow::Result<f64> {
        self.pids()
            .into_iter()
            .try_fold(0.0, |acc, pid| Ok(acc + procfs::sample(pid)?.cpu_s))
    }

    async fn kill(self) {
        for (mut child, _) in self.nodes {
            let _ = child.kill().await;
        }
        for dir in self.dirs {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

impl Server {
    /// A server someone else started (the smoke test serves a relay in its own process).
    pub fn external(peer: Peer, addr: SocketAddr, pid: u32) -> Server {
        Server {
            peer,
            addrs: vec![addr],
            pids: vec![pid],
            children: Vec::new(),
            redis: None,
        }
    }

    /// Starts `instances` release relays from `bin`, sharing a fresh Redis when there are
    /// several (or when `redis` is asked for); a fresh local Redis Cluster with
    /// `cluster`.
    pub async fn vroom(
        bin: &Path,
        instances: usize,
        redis: bool,
        cluster: bool,
    ) -> anyhow::Result<Server> {
        let redis = if cluster {
            Some(Redis::cluster().await?)
        } else if redis || instances > 1 {
            Some(Redis::single().await?)
        } else {
            None
        };
        let mut server = Server {
            peer: Peer::Vroom,
            addrs: Vec::new(),
            pids: Vec::new(),
            children: Vec::new(),
            redis,
        };
        for _ in 0..instances {
            let port = free_port()?;
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
            let mut cmd = Command::new(bin);
            cmd.arg("--listen")
                .arg(addr.to_string())
                // The load generator floods on purpose: lift the per-connection limits.
                .args(["--rate-per-sec", "10000000", "--rate-burst", "10000000"])
                .args(["--max-connections", "19900", "--max-rooms", "100000"])
                // Workers connect from many loopback addresses: none is one abuser.
                .args(["--exempt-addresses", "127.0.0.0/8"])
                // No web app: the benchmark measures the relay only.
                .args(["--web-dir", "/nonexistent-vroom-bench-web-dir"])
                .env("RUST_LOG", "warn")
                .stdin(Stdio::null())
                .kill_on_drop(true);
            if let Some(redis) = &server.redis {
                cmd.args(redis.flags());
            }
            let child = cmd
                .spawn()
                .with_context(|| format!("could not start the relay {}", bin.display()))?;
            server
                .pids
                .push(child.id().context("relay exited at once")?);
            server.children.push(child);
            server.addrs.push(addr);
        }
        for (addr, child) in server.addrs.clone().into_iter().zip(&mut server.children) {
            wait_listening(addr, Some(child)).await?;
        }
        Ok(server)
    }

    /// Starts the Socket.IO peer in `dir` (installing its packages first if needed).
    pub async fn socketio(dir: &Path) -> anyhow::Result<Server> {
        Server::node(Peer::Socketio, dir).await
    }

    /// Starts the uWebSockets.js peer in `dir` (installing its packages first if needed).
    pub async fn uws(dir: &Path) -> anyhow::Result<Server> {
        Server::node(Peer::Uws, dir).await
    }

    /// Starts the Node peer `peer` from `server.js` in `dir` on a free port given as
    /// `PORT`, after `npm ci` when its packages are not installed yet.
    async fn node(peer: Peer, dir: &Path) -> anyhow::Result<Server> {
        if !dir.join("node_modules").is_dir() {
            eprintln!(
                "installing the {} peer's packages (npm ci) in {}",
                peer.name(),
                dir.display()
            );
            let status = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(dir)
                .status()
                .await
                .context("could not run npm: install Node.js 20 and npm")?;
            if !status.success() {
                bail!("npm ci failed in {}", dir.display());
            }
        }
        let port = free_port()?;
        let child = Command::new("node")
            .arg("server.js")
            .current_dir(dir)
            .env("PORT", port.to_string())
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("could not start node: install Node.js 20")?;
        let mut child = child;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let pid = child.id().context("node exited at once")?;
        wait_listening(addr, Some(&mut child)).await?;
        Ok(Server {
            peer,
            addrs: vec![addr],
            pids: vec![pid],
            children: vec![child],
            redis: None,
        })
    }

    /// CPU time and memory of all its processes.
    pub fn sample(&self) -> anyhow::Result<Sample> {
        self.pids.iter().try_fold(
            Sample::default(),
            |acc, &pid| Ok(acc + procfs::sample(pid)?),
        )
    }

    /// Stops every process it started.
    pub async fn stop(mut self) {
        for child in &mut self.children {
            let _ = child.kill().await;
        }
        if let Some(redis) = self.redis.take() {
            redis.kill().await;
        }
    }
}

/// A port nobody listens on now.
fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Waits until `addr` accepts connections; fails at once when `child` exits first.
async fn wait_listening(addr: SocketAddr, mut child: Option<&mut Child>) -> anyhow::Result<()> {
    for _ in 0..200 {
        if let Some(status) = child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
            bail!("the server exited with {status} before listening on {addr}");
        }
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("nothing listens on {addr} 10 s after starting the server")
}

/// Starts `redis-server` on a free port, without persistence, with `extra` arguments.
async fn start_redis(extra: &[&str]) -> anyhow::Result<(Child, u16)> {
    let port = free_port()?;
    let mut child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .args(extra)
        .stdout(Stdio::null())
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("could not start redis-server: install it (apt-get install redis-server)")?;
    wait_listening(
        SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        Some(&mut child),
    )
    .await?;
    Ok((child, port))
}

/// Runs `redis-cli -p port args…` and returns its output.
pub async fn redis_cli(port: u16, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .await
        .context("could not run redis-cli: install redis-tools")?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// What one run of the workers against a server measured.
#[derive(Debug, Default, Serialize)]
pub struct Outcome {
    /// The workers' merged report (their latency histograms are merged into the
    /// percentiles below).
    #[serde(flatten)]
    pub workers: Report,
    /// Server memory before any connection.
    pub rss_before: u64,
    /// Server memory with every connection joined, after settling.
    pub rss_ready: u64,
    /// Server memory sampled during the window, about every `sample_every` (the soak
    /// scenario checks it stays flat).
    #[serde(default)]
    pub rss_during: Vec<u64>,
    /// Server CPU-seconds spent inside the window.
    pub cpu_s: f64,
    /// Length of the window, seconds.
    pub window_s: f64,
    /// Latency percentiles in microseconds: p50, p99, p99.9, max.
    pub p50_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
    pub max_us: f64,
    /// Latency samples recorded.
    pub samples: u64,
    /// Redis's `INFO commandstats` over the window of each node (by port), when the
    /// server uses Redis.
    pub redis_commandstats: Vec<(u16, String)>,
    /// CPU-seconds the Redis nodes spent inside the window.
    pub redis_cpu_s: f64,
}

impl Outcome {
    /// Deliveries per second of wall time inside the window.
    pub fn deliveries_per_s(&self) -> f64 {
        self.workers.delivered_in_window as f64 / self.window_s
    }

    /// Deliveries per server CPU-second inside the window.
    pub fn deliveries_per_cpu_s(&self) -> f64 {
        self.workers.delivered_in_window as f64 / self.cpu_s.max(0.01)
    }
}

/// How often the server's memory is sampled during a window.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(5);

/// How to split a scenario over worker processes.
pub struct Spread {
    /// Rooms in all.
    pub rooms: u32,
    /// Members per room.
    pub members: u32,
    /// Worker processes (at least enough for [`MAX_CONNS_PER_WORKER`]).
    pub workers: u32,
}

/// Where the worker binary is: this executable, unless told otherwise.
pub fn worker_exe() -> anyhow::Result<PathBuf> {
    std::env::var_os("VROOM_BENCH_WORKER_EXE")
        .map(PathBuf::from)
        .map_or_else(|| Ok(std::env::current_exe()?), Ok)
}

/// Runs the workers of `spread` with `load` against `server` for `window`, after letting
/// the server settle for `settle` once everyone has joined.
pub async fn run(
    server: &Server,
    spread: &Spread,
    load: Load,
    payload: usize,
    window: Duration,
    settle: Duration,
) -> anyhow::Result<Outcome> {
    let conns = spread.rooms * spread.members;
    let workers = spread
        .workers
        .max(conns.div_ceil(MAX_CONNS_PER_WORKER))
        .clamp(1, spread.rooms.max(1));
    let rss_before = server.sample()?.rss;
    let exe = worker_exe()?;
    let mut children = Vec::new();
    for w in 0..workers {
        let rooms = spread.rooms / workers + u32::from(w < spread.rooms % workers);
        let first = 10 + u8::try_from(w).context("too many workers")? * SOURCES_PER_WORKER;
        let plan = Plan {
            peer: server.peer,
            servers: server.addrs.clone(),
            sources: (first..first + SOURCES_PER_WORKER)
                .map(|i| IpAddr::V4(Ipv4Addr::new(127, 0, 0, i)))
                .collect(),
            rooms,
            members: spread.members,
            load,
            payload,
            duration_ms: u64::try_from(window.as_millis())?,
            connect_concurrency: 128,
            worker: (w, workers),
        };
        let child = Command::new(&exe)
            .arg("worker")
            .arg(serde_json::to_string(&plan)?)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("could not start a worker ({})", exe.display()))?;
        children.push(child);
    }
    let mut lines = Vec::new();
    for child in &mut children {
        lines.push(BufReader::new(child.stdout.take().context("no stdout")?).lines());
    }
    // Every worker has joined its rooms.
    for l in &mut lines {
        let line = tokio::time::timeout(Duration::from_secs(600), l.next_line())
            .await
            .context("a worker took over 10 minutes to join its rooms")??
            .context("a worker ended before joining its rooms")?;
        if !line.starts_with("READY") {
            bail!("a worker said {line:?} instead of READY");
        }
    }
    tokio::time::sleep(settle).await;
    let rss_ready = server.sample()?.rss;
    // One start time for all, a little ahead so every worker hears it first.
    let start = now_ns() + 300_000_000;
    for child in &mut children {
        let stdin = child.stdin.as_mut().context("no stdin")?;
        stdin.write_all(format!("GO {start}\n").as_bytes()).await?;
        stdin.flush().await?;
    }
    tokio::time::sleep(Duration::from_nanos(start.saturating_sub(now_ns()))).await;
    let cpu_start = server.sample()?.cpu_s;
    let redis_ports = server.redis.as_ref().map(Redis::ports).unwrap_or_default();
    let redis_cpu = || server.redis.as_ref().map_or(Ok(0.0), Redis::cpu_s);
    let redis_cpu_start = redis_cpu()?;
    for port in &redis_ports {
        redis_cli(*port, &["CONFIG", "RESETSTAT"]).await?;
    }
    let mut rss_during = Vec::new();
    let end = tokio::time::Instant::now() + window;
    loop {
        let now = tokio::time::Instant::now();
        if now >= end {
            break;
        }
        tokio::time::sleep((end - now).min(SAMPLE_EVERY)).await;
        rss_during.push(server.sample()?.rss);
    }
    let cpu_end = server.sample()?.cpu_s;
    let redis_cpu_s = redis_cpu()? - redis_cpu_start;
    let mut redis_commandstats = Vec::new();
    for port in redis_ports {
        redis_commandstats.push((port, redis_cli(port, &["INFO", "commandstats"]).await?));
    }
    let mut merged = Report::default();
    let mut latency = worker::histogram();
    for l in &mut lines {
        let line = tokio::time::timeout(Duration::from_secs(60), l.next_line())
            .await
            .context("a worker did not report within 60 s of the window's end")??
            .context("a worker ended without a report")?;
        let json = line
            .strip_prefix("REPORT ")
            .with_context(|| format!("a worker said {line:?} instead of REPORT"))?;
        let r: Report = serde_json::from_str(json)?;
        merged.joined += r.joined;
        merged.failed += r.failed;
        merged.sent += r.sent;
        merged.delivered += r.delivered;
        merged.delivered_in_window += r.delivered_in_window;
        merged.errors += r.errors;
        if merged.first_error.is_none() {
            merged.first_error = r.first_error;
        }
        for (value, count) in r.latency {
            latency.saturating_record_n(value, count);
        }
    }
    for mut child in children {
        let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
    }
    let us = |q: f64| latency.value_at_quantile(q) as f64 / 1000.0;
    Ok(Outcome {
        workers: merged,
        rss_before,
        rss_ready,
        rss_during,
        cpu_s: cpu_end - cpu_start,
        window_s: window.as_secs_f64(),
        p50_us: us(0.5),
        p99_us: us(0.99),
        p999_us: us(0.999),
        max_us: latency.max() as f64 / 1000.0,
        samples: latency.len(),
        redis_commandstats,
        redis_cpu_s,
    })
}

/// The worker process's side of [`run`]: reads the plan, says `READY`, waits for `GO`,
/// prints `REPORT {json}`.
pub fn worker_main(plan_json: &str) -> anyhow::Result<()> {
    let plan: Plan = serde_json::from_str(plan_json).context("malformed worker plan")?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    let report = local.block_on(&rt, async {
        worker::run(plan, |joined| println!("READY {joined}"), async {
            let mut stdin = BufReader::new(tokio::io::stdin()).lines();
            match stdin.next_line().await {
                Ok(Some(line)) => line
                    .strip_prefix("GO ")
                    .and_then(|s| s.trim().parse().ok())
                    .unwrap_or_else(now_ns),
                // The runner went away: run at once and exit.
                _ => now_ns(),
            }
        })
        .await
    });
    println!("REPORT {}", serde_json::to_string(&report)?);
    Ok(())
}
