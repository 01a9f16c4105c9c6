//! A sans-I/O room session: the state machine both clients (the native CLI and the web
//! app) drive. It turns relay frames into user events and user actions into frames; it
//! owns every key, so a UI never touches key bytes.
//!
//! # Driving it
//!
//! ```no_run
//! use vroom_shared::session::{Output, Session, SessionEvent};
//! use vroom_shared::wire::RoomSettings;
//!
//! let (mut session, first) = Session::create("ada", RoomSettings::default());
//! println!("invite: {}", session.invite_link("http://127.0.0.1:8080").unwrap());
//! // write `first` to the WebSocket (binary message), then for every binary message read:
//! # let frame_bytes: Vec<u8> = Vec::new();
//! for out in session.handle(&frame_bytes) {
//!     match out {
//!         Output::Send(bytes) => { /* write to the socket, in order */ }
//!         Output::Event(SessionEvent::Message { nick, text, .. }) => println!("{nick}: {text}"),
//!         Output::Event(_) => { /* membership, warnings, the end of the room… */ }
//!     }
//! }
//! // user actions return frames the same way:
//! let outputs = session.send_text("hello", 1_700_000_000_000).unwrap();
//! ```
//!
//! - Messages are shown when the relay echoes them back, so everyone, the sender
//!   included, sees one order; the sender's copy has `own: true`.
//! - After a dropped connection, open a new socket and write [`Session::reconnect_frame`]:
//!   it reclaims this member's id and asks for what was missed; duplicates are dropped.
//! - When the room ends (or this member leaves or is kicked) the session emits
//!   [`SessionEvent::Ended`] and forgets every key; later calls fail with
//!   [`ActionError::Ended`].
//!
//! # What happens underneath (PROTOCOL.md has the details)
//! After a `Welcome` the session broadcasts its sealed announcement (`Hello`). Each
//! member that verifies it answers directly with its own announcement (if the newcomer is
//! new to it) and its *current* sender-key state, sealed with the pairwise key; the
//! newcomer sends its state to every member it verifies. On every `Left` the session
//! starts a new epoch and sends the new chain to the remaining members only. Messages
//! whose keys have not arrived yet wait in a bounded queue and are retried when keys
//! arrive.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

use zeroize::Zeroizing;

use crate::crypto::announce::{self, AnnounceKind, SealedAnnounce};
use crate::crypto::envelope::{Content, Envelope, Payload, Plaintext};
use crate::crypto::keys::{Announce, Pairwise};
use crate::crypto::sender::{
    self, ChainState, ReceiveChain, SealedMessage, SealedSenderKey, SendChain,
};
use crate::crypto::{
    padding, CryptoError, Key, MemberKeys, MemberPublic, NonceRng, OsRng, RoomSecret,
};
use crate::invite::Invite;
use crate::wire::{
    ClientFrame, CloseReason, ErrorCode, Event, HostSecret, LeaveReason, MemberId, Resume, RoomId,
    RoomLimits, RoomSettings, ServerFrame, PROTOCOL_VERSION,
};

/// Most frames kept waiting for keys (a sender's announcement or chain state) at once.
/// The oldest is given up (reported [`SessionEvent::Undecryptable`]) beyond this.
pub const MAX_PENDING: usize = 256;
/// Most own messages kept (in plaintext, in memory) until the relay echoes them.
pub const MAX_OWN_PENDING: usize = 1024;
/// Epochs kept per sender: the current one and the one before, for messages that were
/// in flight when the sender rekeyed.
const EPOCHS_KEPT: usize = 2;

/// Something the client must do: write a frame, or show an event.
#[derive(Debug)]
pub enum Output {
    /// Write these bytes to the relay's WebSocket as one binary message, in order.
    Send(Vec<u8>),
    /// Tell the user.
    Event(SessionEvent),
}

