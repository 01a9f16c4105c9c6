//! The boundary between the web app's two halves: its interface (Leptos, the page's
//! signals, blobs, audio, the clipboard) and its room (the session and every key, the
//! socket to the relay, file transfers' cryptography, rooms by name, short codes, the
//! saved session for a reload).
//!
//! The two halves share no memory: every value crosses encoded with postcard
//! ([`encode`], [`decode`]).
//! - Interface → room: a [`Command`], answered at once by a [`Reply`] (the call is
//!   synchronous: the room runs the command and returns the encoded answer).
//! - Room → interface: [`RoomEvent`]s, in order, through a callback the interface
//!   gives the room. An event can arrive while a command runs (a sent message shows
//!   itself), so the interface must hold no borrow of its own state across a call.
//!
//! This crate links vroom-shared without its `crypto` feature: only the plain wire types
//! ([`MemberId`], [`CloseReason`], [`ErrorCode`], [`LeaveReason`], [`RoomLimits`]).
//! What the session defines behind `mls` has its own form here ([`MessageId`],
//! [`MemberInfo`], [`SafetyView`], [`ActionError`], …); the room turns one into the
//! other.
//!
//! Values that carry secrets (an invite link, a passphrase, a short code) have no
//! `Debug`; the conversation's lines (`line.rs`) have, for tests' messages, and are never
//! logged. [`encode`] hands back bytes that are zeroized when dropped (postcard's
//! intermediate buffers while it grows one are not).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

pub use vroom_shared::origin::is_secure_origin;
pub use vroom_shared::wire::{CloseReason, ErrorCode, LeaveReason, MemberId, RoomLimits};

mod line;
mod sentences;

pub use line::{Change, Line, LineKind, Part, Quote, Reaction, View};
pub use sentences::{
    badge, bytes, friendly_nick, ACCEPT_MS, ALONE, MAX_SAVED_LINES, PLACE_LOST, WAITING,
};

/// Encodes a value that crosses the boundary.
pub fn encode<T: Serialize>(value: &T) -> Zeroizing<Vec<u8>> {
    // postcard fails only on a type it cannot encode (a map without a length): none of
    // this crate's.
    Zeroizing::new(postcard::to_allocvec(value).unwrap_or_default())
}

/// Decodes a value that crossed the boundary.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Garbled> {
    postcard::from_bytes(bytes).map_err(|_| Garbled)
}

/// The bytes were not a value of the expected type: the two halves are out of step (a
/// stale module in the browser's cache).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Garbled;

impl std::fmt::Display for Garbled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("This page is out of date. Reload it.")
    }
}

/// 16 bytes that name one message for every member alike (the session's `MessageId`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MessageId(pub [u8; 16]);

/// A file's random id (the transfers' `FileId`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FileId(pub [u8; 16]);

/// Whether a member is at the room or away from it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Presence {
    /// Looking at the room.
    #[default]
    Active,
    /// Idle, or the room is in a background tab.
    Away,
}

/// One member as the member list shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberInfo {
    /// Its id.
    pub member: MemberId,
    /// Its nickname.
    pub nick: String,
    /// Its safety words.
    pub fingerprint: String,
    /// Whether it is the host.
    pub is_host: bool,
    /// Whether it is a moderator.
    pub is_moderator: bool,
    /// Whether it is this member.
    pub is_self: bool,
    /// Whether it is at the room or away.
    pub presence: Presence,
}

/// One epoch's safety code, as the safety panel shows it: the words to read aloud and
/// the strip of coloured emoji to hold side by side. The room renders it (the word
/// list and the colours stay with the group layer).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SafetyView {
    /// The epoch it belongs to.
    pub epoch: u64,
    /// The raw code: a new code is told from the last one by it.
    pub code: Vec<u8>,
    /// The code as words.
    pub words: Vec<String>,
    /// The code as a strip.
    pub strip: Vec<StripCell>,
}

/// One cell of the safety strip.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StripCell {
    /// The emoji.
    pub emoji: String,
    /// The colour's name.
    pub colour: String,
    /// The colour as CSS hex.
    pub hex: String,
}

