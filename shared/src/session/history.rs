//! What the session remembers of recent chat messages, so that later contents which
//! refer to one (an edit, a delete, a reaction, a read receipt) can be checked and
//! shown: who sent it (the identity the group authenticated, never the relay's word),
//! where it sits in the relay's order, whether it was deleted, and who reacted with
//! what. Bounded: the oldest message is forgotten when [`MAX_HISTORY`] is reached, and
//! contents about a forgotten (or never seen) message are dropped.

use std::collections::{BTreeMap, VecDeque};

use crate::group::{MessageId, PublicIdentity};

/// Most chat messages remembered for edits, deletes, reactions and receipts.
pub const MAX_HISTORY: usize = 2048;
/// Most distinct reactions one member keeps on one message.
pub const MAX_REACTIONS_PER_MEMBER: usize = 8;

/// One remembered chat message.
struct Entry {
    /// Its authenticated sender.
    sender: PublicIdentity,
    /// The relay's sequence number it arrived with (orders read receipts).
    seq: u64,
    /// Whether its sender deleted it.
    deleted: bool,
    /// Reactions: emoji → the identities that reacted with it, first first.
    reactions: BTreeMap<String, Vec<PublicIdentity>>,
}

/// Why a content about a message was not taken.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The message is not (or no longer) remembered, or was deleted: nothing to show.
    Unknown,
    /// Another member than the message's sender tried to change it.
    NotSender,
    /// The member has too many reactions on the message already.
    Full,
}

/// The recent chat messages, oldest first.
#[derive(Default)]
pub(crate) struct History {
    entries: BTreeMap<MessageId, Entry>,
    order: VecDeque<MessageId>,
}

impl History {
    /// Remembers a chat message and its authenticated sender.
    pub(crate) fn record(&mut self, id: MessageId, sender: PublicIdentity, seq: u64) {
        if self.entries.contains_key(&id) {
            return;
        }
        if self.order.len() >= MAX_HISTORY {
            if let Some(old) = self.order.pop_front() {
                self.entries.remove(&old);
            }
        }
        self.order.push_back(id);
        self.entries.insert(
            id,
            Entry {
                sender,
                seq,
                deleted: false,
                reactions: BTreeMap::new(),
            },
        );
    }

    /// Whether `by` may edit or delete `target`: only its own sender, and only while it
    /// is remembered and not deleted.
    pub(crate) fn authorise(&self, target: MessageId, by: &PublicIdentity) -> Result<(), Refusal> {
        match self.entries.get(&target) {
            Some(e) if e.deleted => Err(Refusal::Unknown),
            Some(e) if e.sender == *by => Ok(()),
            Some(_) => Err(Refusal::NotSender),
            None => Err(Refusal::Unknown),
        }
    }

    /// Marks `target` deleted by `by` (after [`History::authorise`]); its reactions go.
    pub(crate) fn delete(&mut self, target: MessageId, by: &PublicIdentity) -> Result<(), Refusal> {
        self.authorise(target, by)?;
        if let Some(e) = self.entries.get_mut(&target) {
            e.deleted = true;
            e.reactions.clear();
        }
        Ok(())
    }

    /// Adds or takes back `by`'s reaction `emoji` on `target`. Returns whether anything
    /// changed.
    pub(crate) fn react(
        &mut self,
        target: MessageId,
        by: PublicIdentity,
        emoji: &str,
        on: bool,
    ) -> Result<bool, Refusal> {
        let e = match self.entries.get_mut(&target) {
            Some(e) if !e.deleted => e,
            _ => return Err(Refusal::Unknown),
        };
        if !on {
            let Some(set) = e.reactions.get_mut(emoji) else {
                return Ok(false);
            };
            let before = set.len();
            set.retain(|who| *who != by);
            let changed = set.len() != before;
            if set.is_empty() {
                e.reactions.remove(emoji);
            }
            return Ok(changed);
        }
        if e.reactions.get(emoji).is_some_and(|s| s.contains(&by)) {
            return Ok(false);
        }
        let mine = e.reactions.values().filter(|s| s.contains(&by)).count();
        if mine >= MAX_REACTIONS_PER_MEMBER {
            return Err(Refusal::Full);
        }
        e.reactions.entry(emoji.to_owned()).or_default().push(by);
        Ok(true)
    }

    /// The reactions on `target`: each emoji with the identities that chose it.
    pub(crate) fn reactions(&self, target: MessageId) -> Vec<(String, Vec<PublicIdentity>)> {
        self.entries.get(&target).map_or_else(Vec::new, |e| {
            e.reactions
                .iter()
                .map(|(emoji, who)| (emoji.clone(), who.clone()))
                .collect()
        })
    }

    /// Where `id` sits in the relay's order, if remembered.
    pub(crate) fn seq_of(&self, id: MessageId) -> Option<u64> {
        self.entries.get(&id).map(|e| e.seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(b: u8) -> PublicIdentity {
        PublicIdentity {
            client_id: [b; 16],
            signature_key: [b; 32],
        }
    }

    #[test]
    fn only_the_sender_may_change_a_message_and_old_ones_are_forgotten() {
        let mut h = History::default();
        let first = MessageId([1; 16]);
        h.record(first, who(1), 1);
        assert_eq!(h.authorise(first, &who(1)), Ok(()));
        assert_eq!(h.authorise(first, &who(2)), Err(Refusal::NotSender));
        assert_eq!(h.delete(first, &who(2)), Err(Refusal::NotSender));
        assert_eq!(h.delete(first, &who(1)), Ok(()));
        assert_eq!(h.authorise(first, &who(1)), Err(Refusal::Unknown));
        for i in 0..MAX_HISTORY as u64 {
            let mut id = [0u8; 16];
            id[..8].copy_from_slice(&(i + 10).to_be_bytes());
            h.record(MessageId(id), who(1), i + 10);
        }
        assert_eq!(h.seq_of(first), None, "the oldest is forgotten");
        assert_eq!(h.entries.len(), MAX_HISTORY);
    }

    #[test]
    fn reactions_are_one_per_member_and_emoji_and_bounded() {
        let mut h = History::default();
        let id = MessageId([7; 16]);
        h.record(id, who(1), 1);
        assert_eq!(h.react(id, who(2), "👍", true), Ok(true));
        assert_eq!(h.react(id, who(2), "👍", true), Ok(false));
        assert_eq!(h.react(id, who(3), "👍", true), Ok(true));
        assert_eq!(h.reactions(id), [("👍".to_owned(), vec![who(2), who(3)])]);
        assert_eq!(h.react(id, who(2), "👍", false), Ok(true));
        assert_eq!(h.reactions(id), [("👍".to_owned(), vec![who(3)])]);
        for i in 0..MAX_REACTIONS_PER_MEMBER {
            assert_eq!(h.react(id, who(4), &i.to_string(), true), Ok(true));
        }
        assert_eq!(h.react(id, who(4), "x", true), Err(Refusal::Full));
        assert_eq!(
            h.react(MessageId([9; 16]), who(2), "👍", true),
            Err(Refusal::Unknown)
        );
    }
}
