//! The Redis store against a real `redis-server` the tests start themselves: several
//! relay instances on one Redis, keys and their TTLs, deletion, crashes, restarts,
//! and the Redis commands one relayed message costs (harnesses in `vroom-testkit`).

mod relays;
mod stores;
