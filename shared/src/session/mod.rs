//! A sans-I/O room session (protocol version 2): the state machine both clients (the
//! native CLI and the web app) drive. It turns relay frames into user events and user
//! actions into frames; it owns every key, so a UI never touches key bytes.
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
//! // user actions return frames the same way, and so does the clock (call it about
//! // once a second; it lets a member take over a commit another did not make):
//! let outputs = session.send_text("hello", 1_700_000_000_000).unwrap();
//! let outputs = session.tick(1_700_000_001_000);
//! ```
//!
//! - Messages are shown when the relay echoes them back, so everyone, the sender
//!   included, sees one order; the sender's copy has `own: true`. Every message has an
//!   authenticated id ([`MessageId`]) that every member computes alike.
//! - After a dropped connection, open a new socket and write [`Session::reconnect_frame`]:
//!   it reclaims this member's id and asks for what was missed; duplicates are dropped.
//! - When the room ends (or this member leaves, is kicked or removed) the session emits
//!   [`SessionEvent::Ended`] and forgets every key; later calls fail with
//!   [`ActionError::Ended`].
//!
//! # What happens underneath (PROTOCOL.md §9–§10 has the details)
//! The room is an MLS group (`crate::group`): the members, not the relay, agree on who
//! is in it and on every key. The creator makes the group. A newcomer seals a key
//! package under a key derived from the room secret and broadcasts it; the first member
//! in the committer order commits it and, once the commit has won the relay's order,
//! hands the newcomer its Welcome. A departure reported by the relay becomes a commit
//! that removes the member. Everything is processed in the relay's order; a commit
//! moves every member to the same epoch, whose safety code they can compare.
//!
//! The connection and the group are two states: `conn` (waiting for the relay's
//! welcome, or live) and [`Stage`] (waiting to be added, a member, or over); each
//! stage owns only the data valid in it.

mod codes;
mod direct;
pub mod driver;
mod duties;
pub mod envelope;
mod files;
mod history;
mod host;
pub use host::RETURN_WINDOW_MS;
mod moderators;
mod pace;
mod resume;
mod roster;
mod rotate;
mod talk;

pub use codes::{CodeJoin, CodeNotice, CodeStep, CODE_LOST, CODE_NO_ANSWER, EXCHANGE_TIMEOUT_MS};
pub use files::{OfferNotSent, Offered};

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use zeroize::Zeroizing;

pub use self::direct::LABEL_DIRECT;
pub use self::duties::{FALLBACK_MS, MAX_DUTIES};
pub use self::envelope::{Content, Envelope, HostAction, Presence, FORMAT, MAX_EMOJI_BYTES};
pub use self::history::{MAX_HISTORY, MAX_REACTIONS_PER_MEMBER};
pub use self::pace::{RECEIPT_DELAY_MS, TYPING_EXPIRE_MS, TYPING_IDLE_MS, TYPING_REFRESH_MS};
pub use self::resume::{encode_secret, Resumable, ResumableError};
pub use self::talk::ReactionCount;
pub use crate::group::{MessageId, SafetyCode};

use self::duties::{Duties, Duty};
use self::envelope::{
    join_key, open_key_package, rejoin_statement, seal_key_package, MAX_REJOIN_PROOFS,
};
use self::roster::{placeholder_nick, Attribution, Roster};
use crate::crypto::keys::{Join, Key};
use crate::crypto::{NonceRng, OsRng, RoomPass, RoomSecret};
use crate::files::FileOffer;
use crate::group::identity::{verify_rejoin, RejoinSigner};
use crate::group::{
    committer_order, my_turn, CommitKind, Group, GroupError, Identity, Incoming, Joiner,
    PublicIdentity,
};
use crate::invite::Invite;
use crate::wire::{
    ClientFrame, CloseReason, ErrorCode, Event, HostSecret, LeaveReason, MemberId, Resume, RoomId,
    RoomLimits, RoomSettings, ServerFrame, PROTOCOL_VERSION,
};
use serde_bytes::ByteBuf;

/// Most group messages a newcomer keeps while it waits for its Welcome (those that
/// follow the commit that adds it arrive before the Welcome does).
pub const MAX_BUFFERED: usize = 512;
/// Most own messages kept (in plaintext, in memory) until the relay echoes them.
pub const MAX_OWN_PENDING: usize = 1024;
/// Post-compromise security: a member commits fresh keys of its own after this many
/// sent messages (every application message counts)…
pub const UPDATE_AFTER_MESSAGES: u32 = 100;
/// …or this long after its last own commit, whichever comes first, while it sends.
pub const UPDATE_AFTER_MS: u64 = 10 * 60 * 1000;
/// Forward secrecy: an epoch in which any application message was sent or read ends
/// this long after it began, by an update from the first member in committer order
/// (the next one [`FALLBACK_MS`] later, and so on), whether or not anyone is sending.
/// The epoch's secrets, from which its messages' keys can be derived, live no longer.
pub const EPOCH_REFRESH_MS: u64 = 5 * 60 * 1000;
/// Longest nickname, in bytes, after cleaning.
pub const MAX_NICK_BYTES: usize = 64;
/// How long a newcomer waits to be added before it is told nobody has let it in yet
/// ([`SessionEvent::StillWaiting`]). A member online adds a newcomer within a second
/// or two, or within its committer-order delay when others should have.
pub const NOBODY_LET_IN_MS: u64 = 20_000;
/// Most bytes of group messages a newcomer buffers while it waits for its Welcome.
pub const MAX_BUFFERED_BYTES: usize = 16 * 1024 * 1024;
/// Most relay member ids the session tracks as connected or departed (the relay caps a
/// room far lower; this bounds what a lying relay can make a client hold).
pub(super) const MAX_TRACKED: usize = 4096;

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
    /// This member is in the room and can send: after a create, once a newcomer's
    /// Welcome is accepted, and after each reconnect.
    Ready {
        /// This member's id.
        me: MemberId,
        /// The host's id, per the relay.
        host: MemberId,
        /// Whether new joins are refused.
        locked: bool,
        /// The room's limits (show `max_file` before a user sends a file).
        limits: RoomLimits,
        /// True when a reconnect got the old identity back.
        resumed: bool,
    },
    /// The relay let this member in; an online member still has to add it to the
    /// group (it cannot send until [`SessionEvent::Ready`]).
    WaitingToBeAdded,
    /// Nobody has added this member for [`NOBODY_LET_IN_MS`] since it asked: the
    /// members may all be offline or have closed their app. It keeps waiting; say so,
    /// so that the user can decide to leave. Reported once per request to join.
    StillWaiting,
    /// A member is in the group (it sent its profile), with these keys.
    MemberJoined {
        /// Its id.
        member: MemberId,
        /// Its nickname.
        nick: String,
        /// Its safety words; compare them out of band to rule out a key substitution.
        fingerprint: String,
    },
    /// A member is no longer in the group.
    MemberLeft {
        /// Its id.
        member: MemberId,
        /// Its last nickname.
        nick: String,
        /// Why (as the relay reported it, or `Kicked` when the host or a moderator
        /// removed it after announcing it).
        reason: LeaveReason,
        /// The nickname of the moderator who kicked it (`None` when the host did, or
        /// when it was not a kick).
        moderator: Option<String>,
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
        /// The authenticated id every member computes alike (edits, replies and receipts
        /// refer to it).
        id: MessageId,
        /// The message this one replies to (show it quoted; it may be unknown to this
        /// member, for instance from before it joined).
        reply_to: Option<MessageId>,
        /// A `/me` action: show "nick text" rather than "nick: text".
        action: bool,
    },
    /// The group moved to a new epoch (someone joined, left or refreshed keys): the
    /// room-wide safety code changed. Members who read the same code share one room.
    SafetyCode {
        /// The epoch.
        epoch: u64,
        /// The code (words and colour strip: [`SafetyCode::words`], [`SafetyCode::strip`]).
        code: SafetyCode,
    },
    /// Something failed authentication or broke the protocol: a forged or altered
    /// message, a replay, a frame made for another room, a host action from a member
    /// who is not the host. It was dropped. Show it loudly: it is a sign of a
    /// misbehaving relay or member.
    SecurityWarning {
        /// The member the frame claimed to come from.
        from: Option<MemberId>,
        /// A sentence for the user.
        text: String,
    },
    /// A message this member cannot read: from an epoch it does not hold keys for.
    Undecryptable {
        /// The sender, per the relay.
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
    /// relay's buffer); this member rejoins the group as a new member.
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
    /// A member edited one of its own messages: show the new text, marked "edited".
    /// Edits of another member's message are refused (and warned about).
    Edited {
        /// The message edited (a [`SessionEvent::Message`]'s `id`).
        id: MessageId,
        /// Its sender, who edited it.
        from: MemberId,
        /// The new text.
        text: String,
        /// The sender's clock when it edited.
        edited_at_ms: u64,
        /// True for this member's own edit.
        own: bool,
    },
    /// A member deleted one of its own messages: show "message deleted" in its place.
    Deleted {
        /// The message deleted.
        id: MessageId,
        /// Its sender, who deleted it.
        from: MemberId,
        /// True for this member's own delete.
        own: bool,
    },
    /// A member added or took back an emoji reaction ([`Session::reactions`] gives the
    /// totals with who reacted).
    Reaction {
        /// The message reacted to.
        id: MessageId,
        /// Who reacted.
        from: MemberId,
        /// Its nickname.
        nick: String,
        /// The emoji.
        emoji: String,
        /// Added (`true`) or taken back.
        on: bool,
        /// True for this member's own reaction.
        own: bool,
    },
    /// A member started or stopped typing. The session ends a typing that is not
    /// refreshed ([`TYPING_EXPIRE_MS`]) by itself; [`Session::typing_members`] lists who
    /// types now.
    Typing {
        /// Who.
        member: MemberId,
        /// Its nickname.
        nick: String,
        /// Typing now, or stopped.
        typing: bool,
    },
    /// A member has read every message up to `upto` (show "seen by" under it;
    /// [`Session::read_receipts`] gives each member's latest).
    Read {
        /// Who.
        member: MemberId,
        /// Its nickname.
        nick: String,
        /// The latest message it has read.
        upto: MessageId,
    },
    /// A direct message between this member and one other, encrypted to the recipient
    /// alone: no other member can read it. Show it marked as private. This member's own
    /// is reported when it is sent (the relay echoes nothing to the sender).
    DirectMessage {
        /// The sender.
        from: MemberId,
        /// The recipient.
        to: MemberId,
        /// The sender's nickname.
        nick: String,
        /// The text.
        text: String,
        /// The sender's clock at sending.
        sent_at_ms: u64,
        /// A `/me` action.
        action: bool,
        /// True when this member sent it.
        own: bool,
        /// Its id (the same for both ends).
        id: MessageId,
    },
    /// A member is active or away now ([`MemberInfo::presence`] has it too).
    PresenceChanged {
        /// Who.
        member: MemberId,
        /// Its nickname.
        nick: String,
        /// Its presence.
        presence: Presence,
    },
    /// The host renewed the room's invitation after removing someone (PROTOCOL.md
    /// §11.4): links and short codes given out before no longer admit anyone, and
    /// neither does a room name + passphrase (the removed member knows them). Show the
    /// new [`Session::invite_link`].
    InviteChanged,
    /// Host powers moved to this member, as the group agreed (a hand-over, the host's
    /// successor taking over, or a rejoined host on its new identity): show it in the
    /// member list ([`MemberInfo::is_host`]).
    HostChanged {
        /// The new host.
        member: MemberId,
        /// Its nickname.
        nick: String,
        /// True when this member is the new host.
        own: bool,
    },
    /// The most members the host lets in, as the group agreed (`None`: the relay's
    /// limit): reported on joining when one is set, and whenever the host changes it.
    MemberCap {
        /// The cap.
        cap: Option<u32>,
    },
    /// The host made a member a moderator (`on`) or took that back, as the group
    /// agreed (PROTOCOL.md §7.6): show it in the member list
    /// ([`MemberInfo::is_moderator`]). A moderator can remove members and lock or
    /// unlock the room.
    ModeratorChanged {
        /// The member.
        member: MemberId,
        /// Its nickname.
        nick: String,
        /// Whether it is a moderator now.
        on: bool,
        /// True when it is this member.
        own: bool,
    },
}

