//! Host powers that move (PROTOCOL.md §7.6): a hand-over to another member, a succession
//! when the host's leaf is gone, and a rejoined host taking its powers to its new leaf.
//!
//! The group decides who the host is: the room extension of the current epoch binds the
//! host's signature key, and only the host, the agreed successor or a member moving
//! powers to a proven rejoined host may commit a new one (`Group::set_host`). The relay
//! only follows: its host seat moves by `HandOver` (sent by the old host once its commit
//! has won the relay's order) and `ClaimHost` (sent by the new host with a fresh secret
//! of its own, so no host secret ever travels between members). A relay's
//! `HostChanged` that disagrees with the group is warned about and changes nothing.

use rand_core::{OsRng, RngCore as _};

use super::{
    committer_order, duties, event, my_turn, warning, ActionError, Membership, Output, Session,
    SessionEvent, Stage,
};
use crate::wire::{ClientFrame, HostSecret, MemberId};

const WARN_HOST_UNSAID: &str = "The relay says another member holds host powers, but the \
     room's own record of its host says otherwise; it was ignored. The relay may be \
     misbehaving.";

/// What a member tracks about host powers moving.
#[derive(Default)]
pub(super) struct HostMoves {
    /// The hand-over this member, the host, asked for: the heir's leaf signature key
    /// and relay id, until the group's host key has moved (or it can no longer).
    handover: Option<([u8; 32], MemberId)>,
    /// A rejoining host's new leaf key and relay id, proven by the host's rejoin
    /// signature: the members move host powers to it once it is added. While it is
    /// pending, nobody succeeds the host.
    heir: Option<(MemberId, [u8; 32])>,
    /// Since when the move to the heir has been owed (for the committer order's
    /// fallback delay).
    heir_since_ms: Option<u64>,
    /// Whether this member, made host by the group, waits for the relay's
    /// `HostChanged` naming it before it claims the relay's seat (a hand-over: the old
    /// host releases the seat only once its commit has won).
    claim_waiting: bool,
}

fn fresh_secret() -> HostSecret {
    let mut secret = [0u8; 32];
    OsRng.fill_bytes(&mut secret);
    HostSecret(secret)
}

impl Session {
    /// Host: gives host powers to another member. The host commits the group's new
    /// room extension naming that member's key; once the commit has won the relay's
    /// order it hands the relay's seat over, and the new host claims it with a secret
    /// of its own.
    pub fn hand_over(&mut self, member: MemberId) -> Result<Vec<Output>, ActionError> {
        self.host_secret()?;
        let me = self.me;
        let m = self.member_ready()?;
        if !m.group.is_host() {
            return Err(ActionError::NotHost);
        }
        if Some(member) == me {
            return Err(ActionError::UnknownMember);
        }
        let leaf = m.roster.leaf_of(member).ok_or(ActionError::UnknownMember)?;
        let key = m
            .group
            .members()
            .into_iter()
            .find(|x| x.leaf == leaf)
            .map(|x| x.identity.signature_key)
            .ok_or(ActionError::UnknownMember)?;
        m.host.handover = Some((key, member));
        let mut out = Vec::new();
        self.run_duties(&mut out);
        Ok(out)
    }

    /// The relay id of the member the group says is the host, if known.
    fn group_host(&self) -> Option<MemberId> {
        let Stage::Member(m) = &self.stage else {
            return None;
        };
        let host = m.group.host_key();
        if m.group.is_host() {
            return self.me;
        }
        let leaf = m
            .group
            .members()
            .into_iter()
            .find(|x| x.identity.signature_key == host)?
            .leaf;
        m.roster.get(leaf).and_then(|p| p.member)
    }

