//! An in-memory relay that plays the real relay's part for session tests: it assigns
//! member ids, stamps one sequence per room, fans frames out (the sender included),
//! keeps a log for catch-up, and lets a test act as a malicious relay (inject, replay,
//! move or withhold frames, drop connections without telling anyone).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use vroom_shared::invite::Invite;
use vroom_shared::session::{ActionError, Output, Session, SessionEvent};
use vroom_shared::wire::{
    ClientFrame, CloseReason, ErrorCode, Event, HostHash, LeaveReason, MemberId, ResumeToken,
    ResumeTokenDebug, RoomId, RoomLimits, ServerFrame,
};

pub(crate) const LIMITS: RoomLimits = RoomLimits {
    max_members: 50,
    idle_timeout_secs: 600,
    max_lifetime_secs: 3600,
    grace_secs: 5,
    max_payload: 64 * 1024,
    max_file: 1 << 20,
};

/// One participant: its session, its socket queues and everything it showed.
pub(crate) struct Client {
    pub(crate) session: Session,
    /// Frames the relay has sent it, not yet handled.
    pub(crate) inbox: VecDeque<Vec<u8>>,
    /// Frames it wrote, not yet read by the relay.
    outbox: VecDeque<Vec<u8>>,
    /// Everything the session reported.
    pub(crate) events: Vec<SessionEvent>,
    /// Its member id while the relay counts it in the room.
    member: Option<MemberId>,
    /// Whether its socket is up.
    pub(crate) online: bool,
}

/// One logged relayed payload.
#[derive(Clone)]
pub(crate) struct Logged {
    pub(crate) from: MemberId,
    pub(crate) to: Option<MemberId>,
    pub(crate) payload: Vec<u8>,
}

pub(crate) struct Net {
    pub(crate) clients: BTreeMap<&'static str, Client>,
    room: Option<(RoomId, HostHash)>,
    /// The member holding the host seat (as the real relay keeps it).
    pub(crate) host: MemberId,
    /// Whether a hand-over named `host` and it has not claimed the seat yet.
    seat_named: bool,
    /// The last member cap the host set (0: lifted); not enforced here.
    pub(crate) cap: Option<u32>,
    next_id: u64,
    pub(crate) seq: u64,
    /// Every sequenced event: (seq, recipient filter, encoded frame).
    pub(crate) log: Vec<(u64, Option<MemberId>, Vec<u8>)>,
    pub(crate) payloads: Vec<Logged>,
    /// Holds frames for these clients instead of delivering them.
    pub(crate) hold: BTreeMap<&'static str, Vec<Vec<u8>>>,
    /// How many times the host renewed the room's invitation (`Rotate`).
    pub(crate) rotations: usize,
    /// The join proof hash the relay holds (the host's `Rotate`, or a moderator's kick).
    pub(crate) proof: Option<[u8; 32]>,
    /// The renewal number of `proof`'s pass: a moderator's kick sets its proof only
    /// with a higher one, as the real relay does.
    pub(crate) proof_renewal: u32,
    /// Whether a newcomer is refused (`InviteChanged`) unless it shows the proof the
    /// relay holds, as the real relay does; off by default (a relay that lets anyone
    /// in, below).
    pub(crate) check_proof: bool,
    /// Whether moderators' `ModeratorKick` frames are kept back in `late` instead of
    /// being carried out (a frame slow on its way).
    pub(crate) delay_moderator_kicks: bool,
    /// The frames kept back, with their senders, oldest first ([`Net::release_late`]).
    late: Vec<(&'static str, Vec<u8>)>,
    /// How many of the host's next `Kick` frames are lost on their way (a connection
    /// that broke as they were written).
    pub(crate) lose_kicks: usize,
    /// The members the host named moderators at the relay (`SetModerator`).
    pub(crate) moderators: BTreeSet<MemberId>,
    /// Kicks the relay carried out: (the moderator who asked, or `None` for the
    /// host's secret; the member).
    pub(crate) kicks: Vec<(Option<MemberId>, MemberId)>,
    /// For each entry of `kicks`, the join proof hash the relay held when it kicked.
    pub(crate) kick_proofs: Vec<Option<[u8; 32]>>,
}

impl Net {
    pub(crate) fn new() -> Self {
        Net {
            clients: BTreeMap::new(),
            room: None,
            host: MemberId(0),
            seat_named: false,
            cap: None,
            next_id: 0x5eed_0000,
            seq: 0,
            log: Vec::new(),
            payloads: Vec::new(),
            hold: BTreeMap::new(),
            rotations: 0,
            proof: None,
            proof_renewal: 0,
            check_proof: false,
            delay_moderator_kicks: false,
            late: Vec::new(),
            lose_kicks: 0,
            moderators: BTreeSet::new(),
            kicks: Vec::new(),
            kick_proofs: Vec::new(),
        }
    }

