//! One WebSocket connection, from the upgrade to the close.
//!
//! # Phases
//! 1. **Joining** (`handshake.rs`): the socket is read directly until a `Create` or
//!    `Join` succeeds. The connection registers with the hub *before* it asks the
//!    store, so it cannot miss an event; the `Welcome`, the catch-up and `CaughtUp` are
//!    then written straight to the socket, ahead of anything queued meanwhile.
//! 2. **Live** (`live.rs`): one task waits for either a request or its outbox. Queued
//!    frames are written in a batch and flushed once; answers to requests
//!    (`request.rs`) are written after whatever was queued before them. One task rather
//!    than a reader and a writer, because every idle connection pays for each task it
//!    keeps.
//!
//! Every error answer leaves the socket open; only `Closed` is followed by a close.
//!
//! # Memory
//! An idle connection is its live task's future. That future holds only the
//! [`Connection`] and the small state of its three waits (a request, the outbox, the
//! shutdown): what runs once or rarely is boxed, and boxed futures are bound to a local
//! before they are awaited (in `Box::pin(f()).await` the unboxed temporary keeps its
//! slot across the await and widens the enclosing future by its size).

mod code;
mod handshake;
mod live;
mod request;

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use bytes::Bytes;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::{broadcast, OwnedSemaphorePermit};
use vroom_shared::wire::{CloseReason, MemberId, RoomId, RoomLimits, ServerFrame};

use self::live::{End, Live};
use crate::config::Config;
use crate::limits::AddressSlot;
use crate::metrics::{Metrics, Refusal};
use crate::state::AppState;
use crate::store::{Replay, SessionId, Store};

/// Largest message of a short-code exchange (SPAKE2's are 33 and 65 bytes, a grant 48).
const MAX_CODE_MESSAGE: usize = 256;

/// How long a stopped connection's close frame may take to leave.
const KILL_GOODBYE: Duration = Duration::from_secs(1);

/// WebSocket close code for "going away" (RFC 6455).
const CLOSE_GOING_AWAY: u16 = 1001;
/// WebSocket close code for "try again later": the connection fell behind its room.
const CLOSE_TRY_AGAIN: u16 = 1013;
/// WebSocket close code for "policy violation": no join in time.
const CLOSE_POLICY: u16 = 1008;
/// WebSocket close code for "message too big": above `--max-payload` and its framing.
const CLOSE_TOO_BIG: u16 = 1009;
/// WebSocket close code for "internal error", used for a peer that stopped answering
/// pings (it will most likely never see it).
const CLOSE_DEAD: u16 = 1011;
/// WebSocket close code for a normal closure.
const CLOSE_NORMAL: u16 = 1000;

/// Serves one upgraded WebSocket until it closes.
///
/// The joining phase runs in the task axum spawned for the upgrade. A joined connection
/// goes on in a task of its own, whose future holds only its [`Connection`] and the
/// state of the one request or write in progress: kept in the upgrade task, it would
/// also carry that task's wrapper and the moved-from arguments of every enclosing
/// `async fn` for the connection's whole life, which was half of an idle connection's
/// memory (see BENCHMARKS.md).
pub(crate) async fn serve<S: Store>(socket: WebSocket, state: AppState<S>, admitted: Admitted) {
    let joining = Box::pin(handshake::join(socket, state, admitted));
    if let Some(conn) = joining.await {
        tokio::spawn(conn.run());
    }
}

/// A joined connection's identity and the handles it works with.
struct Member<S> {
    /// Shared relay state.
    state: AppState<S>,
    /// The room joined.
    room: RoomId,
    /// This member's id.
    me: MemberId,
    /// This connection, as the store and the hub tell it from the member's others.
    session: SessionId,
    /// The room's limits (payload size), checked before the store is asked.
    limits: RoomLimits,
}

/// A joined connection: everything it holds for its life.
struct Connection<S> {
    /// The socket and what is still to be written to it.
    live: Live,
    /// Who the connection speaks for, and where.
    member: Member<S>,
    /// The per-connection request rate limit.
    limiter: DefaultDirectRateLimiter,
    /// Fires when the relay shuts down.
    shutdown: broadcast::Receiver<()>,
    /// Held until the connection has ended.
    held: Held,
}

/// What the upgrade handler admitted a connection with.
pub(crate) struct Admitted {
    /// The connection's slot under `--max-connections`.
    pub(crate) permit: OwnedSemaphorePermit,
    /// Its slot under `--max-connections-per-address`.
    pub(crate) slot: Arc<AddressSlot>,
    /// The client's address, for the per-address create and join limits.
    pub(crate) address: IpAddr,
}

/// What a connection holds only so that dropping it, at the very end, releases it.
struct Held {
    /// The connection's slot under `--max-connections`.
    _permit: OwnedSemaphorePermit,
    /// Its slot under `--max-connections-per-address`.
    _slot: Arc<AddressSlot>,
    /// Counts the connection in the `connections` gauge.
    _gauge: Gauge,
}

/// Counts one open connection in the metrics while it exists.
struct Gauge(Arc<Metrics>);

