//! One load-generating process: opens its share of the connections, joins its rooms,
//! then drives the send schedule and records what arrives.
//!
//! A worker runs on a current-thread runtime with its connections as local tasks, so
//! they can share one histogram and one set of counters without locks. The scenario
//! runner starts several workers (one process holds at most ~20,000 open files here),
//! each with its own loopback source addresses, and merges their reports.

use std::cell::RefCell;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::proto::{self, Peer, Received, RoomName, Ws};

/// What one worker does.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Plan {
    /// The peer's protocol.
    pub peer: Peer,
    /// Server instances; member `j` of every room connects to `servers[j % len]`, so the
    /// members of one room spread over instances (relayed through Redis).
    pub servers: Vec<SocketAddr>,
    /// Loopback addresses to connect from, used in turn (ephemeral ports run out at
    /// ~28,000 per address pair).
    pub sources: Vec<IpAddr>,
    /// Rooms this worker makes.
    pub rooms: u32,
    /// Members per room.
    pub members: u32,
    /// The send schedule.
    pub load: Load,
    /// Bytes per relayed payload.
    pub payload: usize,
    /// Length of the measured window.
    pub duration_ms: u64,
    /// Connections being opened at once.
    pub connect_concurrency: usize,
    /// This worker's place among `of` workers, so the workers' send schedules
    /// interleave instead of coinciding.
    pub worker: (u32, u32),
}

/// The send schedule of every connection.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub enum Load {
    /// Nobody sends; connections stay open for the window.
    Idle,
    /// Every connection sends `per_conn_hz` messages a second on a fixed schedule,
    /// offsets spread evenly so the total rate is smooth. Latency is measured from each
    /// message's scheduled time, whenever it actually left.
    Rate { per_conn_hz: f64 },
    /// Every connection keeps `window` of its own messages in flight (sent, its own
    /// echo not yet back): the relay's saturation throughput without overrunning the
    /// relay's per-connection queues.
    Saturate { window: u32 },
}

/// What a worker measured.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Report {
    /// Connections that joined their room.
    pub joined: u64,
    /// Connections that failed to open or join.
    pub failed: u64,
    /// Messages sent inside the window.
    pub sent: u64,
    /// Messages received whose arrival fell inside the window.
    pub delivered_in_window: u64,
    /// Messages received at all (the window and the drain after it).
    pub delivered: u64,
    /// Connections that ended with an error before the end.
    pub errors: u64,
    /// The first error seen, to say what went wrong.
    pub first_error: Option<String>,
    /// Latency histogram (nanoseconds) as `(value, count)` pairs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub latency: Vec<(u64, u64)>,
}

/// How long after the window the workers keep reading, so messages sent near its end
/// are still counted for latency.
const DRAIN: Duration = Duration::from_millis(1500);

/// A latency histogram: 1 µs to 60 s with 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1_000, 60_000_000_000, 3).expect("valid histogram bounds")
}

/// State shared by one worker's connections.
struct Tally {
    report: Report,
    latency: Histogram<u64>,
}

/// Opens and joins every connection of `plan`. Then calls `ready` with the number
/// joined, waits for `go` to give the window's start (ns since the Unix epoch), runs the
/// schedule and returns the report. Must run inside a `LocalSet`.
pub async fn run(
    plan: Plan,
    ready: impl FnOnce(u64),
    go: impl std::future::Future<Output = u64>,
) -> Report {
    let tally = Rc::new(RefCell::new(Tally {
        report: Report::default(),
        latency: histogram(),
    }));
    let opening = Arc::new(Semaphore::new(plan.connect_concurrency.max(1)));
    let (start_tx, start_rx) = watch::channel(None::<u64>);
    let mut rooms = JoinSet::new();
    let mut slot = 0usize;
    for _ in 0..plan.rooms {
        let room = RoomName::random();
        let mut members = Vec::new();
        for j in 0..plan.members as usize {
            let server = plan.servers[j % plan.servers.len()];
            let source = plan.sources[slot % plan.sources.len()];
            // Spread every connection of every worker evenly over one send period, so
            // the total rate is smooth rather than a burst per phase.
            let (w, of) = plan.worker;
            let total = f64::from(plan.rooms * plan.members) * f64::from(of.max(1));
            let phase = (slot as f64 * f64::from(of.max(1)) + f64::from(w)) / total;
            slot += 1;
            members.push((server, source, phase));
        }
        rooms.spawn_local(open_room(
            plan.clone(),
            room,
            members,
            opening.clone(),
            tally.clone(),
            start_rx.clone(),
        ));
    }
    // Each room task returns its connection tasks once every member has joined.
    let mut conns = JoinSet::new();
    while let Some(joined) = rooms.join_next().await {
        if let Ok(tasks) = joined {
            for task in tasks {
                conns.spawn_local(task);
            }
        }
    }
    ready(tally.borrow().report.joined);
    let start = go.await;
    let _ = start_tx.send(Some(start));
    while conns.join_next().await.is_some() {}
    let mut tally = Rc::try_unwrap(tally)
        .ok()
        .expect("every connection task has ended")
        .into_inner();
    tally.report.latency = tally
        .latency
        .iter_recorded()
        .map(|v| (v.value_iterated_to(), v.count_at_value()))
        .collect();
    tally.report
}

type ConnTask = std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>;

