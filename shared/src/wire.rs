//! The relay protocol: the outer frames that travel between a client and the relay
//! over one WebSocket, as binary messages encoded with `postcard`.
//!
//! This is everything the relay can see. Payloads are opaque ciphertext made by the
//! `crypto` module; the relay routes them by room and recipient, stamps a per-room
//! sequence number, buffers a bounded number of them for catch-up and forgets them when
//! the room ends.
//!
//! Frames borrow their payload from the buffer they were decoded from, so the relay
//! copies each payload once (into the frame it fans out), never once per recipient.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Version of the relay protocol. A client announces it in its first frame; the relay
/// refuses versions it does not speak with [`ErrorCode::UnsupportedVersion`].
pub const PROTOCOL_VERSION: u16 = 4;

/// Path of the WebSocket endpoint on the relay.
pub const WS_PATH: &str = "/ws";

/// A room's public identifier: 16 bytes derived from the room secret (see PROTOCOL.md),
/// so the relay learns nothing about the secret from it and two rooms never collide.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RoomId(
    /// The bytes, public so the crypto module can derive them and the relay can name
    /// Redis keys after them; they are not secret.
    pub [u8; 16],
);

impl RoomId {
    /// Lower-case hex, as used in Redis keys and (when an operator asks for it) logs.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl core::fmt::Debug for RoomId {
    // A room id is not a secret, but it identifies a conversation: print a prefix only,
    // so an accidental `{:?}` in a log line cannot link log lines to a room.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "RoomId({}…)", &self.to_hex()[..4])
    }
}

/// A member's identifier inside one room, chosen by the relay at random when the member
/// joins. It is stable across reconnects of the same member (see [`Resume`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
pub struct MemberId(
    /// The number: random, so ids say nothing about the order or count of members.
    pub u64,
);

/// Proof of a member's right to take back its [`MemberId`] after a dropped connection.
/// The relay hands it out in [`ServerFrame::Welcome`]; it is not a room secret.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResumeToken(
    /// 128 random bits: unguessable, so only the member it was given to can resume.
    pub [u8; 16],
);

impl ResumeToken {
    /// Compares in constant time.
    pub fn matches(&self, other: &ResumeToken) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

/// The secret that gives host powers (terminate, kick, lock). The creator makes it at
/// random and keeps it; the relay stores only its [`HostHash`].
#[derive(Clone, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct HostSecret(
    /// 256 random bits the creator keeps; zeroized on drop.
    pub [u8; 32],
);

impl HostSecret {
    /// The hash the relay stores at creation and compares against later.
    pub fn hash(&self) -> HostHash {
        let mut h = Sha256::new();
        h.update(b"vroom/v1/host-secret");
        h.update(self.0);
        HostHash(h.finalize().into())
    }
}

/// SHA-256 of a [`HostSecret`] under a domain label. Compared in constant time.
#[derive(Clone, Copy, Serialize, Deserialize)]
pub struct HostHash(
    /// The digest the relay stores: enough to check a secret, useless to forge one.
    pub [u8; 32],
);

impl HostHash {
    /// Whether `secret` is the secret this hash was made from (constant time).
    pub fn verify(&self, secret: &HostSecret) -> bool {
        self.0.ct_eq(&secret.hash().0).into()
    }
}

/// What admits a newcomer to a room whose host renewed its invitation (PROTOCOL.md
/// §11.4): derived by clients from the room secret and the room's current pass, shown
/// to the relay in [`ClientFrame::JoinProved`]. The relay keeps only its
/// [`JoinProofHash`].
#[derive(Clone, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct JoinProof(
    /// 256 bits derived from the room secret and pass; zeroized on drop.
    pub [u8; 32],
);

impl JoinProof {
    /// The hash the host hands the relay ([`ClientFrame::Rotate`]) and the relay
    /// compares a newcomer's proof against.
    pub fn hash(&self) -> JoinProofHash {
        let mut h = Sha256::new();
        h.update(b"vroom/v2/join-proof-hash");
        h.update(self.0);
        JoinProofHash(h.finalize().into())
    }
}

/// SHA-256 of a [`JoinProof`] under a domain label. Compared in constant time.
#[derive(Clone, Copy, Serialize, Deserialize)]
pub struct JoinProofHash(
    /// The digest the relay stores: enough to check a proof, useless to make one.
    pub [u8; 32],
);

