//! How the terminal shows what happens in a room: one stdout line per event, in a form
//! that people can read and scripts can match.
//!
//! - `NICK: TEXT` — a message (own messages too, once the relay has ordered them);
//!   `NICK (reply to N): TEXT` — a reply to message N; `* NICK TEXT` — a `/me` action;
//! - `(private) NICK to NICK: TEXT` — a direct message (only the two can read it);
//! - `-- ...` — membership, room state, edits, deletes, reactions, typing, presence
//!   and the room's end;
//! - `!! WARNING: ...` — something failed authentication.
//!
//! Messages are numbered 1, 2, 3… in the order this client shows them; commands refer
//! to them by that number (`/reply 3 yes`). On a terminal each message line starts
//! with its number in brackets (`[3] ada: hi`); piped output leaves it out, so scripts
//! match `NICK: TEXT` whatever the count.

use std::collections::{BTreeMap, VecDeque};

use vroom_shared::session::driver::describe;
use vroom_shared::session::{MessageId, Presence, SessionEvent};
use vroom_shared::wire::MemberId;

/// Most message numbers remembered (older ones can no longer be referred to).
const MAX_NUMBERED: usize = 10_000;

/// The numbers this client gave the messages it showed.
#[derive(Default)]
pub(crate) struct Numbers {
    next: u64,
    by_id: BTreeMap<MessageId, u64>,
    by_number: VecDeque<(u64, MessageId)>,
}

impl Numbers {
    /// Numbers a newly shown message.
    fn assign(&mut self, id: MessageId) -> u64 {
        if let Some(&n) = self.by_id.get(&id) {
            return n;
        }
        self.next += 1;
        if self.by_number.len() >= MAX_NUMBERED {
            if let Some((_, old)) = self.by_number.pop_front() {
                self.by_id.remove(&old);
            }
        }
        self.by_id.insert(id, self.next);
        self.by_number.push_back((self.next, id));
        self.next
    }

    /// The message shown under number `n` (`#n` is accepted too).
    pub(crate) fn id(&self, n: &str) -> Option<MessageId> {
        let n: u64 = n.trim_start_matches('#').parse().ok()?;
        let first = self.by_number.front()?.0;
        let at = usize::try_from(n.checked_sub(first)?).ok()?;
        self.by_number.get(at).map(|&(_, id)| id)
    }

    fn number(&self, id: &MessageId) -> Option<u64> {
        self.by_id.get(id).copied()
    }

    fn describe(&self, id: &MessageId) -> String {
        self.number(id).map_or_else(
            || "an earlier message".to_owned(),
            |n| format!("message {n}"),
        )
    }
}

/// Turns events into lines.
pub(crate) struct Renderer {
    pub(crate) numbers: Numbers,
    /// Whether message lines start with their number (stdout is a terminal).
    show_numbers: bool,
}

impl Renderer {
    pub(crate) fn new(show_numbers: bool) -> Self {
        Renderer {
            numbers: Numbers::default(),
            show_numbers,
        }
    }

    /// The line printed for `event`, if any; `nick_of` names a member (the recipient of
    /// an own direct message). Nicknames and texts are printed without control
    /// characters so a member cannot rewrite another's terminal.
    pub(crate) fn line(
        &mut self,
        event: &SessionEvent,
        nick_of: impl Fn(MemberId) -> Option<String>,
    ) -> Option<String> {
        Some(match event {
            SessionEvent::Message {
                nick,
                text,
                id,
                reply_to,
                action,
                ..
            } => {
                let n = self.numbers.assign(*id);
                let prefix = if self.show_numbers {
                    format!("[{n}] ")
                } else {
                    String::new()
                };
                let (nick, text) = (clean(nick), clean(text));
                match (reply_to, action) {
                    (_, true) => format!("{prefix}* {nick} {text}"),
                    (Some(to), false) => {
                        let to = self.numbers.describe(to).replace("message ", "");
                        format!("{prefix}{nick} (reply to {to}): {text}")
                    }
                    (None, false) => format!("{prefix}{nick}: {text}"),
                }
            }
            SessionEvent::DirectMessage {
                nick,
                to,
                text,
                own,
                action,
                ..
            } => {
                let to = if *own {
                    nick_of(*to).unwrap_or_else(|| to.0.to_string())
                } else {
                    "you".to_owned()
                };
                let (nick, to, text) = (clean(nick), clean(&to), clean(text));
                if *action {
                    format!("(private to {to}) * {nick} {text}")
                } else {
                    format!("(private) {nick} to {to}: {text}")
                }
            }
            SessionEvent::Edited { id, from, text, .. } => {
                let prefix = match self.numbers.number(id) {
                    Some(n) if self.show_numbers => format!("[{n}] "),
                    _ => String::new(),
                };
                format!(
                    "{prefix}{}: {} (edited)",
                    clean(&nick_of(*from).unwrap_or_default()),
                    clean(text)
                )
            }
            SessionEvent::Deleted { id, from, .. } => format!(
                "-- {} deleted {}",
                clean(&nick_of(*from).unwrap_or_default()),
                self.numbers.describe(id)
            ),
            SessionEvent::Reaction {
                id,
                nick,
                emoji,
                on,
                ..
            } => format!(
                "-- {} {} {} {} {}",
                clean(nick),
                if *on { "reacted" } else { "took back" },
                clean(emoji),
                if *on { "to" } else { "on" },
                self.numbers.describe(id)
            ),
            SessionEvent::Typing {
                nick, typing: true, ..
            } => format!("-- {} is typing", clean(nick)),
            SessionEvent::PresenceChanged { nick, presence, .. } => format!(
                "-- {} is {}",
                clean(nick),
                match presence {
                    Presence::Active => "back",
                    Presence::Away => "away",
                }
            ),
            SessionEvent::SecurityWarning { text, .. } => format!("!! WARNING: {}", clean(text)),
            other => return describe(other).map(|sentence| format!("-- {}", clean(&sentence))),
        })
    }
}

