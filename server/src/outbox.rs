//! A connection's outbound queue, both ends of it: the hub offers frames at one end
//! ([`Outbox`]), the connection takes them at the other ([`OutboxReader`]).
//!
//! Most connections are idle most of the time, so a queue must cost next to nothing while
//! empty: an [`Outbox`] is a `VecDeque` behind a mutex, which allocates only while frames
//! wait (the reader takes the whole deque and frees it once written), and a `Notify`
//! rung only when the queue goes from empty to not empty, so a burst of events wakes its
//! connection once.
//!
//! # Backpressure
//! An outbox holds `--send-queue` frames and `--send-queue-bytes` of them (a frame
//! waiting in two outboxes is one allocation, but a connection must not keep alive
//! what its room's buffer has dropped). A frame counts from the moment it is queued
//! until its batch has been handed to the socket, so a connection whose batch is being
//! written holds its cap, not twice it. When a frame does not fit, the outbox stops
//! its connection on the spot (the connection closes its socket with code 1013, "try
//! again later") instead of slowing down its room or buffering without bound. Its member
//! keeps its place for the grace period, reconnects with `Resume` and catches up from the
//! room's buffer.
//!
//! # The relay-wide budget
//! Every outbox also counts against one [`QueueBudget`] (`--max-queued-bytes`), so many
//! slow readers together cannot hold more than it, whatever their own caps allow.
//! When it runs short:
//! - chunk-lane packets go first: past half of the budget, a chunk is dropped for the
//!   receiver it was offered to (its client asks for it again), so chunks can never
//!   leave chat without room;
//! - past the whole budget, an event offered to a connection that still holds queued
//!   frames stops that connection as lagging (1013, as above): the receivers that hold
//!   memory are the ones that go. A connection holding nothing (it keeps up) still
//!   gets its frame, so a room whose members read is never cut off by another room's
//!   backlog; the most the budget can be passed by is one frame per such connection,
//!   which it writes at once.
//!
//! # Duplicates
//! A joining connection registers with the hub before the store answers, and its
//! `Welcome` or catch-up may already hold an event that is also queued live. The reader
//! drops every event whose `seq` it was already given, so that race never duplicates.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::sync::lock;
use bytes::Bytes;
use tokio::sync::Notify;
use vroom_shared::wire::CloseReason;

/// What a connection writes to its socket from its outbox.
#[derive(Debug)]
pub(crate) enum Outbound {
    /// A sequenced event, skipped when the connection was already given this `seq`
    /// (by its `Welcome` or its catch-up).
    Event {
        /// The room's sequence number of the event, for the duplicate filter.
        seq: u64,
        /// The encoded `ServerFrame::Event`, shared with every other recipient.
        frame: Bytes,
    },
    /// Write `Closed { reason }`, close the socket, and stop.
    Close(CloseReason),
    /// A chunk-lane packet (an encoded `ServerFrame::Stream`): counted against the
    /// chunk lane's own budget, dropped rather than queued when it does not fit.
    Stream(Bytes),
}

impl Outbound {
    /// Bytes this item holds while it waits.
    fn size(&self) -> usize {
        match self {
            Outbound::Event { frame, .. } => frame.len(),
            Outbound::Close(_) | Outbound::Stream(_) => 0,
        }
    }
}

/// The relay-wide budget of bytes queued to connections (`--max-queued-bytes`), shared
/// by every outbox (see the module docs).
pub(crate) struct QueueBudget {
    /// Bytes queued to all connections now, from queueing until written. An atomic:
    /// one add per queued frame and one subtraction per written batch, never a lock.
    used: AtomicUsize,
    /// Events may fill it up to here.
    limit: usize,
    /// Chunks only up to here (half of `limit`), so they are the first to go.
    chunk_limit: usize,
}

impl QueueBudget {
    pub(crate) fn new(limit: usize) -> QueueBudget {
        QueueBudget {
            used: AtomicUsize::new(0),
            limit,
            chunk_limit: limit / 2,
        }
    }

    /// Bytes queued to all connections now.
    pub(crate) fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// Whether `size` more bytes stay within `limit`.
    fn fits(&self, size: usize, limit: usize) -> bool {
        self.used().saturating_add(size) <= limit
    }

