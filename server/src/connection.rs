//! One WebSocket connection: bytes ↔ frames, the joining handshake, then one loop that
//! handles requests and writes the connection's outbox to the socket.
//!
//! # Phases
//! 1. **Joining**: the socket is read directly until a `Create` or `Join` succeeds. The
//!    connection registers with the hub *before* it asks the store, so it cannot miss an
//!    event; the `Welcome`, the catch-up and `CaughtUp` are then written straight to the
//!    socket, ahead of anything queued meanwhile.
//! 2. **Live**: one task waits for either a request or its outbox. Queued frames are
//!    written in a batch (dropping events the connection was already given) and flushed
//!    once; answers to requests are written after whatever was queued before them. One
//!    task rather than a reader and a writer, because every idle connection pays for
//!    each task it keeps.
//!
//! Every error answer leaves the socket open; only `Closed` is followed by a close.

use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use bytes::Bytes;
use futures_util::SinkExt;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use rand::Rng;
use tokio::sync::{broadcast, OwnedSemaphorePermit};
use vroom_shared::wire::{
    ClientFrame, CloseReason, ErrorCode, MemberId, ResumeToken, RoomId, RoomLimits, RoomSettings,
    ServerFrame, PROTOCOL_VERSION,
};

use crate::config::Config;
use crate::hub::{Conn, Outbound, Outbox, Taken};
use crate::metrics::Metrics;
use crate::server::AppState;
use crate::store::{CreateRoom, JoinRoom, Newcomer, Replay, SessionId, Store, Welcome};

/// How long a connection may stay open without joining a room, so idle sockets cannot
/// hold connection slots forever.
const JOIN_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a stopped connection's close frame may take to leave.
const KILL_GOODBYE: Duration = Duration::from_secs(1);

/// WebSocket close code for "going away" (RFC 6455).
const CLOSE_GOING_AWAY: u16 = 1001;
/// WebSocket close code for "try again later": the connection fell behind its room.
const CLOSE_TRY_AGAIN: u16 = 1013;
/// WebSocket close code for "policy violation": no join within [`JOIN_TIMEOUT`].
const CLOSE_POLICY: u16 = 1008;
/// WebSocket close code for a normal closure.
const CLOSE_NORMAL: u16 = 1000;

/// A joined connection's identity and the handles it works with.
struct Member<S> {
    /// Shared relay state.
    state: AppState<S>,
    /// The room joined.
    room: RoomId,
    /// This member's id.
    me: MemberId,
    /// This connection.
    session: SessionId,
    /// The room's limits (payload size).
    limits: RoomLimits,
}

/// The outbox as its connection holds it: marks the outbox closed when dropped, so the
/// hub stops queueing for a connection that has gone, whichever way it went.
struct Reader(Arc<Outbox>);