impl JoinProofHash {
    /// Whether `other` is the same hash (constant time).
    pub fn matches(&self, other: &JoinProofHash) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl core::fmt::Debug for JoinProofHash {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("JoinProofHash(…)")
    }
}

/// Settings a creator asks for. The relay caps each at its own configured maximum and
/// reports the values in force in [`ServerFrame::Welcome`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomSettings {
    /// Most members at once; `None` takes the relay's default.
    pub max_members: Option<u32>,
    /// Seconds without a relayed message after which the room is deleted.
    pub idle_timeout_secs: Option<u32>,
    /// Seconds after creation after which the room is deleted whatever happens.
    pub max_lifetime_secs: Option<u32>,
}

/// The limits and timers in force for a room, as the relay reports them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomLimits {
    /// Most members at once, so clients can say why a join was refused.
    pub max_members: u32,
    /// Seconds without a relayed message after which the room is deleted, so clients
    /// can warn before it happens.
    pub idle_timeout_secs: u32,
    /// Seconds after creation after which the room is deleted, so clients can show
    /// when it ends.
    pub max_lifetime_secs: u32,
    /// Seconds a room survives with no member connected (a page reload fits in it).
    pub grace_secs: u32,
    /// Largest payload of one [`ClientFrame::Send`], in bytes.
    pub max_payload: u32,
    /// Largest file a client should offer to send, in bytes (enforced by clients,
    /// shown to users before they send).
    pub max_file: u64,
}

/// A returning member's claim to its old identity and the point it had read up to.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resume {
    /// The identity to take back, so the other members see the same member return.
    pub member: MemberId,
    /// The proof that it is this client's identity.
    pub token: ResumeToken,
}