/// What happened, for the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionEvent {
    /// The relay accepted this member (after a create, a join or a reconnect).
    Ready {
        /// This member's id.
        me: MemberId,
        /// The host's id.
        host: MemberId,
        /// Whether new joins are refused.
        locked: bool,
        /// The room's limits (show `max_file` before a user sends a file).
        limits: RoomLimits,
        /// True when a reconnect got the old identity back.
        resumed: bool,
    },
    /// A member's announcement was verified: it is in the room, with these keys.
    MemberJoined {
        /// Its id.
        member: MemberId,
        /// Its nickname.
        nick: String,
        /// Its safety words; compare them out of band to rule out a key substitution.
        fingerprint: String,
    },
    /// A verified member is gone; the session has moved to a new epoch.
    MemberLeft {
        /// Its id.
        member: MemberId,
        /// Its last nickname.
        nick: String,
        /// Why.
        reason: LeaveReason,
    },
    /// A member (possibly this one) changed its nickname.
    NickChanged {
        /// Its id.
        member: MemberId,
        /// The nickname before.
        old: String,
        /// The nickname now.
        new: String,
    },
    /// A chat message, authenticated and decrypted.
    Message {
        /// The sender.
        from: MemberId,
        /// The sender's nickname when it arrived.
        nick: String,
        /// The text.
        text: String,
        /// The sender's clock at sending (milliseconds since the Unix epoch).
        sent_at_ms: u64,
        /// True for this member's own message (echoed by the relay).
        own: bool,
        /// The relay's sequence number: the room's one order.
        seq: u64,
    },
    /// Something failed authentication: a forged or altered announcement, a bad
    /// signature, a replay, a frame made for another room or member. It was dropped.
    /// Show it loudly: it is a sign of a misbehaving relay or member.
    SecurityWarning {
        /// The member the frame claimed to come from.
        from: Option<MemberId>,
        /// A sentence for the user.
        text: String,
    },
    /// A message this member cannot read: sent before it joined, or its key never came.
    Undecryptable {
        /// The sender.
        from: MemberId,
        /// The relay's sequence number.
        seq: u64,
    },
    /// The host locked or unlocked the room.
    Locked {
        /// Whether new joins are refused now.
        locked: bool,
    },
    /// Catch-up after a reconnect could not return events `from..=to` (they left the
    /// relay's buffer); messages in that range are lost to this member.
    Gap {
        /// First missing sequence number.
        from: u64,
        /// Last missing sequence number.
        to: u64,
    },
    /// Catch-up is complete; what follows is live.
    CaughtUp {
        /// The last sequence number delivered by catch-up.
        seq: u64,
    },
    /// The relay is restarting: open a new socket and send [`Session::reconnect_frame`].
    RelayGoingAway,
    /// The room is over for this member; every key has been wiped.
    Ended {
        /// Why ([`CloseReason::message`] has a sentence for the user).
        reason: CloseReason,
    },
    /// The relay refused a request ([`ErrorCode::message`] has a sentence for the user).
    Error {
        /// What failed.
        code: ErrorCode,
    },
}

/// Why a user action could not be done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionError {
    /// The relay has not welcomed this member yet (or the connection is being resumed).
    NotReady,
    /// The room is over; start or join another.
    Ended,
    /// Only the host can do that.
    NotHost,
    /// The message is larger than the room allows.
    TooLarge,
    /// There is nothing to send.
    Empty,
}

impl core::fmt::Display for ActionError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            ActionError::NotReady => "Not connected to the room yet. Wait a moment and try again.",
            ActionError::Ended => "This room is over. Create or join another room.",
            ActionError::NotHost => "Only the host can do that.",
            ActionError::TooLarge => "That message is too large for this room. Shorten it.",
            ActionError::Empty => "There is nothing to send.",
        })
    }
}

impl std::error::Error for ActionError {}

/// One member as the member list shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberInfo {
    /// Its id.
    pub member: MemberId,
    /// Its nickname.
    pub nick: String,
    /// Its safety words.
    pub fingerprint: String,
    /// Whether it is the host.
    pub is_host: bool,
    /// Whether it is this member.
    pub is_self: bool,
}

/// Every secret of a session, in one place, so ending the room drops (and zeroizes)
/// them all at once.
struct Secrets {
    /// The room secret: the invite link is made from it.
    room_secret: RoomSecret,
    /// Seals and opens announcements.
    announce_key: Key<Announce>,
    /// This member's key pairs for this session.
    keys: MemberKeys,
    /// Host powers, if this session created the room.
    host_secret: Option<HostSecret>,
    /// This member's current sending chain.
    send_chain: SendChain,
    /// Verified members, with their keys and chains.
    members: BTreeMap<MemberId, Member>,
    /// Own messages waiting for the relay's echo, by (epoch, counter).
    own_pending: BTreeMap<(u32, u32), OwnPending>,
    /// Where this session's nonces come from (never its keys).
    nonces: NonceRng,
}

/// A verified member.
struct Member {
    /// Its announced public keys.
    public: MemberPublic,
    /// Its nickname.
    nick: String,
    /// Its latest announcement counter (older ones are replays).
    counter: u32,
    /// Its safety words, computed once.
    fingerprint: String,
    /// The key shared with it, for sender-key distribution.
    pairwise: Key<Pairwise>,
    /// Its chains, newest epoch last, at most [`EPOCHS_KEPT`].
    chains: Vec<ReceiveChain>,
}

/// An own message, kept until the relay echoes it.
struct OwnPending {
    /// The text, zeroized when dropped.
    text: Zeroizing<String>,
    /// The timestamp it was sent with.
    sent_at_ms: u64,
    /// The message as it was sent. Its echo must be the same bytes: comparing them
    /// proves the relay altered nothing, without checking one's own signature.
    sealed: SealedMessage,
}

