//! A store instance (as in a relay) on one Redis, or one Redis Cluster: what one relayed
//! message costs in Redis commands. (Several instances sharing a room are tested in the
//! store's own tests, `store/redis/instances.rs`, and with relays in `relays.rs`.)

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use vroom_relay::store::{
    CreateRoom, Fanout, JoinRoom, Newcomer, RedisStore, SessionId, Signal, Store,
};
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

/// The host secret of the rooms these tests create.
const HOST: HostSecret = HostSecret([1; 32]);

fn newcomer(n: u8) -> Newcomer {
    Newcomer {
        member: MemberId(n.into()),
        token: ResumeToken([n; 16]),
    }
}

/// Creates room `r` on `store`, with member 1 (on connection 1) as its host.
async fn create(store: &RedisStore, config: &Config, r: RoomId) {
    store
        .create(CreateRoom {
            room: r,
            host: HOST.hash(),
            limits: config.room_limits(Default::default()),
            newcomer: newcomer(1),
            session: SessionId(1),
        })
        .await
        .unwrap();
}

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
    create(&a, &config, r).await;
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

on_both!(every_key_of_a_room_exists_while_the_room_does);

/// The room's five keys exist from its creation to its end, whoever is connected or
/// holds a place: while a cluster moves the room's slot, a node runs a script only if
/// it holds every key the script names (`TRYAGAIN` otherwise, for the whole move).
async fn every_key_of_a_room_exists_while_the_room_does(redis: Backend) {
    let config = Config {
        redis_heartbeat: Duration::from_millis(100),
        grace: Duration::from_secs(30),
        ..Config::default()
    };
    let a = RedisStore::new(redis.target(), &config, Arc::new(Nowhere));
    let r = RoomId([3; 16]);
    create(&a, &config, r).await;
    let parts = || {
        let mut parts: Vec<String> = redis
            .room_keys(r)
            .iter()
            .filter_map(|key| Some(key.rsplit_once(':')?.1.to_owned()))
            .collect();
        parts.sort();
        parts
    };
    let every = ["gone", "info", "live", "log", "meta"];
    assert_eq!(parts(), every, "once the room is created");
    a.join(JoinRoom {
        room: r,
        resume: None,
        newcomer: newcomer(2),
        after: None,
        session: SessionId(2),
        proof: None,
    })
    .await
    .unwrap();
    // The host's connection drops: a member in its grace.
    a.disconnect(r, MemberId(1), SessionId(1)).await.unwrap();
    assert_eq!(parts(), every, "with a member in its grace");
    // Both leave for good: nobody holds a place while the room waits out its grace.
    a.leave(r, MemberId(2)).await.unwrap();
    a.leave(r, MemberId(1)).await.unwrap();
    assert_eq!(parts(), every, "with nobody in the room");
    a.terminate(r, &HOST).await.unwrap();
    assert_eq!(
        redis.room_keys(r),
        Vec::<String>::new(),
        "after the room's end"
    );
}