/// Why a user action could not be done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionError {
    /// Not in the room yet (the relay or the group has not let this member in).
    NotReady,
    /// The room is over; start or join another.
    Ended,
    /// Only the host can do that.
    NotHost,
    /// The message is larger than the room allows.
    TooLarge,
    /// There is nothing to send.
    Empty,
    /// No member with that id is in the room.
    UnknownMember,
    /// Only a message's own sender can edit or delete it.
    NotYours,
    /// The message is not known (too old, deleted, or never seen here).
    UnknownMessage,
    /// That member cannot receive direct messages yet (its key has not arrived).
    NoDirectKey,
    /// Not a reaction: one emoji of at most [`MAX_EMOJI_BYTES`] bytes.
    InvalidReaction,
    /// Only the host or a moderator can do that.
    NotModerator,
    /// The room has as many moderators as it can name.
    TooManyModerators,
}

impl core::fmt::Display for ActionError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            ActionError::NotReady => "Not in the room yet. Wait a moment and try again.",
            ActionError::Ended => "This room is over. Create or join another room.",
            ActionError::NotHost => "Only the host can do that.",
            ActionError::TooLarge => "That message is too large for this room. Shorten it.",
            ActionError::Empty => "There is nothing to send.",
            ActionError::UnknownMember => "No such member is in the room.",
            ActionError::NotYours => "You can only edit or delete your own messages.",
            ActionError::UnknownMessage => {
                "That message is no longer available. Pick a more recent one."
            }
            ActionError::NoDirectKey => {
                "That member cannot receive private messages yet. Try again in a moment."
            }
            ActionError::InvalidReaction => "A reaction is one emoji.",
            ActionError::NotModerator => "Only the host or a moderator can do that.",
            ActionError::TooManyModerators => {
                "The room has as many moderators as it can have. Remove one first."
            }
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
    /// Whether it is the host (it signs with the host key the group is bound to).
    pub is_host: bool,
    /// Whether it is a moderator (the room record names its key, PROTOCOL.md §7.6).
    pub is_moderator: bool,
    /// Whether it is this member.
    pub is_self: bool,
    /// Whether it is at the room or away.
    pub presence: Presence,
}

/// The secrets every stage but the last holds.
struct Keys {
    /// The room secret: the invite link is made from it.
    room_secret: RoomSecret,
    /// Seals and opens newcomers' key packages.
    join_key: Key<Join>,
    /// Host powers on the relay, if this session created the room.
    host_secret: Option<HostSecret>,
    /// Where this session's nonces come from (never its keys).
    nonces: NonceRng,
    /// The room's pass once the host renewed the invitation (`rotate.rs`).
    renewal: rotate::Renewal,
    /// The kicks of this member (as host), the renewal of the invitation and the
    /// relay's disconnections it owes after them (`rotate.rs`): kept across a rejoin
    /// (a gap), like the pass.
    owed: rotate::Owed,
}

/// Where this member stands in the group. Each stage owns only what is valid in it.
enum Stage {
    /// Let in by the relay (or about to be): waiting for a member to add it.
    Joining(Box<Joining>),
    /// A member of the group.
    Member(Box<Membership>),
    /// Over: no key is left.
    Ended,
}

struct Joining {
    keys: Keys,
    joiner: Joiner,
    /// Whether the sealed key package has been broadcast under the current member id.
    announced: Option<MemberId>,
    /// Group messages that arrived before the Welcome, in relay order.
    buffered: VecDeque<(u64, MemberId, Vec<u8>)>,
    /// Their total size.
    buffered_bytes: usize,
    /// The last relay sequence number seen when the key package was sealed.
    since: u64,
    /// When the key package was announced (by the clock of the first tick after), and
    /// whether [`SessionEvent::StillWaiting`] was reported for it.
    waiting_since_ms: Option<u64>,
    told_still_waiting: bool,
    /// The signing keys of identities the members may hold under a relay id of this
    /// member's (its old leaf's; a request's whose Welcome it lost), oldest first, at
    /// most `MAX_REJOIN_PROOFS`: a request under that id proves with them that it is
    /// this member's (`Envelope::Rejoin`). Nothing else of an old group state is kept.
    provers: Vec<(MemberId, RejoinSigner)>,
    /// Whether this is a member coming back after a page reload with its old identity
    /// ([`Session::resume`]): it can be saved again while it waits.
    resuming: bool,
}

struct Membership {
    keys: Keys,
    group: Group,
    roster: Roster,
    duties: Duties,
    /// Own chat contents (texts, edits, deletes, reactions), padded, until the relay
    /// echoes them, by message id: they are shown then, in the room's one order.
    own_pending: BTreeMap<MessageId, Zeroizing<Vec<u8>>>,
    /// Texts (padded contents) typed while this member's commit waited for its echo.
    queued: VecDeque<Zeroizing<Vec<u8>>>,
    /// What surrounds messages: history, reactions, typing, receipts, presence, the
    /// direct-message key.
    talk: talk::Talk,
    /// Client ids of every credential ever seen in this group: a key package that
    /// carries one again is a replay.
    seen_clients: BTreeSet<[u8; 16]>,
    /// Messages sent since this member's last own commit, and when that was.
    sent_since_update: u32,
    last_update_ms: Option<u64>,
    /// The epoch this member is in, and when it first saw it (for [`EPOCH_REFRESH_MS`]).
    epoch_since: (u64, u64),
    /// Why each relay member left, to say so when its removal lands.
    left_reasons: BTreeMap<MemberId, LeaveReason>,
    /// Relay members who asked to join again under the same id: the removal of their
    /// old leaf is not a departure.
    rejoining: BTreeSet<MemberId>,
    /// The signature keys of removed leaves, by the relay id they had (the latest
    /// `MAX_TRACKED`): a later request under such an id must be proven by that key.
    departed_keys: VecDeque<(MemberId, [u8; 32])>,
    /// The `since` of the latest proven request taken under each relay id (at most
    /// `MAX_TRACKED`, dropped when the id's leaf is removed for good): an older or
    /// equal one is a replay.
    returned_since: BTreeMap<MemberId, u64>,
    /// The newcomer this member's pending add commit is for, to hand it the Welcome.
    adding: Option<(PublicIdentity, MemberId)>,
    /// The relay sequence number at which this member joined the group: older join
    /// requests are replays.
    joined_seq: u64,
    /// The last lock state the host announced (authenticated).
    host_lock: Option<bool>,
    /// Whether the host announced that it ends the room.
    host_terminated: bool,
    /// Files offered to this member, until the client takes them.
    files: files::Offers,
    /// This member's short codes and the exchanges it answers.
    codes: codes::Codes,
    /// Digests of the key packages this member took as join requests (the latest
    /// 4096): a returning member's request replayed later is refused by them.
    taken_packages: VecDeque<[u8; 32]>,
    /// Nicknames of members returning after a reload, between the removal of their old
    /// leaf and the add of their new one.
    returning: BTreeMap<MemberId, Option<String>>,
    /// Host powers on their way to another member (§7.6).
    host: host::HostMoves,
    /// Moderators' announced kicks, and the host's changes of the list (§7.6).
    moderators: moderators::ModeratorState,
}

/// The relay connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Conn {
    /// A `Create` or `Join` was written; waiting for the relay's `Welcome`.
    Connecting,
    /// Welcomed; live.
    Live,
}

/// A member's session in one room. See the module documentation.
pub struct Session {
    stage: Stage,
    conn: Conn,
    room: RoomId,
    nick: String,
    me: Option<MemberId>,
    resume: Option<Resume>,
    /// The host's member id, per the relay.
    host: Option<MemberId>,
    /// A host's old key, kept across a rejoin to prove its return (§9.3).
    host_return: Option<RejoinSigner>,
    locked: bool,
    limits: Option<RoomLimits>,
    /// The frame that opened the session, sent again if the first welcome never came.
    first_frame: Vec<u8>,
    /// Highest sequence number processed; anything at or below is a duplicate.
    last_seq: u64,
    /// Members the relay says are connected (this one excluded).
    connected: BTreeSet<MemberId>,
    /// The latest clock reading the client gave.
    now_ms: Option<u64>,
    /// Whether `Ready` has been reported for the current connection.
    ready_sent: bool,
    /// Whether the latest relay welcome gave back the old identity.
    resumed: bool,
    /// Set while a session made by [`Session::resume`] waits for its Welcome: the last
    /// sequence number it had processed before the page reloaded. Application messages
    /// after it that it cannot read are reported (`Undecryptable`), not dropped silently.
    resumed_after: Option<u64>,
}

const WARN_JOIN_FORGED: &str = "A join request failed authentication and was ignored. \
     Someone without the room's secret (possibly the relay) tried to get into the room.";
