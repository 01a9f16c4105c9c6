//! The Redis store: rooms live in a Redis that several relay instances share, so the
//! members of one room may be connected to different instances behind a load balancer.
//!
//! # Keys
//! Every key of a room is named `vroom:{<room hex>}:<part>`; the `{…}` hash tag puts
//! all of them (and the room's pub/sub channel `vroom:{<room hex>}:ch`) in one Redis
//! Cluster slot, so one script can touch them all and deleting the room is one `DEL`.
//! The parts are `meta` (hash), `live` and `gone` (sorted sets of members by deadline),
//! `info` (hash, per member) and `log` (stream of event frames); `redis/common.lua`
//! describes each. Every key carries a TTL from the moment it exists: each writing
//! script ends by setting all of them to expire when the room would end if nobody
//! acted on it any more.
//!
//! # One round trip per step
//! Every store operation is one Lua script (`redis/*.lua`, each prefixed with
//! `redis/common.lua`), run with `EVALSHA`: an atomic step for the room and one round
//! trip. Relaying a message is the `publish` script: it checks the members, bumps the
//! sequence number, appends the frame to the log, trims the log, publishes the frame
//! once on the room's channel and refreshes the TTLs. Fan-out to recipients happens
//! on each instance, from the one published copy.
//!
//! # Delivery
//! Each instance subscribes to a room's channel while it has local connections in the
//! room (one subscription per room per instance, on the same RESP3 connection as the
//! scripts, so a script's reply never overtakes the events it published). One
//! dispatcher task per instance hands every event to the [`Fanout`] in sequence order;
//! it fills any hole (after a reconnect) from the log before going on.
//!
//! # Presence and time
//! Redis's clock is the room's clock, so instances need not agree on time. Connected
//! members sit in `live` with a heartbeat deadline that their instance pushes forward
//! on every tick; the members of an instance that dies stop being refreshed and are
//! treated as dropped connections (grace, then `Left { Disconnected }`). Any instance
//! with connections in the room ends what is due on its tick (idle timeout, maximum
//! lifetime, graces); when no instance is left, the TTLs delete the room.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use bytes::Bytes;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{PushInfo, PushKind, Script, Value};
use tokio::sync::{mpsc, watch};
use tokio::task::AbortHandle;
use vroom_shared::wire::{
    CloseReason, ErrorCode, Event, HostSecret, LeaveReason, MemberId, ResumeToken,
    ResumeTokenDebug, RoomId, RoomLimits, ServerFrame,
};

use super::{
    CreateRoom, Fanout, JoinRoom, Replay, Sequenced, SessionId, Signal, Store, StoreResult, Welcome,
};
use crate::config::Config;

/// The store's scripts, each the shared prelude plus its own body.
struct Scripts {
    create: Script,
    join: Script,
    publish: Script,
    replay: Script,
    lock: Script,
    kick: Script,
    terminate: Script,
    leave: Script,
    disconnect: Script,
    tick: Script,
}

macro_rules! script {
    ($file:literal) => {
        Script::new(concat!(
            include_str!("redis/common.lua"),
            include_str!(concat!("redis/", $file))
        ))
    };
}

static SCRIPTS: LazyLock<Scripts> = LazyLock::new(|| Scripts {
    create: script!("create.lua"),
    join: script!("join.lua"),
    publish: script!("publish.lua"),
    replay: script!("replay.lua"),
    lock: script!("lock.lua"),
    kick: script!("kick.lua"),
    terminate: script!("terminate.lua"),
    leave: script!("leave.lua"),
    disconnect: script!("disconnect.lua"),
    tick: script!("tick.lua"),
});

/// How long one Redis request may take before the relay answers `Unavailable`.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long connecting to Redis may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// A Redis URL checked for form (not for reachability: the relay starts, and answers
/// `Unavailable`, while Redis is away).
#[derive(Clone)]
pub struct RedisTarget {
    /// The client, set to RESP3 so pub/sub pushes share the scripts' connection.
    client: redis::Client,
}

impl RedisTarget {
    /// Parses `url` (`redis://[user:password@]host:port[/db]`).
    pub fn parse(url: &str) -> Result<RedisTarget, String> {
        use redis::IntoConnectionInfo;
        let info = url
            .into_connection_info()
            .map_err(|e| format!("the Redis URL is not valid ({})", e.category()))?;
        let settings = info
            .redis_settings()
            .clone()
            .set_protocol(redis::ProtocolVersion::RESP3);
        let client = redis::Client::open(info.set_redis_settings(settings))
            .map_err(|e| format!("the Redis URL is not usable ({})", e.category()))?;
        Ok(RedisTarget { client })
    }
}