    fn take(&self, size: usize) {
        self.used.fetch_add(size, Ordering::Relaxed);
    }

    fn give_back(&self, size: usize) {
        if size > 0 {
            self.used.fetch_sub(size, Ordering::Relaxed);
        }
    }
}

/// The hub's end of a connection's bounded outbound queue (see the module docs).
pub(crate) struct Outbox {
    /// A std `Mutex`: pushing and taking are a few instructions and never await.
    queue: Mutex<Queue>,
    /// Wakes the connection when its queue stops being empty or it is stopped.
    ready: Notify,
    /// How many frames may wait (`--send-queue`) before the connection counts as lagging.
    capacity: usize,
    /// How many bytes of frames may wait (`--send-queue-bytes`); one frame always fits.
    max_bytes: usize,
    /// How many bytes of chunk-lane packets may wait (`--stream-queue-bytes`).
    max_stream_bytes: usize,
    /// The relay-wide budget this outbox counts against.
    budget: Arc<QueueBudget>,
}

/// What an outbox holds, counted from queueing until written.
#[derive(Default, Clone, Copy)]
struct Held {
    /// Event frames.
    events: usize,
    /// Bytes of the event frames.
    bytes: usize,
    /// Chunk-lane packets, and their bytes: the chunk lane has its own budget, so
    /// chunks neither count as lag nor crowd out events.
    streams: usize,
    stream_bytes: usize,
}

impl Held {
    fn total_bytes(&self) -> usize {
        self.bytes + self.stream_bytes
    }
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
    /// What `items` and the batch the reader is writing hold together.
    held: Held,
}

/// What [`Outbox::offer`] did with a frame.
pub(crate) enum Offered {
    /// Queued.
    Queued,
    /// Did not fit the connection's own caps: a chunk was dropped, or the connection
    /// is lagging and has been stopped.
    Full,
    /// Did not fit the relay-wide budget: a chunk was dropped, or the connection,
    /// which held queued frames, has been stopped.
    OverBudget,
    /// The connection is gone or already stopped.
    Gone,
}

impl Outbox {
    /// Queues `item`, or stops the connection when it does not fit; a chunk-lane packet
    /// that does not fit is dropped and the connection goes on (see the module docs).
    pub(crate) fn offer(&self, item: Outbound) -> Offered {
        let mut q = lock(&self.queue);
        if q.closed || q.killed {
            return Offered::Gone;
        }
        if let Outbound::Stream(frame) = &item {
            let size = frame.len();
            if q.held.streams > 0 && q.held.stream_bytes + size > self.max_stream_bytes {
                return Offered::Full;
            }
            if !self.budget.fits(size, self.budget.chunk_limit) {
                return Offered::OverBudget;
            }
            q.held.streams += 1;
            q.held.stream_bytes += size;
            self.budget.take(size);
            return self.push(q, item);
        }
        let size = item.size();
        let too_many = q.held.events >= self.capacity;
        let too_big = q.held.events > 0 && q.held.bytes + size > self.max_bytes;
        // A close (no bytes) is never refused for the budget.
        let over_budget =
            size > 0 && q.held.total_bytes() > 0 && !self.budget.fits(size, self.budget.limit);
        if too_many || too_big || over_budget {
            q.killed = true;
            drop(q);
            self.ready.notify_one();
            return if too_many || too_big {
                Offered::Full
            } else {
                Offered::OverBudget
            };
        }
        q.held.events += 1;
        q.held.bytes += size;
        self.budget.take(size);
        self.push(q, item)
    }

