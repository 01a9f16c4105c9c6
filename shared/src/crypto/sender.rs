//! Sender keys: each member encrypts its messages with its own chain, which it hands to
//! every other member over pairwise keys, and signs each message with its Ed25519 key.
//!
//! A chain is a 32-byte chain key that ratchets forward once per message: the first 64
//! bytes of the ChaCha20 keystream under the chain key, with the nonce
//! `"vroom/v1/ckd"` and block counter 0, are the message key (bytes 0–31) and the next
//! chain key (bytes 32–63). ChaCha20 is a pseudorandom function of its key, so neither
//! output tells anything about the other or about the chain key before it. Holding the
//! chain at counter `n` gives the keys of messages `n, n+1, …` and none before: a
//! newcomer given the current state cannot read earlier messages, and a member that
//! forgets used keys cannot be made to reveal them later. (One ChaCha20 block costs a
//! tenth of the two HMAC-SHA256 it replaced, which dominated a message's symmetric
//! cost in the browser; see PROTOCOL.md.)
//!
//! A new epoch is a fresh random chain; a member starts one whenever someone leaves, so
//! the departed member (who holds only older chains) cannot read what follows.

use std::collections::BTreeMap;

use chacha20::cipher::{KeyIvInit, StreamCipher};
use chacha20::ChaCha20;
use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::aead::{self, Nonce};
use super::identity::{MemberKeys, MemberPublic};
use super::keys::{Chain, Key, Message, Pairwise};
use super::CryptoError;
use crate::wire::{MemberId, RoomId};

/// The ChaCha20 nonce of the chain ratchet: the derivation's label.
pub const LABEL_CHAIN: &[u8; 12] = b"vroom/v1/ckd";
/// Associated-data prefix of a sealed sender-key distribution.
pub const LABEL_SENDER_KEY_AAD: &[u8] = b"vroom/v1/sender-key";
/// Associated-data prefix of a message.
pub const LABEL_MESSAGE_AAD: &[u8] = b"vroom/v1/message";
/// Signature prefix of a message.
pub const LABEL_MESSAGE_SIG: &[u8] = b"vroom/v1/message-sig";

/// Most message keys a receiver keeps for messages it has not seen yet (skipped over
/// because a later one arrived first), per chain; and the furthest a counter may jump.
pub const MAX_SKIP: u32 = 1024;

/// The first 64 bytes of the ChaCha20 keystream under `key` with `nonce`, block counter
/// 0: a pseudorandom function of `key`, one block's work. Both chain ratchets use it.
pub(crate) fn chacha_block(key: &[u8; 32], nonce: &[u8; 12]) -> Zeroizing<[u8; 64]> {
    let mut block = Zeroizing::new([0u8; 64]);
    ChaCha20::new(key.into(), nonce.into()).apply_keystream(&mut *block);
    block
}

/// One ratchet step: the key for the message at the current counter, and the chain key
/// for the next one.
pub fn ratchet(chain: &Key<Chain>) -> (Key<Message>, Key<Chain>) {
    let block = chacha_block(&chain.bytes, LABEL_CHAIN);
    let (message, next) = block.split_at(32);
    (
        Key::from_bytes(message.try_into().expect("32 bytes")),
        Key::from_bytes(next.try_into().expect("32 bytes")),
    )
}

/// A chain at a position: what a member hands to another so it can read the member's
/// messages from `counter` on. Zeroized on drop; no `Debug`.
#[derive(Clone)]
pub struct ChainState {
    /// The epoch this chain belongs to.
    pub epoch: u32,
    /// The counter of the next message this chain key encrypts.
    pub counter: u32,
    /// The chain key at `counter`.
    pub key: Key<Chain>,
}

impl ChainState {
    /// A fresh random chain for `epoch`, at counter 0.
    pub fn generate(epoch: u32, rng: &mut impl CryptoRngCore) -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(&mut *bytes);
        ChainState {
            epoch,
            counter: 0,
            key: Key::from_bytes(*bytes),
        }
    }

    /// The key for the message at `counter`, moving the chain one step on.
    fn step(&mut self) -> (u32, Key<Message>) {
        let (mk, next) = ratchet(&self.key);
        let counter = self.counter;
        self.key = next;
        self.counter = self
            .counter
            .checked_add(1)
            .expect("a chain never reaches 2^32 messages");
        (counter, mk)
    }
}

/// A [`ChainState`] sealed for one recipient with the pairwise key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedSenderKey {
    /// The epoch of the chain inside, in the clear because it is bound as associated data.
    pub epoch: u32,
    /// Random per distribution.
    pub nonce: Nonce,
    /// `XChaCha20-Poly1305(pairwise key, nonce, counter (u32 BE) || chain key, aad)`.
    #[serde(with = "serde_bytes")]
    pub ciphertext: Vec<u8>,
}

