//! The relay's settings: command-line flags, each also readable from a `VROOM_*`
//! environment variable, with documented defaults.
//!
//! [`Config::default`] gives the same values as running with no flags, so tests build a
//! `Config` with struct-update syntax and never go through the parser.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use vroom_shared::wire::{RoomLimits, RoomSettings};

/// Settings of one relay instance.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "vroom-relay",
    version,
    about = "vroom's relay: moves end-to-end-encrypted chat frames it cannot read",
    long_about = "vroom's relay: moves end-to-end-encrypted chat frames it cannot read.\n\n\
        Every flag can also be given as the environment variable shown beside it. \
        Durations are written like 30s, 10m, 24h or 1h 30m."
)]
pub struct Config {
    /// Address to listen on for HTTP and WebSocket connections.
    #[arg(long, env = "VROOM_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// A room with no relayed message for this long is deleted. Also the most a
    /// creator may ask for.
    #[arg(long, env = "VROOM_IDLE_TIMEOUT", default_value = "30m", value_parser = parse_duration)]
    pub idle_timeout: Duration,

    /// A room is deleted this long after its creation, whatever happens in it. Also the
    /// most a creator may ask for.
    #[arg(long, env = "VROOM_MAX_LIFETIME", default_value = "24h", value_parser = parse_duration)]
    pub max_lifetime: Duration,

    /// How long a member whose connection dropped keeps its place (so a page reload can
    /// resume), and how long a room with nobody connected survives.
    #[arg(long, env = "VROOM_GRACE", default_value = "60s", value_parser = parse_duration)]
    pub grace: Duration,

    /// Sequenced events (ciphertext) kept per room for members that reconnect and catch up.
    #[arg(long, env = "VROOM_BUFFER", default_value_t = 512)]
    pub buffer: usize,

    /// Bytes of buffered events kept per room at most; the oldest go first.
    #[arg(long, env = "VROOM_BUFFER_BYTES", default_value_t = 8 << 20)]
    pub buffer_bytes: usize,

    /// Members per room at most. Also the most a creator may ask for.
    #[arg(long, env = "VROOM_MAX_MEMBERS", default_value_t = 50)]
    pub max_members: u32,

    /// Largest payload of one relayed message, in bytes.
    #[arg(long, env = "VROOM_MAX_PAYLOAD", default_value_t = 64 << 10)]
    pub max_payload: u32,

    /// Largest file clients should offer to send, in bytes (clients enforce it and show
    /// it to users before they send; the relay only sees chunks of `--max-payload`).
    #[arg(long, env = "VROOM_MAX_FILE", default_value_t = 100 << 20)]
    pub max_file: u64,

    /// Rooms at once on this relay; creating one more is refused as "unavailable".
    #[arg(long, env = "VROOM_MAX_ROOMS", default_value_t = 100_000)]
    pub max_rooms: usize,

    /// WebSocket connections at once; more are refused with HTTP 503.
    #[arg(long, env = "VROOM_MAX_CONNECTIONS", default_value_t = 20_000)]
    pub max_connections: usize,

    /// Frames queued for one connection before it counts as lagging and is
    /// disconnected (its member reconnects and catches up from the buffer).
    #[arg(long, env = "VROOM_SEND_QUEUE", default_value_t = 1024)]
    pub send_queue: usize,

    /// Frames per second one connection may send, on average.
    #[arg(long, env = "VROOM_RATE", default_value_t = 100)]
    pub rate_per_sec: u32,

    /// Frames one connection may send in a burst above the average rate.
    #[arg(long, env = "VROOM_RATE_BURST", default_value_t = 200)]
    pub rate_burst: u32,

    /// Directory of the built web app to serve. Default: `web-dist` if it exists.
    #[arg(long, env = "VROOM_WEB_DIR")]
    pub web_dir: Option<PathBuf>,

    /// Debugging only: write room ids into the logs. Off by default, so logs cannot
    /// link people to conversations.
    #[arg(long, env = "VROOM_LOG_ROOM_IDS")]
    pub log_room_ids: bool,

    /// Redis to keep rooms in, so several relay instances can serve one room
    /// (`redis://[user:password@]host:port[/db]`). Without it rooms live in this
    /// process only.
    #[arg(long, env = "VROOM_REDIS_URL", conflicts_with = "redis_cluster")]
    pub redis_url: Option<RedisUrl>,

    /// Redis Cluster to keep rooms in instead of one Redis: the URLs of some of its
    /// nodes, separated by commas (`redis://[user:password@]host:port,…`); one
    /// reachable node is enough to find the others. Needs Redis 7 or later (sharded
    /// pub/sub).
    #[arg(long, env = "VROOM_REDIS_CLUSTER")]
    pub redis_cluster: Option<RedisUrl>,

    /// With `rediss://` (TLS) URLs: a PEM file of the certificate authorities to trust
    /// for Redis's certificate, instead of the system's (for a private CA).
    #[arg(long, env = "VROOM_REDIS_CA_FILE")]
    pub redis_ca_file: Option<PathBuf>,

    /// With Redis: how often an instance renews its members' presence. The members of
    /// an instance that stops (a crash) count as disconnected after three missed
    /// heartbeats, then leave after the grace period.
    #[arg(long, env = "VROOM_REDIS_HEARTBEAT", default_value = "5s", value_parser = parse_duration)]
    pub redis_heartbeat: Duration,

