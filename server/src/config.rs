//! The relay's settings: command-line flags, each also readable from a `VROOM_*`
//! environment variable, with documented defaults.
//!
//! [`Config::default`] gives the same values as running with no flags, so tests build a
//! `Config` with struct-update syntax and never go through the parser.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
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
    #[arg(long, env = "VROOM_MAX_ROOMS", default_value_t = 10_000)]
    pub max_rooms: usize,

    /// WebSocket connections at once; more are refused with HTTP 503.
    #[arg(long, env = "VROOM_MAX_CONNECTIONS", default_value_t = 10_000)]
    pub max_connections: usize,

    /// Bytes of buffered ciphertext across all rooms of this process (in-process store;
    /// with Redis, Redis' own `maxmemory` bounds it). Past it, the oldest events of the
    /// largest buffers go first.
    #[arg(long, env = "VROOM_MAX_BUFFERED_BYTES", default_value_t = 256 << 20)]
    pub max_buffered_bytes: usize,

    /// Open connections (TCP, WebSocket or not) from one address; more get HTTP 429.
    #[arg(long, env = "VROOM_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = 32)]
    pub max_connections_per_address: u32,

    /// Rooms one address may create per minute; more are refused as "rate limited".
    #[arg(long, env = "VROOM_CREATES_PER_MINUTE", default_value_t = 10)]
    pub creates_per_minute: u32,

    /// Joins (and resumptions) one address may make per minute; more are refused as
    /// "rate limited".
    #[arg(long, env = "VROOM_JOINS_PER_MINUTE", default_value_t = 60)]
    pub joins_per_minute: u32,

    /// Rooms created by one address that may exist at once; more are refused as "rate
    /// limited" until one ends.
    #[arg(long, env = "VROOM_MAX_ROOMS_PER_ADDRESS", default_value_t = 10)]
    pub max_rooms_per_address: u32,

    /// Reverse proxies whose `X-Forwarded-For` (or `Forwarded`) header names the client
    /// address, as IP addresses or CIDR ranges separated by commas (e.g.
    /// `127.0.0.1,10.0.0.0/8`). Without it the peer's IP is the client's address and
    /// those headers are ignored.
    #[arg(long, env = "VROOM_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<IpRange>,

    /// Clients at these addresses (IPs or CIDR ranges, comma-separated) are not counted
    /// by the per-address limits: by default this machine itself (health checks,
    /// benchmarks, a local proxy not listed in `--trusted-proxies`). The global budgets
    /// still apply to them.
    #[arg(
        long,
        env = "VROOM_EXEMPT_ADDRESSES",
        value_delimiter = ',',
        default_value = "127.0.0.1,::1"
    )]
    pub exempt_addresses: Vec<IpRange>,

    /// Which header a trusted proxy names the client in.
    #[arg(long, env = "VROOM_FORWARDED_HEADER", value_enum, default_value_t = ForwardedHeader::XForwardedFor)]
    pub forwarded_header: ForwardedHeader,

    /// IPv6 clients count as one address per this many leading bits (a home or a
    /// server usually gets a whole /64).
    #[arg(long, env = "VROOM_IPV6_PREFIX", default_value_t = 64, value_parser = clap::value_parser!(u8).range(1..=128))]
    pub ipv6_prefix: u8,

    /// How long a client may take to send a whole HTTP request head (including the
    /// WebSocket upgrade request); slower connections are closed.
    #[arg(long, env = "VROOM_HEADER_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub header_timeout: Duration,

    /// How long a WebSocket may stay open before its first successful `Create` or
    /// `Join`; then it is closed with code 1008.
    #[arg(long, env = "VROOM_JOIN_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub join_timeout: Duration,

    /// A joined connection that sent nothing for this long is pinged.
    #[arg(long, env = "VROOM_PING_INTERVAL", default_value = "30s", value_parser = parse_duration)]
    pub ping_interval: Duration,

    /// A pinged connection that sends nothing back within this long is closed as dead
    /// (code 1011 when it can still be told).
    #[arg(long, env = "VROOM_PING_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub ping_timeout: Duration,

    /// A connection whose socket accepts none of what it is written for this long (it
    /// stopped reading) is closed; its member resumes and catches up.
    #[arg(long, env = "VROOM_WRITE_TIMEOUT", default_value = "20s", value_parser = parse_duration)]
    pub write_timeout: Duration,

    /// Send `Strict-Transport-Security` with this max-age (e.g. `365d`). Set it only when
    /// the relay is reached over HTTPS alone (behind a TLS-terminating proxy).
    #[arg(long, env = "VROOM_HSTS", value_parser = parse_duration)]
    pub hsts: Option<Duration>,

    /// Frames queued for one connection before it counts as lagging and is
    /// disconnected (its member reconnects and catches up from the buffer).
    #[arg(long, env = "VROOM_SEND_QUEUE", default_value_t = 1024)]
    pub send_queue: usize,

    /// Bytes of frames queued for one connection before it counts as lagging and is
    /// disconnected, like `--send-queue` (one frame always fits).
    #[arg(long, env = "VROOM_SEND_QUEUE_BYTES", default_value_t = 4 << 20)]
    pub send_queue_bytes: usize,

    /// Frames per second one connection may send, on average.
    #[arg(long, env = "VROOM_RATE", default_value_t = 100)]
    pub rate_per_sec: u32,

    /// Frames one connection may send in a burst above the average rate.
    #[arg(long, env = "VROOM_RATE_BURST", default_value_t = 200)]
    pub rate_burst: u32,

    /// Bytes per second of file chunks (the chunk lane) one connection may send, on
    /// average: a budget of its own, apart from `--rate`, so a file is never refused as
    /// a chat flood. A sender above it is slowed down, not refused. Every packet counts
    /// as at least 8 KiB, so a flood of tiny packets is bounded too.
    #[arg(long, env = "VROOM_STREAM_RATE", default_value_t = 64 << 20)]
    pub stream_rate: u64,

    /// Bytes of file chunks queued for one connection. A chunk that does not fit is
    /// dropped for that connection alone (its client asks for it again), so a slow
    /// receiver slows its own transfers, never its room or its chat.
    #[arg(long, env = "VROOM_STREAM_QUEUE_BYTES", default_value_t = 2 << 20)]
    pub stream_queue_bytes: usize,

    /// Bytes queued to all connections together (events and file chunks waiting to be
    /// written), whatever each connection's own caps allow. Past half of it, file
    /// chunks are dropped for their receivers (their clients ask again); past all of
    /// it, a connection that still holds queued frames when an event arrives for it is
    /// disconnected as lagging (its member reconnects and catches up).
    #[arg(long, env = "VROOM_MAX_QUEUED_BYTES", default_value_t = 256 << 20)]
    pub max_queued_bytes: usize,

    /// Bytes per second of file chunks one room's members may send together, on
    /// average; a sender above it is slowed down, like `--stream-rate`.
    #[arg(long, env = "VROOM_STREAM_RATE_ROOM", default_value_t = 64 << 20)]
    pub stream_rate_room: u64,

    /// Bytes per second of file chunks all connections of this relay may send together,
    /// on average; senders above it are slowed down, like `--stream-rate`.
    #[arg(long, env = "VROOM_STREAM_RATE_TOTAL", default_value_t = 256 << 20)]
    pub stream_rate_total: u64,

    /// Directory of the built web app to serve. Default: `web-dist` if it exists.
    #[arg(long, env = "VROOM_WEB_DIR")]
    pub web_dir: Option<PathBuf>,

    /// Origins of web pages, other than the relay's own, whose WebSocket connections
    /// are accepted: where a copy of the web app is hosted apart from the relay (e.g.
    /// `https://app.example`; several separated by commas, or the flag repeated).
    /// Browsers name the page's origin in the `Origin` header; one that is neither this
    /// relay's own (its `Host`) nor listed here is refused. Clients that send no
    /// `Origin` (the native client) are not concerned.
    #[arg(long = "app-origin", env = "VROOM_APP_ORIGINS", value_delimiter = ',')]
    pub app_origins: Vec<AppOrigin>,

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

    /// How long a short code's nameplate lives after a member asked for it.
    #[arg(long, env = "VROOM_CODE_TTL", default_value = "5m", value_parser = parse_duration)]
    pub code_ttl: Duration,

    /// Exchanges one short code may carry at most (joiners, right or wrong), whatever
    /// its member's client does.
    #[arg(long, env = "VROOM_CODE_EXCHANGES", default_value_t = 10)]
    pub code_exchanges: u32,

    /// Live short codes one room may have at once.
    #[arg(long, env = "VROOM_CODES_PER_ROOM", default_value_t = 3)]
    pub codes_per_room: u32,

    /// Short-code exchanges one address may open per minute; more are refused as
    /// "rate limited".
    #[arg(long, env = "VROOM_CODE_OPENS_PER_MINUTE", default_value_t = 10)]
    pub code_opens_per_minute: u32,

    /// Short codes one room may be handed per minute (on this relay), however many it
    /// revokes or burns meanwhile; more are refused as "rate limited".
    #[arg(long, env = "VROOM_CODE_OFFERS_PER_MINUTE", default_value_t = 10)]
    pub code_offers_per_minute: u32,
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
            max_rooms: 10_000,
            max_connections: 10_000,
            max_buffered_bytes: 256 << 20,
            max_connections_per_address: 32,
            creates_per_minute: 10,
            joins_per_minute: 60,
            code_ttl: Duration::from_secs(300),
            code_exchanges: 10,
            codes_per_room: 3,
            code_opens_per_minute: 10,
            code_offers_per_minute: 10,
            max_rooms_per_address: 10,
            trusted_proxies: Vec::new(),
            exempt_addresses: vec![
                IpRange::single(Ipv4Addr::LOCALHOST.into()),
                IpRange::single(Ipv6Addr::LOCALHOST.into()),
            ],
            forwarded_header: ForwardedHeader::XForwardedFor,
            ipv6_prefix: 64,
            header_timeout: Duration::from_secs(10),
            join_timeout: Duration::from_secs(30),
            ping_interval: Duration::from_secs(30),
            ping_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(20),
            hsts: None,
            send_queue: 1024,
            send_queue_bytes: 4 << 20,
            rate_per_sec: 100,
            rate_burst: 200,
            stream_rate: 64 << 20,
            stream_queue_bytes: 2 << 20,
            max_queued_bytes: 256 << 20,
            stream_rate_room: 64 << 20,
            stream_rate_total: 256 << 20,
            web_dir: None,
            app_origins: Vec::new(),
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