fn sender_key_aad(room: &RoomId, from: MemberId, to: MemberId, epoch: u32) -> Vec<u8> {
    let mut aad = Vec::with_capacity(LABEL_SENDER_KEY_AAD.len() + 36);
    aad.extend_from_slice(LABEL_SENDER_KEY_AAD);
    aad.extend_from_slice(&room.0);
    aad.extend_from_slice(&from.0.to_be_bytes());
    aad.extend_from_slice(&to.0.to_be_bytes());
    aad.extend_from_slice(&epoch.to_be_bytes());
    aad
}

/// Seals `state` from `from` to `to` in `room`. The associated data binds room, both
/// members (in direction order) and the epoch, so the relay cannot redirect, reflect or
/// relabel it.
pub fn seal_chain_state(
    state: &ChainState,
    pairwise: &Key<Pairwise>,
    room: &RoomId,
    from: MemberId,
    to: MemberId,
    rng: &mut impl CryptoRngCore,
) -> SealedSenderKey {
    let mut plain = Zeroizing::new([0u8; 36]);
    plain[..4].copy_from_slice(&state.counter.to_be_bytes());
    plain[4..].copy_from_slice(&state.key.bytes);
    let nonce = Nonce::random(rng);
    let ciphertext = aead::seal(
        pairwise,
        &nonce,
        &sender_key_aad(room, from, to, state.epoch),
        &*plain,
    );
    SealedSenderKey {
        epoch: state.epoch,
        nonce,
        ciphertext,
    }
}

/// Opens a chain state `from` sent to `to` in `room`.
pub fn open_chain_state(
    sealed: &SealedSenderKey,
    pairwise: &Key<Pairwise>,
    room: &RoomId,
    from: MemberId,
    to: MemberId,
) -> Result<ChainState, CryptoError> {
    let plain = aead::open(
        pairwise,
        &sealed.nonce,
        &sender_key_aad(room, from, to, sealed.epoch),
        &sealed.ciphertext,
    )?;
    let (counter, key) = plain
        .split_first_chunk::<4>()
        .ok_or(CryptoError::Malformed)?;
    let key: [u8; 32] = key.try_into().map_err(|_| CryptoError::Malformed)?;
    Ok(ChainState {
        epoch: sealed.epoch,
        counter: u32::from_be_bytes(*counter),
        key: Key::from_bytes(key),
    })
}

/// This member's sending chain for the current epoch.
pub struct SendChain {
    /// The chain at the counter of the next message to send.
    state: ChainState,
}

impl SendChain {
    /// A fresh chain for `epoch`.
    pub fn new(epoch: u32, rng: &mut impl CryptoRngCore) -> Self {
        SendChain {
            state: ChainState::generate(epoch, rng),
        }
    }

    /// The current state, to hand to a member (it reads from the next message on).
    pub fn state(&self) -> &ChainState {
        &self.state
    }

    /// The current epoch.
    pub fn epoch(&self) -> u32 {
        self.state.epoch
    }
}

/// The header every message carries; bound as associated data and signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// The room the message belongs to.
    pub room: RoomId,
    /// The member that sent it (the relay states it; the binding makes a lie fail).
    pub sender: MemberId,
    /// The sender's epoch.
    pub epoch: u32,
    /// The message's position in the sender's chain.
    pub counter: u32,
}

impl Header {
    fn write(&self, label: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(label);
        out.extend_from_slice(&self.room.0);
        out.extend_from_slice(&self.sender.0.to_be_bytes());
        out.extend_from_slice(&self.epoch.to_be_bytes());
        out.extend_from_slice(&self.counter.to_be_bytes());
    }

    fn aad(&self) -> Vec<u8> {
        let mut aad = Vec::with_capacity(LABEL_MESSAGE_AAD.len() + 32);
        self.write(LABEL_MESSAGE_AAD, &mut aad);
        aad
    }
}

/// A message as it travels. Room and sender are not repeated inside: the relay's frame
/// states them and the associated data and signature bind them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedMessage {
    /// The sender's epoch.
    pub epoch: u32,
    /// The message's position in the sender's chain.
    pub counter: u32,
    /// Random per message.
    pub nonce: Nonce,
    /// `XChaCha20-Poly1305(message key, nonce, padded plaintext, header aad)`.
    #[serde(with = "serde_bytes")]
    pub ciphertext: Vec<u8>,
    /// Ed25519 over `"vroom/v1/message-sig" || header || nonce || ciphertext`.
    #[serde(with = "serde_bytes")]
    pub signature: [u8; 64],
}

impl SealedMessage {
    fn signed_bytes(&self, room: &RoomId, sender: MemberId) -> Vec<u8> {
        let mut m = Vec::with_capacity(64 + 24 + self.ciphertext.len());
        self.header(room, sender).write(LABEL_MESSAGE_SIG, &mut m);
        m.extend_from_slice(&self.nonce.0);
        m.extend_from_slice(&self.ciphertext);
        m
    }

    /// The header this message claims, given the room and the sender the relay states.
    pub fn header(&self, room: &RoomId, sender: MemberId) -> Header {
        Header {
            room: *room,
            sender,
            epoch: self.epoch,
            counter: self.counter,
        }
    }

