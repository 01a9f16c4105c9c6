//! Presence: which rooms this instance follows and which of their members are
//! connected here, and each followed room's heartbeat (`tick.lua`).
//!
//! A room is followed (subscribed, heartbeated) from the first create or join under
//! way on this instance until its last local member is gone, and a little longer when
//! this instance's own leave or disconnect emptied the room: until the room's grace is
//! over, so this instance ends the room on time and tells anyone caught joining.

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::AbortHandle;
use vroom_shared::wire::{CloseReason, MemberId, RoomId};

use super::dispatch::{Input, SubCommand};
use super::scripts::{call, Tick, Ticked};
use super::Inner;
use crate::store::SessionId;
use crate::sync::lock;

/// Heartbeat and expiry settings.
#[derive(Clone, Copy)]
pub(super) struct Timing {
    /// How often an instance refreshes its members' presence and ends what is due.
    pub(super) heartbeat: Duration,
    /// How long a connected member's presence lasts without a heartbeat: three missed
    /// heartbeats mean its instance is gone.
    pub(super) presence: Duration,
    /// How long a dropped member keeps its place, and an empty room survives.
    pub(super) grace: Duration,
    /// Extra life of the keys past the room's due time, so that a ticking instance
    /// ends the room (and tells its members why) before Redis drops the keys.
    pub(super) slack: Duration,
}

impl Timing {
    /// The timing for a heartbeat period (at least 10 ms) and a grace period.
    pub(super) fn new(heartbeat: Duration, grace: Duration) -> Timing {
        let heartbeat = heartbeat.max(Duration::from_millis(10));
        Timing {
            heartbeat,
            presence: heartbeat * 3,
            grace,
            slack: heartbeat * 2,
        }
    }
}

/// What this instance knows of a room it has local members in.
pub(super) struct LocalRoom {
    /// Connected local members and the session each is connected with.
    members: HashMap<MemberId, SessionId>,
    /// Creates and joins under way (the room must stay subscribed for them).
    pending: usize,
    /// Becomes `Some(true)` once the subscription is confirmed (`Some(false)`: failed).
    pub(super) ready: watch::Receiver<Option<bool>>,
    /// The room's heartbeat task.
    timer: AbortHandle,
    /// Set when this instance's own leave or disconnect left nobody connected: it keeps
    /// following the room until the grace is over, to end it on time and tell anyone
    /// caught joining.
    hold_until: Option<tokio::time::Instant>,
}

/// The rooms this instance follows.
pub(super) type Rooms = HashMap<RoomId, LocalRoom>;

impl Inner {
    /// Registers a create or join under way in `room`, following the room first if
    /// this instance did not yet. Returns the subscription's readiness.
    pub(super) fn pending(self: &Arc<Self>, room: RoomId) -> watch::Receiver<Option<bool>> {
        let mut rooms = lock(&self.rooms);
        let local = rooms.entry(room).or_insert_with(|| self.follow(room));
        local.pending += 1;
        local.ready.clone()
    }

    /// A new local room: queues its subscription and starts its heartbeat.
    /// Call with the `rooms` lock held.
    fn follow(self: &Arc<Self>, room: RoomId) -> LocalRoom {
        let (ready_tx, ready) = watch::channel(None);
        let _ = self.dispatch.send(Input::Follow(room));
        let _ = self.subs.send(SubCommand::Subscribe(room, ready_tx));
        let timer = tokio::spawn(run_heartbeat(Arc::downgrade(self), room)).abort_handle();
        LocalRoom {
            members: HashMap::new(),
            pending: 0,
            ready,
            timer,
            hold_until: None,
        }
    }

    /// Closes out a create or join under way (adding the member when it succeeded).
    pub(super) fn settle(&self, room: RoomId, joined: Option<(MemberId, SessionId)>) {
        let mut rooms = lock(&self.rooms);
        if let Some(local) = rooms.get_mut(&room) {
            local.pending = local.pending.saturating_sub(1);
            if let Some((member, session)) = joined {
                local.members.insert(member, session);
                local.hold_until = None;
            }
        }
        self.release_if_idle(&mut rooms, room);
    }

    /// A local member is leaving or its connection dropped: it stops being
    /// heartbeated at once, while the room stays followed until [`Inner::left`].
    /// Returns whether the member was connected here.
    pub(super) fn leaving(
        &self,
        room: RoomId,
        member: MemberId,
        session: Option<SessionId>,
    ) -> bool {
        let mut rooms = lock(&self.rooms);
        let Some(local) = rooms.get_mut(&room) else {
            return false;
        };
        if session.is_some_and(|s| local.members.get(&member) != Some(&s)) {
            return false;
        }
        if local.members.remove(&member).is_none() {
            return false;
        }
        local.pending += 1;
        true
    }

    /// Closes out [`Inner::leaving`]; `empty`: nobody is connected to the room any more.
    pub(super) fn left(&self, room: RoomId, empty: bool) {
        let mut rooms = lock(&self.rooms);
        if let Some(local) = rooms.get_mut(&room) {
            local.pending = local.pending.saturating_sub(1);
            if empty {
                let t = self.timing;
                local.hold_until =
                    Some(tokio::time::Instant::now() + t.grace + t.slack + t.heartbeat);
            }
        }
        self.release_if_idle(&mut rooms, room);
    }

