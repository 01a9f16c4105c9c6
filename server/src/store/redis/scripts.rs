//! Typed calls of the store's Lua scripts: one request struct per script, whose fields
//! the script reads by the same names, and one reply type.
//!
//! # Arguments and replies
//! `KEYS` are the room's five keys (see [`keys`](super::keys)). `ARGV` holds name,
//! value, name, value…, which the prelude (`common.lua`) reads into the table `A`: the
//! names are the request struct's field names, so a script says `A.from` where Rust
//! set `from`. Numbers and ids travel as decimal text, durations as milliseconds,
//! flags as `1`/`0`, absent values as the empty string (see [`Arg`]).
//!
//! Every script answers a list whose first item is a status word: `ok` and the fields
//! of its reply, in the order its reply type reads them; or `err` and the name of a
//! refusal, mapped to an [`ErrorCode`] here; `tick` also answers `gone` or `ended`.

use std::sync::LazyLock;
use std::time::Duration;

use redis::{ErrorKind, RedisError, Script, ScriptInvocation, ServerErrorKind, Value};
use vroom_shared::wire::{
    ErrorCode, Event, HostHash, JoinProofHash, LeaveReason, MemberId, ResumeToken, RoomId,
    RoomLimits,
};

use super::{keys, Inner};
use crate::store::{Newcomer, SessionId, StoreResult};
use crate::sync::lock;

