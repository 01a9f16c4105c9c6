//! The registry of this instance's connections, per room: where sequenced events become
//! frames in each recipient's queue.
//!
//! The store hands every event to the hub once (see [`Fanout`]); the hub pushes the same
//! reference-counted [`Bytes`] into the bounded [`Outbox`] of every local connection that
//! may see it, so a relayed message is encoded once and never copied per recipient.
//!
//! # The outbox
//! Most connections are idle most of the time, so a queue must cost next to nothing while
//! empty: an [`Outbox`] is a `VecDeque` behind a mutex, which allocates only while frames
//! wait (the connection takes the whole deque and frees it once written), and a `Notify`
//! rung only when the queue goes from empty to not empty, so a burst of events wakes its
//! connection once.
//!
//! # Lagging receivers
//! A connection's queue holds `--send-queue` frames. When a frame does not fit, the
//! connection is dropped on the spot (its socket closes with code 1013, "try again
//! later") instead of slowing down its room or buffering without bound. Its member keeps
//! its place for the grace period, reconnects with `Resume` and catches up from the
//! room's buffer.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use tokio::sync::Notify;
use vroom_shared::wire::{CloseReason, MemberId, RoomId};

use crate::metrics::Metrics;
use crate::store::{Fanout, SessionId, Signal};

/// Rooms are spread over this many independently locked maps, so busy rooms on
/// different shards never wait for each other.
const SHARDS: usize = 16;

/// What a connection writes to its socket from its outbox.
#[derive(Debug)]
pub(crate) enum Outbound {
    /// A sequenced event, skipped when the connection was already given this `seq`
    /// (by its `Welcome` or its catch-up).
    Event { seq: u64, frame: Bytes },
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
    /// Its outbound queue, which also carries the order to stop (lagging, replaced).
    pub(crate) outbox: Arc<Outbox>,
}

/// A connection's bounded outbound queue (see the module docs).
pub(crate) struct Outbox {
    /// A std `Mutex`: pushing and taking are a few instructions and never await.
    queue: Mutex<Queue>,
    /// Wakes the connection when its queue stops being empty or it is stopped.
    ready: Notify,
    /// How many frames may wait (`--send-queue`) before the connection counts as lagging.
    capacity: usize,
}

/// The state behind an [`Outbox`]'s lock.
#[derive(Default)]
struct Queue {
    /// Frames waiting to be written. Empty (and unallocated) while the connection is idle.
    items: VecDeque<Outbound>,
    /// The connection must stop at once: it lagged or a newer connection replaced it.
    killed: bool,
    /// The connection is gone: nothing more is queued.
    closed: bool,
}

/// What [`Outbox::offer`] did with a frame.
enum Offered {
    /// Queued.
    Queued,
    /// Did not fit: the connection is lagging and has been stopped.
    Full,
    /// The connection is gone or already stopped.
    Gone,
}

/// What a connection finds in its outbox when woken.
pub(crate) enum Taken {
    /// Stop now: lagging or replaced.
    Killed,
    /// The frames queued so far, oldest first (possibly none).
    Items(VecDeque<Outbound>),
}

impl Outbox {
    /// An empty outbox holding at most `capacity` frames (at least one).
    pub(crate) fn new(capacity: usize) -> Arc<Outbox> {
        Arc::new(Outbox {
            queue: Mutex::new(Queue::default()),
            ready: Notify::new(),
            capacity: capacity.max(1),
        })
    }

    fn offer(&self, item: Outbound) -> Offered {
        let mut q = lock(&self.queue);
        if q.closed || q.killed {
            return Offered::Gone;
        }
        if q.items.len() >= self.capacity {
            q.killed = true;
            drop(q);
            self.ready.notify_one();
            return Offered::Full;
        }
        let first = q.items.is_empty();
        q.items.push_back(item);
        drop(q);
        // A queue that was not empty has already woken its connection, which has not
        // taken it yet: one wake per burst.
        if first {
            self.ready.notify_one();
        }
        Offered::Queued
    }

    /// Stops the connection at once (it was replaced by a newer one).
    pub(crate) fn kill(&self) {
        lock(&self.queue).killed = true;
        self.ready.notify_one();
    }

    /// Marks the connection gone, so the hub drops it on its next event.
    pub(crate) fn close(&self) {
        let mut q = lock(&self.queue);
        q.closed = true;
        q.items = VecDeque::new();
    }

    /// Waits until something was queued or the connection was stopped since the last
    /// [`Outbox::take`]. Cancel-safe; may also return when nothing is queued.
    pub(crate) async fn ready(&self) {
        self.ready.notified().await;
    }

    /// Takes everything queued, leaving the outbox empty and unallocated.
    pub(crate) fn take(&self) -> Taken {
        let mut q = lock(&self.queue);
        if q.killed {
            Taken::Killed
        } else {
            Taken::Items(std::mem::take(&mut q.items))
        }
    }
}

/// The per-room registry of local connections.
pub(crate) struct Hub {
    /// Room → its local connections. std `Mutex`es: every critical section is a
    /// lookup plus non-blocking pushes, never an await.
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
        Offered::Gone => false,
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
