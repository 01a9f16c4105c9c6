//! Application messages on per-sender chains keyed from the epoch's forward-secure
//! exporter (PROTOCOL.md §9.14).
//!
//! MLS carries the room's agreed state: who is in, the epoch, the transcript. Its own
//! application messages cost several HKDF steps of the secret tree and sender-data keys
//! per message, which alone is far above the browser's budget for a chat message
//! (PROTOCOL.md §9.13). Here each epoch's chain secret, exported once under
//! [`COMPONENT_ID`] from the epoch's application export tree (draft-ietf-mls-extensions),
//! roots one chain per leaf; a chain ratchets forward with one ChaCha20 block per
//! message (as version 1's did), a message key seals one message with
//! ChaCha20-Poly1305, and the sender signs the whole message with its leaf's Ed25519
//! key, as MLS signs its own application messages.
//!
//! What this keeps from MLS application messages:
//! - **bound to the agreed state:** the chain secret is a function of the epoch's key
//!   schedule, so only members of that exact epoch (same roster, same transcript) can
//!   derive the keys; a member the relay keeps on another branch cannot read or forge;
//! - **authenticated sender:** the signature is checked against the key the group
//!   agreed for the leaf in that epoch, before any key is derived;
//! - **forward secrecy within an epoch:** openmls hands the chain secret out once per
//!   epoch and deletes it from its export tree as it does, so a member's state cannot
//!   give it again; every leaf's chain starts from it when the epoch is entered and it
//!   is zeroized then; a chain key, once stepped, is overwritten; a message key is
//!   erased when used; skipped keys are bounded in number and die with their epoch;
//! - **no replay:** each (epoch, leaf, generation) opens once.
//!
//! What it does not hide: the sender's leaf index travels in the clear (MLS encrypts it
//! under the sender-data key). The relay already stamps every message with its
//! sender's member id, which it maps to a leaf, so nothing is learnt from it.

use std::collections::{BTreeMap, VecDeque};

use chacha20poly1305::aead::{Aead as _, KeyInit as _, Payload};
use chacha20poly1305::ChaCha20Poly1305;
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use super::identity::{verify_labelled, Identity, PublicIdentity};
use super::room::{MessageId, PAST_EPOCHS};
pub use super::room::{MAX_FORWARD, OUT_OF_ORDER};
use super::GroupError;
use crate::crypto::sender::chacha_block;

/// The first two bytes of a chain message. An MLS message starts with its protocol
/// version, `0x0001`; `0xFF01` is no version, so the two never mix.
pub const TAG: [u8; 2] = [0xFF, 0x01];
/// The component id of an epoch's chain secret in the epoch's application export tree
/// (draft-ietf-mls-extensions' forward-secure "safe" export; a private-use id,
/// 0x8000–0xFFFF). openmls gives it out once per epoch.
pub const COMPONENT_ID: u16 = 0xF7A1;
/// HKDF-Expand info prefix of a leaf's first chain key (followed by the leaf index,
/// big-endian u32).
pub const LABEL_CHAIN_ROOT: &[u8] = b"vroom/v2/chain-root";
/// The ChaCha20 nonce of one ratchet step.
pub const LABEL_RATCHET: &[u8; 12] = b"vroom/v2/ckd";
/// Signature prefix of a chain message.
pub const LABEL_CHAIN_SIGNATURE: &[u8] = b"vroom/v2/chain-signature";
/// Hash prefix of a chain message's id (short enough that label, header and signature
/// fit two SHA-256 blocks).
pub const LABEL_CHAIN_MESSAGE_ID: &[u8] = b"vroom/v2/chain-id";
/// Tag, epoch (u64), leaf (u32), generation (u32), all big-endian.
const HEADER_LEN: usize = 2 + 16 + 8 + 4 + 4;
const AEAD_TAG_LEN: usize = 16;
const SIGNATURE_LEN: usize = 64;
/// Every message key seals exactly one message, so one fixed nonce is safe.
const NONCE: [u8; 12] = [0; 12];

