//! The version-2 inner payloads: what travels, opaque to the relay, inside
//! `wire::ClientFrame::Send { payload }`, and what an MLS application message carries.
//!
//! - [`Envelope`] (what the relay carries): a newcomer's sealed key package, a Welcome
//!   for one newcomer, or an MLS message (a commit or an application message).
//! - [`Content`] (inside an MLS application message, padded to a size bucket): a chat
//!   text, a member's profile (its nickname), an authenticated host action, and what a
//!   room shows around messages: replies and `/me`, edits, deletes, reactions, typing,
//!   read receipts, presence, and each member's key for direct messages.
//!
//! Both are postcard-encoded behind a one-byte format version ([`FORMAT`]); other
//! versions and trailing bytes are refused. PROTOCOL.md §5 gives every byte.

use hkdf::Hkdf;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::crypto::keys::{Join, Key};
use crate::crypto::{padding, CryptoError, Nonce, NonceRng, RoomSecret};
use crate::group::MessageId;
use crate::wire::{MemberId, RoomId};

/// The format version byte in front of every [`Envelope`] and [`Content`].
pub const FORMAT: u8 = 2;

/// Salt of the version-2 derivations from the room secret (the group layer's too).
pub const LABEL_ROOM_SALT: &[u8] = b"vroom/v2/room-secret";
/// Info of the key that seals a newcomer's key package.
pub const LABEL_JOIN_KEY: &[u8] = b"vroom/v2/join-key";
/// Associated-data prefix of a sealed key package.
pub const LABEL_KEY_PACKAGE: &[u8] = b"vroom/v2/key-package";