/// A web page origin, `http[s]://host[:port]`, kept as browsers write it in `Origin`:
/// lowercase, without a default port, path or trailing slash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppOrigin(String);

impl AppOrigin {
    /// The origin as browsers send it, e.g. `https://app.example`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for AppOrigin {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!(
                "`{s}` is not a web origin: write it as https://host or https://host:port \
                 (no path)"
            )
        };
        let lower = s.trim().trim_end_matches('/').to_ascii_lowercase();
        let (scheme, authority) = lower.split_once("://").ok_or_else(bad)?;
        let default_port = match scheme {
            "https" => ":443",
            "http" => ":80",
            _ => return Err(bad()),
        };
        if authority.is_empty()
            || authority
                .chars()
                .any(|c| matches!(c, '/' | '?' | '#' | '@' | ' '))
        {
            return Err(bad());
        }
        let authority = authority.strip_suffix(default_port).unwrap_or(authority);
        Ok(AppOrigin(format!("{scheme}://{authority}")))
    }
}

/// Which request header a trusted proxy puts the client's address in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, …` (Caddy, nginx, most load balancers).
    XForwardedFor,
    /// `Forwarded: for=client, for=proxy1` (RFC 7239).
    Forwarded,
}

/// An IP address or a CIDR range of them (`10.0.0.0/8`, `fd00::/8`, `127.0.0.1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpRange {
    /// The range's first address (host bits cleared).
    base: IpAddr,
    /// Leading bits that must match.
    prefix: u8,
}

