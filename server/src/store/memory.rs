//! The in-process store: every room in this process's memory, gone when the process
//! ends. The default backend for a single relay instance; it needs nothing else to run.
//!
//! Each room has its own `std::sync::Mutex`, held only for short, non-awaiting critical
//! sections; sequencing, logging and handing the event to the [`Fanout`] happen under it,
//! which is what gives every member the same order. A small timer task per room sleeps
//! until the room's next deadline (idle timeout, maximum lifetime, a member's or the
//! room's grace) and expires what is due.
//!
//! Lock order: a room's lock may be held while taking the map's lock, never the reverse.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::AbortHandle;
use tokio::time::Instant;
use vroom_shared::wire::{
    CloseReason, CodeRefusal, ErrorCode, Event, HostHash, HostSecret, JoinProofHash, LeaveReason,
    MemberId, ResumeToken, ResumeTokenDebug, RoomId, RoomLimits,
};

use super::codes::{self, CodeCaps, CodeResult, Nameplate};
use super::{
    CreateRoom, Fanout, JoinRoom, LogCaps, Replay, Sequenced, SessionId, Signal, Store,
    StoreResult, Streamed, Welcome,
};
use crate::config::Config;
use crate::sync::lock;

/// The in-process store. Cheap to clone: clones share one set of rooms.
#[derive(Clone)]
pub struct MemoryStore {
    /// Shared state; the room timers hold only a weak reference, so dropping the last
    /// handle frees everything and stops the timers.
    inner: Arc<Inner>,
}

struct Inner {
    /// Every room, by id. A std `Mutex`, not a tokio one: it is held for a map lookup or
    /// insert only, never across an await.
    rooms: Mutex<HashMap<RoomId, Arc<Room>>>,
    /// Where sequenced events and closures go (the relay's local registry).
    fanout: Arc<dyn Fanout>,
    /// Rooms at once, at most.
    max_rooms: usize,
    /// What each room's log keeps.
    log: LogCaps,
    /// Bytes in every room's log together.
    buffered: AtomicUsize,
    /// Held while the largest logs are trimmed, so one trim runs at a time.
    trimming: Mutex<()>,
    /// How long a dropped member keeps its place and an empty room survives. Kept at
    /// full precision here; `RoomLimits::grace_secs` only reports it.
    grace: Duration,
    /// Short-code nameplates by number. Lock order: after a room's lock, never before.
    plates: Mutex<HashMap<u32, Plate>>,
    /// Their TTL and caps.
    code_caps: CodeCaps,
}

/// A short-code nameplate.
struct Plate {
    room: RoomId,
    member: MemberId,
    session: SessionId,
    /// When joiners start hearing "expired".
    expires: Instant,
    /// Whether its member burned it.
    burned: bool,
    /// The exchanges opened on it.
    exchanges: Vec<u64>,
}

impl Plate {
    /// Whether the number may be handed out again.
    fn forgotten(&self, now: Instant, caps: &CodeCaps) -> bool {
        now >= self.expires + caps.tombstone()
    }

    /// Why a joiner may not use it now, if so.
    fn refusal(&self, now: Instant) -> Option<CodeRefusal> {
        if now >= self.expires {
            Some(CodeRefusal::Expired)
        } else if self.burned {
            Some(CodeRefusal::Burned)
        } else {
            None
        }
    }
}

struct Room {
    /// The room's id, for signalling.
    id: RoomId,
    /// Everything mutable about the room.
    state: Mutex<RoomState>,
    /// Wakes the timer task when a deadline moves earlier (a member dropped, the room
    /// emptied, the room was deleted).
    wake: Notify,
    /// The timer task, aborted when the store is dropped.
    timer: Mutex<Option<AbortHandle>>,
}