/// Every frame a client may send. The first frame on a socket must be `Create` or
/// `Join`; every other frame is refused until then.
#[derive(Serialize, Deserialize)]
pub enum ClientFrame<'a> {
    /// Create a room and join it as its host.
    Create {
        /// The client's [`PROTOCOL_VERSION`], so the relay can refuse one it does not
        /// speak before reading anything else.
        version: u16,
        /// The id the creator derived from the room secret.
        room: RoomId,
        /// What the relay keeps to recognise the host later, instead of the secret.
        host: HostHash,
        /// The limits the creator asks for (capped by the relay).
        settings: RoomSettings,
    },
    /// Join an existing room. `resume` reclaims an identity after a dropped connection;
    /// `after` asks for buffered events with a larger sequence number first.
    Join {
        /// The client's [`PROTOCOL_VERSION`] (see `Create`).
        version: u16,
        /// The id the member derived from the invite's secret.
        room: RoomId,
        /// An earlier identity to take back after a dropped connection.
        resume: Option<Resume>,
        /// The last sequence number the client has seen, to catch up from there.
        after: Option<u64>,
    },
    /// Relay an opaque payload to every member (`to: None`, the sender included) or to
    /// one member.
    Send {
        /// The one recipient of a directed payload (a key distribution); `None` for
        /// everyone.
        to: Option<MemberId>,
        /// The ciphertext, borrowed from the received message so it is copied once.
        #[serde(borrow, with = "serde_bytes")]
        payload: &'a [u8],
    },
    /// Ask again for buffered events with a sequence number greater than `after`.
    Fetch {
        /// The last sequence number the client has seen.
        after: u64,
    },
    /// Host: stop (or allow again) new joins.
    Lock {
        /// Proof of host powers.
        secret: HostSecret,
        /// Whether joins stop (`true`) or are allowed again.
        locked: bool,
    },
    /// Host: disconnect a member; everyone is told and rekeys.
    Kick {
        /// Proof of host powers.
        secret: HostSecret,
        /// The member to remove.
        member: MemberId,
    },
    /// Host: delete the room now; everyone is told.
    Terminate {
        /// Proof of host powers.
        secret: HostSecret,
    },
    /// Leave the room for good (no grace period for this member).
    Leave,
    /// A packet of the chunk lane (file chunks and their acknowledgements), relayed to
    /// every other member (`to: None`) or to one, without a sequence number: never
    /// buffered for catch-up, dropped for a member whose lane is full, counted against
    /// the connection's byte budget rather than its request rate (PROTOCOL.md §12).
    Stream {
        /// The one recipient; `None` for every member but the sender.
        to: Option<MemberId>,
        /// The packet, opaque to the relay.
        #[serde(borrow, with = "serde_bytes")]
        payload: &'a [u8],
    },
    /// Member: ask for a nameplate for a short code (PROTOCOL.md §11.2). The relay
    /// answers [`ServerFrame::CodeOffered`], or [`ServerFrame::CodeRefused`] with
    /// nameplate 0 when the room has as many live codes as the relay allows.
    CodeOffer,
    /// Member: withdraw one of its nameplates; joiners are then told it is unknown.
    CodeRevoke {
        /// The nameplate the relay handed out.
        nameplate: u32,
    },
    /// Member: its client counted too many failed exchanges on this nameplate; joiners
    /// are then told it is burned.
    CodeBurn {
        /// The nameplate the relay handed out.
        nameplate: u32,
    },
    /// Joiner (a connection in no room): open an exchange with the member who offered
    /// `nameplate`, carrying SPAKE2's first message. The relay relays it to that member
    /// in [`ServerFrame::CodeMessage`], or answers [`ServerFrame::CodeRefused`].
    CodeOpen {
        /// The client's [`PROTOCOL_VERSION`].
        version: u16,
        /// The number part of the typed code.
        nameplate: u32,
        /// SPAKE2's first message (the joiner's hello), opaque to the relay.
        #[serde(borrow, with = "serde_bytes")]
        hello: &'a [u8],
    },
    /// Either side of an exchange: its next message, relayed to the other side.
    CodeSend {
        /// The exchange, as the relay numbered it in [`ServerFrame::CodeMessage`].
        exchange: u64,
        /// The message, opaque to the relay.
        #[serde(borrow, with = "serde_bytes")]
        payload: &'a [u8],
    },
    /// Host: from now on admit newcomers only with the [`JoinProof`] whose hash this
    /// is (sent after a kick, PROTOCOL.md §11.4). Resuming members are not asked for it.
    /// The host's word always sets the proof and its number, whatever number the relay
    /// held (it replaces a moderator's possibly wrong one).
    Rotate {
        /// Proof of host powers.
        secret: HostSecret,
        /// The hash of the room's new join proof.
        proof: JoinProofHash,
        /// The renewal number of the pass whose proof this is (the room record's
        /// `renewal`).
        renewal: u32,
    },
    /// `Join` with the proof a room whose host renewed its invitation asks for. The
    /// relay refuses a newcomer whose proof is not the room's current one (or who has
    /// none, once the room has one) with [`ErrorCode::InviteChanged`].
    JoinProved {
        /// As in `Join`.
        version: u16,
        /// As in `Join`.
        room: RoomId,
        /// As in `Join`.
        resume: Option<Resume>,
        /// As in `Join`.
        after: Option<u64>,
        /// The proof derived from the room secret and the room's current pass.
        proof: JoinProof,
    },
    /// Host: give the relay's host seat to another member (PROTOCOL.md §7.6). The
    /// presented secret stops working at once; the seat waits for `to`'s
    /// [`ClientFrame::ClaimHost`], and everyone is told ([`Event::HostChanged`]).
    HandOver {
        /// Proof of host powers.
        secret: HostSecret,
        /// The member the group made host.
        to: MemberId,
    },
    /// Take the relay's host seat with a fresh secret of this member's own: accepted
    /// from the member a hand-over named, or from anyone once the host's place is gone
    /// (the group decides who the host is; the relay only follows, §7.6).
    ClaimHost {
        /// Hash of the claimant's fresh host secret.
        host: HostHash,
    },
    /// Host: the most members the room lets in, at most the relay's own limit
    /// (PROTOCOL.md §7.6); 0 lifts the host's cap. Joins past it are refused (`Full`).
    SetCap {
        /// Proof of host powers.
        secret: HostSecret,
        /// The cap; 0 for none.
        max_members: u32,
    },
    /// Host: make a member a moderator (`on`) or take that back (PROTOCOL.md §7.6).
    /// A moderator may send [`ClientFrame::ModeratorKick`] and
    /// [`ClientFrame::ModeratorLock`]; it stops being one when its place ends. No event.
    SetModerator {
        /// Proof of host powers.
        secret: HostSecret,
        /// The member.
        member: MemberId,
        /// Moderator from now on, or not.
        on: bool,
    },
    /// Moderator: disconnect a member, as `Kick` does; never the host seat's member nor
    /// another moderator. The kick's commit renewed the invitation (PROTOCOL.md §11.4):
    /// the relay takes `proof` as the room's join proof hash in the same step, and only
    /// when it takes the kick and `renewal` is above the number of the proof it holds
    /// (a late kick of an older renewal does not set an older proof back).
    ModeratorKick {
        /// The member to remove.
        member: MemberId,
        /// The hash of the join proof of the pass the kick's commit made.
        proof: JoinProofHash,
        /// The renewal number of that pass (the room record's `renewal` the kick's
        /// commit set).
        renewal: u32,
    },
    /// Moderator: refuse or allow new joins, as `Lock` does.
    ModeratorLock {
        /// Whether new joins are refused.
        locked: bool,
    },
}

