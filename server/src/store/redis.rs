//! The Redis store: rooms live in a Redis that several relay instances share, so the
//! members of one room may be connected to different instances behind a load balancer.
//!
//! # Layout
//! - this file: [`RedisStore`], its [`Store`] implementation and the room's keys;
//! - `scripts.rs`: the typed calls of the Lua scripts (`redis/*.lua`, each prefixed
//!   with `redis/common.lua`);
//! - `dispatch.rs`: subscriptions and the dispatcher that delivers events in order;
//! - `presence.rs`: the rooms this instance follows, its connected members, and each
//!   room's heartbeat.
//!
//! # Keys
//! Every key of a room is named `vroom:{<room hex>}:<part>`; the `{…}` hash tag puts
//! all of them (and the room's pub/sub channel `vroom:{<room hex>}:ch`) in one Redis
//! Cluster slot, so one script can touch them all and deleting the room is one `DEL`.
//! The parts are `meta` (hash), `live` and `gone` (sorted sets of members by deadline),
//! `info` (hash, per member) and `log` (stream of encoded events); `redis/common.lua`
//! describes each. Every key carries a TTL from the moment it exists: each writing
//! script ends by setting all of them to expire when the room would end if nobody
//! acted on it any more.
//!
//! # One round trip per step
//! Every store operation is one Lua script, run with `EVALSHA`: an atomic step for the
//! room and one round trip. Relaying a message is the `publish` script: it checks the
//! members, numbers the event, appends it to the log, trims the log, publishes it once
//! on the room's channel and refreshes the TTLs. Fan-out to recipients happens on each
//! instance, from the one published copy.
//!
//! # Who knows the bytes
//! The scripts never build a frame: the relay encodes each event alone
//! ([`Event::encode`]), the scripts log and publish those bytes with the sequence
//! number they give them, and each instance decodes an event once and encodes its
//! `ServerFrame::Event` once ([`Sequenced::encode`], as the in-process store does), so
//! `vroom_shared::wire` is the one place that knows the frame's layout.
//!
//! # Presence and time
//! Redis's clock is the room's clock, so instances need not agree on time. Connected
//! members sit in `live` with a heartbeat deadline that their instance pushes forward
//! on every tick; the members of an instance that dies stop being refreshed and are
//! treated as dropped connections (grace, then `Left { Disconnected }`). Any instance
//! with connections in the room ends what is due on its tick (idle timeout, maximum
//! lifetime, graces); when no instance is left, the TTLs delete the room. Every script
//! on an existing room first ends it if it is due, so no request acts on a room that
//! should be gone.

mod codes;
mod conn;
mod dispatch;
mod health;
#[cfg(test)]
mod instances;
mod presence;
mod scripts;

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use redis::aio::ConnectionManagerConfig;
use redis::cluster::ClusterClientBuilder;
use redis::{ConnectionInfo, IntoConnectionInfo, PushInfo};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use vroom_shared::wire::{
    CloseReason, ErrorCode, Event, HostHash, HostSecret, JoinProofHash, LeaveReason, MemberId,
    ResumeTokenDebug, RoomId,
};

use self::conn::{Conn, LazyCluster};
use self::dispatch::{run_dispatcher, run_subscriptions, Input, SubCommand};
use self::presence::{Rooms, Timing};
use self::scripts::{call, Logged};
use super::codes::{CodeCaps, CodeResult, Nameplate};
use super::{
    CreateRoom, Fanout, JoinRoom, LogCaps, Replay, Sequenced, SessionId, Store, StoreResult,
    Streamed, Welcome,
};
use crate::config::Config;
use crate::sync::lock;

/// How long one Redis request may take before the relay answers `Unavailable`.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long connecting to Redis may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// A Redis URL (or a cluster's list of them) checked for form (not for reachability:
/// the relay starts, and answers `Unavailable`, while Redis is away).
#[derive(Clone)]
pub struct RedisTarget {
    kind: TargetKind,
}

#[derive(Clone)]
enum TargetKind {
    /// One server; the client is set to RESP3 so pub/sub pushes share the scripts'
    /// connection.
    Single(redis::Client),
    /// A Redis Cluster, reached first through any of these nodes (RESP3 as well), with
    /// the CAs to trust over TLS when not the system's.
    Cluster(Vec<ConnectionInfo>, Option<Vec<u8>>),
}