/// `s` without control characters (terminal escapes, newlines) and bidirectional
/// overrides, which could forge other lines or hide text.
pub(crate) fn clean(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control()
                || ('\u{202a}'..='\u{202e}').contains(&c)
                || ('\u{2066}'..='\u{2069}').contains(&c)
            {
                ' '
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use vroom_shared::wire::{LeaveReason, MemberId};

    fn message(id: u8, text: &str, reply_to: Option<MessageId>, action: bool) -> SessionEvent {
        SessionEvent::Message {
            from: MemberId(1),
            nick: "ada".into(),
            text: text.into(),
            sent_at_ms: 0,
            own: false,
            seq: 4,
            id: MessageId([id; 16]),
            reply_to,
            action,
        }
    }

    fn line(event: &SessionEvent) -> Option<String> {
        Renderer::new(false).line(event, |_| None)
    }

    #[test]
    fn messages_are_numbered_and_refer_to_each_other_by_number() {
        let mut r = Renderer::new(true);
        let none = |_| None;
        assert_eq!(
            r.line(&message(1, "hi", None, false), none).unwrap(),
            "[1] ada: hi"
        );
        let reply = message(2, "yes", Some(MessageId([1; 16])), false);
        assert_eq!(r.line(&reply, none).unwrap(), "[2] ada (reply to 1): yes");
        assert_eq!(
            r.line(&message(3, "waves", None, true), none).unwrap(),
            "[3] * ada waves"
        );
        assert_eq!(r.numbers.id("2"), Some(MessageId([2; 16])));
        assert_eq!(r.numbers.id("#3"), Some(MessageId([3; 16])));
        assert_eq!(r.numbers.id("4"), None);
        let deleted = SessionEvent::Deleted {
            id: MessageId([1; 16]),
            from: MemberId(1),
            own: false,
        };
        let named = |_| Some("ada".to_owned());
        assert_eq!(r.line(&deleted, named).unwrap(), "-- ada deleted message 1");
    }

    #[test]
    fn messages_print_as_nick_colon_text_without_escapes() {
        let event = SessionEvent::Message {
            from: MemberId(1),
            nick: "ev\x1b[2Jil".into(),
            text: "hi\nbob: fake line".into(),
            sent_at_ms: 0,
            own: false,
            seq: 4,
            id: vroom_shared::session::MessageId([0; 16]),
            reply_to: None,
            action: false,
        };
        assert_eq!(line(&event).unwrap(), "ev [2Jil: hi bob: fake line");
    }

    #[test]
    fn departures_say_why() {
        let event = SessionEvent::MemberLeft {
            member: MemberId(2),
            nick: "bob".into(),
            reason: LeaveReason::Kicked,
            moderator: None,
        };
        assert_eq!(line(&event).unwrap(), "-- bob was removed by the host");
        let event = SessionEvent::MemberLeft {
            member: MemberId(2),
            nick: "bob".into(),
            reason: LeaveReason::Kicked,
            moderator: Some("carol".into()),
        };
        assert_eq!(
            line(&event).unwrap(),
            "-- bob was removed by moderator carol"
        );
    }
}