/// Why a user action could not be done (the session's `ActionError`). Its sentences are
/// the session's ([`std::fmt::Display`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ActionError {
    /// Not in the room yet.
    NotReady,
    /// The room is over.
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
    /// The message is not known.
    UnknownMessage,
    /// That member cannot receive direct messages yet.
    NoDirectKey,
    /// Not a reaction.
    InvalidReaction,
    /// Only the host or a moderator can do that.
    NotModerator,
    /// The room has as many moderators as it can name.
    TooManyModerators,
}

/// Why a nickname was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NickError {
    /// Nothing visible is left of it.
    Blank,
    /// The session refused the change.
    Action(ActionError),
}

/// Which screen the app shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Screen {
    /// The start page: introduction, create, join.
    Landing,
    /// Waiting for the relay to let us in.
    Connecting,
    /// Let in by the relay, waiting for a member of the room to add us to the group.
    Waiting,
    /// Inside a room.
    Room,
    /// The room is over (or this member's place in it); the page holds nothing of it.
    Ended {
        /// What happened to this member, as a heading.
        title: String,
        /// What happened, in one sentence.
        why: String,
    },
    /// The room could not be entered.
    Problem(Problem),
}

/// A page that says what went wrong and what to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// A short heading.
    pub title: String,
    /// What happened and what to do, in plain words.
    pub detail: String,
}

/// How the connection to the relay stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Connection {
    /// Opening the socket or waiting for the relay's welcome.
    Connecting,
    /// Live.
    Connected,
    /// The socket dropped; a new one opens soon.
    Reconnecting,
}

/// What the start page asked for by room name: the name and passphrase as typed, and
/// whether to create the room or join it. Zeroized when dropped.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct NamedEntry {
    /// The room name as typed.
    pub name: String,
    /// The passphrase as typed.
    pub passphrase: String,
    /// The nickname to enter with.
    pub nick: String,
    /// Create (true) or join (false).
    pub create: bool,
}

/// The room name and passphrase of the room this member is in, for the invite panel.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct NamedShare {
    /// The name, normalised.
    pub name: String,
    /// The passphrase as typed.
    pub passphrase: String,
    /// Whether the host renewed the invitation since: name and passphrase no longer let
    /// anyone in.
    pub replaced: bool,
}

/// The relay refused a room entered by name: the start page asks what to do.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Refusal {
    /// Creating: a room with this name and passphrase is open. Join it?
    Exists(NamedEntry),
    /// Joining: no room with this name and passphrase is open. Create it?
    Missing(NamedEntry),
}

impl Refusal {
    /// What was asked for.
    pub fn entry(&self) -> &NamedEntry {
        match self {
            Refusal::Exists(entry) | Refusal::Missing(entry) => entry,
        }
    }
}

/// One of this member's live short codes.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct LiveCode {
    /// Its nameplate (its number, not secret): what revoking names it by.
    pub nameplate: u32,
    /// The code as people say and type it.
    pub code: String,
    /// When it expires, on the page's clock (milliseconds since the Unix epoch).
    pub expires_at_ms: u64,
    /// Wrong tries it survives still (it admits nobody once none are left).
    pub tries_left: u8,
    /// Joiners let in with it.
    pub admitted: u32,
}

/// One file in the conversation, as its card shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileCard {
    /// The file.
    pub id: FileId,
    /// Its cleaned name.
    pub name: String,
    /// Its media type, as offered.
    pub media_type: String,
    /// Its size in bytes.
    pub size: u64,
    /// Whether this member sends it.
    pub own: bool,
    /// The sender's nickname.
    pub nick: String,
}

/// Where a file's transfer stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Transfer {
    /// Own file, waiting for the files before it (or for its metadata to be removed).
    Queued,
    /// Offered to this member; "Receive" takes it.
    Offered,
    /// Moving.
    Running {
        /// Bytes done.
        done: u64,
        /// Bytes in all.
        total: u64,
        /// Bytes per second.
        rate: u64,
        /// Seconds left, when known.
        eta: Option<u64>,
    },
    /// Sent to every receiver that took it.
    Sent,
    /// Here: the decrypted file's `blob:` URL (made by the interface, which holds the
    /// blob).
    Received(String),
    /// It stopped: why, in a sentence.
    Failed(String),
}

