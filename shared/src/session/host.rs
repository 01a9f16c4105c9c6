//! Host powers that move (PROTOCOL.md §7.6, §9.3): a hand-over to another member, a
//! succession when the host has left for good, and a host that rejoined taking its
//! powers back.
//!
//! The group decides who the host is: the room record of the current epoch binds the
//! host's signature key, and every member checks each commit against the same rules
//! (`Group::handle`), from agreed group state alone. A member who is not the host may
//! remove only departed leaves; removing the host's leaf names its successor (the lowest
//! remaining leaf) in the same commit; a host that rejoined proves its return with a
//! signature of its old host key over its new one, carried in the commit.
//!
//! The relay's host seat follows the group: the seat's holder hands it to the member
//! the group made host (`HandOver`, keeping its secret until the relay's `HostChanged`
//! confirms it), and the member the relay names claims the seat with a secret of its
//! own (`ClaimHost`). No host secret ever travels between members.

use std::collections::BTreeSet;

use rand_core::{OsRng, RngCore as _};

use super::{event, rotate, warning, ActionError, Output, Session, SessionEvent, Stage};
use crate::wire::{ClientFrame, HostSecret, MemberId};

const WARN_HOST_UNSAID: &str = "The relay says another member holds its host seat while the \
     room's host is still here; the room's own record of its host still decides. The relay \
     may be misbehaving.";

/// How long a host that a succession replaced may come back and take its powers back
/// (its proven return wins): after that, the new host closes the window.
pub const RETURN_WINDOW_MS: u64 = 120_000;

/// What a member tracks about host powers moving.
#[derive(Default)]
pub(super) struct HostMoves {
    /// The hand-over this member, the host, asked for: the heir's leaf signature key,
    /// until the group's host key has moved (or it can no longer).
    handover: Option<[u8; 32]>,
    /// The member the relay's seat was handed to, until the relay confirms it.
    seat_sent: Option<MemberId>,
    /// Since when this member, the host, has seen a replaced host in the record.
    previous_since_ms: Option<u64>,
    /// The member cap this member, the host, asked for, until the group records it.
    cap: Option<Option<u32>>,
    /// The member cap last reported ([`SessionEvent::MemberCap`]).
    shown_cap: Option<u32>,
}

/// Whether the group holds as many members as the host allows.
pub(super) fn full(group: &crate::group::Group) -> bool {
    group
        .member_cap()
        .is_some_and(|cap| group.members().len() >= cap as usize)
}

fn fresh_secret() -> HostSecret {
    let mut secret = [0u8; 32];
    OsRng.fill_bytes(&mut secret);
    HostSecret(secret)
}

impl Session {
    /// Host: gives host powers to another member. The host commits the group's new
    /// room record naming that member's key; once it has won the relay's order it
    /// hands the relay's seat over, and the new host claims it with a secret of its own.
    pub fn hand_over(&mut self, member: MemberId) -> Result<Vec<Output>, ActionError> {
        let key = self.key_of_other(member)?;
        let m = self.member_ready()?;
        m.host.handover = Some(key);
        let mut out = Vec::new();
        self.run_duties(&mut out);
        Ok(out)
    }

    /// Host: sets the most members the room lets in (`None`: the relay's limit), at
    /// least 1 and at most the relay's limit. The group records it (members refuse
    /// newcomers past it) and the relay enforces it (`Full`).
    pub fn set_member_cap(&mut self, cap: Option<u32>) -> Result<Vec<Output>, ActionError> {
        let secret = self.host_secret()?;
        let max = self.limits.map_or(u32::MAX, |l| l.max_members);
        let cap = cap.map(|c| c.clamp(1, max.max(1)));
        let m = self.member_ready()?;
        m.host.cap = Some(cap);
        let mut out = Vec::new();
        if let Some(secret) = secret {
            let max_members = cap.unwrap_or(0);
            out.push(Output::Send(
                ClientFrame::SetCap {
                    secret,
                    max_members,
                }
                .encode(),
            ));
        }
        self.run_duties(&mut out);
        Ok(out)
    }

    /// The most members the host lets in, as the group agreed (`None`: the relay's
    /// limit only).
    pub fn member_cap(&self) -> Option<u32> {
        match &self.stage {
            Stage::Member(m) => m.group.member_cap(),
            _ => None,
        }
    }