/// Why the relay refused a short-code request (PROTOCOL.md §11.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CodeRefusal {
    /// No live code has this nameplate (never handed out, revoked, or its room ended).
    Unknown,
    /// The code's time ran out.
    Expired,
    /// The code failed too often, or was used for as many exchanges as the relay
    /// allows, and admits nobody any more.
    Burned,
    /// The member who made the code is not connected now.
    Offline,
    /// (To a member asking for a code) the room has as many live codes as the relay
    /// allows.
    TooMany,
}

impl CodeRefusal {
    /// A sentence for the user that says what happened and what to do.
    pub fn message(self) -> &'static str {
        match self {
            CodeRefusal::Unknown => {
                "There is no such code. It may be mistyped, revoked, or its room may have \
                 ended. Check it, or ask for a new code."
            }
            CodeRefusal::Expired => "This code has expired. Ask for a new code.",
            CodeRefusal::Burned => {
                "This code no longer works (it was used or guessed at too often). Ask for a \
                 new code."
            }
            CodeRefusal::Offline => {
                "The person who made this code is not connected right now. Ask them to \
                 reconnect, or for a new code."
            }
            CodeRefusal::TooMany => {
                "This room has as many live codes as the relay allows. Revoke one, or \
                 wait for one to expire."
            }
        }
    }
}

/// Every frame the relay may send.
#[derive(Debug, Serialize, Deserialize)]
pub enum ServerFrame<'a> {
    /// The answer to a successful `Create` or `Join`.
    Welcome {
        /// This member's id.
        you: MemberId,
        /// Keep it to reclaim `you` after a dropped connection.
        resume: ResumeTokenDebug,
        /// The host's member id.
        host: MemberId,
        /// Every member connected now, `you` included.
        members: Vec<MemberId>,
        /// Sequence number of the last event before this member's own `Joined`.
        seq: u64,
        /// Whether the room takes no new members, so the client can show it.
        locked: bool,
        /// The limits in force, so the client can keep to them and show them.
        limits: RoomLimits,
    },
    /// One sequenced event. Every member receives the events meant for it in one order,
    /// ascending by `seq`; numbers may skip events meant for others.
    Event {
        /// The event's place in the room's one order: clients detect gaps and ask
        /// for catch-up after it.
        seq: u64,
        /// What happened.
        #[serde(borrow)]
        event: Event<'a>,
    },
    /// Catch-up could not return everything asked for: events `from..=to` have left the
    /// buffer. Sent before the events that follow them.
    Gap {
        /// The first sequence number lost.
        from: u64,
        /// The last sequence number lost.
        to: u64,
    },
    /// All buffered events up to `seq` have been sent; live events follow.
    CaughtUp {
        /// The last sequence number the catch-up covered.
        seq: u64,
    },
    /// A request failed. The socket stays open unless a [`ServerFrame::Closed`] follows.
    Error {
        /// What went wrong, as a code clients turn into a sentence.
        code: ErrorCode,
    },
    /// The room is gone for this member (or the relay is going away); the socket closes.
    Closed {
        /// Why, so the client can tell the user and decide whether to reconnect.
        reason: CloseReason,
    },
    /// A packet of the chunk lane from another member (see [`ClientFrame::Stream`]).
    /// Not sequenced and not replayed: a member that was away gets none of it.
    Stream {
        /// The sender, stamped by the relay.
        from: MemberId,
        /// The one recipient of a directed packet; `None` for every member but `from`.
        to: Option<MemberId>,
        /// The packet, opaque to the relay.
        #[serde(borrow, with = "serde_bytes")]
        payload: &'a [u8],
    },
    /// The answer to [`ClientFrame::CodeOffer`]: the nameplate of the member's new code.
    CodeOffered {
        /// The number that starts the code; the words are the member's client's own.
        nameplate: u32,
        /// Seconds until the relay forgets the nameplate.
        expires_secs: u32,
    },
    /// A message of a short-code exchange from the other side. To a member, the first
    /// message of a new `exchange` is a joiner's hello for `nameplate`.
    CodeMessage {
        /// The exchange, numbered by the relay (random).
        exchange: u64,
        /// The nameplate the exchange is on.
        nameplate: u32,
        /// The message, opaque to the relay.
        #[serde(borrow, with = "serde_bytes")]
        payload: &'a [u8],
    },
    /// A short-code request was refused.
    CodeRefused {
        /// The nameplate asked about (0 for a refused [`ClientFrame::CodeOffer`]).
        nameplate: u32,
        /// Why.
        reason: CodeRefusal,
    },
}