struct RoomState {
    /// Set when the room is deleted, so handles still holding the `Arc` see it is gone.
    closed: bool,
    /// Hash of the host secret; host requests are checked against it. `None` between a
    /// hand-over and the new host's claim.
    host_hash: Option<HostHash>,
    /// The host seat's member id (the creator's, until a hand-over or a claim),
    /// reported in `Welcome`.
    host: MemberId,
    /// The limits and timers in force.
    limits: RoomLimits,
    /// Whether new members are refused.
    locked: bool,
    /// The hash of the join proof newcomers must show, once the host renewed the
    /// room's invitation, with the renewal number of its pass.
    join_proof: Option<(JoinProofHash, u32)>,
    /// The host's member cap, if it set one (at most `limits.max_members`).
    cap: Option<u32>,
    /// The last sequence number handed out.
    seq: u64,
    /// Members holding a place, in joining order (a room holds a few dozen at most, so a
    /// `Vec` beats a map).
    places: Vec<Place>,
    /// Recent events for catch-up, oldest first.
    log: VecDeque<Sequenced>,
    /// Total encoded size of `log`, to keep it under its byte cap.
    log_bytes: usize,
    /// The largest sequence number that has left the log (0: none).
    evicted_upto: u64,
    /// When the room was created, for its maximum lifetime.
    created: Instant,
    /// When the last message or chunk was relayed, for the idle timeout.
    last_activity: Instant,
    /// Since when no member has been connected, for the room's grace.
    empty_since: Option<Instant>,
}

struct Place {
    /// The member's id.
    member: MemberId,
    /// Proof required to resume this place.
    token: ResumeToken,
    /// The connection that holds the place now (or held it last).
    session: SessionId,
    /// When that connection dropped; `None` while connected.
    disconnected_at: Option<Instant>,
    /// Whether the host made it a moderator (it ends with the place).
    moderator: bool,
}

/// Why a room ends, as the store sees it.
#[derive(Clone, Copy)]
enum Ending {
    Close(CloseReason),
    /// Nobody has been connected for the grace period: nobody is left to tell.
    Abandoned,
}

impl MemoryStore {
    /// A store with the caps from `config`, delivering through `fanout`.
    pub fn new(config: &Config, fanout: Arc<dyn Fanout>) -> MemoryStore {
        MemoryStore {
            inner: Arc::new(Inner {
                rooms: Mutex::new(HashMap::new()),
                fanout,
                max_rooms: config.max_rooms,
                log: LogCaps::new(config),
                buffered: AtomicUsize::new(0),
                trimming: Mutex::new(()),
                grace: config.grace,
                plates: Mutex::new(HashMap::new()),
                code_caps: CodeCaps::new(config),
            }),
        }
    }

    fn room(&self, id: RoomId) -> StoreResult<Arc<Room>> {
        lock(&self.inner.rooms)
            .get(&id)
            .cloned()
            .ok_or(ErrorCode::UnknownRoom)
    }

    /// Locks a live room's state.
    fn with_room<T>(
        &self,
        id: RoomId,
        f: impl FnOnce(&Inner, &Room, &mut RoomState) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let room = self.room(id)?;
        let mut st = lock(&room.state);
        if st.closed {
            return Err(ErrorCode::UnknownRoom);
        }
        f(&self.inner, &room, &mut st)
    }
}

impl Inner {
    /// Sequences `event`, logs it and hands it to the fanout. Call with the room locked.
    fn emit(&self, room: &Room, st: &mut RoomState, event: Event<'_>) {
        st.seq += 1;
        let seq = Sequenced::encode(st.seq, event);
        self.fanout.signal(room.id, Signal::Event(&seq));
        st.log_bytes += seq.frame.len();
        self.buffered.fetch_add(seq.frame.len(), Ordering::Relaxed);
        st.log.push_back(seq);
        while st.log.len() > self.log.events || (st.log_bytes > self.log.bytes && st.log.len() > 1)
        {
            self.evict_oldest(st);
        }
    }

    /// Drops the oldest event of a room's log. Call with the room locked.
    fn evict_oldest(&self, st: &mut RoomState) {
        if let Some(old) = st.log.pop_front() {
            st.log_bytes -= old.frame.len();
            self.buffered.fetch_sub(old.frame.len(), Ordering::Relaxed);
            st.evicted_upto = old.seq;
        }
    }

