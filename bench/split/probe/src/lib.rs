//! The UI module's end of a bridge to a room module: decode every session event (as
//! `vroom_shared::session::SessionEvent` has them, with stand-ins for the field types)
//! and what the UI asks the session (members, reactions, typing, the invite link, the
//! safety code), and encode every command the UI gives it. With the feature `bridge`
//! the module does that; without, it only sums the input's bytes: the difference is
//! the bridge's weight.
#![allow(dead_code)]

use serde::{Deserialize, Serialize};
type MemberId = u32;
type MessageId = [u8; 16];
#[derive(Serialize, Deserialize)]
pub struct RoomLimits {
    a: u32,
    b: u64,
    c: u32,
    d: u32,
}
#[derive(Serialize, Deserialize)]
pub enum LeaveReason {
    Left,
    Kicked,
    Disconnected,
}
#[derive(Serialize, Deserialize)]
pub enum Presence {
    Active,
    Away,
}
#[derive(Serialize, Deserialize)]
pub struct SafetyCode([u8; 12]);
#[derive(Serialize, Deserialize)]
pub enum CloseReason {
    A,
    B(u8),
    C { x: u32 },
}
#[derive(Serialize, Deserialize)]
pub enum ErrorCode {
    A,
    B,
    C,
    D,
    E,
    F,
    G,
    H,
}
#[derive(Serialize, Deserialize)]
pub enum SessionEvent {
    Ready {
        me: MemberId,
        host: MemberId,
        locked: bool,
        limits: RoomLimits,
        resumed: bool,
    },
    WaitingToBeAdded,
    StillWaiting,
    MemberJoined {
        member: MemberId,
        nick: String,
        fingerprint: String,
    },
    MemberLeft {
        member: MemberId,
        nick: String,
        reason: LeaveReason,
    },
    NickChanged {
        member: MemberId,
        old: String,
        new: String,
    },
    Message {
        from: MemberId,
        nick: String,
        text: String,
        sent_at_ms: u64,
        own: bool,
        seq: u64,
        id: MessageId,
        reply_to: Option<MessageId>,
        action: bool,
    },
    SafetyCode {
        epoch: u64,
        code: SafetyCode,
    },
    SecurityWarning {
        from: Option<MemberId>,
        text: String,
    },
    Undecryptable {
        from: MemberId,
        seq: u64,
    },
    Locked {
        locked: bool,
    },
    Gap {
        from: u64,
        to: u64,
    },
    CaughtUp {
        seq: u64,
    },
    RelayGoingAway,
    Ended {
        reason: CloseReason,
    },
    Error {
        code: ErrorCode,
    },
    Edited {
        id: MessageId,
        from: MemberId,
        text: String,
        edited_at_ms: u64,
        own: bool,
    },
    Deleted {
        id: MessageId,
        from: MemberId,
        own: bool,
    },
    Reaction {
        id: MessageId,
        from: MemberId,
        nick: String,
        emoji: String,
        on: bool,
        own: bool,
    },
    Typing {
        member: MemberId,
        nick: String,
        typing: bool,
    },
    Read {
        member: MemberId,
        nick: String,
        upto: MessageId,
    },
    DirectMessage {
        from: MemberId,
        to: MemberId,
        nick: String,
        text: String,
        sent_at_ms: u64,
        action: bool,
        own: bool,
        id: MessageId,
    },
    PresenceChanged {
        member: MemberId,
        nick: String,
        presence: Presence,
    },
    InviteChanged,
    HostChanged {
        member: MemberId,
        nick: String,
        own: bool,
    },
    MemberCap {
        cap: Option<u32>,
    },
}
#[derive(Serialize, Deserialize)]
pub struct MemberInfo {
    member: MemberId,
    nick: String,
    fingerprint: String,
    is_self: bool,
    is_host: bool,
    presence: Presence,
}
#[derive(Serialize, Deserialize)]
pub enum Output {
    Send(Vec<u8>),
    Event(SessionEvent),
}
#[derive(Serialize, Deserialize)]
pub struct Reply {
    outputs: Vec<Output>,
    members: Vec<MemberInfo>,
    invite: Option<String>,
    safety: Option<(u64, SafetyCode)>,
    reactions: Vec<(String, Vec<String>, bool)>,
    typing: Vec<String>,
    error: Option<String>,
    ok: bool,
}
#[derive(Serialize, Deserialize)]
pub enum Command {
    Create {
        nick: String,
    },
    Join {
        invite: String,
        nick: String,
    },
    Handle(Vec<u8>),
    Tick(u64),
    SendText(String, u64),
    SendAction(String, u64),
    SendReply(MessageId, String, u64),
    SendDirect(MemberId, String, u64),
    Edit(MessageId, String, u64),
    Delete(MessageId),
    React(MessageId, String, bool),
    Typing(u64),
    StopTyping,
    MarkRead(MessageId),
    SetPresence(Presence),
    SetNick(String),
    Terminate,
    Lock(bool),
    SetCap(Option<u32>),
    Kick(MemberId),
    HandOver(MemberId),
    Leave,
    CanEdit(MessageId),
    Reactions(MessageId),
    Members,
    Resumable,
    Resume(Vec<u8>),
    JoinWithPass {
        room: String,
        pass: String,
        nick: String,
    },
    Code {
        code: String,
        nick: String,
    },
    OfferFile {
        name: String,
        size: u64,
        kind: String,
    },
    Accept(u64),
    Cancel(u64),
    Chunk(u64, u32, Vec<u8>),
}

