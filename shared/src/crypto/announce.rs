//! Member announcements: how a member tells the room its public keys and nickname.
//!
//! An announcement is sealed with XChaCha20-Poly1305 under the room's announcement key
//! (derived from the room secret) with `"vroom/v1/announce" || room id || member id` as
//! associated data, and signed inside with the member's Ed25519 key over the same
//! binding. So:
//! - a relay without the room secret cannot make, alter or read one (it cannot join or
//!   substitute keys unnoticed);
//! - the relay cannot move one to another member id or another room (the binding fails);
//! - the signature proves the announcer holds the signing key it announces.

use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};

use super::aead::{self, Nonce};
use super::identity::{MemberKeys, MemberPublic};
use super::keys::{Announce, Key};
use super::padding;
use super::CryptoError;
use crate::wire::{MemberId, RoomId};

/// Associated-data prefix of a sealed announcement.
pub const LABEL_ANNOUNCE_AAD: &[u8] = b"vroom/v1/announce";
/// Signature prefix of an announcement.
pub const LABEL_ANNOUNCE_SIG: &[u8] = b"vroom/v1/announce-sig";

/// Longest nickname, in bytes of UTF-8.
pub const MAX_NICK_BYTES: usize = 64;

/// Why a member sends an announcement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AnnounceKind {
    /// "I am here": sent after every welcome (a join or a resume). Everyone who verifies
    /// it answers with its own announcement (if the announcer is new to it) and its
    /// current sender-key state.
    Hello,
    /// A change (a new nickname). Nobody answers.
    Update,
}

/// A verified announcement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Announcement {
    /// The member's public keys.
    pub public: MemberPublic,
    /// The member's chosen nickname (not unique; the fingerprint tells members apart).
    pub nick: String,
    /// Grows with every announcement a member makes in a session, so an older one
    /// cannot be replayed over a newer one.
    pub counter: u32,
    /// Why it was sent.
    pub kind: AnnounceKind,
}

/// An announcement as it travels: a nonce and the sealed, padded body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedAnnounce {
    /// Random per announcement.
    pub nonce: Nonce,
    /// `XChaCha20-Poly1305(announce key, nonce, pad(body), aad)`.
    #[serde(with = "serde_bytes")]
    pub ciphertext: Vec<u8>,
}

/// The plaintext inside a [`SealedAnnounce`], postcard-encoded then padded.
#[derive(Serialize, Deserialize)]
struct Body {
    dh: [u8; 32],
    verify: [u8; 32],
    nick: String,
    counter: u32,
    kind: AnnounceKind,
    #[serde(with = "serde_bytes")]
    signature: [u8; 64],
}

fn aad(room: &RoomId, member: MemberId) -> Vec<u8> {
    let mut aad = Vec::with_capacity(LABEL_ANNOUNCE_AAD.len() + 24);
    aad.extend_from_slice(LABEL_ANNOUNCE_AAD);
    aad.extend_from_slice(&room.0);
    aad.extend_from_slice(&member.0.to_be_bytes());
    aad
}

fn signed_bytes(room: &RoomId, member: MemberId, b: &Body) -> Vec<u8> {
    let mut m = Vec::with_capacity(128 + b.nick.len());
    m.extend_from_slice(LABEL_ANNOUNCE_SIG);
    m.extend_from_slice(&room.0);
    m.extend_from_slice(&member.0.to_be_bytes());
    m.extend_from_slice(&b.dh);
    m.extend_from_slice(&b.verify);
    m.extend_from_slice(&b.counter.to_be_bytes());
    m.push(match b.kind {
        AnnounceKind::Hello => 0,
        AnnounceKind::Update => 1,
    });
    m.extend_from_slice(&(b.nick.len() as u32).to_be_bytes());
    m.extend_from_slice(b.nick.as_bytes());
    m
}

/// Trims a nickname to [`MAX_NICK_BYTES`] on a character boundary and removes control
/// characters, so a nickname cannot rewrite a terminal line or overflow a layout.
pub fn clean_nick(nick: &str) -> String {
    let mut out = String::new();
    for c in nick.trim().chars().filter(|c| !c.is_control()) {
        if out.len() + c.len_utf8() > MAX_NICK_BYTES {
            break;
        }
        out.push(c);
    }
    out
}

/// Seals this member's announcement for `member` in `room`.
#[allow(clippy::too_many_arguments)]
pub fn seal(
    keys: &MemberKeys,
    key: &Key<Announce>,
    room: &RoomId,
    member: MemberId,
    nick: &str,
    counter: u32,
    kind: AnnounceKind,
    rng: &mut impl CryptoRngCore,
) -> SealedAnnounce {
    let public = keys.public();
    let mut body = Body {
        dh: public.dh.to_bytes(),
        verify: public.verify.to_bytes(),
        nick: clean_nick(nick),
        counter,
        kind,
        signature: [0; 64],
    };
    body.signature = keys.sign(&signed_bytes(room, member, &body));
    let plain = zeroize::Zeroizing::new(
        postcard::to_allocvec(&body).expect("encoding into a Vec cannot fail"),
    );
    let nonce = Nonce::random(rng);
    let ciphertext = aead::seal(key, &nonce, &aad(room, member), &padding::pad(&plain));
    SealedAnnounce { nonce, ciphertext }
}

/// Opens and verifies an announcement the relay says `member` sent in `room`.
pub fn open(
    sealed: &SealedAnnounce,
    key: &Key<Announce>,
    room: &RoomId,
    member: MemberId,
) -> Result<Announcement, CryptoError> {
    let block = aead::open(key, &sealed.nonce, &aad(room, member), &sealed.ciphertext)?;
    let plain = padding::unpad(&block)?;
    let body: Body = postcard::from_bytes(plain).map_err(|_| CryptoError::Malformed)?;
    let public = MemberPublic {
        dh: x25519_dalek::PublicKey::from(body.dh),
        verify: ed25519_dalek::VerifyingKey::from_bytes(&body.verify)
            .map_err(|_| CryptoError::Unauthentic)?,
    };
    public.verify(&signed_bytes(room, member, &body), &body.signature)?;
    if body.nick != clean_nick(&body.nick) {
        return Err(CryptoError::Malformed);
    }
    Ok(Announcement {
        public,
        nick: body.nick,
        counter: body.counter,
        kind: body.kind,
    })
}
