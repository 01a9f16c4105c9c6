//! Moderators (PROTOCOL.md §7.6): members the host lets kick others and lock or
//! unlock the room, and nothing else (not end the room, hand over host powers, set the
//! member cap or name moderators).
//!
//! The group decides who they are: the room record names their signature keys, only
//! the host's commit changes that list, and every member accepts a moderator's `Kick`
//! and `Lock` contents, and its removal of a present leaf, against the record of the
//! epoch they arrive in. The relay keeps its own moderator set for its own actions
//! (disconnecting a kicked member, refusing joins while locked): the host's session
//! tells it with [`ClientFrame::SetModerator`] once its commit has won the relay's
//! order, and again after a reconnection.

use std::collections::{BTreeMap, BTreeSet};

use super::envelope::HostAction;
use super::{event, ActionError, Output, Session, SessionEvent, Stage};
use crate::group::Group;
use crate::wire::{ClientFrame, MemberId};

/// What a member tracks about moderators.
#[derive(Default)]
pub(super) struct ModeratorState {
    /// This member's own kicks as a moderator: the relay is asked to disconnect the
    /// member once the removal commit has won the relay's order.
    pub(super) own_kicks: BTreeMap<u32, MemberId>,
    /// The change this member, the host, asked for (a member's key, on or off), until
    /// the group records it.
    asked: Option<([u8; 32], bool)>,
    /// The relay ids this member, the host, last told the relay are moderators.
    told: BTreeSet<MemberId>,
    /// Whether the relay must be told every moderator again (a new connection, or the
    /// host seat's secret just claimed).
    stale: bool,
    /// The moderators' keys last reported ([`SessionEvent::ModeratorChanged`]).
    shown: Option<BTreeSet<[u8; 32]>>,
}

/// Whether a moderator (by the current record) may do this host action: lock or
/// unlock, not end the room.
pub(super) fn moderator_may(group: &Group, sender: &[u8; 32], action: &HostAction) -> bool {
    group.is_moderator_key(sender) && matches!(action, HostAction::Lock(_))
}

/// Whether a moderator (by the current record) may kick `leaf`: neither the host's,
/// its own nor another moderator's (members check the commit itself the same way,
/// `Group::check_commit`).
pub(super) fn moderator_may_kick(group: &Group, sender: &[u8; 32], leaf: u32) -> bool {
    group.is_moderator_key(sender)
        && group.members().iter().any(|m| {
            m.leaf == leaf
                && m.identity.signature_key != group.host_key()
                && m.identity.signature_key != *sender
                && !group.is_moderator_key(&m.identity.signature_key)
        })
}

impl Session {
    /// Host: makes a member a moderator (`on`) or takes that back. The host commits
    /// the room record's new moderator list; once it has won the relay's order the
    /// relay is told too ([`ClientFrame::SetModerator`]).
    pub fn set_moderator(
        &mut self,
        member: MemberId,
        on: bool,
    ) -> Result<Vec<Output>, ActionError> {
        let key = self.key_of_other(member)?;
        let m = self.member_ready()?;
        if on
            && !m.group.is_moderator_key(&key)
            && m.group.moderator_keys().len() >= crate::group::binding::MAX_MODERATORS
        {
            return Err(ActionError::TooManyModerators);
        }
        m.moderators.asked = Some((key, on));
        let mut out = Vec::new();
        self.run_duties(&mut out);
        Ok(out)
    }

    /// Whether this member is a moderator, as the group agreed.
    pub fn is_moderator(&self) -> bool {
        match &self.stage {
            Stage::Member(m) => m.group.is_moderator(),
            _ => false,
        }
    }

    /// Whether this member may kick and lock: the host or a moderator.
    pub(super) fn may_moderate(&self) -> bool {
        self.holds_host() || self.is_moderator()
    }

    /// The moderator-list commit this member, the host, owes now, if any.
    pub(super) fn moderator_commit(&mut self) -> Option<Vec<u8>> {
        let Stage::Member(m) = &mut self.stage else {
            return None;
        };
        let (key, on) = m.moderators.asked?;
        let group = &mut m.group;
        if group.is_host() && group.is_moderator_key(&key) != on {
            match group.set_moderator(key, on) {
                Ok(commit) => return Some(commit),
                Err(_) => m.moderators.asked = None,
            }
        } else {
            m.moderators.asked = None;
        }
        None
    }

    /// A new connection, or the host seat claimed: the relay hears every moderator
    /// again.
    pub(super) fn moderators_stale(&mut self) {
        if let Stage::Member(m) = &mut self.stage {
            m.moderators.stale = true;
        }
    }

    /// After anything that may change the moderators or their relay ids: reports a
    /// change of the group's list, and (as the host holding the seat's secret) brings
    /// the relay's set along.
    pub(super) fn after_moderators(&mut self, out: &mut Vec<Output>) {
        let me = self.me;
        let connected = &self.connected;
        let Stage::Member(m) = &mut self.stage else {
            return;
        };
        let keys: BTreeSet<[u8; 32]> = m.group.moderator_keys().into_iter().collect();
        let members = m.group.members();
        let own = m.group.own_leaf();
        let id_of = |key: &[u8; 32]| {
            let member = members.iter().find(|x| x.identity.signature_key == *key)?;
            if member.leaf == own {
                me
            } else {
                m.roster.get(member.leaf).and_then(|p| p.member)
            }
        };
        let shown = m.moderators.shown.get_or_insert_with(BTreeSet::new);
        if *shown != keys {
            for (key, on) in keys
                .difference(shown)
                .map(|k| (k, true))
                .chain(shown.difference(&keys).map(|k| (k, false)))
            {
                let Some(member) = id_of(key) else { continue };
                let nick = if Some(member) == me {
                    self.nick.clone()
                } else {
                    let leaf = members.iter().find(|x| x.identity.signature_key == *key);
                    leaf.and_then(|x| m.roster.get(x.leaf))
                        .and_then(|p| p.nick.clone())
                        .unwrap_or_default()
                };
                out.push(event(SessionEvent::ModeratorChanged {
                    member,
                    nick,
                    on,
                    own: Some(member) == me,
                }));
            }
            *shown = keys.clone();
        }
        // The relay's set, from the host holding the seat's secret.
        let Some(secret) = m.keys.host_secret.clone() else {
            return;
        };
        if !m.group.is_host() {
            m.moderators.told.clear();
            return;
        }
        let want: BTreeSet<MemberId> = keys
            .iter()
            .filter_map(id_of)
            .filter(|id| connected.contains(id))
            .collect();
        let stale = std::mem::take(&mut m.moderators.stale);
        for &member in want.iter() {
            if stale || !m.moderators.told.contains(&member) {
                out.push(Output::Send(
                    ClientFrame::SetModerator {
                        secret: secret.clone(),
                        member,
                        on: true,
                    }
                    .encode(),
                ));
            }
        }
        for &member in m.moderators.told.difference(&want) {
            if connected.contains(&member) {
                out.push(Output::Send(
                    ClientFrame::SetModerator {
                        secret: secret.clone(),
                        member,
                        on: false,
                    }
                    .encode(),
                ));
            }
        }
        m.moderators.told = want;
    }
}
