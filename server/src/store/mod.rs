//! The store: where rooms, their members, their sequence counter and their buffer of
//! recent ciphertext live, and what deletes them.
//!
//! The relay talks to rooms only through the [`Store`] trait. One implementation lives in
//! this process ([`MemoryStore`], the default); another may live in a shared database so
//! that several relay instances serve one room. Both must pass the behaviour suite in
//! `store/tests.rs`.
//!
//! # Division of labour
//! - The **store** decides: it checks host secrets, caps and locks, stamps every event with
//!   the room's next sequence number, keeps the bounded log, runs the timers (idle
//!   timeout, maximum lifetime, grace) and deletes rooms.
//! - The **relay** delivers: it keeps, per instance, a registry of the local connections
//!   of each room (`hub.rs`). The store hands each sequenced event to that registry
//!   **once per instance** through the [`Fanout`] it was given, and the registry copies a
//!   reference to the same encoded bytes into every recipient's queue.
//!
//! # Ordering contract
//! For one room, the store calls [`Fanout::signal`] in ascending `seq` order, and never
//! concurrently for the same room. A store may hand over an event the relay already
//! replayed to a joining connection: the relay drops any event whose `seq` a connection
//! has already been given (by its `Welcome` or its catch-up), so a store need not avoid
//! that race; it must never skip one.
//!
//! # Identities
//! The relay picks a random [`MemberId`], [`ResumeToken`] and [`SessionId`] before it calls
//! [`Store::create`] or [`Store::join`], so it can register the connection for delivery
//! before the store can emit the member's first event.

use std::future::Future;

use bytes::Bytes;
use vroom_shared::wire::{
    CloseReason, ErrorCode, Event, HostHash, HostSecret, JoinProofHash, MemberId, Resume,
    ResumeToken, ResumeTokenDebug, RoomId, RoomLimits, ServerFrame,
};

// Declared first: its `store_suite!` macro must be in scope for the backends' tests.
#[cfg(test)]
#[macro_use]
pub(crate) mod tests;

pub mod codes;
mod memory;
mod rotate;
pub use codes::{CodeResult, Nameplate};
pub use memory::MemoryStore;
pub mod redis;
pub use self::redis::{RedisStore, RedisTarget, RedisUrlError};

use crate::config::Config;

/// What a store operation answers on failure: the wire's error code, which the relay sends
/// to the client as it is. `Unavailable` means the store itself could not be reached.
pub type StoreResult<T> = Result<T, ErrorCode>;

/// Identifies one WebSocket connection of a member, so a late "disconnected" report from
/// an old connection cannot undo a member's newer resumption on another connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SessionId(pub u64);

/// An event the store has sequenced, ready to deliver.
#[derive(Clone, Debug)]
pub struct Sequenced {
    /// The room's sequence number of this event.
    pub seq: u64,
    /// `Some` for a directed message: only this member receives it (and only this member
    /// gets it on catch-up). `None`: every member.
    pub to: Option<MemberId>,
    /// The encoded [`ServerFrame::Event`], made once and shared (by reference count) by
    /// every recipient's queue and the catch-up log.
    pub frame: Bytes,
}

impl Sequenced {
    /// Stamps and encodes an event: the one encoding of a relayed message.
    pub fn encode(seq: u64, event: Event<'_>) -> Sequenced {
        let to = match &event {
            Event::Message { to, .. } => *to,
            _ => None,
        };
        let frame = Bytes::from(ServerFrame::Event { seq, event }.encode());
        Sequenced { seq, to, frame }
    }

    /// Whether `member` may see this event.
    pub fn visible_to(&self, member: MemberId) -> bool {
        self.to.is_none_or(|to| to == member)
    }
}

/// A packet of the chunk lane, ready to deliver: not sequenced, not logged.
#[derive(Clone, Debug)]
pub struct Streamed {
    /// The sender (never delivered its own packet).
    pub from: MemberId,
    /// `Some`: only this member receives it. `None`: every member but the sender.
    pub to: Option<MemberId>,
    /// The encoded [`ServerFrame::Stream`], shared by every recipient's queue.
    pub frame: Bytes,
}

impl Streamed {
    /// Encodes a packet from `from`: the one encoding of a relayed chunk.
    pub fn encode(from: MemberId, to: Option<MemberId>, payload: &[u8]) -> Streamed {
        let frame = Bytes::from(ServerFrame::Stream { from, to, payload }.encode());
        Streamed { from, to, frame }
    }

    /// Whether `member` receives this packet.
    pub fn visible_to(&self, member: MemberId) -> bool {
        member != self.from && self.to.is_none_or(|to| to == member)
    }
}