/// A frame that could not be processed yet, kept to retry when keys arrive.
struct Waiting {
    /// The relay's sequence number.
    seq: u64,
    /// The sender the relay states.
    from: MemberId,
    /// Whether the relay delivered it to this member alone.
    directed: bool,
    /// The decoded payload.
    payload: Payload,
}

/// Where the connection stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// A `Create` or `Join` was written; waiting for `Welcome`.
    Connecting,
    /// Welcomed; live.
    Ready,
    /// Over; the secrets are gone.
    Ended,
}

/// A member's session in one room. See the module documentation.
pub struct Session {
    /// Every secret; `None` once the room is over.
    secrets: Option<Secrets>,
    /// The room's public id.
    room: RoomId,
    /// This member's nickname.
    nick: String,
    /// Counter of this member's latest announcement.
    announce_counter: u32,
    /// This member's id, once welcomed.
    me: Option<MemberId>,
    /// Reclaims `me` after a dropped connection.
    resume: Option<Resume>,
    /// The host's id, per the latest welcome.
    host: Option<MemberId>,
    /// Whether the room is locked.
    locked: bool,
    /// The room's limits, per the latest welcome.
    limits: Option<RoomLimits>,
    /// Connection state.
    phase: Phase,
    /// The frame that opened the session, sent again if the first welcome never came.
    first_frame: Vec<u8>,
    /// Highest sequence number processed; anything at or below is a duplicate.
    last_seq: u64,
    /// Members the relay says are connected (verified or not), per the latest welcome.
    connected: BTreeSet<MemberId>,
    /// Frames waiting for keys, oldest first.
    waiting: VecDeque<Waiting>,
}

/// The result of trying to process one payload.
enum Processed {
    /// Done (shown, or dropped with an event).
    Done,
    /// Needs keys that have not arrived; keep it.
    Wait(Payload),
}

fn send_frame(to: Option<MemberId>, payload: &Payload) -> Output {
    Output::Send(
        ClientFrame::Send {
            to,
            payload: &payload.encode(),
        }
        .encode(),
    )
}

fn warning(from: Option<MemberId>, text: &str) -> Output {
    Output::Event(SessionEvent::SecurityWarning {
        from,
        text: text.to_owned(),
    })
}

const WARN_ANNOUNCE: &str = "A member announcement failed authentication and was ignored. \
     The relay may be trying to insert or impersonate a member. Compare safety words with the others.";
const WARN_KEY_CHANGE: &str = "A member's keys changed unexpectedly; the change was ignored. \
     The relay or a member may be trying to substitute keys. Compare safety words.";
const WARN_REPLAY: &str = "A message was delivered twice (a replay) and was ignored. \
     The relay may be misbehaving.";
const WARN_REORDERED: &str = "A member's messages arrived out of order; the late one is shown \
     where it arrived. The relay may be reordering messages.";
const WARN_FORGED: &str = "A message failed authentication (forged, altered or from another room) \
     and was ignored. The relay or a member may be attacking this room.";

impl Session {
    /// Creates a new room with a fresh room secret and host secret. Write the returned
    /// frame (a `Create`) first.
    pub fn create(nick: &str, settings: RoomSettings) -> (Session, Vec<u8>) {
        let secret = RoomSecret::generate(&mut OsRng);
        let mut host = [0u8; 32];
        rand_core::RngCore::fill_bytes(&mut OsRng, &mut host);
        let host = HostSecret(host);
        let frame = ClientFrame::Create {
            version: PROTOCOL_VERSION,
            room: secret.room_id(),
            host: host.hash(),
            settings,
        }
        .encode();
        Self::new(secret, Some(host), nick, frame)
    }

    /// Joins the room of an invite. Write the returned frame (a `Join`) first, to the
    /// socket at [`Invite::ws_url`].
    pub fn join(invite: &Invite, nick: &str) -> (Session, Vec<u8>) {
        let secret = invite.secret().clone();
        let frame = ClientFrame::Join {
            version: PROTOCOL_VERSION,
            room: secret.room_id(),
            resume: None,
            after: None,
        }
        .encode();
        Self::new(secret, None, nick, frame)
    }

    fn new(
        secret: RoomSecret,
        host_secret: Option<HostSecret>,
        nick: &str,
        first: Vec<u8>,
    ) -> (Session, Vec<u8>) {
        let session = Session {
            room: secret.room_id(),
            secrets: Some(Secrets {
                announce_key: secret.announce_key(),
                room_secret: secret,
                keys: MemberKeys::generate(&mut OsRng),
                host_secret,
                send_chain: SendChain::new(0, &mut OsRng),
                members: BTreeMap::new(),
                own_pending: BTreeMap::new(),
                nonces: NonceRng::new(),
            }),
            nick: announce::clean_nick(nick),
            announce_counter: 0,
            me: None,
            resume: None,
            host: None,
            locked: false,
            limits: None,
            phase: Phase::Connecting,
            first_frame: first.clone(),
            last_seq: 0,
            connected: BTreeSet::new(),
            waiting: VecDeque::new(),
        };
        (session, first)
    }