const WARN_JOIN_OLD_INVITE: &str = "A join request made with the room's old invitation \
     was ignored: the host renewed it after removing someone. Whoever sent it needs the \
     current link.";
const WARN_JOIN_KICKED: &str = "A join request from a member the host removed was \
     ignored.";
const WARN_JOIN_REPLAY: &str = "An old join request was replayed and ignored. \
     The relay may be trying to bring a departed member back.";
const WARN_FORGED: &str = "A message failed authentication (forged, altered or from another room) \
     and was ignored. The relay or a member may be attacking this room.";
const WARN_REPLAY: &str = "A message was delivered twice (a replay) and was ignored. \
     The relay may be misbehaving.";
const WARN_WELCOME: &str = "An invitation into the room was refused: it was forged, altered \
     or for another room. The relay or a member may be attacking this room.";
const WARN_SECOND_WELCOME: &str = "A second invitation into the room arrived and was ignored. \
     The relay may be trying to move this member into another group.";
const WARN_DIRECTED: &str = "A room message was delivered to this member alone and was ignored: \
     room messages must reach everyone. The relay or a member may be trying to show members \
     different things.";
const WARN_MOVED: &str = "The relay attributed a member's message to another member id. \
     The message is shown under its real sender; the relay may be misbehaving.";
const WARN_NOT_HOST: &str = "A member who is not the host tried to act as the host; \
     it was ignored.";
const WARN_REMOVED_PRESENT: &str = "A member who is not the host removed a member who had not \
     left. Everyone sees the same removal; ask the room what happened.";
const WARN_TERMINATE_UNSAID: &str = "The relay ended the room, saying the host did, but the \
     host's own message saying so never arrived.";
const WARN_JOIN_LOCKED: &str = "Someone asked to join while the host has locked the room; \
     they were not let in.";
const WARN_JOIN_FULL: &str = "Someone asked to join while the room holds as many members \
     as the host allows; they were not let in.";
const WARN_UNASKED_ADD: &str = "A member added someone who never asked to join through the room. \
     Check the member list and compare the safety code.";
const WARN_REMOVAL_UNSAID: &str = "The relay closed the room for you, saying you were \
     removed, but no member of the room removed you: the relay may be misbehaving.";
const WARN_REJOIN_UNPROVEN: &str = "A request to join under the id of a member who is still \
     here came without that member's proof; it was ignored.";
const WARN_REJOIN_STALE: &str = "An older request of a member coming back after a reload \
     was replayed and ignored. The relay may be trying to push that member out.";
const WARN_KICK_UNSAID: &str = "The relay said a member was kicked, but no kick by the host or \
     a moderator removed it: it is shown as disconnected.";
const WARN_LOCK_UNSAID: &str = "The relay changed the room's lock, but the host did not say so.";

