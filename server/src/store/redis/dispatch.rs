//! Delivery: the room channels this instance subscribes to, and the one dispatcher
//! task that hands their events to the [`Fanout`](crate::store::Fanout) in sequence
//! order, filling holes from the log.

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;
use redis::{PushInfo, PushKind, Value};
use tokio::sync::{mpsc, watch};
use vroom_shared::wire::{CloseReason, LeaveReason, MemberId, RoomId, ServerFrame};

use super::conn::Conn;
use super::scripts::Logged;
use super::{channel, keys, room_of_channel, sequenced, unavailable, Inner};
use crate::store::{SessionId, Signal, Streamed};
use crate::sync::lock;

/// A change of this instance's subscriptions.
pub(super) enum SubCommand {
    /// Follow the room's channel; tell the sender whether that worked.
    Subscribe(RoomId, watch::Sender<Option<bool>>),
    /// Stop following the room's channel.
    Unsubscribe(RoomId),
    /// Follow the room's channel again: the cluster dropped the subscription because
    /// the room's slot moved to another node. The number counts the tries so far.
    Resubscribe(RoomId, u32),
}

/// The longest wait between two tries of a dropped subscription.
const RESUBSCRIBE_BACKOFF: Duration = Duration::from_secs(2);

/// What the dispatcher acts on, in the order it arrives.
pub(super) enum Input {
    /// A push from Redis (a published event, a subscription change, a disconnection).
    Push(PushInfo),
    /// This instance started following a room: deliver its events from now on.
    Follow(RoomId),
    /// Events up to `seq` are covered by a `Welcome`; later ones must come.
    Baseline(RoomId, u64),
    /// The room's tick saw `seq` as the latest number: deliver whatever was missed.
    Resync(RoomId, u64),
    /// These local members have no place any more (lost while Redis was unreachable).
    Lost(RoomId, Vec<(MemberId, SessionId)>),
    /// The room's keys are gone without an announcement this instance heard.
    Vanished(RoomId, CloseReason),
    /// This instance stopped following the room.
    Forget(RoomId),
    /// Try again to follow the room's channel (after this many tries), if the room is
    /// still followed.
    Resubscribe(RoomId, u32),
}

