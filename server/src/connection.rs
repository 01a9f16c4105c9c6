//! One WebSocket connection: bytes ↔ frames, the joining handshake, then a receive loop
//! (requests to the store) beside a send task (the connection's queue to the socket).
//!
//! # Phases
//! 1. **Joining**: the socket is read directly until a `Create` or `Join` succeeds. The
//!    connection registers with the hub *before* it asks the store, so it cannot miss an
//!    event; the `Welcome`, the catch-up and `CaughtUp` are then written straight to the
//!    socket, ahead of anything queued meanwhile.
//! 2. **Live**: the socket is split. A send task drains the bounded queue (dropping
//!    events the connection was already given) and batches writes; the receive loop
//!    handles requests. When either ends, the other is stopped.
//!
//! Every error answer leaves the socket open; only `Closed` is followed by a close.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use bytes::Bytes;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use rand::Rng;
use tokio::sync::{broadcast, mpsc, Notify, OwnedSemaphorePermit};
use vroom_shared::wire::{
    ClientFrame, CloseReason, ErrorCode, MemberId, ResumeToken, RoomId, RoomLimits, RoomSettings,
    ServerFrame, PROTOCOL_VERSION,
};

use crate::config::Config;
use crate::hub::{Conn, Outbound};
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
    /// The connection's outbound queue (answers and catch-up; events come via the hub).
    tx: mpsc::Sender<Outbound>,
}

/// How the live phase ended.
enum End {
    /// The client closed or the socket failed: the member keeps its place for the grace.
    Dropped,
    /// The member left: `Closed { Left }` is queued.
    Left,
    /// The send task stopped (room closed, kicked, lagging, replaced, socket error).
    SendEnded,
    /// The relay is shutting down.
    GoingAway,
}

/// Serves one upgraded WebSocket until it closes.
pub(crate) async fn serve<S: Store>(
    mut socket: WebSocket,
    state: AppState<S>,
    _permit: OwnedSemaphorePermit,
) {
    let shared = state.inner.clone();
    shared.metrics.connections.inc();
    let _gauge = scopeguard(|| {
        shared.metrics.connections.dec();
    });
    let mut shutdown = shared.shutdown.subscribe();
    let limiter = rate_limiter(&shared.config);

    // The phases a connection goes through once (joining, ending) and rare requests run
    // boxed, so their state lives on the heap only while they run: this task stays as
    // small as its live phase, which every idle connection keeps while it is open.
    let joined = Box::pin(join(&mut socket, &state, &limiter, &mut shutdown)).await;
    let Some((member, rx, kill, floor)) = joined else {
        return;
    };
    let (sink, stream) = socket.split();
    let send = tokio::spawn(send_loop(sink, rx, floor, kill));
    live(stream, member, send, &limiter, shutdown).await;
}

/// The joining phase, cut short by a shutdown (which says goodbye first).
async fn join<S: Store>(
    socket: &mut WebSocket,
    state: &AppState<S>,
    limiter: &DefaultDirectRateLimiter,
    shutdown: &mut broadcast::Receiver<()>,
) -> Option<Joined<S>> {
    tokio::select! {
        joined = handshake(socket, state, limiter) => joined,
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
    }
}

/// The live phase and its end: requests until the client goes, the send task stops or
/// the relay shuts down; then the member's place is released.
async fn live<S: Store>(
    stream: SplitStream<WebSocket>,
    member: Member<S>,
    mut send: tokio::task::JoinHandle<()>,
    limiter: &DefaultDirectRateLimiter,
    mut shutdown: broadcast::Receiver<()>,
) {
    let end = tokio::select! {
        end = receive_loop(stream, &member, limiter) => end,
        _ = &mut send => End::SendEnded,
        _ = shutdown.recv() => End::GoingAway,
    };
    Box::pin(end_connection(member, send, end)).await;
}