impl IpRange {
    /// The range of one address.
    pub fn single(ip: IpAddr) -> IpRange {
        let ip = canonical(ip);
        IpRange {
            base: ip,
            prefix: if ip.is_ipv4() { 32 } else { 128 },
        }
    }

    /// Whether `ip` lies in the range (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.base, ip) {
            (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => {
                mask(ip, self.prefix) == self.base
            }
            _ => false,
        }
    }
}

impl std::str::FromStr for IpRange {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (s, None),
        };
        let ip: IpAddr = addr
            .parse()
            .map_err(|_| format!("{s:?} is not an IP address or CIDR range (like 10.0.0.0/8)"))?;
        let ip = canonical(ip);
        let max = if ip.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{s:?}: the prefix length must be 0 to {max}"))?,
        };
        Ok(IpRange {
            base: mask(ip, prefix),
            prefix,
        })
    }
}

/// `ip` with an IPv4-mapped IPv6 address (`::ffff:1.2.3.4`) turned into IPv4.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// `ip` with all but its `prefix` leading bits cleared.
pub fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let keep = u32::MAX
                .checked_shl(32 - u32::from(prefix.min(32)))
                .unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(bits & keep))
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let keep = u128::MAX
                .checked_shl(128 - u32::from(prefix.min(128)))
                .unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(bits & keep))
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
    fn app_origins_are_read_as_browsers_write_them() {
        let c = Config::parse_from([
            "vroom-relay",
            "--app-origin",
            "HTTPS://App.Example:443/",
            "--app-origin",
            "http://127.0.0.1:9000,http://localhost:80",
        ]);
        let origins: Vec<&str> = c.app_origins.iter().map(AppOrigin::as_str).collect();
        assert_eq!(
            origins,
            [
                "https://app.example",
                "http://127.0.0.1:9000",
                "http://localhost"
            ]
        );
        for bad in [
            "app.example",
            "ftp://app.example",
            "https://",
            "https://app.example/path",
            "https://user@app.example",
        ] {
            assert!(
                Config::try_parse_from(["vroom-relay", "--app-origin", bad]).is_err(),
                "{bad} was accepted"
            );
        }
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
    fn trusted_proxies_are_addresses_and_ranges() {
        let c = Config::parse_from([
            "vroom-relay",
            "--trusted-proxies",
            "10.0.0.0/8, 192.168.1.7,fd00::/8",
        ]);
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let [net, host, v6] = c.trusted_proxies[..] else {
            panic!("three ranges expected: {:?}", c.trusted_proxies);
        };
        assert!(net.contains(ip("10.200.3.4")));
        assert!(!net.contains(ip("11.0.0.1")));
        assert!(host.contains(ip("192.168.1.7")));
        assert!(
            host.contains(ip("::ffff:192.168.1.7")),
            "IPv4-mapped counts"
        );
        assert!(!host.contains(ip("192.168.1.8")));
        assert!(v6.contains(ip("fd12::1")));
        assert!(!v6.contains(ip("10.0.0.1")));
        assert!(
            Config::try_parse_from(["vroom-relay", "--trusted-proxies", "10.0.0.0/33"]).is_err()
        );
        assert!(Config::try_parse_from(["vroom-relay", "--trusted-proxies", "proxy"]).is_err());
        assert_eq!(mask(ip("2001:db8:1:2:3:4:5:6"), 64), ip("2001:db8:1:2::"));
        assert_eq!(mask(ip("1.2.3.4"), 0), ip("0.0.0.0"));
    }

    #[test]
    fn clap_definition_is_consistent() {
        use clap::CommandFactory;
        Config::command().debug_assert();
    }
}