/// The Redis store. Cheap to clone: clones share one connection and one dispatcher.
#[derive(Clone)]
pub struct RedisStore {
    /// Shared state; background tasks hold only a weak reference, so dropping the last
    /// handle stops them.
    inner: Arc<Inner>,
}

struct Inner {
    /// One multiplexed RESP3 connection for scripts and subscriptions; it reconnects by
    /// itself and subscribes again to every channel after a reconnect.
    conn: ConnectionManager,
    /// Where events and closures go (the relay's local registry).
    fanout: Arc<dyn Fanout>,
    /// The rooms this instance has local members in. A std `Mutex`: held for map
    /// operations only, never across an await.
    rooms: Mutex<HashMap<RoomId, LocalRoom>>,
    /// Subscription changes, applied in the order they were queued (queued under the
    /// `rooms` lock, so an unsubscribe can never overtake a later subscribe).
    subs: mpsc::UnboundedSender<SubCommand>,
    /// The dispatcher's input (also fed by the connection's push messages).
    dispatch: mpsc::UnboundedSender<Input>,
    /// Heartbeat and expiry settings.
    timing: Timing,
    /// Events kept per room for catch-up.
    buffer: usize,
    /// Bytes of events kept per room for catch-up.
    buffer_bytes: usize,
    /// The subscription and dispatcher tasks, stopped when the store is dropped.
    tasks: Vec<AbortHandle>,
}

#[derive(Clone, Copy)]
struct Timing {
    /// How often an instance refreshes its members' presence and ends what is due.
    heartbeat: Duration,
    /// How long a connected member's presence lasts without a heartbeat: three missed
    /// heartbeats mean its instance is gone.
    presence: Duration,
    /// How long a dropped member keeps its place, and an empty room survives.
    grace: Duration,
    /// Extra life of the keys past the room's due time, so that a ticking instance
    /// ends the room (and tells its members why) before Redis drops the keys.
    slack: Duration,
}

/// What this instance knows of a room it has local members in.
struct LocalRoom {
    /// Connected local members and the session each is connected with.
    members: HashMap<MemberId, SessionId>,
    /// Creates and joins under way (the room must stay subscribed for them).
    pending: usize,
    /// Becomes `Some(true)` once the subscription is confirmed (`Some(false)`: failed).
    ready: watch::Receiver<Option<bool>>,
    /// The room's heartbeat task.
    timer: AbortHandle,
    /// Set when this instance's own leave or disconnect left nobody connected: it keeps
    /// following the room until the grace is over, to end it on time and tell anyone
    /// caught joining.
    hold_until: Option<tokio::time::Instant>,
}

enum SubCommand {
    Subscribe(RoomId, watch::Sender<Option<bool>>),
    Unsubscribe(RoomId),
}