/// Whether `bytes` claims to be a chain message (and not an MLS message).
pub fn is_chain_message(bytes: &[u8]) -> bool {
    bytes.starts_with(&TAG)
}

/// A chain message's clear header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// The group (room) it belongs to.
    pub group_id: [u8; 16],
    /// The epoch whose chain secret keyed it.
    pub epoch: u64,
    /// The sender's leaf index in that epoch.
    pub leaf: u32,
    /// Its position in the sender's chain of that epoch.
    pub generation: u32,
}

impl Header {
    fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[..2].copy_from_slice(&TAG);
        out[2..18].copy_from_slice(&self.group_id);
        out[18..26].copy_from_slice(&self.epoch.to_be_bytes());
        out[26..30].copy_from_slice(&self.leaf.to_be_bytes());
        out[30..34].copy_from_slice(&self.generation.to_be_bytes());
        out
    }

    fn decode(bytes: &[u8]) -> Option<Header> {
        let h: &[u8; HEADER_LEN] = bytes.get(..HEADER_LEN)?.try_into().ok()?;
        if h[..2] != TAG {
            return None;
        }
        Some(Header {
            group_id: h[2..18].try_into().ok()?,
            epoch: u64::from_be_bytes(h[18..26].try_into().ok()?),
            leaf: u32::from_be_bytes(h[26..30].try_into().ok()?),
            generation: u32::from_be_bytes(h[30..34].try_into().ok()?),
        })
    }
}

/// A parsed chain message: its header, ciphertext and signature, borrowed.
pub struct Parsed<'a> {
    /// The clear header.
    pub header: Header,
    header_bytes: &'a [u8],
    ciphertext: &'a [u8],
    signature: &'a [u8; SIGNATURE_LEN],
}

impl<'a> Parsed<'a> {
    /// The message's id: the first 16 bytes of
    /// `SHA-256(LABEL_CHAIN_MESSAGE_ID ‖ header ‖ signature)`. The header names the
    /// sender's leaf, epoch and generation, and the signature (strictly verified,
    /// deterministic for honest signers) binds the group, header and ciphertext under
    /// that leaf's key, so the id names one message of one sender and is cheap: two
    /// SHA-256 blocks whatever the message's size.
    pub fn id(&self) -> MessageId {
        MessageId::labelled(LABEL_CHAIN_MESSAGE_ID, &[self.header_bytes, self.signature])
    }

    /// Splits `bytes`; `None` when it is too short or not a chain message.
    pub fn parse(bytes: &'a [u8]) -> Option<Parsed<'a>> {
        let header = Header::decode(bytes)?;
        if bytes.len() < HEADER_LEN + AEAD_TAG_LEN + SIGNATURE_LEN {
            return None;
        }
        let (body, signature) = bytes.split_at(bytes.len() - SIGNATURE_LEN);
        let (header_bytes, ciphertext) = body.split_at(HEADER_LEN);
        Some(Parsed {
            header,
            header_bytes,
            ciphertext,
            signature: signature.try_into().ok()?,
        })
    }
}

/// What a chain message's signature covers:
/// `LABEL_CHAIN_SIGNATURE ‖ group_id ‖ epoch_authenticator ‖ header ‖ ciphertext` (the
/// label is added by the signer and the verifier; the authenticator is 32 bytes).
fn statement(
    group_id: &[u8; 16],
    authenticator: &[u8],
    header: &[u8],
    ciphertext: &[u8],
) -> Vec<u8> {
    [group_id.as_slice(), authenticator, header, ciphertext].concat()
}

/// The AEAD's associated data: `group_id ‖ header`.
fn aad(group_id: &[u8; 16], header: &[u8]) -> Vec<u8> {
    let mut a = Vec::with_capacity(16 + header.len());
    a.extend_from_slice(group_id);
    a.extend_from_slice(header);
    a
}

/// Why a chain refused a generation.
#[derive(Debug, PartialEq, Eq)]
enum Refused {
    /// Already opened, or skipped so long ago that its key is gone.
    Used,
    /// Further ahead than [`MAX_FORWARD`], or past the end of the chain.
    TooFar,
}

/// One sender's chain in one epoch. No `Debug`; keys zeroized on drop.
#[derive(Clone)]
struct Chain {
    /// The generation `key` opens.
    next: u32,
    key: Zeroizing<[u8; 32]>,
    /// Message keys of generations skipped over, oldest dropped first.
    skipped: BTreeMap<u32, Zeroizing<[u8; 32]>>,
}

impl Chain {
    fn new(root: Zeroizing<[u8; 32]>) -> Chain {
        Chain {
            next: 0,
            key: root,
            skipped: BTreeMap::new(),
        }
    }