/// Declares script calls: for each, a request struct whose fields are the script's
/// named arguments (the field name is the name in `A`), and its [`Call`] impl.
macro_rules! calls {
    ($(
        $(#[doc = $doc:literal])*
        $name:ident $(<$lt:lifetime>)? ($file:literal) -> $reply:ty {
            $( $(#[doc = $field_doc:literal])* $field:ident: $ty:ty, )*
        }
    )*) => {$(
        $(#[doc = $doc])*
        pub(super) struct $name $(<$lt>)? {
            $( $(#[doc = $field_doc])* pub(super) $field: $ty, )*
        }

        impl $(<$lt>)? Call for $name $(<$lt>)? {
            type Reply = $reply;

            fn script() -> &'static Script {
                static SCRIPT: LazyLock<Script> = LazyLock::new(|| {
                    Script::new(concat!(include_str!("common.lua"), include_str!($file)))
                });
                &SCRIPT
            }

            fn args(&self, invocation: &mut ScriptInvocation<'_>) {
                $( Arg::put(&self.$field, stringify!($field), invocation); )*
            }
        }
    )*};
}

/// One script call: its script and its named arguments.
pub(super) trait Call {
    /// What a successful call answers.
    type Reply: Reply;
    /// The script to run: the shared prelude followed by the script's own body.
    fn script() -> &'static Script;
    /// Writes the call's arguments, each after its name.
    fn args(&self, invocation: &mut ScriptInvocation<'_>);
}

/// How long a script that meets `TRYAGAIN` is tried again, after the cluster client's
/// own tries, before the request is answered `Unavailable`. A Redis Cluster answers
/// `TRYAGAIN` while the keys of a room's slot are half moved to another master (the
/// room's keys straddle two `MIGRATE` batches): a moment, unless a batch is slow.
const TRY_AGAIN_FOR: Duration = Duration::from_secs(4);

/// The first wait before trying a script again after `TRYAGAIN`; it doubles each time,
/// up to [`TRY_AGAIN_MAX_WAIT`].
const TRY_AGAIN_FIRST_WAIT: Duration = Duration::from_millis(50);
const TRY_AGAIN_MAX_WAIT: Duration = Duration::from_millis(500);

fn is_try_again(err: &RedisError) -> bool {
    err.kind() == ErrorKind::Server(ServerErrorKind::TryAgain)
}

/// Runs `call` on `room`'s keys: one `EVALSHA` (the client loads the script again
/// after a Redis restart), one round trip; on a cluster, on the master that owns the
/// room's slot, tried again for up to [`TRY_AGAIN_FOR`] while the slot's keys are half
/// moved. Every script also gets `sharded` and `floor` (see `common.lua`).
pub(super) async fn call<C: Call>(inner: &Inner, room: RoomId, call: &C) -> StoreResult<C::Reply> {
    let mut invocation = C::script().prepare_invoke();
    for key in keys(room) {
        invocation.key(key);
    }
    call.args(&mut invocation);
    inner.conn.sharded().put("sharded", &mut invocation);
    let floor = lock(&inner.floors).get(&room).copied().unwrap_or(0);
    floor.put("floor", &mut invocation);
    let mut conn = inner.conn.clone();
    let started = tokio::time::Instant::now();
    let mut wait = TRY_AGAIN_FIRST_WAIT;
    let value: Value = loop {
        match invocation.invoke_async(&mut conn).await {
            Ok(value) => break value,
            Err(e) if is_try_again(&e) && started.elapsed() + wait <= TRY_AGAIN_FOR => {
                tracing::debug!("redis store: the room's slot is half moved; trying again");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(TRY_AGAIN_MAX_WAIT);
            }
            Err(e) => {
                inner.failed(&e);
                return Err(ErrorCode::Unavailable);
            }
        }
    };
    inner.answered();
    let Value::Array(items) = value else {
        return Err(bad_reply());
    };
    let mut fields = Fields(items.into_iter());
    let status = fields.text().ok_or_else(bad_reply)?;
    if status == "err" {
        return Err(refusal(fields.text().as_deref()));
    }
    C::Reply::read(&status, fields).ok_or_else(bad_reply)
}

/// The error code of a script's refusal.
fn refusal(name: Option<&str>) -> ErrorCode {
    match name {
        Some("unknown_room") => ErrorCode::UnknownRoom,
        Some("exists") => ErrorCode::RoomExists,
        Some("locked") => ErrorCode::Locked,
        Some("full") => ErrorCode::Full,
        Some("resume_refused") => ErrorCode::ResumeRefused,
        Some("invite_changed") => ErrorCode::InviteChanged,
        Some("bad_host") => ErrorCode::BadHostSecret,
        Some("unknown_member") => ErrorCode::UnknownMember,
        // `unavailable`: two random member ids collided; the client tries again.
        _ => ErrorCode::Unavailable,
    }
}

fn bad_reply() -> ErrorCode {
    tracing::error!("redis store: a script answered in an unexpected shape");
    ErrorCode::Unavailable
}

/// Something a script takes as one or more named arguments.
pub(super) trait Arg {
    /// Writes the argument(s) under `name`.
    fn put(&self, name: &'static str, invocation: &mut ScriptInvocation<'_>);
}

/// A value a script takes as one argument (see the module docs for the forms).
pub(super) trait Text {
    /// The value as the script reads it.
    fn text(&self) -> Vec<u8>;
}

impl<T: Text> Arg for T {
    fn put(&self, name: &'static str, invocation: &mut ScriptInvocation<'_>) {
        invocation.arg(name).arg(self.text());
    }
}

impl Text for u64 {
    fn text(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }
}

impl Text for u32 {
    fn text(&self) -> Vec<u8> {
        u64::from(*self).text()
    }
}

impl Text for usize {
    fn text(&self) -> Vec<u8> {
        (*self as u64).text()
    }
}

impl Text for bool {
    fn text(&self) -> Vec<u8> {
        if *self { b"1" } else { b"0" }.to_vec()
    }
}

impl Text for Duration {
    /// In milliseconds.
    fn text(&self) -> Vec<u8> {
        u64::try_from(self.as_millis()).unwrap_or(u64::MAX).text()
    }
}

impl Text for &[u8] {
    fn text(&self) -> Vec<u8> {
        self.to_vec()
    }
}

impl Text for MemberId {
    fn text(&self) -> Vec<u8> {
        self.0.text()
    }
}

impl Text for SessionId {
    fn text(&self) -> Vec<u8> {
        self.0.text()
    }
}

impl Text for &HostHash {
    fn text(&self) -> Vec<u8> {
        self.0.to_vec()
    }
}

impl Text for &JoinProofHash {
    fn text(&self) -> Vec<u8> {
        self.0.to_vec()
    }
}

impl Text for &ResumeToken {
    fn text(&self) -> Vec<u8> {
        self.0.to_vec()
    }
}

impl<T: Text> Text for Option<T> {
    /// The empty string for `None`.
    fn text(&self) -> Vec<u8> {
        self.as_ref().map(Text::text).unwrap_or_default()
    }
}

impl Text for &[(MemberId, SessionId)] {
    /// `<member>:<session>` pairs, space separated.
    fn text(&self) -> Vec<u8> {
        let pairs: Vec<String> = self
            .iter()
            .map(|(m, s)| format!("{}:{}", m.0, s.0))
            .collect();
        pairs.join(" ").into_bytes()
    }
}

/// A member taking a new place, in `create.lua` and `join.lua`: the arguments
/// `member`, `session`, `token`, `joined`, `left`, `hosted` and `presence`.
pub(super) struct Arrival<'a> {
    /// The member's id.
    pub(super) member: MemberId,
    /// Its connection.
    pub(super) session: SessionId,
    /// Its resume token (stored as a digest: whoever reads Redis cannot resume).
    pub(super) token: &'a ResumeToken,
    /// Its encoded `Joined` event.
    pub(super) joined: Vec<u8>,
    /// Its encoded `Left { Disconnected }`, emitted if its grace runs out.
    pub(super) left: Vec<u8>,
    /// Its encoded `HostChanged`, emitted if the relay's succession passes it the seat.
    pub(super) hosted: Vec<u8>,
    /// How long its presence lasts without a heartbeat.
    pub(super) presence: Duration,
}

impl<'a> Arrival<'a> {
    /// `newcomer` arriving on `session`, present for `presence` without a heartbeat.
    pub(super) fn new(newcomer: &'a Newcomer, session: SessionId, presence: Duration) -> Self {
        let member = newcomer.member;
        let reason = LeaveReason::Disconnected;
        Arrival {
            member,
            session,
            token: &newcomer.token,
            joined: Event::Joined { member }.encode(),
            left: Event::Left { member, reason }.encode(),
            hosted: Event::HostChanged { host: member }.encode(),
            presence,
        }
    }
}

impl Arg for Arrival<'_> {
    fn put(&self, _: &'static str, invocation: &mut ScriptInvocation<'_>) {
        self.member.put("member", invocation);
        self.session.put("session", invocation);
        self.token.put("token", invocation);
        self.joined.as_slice().put("joined", invocation);
        self.left.as_slice().put("left", invocation);
        self.hosted.as_slice().put("hosted", invocation);
        self.presence.put("presence", invocation);
    }
}

/// The fields of a script's answer after its status word, read in order.
pub(super) struct Fields(std::vec::IntoIter<Value>);

impl Fields {
    fn text(&mut self) -> Option<String> {
        match self.0.next()? {
            Value::BulkString(b) => String::from_utf8(b).ok(),
            Value::SimpleString(s) => Some(s),
            Value::Int(i) => Some(i.to_string()),
            _ => None,
        }
    }

    fn int(&mut self) -> Option<u64> {
        int(self.0.next()?)
    }

    fn flag(&mut self) -> Option<bool> {
        Some(self.int()? == 1)
    }

    fn member(&mut self) -> Option<MemberId> {
        self.int().map(MemberId)
    }

    fn list(&mut self) -> Option<Fields> {
        match self.0.next()? {
            Value::Array(items) => Some(Fields(items.into_iter())),
            _ => None,
        }
    }

    /// The remaining fields, each a member id.
    fn members(self) -> Option<Vec<MemberId>> {
        self.0.map(|v| int(v).map(MemberId)).collect()
    }

    /// A list of logged events, each `{ seq, event }`.
    fn logged(&mut self) -> Option<Vec<Logged>> {
        let entries = self.list()?;
        entries
            .0
            .map(|entry| {
                let Value::Array(pair) = entry else {
                    return None;
                };
                let mut pair = Fields(pair.into_iter());
                let seq = pair.int()?;
                let Some(Value::BulkString(event)) = pair.0.next() else {
                    return None;
                };
                Some(Logged { seq, event })
            })
            .collect()
    }
}

fn int(v: Value) -> Option<u64> {
    match v {
        Value::Int(i) => u64::try_from(i).ok(),
        Value::BulkString(b) => std::str::from_utf8(&b).ok()?.parse().ok(),
        Value::SimpleString(s) => s.parse().ok(),
        _ => None,
    }
}

/// An event from the room's log: its sequence number and its encoded `Event`.
pub(super) struct Logged {
    /// The event's sequence number (its entry id in the log).
    pub(super) seq: u64,
    /// The encoded [`Event`](vroom_shared::wire::Event).
    pub(super) event: Vec<u8>,
}

/// A script's answer, read from its status word and its fields; `None` when it has
/// another shape.
pub(super) trait Reply: Sized {
    /// Reads the fields of an `ok` answer.
    fn read_ok(fields: Fields) -> Option<Self>;

    /// Reads an answer whose status is not `err`: most scripts know only `ok`.
    fn read(status: &str, fields: Fields) -> Option<Self> {
        if status == "ok" {
            Self::read_ok(fields)
        } else {
            None
        }
    }
}

impl Reply for () {
    /// `{ 'ok' }`
    fn read_ok(_: Fields) -> Option<()> {
        Some(())
    }
}

/// The sequence number of the one event a script emitted: `{ 'ok', seq }`.
impl Reply for u64 {
    fn read_ok(mut f: Fields) -> Option<u64> {
        f.int()
    }
}

/// The words a script answered after `ok` (`code.lua`).
pub(super) struct Words(pub(super) Vec<String>);

impl Reply for Words {
    fn read_ok(mut f: Fields) -> Option<Words> {
        let mut words = Vec::new();
        while let Some(word) = f.text() {
            words.push(word);
        }
        Some(Words(words))
    }
}

calls! {
    /// `code.lua`: the room's short-code nameplates; `op` names the step (the script
    /// lists which arguments each reads; the others are empty).
    Code<'a>("code.lua") -> Words {
        op: &'a [u8],
        member: Option<MemberId>,
        session: Option<SessionId>,
        nameplate: u32,
        exchange: Option<u64>,
        instance: Option<u64>,
        ttl: Option<Duration>,
        tomb: Option<Duration>,
        per_room: Option<u32>,
        max: Option<u32>,
        burn: bool,
        frame: &'a [u8],
    }

    /// `create.lua`: creates a room with its creator as host and first member, and
    /// emits the creator's `Joined`.
    Create<'a>("create.lua") -> () {
        /// Hash of the host secret.
        host: &'a HostHash,
        /// The creator.
        creator: Arrival<'a>,
        /// The room's limits, as reported in `Welcome`.
        max_members: u32,
        idle_secs: u32,
        lifetime_secs: u32,
        grace_secs: u32,
        max_payload: u32,
        max_file: u64,
        /// How long a dropped member keeps its place, at full precision.
        grace: Duration,
        /// Extra life of the keys past the room's due time.
        slack: Duration,
        /// Events kept for catch-up.
        buffer: usize,
        /// Bytes of encoded events kept for catch-up.
        buffer_bytes: usize,
    }

    /// `join.lua`: adds a member (emitting `Joined`) or gives a member its place back.
    Join<'a>("join.lua") -> Joined {
        /// The newcomer (unused when the resume succeeds but for its session and
        /// presence).
        newcomer: Arrival<'a>,
        /// A claim to an earlier place…
        resume_member: Option<MemberId>,
        /// …and the token that proves it.
        resume_token: Option<&'a ResumeToken>,
        /// Catch up on the events after this one.
        after: Option<u64>,
        /// The hash of the join proof the newcomer showed ('' for none).
        proof: Option<&'a JoinProofHash>,
    }

    /// `publish.lua`: relays one message; answers its sequence number.
    Publish<'a>("publish.lua") -> u64 {
        /// The sender.
        from: MemberId,
        /// The one recipient of a directed message; `None` for everyone.
        to: Option<MemberId>,
        /// The encoded `Message` event.
        event: &'a [u8],
    }

    /// `stream.lua`: relays one chunk-lane packet, unsequenced and unlogged.
    Stream<'a>("stream.lua") -> () {
        /// The sender.
        from: MemberId,
        /// The one recipient; `None` for every other member.
        to: Option<MemberId>,
        /// The encoded `ServerFrame::Stream`.
        packet: &'a [u8],
    }

    /// `replay.lua`: the logged events after a cursor, for one member.
    ReplayLog("replay.lua") -> Replayed {
        /// Who asks (it must hold a place).
        member: MemberId,
        /// The cursor.
        after: u64,
    }

    /// `lock.lua`: host: stops or allows new joins and emits `Locked`.
    Lock<'a>("lock.lua") -> () {
        /// Hash of the presented host secret.
        host: &'a HostHash,
        /// Whether new joins are refused from now on.
        locked: bool,
        /// The encoded `Locked` event.
        event: &'a [u8],
    }

    /// `rotate.lua`: host: newcomers must show the join proof of this hash from now on.
    Rotate<'a>("rotate.lua") -> () {
        /// Hash of the presented host secret.
        host: &'a HostHash,
        /// Hash of the room's new join proof.
        proof: &'a JoinProofHash,
        /// The renewal number of its pass (stored whatever the room held).
        renewal: u32,
    }

    /// `kick.lua`: host: removes a member and emits `Left { Kicked }`.
    Kick<'a>("kick.lua") -> Presence {
        /// Hash of the presented host secret.
        host: &'a HostHash,
        /// The member to remove.
        member: MemberId,
        /// The encoded `Left { Kicked }` event.
        event: &'a [u8],
    }

    /// `terminate.lua`: host: deletes the room now and tells every instance.
    Terminate<'a>("terminate.lua") -> () {
        /// Hash of the presented host secret.
        host: &'a HostHash,
    }

    /// `handover.lua`: host: gives the host seat to another member, emitting
    /// `HostChanged`.
    HandOver<'a>("handover.lua") -> () {
        /// Hash of the presented host secret.
        host: &'a HostHash,
        /// The member named.
        to: MemberId,
        /// The encoded `HostChanged { to }` event.
        event: &'a [u8],
    }

    /// `claim.lua`: the member the seat was handed to takes it with its secret's hash.
    ClaimHost<'a>("claim.lua") -> () {
        /// The claimant.
        member: MemberId,
        /// Hash of its host secret.
        host: &'a HostHash,
    }

    /// `cap.lua`: host: the most members the room lets in (0: none of the host's).
    SetCap<'a>("cap.lua") -> () {
        /// Hash of the presented host secret.
        host: &'a HostHash,
        /// The cap.
        max_members: u32,
    }

    /// `moderator.lua`: host: makes a member a moderator or takes that back.
    SetModerator<'a>("moderator.lua") -> () {
        /// Hash of the presented host secret.
        host: &'a HostHash,
        /// The member.
        member: MemberId,
        /// Moderator from now on, or not.
        on: bool,
    }

    /// `modkick.lua`: moderator: removes a member, emits `Left { Kicked }` and takes
    /// the join proof hash its kick's commit made, in one step, when its renewal
    /// number is above the one the room holds.
    ModeratorKick<'a>("modkick.lua") -> Presence {
        /// The moderator.
        by: MemberId,
        /// The member to remove.
        member: MemberId,
        /// Hash of the room's new join proof.
        proof: &'a JoinProofHash,
        /// The renewal number of its pass.
        renewal: u32,
        /// The encoded `Left { Kicked }` event.
        event: &'a [u8],
    }

    /// `modlock.lua`: moderator: stops or allows new joins and emits `Locked`.
    ModeratorLock<'a>("modlock.lua") -> () {
        /// The moderator.
        by: MemberId,
        /// Whether new joins are refused from now on.
        locked: bool,
        /// The encoded `Locked` event.
        event: &'a [u8],
    }

    /// `leave.lua`: a member leaves for good and `Left { Left }` is emitted.
    Leave<'a>("leave.lua") -> Presence {
        /// The member leaving.
        member: MemberId,
        /// The encoded `Left { Left }` event.
        event: &'a [u8],
    }

    /// `disconnect.lua`: a member's connection dropped; its place is kept for the
    /// grace, unless the member has resumed on another connection since.
    Disconnect("disconnect.lua") -> Presence {
        /// The member whose connection dropped.
        member: MemberId,
        /// The connection that dropped.
        session: SessionId,
    }

    /// `tick.lua`: one instance's periodic visit to a room it has connections in.
    Tick<'a>("tick.lua") -> Ticked {
        /// How long the members' presence lasts from now without another tick.
        presence: Duration,
        /// The members connected to this instance, and the connection of each.
        connected: &'a [(MemberId, SessionId)],
    }
}

