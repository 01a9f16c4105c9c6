//! Commits the room owes: adding a newcomer whose sealed key package arrived, removing a
//! member the relay reports gone (or the host kicks). Every member records the same
//! duties from the same relay events; the deterministic committer order
//! ([`crate::group::committer_order`]) says who acts first, and the others act only if
//! the first has not after a fallback delay per place in the order (PROTOCOL.md §9.6).
//! A duty ends when the group's state makes it moot (the newcomer is in, the leaf is
//! gone), whoever committed it.

use crate::group::PublicIdentity;
use crate::wire::MemberId;

/// How long the member at place `k` of the committer order waits, `k` times, before it
/// commits a duty the members before it have not.
pub const FALLBACK_MS: u64 = 2_000;

/// Most duties kept at once; beyond it the oldest are dropped (a relay flooding join
/// requests cannot grow a member's memory).
pub const MAX_DUTIES: usize = 64;

/// One commit the room owes.
pub(crate) enum Duty {
    /// Add the newcomer that sent this key package under this relay member id.
    Add {
        member: MemberId,
        key_package: Vec<u8>,
        identity: PublicIdentity,
        /// A member proven to come back to a leaf the group holds (its request may be
        /// sealed under an earlier pass's join key).
        proven: bool,
    },
    /// Remove this leaf (its member left, dropped out, rejoined under a new leaf, or is
    /// kicked by this member, the host: then `kick` is set and only this member acts).
    /// `key` is the signature key the leaf held when the duty arose: once another
    /// member sits at that leaf (a commit removed it and added someone else there), the
    /// duty is moot and never applied to the newcomer.
    Remove {
        leaf: u32,
        key: [u8; 32],
        kick: bool,
    },
}

/// A duty with the time it was first seen by a clock tick.
pub(crate) struct Owed {
    pub(crate) duty: Duty,
    /// Set on the first clock reading after the duty appeared.
    pub(crate) since_ms: Option<u64>,
}

#[derive(Default)]
pub(crate) struct Duties {
    pub(crate) owed: Vec<Owed>,
}

impl Duties {
    /// Records a duty. When the list is full, a new add is refused (a flood of join
    /// requests must not push out a removal); a removal pushes out the oldest add.
    pub(crate) fn push(&mut self, duty: Duty, now_ms: Option<u64>) {
        if self.owed.len() >= MAX_DUTIES {
            let oldest_add = self
                .owed
                .iter()
                .position(|o| matches!(o.duty, Duty::Add { .. }));
            match (&duty, oldest_add) {
                (Duty::Remove { .. }, Some(at)) => {
                    self.owed.remove(at);
                }
                _ => return,
            }
        }
        self.owed.push(Owed {
            duty,
            since_ms: now_ms,
        });
    }

    /// Starts the clock of duties that have none yet.
    pub(crate) fn stamp(&mut self, now_ms: u64) {
        for owed in &mut self.owed {
            owed.since_ms.get_or_insert(now_ms);
        }
    }

    /// Whether a duty is owed for this relay member (an add or a removal).
    pub(crate) fn has_add_for(&self, member: MemberId) -> bool {
        self.owed
            .iter()
            .any(|o| matches!(o.duty, Duty::Add { member: m, .. } if m == member))
    }

    pub(crate) fn has_remove_for(&self, leaf: u32) -> bool {
        self.owed
            .iter()
            .any(|o| matches!(o.duty, Duty::Remove { leaf: l, .. } if l == leaf))
    }

    /// Makes an owed removal of `leaf`, while it holds `key`, a kick of this member's
    /// (the host's), which renews the invitation in the same commit; whether one was
    /// owed.
    pub(crate) fn make_kick(&mut self, leaf: u32, key: &[u8; 32]) -> bool {
        let mut found = false;
        for o in &mut self.owed {
            if let Duty::Remove {
                leaf: l,
                key: k,
                kick,
            } = &mut o.duty
            {
                if *l == leaf && k == key {
                    *kick = true;
                    found = true;
                }
            }
        }
        found
    }

    /// The host renewed the invitation: every add owed until now was requested with
    /// the old one (nobody held the new pass before this point of the relay's order),
    /// so all are dropped except members' proven returns. Nobody adds them after the
    /// switch, whatever the order of commits.
    pub(crate) fn renewed(&mut self) {
        self.owed.retain(|o| match &o.duty {
            Duty::Add { proven, .. } => *proven,
            Duty::Remove { .. } => true,
        });
    }