/// Flushes what the member should still get and releases its place.
async fn end_connection<S: Store>(member: Member<S>, send: tokio::task::JoinHandle<()>, end: End) {
    let shared = &member.state.inner;
    let grace = shared.config.shutdown_timeout;
    match end {
        End::GoingAway => {
            // If the queue is full the member is lagging anyway; the send task ends.
            let _ = member.tx.try_send(Outbound::Close(CloseReason::GoingAway));
            finish(send, grace).await;
        }
        End::Left => finish(send, grace).await,
        End::Dropped => send.abort(),
        End::SendEnded => {}
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

/// Waits for the send task to flush its last frames, at most `timeout`.
async fn finish(mut send: tokio::task::JoinHandle<()>, timeout: Duration) {
    if tokio::time::timeout(timeout, &mut send).await.is_err() {
        send.abort();
    }
}

/// Runs `f` when dropped.
fn scopeguard(f: impl FnOnce()) -> impl Drop {
    struct Guard<F: FnOnce()>(Option<F>);
    impl<F: FnOnce()> Drop for Guard<F> {
        fn drop(&mut self) {
            if let Some(f) = self.0.take() {
                f();
            }
        }
    }
    Guard(Some(f))
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
    mpsc::Receiver<Outbound>,
    Arc<Notify>,
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
    rx: mpsc::Receiver<Outbound>,
    kill: Arc<Notify>,
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
    let (tx, rx) = mpsc::channel(shared.config.send_queue.max(1));
    let kill = Arc::new(Notify::new());
    shared.hub.register(
        room,
        Conn {
            member,
            session,
            tx: tx.clone(),
            kill: kill.clone(),
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
            tx,
        },
        rx,
        kill,
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
    Some((
        attached.member,
        attached.rx,
        attached.kill,
        attached.welcome.seq,
    ))
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

/// Writes the connection's queue to its socket until the queue closes, a `Close` is
/// written, or the connection is killed (lagging or replaced).
async fn send_loop(
    mut sink: SplitSink<WebSocket, Message>,
    mut rx: mpsc::Receiver<Outbound>,
    mut floor: u64,
    kill: Arc<Notify>,
) {
    loop {
        let first = tokio::select! {
            biased;
            () = kill.notified() => {
                // A lagging peer may not read at all: say goodbye if it fits, then go.
                let bye = sink.send(close_message(CLOSE_TRY_AGAIN, "reconnect and catch up"));
                let _ = tokio::time::timeout(KILL_GOODBYE, bye).await;
                return;
            }
            item = rx.recv() => match item {
                Some(item) => item,
                None => return,
            },
        };
        // Write everything already queued, then flush once: one syscall for a burst.
        let mut next = Some(first);
        while let Some(item) = next {
            let msg = match item {
                Outbound::Event { seq, frame } => {
                    if seq <= floor {
                        next = rx.try_recv().ok();
                        continue;
                    }
                    floor = seq;
                    Message::Binary(frame)
                }
                Outbound::Frame(frame) => Message::Binary(frame),
                Outbound::Close(reason) => {
                    let bye = encode(&ServerFrame::Closed { reason });
                    let code = if reason == CloseReason::GoingAway {
                        CLOSE_GOING_AWAY
                    } else {
                        CLOSE_NORMAL
                    };
                    let _ = sink.feed(Message::Binary(bye)).await;
                    let _ = sink.send(close_message(code, "")).await;
                    return;
                }
            };
            if sink.feed(msg).await.is_err() {
                return;
            }
            next = rx.try_recv().ok();
        }
        if sink.flush().await.is_err() {
            return;
        }
    }
}

/// Handles requests until the client goes, leaves, or the socket fails.
async fn receive_loop<S: Store>(
    mut stream: SplitStream<WebSocket>,
    member: &Member<S>,
    limiter: &DefaultDirectRateLimiter,
) -> End {
    while let Some(msg) = stream.next().await {
        let bytes = match msg {
            Ok(Message::Binary(bytes)) => bytes,
            Ok(Message::Text(_)) => {
                member.fail(ErrorCode::MalformedFrame).await;
                continue;
            }
            Ok(Message::Close(_)) | Err(_) => return End::Dropped,
            Ok(Message::Ping(_) | Message::Pong(_)) => continue,
        };
        if limiter.check().is_err() {
            member.fail(ErrorCode::RateLimited).await;
            continue;
        }
        match member.handle(&bytes).await {
            Ok(Some(end)) => return end,
            Ok(None) => {}
            Err(code) => member.fail(code).await,
        }
    }
    End::Dropped
}

impl<S: Store> Member<S> {
    async fn fail(&self, code: ErrorCode) {
        // Boxed for the same reason as rare requests (see `serve`).
        Box::pin(self.fail_now(code)).await;
    }

    async fn fail_now(&self, code: ErrorCode) {
        self.state.inner.metrics.error(code);
        let frame = encode(&ServerFrame::Error { code });
        let _ = self.tx.send(Outbound::Frame(frame)).await;
    }

    /// Handles one request of a joined member.
    async fn handle(&self, bytes: &[u8]) -> Result<Option<End>, ErrorCode> {
        let shared = &self.state.inner;
        match ClientFrame::decode(bytes).map_err(|_| ErrorCode::MalformedFrame)? {
            ClientFrame::Send { to, payload } => {
                if payload.len() > self.limits.max_payload as usize {
                    return Err(ErrorCode::FrameTooLarge);
                }
                shared
                    .store
                    .publish(self.room, self.me, to, payload)
                    .await?;
                shared.metrics.relayed_frames.inc();
                shared.metrics.relayed_bytes.inc_by(payload.len() as u64);
                Ok(None)
            }
            // Boxed: rare requests must not widen the receive loop's state, which every
            // connection keeps while it waits for its next frame.
            other => Box::pin(self.handle_control(other)).await,
        }
    }

    /// Handles a request other than `Send`.
    async fn handle_control(&self, frame: ClientFrame<'_>) -> Result<Option<End>, ErrorCode> {
        let shared = &self.state.inner;
        let store = &shared.store;
        match frame {
            ClientFrame::Fetch { after } => {
                let replay = store.replay(self.room, self.me, after).await?;
                let upto = replay.upto;
                for frame in catch_up_frames(replay, upto) {
                    if self.tx.send(Outbound::Frame(frame)).await.is_err() {
                        break;
                    }
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
                let _ = self.tx.send(Outbound::Close(CloseReason::Left)).await;
                return Ok(Some(End::Left));
            }
            ClientFrame::Send { .. } | ClientFrame::Create { .. } | ClientFrame::Join { .. } => {
                return Err(ErrorCode::UnexpectedFrame);
            }
        }
        Ok(None)
    }
}