/// What `join.lua` answers:
/// `{ 'ok', you, seq, resumed, locked, host, limits[6], members, evicted, logged }`.
pub(super) struct Joined {
    /// The member's id (the resumed one, or the newcomer's).
    pub(super) you: MemberId,
    /// The last sequence number before the member's own `Joined`.
    pub(super) seq: u64,
    /// Whether an earlier place was taken back.
    pub(super) resumed: bool,
    /// Whether the room takes no new members.
    pub(super) locked: bool,
    /// The host's member id.
    pub(super) host: MemberId,
    /// The room's limits.
    pub(super) limits: RoomLimits,
    /// Every member holding a place, in joining order.
    pub(super) members: Vec<MemberId>,
    /// The largest sequence number that has left the log.
    pub(super) evicted: u64,
    /// The logged events after `after`, up to `seq` (none without `after`).
    pub(super) logged: Vec<Logged>,
}

impl Reply for Joined {
    fn read_ok(mut f: Fields) -> Option<Joined> {
        let you = f.member()?;
        let seq = f.int()?;
        let resumed = f.flag()?;
        let locked = f.flag()?;
        let host = f.member()?;
        let mut l = f.list()?;
        let mut small = || u32::try_from(l.int()?).ok();
        let limits = RoomLimits {
            max_members: small()?,
            idle_timeout_secs: small()?,
            max_lifetime_secs: small()?,
            grace_secs: small()?,
            max_payload: small()?,
            max_file: l.int()?,
        };
        let members = f.list()?.members()?;
        let evicted = f.int()?;
        let logged = f.logged()?;
        Some(Joined {
            you,
            seq,
            resumed,
            locked,
            host,
            limits,
            members,
            evicted,
            logged,
        })
    }
}

