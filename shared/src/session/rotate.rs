//! Renewing the room's invitation after a kick (PROTOCOL.md §11.4): a removed member
//! keeps the room secret, so its old link (or code, or passphrase) would let it back in.
//!
//! The host's commit that removes a member it kicks also raises the room record's
//! renewal number (`Group::kick`); if someone else's commit removed that leaf first, the
//! host's next commit raises it alone (`Group::renew_invitation`). Every member that
//! takes such a commit derives the same new [`RoomPass`] from the MLS exporter of the
//! epoch it starts (`Group::room_pass`): the removed member never enters that epoch, and
//! no separate message carries the pass, so a relay cannot hand it to some members and
//! withhold it from others. The host then tells the relay the hash of the join proof
//! ([`ClientFrame::Rotate`], checked with the host secret) before asking it to
//! disconnect the member, and sends both again after every reconnection until the relay
//! reports the member gone. From then on:
//!
//! - the relay admits a newcomer only with the current proof ([`ClientFrame::JoinProved`];
//!   a `Join` without it, or with an older one, gets [`ErrorCode::InviteChanged`]); a
//!   member taking back its own place with its resume token is not asked for it;
//! - the members seal and open newcomers' key packages under the join key of secret and
//!   pass, so a request sealed under an older key is refused, and one taken before the
//!   switch is not added after it, unless it is a member's proven rejoin under an id
//!   whose leaf the group still holds (a member that reloaded or fell behind during the
//!   renewal); the host then hands it the pass ([`Content::Pass`], taken only for the
//!   renewal number the group's record holds);
//! - a kicked member's owed requests die with its leaf; the host refuses requests with
//!   a key it kicked, and kicks again a leaf with such a key that comes back;
//! - a member added back with an older pass than the record's opens no request until
//!   the host hands it the current one;
//! - every member's invite link carries the pass, and its live short codes are revoked
//!   (a code's grant carries the pass from then on).
//!
//! [`ErrorCode::InviteChanged`]: crate::wire::ErrorCode::InviteChanged

use std::collections::{BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

use super::duties::{Duty, FALLBACK_MS};
use super::envelope::{open_key_package, Content};
use super::{event, Keys, Membership, Output, SessionEvent};
use crate::crypto::keys::{Join, Key};
use crate::crypto::RoomPass;
use crate::group::room::PendingRenewal;
use crate::group::Member;
use crate::wire::{ClientFrame, JoinProofHash, MemberId, Resume, RoomId, PROTOCOL_VERSION};

/// Join keys of earlier passes kept for members' proven rejoins.
const MAX_PREVIOUS: usize = 4;
/// Most kicked members whose disconnection the host keeps owing, and most kicked keys
/// it keeps, for its own kicks and for moderators' kicks each.
const MAX_KICKS: usize = 64;

/// Which kicks an entry of [`Kicks`] comes from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum By {
    /// This member's own, as host.
    Host,
    /// A moderator's, which this member (host, or holding the relay's seat) keeps.
    Moderator,
}

/// A list of kicks bounded per source, oldest first: a moderator kicking many members
/// pushes out only older moderators' entries, never the host's own.
pub(super) struct Kicks<T> {
    items: VecDeque<(T, By)>,
}

impl<T> Default for Kicks<T> {
    fn default() -> Self {
        Self {
            items: VecDeque::new(),
        }
    }
}

impl<T: Copy> Kicks<T> {
    /// Adds an entry, dropping the oldest of the same source beyond [`MAX_KICKS`].
    fn push(&mut self, item: T, by: By) {
        if self.items.iter().filter(|(_, b)| *b == by).count() >= MAX_KICKS {
            if let Some(at) = self.items.iter().position(|(_, b)| *b == by) {
                self.items.remove(at);
            }
        }
        self.items.push_back((item, by));
    }

    fn iter(&self) -> impl Iterator<Item = &T> {
        self.items.iter().map(|(item, _)| item)
    }

    fn find(&self, pick: impl Fn(&T) -> bool) -> Option<(T, By)> {
        self.items.iter().find(|(item, _)| pick(item)).copied()
    }

    fn retain(&mut self, keep: impl Fn(&T) -> bool) {
        self.items.retain(|(item, _)| keep(item));
    }
}

impl Kicks<MemberId> {
    fn contains(&self, member: &MemberId) -> bool {
        self.iter().any(|m| m == member)
    }