    /// How long shutdown waits for connections to take their "going away" notice.
    #[arg(long, env = "VROOM_SHUTDOWN_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pub shutdown_timeout: Duration,
}

impl Default for Config {
    /// The values the flags default to (a test keeps the two in step), without reading
    /// the command line or the environment.
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            idle_timeout: Duration::from_secs(30 * 60),
            max_lifetime: Duration::from_secs(24 * 3600),
            grace: Duration::from_secs(60),
            buffer: 512,
            buffer_bytes: 8 << 20,
            max_members: 50,
            max_payload: 64 << 10,
            max_file: 100 << 20,
            max_rooms: 100_000,
            max_connections: 20_000,
            send_queue: 1024,
            rate_per_sec: 100,
            rate_burst: 200,
            web_dir: None,
            log_room_ids: false,
            shutdown_timeout: Duration::from_secs(5),
            redis_url: None,
            redis_cluster: None,
            redis_ca_file: None,
            redis_heartbeat: Duration::from_secs(5),
        }
    }
}

impl Config {
    /// The web directory to serve: the configured one, else `web-dist` when present.
    pub fn resolved_web_dir(&self) -> Option<PathBuf> {
        match &self.web_dir {
            Some(dir) => Some(dir.clone()),
            None => {
                let fallback = PathBuf::from("web-dist");
                fallback.is_dir().then_some(fallback)
            }
        }
    }

    /// Largest WebSocket message accepted: a `Send` frame carries a few bytes of framing
    /// around its payload, so the limit sits a little above `max_payload`, and a payload
    /// just over `max_payload` still arrives and gets a clear `FrameTooLarge` answer.
    pub fn max_message(&self) -> usize {
        self.max_payload as usize + 1024
    }

    /// The limits of a room created with `asked`: each setting capped by this relay's
    /// maximum (a creator may ask for less, never for more, and for at least 1), plus
    /// the relay's own grace, payload and file limits.
    pub fn room_limits(&self, asked: RoomSettings) -> RoomLimits {
        let secs = |d: Duration| u32::try_from(d.as_secs()).unwrap_or(u32::MAX);
        let cap = |asked: Option<u32>, max: u32| asked.map_or(max, |a| a.clamp(1, max));
        RoomLimits {
            max_members: cap(asked.max_members, self.max_members),
            idle_timeout_secs: cap(asked.idle_timeout_secs, secs(self.idle_timeout)),
            max_lifetime_secs: cap(asked.max_lifetime_secs, secs(self.max_lifetime)),
            // Rounded up: a client told "1 s" must not find its place gone after 0.6 s.
            grace_secs: u32::try_from(self.grace.as_secs_f64().ceil() as u64).unwrap_or(u32::MAX),
            max_payload: self.max_payload,
            max_file: self.max_file,
        }
    }
}

/// A Redis URL. It may hold a password, so it never prints.
#[derive(Clone)]
pub struct RedisUrl(pub String);

impl std::fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RedisUrl(…)")
    }
}

impl std::str::FromStr for RedisUrl {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(RedisUrl(s.to_owned()))
    }
}

fn parse_duration(s: &str) -> Result<Duration, humantime::DurationError> {
    humantime::parse_duration(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones() {
        let c = Config::default();
        let parsed = Config::parse_from(["vroom-relay"]);
        assert_eq!(
            format!("{c:?}"),
            format!("{parsed:?}"),
            "Default and the flags' defaults differ"
        );
        assert_eq!(c.listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(c.idle_timeout, Duration::from_secs(30 * 60));
        assert_eq!(c.max_lifetime, Duration::from_secs(24 * 3600));
        assert_eq!(c.grace, Duration::from_secs(60));
        assert_eq!(c.buffer, 512);
        assert_eq!(c.max_members, 50);
        assert_eq!(c.max_payload, 64 * 1024);
        assert_eq!(c.max_file, 100 * 1024 * 1024);
        assert!(!c.log_room_ids);
    }

    #[test]
    fn durations_are_human_readable() {
        let c = Config::parse_from(["vroom-relay", "--idle-timeout", "10m", "--grace", "1s"]);
        assert_eq!(c.idle_timeout, Duration::from_secs(600));
        assert_eq!(c.grace, Duration::from_secs(1));
        assert!(Config::try_parse_from(["vroom-relay", "--grace", "soon"]).is_err());
    }

    #[test]
    fn room_limits_cap_what_a_creator_asks_for() {
        let c = Config {
            grace: Duration::from_millis(600),
            ..Config::default()
        };
        let none = c.room_limits(RoomSettings::default());
        assert_eq!(none.max_members, 50);
        assert_eq!(none.idle_timeout_secs, 30 * 60);
        assert_eq!(none.max_lifetime_secs, 24 * 3600);
        assert_eq!(none.grace_secs, 1);
        assert_eq!(none.max_payload, c.max_payload);
        assert_eq!(none.max_file, c.max_file);
        let asked = c.room_limits(RoomSettings {
            max_members: Some(0),
            idle_timeout_secs: Some(60),
            max_lifetime_secs: Some(u32::MAX),
        });
        assert_eq!(asked.max_members, 1);
        assert_eq!(asked.idle_timeout_secs, 60);
        assert_eq!(asked.max_lifetime_secs, 24 * 3600);
    }

    #[test]
    fn clap_definition_is_consistent() {
        use clap::CommandFactory;
        Config::command().debug_assert();
    }
}