    /// After a group message: if the group's host key moved, say so, release or claim
    /// the relay's seat as this member's part in it requires.
    pub(super) fn after_host_change(&mut self, before: [u8; 32], out: &mut Vec<Output>) {
        let host = self.group_host();
        let (me, relay_host) = (self.me, self.host);
        let seat_free =
            relay_host == me || relay_host.is_some_and(|h| !self.connected.contains(&h));
        let Stage::Member(m) = &mut self.stage else {
            return;
        };
        let now = m.group.host_key();
        if now == before {
            return;
        }
        let own = m.own_identity().map(|i| i.signature_key);
        if own == Some(before) {
            // This member was the host: the seat goes to the heir the group named.
            if let (Some((key, to)), Some(secret)) =
                (m.host.handover.take(), m.keys.host_secret.take())
            {
                if key == now {
                    out.push(Output::Send(ClientFrame::HandOver { secret, to }.encode()));
                }
            }
            m.keys.host_secret = None;
        }
        m.host.handover = None;
        if m.host.heir.is_some_and(|(_, key)| key == now) {
            m.host.heir = None;
        }
        if own == Some(now) && m.keys.host_secret.is_none() {
            if seat_free {
                claim(m, out);
            } else {
                m.host.claim_waiting = true;
            }
        }
        if let Some(member) = host {
            let nick = if Some(member) == me {
                self.nick.clone()
            } else {
                m.roster
                    .leaf_of(member)
                    .and_then(|leaf| m.roster.get(leaf))
                    .and_then(|p| p.nick.clone())
                    .unwrap_or_default()
            };
            out.push(event(SessionEvent::HostChanged {
                member,
                nick,
                own: Some(member) == me,
            }));
        }
    }

    /// The relay's `HostChanged`: believed only when the group agrees.
    pub(super) fn on_host_changed(&mut self, host: MemberId, out: &mut Vec<Output>) {
        if !matches!(self.stage, Stage::Member(_)) {
            self.host = Some(host);
            return;
        }
        if self.group_host() != Some(host) {
            out.push(warning(None, WARN_HOST_UNSAID));
            return;
        }
        self.host = Some(host);
        let mine = Some(host) == self.me;
        if let Stage::Member(m) = &mut self.stage {
            if mine && m.host.claim_waiting && m.keys.host_secret.is_none() {
                claim(m, out);
            }
        }
    }

    /// The relay reports `member` gone: a rejoining host that leaves is no heir.
    pub(super) fn host_heir_left(&mut self, member: MemberId) {
        if let Stage::Member(m) = &mut self.stage {
            if m.host.heir.is_some_and(|(id, _)| id == member) {
                m.host.heir = None;
            }
        }
    }

    /// Whether this member holds host powers: the group's word once in the group.
    pub(super) fn holds_host(&self) -> bool {
        match &self.stage {
            Stage::Member(m) => m.group.is_host(),
            Stage::Joining(j) => j.keys.host_secret.is_some(),
            Stage::Ended => false,
        }
    }
}

/// Takes the relay's seat with a fresh secret of this member's own.
fn claim(m: &mut Membership, out: &mut Vec<Output>) {
    let secret = fresh_secret();
    out.push(Output::Send(
        ClientFrame::ClaimHost {
            host: secret.hash(),
        }
        .encode(),
    ));
    m.keys.host_secret = Some(secret);
    m.host.claim_waiting = false;
}

impl Membership {
    /// A rejoin request under `member`'s id carried this new key, proven by the
    /// signature of `proven_by`: if that is the host's key, the new leaf is the host's.
    pub(super) fn note_rejoin(&mut self, member: MemberId, key: [u8; 32], proven_by: [u8; 32]) {
        if proven_by == self.group.host_key() {
            self.host.heir = Some((member, key));
            self.host.heir_since_ms = None;
            self.group.allow_host(key);
        }
    }

    /// The host-moving commit this member owes now, if any: its own hand-over, the move
    /// to a rejoined host's new leaf (in the committer order), or its succession (when
    /// the host's leaf is gone and this member has the lowest leaf).
    pub(super) fn host_commit(&mut self, online: &[u32], now: Option<u64>) -> Option<Vec<u8>> {
        let group = &mut self.group;
        let current = group.host_key();
        if let Some((key, _)) = self.host.handover {
            if group.is_host() && key != current {
                match group.set_host(key) {
                    Ok(commit) => return Some(commit),
                    Err(_) => self.host.handover = None,
                }
            } else {
                self.host.handover = None;
            }
        }
        if let Some((_, key)) = self.host.heir {
            if key == current {
                self.host.heir = None;
                return None;
            }
            let members = group.members();
            if !members.iter().any(|x| x.identity.signature_key == key) {
                return None; // not added yet; nobody succeeds meanwhile
            }
            if let Some(now) = now {
                self.host.heir_since_ms.get_or_insert(now);
            }
            let order = committer_order(online.iter().copied(), &[]);
            let position = my_turn(&order, group.own_leaf())?;
            if !duties::due(position, self.host.heir_since_ms, now) {
                return None;
            }
            return group.set_host(key).ok();
        }
        let successor = group.successor()?;
        if !group.host_present() && successor.leaf == group.own_leaf() {
            return group.set_host(successor.identity.signature_key).ok();
        }
        None
    }
}
