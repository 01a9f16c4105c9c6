//! Coming back after a page reload (PROTOCOL.md §7.10): what a client saves of its
//! session ([`Resumable`]), the session that resumes from it ([`Session::resume`]), and
//! the members' side of taking such a member back as itself.
//!
//! A client never saves MLS group state (`group::provider::storage` keeps it in memory
//! only), so a resumed session is not in the group any more. It keeps what makes it the
//! same member: the room secret (and the host secret, if it has one), its relay member
//! id and resume token, and its **identity** (MLS client id and Ed25519 signing key),
//! so its fingerprint and the host key the group is bound to stay the same. It takes
//! back its relay id with `Join { resume, after }` and asks to be added again with a
//! `Rejoin` request signed by its old leaf's key, which is its own key still (§7.3):
//! the members remove the old leaf, then add the new one, and show neither as a
//! departure nor as an arrival. What was sent between the reload and the new leaf was
//! encrypted for epochs it no longer holds: it is reported as `Undecryptable`.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::{Conn, Keys, Membership, Session, Stage};
use crate::crypto::{RoomPass, RoomSecret};
use crate::group::identity::CLIENT_ID_LEN;
use crate::group::{Group, Identity, PublicIdentity};
use crate::wire::{HostSecret, MemberId, Resume, ResumeToken, RoomId};

/// The version byte in front of an encoded [`Resumable`]; another one is refused.
const RESUMABLE_FORMAT: u8 = 8;

/// Most key packages the members remember having taken (a returning member's request
/// replayed later would otherwise push it out again).
const MAX_TAKEN: usize = 4096;

/// Most returning members whose nickname a member keeps until their new leaf lands.
const MAX_RETURNING: usize = 64;

/// What a client keeps to come back as the same member after a page reload. It holds
/// the room secret, the host secret and the member's signing key: no `Debug`, no
/// `Clone`, zeroized on drop; its encoding ([`Resumable::encode`]) is as secret.
pub struct Resumable {
    saved: Saved,
}

/// The encoded fields (postcard, behind [`RESUMABLE_FORMAT`]).
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
struct Saved {
    /// The room secret.
    room_secret: [u8; 32],
    /// The host secret, for the host.
    host_secret: Option<[u8; 32]>,
    /// The MLS client id of the member's credential.
    client_id: [u8; CLIENT_ID_LEN],
    /// The Ed25519 secret key of its leaf.
    signing: [u8; 32],
    /// Its relay member id.
    member: u64,
    /// The relay's resume token for that id.
    token: [u8; 16],
    /// The last relay sequence number it processed.
    last_seq: u64,
    /// Its nickname.
    nick: String,
    /// When the relay stops keeping its place (Unix ms, set by the client on every
    /// save): a later entry is stale and refused.
    expires_at_ms: u64,
    /// Whether it was the group's only member: nobody is left to add it back.
    alone: bool,
    /// What the client shows (the conversation, how the room was entered): the
    /// client's own encoding, opaque here.
    #[serde(with = "serde_bytes")]
    view: Vec<u8>,
    /// The room's pass, once the host renewed the invitation (PROTOCOL.md §11.4).
    pass: Option<[u8; 32]>,
    /// The renewal that made it (the room record's number): a member added back with
    /// an older one than the group's adds nobody until the host hands it the current
    /// pass.
    pass_generation: u32,
    /// The host's kicks and what it owes after them, and its own renewing commit if one
    /// was waiting for the relay's order (PROTOCOL.md §11.4).
    owed: super::rotate::SavedOwed,
}

/// Why a saved session could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResumableError;

impl core::fmt::Display for ResumableError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("the saved room session is damaged or from another version")
    }
}

impl std::error::Error for ResumableError {}

impl Resumable {
    /// The room it is for.
    pub fn room_id(&self) -> RoomId {
        RoomSecret::from_bytes(self.saved.room_secret).room_id()
    }

    /// The client's own part (see [`Resumable::set_view`]).
    pub fn view(&self) -> &[u8] {
        &self.saved.view
    }