    /// One ratchet step: the message key of `self.next`; the chain moves on.
    fn step(&mut self) -> Result<Zeroizing<[u8; 32]>, Refused> {
        let next = self.next.checked_add(1).ok_or(Refused::TooFar)?;
        let block = chacha_block(&self.key, LABEL_RATCHET);
        let mut message = Zeroizing::new([0u8; 32]);
        message.copy_from_slice(&block[..32]);
        self.key.copy_from_slice(&block[32..]);
        self.next = next;
        Ok(message)
    }

    /// The message key of `generation`, erased from the chain (it opens once).
    fn key_for(&mut self, generation: u32) -> Result<Zeroizing<[u8; 32]>, Refused> {
        if generation < self.next {
            return self.skipped.remove(&generation).ok_or(Refused::Used);
        }
        if generation - self.next > MAX_FORWARD {
            return Err(Refused::TooFar);
        }
        while self.next < generation {
            let at = self.next;
            let key = self.step()?;
            self.skipped.insert(at, key);
            if self.skipped.len() > OUT_OF_ORDER as usize {
                self.skipped.pop_first();
            }
        }
        self.step()
    }
}

/// Everything about one epoch's chains. No `Debug`.
struct Epoch {
    epoch: u64,
    /// MLS's epoch authenticator: unique to this epoch of this group instance, so a
    /// signature made for another instance (a group created again under the same id)
    /// does not verify here.
    authenticator: Vec<u8>,
    /// Whether a message was sealed or opened in this epoch.
    used: bool,
    /// Who held each leaf in this epoch, as the group agreed.
    roster: BTreeMap<u32, PublicIdentity>,
    /// Each leaf's chain, this member's own (its sending chain) included. All are
    /// started when the epoch is entered, and the chain secret they came from is
    /// not kept (nor can openmls give it again): a chain, once stepped, cannot be
    /// stepped back.
    chains: BTreeMap<u32, Chain>,
}

/// `HKDF-Expand(secret, LABEL_CHAIN_ROOT ‖ leaf, 32)`: the leaf's first chain key.
fn root(secret: &[u8; 32], leaf: u32) -> Result<Zeroizing<[u8; 32]>, GroupError> {
    let hkdf = Hkdf::<Sha256>::from_prk(secret).map_err(|_| GroupError::Internal)?;
    let mut info = LABEL_CHAIN_ROOT.to_vec();
    info.extend_from_slice(&leaf.to_be_bytes());
    let mut root = Zeroizing::new([0u8; 32]);
    hkdf.expand(&info, &mut *root)
        .map_err(|_| GroupError::Internal)?;
    Ok(root)
}

/// The chains of the current epoch and of up to [`PAST_EPOCHS`] before it. No `Debug`.
#[derive(Default)]
pub struct Chains {
    epochs: VecDeque<Epoch>,
}

impl Chains {
    /// Whether the chains of `epoch` are kept.
    pub fn has(&self, epoch: u64) -> bool {
        self.epochs.iter().any(|e| e.epoch == epoch)
    }

    /// Whether a message was sealed or opened in `epoch`.
    pub fn used(&self, epoch: u64) -> bool {
        self.epochs.iter().any(|e| e.epoch == epoch && e.used)
    }