impl Drop for Reader {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// A joined connection's socket and what it still has to write.
struct Live {
    /// The WebSocket, owned by this one task for reading and writing.
    socket: WebSocket,
    /// Where the hub queues events and closes for this connection.
    outbox: Reader,
    /// Frames taken from the outbox and not yet written. Kept here rather than in the
    /// writing future, so a write cut short by shutdown loses nothing; freed once empty.
    pending: VecDeque<Outbound>,
    /// The last event `seq` written (or given by `Welcome`/catch-up): older events in the
    /// outbox were already delivered and are skipped.
    floor: u64,
}

/// How the live phase ended.
enum End {
    /// The client closed or the socket failed: the member keeps its place for the grace.
    Dropped,
    /// The member left: `Closed { Left }` was written.
    Left,
    /// Writing stopped (room closed, kicked, lagging, replaced, socket error).
    Stopped,
    /// The relay is shutting down.
    GoingAway,
}

/// Serves one upgraded WebSocket until it closes.
///
/// The joining phase runs in the task axum spawned for the upgrade. A joined connection
/// goes on in a task of its own, whose future holds only its [`Connection`] and the
/// state of the one request or write in progress: kept in the upgrade task, it would
/// also carry that task's wrapper and the moved-from arguments of every enclosing
/// `async fn` for the connection's whole life, which was half of an idle connection's
/// memory (see BENCHMARKS.md).
pub(crate) async fn serve<S: Store>(
    socket: WebSocket,
    state: AppState<S>,
    permit: OwnedSemaphorePermit,
) {
    // Boxed futures are bound to a local before they are awaited: in
    // `Box::pin(f()).await` the unboxed temporary keeps its slot until the end of the
    // statement, across the await, and so widens the enclosing future by its size.
    let joining = Box::pin(join(socket, state, permit));
    if let Some(conn) = joining.await {
        tokio::spawn(conn.run());
    }
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

/// What a connection holds only so that dropping it, at the very end, releases it.
struct Held {
    /// The connection's slot under `--max-connections`.
    _permit: OwnedSemaphorePermit,
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

/// The joining phase, cut short by a shutdown (which says goodbye first).
async fn join<S: Store>(
    mut socket: WebSocket,
    state: AppState<S>,
    permit: OwnedSemaphorePermit,
) -> Option<Connection<S>> {
    let gauge = Gauge::new(&state.inner.metrics);
    let mut shutdown = state.inner.shutdown.subscribe();
    let limiter = rate_limiter(&state.inner.config);
    let joined = tokio::select! {
        joined = handshake(&mut socket, &state, &limiter) => joined,
        // Also interrupts a catch-up that a slow client is not reading.
        _ = shutdown.recv() => {
            let bye = encode(&ServerFrame::Closed { reason: CloseReason::GoingAway });
            let goodbye = async {
                socket.send(Message::Binary(bye)).await?;
                socket.send(close_message(CLOSE_GOING_AWAY, "relay going away")).await
            };
            let _ = tokio::time::timeout(KILL_GOODBYE, goodbye).await;
            None
        }
    };
    let (member, outbox, floor) = joined?;
    Some(Connection {
        live: Live {
            socket,
            outbox,
            pending: VecDeque::new(),
            floor,
        },
        member,
        limiter,
        shutdown,
        held: Held {
            _permit: permit,
            _gauge: gauge,
        },
    })
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
    if let End::GoingAway = end {
        // What was queued first, then the goodbye; a member that does not read gets
        // the shutdown grace, no more.
        let goodbye = async {
            if live.write_queued().await.is_ok() {
                live.close(CloseReason::GoingAway).await;
            }
        };
        let _ = tokio::time::timeout(shared.config.shutdown_timeout, goodbye).await;
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

fn error_frame<S>(state: &AppState<S>, code: ErrorCode) -> Message {
    state.inner.metrics.error(code);
    Message::Binary(encode(&ServerFrame::Error { code }))
}

fn close_message(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

/// The connection's live state after a successful handshake.
type Joined<S> = (
    Member<S>,
    Reader,
    u64, // the last seq already given to the client
);

/// Reads frames until a `Create` or `Join` succeeds and the `Welcome` (plus catch-up) is
/// written. `None` when the socket closes first.
///
/// Cancelled only at shutdown; a connection cancelled between registering and being
/// welcomed may leave its hub entry behind, which the hub drops on its next event.
async fn handshake<S: Store>(
    socket: &mut WebSocket,
    state: &AppState<S>,
    limiter: &DefaultDirectRateLimiter,
) -> Option<Joined<S>> {
    let deadline = tokio::time::sleep(JOIN_TIMEOUT);
    tokio::pin!(deadline);
    loop {
        let msg = tokio::select! {
            msg = socket.recv() => msg,
            () = &mut deadline => {
                let _ = socket.send(close_message(CLOSE_POLICY, "join a room first")).await;
                return None;
            }
        };
        let bytes = match msg? {
            Ok(Message::Binary(bytes)) => bytes,
            Ok(Message::Text(_)) => {
                socket
                    .send(error_frame(state, ErrorCode::MalformedFrame))
                    .await
                    .ok()?;
                continue;
            }
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(Message::Ping(_) | Message::Pong(_)) => continue,
        };
        if limiter.check().is_err() {
            socket
                .send(error_frame(state, ErrorCode::RateLimited))
                .await
                .ok()?;
            continue;
        }
        let attempt = match ClientFrame::decode(&bytes) {
            Err(_) => Err(ErrorCode::MalformedFrame),
            Ok(ClientFrame::Create {
                version,
                room,
                host,
                settings,
            }) => {
                if version != PROTOCOL_VERSION {
                    Err(ErrorCode::UnsupportedVersion)
                } else {
                    let limits = limits(&state.inner.config, settings);
                    attach(state, room, None, |newcomer, session| {
                        state.inner.store.create(CreateRoom {
                            room,
                            host,
                            limits,
                            newcomer,
                            session,
                        })
                    })
                    .await
                    .map(|a| Attached { created: true, ..a })
                }
            }
            Ok(ClientFrame::Join {
                version,
                room,
                resume,
                after,
            }) => {
                if version != PROTOCOL_VERSION {
                    Err(ErrorCode::UnsupportedVersion)
                } else {
                    attach(
                        state,
                        room,
                        resume.map(|r| r.member),
                        |newcomer, session| {
                            state.inner.store.join(JoinRoom {
                                room,
                                resume,
                                newcomer,
                                after,
                                session,
                            })
                        },
                    )
                    .await
                    .map(|a| Attached {
                        catch_up: after.is_some(),
                        ..a
                    })
                }
            }
            Ok(_) => Err(ErrorCode::UnexpectedFrame),
        };
        match attempt {
            Err(code) => {
                socket.send(error_frame(state, code)).await.ok()?;
            }
            Ok(attached) => return welcome(socket, state, attached).await,
        }
    }
}

/// A connection registered with the hub whose create or join succeeded.
struct Attached<S> {
    member: Member<S>,
    outbox: Reader,
    welcome: Welcome,
    /// Whether the client asked for catch-up (`after`), so it expects `CaughtUp`.
    catch_up: bool,
    /// Whether the room was created by this request.
    created: bool,
}

/// Registers a new connection with the hub and runs `op` (create or join) for it.
async fn attach<S: Store, F>(
    state: &AppState<S>,
    room: RoomId,
    resume: Option<MemberId>,
    op: impl FnOnce(Newcomer, SessionId) -> F,
) -> Result<Attached<S>, ErrorCode>
where
    F: std::future::Future<Output = Result<Welcome, ErrorCode>>,
{
    let shared = &state.inner;
    let (newcomer, session) = {
        let mut rng = rand::thread_rng();
        (
            Newcomer {
                member: MemberId(rng.gen()),
                token: ResumeToken(rng.gen()),
            },
            SessionId(rng.gen()),
        )
    };
    let member = resume.unwrap_or(newcomer.member);
    let outbox = Reader(Outbox::new(shared.config.send_queue));
    shared.hub.register(
        room,
        Conn {
            member,
            session,
            outbox: outbox.0.clone(),
        },
    );
    let welcome = match op(newcomer, session).await {
        Ok(w) => w,
        Err(code) => {
            shared.hub.unregister(room, session);
            return Err(code);
        }
    };
    if welcome.resumed {
        shared.hub.evict_others(room, welcome.you, session);
    }
    Ok(Attached {
        member: Member {
            state: state.clone(),
            room,
            me: welcome.you,
            session,
            limits: welcome.limits,
        },
        outbox,
        catch_up: false,
        created: false,
        welcome,
    })
}

/// Writes the `Welcome` and any catch-up straight to the socket.
async fn welcome<S: Store>(
    socket: &mut WebSocket,
    state: &AppState<S>,
    mut attached: Attached<S>,
) -> Option<Joined<S>> {
    let w = &attached.welcome;
    let config = &state.inner.config;
    if attached.created {
        state.inner.metrics.rooms_created.inc();
        tracing::info!(room = %RoomTag(config, attached.member.room), "room created");
    }
    let frame = ServerFrame::Welcome {
        you: w.you,
        resume: w.token,
        host: w.host,
        members: w.members.clone(),
        seq: w.seq,
        locked: w.locked,
        limits: w.limits,
    };
    let mut ok = socket.send(Message::Binary(encode(&frame))).await.is_ok();
    if ok && attached.catch_up {
        let replay = std::mem::take(&mut attached.welcome.replay);
        for frame in catch_up_frames(replay, attached.welcome.seq) {
            if socket.send(Message::Binary(frame)).await.is_err() {
                ok = false;
                break;
            }
        }
    }
    if !ok {
        state
            .inner
            .hub
            .unregister(attached.member.room, attached.member.session);
        let m = &attached.member;
        let _ = state.inner.store.disconnect(m.room, m.me, m.session).await;
        return None;
    }
    Some((attached.member, attached.outbox, attached.welcome.seq))
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

fn limits(config: &Config, asked: RoomSettings) -> RoomLimits {
    let secs = |d: Duration| u32::try_from(d.as_secs()).unwrap_or(u32::MAX);
    let cap = |asked: Option<u32>, max: u32| asked.map_or(max, |a| a.clamp(1, max));
    RoomLimits {
        max_members: cap(asked.max_members, config.max_members),
        idle_timeout_secs: cap(asked.idle_timeout_secs, secs(config.idle_timeout)),
        max_lifetime_secs: cap(asked.max_lifetime_secs, secs(config.max_lifetime)),
        grace_secs: u32::try_from(config.grace.as_secs_f64().ceil() as u64).unwrap_or(u32::MAX),
        max_payload: config.max_payload,
        max_file: config.max_file,
    }
}

impl Live {
    /// Serves requests and writes queued frames until the connection ends.
    async fn run<S: Store>(
        &mut self,
        member: &Member<S>,
        limiter: &DefaultDirectRateLimiter,
    ) -> End {
        loop {
            tokio::select! {
                () = self.outbox.0.ready() => {
                    if let Err(end) = self.write_queued().await {
                        return end;
                    }
                }
                msg = self.socket.recv() => {
                    let bytes = match msg {
                        Some(Ok(Message::Binary(bytes))) => bytes,
                        Some(Ok(Message::Text(_))) => {
                            if let Err(end) = self.fail(member, ErrorCode::MalformedFrame).await {
                                return end;
                            }
                            continue;
                        }
                        Some(Ok(Message::Close(_)) | Err(_)) | None => return End::Dropped,
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    };
                    let outcome = if limiter.check().is_err() {
                        Err(ErrorCode::RateLimited)
                    } else {
                        member.handle(self, &bytes).await
                    };
                    let failed = match outcome {
                        Ok(Some(end)) => return end,
                        Ok(None) => Ok(()),
                        Err(code) => self.fail(member, code).await,
                    };
                    if let Err(end) = failed {
                        return end;
                    }
                }
            }
        }
    }

    /// Writes everything queued (skipping events already given), then flushes once: one
    /// write for a burst. `Err` when the connection must end: it was stopped, its room or
    /// place closed (the goodbye is written), or the socket failed.
    async fn write_queued(&mut self) -> Result<(), End> {
        loop {
            if self.pending.is_empty() {
                match self.outbox.0.take() {
                    Taken::Killed => {
                        // Rare, so boxed (see `serve`): a lagging peer may not read at
                        // all; say goodbye if it fits.
                        let bye = self
                            .socket
                            .send(close_message(CLOSE_TRY_AGAIN, "reconnect and catch up"));
                        let bye = Box::pin(tokio::time::timeout(KILL_GOODBYE, bye));
                        let _ = bye.await;
                        return Err(End::Stopped);
                    }
                    Taken::Items(items) if items.is_empty() => break,
                    Taken::Items(items) => self.pending = items,
                }
            }
            while let Some(item) = self.pending.pop_front() {
                let msg = match item {
                    Outbound::Event { seq, frame } => {
                        if seq <= self.floor {
                            continue;
                        }
                        self.floor = seq;
                        Message::Binary(frame)
                    }
                    Outbound::Close(reason) => {
                        let close = Box::pin(self.close(reason));
                        close.await;
                        return Err(End::Stopped);
                    }
                };
                if self.socket.feed(msg).await.is_err() {
                    return Err(End::Stopped);
                }
            }
        }
        // The batch's buffer goes back to the allocator: an idle connection keeps none.
        self.pending = VecDeque::new();
        self.socket.flush().await.map_err(|_| End::Stopped)
    }

    /// Writes `frames` after everything queued before them, then flushes.
    async fn answer(&mut self, frames: impl IntoIterator<Item = Bytes>) -> Result<(), End> {
        self.write_queued().await?;
        for frame in frames {
            if self.socket.feed(Message::Binary(frame)).await.is_err() {
                return Err(End::Stopped);
            }
        }
        self.socket.flush().await.map_err(|_| End::Stopped)
    }

    /// Answers a request with an error; the socket stays open.
    async fn fail<S>(&mut self, member: &Member<S>, code: ErrorCode) -> Result<(), End> {
        member.state.inner.metrics.error(code);
        let answer = Box::pin(self.answer([encode(&ServerFrame::Error { code })]));
        answer.await
    }

    /// Writes `Closed { reason }` and closes the socket.
    async fn close(&mut self, reason: CloseReason) {
        let bye = encode(&ServerFrame::Closed { reason });
        let code = if reason == CloseReason::GoingAway {
            CLOSE_GOING_AWAY
        } else {
            CLOSE_NORMAL
        };
        let _ = self.socket.feed(Message::Binary(bye)).await;
        let _ = self.socket.send(close_message(code, "")).await;
    }
}

impl<S: Store> Member<S> {
    /// Handles one request of a joined member.
    async fn handle(&self, live: &mut Live, bytes: &[u8]) -> Result<Option<End>, ErrorCode> {
        let frame = ClientFrame::decode(bytes).map_err(|_| ErrorCode::MalformedFrame)?;
        let ClientFrame::Send { to, payload } = frame else {
            // Boxed, and bound first (see `serve`): rare requests must not widen the
            // live loop's state, which every connection keeps while it waits.
            let control = Box::pin(self.handle_control(live, frame));
            return control.await;
        };
        if payload.len() > self.limits.max_payload as usize {
            return Err(ErrorCode::FrameTooLarge);
        }
        let shared = &self.state.inner;
        shared
            .store
            .publish(self.room, self.me, to, payload)
            .await?;
        shared.metrics.relayed_frames.inc();
        shared.metrics.relayed_bytes.inc_by(payload.len() as u64);
        Ok(None)
    }

    /// Handles a request other than `Send`.
    async fn handle_control(
        &self,
        live: &mut Live,
        frame: ClientFrame<'_>,
    ) -> Result<Option<End>, ErrorCode> {
        let shared = &self.state.inner;
        let store = &shared.store;
        match frame {
            ClientFrame::Fetch { after } => {
                let replay = store.replay(self.room, self.me, after).await?;
                let upto = replay.upto;
                if let Err(end) = live.answer(catch_up_frames(replay, upto)).await {
                    return Ok(Some(end));
                }
            }
            ClientFrame::Lock { secret, locked } => {
                store.lock(self.room, &secret, locked).await?;
            }
            ClientFrame::Kick { secret, member } => {
                store.kick(self.room, &secret, member).await?;
            }
            ClientFrame::Terminate { secret } => {
                store.terminate(self.room, &secret).await?;
                tracing::info!(room = %RoomTag(&shared.config, self.room), "room terminated");
            }
            ClientFrame::Leave => {
                shared.hub.unregister(self.room, self.session);
                // Whatever the store answers, this connection is done with the room.
                let _ = store.leave(self.room, self.me).await;
                let goodbye = async {
                    if live.write_queued().await.is_ok() {
                        live.close(CloseReason::Left).await;
                    }
                };
                let _ = tokio::time::timeout(shared.config.shutdown_timeout, goodbye).await;
                return Ok(Some(End::Left));
            }
            ClientFrame::Send { .. } | ClientFrame::Create { .. } | ClientFrame::Join { .. } => {
                return Err(ErrorCode::UnexpectedFrame);
            }
        }
        Ok(None)
    }
}