    fn add(&mut self, name: &'static str, session: Session, first: Vec<u8>) {
        self.clients.insert(
            name,
            Client {
                session,
                inbox: VecDeque::new(),
                outbox: VecDeque::from([first]),
                events: Vec::new(),
                member: None,
                online: true,
            },
        );
    }

    /// The host creates the room; returns its invite.
    pub(crate) fn create(&mut self, name: &'static str) -> Invite {
        let (session, first) = Session::create(name, Default::default());
        let link = session.invite_link("https://relay.test").unwrap();
        self.add(name, session, first);
        self.run();
        Invite::parse(&link).unwrap()
    }

    pub(crate) fn join(&mut self, name: &'static str, invite: &Invite) {
        let (session, first) = Session::join(invite, name);
        self.add(name, session, first);
        self.run();
    }

    pub(crate) fn id(&self, name: &str) -> MemberId {
        self.clients[name].session.me().expect("welcomed")
    }

    /// Lets the relay and every client work until nothing moves.
    pub(crate) fn run(&mut self) {
        loop {
            let mut moved = false;
            let names: Vec<&'static str> = self.clients.keys().copied().collect();
            for name in &names {
                while let Some(frame) = self.take_out(name) {
                    moved = true;
                    self.relay_frame(name, &frame);
                }
            }
            for name in &names {
                let c = self.clients.get_mut(name).unwrap();
                while let Some(frame) = c.inbox.pop_front() {
                    moved = true;
                    for out in c.session.handle(&frame) {
                        match out {
                            Output::Send(bytes) => c.outbox.push_back(bytes),
                            Output::Event(e) => c.events.push(e),
                        }
                    }
                }
            }
            if !moved {
                return;
            }
        }
    }

    fn take_out(&mut self, name: &str) -> Option<Vec<u8>> {
        let c = self.clients.get_mut(name).unwrap();
        if !c.online {
            return None;
        }
        c.outbox.pop_front()
    }

    /// Queues outputs of a user action as if the client wrote them.
    pub(crate) fn act(&mut self, name: &str, outputs: Vec<Output>) {
        let c = self.clients.get_mut(name).unwrap();
        for out in outputs {
            match out {
                Output::Send(bytes) => c.outbox.push_back(bytes),
                Output::Event(e) => c.events.push(e),
            }
        }
        self.run();
    }

    /// Gives every online client the clock (as a client's timer does).
    pub(crate) fn tick(&mut self, now_ms: u64) {
        let names: Vec<&'static str> = self.clients.keys().copied().collect();
        for name in names {
            if !self.clients[name].online {
                continue;
            }
            let out = self.clients.get_mut(name).unwrap().session.tick(now_ms);
            self.act(name, out);
        }
    }

    /// A user action of `name`'s session, written out as the client would.
    pub(crate) fn user(
        &mut self,
        name: &str,
        action: impl FnOnce(&mut Session) -> Result<Vec<Output>, ActionError>,
    ) {
        let out = action(&mut self.clients.get_mut(name).unwrap().session).unwrap();
        self.act(name, out);
    }

    pub(crate) fn say(&mut self, name: &str, text: &str) {
        let out = self
            .clients
            .get_mut(name)
            .unwrap()
            .session
            .send_text(text, 1_700_000_000_000)
            .unwrap();
        self.act(name, out);
    }

    fn deliver(&mut self, name: &'static str, frame: Vec<u8>) {
        if let Some(held) = self.hold.get_mut(name) {
            held.push(frame);
            return;
        }
        let c = self.clients.get_mut(name).unwrap();
        if c.online {
            c.inbox.push_back(frame);
        }
    }

    pub(crate) fn attached(&self) -> Vec<(&'static str, MemberId)> {
        self.clients
            .iter()
            .filter_map(|(n, c)| c.member.map(|m| (*n, m)))
            .collect()
    }

