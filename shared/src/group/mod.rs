//! The group layer of protocol version 2: a small sans-I/O API over MLS (RFC 9420,
//! the `openmls` crate) that the version-2 session drives.
//!
//! - [`identity`]: a member's Ed25519 key pair, its credential (a fresh random client
//!   id) and its 80-bit fingerprint.
//! - [`binding`]: the group id and the GroupContext extension that bind a group to the
//!   room secret and to the host's signature key.
//! - [`room`]: [`Group`] (create, add a key package, remove, self-update, encrypt,
//!   process what the relay delivers in its order) and [`Joiner`] (a key package, then a
//!   Welcome).
//! - [`safety`]: the room-wide safety code of an epoch.
//! - [`provider`]: what openmls runs on: vroom's own cryptography for the one suite,
//!   and the store of the key material openmls reads back while the group lives.
//! - [`committer`]: the deterministic order in which members commit a departure or an
//!   arrival.
//!
//! Nothing here reads a clock except openmls's lifetime checks of key packages and leaf
//! nodes; nothing does I/O. Errors are coarse on purpose ([`GroupError`]).

pub mod binding;
pub mod chains;
pub mod committer;
pub mod identity;
pub mod provider;
pub mod room;
pub mod safety;

pub use committer::{committer_order, my_turn};
pub use identity::{Fingerprint, Identity, PublicIdentity};
pub use room::{CommitKind, Group, Incoming, Joiner, Member, MessageId, Plaintext};
pub use safety::SafetyCode;

use openmls::prelude::Ciphersuite;

/// The ciphersuite of every version-2 group.
#[cfg(not(feature = "mls-pq"))]
pub const CIPHERSUITE: Ciphersuite =
    Ciphersuite::MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519;
/// The ciphersuite of every version-2 group (the experimental hybrid post-quantum
/// build: X-Wing, i.e. ML-KEM-768 + X25519, for HPKE; a draft code point).
#[cfg(feature = "mls-pq")]
pub const CIPHERSUITE: Ciphersuite = Ciphersuite::MLS_128_MLKEM768X25519_AES128GCM_SHA256_Ed25519;

/// Why a group operation or an incoming message was refused. Coarse on purpose: the
/// variants say what the caller should do, not which check failed, so they are no
/// oracle for whoever sent the input. A refused input changes no state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GroupError {
    /// Not a well-formed, canonically encoded MLS message of a kind this layer takes.
    Malformed,
    /// Fails decryption, a signature, a membership rule or a policy of this layer.
    Unauthentic,
    /// A message this member has already processed (or its own message, echoed again).
    Replay,
    /// From an epoch this member does not accept: an old commit, an application message
    /// more than one epoch old or from a departed sender, or a future epoch.
    WrongEpoch,
    /// A Welcome or group for another room, or whose host binding does not verify.
    WrongRoom,
    /// This member's own commit is still waiting for the relay's order.
    Busy,
    /// This member is no longer in the group (it was removed), or the joiner is spent.
    Inactive,
    /// The MLS library failed in a way no input should cause.
    Internal,
    /// This member's own commit broke the group's rules by the time the relay ordered
    /// it (a member it removed came back meanwhile): it was discarded, as every other
    /// member discards it.
    Refused,
}

impl core::fmt::Display for GroupError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            GroupError::Malformed => "malformed group message",
            GroupError::Unauthentic => "group message failed authentication",
            GroupError::Replay => "replayed group message",
            GroupError::WrongEpoch => "group message from another epoch",
            GroupError::WrongRoom => "group belongs to another room",
            GroupError::Busy => "a commit of this member is pending",
            GroupError::Inactive => "not a member of the group",
            GroupError::Internal => "internal group error",
            GroupError::Refused => "own commit refused by the group's rules",
        })
    }
}

impl std::error::Error for GroupError {}