    /// Checks the sender's signature. Done before any decryption, so a forged message
    /// cannot move a receiving chain.
    pub fn verify(
        &self,
        room: &RoomId,
        sender: MemberId,
        public: &MemberPublic,
    ) -> Result<(), CryptoError> {
        public.verify(&self.signed_bytes(room, sender), &self.signature)
    }
}

/// A message encrypted on its sender's chain but not signed yet: it cannot be encoded or
/// sent until [`EncryptedMessage::sign`] makes a [`SealedMessage`] of it. The two steps are
/// apart so the cost of each can be measured on its own.
pub struct EncryptedMessage {
    /// The message, its signature still zero.
    msg: SealedMessage,
    /// The room it was encrypted for, which the signature binds too.
    room: RoomId,
    /// Its sender, which the signature binds too.
    sender: MemberId,
}

/// Encrypts `padded` (already padded) as the next message on `chain`; the chain moves on.
pub fn encrypt_message(
    chain: &mut SendChain,
    room: &RoomId,
    sender: MemberId,
    padded: &[u8],
    rng: &mut impl CryptoRngCore,
) -> EncryptedMessage {
    let epoch = chain.state.epoch;
    let (counter, mk) = chain.state.step();
    let header = Header {
        room: *room,
        sender,
        epoch,
        counter,
    };
    let nonce = Nonce::random(rng);
    let ciphertext = aead::seal(&mk, &nonce, &header.aad(), padded);
    EncryptedMessage {
        msg: SealedMessage {
            epoch,
            counter,
            nonce,
            ciphertext,
            signature: [0; 64],
        },
        room: *room,
        sender,
    }
}

impl EncryptedMessage {
    /// The message with its signature still zero, which every member refuses: for
    /// measuring encryption and decryption apart from signing.
    pub fn as_unsigned(&self) -> &SealedMessage {
        &self.msg
    }

    /// Signs the message with its sender's key.
    pub fn sign(self, keys: &MemberKeys) -> SealedMessage {
        let mut msg = self.msg;
        msg.signature = keys.sign(&msg.signed_bytes(&self.room, self.sender));
        msg
    }
}

/// Encrypts and signs `padded` (already padded) as the next message on `chain`.
pub fn seal_message(
    chain: &mut SendChain,
    keys: &MemberKeys,
    room: &RoomId,
    sender: MemberId,
    padded: &[u8],
    rng: &mut impl CryptoRngCore,
) -> SealedMessage {
    encrypt_message(chain, room, sender, padded, rng).sign(keys)
}

/// What a member holds to read another member's messages in one epoch.
pub struct ReceiveChain {
    /// The chain at `next`.
    state: ChainState,
    /// The first counter this member can read: where the state it was given began.
    start: u32,
    /// Keys of messages skipped over (a later one arrived first), by counter. Each is
    /// removed when used, so a replay finds nothing.
    skipped: BTreeMap<u32, Key<Message>>,
    /// Counters below this had their skipped keys evicted to bound memory.
    evicted_below: u32,
}

impl ReceiveChain {
    /// Starts reading from a received chain state.
    pub fn new(state: ChainState) -> Self {
        ReceiveChain {
            start: state.counter,
            evicted_below: state.counter,
            state,
            skipped: BTreeMap::new(),
        }
    }

    /// The epoch of this chain.
    pub fn epoch(&self) -> u32 {
        self.state.epoch
    }

    /// The first counter this chain can read.
    pub fn start(&self) -> u32 {
        self.start
    }

    /// The counter of the next message in sending order. A message below it (that
    /// still opens) arrives after one its sender wrote later.
    pub fn next_counter(&self) -> u32 {
        self.state.counter
    }

    /// Decrypts a message whose signature the caller has verified with
    /// [`SealedMessage::verify`]. The chain moves only if decryption succeeds.
    pub fn open(
        &mut self,
        msg: &SealedMessage,
        room: &RoomId,
        sender: MemberId,
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        if msg.epoch != self.state.epoch {
            return Err(CryptoError::KeyUnavailable);
        }
        let aad = msg.header(room, sender).aad();
        let counter = msg.counter;
        if counter < self.state.counter {
            if counter < self.start || counter < self.evicted_below {
                return Err(CryptoError::KeyUnavailable);
            }
            let mk = self.skipped.get(&counter).ok_or(CryptoError::Replay)?;
            let plain = aead::open(mk, &msg.nonce, &aad, &msg.ciphertext)?;
            self.skipped.remove(&counter);
            return Ok(plain);
        }
        if counter - self.state.counter > MAX_SKIP {
            return Err(CryptoError::TooFarAhead);
        }
        // Work on a copy so that a failed decryption leaves the chain where it was.
        let mut state = self.state.clone();
        let mut skipped = Vec::new();
        while state.counter < counter {
            skipped.push(state.step());
        }
        let (_, mk) = state.step();
        let plain = aead::open(&mk, &msg.nonce, &aad, &msg.ciphertext)?;
        self.state = state;
        self.skipped.extend(skipped);
        while self.skipped.len() > MAX_SKIP as usize {
            if let Some((c, _)) = self.skipped.pop_first() {
                self.evicted_below = c + 1;
            }
        }
        Ok(plain)
    }
}