    /// Starts the chains of `epoch` (the current one), one per leaf of its roster, from
    /// its chain `secret` (zeroized as it drops, once the roots are derived), and
    /// forgets those too old to be used.
    pub fn enter(
        &mut self,
        epoch: u64,
        authenticator: &[u8],
        secret: Zeroizing<[u8; 32]>,
        roster: BTreeMap<u32, PublicIdentity>,
    ) -> Result<(), GroupError> {
        if self.has(epoch) {
            return Ok(());
        }
        let chains = roster
            .keys()
            .map(|&leaf| Ok((leaf, Chain::new(root(&secret, leaf)?))))
            .collect::<Result<_, GroupError>>()?;
        self.epochs.push_back(Epoch {
            epoch,
            authenticator: authenticator.to_vec(),
            used: false,
            roster,
            chains,
        });
        let oldest = epoch.saturating_sub(PAST_EPOCHS as u64);
        self.epochs
            .retain(|e| e.epoch >= oldest && e.epoch <= epoch);
        Ok(())
    }

    /// Seals `plaintext` as `leaf`'s next message in `epoch` (which must have been
    /// entered), signed by `identity`; returns the message and its id.
    pub fn seal(
        &mut self,
        epoch: u64,
        leaf: u32,
        group_id: &[u8; 16],
        identity: &Identity,
        plaintext: &[u8],
    ) -> Result<(Vec<u8>, MessageId), GroupError> {
        let e = self
            .epochs
            .iter_mut()
            .find(|e| e.epoch == epoch)
            .ok_or(GroupError::Internal)?;
        e.used = true;
        let own = e.chains.get_mut(&leaf).ok_or(GroupError::Internal)?;
        let generation = own.next;
        // The last generation of a chain is never used: the epoch must change first.
        let key = own.step().map_err(|_| GroupError::Busy)?;
        let header = Header {
            group_id: *group_id,
            epoch,
            leaf,
            generation,
        }
        .encode();
        let ciphertext = ChaCha20Poly1305::new((&*key).into())
            .encrypt(
                (&NONCE).into(),
                Payload {
                    msg: plaintext,
                    aad: &aad(group_id, &header),
                },
            )
            .map_err(|_| GroupError::Internal)?;
        let signature = identity.sign_labelled(
            LABEL_CHAIN_SIGNATURE,
            &statement(group_id, &e.authenticator, &header, &ciphertext),
        );
        let mut out = Vec::with_capacity(HEADER_LEN + ciphertext.len() + SIGNATURE_LEN);
        out.extend_from_slice(&header);
        out.extend_from_slice(&ciphertext);
        out.extend_from_slice(&signature);
        let id = MessageId::labelled(LABEL_CHAIN_MESSAGE_ID, &[&header, &signature]);
        Ok((out, id))
    }

