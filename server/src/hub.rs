//! The registry of this instance's connections, per room: where sequenced events become
//! frames in each recipient's queue.
//!
//! The store hands every event to the hub once (see [`Fanout`]); the hub pushes the same
//! reference-counted [`Bytes`] into the bounded queue of every local connection that may
//! see it, so a relayed message is encoded once and never copied per recipient.
//!
//! # Lagging receivers
//! A connection's queue holds `--send-queue` frames. When a frame does not fit, the
//! connection is dropped on the spot (its socket closes with code 1013, "try again
//! later") instead of slowing down its room or buffering without bound. Its member keeps
//! its place for the grace period, reconnects with `Resume` and catches up from the
//! room's buffer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, Notify};
use vroom_shared::wire::{CloseReason, MemberId, RoomId};

use crate::metrics::Metrics;
use crate::store::{Fanout, SessionId, Signal};

/// Rooms are spread over this many independently locked maps, so busy rooms on
/// different shards never wait for each other.
const SHARDS: usize = 16;

/// What a connection's send task writes to its socket.
#[derive(Debug)]
pub(crate) enum Outbound {
    /// A sequenced event, skipped when the connection was already given this `seq`
    /// (by its `Welcome` or its catch-up).
    Event { seq: u64, frame: Bytes },
    /// Any other encoded frame, written as it is.
    Frame(Bytes),
    /// Write `Closed { reason }`, close the socket, and stop.
    Close(CloseReason),
}

/// One shard of the registry: rooms and their local connections.
type Shard = Mutex<HashMap<RoomId, Vec<Conn>>>;

/// One local connection of a room.
pub(crate) struct Conn {
    /// The member it speaks for.
    pub(crate) member: MemberId,
    /// Tells it apart from another connection of the same member (a resume).
    pub(crate) session: SessionId,
    /// Its outbound queue.
    pub(crate) tx: mpsc::Sender<Outbound>,
    /// Stops its send task at once (lagging, or replaced by a newer connection).
    pub(crate) kill: Arc<Notify>,
}

/// The per-room registry of local connections.
pub(crate) struct Hub {
    /// Room → its local connections. std `Mutex`es: every critical section is a
    /// lookup plus non-blocking `try_send`s, never an await.
    shards: Box<[Shard]>,
    /// Delivery and lag counters.
    metrics: Arc<Metrics>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Hub {
    pub(crate) fn new(metrics: Arc<Metrics>) -> Hub {
        Hub {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            metrics,
        }
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
                    c.kill.notify_one();
                }
                !stale
            });
        }
    }
}

/// Queues `item` for `conn`; `false` when the connection is gone or lagging (and then
/// stops it).
fn offer(conn: &Conn, item: Outbound, metrics: &Metrics) -> bool {
    match conn.tx.try_send(item) {
        Ok(()) => true,
        Err(TrySendError::Full(_)) => {
            metrics.lagging_disconnects.inc();
            conn.kill.notify_one();
            false
        }
        Err(TrySendError::Closed(_)) => false,
    }
}

impl Fanout for Hub {
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
            Signal::RoomClosed(reason) => {
                self.metrics.room_closed(reason);
                for c in shard.remove(&room).unwrap_or_default() {
                    offer(&c, Outbound::Close(reason), &self.metrics);
                }
            }
        }
    }
}