/// A file the user picked, dropped or pasted, as the room needs to know it; the
/// interface keeps the `File` itself and reads chunks of it when asked
/// ([`RoomEvent::ReadChunk`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Picked {
    /// The interface's number for it, until the room gives it a [`FileId`].
    pub local: u32,
    /// Its name, as the browser gives it.
    pub name: String,
    /// Its media type, as the browser gives it.
    pub media_type: String,
    /// Its size in bytes.
    pub size: u64,
}

/// What an address or a pasted text is, as the start page needs to know it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LinkCheck {
    /// Not an invitation: the start page.
    Landing,
    /// An invitation to a room on this relay: its link, as the room wants it back in
    /// [`Command::Join`].
    Here(String),
    /// An invitation to a room on another relay: its link, to open.
    Elsewhere(String),
    /// A damaged invitation: what is wrong, in a sentence.
    Invalid(String),
}

/// What a reload found saved for the room of its address.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Resumed {
    /// Nothing: join as a new member.
    Nothing,
    /// An entry past its deadline (removed): the nickname it had, to join again with.
    Expired(String),
    /// The room is being entered: as the saved member, or (alone, and not the host)
    /// joining again under the saved name.
    Back,
}

/// A user action or a question, from the interface to the room. Answered by a [`Reply`].
#[derive(Clone, Serialize, Deserialize)]
pub enum Command {
    // Ways in.
    /// Create a room and enter it as its host. [`Reply::Nick`] for a blank name.
    Create {
        /// The nickname.
        nick: String,
    },
    /// Join the room of an invite link ([`LinkCheck::Here`]). [`Reply::Nick`] for a blank
    /// name.
    Join {
        /// The invite link.
        link: String,
        /// The nickname.
        nick: String,
    },
    /// Join again as a new member after a reload that could not come back as the same
    /// member, saying why.
    JoinAgain {
        /// The invite link.
        link: String,
        /// The nickname it had (a friendly one replaces a blank one).
        nick: String,
        /// Why, in a sentence.
        sentence: String,
    },
    /// Come back as the member this tab saved, if the saved entry is for the room of
    /// `link`. [`Reply::Resumed`], or [`Reply::Failed`] for a link that is not an
    /// invitation. A member that was alone and not the host joins again at once
    /// (nobody is left to add it back as itself) and the answer is [`Resumed::Back`].
    Resume {
        /// The invite link of the page's address.
        link: String,
    },
    /// What the page's address is. [`Reply::Link`]. A saved entry is only for the room
    /// the tab was in: an address that is not an invitation removes it.
    CheckAddress {
        /// The page's origin.
        origin: String,
        /// Its path.
        path: String,
        /// Its fragment, with the `#`.
        hash: String,
    },
    /// What a pasted text is. [`Reply::Link`].
    CheckPasted {
        /// The page's origin.
        origin: String,
        /// What was pasted.
        text: String,
    },
    /// Whether a nickname shows as something. [`Reply::Done`] or [`Reply::Nick`].
    CheckNick {
        /// The nickname.
        nick: String,
    },
    /// Check a room name, passphrase and nickname (cheap). [`Reply::Named`] with the
    /// normalised name, or [`Reply::Failed`]. The room keeps the checked entry for
    /// [`Command::EnterNamed`].
    CheckNamed(NamedEntry),
    /// Work out the room secret of the last checked entry (slow: Argon2id) and enter
    /// the room. [`Reply::Millis`]: how long the derivation took.
    EnterNamed,
    /// Run the short-code exchange for a typed code. [`Reply::Failed`] for a code or a
    /// name that cannot be used at all; the outcome follows as events.
    JoinByCode {
        /// The code as typed.
        typed: String,
        /// The nickname.
        nick: String,
    },

