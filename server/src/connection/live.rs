//! The live phase's socket: one task reads requests and writes the outbox, in one loop.

use std::pin::Pin;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use bytes::Bytes;
use futures_util::SinkExt;
use governor::DefaultDirectRateLimiter;
use tokio::time::{Instant, Sleep};
use vroom_shared::wire::{ClientFrame, CloseReason, ErrorCode, ServerFrame};

use super::{
    close_message, close_too_big, encode, stream_budget, too_big, Member, CLOSE_DEAD,
    CLOSE_GOING_AWAY, CLOSE_NORMAL, CLOSE_TRY_AGAIN, KILL_GOODBYE,
};
use crate::metrics::Refusal;
use crate::outbox::{Next, OutboxReader};
use crate::store::Store;

/// A joined connection's socket and what it still has to write.
pub(super) struct Live {
    /// The WebSocket, owned by this one task for reading and writing.
    socket: WebSocket,
    /// Where the hub queues events and closes for this connection.
    outbox: OutboxReader,
    /// Fires when the peer has been silent for a while: then it is pinged, and if it
    /// stays silent, closed as dead. Boxed: a `Sleep` is large and every idle
    /// connection keeps one.
    quiet: Pin<Box<Sleep>>,
    /// Whether something arrived since `quiet` was last set.
    heard: bool,
    /// Whether a ping is waiting for an answer.
    pinged: bool,
    /// `--ping-interval`, `--ping-timeout`, `--write-timeout`.
    timeouts: Timeouts,
    /// The chunk lane's byte budget (`--stream-rate`), made when the connection first
    /// sends a chunk: most connections never do, and pay one pointer for it.
    stream_budget: Option<Box<DefaultDirectRateLimiter>>,
}

/// The connection's clocks, from the configuration.
#[derive(Clone, Copy)]
pub(super) struct Timeouts {
    /// Silence before a ping.
    pub(super) ping_interval: Duration,
    /// Silence after a ping before the peer counts as dead.
    pub(super) ping_timeout: Duration,
    /// How long the socket may take none of what is written to it.
    pub(super) write: Duration,
}

/// How the live phase ended.
pub(super) enum End {
    /// The client closed or the socket failed: the member keeps its place for the grace.
    Dropped,
    /// The member left: `Closed { Left }` was written.
    Left,
    /// Writing stopped (room closed, kicked, lagging, replaced, socket error).
    Stopped,
    /// The relay is shutting down.
    GoingAway,
    /// The client took none of what was written for `--write-timeout`.
    TooSlow,
}

impl Live {
    pub(super) fn new(socket: WebSocket, outbox: OutboxReader, timeouts: Timeouts) -> Live {
        Live {
            socket,
            outbox,
            quiet: Box::pin(tokio::time::sleep(timeouts.ping_interval)),
            heard: false,
            pinged: false,
            timeouts,
            stream_budget: None,
        }
    }

    /// The peer has been quiet since `quiet` was set: keep waiting if it spoke
    /// meanwhile, else ping it, else (a ping went unanswered) it is dead.
    async fn quiet(&mut self) -> Result<(), End> {
        let now = Instant::now();
        if std::mem::take(&mut self.heard) {
            self.pinged = false;
            self.quiet.as_mut().reset(now + self.timeouts.ping_interval);
            return Ok(());
        }
        if self.pinged {
            let bye = close_message(CLOSE_DEAD, "no answer to ping");
            let _ = tokio::time::timeout(KILL_GOODBYE, self.socket.send(bye)).await;
            return Err(End::Dropped);
        }
        self.pinged = true;
        self.quiet.as_mut().reset(now + self.timeouts.ping_timeout);
        let ping = Box::pin(self.socket.send(Message::Ping(Bytes::new())));
        let sent = tokio::time::timeout(self.timeouts.write, ping).await;
        match sent {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(End::Stopped),
            Err(_) => Err(End::TooSlow),
        }
    }