    /// Drops the removals a commit carried out: those of its removed leaves with the
    /// keys they held, even if the same credential is back at the same leaf index in
    /// that commit (a member's rejoin committed in one step: its new leaf is not the
    /// one the removal was owed for).
    pub(crate) fn removed(&mut self, removed: &[crate::group::Member]) {
        self.owed.retain(|o| match &o.duty {
            Duty::Remove { leaf, key, .. } => !removed
                .iter()
                .any(|x| x.leaf == *leaf && x.identity.signature_key == *key),
            Duty::Add { .. } => true,
        });
    }

    /// Drops every removal whose leaf no longer holds the key it was owed for (the leaf
    /// is gone, or a commit put another member there).
    pub(crate) fn keep_removals_of(&mut self, members: &[crate::group::Member]) {
        self.owed.retain(|o| match &o.duty {
            Duty::Remove { leaf, key, .. } => members
                .iter()
                .any(|x| x.leaf == *leaf && x.identity.signature_key == *key),
            Duty::Add { .. } => true,
        });
    }

    /// Drops the add owed to a relay member (it left before being added).
    pub(crate) fn forget_member(&mut self, member: MemberId) {
        self.owed
            .retain(|o| !matches!(o.duty, Duty::Add { member: m, .. } if m == member));
    }
}

/// Whether a member at place `position` of the committer order should commit now.
pub(crate) fn due(position: usize, since_ms: Option<u64>, now_ms: Option<u64>) -> bool {
    if position == 0 {
        return true;
    }
    match (since_ms, now_ms) {
        (Some(since), Some(now)) => {
            now.saturating_sub(since) >= FALLBACK_MS.saturating_mul(position as u64)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::Member;

    fn member(leaf: u32, key: u8) -> Member {
        Member {
            leaf,
            identity: PublicIdentity {
                client_id: [key; crate::group::identity::CLIENT_ID_LEN],
                signature_key: [key; 32],
            },
        }
    }

    fn removal(leaf: u32, key: u8, kick: bool) -> Duty {
        Duty::Remove {
            leaf,
            key: [key; 32],
            kick,
        }
    }

    /// One commit removed leaf 2 and put a newcomer there: the removal owed to the
    /// member that left is not carried out on the newcomer.
    #[test]
    fn a_removal_is_dropped_once_another_member_sits_at_its_leaf() {
        let mut duties = Duties::default();
        duties.push(removal(2, 7, true), None);
        duties.push(removal(3, 8, false), None);
        duties.keep_removals_of(&[member(0, 1), member(2, 9), member(3, 8)]);
        assert!(
            !duties.has_remove_for(2),
            "the newcomer at leaf 2 is not removed"
        );
        assert!(duties.has_remove_for(3), "leaf 3 still holds its member");
        duties.keep_removals_of(&[member(0, 1), member(2, 9)]);
        assert!(duties.owed.is_empty(), "leaf 3 is gone");
    }

    /// One commit removed leaf 2 and added the same credential back at leaf 2 (a
    /// rejoin done in one step): the removal was carried out, and is not applied to
    /// the member's new leaf.
    #[test]
    fn a_removal_carried_out_ends_even_if_the_same_member_is_back_at_the_leaf() {
        let mut duties = Duties::default();
        duties.push(removal(2, 7, false), None);
        duties.push(removal(3, 8, false), None);
        duties.removed(&[member(2, 7)]);
        duties.keep_removals_of(&[member(0, 1), member(2, 7), member(3, 8)]);
        assert!(!duties.has_remove_for(2));
        assert!(duties.has_remove_for(3));
    }

    /// An owed removal becomes the host's kick only for the key it was owed for.
    #[test]
    fn an_owed_removal_becomes_a_kick_only_for_the_same_key() {
        let mut duties = Duties::default();
        duties.push(removal(2, 7, false), None);
        assert!(!duties.make_kick(2, &[9; 32]));
        assert!(matches!(
            duties.owed[0].duty,
            Duty::Remove { kick: false, .. }
        ));
        assert!(duties.make_kick(2, &[7; 32]));
        assert!(matches!(
            duties.owed[0].duty,
            Duty::Remove { kick: true, .. }
        ));
    }
}
