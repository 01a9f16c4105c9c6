//! The joining phase: the first frames of a socket, until a `Create` or `Join`
//! succeeds and the `Welcome` (and any catch-up) is written.

use std::net::IpAddr;

use axum::extract::ws::{Message, WebSocket};
use governor::DefaultDirectRateLimiter;
use rand::Rng;
use vroom_shared::wire::{
    ClientFrame, CloseReason, ErrorCode, HostHash, JoinProofHash, MemberId, Resume, ResumeToken,
    RoomId, RoomSettings, ServerFrame, PROTOCOL_VERSION,
};

use super::code;
use super::live::{Live, Timeouts};
use super::{
    catch_up_frames, close_message, close_too_big, encode, rate_limiter, too_big, Admitted,
    Connection, Gauge, Held, Member, RoomTag, CLOSE_GOING_AWAY, CLOSE_POLICY, KILL_GOODBYE,
};
use crate::hub::Conn;
use crate::metrics::Refusal;
use crate::outbox::OutboxReader;
use crate::state::AppState;
use crate::store::{CreateRoom, JoinRoom, Newcomer, SessionId, Store, Welcome};

/// The joining phase, cut short by a shutdown (which says goodbye first).
pub(super) async fn join<S: Store>(
    mut socket: WebSocket,
    state: AppState<S>,
    admitted: Admitted,
) -> Option<Connection<S>> {
    let gauge = Gauge::new(&state.inner.metrics);
    let mut shutdown = state.inner.shutdown.subscribe();
    let limiter = rate_limiter(&state.inner.config);
    let joined = tokio::select! {
        joined = handshake(&mut socket, &state, &limiter, admitted.address) => joined,
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
    let (member, outbox) = joined?;
    Some(Connection {
        live: Live::new(socket, outbox, timeouts(&state.inner.config)),
        member,
        limiter,
        shutdown,
        held: Held {
            _permit: admitted.permit,
            _slot: admitted.slot,
            _gauge: gauge,
        },
    })
}

/// Reads frames until a `Create` or `Join` succeeds and the `Welcome` (plus catch-up) is
/// written: the member, and its outbox, which knows what the client was already given.
/// `None` when the socket closes first.
///
/// Cancelled only at shutdown; a connection cancelled between registering and being
/// welcomed may leave its hub entry behind, which the hub drops on its next event.
async fn handshake<S: Store>(
    socket: &mut WebSocket,
    state: &AppState<S>,
    limiter: &DefaultDirectRateLimiter,
    address: IpAddr,
) -> Option<(Member<S>, OutboxReader)> {
    let deadline = tokio::time::sleep(state.inner.config.join_timeout);
    tokio::pin!(deadline);
    let mut exchange = None;
    loop {
        let msg = tokio::select! {
            msg = socket.recv() => msg,
            frame = code::next(&mut exchange) => {
                socket.send(Message::Binary(frame)).await.ok()?;
                continue;
            }
            () = &mut deadline => {
                state.inner.metrics.refused(Refusal::JoinTimeout);
                let close = socket.send(close_message(CLOSE_POLICY, "join a room first"));
                let _ = tokio::time::timeout(KILL_GOODBYE, close).await;
                return None;
            }
        };
        let bytes = match msg? {
            Ok(Message::Binary(bytes)) => bytes,
            Ok(Message::Text(_)) => {
                socket
                    .send(error_message(state, ErrorCode::MalformedFrame))
                    .await
                    .ok()?;
                continue;
            }
            Err(e) => {
                if too_big(e) {
                    close_too_big(socket, &state.inner.metrics, KILL_GOODBYE).await;
                }
                return None;
            }
            Ok(Message::Close(_)) => return None,
            Ok(Message::Ping(_) | Message::Pong(_)) => continue,
        };
        if limiter.check().is_err() {
            socket
                .send(error_message(state, ErrorCode::RateLimited))
                .await
                .ok()?;
            continue;
        }
        if let Ok(frame) = ClientFrame::decode(&bytes) {
            if let Some(answer) = code::handle(state, address, &mut exchange, &frame).await {
                if let Some(answer) = answer {
                    socket.send(Message::Binary(answer)).await.ok()?;
                }
                continue;
            }
        }
        match attempt(state, &bytes, address).await {
            Err(code) => {
                socket.send(error_message(state, code)).await.ok()?;
            }
            Ok(attached) => return welcome(socket, state, attached).await,
        }
    }
}

/// One joining request: a `Create` or a `Join`, anything else refused.
async fn attempt<S: Store>(
    state: &AppState<S>,
    bytes: &[u8],
    address: IpAddr,
) -> Result<Attached<S>, ErrorCode> {
    let (version, room, ask) = match ClientFrame::decode(bytes) {
        Err(_) => return Err(ErrorCode::MalformedFrame),
        Ok(ClientFrame::Create {
            version,
            room,
            host,
            settings,
        }) => (version, room, Ask::Create { host, settings }),
        Ok(ClientFrame::Join {
            version,
            room,
            resume,
            after,
        }) => (
            version,
            room,
            Ask::Join {
                resume,
                after,
                proof: None,
            },
        ),
        Ok(ClientFrame::JoinProved {
            version,
            room,
            resume,
            after,
            proof,
        }) => (
            version,
            room,
            Ask::Join {
                resume,
                after,
                proof: Some(proof.hash()),
            },
        ),
        Ok(_) => return Err(ErrorCode::UnexpectedFrame),
    };
    if version != PROTOCOL_VERSION {
        return Err(ErrorCode::UnsupportedVersion);
    }
    let shared = &state.inner;
    let slot = match ask {
        Ask::Create { .. } => {
            if shared.store.room_count() >= shared.config.max_rooms {
                shared.limits.refuse(Refusal::RoomsTotal);
                return Err(ErrorCode::Unavailable);
            }
            Some(
                shared
                    .limits
                    .create(address)
                    .map_err(|_| ErrorCode::RateLimited)?,
            )
        }
        Ask::Join { .. } => {
            shared
                .limits
                .join(address)
                .map_err(|_| ErrorCode::RateLimited)?;
            None
        }
    };
    let attached = attach(state, room, ask).await?;
    if let Some(slot) = slot {
        slot.created(room);
    }
    Ok(attached)
}

/// What a joining connection asks the store for.
enum Ask {
    /// Create the room, with the limits the relay grants for `settings`.
    Create {
        host: HostHash,
        settings: RoomSettings,
    },
    /// Join the room, or take back a place (`resume`); catch up after `after`.
    Join {
        resume: Option<Resume>,
        after: Option<u64>,
        /// The hash of the join proof shown (`JoinProved`).
        proof: Option<JoinProofHash>,
    },
}

fn error_message<S>(state: &AppState<S>, code: ErrorCode) -> Message {
    state.inner.metrics.error(code);
    Message::Binary(encode(&ServerFrame::Error { code }))
}

/// A connection registered with the hub whose create or join succeeded.
struct Attached<S> {
    /// Who the connection now speaks for.
    member: Member<S>,
    /// The connection's end of the outbox registered with the hub.
    outbox: OutboxReader,
    /// What the store answered, for the `Welcome` frame and the catch-up.
    welcome: Welcome,
    /// Whether the client asked for catch-up (`after`), so it expects `CaughtUp`.
    catch_up: bool,
    /// Whether the room was created by this request.
    created: bool,
}

/// Registers a new connection with the hub and asks the store for its place.
async fn attach<S: Store>(
    state: &AppState<S>,
    room: RoomId,
    ask: Ask,
) -> Result<Attached<S>, ErrorCode> {
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
    // The member the hub delivers to: the one a resume claims, else the newcomer.
    let member = match &ask {
        Ask::Join {
            resume: Some(resume),
            ..
        } => resume.member,
        _ => newcomer.member,
    };
    let (outbox, queue) = OutboxReader::new(
        shared.config.send_queue,
        shared.config.send_queue_bytes,
        shared.config.stream_queue_bytes,
        shared.queued.clone(),
    );
    shared.hub.register(
        room,
        Conn {
            member,
            session,
            outbox: queue,
        },
    );
    let (created, catch_up) = match ask {
        Ask::Create { .. } => (true, false),
        Ask::Join { after, .. } => (false, after.is_some()),
    };
    let answer = match ask {
        Ask::Create { host, settings } => {
            let create = CreateRoom {
                room,
                host,
                limits: shared.config.room_limits(settings),
                newcomer,
                session,
            };
            let started = std::time::Instant::now();
            let created = shared.store.create(create).await;
            shared.metrics.store_time("create", started);
            created
        }
        Ask::Join {
            resume,
            after,
            proof,
        } => {
            let join = JoinRoom {
                room,
                resume,
                newcomer,
                after,
                session,
                proof,
            };
            let started = std::time::Instant::now();
            let joined = shared.store.join(join).await;
            shared.metrics.store_time("join", started);
            joined
        }
    };
    let welcome = match answer {
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
        catch_up,
        created,
        welcome,
    })
}

/// Writes the `Welcome` and any catch-up straight to the socket.
async fn welcome<S: Store>(
    socket: &mut WebSocket,
    state: &AppState<S>,
    mut attached: Attached<S>,
) -> Option<(Member<S>, OutboxReader)> {
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
    let m = attached.member;
    if !ok {
        state.inner.hub.unregister(m.room, m.session);
        let _ = state.inner.store.disconnect(m.room, m.me, m.session).await;
        return None;
    }
    attached.outbox.given_up_to(attached.welcome.seq);
    Some((m, attached.outbox))
}

fn timeouts(config: &crate::config::Config) -> Timeouts {
    Timeouts {
        ping_interval: config.ping_interval,
        ping_timeout: config.ping_timeout,
        write: config.write_timeout,
    }
}