/// What `replay.lua` answers: `{ 'ok', seq, evicted, logged }`.
pub(super) struct Replayed {
    /// The room's latest sequence number.
    pub(super) seq: u64,
    /// The largest sequence number that has left the log.
    pub(super) evicted: u64,
    /// The logged events after the cursor.
    pub(super) logged: Vec<Logged>,
}

impl Reply for Replayed {
    fn read_ok(mut f: Fields) -> Option<Replayed> {
        Some(Replayed {
            seq: f.int()?,
            evicted: f.int()?,
            logged: f.logged()?,
        })
    }
}

/// What a script that ends a member's place or connection answers:
/// `{ 'ok', 1 when nobody is connected any more }`.
pub(super) struct Presence {
    /// Nobody is connected to the room any more.
    pub(super) empty: bool,
}

impl Reply for Presence {
    fn read_ok(mut f: Fields) -> Option<Presence> {
        Some(Presence { empty: f.flag()? })
    }
}

/// What `tick.lua` answers: `{ 'gone' }`, `{ 'ended' }`, or
/// `{ 'ok', seq, ms until the next deadline, lost members... }`.
pub(super) enum Ticked {
    /// The room's keys are gone.
    Gone,
    /// The tick ended the room (and published why).
    Ended,
    /// The room goes on.
    Going {
        /// The room's latest sequence number.
        seq: u64,
        /// Time until the room's next deadline.
        next_due: Duration,
        /// Members connected here that no longer have a place.
        lost: Vec<MemberId>,
    },
}

impl Reply for Ticked {
    fn read_ok(mut f: Fields) -> Option<Ticked> {
        Some(Ticked::Going {
            seq: f.int()?,
            next_due: Duration::from_millis(f.int()?),
            lost: f.members()?,
        })
    }

    fn read(status: &str, fields: Fields) -> Option<Ticked> {
        match status {
            "gone" => Some(Ticked::Gone),
            "ended" => Some(Ticked::Ended),
            "ok" => Self::read_ok(fields),
            _ => None,
        }
    }
}
