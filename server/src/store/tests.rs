//! The store behaviour suite: what every [`Store`] implementation must do, written once
//! and run against each backend.
//!
//! A backend runs the whole suite with one line in its own test module:
//! ```ignore
//! store_suite!(true, |config: Config, fanout| async move { MemoryStore::new(&config, fanout) });
//! ```
//! The first argument says whether the tests run on tokio's paused clock (timers are
//! then instant and exact); a backend whose timers live elsewhere (a database's own
//! clock) passes `false` and the timer tests really wait, a few seconds at most. The
//! second builds a fresh, empty store from a [`Config`] and the [`Fanout`] to signal.
//!
//! Tests watch a store only through its answers and its signals, never its insides.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use vroom_shared::wire::{
    CloseReason, CodeRefusal, ErrorCode, Event, HostSecret, JoinProof, JoinProofHash, LeaveReason,
    MemberId, Resume, ResumeToken, RoomId, RoomLimits, ServerFrame,
};

use super::{
    CreateRoom, Fanout, JoinRoom, Newcomer, SessionId, Signal, Store, StoreResult, Streamed,
    Welcome,
};
use crate::config::Config;

/// Generates one `#[tokio::test]` per behaviour for a backend (see the module docs).
macro_rules! store_suite {
    ($paused:literal, $make:expr) => {
        store_suite!(@each $paused, $make;
            create_welcomes_the_host_and_refuses_a_taken_id,
            join_refuses_clearly,
            resume_takes_back_a_place_without_events,
            publish_sequences_once_per_event,
            stream_packets_are_delivered_unsequenced_and_never_replayed,
            stream_packets_need_members_and_keep_the_room_alive,
            replay_returns_what_a_member_may_see_and_reports_gaps,
            host_requests_need_the_secret,
            kick_removes_and_closes_the_member,
            terminate_deletes_everything,
            leave_is_immediate,
            idle_rooms_are_deleted_and_messages_keep_them_alive,
            rooms_end_at_their_maximum_lifetime,
            dropped_members_leave_after_the_grace,
            a_late_disconnect_report_does_not_undo_a_resume,
            empty_rooms_are_deleted_after_the_grace,
            codes_are_handed_out_opened_and_relayed,
            codes_die_when_revoked_burned_expired_or_their_room_ends,
            revoked_codes_give_their_numbers_back,
            a_renewed_invitation_refuses_the_old_proof,
            host_hand_over_moves_the_seat_to_the_named_member,
            host_seat_passes_to_the_longest_present_member,
            host_cap_refuses_joins_past_it,
            moderators_kick_and_lock_but_not_the_host_seat,
            a_moderators_kick_renews_the_join_proof_and_nothing_else_does,
            a_late_moderators_kick_does_not_set_an_older_proof_back
        );
    };
    (@each $paused:literal, $make:expr; $($name:ident),*) => {
        $(
            #[tokio::test(start_paused = $paused)]
            async fn $name() {
                $crate::store::tests::$name($make).await
            }
        )*
    };
}

/// What a store signalled, owned, with events decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Seen {
    Joined(u64, MemberId),
    Left(u64, MemberId, LeaveReason),
    Message(u64, MemberId, Option<MemberId>, Vec<u8>),
    Locked(u64, bool),
    HostChanged(u64, MemberId),
    MemberClosed(MemberId, CloseReason),
    RoomClosed(CloseReason),
    /// A chunk-lane packet: sender, recipient, encoded frame.
    Stream(MemberId, Option<MemberId>, Vec<u8>),
    /// A short-code exchange's message for a member: the member, the encoded frame.
    Code(MemberId, Vec<u8>),
}

impl Seen {
    /// The event's sequence number (`None` for a closure).
    pub(crate) fn seq(&self) -> Option<u64> {
        match self {
            Seen::Joined(seq, _)
            | Seen::Left(seq, _, _)
            | Seen::Message(seq, _, _, _)
            | Seen::Locked(seq, _)
            | Seen::HostChanged(seq, _) => Some(*seq),
            Seen::MemberClosed(..) | Seen::RoomClosed(_) | Seen::Stream(..) | Seen::Code(..) => {
                None
            }
        }
    }

    fn from_frame(frame: &[u8]) -> Seen {
        let Ok(ServerFrame::Event { seq, event }) = ServerFrame::decode(frame) else {
            panic!("a sequenced event must carry an encoded Event frame");
        };
        match event {
            Event::Joined { member } => Seen::Joined(seq, member),
            Event::Left { member, reason } => Seen::Left(seq, member, reason),
            Event::Message { from, to, payload } => Seen::Message(seq, from, to, payload.to_vec()),
            Event::Locked { locked } => Seen::Locked(seq, locked),
            Event::HostChanged { host } => Seen::HostChanged(seq, host),
        }
    }
}

/// A [`Fanout`] that records every signal, per room.
#[derive(Default)]
pub(crate) struct Recorder {
    seen: Mutex<Vec<(RoomId, Seen)>>,
    /// Short-code messages for joiners: exchange, encoded frame.
    joiners: Mutex<Vec<(u64, Vec<u8>)>>,
}

impl Fanout for Recorder {
    fn to_joiner(&self, exchange: u64, frame: bytes::Bytes) {
        self.joiners
            .lock()
            .unwrap()
            .push((exchange, frame.to_vec()));
    }

    fn signal(&self, room: RoomId, signal: Signal<'_>) {
        let seen = match signal {
            Signal::Event(e) => {
                let seen = Seen::from_frame(&e.frame);
                assert_eq!(
                    seen.seq(),
                    Some(e.seq),
                    "frame and sequence number disagree"
                );
                let to = match &seen {
                    Seen::Message(_, _, to, _) => *to,
                    _ => None,
                };
                assert_eq!(e.to, to, "routing target and frame disagree");
                seen
            }
            Signal::MemberClosed { member, reason } => Seen::MemberClosed(member, reason),
            Signal::RoomClosed(reason) => Seen::RoomClosed(reason),
            Signal::Stream(packet) => Seen::Stream(packet.from, packet.to, packet.frame.to_vec()),
            Signal::Code { member, frame, .. } => Seen::Code(member, frame.to_vec()),
        };
        self.seen.lock().unwrap().push((room, seen));
    }
}

