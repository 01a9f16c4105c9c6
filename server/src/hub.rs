//! The registry of this instance's connections, per room: where sequenced events become
//! frames in each recipient's queue.
//!
//! The store hands every event to the hub once (see [`Fanout`]); the hub pushes the same
//! reference-counted [`Bytes`] into the bounded [`Outbox`] of every local connection that
//! may see it, so a relayed message is encoded once and never copied per recipient.
//!
//! # Lagging receivers
//! A recipient whose outbox is full, or that holds queued frames when the relay-wide
//! queue budget is spent, is stopped on the spot, never waited for (see
//! [`crate::outbox`]); the hub counts it (and the budget's refusals by reason) and
//! forgets the connection.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::mpsc;

use vroom_shared::wire::{MemberId, RoomId};

use crate::limits::Limits;
use crate::metrics::{Metrics, Refusal};
use crate::outbox::{Offered, Outbound, Outbox};
use crate::store::{Fanout, SessionId, Signal};
use crate::sync::lock;

/// Rooms are spread over this many independently locked maps, so busy rooms on
/// different shards never wait for each other.
const SHARDS: usize = 16;

/// One shard of the registry: rooms and their local connections.
type Shard = Mutex<HashMap<RoomId, Vec<Conn>>>;

/// One local connection of a room.
pub(crate) struct Conn {
    /// The member it speaks for.
    pub(crate) member: MemberId,
    /// Tells it apart from another connection of the same member (a resume).
    pub(crate) session: SessionId,
    /// Its outbound queue, which also carries the order to stop (lagging, replaced).
    pub(crate) outbox: Arc<Outbox>,
}

/// The per-room registry of local connections.
pub(crate) struct Hub {
    /// Room → its local connections. std `Mutex`es: every critical section is a
    /// lookup plus non-blocking pushes, never an await.
    shards: Box<[Shard]>,
    /// Delivery and lag counters.
    metrics: Arc<Metrics>,
    /// Told when a room ends, so it stops counting against its creator's address.
    limits: Arc<Limits>,
    /// Short-code exchanges opened by joiners on this instance (connections in no
    /// room), by exchange id: where the member's messages go.
    joiners: Mutex<HashMap<u64, mpsc::Sender<Bytes>>>,
}

/// Messages one joiner's exchange may have waiting (an exchange has two).
const JOINER_QUEUE: usize = 4;

impl Hub {
    pub(crate) fn new(metrics: Arc<Metrics>, limits: Arc<Limits>) -> Hub {
        Hub {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            metrics,
            limits,
            joiners: Mutex::new(HashMap::new()),
        }
    }

    /// Registers a joiner's exchange before it is opened: the member's messages for it
    /// come out of the receiver.
    pub(crate) fn register_joiner(&self, exchange: u64) -> mpsc::Receiver<Bytes> {
        let (tx, rx) = mpsc::channel(JOINER_QUEUE);
        lock(&self.joiners).insert(exchange, tx);
        rx
    }

    /// Forgets a joiner's exchange (it ended, or its connection did).
    pub(crate) fn unregister_joiner(&self, exchange: u64) {
        lock(&self.joiners).remove(&exchange);
    }

    fn shard(&self, room: &RoomId) -> &Shard {
        // Room ids are uniformly random bytes, so one byte spreads them evenly.
        &self.shards[usize::from(room.0[0]) % SHARDS]
    }

    /// Adds a connection before it joins, so it cannot miss its room's next event.
    pub(crate) fn register(&self, room: RoomId, conn: Conn) {
        lock(self.shard(&room)).entry(room).or_default().push(conn);
    }

    /// Removes a connection (it ended, or its join failed).
    pub(crate) fn unregister(&self, room: RoomId, session: SessionId) {
        let mut shard = lock(self.shard(&room));
        if let Some(conns) = shard.get_mut(&room) {
            conns.retain(|c| c.session != session);
            if conns.is_empty() {
                shard.remove(&room);
            }
        }
    }

