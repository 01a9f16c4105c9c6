//! Per-address limits, and the address they count against.
//!
//! # Which address
//! A client's address is the peer IP of its TCP connection, unless that peer is one of
//! `--trusted-proxies`: then it is the nearest address in the proxy's
//! `X-Forwarded-For` (or `Forwarded`, `--forwarded-header`) that is not itself a
//! trusted proxy. A header from any other peer is ignored, so nobody can pick their own
//! address. IPv6 addresses count per `--ipv6-prefix` (a /64 by default), since one
//! machine usually holds a whole /64.
//!
//! # What counts
//! - Open connections per address (`--max-connections-per-address`): every TCP
//!   connection of a direct peer from its accept, and every WebSocket of a proxied
//!   client from its upgrade, until it closes. A trusted proxy's own connections never
//!   count (they carry everybody).
//! - Room creations and joins per minute per address (`--creates-per-minute`,
//!   `--joins-per-minute`): governor's keyed GCRA limiters, the whole minute's
//!   allowance usable as a burst.
//! - Rooms alive at once per creating address (`--max-rooms-per-address`): a room
//!   counts from its creation until the store reports it closed, or (if this instance
//!   never hears of it, with Redis) until its maximum lifetime has passed.
//!
//! Addresses in `--exempt-addresses` (by default 127.0.0.1 and ::1: this machine's own
//! tools, or a local proxy nobody listed as trusted) are not counted at all; the global
//! budgets still hold for them.
//!
//! Addresses are kept only in this memory, only while they count for something, and
//! never logged or exported.
//!
//! # The chunk lane's shared budgets
//! Beside each connection's `--stream-rate`, the chunk lane has a budget per room
//! (`--stream-rate-room`) and one for the whole relay (`--stream-rate-total`), in KiB
//! cells with every packet costing at least 8 KiB, so many connections sending tiny or
//! large packets cannot take the relay's bandwidth between them. A packet over a budget
//! waits for its share (its sender is not read meanwhile), it is never refused: files
//! slow down, chat goes on.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::HeaderMap;
use governor::clock::{Clock, DefaultClock, QuantaInstant};
use governor::{
    DefaultDirectRateLimiter, DefaultKeyedRateLimiter, InsufficientCapacity, NotUntil, Quota,
    RateLimiter,
};
use tokio::time::Instant;
use vroom_shared::wire::RoomId;

use crate::config::{canonical, mask, Config, ForwardedHeader, IpRange};
use crate::metrics::{Metrics, Refusal};
use crate::sync::lock;

/// The per-address bookkeeping of one relay instance.
pub(crate) struct Limits {
    /// Proxies whose forwarding header is believed.
    trusted: Vec<IpRange>,
    /// Addresses no per-address limit counts.
    exempt: Vec<IpRange>,
    /// The header they name the client in.
    header: ForwardedHeader,
    /// IPv6 addresses count per this prefix.
    ipv6_prefix: u8,
    /// Open connections per address at most.
    max_connections: u32,
    /// Rooms alive per creating address at most.
    max_rooms: u32,
    /// How long a room can live at most: a room this instance never hears end stops
    /// counting after it.
    room_lifetime: Duration,
    /// Creations per address per minute.
    creates: DefaultKeyedRateLimiter<IpAddr>,
    /// Joins per address per minute.
    joins: DefaultKeyedRateLimiter<IpAddr>,
    /// Short-code exchanges opened per address per minute.
    code_opens: DefaultKeyedRateLimiter<IpAddr>,
    /// Short codes handed out per room per minute.
    code_offers: DefaultKeyedRateLimiter<RoomId>,
    /// What each address holds now.
    usage: Mutex<Usage>,
    /// Chunk-lane KiB per room (`--stream-rate-room`).
    stream_room: DefaultKeyedRateLimiter<RoomId>,
    /// Chunk-lane KiB of the whole relay (`--stream-rate-total`).
    stream_relay: DefaultDirectRateLimiter,
    /// Refusals are counted here.
    metrics: Arc<Metrics>,
}

/// What addresses hold now.
#[derive(Default)]
struct Usage {
    /// Address → (open connections, rooms alive); an address holding nothing is removed.
    by_address: HashMap<IpAddr, Held>,
    /// Room → the address that created it, and when it stops counting at the latest.
    rooms: HashMap<RoomId, (IpAddr, Instant)>,
}