/// How much of each room's recent events a store keeps for catch-up (`--buffer`,
/// `--buffer-bytes`): the oldest go first, and the newest always stays.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LogCaps {
    /// Events, at least one.
    pub(crate) events: usize,
    /// Bytes of encoded events.
    pub(crate) bytes: usize,
    /// Bytes of every room's log together, for a store that keeps them in this
    /// process (`--max-buffered-bytes`).
    pub(crate) total: Option<usize>,
}

impl LogCaps {
    pub(crate) fn new(config: &Config) -> LogCaps {
        LogCaps {
            events: config.buffer.max(1),
            bytes: config.buffer_bytes,
            total: Some(config.max_buffered_bytes),
        }
    }
}

/// Something a store tells the relay instance about a room it has local connections in.
#[derive(Debug)]
pub enum Signal<'a> {
    /// A sequenced event for the room's members (or only for `to`).
    Event(&'a Sequenced),
    /// One member's place ended (the host kicked it): close its connections with this
    /// reason. Comes after the member's `Left` event.
    MemberClosed {
        member: MemberId,
        reason: CloseReason,
    },
    /// The room and everything about it is deleted: tell every connection why and close.
    RoomClosed(CloseReason),
    /// A chunk-lane packet for the room's members (or only for `to`), never the sender.
    /// Unordered with respect to events; a recipient whose lane is full misses it.
    Stream(&'a Streamed),
    /// A short-code exchange's message (an encoded `ServerFrame::CodeMessage`) for the
    /// member who offered the code, on its connection `session` only. Unsequenced.
    Code {
        member: MemberId,
        session: SessionId,
        frame: &'a Bytes,
    },
}

/// The relay instance's delivery side, handed to the store at construction.
///
/// Called with the store's internal locks possibly held: an implementation must not
/// block, await or call back into the store.
pub trait Fanout: Send + Sync + 'static {
    /// Delivers `signal` for `room` to this instance's local connections.
    fn signal(&self, room: RoomId, signal: Signal<'_>);

    /// Delivers a short-code exchange's message (an encoded `ServerFrame::CodeMessage`)
    /// to the joiner's connection that opened `exchange`, if it is on this instance.
    fn to_joiner(&self, exchange: u64, frame: Bytes) {
        let _ = (exchange, frame);
    }
}

/// A new member's identity, chosen by the relay.
#[derive(Clone, Copy)]
pub struct Newcomer {
    /// The member id it will have.
    pub member: MemberId,
    /// The token that lets it resume that id later.
    pub token: ResumeToken,
}

/// A request to create a room and join it as its host.
pub struct CreateRoom {
    /// The room id the client derived from its secret.
    pub room: RoomId,
    /// Hash of the host secret; host requests must present the secret.
    pub host: HostHash,
    /// Limits in force, already capped by the relay's configuration.
    pub limits: RoomLimits,
    /// The creator's identity.
    pub newcomer: Newcomer,
    /// The creator's connection.
    pub session: SessionId,
}

/// A request to join a room.
pub struct JoinRoom {
    /// The room to join.
    pub room: RoomId,
    /// A claim to an earlier place: refused with `ResumeRefused` unless that place still
    /// exists and the token matches; no `Joined` event when it succeeds.
    pub resume: Option<Resume>,
    /// The identity a fresh member gets (ignored when `resume` succeeds).
    pub newcomer: Newcomer,
    /// Replay buffered events after this sequence number in the answer.
    pub after: Option<u64>,
    /// The joining connection.
    pub session: SessionId,
    /// The hash of the join proof the newcomer showed (`JoinProved`), if any: once the
    /// host renewed the room's invitation ([`Store::rotate`]), a newcomer without the
    /// current one is refused with `InviteChanged` (a resume is not asked for it).
    pub proof: Option<JoinProofHash>,
}

/// What a successful create or join answers: the content of the `Welcome` frame, and
/// the catch-up the joiner asked for.
#[derive(Debug)]
pub struct Welcome {
    /// The member's id (the resumed one, or the newcomer's).
    pub you: MemberId,
    /// Its resume token (printed without its bytes).
    pub token: ResumeTokenDebug,
    /// The host's member id.
    pub host: MemberId,
    /// Every member holding a place, `you` included.
    pub members: Vec<MemberId>,
    /// Sequence number of the last event before this member's own `Joined` (or, on a
    /// resume, the last event so far). Live delivery starts after it.
    pub seq: u64,
    /// Whether the room takes no new members.
    pub locked: bool,
    /// The room's limits.
    pub limits: RoomLimits,
    /// Whether an earlier place was taken back.
    pub resumed: bool,
    /// Buffered events after the requested `after`, up to `seq` (empty without `after`).
    pub replay: Replay,
}

/// Buffered events from the catch-up log.
#[derive(Debug, Default)]
pub struct Replay {
    /// Events `from..=to` were asked for but have left the buffer.
    pub gap: Option<(u64, u64)>,
    /// The buffered events visible to the member, ascending.
    pub events: Vec<Sequenced>,
    /// The room's latest sequence number when the replay was taken.
    pub upto: u64,
}

/// The room store. Cloning gives another handle to the same store.
///
/// Every method is one atomic step for the room it names. Each returns
/// `Err(ErrorCode::UnknownRoom)` when the room does not exist (never existed, or was
/// deleted), and `Err(ErrorCode::Unavailable)` when the store cannot be reached.
pub trait Store: Clone + Send + Sync + 'static {
    /// Creates a room whose first member, the creator, becomes the host, and emits its
    /// `Joined` event. `RoomExists` when the id is taken; `Unavailable` when the store
    /// holds as many rooms as it may.
    fn create(&self, req: CreateRoom) -> impl Future<Output = StoreResult<Welcome>> + Send;

    /// Adds a member (emitting `Joined`), or gives a member its place back (`resume`,
    /// no event). Refusals: `Locked`, `Full`, `ResumeRefused`.
    fn join(&self, req: JoinRoom) -> impl Future<Output = StoreResult<Welcome>> + Send;

    /// Sequences a message from `from` to everyone (`to: None`) or to one member,
    /// appends it to the log, delivers it and restarts the idle timer. `UnknownMember`
    /// when `from` has no place any more or `to` is not in the room.
    fn publish(
        &self,
        room: RoomId,
        from: MemberId,
        to: Option<MemberId>,
        payload: &[u8],
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Relays a chunk-lane packet (encoded once by the relay, see [`Streamed::encode`])
    /// to every other member or to its one recipient, now: no sequence number, no log,
    /// so file chunks never push chat out of the catch-up buffer. It restarts the idle
    /// timer like a message, so a room in the middle of a long transfer does not idle
    /// out. A store that spans instances carries it to the others (the Redis store
    /// publishes it on the room's channel, without touching the log). `UnknownMember`
    /// when the sender or the recipient has no place in the room.
    fn stream(
        &self,
        room: RoomId,
        packet: Streamed,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Buffered events after `after` that `member` may see.
    fn replay(
        &self,
        room: RoomId,
        member: MemberId,
        after: u64,
    ) -> impl Future<Output = StoreResult<Replay>> + Send;

    /// Host: stops or allows new joins, emitting `Locked`. `BadHostSecret` on a wrong secret.
    fn lock(
        &self,
        room: RoomId,
        secret: &HostSecret,
        locked: bool,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Host: removes a member, emitting `Left { Kicked }` then signalling `MemberClosed`.
    /// `BadHostSecret`, `UnknownMember`.
    fn kick(
        &self,
        room: RoomId,
        secret: &HostSecret,
        member: MemberId,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Host: from now on admit newcomers only with the join proof whose hash is `proof`
    /// (PROTOCOL.md §11.4); the proof before it is refused. `renewal` is the number of
    /// the pass it belongs to: the host's word sets proof and number whatever number
    /// the room held (it replaces a moderator's). `BadHostSecret`.
    fn rotate(
        &self,
        room: RoomId,
        secret: &HostSecret,
        proof: JoinProofHash,
        renewal: u32,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Host: deletes the room now, signalling `RoomClosed(Terminated)`. `BadHostSecret`.
    fn terminate(
        &self,
        room: RoomId,
        secret: &HostSecret,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Host: gives the host seat to `to` (PROTOCOL.md §7.6): the presented secret stops
    /// working, the seat waits for `to`'s [`Store::claim_host`], and `HostChanged { to }`
    /// is emitted. `BadHostSecret`, `UnknownMember`.
    fn hand_over(
        &self,
        room: RoomId,
        secret: &HostSecret,
        to: MemberId,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Takes the host seat with the hash of a secret of the claimant's own: accepted
    /// only from the member the seat was handed to (by [`Store::hand_over`] or the
    /// relay's own succession: when the seat's member's place ends, the seat goes to the
    /// member holding a place the longest, with `HostChanged`), while it has no hash or
    /// the same one (a repeated claim is a no-op). `BadHostSecret` otherwise,
    /// `UnknownMember`.
    fn claim_host(
        &self,
        room: RoomId,
        member: MemberId,
        host: HostHash,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Host: the most members the room lets in from now on (0: no cap of the host's),
    /// never more than the room's limit in force; joins past it are refused with
    /// `Full`. `BadHostSecret` on a wrong secret.
    fn set_cap(
        &self,
        room: RoomId,
        secret: &HostSecret,
        max_members: u32,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Host: makes `member` a moderator (`on`) or takes that back (PROTOCOL.md §7.6):
    /// a moderator may kick and lock ([`Store::moderator_kick`],
    /// [`Store::moderator_lock`]) until its place ends. `BadHostSecret`, `UnknownMember`.
    fn set_moderator(
        &self,
        room: RoomId,
        secret: &HostSecret,
        member: MemberId,
        on: bool,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Moderator `by`: removes `member` as [`Store::kick`] does and, in the same atomic
    /// step, takes `proof` and its `renewal` number as the room's join proof (the
    /// kick's commit renewed the invitation, PROTOCOL.md §11.4), but only when
    /// `renewal` is above the number the room holds (0 for a room never renewed): a
    /// late kick of an older renewal leaves a newer proof in place. `BadHostSecret`
    /// when `by` is no moderator, or `member` is the host seat's member or a moderator;
    /// `UnknownMember`. A refused kick sets no proof.
    fn moderator_kick(
        &self,
        room: RoomId,
        by: MemberId,
        member: MemberId,
        proof: JoinProofHash,
        renewal: u32,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Moderator `by`: stops or allows new joins as [`Store::lock`] does.
    /// `BadHostSecret` when `by` is no moderator.
    fn moderator_lock(
        &self,
        room: RoomId,
        by: MemberId,
        locked: bool,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// The member leaves for good: its place ends now and `Left { Left }` is emitted.
    fn leave(&self, room: RoomId, member: MemberId)
        -> impl Future<Output = StoreResult<()>> + Send;

    /// The connection `session` of `member` dropped. The member keeps its place for the
    /// grace period (then `Left { Disconnected }`), unless it resumes; a report from a
    /// session the member has since replaced is ignored. When no member is connected
    /// any more, the room is deleted after the grace period unless someone comes back.
    fn disconnect(
        &self,
        room: RoomId,
        member: MemberId,
        session: SessionId,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Member: a new short-code nameplate for `room`, tied to `member`'s connection
    /// `session` (PROTOCOL.md §11.2). Refused with `TooMany` when the room has as many
    /// live nameplates as allowed; `UnknownMember` when `member` has no place.
    fn code_offer(
        &self,
        room: RoomId,
        member: MemberId,
        session: SessionId,
    ) -> impl Future<Output = CodeResult<Nameplate>> + Send;

    /// Member: ends its nameplate: revoked (joiners hear `Unknown`) or burned (joiners
    /// hear `Burned` until it would have expired). A nameplate of another member, or
    /// none, changes nothing.
    fn code_end(
        &self,
        room: RoomId,
        member: MemberId,
        nameplate: u32,
        burn: bool,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Joiner: opens exchange `exchange` (chosen by the relay, delivered through
    /// [`Fanout::to_joiner`] on this instance) on `nameplate`, and relays `hello` to
    /// the member who offered it. Answers the room, for the joiner's next messages.
    /// Refusals: `Unknown`, `Expired`, `Burned` (also when the nameplate carried as
    /// many exchanges as allowed), `Offline`.
    fn code_open(
        &self,
        nameplate: u32,
        exchange: u64,
        hello: &[u8],
    ) -> impl Future<Output = CodeResult<RoomId>> + Send;

    /// Joiner: relays the next message of `exchange` (opened on `nameplate`) to its
    /// member.
    fn code_to_member(
        &self,
        room: RoomId,
        nameplate: u32,
        exchange: u64,
        payload: &[u8],
    ) -> impl Future<Output = CodeResult<()>> + Send;

    /// Member: relays a message of `exchange` (on one of `member`'s nameplates) to its
    /// joiner. An exchange that is not this member's is dropped without an answer.
    fn code_to_joiner(
        &self,
        room: RoomId,
        member: MemberId,
        exchange: u64,
        payload: &[u8],
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// How many rooms exist (for metrics; a shared store may answer approximately).
    fn room_count(&self) -> usize;

    /// Bytes of ciphertext this process holds in room logs, for metrics; `None` for a
    /// store that keeps them elsewhere.
    fn buffered_bytes(&self) -> Option<usize> {
        None
    }

    /// Whether the store can be used now (for `/healthz`); if not, a sentence for the
    /// operator saying what is wrong. A store in this process always can.
    fn health(&self) -> impl Future<Output = Result<(), String>> + Send {
        std::future::ready(Ok(()))
    }
}