impl Recorder {
    /// Waits (10 s at most) until what was signalled for `room` since the last call
    /// satisfies `done`, and returns it.
    pub(crate) async fn take_when(
        &self,
        room: RoomId,
        done: impl Fn(&[Seen]) -> bool,
    ) -> Vec<Seen> {
        let mut seen = Vec::new();
        for _ in 0..500 {
            seen.extend(self.take(room));
            if done(&seen) {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("never saw the expected signals; saw {seen:?}");
    }

    /// Everything signalled for `room` since the last call, in order.
    fn take(&self, room: RoomId) -> Vec<Seen> {
        let mut seen = self.seen.lock().unwrap();
        let (mine, rest) = seen.drain(..).partition(|(r, _)| *r == room);
        *seen = rest;
        mine.into_iter().map(|(_, s)| s).collect()
    }
}

/// A store under test with its recorder.
struct Harness<S> {
    store: S,
    rec: Arc<Recorder>,
    config: Config,
}

/// What the suite is given: a way to build a fresh, empty store from a [`Config`] and
/// the [`Fanout`] it signals (any `FnOnce(Config, Arc<dyn Fanout>) -> impl Future`).
pub(crate) trait Make<S> {
    fn make(self, config: Config, fanout: Arc<dyn Fanout>) -> impl Future<Output = S>;
}

impl<S, F, Fut> Make<S> for F
where
    F: FnOnce(Config, Arc<dyn Fanout>) -> Fut,
    Fut: Future<Output = S>,
{
    fn make(self, config: Config, fanout: Arc<dyn Fanout>) -> impl Future<Output = S> {
        self(config, fanout)
    }
}

async fn harness<S: Store>(make: impl Make<S>, config: Config) -> Harness<S> {
    let rec = Arc::new(Recorder::default());
    let store = make.make(config.clone(), rec.clone()).await;
    Harness { store, rec, config }
}

fn base_config() -> Config {
    Config {
        idle_timeout: Duration::from_secs(30),
        max_lifetime: Duration::from_secs(3600),
        grace: Duration::from_secs(2),
        buffer: 16,
        ..Config::default()
    }
}

fn room(n: u8) -> RoomId {
    let mut id = [n; 16];
    id[..8].copy_from_slice(&rand::random::<[u8; 8]>());
    RoomId(id)
}

fn host_secret() -> HostSecret {
    HostSecret([42; 32])
}

fn newcomer(n: u64) -> Newcomer {
    Newcomer {
        member: MemberId(n),
        token: ResumeToken([n as u8; 16]),
    }
}

impl<S: Store> Harness<S> {
    fn limits(&self) -> RoomLimits {
        RoomLimits {
            max_members: self.config.max_members,
            idle_timeout_secs: self.config.idle_timeout.as_secs() as u32,
            max_lifetime_secs: self.config.max_lifetime.as_secs() as u32,
            grace_secs: self.config.grace.as_secs() as u32,
            max_payload: self.config.max_payload,
            max_file: self.config.max_file,
        }
    }

    async fn create(&self, room: RoomId, host: u64) -> StoreResult<Welcome> {
        let limits = self.limits();
        self.create_with(room, host, limits).await
    }

    async fn create_with(
        &self,
        room: RoomId,
        host: u64,
        limits: RoomLimits,
    ) -> StoreResult<Welcome> {
        self.store
            .create(CreateRoom {
                room,
                host: host_secret().hash(),
                limits,
                newcomer: newcomer(host),
                session: SessionId(host),
            })
            .await
    }

    async fn join(&self, room: RoomId, member: u64, after: Option<u64>) -> StoreResult<Welcome> {
        self.store
            .join(JoinRoom {
                room,
                resume: None,
                newcomer: newcomer(member),
                after,
                session: SessionId(member),
                proof: None,
            })
            .await
    }

    async fn join_proved(
        &self,
        room: RoomId,
        member: u64,
        proof: Option<JoinProofHash>,
    ) -> StoreResult<Welcome> {
        self.store
            .join(JoinRoom {
                room,
                resume: None,
                newcomer: newcomer(member),
                after: None,
                session: SessionId(member),
                proof,
            })
            .await
    }

    /// The room holds the join proof `current`: a newcomer showing `shown` is refused
    /// with `InviteChanged` (newcomer `2n`), one showing `current` admitted (`2n + 1`).
    async fn holds_proof(
        &self,
        room: RoomId,
        (current, shown, n): (JoinProofHash, JoinProofHash, u64),
        what: &str,
    ) {
        match self.join_proved(room, n, Some(shown)).await {
            Err(ErrorCode::InviteChanged) => {}
            other => panic!(
                "{what}: the relay holds the wrong proof ({:?})",
                other.map(|w| w.you)
            ),
        }
        if let Err(e) = self.join_proved(room, n + 1, Some(current)).await {
            panic!("{what}: the current proof was refused ({e:?})");
        }
    }

    async fn resume(&self, room: RoomId, w: &Welcome, session: u64) -> StoreResult<Welcome> {
        self.store
            .join(JoinRoom {
                room,
                resume: Some(Resume {
                    member: w.you,
                    token: w.token.0,
                }),
                newcomer: newcomer(9999),
                after: None,
                session: SessionId(session),
                proof: None,
            })
            .await
    }

    async fn say(&self, room: RoomId, from: u64, text: &str) -> StoreResult<()> {
        self.store
            .publish(room, MemberId(from), None, text.as_bytes())
            .await
    }

    async fn chunk(
        &self,
        room: RoomId,
        from: u64,
        to: Option<u64>,
        payload: &[u8],
    ) -> StoreResult<()> {
        let packet = Streamed::encode(MemberId(from), to.map(MemberId), payload);
        self.store.stream(room, packet).await
    }
}

/// Lets time pass: instant on a paused clock, real otherwise.
async fn wait(d: Duration) {
    tokio::time::sleep(d).await;
}

pub(crate) async fn create_welcomes_the_host_and_refuses_a_taken_id<S: Store>(make: impl Make<S>) {
    let h = harness(make, base_config()).await;
    let r = room(1);
    let w = h.create(r, 1).await.unwrap();
    assert_eq!((w.you, w.host, w.seq), (MemberId(1), MemberId(1), 0));
    assert_eq!(w.members, vec![MemberId(1)]);
    assert!(!w.locked && !w.resumed);
    assert_eq!(w.limits, h.limits());
    assert_eq!(h.rec.take(r), vec![Seen::Joined(1, MemberId(1))]);
    assert_eq!(h.create(r, 2).await.unwrap_err(), ErrorCode::RoomExists);
    assert_eq!(h.store.room_count(), 1);
    assert!(h.rec.take(r).is_empty(), "a refused create must not emit");
}

pub(crate) async fn join_refuses_clearly<S: Store>(make: impl Make<S>) {
    let h = harness(make, base_config()).await;
    let r = room(2);
    assert_eq!(
        h.join(r, 2, None).await.unwrap_err(),
        ErrorCode::UnknownRoom
    );
    let limits = RoomLimits {
        max_members: 2,
        ..h.limits()
    };
    h.create_with(r, 1, limits).await.unwrap();
    let w = h.join(r, 2, None).await.unwrap();
    assert_eq!(
        (w.seq, w.members.clone()),
        (1, vec![MemberId(1), MemberId(2)])
    );
    assert_eq!(h.join(r, 3, None).await.unwrap_err(), ErrorCode::Full);
    h.store.leave(r, MemberId(2)).await.unwrap();
    h.store.lock(r, &host_secret(), true).await.unwrap();
    assert_eq!(h.join(r, 3, None).await.unwrap_err(), ErrorCode::Locked);
    let wrong = Resume {
        member: MemberId(1),
        token: ResumeToken([0; 16]),
    };
    let refused = h
        .store
        .join(JoinRoom {
            room: r,
            resume: Some(wrong),
            newcomer: newcomer(5),
            after: None,
            session: SessionId(5),
            proof: None,
        })
        .await;
    assert_eq!(refused.unwrap_err(), ErrorCode::ResumeRefused);
}

pub(crate) async fn resume_takes_back_a_place_without_events<S: Store>(make: impl Make<S>) {
    let h = harness(make, base_config()).await;
    let r = room(3);
    h.create(r, 1).await.unwrap();
    let w = h.join(r, 2, None).await.unwrap();
    h.store
        .disconnect(r, MemberId(2), SessionId(2))
        .await
        .unwrap();
    h.rec.take(r);
    // Locked and full do not stop a member taking back its own place.
    h.store.lock(r, &host_secret(), true).await.unwrap();
    let back = h.resume(r, &w, 20).await.unwrap();
    assert!(back.resumed);
    assert_eq!((back.you, back.seq), (MemberId(2), 3));
    assert_eq!(back.members, vec![MemberId(1), MemberId(2)]);
    assert!(back.locked);
    assert_eq!(h.rec.take(r), vec![Seen::Locked(3, true)]);
    h.say(r, 2, "back").await.unwrap();
    assert_eq!(
        h.rec.take(r),
        vec![Seen::Message(4, MemberId(2), None, b"back".to_vec())]
    );
}

pub(crate) async fn publish_sequences_once_per_event<S: Store>(make: impl Make<S>) {
    let h = harness(make, base_config()).await;
    let r = room(4);
    let other = room(5);
    h.create(r, 1).await.unwrap();
    h.create(other, 7).await.unwrap();
    h.join(r, 2, None).await.unwrap();
    h.say(r, 1, "a").await.unwrap();
    h.store
        .publish(r, MemberId(2), Some(MemberId(1)), b"b")
        .await
        .unwrap();
    h.say(other, 7, "elsewhere").await.unwrap();
    assert_eq!(
        h.store
            .publish(r, MemberId(2), Some(MemberId(9)), b"x")
            .await,
        Err(ErrorCode::UnknownMember)
    );
    assert_eq!(h.say(r, 9, "x").await, Err(ErrorCode::UnknownMember));
    assert_eq!(h.say(room(6), 1, "x").await, Err(ErrorCode::UnknownRoom));
    assert_eq!(
        h.rec.take(r),
        vec![
            Seen::Joined(1, MemberId(1)),
            Seen::Joined(2, MemberId(2)),
            Seen::Message(3, MemberId(1), None, b"a".to_vec()),
            Seen::Message(4, MemberId(2), Some(MemberId(1)), b"b".to_vec()),
        ]
    );
    // Each room has its own sequence.
    assert_eq!(
        h.rec.take(other),
        vec![
            Seen::Joined(1, MemberId(7)),
            Seen::Message(2, MemberId(7), None, b"elsewhere".to_vec()),
        ]
    );
}

pub(crate) async fn stream_packets_are_delivered_unsequenced_and_never_replayed<S: Store>(
    make: impl Make<S>,
) {
    let h = harness(make, base_config()).await;
    let r = room(40);
    h.create(r, 1).await.unwrap();
    h.join(r, 2, None).await.unwrap();
    h.chunk(r, 1, None, b"chunk").await.unwrap();
    h.chunk(r, 2, Some(1), b"ack").await.unwrap();
    let frame = |from, to, payload: &[u8]| ServerFrame::Stream { from, to, payload }.encode();
    let streams = |seen: &[Seen]| {
        seen.iter()
            .filter(|s| matches!(s, Seen::Stream(..)))
            .cloned()
            .collect::<Vec<_>>()
    };
    let seen = h.rec.take_when(r, |s| streams(s).len() >= 2).await;
    assert_eq!(
        streams(&seen),
        vec![
            Seen::Stream(MemberId(1), None, frame(MemberId(1), None, b"chunk")),
            Seen::Stream(
                MemberId(2),
                Some(MemberId(1)),
                frame(MemberId(2), Some(MemberId(1)), b"ack")
            ),
        ]
    );
    // Packets take no sequence number and never enter the catch-up log.
    h.say(r, 1, "after").await.unwrap();
    let replay = h.store.replay(r, MemberId(2), 0).await.unwrap();
    assert_eq!(replay.upto, 3, "packets must not be sequenced");
    assert!(replay
        .events
        .iter()
        .all(|e| !e.frame.windows(5).any(|w| w == b"chunk")));
}

pub(crate) async fn stream_packets_need_members_and_keep_the_room_alive<S: Store>(
    make: impl Make<S>,
) {
    let (h, r) = idle_room(make, 41).await;
    // Neither a stranger's packet nor one addressed to a stranger is relayed.
    for (from, to) in [(9, None), (9, Some(1)), (1, Some(9))] {
        assert_eq!(
            h.chunk(r, from, to, b"x").await.unwrap_err(),
            ErrorCode::UnknownMember,
            "from {from} to {to:?}"
        );
    }
    // A long transfer: only chunks flow, for longer than the idle timeout.
    let seen = busy_past_the_idle_timeout(&h, r, true).await;
    assert!(
        seen.iter().all(|s| matches!(s, Seen::Stream(..))),
        "{seen:?}"
    );
}

pub(crate) async fn replay_returns_what_a_member_may_see_and_reports_gaps<S: Store>(
    make: impl Make<S>,
) {
    let h = harness(
        make,
        Config {
            buffer: 4,
            ..base_config()
        },
    )
    .await;
    let r = room(7);
    h.create(r, 1).await.unwrap();
    h.join(r, 2, None).await.unwrap();
    h.join(r, 3, None).await.unwrap();
    // seq 4: to 3 only; 5, 6: broadcasts.
    h.store
        .publish(r, MemberId(1), Some(MemberId(3)), b"secret")
        .await
        .unwrap();
    h.say(r, 1, "five").await.unwrap();
    h.say(r, 2, "six").await.unwrap();
    let seqs = |events: &[super::Sequenced]| events.iter().map(|e| e.seq).collect::<Vec<_>>();
    let for2 = h.store.replay(r, MemberId(2), 3).await.unwrap();
    assert_eq!(
        (for2.gap, seqs(&for2.events), for2.upto),
        (None, vec![5, 6], 6)
    );
    let for3 = h.store.replay(r, MemberId(3), 3).await.unwrap();
    assert_eq!(seqs(&for3.events), vec![4, 5, 6]);
    // Only the last four events are kept: 1 and 2 are lost.
    let all = h.store.replay(r, MemberId(3), 0).await.unwrap();
    assert_eq!(
        (all.gap, seqs(&all.events)),
        (Some((1, 2)), vec![3, 4, 5, 6])
    );
    assert_eq!(
        Seen::from_frame(&all.events[2].frame),
        Seen::Message(5, MemberId(1), None, b"five".to_vec())
    );
    // A join with a cursor gets the catch-up up to just before its own arrival, even
    // when that arrival pushes the oldest wanted event out.
    let w = h.join(r, 4, Some(2)).await.unwrap();
    assert_eq!(w.seq, 6);
    assert_eq!(
        (w.replay.gap, seqs(&w.replay.events), w.replay.upto),
        (None, vec![3, 5, 6], 6)
    );
    assert_eq!(
        h.store.replay(r, MemberId(9), 0).await.unwrap_err(),
        ErrorCode::UnknownMember
    );
}

pub(crate) async fn host_requests_need_the_secret<S: Store>(make: impl Make<S>) {
    let h = harness(make, base_config()).await;
    let r = room(8);
    h.create(r, 1).await.unwrap();
    h.join(r, 2, None).await.unwrap();
    h.rec.take(r);
    let wrong = HostSecret([1; 32]);
    assert_eq!(
        h.store.lock(r, &wrong, true).await,
        Err(ErrorCode::BadHostSecret)
    );
    assert_eq!(
        h.store.kick(r, &wrong, MemberId(2)).await,
        Err(ErrorCode::BadHostSecret)
    );
    assert_eq!(
        h.store.terminate(r, &wrong).await,
        Err(ErrorCode::BadHostSecret)
    );
    assert!(
        h.rec.take(r).is_empty(),
        "refused host requests must not emit"
    );
    h.store.lock(r, &host_secret(), true).await.unwrap();
    h.store.lock(r, &host_secret(), false).await.unwrap();
    assert_eq!(
        h.rec.take(r),
        vec![Seen::Locked(3, true), Seen::Locked(4, false)]
    );
    h.join(r, 3, None).await.unwrap();
}

pub(crate) async fn kick_removes_and_closes_the_member<S: Store>(make: impl Make<S>) {
    let h = harness(make, base_config()).await;
    let r = room(9);
    h.create(r, 1).await.unwrap();
    let w = h.join(r, 2, None).await.unwrap();
    h.rec.take(r);
    h.store.kick(r, &host_secret(), MemberId(2)).await.unwrap();
    assert_eq!(
        h.rec.take(r),
        vec![
            Seen::Left(3, MemberId(2), LeaveReason::Kicked),
            Seen::MemberClosed(MemberId(2), CloseReason::Kicked),
        ]
    );
    assert_eq!(
        h.store.kick(r, &host_secret(), MemberId(2)).await,
        Err(ErrorCode::UnknownMember)
    );
    assert_eq!(
        h.resume(r, &w, 3).await.unwrap_err(),
        ErrorCode::ResumeRefused
    );
    assert_eq!(
        h.say(r, 2, "still here?").await,
        Err(ErrorCode::UnknownMember)
    );
}

pub(crate) async fn terminate_deletes_everything<S: Store>(make: impl Make<S>) {
    let h = harness(make, base_config()).await;
    let r = room(10);
    h.create(r, 1).await.unwrap();
    h.say(r, 1, "soon gone").await.unwrap();
    h.rec.take(r);
    h.store.terminate(r, &host_secret()).await.unwrap();
    assert_eq!(
        h.rec.take(r),
        vec![Seen::RoomClosed(CloseReason::Terminated)]
    );
    assert_eq!(h.store.room_count(), 0);
    assert_eq!(h.say(r, 1, "x").await, Err(ErrorCode::UnknownRoom));
    assert_eq!(
        h.store.replay(r, MemberId(1), 0).await.unwrap_err(),
        ErrorCode::UnknownRoom
    );
    // The id is free again, and nothing of the old room shows through.
    let w = h.create(r, 5).await.unwrap();
    assert_eq!(w.seq, 0);
    let all = h.store.replay(r, MemberId(5), 0).await.unwrap();
    assert_eq!(all.events.len(), 1);
}

pub(crate) async fn leave_is_immediate<S: Store>(make: impl Make<S>) {
    let h = harness(make, base_config()).await;
    let r = room(11);
    h.create(r, 1).await.unwrap();
    let w = h.join(r, 2, None).await.unwrap();
    h.rec.take(r);
    h.store.leave(r, MemberId(2)).await.unwrap();
    assert_eq!(
        h.rec.take(r),
        vec![Seen::Left(3, MemberId(2), LeaveReason::Left)]
    );
    assert_eq!(
        h.resume(r, &w, 3).await.unwrap_err(),
        ErrorCode::ResumeRefused
    );
}

/// A store whose rooms idle out after 2 s, and its room `n` with members 1 and 2.
async fn idle_room<S: Store>(make: impl Make<S>, n: u8) -> (Harness<S>, RoomId) {
    let config = Config {
        idle_timeout: Duration::from_secs(2),
        ..base_config()
    };
    let h = harness(make, config).await;
    let r = room(n);
    h.create(r, 1).await.unwrap();
    h.join(r, 2, None).await.unwrap();
    (h, r)
}

/// Keeps room `r` (members 1 and 2) busy for longer than its idle timeout with
/// messages, or with chunks from 1 to 2; then it must idle out. What the room saw
/// while busy.
async fn busy_past_the_idle_timeout<S: Store>(
    h: &Harness<S>,
    r: RoomId,
    chunks: bool,
) -> Vec<Seen> {
    h.rec.take(r);
    for _ in 0..3 {
        wait(Duration::from_millis(1200)).await;
        if chunks {
            h.chunk(r, 1, Some(2), b"chunk").await.unwrap();
        } else {
            h.say(r, 1, "keep-alive").await.unwrap();
        }
    }
    let seen = h.rec.take_when(r, |s| s.len() >= 3).await;
    wait(Duration::from_millis(3000)).await;
    assert_eq!(
        h.rec.take(r),
        vec![Seen::RoomClosed(CloseReason::IdleTimeout)],
        "the room must live while it is used, and idle out after"
    );
    seen
}

pub(crate) async fn idle_rooms_are_deleted_and_messages_keep_them_alive<S: Store>(
    make: impl Make<S>,
) {
    let (h, r) = idle_room(make, 12).await;
    let seen = busy_past_the_idle_timeout(&h, r, false).await;
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert_eq!(h.store.room_count(), 0);
    assert_eq!(
        h.join(r, 2, None).await.unwrap_err(),
        ErrorCode::UnknownRoom
    );
}

pub(crate) async fn rooms_end_at_their_maximum_lifetime<S: Store>(make: impl Make<S>) {
    let h = harness(make, base_config()).await;
    let r = room(13);
    let limits = RoomLimits {
        max_lifetime_secs: 2,
        ..h.limits()
    };
    h.create_with(r, 1, limits).await.unwrap();
    h.rec.take(r);
    for _ in 0..4 {
        wait(Duration::from_millis(400)).await;
        h.say(r, 1, "busy").await.unwrap();
    }
    wait(Duration::from_millis(1500)).await;
    let seen = h.rec.take(r);
    assert_eq!(
        seen.last(),
        Some(&Seen::RoomClosed(CloseReason::MaxLifetime))
    );
    assert_eq!(h.say(r, 1, "x").await, Err(ErrorCode::UnknownRoom));
}

pub(crate) async fn dropped_members_leave_after_the_grace<S: Store>(make: impl Make<S>) {
    let h = harness(make, base_config()).await;
    let r = room(14);
    h.create(r, 1).await.unwrap();
    let w = h.join(r, 2, None).await.unwrap();
    h.rec.take(r);
    h.store
        .disconnect(r, MemberId(2), SessionId(2))
        .await
        .unwrap();
    wait(Duration::from_millis(1000)).await;
    assert!(
        h.rec.take(r).is_empty(),
        "within the grace the place is kept"
    );
    wait(Duration::from_millis(2000)).await;
    assert_eq!(
        h.rec.take(r),
        vec![Seen::Left(3, MemberId(2), LeaveReason::Disconnected)]
    );
    assert_eq!(
        h.resume(r, &w, 3).await.unwrap_err(),
        ErrorCode::ResumeRefused
    );
    assert_eq!(h.store.room_count(), 1, "the host is still connected");
}

pub(crate) async fn a_late_disconnect_report_does_not_undo_a_resume<S: Store>(make: impl Make<S>) {
    let h = harness(make, base_config()).await;
    let r = room(15);
    h.create(r, 1).await.unwrap();
    let w = h.join(r, 2, None).await.unwrap();
    h.rec.take(r);
    // The member resumes on a new connection before its old one is noticed as dropped.
    h.resume(r, &w, 22).await.unwrap();
    h.store
        .disconnect(r, MemberId(2), SessionId(2))
        .await
        .unwrap();
    wait(Duration::from_millis(3000)).await;
    let seen = h.rec.take(r);
    assert!(
        seen.is_empty(),
        "the member is connected on its new session, yet: {seen:?}"
    );
}

pub(crate) async fn empty_rooms_are_deleted_after_the_grace<S: Store>(make: impl Make<S>) {
    let h = harness(make, base_config()).await;
    let kept = room(16);
    let w = h.create(kept, 1).await.unwrap();
    let gone = room(17);
    h.create(gone, 2).await.unwrap();
    h.store
        .disconnect(kept, MemberId(1), SessionId(1))
        .await
        .unwrap();
    h.store.leave(gone, MemberId(2)).await.unwrap();
    wait(Duration::from_millis(1000)).await;
    // A reload within the grace keeps the room.
    h.resume(kept, &w, 11).await.unwrap();
    wait(Duration::from_millis(2000)).await;
    assert_eq!(h.store.room_count(), 1);
    assert_eq!(
        h.rec.take(gone).last(),
        Some(&Seen::RoomClosed(CloseReason::IdleTimeout))
    );
    assert!(!h
        .rec
        .take(kept)
        .contains(&Seen::RoomClosed(CloseReason::IdleTimeout)));
    assert_eq!(
        h.join(gone, 3, None).await.unwrap_err(),
        ErrorCode::UnknownRoom
    );
}

/// The exchange, nameplate and payload of an encoded `CodeMessage`.
fn code_message(frame: &[u8]) -> (u64, u32, Vec<u8>) {
    match ServerFrame::decode(frame) {
        Ok(ServerFrame::CodeMessage {
            exchange,
            nameplate,
            payload,
        }) => (exchange, nameplate, payload.to_vec()),
        _ => panic!("a short-code message must be an encoded CodeMessage"),
    }
}

impl Recorder {
    /// Waits (10 s at most) for a message to the joiner of `exchange`.
    async fn joiner_message(&self, exchange: u64) -> (u64, u32, Vec<u8>) {
        for _ in 0..500 {
            let found = {
                let mut got = self.joiners.lock().unwrap();
                got.iter()
                    .position(|(x, _)| *x == exchange)
                    .map(|i| got.remove(i).1)
            };
            if let Some(frame) = found {
                return code_message(&frame);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("no message reached the joiner of exchange {exchange}");
    }
}

impl<S: Store> Harness<S> {
    async fn offer(&self, room: RoomId, member: u64) -> Result<u32, CodeRefusal> {
        self.store
            .code_offer(room, MemberId(member), SessionId(member))
            .await
            .unwrap()
            .map(|n| {
                assert!((1..=999_999_999).contains(&n.nameplate));
                assert_eq!(
                    u64::from(n.expires_secs),
                    self.config.code_ttl.as_secs().max(1)
                );
                n.nameplate
            })
    }

    async fn open(&self, nameplate: u32, exchange: u64) -> Result<RoomId, CodeRefusal> {
        self.store
            .code_open(nameplate, exchange, b"hello")
            .await
            .unwrap()
    }

    /// Waits for the member's next short-code message in `room`.
    async fn member_message(&self, room: RoomId, member: u64) -> (u64, u32, Vec<u8>) {
        let seen = self
            .rec
            .take_when(room, |s| s.iter().any(|s| matches!(s, Seen::Code(..))))
            .await;
        let Some(Seen::Code(to, frame)) = seen.into_iter().find(|s| matches!(s, Seen::Code(..)))
        else {
            unreachable!()
        };
        assert_eq!(to, MemberId(member));
        code_message(&frame)
    }
}

pub(crate) async fn codes_are_handed_out_opened_and_relayed<S: Store>(make: impl Make<S>) {
    let config = Config {
        codes_per_room: 2,
        code_exchanges: 2,
        ..base_config()
    };
    let h = harness(make, config).await;
    let r = room(20);
    h.create(r, 1).await.unwrap();
    h.join(r, 2, None).await.unwrap();
    h.rec.take(r);
    let n = h.offer(r, 1).await.unwrap();
    let other = h.offer(r, 2).await.unwrap();
    assert_ne!(n, other, "two live nameplates never share a number");
    assert_eq!(h.offer(r, 1).await, Err(CodeRefusal::TooMany));
    assert_eq!(
        h.store
            .code_offer(r, MemberId(9), SessionId(9))
            .await
            .unwrap_err(),
        ErrorCode::UnknownMember
    );

    // A joiner's hello reaches the member who offered the code, and only it.
    assert_eq!(h.open(n, 77).await, Ok(r));
    assert_eq!(h.member_message(r, 1).await, (77, n, b"hello".to_vec()));
    h.store
        .code_to_joiner(r, MemberId(1), 77, b"reply")
        .await
        .unwrap();
    assert_eq!(h.rec.joiner_message(77).await, (77, n, b"reply".to_vec()));
    // Another member cannot answer an exchange that is not on its code.
    h.store
        .code_to_joiner(r, MemberId(2), 77, b"forged")
        .await
        .unwrap();
    assert_eq!(
        h.store.code_to_member(r, n, 77, b"confirm").await.unwrap(),
        Ok(())
    );
    assert_eq!(h.member_message(r, 1).await, (77, n, b"confirm".to_vec()));
    assert!(
        h.rec.joiners.lock().unwrap().is_empty(),
        "the forged reply went nowhere"
    );
    // An exchange on another nameplate is not this one's.
    assert_eq!(
        h.store.code_to_member(r, other, 77, b"x").await.unwrap(),
        Err(CodeRefusal::Unknown)
    );

    // The relay caps exchanges per nameplate, whatever the member's client does.
    assert_eq!(h.open(n, 78).await, Ok(r));
    assert_eq!(h.open(n, 79).await, Err(CodeRefusal::Burned));
    assert_eq!(h.open(999_999_998, 80).await, Err(CodeRefusal::Unknown));
}

pub(crate) async fn codes_die_when_revoked_burned_expired_or_their_room_ends<S: Store>(
    make: impl Make<S>,
) {
    let config = Config {
        code_ttl: Duration::from_secs(1),
        ..base_config()
    };
    let h = harness(make, config).await;
    let r = room(21);
    h.create(r, 1).await.unwrap();
    h.join(r, 2, None).await.unwrap();
    h.join(r, 3, None).await.unwrap();

    let revoked = h.offer(r, 1).await.unwrap();
    // Only its member can end a code.
    h.store
        .code_end(r, MemberId(2), revoked, false)
        .await
        .unwrap();
    assert_eq!(h.open(revoked, 1).await, Ok(r));
    h.store
        .code_end(r, MemberId(1), revoked, false)
        .await
        .unwrap();
    assert_eq!(h.open(revoked, 2).await, Err(CodeRefusal::Unknown));

    let burned = h.offer(r, 1).await.unwrap();
    h.store
        .code_end(r, MemberId(1), burned, true)
        .await
        .unwrap();
    assert_eq!(h.open(burned, 3).await, Err(CodeRefusal::Burned));

    // Its member's connection dropped: offline; its member left: gone.
    let dropped = h.offer(r, 2).await.unwrap();
    h.store
        .disconnect(r, MemberId(2), SessionId(2))
        .await
        .unwrap();
    assert_eq!(h.open(dropped, 4).await, Err(CodeRefusal::Offline));
    let left = h.offer(r, 3).await.unwrap();
    h.store.leave(r, MemberId(3)).await.unwrap();
    assert_eq!(h.open(left, 5).await, Err(CodeRefusal::Unknown));

    // The TTL: expired within a bounded wait (instant on a paused clock).
    let expiring = h.offer(r, 1).await.unwrap();
    let mut answer = h.open(expiring, 6).await;
    for _ in 0..40 {
        if answer == Err(CodeRefusal::Expired) {
            break;
        }
        wait(Duration::from_millis(100)).await;
        answer = h.open(expiring, 7).await;
    }
    assert_eq!(answer, Err(CodeRefusal::Expired));

    // The room ends: every nameplate goes with it.
    let config_ttl = h.config.code_ttl;
    assert!(config_ttl >= Duration::from_secs(1));
    let last = h.offer(r, 1).await.unwrap();
    h.store.terminate(r, &host_secret()).await.unwrap();
    assert_eq!(h.open(last, 8).await, Err(CodeRefusal::Unknown));
}

pub(crate) async fn host_hand_over_moves_the_seat_to_the_named_member<S: Store>(
    make: impl Make<S>,
) {
    let h = harness(make, base_config()).await;
    let r = room(22);
    h.create(r, 1).await.unwrap();
    h.join(r, 2, None).await.unwrap();
    h.join(r, 3, None).await.unwrap();
    h.rec.take_when(r, |s| s.len() == 3).await;
    let old = host_secret();
    let wrong = HostSecret([1; 32]);
    let fresh = HostSecret([2; 32]);
    let intruder = HostSecret([3; 32]);

    // Only the host hands over, and only to a member holding a place.
    assert_eq!(
        h.store.hand_over(r, &wrong, MemberId(2)).await,
        Err(ErrorCode::BadHostSecret)
    );
    assert_eq!(
        h.store.hand_over(r, &old, MemberId(9)).await,
        Err(ErrorCode::UnknownMember)
    );
    // Nobody claims a seat whose member is here and which no hand-over named.
    assert_eq!(
        h.store.claim_host(r, MemberId(3), intruder.hash()).await,
        Err(ErrorCode::BadHostSecret)
    );
    h.store.hand_over(r, &old, MemberId(2)).await.unwrap();
    assert_eq!(
        h.rec.take_when(r, |s| !s.is_empty()).await,
        vec![Seen::HostChanged(4, MemberId(2))]
    );
    // The old secret is spent at once; a member the hand-over did not name cannot
    // take the seat, the named one can (with a secret of its own), once.
    assert_eq!(
        h.store.lock(r, &old, true).await,
        Err(ErrorCode::BadHostSecret)
    );
    assert_eq!(
        h.store.claim_host(r, MemberId(3), intruder.hash()).await,
        Err(ErrorCode::BadHostSecret)
    );
    h.store
        .claim_host(r, MemberId(2), fresh.hash())
        .await
        .unwrap();
    assert_eq!(
        h.store.claim_host(r, MemberId(2), intruder.hash()).await,
        Err(ErrorCode::BadHostSecret)
    );
    assert_eq!(
        h.store.lock(r, &intruder, true).await,
        Err(ErrorCode::BadHostSecret)
    );
    h.store
        .claim_host(r, MemberId(2), fresh.hash())
        .await
        .unwrap();
    h.store.lock(r, &fresh, true).await.unwrap();
    assert_eq!(
        h.rec.take_when(r, |s| !s.is_empty()).await,
        vec![Seen::Locked(5, true)]
    );
    // A rejoin keeps the seat's member id: a newcomer's Welcome names the new host.
    h.store.lock(r, &fresh, false).await.unwrap();
    assert_eq!(h.join(r, 4, None).await.unwrap().host, MemberId(2));
    h.store.kick(r, &fresh, MemberId(3)).await.unwrap();
    h.store.terminate(r, &fresh).await.unwrap();
    assert_eq!(h.say(r, 1, "gone?").await, Err(ErrorCode::UnknownRoom));
}

/// The relay's own succession: once the seat's member has no place (it left, or its
/// grace ran out), the seat goes to the member holding a place the longest, and only
/// that member may claim it; a hand-over whose heir leaves before claiming does not
/// leave the seat stuck.
pub(crate) async fn host_seat_passes_to_the_longest_present_member<S: Store>(make: impl Make<S>) {
    let h = harness(make, base_config()).await;
    let r = room(23);
    h.create(r, 1).await.unwrap();
    h.join(r, 2, None).await.unwrap();
    h.join(r, 3, None).await.unwrap();
    h.join(r, 4, None).await.unwrap();
    h.store.leave(r, MemberId(1)).await.unwrap();
    assert_eq!(
        h.rec.take_when(r, |s| s.len() == 6).await[4..],
        [
            Seen::Left(5, MemberId(1), LeaveReason::Left),
            Seen::HostChanged(6, MemberId(2)),
        ]
    );
    let first = HostSecret([2; 32]);
    let second = HostSecret([3; 32]);
    // No free seat: a member the relay did not name cannot claim it, nor a departed one.
    assert_eq!(
        h.store.claim_host(r, MemberId(3), second.hash()).await,
        Err(ErrorCode::BadHostSecret)
    );
    assert_eq!(
        h.store.claim_host(r, MemberId(1), first.hash()).await,
        Err(ErrorCode::UnknownMember)
    );
    h.store
        .claim_host(r, MemberId(2), first.hash())
        .await
        .unwrap();
    // The same claim again (a reconnection) is a no-op; another secret is refused.
    h.store
        .claim_host(r, MemberId(2), first.hash())
        .await
        .unwrap();
    assert_eq!(
        h.store.claim_host(r, MemberId(2), second.hash()).await,
        Err(ErrorCode::BadHostSecret)
    );
    assert_eq!(
        h.store.lock(r, &host_secret(), true).await,
        Err(ErrorCode::BadHostSecret)
    );
    // A hand-over to 4, who leaves before claiming: the seat passes on, not stuck.
    h.store.hand_over(r, &first, MemberId(4)).await.unwrap();
    h.store.leave(r, MemberId(4)).await.unwrap();
    assert_eq!(
        h.rec.take_when(r, |s| s.len() == 3).await,
        vec![
            Seen::HostChanged(7, MemberId(4)),
            Seen::Left(8, MemberId(4), LeaveReason::Left),
            Seen::HostChanged(9, MemberId(2)),
        ]
    );
    assert_eq!(
        h.store.lock(r, &first, true).await,
        Err(ErrorCode::BadHostSecret),
        "a hand-over spends the secret"
    );
    h.store
        .claim_host(r, MemberId(2), second.hash())
        .await
        .unwrap();
    h.store.kick(r, &second, MemberId(3)).await.unwrap();
    assert_eq!(
        h.rec.take_when(r, |s| s.len() == 2).await,
        vec![
            Seen::Left(10, MemberId(3), LeaveReason::Kicked),
            Seen::MemberClosed(MemberId(3), CloseReason::Kicked),
        ]
    );
    // The seat's member dropping out past its grace passes the seat on as well.
    h.join(r, 5, None).await.unwrap();
    h.join(r, 6, None).await.unwrap();
    h.rec.take_when(r, |s| s.len() == 2).await;
    h.store.hand_over(r, &second, MemberId(5)).await.unwrap();
    h.rec.take_when(r, |s| s.len() == 1).await;
    h.store
        .disconnect(r, MemberId(5), SessionId(5))
        .await
        .unwrap();
    h.store.leave(r, MemberId(2)).await.unwrap();
    assert_eq!(
        h.rec.take_when(r, |s| s.len() == 3).await,
        vec![
            Seen::Left(14, MemberId(2), LeaveReason::Left),
            Seen::Left(15, MemberId(5), LeaveReason::Disconnected),
            Seen::HostChanged(16, MemberId(6)),
        ]
    );
}

/// The host's member cap: only with the secret, never above the room's limit in force,
/// joins past it refused with `Full`, a resume still taken, and 0 lifts it.
pub(crate) async fn host_cap_refuses_joins_past_it<S: Store>(make: impl Make<S>) {
    let h = harness(make, base_config()).await;
    let r = room(24);
    let limit = h.create(r, 1).await.unwrap().limits.max_members;
    let w2 = h.join(r, 2, None).await.unwrap();
    assert_eq!(
        h.store.set_cap(r, &HostSecret([1; 32]), 2).await,
        Err(ErrorCode::BadHostSecret)
    );
    h.store.set_cap(r, &host_secret(), 2).await.unwrap();
    assert_eq!(h.join(r, 3, None).await.unwrap_err(), ErrorCode::Full);
    // A member coming back to its place is not a join.
    h.store
        .disconnect(r, MemberId(2), SessionId(2))
        .await
        .unwrap();
    h.resume(r, &w2, 22).await.unwrap();
    h.store.leave(r, MemberId(2)).await.unwrap();
    h.join(r, 3, None).await.unwrap();
    assert_eq!(h.join(r, 4, None).await.unwrap_err(), ErrorCode::Full);
    // Above the room's limit the cap is the limit: 0 lifts it.
    h.store.set_cap(r, &host_secret(), limit + 5).await.unwrap();
    h.join(r, 4, None).await.unwrap();
    h.store.set_cap(r, &host_secret(), 3).await.unwrap();
    assert_eq!(h.join(r, 5, None).await.unwrap_err(), ErrorCode::Full);
    h.store.set_cap(r, &host_secret(), 0).await.unwrap();
    h.join(r, 5, None).await.unwrap();
}

/// Offering and revoking in a loop takes no numbers: a revoked nameplate is handed out
/// again (held numbers would all differ).
pub(crate) async fn revoked_codes_give_their_numbers_back<S: Store>(make: impl Make<S>) {
    let h = harness(make, base_config()).await;
    let r = room(24);
    h.create(r, 1).await.unwrap();
    let mut seen = std::collections::BTreeSet::new();
    const ROUNDS: usize = 40;
    for _ in 0..ROUNDS {
        let n = h.offer(r, 1).await.unwrap();
        seen.insert(n);
        h.store.code_end(r, MemberId(1), n, false).await.unwrap();
    }
    assert!(
        seen.len() < ROUNDS,
        "{ROUNDS} offers, each revoked, took {} numbers: {seen:?}",
        seen.len()
    );
}

/// After the host renews the invitation (PROTOCOL.md §11.4), a newcomer needs the
/// current join proof: none, a wrong one and the one before are refused with
/// `InviteChanged`; a member taking back its place is not asked for it; renewing needs
/// the host secret and emits nothing.
pub(crate) async fn a_renewed_invitation_refuses_the_old_proof<S: Store>(make: impl Make<S>) {
    let h = harness(make, base_config()).await;
    let r = room(23);
    h.create(r, 1).await.unwrap();
    // Before any renewal a proof is not asked for, and one shown is not checked.
    let away = h.join_proved(r, 2, None).await.unwrap();
    let first = JoinProof([7; 32]).hash();
    h.join_proved(r, 3, Some(JoinProof([6; 32]).hash()))
        .await
        .unwrap();
    h.rec.take(r);
    assert_eq!(
        h.store.rotate(r, &HostSecret([1; 32]), first, 1).await,
        Err(ErrorCode::BadHostSecret)
    );
    h.join_proved(r, 4, None).await.unwrap();
    h.rec.take(r);

    h.store.rotate(r, &host_secret(), first, 1).await.unwrap();
    assert!(h.rec.take(r).is_empty(), "a renewal emits no event");
    for (member, shown) in [(5, None), (6, Some(JoinProof([8; 32]).hash()))] {
        assert_eq!(
            h.join_proved(r, member, shown).await.unwrap_err(),
            ErrorCode::InviteChanged,
            "member {member} got in without the current proof"
        );
    }
    assert!(h.rec.take(r).is_empty(), "a refused join emits nothing");
    h.join_proved(r, 7, Some(first)).await.unwrap();

    // Renewed again: the proof before is refused too.
    let second = JoinProof([9; 32]).hash();
    h.store.rotate(r, &host_secret(), second, 2).await.unwrap();
    assert_eq!(
        h.join_proved(r, 8, Some(first)).await.unwrap_err(),
        ErrorCode::InviteChanged
    );
    h.join_proved(r, 9, Some(second)).await.unwrap();
    // A member taking back its place proves who it is with its resume token.
    let back = h.resume(r, &away, 20).await.unwrap();
    assert!(back.resumed);
    assert_eq!(
        h.store.rotate(room(99), &host_secret(), second, 2).await,
        Err(ErrorCode::UnknownRoom)
    );
}

/// Moderators (PROTOCOL.md §7.6): named by the host with its secret; they lock and
/// kick, never the host seat's member nor another moderator; a member not named does
/// neither; the mark goes with the member's place.
pub(crate) async fn moderators_kick_and_lock_but_not_the_host_seat<S: Store>(make: impl Make<S>) {
    let h = harness(make, base_config()).await;
    let r = room(26);
    h.create(r, 1).await.unwrap();
    for member in 2..=4 {
        h.join(r, member, None).await.unwrap();
    }
    h.rec.take(r);
    let (m1, m2, m3, m4) = (MemberId(1), MemberId(2), MemberId(3), MemberId(4));
    let proof = JoinProof([5; 32]).hash();
    // Nobody is a moderator yet.
    assert_eq!(
        h.store.moderator_kick(r, m2, m3, proof, 1).await,
        Err(ErrorCode::BadHostSecret)
    );
    assert_eq!(
        h.store.moderator_lock(r, m2, true).await,
        Err(ErrorCode::BadHostSecret)
    );
    // Only the host names them, and only members holding a place.
    assert_eq!(
        h.store
            .set_moderator(r, &HostSecret([1; 32]), m2, true)
            .await,
        Err(ErrorCode::BadHostSecret)
    );
    assert_eq!(
        h.store
            .set_moderator(r, &host_secret(), MemberId(9), true)
            .await,
        Err(ErrorCode::UnknownMember)
    );
    assert!(h.rec.take(r).is_empty(), "refused requests emit nothing");
    h.store
        .set_moderator(r, &host_secret(), m2, true)
        .await
        .unwrap();
    h.store
        .set_moderator(r, &host_secret(), m3, true)
        .await
        .unwrap();
    assert!(h.rec.take(r).is_empty(), "naming a moderator emits nothing");
    // A moderator locks: newcomers are refused until it unlocks.
    h.store.moderator_lock(r, m2, true).await.unwrap();
    assert_eq!(h.join(r, 5, None).await.unwrap_err(), ErrorCode::Locked);
    h.store.moderator_lock(r, m2, false).await.unwrap();
    assert!(matches!(
        h.rec.take(r)[..],
        [Seen::Locked(_, true), Seen::Locked(_, false)]
    ));
    // Neither the host seat's member nor another moderator is kicked.
    for target in [m1, m3] {
        assert_eq!(
            h.store.moderator_kick(r, m2, target, proof, 1).await,
            Err(ErrorCode::BadHostSecret),
            "{target:?}"
        );
    }
    assert_eq!(
        h.store.moderator_kick(r, m2, MemberId(9), proof, 1).await,
        Err(ErrorCode::UnknownMember)
    );
    h.store.moderator_kick(r, m2, m4, proof, 1).await.unwrap();
    let seen = h.rec.take(r);
    assert!(
        matches!(
            seen[..],
            [
                Seen::Left(_, MemberId(4), LeaveReason::Kicked),
                Seen::MemberClosed(MemberId(4), CloseReason::Kicked),
            ]
        ),
        "{seen:?}"
    );
    // Taken back, the moderator does neither any more.
    h.store
        .set_moderator(r, &host_secret(), m2, false)
        .await
        .unwrap();
    assert_eq!(
        h.store.moderator_lock(r, m2, true).await,
        Err(ErrorCode::BadHostSecret)
    );
    // The mark goes with the place: a member coming in under the same id is no
    // moderator.
    // (The kick above set its join proof: a newcomer shows it.)
    h.store.leave(r, m3).await.unwrap();
    h.join_proved(r, 3, Some(proof)).await.unwrap();
    assert_eq!(
        h.store.moderator_lock(r, m3, true).await,
        Err(ErrorCode::BadHostSecret)
    );
    assert_eq!(
        h.store.moderator_kick(r, m3, m2, proof, 1).await,
        Err(ErrorCode::BadHostSecret)
    );
}

/// A moderator's kick renewed the invitation in its commit (PROTOCOL.md §11.4): the
/// relay takes the join proof the kick carries, with the kick, so newcomers need the new
/// proof even while the host is away. A kick the relay refuses (from a member not named,
/// of the host seat's member, of another moderator, of a member without a place) sets
/// no proof; the host's `Rotate` replaces a moderator's proof.
pub(crate) async fn a_moderators_kick_renews_the_join_proof_and_nothing_else_does<S: Store>(
    make: impl Make<S>,
) {
    let h = harness(make, base_config()).await;
    let r = room(27);
    h.create(r, 1).await.unwrap();
    for member in 2..=5 {
        h.join(r, member, None).await.unwrap();
    }
    let (m1, m2, m3, m4) = (MemberId(1), MemberId(2), MemberId(3), MemberId(4));
    let (old, mine) = (JoinProof([6; 32]), JoinProof([7; 32]));
    h.store
        .rotate(r, &host_secret(), old.hash(), 1)
        .await
        .unwrap();
    // Refused kicks: by a member not named, of the host seat's member, of another
    // moderator, of nobody. None of them sets the proof it carries.
    assert_eq!(
        h.store.moderator_kick(r, m2, m4, mine.hash(), 2).await,
        Err(ErrorCode::BadHostSecret)
    );
    for member in [m2, m3] {
        h.store
            .set_moderator(r, &host_secret(), member, true)
            .await
            .unwrap();
    }
    for (target, refusal) in [
        (m1, ErrorCode::BadHostSecret),
        (m3, ErrorCode::BadHostSecret),
        (MemberId(9), ErrorCode::UnknownMember),
    ] {
        assert_eq!(
            h.store.moderator_kick(r, m2, target, mine.hash(), 2).await,
            Err(refusal),
            "{target:?}"
        );
    }
    assert_eq!(
        h.join_proved(r, 10, Some(mine.hash())).await.unwrap_err(),
        ErrorCode::InviteChanged,
        "a refused kick set the proof"
    );
    h.join_proved(r, 11, Some(old.hash())).await.unwrap();
    h.rec.take(r);

    // The kick taken sets the proof: the old one is refused from now on.
    h.store
        .moderator_kick(r, m2, m4, mine.hash(), 2)
        .await
        .unwrap();
    let seen = h.rec.take(r);
    assert!(
        matches!(
            seen[..],
            [
                Seen::Left(_, MemberId(4), LeaveReason::Kicked),
                Seen::MemberClosed(MemberId(4), CloseReason::Kicked),
            ]
        ),
        "{seen:?}"
    );
    assert_eq!(
        h.join_proved(r, 12, Some(old.hash())).await.unwrap_err(),
        ErrorCode::InviteChanged
    );
    h.join_proved(r, 13, Some(mine.hash())).await.unwrap();
    // Again for a member already gone, even with a newer number: refused, and the
    // proof stays.
    assert_eq!(
        h.store.moderator_kick(r, m2, m4, old.hash(), 3).await,
        Err(ErrorCode::UnknownMember)
    );
    h.join_proved(r, 14, Some(mine.hash())).await.unwrap();
    // The host's word replaces a moderator's, with the same number.
    let host = JoinProof([8; 32]);
    h.store
        .rotate(r, &host_secret(), host.hash(), 2)
        .await
        .unwrap();
    assert_eq!(
        h.join_proved(r, 15, Some(mine.hash())).await.unwrap_err(),
        ErrorCode::InviteChanged
    );
    h.join_proved(r, 16, Some(host.hash())).await.unwrap();
}

/// The relay keeps the join proof of the highest renewal a moderator's kick carried
/// (PROTOCOL.md §11.4): a moderator's kick that reaches it after a newer proof (the
/// host's `Rotate`, or another moderator's kick) is taken as a kick but leaves the
/// newer proof in place, and one of an equal number too; a newer number sets its proof.
/// The host's `Rotate` sets proof and number whatever the room held, a lower number
/// included (it replaces a moderator's, which may carry any number).
pub(crate) async fn a_late_moderators_kick_does_not_set_an_older_proof_back<S: Store>(
    make: impl Make<S>,
) {
    let h = harness(make, base_config()).await;
    let r = room(28);
    h.create(r, 1).await.unwrap();
    for member in 2..=8 {
        h.join(r, member, None).await.unwrap();
    }
    let (m2, m3) = (MemberId(2), MemberId(3));
    for member in [m2, m3] {
        h.store
            .set_moderator(r, &host_secret(), member, true)
            .await
            .unwrap();
    }
    let proof = |n: u8| JoinProof([0x40 + n; 32]).hash();
    // Newcomers' numbers, two for each check.
    let mut next = 20..;
    let mut holds = |current, shown| (current, shown, next.next().unwrap() * 2);
    h.store
        .rotate(r, &host_secret(), proof(3), 3)
        .await
        .unwrap();
    h.rec.take(r);

    // A late kick of renewal 2 after the host's renewal 3: the kick is taken, the
    // proof stays.
    h.store
        .moderator_kick(r, m2, MemberId(4), proof(2), 2)
        .await
        .unwrap();
    let seen = h.rec.take(r);
    assert!(
        matches!(
            seen[..],
            [
                Seen::Left(_, MemberId(4), LeaveReason::Kicked),
                Seen::MemberClosed(MemberId(4), CloseReason::Kicked),
            ]
        ),
        "{seen:?}"
    );
    h.holds_proof(r, holds(proof(3), proof(2)), "an older number")
        .await;
    // An equal number leaves the proof as it is too.
    h.store
        .moderator_kick(r, m3, MemberId(5), JoinProof([0x33; 32]).hash(), 3)
        .await
        .unwrap();
    h.holds_proof(
        r,
        holds(proof(3), JoinProof([0x33; 32]).hash()),
        "an equal number",
    )
    .await;
    // Another moderator's newer renewal sets its proof.
    h.store
        .moderator_kick(r, m3, MemberId(6), proof(4), 4)
        .await
        .unwrap();
    h.holds_proof(r, holds(proof(4), proof(3)), "a newer number")
        .await;
    // And the first moderator's late one does not set the older back.
    h.store
        .moderator_kick(r, m2, MemberId(7), proof(3), 3)
        .await
        .unwrap();
    h.holds_proof(
        r,
        holds(proof(4), proof(3)),
        "a late kick after another moderator's",
    )
    .await;

    // The host's word with a lower number sets proof and number: a moderator's kick of
    // renewal 2 is newer than it.
    h.store
        .rotate(r, &host_secret(), proof(1), 1)
        .await
        .unwrap();
    h.holds_proof(r, holds(proof(1), proof(4)), "the host's lower number")
        .await;
    h.store
        .moderator_kick(r, m2, MemberId(8), proof(2), 2)
        .await
        .unwrap();
    h.holds_proof(
        r,
        holds(proof(2), proof(1)),
        "a kick newer than the host's number",
    )
    .await;
}
