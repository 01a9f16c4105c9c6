//! Prometheus metrics: counts and sizes only.
//!
//! **No label or value here carries a room id, a member id, an address or a payload**;
//! labels are limited to fixed enumerations (error codes, close reasons). Every counter is
//! an atomic, so the relay's hot path pays one atomic add per relayed message, not one
//! per recipient.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use vroom_shared::wire::{CloseReason, CodeRefusal, ErrorCode};

/// Label set of a counter split by a fixed enumeration.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct KindLabel {
    /// The enumeration's variant name.
    kind: &'static str,
}

/// Declares the relay's metrics once: each becomes a field of [`Metrics`] and is
/// registered under its field's name with its help text.
macro_rules! metrics {
    ($( $(#[doc = $doc:literal])* $name:ident: $ty:ty = $help:literal $(=> $init:expr)?, )*) => {
        /// The relay's metrics.
        pub(crate) struct Metrics {
            /// Where the metrics are registered for encoding.
            registry: Registry,
            $( $(#[doc = $doc])* pub(crate) $name: $ty, )*
        }

        impl Metrics {
            pub(crate) fn new() -> Metrics {
                let mut registry = Registry::with_prefix("vroom");
                $(
                    let $name: $ty = metrics!(@init $ty $(, $init)?);
                    registry.register(stringify!($name), $help, $name.clone());
                )*
                let metrics = Metrics { registry, $($name,)* };
                metrics.start();
                metrics
            }
        }
    };
    (@init $ty:ty) => { <$ty>::default() };
    (@init $ty:ty, $init:expr) => { $init };
}

/// A histogram of store round trips, 50 µs to ~1.6 s.
type StoreHistogram = Family<OpLabel, Histogram, fn() -> Histogram>;

fn store_histogram() -> Histogram {
    Histogram::new(exponential_buckets(50e-6, 2.0, 16))
}

/// Label set of the store latency histogram.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct OpLabel {
    /// The store operation: `create`, `join` or `publish`.
    op: &'static str,
}

metrics! {
    /// Open WebSocket connections.
    connections: Gauge = "Open WebSocket connections",
    /// Rooms that exist now (set from the store when scraped).
    rooms: Gauge = "Rooms that exist now",
    /// Rooms created since start.
    rooms_created: Counter = "Rooms created",
    /// Rooms closed since start, by reason.
    rooms_closed: Family<KindLabel, Counter> = "Rooms closed, by reason",
    /// Messages accepted for relaying.
    relayed_frames: Counter = "Messages accepted for relaying",
    /// Payload bytes accepted for relaying.
    relayed_bytes: Counter = "Payload bytes accepted for relaying",
    /// Chunk-lane packet bytes accepted for relaying.
    stream_bytes: Counter = "Chunk-lane (file) bytes accepted for relaying",
    /// Chunk-lane packets queued for delivery to connections.
    stream_deliveries: Counter = "Chunk-lane (file) packets queued for delivery to connections",
    /// Chunk-lane packets dropped for a connection whose chunk lane was full.
    stream_dropped: Counter = "Chunk-lane (file) packets dropped for a receiver whose lane was full",
    /// Frames queued for delivery to connections (one relayed message to ten members
    /// counts ten).
    deliveries: Counter = "Frames queued for delivery to connections",
    /// Error answers sent, by code.
    errors: Family<KindLabel, Counter> = "Error answers sent, by code",
    /// Connections dropped because they could not keep up with their room.
    lagging_disconnects: Counter = "Connections dropped for not keeping up with their room",
    /// Connections, requests and frames refused or cut off by a limit, by reason.
    refusals: Family<ReasonLabel, Counter> = "Connections, requests and frames refused or cut off by a limit, by reason",
    /// How long the store took to answer, by operation (`create`, `join`, `publish`).
    store_seconds: StoreHistogram = "How long the store took to answer, by operation"
        => Family::new_with_constructor(store_histogram),
    /// Bytes of ciphertext buffered for catch-up across all rooms (in-process store; set
    /// when scraped).
    buffered_bytes: Gauge = "Bytes of ciphertext buffered for catch-up across all rooms",
    /// Bytes queued to all connections, waiting to be written (set when scraped).
    queued_bytes: Gauge = "Bytes of events and file chunks queued to connections, waiting to be written",
    /// Chunk-lane packets held back by a budget, by budget.
    stream_waits: Family<KindLabel, Counter> = "Chunk-lane (file) packets held back until a budget allowed them, by budget (connection, room, relay)",
    /// Short-code nameplates handed to members.
    codes_issued: Counter = "Short-code nameplates handed to members",
    /// Short codes a member ended, by how (`revoked`, or `burned` after failed
    /// exchanges its client counted: the relay cannot tell a wrong code itself).
    codes_ended: Family<KindLabel, Counter> = "Short codes ended by their member, by how (revoked, burned)",
    /// Short-code requests refused, by reason (`unknown`, `expired`, `burned`,
    /// `offline`, `too_many`).
    code_refusals: Family<KindLabel, Counter> = "Short-code requests refused, by reason",
    /// Rooms whose host renewed the invitation after a kick (`Rotate` accepted).
    invites_renewed: Counter = "Join proofs set by a room's host (a renewal after a kick, or its repeat after a reconnection)",
    /// WebSocket upgrades refused because their page's origin is neither the relay's
    /// own nor one given with `--app-origin` (no origin or address is kept).
    origin_refusals: Counter = "WebSocket upgrades refused for coming from a page of another origin",
}

/// Why something was refused or cut off; the `reason` label of `vroom_refusals_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// `--max-connections-per-address`: HTTP 429.
    ConnectionsPerAddress,
    /// `--max-connections`: HTTP 503.
    ConnectionsTotal,
    /// `--creates-per-minute`: `Error { RateLimited }`.
    CreatesPerAddress,
    /// `--joins-per-minute`: `Error { RateLimited }`.
    JoinsPerAddress,
    /// `--max-rooms-per-address`: `Error { RateLimited }`.
    RoomsPerAddress,
    /// `--max-rooms`: `Error { Unavailable }`.
    RoomsTotal,
    /// A WebSocket message above the size limit: close 1009.
    MessageTooBig,
    /// No `Create`/`Join` within `--join-timeout`: close 1008.
    JoinTimeout,
    /// No answer to a ping within `--ping-timeout`: close 1011.
    DeadPeer,
    /// The socket took nothing for `--write-timeout`: the connection is dropped.
    SlowReader,
    /// `--max-queued-bytes` was full and the connection held queued frames: it is
    /// stopped as lagging, close 1013.
    QueuedBytes,
    /// Half of `--max-queued-bytes` was full: a chunk-lane packet was dropped for one
    /// receiver.
    QueuedBytesChunk,
    /// `--code-opens-per-minute`: `Error { RateLimited }`.
    CodeOpensPerAddress,
    /// `--code-offers-per-minute`: `Error { RateLimited }`.
    CodeOffersPerRoom,
}

impl Refusal {
    /// Every reason, so each has a series (at 0) from the start.
    const ALL: [Refusal; 14] = [
        Refusal::ConnectionsPerAddress,
        Refusal::ConnectionsTotal,
        Refusal::CreatesPerAddress,
        Refusal::JoinsPerAddress,
        Refusal::RoomsPerAddress,
        Refusal::RoomsTotal,
        Refusal::MessageTooBig,
        Refusal::JoinTimeout,
        Refusal::DeadPeer,
        Refusal::SlowReader,
        Refusal::QueuedBytes,
        Refusal::QueuedBytesChunk,
        Refusal::CodeOpensPerAddress,
        Refusal::CodeOffersPerRoom,
    ];

    fn name(self) -> &'static str {
        match self {
            Refusal::ConnectionsPerAddress => "connections_per_address",
            Refusal::ConnectionsTotal => "connections_total",
            Refusal::CreatesPerAddress => "creates_per_address",
            Refusal::JoinsPerAddress => "joins_per_address",
            Refusal::RoomsPerAddress => "rooms_per_address",
            Refusal::RoomsTotal => "rooms_total",
            Refusal::MessageTooBig => "message_too_big",
            Refusal::JoinTimeout => "join_timeout",
            Refusal::DeadPeer => "dead_peer",
            Refusal::SlowReader => "slow_reader",
            Refusal::QueuedBytes => "queued_bytes",
            Refusal::QueuedBytesChunk => "queued_bytes_chunk",
            Refusal::CodeOpensPerAddress => "code_opens_per_address",
            Refusal::CodeOffersPerRoom => "code_offers_per_room",
        }
    }
}

/// Label set of the refusals counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ReasonLabel {
    /// [`Refusal`]'s name.
    reason: &'static str,
}