/// Why a Redis URL was refused. It names the kind of problem only: the URL may hold a
/// password, so it is never quoted.
#[derive(Debug, thiserror::Error)]
pub enum RedisUrlError {
    /// The URL does not parse (wrong scheme, port, database number…).
    #[error("the Redis URL is not valid ({0})")]
    Invalid(String),
    /// The URL parses but the client cannot be built from it.
    #[error("the Redis URL is not usable ({0})")]
    Unusable(String),
    /// One URL of a cluster's list does not parse (counted from 1).
    #[error("Redis Cluster URL number {0} is not valid ({1})")]
    InvalidNode(usize, String),
    /// The cluster's list cannot make a client (for instance, different passwords).
    #[error("the Redis Cluster URLs are not usable together ({0})")]
    UnusableCluster(String),
    /// `--redis-ca-file` cannot be read.
    #[error("the Redis CA file {0} cannot be read ({1})")]
    CaFile(String, String),
}

/// The certificates to trust for Redis over TLS: `ca` (PEM), or the system's.
fn trusted(ca: Option<&[u8]>) -> redis::TlsCertificates {
    redis::TlsCertificates {
        client_tls: None,
        root_cert: ca.map(<[u8]>::to_vec),
    }
}

/// Makes ring the process's TLS crypto provider (for `rediss://`), once.
fn tls_provider() {
    // An error only says that a provider is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// `url` with RESP3 set (pub/sub pushes travel on the commands' connection).
fn resp3(url: &str) -> redis::RedisResult<ConnectionInfo> {
    let info = url.into_connection_info()?;
    let settings = info
        .redis_settings()
        .clone()
        .set_protocol(redis::ProtocolVersion::RESP3);
    Ok(info.set_redis_settings(settings))
}

/// Why a URL was refused, without the URL: the client's fixed description of the
/// problem ("Invalid database number", "Missing hostname"…), never the details, which
/// may quote the URL.
fn url_problem(e: &redis::RedisError) -> String {
    let said = e.to_string();
    match said.split_once(" - ") {
        Some((description, _)) => description.to_owned(),
        None => e.category().to_owned(),
    }
}

impl RedisTarget {
    /// Parses `url` (`redis://[user:password@]host:port[/db]`, or `rediss://` for TLS
    /// with the system's certificate authorities).
    pub fn parse(url: &str) -> Result<RedisTarget, RedisUrlError> {
        RedisTarget::single_with(url, None)
    }

    /// Like [`RedisTarget::parse`], trusting the certificate authorities of `ca` (PEM)
    /// over TLS instead of the system's.
    pub fn single_with(url: &str, ca: Option<&[u8]>) -> Result<RedisTarget, RedisUrlError> {
        tls_provider();
        let info = resp3(url).map_err(|e| RedisUrlError::Invalid(url_problem(&e)))?;
        let client = match ca {
            None => redis::Client::open(info),
            Some(_) => redis::Client::build_with_tls(info, trusted(ca)),
        }
        .map_err(|e| RedisUrlError::Unusable(url_problem(&e)))?;
        Ok(RedisTarget {
            kind: TargetKind::Single(client),
        })
    }

    /// Parses a Redis Cluster's node URLs, separated by commas
    /// (`redis://[user:password@]host:port,redis://host:port…`, or `rediss://`): any one
    /// reachable node is enough to find the others.
    pub fn cluster(urls: &str) -> Result<RedisTarget, RedisUrlError> {
        RedisTarget::cluster_with(urls, None)
    }

    /// Like [`RedisTarget::cluster`], trusting the certificate authorities of `ca` (PEM)
    /// over TLS instead of the system's.
    pub fn cluster_with(urls: &str, ca: Option<&[u8]>) -> Result<RedisTarget, RedisUrlError> {
        tls_provider();
        let nodes = urls
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .enumerate()
            .map(|(i, url)| {
                resp3(url).map_err(|e| RedisUrlError::InvalidNode(i + 1, url_problem(&e)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if nodes.is_empty() {
            return Err(RedisUrlError::UnusableCluster("no URL given".into()));
        }
        let ca = ca.map(<[u8]>::to_vec);
        // Built once here to check the list (same credentials on every node…).
        cluster_builder(&nodes, ca.as_deref())
            .build()
            .map_err(|e| RedisUrlError::UnusableCluster(url_problem(&e)))?;
        Ok(RedisTarget {
            kind: TargetKind::Cluster(nodes, ca),
        })
    }

    /// Whether this target is a Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        matches!(self.kind, TargetKind::Cluster(..))
    }

    /// The target `config` names, if any: `--redis-url` or `--redis-cluster`, with
    /// `--redis-ca-file`.
    pub fn from_config(config: &Config) -> Option<Result<RedisTarget, RedisUrlError>> {
        let ca = match &config.redis_ca_file {
            None => None,
            Some(path) => match std::fs::read(path) {
                Ok(pem) => Some(pem),
                Err(e) => {
                    let path = path.display().to_string();
                    return Some(Err(RedisUrlError::CaFile(path, e.to_string())));
                }
            },
        };
        match (&config.redis_url, &config.redis_cluster) {
            (Some(url), _) => Some(RedisTarget::single_with(&url.0, ca.as_deref())),
            (None, Some(urls)) => Some(RedisTarget::cluster_with(&urls.0, ca.as_deref())),
            (None, None) => None,
        }
    }
}

/// The cluster client's settings, but for the push sender.
fn cluster_builder(nodes: &[ConnectionInfo], ca: Option<&[u8]>) -> ClusterClientBuilder {
    let builder = match ca {
        None => ClusterClientBuilder::new(nodes.to_vec()),
        Some(_) => ClusterClientBuilder::new(nodes.to_vec()).certs(trusted(ca)),
    };
    builder
        .use_protocol(redis::ProtocolVersion::RESP3)
        .connection_timeout(CONNECT_TIMEOUT)
        .response_timeout(RESPONSE_TIMEOUT)
        .retries(3)
        .min_retry_wait(50)
        .max_retry_wait(500)
}

/// The Redis store. Cheap to clone: clones share one connection and one dispatcher.
#[derive(Clone)]
pub struct RedisStore {
    /// Shared state; background tasks hold only a weak reference, so dropping the last
    /// handle stops them.
    inner: Arc<Inner>,
}

/// What the clones of a [`RedisStore`] and its background tasks share.
struct Inner {
    /// One multiplexed RESP3 connection (to a server, or to each node of a cluster) for
    /// scripts and subscriptions; it reconnects by itself and subscribes again to every
    /// channel after a reconnect.
    conn: Conn,
    /// Where events and closures go (the relay's local registry).
    fanout: Arc<dyn Fanout>,
    /// The largest sequence number delivered here, per followed room: every script
    /// gets it as `floor`, so a Redis that lost events this instance delivered (a
    /// failover to a replica that lagged) numbers on above them instead of giving a
    /// number twice. Written by the dispatcher only.
    floors: Mutex<HashMap<RoomId, u64>>,
    /// The rooms this instance has local members in. A std `Mutex`: held for map
    /// operations only, never across an await.
    rooms: Mutex<Rooms>,
    /// Subscription changes, applied in the order they were queued (queued under the
    /// `rooms` lock, so an unsubscribe can never overtake a later subscribe).
    subs: mpsc::UnboundedSender<SubCommand>,
    /// The dispatcher's input (also fed by the connection's push messages).
    dispatch: mpsc::UnboundedSender<Input>,
    /// Heartbeat and expiry settings.
    timing: Timing,
    /// What each room's log keeps.
    log: LogCaps,
    /// The subscription and dispatcher tasks, stopped when the store is dropped.
    tasks: Vec<AbortHandle>,
    /// The last request failed (so the next success is logged as a recovery).
    failing: AtomicBool,
    /// This instance's random number, naming its joiners' channel.
    instance: u64,
    /// Set once this instance follows its joiners' channel.
    joiners: tokio::sync::OnceCell<()>,
    /// Short codes' TTL and caps.
    code_caps: CodeCaps,
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

/// Event `seq` from Redis, decoded once, made into the frame every recipient gets; for
/// a `Left`, also who left and why.
fn sequenced(seq: u64, event: &[u8]) -> Option<(Sequenced, Option<(MemberId, LeaveReason)>)> {
    let event = Event::decode(event).ok()?;
    let left = match event {
        Event::Left { member, reason } => Some((member, reason)),
        _ => None,
    };
    Some((Sequenced::encode(seq, event), left))
}

fn unavailable(err: &redis::RedisError) -> ErrorCode {
    tracing::warn!("redis store: request failed: {}", health::cause(err));
    ErrorCode::Unavailable
}

/// A Redis error in full (what failed, where and why: "Connection refused", "WRONGPASS
/// invalid username-password pair", "MOVED 866 10.0.0.7:6379"…), for the operator.
/// Room ids are masked: should an error quote a key or a channel, it names no room.
pub(crate) fn described(err: &redis::RedisError) -> String {
    let said = err.to_string();
    let mut out = String::with_capacity(said.len());
    let mut rest = said.as_str();
    while let Some(start) = rest.find("vroom:{") {
        let (before, tagged) = rest.split_at(start + "vroom:{".len());
        out.push_str(before);
        match tagged.find('}') {
            Some(end) => {
                out.push('…');
                rest = &tagged[end..];
            }
            None => {
                out.push('…');
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Builds the catch-up answer from logged events: `evicted` is the largest sequence
/// number that has left the log.
fn make_replay(
    member: MemberId,
    after: u64,
    upto: u64,
    evicted: u64,
    logged: Vec<Logged>,
) -> Replay {
    let gap = (after < evicted).then_some((after + 1, evicted));
    let events = logged
        .into_iter()
        .filter(|l| l.seq > after && l.seq <= upto)
        .filter_map(|l| sequenced(l.seq, &l.event))
        .map(|(s, _)| s)
        .filter(|s| s.visible_to(member))
        .collect();
    Replay { gap, events, upto }
}

impl RedisStore {
    /// A store on `target` with the timers and caps from `config`, delivering through
    /// `fanout`. Connects lazily: until Redis answers, requests fail with `Unavailable`.
    /// Must be called inside a Tokio runtime.
    pub fn new(target: RedisTarget, config: &Config, fanout: Arc<dyn Fanout>) -> RedisStore {
        let (dispatch, dispatch_rx) = mpsc::unbounded_channel();
        let (subs, subs_rx) = mpsc::unbounded_channel();
        let pushes = dispatch.clone();
        let push = move |info: PushInfo| pushes.send(Input::Push(info));
        let conn = match target.kind {
            TargetKind::Single(client) => {
                let manager_config = ConnectionManagerConfig::new()
                    .set_response_timeout(Some(RESPONSE_TIMEOUT))
                    .set_connection_timeout(Some(CONNECT_TIMEOUT))
                    .set_number_of_retries(2)
                    .set_max_delay(Duration::from_millis(500))
                    .set_push_sender(push)
                    .set_automatic_resubscription();
                Conn::Single(
                    client
                        .get_connection_manager_lazy(manager_config)
                        .expect("a RESP3 client with a push sender is a valid configuration"),
                )
            }
            TargetKind::Cluster(nodes, ca) => {
                let client = cluster_builder(&nodes, ca.as_deref())
                    .push_sender(push)
                    .build()
                    .expect("the cluster's URLs were checked by RedisTarget::cluster");
                Conn::Cluster(Arc::new(LazyCluster::new(client)))
            }
        };
        let inner = Arc::new_cyclic(|weak: &Weak<Inner>| {
            let tasks = vec![
                tokio::spawn(run_subscriptions(
                    conn.clone(),
                    subs_rx,
                    dispatch.downgrade(),
                ))
                .abort_handle(),
                tokio::spawn(run_dispatcher(weak.clone(), dispatch_rx)).abort_handle(),
                tokio::spawn(health::probe(weak.clone())).abort_handle(),
            ];
            Inner {
                conn,
                fanout,
                floors: Mutex::new(HashMap::new()),
                rooms: Mutex::new(Rooms::new()),
                subs,
                dispatch,
                timing: Timing::new(config.redis_heartbeat, config.grace),
                log: LogCaps::new(config),
                tasks,
                failing: AtomicBool::new(false),
                instance: rand::random(),
                joiners: tokio::sync::OnceCell::new(),
                code_caps: CodeCaps::new(config),
            }
        });
        RedisStore { inner }
    }

    /// Registers a create or join under way and waits until this instance follows the
    /// room's channel.
    async fn enter(&self, room: RoomId) -> StoreResult<()> {
        let mut ready = self.inner.pending(room);
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

    /// Ends a create or join under way: on success the member counts as connected here
    /// and events after `seq` are delivered.
    fn entered(&self, room: RoomId, joined: &StoreResult<Welcome>, session: SessionId) {
        match joined {
            Ok(w) => {
                let _ = self.inner.dispatch.send(Input::Baseline(room, w.seq));
                self.inner.settle(room, Some((w.you, session)));
            }
            Err(_) => self.inner.settle(room, None),
        }
    }

    /// Runs a script that may end a local member's place, and follows the room for its
    /// grace when that left nobody connected.
    async fn ending<C>(&self, room: RoomId, mine: bool, c: C) -> StoreResult<()>
    where
        C: scripts::Call<Reply = scripts::Presence>,
    {
        let result = call(&self.inner, room, &c).await;
        if mine {
            let empty = result.as_ref().is_ok_and(|p| p.empty);
            self.inner.left(room, empty);
        }
        result.map(drop)
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        self.stop_heartbeats();
    }
}

impl Store for RedisStore {
    async fn code_offer(
        &self,
        room: RoomId,
        member: MemberId,
        session: SessionId,
    ) -> CodeResult<Nameplate> {
        self.offer_code(room, member, session).await
    }

    async fn code_end(
        &self,
        room: RoomId,
        member: MemberId,
        nameplate: u32,
        burn: bool,
    ) -> StoreResult<()> {
        self.end_code(room, member, nameplate, burn).await
    }

    async fn code_open(&self, nameplate: u32, exchange: u64, hello: &[u8]) -> CodeResult<RoomId> {
        self.open_code(nameplate, exchange, hello).await
    }

    async fn code_to_member(
        &self,
        room: RoomId,
        nameplate: u32,
        exchange: u64,
        payload: &[u8],
    ) -> CodeResult<()> {
        self.code_message_to_member(room, nameplate, exchange, payload)
            .await
    }

    async fn code_to_joiner(
        &self,
        room: RoomId,
        member: MemberId,
        exchange: u64,
        payload: &[u8],
    ) -> StoreResult<()> {
        self.code_message_to_joiner(room, member, exchange, payload)
            .await
    }

    async fn create(&self, req: CreateRoom) -> StoreResult<Welcome> {
        self.enter(req.room).await?;
        let member = req.newcomer.member;
        let t = self.inner.timing;
        let l = req.limits;
        let create = scripts::Create {
            host: &req.host,
            creator: scripts::Arrival::new(&req.newcomer, req.session, t.presence),
            max_members: l.max_members,
            idle_secs: l.idle_timeout_secs,
            lifetime_secs: l.max_lifetime_secs,
            grace_secs: l.grace_secs,
            max_payload: l.max_payload,
            max_file: l.max_file,
            grace: t.grace,
            slack: t.slack,
            buffer: self.inner.log.events,
            buffer_bytes: self.inner.log.bytes,
        };
        let result = call(&self.inner, req.room, &create)
            .await
            .map(|()| Welcome {
                you: member,
                token: ResumeTokenDebug(req.newcomer.token),
                host: member,
                members: vec![member],
                seq: 0,
                locked: false,
                limits: req.limits,
                resumed: false,
                replay: Replay::default(),
            });
        self.entered(req.room, &result, req.session);
        result
    }

    async fn join(&self, req: JoinRoom) -> StoreResult<Welcome> {
        self.enter(req.room).await?;
        let join = scripts::Join {
            newcomer: scripts::Arrival::new(&req.newcomer, req.session, self.inner.timing.presence),
            resume_member: req.resume.map(|r| r.member),
            resume_token: req.resume.as_ref().map(|r| &r.token),
            after: req.after,
            proof: req.proof.as_ref(),
        };
        let result = call(&self.inner, req.room, &join).await.map(|j| {
            let token = req.resume.map_or(req.newcomer.token, |r| r.token);
            let replay = match req.after {
                Some(after) => make_replay(j.you, after, j.seq, j.evicted, j.logged),
                None => Replay::default(),
            };
            Welcome {
                you: j.you,
                token: ResumeTokenDebug(token),
                host: j.host,
                members: j.members,
                seq: j.seq,
                locked: j.locked,
                limits: j.limits,
                resumed: j.resumed,
                replay,
            }
        });
        self.entered(req.room, &result, req.session);
        result
    }

    async fn publish(
        &self,
        room: RoomId,
        from: MemberId,
        to: Option<MemberId>,
        payload: &[u8],
    ) -> StoreResult<()> {
        let publish = scripts::Publish {
            from,
            to,
            event: &Event::Message { from, to, payload }.encode(),
        };
        let seq = match call(&self.inner, room, &publish).await {
            Err(ErrorCode::UnknownRoom) if self.inner.is_local(room, from) => {
                // A member connected here is in a room Redis no longer has: Redis lost
                // it (restarted without its data, or the keys were deleted). Its
                // members are told so at once, not at the next heartbeat.
                let _ = self
                    .inner
                    .dispatch
                    .send(Input::Vanished(room, CloseReason::StorageLost));
                return Err(ErrorCode::UnknownRoom);
            }
            other => other?,
        };
        tracing::trace!(seq, "redis store: message published");
        Ok(())
    }

    async fn stream(&self, room: RoomId, packet: Streamed) -> StoreResult<()> {
        // One script beside the room's events, never touching its log: it checks both
        // members and restarts the idle timer, then every instance with members in the
        // room delivers the packet (this one too, when the message comes back).
        let stream = scripts::Stream {
            from: packet.from,
            to: packet.to,
            packet: &packet.frame,
        };
        call(&self.inner, room, &stream).await
    }

    async fn replay(&self, room: RoomId, member: MemberId, after: u64) -> StoreResult<Replay> {
        let r = call(&self.inner, room, &scripts::ReplayLog { member, after }).await?;
        Ok(make_replay(member, after, r.seq, r.evicted, r.logged))
    }

    async fn lock(&self, room: RoomId, secret: &HostSecret, locked: bool) -> StoreResult<()> {
        let lock = scripts::Lock {
            host: &secret.hash(),
            locked,
            event: &Event::Locked { locked }.encode(),
        };
        call(&self.inner, room, &lock).await
    }

    async fn rotate(
        &self,
        room: RoomId,
        secret: &HostSecret,
        proof: JoinProofHash,
        renewal: u32,
    ) -> StoreResult<()> {
        let rotate = scripts::Rotate {
            host: &secret.hash(),
            proof: &proof,
            renewal,
        };
        call(&self.inner, room, &rotate).await
    }

    async fn kick(&self, room: RoomId, secret: &HostSecret, member: MemberId) -> StoreResult<()> {
        // The instance holding the member's connection closes it when the `Left`
        // event reaches it.
        let kick = scripts::Kick {
            host: &secret.hash(),
            member,
            event: &left(member, LeaveReason::Kicked),
        };
        call(&self.inner, room, &kick).await.map(drop)
    }

    async fn terminate(&self, room: RoomId, secret: &HostSecret) -> StoreResult<()> {
        let host = secret.hash();
        call(&self.inner, room, &scripts::Terminate { host: &host }).await
    }

    async fn hand_over(&self, room: RoomId, secret: &HostSecret, to: MemberId) -> StoreResult<()> {
        let hand_over = scripts::HandOver {
            host: &secret.hash(),
            to,
            event: &Event::HostChanged { host: to }.encode(),
        };
        call(&self.inner, room, &hand_over).await
    }

    async fn set_cap(
        &self,
        room: RoomId,
        secret: &HostSecret,
        max_members: u32,
    ) -> StoreResult<()> {
        let cap = scripts::SetCap {
            host: &secret.hash(),
            max_members,
        };
        call(&self.inner, room, &cap).await
    }

    async fn set_moderator(
        &self,
        room: RoomId,
        secret: &HostSecret,
        member: MemberId,
        on: bool,
    ) -> StoreResult<()> {
        let set = scripts::SetModerator {
            host: &secret.hash(),
            member,
            on,
        };
        call(&self.inner, room, &set).await
    }

    async fn moderator_kick(
        &self,
        room: RoomId,
        by: MemberId,
        member: MemberId,
        proof: JoinProofHash,
        renewal: u32,
    ) -> StoreResult<()> {
        // As for the host's kick, the instance holding the member's connection closes it
        // when the `Left` event reaches it.
        let kick = scripts::ModeratorKick {
            by,
            member,
            proof: &proof,
            renewal,
            event: &left(member, LeaveReason::Kicked),
        };
        call(&self.inner, room, &kick).await.map(drop)
    }

    async fn moderator_lock(&self, room: RoomId, by: MemberId, locked: bool) -> StoreResult<()> {
        let lock = scripts::ModeratorLock {
            by,
            locked,
            event: &Event::Locked { locked }.encode(),
        };
        call(&self.inner, room, &lock).await
    }

    async fn claim_host(&self, room: RoomId, member: MemberId, host: HostHash) -> StoreResult<()> {
        let claim = scripts::ClaimHost {
            member,
            host: &host,
        };
        call(&self.inner, room, &claim).await
    }

    async fn leave(&self, room: RoomId, member: MemberId) -> StoreResult<()> {
        let mine = self.inner.leaving(room, member, None);
        let event = left(member, LeaveReason::Left);
        self.ending(
            room,
            mine,
            scripts::Leave {
                member,
                event: &event,
            },
        )
        .await
    }

    async fn disconnect(
        &self,
        room: RoomId,
        member: MemberId,
        session: SessionId,
    ) -> StoreResult<()> {
        let mine = self.inner.leaving(room, member, Some(session));
        self.ending(room, mine, scripts::Disconnect { member, session })
            .await
    }

    fn room_count(&self) -> usize {
        // Rooms this instance has members in; the total lives in Redis.
        lock(&self.inner.rooms).len()
    }

    async fn health(&self) -> Result<(), String> {
        let mut conn = self.inner.conn.clone();
        match redis::cmd("PING")
            .query_async::<redis::Value>(&mut conn)
            .await
        {
            Ok(_) => {
                self.inner.answered();
                Ok(())
            }
            Err(e) => {
                self.inner.failed(&e);
                Err(health::cause(&e))
            }
        }
    }
}

/// The encoded `Left` event of `member`.
fn left(member: MemberId, reason: LeaveReason) -> Vec<u8> {
    Event::Left { member, reason }.encode()
}

#[cfg(test)]
use vroom_testkit::redis as redis_server;

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use super::redis_server::RedisServer;
    use crate::config::Config;

    /// One `redis-server` for the whole suite: every test uses rooms of its own.
    pub(super) fn shared_redis() -> &'static RedisServer {
        static REDIS: OnceLock<RedisServer> = OnceLock::new();
        REDIS.get_or_init(RedisServer::start_for_process)
    }

    /// A store of the suite on `target`, with a heartbeat short enough for its timers.
    pub(super) fn suite_store(
        target: super::RedisTarget,
        config: Config,
        fanout: std::sync::Arc<dyn crate::store::Fanout>,
    ) -> super::RedisStore {
        let config = Config {
            redis_heartbeat: std::time::Duration::from_millis(100),
            ..config
        };
        super::RedisStore::new(target, &config, fanout)
    }

    store_suite!(false, |config: Config, fanout| async move {
        let target = super::RedisTarget::parse(&shared_redis().url()).unwrap();
        suite_store(target, config, fanout)
    });

    /// A Redis that lost events an instance delivered (a replica promoted before it
    /// had them) numbers on above them: no number ever names two events, and a
    /// catch-up reports the lost ones as a gap.
    #[tokio::test]
    async fn events_lost_by_redis_are_a_gap_and_their_numbers_are_never_reused() {
        use std::sync::Arc;
        use std::time::Duration;

        use vroom_shared::wire::{HostSecret, MemberId, ResumeToken, RoomId};

        use super::RedisStore;
        use crate::store::{CreateRoom, Newcomer, SessionId, Store};
        use crate::sync::lock;

        let redis = shared_redis();
        let config = Config::default();
        let target = super::RedisTarget::parse(&redis.url()).unwrap();
        let store = RedisStore::new(target, &config, Arc::new(Nowhere));
        let room = RoomId([0xc7; 16]);
        let w = store
            .create(CreateRoom {
                room,
                host: HostSecret([7; 32]).hash(),
                limits: config.room_limits(Default::default()),
                newcomer: Newcomer {
                    member: MemberId(1),
                    token: ResumeToken([1; 16]),
                },
                session: SessionId(1),
            })
            .await
            .unwrap();
        for text in [b"two", b"six", b"ten"] {
            store.publish(room, w.you, None, text).await.unwrap();
        }
        for _ in 0..500 {
            if lock(&store.inner.floors).get(&room) == Some(&4) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(lock(&store.inner.floors).get(&room), Some(&4));
        // Redis forgets events 2 to 4.
        set_meta(redis, room, "seq", 1);
        let [_, _, _, _, log] = super::keys(room);
        let _: () = redis::cmd("XDEL")
            .arg(&log)
            .arg(&["2-0", "3-0", "4-0"])
            .query(&mut redis.connection())
            .unwrap();
        store.publish(room, w.you, None, b"after").await.unwrap();
        let replay = store.replay(room, w.you, 1).await.unwrap();
        assert_eq!(replay.gap, Some((2, 4)));
        let seqs: Vec<u64> = replay.events.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, [5]);
        store.terminate(room, &HostSecret([7; 32])).await.unwrap();
    }

    /// Sets a field of the room's meta hash behind the store's back.
    fn set_meta(redis: &RedisServer, room: vroom_shared::wire::RoomId, field: &str, value: u64) {
        let _: () = redis::cmd("HSET")
            .arg(format!("vroom:{{{}}}:meta", room.to_hex()))
            .arg(field)
            .arg(value)
            .query(&mut redis.connection())
            .unwrap();
    }

    /// A fan-out for a store whose deliveries the test does not watch.
    struct Nowhere;

    impl crate::store::Fanout for Nowhere {
        fn signal(&self, _: vroom_shared::wire::RoomId, _: crate::store::Signal<'_>) {}
    }

    /// Every request on a room past its lifetime ends the room (publishing why) and is
    /// refused, as with the in-process store, whose timer would have ended it: here no
    /// instance ticks the room, so only the request's script can notice.
    #[tokio::test]
    async fn a_request_on_a_room_past_its_lifetime_ends_it_first() {
        use std::sync::Arc;
        use std::time::Duration;

        use vroom_shared::wire::{ErrorCode, HostSecret, MemberId, ResumeToken, RoomId};

        use super::RedisStore;
        use crate::store::{CreateRoom, JoinRoom, Newcomer, SessionId, Store};

        let redis = shared_redis();
        let config = Config {
            redis_heartbeat: Duration::from_secs(60),
            ..Config::default()
        };
        let target = super::RedisTarget::parse(&redis.url()).unwrap();
        let asks = [
            "publish",
            "replay",
            "lock",
            "kick",
            "terminate",
            "leave",
            "disconnect",
            "join",
        ];
        for (i, ask) in asks.into_iter().enumerate() {
            let room = RoomId([0xd0 + i as u8; 16]);
            let host = HostSecret([i as u8; 32]);
            let newcomer = |n: u64| Newcomer {
                member: MemberId(n),
                token: ResumeToken([n as u8; 16]),
            };
            let creator = RedisStore::new(target.clone(), &config, Arc::new(Nowhere));
            let w = creator
                .create(CreateRoom {
                    room,
                    host: host.hash(),
                    limits: config.room_limits(Default::default()),
                    newcomer: newcomer(1),
                    session: SessionId(1),
                })
                .await
                .unwrap();
            // The instance that follows the room (and would tick it) is gone.
            drop(creator);
            let store = RedisStore::new(target.clone(), &config, Arc::new(Nowhere));
            set_meta(redis, room, "deadline", 1);
            let meta = format!("vroom:{{{}}}:meta", room.to_hex());
            let mut conn = redis.connection();
            let mut listener = redis.connection();
            let mut channel = listener.as_pubsub();
            channel
                .subscribe(format!("vroom:{{{}}}:ch", room.to_hex()))
                .unwrap();
            channel
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let answer = match ask {
                "publish" => store.publish(room, w.you, None, b"late").await,
                "replay" => store.replay(room, w.you, 0).await.map(drop),
                "lock" => store.lock(room, &host, true).await,
                "kick" => store.kick(room, &host, w.you).await,
                "terminate" => store.terminate(room, &host).await,
                "leave" => store.leave(room, w.you).await,
                "disconnect" => store.disconnect(room, w.you, SessionId(1)).await,
                _ => store
                    .join(JoinRoom {
                        room,
                        resume: None,
                        newcomer: newcomer(2),
                        after: None,
                        session: SessionId(2),
                        proof: None,
                    })
                    .await
                    .map(drop),
            };
            assert_eq!(answer, Err(ErrorCode::UnknownRoom), "{ask}");
            let message = channel.get_message().unwrap();
            assert_eq!(message.get_payload_bytes(), b"closed:max_lifetime", "{ask}");
            let exists: bool = redis::cmd("EXISTS").arg(&meta).query(&mut conn).unwrap();
            assert!(!exists, "{ask}: the room's keys are still there");
        }
    }
}

/// The same suite on a real local Redis Cluster (three masters, three replicas).
#[cfg(test)]
mod cluster_tests {
    use std::sync::OnceLock;

    use vroom_testkit::redis_cluster::RedisCluster;

    use super::tests::suite_store;
    use crate::config::Config;

    /// One cluster for the whole suite: every test uses rooms of its own.
    pub(super) fn shared_cluster() -> &'static RedisCluster {
        static CLUSTER: OnceLock<RedisCluster> = OnceLock::new();
        CLUSTER.get_or_init(RedisCluster::start_for_process)
    }

    store_suite!(false, |config: Config, fanout| async move {
        let target = super::RedisTarget::cluster(&shared_cluster().urls()).unwrap();
        suite_store(target, config, fanout)
    });
}

#[cfg(test)]
mod unit {
    use vroom_shared::wire::ServerFrame;

    use super::*;

    #[test]
    fn an_event_from_redis_becomes_the_frame_the_memory_store_makes() {
        let event = left(MemberId(9), LeaveReason::Kicked);
        let (made, gone) = sequenced(300, &event).unwrap();
        let expected = ServerFrame::Event {
            seq: 300,
            event: Event::Left {
                member: MemberId(9),
                reason: LeaveReason::Kicked,
            },
        }
        .encode();
        assert_eq!(made.frame, expected);
        assert_eq!((made.seq, made.to), (300, None));
        assert_eq!(gone, Some((MemberId(9), LeaveReason::Kicked)));
        assert!(sequenced(1, &[0xff, 0xff]).is_none());
    }

    #[test]
    fn a_refused_redis_url_is_never_quoted() {
        let Err(err) = RedisTarget::parse("redis://vroom:hunter2@localhost:notaport/0") else {
            panic!("a URL with a bad port was accepted");
        };
        let said = err.to_string();
        assert!(said.starts_with("the Redis URL is not valid"), "{said}");
        assert!(!said.contains("hunter2") && !format!("{err:?}").contains("hunter2"));
        assert!(RedisTarget::parse("redis://localhost:6380/0").is_ok());
    }

    #[test]
    fn a_cluster_url_list_names_the_refused_url_by_position() {
        let Err(err) = RedisTarget::cluster(
            "redis://vroom:hunter2@10.0.0.1:7000, redis://vroom:hunter2@10.0.0.2:notaport",
        ) else {
            panic!("a list with a bad port was accepted");
        };
        let said = err.to_string();
        assert!(
            said.starts_with("Redis Cluster URL number 2 is not valid"),
            "{said}"
        );
        assert!(!said.contains("hunter2") && !format!("{err:?}").contains("hunter2"));
        assert!(RedisTarget::cluster(" , ").is_err());
        let two = RedisTarget::cluster("redis://10.0.0.1:7000,redis://10.0.0.2:7000").unwrap();
        assert!(two.is_cluster());
        assert!(!RedisTarget::parse("redis://10.0.0.1:7000")
            .unwrap()
            .is_cluster());
    }

    #[test]
    fn a_logged_redis_error_names_no_room() {
        let key = keys(RoomId([0xab; 16]))[0].clone();
        let err = redis::RedisError::from((
            redis::ErrorKind::Io,
            "Connection refused",
            format!("while writing {key} and {key}"),
        ));
        let said = described(&err);
        assert!(said.contains("Connection refused"), "{said}");
        assert!(!said.contains("abab"), "{said}");
        assert!(said.contains("vroom:{…}:meta"), "{said}");
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