    /// Appends `item` and wakes the connection if its queue was empty.
    fn push(&self, mut q: std::sync::MutexGuard<'_, Queue>, item: Outbound) -> Offered {
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
}

/// The connection's end of its outbox: takes what was queued in batches, skips events
/// already given, and closes the outbox when dropped, so the hub stops queueing for a
/// connection that has gone, whichever way it went.
pub(crate) struct OutboxReader {
    /// The queue shared with the hub.
    outbox: Arc<Outbox>,
    /// Frames taken from the outbox and not yet written. Kept here rather than in the
    /// writing future, so a write cut short by shutdown loses nothing; freed once empty.
    pending: VecDeque<Outbound>,
    /// The last event `seq` handed out (or given by `Welcome`/catch-up): older events
    /// are skipped.
    floor: u64,
    /// What `pending` held when it was taken: it counts until the whole batch has been
    /// handed to the socket.
    in_flight: Held,
}

/// What a connection writes next.
pub(crate) enum Next {
    /// An event frame.
    Frame(Bytes),
    /// Write `Closed { reason }` and close.
    Close(CloseReason),
    /// Stop now: the connection lagged or was replaced.
    Killed,
    /// Nothing more is queued; the batch's buffer went back to the allocator.
    Empty,
}

impl OutboxReader {
    /// A new, empty outbox holding at most `capacity` frames (at least one) and
    /// `max_bytes` of them (one frame always fits): the reader, and the end to register
    /// with the hub.
    pub(crate) fn new(
        capacity: usize,
        max_bytes: usize,
        max_stream_bytes: usize,
        budget: Arc<QueueBudget>,
    ) -> (OutboxReader, Arc<Outbox>) {
        let outbox = Arc::new(Outbox {
            queue: Mutex::new(Queue::default()),
            ready: Notify::new(),
            capacity: capacity.max(1),
            max_bytes,
            max_stream_bytes,
            budget,
        });
        let reader = OutboxReader {
            outbox: outbox.clone(),
            pending: VecDeque::new(),
            floor: 0,
            in_flight: Held::default(),
        };
        (reader, outbox)
    }

    /// Events up to `seq` were given to the client outside the outbox (its `Welcome`
    /// and catch-up): they are not written again.
    pub(crate) fn given_up_to(&mut self, seq: u64) {
        self.floor = self.floor.max(seq);
    }

    /// Waits until something was queued or the connection was stopped since the last
    /// [`OutboxReader::next`] answered [`Next::Empty`]. Cancel-safe; may also return
    /// when nothing is queued.
    pub(crate) async fn ready(&self) {
        self.outbox.ready.notified().await;
    }