    /// Keeps the client's own part: what it shows, in its own encoding.
    pub fn set_view(&mut self, view: Vec<u8>) {
        self.saved.view.zeroize();
        self.saved.view = view;
    }

    /// Sets when the relay stops keeping this member's place (Unix ms): now plus the
    /// relay's grace period.
    pub fn set_expires_at_ms(&mut self, at_ms: u64) {
        self.saved.expires_at_ms = at_ms;
    }

    /// Whether the relay no longer keeps this member's place at `now_ms`: the entry
    /// outlived its page (a restored tab, a browser's session restore) and must not
    /// be used.
    pub fn expired(&self, now_ms: u64) -> bool {
        now_ms >= self.saved.expires_at_ms
    }

    /// Whether this member was alone in the group when saved. A host alone makes the
    /// group again when it resumes (same room secret, same host key: the same group
    /// id and binding); anyone else alone has nobody to add it back.
    pub fn alone(&self) -> bool {
        self.saved.alone
    }

    /// Whether it holds the host secret.
    pub fn is_host(&self) -> bool {
        self.saved.host_secret.is_some()
    }

    /// The nickname.
    pub fn nick(&self) -> &str {
        &self.saved.nick
    }

    /// Encodes it as base64url text (for a browser's `sessionStorage`), erased when
    /// dropped.
    pub fn encode(&self) -> Zeroizing<String> {
        use base64::Engine;
        let body = encode_secret(&self.saved);
        let mut bytes = Zeroizing::new(Vec::with_capacity(1 + body.len()));
        bytes.push(RESUMABLE_FORMAT);
        bytes.extend_from_slice(&body);
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut text = Zeroizing::new(String::with_capacity(
            base64::encoded_len(bytes.len(), false).unwrap_or(0),
        ));
        engine.encode_string(&*bytes, &mut text);
        text
    }

    /// Reads what [`Resumable::encode`] wrote.
    pub fn decode(text: &str) -> Result<Resumable, ResumableError> {
        use base64::Engine;
        let bytes = Zeroizing::new(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(text.trim())
                .map_err(|_| ResumableError)?,
        );
        let (&format, body) = bytes.split_first().ok_or(ResumableError)?;
        if format != RESUMABLE_FORMAT {
            return Err(ResumableError);
        }
        let (saved, rest) = postcard::take_from_bytes::<Saved>(body).map_err(|_| ResumableError)?;
        if !rest.is_empty() {
            return Err(ResumableError);
        }
        let mut saved = saved;
        // Stored text is not trusted: the nickname is cleaned again.
        let nick = super::clean_nick(&saved.nick);
        saved.nick.zeroize();
        saved.nick = nick;
        Ok(Resumable { saved })
    }
}

impl Session {
    /// What to save to come back as this member after a page reload ([`Session::resume`]),
    /// with an empty view. `None` before the relay's first welcome, once the room is
    /// over, and while a request to be added again (after a gap or a new relay id) waits:
    /// only a member in the group, or one resuming, can be resumed.
    pub fn resumable(&self) -> Option<Resumable> {
        let resume = self.resume?;
        let (keys, identity, alone, owed) = match &self.stage {
            Stage::Member(m) => (
                &m.keys,
                m.group.identity(),
                m.group.members().len() == 1,
                m.keys.owed.save(m.group.pending_renewal()),
            ),
            Stage::Joining(j) if j.resuming => {
                (&j.keys, j.joiner.identity()?, false, j.keys.owed.save(None))
            }
            _ => return None,
        };
        let (client_id, signing) = identity.secret();
        Some(Resumable {
            saved: Saved {
                room_secret: *keys.room_secret.as_bytes(),
                host_secret: keys.host_secret.as_ref().map(|h| h.0),
                client_id,
                signing: *signing,
                member: resume.member.0,
                token: resume.token.0,
                last_seq: self.last_seq,
                nick: self.nick.clone(),
                expires_at_ms: 0,
                alone,
                view: Vec::new(),
                pass: keys.pass().map(|p| *p.as_bytes()),
                pass_generation: keys.pass_generation(),
                owed,
            },
        })
    }