    // In the room. Each is [`Reply::Done`] or [`Reply::Refused`].
    /// A chat message.
    SendText {
        /// The text.
        text: String,
    },
    /// A `/me` action.
    SendAction {
        /// The text.
        text: String,
    },
    /// A reply to a message.
    SendReply {
        /// The message answered.
        to: MessageId,
        /// The text.
        text: String,
    },
    /// A direct message to one member.
    SendDirect {
        /// The member.
        to: MemberId,
        /// The text.
        text: String,
    },
    /// A new text for one of this member's messages.
    Edit {
        /// The message.
        id: MessageId,
        /// The new text.
        text: String,
    },
    /// Delete one of this member's messages for everyone.
    Delete {
        /// The message.
        id: MessageId,
    },
    /// Add or take back a reaction.
    React {
        /// The message.
        id: MessageId,
        /// The emoji.
        emoji: String,
        /// Add (true) or take back.
        on: bool,
    },
    /// A key was pressed in the message box (true), or it was emptied.
    Typing(bool),
    /// The user has seen the conversation up to this message.
    Read {
        /// The latest message seen.
        upto: MessageId,
    },
    /// The page is shown (true) or hidden.
    Active(bool),
    /// Change this member's nickname. [`Reply::Nick`] when refused.
    SetNick {
        /// The new nickname.
        nick: String,
    },
    /// Whether a message is this member's and can still be edited. [`Reply::Bool`].
    CanEdit {
        /// The message.
        id: MessageId,
    },

    // The host's and moderators' actions.
    /// End the room for everyone.
    Terminate,
    /// Lock or unlock the room.
    Lock(bool),
    /// The most members the room lets in (`None`: the relay's limit).
    MemberCap(Option<u32>),
    /// Remove a member.
    Kick(MemberId),
    /// Make a member a moderator, or take that back.
    Moderator {
        /// The member.
        member: MemberId,
        /// Make (true) or take back.
        on: bool,
    },
    /// Hand host powers to another member.
    HandOver(MemberId),
    /// Leave the room for good.
    Leave,
    /// Ask the relay for a new short code.
    MakeCode,
    /// Revoke a short code.
    RevokeCode {
        /// Its nameplate.
        nameplate: u32,
    },

    // The page's life.
    /// Save what a reload needs to come back as this member, with what the page shows.
    SaveForReload(View),
    /// The page goes away or into the back/forward cache: close the socket without
    /// leaving.
    Suspend,
    /// The page is back or the network returned: reopen a dead socket at once.
    Wake,

    // Files.
    /// Files to send, in order.
    SendFiles {
        /// The files.
        files: Vec<Picked>,
        /// Whether pictures keep their metadata.
        keep_metadata: bool,
    },
    /// A picture's copy without metadata is ready (its new size), or could not be made
    /// (why).
    Cleaned {
        /// The file.
        id: FileId,
        /// Its new size, or why not.
        size: Result<u64, String>,
    },
    /// The chunk [`RoomEvent::ReadChunk`] asked for.
    Chunk {
        /// The file.
        id: FileId,
        /// The chunk's index.
        index: u32,
        /// Its bytes, or `None` when the read failed.
        bytes: Option<Vec<u8>>,
    },
    /// Take an offered file.
    AcceptFile(FileId),
    /// Stop a transfer.
    CancelFile(FileId),
    /// Remove a file's card (its URL is revoked by the interface).
    RemoveFile(FileId),
}

/// The room's answer to a [`Command`].
#[derive(Clone, Serialize, Deserialize)]
pub enum Reply {
    /// Done.
    Done,
    /// The session refused the action.
    Refused(ActionError),
    /// The nickname was refused.
    Nick(NickError),
    /// It could not be done: why, in a sentence.
    Failed(String),
    /// A yes or a no.
    Bool(bool),
    /// The normalised room name of a checked entry.
    Named(String),
    /// How long something took, in milliseconds.
    Millis(f64),
    /// What an address or a pasted text is.
    Link(LinkCheck),
    /// What a reload found.
    Resumed(Resumed),
    /// The bytes of the command were not a command (the halves are out of step).
    Garbled,
}

impl Reply {
    /// The answer to an action: done or refused.
    pub fn action(self) -> Result<(), ActionError> {
        match self {
            Reply::Refused(e) => Err(e),
            _ => Ok(()),
        }
    }

    /// The answer to a nickname change or an entry: done or the nickname refused.
    pub fn nick(self) -> Result<(), NickError> {
        match self {
            Reply::Nick(e) => Err(e),
            Reply::Refused(e) => Err(NickError::Action(e)),
            _ => Ok(()),
        }
    }
}

