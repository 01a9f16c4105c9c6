//! How often the small signals around messages go out, and how long they hold: typing
//! and read receipts. They are rate-limited here, inside the session, so that no client
//! can send one per key press or per message shown, and the relay sees no more frames
//! from a chatty keyboard than from a quiet one.

use std::collections::BTreeMap;

use crate::group::MessageId;
use crate::wire::MemberId;

/// A typing member sends `Typing(true)` again at most this often, in milliseconds.
pub const TYPING_REFRESH_MS: u64 = 4_000;
/// With no key press for this long, a typing member says it stopped.
pub const TYPING_IDLE_MS: u64 = 6_000;
/// Receivers forget a member's typing after this long without a refresh (its stop was
/// lost, or it went away).
pub const TYPING_EXPIRE_MS: u64 = 10_000;
/// A read receipt waits until reading has paused this long, so one burst of reading
/// becomes one receipt.
pub const RECEIPT_DELAY_MS: u64 = 1_500;

/// This member's own typing state.
#[derive(Default)]
pub(crate) struct OwnTyping {
    /// When `Typing(true)` was last sent, while typing is announced.
    sent_ms: Option<u64>,
    /// The latest key press.
    last_key_ms: u64,
}

impl OwnTyping {
    /// A key press at `now_ms`: whether to send `Typing(true)` now.
    pub(crate) fn key(&mut self, now_ms: u64) -> bool {
        self.last_key_ms = now_ms;
        match self.sent_ms {
            Some(sent) if now_ms.saturating_sub(sent) < TYPING_REFRESH_MS => false,
            _ => {
                self.sent_ms = Some(now_ms);
                true
            }
        }
    }

    /// Typing ended (a message was sent, or the user cleared the box): whether a stop
    /// is owed. A message sent ends typing for the receivers by itself.
    pub(crate) fn stop(&mut self) -> bool {
        self.sent_ms.take().is_some()
    }

    /// The clock: whether typing went idle and a stop is owed now.
    pub(crate) fn idle(&mut self, now_ms: u64) -> bool {
        if self.sent_ms.is_some() && now_ms.saturating_sub(self.last_key_ms) >= TYPING_IDLE_MS {
            self.sent_ms = None;
            return true;
        }
        false
    }
}

/// Who else is typing, and since when it last said so.
#[derive(Default)]
pub(crate) struct Typists {
    since: BTreeMap<MemberId, u64>,
}

impl Typists {
    /// A member said it types (`true`) or stopped. Returns whether the shown state
    /// changed. `now_ms` is the latest clock reading (0 before the first).
    pub(crate) fn set(&mut self, member: MemberId, typing: bool, now_ms: u64) -> bool {
        if typing {
            self.since.insert(member, now_ms).is_none()
        } else {
            self.since.remove(&member).is_some()
        }
    }

    /// Members whose typing expired at `now_ms`; they are forgotten.
    pub(crate) fn expire(&mut self, now_ms: u64) -> Vec<MemberId> {
        let gone: Vec<MemberId> = self
            .since
            .iter()
            .filter(|(_, &at)| now_ms.saturating_sub(at) >= TYPING_EXPIRE_MS)
            .map(|(&m, _)| m)
            .collect();
        for m in &gone {
            self.since.remove(m);
        }
        gone
    }

    /// The members typing now, ascending.
    pub(crate) fn members(&self) -> Vec<MemberId> {
        self.since.keys().copied().collect()
    }
}

/// This member's read receipt waiting for the end of a burst.
#[derive(Default)]
pub(crate) struct OwnReceipt {
    /// The latest message read and not yet reported, with when it was marked.
    pending: Option<(MessageId, u64)>,
    /// The last one reported.
    sent: Option<MessageId>,
}

impl OwnReceipt {
    /// The user has read up to `upto` at `now_ms`.
    pub(crate) fn mark(&mut self, upto: MessageId, now_ms: u64) {
        if self.sent != Some(upto) {
            self.pending = Some((upto, now_ms));
        }
    }

    /// The clock: the receipt to send now, once reading has paused.
    pub(crate) fn due(&mut self, now_ms: u64) -> Option<MessageId> {
        let (upto, at) = self.pending?;
        if now_ms.saturating_sub(at) < RECEIPT_DELAY_MS {
            return None;
        }
        self.pending = None;
        self.sent = Some(upto);
        Some(upto)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typing_is_announced_once_refreshed_sparingly_and_stopped_when_idle() {
        let mut t = OwnTyping::default();
        assert!(t.key(0));
        for ms in (100..TYPING_REFRESH_MS).step_by(100) {
            assert!(!t.key(ms), "no refresh at {ms}");
        }
        assert!(t.key(TYPING_REFRESH_MS));
        assert!(!t.idle(TYPING_REFRESH_MS + TYPING_IDLE_MS - 1));
        assert!(t.idle(TYPING_REFRESH_MS + TYPING_IDLE_MS));
        assert!(!t.stop(), "already stopped");
        assert!(t.key(20_000));
        assert!(t.stop());
    }

    #[test]
    fn a_burst_of_reading_is_one_receipt() {
        let mut r = OwnReceipt::default();
        for i in 0..10u8 {
            r.mark(MessageId([i; 16]), u64::from(i) * 100);
            assert_eq!(r.due(u64::from(i) * 100), None);
        }
        assert_eq!(r.due(900 + RECEIPT_DELAY_MS), Some(MessageId([9; 16])));
        assert_eq!(r.due(10_000), None);
        r.mark(MessageId([9; 16]), 10_000);
        assert_eq!(r.due(20_000), None, "the same point is not reported twice");
    }

    #[test]
    fn others_typing_expires_without_a_refresh() {
        let mut t = Typists::default();
        assert!(t.set(MemberId(1), true, 0));
        assert!(!t.set(MemberId(1), true, 1_000));
        assert!(t.expire(TYPING_EXPIRE_MS).is_empty());
        assert_eq!(t.expire(1_000 + TYPING_EXPIRE_MS), [MemberId(1)]);
        assert!(t.members().is_empty());
    }
}