    /// Keeps every log together under `--max-buffered-bytes`: once the total is past
    /// it, the largest logs give up their oldest events, leveled down together, until
    /// the total is an eighth under the budget (so this runs once per eighth of the
    /// budget appended, not on every message). Each log keeps its newest event.
    ///
    /// Call with no room locked (it locks each room in turn).
    fn trim_to_budget(&self) {
        let Some(budget) = self.log.total else { return };
        if self.buffered.load(Ordering::Relaxed) <= budget {
            return;
        }
        let Ok(_one_at_a_time) = self.trimming.try_lock() else {
            return;
        };
        let rooms: Vec<Arc<Room>> = lock(&self.rooms).values().cloned().collect();
        let mut sizes: Vec<(usize, Arc<Room>)> = rooms
            .into_iter()
            .map(|room| {
                let size = lock(&room.state).log_bytes;
                (size, room)
            })
            .collect();
        sizes.sort_unstable_by_key(|(size, _)| std::cmp::Reverse(*size));
        let target = budget - budget / 8;
        let excess = self.buffered.load(Ordering::Relaxed).saturating_sub(target);
        let level = level_for(sizes.iter().map(|(size, _)| *size), excess);
        for (size, room) in sizes {
            if size <= level {
                break;
            }
            let mut st = lock(&room.state);
            while st.log_bytes > level && st.log.len() > 1 {
                self.evict_oldest(&mut st);
            }
        }
    }

    /// Ends `member`'s place for good and emits its `Left { reason }`. Call with the
    /// room locked.
    fn remove(
        &self,
        room: &Room,
        st: &mut RoomState,
        member: MemberId,
        reason: LeaveReason,
    ) -> StoreResult<()> {
        if !st.has(member) {
            return Err(ErrorCode::UnknownMember);
        }
        st.places.retain(|p| p.member != member);
        self.emit(room, st, Event::Left { member, reason });
        self.succeed(room, st);
        st.note_presence(Instant::now());
        room.wake.notify_one();
        Ok(())
    }

    /// Ends a kicked member's place and closes its connections. Call with the room
    /// locked.
    fn kick_out(&self, room: &Room, st: &mut RoomState, member: MemberId) -> StoreResult<()> {
        self.remove(room, st, member, LeaveReason::Kicked)?;
        self.fanout.signal(
            room.id,
            Signal::MemberClosed {
                member,
                reason: CloseReason::Kicked,
            },
        );
        Ok(())
    }

    /// The relay's own succession (PROTOCOL.md §7.6): once the seat's member has no
    /// place any more, the seat goes to the member holding a place the longest, which
    /// alone may claim it. Call with the room locked, after a place ended.
    fn succeed(&self, room: &Room, st: &mut RoomState) {
        if st.has(st.host) {
            return;
        }
        let Some(heir) = st.places.first().map(|p| p.member) else {
            return;
        };
        st.host_hash = None;
        st.host = heir;
        self.emit(room, st, Event::HostChanged { host: heir });
    }

    /// Deletes the room: nothing of it stays, and every connection is told why.
    fn close(&self, room: &Room, st: &mut RoomState, ending: Ending) {
        st.closed = true;
        st.places.clear();
        st.log.clear();
        self.buffered.fetch_sub(st.log_bytes, Ordering::Relaxed);
        st.log_bytes = 0;
        lock(&self.rooms).remove(&room.id);
        lock(&self.plates).retain(|_, p| p.room != room.id);
        let reason = match ending {
            Ending::Close(reason) => reason,
            // Nobody is connected; a connection caught mid-join hears the nearest reason.
            Ending::Abandoned => CloseReason::IdleTimeout,
        };
        self.fanout.signal(room.id, Signal::RoomClosed(reason));
        room.wake.notify_one();
    }

    /// Ends whatever is due at `now`.
    fn expire(&self, room: &Room, now: Instant, grace: Duration) {
        let mut st = lock(&room.state);
        if st.closed {
            return;
        }
        let limits = st.limits;
        if now >= st.created + secs(limits.max_lifetime_secs) {
            return self.close(room, &mut st, Ending::Close(CloseReason::MaxLifetime));
        }
        if now >= st.last_activity + secs(limits.idle_timeout_secs) {
            return self.close(room, &mut st, Ending::Close(CloseReason::IdleTimeout));
        }
        let mut gone = Vec::new();
        st.places.retain(|p| match p.disconnected_at {
            Some(at) if now >= at + grace => {
                gone.push(p.member);
                false
            }
            _ => true,
        });
        for member in gone {
            self.emit(
                room,
                &mut st,
                Event::Left {
                    member,
                    reason: LeaveReason::Disconnected,
                },
            );
        }
        self.succeed(room, &mut st);
        if st.empty_since.is_some_and(|at| now >= at + grace) {
            self.close(room, &mut st, Ending::Abandoned);
        }
    }
}