    /// Serves requests and writes queued frames until the connection ends.
    pub(super) async fn run<S: Store>(
        &mut self,
        member: &Member<S>,
        limiter: &DefaultDirectRateLimiter,
    ) -> End {
        loop {
            tokio::select! {
                () = self.outbox.ready() => {
                    if let Err(end) = self.write_queued().await {
                        return end;
                    }
                }
                () = self.quiet.as_mut() => {
                    let quiet = Box::pin(self.quiet());
                    if let Err(end) = quiet.await {
                        if let End::Dropped = end {
                            member.state.inner.metrics.refused(Refusal::DeadPeer);
                        }
                        return end;
                    }
                }
                msg = self.socket.recv() => {
                    self.heard = true;
                    let bytes = match msg {
                        Some(Ok(Message::Binary(bytes))) => bytes,
                        Some(Ok(Message::Text(_))) => {
                            if let Err(end) = self.fail(member, ErrorCode::MalformedFrame).await {
                                return end;
                            }
                            continue;
                        }
                        Some(Err(e)) => {
                            if too_big(e) {
                                let metrics = &member.state.inner.metrics;
                                let close = Box::pin(close_too_big(&mut self.socket, metrics, KILL_GOODBYE));
                                close.await;
                            }
                            return End::Dropped;
                        }
                        Some(Ok(Message::Close(_))) | None => return End::Dropped,
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    };
                    let outcome = match ClientFrame::decode(&bytes) {
                        // The chunk lane: its own byte budget, not the request rate.
                        Ok(ClientFrame::Stream { to, payload }) => {
                            let budget = self.stream_budget.get_or_insert_with(|| {
                                Box::new(stream_budget(&member.state.inner.config))
                            });
                            let relay = Box::pin(member.stream(budget, to, payload));
                            relay.await
                        }
                        _ if limiter.check().is_err() => Err(ErrorCode::RateLimited),
                        _ => member.handle(self, &bytes).await,
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

    /// Writes everything queued (the outbox skips events already given), then flushes
    /// once: one write for a burst. `Err` when the connection must end: it was
    /// stopped, its room or place closed (the goodbye is written), the socket failed,
    /// or it took nothing for `--write-timeout` ([`End::TooSlow`]).
    pub(super) async fn write_queued(&mut self) -> Result<(), End> {
        let limit = self.timeouts.write;
        tokio::time::timeout(limit, self.write_queued_now())
            .await
            .unwrap_or(Err(End::TooSlow))
    }

    async fn write_queued_now(&mut self) -> Result<(), End> {
        loop {
            let msg = match self.outbox.next() {
                Next::Frame(frame) => Message::Binary(frame),
                Next::Empty => break,
                Next::Close(reason) => {
                    let close = Box::pin(self.close(reason));
                    close.await;
                    return Err(End::Stopped);
                }
                Next::Killed => {
                    // Rare, so boxed (see the module docs): a lagging peer may not read
                    // at all; say goodbye if it fits.
                    let bye = self
                        .socket
                        .send(close_message(CLOSE_TRY_AGAIN, "reconnect and catch up"));
                    let bye = Box::pin(tokio::time::timeout(KILL_GOODBYE, bye));
                    let _ = bye.await;
                    return Err(End::Stopped);
                }
            };
            if self.socket.feed(msg).await.is_err() {
                return Err(End::Stopped);
            }
        }
        self.socket.flush().await.map_err(|_| End::Stopped)
    }

    /// Writes `frames` after everything queued before them, then flushes.
    pub(super) async fn answer(
        &mut self,
        frames: impl IntoIterator<Item = Bytes>,
    ) -> Result<(), End> {
        self.write_queued().await?;
        let limit = self.timeouts.write;
        let write = async {
            for frame in frames {
                if self.socket.feed(Message::Binary(frame)).await.is_err() {
                    return Err(End::Stopped);
                }
            }
            self.socket.flush().await.map_err(|_| End::Stopped)
        };
        tokio::time::timeout(limit, write)
            .await
            .unwrap_or(Err(End::TooSlow))
    }

    /// Answers a request with an error; the socket stays open.
    async fn fail<S>(&mut self, member: &Member<S>, code: ErrorCode) -> Result<(), End> {
        member.state.inner.metrics.error(code);
        let answer = Box::pin(self.answer([encode(&ServerFrame::Error { code })]));
        answer.await
    }

    /// Writes what was queued, then `Closed { reason }` and the close, within `limit`:
    /// a member that does not read gets that long, no more.
    pub(super) async fn goodbye(&mut self, reason: CloseReason, limit: Duration) {
        let goodbye = async {
            if self.write_queued().await.is_ok() {
                self.close(reason).await;
            }
        };
        let _ = tokio::time::timeout(limit, goodbye).await;
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
