//! Who is who: the group's leaves (the authenticated members, from MLS) mapped to the
//! relay's member ids (for presence, routing and the relay's `Left`) and to nicknames.
//!
//! Trust runs one way: a leaf is a member because the group says so; its relay member
//! id is learned from the sealed key package that added it (bound to that id) or from
//! the relay's stamp on its own authenticated messages, and a later message of the same
//! leaf under another id is a sign of a misbehaving relay. Nicknames come only from the
//! leaf's own `Profile` messages.

use std::collections::BTreeMap;

use super::envelope::Presence;
use crate::group::{Member, PublicIdentity};
use crate::wire::MemberId;

/// What the session knows of one leaf beyond the group's own record.
#[derive(Clone, Debug, Default)]
pub(crate) struct Peer {
    /// Its relay member id, once known.
    pub(crate) member: Option<MemberId>,
    /// Its nickname, once it sent a profile.
    pub(crate) nick: Option<String>,
    /// Whether the user has been told it is here (`MemberJoined`).
    pub(crate) shown: bool,
    /// The credential the group holds at this leaf.
    pub(crate) identity: Option<PublicIdentity>,
    /// Its key for direct messages, once it sent one (authenticated by the group).
    pub(crate) direct_key: Option<[u8; 32]>,
    /// Whether it is at the room or away, as it last said.
    pub(crate) presence: Presence,
    /// The relay's stamp on its first message before it claimed an id: never used to
    /// find a leaf, only checked against the claim when it comes.
    pub(crate) stamped: Option<MemberId>,
}

/// The result of attributing an authenticated message to a relay member id.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Attribution {
    /// The id is the one already known for the leaf, or is now learned.
    Consistent,
    /// The leaf is known under another id, or another leaf under this one.
    Mismatch,
}

/// Leaves of the current epoch with what the session knows about them.
#[derive(Default)]
pub(crate) struct Roster {
    peers: BTreeMap<u32, Peer>,
}

impl Roster {
    /// Brings the roster in line with the group's members: leaves that are gone are
    /// returned (with what was known of them), new ones start unknown.
    pub(crate) fn sync(&mut self, members: &[Member]) -> Vec<(u32, Peer)> {
        let gone: Vec<u32> = self
            .peers
            .keys()
            .filter(|leaf| !members.iter().any(|m| m.leaf == **leaf))
            .copied()
            .collect();
        let removed = gone
            .into_iter()
            .filter_map(|leaf| self.peers.remove(&leaf).map(|p| (leaf, p)))
            .collect();
        for m in members {
            let peer = self.peers.entry(m.leaf).or_default();
            // A leaf index taken over by someone else (a removal and an add in one
            // commit) inherits nothing from its previous holder.
            if peer.identity != Some(m.identity) {
                *peer = Peer {
                    identity: Some(m.identity),
                    ..Peer::default()
                };
            }
        }
        removed
    }

    /// Whether a leaf other than `leaf` published this direct key.
    pub(crate) fn direct_key_taken(&self, leaf: u32, key: &[u8; 32]) -> bool {
        self.peers
            .iter()
            .any(|(l, p)| *l != leaf && p.direct_key.as_ref() == Some(key))
    }

    pub(crate) fn get(&self, leaf: u32) -> Option<&Peer> {
        self.peers.get(&leaf)
    }

    pub(crate) fn get_mut(&mut self, leaf: u32) -> Option<&mut Peer> {
        self.peers.get_mut(&leaf)
    }

    /// The leaf known under a relay member id.
    pub(crate) fn leaf_of(&self, member: MemberId) -> Option<u32> {
        self.peers
            .iter()
            .find(|(_, p)| p.member == Some(member))
            .map(|(&leaf, _)| leaf)
    }

    /// Keeps the relay's first stamp on a message of `leaf`, whose id is not known yet.
    pub(crate) fn stamp(&mut self, leaf: u32, member: MemberId) {
        if let Some(peer) = self.peers.get_mut(&leaf) {
            peer.stamped.get_or_insert(member);
        }
    }

    /// Records that `leaf` claimed (inside the group) to be relay member `member`.
    pub(crate) fn attribute(&mut self, leaf: u32, member: MemberId) -> Attribution {
        let taken_by_other = self.leaf_of(member).is_some_and(|l| l != leaf);
        let Some(peer) = self.peers.get_mut(&leaf) else {
            return Attribution::Mismatch;
        };
        match peer.member {
            Some(known) if known == member => Attribution::Consistent,
            Some(_) => Attribution::Mismatch,
            None if taken_by_other => Attribution::Mismatch,
            None => {
                peer.member = Some(member);
                Attribution::Consistent
            }
        }
    }

    /// Leaves whose relay member id is in `online`, ascending.
    pub(crate) fn online_leaves(&self, online: impl Fn(MemberId) -> bool) -> Vec<u32> {
        self.peers
            .iter()
            .filter(|(_, p)| p.member.is_some_and(&online))
            .map(|(&leaf, _)| leaf)
            .collect()
    }
}

/// A short label for a member whose nickname has not arrived yet: the start of its
/// fingerprint, which is authenticated.
pub(crate) fn placeholder_nick(identity: &PublicIdentity) -> String {
    let words = identity.fingerprint().words();
    format!("{}-{}", words[0], words[1])
}