/// [`ResumeToken`] inside a frame that derives `Debug`: printed without its bytes.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ResumeTokenDebug(
    /// The token itself, which the client needs to keep.
    pub ResumeToken,
);

impl core::fmt::Debug for ResumeTokenDebug {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("ResumeToken(…)")
    }
}

/// Something that happened in a room, in the room's one order.
#[derive(Debug, Serialize, Deserialize)]
pub enum Event<'a> {
    /// A member connected (also sent when a member resumes after its grace ran out).
    Joined {
        /// Who arrived, so others distribute their keys to it.
        member: MemberId,
    },
    /// A member is gone: it left, was kicked, or its connection dropped and did not
    /// come back within the grace period.
    Left {
        /// Who left, so others stop sending to it and rekey.
        member: MemberId,
        /// Why, so clients can say so.
        reason: LeaveReason,
    },
    /// A relayed payload. `to` is `None` for a broadcast.
    Message {
        /// The sender, stamped by the relay from the connection the payload came on
        /// (a `Send` names no sender), so receivers know whose keys to use.
        from: MemberId,
        /// The one recipient of a directed payload; `None` for a broadcast.
        to: Option<MemberId>,
        /// The ciphertext, opaque to the relay.
        #[serde(borrow, with = "serde_bytes")]
        payload: &'a [u8],
    },
    /// The host locked or unlocked the room.
    Locked {
        /// Whether joins are stopped now.
        locked: bool,
    },
    /// The relay's host seat moved to this member (a hand-over, or a claim after the
    /// host's place ended). The relay's word only: members check it against the group.
    HostChanged {
        /// The member holding (or about to claim) the seat.
        host: MemberId,
    },
}

/// Why a member left.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LeaveReason {
    /// The member asked to leave.
    Left,
    /// The host removed the member.
    Kicked,
    /// The member's connection dropped and it did not come back within the grace.
    Disconnected,
}

/// Why the relay closed the room (or this member's place in it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CloseReason {
    /// The host terminated the room.
    Terminated,
    /// Nobody sent anything for the idle timeout.
    IdleTimeout,
    /// The room reached its maximum lifetime.
    MaxLifetime,
    /// The host removed this member.
    Kicked,
    /// This member asked to leave.
    Left,
    /// The relay is shutting down; reconnect to another instance or later.
    GoingAway,
    /// The relay lost the room's storage (its database restarted without its data):
    /// the room is gone for everyone.
    StorageLost,
    /// The other members took this member out of the room's group without the host
    /// kicking it (its connection was gone too long, or it rejoined elsewhere).
    Removed,
}

impl CloseReason {
    /// A sentence for the user.
    pub fn message(self) -> &'static str {
        match self {
            CloseReason::Terminated => {
                "The host ended this room. Everything in it has been deleted."
            }
            CloseReason::IdleTimeout => {
                "This room was deleted because nobody wrote anything for too long."
            }
            CloseReason::MaxLifetime => "This room reached its maximum lifetime and was deleted.",
            CloseReason::Kicked => "The host or a moderator removed you from this room.",
            CloseReason::Left => "You left the room.",
            CloseReason::GoingAway => "The relay is restarting. Reconnect in a moment to carry on.",
            CloseReason::StorageLost => {
                "The relay lost this room's storage (its database restarted), so the room \
                 and everything in it are gone. Create a new room to carry on."
            }
            CloseReason::Removed => {
                "The other members took you out of the room, most likely because your \
                 connection was gone for too long. Open the invite link again to rejoin."
            }
        }
    }

    /// Whether the room itself is gone (as opposed to this member's place in it).
    pub fn room_ended(self) -> bool {
        matches!(
            self,
            CloseReason::Terminated
                | CloseReason::IdleTimeout
                | CloseReason::MaxLifetime
                | CloseReason::StorageLost
        )
    }
}

