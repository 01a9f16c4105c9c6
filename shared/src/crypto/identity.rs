//! A member's per-session key pairs, the pairwise keys between two members, and the
//! fingerprints people compare out of band.
//!
//! Keys are ephemeral: a member makes them when it opens a session and forgets them when
//! the room ends. Nothing long-term exists to steal later.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use hkdf::Hkdf;
use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use x25519_dalek::{PublicKey, StaticSecret};

use super::keys::{Key, Pairwise};
use super::words::WORDS;
use super::CryptoError;
use crate::wire::RoomId;

/// HKDF-Expand info prefix for pairwise keys (followed by both X25519 public keys).
pub const LABEL_PAIRWISE: &[u8] = b"vroom/v1/pairwise";
/// Hash prefix for fingerprints.
pub const LABEL_FINGERPRINT: &[u8] = b"vroom/v1/fingerprint";

/// A member's secret keys for one session: X25519 for pairwise key agreement, Ed25519
/// for signing announcements and messages. Both zeroize on drop; no `Debug`.
pub struct MemberKeys {
    /// Agrees pairwise keys with other members.
    dh: StaticSecret,
    /// Signs this member's announcements and messages.
    sign: SigningKey,
}

/// A member's public keys, as its verified announcement states them.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct MemberPublic {
    /// X25519 public key, for pairwise keys.
    pub dh: PublicKey,
    /// Ed25519 verifying key, for the member's signatures.
    pub verify: VerifyingKey,
}

impl MemberKeys {
    /// Fresh key pairs.
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        MemberKeys {
            dh: StaticSecret::random_from_rng(&mut *rng),
            sign: SigningKey::generate(rng),
        }
    }

    /// Key pairs from fixed secret bytes (for test vectors).
    pub fn from_secret_bytes(dh: [u8; 32], sign: [u8; 32]) -> Self {
        MemberKeys {
            dh: StaticSecret::from(dh),
            sign: SigningKey::from_bytes(&sign),
        }
    }

    /// This member's public keys.
    pub fn public(&self) -> MemberPublic {
        MemberPublic {
            dh: PublicKey::from(&self.dh),
            verify: self.sign.verifying_key(),
        }
    }

    pub(crate) fn sign(&self, msg: &[u8]) -> [u8; 64] {
        self.sign.sign(msg).to_bytes()
    }

    /// The key this member shares with `them` in `room`.
    ///
    /// `HKDF-SHA256(salt = room id, ikm = X25519(ours, theirs),
    /// info = "vroom/v1/pairwise" || lower public key || higher public key)`; both sides
    /// order the two public keys the same way, so both get the same key. An all-zero
    /// exchange result (a low-order public key) is refused in constant time.
    pub fn pairwise_key(
        &self,
        them: &MemberPublic,
        room: &RoomId,
    ) -> Result<Key<Pairwise>, CryptoError> {
        let shared = self.dh.diffie_hellman(&them.dh);
        if bool::from(shared.as_bytes().ct_eq(&[0u8; 32])) {
            return Err(CryptoError::NonContributory);
        }
        let ours = PublicKey::from(&self.dh);
        let (lo, hi) = if ours.as_bytes() <= them.dh.as_bytes() {
            (ours, them.dh)
        } else {
            (them.dh, ours)
        };
        let mut info = Vec::with_capacity(LABEL_PAIRWISE.len() + 64);
        info.extend_from_slice(LABEL_PAIRWISE);
        info.extend_from_slice(lo.as_bytes());
        info.extend_from_slice(hi.as_bytes());
        let mut key = Key::zero();
        Hkdf::<Sha256>::new(Some(&room.0), shared.as_bytes())
            .expand(&info, &mut key.bytes)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        Ok(key)
    }
}

impl MemberPublic {
    /// Checks `sig` over `msg` (strict verification: no malleable or small-order forms).
    pub(crate) fn verify(&self, msg: &[u8], sig: &[u8; 64]) -> Result<(), CryptoError> {
        self.verify
            .verify_strict(msg, &Signature::from_bytes(sig))
            .map_err(|_| CryptoError::Unauthentic)
    }

    /// The fingerprint of these keys; see [`fingerprint`].
    pub fn fingerprint(&self) -> String {
        fingerprint(self)
    }
}

/// A member's safety words: five words (40 bits) from
/// `SHA-256("vroom/v1/fingerprint" || X25519 public key || Ed25519 verifying key)`,
/// joined by `-`.
///
/// Every member sees the same words for the same member. Two people comparing them by
/// voice or in person detect a substituted key; 40 bits make it infeasible for a relay
/// to find other keys with the same words while a session lasts.
pub fn fingerprint(public: &MemberPublic) -> String {
    let mut h = Sha256::new();
    h.update(LABEL_FINGERPRINT);
    h.update(public.dh.as_bytes());
    h.update(public.verify.as_bytes());
    let digest = h.finalize();
    digest[..5]
        .iter()
        .map(|&b| WORDS[b as usize])
        .collect::<Vec<_>>()
        .join("-")
}
