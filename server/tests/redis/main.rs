//! The Redis store against a real `redis-server`, and a real local Redis Cluster, that
//! the tests start themselves: several relay instances on one Redis, keys and their
//! TTLs, deletion, crashes, restarts, a cluster's failover and resharding, and the
//! Redis commands one relayed message costs (harnesses in `vroom-testkit`).

mod backend;
mod cluster;
mod relays;
mod stores;