/// A joiner's request on a room that is gone: its codes went with it.
fn unknown_if_gone<T>(answer: CodeResult<T>) -> CodeResult<T> {
    match answer {
        Err(ErrorCode::UnknownRoom) => Ok(Err(CodeRefusal::Unknown)),
        other => other,
    }
}

impl Inner {
    /// Hands a short-code message to the member's connection. Call with the room locked.
    fn to_member(&self, room: &Room, member: MemberId, session: SessionId, frame: &bytes::Bytes) {
        let signal = Signal::Code {
            member,
            session,
            frame,
        };
        self.fanout.signal(room.id, signal);
    }
}

fn secs(s: u32) -> Duration {
    Duration::from_secs(u64::from(s))
}

impl RoomState {
    /// Whether a code's member can answer a joiner now (connected on `session`).
    fn code_member(&mut self, member: MemberId, session: SessionId) -> Result<(), CodeRefusal> {
        let place = self
            .place(member)
            .map(|p| (p.session.0, p.disconnected_at.is_none()));
        codes::member_state(place, session.0)
    }

    fn place(&mut self, member: MemberId) -> Option<&mut Place> {
        self.places.iter_mut().find(|p| p.member == member)
    }

    fn has(&self, member: MemberId) -> bool {
        self.places.iter().any(|p| p.member == member)
    }

    /// Checks that the sender of a message or a chunk, and its one recipient if any,
    /// hold places, and restarts the idle timer: the room is in use. The idle deadline
    /// only moves later, so the timer needs no wake-up: it finds the new deadline when
    /// its old one passes.
    fn relay_from(&mut self, from: MemberId, to: Option<MemberId>) -> StoreResult<()> {
        if !self.has(from) || to.is_some_and(|to| !self.has(to)) {
            return Err(ErrorCode::UnknownMember);
        }
        self.last_activity = Instant::now();
        Ok(())
    }

    /// Starts the room's grace when its last connected member went away.
    fn note_presence(&mut self, now: Instant) {
        let connected = self.places.iter().any(|p| p.disconnected_at.is_none());
        if connected {
            self.empty_since = None;
        } else if self.empty_since.is_none() {
            self.empty_since = Some(now);
        }
    }

    fn next_deadline(&self, grace: Duration) -> Instant {
        let mut next = (self.created + secs(self.limits.max_lifetime_secs))
            .min(self.last_activity + secs(self.limits.idle_timeout_secs));
        for at in self.places.iter().filter_map(|p| p.disconnected_at) {
            next = next.min(at + grace);
        }
        if let Some(at) = self.empty_since {
            next = next.min(at + grace);
        }
        next
    }

    fn replay(&self, member: MemberId, after: u64, upto: u64) -> Replay {
        let gap = (after < self.evicted_upto).then_some((after + 1, self.evicted_upto));
        let events = self
            .log
            .iter()
            .filter(|e| e.seq > after && e.seq <= upto && e.visible_to(member))
            .cloned()
            .collect();
        Replay { gap, events, upto }
    }

    fn welcome(&self, you: MemberId, token: ResumeToken, seq: u64, resumed: bool) -> Welcome {
        Welcome {
            you,
            token: ResumeTokenDebug(token),
            host: self.host,
            members: self.places.iter().map(|p| p.member).collect(),
            seq,
            locked: self.locked,
            limits: self.limits,
            resumed,
            replay: Replay::default(),
        }
    }

    /// Whether `member` holds a place as a moderator.
    fn is_moderator(&self, member: MemberId) -> bool {
        self.places
            .iter()
            .any(|p| p.member == member && p.moderator)
    }

    /// A moderator's kick of `member`: `by` is a moderator, and `member` neither the
    /// host seat's member nor a moderator.
    fn check_moderator_kick(&self, by: MemberId, member: MemberId) -> StoreResult<()> {
        if !self.is_moderator(by) || member == self.host || self.is_moderator(member) {
            return Err(ErrorCode::BadHostSecret);
        }
        Ok(())
    }