    /// The relay id of the member the group says is the host, if known.
    pub(super) fn group_host(&self) -> Option<MemberId> {
        let Stage::Member(m) = &self.stage else {
            return None;
        };
        if m.group.is_host() {
            return self.me;
        }
        let host = m.group.host_key();
        let leaf = m
            .group
            .members()
            .into_iter()
            .find(|x| x.identity.signature_key == host)?
            .leaf;
        m.roster.get(leaf).and_then(|p| p.member)
    }

    /// Tells the group which leaves are departed now (PROTOCOL.md §9.3): those whose
    /// member's place at the relay ended, or who proved they are coming back under a
    /// new leaf. A leaf whose relay id this member does not know yet counts as departed
    /// (the members who know it decide; see PROTOCOL.md §9.3).
    pub(super) fn note_departed(&mut self) {
        let connected = &self.connected;
        let me = self.me;
        let Stage::Member(m) = &mut self.stage else {
            return;
        };
        let own = m.group.own_leaf();
        let departed: BTreeSet<u32> = m
            .group
            .members()
            .into_iter()
            .filter(|x| x.leaf != own)
            .filter(|x| match m.roster.get(x.leaf).and_then(|p| p.member) {
                Some(id) => {
                    Some(id) != me && (!connected.contains(&id) || m.rejoining.contains(&id))
                }
                None => true,
            })
            .map(|x| x.leaf)
            .collect();
        m.group.set_departed(departed);
    }