#[derive(Default, Clone, Copy)]
struct Held {
    connections: u32,
    rooms: u32,
}

impl Usage {
    fn change(&mut self, address: IpAddr, f: impl FnOnce(&mut Held)) {
        let held = self.by_address.entry(address).or_default();
        f(held);
        if held.connections == 0 && held.rooms == 0 {
            self.by_address.remove(&address);
        }
    }
}

fn per_minute(n: u32) -> DefaultKeyedRateLimiter<IpAddr> {
    let n = NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
    RateLimiter::keyed(Quota::per_minute(n))
}

impl Limits {
    pub(crate) fn new(config: &Config, metrics: Arc<Metrics>) -> Limits {
        Limits {
            trusted: config.trusted_proxies.clone(),
            exempt: config.exempt_addresses.clone(),
            header: config.forwarded_header,
            ipv6_prefix: config.ipv6_prefix,
            max_connections: config.max_connections_per_address,
            max_rooms: config.max_rooms_per_address,
            room_lifetime: config.max_lifetime + config.grace,
            creates: per_minute(config.creates_per_minute),
            joins: per_minute(config.joins_per_minute),
            code_opens: per_minute(config.code_opens_per_minute),
            code_offers: RateLimiter::keyed(Quota::per_minute(
                NonZeroU32::new(config.code_offers_per_minute).unwrap_or(NonZeroU32::MIN),
            )),
            usage: Mutex::default(),
            stream_room: RateLimiter::keyed(stream_quota(config.stream_rate_room, config)),
            stream_relay: RateLimiter::direct(stream_quota(config.stream_rate_total, config)),
            metrics,
        }
    }

    /// Whether `peer` is a trusted proxy.
    pub(crate) fn is_proxy(&self, peer: IpAddr) -> bool {
        self.trusted.iter().any(|r| r.contains(peer))
    }

    /// The address `ip` counts as (IPv6 grouped by prefix).
    pub(crate) fn key(&self, ip: IpAddr) -> IpAddr {
        match canonical(ip) {
            v6 @ IpAddr::V6(_) => mask(v6, self.ipv6_prefix),
            v4 => v4,
        }
    }

    /// The client's address for a request from `peer` with `headers` (see the module
    /// docs). A proxy that names nobody is taken as the client itself.
    pub(crate) fn client_address(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.is_proxy(peer) {
            return self.key(peer);
        }
        let named = match self.header {
            ForwardedHeader::XForwardedFor => {
                forwarded_chain(headers, "x-forwarded-for", |e| Some(e.trim()))
            }
            ForwardedHeader::Forwarded => forwarded_chain(headers, "forwarded", forwarded_for),
        };
        // Right to left: the rightmost address was written by the proxy that talked to
        // us; go left past further trusted proxies only. An entry that is no address
        // vouches for nothing: the last trusted hop is then the client.
        for entry in named.into_iter().rev() {
            match entry {
                Some(ip) if self.is_proxy(ip) => continue,
                Some(ip) => return self.key(ip),
                None => break,
            }
        }
        self.key(peer)
    }

    /// Whether no per-address limit counts `address`.
    fn exempt(&self, address: IpAddr) -> bool {
        self.exempt.iter().any(|r| r.contains(address))
    }

    /// Counts one more open connection of `address`, or refuses it.
    pub(crate) fn connect(self: &Arc<Self>, address: IpAddr) -> Result<AddressSlot, Refusal> {
        if self.exempt(address) {
            return Ok(AddressSlot {
                limits: self.clone(),
                address: None,
            });
        }
        let mut usage = lock(&self.usage);
        let held = usage.by_address.get(&address).copied().unwrap_or_default();
        if held.connections >= self.max_connections {
            drop(usage);
            return Err(self.refuse(Refusal::ConnectionsPerAddress));
        }
        usage.change(address, |h| h.connections += 1);
        Ok(AddressSlot {
            limits: self.clone(),
            address: Some(address),
        })
    }