    /// Stamps and fans out one event (the log keeps it for catch-up).
    pub(crate) fn sequence(&mut self, to: Option<MemberId>, event: Event<'_>) {
        self.seq += 1;
        let frame = ServerFrame::Event {
            seq: self.seq,
            event,
        }
        .encode();
        self.log.push((self.seq, to, frame.clone()));
        for (name, member) in self.attached() {
            if to.is_none() || to == Some(member) {
                self.deliver(name, frame.clone());
            }
        }
    }

    /// Delivers a frame to one client only, as a malicious relay could.
    pub(crate) fn inject(&mut self, name: &'static str, frame: Vec<u8>) {
        self.clients.get_mut(name).unwrap().inbox.push_back(frame);
        self.run();
    }

    /// A frame `name`'s connection writes now, ahead of anything its client has queued
    /// (a client frame made by hand, or one of a client's frames sent out of order).
    pub(crate) fn send_raw(&mut self, name: &'static str, frame: &[u8]) {
        self.relay_frame(name, frame);
        self.run();
    }

    /// An event with a fresh sequence number for one client only.
    pub(crate) fn inject_event(&mut self, name: &'static str, event: Event<'_>) {
        self.seq += 1;
        let frame = ServerFrame::Event {
            seq: self.seq,
            event,
        }
        .encode();
        self.inject(name, frame);
    }

    fn welcome(&mut self, name: &'static str, you: MemberId, token: [u8; 16]) {
        let members = self.attached().into_iter().map(|(_, m)| m).collect();
        let frame = ServerFrame::Welcome {
            you,
            resume: ResumeTokenDebug(ResumeToken(token)),
            host: self.host,
            members,
            seq: self.seq,
            locked: false,
            limits: LIMITS,
        }
        .encode();
        self.deliver(name, frame);
    }

    fn close(&mut self, name: &'static str, reason: CloseReason) {
        self.deliver(name, ServerFrame::Closed { reason }.encode());
        let c = self.clients.get_mut(name).unwrap();
        c.member = None;
    }

