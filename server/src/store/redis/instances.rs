//! Two store instances (as in two relays) sharing one Redis, and one Redis Cluster: one
//! order of events, one end.

use std::sync::Arc;
use std::time::Duration;

use vroom_shared::wire::{
    CloseReason, ErrorCode, HostSecret, MemberId, ResumeToken, RoomId, RoomLimits,
};

use super::cluster_tests::shared_cluster;
use super::tests::shared_redis;
use super::{RedisStore, RedisTarget};
use crate::config::Config;
use crate::store::tests::{Recorder, Seen};
use crate::store::{CreateRoom, JoinRoom, Newcomer, SessionId, Store};

#[tokio::test]
async fn two_instances_share_one_order_and_one_end_on_one_redis() {
    let redis = shared_redis();
    let target = RedisTarget::parse(&redis.url()).unwrap();
    two_instances_share_one_order_and_one_end(target, || redis.keys_with_ttl()).await;
}

#[tokio::test]
async fn two_instances_share_one_order_and_one_end_on_a_cluster() {
    let cluster = shared_cluster();
    let target = RedisTarget::cluster(&cluster.urls()).unwrap();
    two_instances_share_one_order_and_one_end(target, || cluster.keys_with_ttl()).await;
}

fn newcomer(n: u64) -> Newcomer {
    Newcomer {
        member: MemberId(u64::MAX - n),
        token: ResumeToken([n as u8; 16]),
    }
}

/// Two instances on `target`; `keys` lists every key of the Redis with its TTL.
async fn two_instances_share_one_order_and_one_end(
    target: RedisTarget,
    keys: impl Fn() -> Vec<(String, i64)>,
) {
    let config = Config {
        grace: Duration::from_millis(600),
        redis_heartbeat: Duration::from_millis(100),
        ..Config::default()
    };
    let every_key_expires = || {
        let forever: Vec<String> = keys()
            .into_iter()
            .filter(|(_, ttl)| *ttl < 0)
            .map(|(key, _)| key)
            .collect();
        assert!(forever.is_empty(), "these keys have no TTL: {forever:?}");
    };
    let (seen_a, seen_b) = (Arc::new(Recorder::default()), Arc::new(Recorder::default()));
    let a = RedisStore::new(target.clone(), &config, seen_a.clone());
    let b = RedisStore::new(target, &config, seen_b.clone());
    let host = HostSecret([7; 32]);
    let r = RoomId([0xe1; 16]);
    let w = a
        .create(CreateRoom {
            room: r,
            host: host.hash(),
            limits: RoomLimits {
                max_members: 5,
                idle_timeout_secs: 60,
                max_lifetime_secs: 600,
                grace_secs: 1,
                max_payload: 1024,
                max_file: 1 << 20,
            },
            newcomer: newcomer(1),
            session: SessionId(1),
        })
        .await
        .unwrap();
    assert_eq!(w.seq, 0);
    every_key_expires();
    let w2 = b
        .join(JoinRoom {
            room: r,
            resume: None,
            newcomer: newcomer(2),
            after: Some(0),
            session: SessionId(2),
            proof: None,
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
    every_key_expires();
    // Both see the same events in the same order: the creator its own `Joined` too.
    let seqs = |seen: Vec<Seen>| seen.iter().filter_map(Seen::seq).collect::<Vec<_>>();
    let till_last = |s: &[Seen]| s.last().and_then(Seen::seq) == Some(12);
    assert_eq!(
        seqs(seen_b.take_when(r, till_last).await),
        (2..=12).collect::<Vec<_>>()
    );
    assert_eq!(
        seqs(seen_a.take_when(r, till_last).await),
        (1..=12).collect::<Vec<_>>()
    );
    assert_eq!(
        b.terminate(r, &HostSecret([8; 32])).await,
        Err(ErrorCode::BadHostSecret)
    );
    b.terminate(r, &host).await.unwrap();
    let closed = |s: &[Seen]| s.last() == Some(&Seen::RoomClosed(CloseReason::Terminated));
    seen_a.take_when(r, closed).await;
    seen_b.take_when(r, closed).await;
    let tag = format!("{{{}}}", r.to_hex());
    assert!(keys().iter().all(|(key, _)| !key.contains(&tag)));
    assert_eq!(a.room_count() + b.room_count(), 0);
}