    /// The next thing to write, oldest first, skipping events already given.
    pub(crate) fn next(&mut self) -> Next {
        loop {
            while let Some(item) = self.pending.pop_front() {
                match item {
                    Outbound::Event { seq, .. } if seq <= self.floor => {}
                    Outbound::Event { seq, frame } => {
                        self.floor = seq;
                        return Next::Frame(frame);
                    }
                    Outbound::Close(reason) => return Next::Close(reason),
                    Outbound::Stream(frame) => return Next::Frame(frame),
                }
            }
            let mut q = lock(&self.outbox.queue);
            if q.killed {
                return Next::Killed;
            }
            // The batch taken last time has been handed to the socket: it stops counting.
            let written = std::mem::take(&mut self.in_flight);
            q.held.events -= written.events;
            q.held.bytes -= written.bytes;
            q.held.streams -= written.streams;
            q.held.stream_bytes -= written.stream_bytes;
            self.outbox.budget.give_back(written.total_bytes());
            if q.items.is_empty() {
                drop(q);
                // An idle connection keeps no buffer.
                self.pending = VecDeque::new();
                return Next::Empty;
            }
            self.pending = std::mem::take(&mut q.items);
            // Now the queue is empty, everything it counts is in this batch.
            self.in_flight = q.held;
        }
    }
}

impl Drop for OutboxReader {
    fn drop(&mut self) {
        let mut q = lock(&self.outbox.queue);
        q.closed = true;
        q.items = VecDeque::new();
        let held = std::mem::take(&mut q.held);
        self.outbox.budget.give_back(held.total_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn next_frame(reader: &mut OutboxReader) -> Option<Bytes> {
        match reader.next() {
            Next::Frame(frame) => Some(frame),
            _ => None,
        }
    }

    #[test]
    fn a_full_chunk_lane_drops_chunks_and_keeps_the_connection_and_its_events() {
        let budget = Arc::new(QueueBudget::new(1 << 20));
        let (mut reader, outbox) = OutboxReader::new(4, 1000, 100, budget);
        let chunk = || Outbound::Stream(Bytes::from(vec![7; 60]));
        assert!(matches!(outbox.offer(chunk()), Offered::Queued));
        // A second chunk would pass the lane's 100 bytes: dropped, not a lag.
        assert!(matches!(outbox.offer(chunk()), Offered::Full));
        // Events still have their whole budget, chunks apart: four of them fit.
        for seq in 1..=4 {
            let frame = Bytes::from(vec![seq as u8; 200]);
            assert!(matches!(
                outbox.offer(Outbound::Event { seq, frame }),
                Offered::Queued
            ));
        }
        assert_eq!(next_frame(&mut reader).map(|f| f.len()), Some(60));
        for _ in 1..=4 {
            assert_eq!(next_frame(&mut reader).map(|f| f.len()), Some(200));
        }
        assert!(matches!(reader.next(), Next::Empty));
        // Taken: the lane has room again.
        assert!(matches!(outbox.offer(chunk()), Offered::Queued));
        // A fifth event over `capacity` still stops a lagging connection.
        for seq in 5..=9 {
            let _ = outbox.offer(Outbound::Event {
                seq,
                frame: Bytes::from_static(b"e"),
            });
        }
        assert!(matches!(reader.next(), Next::Killed));
    }

    #[test]
    fn the_relay_budget_drops_chunks_first_then_stops_receivers_that_hold_frames() {
        let budget = Arc::new(QueueBudget::new(1000));
        let open = || OutboxReader::new(100, 1 << 20, 1 << 20, budget.clone());
        let (mut slow, slow_box) = open();
        let (_fast, fast_box) = open();
        let chunk = || Outbound::Stream(Bytes::from(vec![7; 200]));
        let event = |seq| Outbound::Event {
            seq,
            frame: Bytes::from(vec![1; 200]),
        };
        // Chunks may fill half of the budget, no more.
        assert!(matches!(slow_box.offer(chunk()), Offered::Queued));
        assert!(matches!(slow_box.offer(chunk()), Offered::Queued));
        assert!(matches!(slow_box.offer(chunk()), Offered::OverBudget));
        // Events fill the rest, and a receiver holding nothing always gets one.
        assert!(matches!(slow_box.offer(event(1)), Offered::Queued));
        assert!(matches!(slow_box.offer(event(2)), Offered::Queued));
        assert!(matches!(fast_box.offer(event(3)), Offered::Queued));
        assert_eq!(budget.used(), 1000);
        // Full: a receiver that holds frames is stopped, not the budget passed.
        assert!(matches!(slow_box.offer(event(4)), Offered::OverBudget));
        assert!(matches!(slow.next(), Next::Killed));
        assert_eq!(
            budget.used(),
            1000,
            "a stopped reader's frames count until it goes"
        );
        drop(slow);
        assert_eq!(budget.used(), 200, "its frames went back to the budget");
    }

    #[test]
    fn frames_count_until_their_batch_is_written() {
        let budget = Arc::new(QueueBudget::new(1 << 20));
        let (mut reader, outbox) = OutboxReader::new(2, 1000, 1000, budget.clone());
        let event = |seq| Outbound::Event {
            seq,
            frame: Bytes::from(vec![1; 400]),
        };
        assert!(matches!(outbox.offer(event(1)), Offered::Queued));
        assert!(matches!(outbox.offer(event(2)), Offered::Queued));
        // Both written: they no longer count, and two more fit.
        assert!(next_frame(&mut reader).is_some());
        assert!(next_frame(&mut reader).is_some());
        assert!(matches!(reader.next(), Next::Empty));
        assert_eq!(budget.used(), 0);
        assert!(matches!(outbox.offer(event(3)), Offered::Queued));
        assert!(matches!(outbox.offer(event(4)), Offered::Queued));
        // The batch is being written: it still counts against the connection's caps,
        // so a third frame finds the connection lagging.
        assert!(next_frame(&mut reader).is_some());
        assert!(matches!(outbox.offer(event(5)), Offered::Full));
        assert_eq!(budget.used(), 800);
        // The rest of the batch, then the stop.
        assert!(next_frame(&mut reader).is_some());
        assert!(matches!(reader.next(), Next::Killed));
        drop(reader);
        assert_eq!(budget.used(), 0);
    }
}