    fn relay_frame(&mut self, name: &'static str, bytes: &[u8]) {
        let frame = ClientFrame::decode(bytes).expect("clients send well-formed frames");
        let me = self.clients[name].member;
        if me.is_none()
            && !matches!(
                frame,
                ClientFrame::Create { .. }
                    | ClientFrame::Join { .. }
                    | ClientFrame::JoinProved { .. }
            )
        {
            return; // a real relay has closed this socket
        }
        match frame {
            ClientFrame::Create { room, host, .. } => {
                self.room = Some((room, host));
                let id = MemberId(self.next_id);
                self.next_id += 1;
                self.host = id;
                self.clients.get_mut(name).unwrap().member = Some(id);
                self.welcome(name, id, [1; 16]);
                self.sequence(None, Event::Joined { member: id });
            }
            // Like a relay that lets anyone in, unless `check_proof`: a join proof is not
            // checked (the members' join key is what keeps an old link out,
            // tests/it/rotate.rs).
            ClientFrame::Join {
                room,
                resume,
                after,
                ..
            }
            | ClientFrame::JoinProved {
                room,
                resume,
                after,
                ..
            } => {
                assert_eq!(Some(room), self.room.map(|r| r.0), "joined the right room");
                let shown = match &frame {
                    ClientFrame::JoinProved { proof, .. } => Some(proof.hash().0),
                    _ => None,
                };
                if self.check_proof
                    && resume.is_none()
                    && self.proof.is_some_and(|p| shown != Some(p))
                {
                    self.refuse(name, ErrorCode::InviteChanged);
                    return;
                }
                if let Some(r) = resume {
                    self.clients.get_mut(name).unwrap().member = Some(r.member);
                    self.welcome(name, r.member, r.token.0);
                    let after = after.unwrap_or(0);
                    let missed: Vec<Vec<u8>> = self
                        .log
                        .iter()
                        .filter(|(seq, to, _)| {
                            *seq > after && (to.is_none() || *to == Some(r.member))
                        })
                        .map(|(_, _, f)| f.clone())
                        .collect();
                    for f in missed {
                        self.deliver(name, f);
                    }
                    let seq = self.seq;
                    self.deliver(name, ServerFrame::CaughtUp { seq }.encode());
                } else {
                    let id = MemberId(self.next_id);
                    self.next_id += 1;
                    self.clients.get_mut(name).unwrap().member = Some(id);
                    self.welcome(name, id, [2; 16]);
                    self.sequence(None, Event::Joined { member: id });
                }
            }
            ClientFrame::Send { to, payload } => {
                let from = me.expect("a member sends");
                self.payloads.push(Logged {
                    from,
                    to,
                    payload: payload.to_vec(),
                });
                self.sequence(to, Event::Message { from, to, payload });
            }
            ClientFrame::Leave => {
                let member = me.expect("a member leaves");
                self.close(name, CloseReason::Left);
                self.sequence(
                    None,
                    Event::Left {
                        member,
                        reason: LeaveReason::Left,
                    },
                );
                self.succeed();
            }
            ClientFrame::Kick { secret, member } => {
                assert!(self.room.unwrap().1.verify(&secret), "host secret");
                if self.lose_kicks > 0 {
                    self.lose_kicks -= 1;
                    return;
                }
                let Some((target, _)) = self.attached().into_iter().find(|(_, m)| *m == member)
                else {
                    self.refuse(name, ErrorCode::UnknownMember);
                    return;
                };
                self.kicks.push((None, member));
                self.kick_proofs.push(self.proof);
                self.moderators.remove(&member);
                self.close(target, CloseReason::Kicked);
                self.sequence(
                    None,
                    Event::Left {
                        member,
                        reason: LeaveReason::Kicked,
                    },
                );
                self.succeed();
            }
            ClientFrame::Terminate { secret } => {
                assert!(self.room.unwrap().1.verify(&secret), "host secret");
                for (n, _) in self.attached() {
                    self.close(n, CloseReason::Terminated);
                }
            }
            // The host's word sets proof and number, whatever number the relay held.
            ClientFrame::Rotate {
                secret,
                proof,
                renewal,
            } => {
                assert!(self.room.unwrap().1.verify(&secret), "host secret");
                self.rotations += 1;
                self.proof = Some(proof.0);
                self.proof_renewal = renewal;
            }
            ClientFrame::Lock { secret, locked } => {
                assert!(self.room.unwrap().1.verify(&secret), "host secret");
                self.sequence(None, Event::Locked { locked });
            }
            ClientFrame::SetModerator { secret, member, on } => {
                assert!(self.room.unwrap().1.verify(&secret), "host secret");
                if on {
                    self.moderators.insert(member);
                } else {
                    self.moderators.remove(&member);
                }
            }
            ClientFrame::ModeratorLock { locked } => {
                let me = me.expect("a member locks");
                assert!(self.moderators.contains(&me), "a moderator locks");
                self.sequence(None, Event::Locked { locked });
            }
            ClientFrame::ModeratorKick { .. } if self.delay_moderator_kicks => {
                self.late.push((name, bytes.to_vec()));
            }
            ClientFrame::ModeratorKick {
                member,
                proof,
                renewal,
            } => {
                let me = me.expect("a member kicks");
                assert!(self.moderators.contains(&me), "a moderator kicks");
                assert!(member != self.host && !self.moderators.contains(&member));
                let Some((target, _)) = self.attached().into_iter().find(|(_, m)| *m == member)
                else {
                    self.refuse(name, ErrorCode::UnknownMember);
                    return;
                };
                self.kicks.push((Some(me), member));
                // The proof of the highest renewal: a late kick of an older one does
                // not set it back.
                if renewal > self.proof_renewal {
                    self.proof = Some(proof.0);
                    self.proof_renewal = renewal;
                }
                self.kick_proofs.push(self.proof);
                self.close(target, CloseReason::Kicked);
                self.sequence(
                    None,
                    Event::Left {
                        member,
                        reason: LeaveReason::Kicked,
                    },
                );
                self.succeed();
            }
            ClientFrame::HandOver { secret, to } => {
                if self.seat_named || !self.room.unwrap().1.verify(&secret) {
                    self.refuse(name, ErrorCode::BadHostSecret);
                    return;
                }
                // The old secret stops working: no secret hashes to all zeros.
                self.room = self.room.map(|(room, _)| (room, HostHash([0; 32])));
                self.host = to;
                self.seat_named = true;
                self.sequence(None, Event::HostChanged { host: to });
            }
            ClientFrame::SetCap {
                secret,
                max_members,
            } => {
                assert!(self.room.unwrap().1.verify(&secret), "host secret");
                self.cap = Some(max_members);
            }
            ClientFrame::ClaimHost { host } => {
                let me = me.expect("a member claims");
                let same = self.room.is_some_and(|(_, h)| h.0 == host.0);
                if self.host != me || !(self.seat_named || same) {
                    self.refuse(name, ErrorCode::BadHostSecret);
                    return;
                }
                self.room = self.room.map(|(room, _)| (room, host));
                self.seat_named = false;
            }
            // The chunk lane is not the session's (files have tests of their own).
            ClientFrame::Fetch { .. } | ClientFrame::Stream { .. } => {}
            // Short codes are the relay's and the fuzz tests' business, not the room's.
            ClientFrame::CodeOffer
            | ClientFrame::CodeRevoke { .. }
            | ClientFrame::CodeBurn { .. }
            | ClientFrame::CodeOpen { .. }
            | ClientFrame::CodeSend { .. } => {}
        }
    }