fn send(to: Option<MemberId>, envelope: &Envelope) -> Output {
    Output::Send(
        ClientFrame::Send {
            to,
            payload: &envelope.encode(),
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

fn event(e: SessionEvent) -> Output {
    Output::Event(e)
}

/// Most combining marks kept after one base character (stacked marks can cover
/// neighbouring text).
const MAX_MARKS: usize = 2;

/// Cleans a nickname: Unicode NFC; no control, format, private-use, unassigned,
/// surrogate or line/paragraph-separator characters (categories Cc, Cf, Co, Cn, Cs, Zl,
/// Zp: no bidi overrides, no zero-width characters, no line breaks); at most
/// [`MAX_MARKS`] combining marks in a row; trimmed; at most [`MAX_NICK_BYTES`] bytes
/// (cut at a character boundary).
pub fn clean_nick(nick: &str) -> String {
    let mut out = String::new();
    let mut marks = 0;
    for c in crate::text::nfc(nick).chars() {
        if crate::text::is_hidden(c) {
            continue;
        }
        marks = if crate::text::is_mark(c) {
            marks + 1
        } else {
            0
        };
        if marks > MAX_MARKS {
            continue;
        }
        if out.len() + c.len_utf8() > MAX_NICK_BYTES {
            break;
        }
        out.push(c);
    }
    out.trim().to_owned()
}

impl Keys {
    fn new(room_secret: RoomSecret, host_secret: Option<HostSecret>) -> Self {
        Keys {
            join_key: join_key(&room_secret),
            room_secret,
            host_secret,
            nonces: NonceRng::new(),
            renewal: rotate::Renewal::default(),
            owed: rotate::Owed::default(),
        }
    }
}

impl Session {
    /// Creates a new room with a fresh room secret and host secret. Write the returned
    /// frame (a `Create`) first.
    pub fn create(nick: &str, settings: RoomSettings) -> (Session, Vec<u8>) {
        Self::create_in(RoomSecret::generate(&mut OsRng), nick, settings)
    }

    /// Creates the room of a given room secret (one derived from a room name and
    /// passphrase, see [`crate::ways`]) with a fresh host secret. Write the returned
    /// frame (a `Create`) first; the relay answers [`ErrorCode::RoomExists`] when the
    /// room is live already.
    pub fn create_in(secret: RoomSecret, nick: &str, settings: RoomSettings) -> (Session, Vec<u8>) {
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
        let room = secret.room_id();
        let keys = Keys::new(secret, Some(host));
        let stage = match Group::create(Identity::generate(), &keys.room_secret) {
            Ok(group) => Stage::Member(Box::new(Membership::new(keys, group, 0))),
            // Creating a group from fresh keys does not fail; if the library ever does,
            // the session is over before it began.
            Err(_) => Stage::Ended,
        };
        (Self::new(room, stage, nick, frame.clone()), frame)
    }

    /// Joins the room of an invite. Write the returned frame (a `Join`) first, to the
    /// socket at [`Invite::ws_url`].
    pub fn join(invite: &Invite, nick: &str) -> (Session, Vec<u8>) {
        Self::join_with_pass(invite.secret().clone(), invite.pass().cloned(), nick)
    }

    /// Joins the room of a room secret that came another way than a link (see
    /// [`crate::ways`]). Write the returned frame (a `Join`) first.
    pub fn join_with(secret: RoomSecret, nick: &str) -> (Session, Vec<u8>) {
        Self::join_with_pass(secret, None, nick)
    }

    /// [`Session::join_with`] in a room whose host renewed its invitation: the room
    /// secret and the room's pass (from a renewed link or a code's grant).
    pub fn join_with_pass(
        secret: RoomSecret,
        pass: Option<RoomPass>,
        nick: &str,
    ) -> (Session, Vec<u8>) {
        let room = secret.room_id();
        let keys = Keys::new(secret, None).with_pass(pass, 0);
        let frame = keys.join_frame(room, None, None);
        let stage = Self::joining(keys, Vec::new());
        (Self::new(room, stage, nick, frame.clone()), frame)
    }

    fn joining(keys: Keys, provers: Vec<(MemberId, RejoinSigner)>) -> Stage {
        Self::joining_as(Identity::generate(), keys, provers)
    }

    /// Waiting to be added with `identity` (a fresh one, or a reloaded page's own).
    fn joining_as(identity: Identity, keys: Keys, provers: Vec<(MemberId, RejoinSigner)>) -> Stage {
        match Joiner::new(identity) {
            Ok(joiner) => Stage::Joining(Box::new(Joining {
                keys,
                joiner,
                announced: None,
                buffered: VecDeque::new(),
                buffered_bytes: 0,
                since: 0,
                waiting_since_ms: None,
                told_still_waiting: false,
                provers,
                resuming: false,
            })),
            Err(_) => Stage::Ended,
        }
    }

    fn new(room: RoomId, stage: Stage, nick: &str, first_frame: Vec<u8>) -> Session {
        Session {
            stage,
            conn: Conn::Connecting,
            room,
            nick: clean_nick(nick),
            me: None,
            resume: None,
            host: None,
            host_return: None,
            locked: false,
            limits: None,
            first_frame,
            last_seq: 0,
            connected: BTreeSet::new(),
            now_ms: None,
            ready_sent: false,
            resumed: false,
            resumed_after: None,
        }
    }

    fn keys(&self) -> Option<&Keys> {
        match &self.stage {
            Stage::Joining(j) => Some(&j.keys),
            Stage::Member(m) => Some(&m.keys),
            Stage::Ended => None,
        }
    }

    /// The invite link for this room on the relay at `origin` (`http[s]://host[:port]`),
    /// or `None` once the room is over.
    pub fn invite_link(&self, origin: &str) -> Option<String> {
        let keys = self.keys()?;
        Some(Invite::with_pass(origin, keys.room_secret.clone(), keys.pass().cloned()).link())
    }

    /// Whether the host renewed the room's invitation (after a kick): links and codes
    /// carry the room's pass, and its name + passphrase no longer admit anyone.
    pub fn invite_renewed(&self) -> bool {
        self.keys().is_some_and(|k| k.pass().is_some())
    }

    /// Whether this member holds host powers: the group's word once in the group (the
    /// creator, or whoever they were handed or passed to).
    pub fn is_host(&self) -> bool {
        self.holds_host()
    }

    /// The room's public id.
    pub fn room_id(&self) -> RoomId {
        self.room
    }

    /// This member's id, once welcomed by the relay.
    pub fn me(&self) -> Option<MemberId> {
        self.me
    }

    /// This member's nickname.
    pub fn nick(&self) -> &str {
        &self.nick
    }

    /// This member's own safety words (what others see for it), once in the group.
    pub fn fingerprint(&self) -> Option<String> {
        let Stage::Member(m) = &self.stage else {
            return None;
        };
        m.own_identity().map(|i| i.fingerprint().to_string())
    }

    /// The room-wide safety code of the current epoch, once in the group.
    pub fn safety_code(&self) -> Option<(u64, SafetyCode)> {
        let Stage::Member(m) = &self.stage else {
            return None;
        };
        Some((m.group.epoch(), m.group.safety_code()))
    }

    /// Whether this member is in the room and can send.
    pub fn is_ready(&self) -> bool {
        self.conn == Conn::Live && matches!(self.stage, Stage::Member(_))
    }

    /// Whether the room is over for this member.
    pub fn is_ended(&self) -> bool {
        matches!(self.stage, Stage::Ended)
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

    /// The group's members whose relay id is known, this one first.
    pub fn members(&self) -> Vec<MemberInfo> {
        let (Stage::Member(m), Some(me)) = (&self.stage, self.me) else {
            return Vec::new();
        };
        let host_key = m.group.host_key();
        let own = m.group.own_leaf();
        let mut out = Vec::new();
        for member in m.group.members() {
            let is_self = member.leaf == own;
            let peer = m.roster.get(member.leaf);
            let id = if is_self {
                Some(me)
            } else {
                peer.and_then(|p| p.member)
            };
            let Some(id) = id else { continue };
            let nick = if is_self {
                self.nick.clone()
            } else {
                peer.and_then(|p| p.nick.clone())
                    .unwrap_or_else(|| placeholder_nick(&member.identity))
            };
            let info = MemberInfo {
                member: id,
                nick,
                fingerprint: member.identity.fingerprint().to_string(),
                is_host: member.identity.signature_key == host_key,
                is_moderator: m.group.is_moderator_key(&member.identity.signature_key),
                is_self,
                presence: if is_self {
                    m.talk.presence()
                } else {
                    peer.map(|p| p.presence).unwrap_or_default()
                },
            };
            if is_self {
                out.insert(0, info);
            } else {
                out.push(info);
            }
        }
        out
    }

    /// The first frame to write on a new socket after the old one dropped: a `Join`
    /// that reclaims this member's id and asks for every event after the last one seen.
    /// Before the first welcome it is the session's opening frame again. `None` once the
    /// room is over.
    pub fn reconnect_frame(&mut self) -> Option<Vec<u8>> {
        if self.is_ended() {
            return None;
        }
        self.conn = Conn::Connecting;
        self.ready_sent = false;
        let Some(resume) = self.resume else {
            return Some(self.first_frame.clone());
        };
        let keys = self.keys()?;
        Some(keys.join_frame(self.room, Some(resume), Some(self.last_seq)))
    }

    /// The clock: call it about once a second with the time in milliseconds. It lets
    /// this member take over a commit (a newcomer's add, a departed member's removal)
    /// that the members before it in the committer order did not make.
    pub fn tick(&mut self, now_ms: u64) -> Vec<Output> {
        self.now_ms = Some(now_ms);
        let mut out = Vec::new();
        if let (Stage::Joining(j), Conn::Live) = (&mut self.stage, self.conn) {
            if j.announced.is_some() && !j.told_still_waiting {
                let since = *j.waiting_since_ms.get_or_insert(now_ms);
                if now_ms.saturating_sub(since) >= NOBODY_LET_IN_MS {
                    j.told_still_waiting = true;
                    out.push(event(SessionEvent::StillWaiting));
                }
            }
        }
        self.run_duties(&mut out);
        self.tick_talk(now_ms, &mut out);
        if let (Stage::Member(m), Conn::Live) = (&mut self.stage, self.conn) {
            m.refresh_old_epoch(now_ms, &mut out);
            rotate::moderated_due(m, now_ms, &self.connected, &mut out);
        }
        if let Stage::Member(m) = &mut self.stage {
            m.codes.tick(now_ms, &mut out);
        }
        out
    }

    /// Asks the relay for a short code for this room (PROTOCOL.md §11.2). The code
    /// arrives as [`CodeNotice::Ready`] (see [`Session::take_code_notices`]).
    pub fn request_code(&mut self) -> Result<Vec<Output>, ActionError> {
        self.member_ready()?;
        Ok(vec![Output::Send(ClientFrame::CodeOffer.encode())])
    }

    /// Revokes every live short code of this member; the number revoked, and the
    /// frames that tell the relay.
    pub fn revoke_codes(&mut self) -> Result<(usize, Vec<Output>), ActionError> {
        let m = self.member_ready()?;
        let mut out = Vec::new();
        let revoked = m.codes.revoke_all(&mut out);
        Ok((revoked, out))
    }

    /// Revokes one live short code of this member (by its nameplate); whether it was
    /// live, and the frame that tells the relay.
    pub fn revoke_code(&mut self, nameplate: u32) -> Result<(bool, Vec<Output>), ActionError> {
        let m = self.member_ready()?;
        let mut out = Vec::new();
        let revoked = m.codes.revoke(nameplate, &mut out);
        Ok((revoked, out))
    }

    /// What happened to this member's short codes since the last call, oldest first.
    pub fn take_code_notices(&mut self) -> Vec<CodeNotice> {
        match &mut self.stage {
            Stage::Member(m) => m.codes.take(),
            _ => Vec::new(),
        }
    }

    /// Failed exchanges counted on this member's live code `nameplate`.
    pub fn code_failures(&self, nameplate: u32) -> Option<u8> {
        match &self.stage {
            Stage::Member(m) => m.codes.failures(nameplate),
            _ => None,
        }
    }

    /// Sends a chat message. The returned frames go to the relay; the message is shown
    /// (as [`SessionEvent::Message`] with `own: true`) when the relay echoes it.
    /// `now_ms` is the sender's clock (milliseconds since the Unix epoch).
    pub fn send_text(&mut self, text: &str, now_ms: u64) -> Result<Vec<Output>, ActionError> {
        self.post(
            Content::Text {
                body: text.to_owned(),
                sent_at_ms: now_ms,
            },
            now_ms,
        )
    }

    /// Changes this member's nickname and tells the room.
    pub fn set_nick(&mut self, nick: &str) -> Result<Vec<Output>, ActionError> {
        let me = self.me.ok_or(ActionError::NotReady)?;
        let new = clean_nick(nick);
        if new.is_empty() {
            return Err(ActionError::Empty);
        }
        let m = self.member_ready()?;
        let mut out = Vec::new();
        m.announce(&new, me, &mut out);
        let old = core::mem::replace(&mut self.nick, new.clone());
        out.push(event(SessionEvent::NickChanged {
            member: me,
            old,
            new,
        }));
        Ok(out)
    }

    /// Offers a file to the other members of the group now (see
    /// [`crate::files::transfer::Outgoing`] for its chunks). `NotReady` while this
    /// member's own commit waits for the relay's order: try again on the next tick.
    pub fn send_file(&mut self, offer: &FileOffer) -> Result<Vec<Output>, ActionError> {
        let m = self.member_ready()?;
        if m.group.has_pending_commit() {
            return Err(ActionError::NotReady);
        }
        let mut out = Vec::new();
        m.send_content(&Content::File(offer.clone()), &mut out);
        Ok(out)
    }

    /// The files other members offered since the last call, oldest first, with who
    /// offered each (the group's word).
    pub fn take_file_offers(&mut self) -> Vec<(MemberId, FileOffer)> {
        match &mut self.stage {
            Stage::Member(m) => m.files.take(),
            _ => Vec::new(),
        }
    }

    /// Host: deletes the room for everyone. The members are told first, inside the
    /// group, so they can tell the host's decision from the relay's.
    pub fn terminate(&mut self) -> Result<Vec<Output>, ActionError> {
        let secret = self.host_secret()?;
        let m = self.member_ready()?;
        let mut out = Vec::new();
        m.send_content(&Content::Host(HostAction::Terminate), &mut out);
        if let Some(secret) = secret {
            out.push(Output::Send(ClientFrame::Terminate { secret }.encode()));
        }
        Ok(out)
    }

    /// Host or moderator: removes a member. It commits the removal with the
    /// invitation's renewal (so every member sees who kicked it, and no announcement
    /// lets the member leave first); once the commit has won the relay's order, the
    /// relay is told the new join proof (by the holder of its host seat) and asked to
    /// disconnect the member. A moderator cannot remove the host or another moderator
    /// (`NotHost`).
    pub fn kick(&mut self, member: MemberId) -> Result<Vec<Output>, ActionError> {
        let host = self.holds_host();
        if !host && !self.may_moderate() {
            return Err(ActionError::NotModerator);
        }
        let now = self.now_ms;
        let m = self.member_ready()?;
        let leaf = m.roster.leaf_of(member).ok_or(ActionError::UnknownMember)?;
        if !host {
            let own = m.group.identity().public().signature_key;
            if !moderators::moderator_may_kick(&m.group, &own, leaf) {
                return Err(ActionError::NotHost);
            }
        }
        if leaf == m.group.own_leaf() {
            return Err(ActionError::UnknownMember);
        }
        let key = m
            .roster
            .get(leaf)
            .and_then(|p| p.identity)
            .map(|i| i.signature_key)
            .ok_or(ActionError::UnknownMember)?;
        // A removal already owed for the leaf (its member's rejoin, or a departure)
        // becomes the kick, and what the member asked for (a rejoin's add) is dropped.
        m.duties
            .owed
            .retain(|o| !matches!(o.duty, Duty::Remove { leaf: l, .. } if l == leaf));
        m.duties.forget_member(member);
        m.rejoining.remove(&member);
        m.duties.push(
            Duty::Remove {
                leaf,
                key,
                kick: true,
            },
            now,
        );
        if host {
            m.keys.owed.kick(key, member);
        } else {
            m.moderators.own_kicks.insert(leaf, member);
        }
        let mut out = Vec::new();
        self.run_duties(&mut out);
        Ok(out)
    }

    /// Host or moderator: refuses (or allows again) new joins.
    pub fn lock(&mut self, locked: bool) -> Result<Vec<Output>, ActionError> {
        let moderator = !self.holds_host() && self.is_moderator();
        let secret = if moderator {
            None
        } else {
            self.host_secret().map_err(|e| match e {
                ActionError::NotHost => ActionError::NotModerator,
                other => other,
            })?
        };
        let m = self.member_ready()?;
        let mut out = Vec::new();
        m.host_lock = Some(locked);
        m.send_content(&Content::Host(HostAction::Lock(locked)), &mut out);
        if let Some(secret) = secret {
            out.push(Output::Send(ClientFrame::Lock { secret, locked }.encode()));
        } else if moderator {
            out.push(Output::Send(ClientFrame::ModeratorLock { locked }.encode()));
        }
        Ok(out)
    }

    /// Leaves the room for good. The relay answers with `Closed { Left }`, which ends the
    /// session; the remaining members commit this member's removal.
    pub fn leave(&mut self) -> Result<Vec<Output>, ActionError> {
        if self.is_ended() {
            return Err(ActionError::Ended);
        }
        Ok(vec![Output::Send(ClientFrame::Leave.encode())])
    }

    fn member_ready(&mut self) -> Result<&mut Membership, ActionError> {
        if self.conn != Conn::Live {
            return match self.stage {
                Stage::Ended => Err(ActionError::Ended),
                _ => Err(ActionError::NotReady),
            };
        }
        match &mut self.stage {
            Stage::Member(m) => Ok(m),
            Stage::Joining(_) => Err(ActionError::NotReady),
            Stage::Ended => Err(ActionError::Ended),
        }
    }

    /// Host powers as the group records them, and the relay's seat secret if this
    /// member holds it yet (a new host claims it just after the group moved; members
    /// check host actions between themselves meanwhile).
    fn host_secret(&self) -> Result<Option<HostSecret>, ActionError> {
        let keys = self.keys().ok_or(ActionError::Ended)?;
        if !self.holds_host() {
            return Err(ActionError::NotHost);
        }
        Ok(keys.host_secret.clone())
    }

    /// Processes one binary message from the relay.
    pub fn handle(&mut self, frame: &[u8]) -> Vec<Output> {
        let mut out = Vec::new();
        if self.is_ended() {
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
            } => {
                self.resumed = self.me == Some(you);
                let new_identity = self.me.is_some() && !self.resumed;
                if !self.resumed {
                    self.last_seq = seq;
                }
                self.me = Some(you);
                self.resume = Some(Resume {
                    member: you,
                    token: resume.0,
                });
                self.host = Some(host);
                self.locked = locked;
                self.limits = Some(limits);
                self.connected = members
                    .into_iter()
                    .filter(|&m| m != you)
                    .take(MAX_TRACKED)
                    .collect();
                self.conn = Conn::Live;
                self.ready_sent = false;
                if let Stage::Member(m) = &mut self.stage {
                    // A new connection: the relay forgot this member's nameplates.
                    m.codes.forget();
                }
                if new_identity {
                    self.resumed_after = None;
                    self.on_new_identity(&mut out);
                }
                self.after_welcome(&mut out);
                self.after_change(&mut out);
            }
            ServerFrame::Event { seq, event } => {
                if seq <= self.last_seq {
                    return out; // a duplicate from catch-up
                }
                self.last_seq = seq;
                self.on_event(seq, event, &mut out);
                self.after_change(&mut out);
            }
            ServerFrame::Gap { from, to } => {
                out.push(event(SessionEvent::Gap { from, to }));
                // Commits may be lost in the gap: this member's group state cannot be
                // trusted to match the others'. It joins the group again.
                // Alone in its group, a member keeps it: nobody else holds it.
                let alone = matches!(&self.stage, Stage::Member(m) if m.group.members().len() <= 1);
                if !alone {
                    self.rejoin(true, &mut out);
                    self.after_change(&mut out);
                }
            }
            ServerFrame::CaughtUp { seq } => {
                // Everything the relay ordered before this reconnect has been
                // delivered: an own commit that did not come back was lost with the
                // old socket.
                if let Stage::Member(m) = &mut self.stage {
                    m.drop_lost_commit();
                }
                self.prune_departed();
                self.renewal_to_relay(&mut out);
                out.push(event(SessionEvent::CaughtUp { seq }));
                self.after_change(&mut out);
            }
            ServerFrame::Error { code } => {
                if code == ErrorCode::ResumeRefused && self.conn == Conn::Connecting {
                    // Our old identity is gone: join again as a new member.
                    self.resume = None;
                    if let Some(keys) = self.keys() {
                        out.push(Output::Send(keys.join_frame(self.room, None, None)));
                    }
                }
                // A refused frame may have been this member's commit: it will never be
                // ordered, so it is dropped rather than waited for.
                if matches!(code, ErrorCode::RateLimited | ErrorCode::FrameTooLarge) {
                    if let Stage::Member(m) = &mut self.stage {
                        m.drop_lost_commit();
                    }
                }
                out.push(event(SessionEvent::Error { code }));
            }
            // The chunk lane is the client's files::Transfers' business, not the group's.
            ServerFrame::Stream { .. } => {}
            ServerFrame::CodeOffered {
                nameplate,
                expires_secs,
            } => {
                if let Stage::Member(m) = &mut self.stage {
                    m.codes.offered(nameplate, expires_secs);
                }
            }
            ServerFrame::CodeRefused { nameplate, reason } => {
                if let Stage::Member(m) = &mut self.stage {
                    m.codes.refused(nameplate, reason);
                }
            }
            ServerFrame::CodeMessage {
                exchange,
                nameplate,
                payload,
            } => {
                let now = self.now_ms;
                if let Stage::Member(m) = &mut self.stage {
                    let Membership { codes, keys, .. } = &mut **m;
                    codes.message(
                        exchange,
                        nameplate,
                        payload,
                        (&keys.room_secret, keys.renewal_pass()),
                        now,
                        &mut out,
                    );
                }
            }
            ServerFrame::Closed { reason } => {
                if reason == CloseReason::GoingAway {
                    self.conn = Conn::Connecting;
                    self.ready_sent = false;
                    out.push(event(SessionEvent::RelayGoingAway));
                } else {
                    if reason == CloseReason::Terminated {
                        if let Stage::Member(m) = &self.stage {
                            if !m.host_terminated && !m.group.is_host() {
                                out.push(warning(None, WARN_TERMINATE_UNSAID));
                            }
                        }
                    }
                    // A removal is the group's doing: its commit, sequenced before the
                    // relay closes the connection, ends the session first. The relay
                    // saying so while this member is still in the group is its word only.
                    let removal = matches!(reason, CloseReason::Kicked | CloseReason::Removed);
                    if removal && matches!(self.stage, Stage::Member(_)) {
                        out.push(warning(None, WARN_REMOVAL_UNSAID));
                    }
                    self.end(reason, &mut out);
                }
            }
        }
        out
    }

    /// Forgets every secret and all state tied to the room.
    fn end(&mut self, reason: CloseReason, out: &mut Vec<Output>) {
        self.stage = Stage::Ended;
        self.connected.clear();
        self.resume = None;
        self.conn = Conn::Connecting;
        out.push(event(SessionEvent::Ended { reason }));
    }

    /// The relay gave this member a new id: whatever leaf it had is someone else's
    /// problem now (the others remove it when the relay reports the old id gone), and
    /// it joins the group afresh.
    fn on_new_identity(&mut self, out: &mut Vec<Output>) {
        match &mut self.stage {
            // Alone in its group, a member keeps it: nobody else holds it.
            Stage::Member(m) if m.group.members().len() > 1 => self.rejoin(false, out),
            // A new id needs a new join request (the old one may have been added
            // under the old id already, and its client id is spent).
            Stage::Joining(_) => self.rejoin(false, out),
            _ => {}
        }
    }

    /// Leaves the current group state behind and asks to be added again, with a new
    /// identity. `same_id`: under the relay id it has now, whose old leaf the request
    /// then proves it owns; else under a new id, where the old leaf is simply removed.
    fn rejoin(&mut self, same_id: bool, out: &mut Vec<Output>) {
        let stage = core::mem::replace(&mut self.stage, Stage::Ended);
        let (keys, mut provers) = match stage {
            Stage::Member(m) => {
                let Membership { keys, group, .. } = *m;
                self.keep_host_signer(&group);
                let signer = self.me.map(|me| (me, group.rejoin_signer()));
                (keys, signer.into_iter().collect())
            }
            Stage::Joining(j) => {
                let Joining {
                    keys,
                    joiner,
                    announced,
                    mut provers,
                    ..
                } = *j;
                // A host coming back after a reload past the grace proves its return
                // with the key it saved (§7.6).
                if keys.host_secret.is_some() && self.host_return.is_none() {
                    self.host_return = joiner.rejoin_signer();
                }
                // The members may have added that request and its Welcome been lost.
                if let (Some(id), Some(signer)) = (announced, joiner.rejoin_signer()) {
                    provers.push((id, signer));
                }
                (keys, provers)
            }
            Stage::Ended => return,
        };
        if !same_id {
            provers.clear();
        }
        let excess = provers.len().saturating_sub(MAX_REJOIN_PROOFS);
        provers.drain(..excess);
        self.stage = Self::joining(keys, provers);
        self.ready_sent = false;
        self.resumed = false;
        if self.conn == Conn::Live {
            out.push(event(SessionEvent::WaitingToBeAdded));
        }
    }

    /// What follows any change: announce a key package if waiting to be added, report
    /// `Ready` once, carry out owed commits.
    fn after_change(&mut self, out: &mut Vec<Output>) {
        if self.conn != Conn::Live {
            return;
        }
        let Some(me) = self.me else { return };
        match &mut self.stage {
            Stage::Joining(j) => {
                if j.announced != Some(me) {
                    j.announced = Some(me);
                    j.since = self.last_seq;
                    j.waiting_since_ms = self.now_ms;
                    j.told_still_waiting = false;
                    let key_package = j.joiner.key_package();
                    let mut sealed = seal_key_package(
                        &j.keys.join_key,
                        &self.room,
                        (me, j.since),
                        key_package,
                        &mut j.keys.nonces,
                    );
                    // Under an id the members may hold a leaf of this member's for:
                    // prove the request is its own.
                    let signers: Vec<&RejoinSigner> = j
                        .provers
                        .iter()
                        .filter(|(id, _)| *id == me)
                        .map(|(_, signer)| signer)
                        .collect();
                    if let (
                        false,
                        Envelope::KeyPackage {
                            since,
                            nonce,
                            sealed: s,
                        },
                    ) = (signers.is_empty(), &sealed)
                    {
                        let statement = rejoin_statement(&self.room, (me, *since), key_package);
                        sealed = Envelope::Rejoin {
                            since: *since,
                            nonce: *nonce,
                            sealed: s.clone(),
                            signatures: signers
                                .iter()
                                .map(|signer| ByteBuf::from(signer.sign(&statement).to_vec()))
                                .collect(),
                        };
                    }
                    out.push(send(None, &sealed));
                    out.push(event(SessionEvent::WaitingToBeAdded));
                }
            }
            Stage::Member(m) => {
                if !self.ready_sent {
                    self.ready_sent = true;
                    let (Some(host), Some(limits)) = (self.host, self.limits) else {
                        return;
                    };
                    out.push(event(SessionEvent::Ready {
                        me,
                        host,
                        locked: self.locked,
                        limits,
                        resumed: self.resumed,
                    }));
                    if !self.resumed {
                        out.push(event(SessionEvent::SafetyCode {
                            epoch: m.group.epoch(),
                            code: m.group.safety_code(),
                        }));
                        m.announce(&self.nick, me, out);
                    }
                }
            }
            Stage::Ended => {}
        }
        self.run_duties(out);
    }

    /// Members the relay no longer lists after a catch-up (their `Left` may have fallen
    /// into a gap) are owed a removal.
    fn prune_departed(&mut self) {
        let now = self.now_ms;
        let Stage::Member(m) = &mut self.stage else {
            return;
        };
        let own = m.group.own_leaf();
        for member in m.group.members() {
            if member.leaf == own {
                continue;
            }
            let Some(id) = m.roster.get(member.leaf).and_then(|p| p.member) else {
                continue;
            };
            if !self.connected.contains(&id) && !m.duties.has_remove_for(member.leaf) {
                m.duties.push(
                    Duty::Remove {
                        leaf: member.leaf,
                        key: member.identity.signature_key,
                        kick: false,
                    },
                    now,
                );
            }
        }
    }

    fn on_event(&mut self, seq: u64, ev: Event<'_>, out: &mut Vec<Output>) {
        match ev {
            Event::Joined { member } => {
                if Some(member) != self.me && self.connected.len() < MAX_TRACKED {
                    self.connected.insert(member);
                }
            }
            Event::Left { member, reason } => {
                self.connected.remove(&member);
                if Some(member) == self.me {
                    return;
                }
                let now = self.now_ms;
                let seat = self.host.is_some() && self.host == self.me;
                if let Stage::Member(m) = &mut self.stage {
                    if seat && reason == LeaveReason::Kicked {
                        rotate::after_relay_kick(m, member, out);
                    }
                    m.duties.forget_member(member);
                    m.keys.owed.gone(member);
                    if let Some(leaf) = m.roster.leaf_of(member) {
                        m.left_reasons.entry(member).or_insert(reason);
                        if let Some(key) = m.leaf_key(leaf) {
                            if !m.duties.has_remove_for(leaf) {
                                m.duties.push(
                                    Duty::Remove {
                                        leaf,
                                        key,
                                        kick: false,
                                    },
                                    now,
                                );
                            }
                        }
                    }
                }
            }
            Event::Locked { locked } => {
                self.locked = locked;
                if let Stage::Member(m) = &self.stage {
                    if !m.group.is_host() && m.host_lock != Some(locked) {
                        out.push(warning(None, WARN_LOCK_UNSAID));
                    }
                }
                out.push(event(SessionEvent::Locked { locked }));
            }
            Event::HostChanged { host } => self.on_host_changed(host, out),
            Event::Message { from, to, payload } => {
                if to.is_some() && to != self.me {
                    return; // misrouted; not ours to read
                }
                let Ok(envelope) = Envelope::decode(payload) else {
                    out.push(warning(Some(from), WARN_FORGED));
                    return;
                };
                self.on_envelope(seq, from, to.is_some(), envelope, out);
            }
        }
    }

    fn on_envelope(
        &mut self,
        seq: u64,
        from: MemberId,
        directed: bool,
        envelope: Envelope,
        out: &mut Vec<Output>,
    ) {
        let me = self.me;
        // A rejoin is a join request with the proof of the member it replaces.
        let (envelope, proof) = match envelope {
            Envelope::Rejoin {
                since,
                nonce,
                sealed,
                signatures,
            } => (
                Envelope::KeyPackage {
                    since,
                    nonce,
                    sealed,
                },
                signatures,
            ),
            other => (other, Vec::new()),
        };
        match envelope {
            Envelope::KeyPackage {
                since,
                nonce,
                sealed,
            } => {
                if directed {
                    out.push(warning(Some(from), WARN_DIRECTED));
                    return;
                }
                if Some(from) == me {
                    return; // our own request, echoed
                }
                let now = self.now_ms;
                let Stage::Member(m) = &mut self.stage else {
                    return; // only members add newcomers
                };
                // Under the join key of an earlier pass: only a member's proven rejoin
                // is taken (below).
                let (key_package, stale) = match open_key_package(
                    &m.keys.join_key,
                    &self.room,
                    (from, since),
                    &nonce,
                    &sealed,
                ) {
                    Ok(key_package) => (key_package, false),
                    Err(_) => {
                        match m
                            .keys
                            .open_with_previous(&self.room, (from, since), &nonce, &sealed)
                        {
                            Some(key_package) => (key_package, true),
                            None => {
                                out.push(warning(Some(from), WARN_JOIN_FORGED));
                                return;
                            }
                        }
                    }
                };
                let Ok(identity) = m.group.key_package_identity(&key_package) else {
                    out.push(warning(Some(from), WARN_JOIN_FORGED));
                    return;
                };
                if m.keys.owed.is_kicked(&identity.signature_key) {
                    out.push(warning(Some(from), WARN_JOIN_KICKED));
                    return;
                }
                // A member added back with an older pass than the group's (handed the
                // current one by the host after its add) does not know which requests
                // are current: it leaves them to the others.
                if m.keys.pass_generation() != m.group.renewal() {
                    return;
                }
                // A member resuming after a page reload asks again with the identity of
                // the leaf it holds (proven below): a client id seen only there is not a
                // replay, but a key package taken before is.
                let returning = resume::returning(m, from, &identity);
                // A returning member's older request, replayed: it must not push the
                // member out of the leaf a later request gave it. A newer one replaces
                // an add still owed for its id (it reloaded again before that add
                // landed): only the latest counts.
                if returning && !resume::newer(m, from, since) {
                    out.push(warning(Some(from), WARN_REJOIN_STALE));
                    return;
                }
                if since < m.joined_seq
                    || (m.seen_clients.contains(&identity.client_id) && !returning)
                    || (m.duties.has_add_for(from) && !returning)
                    || resume::taken(m, &key_package)
                {
                    out.push(warning(Some(from), WARN_JOIN_REPLAY));
                    return;
                }
                // A request under an id the members hold a leaf for (a member rejoining
                // after it fell behind, or whose Welcome was lost), or held one for
                // until it was removed, must prove it comes from that leaf's holder:
                // else an insider with the relay could push a member out, or come back
                // under a departed member's id, and be taken for that member.
                let old = m.roster.leaf_of(from);
                let held = match old {
                    Some(leaf) => m
                        .roster
                        .get(leaf)
                        .and_then(|p| p.identity)
                        .map(|i| i.signature_key),
                    None => m.departed_key(from),
                };
                if old.is_some() || held.is_some() {
                    let statement = rejoin_statement(&self.room, (from, since), &key_package);
                    let proven = held.is_some_and(|key| {
                        proof.len() <= MAX_REJOIN_PROOFS
                            && proof.iter().any(|signature| {
                                <[u8; 64]>::try_from(signature.as_slice())
                                    .is_ok_and(|sig| verify_rejoin(&key, &statement, &sig))
                            })
                    });
                    if !proven {
                        out.push(warning(Some(from), WARN_REJOIN_UNPROVEN));
                        return;
                    }
                }
                if stale && old.is_none() {
                    out.push(warning(Some(from), WARN_JOIN_OLD_INVITE));
                    return;
                }
                // The lock keeps newcomers out, not a member coming back as itself.
                let proven_returning = returning && held.is_some();
                if m.host_lock == Some(true) && !proven_returning {
                    out.push(warning(Some(from), WARN_JOIN_LOCKED));
                    return;
                }
                if old.is_none() && host::full(&m.group) && !proven_returning {
                    out.push(warning(Some(from), WARN_JOIN_FULL));
                    return;
                }
                if old.is_some() || held.is_some() {
                    resume::note_since(m, from, since);
                }
                if returning {
                    m.duties.forget_member(from);
                }
                if let Some(old) = old {
                    m.rejoining.insert(from);
                    if let Some(key) = m.leaf_key(old) {
                        if !m.duties.has_remove_for(old) {
                            m.duties.push(
                                Duty::Remove {
                                    leaf: old,
                                    key,
                                    kick: false,
                                },
                                now,
                            );
                        }
                    }
                }
                resume::take(m, &key_package);
                m.duties.push(
                    Duty::Add {
                        member: from,
                        key_package,
                        identity,
                        proven: proven_returning,
                    },
                    now,
                );
            }
            Envelope::Welcome(welcome) => {
                if !directed {
                    out.push(warning(Some(from), WARN_DIRECTED));
                    return;
                }
                let Stage::Joining(j) = &mut self.stage else {
                    out.push(warning(Some(from), WARN_SECOND_WELCOME));
                    return;
                };
                let Ok(group) = j.joiner.join(&j.keys.room_secret, &welcome) else {
                    out.push(warning(Some(from), WARN_WELCOME));
                    // A page that reloaded twice may be handed the Welcome of its first
                    // request: it asks again, under the same identity.
                    if j.resuming {
                        resume::ask_again(self, out);
                    }
                    return;
                };
                let Stage::Joining(j) = core::mem::replace(&mut self.stage, Stage::Ended) else {
                    return;
                };
                let Joining {
                    keys,
                    buffered,
                    since,
                    resuming,
                    ..
                } = *j;
                let mut m = Membership::new(keys, group, since);
                // A newcomer's pass (from its link or code) is the one the members
                // opened its request with: the group's current one, numbered as such.
                if !resuming && m.keys.pass().is_some() && m.keys.pass_generation() == 0 {
                    let renewal = m.group.renewal();
                    m.keys.number_pass(renewal);
                }
                // A host back after a reload: what it owed the relay, if it can; a
                // renewal that was on its way is made again, and a member it kicked
                // before the reload that is still in the group is kicked again.
                rotate::welcomed(&mut m);
                rotate::tell_relay(&mut m, &self.connected, out);
                let members = m.group.members();
                rotate::kick_again(&mut m, &members, self.now_ms);
                self.stage = Stage::Member(Box::new(m));
                self.ready_sent = false;
                // In through a Welcome: a new leaf, which tells the room its profile.
                self.resumed = false;
                self.after_change(out);
                for (seq, sender, bytes) in buffered {
                    self.on_group(seq, sender, &bytes, true, out);
                }
                self.resumed_after = None;
            }
            Envelope::Group(bytes) => {
                if directed {
                    out.push(warning(Some(from), WARN_DIRECTED));
                    return;
                }
                if let Stage::Joining(j) = &mut self.stage {
                    j.buffered_bytes += bytes.len();
                    j.buffered.push_back((seq, from, bytes));
                    while j.buffered.len() > MAX_BUFFERED || j.buffered_bytes > MAX_BUFFERED_BYTES {
                        match j.buffered.pop_front() {
                            Some((_, _, old)) => j.buffered_bytes -= old.len(),
                            None => break,
                        }
                    }
                    return;
                }
                self.on_group(seq, from, &bytes, false, out);
            }
            Envelope::Direct { enc, sealed } => self.on_direct(from, directed, (enc, sealed), out),
            // Turned into a `KeyPackage` with its proof above.
            Envelope::Rejoin { .. } => {}
        }
    }

    /// One MLS message, in relay order. `early` marks messages buffered before this
    /// member's Welcome: those from before it joined are dropped silently.
    fn on_group(
        &mut self,
        seq: u64,
        from: MemberId,
        bytes: &[u8],
        early: bool,
        out: &mut Vec<Output>,
    ) {
        self.note_departed();
        let me = self.me;
        let Stage::Member(m) = &mut self.stage else {
            return;
        };
        let host_before = m.group.host_key();
        let incoming = match m.group.handle(bytes) {
            // An own commit the rules refuse now, as every member does: dropped.
            Err(GroupError::Refused) => return,
            Ok(incoming) => incoming,
            Err(GroupError::WrongEpoch) if early => {
                if resume::missed(self.resumed_after, seq, bytes) {
                    out.push(event(SessionEvent::Undecryptable { from, seq }));
                }
                return;
            }
            Err(GroupError::WrongEpoch) => {
                out.push(event(SessionEvent::Undecryptable { from, seq }));
                return;
            }
            Err(GroupError::Replay) => {
                out.push(warning(Some(from), WARN_REPLAY));
                return;
            }
            Err(GroupError::Inactive) => return,
            Err(_) if early => return,
            Err(_) => {
                out.push(warning(Some(from), WARN_FORGED));
                return;
            }
        };
        match incoming {
            Incoming::Application {
                sender,
                id,
                plaintext,
            } => {
                // Who sent it is the group's word (the leaf); its relay id is the one the
                // leaf claimed for itself. Until it has, the relay's stamp is shown, and
                // the first one is kept aside: the leaf's claim still decides, and a
                // claim that contradicts that stamp is warned about.
                let known = m.roster.get(sender.leaf).and_then(|p| p.member);
                if known.is_some_and(|k| k != from) {
                    out.push(warning(Some(from), WARN_MOVED));
                }
                if known.is_none() {
                    m.roster.stamp(sender.leaf, from);
                }
                let sender_id = known.unwrap_or(from);
                let Ok(content) = Content::open(&plaintext) else {
                    out.push(warning(Some(sender_id), WARN_FORGED));
                    return;
                };
                let is_host = sender.identity.signature_key == m.group.host_key();
                let ended = m.on_content(
                    (sender.leaf, &sender.identity, sender_id, is_host, me),
                    content,
                    seq,
                    id,
                    out,
                );
                if ended {
                    self.end(CloseReason::Terminated, out);
                }
            }
            Incoming::OwnApplication { id } => {
                if let (Some(padded), Some(me)) = (m.own_pending.remove(&id), me) {
                    if let Ok(content) = Content::open(&padded) {
                        m.on_own(content, (me, &self.nick), seq, id, out);
                    }
                }
            }
            Incoming::Commit {
                committer,
                by_host,
                by_moderator,
                kind,
                added,
                removed,
                epoch,
                welcome,
                dropped_own: _,
                renewed,
            } => {
                let own_commit = committer.leaf == m.group.own_leaf();
                if own_commit {
                    // Every own commit carries a fresh path: the update policy restarts.
                    m.sent_since_update = 0;
                    m.last_update_ms = self.now_ms;
                }
                // Who was removed, and what to say about it.
                let mut moderator_kicks = Vec::new();
                for gone in &removed {
                    let peer = m.roster.get(gone.leaf).cloned().unwrap_or_default();
                    m.seen_clients.insert(gone.identity.client_id);
                    if let Some(member) = peer.member {
                        m.departed_keys
                            .push_back((member, gone.identity.signature_key));
                        if m.departed_keys.len() > MAX_TRACKED {
                            m.departed_keys.pop_front();
                        }
                    }
                    // A kick is the host's or a moderator's removal that renews the
                    // invitation: the group's word, the same for every member.
                    let kicked = (by_host || by_moderator) && renewed.is_some();
                    let by_mod = by_moderator && kicked;
                    // A moderator's own kick: the relay disconnects the member now that
                    // its commit won, and takes the new join proof with it
                    // (`rotate::on_renewed`, once the pass is derived).
                    if let Some(member) = m.moderators.own_kicks.remove(&gone.leaf) {
                        if own_commit && peer.member == Some(member) {
                            moderator_kicks.push(member);
                        }
                    }
                    // This member's own kick as host: the relay disconnects the member
                    // once the invitation is renewed (in this commit, or in the host's
                    // next one when someone else's removal came first).
                    rotate::kicked_out(m, &gone.identity.signature_key, renewed.is_some());
                    let Some(id) = peer.member else { continue };
                    if by_mod && !own_commit {
                        rotate::moderator_kicked(m, gone.identity.signature_key, id);
                    }
                    if kicked {
                        // A kicked member's pending requests die with its leaf: it does
                        // not come back as a rejoin.
                        m.rejoining.remove(&id);
                        m.returning.remove(&id);
                        m.duties.forget_member(id);
                    }
                    if m.rejoining.remove(&id) {
                        // Its old leaf; it is coming back under a new one.
                        resume::keep_returning(m, id, peer.nick.clone());
                        continue;
                    }
                    m.returned_since.remove(&id);
                    let reported = m.left_reasons.remove(&id);
                    let reason = match (kicked, reported) {
                        (true, _) => LeaveReason::Kicked,
                        (false, Some(LeaveReason::Kicked)) => {
                            out.push(warning(None, WARN_KICK_UNSAID));
                            LeaveReason::Disconnected
                        }
                        (false, Some(reason)) => reason,
                        (false, None) => {
                            if self.connected.contains(&id) && !own_commit {
                                out.push(warning(Some(from), WARN_REMOVED_PRESENT));
                            }
                            LeaveReason::Disconnected
                        }
                    };
                    let moderator = by_mod.then(|| match own_commit {
                        true => self.nick.clone(),
                        false => m
                            .roster
                            .get(committer.leaf)
                            .and_then(|p| p.nick.clone())
                            .unwrap_or_else(|| placeholder_nick(&committer.identity)),
                    });
                    if peer.shown {
                        out.push(event(SessionEvent::MemberLeft {
                            member: id,
                            nick: peer
                                .nick
                                .clone()
                                .unwrap_or_else(|| placeholder_nick(&gone.identity)),
                            reason,
                            moderator,
                        }));
                    }
                }
                if let Some(generation) = renewed {
                    if !rotate::on_renewed(m, generation, own_commit, &self.connected, out) {
                        self.end(CloseReason::Removed, out);
                        return;
                    }
                }
                rotate::moderator_kicks(m, &moderator_kicks, out);
                let members = m.group.members();
                m.roster.sync(&members);
                // The removals this commit carried out are done (a commit never adds
                // and removes together, so no leaf of it is filled again).
                m.duties.removed(&removed);
                let adding = m.adding.take();
                // Newcomers: their relay id is the one their sealed key package was
                // bound to; hand our Welcome to them if the commit was ours.
                let mut welcomed = Vec::new();
                m.duties.owed.retain(|o| match &o.duty {
                    Duty::Add {
                        member, identity, ..
                    } => {
                        // Among the leaves this commit added: a member resuming after a
                        // reload asks with the identity its old leaf still has.
                        if let Some(added) = added.iter().find(|x| x.identity == *identity) {
                            welcomed.push((added.leaf, *member, identity.client_id));
                            false
                        } else {
                            true
                        }
                    }
                    Duty::Remove { .. } => true,
                });
                // A removal is owed to the member that held the leaf, never to one a
                // commit put in its place.
                m.duties.keep_removals_of(&members);
                for &(leaf, member, client) in &welcomed {
                    m.seen_clients.insert(client);
                    let _ = m.roster.attribute(leaf, member);
                    resume::carry_over(m, leaf, member);
                }
                // Anyone added that nobody here saw ask to join is shown loudly: it got
                // in without going through the room's join requests.
                if kind == CommitKind::Add && welcomed.is_empty() && !early {
                    let expected = adding.as_ref().is_some_and(|(identity, _)| {
                        members.iter().any(|x| x.identity == *identity)
                    });
                    if !expected {
                        out.push(warning(Some(from), WARN_UNASKED_ADD));
                    }
                }
                for member in &members {
                    m.seen_clients.insert(member.identity.client_id);
                }
                if let (Some(welcome), Some((identity, newcomer))) = (welcome, adding) {
                    if let Some(added) = members.iter().find(|x| x.identity == identity) {
                        let _ = m.roster.attribute(added.leaf, newcomer);
                        out.push(send(Some(newcomer), &Envelope::Welcome(welcome)));
                        // A newcomer that left before it was added is removed again.
                        if !self.connected.contains(&newcomer) {
                            m.duties.push(
                                Duty::Remove {
                                    leaf: added.leaf,
                                    key: added.identity.signature_key,
                                    kick: false,
                                },
                                self.now_ms,
                            );
                        }
                    }
                }
                // A kicked member back under another leaf (a rejoin the others took)
                // is kicked again, under the relay id its request was bound to.
                rotate::kick_again(m, &members, self.now_ms);
                out.push(event(SessionEvent::SafetyCode {
                    epoch,
                    code: m.group.safety_code(),
                }));
                // A newcomer learns who is who from each member's profile.
                if let (CommitKind::Add, Some(me)) = (kind, me) {
                    m.announce(&self.nick, me, out);
                    rotate::after_add(m, out);
                }
                // Texts typed while our commit was pending go out now.
                if !m.group.has_pending_commit() {
                    while let Some(padded) = m.queued.pop_front() {
                        m.send_post(padded, out);
                    }
                }
            }
            Incoming::Removed { kicked } => {
                // Kicked when the host's renewing commit removed it; otherwise the
                // members took this member out (its connection was gone too long, or it
                // rejoined).
                let reason = if kicked {
                    CloseReason::Kicked
                } else {
                    CloseReason::Removed
                };
                self.end(reason, out);
            }
        }
        self.after_host_change(host_before, out);
    }

    /// Carries out owed commits that are this member's turn, one at a time (a commit
    /// waits for its echo before the next).
    fn run_duties(&mut self, out: &mut Vec<Output>) {
        self.note_departed();
        let now = self.now_ms;
        let Stage::Member(m) = &mut self.stage else {
            return;
        };
        if let Some(now) = now {
            m.duties.stamp(now);
        }
        if m.group.has_pending_commit() || self.conn != Conn::Live {
            return;
        }
        let own = m.group.own_leaf();
        let online = m
            .roster
            .online_leaves(|id| self.connected.contains(&id) || Some(id) == self.me);
        let mut online = online;
        if !online.contains(&own) {
            online.push(own);
        }
        // An owed renewal of the invitation before anything else: no request made with
        // the old one is added in between by this member.
        if let Some(commit) = rotate::renewal_commit(m) {
            out.push(send(None, &Envelope::Group(commit)));
            return;
        }
        // Removals first: a rejoining member's old leaf goes before its new one comes.
        let mut order: Vec<usize> = (0..m.duties.owed.len()).collect();
        order.sort_by_key(|&i| !matches!(m.duties.owed[i].duty, Duty::Remove { .. }));
        for i in order {
            let owed = &m.duties.owed[i];
            let (exclude, kick) = match &owed.duty {
                Duty::Remove { leaf, kick, .. } => (vec![*leaf], *kick),
                Duty::Add { .. } => (Vec::new(), false),
            };
            let position = if kick {
                0
            } else {
                let order = committer_order(online.iter().copied(), &exclude);
                match my_turn(&order, own) {
                    Some(p) => p,
                    None => continue,
                }
            };
            if !duties::due(position, owed.since_ms, now) {
                continue;
            }
            let commit = match &owed.duty {
                // Only while the leaf still holds the member the removal is owed to.
                Duty::Remove { leaf, key, .. } if m.leaf_key(*leaf) != Some(*key) => {
                    m.duties.owed.remove(i);
                    return;
                }
                // The host's kick renews the invitation in the same commit.
                Duty::Remove {
                    leaf, kick: true, ..
                } => m.group.kick(*leaf),
                Duty::Remove { leaf, .. } => m.group.remove(&[*leaf]),
                Duty::Add {
                    key_package,
                    identity,
                    member,
                    ..
                } => {
                    // Its old leaf, with the same signature key, goes first: keys are
                    // unique in a group (RFC 9420, §7.3).
                    if resume::key_in_group(&m.group, identity) {
                        continue;
                    }
                    m.adding = Some((*identity, *member));
                    m.group.add(key_package)
                }
            };
            match commit {
                Ok(bytes) => {
                    out.push(send(None, &Envelope::Group(bytes)));
                    return;
                }
                Err(_) => {
                    // The duty cannot be done (the leaf is gone, the key package is
                    // invalid): nobody can, so it is dropped.
                    m.duties.owed.remove(i);
                    return;
                }
            }
        }
        if let Some(commit) = self.host_commit() {
            out.push(send(None, &Envelope::Group(commit)));
        } else if let Some(commit) = self.moderator_commit() {
            out.push(send(None, &Envelope::Group(commit)));
        }
    }
}

impl Membership {
    /// The signature key the group holds at `leaf`.
    fn leaf_key(&self, leaf: u32) -> Option<[u8; 32]> {
        self.group
            .members()
            .into_iter()
            .find(|x| x.leaf == leaf)
            .map(|x| x.identity.signature_key)
    }

    /// The signature key of the latest removed leaf that had relay id `member`.
    fn departed_key(&self, member: MemberId) -> Option<[u8; 32]> {
        self.departed_keys
            .iter()
            .rev()
            .find(|(id, _)| *id == member)
            .map(|(_, key)| *key)
    }

    fn new(keys: Keys, group: Group, joined_seq: u64) -> Self {
        let mut roster = Roster::default();
        let members = group.members();
        roster.sync(&members);
        let seen_clients = members.iter().map(|m| m.identity.client_id).collect();
        Membership {
            keys,
            group,
            roster,
            duties: Duties::default(),
            own_pending: BTreeMap::new(),
            queued: VecDeque::new(),
            talk: talk::Talk::new(),
            seen_clients,
            sent_since_update: 0,
            last_update_ms: None,
            epoch_since: (u64::MAX, 0),
            left_reasons: BTreeMap::new(),
            rejoining: BTreeSet::new(),
            departed_keys: VecDeque::new(),
            returned_since: BTreeMap::new(),
            adding: None,
            joined_seq,
            host_lock: None,
            host_terminated: false,
            files: files::Offers::default(),
            codes: codes::Codes::default(),
            taken_packages: VecDeque::new(),
            returning: BTreeMap::new(),
            host: host::HostMoves::default(),
            moderators: moderators::ModeratorState::default(),
        }
    }

    fn own_identity(&self) -> Option<PublicIdentity> {
        let own = self.group.own_leaf();
        self.group
            .members()
            .into_iter()
            .find(|m| m.leaf == own)
            .map(|m| m.identity)
    }

    /// Sends a content to the group now; one that is shown on its echo
    /// ([`talk::echoed`]) is kept until then.
    fn send_content(&mut self, content: &Content, out: &mut Vec<Output>) {
        self.send_padded(content.seal_ready(), talk::echoed(content), out);
    }

    fn send_padded(&mut self, padded: Zeroizing<Vec<u8>>, echoed: bool, out: &mut Vec<Output>) {
        let Ok((bytes, id)) = self.group.encrypt(&padded) else {
            return;
        };
        self.sent_since_update = self.sent_since_update.saturating_add(1);
        if echoed {
            if self.own_pending.len() >= MAX_OWN_PENDING {
                self.own_pending.pop_first();
            }
            self.own_pending.insert(id, padded);
        }
        out.push(send(None, &Envelope::Group(bytes)));
    }

    /// Sends a chat message (a padded `Text` or `Post`); it counts towards the next
    /// key refresh.
    fn send_post(&mut self, padded: Zeroizing<Vec<u8>>, out: &mut Vec<Output>) {
        self.send_padded(padded, true, out);
    }

    /// Ends an epoch that carried messages once it is [`EPOCH_REFRESH_MS`] old
    /// (PROTOCOL.md §9.10): the first member in committer order commits an update of
    /// its own leaf, the others follow [`FALLBACK_MS`] apart if it does not.
    fn refresh_old_epoch(&mut self, now_ms: u64, out: &mut Vec<Output>) {
        let epoch = self.group.epoch();
        if self.epoch_since.0 != epoch {
            self.epoch_since = (epoch, now_ms);
            return;
        }
        if !self.group.epoch_used() || self.group.has_pending_commit() {
            return;
        }
        let order = committer_order(self.group.members().iter().map(|m| m.leaf), &[]);
        let Some(rank) = my_turn(&order, self.group.own_leaf()) else {
            return;
        };
        let due = EPOCH_REFRESH_MS.saturating_add(FALLBACK_MS.saturating_mul(rank as u64));
        if now_ms.saturating_sub(self.epoch_since.1) < due {
            return;
        }
        if let Ok(bytes) = self.group.self_update() {
            out.push(send(None, &Envelope::Group(bytes)));
        }
    }

    /// Commits fresh own keys when the policy says so (PROTOCOL.md §9.10).
    fn maybe_self_update(&mut self, now_ms: u64, out: &mut Vec<Output>) {
        let last = *self.last_update_ms.get_or_insert(now_ms);
        let due = self.sent_since_update >= UPDATE_AFTER_MESSAGES
            || now_ms.saturating_sub(last) >= UPDATE_AFTER_MS;
        if !due || self.group.has_pending_commit() {
            return;
        }
        // The counters restart when an own commit lands; one that loses a race is
        // made again at the next message.
        if let Ok(bytes) = self.group.self_update() {
            out.push(send(None, &Envelope::Group(bytes)));
        }
    }

    /// Forgets an own commit the relay will never order (its socket died, or the relay
    /// refused the frame), so duties and messages are not held behind it forever.
    fn drop_lost_commit(&mut self) {
        if self.group.has_pending_commit() {
            self.group.discard_pending_commit();
            self.adding = None;
        }
    }

    /// Shows one authenticated content. Returns `true` when the host ended the room.
    fn on_content(
        &mut self,
        (leaf, identity, sender, is_host, me): (
            u32,
            &PublicIdentity,
            MemberId,
            bool,
            Option<MemberId>,
        ),
        content: Content,
        seq: u64,
        id: MessageId,
        out: &mut Vec<Output>,
    ) -> bool {
        let placeholder = placeholder_nick(identity);
        let who = talk::Who {
            leaf,
            identity,
            member: sender,
        };
        match content {
            Content::Profile { nick, member } => {
                // The leaf's own claim of its relay id: taken once, and never this
                // member's own id, another leaf's, or one the relay's stamp on this very
                // claim contradicts (an insider claiming the id of a member whose own
                // profile has not arrived yet, so that what is done to its leaf, such
                // as a kick's disconnection, would hit that member).
                let first_claim = self.roster.get(leaf).is_some_and(|p| p.member.is_none());
                if Some(member) == me
                    || (first_claim && member != sender)
                    || self.roster.attribute(leaf, member) == Attribution::Mismatch
                {
                    out.push(warning(Some(sender), WARN_MOVED));
                    return false;
                }
                let Some(peer) = self.roster.get_mut(leaf) else {
                    return false;
                };
                if peer.stamped.take().is_some_and(|stamped| stamped != member) {
                    out.push(warning(Some(sender), WARN_MOVED));
                }
                let nick = clean_nick(&nick);
                let nick = if nick.is_empty() { placeholder } else { nick };
                let old = peer.nick.replace(nick.clone());
                if !peer.shown {
                    peer.shown = true;
                    out.push(event(SessionEvent::MemberJoined {
                        member,
                        nick,
                        fingerprint: identity.fingerprint().to_string(),
                    }));
                } else if let Some(old) = old.filter(|o| *o != nick) {
                    out.push(event(SessionEvent::NickChanged {
                        member,
                        old,
                        new: nick,
                    }));
                }
            }
            Content::File(offer) => self.files.offered(sender, offer),
            Content::Pass { pass, generation } => {
                if !rotate::on_pass(self, is_host, (pass, generation), out) {
                    out.push(warning(Some(sender), WARN_NOT_HOST));
                }
            }
            Content::Host(action) => {
                if !is_host {
                    // A moderator's lock, checked against the group's record.
                    if !moderators::moderator_may(&self.group, &identity.signature_key, &action) {
                        out.push(warning(Some(sender), WARN_NOT_HOST));
                        return false;
                    }
                    if let HostAction::Lock(locked) = action {
                        self.host_lock = Some(locked);
                    }
                    return false;
                }
                match action {
                    HostAction::Lock(locked) => self.host_lock = Some(locked),
                    HostAction::Terminate => return true,
                }
            }
            other => self.on_talk(who, other, seq, id, out),
        }
        false
    }
}