impl Gauge {
    fn new(metrics: &Arc<Metrics>) -> Gauge {
        metrics.connections.inc();
        Gauge(metrics.clone())
    }
}

impl Drop for Gauge {
    fn drop(&mut self) {
        self.0.connections.dec();
    }
}

impl<S: Store> Connection<S> {
    /// The live phase and its end: requests and queued frames until the client goes,
    /// writing stops or the relay shuts down; then the member's place is released.
    ///
    /// An `async move` block rather than an `async fn`: an `async fn` moves its
    /// arguments from their captured slots into locals, so `self` would take its room
    /// twice in the task for the connection's whole life.
    #[expect(
        clippy::manual_async_fn,
        reason = "an async fn would store `self` twice"
    )]
    fn run(mut self) -> impl std::future::Future<Output = ()> + Send {
        async move {
            // The shutdown is awaited outside the loop: one waiter registered on the
            // relay-wide channel for the connection's life, not one per request.
            let end = tokio::select! {
                end = self.live.run(&self.member, &self.limiter) => end,
                _ = self.shutdown.recv() => End::GoingAway,
            };
            let ending = Box::pin(end_connection(self.member, self.live, end));
            ending.await;
            // Named here so the block captures it: an `async move` block captures only
            // the fields it uses, and an unused one would be dropped at once.
            drop(self.held);
        }
    }
}

/// Writes what the member should still get and releases its place.
async fn end_connection<S: Store>(member: Member<S>, mut live: Live, end: End) {
    let shared = &member.state.inner;
    if let End::TooSlow = end {
        shared.metrics.refused(Refusal::SlowReader);
    }
    if let End::GoingAway = end {
        // What was queued first, then the goodbye; a member that does not read gets
        // the shutdown grace, no more.
        live.goodbye(CloseReason::GoingAway, shared.config.shutdown_timeout)
            .await;
    }
    shared.hub.unregister(member.room, member.session);
    if !matches!(end, End::Left) {
        // The room or the place may be gone already; nothing to do then.
        let _ = shared
            .store
            .disconnect(member.room, member.me, member.session)
            .await;
    }
    tracing::debug!(room = %RoomTag(&shared.config, member.room), "connection ended");
}

fn rate_limiter(config: &Config) -> DefaultDirectRateLimiter {
    let rate = NonZeroU32::new(config.rate_per_sec).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(config.rate_burst).unwrap_or(rate);
    RateLimiter::direct(Quota::per_second(rate).allow_burst(burst))
}

/// The chunk lane's budget of one connection, in KiB cells: `--stream-rate` on
/// average, with a burst of a few of the largest frames.
fn stream_budget(config: &Config) -> DefaultDirectRateLimiter {
    RateLimiter::direct(crate::limits::stream_quota(config.stream_rate, config))
}

/// KiB a chunk-lane packet is charged at least: a flood of tiny packets (each one a
/// delivery to every member, and a publish with Redis) costs like one of real chunks.
const STREAM_MIN_CELLS: u32 = 8;

/// KiB cells of the chunk-lane budget a packet of `len` bytes takes (at least
/// [`STREAM_MIN_CELLS`]).
fn stream_cells(len: usize) -> NonZeroU32 {
    let kib = u32::try_from(len.div_ceil(1024)).unwrap_or(u32::MAX);
    NonZeroU32::new(kib.max(STREAM_MIN_CELLS)).unwrap_or(NonZeroU32::MIN)
}

/// Displays a room id only when the operator turned on `--log-room-ids`.
struct RoomTag<'a>(&'a Config, RoomId);

impl std::fmt::Display for RoomTag<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.log_room_ids {
            f.write_str(&self.1.to_hex())
        } else {
            f.write_str("-")
        }
    }
}

fn encode(frame: &ServerFrame<'_>) -> Bytes {
    Bytes::from(frame.encode())
}

/// Whether a read failed because the message was above the size limit (then the socket
/// can still be told so).
fn too_big(error: axum::Error) -> bool {
    use tokio_tungstenite::tungstenite::Error;
    error
        .into_inner()
        .downcast::<Error>()
        .is_ok_and(|e| matches!(*e, Error::Capacity(_)))
}

/// Closes a socket whose client sent a message above the size limit, with 1009 and a
/// reason; writing gets `limit` at most.
async fn close_too_big(socket: &mut WebSocket, metrics: &Metrics, limit: Duration) {
    metrics.refused(Refusal::MessageTooBig);
    let close = close_message(CLOSE_TOO_BIG, "message too big for this relay");
    let _ = tokio::time::timeout(limit, socket.send(close)).await;
}

fn close_message(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

/// The frames of a catch-up: `Gap` if events were lost, the events, then `CaughtUp`.
fn catch_up_frames(replay: Replay, upto: u64) -> impl Iterator<Item = Bytes> {
    let gap = replay
        .gap
        .map(|(from, to)| encode(&ServerFrame::Gap { from, to }));
    gap.into_iter()
        .chain(replay.events.into_iter().map(|e| e.frame))
        .chain(std::iter::once(encode(&ServerFrame::CaughtUp {
            seq: upto,
        })))
}
