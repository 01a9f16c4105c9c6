//! XChaCha20-Poly1305 sealing with purpose-tagged keys and a nonce type that can only be
//! made at random, so a nonce cannot be reused by accident.
//!
//! XChaCha20's 192-bit nonce makes random nonces safe for any number of messages under
//! one key, which matters for the long-lived announcement key.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRng, CryptoRngCore, OsRng, RngCore, SeedableRng};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::keys::{Key, KeyPurpose};
use super::CryptoError;

/// A 24-byte XChaCha20 nonce. Made only at random (or decoded from a received frame).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Nonce(pub(crate) [u8; 24]);

impl Nonce {
    /// A fresh random nonce.
    pub(crate) fn random(rng: &mut impl CryptoRngCore) -> Self {
        let mut n = [0u8; 24];
        rng.fill_bytes(&mut n);
        Nonce(n)
    }

    /// The nonce bytes (they are public; they travel in the clear).
    pub fn as_bytes(&self) -> &[u8; 24] {
        &self.0
    }
}

/// Where a session's nonces come from: ChaCha20 seeded once from the operating system.
///
/// In a browser every draw from the operating system is a call out to JavaScript
/// (`crypto.getRandomValues`), which cost about as much as the rest of a message's
/// encryption; this draws once per session. **For nonces only**: they are public and
/// need only never repeat, whereas this generator's state, unlike a key, is not erased
/// and would give away everything it produced. Keys always come from the operating
/// system.
pub struct NonceRng(ChaCha20Rng);

impl NonceRng {
    /// A generator seeded from the operating system.
    pub fn new() -> Self {
        let mut seed = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(&mut *seed);
        NonceRng(ChaCha20Rng::from_seed(*seed))
    }
}

impl Default for NonceRng {
    fn default() -> Self {
        NonceRng::new()
    }
}

impl RngCore for NonceRng {
    fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }

    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill_bytes(dest);
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.0.try_fill_bytes(dest)
    }
}

impl CryptoRng for NonceRng {}

pub(crate) fn seal<P: KeyPurpose>(key: &Key<P>, nonce: &Nonce, aad: &[u8], msg: &[u8]) -> Vec<u8> {
    XChaCha20Poly1305::new((&key.bytes).into())
        .encrypt(XNonce::from_slice(&nonce.0), Payload { msg, aad })
        .expect("XChaCha20-Poly1305 encryption cannot fail for in-memory sizes")
}

pub(crate) fn open<P: KeyPurpose>(
    key: &Key<P>,
    nonce: &Nonce,
    aad: &[u8],
    ct: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    XChaCha20Poly1305::new((&key.bytes).into())
        .decrypt(XNonce::from_slice(&nonce.0), Payload { msg: ct, aad })
        .map(Zeroizing::new)
        .map_err(|_| CryptoError::Unauthentic)
}