    /// The invite link for this room on the relay at `origin` (`http[s]://host[:port]`),
    /// or `None` once the room is over.
    pub fn invite_link(&self, origin: &str) -> Option<String> {
        let s = self.secrets.as_ref()?;
        Some(Invite::new(origin, s.room_secret.clone()).link())
    }

    /// Whether this session holds the host secret (it created the room).
    pub fn is_host(&self) -> bool {
        self.secrets
            .as_ref()
            .is_some_and(|s| s.host_secret.is_some())
    }

    /// The room's public id.
    pub fn room_id(&self) -> RoomId {
        self.room
    }

    /// This member's id, once welcomed.
    pub fn me(&self) -> Option<MemberId> {
        self.me
    }

    /// This member's nickname.
    pub fn nick(&self) -> &str {
        &self.nick
    }

    /// This member's own safety words (what others should see for it).
    pub fn fingerprint(&self) -> Option<String> {
        Some(self.secrets.as_ref()?.keys.public().fingerprint())
    }

    /// Whether the relay has welcomed this member and the room is live.
    pub fn is_ready(&self) -> bool {
        self.phase == Phase::Ready
    }

    /// Whether the room is over for this member.
    pub fn is_ended(&self) -> bool {
        self.phase == Phase::Ended
    }

    /// Whether the room is locked, per the relay.
    pub fn is_locked(&self) -> bool {
        self.locked
    }

    /// The room's limits, once welcomed.
    pub fn limits(&self) -> Option<RoomLimits> {
        self.limits
    }

    /// Highest relay sequence number processed.
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// Verified members, this one first.
    pub fn members(&self) -> Vec<MemberInfo> {
        let (Some(s), Some(me)) = (self.secrets.as_ref(), self.me) else {
            return Vec::new();
        };
        let mut out = vec![MemberInfo {
            member: me,
            nick: self.nick.clone(),
            fingerprint: s.keys.public().fingerprint(),
            is_host: self.host == Some(me),
            is_self: true,
        }];
        out.extend(s.members.iter().map(|(&id, m)| MemberInfo {
            member: id,
            nick: m.nick.clone(),
            fingerprint: m.fingerprint.clone(),
            is_host: self.host == Some(id),
            is_self: false,
        }));
        out
    }

    /// The first frame to write on a new socket after the old one dropped: a `Join`
    /// that reclaims this member's id and asks for every event after the last one seen.
    /// Before the first welcome it is the session's opening frame again. `None` once the
    /// room is over.
    pub fn reconnect_frame(&mut self) -> Option<Vec<u8>> {
        if self.phase == Phase::Ended {
            return None;
        }
        self.phase = Phase::Connecting;
        let Some(resume) = self.resume else {
            return Some(self.first_frame.clone());
        };
        Some(
            ClientFrame::Join {
                version: PROTOCOL_VERSION,
                room: self.room,
                resume: Some(resume),
                after: Some(self.last_seq),
            }
            .encode(),
        )
    }

    /// Sends a chat message. The returned frame goes to the relay; the message is shown
    /// (as [`SessionEvent::Message`] with `own: true`) when the relay echoes it.
    /// `now_ms` is the sender's clock (milliseconds since the Unix epoch).
    pub fn send_text(&mut self, text: &str, now_ms: u64) -> Result<Vec<Output>, ActionError> {
        if text.is_empty() {
            return Err(ActionError::Empty);
        }
        let me = self.ready_me()?;
        let max = self.limits.map_or(usize::MAX, |l| l.max_payload as usize);
        let s = self.secrets.as_mut().ok_or(ActionError::Ended)?;
        let plain = Plaintext {
            sent_at_ms: now_ms,
            content: Content::Text {
                body: text.to_owned(),
            },
        }
        .encode();
        // A payload is the padded plaintext plus a fixed overhead (tag, nonce, header,
        // signature, encoding), well under 160 bytes: refuse early rather than burn a
        // chain step on something the relay would refuse.
        if padding::bucket(plain.len()) + 160 > max {
            return Err(ActionError::TooLarge);
        }
        let sealed = sender::seal_message(
            &mut s.send_chain,
            &s.keys,
            &self.room,
            me,
            &padding::pad(&plain),
            &mut s.nonces,
        );
        if s.own_pending.len() >= MAX_OWN_PENDING {
            s.own_pending.pop_first();
        }
        s.own_pending.insert(
            (sealed.epoch, sealed.counter),
            OwnPending {
                text: Zeroizing::new(text.to_owned()),
                sent_at_ms: now_ms,
                sealed: sealed.clone(),
            },
        );
        Ok(vec![send_frame(
            None,
            &Payload::new(Envelope::Message(sealed)),
        )])
    }

