//! Renewing the room's invitation after a kick (PROTOCOL.md §11.4): a removed member
//! keeps the room secret, so its old link (or code, or passphrase) would let it back in.
//!
//! When the host's own commit removes a member it kicked, the host draws a fresh
//! [`RoomPass`], tells the relay the hash of the join proof it derives
//! ([`ClientFrame::Rotate`], checked with the host secret) before asking it to
//! disconnect the member, and hands the pass to the remaining members in the new epoch
//! ([`Content::Pass`], an MLS application message the removed member cannot read and
//! the relay sees only as ciphertext). From then on:
//!
//! - the relay admits a newcomer only with the current proof ([`ClientFrame::JoinProved`];
//!   a `Join` without it, or with an older one, gets [`ErrorCode::InviteChanged`]); a
//!   member taking back its own place with its resume token is not asked for it;
//! - the members seal and open newcomers' key packages under the join key of secret and
//!   pass, so a request sealed under an older key is refused, unless it is a member's
//!   proven rejoin under an id whose leaf the group still holds (a member that reloaded
//!   or fell behind during the renewal); the host then hands it the pass again;
//! - every member's invite link carries the pass, and its live short codes are revoked
//!   (a code's grant carries the pass from then on).
//!
//! [`ErrorCode::InviteChanged`]: crate::wire::ErrorCode::InviteChanged

use std::collections::VecDeque;

use super::envelope::{open_key_package, Content};
use super::{event, Keys, Membership, Output, SessionEvent};
use crate::crypto::keys::{Join, Key};
use crate::crypto::{OsRng, RoomPass};
use crate::wire::{ClientFrame, MemberId, Resume, RoomId, PROTOCOL_VERSION};

/// Join keys of earlier passes kept for members' proven rejoins.
const MAX_PREVIOUS: usize = 4;

/// The room's pass, if its invitation was renewed, and the join keys before it.
#[derive(Default)]
pub(super) struct Renewal {
    /// The current pass.
    pass: Option<RoomPass>,
    /// How many times the host renewed the invitation (0: never): a pass with a lower
    /// number is an old one, replayed.
    generation: u32,
    /// The join keys of earlier passes (and of none), newest last.
    previous: VecDeque<Key<Join>>,
}

impl Keys {
    /// Keys for a room entered with `pass` (from a renewed link or a code's grant).
    pub(super) fn with_pass(mut self, pass: Option<RoomPass>, generation: u32) -> Keys {
        if let Some(pass) = pass {
            self.join_key = pass.join_key(&self.room_secret);
            self.renewal.pass = Some(pass);
            self.renewal.generation = generation;
        }
        self
    }

    /// How many times the host renewed the invitation, as far as this member knows.
    pub(super) fn pass_generation(&self) -> u32 {
        self.renewal.generation
    }

    /// The room's current pass.
    pub(super) fn pass(&self) -> Option<&RoomPass> {
        self.renewal.pass.as_ref()
    }

    /// The room's current pass, for a code's grant.
    pub(super) fn renewal_pass(&self) -> Option<&RoomPass> {
        self.renewal.pass.as_ref()
    }

    /// Takes `pass` as the room's current one.
    fn set_pass(&mut self, pass: RoomPass, generation: u32) {
        let previous = std::mem::replace(&mut self.join_key, pass.join_key(&self.room_secret));
        self.renewal.previous.push_back(previous);
        if self.renewal.previous.len() > MAX_PREVIOUS {
            self.renewal.previous.pop_front();
        }
        self.renewal.pass = Some(pass);
        self.renewal.generation = generation;
    }

    /// The first frame of a socket that joins (or takes back `resume`): a `Join`, or a
    /// `JoinProved` once the room has a pass.
    pub(super) fn join_frame(
        &self,
        room: RoomId,
        resume: Option<Resume>,
        after: Option<u64>,
    ) -> Vec<u8> {
        match &self.renewal.pass {
            None => ClientFrame::Join {
                version: PROTOCOL_VERSION,
                room,
                resume,
                after,
            }
            .encode(),
            Some(pass) => ClientFrame::JoinProved {
                version: PROTOCOL_VERSION,
                room,
                resume,
                after,
                proof: pass.join_proof(&self.room_secret),
            }
            .encode(),
        }
    }

    /// Opens a key package sealed under the join key of an earlier pass (a member that
    /// reloaded or fell behind while the host renewed the invitation).
    pub(super) fn open_with_previous(
        &self,
        room: &RoomId,
        (from, since): (MemberId, u64),
        nonce: &[u8; 24],
        sealed: &[u8],
    ) -> Option<Vec<u8>> {
        self.renewal
            .previous
            .iter()
            .rev()
            .find_map(|key| open_key_package(key, room, (from, since), nonce, sealed).ok())
    }
}

/// The host's own commit removed a member it kicked: renew the invitation. Pushes the
/// `Rotate` frame (before the caller's `Kick`, so the relay refuses the old proof
/// before the member is disconnected) and the pass for the remaining members.
pub(super) fn renew(m: &mut Membership, out: &mut Vec<Output>) {
    // Only the host the group agrees on: the members take a pass from no one else, so
    // a former host's renewal would leave the relay and the members apart.
    if !m.group.is_host() {
        return;
    }
    let Some(secret) = m.keys.host_secret.clone() else {
        return;
    };
    let pass = RoomPass::generate(&mut OsRng);
    let generation = m.keys.renewal.generation.saturating_add(1);
    let proof = pass.join_proof(&m.keys.room_secret).hash();
    out.push(Output::Send(ClientFrame::Rotate { secret, proof }.encode()));
    m.keys.set_pass(pass.clone(), generation);
    m.send_content(&Content::Pass { pass, generation }, out);
    m.codes.revoke_all(out);
    out.push(event(SessionEvent::InviteChanged));
}

/// The host handed the members a pass (taken from the host alone, and only when newer
/// than the one held). `false` when the sender is not the host.
pub(super) fn on_pass(
    m: &mut Membership,
    is_host: bool,
    (pass, generation): (RoomPass, u32),
    out: &mut Vec<Output>,
) -> bool {
    if !is_host {
        return false;
    }
    let renewal = &mut m.keys.renewal;
    if renewal.pass.as_ref() == Some(&pass) {
        // Handed again (for a member taken back), or first numbered for a member that
        // came in with it.
        renewal.generation = renewal.generation.max(generation);
        return true;
    }
    if generation <= renewal.generation {
        return true; // an older pass
    }
    m.keys.set_pass(pass, generation);
    m.codes.revoke_all(out);
    out.push(event(SessionEvent::InviteChanged));
    true
}

/// The host after a commit that added members: in a renewed room, hand the pass again,
/// for a member taken back after a reload who had an older one.
pub(super) fn after_add(m: &mut Membership, out: &mut Vec<Output>) {
    if m.keys.host_secret.is_none() || !m.group.is_host() {
        return;
    }
    if let Some(pass) = m.keys.pass().cloned() {
        let generation = m.keys.renewal.generation;
        m.send_content(&Content::Pass { pass, generation }, out);
    }
}