/// What the dispatcher acts on, in the order it arrives.
enum Input {
    /// A push from Redis (a published frame, a subscription change, a disconnection).
    Push(PushInfo),
    /// This instance started following a room: deliver its events from now on.
    Follow(RoomId),
    /// Events up to `seq` are covered by a `Welcome`; later ones must come.
    Baseline(RoomId, u64),
    /// The room's tick saw `seq` as the latest number: deliver whatever was missed.
    Resync(RoomId, u64),
    /// These local members have no place any more (lost while Redis was unreachable).
    Lost(RoomId, Vec<MemberId>),
    /// The room's keys are gone without an announcement this instance heard.
    Vanished(RoomId, CloseReason),
    /// This instance stopped following the room.
    Forget(RoomId),
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The room's keys, in the order every script expects them.
fn keys(room: RoomId) -> [String; 5] {
    let hex = room.to_hex();
    ["meta", "live", "gone", "info", "log"].map(|part| format!("vroom:{{{hex}}}:{part}"))
}

fn channel(room: RoomId) -> String {
    format!("vroom:{{{}}}:ch", room.to_hex())
}

fn room_of_channel(name: &[u8]) -> Option<RoomId> {
    let hex = name.strip_prefix(b"vroom:{")?.strip_suffix(b"}:ch")?;
    let mut id = [0; 16];
    hex::decode_to_slice(hex, &mut id).ok()?;
    Some(RoomId(id))
}

/// The encoding of `event` inside a `ServerFrame::Event`, without the frame's variant
/// and sequence number, which the scripts prepend once they know the number.
fn body(event: Event<'_>) -> Vec<u8> {
    let mut frame = ServerFrame::Event { seq: 0, event }.encode();
    debug_assert_eq!(&frame[..2], [1, 0], "ServerFrame::Event must be variant 1");
    frame.drain(..2);
    frame
}

fn left_body(member: MemberId, reason: LeaveReason) -> Vec<u8> {
    body(Event::Left { member, reason })
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A decoded event frame from Redis: the frame itself is forwarded untouched.
fn sequenced(frame: Vec<u8>) -> Option<(Sequenced, Option<(MemberId, LeaveReason)>)> {
    let ServerFrame::Event { seq, event } = ServerFrame::decode(&frame).ok()? else {
        return None;
    };
    let (to, left) = match event {
        Event::Message { to, .. } => (to, None),
        Event::Left { member, reason } => (None, Some((member, reason))),
        _ => (None, None),
    };
    let frame = Bytes::from(frame);
    Some((Sequenced { seq, to, frame }, left))
}

fn unavailable(err: &redis::RedisError) -> ErrorCode {
    // The category only: a Redis error can quote a key, and keys carry room ids.
    tracing::warn!(error = err.category(), "redis store: request failed");
    ErrorCode::Unavailable
}

/// The status word a script answers with, and the rest of its answer.
fn reply(value: Value) -> StoreResult<Vec<Value>> {
    let Value::Array(mut items) = value else {
        return Err(bad_reply());
    };
    if items.is_empty() {
        return Err(bad_reply());
    }
    let status = text(&items[0]).ok_or_else(bad_reply)?;
    match status.as_str() {
        "err" => Err(match items.get(1).and_then(text).as_deref() {
            Some("unknown_room") => ErrorCode::UnknownRoom,
            Some("exists") => ErrorCode::RoomExists,
            Some("locked") => ErrorCode::Locked,
            Some("full") => ErrorCode::Full,
            Some("resume_refused") => ErrorCode::ResumeRefused,
            Some("bad_host") => ErrorCode::BadHostSecret,
            Some("unknown_member") => ErrorCode::UnknownMember,
            _ => ErrorCode::Unavailable,
        }),
        _ => {
            items.remove(0);
            items.insert(0, Value::SimpleString(status));
            Ok(items)
        }
    }
}

/// Whether a leave, kick or disconnect answered that nobody is connected any more.
fn nobody_left(items: &[Value]) -> bool {
    items.get(1).and_then(int) == Some(1)
}

fn bad_reply() -> ErrorCode {
    tracing::error!("redis store: a script answered in an unexpected shape");
    ErrorCode::Unavailable
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

fn int(v: &Value) -> Option<u64> {
    match v {
        Value::Int(i) => u64::try_from(*i).ok(),
        other => text(other)?.parse().ok(),
    }
}

fn member_of(v: &Value) -> Option<MemberId> {
    int(v).map(MemberId)
}

fn frames(v: &Value) -> Option<Vec<Vec<u8>>> {
    match v {
        Value::Array(items) => items
            .iter()
            .map(|f| match f {
                Value::BulkString(b) => Some(b.clone()),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

/// Builds the catch-up answer from logged frames: `evicted` is the largest sequence
/// number that has left the log.
fn make_replay(member: MemberId, after: u64, upto: u64, evicted: u64, raw: Vec<Vec<u8>>) -> Replay {
    let gap = (after < evicted).then_some((after + 1, evicted));
    let events = raw
        .into_iter()
        .filter_map(sequenced)
        .map(|(s, _)| s)
        .filter(|s| s.seq > after && s.seq <= upto && s.visible_to(member))
        .collect();
    Replay { gap, events, upto }
}

impl RedisStore {
    /// A store on `target` with the timers and caps from `config`, delivering through
    /// `fanout`. Connects lazily: until Redis answers, requests fail with `Unavailable`.
    /// Must be called inside a Tokio runtime.
    pub fn new(target: RedisTarget, config: &Config, fanout: Arc<dyn Fanout>) -> RedisStore {
        let heartbeat = config.redis_heartbeat.max(Duration::from_millis(10));
        let timing = Timing {
            heartbeat,
            presence: heartbeat * 3,
            grace: config.grace,
            slack: heartbeat * 2,
        };
        let (dispatch, dispatch_rx) = mpsc::unbounded_channel();
        let (subs, subs_rx) = mpsc::unbounded_channel();
        let pushes = dispatch.clone();
        let manager_config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500))
            .set_push_sender(move |info: PushInfo| pushes.send(Input::Push(info)))
            .set_automatic_resubscription();
        let conn = target
            .client
            .get_connection_manager_lazy(manager_config)
            .expect("a RESP3 client with a push sender is a valid configuration");
        let inner = Arc::new_cyclic(|weak: &Weak<Inner>| {
            let tasks = vec![
                tokio::spawn(run_subscriptions(conn.clone(), subs_rx)).abort_handle(),
                tokio::spawn(run_dispatcher(weak.clone(), dispatch_rx)).abort_handle(),
            ];
            Inner {
                conn,
                fanout,
                rooms: Mutex::new(HashMap::new()),
                subs,
                dispatch,
                timing,
                buffer: config.buffer.max(1),
                buffer_bytes: config.buffer_bytes,
                tasks,
            }
        });
        RedisStore { inner }
    }

    /// Runs `script` on `room`'s keys with `args`.
    async fn run(&self, script: &Script, room: RoomId, args: &[&[u8]]) -> StoreResult<Vec<Value>> {
        let mut invocation = script.prepare_invoke();
        for key in keys(room) {
            invocation.key(key);
        }
        for arg in args {
            invocation.arg(*arg);
        }
        let mut conn = self.inner.conn.clone();
        let value: Value = invocation
            .invoke_async(&mut conn)
            .await
            .map_err(|e| unavailable(&e))?;
        reply(value)
    }

    /// Registers a create or join under way and waits until this instance follows the
    /// room's channel.
    async fn enter(&self, room: RoomId) -> StoreResult<()> {
        let mut ready = {
            let mut rooms = lock(&self.inner.rooms);
            let local = rooms.entry(room).or_insert_with(|| self.inner.follow(room));
            local.pending += 1;
            local.ready.clone()
        };
        let subscribed = ready
            .wait_for(Option::is_some)
            .await
            .map(|v| *v == Some(true))
            .unwrap_or(false);
        if subscribed {
            Ok(())
        } else {
            self.inner.settle(room, None);
            Err(ErrorCode::Unavailable)
        }
    }

    /// Ends a create or join under way: on success the member counts as connected here.
    fn entered(&self, room: RoomId, joined: Option<(MemberId, SessionId)>, seq: u64) {
        if let Some((member, session)) = joined {
            let _ = self.inner.dispatch.send(Input::Baseline(room, seq));
            self.inner.settle(room, Some((member, session)));
        } else {
            self.inner.settle(room, None);
        }
    }

    fn welcome(&self, items: &[Value], token: ResumeToken, after: Option<u64>) -> Option<Welcome> {
        // { 'ok', you, seq, resumed, locked, host, limits[6], members, evicted, frames }
        let you = member_of(items.get(1)?)?;
        let seq = int(items.get(2)?)?;
        let resumed = int(items.get(3)?)? == 1;
        let locked = text(items.get(4)?)? == "1";
        let host = member_of(items.get(5)?)?;
        let Value::Array(l) = items.get(6)? else {
            return None;
        };
        let small = |i: usize| int(l.get(i)?).and_then(|v| u32::try_from(v).ok());
        let limits = RoomLimits {
            max_members: small(0)?,
            idle_timeout_secs: small(1)?,
            max_lifetime_secs: small(2)?,
            grace_secs: small(3)?,
            max_payload: small(4)?,
            max_file: int(l.get(5)?)?,
        };
        let Value::Array(m) = items.get(7)? else {
            return None;
        };
        let members = m.iter().map(member_of).collect::<Option<Vec<_>>>()?;
        let evicted = int(items.get(8)?)?;
        let raw = frames(items.get(9)?)?;
        let replay = match after {
            Some(after) => make_replay(you, after, seq, evicted, raw),
            None => Replay::default(),
        };
        Some(Welcome {
            you,
            token: ResumeTokenDebug(token),
            host,
            members,
            seq,
            locked,
            limits,
            resumed,
            replay,
        })
    }
}

impl Inner {
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
    fn settle(&self, room: RoomId, joined: Option<(MemberId, SessionId)>) {
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
    fn leaving(&self, room: RoomId, member: MemberId, session: Option<SessionId>) -> bool {
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
    fn left(&self, room: RoomId, empty: bool) {
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

    /// Drops a local member; the room stops being followed when none is left.
    fn drop_member(&self, room: RoomId, member: MemberId) {
        let mut rooms = lock(&self.rooms);
        if let Some(local) = rooms.get_mut(&room) {
            local.members.remove(&member);
        }
        self.release_if_idle(&mut rooms, room);
    }

    fn release_if_idle(&self, rooms: &mut HashMap<RoomId, LocalRoom>, room: RoomId) {
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
    fn release(&self, rooms: &mut HashMap<RoomId, LocalRoom>, room: RoomId) {
        if let Some(local) = rooms.remove(&room) {
            local.timer.abort();
            let _ = self.subs.send(SubCommand::Unsubscribe(room));
            let _ = self.dispatch.send(Input::Forget(room));
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        for local in lock(&self.rooms).values() {
            local.timer.abort();
        }
    }
}

/// Applies subscription changes one at a time, in the order they were queued.
async fn run_subscriptions(
    mut conn: ConnectionManager,
    mut commands: mpsc::UnboundedReceiver<SubCommand>,
) {
    while let Some(command) = commands.recv().await {
        match command {
            SubCommand::Subscribe(room, ready) => {
                let ok = conn.subscribe(channel(room)).await;
                if let Err(e) = &ok {
                    unavailable(e);
                }
                let _ = ready.send(Some(ok.is_ok()));
            }
            SubCommand::Unsubscribe(room) => {
                if let Err(e) = conn.unsubscribe(channel(room)).await {
                    unavailable(&e);
                }
            }
        }
    }
}

/// Where each followed room's delivery stands.
#[derive(Default)]
struct Delivery {
    /// The largest sequence number handed to the fan-out (`None`: nothing yet).
    last: Option<u64>,
}

/// Hands every event of every followed room to the fan-out, in sequence order, one
/// room's events never concurrently (this task is the only caller).
async fn run_dispatcher(inner: Weak<Inner>, mut input: mpsc::UnboundedReceiver<Input>) {
    let mut rooms: HashMap<RoomId, Delivery> = HashMap::new();
    while let Some(item) = input.recv().await {
        let Some(inner) = inner.upgrade() else { return };
        match item {
            Input::Follow(room) => {
                rooms.insert(room, Delivery::default());
            }
            Input::Forget(room) => {
                rooms.remove(&room);
            }
            Input::Baseline(room, seq) => {
                if let Some(d) = rooms.get_mut(&room) {
                    d.last = Some(d.last.map_or(seq, |l| l.max(seq)));
                }
            }
            Input::Resync(room, seq) => {
                let Some(last) = rooms.get(&room).and_then(|d| d.last) else {
                    continue;
                };
                if seq > last {
                    let missed = fetch(&inner, room, last, seq).await;
                    for frame in missed {
                        deliver(&inner, &mut rooms, room, frame).await;
                    }
                }
            }
            Input::Lost(room, members) => {
                if rooms.contains_key(&room) {
                    for member in members {
                        lose(&inner, room, member, CloseReason::GoingAway);
                    }
                }
            }
            Input::Vanished(room, reason) => {
                if rooms.remove(&room).is_some() {
                    close_room(&inner, room, reason);
                }
            }
            Input::Push(push) => match push.kind {
                PushKind::Message => {
                    let mut data = push.data.into_iter();
                    let (Some(Value::BulkString(name)), Some(Value::BulkString(frame))) =
                        (data.next(), data.next())
                    else {
                        continue;
                    };
                    let Some(room) = room_of_channel(&name) else {
                        continue;
                    };
                    if rooms.contains_key(&room) {
                        deliver(&inner, &mut rooms, room, frame).await;
                    }
                }
                PushKind::Disconnection => {
                    // Events published meanwhile are in the logs; each room's next tick
                    // or event finds the hole and fills it.
                    tracing::warn!("redis store: connection lost; reconnecting");
                }
                _ => {}
            },
        }
    }
}

/// Delivers one frame of a followed room: drops what was delivered already, fills a
/// hole from the log first, and closes local connections the event ends.
async fn deliver(
    inner: &Arc<Inner>,
    rooms: &mut HashMap<RoomId, Delivery>,
    room: RoomId,
    frame: Vec<u8>,
) {
    if let Ok(ServerFrame::Closed { reason }) = ServerFrame::decode(&frame) {
        if rooms.remove(&room).is_some() {
            close_room(inner, room, reason);
        }
        return;
    }
    let Some((event, left)) = sequenced(frame) else {
        tracing::error!("redis store: undecodable frame on a room channel");
        return;
    };
    let Some(last) = rooms.get(&room).map(|d| d.last) else {
        return;
    };
    if let Some(last) = last {
        if event.seq <= last {
            return;
        }
        if event.seq > last + 1 {
            for missed in fetch(inner, room, last, event.seq - 1).await {
                Box::pin(deliver(inner, rooms, room, missed)).await;
            }
        }
    }
    if let Some(d) = rooms.get_mut(&room) {
        d.last = Some(event.seq);
    } else {
        return;
    }
    inner.fanout.signal(room, Signal::Event(&event));
    if let Some((member, reason)) = left {
        let is_local = lock(&inner.rooms)
            .get(&room)
            .is_some_and(|l| l.members.contains_key(&member));
        if is_local {
            match reason {
                LeaveReason::Kicked => lose(inner, room, member, CloseReason::Kicked),
                // Its place ran out while this instance could not reach Redis.
                LeaveReason::Disconnected => lose(inner, room, member, CloseReason::GoingAway),
                // It asked to leave on this very connection.
                LeaveReason::Left => inner.drop_member(room, member),
            }
        }
    }
}

/// A stream entry of the log: its id and its one field, the frame.
type LogEntry = (String, Vec<(String, Vec<u8>)>);

/// Logged frames `after+1..=upto`, for a hole in delivery. A hole that Redis cannot
/// fill now stays a hole: the clients see the jump and fetch what they missed.
async fn fetch(inner: &Inner, room: RoomId, after: u64, upto: u64) -> Vec<Vec<u8>> {
    let [_, _, _, _, log] = keys(room);
    let mut conn = inner.conn.clone();
    let entries: Result<Vec<LogEntry>, _> = redis::cmd("XRANGE")
        .arg(log)
        .arg(format!("{}-0", after + 1))
        .arg(format!("{upto}-0"))
        .query_async(&mut conn)
        .await;
    match entries {
        Ok(entries) => entries
            .into_iter()
            .filter_map(|(_, fields)| fields.into_iter().next().map(|(_, f)| f))
            .collect(),
        Err(e) => {
            unavailable(&e);
            Vec::new()
        }
    }
}

fn lose(inner: &Inner, room: RoomId, member: MemberId, reason: CloseReason) {
    inner
        .fanout
        .signal(room, Signal::MemberClosed { member, reason });
    inner.drop_member(room, member);
}

fn close_room(inner: &Inner, room: RoomId, reason: CloseReason) {
    inner.fanout.signal(room, Signal::RoomClosed(reason));
    let mut rooms = lock(&inner.rooms);
    inner.release(&mut rooms, room);
}

/// One room's heartbeat on this instance: refreshes its members' presence, ends what
/// is due, and notices events or members this instance missed.
async fn run_heartbeat(inner: Weak<Inner>, room: RoomId) {
    let mut wait = Duration::ZERO;
    // The room's limits as last seen, to name the reason if the room vanishes unseen.
    loop {
        tokio::time::sleep(wait).await;
        let Some(inner) = inner.upgrade() else { return };
        let timing = inner.timing;
        wait = timing.heartbeat;
        let members: Vec<(MemberId, SessionId)> = {
            let mut rooms = lock(&inner.rooms);
            inner.release_if_idle(&mut rooms, room);
            match rooms.get(&room) {
                Some(local) if local.members.is_empty() && local.hold_until.is_none() => {
                    // Only creates and joins under way: nothing to refresh yet.
                    wait = timing.heartbeat.min(Duration::from_millis(50));
                    continue;
                }
                Some(local) => local.members.iter().map(|(m, s)| (*m, *s)).collect(),
                None => return,
            }
        };
        let presence = millis(timing.presence).to_string();
        let mut args: Vec<Vec<u8>> = vec![presence.into_bytes()];
        for (member, session) in &members {
            args.push(member.0.to_string().into_bytes());
            args.push(session.0.to_string().into_bytes());
        }
        let store = RedisStore {
            inner: inner.clone(),
        };
        let arg_refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        let answer = store.run(&SCRIPTS.tick, room, &arg_refs).await;
        let items = match answer {
            Ok(items) => items,
            // Unreachable Redis: try again on the next heartbeat.
            Err(_) => continue,
        };
        match text(&items[0]).as_deref() {
            Some("gone") => {
                // Deleted without an announcement this instance heard: by its TTL, or
                // while the subscription was down.
                let _ = inner
                    .dispatch
                    .send(Input::Vanished(room, CloseReason::IdleTimeout));
                return;
            }
            // The script published the closing; the dispatcher delivers it.
            Some("ended") => continue,
            _ => {}
        }
        let seq = items.get(1).and_then(int).unwrap_or(0);
        let next_due = items.get(2).and_then(int).unwrap_or(u64::MAX);
        let lost: Vec<MemberId> = items.iter().skip(3).filter_map(member_of).collect();
        let _ = inner.dispatch.send(Input::Resync(room, seq));
        if !lost.is_empty() {
            let _ = inner.dispatch.send(Input::Lost(room, lost));
        }
        // Wake just after the next deadline, so expiry is on time, not a heartbeat late.
        wait = wait.min(Duration::from_millis(next_due.saturating_add(5)));
    }
}

impl Store for RedisStore {
    async fn create(&self, req: CreateRoom) -> StoreResult<Welcome> {
        self.enter(req.room).await?;
        let t = self.inner.timing;
        let member = req.newcomer.member;
        let l = req.limits;
        let args: Vec<Vec<u8>> = vec![
            req.host.0.to_vec(),
            member.0.to_string().into_bytes(),
            req.session.0.to_string().into_bytes(),
            req.newcomer.token.0.to_vec(),
            body(Event::Joined { member }),
            left_body(member, LeaveReason::Disconnected),
            millis(t.presence).to_string().into_bytes(),
            l.max_members.to_string().into_bytes(),
            l.idle_timeout_secs.to_string().into_bytes(),
            l.max_lifetime_secs.to_string().into_bytes(),
            l.grace_secs.to_string().into_bytes(),
            l.max_payload.to_string().into_bytes(),
            l.max_file.to_string().into_bytes(),
            millis(t.grace).to_string().into_bytes(),
            millis(t.slack).to_string().into_bytes(),
            self.inner.buffer.to_string().into_bytes(),
            self.inner.buffer_bytes.to_string().into_bytes(),
        ];
        let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        match self.run(&SCRIPTS.create, req.room, &refs).await {
            Ok(_) => {
                self.entered(req.room, Some((member, req.session)), 0);
                Ok(Welcome {
                    you: member,
                    token: ResumeTokenDebug(req.newcomer.token),
                    host: member,
                    members: vec![member],
                    seq: 0,
                    locked: false,
                    limits: req.limits,
                    resumed: false,
                    replay: Replay::default(),
                })
            }
            Err(e) => {
                self.entered(req.room, None, 0);
                Err(e)
            }
        }
    }

    async fn join(&self, req: JoinRoom) -> StoreResult<Welcome> {
        self.enter(req.room).await?;
        let member = req.newcomer.member;
        let (resume_member, resume_token) = match req.resume {
            Some(r) => (r.member.0.to_string().into_bytes(), r.token.0.to_vec()),
            None => (Vec::new(), Vec::new()),
        };
        let args: Vec<Vec<u8>> = vec![
            member.0.to_string().into_bytes(),
            req.session.0.to_string().into_bytes(),
            req.newcomer.token.0.to_vec(),
            body(Event::Joined { member }),
            left_body(member, LeaveReason::Disconnected),
            millis(self.inner.timing.presence).to_string().into_bytes(),
            resume_member,
            resume_token,
            req.after
                .map(|a| a.to_string())
                .unwrap_or_default()
                .into_bytes(),
        ];
        let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        let result = self.run(&SCRIPTS.join, req.room, &refs).await;
        let welcome = result.and_then(|items| {
            let token = match req.resume {
                Some(r) => r.token,
                None => req.newcomer.token,
            };
            self.welcome(&items, token, req.after).ok_or_else(bad_reply)
        });
        match welcome {
            Ok(w) => {
                self.entered(req.room, Some((w.you, req.session)), w.seq);
                Ok(w)
            }
            Err(e) => {
                self.entered(req.room, None, 0);
                Err(e)
            }
        }
    }

    async fn publish(
        &self,
        room: RoomId,
        from: MemberId,
        to: Option<MemberId>,
        payload: &[u8],
    ) -> StoreResult<()> {
        let from_arg = from.0.to_string();
        let to_arg = to.map(|t| t.0.to_string()).unwrap_or_default();
        let event = body(Event::Message { from, to, payload });
        self.run(
            &SCRIPTS.publish,
            room,
            &[from_arg.as_bytes(), to_arg.as_bytes(), &event],
        )
        .await
        .map(drop)
    }

    async fn replay(&self, room: RoomId, member: MemberId, after: u64) -> StoreResult<Replay> {
        let member_arg = member.0.to_string();
        let after_arg = after.to_string();
        let items = self
            .run(
                &SCRIPTS.replay,
                room,
                &[member_arg.as_bytes(), after_arg.as_bytes()],
            )
            .await?;
        // { 'ok', seq, evicted, frames }
        let parsed = (|| {
            let seq = int(items.get(1)?)?;
            let evicted = int(items.get(2)?)?;
            let raw = frames(items.get(3)?)?;
            Some(make_replay(member, after, seq, evicted, raw))
        })();
        parsed.ok_or_else(bad_reply)
    }

    async fn lock(&self, room: RoomId, secret: &HostSecret, locked: bool) -> StoreResult<()> {
        let hash = secret.hash();
        let flag: &[u8] = if locked { b"1" } else { b"0" };
        let event = body(Event::Locked { locked });
        self.run(&SCRIPTS.lock, room, &[&hash.0, flag, &event])
            .await
            .map(drop)
    }

    async fn kick(&self, room: RoomId, secret: &HostSecret, member: MemberId) -> StoreResult<()> {
        let hash = secret.hash();
        let member_arg = member.0.to_string();
        let event = left_body(member, LeaveReason::Kicked);
        // The instance holding the member's connection closes it when the `Left`
        // event reaches it.
        self.run(
            &SCRIPTS.kick,
            room,
            &[&hash.0, member_arg.as_bytes(), &event],
        )
        .await
        .map(drop)
    }

    async fn terminate(&self, room: RoomId, secret: &HostSecret) -> StoreResult<()> {
        let hash = secret.hash();
        self.run(&SCRIPTS.terminate, room, &[&hash.0])
            .await
            .map(drop)
    }

    async fn leave(&self, room: RoomId, member: MemberId) -> StoreResult<()> {
        let member_arg = member.0.to_string();
        let event = left_body(member, LeaveReason::Left);
        let mine = self.inner.leaving(room, member, None);
        let result = self
            .run(&SCRIPTS.leave, room, &[member_arg.as_bytes(), &event])
            .await;
        if mine {
            self.inner
                .left(room, result.as_deref().is_ok_and(nobody_left));
        }
        result.map(drop)
    }

    async fn disconnect(
        &self,
        room: RoomId,
        member: MemberId,
        session: SessionId,
    ) -> StoreResult<()> {
        let mine = self.inner.leaving(room, member, Some(session));
        let member_arg = member.0.to_string();
        let session_arg = session.0.to_string();
        let result = self
            .run(
                &SCRIPTS.disconnect,
                room,
                &[member_arg.as_bytes(), session_arg.as_bytes()],
            )
            .await;
        if mine {
            self.inner
                .left(room, result.as_deref().is_ok_and(nobody_left));
        }
        result.map(drop)
    }

    fn room_count(&self) -> usize {
        // Rooms this instance has members in; the total lives in Redis.
        lock(&self.inner.rooms).len()
    }

    async fn healthy(&self) -> bool {
        let mut conn = self.inner.conn.clone();
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .is_ok()
    }
}

#[cfg(test)]
use vroom_testkit::redis as redis_server;

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use super::redis_server::RedisServer;
    use crate::config::Config;

    /// One `redis-server` for the whole suite: every test uses rooms of its own.
    fn shared_redis() -> &'static RedisServer {
        static REDIS: OnceLock<RedisServer> = OnceLock::new();
        REDIS.get_or_init(RedisServer::start_for_process)
    }

    store_suite!(false, |config: Config, fanout| async move {
        let target = super::RedisTarget::parse(&shared_redis().url()).unwrap();
        let config = Config {
            redis_heartbeat: std::time::Duration::from_millis(100),
            ..config
        };
        super::RedisStore::new(target, &config, fanout)
    });
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn the_scripts_frame_constants_match_the_wire_encoding() {
        // common.lua builds these two frames by hand.
        let closed = ServerFrame::Closed {
            reason: CloseReason::MaxLifetime,
        }
        .encode();
        assert_eq!(closed, [5, 2]);
        assert_eq!(
            ServerFrame::Closed {
                reason: CloseReason::Terminated
            }
            .encode(),
            [5, 0]
        );
        assert_eq!(
            ServerFrame::Closed {
                reason: CloseReason::IdleTimeout
            }
            .encode(),
            [5, 1]
        );
        let event = ServerFrame::Event {
            seq: 300,
            event: Event::Locked { locked: true },
        }
        .encode();
        // Variant 1, varint(300) = [0xac, 0x02], then the body.
        let mut expected = vec![1, 0xac, 0x02];
        expected.extend(body(Event::Locked { locked: true }));
        assert_eq!(event, expected);
    }

    #[test]
    fn every_key_of_a_room_shares_one_hash_tag() {
        let room = RoomId([0xab; 16]);
        let tag = format!("{{{}}}", room.to_hex());
        for key in keys(room) {
            assert!(key.starts_with("vroom:") && key.contains(&tag), "{key}");
        }
        assert_eq!(room_of_channel(channel(room).as_bytes()), Some(room));
        assert_eq!(room_of_channel(b"vroom:{zz}:ch"), None);
    }
}
