//! The two Redis deployments every multi-instance test runs on: one `redis-server`, and
//! a local Redis Cluster of three masters with one replica each.

use vroom_relay::config::RedisUrl;
use vroom_relay::store::RedisTarget;
use vroom_relay::Config;
use vroom_shared::wire::RoomId;
use vroom_testkit::redis::RedisServer;
use vroom_testkit::redis_cluster::RedisCluster;

/// A Redis the test started: one server or a cluster.
pub(crate) enum Backend {
    Single(RedisServer),
    Cluster(RedisCluster),
}

/// Generates, for an `async fn name(backend: Backend)`, a module `name` with one test
/// on a single Redis and one on a cluster.
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn single() {
                super::$name($crate::backend::Backend::single()).await
            }

            #[tokio::test]
            async fn cluster() {
                super::$name($crate::backend::Backend::cluster()).await
            }
        }
    )*};
}
pub(crate) use on_both;

impl Backend {
    pub(crate) fn single() -> Backend {
        Backend::Single(RedisServer::start())
    }

    pub(crate) fn cluster() -> Backend {
        Backend::Cluster(RedisCluster::start())
    }

    /// `config` pointed at this Redis (`--redis-url` or `--redis-cluster`).
    pub(crate) fn configure(&self, config: Config) -> Config {
        match self {
            Backend::Single(r) => Config {
                redis_url: Some(RedisUrl(r.url())),
                redis_cluster: None,
                ..config
            },
            Backend::Cluster(c) => Config {
                redis_url: None,
                redis_cluster: Some(RedisUrl(c.urls())),
                ..config
            },
        }
    }

    /// The relay flags that point a relay process at this Redis.
    pub(crate) fn flags(&self) -> [String; 2] {
        match self {
            Backend::Single(r) => ["--redis-url".into(), r.url()],
            Backend::Cluster(c) => ["--redis-cluster".into(), c.urls()],
        }
    }

    pub(crate) fn target(&self) -> RedisTarget {
        match self {
            Backend::Single(r) => RedisTarget::parse(&r.url()).unwrap(),
            Backend::Cluster(c) => RedisTarget::cluster(&c.urls()).unwrap(),
        }
    }

    pub(crate) fn keys_with_ttl(&self) -> Vec<(String, i64)> {
        match self {
            Backend::Single(r) => r.keys_with_ttl(),
            Backend::Cluster(c) => c.keys_with_ttl(),
        }
    }

    pub(crate) fn assert_every_key_expires(&self) {
        match self {
            Backend::Single(r) => r.assert_every_key_expires(),
            Backend::Cluster(c) => c.assert_every_key_expires(),
        }
    }

    /// The keys of `room` still in Redis.
    pub(crate) fn room_keys(&self, room: RoomId) -> Vec<String> {
        let tag = format!("{{{}}}", room.to_hex());
        self.keys_with_ttl()
            .into_iter()
            .map(|(key, _)| key)
            .filter(|key| key.contains(&tag))
            .collect()
    }

    /// How many connections (instances) follow the room's channel: a classic channel
    /// on one server, a sharded one on a cluster.
    pub(crate) fn subscribers(&self, room: RoomId) -> i64 {
        let channel = format!("vroom:{{{}}}:ch", room.to_hex());
        match self {
            Backend::Single(r) => {
                let (_, n): (String, i64) = redis::cmd("PUBSUB")
                    .arg("NUMSUB")
                    .arg(&channel)
                    .query(&mut r.connection())
                    .unwrap();
                n
            }
            Backend::Cluster(c) => c.shard_subscribers(&channel),
        }
    }

    /// The commands run since the last [`Backend::reset_stats`], summed over the
    /// masters of a cluster.
    pub(crate) fn command_calls(&self) -> std::collections::BTreeMap<String, u64> {
        match self {
            Backend::Single(r) => r.command_calls(),
            Backend::Cluster(c) => {
                let mut sum = std::collections::BTreeMap::new();
                for calls in c.command_calls_per_master().into_values() {
                    for (name, n) in calls {
                        *sum.entry(name).or_insert(0) += n;
                    }
                }
                sum
            }
        }
    }

    pub(crate) fn reset_stats(&self) {
        match self {
            Backend::Single(r) => r.reset_stats(),
            Backend::Cluster(c) => c.reset_stats(),
        }
    }
}
