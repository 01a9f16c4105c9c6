//! How the terminal shows what happens in a room: one stdout line per event, in a form
//! that people can read and scripts can match.
//!
//! - `NICK: TEXT` — a message (own messages too, once the relay has ordered them);
//! - `-- ...` — membership, room state and the room's end;
//! - `!! WARNING: ...` — something failed authentication.

use vroom_shared::session::driver::describe;
use vroom_shared::session::SessionEvent;

/// The line printed for `event`, if any. Nicknames and texts are printed without
/// control characters so a member cannot rewrite another's terminal.
pub(crate) fn line(event: &SessionEvent) -> Option<String> {
    match event {
        SessionEvent::Message { nick, text, .. } => {
            Some(format!("{}: {}", clean(nick), clean(text)))
        }
        SessionEvent::SecurityWarning { text, .. } => Some(format!("!! WARNING: {}", clean(text))),
        other => describe(other).map(|sentence| format!("-- {}", clean(&sentence))),
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
        };
        assert_eq!(line(&event).unwrap(), "-- bob was removed by the host");
    }
}