    /// After a group message: if the group's host key moved, say so, and bring the
    /// relay's seat along.
    pub(super) fn after_host_change(&mut self, before: [u8; 32], out: &mut Vec<Output>) {
        let host = self.group_host();
        let me = self.me;
        if let Stage::Member(m) = &mut self.stage {
            let cap = m.group.member_cap();
            if cap != m.host.shown_cap {
                m.host.shown_cap = cap;
                out.push(event(SessionEvent::MemberCap { cap }));
            }
            let now = m.group.host_key();
            if now != before {
                m.host.handover = None;
                m.host.previous_since_ms = None;
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
        }
        self.follow_seat(out);
        self.after_moderators(out);
    }

    /// The relay's `HostChanged`: its seat waits for this member's claim. The named
    /// member claims it; whoever else held it drops its secret. A seat moved away from a
    /// host that is still here is warned about (the group still decides who is host).
    pub(super) fn on_host_changed(&mut self, host: MemberId, out: &mut Vec<Output>) {
        self.host = Some(host);
        let me = self.me;
        let group_host = self.group_host();
        let host_here = group_host.is_some_and(|h| Some(h) == me || self.connected.contains(&h));
        if group_host.is_some() && group_host != Some(host) && host_here {
            out.push(warning(None, WARN_HOST_UNSAID));
        }
        let Some(keys) = self.seat_keys() else {
            return;
        };
        keys.host_secret = None;
        if Some(host) == me {
            claim(&mut keys.host_secret, None, out);
            self.renewal_to_relay(out);
        }
        self.follow_seat(out);
        self.moderators_stale();
        self.after_moderators(out);
    }

    /// After the relay's `Welcome` (a connection, or a reconnection): the seat this
    /// member holds is claimed again (a no-op for the relay if the claim had arrived),
    /// and a hand-over the relay may not have seen is sent again.
    pub(super) fn after_welcome(&mut self, out: &mut Vec<Output>) {
        let mine = self.host.is_some() && self.host == self.me;
        let resumed = self.resumed;
        let Some(keys) = self.seat_keys() else {
            return;
        };
        if !mine {
            keys.host_secret = None;
        } else if resumed || keys.host_secret.is_none() {
            let held = keys.host_secret.take();
            claim(&mut keys.host_secret, held, out);
            // The renewal's frames follow the catch-up (`CaughtUp`): sent before it,
            // a member that missed a renewal would set an older proof back.
        }
        self.follow_seat(out);
        self.moderators_stale();
        self.after_moderators(out);
    }

    /// Host: the signature key of `member`, another member of the group.
    pub(super) fn key_of_other(&mut self, member: MemberId) -> Result<[u8; 32], ActionError> {
        let me = self.me;
        let m = self.member_ready()?;
        if !m.group.is_host() {
            return Err(ActionError::NotHost);
        }
        if Some(member) == me {
            return Err(ActionError::UnknownMember);
        }
        let leaf = m.roster.leaf_of(member).ok_or(ActionError::UnknownMember)?;
        m.group
            .members()
            .into_iter()
            .find(|x| x.leaf == leaf)
            .map(|x| x.identity.signature_key)
            .ok_or(ActionError::UnknownMember)
    }

    /// After a claim of the relay's seat, once caught up: the renewal's frames the
    /// relay may have missed (`rotate::tell_relay`).
    pub(super) fn renewal_to_relay(&mut self, out: &mut Vec<Output>) {
        if self.host.is_none() || self.host != self.me {
            return;
        }
        if let Stage::Member(m) = &mut self.stage {
            rotate::tell_relay(m, &self.connected, out);
        }
    }

    /// This member's keys, with any hand-over it sent forgotten (the relay's word on
    /// its seat just came).
    fn seat_keys(&mut self) -> Option<&mut super::Keys> {
        match &mut self.stage {
            Stage::Member(m) => {
                m.host.seat_sent = None;
                Some(&mut m.keys)
            }
            Stage::Joining(j) => Some(&mut j.keys),
            Stage::Ended => None,
        }
    }

    /// The holder of the relay's seat hands it to the member the group made host, once
    /// that member is connected.
    fn follow_seat(&mut self, out: &mut Vec<Output>) {
        let (me, seat) = (self.me, self.host);
        let heir = self
            .group_host()
            .filter(|h| Some(*h) != me && self.connected.contains(h));
        let returning = self.host_return.is_some();
        let Stage::Member(m) = &mut self.stage else {
            return;
        };
        // A host about to prove its return keeps the seat it may hold.
        let own = m.group.identity().public().signature_key;
        if seat.is_none() || seat != me || returning || m.group.previous_host() == Some(own) {
            return;
        }
        let (Some(heir), Some(secret)) = (heir, m.keys.host_secret.clone()) else {
            return;
        };
        if m.host.seat_sent != Some(heir) {
            m.host.seat_sent = Some(heir);
            out.push(Output::Send(
                ClientFrame::HandOver { secret, to: heir }.encode(),
            ));
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

    /// The host-moving commit this member owes now, if any: its own hand-over, its
    /// return after a rejoin, or, as the host, the end of a replaced host's window.
    pub(super) fn host_commit(&mut self) -> Option<Vec<u8>> {
        let now = self.now_ms;
        let returning = &mut self.host_return;
        let Stage::Member(m) = &mut self.stage else {
            return None;
        };
        let group = &mut m.group;
        if let Some(cap) = m.host.cap {
            if group.is_host() && cap != group.member_cap() {
                match group.set_member_cap(cap) {
                    Ok(commit) => return Some(commit),
                    Err(_) => m.host.cap = None,
                }
            } else {
                m.host.cap = None;
            }
        }
        if let Some(key) = m.host.handover {
            if group.is_host() && key != group.host_key() {
                match group.set_host(key) {
                    Ok(commit) => return Some(commit),
                    Err(_) => m.host.handover = None,
                }
            } else {
                m.host.handover = None;
            }
        }
        // A host that came back as itself (a reload) while a succession replaced it:
        // its own key is the replaced host's.
        let own = group.identity().public().signature_key;
        if !group.is_host() && group.previous_host() == Some(own) {
            let signer = group.rejoin_signer();
            return group.return_host(&signer).ok();
        }
        if let Some(signer) = returning {
            let old = signer.signature_key();
            if group.is_host() || (old != group.host_key() && Some(old) != group.previous_host()) {
                *returning = None;
            } else {
                return group.return_host(signer).ok();
            }
        }
        if let (true, Some(_), Some(now)) = (group.is_host(), group.previous_host(), now) {
            let since = *m.host.previous_since_ms.get_or_insert(now);
            if now.saturating_sub(since) >= RETURN_WINDOW_MS {
                return group.close_return().ok();
            }
        }
        None
    }

    /// When leaving a group state behind to rejoin: a host (or a host a succession
    /// replaced) keeps its old key to prove its return.
    pub(super) fn keep_host_signer(&mut self, group: &crate::group::Group) {
        let own = group.identity().public().signature_key;
        if group.is_host() || group.previous_host() == Some(own) {
            self.host_return = Some(group.rejoin_signer());
        }
    }
}

/// Takes the relay's seat: with `held` again (a reconnection), or with a fresh secret
/// of this member's own.
fn claim(slot: &mut Option<HostSecret>, held: Option<HostSecret>, out: &mut Vec<Output>) {
    let secret = held.unwrap_or_else(fresh_secret);
    out.push(Output::Send(
        ClientFrame::ClaimHost {
            host: secret.hash(),
        }
        .encode(),
    ));
    *slot = Some(secret);
}