/// A message on a room's channel (its format is written down in `common.lua`).
#[derive(Debug, PartialEq, Eq)]
enum Published<'a> {
    /// A sequenced event: its number and its encoding.
    Event(u64, &'a [u8]),
    /// The room ended, for this reason.
    Closed(CloseReason),
    /// A chunk-lane packet: an encoded `ServerFrame::Stream`.
    Stream(&'a [u8]),
    /// A short-code exchange's message for one member's connection.
    Code(MemberId, SessionId, &'a [u8]),
}

impl<'a> Published<'a> {
    /// Reads `<seq>:<event>` or `closed:<reason>`.
    fn parse(message: &'a [u8]) -> Option<Published<'a>> {
        let colon = message.iter().position(|&b| b == b':')?;
        let (head, rest) = (&message[..colon], &message[colon + 1..]);
        if head == b"stream" {
            return Some(Published::Stream(rest));
        }
        if head == &super::codes::CODE_TAG[..super::codes::CODE_TAG.len() - 1] {
            let (member, session, frame) = super::codes::parse_code(rest)?;
            return Some(Published::Code(member, session, frame));
        }
        if head == b"closed" {
            let reason = match rest {
                b"terminated" => CloseReason::Terminated,
                b"idle_timeout" => CloseReason::IdleTimeout,
                b"max_lifetime" => CloseReason::MaxLifetime,
                _ => return None,
            };
            return Some(Published::Closed(reason));
        }
        let seq = std::str::from_utf8(head).ok()?.parse().ok()?;
        Some(Published::Event(seq, rest))
    }
}

/// Applies subscription changes one at a time, in the order they were queued.
pub(super) async fn run_subscriptions(
    conn: Conn,
    mut commands: mpsc::UnboundedReceiver<SubCommand>,
    retry: mpsc::WeakUnboundedSender<Input>,
) {
    while let Some(command) = commands.recv().await {
        match command {
            SubCommand::Subscribe(room, ready) => {
                let ok = conn.subscribe(channel(room)).await;
                if let Err(e) = &ok {
                    unavailable(e);
                }
                let _ = ready.send(Some(ok.is_ok()));
            }
            SubCommand::Unsubscribe(room) => {
                if let Err(e) = conn.unsubscribe(channel(room)).await {
                    unavailable(&e);
                }
            }
            SubCommand::Resubscribe(room, tries) => match conn.subscribe(channel(room)).await {
                Ok(()) => tracing::info!("redis store: a room's subscription followed its slot"),
                Err(e) => {
                    // A slot in migration answers `TRYAGAIN` for a while: try again
                    // later, through the dispatcher, which drops rooms no longer followed.
                    unavailable(&e);
                    let retry = retry.clone();
                    tokio::spawn(async move {
                        let wait = Duration::from_millis(100) * 2u32.pow(tries.min(5));
                        tokio::time::sleep(wait.min(RESUBSCRIBE_BACKOFF)).await;
                        if let Some(retry) = retry.upgrade() {
                            let _ = retry.send(Input::Resubscribe(room, tries + 1));
                        }
                    });
                }
            },
        }
    }
}

/// Where each followed room's delivery stands: the largest sequence number handed to
/// the fan-out (`None`: nothing yet).
type Delivered = HashMap<RoomId, Option<u64>>;

/// Hands every event of every followed room to the fan-out, in sequence order, one
/// room's events never concurrently (this task is the only caller).
pub(super) async fn run_dispatcher(inner: Weak<Inner>, mut input: mpsc::UnboundedReceiver<Input>) {
    let mut rooms = Delivered::new();
    while let Some(item) = input.recv().await {
        let Some(inner) = inner.upgrade() else { return };
        match item {
            Input::Follow(room) => {
                rooms.insert(room, None);
            }
            Input::Resubscribe(room, tries) => {
                if rooms.contains_key(&room) {
                    let _ = inner.subs.send(SubCommand::Resubscribe(room, tries));
                }
            }
            Input::Forget(room) => {
                rooms.remove(&room);
                lock(&inner.floors).remove(&room);
            }
            Input::Baseline(room, seq) => {
                if let Some(last) = rooms.get_mut(&room) {
                    *last = Some(last.map_or(seq, |l| l.max(seq)));
                }
            }
            Input::Resync(room, seq) => {
                let Some(&Some(last)) = rooms.get(&room) else {
                    continue;
                };
                if seq > last {
                    for missed in fetch(&inner, room, last, seq).await {
                        deliver(&inner, &mut rooms, room, missed.seq, &missed.event).await;
                    }
                }
            }
            Input::Lost(room, members) => {
                if rooms.contains_key(&room) {
                    // A tick's list can be older than an event already delivered here
                    // (a kick or a leave that removed the member in between: it was
                    // told why it left) or than a resume on another connection here
                    // (its place is not lost): only the connection the tick named ends.
                    for (member, session) in members {
                        if inner.is_local_on(room, member, session) {
                            lose(&inner, room, member, CloseReason::GoingAway);
                        }
                    }
                }
            }
            Input::Vanished(room, reason) => {
                if rooms.remove(&room).is_some() {
                    close_room(&inner, room, reason);
                }
            }
            Input::Push(push) => match push.kind {
                PushKind::Message | PushKind::SMessage => {
                    let mut data = push.data.into_iter();
                    let (Some(Value::BulkString(name)), Some(Value::BulkString(message))) =
                        (data.next(), data.next())
                    else {
                        continue;
                    };
                    if name == super::codes::joiner_channel(inner.instance).as_bytes() {
                        if let Some((exchange, frame)) = super::codes::parse_joiner(&message) {
                            inner
                                .fanout
                                .to_joiner(exchange, Bytes::copy_from_slice(frame));
                        }
                        continue;
                    }
                    let Some(room) = room_of_channel(&name) else {
                        continue;
                    };
                    if !rooms.contains_key(&room) {
                        continue;
                    }
                    match Published::parse(&message) {
                        Some(Published::Event(seq, event)) => {
                            deliver(&inner, &mut rooms, room, seq, event).await;
                        }
                        Some(Published::Closed(reason)) => {
                            rooms.remove(&room);
                            close_room(&inner, room, reason);
                        }
                        Some(Published::Stream(frame)) => deliver_stream(&inner, room, frame),
                        Some(Published::Code(member, session, frame)) => {
                            let frame = Bytes::copy_from_slice(frame);
                            let signal = Signal::Code {
                                member,
                                session,
                                frame: &frame,
                            };
                            inner.fanout.signal(room, signal);
                        }
                        None => {
                            tracing::error!("redis store: unreadable message on a room channel")
                        }
                    }
                }
                PushKind::SUnsubscribe => {
                    // This instance's own unsubscribes come after the room was forgotten
                    // here; one for a room still followed is the cluster's: the room's
                    // slot moved to another node, whose channel is to be followed now.
                    // What was published meanwhile is in the log: the room's next event
                    // or tick finds the hole and fills it.
                    let name = match push.data.first() {
                        Some(Value::BulkString(name)) => name.as_slice(),
                        _ => &[],
                    };
                    // The channel of this instance's joiners moved too: short-code
                    // answers for them would be lost until it is followed again.
                    if inner.joiners.initialized()
                        && name == super::codes::joiner_channel(inner.instance).as_bytes()
                    {
                        tracing::info!(
                            "redis store: the joiners' channel's slot moved; subscribing on \
                             its new node"
                        );
                        tokio::spawn(follow_joiners_again(inner.conn.clone(), inner.instance));
                        continue;
                    }
                    let room = room_of_channel(name);
                    if let Some(room) = room.filter(|r| rooms.contains_key(r)) {
                        tracing::info!(
                            "redis store: a room's slot moved; subscribing on its new node"
                        );
                        let _ = inner.subs.send(SubCommand::Resubscribe(room, 0));
                    }
                }
                PushKind::Disconnection => {
                    // Events published meanwhile are in the logs; each room's next tick
                    // or event finds the hole and fills it.
                    tracing::warn!("redis store: connection lost; reconnecting");
                }
                _ => {}
            },
        }
    }
}

/// Subscribes again to this instance's joiners' channel after the cluster dropped it
/// (its slot moved), trying with a growing wait while the slot is in migration; gives
/// up after about a minute (the exchanges under way then time out, and the next
/// relay's restart follows the channel anew).
async fn follow_joiners_again(conn: Conn, instance: u64) {
    for tries in 0..40u32 {
        match conn.subscribe(super::codes::joiner_channel(instance)).await {
            Ok(()) => {
                tracing::info!("redis store: the joiners' channel followed its slot");
                return;
            }
            Err(e) => {
                unavailable(&e);
                let wait = Duration::from_millis(100) * 2u32.pow(tries.min(5));
                tokio::time::sleep(wait.min(RESUBSCRIBE_BACKOFF)).await;
            }
        }
    }
    tracing::error!("redis store: could not follow the joiners' channel again");
}

/// Hands a chunk-lane packet of a followed room to the fan-out, as it came.
fn deliver_stream(inner: &Arc<Inner>, room: RoomId, frame: &[u8]) {
    let Ok(ServerFrame::Stream { from, to, .. }) = ServerFrame::decode(frame) else {
        tracing::error!("redis store: undecodable chunk-lane packet in a room");
        return;
    };
    let packet = Streamed {
        from,
        to,
        frame: Bytes::copy_from_slice(frame),
    };
    inner.fanout.signal(room, Signal::Stream(&packet));
}

/// Delivers event `seq` of a followed room: drops what was delivered already, fills a
/// hole from the log first, and closes local connections the event ends.
async fn deliver(inner: &Arc<Inner>, rooms: &mut Delivered, room: RoomId, seq: u64, event: &[u8]) {
    let Some((event, left)) = sequenced(seq, event) else {
        tracing::error!("redis store: undecodable event in a room");
        return;
    };
    let Some(&last) = rooms.get(&room) else {
        return;
    };
    if let Some(last) = last {
        if seq <= last {
            return;
        }
        if seq > last + 1 {
            for missed in fetch(inner, room, last, seq - 1).await {
                Box::pin(deliver(inner, rooms, room, missed.seq, &missed.event)).await;
            }
        }
    }
    let Some(last) = rooms.get_mut(&room) else {
        return;
    };
    *last = Some(seq);
    lock(&inner.floors).insert(room, seq);
    inner.fanout.signal(room, Signal::Event(&event));
    if let Some((member, reason)) = left {
        if inner.is_local(room, member) {
            match reason {
                LeaveReason::Kicked => lose(inner, room, member, CloseReason::Kicked),
                // Its place ran out while this instance could not reach Redis.
                LeaveReason::Disconnected => lose(inner, room, member, CloseReason::GoingAway),
                // It asked to leave on this very connection.
                LeaveReason::Left => inner.drop_member(room, member),
            }
        }
    }
}

/// A stream entry of the log: its id (`<seq>-0`) and its one field, the event.
type LogEntry = (String, Vec<(String, Vec<u8>)>);

/// Logged events `after+1..=upto`, for a hole in delivery. A hole that Redis cannot
/// fill now stays a hole: the clients see the jump and fetch what they missed.
async fn fetch(inner: &Inner, room: RoomId, after: u64, upto: u64) -> Vec<Logged> {
    let [_, _, _, _, log] = keys(room);
    let mut conn = inner.conn.clone();
    let entries: Result<Vec<LogEntry>, _> = redis::cmd("XRANGE")
        .arg(log)
        .arg(format!("{}-0", after + 1))
        .arg(format!("{upto}-0"))
        .query_async(&mut conn)
        .await;
    match entries {
        Ok(entries) => entries
            .into_iter()
            .filter_map(|(id, fields)| {
                let seq = id.strip_suffix("-0")?.parse().ok()?;
                let (_, event) = fields.into_iter().next()?;
                Some(Logged { seq, event })
            })
            .collect(),
        Err(e) => {
            unavailable(&e);
            Vec::new()
        }
    }
}

fn lose(inner: &Inner, room: RoomId, member: MemberId, reason: CloseReason) {
    inner
        .fanout
        .signal(room, Signal::MemberClosed { member, reason });
    inner.drop_member(room, member);
}

fn close_room(inner: &Inner, room: RoomId, reason: CloseReason) {
    inner.fanout.signal(room, Signal::RoomClosed(reason));
    let mut rooms = lock(&inner.rooms);
    inner.release(&mut rooms, room);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_messages_are_read_as_the_scripts_write_them() {
        assert_eq!(
            Published::parse(b"300:\x01a:b"),
            Some(Published::Event(300, b"\x01a:b"))
        );
        assert_eq!(
            Published::parse(b"closed:max_lifetime"),
            Some(Published::Closed(CloseReason::MaxLifetime))
        );
        assert_eq!(
            Published::parse(b"closed:terminated"),
            Some(Published::Closed(CloseReason::Terminated))
        );
        assert_eq!(
            Published::parse(b"closed:idle_timeout"),
            Some(Published::Closed(CloseReason::IdleTimeout))
        );
        assert_eq!(Published::parse(b"closed:other"), None);
        assert_eq!(Published::parse(b"x1:abc"), None);
        assert_eq!(Published::parse(b"300"), None);
    }
}