/// What the interface must show, from the room, in order.
#[derive(Clone, Serialize, Deserialize)]
pub enum RoomEvent {
    // The page.
    /// Show this screen.
    Screen(Screen),
    /// The connection now stands so.
    Connection(Connection),
    /// Forget the conversation, the members, the invite and the codes (a room is being
    /// entered afresh, or it is over).
    Wipe,
    /// Put this address in the address bar, without a navigation (an invite link while
    /// in a room, `/` once it is over).
    Address(String),

    // The conversation.
    /// A new line. A message with `reply_to` gets the quote of that message from the
    /// lines the interface shows.
    Said {
        /// The line.
        kind: LineKind,
        /// The message it answers.
        reply_to: Option<MessageId>,
    },
    /// A message's line changed.
    Changed {
        /// The message.
        mid: MessageId,
        /// How.
        change: Change,
    },
    /// Someone already here when this member arrived (listed, not announced).
    Present(String),
    /// What the page showed before a reload: shown above what came since.
    Restore(View),
    /// A reload came back too late: what it brought back is gone (lines and the present
    /// list).
    Forget,
    /// The names of the members typing now.
    Typing(Vec<String>),
    /// Under which message each member's "seen" goes.
    Seen(Vec<(MessageId, Vec<String>)>),

    // The room.
    /// The members, this one first, then those active, then those away.
    Members(Vec<MemberInfo>),
    /// The safety code of a new epoch.
    Safety(SafetyView),
    /// Whether this member is the host.
    Host(bool),
    /// Whether this member is a moderator.
    Moderator(bool),
    /// Whether the room refuses new members.
    Locked(bool),
    /// The most members the host lets in.
    MemberCap(Option<u32>),
    /// The room's limits, once the relay gave them.
    Limits {
        /// The longest text (UTF-8 bytes) of one message.
        max_text: usize,
        /// The largest file.
        max_file: u64,
        /// How long the relay keeps a place after its page goes, in seconds.
        grace_secs: u32,
    },
    /// The invite link to share (`None`: no room).
    Invite(Option<String>),
    /// The room name and passphrase, for a room entered by name.
    Named(Option<NamedShare>),
    /// The host renewed the invitation: a room's name and passphrase no longer let
    /// anyone in.
    NamedReplaced,
    /// The latest refused action or relay error, beside the message box.
    Notice(Option<String>),
    /// Why nobody has let this member in yet, on the waiting page.
    StillWaiting(Option<String>),
    /// Why a reload joins as a new member, for the waiting page.
    WhyNew(String),
    /// Whether this member's name is settled (no prompt).
    NickChosen(bool),
    /// The relay's "exists" or "unknown" answer to a room entered by name.
    Refusal(Option<Refusal>),

    // Short codes.
    /// This member's live codes.
    Codes(Vec<LiveCode>),
    /// What happened to them, in a sentence.
    CodeNote(Option<String>),
    /// Whether a joiner's exchange is under way.
    CodeJoining(bool),
    /// Why a joiner's exchange failed.
    CodeJoinError(Option<String>),

    // Files.
    /// A file to show in the conversation.
    FileAdded {
        /// Its card.
        card: FileCard,
        /// Where it stands.
        state: Transfer,
    },
    /// Where a file's transfer stands now.
    FileState {
        /// The file.
        id: FileId,
        /// Where it stands.
        state: Transfer,
    },
    /// The interface's picked file `local` is the room's file `id` (for the reads).
    FileQueued {
        /// The interface's number.
        local: u32,
        /// The room's id.
        id: FileId,
    },
    /// Files refused before anything was sent, in sentences.
    FilesRefused(Vec<String>),
    /// Make a copy of a picture without its metadata, then answer
    /// [`Command::Cleaned`].
    Clean(FileId),
    /// Read bytes `offset..end` of a file being sent, then answer [`Command::Chunk`].
    ReadChunk {
        /// The file.
        id: FileId,
        /// The chunk's index.
        index: u32,
        /// Its first byte.
        offset: u64,
        /// Past its last byte.
        end: u64,
    },
    /// Decrypted bytes of a file being received, in order.
    Received {
        /// The file.
        id: FileId,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// A file being received is complete: make its blob and URL.
    Complete(FileId),
    /// A file's bytes and URL can go (the transfer failed, or the room is over).
    Drop(FileId),

    // The page's life.
    /// Hand over what the page shows, to save for a reload: answer
    /// [`Command::SaveForReload`].
    SaveView,
}