    /// Checks and opens another member's message: the leaf must be in the epoch's
    /// roster, held by `holder` when given (who holds the leaf now, for a message from
    /// a past epoch), then the signature under the key the group agreed for the leaf,
    /// then the generation, then the AEAD. Returns the sender's identity and the
    /// plaintext.
    pub fn open(
        &mut self,
        message: &Parsed<'_>,
        own_leaf: u32,
        group_id: &[u8; 16],
        holder: Option<&PublicIdentity>,
    ) -> Result<(PublicIdentity, Zeroizing<Vec<u8>>), GroupError> {
        let header = message.header;
        if header.group_id != *group_id {
            return Err(GroupError::WrongRoom);
        }
        let e = self
            .epochs
            .iter_mut()
            .find(|e| e.epoch == header.epoch)
            .ok_or(GroupError::WrongEpoch)?;
        let sender = *e.roster.get(&header.leaf).ok_or(GroupError::Unauthentic)?;
        if holder.is_some_and(|h| *h != sender) {
            // The leaf changed hands (or its key) since: its sender has left.
            return Err(GroupError::WrongEpoch);
        }
        let signed = verify_labelled(
            LABEL_CHAIN_SIGNATURE,
            &sender.signature_key,
            &statement(
                group_id,
                &e.authenticator,
                message.header_bytes,
                message.ciphertext,
            ),
            message.signature,
        );
        if !signed {
            return Err(GroupError::Unauthentic);
        }
        if header.leaf == own_leaf {
            // Signed by this member but not among its own messages waiting for their
            // echo: an old one, delivered again.
            return Err(GroupError::Replay);
        }
        // The chain steps on a copy, kept only if the message opens: a message that is
        // refused changes nothing.
        let mut chain = e
            .chains
            .get(&header.leaf)
            .ok_or(GroupError::Internal)?
            .clone();
        let key = chain.key_for(header.generation).map_err(|r| match r {
            Refused::Used => GroupError::Replay,
            Refused::TooFar => GroupError::Unauthentic,
        })?;
        let plaintext = ChaCha20Poly1305::new((&*key).into())
            .decrypt(
                (&NONCE).into(),
                Payload {
                    msg: message.ciphertext,
                    aad: &aad(group_id, message.header_bytes),
                },
            )
            .map_err(|_| GroupError::Unauthentic)?;
        e.chains.insert(header.leaf, chain);
        e.used = true;
        Ok((sender, Zeroizing::new(plaintext)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain() -> Chain {
        Chain::new(Zeroizing::new([7u8; 32]))
    }

    #[test]
    fn a_generation_opens_once_and_skipped_ones_in_any_order() {
        let mut sender = chain();
        let keys: Vec<_> = (0..5).map(|_| sender.step().unwrap()).collect();
        let mut receiver = chain();
        assert_eq!(*receiver.key_for(3).unwrap(), *keys[3]);
        assert_eq!(receiver.key_for(3), Err(Refused::Used));
        assert_eq!(*receiver.key_for(1).unwrap(), *keys[1]);
        assert_eq!(*receiver.key_for(0).unwrap(), *keys[0]);
        assert_eq!(*receiver.key_for(4).unwrap(), *keys[4]);
        assert_eq!(*receiver.key_for(2).unwrap(), *keys[2]);
        for g in 0..5 {
            assert_eq!(receiver.key_for(g), Err(Refused::Used));
        }
        assert!(receiver.skipped.is_empty());
    }

    #[test]
    fn skipped_keys_and_jumps_are_bounded() {
        let mut receiver = chain();
        assert_eq!(receiver.key_for(MAX_FORWARD + 1), Err(Refused::TooFar));
        assert!(receiver.key_for(MAX_FORWARD).is_ok());
        assert_eq!(receiver.skipped.len(), OUT_OF_ORDER as usize);
        // The oldest skipped keys went first.
        assert_eq!(receiver.key_for(0), Err(Refused::Used));
        assert!(receiver.key_for(MAX_FORWARD - 1).is_ok());
    }

    #[test]
    fn a_chain_ends_instead_of_wrapping() {
        let mut c = chain();
        c.next = u32::MAX;
        assert_eq!(c.step(), Err(Refused::TooFar));
        assert_eq!(c.key_for(u32::MAX), Err(Refused::TooFar));
        assert_eq!(c.next, u32::MAX);
    }

    #[test]
    fn headers_round_trip_and_short_input_is_refused() {
        let h = Header {
            group_id: [3; 16],
            epoch: u64::MAX - 3,
            leaf: 9,
            generation: 77,
        };
        let mut bytes = h.encode().to_vec();
        assert_eq!(Header::decode(&bytes), Some(h));
        assert!(Parsed::parse(&bytes).is_none());
        bytes.extend_from_slice(&[0u8; AEAD_TAG_LEN + SIGNATURE_LEN]);
        assert_eq!(Parsed::parse(&bytes).map(|p| p.header), Some(h));
        bytes[1] = 0x02;
        assert!(Parsed::parse(&bytes).is_none());
    }
}