    /// Changes this member's nickname and announces it to the room.
    pub fn set_nick(&mut self, nick: &str) -> Result<Vec<Output>, ActionError> {
        let me = self.ready_me()?;
        let new = announce::clean_nick(nick);
        if new.is_empty() {
            return Err(ActionError::Empty);
        }
        let old = core::mem::replace(&mut self.nick, new.clone());
        self.announce_counter += 1;
        let frame = self.announcement(AnnounceKind::Update)?;
        Ok(vec![
            send_frame(None, &frame),
            Output::Event(SessionEvent::NickChanged {
                member: me,
                old,
                new,
            }),
        ])
    }

    /// Host: deletes the room for everyone.
    pub fn terminate(&mut self) -> Result<Vec<Output>, ActionError> {
        let secret = self.host_secret()?;
        Ok(vec![Output::Send(
            ClientFrame::Terminate { secret }.encode(),
        )])
    }

    /// Host: removes a member; everyone else rekeys when the relay reports it gone.
    pub fn kick(&mut self, member: MemberId) -> Result<Vec<Output>, ActionError> {
        let secret = self.host_secret()?;
        Ok(vec![Output::Send(
            ClientFrame::Kick { secret, member }.encode(),
        )])
    }

    /// Host: refuses (or allows again) new joins.
    pub fn lock(&mut self, locked: bool) -> Result<Vec<Output>, ActionError> {
        let secret = self.host_secret()?;
        Ok(vec![Output::Send(
            ClientFrame::Lock { secret, locked }.encode(),
        )])
    }

    /// Leaves the room for good. The relay answers with `Closed { Left }`, which ends the
    /// session.
    pub fn leave(&mut self) -> Result<Vec<Output>, ActionError> {
        if self.phase == Phase::Ended {
            return Err(ActionError::Ended);
        }
        Ok(vec![Output::Send(ClientFrame::Leave.encode())])
    }

    fn ready_me(&self) -> Result<MemberId, ActionError> {
        match (self.phase, self.me) {
            (Phase::Ended, _) => Err(ActionError::Ended),
            (Phase::Ready, Some(me)) => Ok(me),
            _ => Err(ActionError::NotReady),
        }
    }

    fn host_secret(&self) -> Result<HostSecret, ActionError> {
        self.ready_me()?;
        let s = self.secrets.as_ref().ok_or(ActionError::Ended)?;
        s.host_secret.clone().ok_or(ActionError::NotHost)
    }

    fn announcement(&mut self, kind: AnnounceKind) -> Result<Payload, ActionError> {
        let me = self.me.ok_or(ActionError::NotReady)?;
        let s = self.secrets.as_mut().ok_or(ActionError::Ended)?;
        let sealed = announce::seal(
            &s.keys,
            &s.announce_key,
            &self.room,
            me,
            &self.nick,
            self.announce_counter,
            kind,
            &mut s.nonces,
        );
        Ok(Payload::new(Envelope::Announce(sealed)))
    }

    /// Processes one binary message from the relay.
    pub fn handle(&mut self, frame: &[u8]) -> Vec<Output> {
        let mut out = Vec::new();
        if self.phase == Phase::Ended {
            return out;
        }
        let Ok(frame) = ServerFrame::decode(frame) else {
            out.push(warning(
                None,
                "The relay sent a frame this client cannot read; it was ignored.",
            ));
            return out;
        };
        match frame {
            ServerFrame::Welcome {
                you,
                resume,
                host,
                members,
                seq,
                locked,
                limits,
            } => self.on_welcome(you, resume.0, host, members, seq, locked, limits, &mut out),
            ServerFrame::Event { seq, event } => {
                if seq <= self.last_seq {
                    return out; // a duplicate from catch-up
                }
                self.last_seq = seq;
                self.on_event(seq, event, &mut out);
            }
            ServerFrame::Gap { from, to } => {
                out.push(Output::Event(SessionEvent::Gap { from, to }))
            }
            ServerFrame::CaughtUp { seq } => {
                self.prune_departed(&mut out);
                out.push(Output::Event(SessionEvent::CaughtUp { seq }));
            }
            ServerFrame::Error { code } => {
                if code == ErrorCode::ResumeRefused && self.phase == Phase::Connecting {
                    // Our old identity is gone: join again as a new member.
                    self.resume = None;
                    out.push(Output::Send(
                        ClientFrame::Join {
                            version: PROTOCOL_VERSION,
                            room: self.room,
                            resume: None,
                            after: None,
                        }
                        .encode(),
                    ));
                }
                out.push(Output::Event(SessionEvent::Error { code }));
            }
            ServerFrame::Closed { reason } => {
                if reason == CloseReason::GoingAway {
                    self.phase = Phase::Connecting;
                    out.push(Output::Event(SessionEvent::RelayGoingAway));
                } else {
                    self.wipe();
                    out.push(Output::Event(SessionEvent::Ended { reason }));
                }
            }
        }
        out
    }