    /// Carries out the frames kept back ([`Net::delay_moderator_kicks`]) now, in the
    /// order they came, and lets everyone work.
    pub(crate) fn release_late(&mut self) {
        self.delay_moderator_kicks = false;
        for (name, frame) in std::mem::take(&mut self.late) {
            self.relay_frame(name, &frame);
        }
        self.run();
    }

    fn refuse(&mut self, name: &'static str, code: ErrorCode) {
        self.deliver(name, ServerFrame::Error { code }.encode());
    }

    /// The socket drops; the relay keeps the member (within its grace period).
    pub(crate) fn drop_connection(&mut self, name: &str) {
        let c = self.clients.get_mut(name).unwrap();
        c.online = false;
        c.inbox.clear();
        c.outbox.clear();
    }

    /// The page reloads: the old socket drops (the relay keeps the member within its
    /// grace period) and a new session, made from what the page saved, opens a socket
    /// and writes its first frame.
    pub(crate) fn reload(&mut self, name: &str, session: Session, first: Vec<u8>) {
        self.drop_connection(name);
        let c = self.clients.get_mut(name).unwrap();
        c.session = session;
        c.events.clear();
        c.online = true;
        c.outbox.push_back(first);
        self.run();
    }

    /// The client opens a new socket and resumes.
    pub(crate) fn reconnect(&mut self, name: &str) {
        let c = self.clients.get_mut(name).unwrap();
        c.online = true;
        let frame = c.session.reconnect_frame().unwrap();
        c.outbox.push_back(frame);
        self.run();
    }

    /// The relay removes a member and tells the others, but never tells the member: the
    /// view of a departed member whose client ignores its removal and keeps its keys.
    pub(crate) fn remove_quietly(&mut self, name: &'static str, reason: LeaveReason) {
        let member = self.clients[name].member.unwrap();
        let c = self.clients.get_mut(name).unwrap();
        c.member = None;
        self.sequence(None, Event::Left { member, reason });
        self.succeed();
        self.run();
    }

    /// The relay's own succession, as the real one does it: once the seat's member has
    /// no place, the seat goes to the member holding one the longest (ids are handed
    /// out in order), which alone may claim it.
    pub(crate) fn succeed(&mut self) {
        if self.attached().iter().any(|(_, m)| *m == self.host) {
            return;
        }
        let Some(heir) = self.attached().into_iter().map(|(_, m)| m).min() else {
            return;
        };
        self.room = self.room.map(|(room, _)| (room, HostHash([0; 32])));
        self.host = heir;
        self.seat_named = true;
        self.sequence(None, Event::HostChanged { host: heir });
    }

    pub(crate) fn texts(&self, name: &str) -> Vec<String> {
        self.clients[name]
            .events
            .iter()
            .filter_map(|e| match e {
                SessionEvent::Message { text, .. } => Some(text.clone()),
                _ => None,
            })
            .collect()
    }

    pub(crate) fn warnings(&self, name: &str) -> usize {
        self.clients[name]
            .events
            .iter()
            .filter(|e| matches!(e, SessionEvent::SecurityWarning { .. }))
            .count()
    }

    pub(crate) fn payloads_to(&self, member: MemberId) -> Vec<Logged> {
        self.payloads
            .iter()
            .filter(|p| p.to == Some(member))
            .cloned()
            .collect()
    }
}