    fn check_host(&self, secret: &HostSecret) -> StoreResult<()> {
        if self.host_hash.is_some_and(|hash| hash.verify(secret)) {
            Ok(())
        } else {
            Err(ErrorCode::BadHostSecret)
        }
    }
}

async fn run_timer(inner: Weak<Inner>, room: Arc<Room>, grace: Duration) {
    loop {
        let deadline = {
            let st = lock(&room.state);
            if st.closed {
                return;
            }
            st.next_deadline(grace)
        };
        tokio::select! {
            () = tokio::time::sleep_until(deadline) => {}
            () = room.wake.notified() => continue,
        }
        let Some(inner) = inner.upgrade() else { return };
        inner.expire(&room, Instant::now(), grace);
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        for room in lock(&self.rooms).values() {
            if let Some(timer) = lock(&room.timer).take() {
                timer.abort();
            }
        }
    }
}

impl Store for MemoryStore {
    async fn create(&self, req: CreateRoom) -> StoreResult<Welcome> {
        let now = Instant::now();
        let room = Arc::new(Room {
            id: req.room,
            state: Mutex::new(RoomState {
                closed: false,
                host_hash: Some(req.host),
                host: req.newcomer.member,
                limits: req.limits,
                locked: false,
                join_proof: None,
                cap: None,
                seq: 0,
                places: vec![Place {
                    member: req.newcomer.member,
                    token: req.newcomer.token,
                    session: req.session,
                    disconnected_at: None,
                    moderator: false,
                }],
                log: VecDeque::new(),
                log_bytes: 0,
                evicted_upto: 0,
                created: now,
                last_activity: now,
                empty_since: None,
            }),
            wake: Notify::new(),
            timer: Mutex::new(None),
        });
        let welcome = {
            let mut st = lock(&room.state);
            {
                let mut rooms = lock(&self.inner.rooms);
                if rooms.contains_key(&req.room) {
                    return Err(ErrorCode::RoomExists);
                }
                if rooms.len() >= self.inner.max_rooms {
                    return Err(ErrorCode::Unavailable);
                }
                rooms.insert(req.room, room.clone());
            }
            let member = req.newcomer.member;
            self.inner.emit(&room, &mut st, Event::Joined { member });
            st.welcome(member, req.newcomer.token, 0, false)
        };
        let timer = tokio::spawn(run_timer(
            Arc::downgrade(&self.inner),
            room.clone(),
            self.inner.grace,
        ));
        *lock(&room.timer) = Some(timer.abort_handle());
        Ok(welcome)
    }

    async fn join(&self, req: JoinRoom) -> StoreResult<Welcome> {
        self.with_room(req.room, |inner, room, st| {
            let now = Instant::now();
            let welcome = if let Some(resume) = req.resume {
                let place = st
                    .place(resume.member)
                    .filter(|p| p.token.matches(&resume.token))
                    .ok_or(ErrorCode::ResumeRefused)?;
                place.session = req.session;
                place.disconnected_at = None;
                st.note_presence(now);
                let mut welcome = st.welcome(resume.member, resume.token, st.seq, true);
                if let Some(after) = req.after {
                    welcome.replay = st.replay(welcome.you, after, welcome.seq);
                }
                welcome
            } else {
                let stored = st.join_proof.as_ref().map(|(proof, _)| proof);
                if !super::rotate::admits(stored, req.proof.as_ref()) {
                    return Err(ErrorCode::InviteChanged);
                }
                if st.locked {
                    return Err(ErrorCode::Locked);
                }
                let max = st.cap.unwrap_or(st.limits.max_members);
                if st.places.len() >= max.min(st.limits.max_members) as usize {
                    return Err(ErrorCode::Full);
                }
                let member = req.newcomer.member;
                if st.has(member) {
                    // Two random 64-bit ids collided; the client simply tries again.
                    return Err(ErrorCode::Unavailable);
                }
                st.places.push(Place {
                    member,
                    token: req.newcomer.token,
                    session: req.session,
                    disconnected_at: None,
                    moderator: false,
                });
                st.note_presence(now);
                // The catch-up is taken before the member's own `Joined`, which could
                // push the oldest wanted event out of the log.
                let replay = match req.after {
                    Some(after) => st.replay(member, after, st.seq),
                    None => Replay::default(),
                };
                let before = st.seq;
                inner.emit(room, st, Event::Joined { member });
                Welcome {
                    replay,
                    ..st.welcome(member, req.newcomer.token, before, false)
                }
            };
            Ok(welcome)
        })
    }