/// Input the compiler cannot see through.
fn input(seed: u32) -> Vec<u8> {
    std::hint::black_box((0..seed).map(|i| i as u8).collect())
}

#[cfg(feature = "bridge")]
#[no_mangle]
pub extern "C" fn decode(seed: u32) -> usize {
    match postcard::from_bytes::<Reply>(&input(seed)) {
        Ok(r) => r.outputs.len() + r.members.len() + r.typing.len(),
        Err(_) => 0,
    }
}

#[cfg(feature = "bridge")]
#[no_mangle]
pub extern "C" fn encode(which: u32, a: u64) -> usize {
    let s = format!("{a}");
    let c = match which {
        0 => Command::Create { nick: s },
        1 => Command::Join {
            invite: s.clone(),
            nick: s,
        },
        2 => Command::Handle(s.into_bytes()),
        3 => Command::Tick(a),
        4 => Command::SendText(s, a),
        5 => Command::SendAction(s, a),
        6 => Command::SendReply([a as u8; 16], s, a),
        7 => Command::SendDirect(a as u32, s, a),
        8 => Command::Edit([1; 16], s, a),
        9 => Command::Delete([2; 16]),
        10 => Command::React([3; 16], s, a == 1),
        11 => Command::Typing(a),
        12 => Command::StopTyping,
        13 => Command::MarkRead([4; 16]),
        14 => Command::SetPresence(Presence::Away),
        15 => Command::SetNick(s),
        16 => Command::Terminate,
        17 => Command::Lock(a == 2),
        18 => Command::SetCap(Some(a as u32)),
        19 => Command::Kick(a as u32),
        20 => Command::HandOver(a as u32),
        21 => Command::Leave,
        22 => Command::CanEdit([5; 16]),
        23 => Command::Reactions([6; 16]),
        24 => Command::Members,
        25 => Command::Resumable,
        26 => Command::Resume(s.into_bytes()),
        27 => Command::JoinWithPass {
            room: s.clone(),
            pass: s.clone(),
            nick: s,
        },
        28 => Command::Code {
            code: s.clone(),
            nick: s,
        },
        29 => Command::OfferFile {
            name: s.clone(),
            size: a,
            kind: s,
        },
        30 => Command::Accept(a),
        31 => Command::Cancel(a),
        _ => Command::Chunk(a, 1, s.into_bytes()),
    };
    postcard::to_allocvec(&c).map_or(0, |out| out.len())
}

/// Without the bridge: the same input, no serde.
#[cfg(not(feature = "bridge"))]
#[no_mangle]
pub extern "C" fn decode(seed: u32) -> usize {
    input(seed).iter().map(|b| *b as usize).sum::<usize>() + format!("{seed}").len()
}
