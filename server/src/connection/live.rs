//! The live phase's socket: one task reads requests and writes the outbox, in one loop.

use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use bytes::Bytes;
use futures_util::SinkExt;
use governor::DefaultDirectRateLimiter;
use vroom_shared::wire::{CloseReason, ErrorCode, ServerFrame};

use super::{
    close_message, encode, Member, CLOSE_GOING_AWAY, CLOSE_NORMAL, CLOSE_TRY_AGAIN, KILL_GOODBYE,
};
use crate::outbox::{Next, OutboxReader};
use crate::store::Store;

/// A joined connection's socket and what it still has to write.
pub(super) struct Live {
    /// The WebSocket, owned by this one task for reading and writing.
    socket: WebSocket,
    /// Where the hub queues events and closes for this connection.
    outbox: OutboxReader,
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
}

impl Live {
    pub(super) fn new(socket: WebSocket, outbox: OutboxReader) -> Live {
        Live { socket, outbox }
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

    /// Writes everything queued (the outbox skips events already given), then flushes
    /// once: one write for a burst. `Err` when the connection must end: it was
    /// stopped, its room or place closed (the goodbye is written), or the socket failed.
    pub(super) async fn write_queued(&mut self) -> Result<(), End> {
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