    /// Owes the disconnection of `member`, unless already owed.
    fn owe(&mut self, member: MemberId, by: By) {
        if !self.contains(&member) {
            self.push(member, by);
        }
    }
}

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

    /// Numbers the pass this member came in with (a link's or a code's, which carry
    /// none) as the group's current one.
    pub(super) fn number_pass(&mut self, generation: u32) {
        self.renewal.generation = generation;
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

/// The host's kicks and what it owes after them: the renewal (when someone else's
/// commit removed the kicked leaf first, so the kick's own commit, which carried it,
/// lost), and the relay's disconnection of each kicked member, sent once the invitation
/// is renewed and again after every claim of the relay's seat until the relay reports
/// the member gone.
#[derive(Default)]
pub(super) struct Owed {
    /// The signature keys this member kicked, with the relay id each had, oldest first:
    /// a leaf with such a key that comes back (a rejoin others took) is kicked again,
    /// and its requests are refused.
    kicked: Kicks<([u8; 32], MemberId)>,
    /// A renewal commit is owed (the host's next own commit).
    commit: bool,
    /// Relay ids of kicked members the relay has not yet reported gone, oldest first.
    disconnect: Kicks<MemberId>,
    /// Relay ids of members a moderator's kick removed, which the moderator has the
    /// relay disconnect itself: with the time (once this member's clock is known)
    /// after which this member, holding the relay's seat, asks for it instead.
    moderated: VecDeque<(MemberId, Option<u64>)>,
    /// After a reload: this member's renewing commit was on its way (openmls's pending
    /// commit is gone with the page), with the relay ids of the members it kicked. Once
    /// the group takes this member back they wait here for its renewal made again:
    /// asked for before it, the relay would free a kicked member's place while the old
    /// link still let it back in.
    in_flight: Option<Vec<MemberId>>,
}

/// What a saved session keeps of [`Owed`] (PROTOCOL.md §7.10), inside `Resumable`.
#[derive(Default, Serialize, Deserialize, Zeroize)]
pub(super) struct SavedOwed {
    /// The kicked signature keys, each with the relay id it had and whose kick it was,
    /// oldest first.
    kicked: Vec<SavedKick>,
    /// A renewal commit is owed.
    commit: bool,
    /// Relay ids whose disconnection is owed for this member's own kicks.
    disconnect: Vec<u64>,
    /// Relay ids whose disconnection is owed for moderators' kicks.
    disconnect_moderated: Vec<u64>,
    /// An own renewing commit on its way.
    in_flight: Option<SavedInFlight>,
}

#[derive(Serialize, Deserialize, Zeroize)]
struct SavedKick {
    key: [u8; 32],
    member: u64,
    /// A moderator's kick, kept by this member (not its own).
    moderator: bool,
}

#[derive(Serialize, Deserialize, Zeroize)]
struct SavedInFlight {
    /// The relay ids of the members it kicked.
    disconnect: Vec<u64>,
}

impl Owed {
    /// This member, the host, kicks the member with signature key `key`, relay id
    /// `member`.
    pub(super) fn kick(&mut self, key: [u8; 32], member: MemberId) {
        self.keep_kicked(key, member, By::Host);
    }

    /// Keeps a kicked key; one the host kicked itself stays the host's when a
    /// moderator's commit removes it (or it is kicked again).
    fn keep_kicked(&mut self, key: [u8; 32], member: MemberId, by: By) {
        let by = match self.kicked.find(|(k, _)| *k == key) {
            Some((_, By::Host)) => By::Host,
            _ => by,
        };
        self.kicked.retain(|(k, _)| *k != key);
        self.kicked.push((key, member), by);
    }

    /// Whether this member kicked the holder of `key`.
    pub(super) fn is_kicked(&self, key: &[u8; 32]) -> bool {
        self.kicked.iter().any(|(k, _)| k == key)
    }

    /// The relay reported `member` gone: no disconnection is owed for it any more.
    pub(super) fn gone(&mut self, member: MemberId) {
        self.disconnect.retain(|m| *m != member);
        self.moderated.retain(|(m, _)| *m != member);
    }

    /// What to save of it for a reload, with `pending`, this member's own renewing
    /// commit still waiting for the relay's order, if any.
    pub(super) fn save(&self, pending: Option<PendingRenewal>) -> SavedOwed {
        // The members a renewal on its way kicked: this one's, and those of one made
        // before an earlier reload that are still waiting for this member's renewal.
        let in_flight = (pending.is_some() || self.in_flight.is_some()).then(|| {
            let mut disconnect: Vec<u64> = self.in_flight.iter().flatten().map(|m| m.0).collect();
            let kicked = pending
                .iter()
                .flat_map(|p| p.removed.iter())
                .filter_map(|key| self.kicked.find(|(k, _)| k == key))
                .map(|((_, member), _)| member.0);
            for member in kicked {
                if !disconnect.contains(&member) {
                    disconnect.push(member);
                }
            }
            SavedInFlight { disconnect }
        });
        let disconnect = |by: By| {
            self.disconnect
                .items
                .iter()
                .filter(|(_, b)| *b == by)
                .map(|(m, _)| m.0)
                .collect()
        };
        SavedOwed {
            kicked: self
                .kicked
                .items
                .iter()
                .map(|&((key, member), by)| SavedKick {
                    key,
                    member: member.0,
                    moderator: by == By::Moderator,
                })
                .collect(),
            commit: self.commit,
            disconnect: disconnect(By::Host),
            disconnect_moderated: disconnect(By::Moderator),
            in_flight,
        }
    }

    /// Reads what [`Owed::save`] kept (bounded as when it was made).
    pub(super) fn restore(saved: &SavedOwed) -> Owed {
        let skip = |len: usize| len.saturating_sub(MAX_KICKS);
        // Each source bounded as when saved: pushing drops the oldest of the same
        // source beyond the bound.
        let mut kicked = Kicks::default();
        for k in &saved.kicked[saved.kicked.len().saturating_sub(2 * MAX_KICKS)..] {
            let by = if k.moderator { By::Moderator } else { By::Host };
            kicked.push((k.key, MemberId(k.member)), by);
        }
        let mut disconnect = Kicks::default();
        for &m in &saved.disconnect[skip(saved.disconnect.len())..] {
            disconnect.owe(MemberId(m), By::Host);
        }
        let moderated = &saved.disconnect_moderated;
        for &m in &moderated[skip(moderated.len())..] {
            disconnect.owe(MemberId(m), By::Moderator);
        }
        Owed {
            kicked,
            commit: saved.commit,
            disconnect,
            moderated: VecDeque::new(),
            in_flight: saved.in_flight.as_ref().map(|f| {
                f.disconnect[skip(f.disconnect.len())..]
                    .iter()
                    .map(|&m| MemberId(m))
                    .collect()
            }),
        }
    }

    /// The group was made again by this member alone: a renewing commit on its way
    /// before the reload never reached anyone.
    pub(super) fn forget_in_flight(&mut self) {
        self.in_flight = None;
    }
}

/// The group took this member back after a reload (a Welcome) while its renewing
/// commit was on its way. Whether that commit won cannot be told safely: the relay's
/// replay is the relay's to write, and the group's record holds only the renewal's
/// number, which a moderator's kick, or a branch an insider and the relay made, can
/// reach as well. And a member in a later epoch cannot derive the pass of the epoch
/// that commit started. So the pass it would have made is never taken: the host renews
/// the invitation again by a commit of its own (one more new link for everyone), then
/// tells the relay that renewal's proof and has the members it kicked disconnected. A
/// kicked member still in the group is kicked again ([`kick_again`]), which renews.
/// The host's leaf was removed while it was away, so host powers may have passed to
/// another member meanwhile: a member holding the relay's seat takes them back
/// (§7.6) and renews then ([`renewal_commit`]).
pub(super) fn welcomed(m: &mut Membership) {
    if m.keys.owed.in_flight.is_none() {
        return;
    }
    if !m.group.is_host() && m.keys.host_secret.is_none() {
        m.keys.owed.in_flight = None; // a moderator's kick: it renews only in a kick
        return;
    }
    m.keys.owed.commit = true;
}

/// This member's own renewal is back: the members its renewing commit kicked before a
/// reload ([`welcomed`]) are owed their disconnection now.
fn after_own_renewal(owed: &mut Owed) {
    for member in owed.in_flight.take().unwrap_or_default() {
        owed.disconnect.owe(member, By::Host);
    }
}

/// A commit removed the leaf with signature key `key`. If this member (the host) kicked
/// it, the relay is to disconnect its member: at once when the commit renewed the
/// invitation (the kick's own, [`on_renewed`]), after the host's renewal otherwise.
pub(super) fn kicked_out(m: &mut Membership, key: &[u8; 32], renewed: bool) {
    let Some(((_, member), by)) = m.keys.owed.kicked.find(|(k, _)| k == key) else {
        return;
    };
    let owed = &mut m.keys.owed;
    owed.disconnect.owe(member, by);
    if !renewed {
        owed.commit = true;
    }
}

/// A moderator's kick removed the leaf with signature key `key`, relay id `member`.
/// The host keeps the key with its own kicks, so a leaf with it that comes back (a
/// rejoin others took before the kick) is kicked again ([`kick_again`]). The moderator
/// has the relay disconnect the member once its commit is back ([`moderator_kicks`]);
/// if the relay has not reported the member gone after the fallback delay (the
/// moderator's page reloaded, or its connection dropped, before its echo), the holder
/// of the relay's seat asks for it ([`moderated_due`]).
pub(super) fn moderator_kicked(m: &mut Membership, key: [u8; 32], member: MemberId) {
    if m.group.is_host() || m.keys.host_secret.is_some() {
        m.keys.owed.keep_kicked(key, member, By::Moderator);
    }
    if m.keys.host_secret.is_none() {
        return;
    }
    let owed = &mut m.keys.owed;
    owed.moderated.retain(|(m, _)| *m != member);
    if owed.moderated.len() >= MAX_KICKS {
        owed.moderated.pop_front();
    }
    owed.moderated.push_back((member, None));
}

/// On the clock, holding the relay's seat: a member a moderator kicked whom the relay
/// still lists after the fallback delay is disconnected at this member's request, and
/// owed from then on like the host's own kicks ([`tell_relay`]).
pub(super) fn moderated_due(
    m: &mut Membership,
    now_ms: u64,
    connected: &BTreeSet<MemberId>,
    out: &mut Vec<Output>,
) {
    let Some(secret) = m.keys.host_secret.clone() else {
        m.keys.owed.moderated.clear();
        return;
    };
    let owed = &mut m.keys.owed;
    let mut due = Vec::new();
    owed.moderated.retain_mut(|(member, at)| {
        if !connected.contains(member) {
            return false;
        }
        let at = *at.get_or_insert(now_ms.saturating_add(FALLBACK_MS));
        if now_ms < at {
            return true;
        }
        due.push(*member);
        false
    });
    for member in due {
        owed.disconnect.owe(member, By::Moderator);
        out.push(Output::Send(
            ClientFrame::Kick {
                secret: secret.clone(),
                member,
            }
            .encode(),
        ));
    }
}

/// After a commit, as host: a member it kicked is back under another leaf (a rejoin
/// request the others took before the kick reached them): it is kicked again, and the
/// new kick renews the invitation again.
pub(super) fn kick_again(m: &mut Membership, members: &[Member], now_ms: Option<u64>) {
    if !m.group.is_host() {
        return;
    }
    for member in members {
        let key = member.identity.signature_key;
        if !m.keys.owed.is_kicked(&key) {
            continue;
        }
        // An owed removal of its leaf (it left, or the relay says it did) becomes a
        // kick, which renews in the same commit: no renewal is made while it is still
        // in the group.
        if m.duties.make_kick(member.leaf, &key) {
            continue;
        }
        // Its relay id now (it may have come back under a new one), keeping whose kick
        // it was: a moderator's kick kicked again stays in the moderators' bound.
        if let Some(id) = m.roster.get(member.leaf).and_then(|p| p.member) {
            m.keys.owed.keep_kicked(key, id, By::Moderator);
        }
        m.duties.push(
            Duty::Remove {
                leaf: member.leaf,
                key,
                kick: true,
            },
            now_ms,
        );
    }
}

/// A commit renewed the room's invitation (its number is now `generation`): every
/// member that stays derives the same pass from the epoch this commit started, which
/// no removed member enters, so no message of its own can be withheld from some
/// members only. The host then tells the relay the new proof, and asks it to
/// disconnect the members it kicked. `false` if the pass could not be derived: this
/// member can no longer follow the room.
pub(super) fn on_renewed(
    m: &mut Membership,
    generation: u32,
    own: bool,
    connected: &BTreeSet<MemberId>,
    out: &mut Vec<Output>,
) -> bool {
    let Ok(bytes) = m.group.room_pass() else {
        return false;
    };
    let Ok(bytes) = <[u8; 32]>::try_from(bytes.as_slice()) else {
        return false;
    };
    m.keys.set_pass(RoomPass::from_bytes(bytes), generation);
    m.duties.renewed();
    m.codes.revoke_all(out);
    out.push(event(SessionEvent::InviteChanged));
    if own {
        m.keys.owed.commit = false;
        after_own_renewal(&mut m.keys.owed);
    }
    tell_relay(m, connected, out);
    true
}

/// The host's renewal commit, if one is owed and this member is the host. A member
/// holding the relay's seat keeps owing it while host powers are elsewhere (its leaf
/// was removed while it reloaded): they come back to it.
pub(super) fn renewal_commit(m: &mut Membership) -> Option<Vec<u8>> {
    if !m.keys.owed.commit || kick_owed(m) {
        return None; // a kick owed renews anyway
    }
    if !m.group.is_host() {
        if m.keys.host_secret.is_none() {
            m.keys.owed.commit = false;
        }
        return None;
    }
    m.group.renew_invitation().ok()
}

/// Whether this member owes a kick (which renews the invitation in its commit).
fn kick_owed(m: &Membership) -> bool {
    m.duties
        .owed
        .iter()
        .any(|o| matches!(o.duty, Duty::Remove { kick: true, .. }))
}

/// The hash of the current join proof and the renewal number of its pass, when this
/// member holds the pass the group agreed on (its number is the room record's
/// `renewal`) and the room was renewed.
fn agreed_proof(m: &Membership) -> Option<(JoinProofHash, u32)> {
    let generation = m.group.renewal();
    if generation == 0 || m.keys.renewal.generation != generation {
        return None; // no renewal yet, or this member does not hold the agreed pass
    }
    let pass = m.keys.renewal.pass.as_ref()?;
    Some((pass.join_proof(&m.keys.room_secret).hash(), generation))
}

/// A moderator's own kicks, once its renewing commit won and it derived the new pass:
/// the relay disconnects each member and takes the new join proof in the same step
/// ([`ClientFrame::ModeratorKick`], with the pass's renewal number: the relay takes
/// the proof only when no newer one reached it first), so the old link stops working at
/// the relay even while the host is away.
pub(super) fn moderator_kicks(m: &Membership, members: &[MemberId], out: &mut Vec<Output>) {
    if members.is_empty() {
        return;
    }
    let Some((proof, renewal)) = agreed_proof(m) else {
        return;
    };
    for &member in members {
        out.push(Output::Send(
            ClientFrame::ModeratorKick {
                member,
                proof,
                renewal,
            }
            .encode(),
        ));
    }
}

/// The relay reported `member` kicked. Unless by a `Kick` this member (holding the
/// relay's seat) owed, it was a moderator's kick, which set the join proof its sender
/// gave; even after its own `Kick`, a moderator's frame for the same member may have
/// reached the relay first. The relay cannot check that proof, so the holder of the
/// seat sets the one the group agreed on again, after it: a moderator's frame cannot
/// leave a wrong one (or a renewal number no honest proof can pass) in place. When the
/// group agreed on none this member holds (a room never renewed, or a pass it does not
/// have) and the kick was not its own, the host renews the invitation by a commit of
/// its own, whose pass it then tells the relay ([`on_renewed`]).
pub(super) fn after_relay_kick(m: &mut Membership, member: MemberId, out: &mut Vec<Output>) {
    if m.keys.host_secret.is_none() {
        return;
    }
    let own = m.keys.owed.disconnect.contains(&member);
    let (Some(secret), Some((proof, renewal))) = (m.keys.host_secret.clone(), agreed_proof(m))
    else {
        if m.group.is_host() && !own {
            m.keys.owed.commit = true;
        }
        return;
    };
    out.push(Output::Send(
        ClientFrame::Rotate {
            secret,
            proof,
            renewal,
        }
        .encode(),
    ));
}

/// With the relay's host secret, and the pass the group agreed on: the relay is told
/// the current join proof (again: it is idempotent) and asked to disconnect the kicked
/// members it still holds. Called after a renewal, and after this member claimed the
/// relay's seat (a reconnection, or a seat that came to it), so a frame lost with a
/// connection is sent again.
pub(super) fn tell_relay(
    m: &mut Membership,
    connected: &BTreeSet<MemberId>,
    out: &mut Vec<Output>,
) {
    let Some(secret) = m.keys.host_secret.clone() else {
        return;
    };
    let Some((proof, renewal)) = agreed_proof(m) else {
        return;
    };
    out.push(Output::Send(
        ClientFrame::Rotate {
            secret: secret.clone(),
            proof,
            renewal,
        }
        .encode(),
    ));
    m.keys
        .owed
        .disconnect
        .retain(|member| connected.contains(member));
    for &member in m.keys.owed.disconnect.iter() {
        out.push(Output::Send(
            ClientFrame::Kick {
                secret: secret.clone(),
                member,
            }
            .encode(),
        ));
    }
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
    // Only the pass of the renewal the group agrees on: the number is in the room
    // record every member holds, and a member that derived that pass itself has
    // nothing to take.
    if generation != m.group.renewal() || m.keys.renewal.generation >= generation {
        return true;
    }
    m.keys.set_pass(pass, generation);
    m.duties.renewed();
    m.codes.revoke_all(out);
    out.push(event(SessionEvent::InviteChanged));
    true
}

/// The host after a commit that added members: in a renewed room, hand the pass again,
/// for a member taken back after a reload who had an older one.
pub(super) fn after_add(m: &mut Membership, out: &mut Vec<Output>) {
    // Not while a kick is owed: the member added may be the one kicked again.
    if !m.group.is_host() || m.keys.renewal.generation != m.group.renewal() || kick_owed(m) {
        return;
    }
    if let Some(pass) = m.keys.pass().cloned() {
        let generation = m.keys.renewal.generation;
        m.send_content(&Content::Pass { pass, generation }, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A moderator kicking more members than the bound pushes out only moderators'
    /// older entries: the host's own kicks stay.
    #[test]
    fn a_moderators_kicks_never_push_out_the_hosts() {
        let mut owed = Owed::default();
        owed.kick([1; 32], MemberId(1));
        owed.disconnect.owe(MemberId(1), By::Host);
        for i in 0..(3 * MAX_KICKS as u64) {
            let key = [(i % 200) as u8 + 2; 32];
            owed.keep_kicked(key, MemberId(i + 100), By::Moderator);
            owed.disconnect.owe(MemberId(i + 100), By::Moderator);
        }
        assert!(owed.is_kicked(&[1; 32]), "the host's kicked key is kept");
        assert!(
            owed.disconnect.contains(&MemberId(1)),
            "and its disconnection"
        );
        assert_eq!(owed.disconnect.iter().count(), MAX_KICKS + 1);
        assert!(owed
            .disconnect
            .contains(&MemberId(3 * MAX_KICKS as u64 + 99)));
        assert!(
            !owed.disconnect.contains(&MemberId(100)),
            "oldest moderator's dropped"
        );
        // The host's own kicks are bounded too, oldest first.
        for i in 0..(MAX_KICKS as u64) {
            owed.disconnect.owe(MemberId(10_000 + i), By::Host);
        }
        assert!(!owed.disconnect.contains(&MemberId(1)));
        assert_eq!(owed.disconnect.iter().count(), 2 * MAX_KICKS);
    }

    /// A reload keeps which kicks were the host's own: a moderator's later kicks still
    /// cannot push them out, and a key the host kicked stays the host's when a
    /// moderator's commit removes it.
    #[test]
    fn a_reload_keeps_the_hosts_kicks_apart_from_moderators() {
        let mut owed = Owed::default();
        owed.kick([1; 32], MemberId(1));
        owed.disconnect.owe(MemberId(1), By::Host);
        owed.keep_kicked([1; 32], MemberId(1), By::Moderator);
        for i in 0..(MAX_KICKS as u64) {
            owed.keep_kicked([(i as u8) + 2; 32], MemberId(i + 100), By::Moderator);
            owed.disconnect.owe(MemberId(i + 100), By::Moderator);
        }
        let mut owed = Owed::restore(&owed.save(None));
        for i in 0..(2 * MAX_KICKS as u64) {
            owed.keep_kicked(
                [(i % 100) as u8 + 100; 32],
                MemberId(i + 1_000),
                By::Moderator,
            );
            owed.disconnect.owe(MemberId(i + 1_000), By::Moderator);
        }
        assert!(owed.is_kicked(&[1; 32]), "the host's kicked key is kept");
        assert!(
            owed.disconnect.contains(&MemberId(1)),
            "and its disconnection"
        );
    }
}
