//! What the operator learns about Redis: a probe at startup that says what was found,
//! the cause of every failure in full, one line when Redis answers again, and the
//! sentence `/healthz` answers with.

use std::sync::atomic::Ordering;
use std::sync::Weak;

use redis::{ErrorKind, FromRedisValue, RedisError, Value};

use super::{described, Inner};

/// The operator's sentence for a failure to reach or use Redis: what failed, and the
/// client's own words for why.
pub(super) fn cause(err: &RedisError) -> String {
    let credentials = matches!(err.code(), Some("WRONGPASS" | "NOAUTH" | "NOPERM"));
    let said = described(err);
    let certificate = said.to_lowercase().contains("certificate");
    let what = match err.kind() {
        _ if certificate => {
            "the TLS handshake with Redis failed: its certificate is not trusted (give the CA \
             that signed it with --redis-ca-file, and check the host name in the URL)"
        }
        _ if credentials || err.kind() == ErrorKind::AuthenticationFailed => {
            "Redis refused the relay's credentials (check the user and password in the URL)"
        }
        ErrorKind::Parse | ErrorKind::UnexpectedReturnType => {
            "the server at the Redis address does not answer like Redis (check the host and port)"
        }
        ErrorKind::InvalidClientConfig => "the Redis URL cannot be used",
        _ if err.is_connection_refusal() => {
            "the relay cannot connect to Redis (is it running, and is the host and port right?)"
        }
        _ if err.is_timeout() => "Redis did not answer in time",
        _ if err.is_io_error() || err.is_connection_dropped() => "the connection to Redis failed",
        _ if err.is_cluster_error() => "the Redis Cluster is not serving every slot",
        _ => "Redis answered with an error",
    };
    format!("{what}: {said}")
}

impl Inner {
    /// A request failed: logs why, and remembers that Redis is failing.
    pub(super) fn failed(&self, err: &RedisError) {
        self.failing.store(true, Ordering::Relaxed);
        tracing::warn!("redis store: request failed: {}", cause(err));
    }

    /// A request succeeded: logs the recovery if Redis was failing.
    pub(super) fn answered(&self) {
        if self.failing.swap(false, Ordering::Relaxed) {
            tracing::info!("redis store: Redis answers again");
        }
    }
}

/// Probes Redis once at startup and logs what was found: its version and mode, and on a
/// cluster its state and size; or, in full, why it cannot be used.
pub(super) async fn probe(inner: Weak<Inner>) {
    let Some(inner) = inner.upgrade() else { return };
    let mut conn = inner.conn.clone();
    // On a cluster `INFO` goes to every node and answers a map by node: one will do.
    let info = redis::cmd("INFO")
        .arg("server")
        .query_async::<Value>(&mut conn)
        .await;
    let info = match info {
        Ok(info) => first_text(&info).unwrap_or_default(),
        Err(e) => {
            inner.failing.store(true, Ordering::Relaxed);
            tracing::error!(
                "redis store: Redis cannot be used yet (rooms are refused as unavailable \
                 until it can; the relay keeps trying): {}",
                cause(&e)
            );
            return;
        }
    };
    let (version, mode) = (field(&info, "redis_version"), field(&info, "redis_mode"));
    if !inner.conn.sharded() {
        if mode == "cluster" {
            tracing::error!(
                version,
                "redis store: this Redis is a node of a Redis Cluster; rooms on other \
                 nodes' slots will fail: give the nodes with --redis-cluster instead of \
                 --redis-url"
            );
        } else {
            tracing::info!(version, mode, "redis store: connected to Redis");
        }
        return;
    }
    let state: Result<String, RedisError> = redis::cmd("CLUSTER")
        .arg("INFO")
        .query_async(&mut conn)
        .await;
    match state {
        Ok(state) => {
            tracing::info!(
                version,
                state = field(&state, "cluster_state"),
                masters = field(&state, "cluster_size"),
                nodes = field(&state, "cluster_known_nodes"),
                "redis store: connected to a Redis Cluster (sharded pub/sub)"
            );
        }
        Err(e) => tracing::error!(
            "redis store: the Redis Cluster's state is unknown: {}",
            cause(&e)
        ),
    }
}

/// The text of a reply, or of the first node's reply in a map of replies by node.
fn first_text(v: &Value) -> Option<String> {
    match v {
        Value::Map(by_node) => by_node.first().and_then(|(_, v)| first_text(v)),
        other => String::from_redis_value_ref(other).ok(),
    }
}

/// The value of `name` in an `INFO`-style text (`name:value` lines).
fn field(text: &str, name: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .unwrap_or("unknown")
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_failure_says_what_failed_and_why() {
        let refused = RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        let said = cause(&refused);
        assert!(
            said.starts_with("the relay cannot connect to Redis"),
            "{said}"
        );
        let parse = RedisError::from((ErrorKind::Parse, "parse error", "bad byte".to_owned()));
        assert!(cause(&parse).contains("does not answer like Redis"));
        let auth = RedisError::from((
            ErrorKind::AuthenticationFailed,
            "Password authentication failed",
        ));
        assert!(cause(&auth).contains("refused the relay's credentials"));
        assert_eq!(
            field("a:1\r\nredis_mode:cluster\r\n", "redis_mode"),
            "cluster"
        );
        assert_eq!(field("", "redis_mode"), "unknown");
        let by_node = Value::Map(vec![(
            Value::BulkString(b"127.0.0.1:7000".to_vec()),
            Value::BulkString(b"redis_mode:cluster".to_vec()),
        )]);
        assert_eq!(first_text(&by_node).as_deref(), Some("redis_mode:cluster"));
    }
}
