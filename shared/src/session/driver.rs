//! What every client does around a session the same way, so the web app and the native
//! client cannot drift apart: how often the clock ticks, when to try the relay again
//! after a dropped connection, and the sentence each event is shown as.

use crate::wire::LeaveReason;

use super::SessionEvent;

/// How often a client calls [`super::Session::tick`], in milliseconds.
pub const TICK_MS: u64 = 1_000;

/// Reconnect attempts after a dropped connection before giving up. With the backoff
/// of [`Reconnect`] they span about a minute, the relay's default grace period.
pub const RECONNECT_ATTEMPTS: u32 = 12;
/// Longest pause between two reconnect attempts, in milliseconds.
pub const MAX_BACKOFF_MS: u64 = 8_000;

/// The reconnect policy: exponential backoff from 500 ms, capped at
/// [`MAX_BACKOFF_MS`], at most [`RECONNECT_ATTEMPTS`] attempts in a row.
#[derive(Clone, Debug, Default)]
pub struct Reconnect {
    failures: u32,
}

impl Reconnect {
    /// A policy with no failure yet.
    pub fn new() -> Self {
        Reconnect::default()
    }

    /// The connection dropped or could not be made: how long to wait before the next
    /// attempt, or `None` when it is time to give up.
    pub fn next_delay_ms(&mut self) -> Option<u64> {
        if self.failures >= RECONNECT_ATTEMPTS {
            return None;
        }
        self.failures += 1;
        Some((250u64 << self.failures.min(6)).min(MAX_BACKOFF_MS))
    }

    /// The relay let this client in again: the next drop starts from the shortest delay.
    pub fn connected(&mut self) {
        self.failures = 0;
    }

    /// Failed attempts since the last success.
    pub fn failures(&self) -> u32 {
        self.failures
    }
}

/// The line a client shows for an event (capitalised, without a final stop unless it
/// is several sentences), or `None` for events shown otherwise
/// (messages have their own layout; `Ready` and `CaughtUp` change state only).
/// Nicknames are as the session cleaned them; texts are as their sender wrote them: a
/// terminal must strip control characters from both before printing.
pub fn describe(event: &SessionEvent) -> Option<String> {
    Some(match event {
        SessionEvent::Ready { resumed: true, .. } => "Reconnected".to_owned(),
        SessionEvent::Ready { .. } | SessionEvent::CaughtUp { .. } => return None,
        SessionEvent::Message { .. } => return None,
        SessionEvent::WaitingToBeAdded => {
            "Waiting for a member of the room to let you in".to_owned()
        }
        SessionEvent::StillWaiting => "Nobody has let you in yet: the members may be offline \
             or have closed vroom. Keep waiting, or leave and try again later."
            .to_owned(),
        SessionEvent::MemberJoined {
            nick, fingerprint, ..
        } => format!("{nick} joined (safety words: {fingerprint})"),
        SessionEvent::MemberLeft {
            nick,
            reason,
            moderator,
            ..
        } => {
            let how = match (reason, moderator) {
                (LeaveReason::Kicked, Some(by)) => format!("was removed by moderator {by}"),
                (LeaveReason::Kicked, None) => "was removed by the host".to_owned(),
                (LeaveReason::Left, _) => "left".to_owned(),
                (LeaveReason::Disconnected, _) => "lost their connection and left".to_owned(),
            };
            format!("{nick} {how}")
        }
        SessionEvent::NickChanged { old, new, .. } => format!("{old} is now {new}"),
        SessionEvent::SafetyCode { epoch, code } => {
            format!("Safety code (epoch {epoch}): {code}; compare it with the others")
        }
        SessionEvent::SecurityWarning { text, .. } => format!("Warning: {text}"),
        SessionEvent::Undecryptable { .. } => {
            "A message could not be read: it was sent in a state of the room you were \
             not part of."
                .to_owned()
        }
        SessionEvent::Locked { locked: true } => {
            "The room is locked: nobody new can join".to_owned()
        }
        SessionEvent::Locked { locked: false } => "The room is unlocked".to_owned(),
        SessionEvent::HostChanged { own: true, .. } => {
            "You are the host now: you can lock the room, remove members and end it".to_owned()
        }
        SessionEvent::HostChanged { nick, .. } => format!("{nick} is the host now"),
        SessionEvent::ModeratorChanged {
            own: true,
            on: true,
            ..
        } => {
            "You are a moderator now: you can remove members and lock or unlock the room".to_owned()
        }
        SessionEvent::ModeratorChanged { own: true, .. } => {
            "You are no longer a moderator".to_owned()
        }
        SessionEvent::ModeratorChanged { nick, on: true, .. } => {
            format!("{nick} is a moderator now")
        }
        SessionEvent::ModeratorChanged { nick, .. } => format!("{nick} is no longer a moderator"),
        SessionEvent::MemberCap { cap: Some(cap) } => {
            format!("The host lets at most {cap} members into the room")
        }
        SessionEvent::MemberCap { cap: None } => {
            "The host lifted the member cap: the relay's limit applies".to_owned()
        }
        SessionEvent::Gap { from, to } => format!(
            "You were away; messages sent while you were away could not be recovered \
             (the relay no longer had {} events). Rejoining the room.",
            to.saturating_sub(*from).saturating_add(1)
        ),
        SessionEvent::RelayGoingAway => "The relay is restarting; reconnecting".to_owned(),
        SessionEvent::InviteChanged => "The room has a new invite link: the ones given out \
             before, short codes and the room's name + passphrase no longer let anyone in."
            .to_owned(),
        SessionEvent::Ended { reason } => reason.message().to_owned(),
        SessionEvent::Error { code } => code.message().to_owned(),
        // Shown in place (on the message they change) or as state (who types, who
        // has read, who is away), not as lines of their own.
        SessionEvent::Edited { .. }
        | SessionEvent::Deleted { .. }
        | SessionEvent::Reaction { .. }
        | SessionEvent::Typing { .. }
        | SessionEvent::Read { .. }
        | SessionEvent::DirectMessage { .. }
        | SessionEvent::PresenceChanged { .. } => return None,
    })
}