    async fn publish(
        &self,
        room: RoomId,
        from: MemberId,
        to: Option<MemberId>,
        payload: &[u8],
    ) -> StoreResult<()> {
        self.with_room(room, |inner, room, st| {
            st.relay_from(from, to)?;
            inner.emit(room, st, Event::Message { from, to, payload });
            Ok(())
        })?;
        self.inner.trim_to_budget();
        Ok(())
    }

    async fn stream(&self, room: RoomId, packet: Streamed) -> StoreResult<()> {
        self.with_room(room, |inner, room, st| {
            st.relay_from(packet.from, packet.to)?;
            inner.fanout.signal(room.id, Signal::Stream(&packet));
            Ok(())
        })
    }

    async fn replay(&self, room: RoomId, member: MemberId, after: u64) -> StoreResult<Replay> {
        self.with_room(room, |_, _, st| {
            if !st.has(member) {
                return Err(ErrorCode::UnknownMember);
            }
            Ok(st.replay(member, after, st.seq))
        })
    }

    async fn lock(&self, room: RoomId, secret: &HostSecret, locked: bool) -> StoreResult<()> {
        self.with_room(room, |inner, room, st| {
            st.check_host(secret)?;
            st.locked = locked;
            inner.emit(room, st, Event::Locked { locked });
            Ok(())
        })
    }

    async fn rotate(
        &self,
        room: RoomId,
        secret: &HostSecret,
        proof: JoinProofHash,
        renewal: u32,
    ) -> StoreResult<()> {
        self.with_room(room, |_, _, st| {
            st.check_host(secret)?;
            st.join_proof = Some((proof, renewal));
            Ok(())
        })
    }

    async fn kick(&self, room: RoomId, secret: &HostSecret, member: MemberId) -> StoreResult<()> {
        self.with_room(room, |inner, room, st| {
            st.check_host(secret)?;
            inner.kick_out(room, st, member)
        })
    }

    async fn set_moderator(
        &self,
        room: RoomId,
        secret: &HostSecret,
        member: MemberId,
        on: bool,
    ) -> StoreResult<()> {
        self.with_room(room, |_, _, st| {
            st.check_host(secret)?;
            let place = st.place(member).ok_or(ErrorCode::UnknownMember)?;
            place.moderator = on;
            Ok(())
        })
    }

    async fn moderator_kick(
        &self,
        room: RoomId,
        by: MemberId,
        member: MemberId,
        proof: JoinProofHash,
        renewal: u32,
    ) -> StoreResult<()> {
        self.with_room(room, |inner, room, st| {
            st.check_moderator_kick(by, member)?;
            if !st.has(member) {
                return Err(ErrorCode::UnknownMember);
            }
            if super::rotate::newer(st.join_proof.as_ref().map(|(_, n)| *n), renewal) {
                st.join_proof = Some((proof, renewal));
            }
            inner.kick_out(room, st, member)
        })
    }

    async fn moderator_lock(&self, room: RoomId, by: MemberId, locked: bool) -> StoreResult<()> {
        self.with_room(room, |inner, room, st| {
            if !st.is_moderator(by) {
                return Err(ErrorCode::BadHostSecret);
            }
            st.locked = locked;
            inner.emit(room, st, Event::Locked { locked });
            Ok(())
        })
    }

    async fn terminate(&self, room: RoomId, secret: &HostSecret) -> StoreResult<()> {
        self.with_room(room, |inner, room, st| {
            st.check_host(secret)?;
            inner.close(room, st, Ending::Close(CloseReason::Terminated));
            Ok(())
        })
    }

    async fn hand_over(&self, room: RoomId, secret: &HostSecret, to: MemberId) -> StoreResult<()> {
        self.with_room(room, |inner, room, st| {
            st.check_host(secret)?;
            if !st.has(to) {
                return Err(ErrorCode::UnknownMember);
            }
            st.host_hash = None;
            st.host = to;
            inner.emit(room, st, Event::HostChanged { host: to });
            Ok(())
        })
    }

