//! A store instance (as in a relay) on one Redis, or one Redis Cluster: what one relayed
//! message costs in Redis commands. (Several instances sharing a room are tested in the
//! store's own tests, `store/redis/instances.rs`, and with relays in `relays.rs`.)

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use vroom_relay::store::{CreateRoom, Fanout, Newcomer, RedisStore, SessionId, Signal, Store};
use vroom_relay::Config;
use vroom_shared::wire::{HostSecret, MemberId, ResumeToken, RoomId};

use crate::backend::{on_both, Backend};

/// A fan-out for a store whose deliveries the test does not watch.
struct Nowhere;

impl Fanout for Nowhere {
    fn signal(&self, _: RoomId, _: Signal<'_>) {}
}

on_both!(one_relayed_message_is_one_script_call);

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
        grace: Duration::from_millis(600),
        ..Config::default()
    };
    let a = RedisStore::new(redis.target(), &config, Arc::new(Nowhere));
    let r = RoomId([2; 16]);
    let host = Newcomer {
        member: MemberId(1),
        token: ResumeToken([1; 16]),
    };
    let limits = config.room_limits(Default::default());
    let create = CreateRoom {
        room: r,
        host: HostSecret([1; 32]).hash(),
        limits,
        newcomer: host,
        session: SessionId(1),
    };
    a.create(create).await.unwrap();
    // Warm up (the script gets loaded), then count.
    a.publish(r, MemberId(1), None, b"x").await.unwrap();
    let n = 20;
    let mut windows = 0;
    let calls = loop {
        redis.reset_stats();
        for _ in 0..n {
            a.publish(r, MemberId(1), None, b"hello").await.unwrap();
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
