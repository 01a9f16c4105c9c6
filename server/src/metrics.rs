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
use prometheus_client::registry::Registry;
use vroom_shared::wire::{CloseReason, ErrorCode};

/// Label set of a counter split by a fixed enumeration.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct KindLabel {
    /// The enumeration's variant name.
    kind: &'static str,
}

/// The relay's metrics.
pub(crate) struct Metrics {
    /// Where the metrics are registered for encoding.
    registry: Registry,
    /// Open WebSocket connections.
    pub(crate) connections: Gauge,
    /// Rooms that exist now (set from the store when scraped).
    pub(crate) rooms: Gauge,
    /// Rooms created since start.
    pub(crate) rooms_created: Counter,
    /// Rooms closed since start, by reason.
    pub(crate) rooms_closed: Family<KindLabel, Counter>,
    /// Messages accepted for relaying.
    pub(crate) relayed_frames: Counter,
    /// Payload bytes accepted for relaying.
    pub(crate) relayed_bytes: Counter,
    /// Frames queued for delivery to connections (one relayed message to ten members
    /// counts ten).
    pub(crate) deliveries: Counter,
    /// Error answers sent, by code.
    pub(crate) errors: Family<KindLabel, Counter>,
    /// Connections dropped because they could not keep up with their room.
    pub(crate) lagging_disconnects: Counter,
}

impl Metrics {
    pub(crate) fn new() -> Metrics {
        let mut registry = Registry::with_prefix("vroom");
        let m = Metrics {
            registry: Registry::default(),
            connections: Gauge::default(),
            rooms: Gauge::default(),
            rooms_created: Counter::default(),
            rooms_closed: Family::default(),
            relayed_frames: Counter::default(),
            relayed_bytes: Counter::default(),
            deliveries: Counter::default(),
            errors: Family::default(),
            lagging_disconnects: Counter::default(),
        };
        registry.register(
            "connections",
            "Open WebSocket connections",
            m.connections.clone(),
        );
        registry.register("rooms", "Rooms that exist now", m.rooms.clone());
        registry.register("rooms_created", "Rooms created", m.rooms_created.clone());
        registry.register(
            "rooms_closed",
            "Rooms closed, by reason",
            m.rooms_closed.clone(),
        );
        registry.register(
            "relayed_frames",
            "Messages accepted for relaying",
            m.relayed_frames.clone(),
        );
        registry.register(
            "relayed_bytes",
            "Payload bytes accepted for relaying",
            m.relayed_bytes.clone(),
        );
        registry.register(
            "deliveries",
            "Frames queued for delivery to connections",
            m.deliveries.clone(),
        );
        registry.register("errors", "Error answers sent, by code", m.errors.clone());
        registry.register(
            "lagging_disconnects",
            "Connections dropped for not keeping up with their room",
            m.lagging_disconnects.clone(),
        );
        Metrics { registry, ..m }
    }

    pub(crate) fn error(&self, code: ErrorCode) {
        self.errors
            .get_or_create(&KindLabel {
                kind: error_name(code),
            })
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
    }
}