    /// A session that comes back as the member `saved` describes: it takes back its
    /// relay id and catches up (`Join { resume, after }`), then asks the members to add
    /// it again under that id with its old identity, proving the request with its old
    /// leaf's key. Write the returned frame first. If the relay refuses the resume (its
    /// grace period is over) the session joins as a new member with a new identity
    /// (`Error { ResumeRefused }` says so first).
    pub fn resume(saved: &Resumable) -> (Session, Vec<u8>) {
        let s = &saved.saved;
        let secret = RoomSecret::from_bytes(s.room_secret);
        let room = secret.room_id();
        let me = MemberId(s.member);
        let resume = Resume {
            member: me,
            token: ResumeToken(s.token),
        };
        let mut keys = Keys::new(secret, s.host_secret.map(HostSecret))
            .with_pass(s.pass.map(RoomPass::from_bytes), s.pass_generation);
        keys.owed = super::rotate::Owed::restore(&s.owed);
        let plain = keys.join_frame(room, None, None);
        let frame = keys.join_frame(room, Some(resume), Some(s.last_seq));
        let identity = Identity::from_secret(s.client_id, &s.signing);
        let stage = if s.alone && keys.host_secret.is_some() {
            // Nobody is left to add it back: the host makes the group again, with the
            // same identity, so the same group id and host binding.
            // Its pass stays the room's (the relay's proof is that pass's), numbered
            // as the new group's record has it.
            match Group::create(identity, &keys.room_secret) {
                Ok(group) => {
                    let mut m = Membership::new(keys, group, s.last_seq);
                    let renewal = m.group.renewal();
                    m.keys.number_pass(renewal);
                    m.keys.owed.forget_in_flight();
                    Stage::Member(Box::new(m))
                }
                Err(_) => Stage::Ended,
            }
        } else {
            let provers = vec![(me, identity.rejoin_signer())];
            let mut stage = Session::joining_as(identity, keys, provers);
            if let Stage::Joining(j) = &mut stage {
                j.resuming = true;
            }
            stage
        };
        let mut session = Session::new(room, stage, &s.nick, plain);
        session.me = Some(me);
        session.resume = Some(resume);
        session.last_seq = s.last_seq;
        session.resumed_after = Some(s.last_seq);
        session.conn = Conn::Connecting;
        (session, frame)
    }
}

/// Encodes a secret value with postcard into a buffer that is never grown in place (a
/// growing vector would leave copies behind in freed memory): a buffer too small is
/// erased and one twice as large tried. Empty if it does not fit in 64 MiB.
pub fn encode_secret<T: Serialize>(value: &T) -> Zeroizing<Vec<u8>> {
    let mut size = 4096;
    while size <= 64 << 20 {
        let mut buffer = Zeroizing::new(vec![0u8; size]);
        if let Ok(used) = postcard::to_slice(value, &mut buffer).map(|b| b.len()) {
            buffer.truncate(used);
            return buffer;
        }
        size *= 2;
    }
    Zeroizing::new(Vec::new())
}

/// Whether a join request under relay id `from` carries the identity of the leaf the
/// members hold for that id: a member coming back after a reload (its proof is checked
/// as for any request under a held id).
/// So is one whose id is being added again (its old leaf removed, its add not landed
/// yet: it reloaded twice) with the signature key of the leaf removed under that id.
pub(super) fn returning(m: &Membership, from: MemberId, identity: &PublicIdentity) -> bool {
    let holds = m
        .roster
        .leaf_of(from)
        .and_then(|leaf| m.roster.get(leaf))
        .and_then(|peer| peer.identity)
        .is_some_and(|held| held == *identity);
    let readding = m.duties.has_add_for(from)
        || m.rejoining.contains(&from)
        || m.returning.contains_key(&from);
    holds || (readding && m.departed_key(from) == Some(identity.signature_key))
}

