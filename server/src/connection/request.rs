//! A joined member's requests: `Send` on the hot path, the rest boxed.

use governor::DefaultDirectRateLimiter;
use vroom_shared::wire::{ClientFrame, CloseReason, ErrorCode, MemberId, ServerFrame};

use super::live::{End, Live};
use super::{catch_up_frames, encode, stream_cells, Member, RoomTag};
use crate::limits::admit;
use crate::store::{Store, Streamed};

impl<S: Store> Member<S> {
    /// Handles one request of a joined member. `Ok(Some(end))` when the connection must
    /// end; `Err(code)` is answered with an error and the socket stays open.
    pub(super) async fn handle(
        &self,
        live: &mut Live,
        bytes: &[u8],
    ) -> Result<Option<End>, ErrorCode> {
        let frame = ClientFrame::decode(bytes).map_err(|_| ErrorCode::MalformedFrame)?;
        let ClientFrame::Send { to, payload } = frame else {
            // Boxed, and bound first (see the module docs): rare requests must not widen
            // the live loop's state, which every connection keeps while it waits.
            let control = Box::pin(self.handle_control(live, frame));
            return control.await;
        };
        if payload.len() > self.limits.max_payload as usize {
            return Err(ErrorCode::FrameTooLarge);
        }
        let shared = &self.state.inner;
        let started = std::time::Instant::now();
        let published = shared.store.publish(self.room, self.me, to, payload).await;
        shared.metrics.store_time("publish", started);
        published?;
        shared.metrics.relayed_frames.inc();
        shared.metrics.relayed_bytes.inc_by(payload.len() as u64);
        Ok(None)
    }

    /// Relays a chunk-lane packet, after waiting for its share of the connection's, the
    /// room's and the relay's byte budgets (a sender above `--stream-rate`,
    /// `--stream-rate-room` or `--stream-rate-total` is slowed down: its socket is not
    /// read meanwhile). A packet for a member who has gone is dropped without an answer: the
    /// sender's transfer learns of the departure from the room's `Left` event.
    pub(super) async fn stream(
        &self,
        budget: &DefaultDirectRateLimiter,
        to: Option<MemberId>,
        payload: &[u8],
    ) -> Result<Option<End>, ErrorCode> {
        if payload.len() > self.limits.max_payload as usize {
            return Err(ErrorCode::FrameTooLarge);
        }
        let shared = &self.state.inner;
        let cells = stream_cells(payload.len());
        let own = || budget.check_n(cells);
        admit(&shared.metrics, "connection", budget.clock(), own)
            .await
            .map_err(|_| ErrorCode::FrameTooLarge)?;
        shared
            .limits
            .stream_share(self.room, cells)
            .await
            .map_err(|_| ErrorCode::FrameTooLarge)?;
        let packet = Streamed::encode(self.me, to, payload);
        match shared.store.stream(self.room, packet).await {
            Ok(()) => {
                shared.metrics.stream_bytes.inc_by(payload.len() as u64);
                Ok(None)
            }
            Err(ErrorCode::UnknownMember) => Ok(None),
            Err(code) => Err(code),
        }
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
            ClientFrame::Rotate {
                secret,
                proof,
                renewal,
            } => {
                store.rotate(self.room, &secret, proof, renewal).await?;
                shared.metrics.invites_renewed.inc();
            }
            ClientFrame::Kick { secret, member } => {
                store.kick(self.room, &secret, member).await?;
            }
            ClientFrame::Terminate { secret } => {
                store.terminate(self.room, &secret).await?;
                tracing::info!(room = %RoomTag(&shared.config, self.room), "room terminated");
            }
            ClientFrame::HandOver { secret, to } => {
                store.hand_over(self.room, &secret, to).await?;
            }
            ClientFrame::ClaimHost { host } => {
                store.claim_host(self.room, self.me, host).await?;
            }
            ClientFrame::SetCap {
                secret,
                max_members,
            } => {
                store.set_cap(self.room, &secret, max_members).await?;
            }
            ClientFrame::SetModerator { secret, member, on } => {
                store.set_moderator(self.room, &secret, member, on).await?;
            }
            ClientFrame::ModeratorKick {
                member,
                proof,
                renewal,
            } => {
                store
                    .moderator_kick(self.room, self.me, member, proof, renewal)
                    .await?;
                shared.metrics.invites_renewed.inc();
            }
            ClientFrame::ModeratorLock { locked } => {
                store.moderator_lock(self.room, self.me, locked).await?;
            }
            ClientFrame::Leave => {
                shared.hub.unregister(self.room, self.session);
                // Whatever the store answers, this connection is done with the room.
                let _ = store.leave(self.room, self.me).await;
                live.goodbye(CloseReason::Left, shared.config.shutdown_timeout)
                    .await;
                return Ok(Some(End::Left));
            }
            ClientFrame::CodeOffer => {
                if shared.limits.code_offer(self.room).is_err() {
                    return Err(ErrorCode::RateLimited);
                }
                let answer = match store.code_offer(self.room, self.me, self.session).await? {
                    Ok(n) => {
                        shared.metrics.codes_issued.inc();
                        ServerFrame::CodeOffered {
                            nameplate: n.nameplate,
                            expires_secs: n.expires_secs,
                        }
                    }
                    Err(reason) => {
                        shared.metrics.code_refused(reason);
                        ServerFrame::CodeRefused {
                            nameplate: 0,
                            reason,
                        }
                    }
                };
                if let Err(end) = live.answer([encode(&answer)]).await {
                    return Ok(Some(end));
                }
            }
            ClientFrame::CodeRevoke { nameplate } => {
                store.code_end(self.room, self.me, nameplate, false).await?;
                shared.metrics.code_ended(false);
            }
            ClientFrame::CodeBurn { nameplate } => {
                store.code_end(self.room, self.me, nameplate, true).await?;
                shared.metrics.code_ended(true);
            }
            ClientFrame::CodeSend { exchange, payload } => {
                if payload.len() > super::MAX_CODE_MESSAGE {
                    return Err(ErrorCode::FrameTooLarge);
                }
                store
                    .code_to_joiner(self.room, self.me, exchange, payload)
                    .await?;
            }
            ClientFrame::Send { .. }
            | ClientFrame::Stream { .. }
            | ClientFrame::Create { .. }
            | ClientFrame::Join { .. }
            | ClientFrame::JoinProved { .. }
            | ClientFrame::CodeOpen { .. } => {
                return Err(ErrorCode::UnexpectedFrame);
            }
        }
        Ok(None)
    }
}
