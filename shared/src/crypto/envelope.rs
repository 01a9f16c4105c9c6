//! The inner payloads: what travels, opaque to the relay, inside
//! `wire::ClientFrame::Send { payload }` and comes back in `wire::Event::Message`.
//!
//! Two layers, both postcard-encoded:
//! - [`Payload`]: a version number and an [`Envelope`] (an announcement, a sender-key
//!   distribution or a sealed message). This is what the relay carries.
//! - [`Plaintext`]: what a sealed message decrypts to (after unpadding): the sender's
//!   timestamp and a [`Content`].
//!
//! Postcard encodes an enum variant by its index, so new kinds of envelope or content
//! are added at the end of their enum; a client that does not know one ignores it.
//! A change to an existing variant needs a new [`PAYLOAD_VERSION`].

use serde::{Deserialize, Serialize};

use super::announce::SealedAnnounce;
use super::sender::{SealedMessage, SealedSenderKey};
use super::CryptoError;

/// The version of the inner payload format. A client drops payloads of other versions.
pub const PAYLOAD_VERSION: u16 = 1;

/// What a member sends through the relay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payload {
    /// [`PAYLOAD_VERSION`] of the sender.
    pub version: u16,
    /// The envelope.
    pub envelope: Envelope,
}

/// One inner payload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Envelope {
    /// A member's announcement: broadcast after each welcome and after a nickname change,
    /// and sent directly to a newcomer in answer to its `Hello`.
    Announce(SealedAnnounce),
    /// A member's sender-key chain state, sent directly (`to: Some(recipient)`) and sealed
    /// with the pairwise key.
    SenderKey(SealedSenderKey),
    /// A message for the whole room, sealed with the sender's chain and signed.
    Message(SealedMessage),
}

impl Payload {
    /// Wraps an envelope in the current version.
    pub fn new(envelope: Envelope) -> Self {
        Payload {
            version: PAYLOAD_VERSION,
            envelope,
        }
    }

    /// Encodes for `ClientFrame::Send`.
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("encoding into a Vec cannot fail")
    }

    /// Decodes a received payload; other versions and trailing bytes are refused.
    pub fn decode(bytes: &[u8]) -> Result<Self, CryptoError> {
        match postcard::take_from_bytes::<Payload>(bytes) {
            Ok((p, [])) if p.version == PAYLOAD_VERSION => Ok(p),
            _ => Err(CryptoError::Malformed),
        }
    }
}

/// What a sealed message says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plaintext {
    /// The sender's clock when it sent the message, in milliseconds since the Unix
    /// epoch. Shown to readers; never trusted for ordering (the relay's sequence is).
    pub sent_at_ms: u64,
    /// The content.
    pub content: Content,
}

/// The kinds of content a message can carry. New kinds (edits, deletions, typing,
/// receipts, files) are added at the end.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Content {
    /// A chat message.
    Text {
        /// The text, as typed.
        body: String,
    },
}

impl Plaintext {
    /// Encodes (before padding and encryption).
    pub fn encode(&self) -> zeroize::Zeroizing<Vec<u8>> {
        zeroize::Zeroizing::new(
            postcard::to_allocvec(self).expect("encoding into a Vec cannot fail"),
        )
    }

    /// Decodes (after decryption and unpadding).
    pub fn decode(bytes: &[u8]) -> Result<Self, CryptoError> {
        match postcard::take_from_bytes::<Plaintext>(bytes) {
            Ok((p, [])) => Ok(p),
            _ => Err(CryptoError::Malformed),
        }
    }
}