/// Whether a proven request under `from` sealed at `since` is newer than the latest
/// one taken under that id.
pub(super) fn newer(m: &Membership, from: MemberId, since: u64) -> bool {
    m.returned_since.get(&from).is_none_or(|&last| since > last)
}

/// Remembers the `since` of a proven request taken under `from`.
pub(super) fn note_since(m: &mut Membership, from: MemberId, since: u64) {
    if !m.returned_since.contains_key(&from) && m.returned_since.len() >= super::MAX_TRACKED {
        m.returned_since.pop_first();
    }
    m.returned_since.insert(from, since);
}

fn package_digest(key_package: &[u8]) -> [u8; 32] {
    Sha256::digest(key_package).into()
}

/// Whether this key package was taken as a join request before: a returning member's
/// client id is not new, so a replay of its request is told by the package.
pub(super) fn taken(m: &Membership, key_package: &[u8]) -> bool {
    m.taken_packages.contains(&package_digest(key_package))
}

/// Remembers a key package taken as a join request.
pub(super) fn take(m: &mut Membership, key_package: &[u8]) {
    if m.taken_packages.len() >= MAX_TAKEN {
        m.taken_packages.pop_front();
    }
    m.taken_packages.push_back(package_digest(key_package));
}

/// Whether a leaf with this identity's signature key is still in the group: a
/// returning member's old leaf, which must be removed before the new one is added.
pub(super) fn key_in_group(group: &Group, identity: &PublicIdentity) -> bool {
    group
        .members()
        .iter()
        .any(|x| x.identity.signature_key == identity.signature_key)
}

/// Whether an early group message that this member cannot read (from an epoch before
/// its new leaf) was a message sent after the point it resumed from.
pub(super) fn missed(resumed_after: Option<u64>, seq: u64, bytes: &[u8]) -> bool {
    resumed_after.is_some_and(|after| seq > after) && crate::group::room::is_application(bytes)
}

/// A returning member's old leaf is gone: keep its nickname for the new leaf.
pub(super) fn keep_returning(m: &mut Membership, member: MemberId, nick: Option<String>) {
    if m.returning.len() >= MAX_RETURNING {
        m.returning.pop_first();
    }
    m.returning.insert(member, nick);
}

/// A newcomer was added under relay id `member` at `leaf`. When it is a returning
/// member with the same identity as the leaf it had (its old key is the latest removed
/// one under that id), it is the same member: known already, with the same nickname,
/// so no arrival is shown.
pub(super) fn carry_over(m: &mut Membership, leaf: u32, member: MemberId) {
    let key = m
        .roster
        .get(leaf)
        .and_then(|p| p.identity)
        .map(|i| i.signature_key);
    let same = key.is_some() && m.departed_key(member) == key;
    let nick = m.returning.remove(&member);
    if !same {
        return;
    }
    if let Some(peer) = m.roster.get_mut(leaf) {
        peer.shown = true;
        if peer.nick.is_none() {
            peer.nick = nick.flatten();
        }
    }
}

/// A returning member was handed a Welcome it cannot use: the members added the key
/// package of an earlier request of its own (the page reloaded again before that add
/// landed), so they now hold a leaf with its identity whose keys are gone. It asks
/// again with a new key package under the same identity, proven by the same key: the
/// members replace that leaf as they replaced the old one.
pub(super) fn ask_again(session: &mut Session, out: &mut Vec<super::Output>) {
    let Stage::Joining(j) = core::mem::replace(&mut session.stage, Stage::Ended) else {
        return;
    };
    let super::Joining {
        keys,
        joiner,
        provers,
        ..
    } = *j;
    let Some(identity) = joiner.identity() else {
        return;
    };
    let (client_id, signing) = identity.secret();
    let identity = Identity::from_secret(client_id, &signing);
    session.stage = Session::joining_as(identity, keys, provers);
    if let Stage::Joining(j) = &mut session.stage {
        j.resuming = true;
    }
    session.after_change(out);
}