impl Metrics {
    pub(crate) fn error(&self, code: ErrorCode) {
        self.errors
            .get_or_create(&KindLabel {
                kind: error_name(code),
            })
            .inc();
    }

    /// Gives every refusal reason its series at 0, so dashboards and alerts see the
    /// reasons before the first refusal.
    fn start(&self) {
        for why in Refusal::ALL {
            drop(
                self.refusals
                    .get_or_create(&ReasonLabel { reason: why.name() }),
            );
        }
        for kind in CODE_REFUSALS.map(code_refusal_name) {
            drop(self.code_refusals.get_or_create(&KindLabel { kind }));
        }
        for kind in ["revoked", "burned"] {
            drop(self.codes_ended.get_or_create(&KindLabel { kind }));
        }
    }

    /// A short-code request was refused for `reason`.
    pub(crate) fn code_refused(&self, reason: CodeRefusal) {
        self.code_refusals
            .get_or_create(&KindLabel {
                kind: code_refusal_name(reason),
            })
            .inc();
    }

    /// A member ended one of its short codes (`burned` or revoked).
    pub(crate) fn code_ended(&self, burned: bool) {
        let kind = if burned { "burned" } else { "revoked" };
        self.codes_ended.get_or_create(&KindLabel { kind }).inc();
    }