    /// Whether `address` may create a room now; the room counts against it until
    /// [`RoomSlot::created`] is dropped or the room ends.
    pub(crate) fn create(self: &Arc<Self>, address: IpAddr) -> Result<RoomSlot, Refusal> {
        if self.exempt(address) {
            return Ok(RoomSlot {
                limits: self.clone(),
                address: None,
            });
        }
        if self.creates.check_key(&address).is_err() {
            return Err(self.refuse(Refusal::CreatesPerAddress));
        }
        let mut usage = lock(&self.usage);
        let rooms = usage.by_address.get(&address).map_or(0, |h| h.rooms);
        if rooms >= self.max_rooms {
            drop(usage);
            return Err(self.refuse(Refusal::RoomsPerAddress));
        }
        usage.change(address, |h| h.rooms += 1);
        Ok(RoomSlot {
            limits: self.clone(),
            address: Some(address),
        })
    }

    /// Whether `address` may join (or resume) a room now.
    pub(crate) fn join(&self, address: IpAddr) -> Result<(), Refusal> {
        if self.exempt(address) {
            return Ok(());
        }
        self.joins
            .check_key(&address)
            .map_err(|_| self.refuse(Refusal::JoinsPerAddress))
    }

    /// Whether `address` may open a short-code exchange now (each is one guess).
    pub(crate) fn code_open(&self, address: IpAddr) -> Result<(), Refusal> {
        if self.exempt(address) {
            return Ok(());
        }
        self.code_opens
            .check_key(&address)
            .map_err(|_| self.refuse(Refusal::CodeOpensPerAddress))
    }

    /// Whether `room` may be handed another short code now. Keyed by room, not by
    /// address (no address is exempt): it bounds the nameplates one room can take
    /// however fast its members offer and revoke or burn codes.
    pub(crate) fn code_offer(&self, room: RoomId) -> Result<(), Refusal> {
        self.code_offers
            .check_key(&room)
            .map_err(|_| self.refuse(Refusal::CodeOffersPerRoom))
    }

    /// Counts a refusal and returns it.
    pub(crate) fn refuse(&self, why: Refusal) -> Refusal {
        self.metrics.refused(why);
        why
    }

    /// A room ended: it no longer counts against its creator.
    pub(crate) fn room_closed(&self, room: RoomId) {
        let mut usage = lock(&self.usage);
        if let Some((address, _)) = usage.rooms.remove(&room) {
            usage.change(address, |h| h.rooms = h.rooms.saturating_sub(1));
        }
    }

    /// Waits until the room's and the relay's chunk-lane budgets admit a packet of
    /// `cells` KiB (see the module docs). `Err` for a packet larger than a budget's
    /// burst, which no wait can admit.
    pub(crate) async fn stream_share(
        &self,
        room: RoomId,
        cells: NonZeroU32,
    ) -> Result<(), InsufficientCapacity> {
        let by_room = || self.stream_room.check_key_n(&room, cells);
        admit(&self.metrics, "room", self.stream_room.clock(), by_room).await?;
        let by_relay = || self.stream_relay.check_n(cells);
        admit(&self.metrics, "relay", self.stream_relay.clock(), by_relay).await
    }

    /// Forgets what no longer counts: rate-limiter state of quiet addresses and rooms,
    /// and rooms
    /// past their maximum lifetime that this instance never heard end.
    pub(crate) fn sweep(&self) {
        self.creates.retain_recent();
        self.joins.retain_recent();
        self.stream_room.retain_recent();
        self.code_opens.retain_recent();
        self.code_offers.retain_recent();
        self.code_opens.shrink_to_fit();
        self.code_offers.shrink_to_fit();
        self.creates.shrink_to_fit();
        self.joins.shrink_to_fit();
        self.stream_room.shrink_to_fit();
        let now = Instant::now();
        let mut usage = lock(&self.usage);
        let expired: Vec<RoomId> = usage
            .rooms
            .iter()
            .filter(|(_, (_, until))| *until <= now)
            .map(|(room, _)| *room)
            .collect();
        for room in expired {
            if let Some((address, _)) = usage.rooms.remove(&room) {
                usage.change(address, |h| h.rooms = h.rooms.saturating_sub(1));
            }
        }
        usage.rooms.shrink_to_fit();
        usage.by_address.shrink_to_fit();
    }
}