    async fn set_cap(
        &self,
        room: RoomId,
        secret: &HostSecret,
        max_members: u32,
    ) -> StoreResult<()> {
        self.with_room(room, |_, _, st| {
            st.check_host(secret)?;
            st.cap = (max_members > 0).then(|| max_members.min(st.limits.max_members));
            Ok(())
        })
    }

    async fn claim_host(&self, room: RoomId, member: MemberId, host: HostHash) -> StoreResult<()> {
        self.with_room(room, |_, _, st| {
            if !st.has(member) {
                return Err(ErrorCode::UnknownMember);
            }
            // Only the member the seat was handed to (or passed to by the relay's own
            // succession) claims it, once; the same claim again is a no-op.
            if st.host != member || st.host_hash.is_some_and(|hash| hash.0 != host.0) {
                return Err(ErrorCode::BadHostSecret);
            }
            st.host_hash = Some(host);
            Ok(())
        })
    }

    async fn leave(&self, room: RoomId, member: MemberId) -> StoreResult<()> {
        self.with_room(room, |inner, room, st| {
            inner.remove(room, st, member, LeaveReason::Left)
        })
    }

    async fn disconnect(
        &self,
        room: RoomId,
        member: MemberId,
        session: SessionId,
    ) -> StoreResult<()> {
        self.with_room(room, |_, room, st| {
            let now = Instant::now();
            match st.place(member) {
                Some(p) if p.session == session && p.disconnected_at.is_none() => {
                    p.disconnected_at = Some(now);
                }
                // The member resumed on a newer connection, or is already gone.
                _ => return Ok(()),
            }
            st.note_presence(now);
            room.wake.notify_one();
            Ok(())
        })
    }

    async fn code_offer(
        &self,
        room: RoomId,
        member: MemberId,
        session: SessionId,
    ) -> CodeResult<Nameplate> {
        let caps = self.inner.code_caps;
        self.with_room(room, |inner, room, st| {
            if !st.has(member) {
                return Err(ErrorCode::UnknownMember);
            }
            let now = Instant::now();
            let mut plates = lock(&inner.plates);
            plates.retain(|_, p| !p.forgotten(now, &caps));
            let live = plates
                .values()
                .filter(|p| p.room == room.id && p.refusal(now).is_none())
                .count();
            if live >= caps.per_room as usize {
                return Ok(Err(CodeRefusal::TooMany));
            }
            let Some(number) = codes::candidates().find(|n| !plates.contains_key(n)) else {
                return Err(ErrorCode::Unavailable);
            };
            plates.insert(
                number,
                Plate {
                    room: room.id,
                    member,
                    session,
                    expires: now + caps.ttl,
                    burned: false,
                    exchanges: Vec::new(),
                },
            );
            Ok(Ok(caps.handed(number)))
        })
    }

    async fn code_end(
        &self,
        room: RoomId,
        member: MemberId,
        nameplate: u32,
        burn: bool,
    ) -> StoreResult<()> {
        let mut plates = lock(&self.inner.plates);
        let mine = plates
            .get(&nameplate)
            .is_some_and(|p| p.room == room && p.member == member);
        if mine {
            if burn {
                if let Some(p) = plates.get_mut(&nameplate) {
                    p.burned = true;
                }
            } else {
                plates.remove(&nameplate);
            }
        }
        Ok(())
    }