/// One inner payload, as the relay carries it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Envelope {
    /// A newcomer's MLS key package, sealed under the room's join key and bound to the
    /// room and to the newcomer's relay member id. Broadcast.
    KeyPackage {
        /// The last relay sequence number the newcomer had seen when it sealed the
        /// request, bound into the seal: a member refuses a request older than its own
        /// join point, so a replayed old request cannot get a departed member re-added
        /// by a member who never saw it.
        since: u64,
        /// XChaCha20 nonce, random.
        nonce: [u8; 24],
        /// The padded key package, sealed (tag included).
        #[serde(with = "serde_bytes")]
        sealed: Vec<u8>,
    },
    /// An MLS Welcome for one newcomer, sent to it alone after the commit that adds it
    /// won the relay's order.
    Welcome(#[serde(with = "serde_bytes")] Vec<u8>),
    /// An MLS message (a `PrivateMessage`: a commit or an application message).
    /// Broadcast.
    Group(#[serde(with = "serde_bytes")] Vec<u8>),
    /// A direct message to one member, sent to it alone (`ClientFrame::Send { to:
    /// Some(member) }`): HPKE-sealed to the recipient's direct key (its
    /// [`Content::DirectKey`]) and signed inside the seal with the sender's group
    /// signature key (PROTOCOL.md §10.4).
    Direct {
        /// The HPKE encapsulated key (X25519, 32 bytes).
        enc: [u8; 32],
        /// The padded, signed inner message, sealed (tag included).
        #[serde(with = "serde_bytes")]
        sealed: Vec<u8>,
    },
    /// A member's request to be added again under the relay id it already has in the
    /// group (after it missed events, or lost the Welcome of its add): a
    /// [`Envelope::KeyPackage`] with the proof that it comes from the member holding
    /// that id's leaf, whose place it takes. Broadcast.
    Rejoin {
        /// As in [`Envelope::KeyPackage`].
        since: u64,
        /// As in [`Envelope::KeyPackage`].
        nonce: [u8; 24],
        /// As in [`Envelope::KeyPackage`].
        #[serde(with = "serde_bytes")]
        sealed: Vec<u8>,
        /// Ed25519 signatures over [`rejoin_statement`] (64 bytes each, at most
        /// [`MAX_REJOIN_PROOFS`]), one by each identity this member held under its
        /// relay id (its leaf's, and those of requests whose Welcome it lost): the
        /// members check them against the key of the leaf they hold for that id.
        signatures: Vec<serde_bytes::ByteBuf>,
    },
}

/// Most signatures in a rejoin proof (a member keeps at most this many identities to
/// prove; a longer list is refused).
pub const MAX_REJOIN_PROOFS: usize = 4;

/// What a rejoin proof signs: `room ‖ member (u64 BE) ‖ since (u64 BE) ‖ SHA-256(key
/// package)`, under the label `"vroom/v2/rejoin-signature"`.
pub fn rejoin_statement(
    room: &RoomId,
    (member, since): (MemberId, u64),
    key_package: &[u8],
) -> Vec<u8> {
    use sha2::Digest;
    let mut s = Vec::with_capacity(16 + 8 + 8 + 32);
    s.extend_from_slice(&room.0);
    s.extend_from_slice(&member.0.to_be_bytes());
    s.extend_from_slice(&since.to_be_bytes());
    s.extend_from_slice(&sha2::Sha256::digest(key_package));
    s
}

impl Envelope {
    /// Encodes for `ClientFrame::Send`.
    pub fn encode(&self) -> Vec<u8> {
        let out = vec![FORMAT];
        postcard::to_extend(self, out).expect("encoding into a Vec cannot fail")
    }

    /// Decodes a received payload.
    pub fn decode(bytes: &[u8]) -> Result<Self, CryptoError> {
        decode_versioned(bytes)
    }
}

/// What an MLS application message carries (after unpadding).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Content {
    /// A chat message.
    Text {
        /// The text, as typed.
        body: String,
        /// The sender's clock when it sent (milliseconds since the Unix epoch).
        sent_at_ms: u64,
    },
    /// The sender's nickname: sent when it joins, when it changes it, and when it sees
    /// a newcomer arrive (so the newcomer learns who is who).
    Profile {
        /// The nickname, cleaned by the sender (receivers clean it again).
        nick: String,
        /// The sender's relay member id, claimed inside the group: who is who comes
        /// from this authenticated claim, never from the relay's stamp.
        member: MemberId,
    },
    /// A host action, accepted only from the member whose signature key the group binds
    /// as the host's.
    Host(HostAction),
    /// A chat message with options: a reply, a `/me` action, or both. A message with
    /// neither travels as [`Content::Text`].
    Post {
        /// The text, as typed.
        body: String,
        /// The sender's clock when it sent (milliseconds since the Unix epoch).
        sent_at_ms: u64,
        /// The message this one replies to.
        reply_to: Option<MessageId>,
        /// A `/me` action ("Ada waves"), shown after the sender's name.
        action: bool,
    },
    /// The sender replaces the text of one of its own earlier messages. Receivers take
    /// it only when the group authenticated the same member as the sender of `target`.
    Edit {
        /// The message edited.
        target: MessageId,
        /// Its new text.
        body: String,
        /// The sender's clock when it edited.
        edited_at_ms: u64,
    },
    /// The sender withdraws one of its own earlier messages (same rule as `Edit`).
    Delete {
        /// The message deleted.
        target: MessageId,
    },
    /// The sender adds (`on`) or takes back an emoji reaction to a message.
    React {
        /// The message reacted to.
        target: MessageId,
        /// The emoji (at most [`MAX_EMOJI_BYTES`] bytes, no control characters).
        emoji: String,
        /// Added (`true`) or taken back.
        on: bool,
    },
    /// The sender started (`true`) or stopped typing. Sent sparingly: once at the
    /// start, again at most every few seconds while typing goes on, and a stop.
    Typing(bool),
    /// The sender has read every message up to and including this one (one receipt
    /// per burst of reading, not one per message).
    Read {
        /// The latest message read.
        upto: MessageId,
    },
    /// The sender's public key for direct messages (X25519, used with HPKE), sent with
    /// its profile; authenticated as the sender's by the group.
    DirectKey {
        /// The X25519 public key.
        public: [u8; 32],
    },
    /// The sender's presence, sent when it changes.
    Presence(Presence),
    /// A file offered to the members of this epoch: its name, type, size, key and how
    /// its chunks travel on the relay's chunk lane (PROTOCOL.md §12).
    File(crate::files::FileOffer),
    /// The host renewed the room's invitation (PROTOCOL.md §11.4): the room's new pass,
    /// which newcomers need with the room secret. Taken from the host alone.
    Pass {
        /// The pass.
        pass: crate::crypto::RoomPass,
        /// How many times the host renewed the invitation: an older pass is ignored.
        generation: u32,
    },
}

/// Longest emoji of a reaction, in bytes (a flag or a family with modifiers fits).
pub const MAX_EMOJI_BYTES: usize = 32;