/// Opens the creator's connection and creates the room, then the other members' and
/// joins them; answers the connection tasks to run.
async fn open_room(
    plan: Plan,
    room: RoomName,
    members: Vec<(SocketAddr, IpAddr, f64)>,
    opening: Arc<Semaphore>,
    tally: Rc<RefCell<Tally>>,
    start: watch::Receiver<Option<u64>>,
) -> Vec<ConnTask> {
    let open = |index: usize, server: SocketAddr, source: IpAddr| {
        let opening = opening.clone();
        let plan = &plan;
        async move {
            let _permit = opening.acquire().await.ok()?;
            let result = async {
                let mut ws = proto::connect(plan.peer, server, source).await?;
                proto::enter(plan.peer, &mut ws, room, index == 0, plan.members).await?;
                anyhow::Ok(ws)
            }
            .await;
            Some(result)
        }
    };
    let mut sockets = Vec::new();
    let failed = |e: anyhow::Error| {
        let mut t = tally.borrow_mut();
        t.report.failed += 1;
        t.report.first_error.get_or_insert_with(|| format!("{e:#}"));
    };
    let (server, source, _) = members[0];
    match open(0, server, source).await {
        Some(Ok(ws)) => sockets.push(ws),
        Some(Err(e)) => {
            failed(e);
            return Vec::new();
        }
        None => return Vec::new(),
    }
    let rest = members
        .iter()
        .enumerate()
        .skip(1)
        .map(|(i, &(server, source, _))| open(i, server, source));
    for result in futures_util::future::join_all(rest)
        .await
        .into_iter()
        .flatten()
    {
        match result {
            Ok(ws) => sockets.push(ws),
            Err(e) => failed(e),
        }
    }
    tally.borrow_mut().report.joined += sockets.len() as u64;
    sockets
        .into_iter()
        .zip(members.iter().map(|m| m.2))
        .map(|(ws, phase)| {
            Box::pin(drive(plan.clone(), ws, phase, tally.clone(), start.clone())) as ConnTask
        })
        .collect()
}

/// One connection's life after joining: waits for the start, follows the schedule,
/// records deliveries, drains, closes.
async fn drive(
    plan: Plan,
    mut ws: Ws,
    phase: f64,
    tally: Rc<RefCell<Tally>>,
    mut start: watch::Receiver<Option<u64>>,
) {
    // Answer pings (Socket.IO) while waiting for the start.
    let start_ns = loop {
        if let Some(s) = *start.borrow() {
            break s;
        }
        tokio::select! {
            changed = start.changed() => if changed.is_err() { return },
            msg = ws.next() => match msg {
                Some(Ok(msg)) => {
                    if let Ok(Received::Reply(reply)) = proto::receive(plan.peer, msg) {
                        let _ = ws.send(reply).await;
                    }
                }
                _ => {
                    tally.borrow_mut().report.errors += 1;
                    return;
                }
            },
        }
    };
    let window = Duration::from_millis(plan.duration_ms);
    let end_ns = start_ns + u64::try_from(window.as_nanos()).unwrap_or(u64::MAX);
    // The realtime stamps of the schedule, mapped onto this process's monotonic clock.
    let now = proto::now_ns();
    let start_at = if start_ns >= now {
        Instant::now() + Duration::from_nanos(start_ns - now)
    } else {
        Instant::now() - Duration::from_nanos(now - start_ns)
    };
    let end_at = start_at + window;
    let stop_at = end_at + DRAIN;
    let tag: u32 = rand::random();
    let (period, mut next_ns) = match plan.load {
        Load::Rate { per_conn_hz } => {
            let period = (1e9 / per_conn_hz) as u64;
            (period, start_ns + (phase * period as f64) as u64)
        }
        _ => (0, start_ns),
    };
    let mut in_flight = 0u32;
    let result: anyhow::Result<()> = async {
        let stop = tokio::time::sleep_until(stop_at);
        tokio::pin!(stop);
        loop {
            let now = Instant::now();
            let sending = now < end_at;
            let (can_send, wake) = match plan.load {
                Load::Idle => (false, stop_at),
                Load::Rate { .. } => {
                    let due = start_at + Duration::from_nanos(next_ns - start_ns);
                    (sending && next_ns < end_ns, due)
                }
                Load::Saturate { window } => (sending && in_flight < window, now),
            };
            if matches!(plan.load, Load::Saturate { .. }) && !sending && in_flight == 0 {
                return Ok(());
            }
            tokio::select! {
                biased;
                msg = ws.next() => {
                    let msg = match msg {
                        Some(msg) => msg?,
                        None => anyhow::bail!("the peer closed the connection"),
                    };
                    match proto::receive(plan.peer, msg)? {
                        Received::Delivery { intended_ns, tag: from } => {
                            let at = proto::now_ns();
                            let mut t = tally.borrow_mut();
                            t.report.delivered += 1;
                            if (start_ns..end_ns).contains(&at) {
                                t.report.delivered_in_window += 1;
                            }
                            t.latency.saturating_record(at.saturating_sub(intended_ns).max(1_000));
                            if from == tag {
                                in_flight = in_flight.saturating_sub(1);
                            }
                        }
                        Received::Reply(reply) => ws.send(reply).await?,
                        Received::Closed => anyhow::bail!("the peer closed the connection"),
                        Received::Other => {}
                    }
                }
                () = &mut stop => return Ok(()),
                () = tokio::time::sleep_until(wake), if can_send => {
                    let intended = match plan.load {
                        Load::Rate { .. } => {
                            let n = next_ns;
                            next_ns += period;
                            n
                        }
                        _ => proto::now_ns(),
                    };
                    ws.send(proto::message(plan.peer, intended, tag, plan.payload)).await?;
                    in_flight += 1;
                    tally.borrow_mut().report.sent += 1;
                }
            }
        }
    }
    .await;
    if let Err(e) = result {
        let mut t = tally.borrow_mut();
        t.report.errors += 1;
        t.report.first_error.get_or_insert_with(|| format!("{e:#}"));
        return;
    }
    // Let the connection (and its idle wait) end before the socket drops.
    if matches!(plan.load, Load::Saturate { .. }) {
        tokio::time::sleep_until(stop_at).await;
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
}