    async fn code_open(&self, nameplate: u32, exchange: u64, hello: &[u8]) -> CodeResult<RoomId> {
        let now = Instant::now();
        let caps = self.inner.code_caps;
        let (room, member, session) = {
            let plates = lock(&self.inner.plates);
            let Some(p) = plates.get(&nameplate) else {
                return Ok(Err(CodeRefusal::Unknown));
            };
            if let Some(refusal) = p.refusal(now) {
                return Ok(Err(refusal));
            }
            if p.exchanges.len() >= caps.exchanges as usize {
                return Ok(Err(CodeRefusal::Burned));
            }
            (p.room, p.member, p.session)
        };
        let frame = codes::message(exchange, nameplate, hello);
        let answer = self.with_room(room, |inner, r, st| {
            if let Err(refusal) = st.code_member(member, session) {
                return Ok(Err(refusal));
            }
            let mut plates = lock(&inner.plates);
            let Some(p) = plates.get_mut(&nameplate).filter(|p| p.room == room) else {
                return Ok(Err(CodeRefusal::Unknown));
            };
            if let Some(refusal) = p.refusal(now) {
                return Ok(Err(refusal));
            }
            if p.exchanges.len() >= caps.exchanges as usize {
                return Ok(Err(CodeRefusal::Burned));
            }
            p.exchanges.push(exchange);
            inner.to_member(r, member, session, &frame);
            Ok(Ok(room))
        });
        unknown_if_gone(answer)
    }

    async fn code_to_member(
        &self,
        room: RoomId,
        nameplate: u32,
        exchange: u64,
        payload: &[u8],
    ) -> CodeResult<()> {
        let now = Instant::now();
        let found = lock(&self.inner.plates)
            .get(&nameplate)
            .filter(|p| p.room == room && p.exchanges.contains(&exchange))
            .map(|p| (p.member, p.session, p.refusal(now)));
        let Some((member, session, refusal)) = found else {
            return Ok(Err(CodeRefusal::Unknown));
        };
        if let Some(refusal) = refusal {
            return Ok(Err(refusal));
        }
        let frame = codes::message(exchange, nameplate, payload);
        let answer = self.with_room(room, |inner, r, st| {
            if let Err(refusal) = st.code_member(member, session) {
                return Ok(Err(refusal));
            }
            inner.to_member(r, member, session, &frame);
            Ok(Ok(()))
        });
        unknown_if_gone(answer)
    }

    async fn code_to_joiner(
        &self,
        room: RoomId,
        member: MemberId,
        exchange: u64,
        payload: &[u8],
    ) -> StoreResult<()> {
        let nameplate = lock(&self.inner.plates)
            .iter()
            .find(|(_, p)| p.room == room && p.member == member && p.exchanges.contains(&exchange))
            .map(|(n, _)| *n);
        if let Some(nameplate) = nameplate {
            let frame = codes::message(exchange, nameplate, payload);
            self.inner.fanout.to_joiner(exchange, frame);
        }
        Ok(())
    }

    fn room_count(&self) -> usize {
        lock(&self.inner.rooms).len()
    }

    fn buffered_bytes(&self) -> Option<usize> {
        Some(self.inner.buffered.load(Ordering::Relaxed))
    }
}

/// The size every log larger than it must shrink to so that, `sizes` being the logs'
/// sizes largest first, `excess` bytes go in all: the largest logs are leveled down
/// together.
fn level_for(sizes: impl Iterator<Item = usize>, excess: usize) -> usize {
    if excess == 0 {
        return usize::MAX;
    }
    let sizes: Vec<usize> = sizes.collect();
    let mut above = 0usize;
    for (k, &size) in sizes.iter().enumerate() {
        // Leveling the k largest down to `size` frees `above - k * size`.
        if above - k * size >= excess {
            return (above - excess) / k;
        }
        above += size;
    }
    let k = sizes.len().max(1);
    above.saturating_sub(excess) / k
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn the_largest_logs_are_leveled_down_first() {
        use super::level_for;
        // 100 + 60 + 10: freeing 30 takes the largest down to 70 only.
        assert_eq!(level_for([100, 60, 10].into_iter(), 30), 70);
        // Freeing 50: 45 from the largest and 5 from the next, both at 55.
        assert_eq!(level_for([100, 60, 10].into_iter(), 50), 55);
        // Freeing 70: both large ones down to 45.
        assert_eq!(level_for([100, 60, 10].into_iter(), 70), 45);
        // Freeing everything but 30: all three down to 10.
        assert_eq!(level_for([100, 60, 10].into_iter(), 140), 10);
        assert_eq!(
            level_for([100].into_iter(), 0),
            usize::MAX,
            "nothing to free"
        );
        assert_eq!(level_for(std::iter::empty(), 10), 0);
    }

    store_suite!(true, |config: Config, fanout| async move {
        super::MemoryStore::new(&config, fanout)
    });
}