/// Whether a member is at the room or away from it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Presence {
    /// Looking at the room (the default until a member says otherwise).
    #[default]
    Active,
    /// Idle, or the room is in a background tab.
    Away,
}

/// What the host announces to the members before asking the relay to do it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum HostAction {
    /// Joins stop (`true`) or are allowed again; members stop adding newcomers.
    Lock(bool),
    /// The room ends now.
    Terminate,
}

impl Content {
    /// Encodes and pads to a size bucket, ready for `Group::encrypt`.
    pub fn seal_ready(&self) -> Zeroizing<Vec<u8>> {
        padding::pad(&self.encode())
    }

    /// `FORMAT ‖ postcard(self)`, unpadded.
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut plain = Zeroizing::new(vec![FORMAT]);
        let encoded =
            Zeroizing::new(postcard::to_allocvec(self).expect("encoding into a Vec cannot fail"));
        plain.extend_from_slice(&encoded);
        plain
    }

    /// Unpads and decodes a decrypted application message.
    pub fn open(padded: &[u8]) -> Result<Self, CryptoError> {
        Self::open_unpadded(padding::unpad(padded)?)
    }

    /// Decodes `FORMAT ‖ postcard(Content)` (inside a direct message, PROTOCOL.md
    /// §10.4).
    pub fn open_unpadded(bytes: &[u8]) -> Result<Self, CryptoError> {
        decode_versioned(bytes)
    }
}

fn decode_versioned<T: for<'a> Deserialize<'a>>(bytes: &[u8]) -> Result<T, CryptoError> {
    let (&version, rest) = bytes.split_first().ok_or(CryptoError::Malformed)?;
    if version != FORMAT {
        return Err(CryptoError::Malformed);
    }
    match postcard::take_from_bytes(rest) {
        Ok((value, [])) => Ok(value),
        _ => Err(CryptoError::Malformed),
    }
}

/// The key that seals newcomers' key packages: only holders of the room secret can
/// make or read one, so a relay cannot get itself added to the group.
pub fn join_key(secret: &RoomSecret) -> Key<Join> {
    let mut key = Key::zero();
    Hkdf::<Sha256>::new(Some(LABEL_ROOM_SALT), secret.as_bytes())
        .expand(LABEL_JOIN_KEY, &mut key.bytes)
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    key
}

fn key_package_aad(room: &RoomId, member: MemberId, since: u64) -> Vec<u8> {
    let mut aad = LABEL_KEY_PACKAGE.to_vec();
    aad.extend_from_slice(&room.0);
    aad.extend_from_slice(&member.0.to_be_bytes());
    aad.extend_from_slice(&since.to_be_bytes());
    aad
}

/// Seals a key package for the room, bound to the newcomer's relay member id (so the
/// relay cannot move it to another member id).
pub fn seal_key_package(
    key: &Key<Join>,
    room: &RoomId,
    (member, since): (MemberId, u64),
    key_package: &[u8],
    nonces: &mut NonceRng,
) -> Envelope {
    seal_key_package_with_nonce(
        key,
        room,
        (member, since),
        key_package,
        Nonce::random(nonces).0,
    )
}

/// [`seal_key_package`] with a given nonce, for test vectors only: a nonce must never
/// repeat under the join key, so everything else draws it at random.
pub fn seal_key_package_with_nonce(
    key: &Key<Join>,
    room: &RoomId,
    (member, since): (MemberId, u64),
    key_package: &[u8],
    nonce: [u8; 24],
) -> Envelope {
    let nonce = Nonce(nonce);
    let sealed = crate::crypto::seal(
        key,
        &nonce,
        &key_package_aad(room, member, since),
        &padding::pad(key_package),
    );
    Envelope::KeyPackage {
        since,
        nonce: nonce.0,
        sealed,
    }
}

/// Opens a sealed key package the relay says `member` sent, sealed at relay sequence
/// number `since`.
pub fn open_key_package(
    key: &Key<Join>,
    room: &RoomId,
    (member, since): (MemberId, u64),
    nonce: &[u8; 24],
    sealed: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let aad = key_package_aad(room, member, since);
    let padded = crate::crypto::open(key, &Nonce(*nonce), &aad, sealed)?;
    Ok(padding::unpad(&padded)?.to_vec())
}