    /// Forgets every secret and all state tied to the room.
    fn wipe(&mut self) {
        self.secrets = None;
        self.waiting.clear();
        self.connected.clear();
        self.resume = None;
        self.phase = Phase::Ended;
    }

    #[allow(clippy::too_many_arguments)]
    fn on_welcome(
        &mut self,
        you: MemberId,
        token: crate::wire::ResumeToken,
        host: MemberId,
        members: Vec<MemberId>,
        seq: u64,
        locked: bool,
        limits: RoomLimits,
        out: &mut Vec<Output>,
    ) {
        let resumed = self.me == Some(you);
        if !resumed {
            // A new identity: nobody holds our old chain under this id, and our view
            // of the room starts now.
            if let Some(s) = self.secrets.as_mut() {
                let epoch = s.send_chain.epoch() + 1;
                s.send_chain = SendChain::new(epoch, &mut OsRng);
                s.members.clear();
                s.own_pending.clear();
            }
            self.waiting.clear();
            self.last_seq = seq;
        }
        self.me = Some(you);
        self.resume = Some(Resume { member: you, token });
        self.host = Some(host);
        self.locked = locked;
        self.limits = Some(limits);
        self.connected = members.into_iter().filter(|&m| m != you).collect();
        self.phase = Phase::Ready;
        out.push(Output::Event(SessionEvent::Ready {
            me: you,
            host,
            locked,
            limits,
            resumed,
        }));
        self.announce_counter += 1;
        if let Ok(p) = self.announcement(AnnounceKind::Hello) {
            out.push(send_frame(None, &p));
        }
    }

    /// Drops verified members the relay no longer lists (their `Left` may have fallen
    /// into a catch-up gap) and rekeys if any went.
    fn prune_departed(&mut self, out: &mut Vec<Output>) {
        let Some(s) = self.secrets.as_ref() else {
            return;
        };
        let gone: Vec<MemberId> = s
            .members
            .keys()
            .filter(|m| !self.connected.contains(m))
            .copied()
            .collect();
        for member in gone {
            self.member_left(member, LeaveReason::Disconnected, out);
        }
    }

    fn on_event(&mut self, seq: u64, event: Event<'_>, out: &mut Vec<Output>) {
        match event {
            Event::Joined { member } => {
                if Some(member) != self.me {
                    self.connected.insert(member);
                }
            }
            Event::Left { member, reason } => {
                self.connected.remove(&member);
                if Some(member) != self.me {
                    self.member_left(member, reason, out);
                }
            }
            Event::Locked { locked } => {
                self.locked = locked;
                out.push(Output::Event(SessionEvent::Locked { locked }));
            }
            Event::Message { from, to, payload } => {
                if to.is_some() && to != self.me {
                    return; // misrouted; not ours to read
                }
                let Ok(payload) = Payload::decode(payload) else {
                    out.push(Output::Event(SessionEvent::Undecryptable { from, seq }));
                    return;
                };
                let keys_arrived = matches!(
                    payload.envelope,
                    Envelope::Announce(_) | Envelope::SenderKey(_)
                );
                match self.process(seq, from, to.is_some(), payload, out) {
                    Processed::Done => {}
                    Processed::Wait(payload) => self.park(
                        Waiting {
                            seq,
                            from,
                            directed: to.is_some(),
                            payload,
                        },
                        out,
                    ),
                }
                if keys_arrived {
                    self.retry_waiting(out);
                }
            }
        }
    }

    fn park(&mut self, w: Waiting, out: &mut Vec<Output>) {
        if self.waiting.len() >= MAX_PENDING {
            if let Some(old) = self.waiting.pop_front() {
                out.push(Output::Event(SessionEvent::Undecryptable {
                    from: old.from,
                    seq: old.seq,
                }));
            }
        }
        self.waiting.push_back(w);
    }

    fn retry_waiting(&mut self, out: &mut Vec<Output>) {
        // Each pass may bring keys that unblock others (an announcement, then a chain).
        loop {
            let before = self.waiting.len();
            let mut still = VecDeque::new();
            let mut progressed = false;
            while let Some(w) = self.waiting.pop_front() {
                let unlocks = matches!(
                    w.payload.envelope,
                    Envelope::Announce(_) | Envelope::SenderKey(_)
                );
                match self.process(w.seq, w.from, w.directed, w.payload, out) {
                    Processed::Done => progressed |= unlocks,
                    Processed::Wait(payload) => still.push_back(Waiting { payload, ..w }),
                }
            }
            self.waiting = still;
            if !progressed || self.waiting.len() == before || self.waiting.is_empty() {
                break;
            }
        }
    }