/// Why a request failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorCode {
    /// No room has this id (it never existed, or it ended).
    UnknownRoom,
    /// `Create` named a room that already exists.
    RoomExists,
    /// The host locked the room against new members.
    Locked,
    /// The room has as many members as it allows.
    Full,
    /// The host secret did not match.
    BadHostSecret,
    /// A payload was larger than the room's `max_payload`.
    FrameTooLarge,
    /// A frame could not be decoded.
    MalformedFrame,
    /// The client speaks another protocol version.
    UnsupportedVersion,
    /// `Create` or `Join` was expected first, or came twice.
    UnexpectedFrame,
    /// The client sent too much too fast; the frame was dropped.
    RateLimited,
    /// The named member is not in the room.
    UnknownMember,
    /// `Resume` named an identity that is not this client's (or has expired).
    ResumeRefused,
    /// The relay's store is unreachable; try again shortly.
    Unavailable,
    /// The host renewed the room's invitation (after removing someone): the link, code
    /// or passphrase this newcomer used no longer admits anyone.
    InviteChanged,
}

impl ErrorCode {
    /// A sentence for the user that says what happened and what to do.
    pub fn message(self) -> &'static str {
        match self {
            ErrorCode::UnknownRoom => {
                "This room does not exist. It may have ended; ask for a new invite."
            }
            ErrorCode::RoomExists => "A room with this id already exists. Create a new room.",
            ErrorCode::Locked => "The host has locked this room. Ask the host to unlock it.",
            ErrorCode::Full => "This room is full. Ask the host to make room or raise the limit.",
            ErrorCode::BadHostSecret => "Only the host can do that.",
            ErrorCode::FrameTooLarge => "That is too large to send in this room.",
            ErrorCode::MalformedFrame => {
                "The relay could not read what this client sent. Update or reload the client."
            }
            ErrorCode::UnsupportedVersion => {
                "This client is too old or too new for this relay. Update or reload it."
            }
            ErrorCode::UnexpectedFrame => {
                "The client sent a request out of order. Reload or restart it."
            }
            ErrorCode::RateLimited => "You are sending too fast. Wait a moment and try again.",
            ErrorCode::UnknownMember => "That member is no longer in the room.",
            ErrorCode::ResumeRefused => "Your earlier place in this room has expired. Join again.",
            ErrorCode::Unavailable => {
                "The relay is having trouble reaching its storage. Try again in a moment."
            }
            ErrorCode::InviteChanged => {
                "This invitation no longer works: the host renewed the room's invite after \
                 removing someone. Ask a member of the room for the current link or a new code."
            }
        }
    }
}

/// Encoding or decoding a frame failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeError;

impl core::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("malformed frame")
    }
}

impl std::error::Error for DecodeError {}

impl<'a> ClientFrame<'a> {
    /// Encodes the frame for a WebSocket binary message.
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("encoding into a Vec cannot fail")
    }

    /// Decodes a frame, borrowing its payload from `bytes`. Trailing bytes are refused.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        decode_exact(bytes)
    }
}

impl<'a> ServerFrame<'a> {
    /// Encodes the frame for a WebSocket binary message.
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("encoding into a Vec cannot fail")
    }

    /// Decodes a frame, borrowing its payload from `bytes`. Trailing bytes are refused.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        decode_exact(bytes)
    }
}

impl<'a> Event<'a> {
    /// Encodes the event alone, without a sequence number: how a store that numbers
    /// events elsewhere (the Redis store's scripts) keeps and passes it around. The
    /// frame a client gets is `ServerFrame::Event { seq, event }`, encoded in one piece.
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("encoding into a Vec cannot fail")
    }

    /// Decodes an event made by [`Event::encode`], borrowing its payload from `bytes`.
    /// Trailing bytes are refused.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        decode_exact(bytes)
    }
}

