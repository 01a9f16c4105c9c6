//! The room: the half of the app that holds the session and every key. The interface
//! reaches it only through [`vroom_bridge`]'s values, encoded with postcard at the
//! boundary ([`call`]), so that this module can become a WebAssembly module of its own
//! that shares no memory with the interface (BENCHMARKS.md §14).
//!
//! What has crossed so far: the commands of the conversation (messages, replies, direct
//! messages, edits, deletes, reactions, typing, receipts, presence, nickname), the
//! host's and moderators' actions, short codes asked for and revoked, and leaving.
//! The rest of the session's state (its events, the socket, the ways in, files, the
//! saved session) still lives in `crate::state`, `crate::files` and `crate::resume`, and
//! moves here one concern at a time.

use vroom_bridge::{decode, encode, ActionError, Command, MessageId, NickError, Reply};
use vroom_shared::session::{self, Presence};
use zeroize::Zeroizing;

use crate::state::{check_nick, Client};

/// Runs one encoded [`Command`] and returns its encoded [`Reply`]: the room's one entry
/// point for the interface.
pub(crate) fn call(client: &Client, bytes: &[u8]) -> Zeroizing<Vec<u8>> {
    let reply = match decode::<Command>(bytes) {
        Ok(command) => run(client, command),
        Err(_) => Reply::Garbled,
    };
    encode(&reply)
}

/// The page's clock, milliseconds since the Unix epoch.
fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

fn run(client: &Client, command: Command) -> Reply {
    let now = now_ms();
    match command {
        Command::SendText { text } => done(client.act(|s| s.send_text(&text, now))),
        Command::SendAction { text } => done(client.act(|s| s.send_action(&text, now))),
        Command::SendReply { to, text } => {
            done(client.act(|s| s.send_reply(session_id(to), &text, now)))
        }
        Command::SendDirect { to, text } => done(client.act(|s| s.send_direct(to, &text, now))),
        Command::Edit { id, text } => done(client.act(|s| s.edit(session_id(id), &text, now))),
        Command::Delete { id } => done(client.act(|s| s.delete(session_id(id)))),
        Command::React { id, emoji, on } => {
            done(client.act(|s| s.react(session_id(id), &emoji, on)))
        }
        Command::Typing(typing) => done(client.act(|s| {
            Ok(if typing {
                s.typing(now)
            } else {
                s.stop_typing()
            })
        })),
        Command::Read { upto } => {
            if let Some(session) = client.inner.borrow_mut().session.as_mut() {
                session.mark_read(session_id(upto), now);
            }
            Reply::Done
        }
        Command::Active(active) => {
            let presence = if active {
                Presence::Active
            } else {
                Presence::Away
            };
            done(client.act(|s| Ok(s.set_presence(presence))))
        }
        Command::CanEdit { id } => Reply::Bool(
            client
                .inner
                .borrow()
                .session
                .as_ref()
                .is_some_and(|s| s.can_edit(session_id(id))),
        ),
        Command::SetNick { nick } => match check_nick(&nick) {
            Err(e) => Reply::Nick(e),
            Ok(()) => match client.act(|s| s.set_nick(&nick)) {
                Ok(()) => Reply::Done,
                Err(e) => Reply::Nick(NickError::Action(bridged_error(e))),
            },
        },
        Command::Terminate => done(client.act(session::Session::terminate)),
        Command::Lock(locked) => done(client.act(|s| s.lock(locked))),
        Command::MemberCap(cap) => done(client.act(|s| s.set_member_cap(cap))),
        Command::Kick(member) => done(client.act(|s| s.kick(member))),
        Command::Moderator { member, on } => done(client.act(|s| s.set_moderator(member, on))),
        Command::HandOver(member) => done(client.act(|s| s.hand_over(member))),
        Command::Leave => done(client.act(session::Session::leave)),
        Command::MakeCode => done(client.act(session::Session::request_code)),
        Command::RevokeCode { nameplate } => {
            done(client.act(|s| s.revoke_code(nameplate).map(|(_, out)| out)))
        }
        // Not moved yet: the interface does these through `crate::state` and does not
        // send them.
        Command::Create { .. }
        | Command::Join { .. }
        | Command::JoinAgain { .. }
        | Command::Resume { .. }
        | Command::CheckAddress { .. }
        | Command::CheckPasted { .. }
        | Command::CheckNick { .. }
        | Command::CheckNamed(_)
        | Command::EnterNamed
        | Command::JoinByCode { .. }
        | Command::SaveForReload(_)
        | Command::Suspend
        | Command::Wake
        | Command::SendFiles { .. }
        | Command::Cleaned { .. }
        | Command::Chunk { .. }
        | Command::AcceptFile(_)
        | Command::CancelFile(_)
        | Command::RemoveFile(_) => Reply::Garbled,
    }
}

/// The answer to a session action.
fn done(result: Result<(), session::ActionError>) -> Reply {
    match result {
        Ok(()) => Reply::Done,
        Err(e) => Reply::Refused(bridged_error(e)),
    }
}

/// A message id from the interface, as the session knows it.
fn session_id(id: MessageId) -> session::MessageId {
    session::MessageId(id.0)
}

/// The session's refusal as it crosses the boundary.
fn bridged_error(e: session::ActionError) -> ActionError {
    use session::ActionError as S;
    match e {
        S::NotReady => ActionError::NotReady,
        S::Ended => ActionError::Ended,
        S::NotHost => ActionError::NotHost,
        S::TooLarge => ActionError::TooLarge,
        S::Empty => ActionError::Empty,
        S::UnknownMember => ActionError::UnknownMember,
        S::NotYours => ActionError::NotYours,
        S::UnknownMessage => ActionError::UnknownMessage,
        S::NoDirectKey => ActionError::NoDirectKey,
        S::InvalidReaction => ActionError::InvalidReaction,
        S::NotModerator => ActionError::NotModerator,
        S::TooManyModerators => ActionError::TooManyModerators,
    }
}
