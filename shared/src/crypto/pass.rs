//! The room's pass: what the host adds to the room secret when it renews the room's
//! invitation after removing someone (PROTOCOL.md §11.4).
//!
//! The room secret names the room for its whole life (its id, its group id and binding
//! derive from it), and a removed member keeps it. So a renewal does not change it: the
//! host draws a fresh 32-byte pass, hands it to the remaining members inside the group,
//! and from then on a newcomer needs both. With a pass, two things derive from
//! `prk = HKDF-Extract(salt = "vroom/v2/room-pass", ikm = room_secret ‖ pass)`:
//!
//! - the join key, which seals newcomers' key packages: `HKDF-Expand(prk,
//!   "vroom/v2/join-key", 32)` (without a pass it is the room secret's own, see
//!   `session::envelope::join_key`), so members stop taking requests from whoever
//!   holds only the room secret;
//! - the join proof shown to the relay: `HKDF-Expand(prk, "vroom/v2/join-proof", 32)`;
//!   the relay keeps only its hash (`wire::JoinProof::hash`) and refuses a newcomer
//!   without it. The proof says nothing about the join key.

use hkdf::Hkdf;
use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::keys::{Join, Key};
use super::RoomSecret;
use crate::wire::JoinProof;

/// HKDF-Extract salt of the derivations from room secret and pass.
pub const LABEL_PASS_SALT: &[u8] = b"vroom/v2/room-pass";
/// HKDF-Expand info of the join key under a pass.
pub const LABEL_PASS_JOIN_KEY: &[u8] = b"vroom/v2/join-key";
/// HKDF-Expand info of the join proof the relay checks.
pub const LABEL_JOIN_PROOF: &[u8] = b"vroom/v2/join-proof";

/// 32 random bytes the host draws when it renews the room's invitation. No `Debug`
/// output of its bytes, zeroized on drop, compared in constant time.
#[derive(Clone, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct RoomPass([u8; 32]);

impl RoomPass {
    /// A fresh pass.
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        let mut bytes = [0u8; 32];
        rng.fill_bytes(&mut bytes);
        RoomPass(bytes)
    }

    /// A pass read from an invite link, a code's grant or a saved session.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        RoomPass(bytes)
    }

    /// The raw bytes, for an invite link, a code's grant or a saved session only.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    fn prk(&self, secret: &RoomSecret) -> Hkdf<Sha256> {
        let mut ikm = Zeroizing::new([0u8; 64]);
        ikm[..32].copy_from_slice(secret.as_bytes());
        ikm[32..].copy_from_slice(&self.0);
        Hkdf::<Sha256>::new(Some(LABEL_PASS_SALT), ikm.as_slice())
    }

    /// The key that seals newcomers' key packages in a room with this pass.
    pub fn join_key(&self, secret: &RoomSecret) -> Key<Join> {
        let mut key = Key::zero();
        self.prk(secret)
            .expand(LABEL_PASS_JOIN_KEY, &mut key.bytes)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        key
    }

    /// The proof a newcomer shows the relay in a room with this pass.
    pub fn join_proof(&self, secret: &RoomSecret) -> JoinProof {
        let mut proof = JoinProof([0; 32]);
        self.prk(secret)
            .expand(LABEL_JOIN_PROOF, &mut proof.0)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        proof
    }
}

/// Reads `room_secret[32]`, or `room_secret[32] ‖ pass[32]` (a renewed link's fragment,
/// a code's grant); `None` for any other length.
pub fn secret_and_pass(bytes: &[u8]) -> Option<(RoomSecret, Option<RoomPass>)> {
    let secret = |b: &[u8]| b.try_into().ok().map(RoomSecret::from_bytes);
    match bytes.len() {
        32 => Some((secret(bytes)?, None)),
        64 => {
            let pass = bytes[32..].try_into().ok().map(RoomPass::from_bytes)?;
            Some((secret(&bytes[..32])?, Some(pass)))
        }
        _ => None,
    }
}

impl PartialEq for RoomPass {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for RoomPass {}

impl core::fmt::Debug for RoomPass {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("RoomPass(…)")
    }
}

#[cfg(all(test, feature = "mls"))]
mod tests {
    use super::*;
    use crate::crypto::OsRng;

    #[test]
    fn the_pass_changes_the_join_key_and_the_proof_says_nothing_of_it() {
        let secret = RoomSecret::generate(&mut OsRng);
        let a = RoomPass::generate(&mut OsRng);
        let b = RoomPass::generate(&mut OsRng);
        let plain = crate::session::envelope::join_key(&secret);
        assert!(a.join_key(&secret) != plain, "a pass changes the join key");
        assert!(a.join_key(&secret) != b.join_key(&secret));
        assert_ne!(a.join_proof(&secret).0, b.join_proof(&secret).0);
        assert_ne!(
            a.join_proof(&secret).0,
            *a.join_key(&secret).expose_for_test_vectors()
        );
        // The same pass in another room proves nothing there.
        let other = RoomSecret::generate(&mut OsRng);
        assert_ne!(a.join_proof(&secret).0, a.join_proof(&other).0);
        assert!(a
            .join_proof(&secret)
            .hash()
            .matches(&a.join_proof(&secret).hash()));
        assert!(!a
            .join_proof(&secret)
            .hash()
            .matches(&b.join_proof(&secret).hash()));
    }
}
