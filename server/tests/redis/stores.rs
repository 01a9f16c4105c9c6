//! Two or three store instances (as in two or three relays) sharing one Redis, or
//! one Redis Cluster.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use vroom_relay::store::{
    CreateRoom, Fanout, JoinRoom, Newcomer, RedisStore, SessionId, Signal, Store,
};
use vroom_relay::Config;
use vroom_shared::wire::{
    CloseReason, ErrorCode, HostSecret, MemberId, ResumeToken, RoomId, RoomLimits, ServerFrame,
};

use crate::backend::{on_both, Backend};

/// What one instance's fan-out was handed, in order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Seen {
    Event(u64),
    MemberClosed(MemberId, CloseReason),
    RoomClosed(CloseReason),
}

#[derive(Default)]
pub(crate) struct Recorder {
    seen: Mutex<Vec<(RoomId, Seen)>>,
}

impl Fanout for Recorder {
    fn signal(&self, room: RoomId, signal: Signal<'_>) {
        let seen = match signal {
            Signal::Event(e) => {
                assert!(
                    matches!(ServerFrame::decode(&e.frame), Ok(ServerFrame::Event { seq, .. }) if seq == e.seq)
                );
                Seen::Event(e.seq)
            }
            Signal::MemberClosed { member, reason } => Seen::MemberClosed(member, reason),
            Signal::RoomClosed(reason) => Seen::RoomClosed(reason),
        };
        self.seen.lock().unwrap().push((room, seen));
    }
}