fn decode_exact<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, DecodeError> {
    match postcard::take_from_bytes(bytes) {
        Ok((value, [])) => Ok(value),
        _ => Err(DecodeError),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_frame_has_a_stable_encoding() {
        // Golden bytes: variant 2 (Send), Some(member 7), payload length 3, payload.
        let frame = ClientFrame::Send {
            to: Some(MemberId(7)),
            payload: b"abc",
        };
        assert_eq!(frame.encode(), [2, 1, 7, 3, b'a', b'b', b'c']);
        match ClientFrame::decode(&frame.encode()).unwrap() {
            ClientFrame::Send { to, payload } => {
                assert_eq!(to, Some(MemberId(7)));
                assert_eq!(payload, b"abc");
            }
            _ => panic!("decoded into another variant"),
        }
    }

    #[test]
    fn rotate_and_moderator_kick_end_with_the_renewal_number() {
        // Golden bytes: variant 14 (Rotate), the secret's 32 bytes, the proof hash's 32
        // bytes, then the renewal number as a varint (300 = ac 02).
        let rotate = ClientFrame::Rotate {
            secret: HostSecret([1; 32]),
            proof: JoinProofHash([2; 32]),
            renewal: 300,
        }
        .encode();
        let mut expected = vec![14];
        expected.extend([1; 32]);
        expected.extend([2; 32]);
        expected.extend([0xac, 0x02]);
        assert_eq!(rotate, expected);
        let Ok(ClientFrame::Rotate { renewal, .. }) = ClientFrame::decode(&rotate) else {
            panic!("decoded into another variant");
        };
        assert_eq!(renewal, 300);
        // Variant 20 (ModeratorKick), the member as a varint (5), the proof hash's 32
        // bytes, then the renewal number (u32::MAX = ff ff ff ff 0f).
        let kick = ClientFrame::ModeratorKick {
            member: MemberId(5),
            proof: JoinProofHash([3; 32]),
            renewal: u32::MAX,
        }
        .encode();
        let mut expected = vec![20, 5];
        expected.extend([3; 32]);
        expected.extend([0xff, 0xff, 0xff, 0xff, 0x0f]);
        assert_eq!(kick, expected);
        let Ok(ClientFrame::ModeratorKick { renewal, .. }) = ClientFrame::decode(&kick) else {
            panic!("decoded into another variant");
        };
        assert_eq!(renewal, u32::MAX);
        // A frame without the number is refused, one cut in it too.
        for cut in [kick.len() - 5, kick.len() - 1] {
            assert!(ClientFrame::decode(&kick[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn event_frame_round_trips_and_borrows_its_payload() {
        let frame = ServerFrame::Event {
            seq: 300,
            event: Event::Message {
                from: MemberId(1),
                to: None,
                payload: &[9; 40],
            },
        };
        let bytes = frame.encode();
        let ServerFrame::Event {
            seq,
            event: Event::Message { payload, .. },
        } = ServerFrame::decode(&bytes).unwrap()
        else {
            panic!("decoded into another variant");
        };
        assert_eq!(seq, 300);
        assert_eq!(payload, &[9; 40]);
        let start = payload.as_ptr() as usize - bytes.as_ptr() as usize;
        assert!(
            start < bytes.len(),
            "payload must point into the input buffer"
        );
    }

    #[test]
    fn an_event_encoded_alone_makes_the_same_frame() {
        let event = Event::Message {
            from: MemberId(3),
            to: Some(MemberId(4)),
            payload: b"xyz",
        };
        let alone = event.encode();
        let Ok(decoded @ Event::Message { payload, .. }) = Event::decode(&alone) else {
            panic!("decoded into another variant");
        };
        assert_eq!(payload, b"xyz");
        let frame = ServerFrame::Event {
            seq: 300,
            event: decoded,
        }
        .encode();
        assert!(frame.ends_with(&alone));
        let mut trailing = alone.clone();
        trailing.push(0);
        assert!(Event::decode(&trailing).is_err());
    }

    #[test]
    fn trailing_bytes_and_garbage_are_refused() {
        let mut bytes = ClientFrame::Leave.encode();
        bytes.push(0);
        assert_eq!(ClientFrame::decode(&bytes).err(), Some(DecodeError));
        assert_eq!(ClientFrame::decode(&[0xff, 0xff]).err(), Some(DecodeError));
        assert_eq!(ClientFrame::decode(&[]).err(), Some(DecodeError));
    }

    #[test]
    fn host_hash_accepts_only_its_secret() {
        let secret = HostSecret([5; 32]);
        let hash = secret.hash();
        assert!(hash.verify(&HostSecret([5; 32])));
        assert!(!hash.verify(&HostSecret([6; 32])));
    }
}