/// A chunk-lane budget of `bytes_per_sec`, in KiB cells, with a burst of a few of the
/// largest frames (or an eighth of a second's worth, if more).
pub(crate) fn stream_quota(bytes_per_sec: u64, config: &Config) -> Quota {
    let per_sec = u32::try_from(bytes_per_sec / 1024).unwrap_or(u32::MAX);
    let rate = NonZeroU32::new(per_sec).unwrap_or(NonZeroU32::MIN);
    let burst_kib = u32::try_from(config.max_message() / 1024 * 4).unwrap_or(u32::MAX);
    let burst = NonZeroU32::new(burst_kib.max(per_sec / 8)).unwrap_or(rate);
    Quota::per_second(rate).allow_burst(burst)
}

/// Waits until `check` admits a chunk-lane packet, counting in the metrics that it
/// waited for `budget`.
pub(crate) async fn admit(
    metrics: &Metrics,
    budget: &'static str,
    clock: &DefaultClock,
    check: impl Fn() -> Result<Result<(), NotUntil<QuantaInstant>>, InsufficientCapacity>,
) -> Result<(), InsufficientCapacity> {
    let mut waited = false;
    loop {
        match check()? {
            Ok(()) => return Ok(()),
            Err(not_until) => {
                if !waited {
                    metrics.stream_waited(budget);
                    waited = true;
                }
                tokio::time::sleep(not_until.wait_time_from(clock.now())).await;
            }
        }
    }
}

/// The entries of every `name` header, left to right, each parsed by `entry` into an
/// address (`None`: present but not an address, such as `unknown` or an obfuscated
/// node, which the proxy vouches for as nothing).
fn forwarded_chain(
    headers: &HeaderMap,
    name: &str,
    entry: impl Fn(&str) -> Option<&str>,
) -> Vec<Option<IpAddr>> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|e| entry(e).and_then(parse_node))
        .collect()
}

/// The `for=` node of one `Forwarded` element (RFC 7239), unquoted.
fn forwarded_for(element: &str) -> Option<&str> {
    element.split(';').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("for")
            .then(|| v.trim().trim_matches('"'))
    })
}

/// An address as proxies write it: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`,
/// `[2001:db8::1]:5678`.
fn parse_node(node: &str) -> Option<IpAddr> {
    let node = node.trim();
    if let Ok(ip) = node.parse() {
        return Some(ip);
    }
    if let Some(rest) = node.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    node.rsplit_once(':')?.0.parse().ok()
}

/// One open connection counted against its address (none if exempt), until dropped.
pub(crate) struct AddressSlot {
    limits: Arc<Limits>,
    address: Option<IpAddr>,
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        if let Some(address) = self.address {
            lock(&self.limits.usage).change(address, |h| {
                h.connections = h.connections.saturating_sub(1);
            });
        }
    }
}

/// A room creation counted against its address (none if exempt): released when
/// dropped, unless the room was created ([`RoomSlot::created`]).
pub(crate) struct RoomSlot {
    limits: Arc<Limits>,
    address: Option<IpAddr>,
}

impl RoomSlot {
    /// The room exists: it counts until it ends (or its maximum lifetime has passed).
    pub(crate) fn created(mut self, room: RoomId) {
        let Some(address) = self.address.take() else {
            return;
        };
        let until = Instant::now() + self.limits.room_lifetime;
        let mut usage = lock(&self.limits.usage);
        if let Some((earlier, _)) = usage.rooms.insert(room, (address, until)) {
            // The same id created twice (the first ended unheard): count it once.
            usage.change(earlier, |h| h.rooms = h.rooms.saturating_sub(1));
        }
    }
}

