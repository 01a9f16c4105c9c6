//! The store's one way to Redis: a single server through a [`ConnectionManager`], or a
//! Redis Cluster through the `redis` crate's async cluster connection.
//!
//! Both are multiplexed RESP3 connections that reconnect by themselves and carry the
//! pub/sub pushes along with the scripts' replies. On a single server a room's events
//! go on a classic channel (`SUBSCRIBE`/`PUBLISH`); on a cluster on a sharded one
//! (`SSUBSCRIBE`/`SPUBLISH`), so they reach only the shard that owns the room's slot
//! instead of being broadcast to every node. The cluster connection routes each script
//! to the master of its keys' slot, follows `MOVED`/`ASK` and refreshes its slot map
//! when the topology changes (a failover, a resharding), and subscribes again where a
//! tracked subscription's slot now lives.

use std::sync::Arc;

use redis::aio::{ConnectionLike, ConnectionManager};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, RedisResult, Value};
use tokio::sync::OnceCell;

/// A connection to a single Redis or to a cluster; clones share it.
#[derive(Clone)]
pub(super) enum Conn {
    /// One server.
    Single(ConnectionManager),
    /// A cluster, connected on first use (and tried again on every use until then), so
    /// the relay starts while the cluster is away, as it does with a single server.
    Cluster(Arc<LazyCluster>),
}

/// A cluster connection made on first use.
pub(super) struct LazyCluster {
    client: ClusterClient,
    conn: OnceCell<ClusterConnection>,
}

impl LazyCluster {
    pub(super) fn new(client: ClusterClient) -> LazyCluster {
        LazyCluster {
            client,
            conn: OnceCell::new(),
        }
    }

    async fn get(&self) -> RedisResult<ClusterConnection> {
        self.conn
            .get_or_try_init(|| self.client.get_async_connection())
            .await
            .cloned()
    }
}

impl Conn {
    /// Whether room events travel on sharded channels (`SPUBLISH`).
    pub(super) fn sharded(&self) -> bool {
        matches!(self, Conn::Cluster(_))
    }

    /// Follows a room's channel.
    pub(super) async fn subscribe(&self, channel: String) -> RedisResult<()> {
        match self {
            Conn::Single(c) => c.clone().subscribe(channel).await,
            Conn::Cluster(c) => c.get().await?.ssubscribe(channel).await,
        }
    }

    /// Stops following a room's channel.
    pub(super) async fn unsubscribe(&self, channel: String) -> RedisResult<()> {
        match self {
            Conn::Single(c) => c.clone().unsubscribe(channel).await,
            Conn::Cluster(c) => c.get().await?.sunsubscribe(channel).await,
        }
    }
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Single(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => Box::pin(async move {
                let mut conn = c.get().await?;
                conn.req_packed_command(cmd).await
            }),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Cluster(c) => Box::pin(async move {
                let mut conn = c.get().await?;
                conn.req_packed_commands(pipeline, offset, count).await
            }),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(c) => c.get_db(),
            Conn::Cluster(_) => 0,
        }
    }
}