    /// Records how long a store operation took since `started`.
    pub(crate) fn store_time(&self, op: &'static str, started: std::time::Instant) {
        self.store_seconds
            .get_or_create(&OpLabel { op })
            .observe(started.elapsed().as_secs_f64());
    }

    pub(crate) fn refused(&self, why: Refusal) {
        self.refusals
            .get_or_create(&ReasonLabel { reason: why.name() })
            .inc();
    }

    /// A chunk-lane packet waited for `budget` (`connection`, `room` or `relay`).
    pub(crate) fn stream_waited(&self, budget: &'static str) {
        self.stream_waits
            .get_or_create(&KindLabel { kind: budget })
            .inc();
    }

    pub(crate) fn room_closed(&self, reason: CloseReason) {
        self.rooms_closed
            .get_or_create(&KindLabel {
                kind: close_name(reason),
            })
            .inc();
    }

    /// The metrics in Prometheus' text format.
    pub(crate) fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

/// Every reason a short-code request may be refused for.
const CODE_REFUSALS: [CodeRefusal; 5] = [
    CodeRefusal::Unknown,
    CodeRefusal::Expired,
    CodeRefusal::Burned,
    CodeRefusal::Offline,
    CodeRefusal::TooMany,
];

fn code_refusal_name(reason: CodeRefusal) -> &'static str {
    match reason {
        CodeRefusal::Unknown => "unknown",
        CodeRefusal::Expired => "expired",
        CodeRefusal::Burned => "burned",
        CodeRefusal::Offline => "offline",
        CodeRefusal::TooMany => "too_many",
    }
}

fn error_name(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::UnknownRoom => "unknown_room",
        ErrorCode::RoomExists => "room_exists",
        ErrorCode::Locked => "locked",
        ErrorCode::Full => "full",
        ErrorCode::BadHostSecret => "bad_host_secret",
        ErrorCode::FrameTooLarge => "frame_too_large",
        ErrorCode::MalformedFrame => "malformed_frame",
        ErrorCode::UnsupportedVersion => "unsupported_version",
        ErrorCode::UnexpectedFrame => "unexpected_frame",
        ErrorCode::RateLimited => "rate_limited",
        ErrorCode::UnknownMember => "unknown_member",
        ErrorCode::ResumeRefused => "resume_refused",
        ErrorCode::Unavailable => "unavailable",
        ErrorCode::InviteChanged => "invite_changed",
    }
}

fn close_name(reason: CloseReason) -> &'static str {
    match reason {
        CloseReason::Terminated => "terminated",
        CloseReason::IdleTimeout => "idle_timeout",
        CloseReason::MaxLifetime => "max_lifetime",
        CloseReason::Kicked => "kicked",
        CloseReason::Left => "left",
        CloseReason::GoingAway => "going_away",
        CloseReason::StorageLost => "storage_lost",
        CloseReason::Removed => "removed",
    }
}