    fn member_left(&mut self, member: MemberId, reason: LeaveReason, out: &mut Vec<Output>) {
        // Whatever still waits for this member's keys will never be readable.
        let (gone, keep): (VecDeque<_>, VecDeque<_>) =
            self.waiting.drain(..).partition(|w| w.from == member);
        self.waiting = keep;
        for w in gone {
            out.push(Output::Event(SessionEvent::Undecryptable {
                from: w.from,
                seq: w.seq,
            }));
        }
        let Some(s) = self.secrets.as_mut() else {
            return;
        };
        let Some(m) = s.members.remove(&member) else {
            return;
        };
        out.push(Output::Event(SessionEvent::MemberLeft {
            member,
            nick: m.nick.clone(),
            reason,
        }));
        // New epoch: the departed member holds our old chains, never this one.
        let epoch = s.send_chain.epoch() + 1;
        s.send_chain = SendChain::new(epoch, &mut OsRng);
        let me = self.me.expect("members are verified only after a welcome");
        for (&id, m) in &s.members {
            let chain = s.send_chain.state();
            let frame =
                Self::sender_key_frame(chain, &mut s.nonces, &m.pairwise, &self.room, me, id);
            out.push(frame);
        }
    }

    fn sender_key_frame(
        chain: &ChainState,
        nonces: &mut NonceRng,
        pairwise: &Key<Pairwise>,
        room: &RoomId,
        me: MemberId,
        to: MemberId,
    ) -> Output {
        let sealed = sender::seal_chain_state(chain, pairwise, room, me, to, nonces);
        send_frame(Some(to), &Payload::new(Envelope::SenderKey(sealed)))
    }

    fn process(
        &mut self,
        seq: u64,
        from: MemberId,
        directed: bool,
        payload: Payload,
        out: &mut Vec<Output>,
    ) -> Processed {
        match payload.envelope {
            Envelope::Announce(ref a) => {
                self.on_announce(from, directed, a, out);
                Processed::Done
            }
            Envelope::SenderKey(ref k) => {
                if self.on_sender_key(from, directed, k, out) {
                    Processed::Done
                } else {
                    Processed::Wait(payload)
                }
            }
            Envelope::Message(ref m) => {
                if self.on_message(seq, from, m, out) {
                    Processed::Done
                } else {
                    Processed::Wait(payload)
                }
            }
        }
    }

    fn on_announce(
        &mut self,
        from: MemberId,
        directed: bool,
        sealed: &SealedAnnounce,
        out: &mut Vec<Output>,
    ) {
        let (Some(s), Some(me)) = (self.secrets.as_mut(), self.me) else {
            return;
        };
        let Ok(ann) = announce::open(sealed, &s.announce_key, &self.room, from) else {
            out.push(warning(Some(from), WARN_ANNOUNCE));
            return;
        };
        if from == me {
            if ann.public != s.keys.public() {
                out.push(warning(Some(from), WARN_KEY_CHANGE));
            }
            return; // our own announcement, echoed
        }
        let hello = ann.kind == AnnounceKind::Hello && !directed;
        if let Some(m) = s.members.get_mut(&from) {
            if ann.public != m.public {
                out.push(warning(Some(from), WARN_KEY_CHANGE));
                return;
            }
            if ann.counter < m.counter || (ann.counter == m.counter && ann.nick != m.nick) {
                out.push(warning(Some(from), "An old member announcement was replayed and ignored. The relay may be misbehaving."));
                return;
            }
            if ann.counter > m.counter {
                m.counter = ann.counter;
                if ann.nick != m.nick {
                    let old = core::mem::replace(&mut m.nick, ann.nick.clone());
                    out.push(Output::Event(SessionEvent::NickChanged {
                        member: from,
                        old,
                        new: ann.nick,
                    }));
                }
            }
            if hello {
                // The member reconnected: it may have missed our latest chain.
                let m = &s.members[&from];
                let chain = s.send_chain.state();
                let frame =
                    Self::sender_key_frame(chain, &mut s.nonces, &m.pairwise, &self.room, me, from);
                out.push(frame);
            }
            return;
        }
        let Ok(pairwise) = s.keys.pairwise_key(&ann.public, &self.room) else {
            out.push(warning(Some(from), WARN_ANNOUNCE));
            return;
        };
        let fingerprint = ann.public.fingerprint();
        self.connected.insert(from);
        out.push(Output::Event(SessionEvent::MemberJoined {
            member: from,
            nick: ann.nick.clone(),
            fingerprint: fingerprint.clone(),
        }));
        if hello {
            // Introduce ourselves to the newcomer, reusing our current counter.
            let reply = announce::seal(
                &s.keys,
                &s.announce_key,
                &self.room,
                me,
                &self.nick,
                self.announce_counter,
                AnnounceKind::Update,
                &mut s.nonces,
            );
            out.push(send_frame(
                Some(from),
                &Payload::new(Envelope::Announce(reply)),
            ));
        }
        let chain = s.send_chain.state();
        let frame = Self::sender_key_frame(chain, &mut s.nonces, &pairwise, &self.room, me, from);
        out.push(frame);
        s.members.insert(
            from,
            Member {
                public: ann.public,
                nick: ann.nick,
                counter: ann.counter,
                fingerprint,
                pairwise,
                chains: Vec::new(),
            },
        );
    }