    /// Stops the member's other connections once `session` has resumed its place.
    pub(crate) fn evict_others(&self, room: RoomId, member: MemberId, session: SessionId) {
        let mut shard = lock(self.shard(&room));
        if let Some(conns) = shard.get_mut(&room) {
            conns.retain(|c| {
                let stale = c.member == member && c.session != session;
                if stale {
                    c.outbox.kill();
                }
                !stale
            });
        }
    }
}

/// Queues `item` for `conn`; `false` when the connection is gone or lagging (and then
/// stops it).
fn offer(conn: &Conn, item: Outbound, metrics: &Metrics) -> bool {
    match conn.outbox.offer(item) {
        Offered::Queued => true,
        Offered::Full => {
            metrics.lagging_disconnects.inc();
            false
        }
        Offered::OverBudget => {
            metrics.lagging_disconnects.inc();
            metrics.refused(Refusal::QueuedBytes);
            false
        }
        Offered::Gone => false,
    }
}

impl Fanout for Hub {
    fn to_joiner(&self, exchange: u64, frame: Bytes) {
        if let Some(joiner) = lock(&self.joiners).get(&exchange) {
            // A joiner that does not read its exchange loses the message; its
            // exchange fails, as a silent one would.
            let _ = joiner.try_send(frame);
        }
    }

    fn signal(&self, room: RoomId, signal: Signal<'_>) {
        let mut shard = lock(self.shard(&room));
        match signal {
            Signal::Event(event) => {
                let Some(conns) = shard.get_mut(&room) else {
                    return;
                };
                let mut delivered = 0;
                conns.retain(|c| {
                    if !event.visible_to(c.member) {
                        return true;
                    }
                    let item = Outbound::Event {
                        seq: event.seq,
                        frame: event.frame.clone(),
                    };
                    let kept = offer(c, item, &self.metrics);
                    delivered += u64::from(kept);
                    kept
                });
                self.metrics.deliveries.inc_by(delivered);
                if conns.is_empty() {
                    shard.remove(&room);
                }
            }
            Signal::MemberClosed { member, reason } => {
                let Some(conns) = shard.get_mut(&room) else {
                    return;
                };
                conns.retain(|c| {
                    if c.member == member {
                        offer(c, Outbound::Close(reason), &self.metrics);
                        false
                    } else {
                        true
                    }
                });
                if conns.is_empty() {
                    shard.remove(&room);
                }
            }
            Signal::Stream(packet) => {
                let Some(conns) = shard.get(&room) else {
                    return;
                };
                // A full chunk lane drops the packet for that connection alone (its
                // client asks again); it never stops the connection or waits.
                let mut delivered = 0;
                let mut dropped = 0;
                for c in conns.iter().filter(|c| packet.visible_to(c.member)) {
                    match c.outbox.offer(Outbound::Stream(packet.frame.clone())) {
                        Offered::Queued => delivered += 1,
                        Offered::Full => dropped += 1,
                        Offered::OverBudget => {
                            dropped += 1;
                            self.metrics.refused(Refusal::QueuedBytesChunk);
                        }
                        Offered::Gone => {}
                    }
                }
                self.metrics.stream_deliveries.inc_by(delivered);
                self.metrics.stream_dropped.inc_by(dropped);
            }
            Signal::Code {
                member,
                session,
                frame,
            } => {
                let Some(conns) = shard.get(&room) else {
                    return;
                };
                for c in conns
                    .iter()
                    .filter(|c| c.member == member && c.session == session)
                {
                    let _ = c.outbox.offer(Outbound::Stream(frame.clone()));
                }
            }
            Signal::RoomClosed(reason) => {
                self.metrics.room_closed(reason);
                self.limits.room_closed(room);
                for c in shard.remove(&room).unwrap_or_default() {
                    offer(&c, Outbound::Close(reason), &self.metrics);
                }
            }
        }
    }
}