impl Recorder {
    pub(crate) fn seen(&self, room: RoomId) -> Vec<Seen> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|(r, _)| *r == room)
            .map(|(_, s)| s.clone())
            .collect()
    }

    pub(crate) async fn wait_for(&self, room: RoomId, what: impl Fn(&[Seen]) -> bool) -> Vec<Seen> {
        for _ in 0..500 {
            let seen = self.seen(room);
            if what(&seen) {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("never saw the expected signals; saw {:?}", self.seen(room));
    }
}

pub(crate) fn config() -> Config {
    Config {
        grace: Duration::from_millis(600),
        redis_heartbeat: Duration::from_millis(100),
        ..Config::default()
    }
}

pub(crate) fn instance(redis: &Backend, config: &Config) -> (RedisStore, Arc<Recorder>) {
    let recorder = Arc::new(Recorder::default());
    (
        RedisStore::new(redis.target(), config, recorder.clone()),
        recorder,
    )
}

pub(crate) fn limits(idle: u32, life: u32) -> RoomLimits {
    RoomLimits {
        max_members: 5,
        idle_timeout_secs: idle,
        max_lifetime_secs: life,
        grace_secs: 1,
        max_payload: 1024,
        max_file: 1 << 20,
    }
}

pub(crate) fn newcomer(n: u64) -> Newcomer {
    Newcomer {
        member: MemberId(u64::MAX - n),
        token: ResumeToken([n as u8; 16]),
    }
}

pub(crate) fn room(n: u8) -> RoomId {
    RoomId([n; 16])
}

on_both!(
    two_instances_share_one_order_and_one_end,
    one_relayed_message_is_one_script_call,
);

async fn two_instances_share_one_order_and_one_end(redis: Backend) {
    let config = config();
    let (a, seen_a) = instance(&redis, &config);
    let (b, seen_b) = instance(&redis, &config);
    let host = HostSecret([7; 32]);
    let r = room(1);
    let w = a
        .create(CreateRoom {
            room: r,
            host: host.hash(),
            limits: limits(60, 600),
            newcomer: newcomer(1),
            session: SessionId(1),
        })
        .await
        .unwrap();
    assert_eq!(w.seq, 0);
    redis.assert_every_key_expires();
    let w2 = b
        .join(JoinRoom {
            room: r,
            resume: None,
            newcomer: newcomer(2),
            after: Some(0),
            session: SessionId(2),
        })
        .await
        .unwrap();
    assert_eq!(w2.members, vec![newcomer(1).member, newcomer(2).member]);
    assert_eq!(w2.seq, 1);
    assert_eq!(w2.replay.events.len(), 1);
    for i in 0..10u8 {
        let (store, from) = if i % 2 == 0 { (&a, 1) } else { (&b, 2) };
        store
            .publish(r, newcomer(from).member, None, &[i; 20])
            .await
            .unwrap();
    }
    redis.assert_every_key_expires();
    let want: Vec<Seen> = (2..=12).map(Seen::Event).collect();
    seen_a.wait_for(r, |s| s.last() == want.last()).await;
    seen_b.wait_for(r, |s| s.last() == want.last()).await;
    assert_eq!(seen_b.seen(r), want);
    assert_eq!(seen_a.seen(r)[1..], want[..]);
    assert_eq!(
        b.terminate(r, &HostSecret([8; 32])).await,
        Err(ErrorCode::BadHostSecret)
    );
    b.terminate(r, &host).await.unwrap();
    seen_a
        .wait_for(r, |s| {
            s.last() == Some(&Seen::RoomClosed(CloseReason::Terminated))
        })
        .await;
    seen_b
        .wait_for(r, |s| {
            s.last() == Some(&Seen::RoomClosed(CloseReason::Terminated))
        })
        .await;
    assert!(redis.room_keys(r).is_empty());
    assert_eq!(a.room_count() + b.room_count(), 0);
}

/// The Redis commands one relayed broadcast runs inside its one `EVALSHA publish`, as
/// ARCHITECTURE.md lists them ("Relaying one message = one round trip").
const COMMANDS_PER_MESSAGE: [(&str, u64); 11] = [
    ("time", 1),
    ("exists", 1),
    ("hmget", 1),
    ("zscore", 1),
    ("hset", 2),
    ("hincrby", 1),
    ("xadd", 1),
    ("xlen", 1),
    ("publish", 1),
    ("zrange", 1),
    ("pexpireat", 5),
];

/// On a cluster the publication is sharded: `spublish` instead of `publish`.
async fn one_relayed_message_is_one_script_call(redis: Backend) {
    let publish = match redis {
        Backend::Single(_) => "publish",
        Backend::Cluster(_) => "spublish",
    };
    // A heartbeat far beyond the test, so at most the room's first tick can fall into
    // a measurement; a window it fell into is measured again.
    let config = Config {
        redis_heartbeat: Duration::from_secs(3600),
        ..config()
    };
    let (a, _seen) = instance(&redis, &config);
    let r = room(2);
    a.create(CreateRoom {
        room: r,
        host: HostSecret([1; 32]).hash(),
        limits: limits(60, 600),
        newcomer: newcomer(1),
        session: SessionId(1),
    })
    .await
    .unwrap();
    // Warm up (the script gets loaded), then count.
    a.publish(r, newcomer(1).member, None, b"x").await.unwrap();
    let n = 20;
    let mut windows = 0;
    let calls = loop {
        redis.reset_stats();
        for _ in 0..n {
            a.publish(r, newcomer(1).member, None, b"hello")
                .await
                .unwrap();
        }
        let calls = redis.command_calls();
        windows += 1;
        if calls.get("evalsha").copied() == Some(n) || windows == 3 {
            break calls;
        }
    };
    println!("commands for {n} relayed messages: {calls:?}");
    let evalsha = calls.get("evalsha").copied().unwrap_or(0);
    // Heartbeats also run as EVALSHA; each publishes nothing.
    assert!(evalsha >= n && evalsha <= n + 5, "{calls:?}");
    assert_eq!(calls.get(publish).copied().unwrap_or(0), n, "{calls:?}");
    // One script call per message, and inside it exactly the listed commands.
    assert_eq!(evalsha, n, "a heartbeat ran in every window: {calls:?}");
    // What remains after the script calls and the test's own `CONFIG RESETSTAT` (and,
    // on a cluster, `CLUSTER NODES` to find the masters and the replicas' `REPLCONF`
    // acknowledgements) ran inside the scripts.
    let inside: BTreeMap<&str, u64> = calls
        .iter()
        .filter(|(name, _)| {
            !["evalsha", "config|resetstat", "cluster|nodes", "replconf"].contains(&name.as_str())
        })
        .map(|(name, count)| (name.as_str(), *count))
        .collect();
    let listed: BTreeMap<&str, u64> = COMMANDS_PER_MESSAGE
        .iter()
        .map(|(name, count)| (if *name == "publish" { publish } else { name }, count * n))
        .collect();
    assert_eq!(inside, listed);
    let per_message: u64 = COMMANDS_PER_MESSAGE.iter().map(|(_, count)| count).sum();
    assert_eq!(
        per_message, 16,
        "ARCHITECTURE.md says 16 commands per message"
    );
}
