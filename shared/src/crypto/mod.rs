//! vroom's end-to-end cryptography: everything a member needs to join a room, prove who
//! it is, and send and read messages the relay cannot read, forge, replay or move.
//!
//! The layers, bottom up (PROTOCOL.md explains each choice):
//! - [`keys`]: the room secret, the room id and purpose-tagged symmetric keys (HKDF-SHA256).
//! - [`identity`]: a member's per-session X25519 and Ed25519 key pairs, pairwise keys and
//!   fingerprints for out-of-band comparison.
//! - [`announce`]: the sealed, signed announcement that binds a member's public keys and
//!   nickname to its relay-assigned id in one room.
//! - [`sender`]: sender-key chains (one per member per epoch), their pairwise distribution
//!   and the sealed, signed messages made with them.
//! - [`padding`]: size buckets, so ciphertext lengths say little about plaintext lengths.
//! - [`envelope`]: the inner payloads carried opaquely inside `wire::ClientFrame::Send`.
//!
//! Randomness is always passed in (`&mut impl CryptoRngCore`), so the constructions can
//! be checked against fixed test vectors; [`OsRng`] is the one to use everywhere else,
//! except for nonces, which a session draws from its [`NonceRng`].

mod aead;
pub mod announce;
pub mod envelope;
pub mod identity;
pub mod keys;
pub mod padding;
pub mod pass;
pub mod sender;
pub(crate) mod words;

#[cfg(feature = "mls")]
pub(crate) use aead::{open, seal};
pub use aead::{Nonce, NonceRng};
pub use identity::{fingerprint, MemberKeys, MemberPublic};
pub use keys::{Key, RoomSecret};
pub use pass::RoomPass;
pub use rand_core::{CryptoRngCore, OsRng};

/// Why a cryptographic operation failed.
///
/// Deliberately coarse: a failed tag, a bad signature and a wrong binding (another room,
/// another member) all read [`CryptoError::Unauthentic`], so an attacker probing with
/// altered frames learns nothing about which check stopped it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CryptoError {
    /// The bytes were not made by someone holding the right key (or were altered, or
    /// were made for another room, member or epoch).
    Unauthentic,
    /// The bytes do not have the shape of the structure they claim to be.
    Malformed,
    /// The message key for this counter was already used: the message is a replay.
    Replay,
    /// The message key is not available: the message predates the chain state this
    /// member received (it was sent before the member joined) or was evicted.
    KeyUnavailable,
    /// The counter is further ahead than the bounded skipped-key store allows.
    TooFarAhead,
    /// An X25519 exchange gave the all-zero value (a low-order public key).
    NonContributory,
}

impl core::fmt::Display for CryptoError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            CryptoError::Unauthentic => "authentication failed",
            CryptoError::Malformed => "malformed encrypted data",
            CryptoError::Replay => "replayed message",
            CryptoError::KeyUnavailable => "message key not available",
            CryptoError::TooFarAhead => "message counter too far ahead",
            CryptoError::NonContributory => "non-contributory key exchange",
        })
    }
}

impl std::error::Error for CryptoError {}