    /// Whether `member` is connected to this instance.
    pub(super) fn is_local(&self, room: RoomId, member: MemberId) -> bool {
        lock(&self.rooms)
            .get(&room)
            .is_some_and(|l| l.members.contains_key(&member))
    }

    /// Whether `member` is connected to this instance on `session`.
    pub(super) fn is_local_on(&self, room: RoomId, member: MemberId, session: SessionId) -> bool {
        lock(&self.rooms)
            .get(&room)
            .is_some_and(|l| l.members.get(&member) == Some(&session))
    }

    /// Drops a local member; the room stops being followed when none is left.
    pub(super) fn drop_member(&self, room: RoomId, member: MemberId) {
        let mut rooms = lock(&self.rooms);
        if let Some(local) = rooms.get_mut(&room) {
            local.members.remove(&member);
        }
        self.release_if_idle(&mut rooms, room);
    }

    fn release_if_idle(&self, rooms: &mut Rooms, room: RoomId) {
        let idle = rooms.get(&room).is_some_and(|l| {
            l.members.is_empty()
                && l.pending == 0
                && l.hold_until
                    .is_none_or(|h| tokio::time::Instant::now() >= h)
        });
        if idle {
            self.release(rooms, room);
        }
    }

    /// Stops following a room: one unsubscribe, no more heartbeats, no more delivery.
    pub(super) fn release(&self, rooms: &mut Rooms, room: RoomId) {
        if let Some(local) = rooms.remove(&room) {
            local.timer.abort();
            let _ = self.subs.send(SubCommand::Unsubscribe(room));
            let _ = self.dispatch.send(Input::Forget(room));
        }
    }

    /// Stops every heartbeat (the store is being dropped).
    pub(super) fn stop_heartbeats(&self) {
        for local in lock(&self.rooms).values() {
            local.timer.abort();
        }
    }
}

/// What a room's heartbeat does next.
enum Beat {
    /// Nobody to refresh yet (only creates and joins under way): look again soon.
    Soon,
    /// Refresh these members.
    Refresh(Vec<(MemberId, SessionId)>),
    /// The room is not followed any more.
    Stop,
}

/// One room's heartbeat on this instance: refreshes its members' presence, ends what
/// is due, and notices events or members this instance missed.
async fn run_heartbeat(inner: Weak<Inner>, room: RoomId) {
    let mut wait = Duration::ZERO;
    loop {
        tokio::time::sleep(wait).await;
        let Some(inner) = inner.upgrade() else { return };
        let timing = inner.timing;
        wait = timing.heartbeat;
        let beat = {
            let mut rooms = lock(&inner.rooms);
            inner.release_if_idle(&mut rooms, room);
            match rooms.get(&room) {
                Some(local) if local.members.is_empty() && local.hold_until.is_none() => Beat::Soon,
                Some(local) => Beat::Refresh(local.members.iter().map(|(m, s)| (*m, *s)).collect()),
                None => Beat::Stop,
            }
        };
        let connected = match beat {
            Beat::Soon => {
                wait = timing.heartbeat.min(Duration::from_millis(50));
                continue;
            }
            Beat::Refresh(connected) => connected,
            Beat::Stop => return,
        };
        let tick = Tick {
            presence: timing.presence,
            connected: &connected,
        };
        match call(&inner, room, &tick).await {
            // Unreachable Redis: try again on the next heartbeat.
            Err(_) => {}
            Ok(Ticked::Gone) => {
                // Deleted without an announcement this instance heard: by its TTL, or
                // while the subscription was down.
                let reason = if connected.is_empty() {
                    CloseReason::IdleTimeout
                } else {
                    // Heartbeated rooms do not expire: Redis lost them.
                    tracing::warn!(
                        members = connected.len(),
                        "redis store: a room with members connected here is gone from \
                         Redis (Redis restarted without its data, or its keys were \
                         deleted); its members are told the relay lost its storage"
                    );
                    CloseReason::StorageLost
                };
                let _ = inner.dispatch.send(Input::Vanished(room, reason));
                return;
            }
            // The script published the closing; the dispatcher delivers it.
            Ok(Ticked::Ended) => {}
            Ok(Ticked::Going {
                seq,
                next_due,
                lost,
            }) => {
                let _ = inner.dispatch.send(Input::Resync(room, seq));
                // Each with the connection the tick named it for.
                let lost: Vec<(MemberId, SessionId)> = lost
                    .into_iter()
                    .filter_map(|m| connected.iter().find(|(c, _)| *c == m).copied())
                    .collect();
                if !lost.is_empty() {
                    let _ = inner.dispatch.send(Input::Lost(room, lost));
                }
                // Wake just after the next deadline, so expiry is on time, not a
                // heartbeat late.
                wait = wait.min(next_due + Duration::from_millis(5));
            }
        }
    }
}
