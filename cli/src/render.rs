//! How the terminal shows what happens in a room: one stdout line per event, in a form
//! that people can read and scripts can match.
//!
//! - `NICK: TEXT` — a message (own messages too, once the relay has ordered them);
//! - `-- ...` — membership, room state and the room's end;
//! - `!! WARNING: ...` — something failed authentication.

use vroom_shared::session::SessionEvent;
use vroom_shared::wire::LeaveReason;

/// The line printed for `event`, if any. Nicknames and texts are printed without
/// control characters so a member cannot rewrite another's terminal.
pub(crate) fn line(event: &SessionEvent) -> Option<String> {
    Some(match event {
        SessionEvent::Ready { resumed: true, .. } => "-- reconnected".to_owned(),
        SessionEvent::Ready { .. } => return None,
        SessionEvent::MemberJoined {
            nick, fingerprint, ..
        } => format!(
            "-- {} joined (safety words: {})",
            clean(nick),
            clean(fingerprint)
        ),
        SessionEvent::MemberLeft { nick, reason, .. } => {
            let how = match reason {
                LeaveReason::Left => "left",
                LeaveReason::Kicked => "was removed by the host",
                LeaveReason::Disconnected => "lost their connection and left",
            };
            format!("-- {} {how}", clean(nick))
        }
        SessionEvent::NickChanged { old, new, .. } => {
            format!("-- {} is now {}", clean(old), clean(new))
        }
        SessionEvent::Message { nick, text, .. } => format!("{}: {}", clean(nick), clean(text)),
        SessionEvent::SecurityWarning { text, .. } => format!("!! WARNING: {text}"),
        SessionEvent::Undecryptable { .. } => {
            "-- a message could not be decrypted (it was sent before you joined, or its key never arrived)"
                .to_owned()
        }
        SessionEvent::Locked { locked: true } => "-- the room is locked: nobody new can join".to_owned(),
        SessionEvent::Locked { locked: false } => "-- the room is unlocked".to_owned(),
        SessionEvent::Gap { from, to } => format!(
            "-- {} events were lost while you were away (the relay no longer had them)",
            to.saturating_sub(*from) + 1
        ),
        SessionEvent::CaughtUp { .. } => return None,
        SessionEvent::RelayGoingAway => "-- the relay is restarting; reconnecting".to_owned(),
        SessionEvent::Ended { reason } => format!("-- {}", reason.message()),
        SessionEvent::Error { code } => format!("-- {}", code.message()),
    })
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
    use vroom_shared::wire::MemberId;

    #[test]
    fn messages_print_as_nick_colon_text_without_escapes() {
        let event = SessionEvent::Message {
            from: MemberId(1),
            nick: "ev\x1b[2Jil".into(),
            text: "hi\nbob: fake line".into(),
            sent_at_ms: 0,
            own: false,
            seq: 4,
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
