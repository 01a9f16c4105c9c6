//! The room secret and every symmetric key derived from it or from a key exchange.
//!
//! Keys carry their purpose in their type ([`Key<P>`]), so a pairwise key cannot be
//! passed where an announcement key is expected, and every derivation has its own
//! label under `vroom/v1/`.

use core::marker::PhantomData;

use hkdf::Hkdf;
use rand_core::CryptoRngCore;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::wire::RoomId;

/// HKDF-Extract salt for the room secret: names the protocol and its version, so keys
/// derived from the same 32 bytes in another protocol are unrelated.
pub const LABEL_ROOM_SALT: &[u8] = b"vroom/v1/room-secret";
/// HKDF-Expand info for the room id.
pub const LABEL_ROOM_ID: &[u8] = b"vroom/v1/room-id";
/// HKDF-Expand info for the announcement key.
pub const LABEL_ANNOUNCE_KEY: &[u8] = b"vroom/v1/announce-key";

/// The 32 random bytes that are the room: whoever holds them can find the room (its id
/// derives from them) and authenticate as a member. They travel only in an invite
/// link's fragment.
///
/// Later ways in (short codes, room name + passphrase) produce the same type: everything
/// downstream depends only on these 32 bytes.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct RoomSecret([u8; 32]);

impl RoomSecret {
    /// A fresh secret for a new room.
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        let mut bytes = [0u8; 32];
        rng.fill_bytes(&mut bytes);
        RoomSecret(bytes)
    }

    /// A secret read from an invite (or a test vector).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        RoomSecret(bytes)
    }

    /// The raw bytes, for encoding into an invite link only.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    fn hkdf(&self) -> Hkdf<Sha256> {
        Hkdf::<Sha256>::new(Some(LABEL_ROOM_SALT), &self.0)
    }

    /// The room's public id: what the relay knows the room by.
    pub fn room_id(&self) -> RoomId {
        let mut id = [0u8; 16];
        self.hkdf()
            .expand(LABEL_ROOM_ID, &mut id)
            .expect("16 bytes is a valid HKDF-SHA256 output length");
        RoomId(id)
    }

    /// The key that seals member announcements in this room.
    pub fn announce_key(&self) -> Key<Announce> {
        let mut key = Key::zero();
        self.hkdf()
            .expand(LABEL_ANNOUNCE_KEY, &mut key.bytes)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        key
    }
}

impl PartialEq for RoomSecret {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for RoomSecret {}

mod sealed {
    pub trait Sealed {}
}

/// What a [`Key`] is for. Implemented only by the marker types in this module.
pub trait KeyPurpose: sealed::Sealed {}

/// Marker: seals member announcements (derived from the room secret).
pub enum Announce {}
/// Marker: seals sender-key distribution between two members (from X25519).
pub enum Pairwise {}
/// Marker: seals a newcomer's key package (version 2; derived from the room secret).
pub enum Join {}
/// Marker: a sender chain key, ratcheted forward once per message.
pub enum Chain {}
/// Marker: encrypts exactly one message (derived from a chain key).
pub enum Message {}

impl sealed::Sealed for Announce {}
impl sealed::Sealed for Pairwise {}
impl sealed::Sealed for Chain {}
impl sealed::Sealed for Message {}
impl sealed::Sealed for Join {}
impl KeyPurpose for Announce {}
impl KeyPurpose for Pairwise {}
impl KeyPurpose for Chain {}
impl KeyPurpose for Message {}
impl KeyPurpose for Join {}

/// A 32-byte symmetric key for one purpose. Zeroized on drop; no `Debug`, no
/// `Serialize`; compared in constant time.
pub struct Key<P: KeyPurpose> {
    /// The key material.
    pub(crate) bytes: [u8; 32],
    /// Ties the key to its purpose at compile time; carries no data.
    purpose: PhantomData<P>,
}

impl<P: KeyPurpose> Key<P> {
    pub(crate) fn zero() -> Self {
        Key {
            bytes: [0; 32],
            purpose: PhantomData,
        }
    }

    pub(crate) fn from_bytes(bytes: [u8; 32]) -> Self {
        Key {
            bytes,
            purpose: PhantomData,
        }
    }

    /// The key bytes, for test vectors. Never log or send them.
    pub fn expose_for_test_vectors(&self) -> &[u8; 32] {
        &self.bytes
    }
}

impl<P: KeyPurpose> Clone for Key<P> {
    fn clone(&self) -> Self {
        Key::from_bytes(self.bytes)
    }
}

impl<P: KeyPurpose> PartialEq for Key<P> {
    fn eq(&self, other: &Self) -> bool {
        self.bytes.ct_eq(&other.bytes).into()
    }
}

impl<P: KeyPurpose> Eq for Key<P> {}

impl<P: KeyPurpose> Drop for Key<P> {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl<P: KeyPurpose> ZeroizeOnDrop for Key<P> {}