impl Drop for RoomSlot {
    fn drop(&mut self) {
        if let Some(address) = self.address {
            lock(&self.limits.usage).change(address, |h| {
                h.rooms = h.rooms.saturating_sub(1);
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn limits(args: &[&str]) -> Arc<Limits> {
        use clap::Parser;
        let mut argv = vec!["vroom-relay"];
        argv.extend_from_slice(args);
        Arc::new(Limits::new(
            &Config::parse_from(argv),
            Arc::new(Metrics::new()),
        ))
    }

    fn headers(name: &'static str, values: &[&'static str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(name, HeaderValue::from_static(v));
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarding_headers_count_only_from_trusted_proxies() {
        let l = limits(&["--trusted-proxies", "10.0.0.0/8"]);
        let xff = headers("x-forwarded-for", &["6.6.6.6, 203.0.113.9", "10.1.1.1"]);
        // A direct peer's header is ignored.
        assert_eq!(
            l.client_address(ip("198.51.100.1"), &xff),
            ip("198.51.100.1")
        );
        // Through trusted proxies: the nearest untrusted entry, never the spoofable
        // leftmost one.
        assert_eq!(l.client_address(ip("10.0.0.2"), &xff), ip("203.0.113.9"));
        // A proxy that names nobody is the client.
        assert_eq!(
            l.client_address(ip("10.0.0.2"), &HeaderMap::new()),
            ip("10.0.0.2")
        );
        let garbage = headers("x-forwarded-for", &["not an address"]);
        assert_eq!(l.client_address(ip("10.0.0.2"), &garbage), ip("10.0.0.2"));
    }

    #[test]
    fn the_forwarded_header_is_read_when_chosen() {
        let l = limits(&[
            "--trusted-proxies",
            "127.0.0.1",
            "--forwarded-header",
            "forwarded",
        ]);
        let h = headers(
            "forwarded",
            &["for=192.0.2.60;proto=http, For=\"[2001:db8:cafe::17]:4711\""],
        );
        assert_eq!(
            l.client_address(ip("127.0.0.1"), &h),
            ip("2001:db8:cafe::"),
            "IPv6 counts per /64"
        );
        let xff = headers("x-forwarded-for", &["192.0.2.1"]);
        assert_eq!(l.client_address(ip("127.0.0.1"), &xff), ip("127.0.0.1"));
    }

    #[test]
    fn connections_count_per_address_until_dropped() {
        let l = limits(&["--max-connections-per-address", "2"]);
        let a = l.connect(ip("192.0.2.1")).unwrap();
        let _b = l.connect(ip("192.0.2.1")).unwrap();
        assert!(matches!(
            l.connect(ip("192.0.2.1")),
            Err(Refusal::ConnectionsPerAddress)
        ));
        let _other = l
            .connect(ip("192.0.2.2"))
            .expect("another address is not affected");
        drop(a);
        let _c = l
            .connect(ip("192.0.2.1"))
            .expect("a closed connection frees its slot");
    }

    #[test]
    fn rooms_count_per_address_until_they_end() {
        let l = limits(&["--max-rooms-per-address", "1"]);
        let room = RoomId([1; 16]);
        l.create(ip("192.0.2.1")).unwrap().created(room);
        assert!(matches!(
            l.create(ip("192.0.2.1")),
            Err(Refusal::RoomsPerAddress)
        ));
        // A creation that failed gives its slot back.
        drop(l.create(ip("192.0.2.2")).unwrap());
        l.create(ip("192.0.2.2")).unwrap().created(RoomId([2; 16]));
        l.room_closed(room);
        l.create(ip("192.0.2.1"))
            .expect("an ended room frees its slot");
        assert!(lock(&l.usage).by_address.len() <= 2);
    }

    #[test]
    fn exempt_addresses_are_not_counted() {
        let l = limits(&[
            "--max-connections-per-address",
            "1",
            "--max-rooms-per-address",
            "1",
        ]);
        let local = ip("127.0.0.1");
        let _slots: Vec<_> = (0..5).map(|_| l.connect(local).unwrap()).collect();
        for _ in 0..5 {
            l.create(local).unwrap().created(RoomId(rand_id()));
            l.join(ip("::1")).unwrap();
        }
        assert!(lock(&l.usage).by_address.is_empty());
        let _one = l.connect(ip("127.0.0.2")).expect("127.0.0.2 is not exempt");
        assert!(l.connect(ip("127.0.0.2")).is_err());
    }

    fn rand_id() -> [u8; 16] {
        use std::sync::atomic::{AtomicU8, Ordering};
        static NEXT: AtomicU8 = AtomicU8::new(0);
        [NEXT.fetch_add(1, Ordering::Relaxed); 16]
    }

    #[test]
    fn creations_are_rate_limited_per_address() {
        let l = limits(&[
            "--creates-per-minute",
            "2",
            "--max-rooms-per-address",
            "100",
        ]);
        drop(l.create(ip("192.0.2.1")).unwrap());
        drop(l.create(ip("192.0.2.1")).unwrap());
        assert!(matches!(
            l.create(ip("192.0.2.1")),
            Err(Refusal::CreatesPerAddress)
        ));
        assert!(l.create(ip("192.0.2.9")).is_ok());
        l.sweep();
        assert!(
            lock(&l.usage).by_address.is_empty(),
            "nothing held, nothing kept"
        );
    }
}
