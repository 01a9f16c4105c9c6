//! The Redis store against a real `redis-server` the tests start themselves: several
//! relay instances on one Redis, keys and their TTLs, deletion, crashes, restarts,
//! and the Redis commands one relayed message costs.

#[allow(unreachable_pub, dead_code)]
#[path = "../../../tests/src/redis.rs"]
mod redis_server;

#[allow(dead_code)]
#[path = "../relay/harness.rs"]
mod harness;

mod relays;
mod stores;