    /// Returns false when the sender is not verified yet (wait for its announcement).
    fn on_sender_key(
        &mut self,
        from: MemberId,
        directed: bool,
        sealed: &SealedSenderKey,
        out: &mut Vec<Output>,
    ) -> bool {
        let (Some(s), Some(me)) = (self.secrets.as_mut(), self.me) else {
            return true;
        };
        if !directed {
            out.push(warning(Some(from), WARN_FORGED));
            return true;
        }
        let Some(m) = s.members.get_mut(&from) else {
            return false;
        };
        let Ok(state) = sender::open_chain_state(sealed, &m.pairwise, &self.room, from, me) else {
            out.push(warning(Some(from), WARN_FORGED));
            return true;
        };
        if m.chains.iter().any(|c| c.epoch() == state.epoch) {
            return true; // a resend after a reconnect: the chain we hold reads as much
        }
        if m.chains.len() >= EPOCHS_KEPT && m.chains.iter().all(|c| c.epoch() > state.epoch) {
            return true; // older than everything kept
        }
        m.chains.push(ReceiveChain::new(state));
        m.chains.sort_by_key(|c| c.epoch());
        while m.chains.len() > EPOCHS_KEPT {
            m.chains.remove(0);
        }
        true
    }

    /// Returns false when the message must wait for keys.
    fn on_message(
        &mut self,
        seq: u64,
        from: MemberId,
        sealed: &SealedMessage,
        out: &mut Vec<Output>,
    ) -> bool {
        let (Some(s), Some(me)) = (self.secrets.as_mut(), self.me) else {
            return true;
        };
        if from == me {
            match s.own_pending.entry((sealed.epoch, sealed.counter)) {
                Entry::Occupied(own) if own.get().sealed == *sealed => {
                    let own = own.remove();
                    out.push(Output::Event(SessionEvent::Message {
                        from: me,
                        nick: self.nick.clone(),
                        text: own.text.to_string(),
                        sent_at_ms: own.sent_at_ms,
                        own: true,
                        seq,
                    }));
                }
                Entry::Occupied(_) => out.push(warning(Some(from), WARN_FORGED)),
                // Not pending: a replay of a message already echoed, or one this member
                // never sent. Only its own signature can tell which.
                Entry::Vacant(_) => {
                    let forged = sealed.verify(&self.room, me, &s.keys.public()).is_err();
                    let warn = if forged { WARN_FORGED } else { WARN_REPLAY };
                    out.push(warning(Some(from), warn));
                }
            }
            return true;
        }
        let Some(m) = s.members.get_mut(&from) else {
            return false;
        };
        if sealed.verify(&self.room, from, &m.public).is_err() {
            out.push(warning(Some(from), WARN_FORGED));
            return true;
        }
        let Some(chain) = m.chains.iter_mut().find(|c| c.epoch() == sealed.epoch) else {
            if m.chains.first().is_some_and(|c| c.epoch() > sealed.epoch) {
                out.push(Output::Event(SessionEvent::Undecryptable { from, seq }));
                return true;
            }
            return false; // the chain for this epoch is on its way
        };
        // One sender's messages reach the relay over one ordered connection and keep
        // that order in the room's sequence, so an older counter after a newer one
        // means the relay reordered them.
        let late = sealed.counter < chain.next_counter();
        let plain = match chain.open(sealed, &self.room, from) {
            Ok(plain) => plain,
            Err(CryptoError::KeyUnavailable) => {
                out.push(Output::Event(SessionEvent::Undecryptable { from, seq }));
                return true;
            }
            Err(CryptoError::Replay) => {
                out.push(warning(Some(from), WARN_REPLAY));
                return true;
            }
            Err(_) => {
                out.push(warning(Some(from), WARN_FORGED));
                return true;
            }
        };
        if late {
            out.push(warning(Some(from), WARN_REORDERED));
        }
        match padding::unpad(&plain).and_then(Plaintext::decode) {
            Ok(Plaintext {
                sent_at_ms,
                content: Content::Text { body },
            }) => out.push(Output::Event(SessionEvent::Message {
                from,
                nick: m.nick.clone(),
                text: body,
                sent_at_ms,
                own: false,
                seq,
            })),
            // Authentic but not understood: a newer client's content kind.
            Err(_) => out.push(Output::Event(SessionEvent::Undecryptable { from, seq })),
        }
        true
    }
}
