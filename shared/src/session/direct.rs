//! Direct messages: one member to one other inside the room, readable by that member
//! alone (PROTOCOL.md §10.4).
//!
//! Each member makes an X25519 key pair when it enters the group and publishes the
//! public half in a [`Content::DirectKey`], so the group authenticates it as that
//! member's. A direct message is the sender's [`Content`] signed with its group
//! signature key (binding the room, the HPKE encapsulation, the recipient's key and
//! the sender's leaf), then HPKE-sealed (RFC 9180 base mode, DHKEM(X25519,
//! HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305) to the recipient's key and padded to
//! the same buckets as everything else. The relay carries it as one directed frame; the
//! other members never receive it, and could not open it if they did.
//!
//! A direct key lives as long as the member's place in the group (a rejoin makes a new
//! one), so a direct message has no forward secrecy within that span.

use hpke::aead::ChaCha20Poly1305 as HpkeChaCha;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable as _, Kem as _, OpModeR, OpModeS, Serializable as _};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::envelope::{Content, Envelope, FORMAT};
use crate::crypto::{padding, CryptoError};
use crate::group::identity::verify_direct;
use crate::group::Group;
use crate::wire::RoomId;

type Kem = X25519HkdfSha256;

/// HPKE `info` prefix of a direct message (the room id follows).
pub const LABEL_DIRECT: &[u8] = b"vroom/v2/direct";

/// This member's key pair for direct messages. No `Debug`; the private key is zeroized
/// on drop (x25519-dalek's).
pub(crate) struct DirectKey {
    secret: <Kem as hpke::Kem>::PrivateKey,
    public: [u8; 32],
}

impl DirectKey {
    /// A fresh key pair from the operating system's generator.
    pub(crate) fn generate() -> Result<Self, CryptoError> {
        let mut ikm = Zeroizing::new([0u8; 32]);
        rand_core::RngCore::try_fill_bytes(&mut rand_core::OsRng, &mut ikm[..])
            .map_err(|_| CryptoError::Malformed)?;
        Ok(Self::from_ikm(&ikm))
    }

    fn from_ikm(ikm: &[u8; 32]) -> Self {
        let (secret, public) = Kem::derive_keypair(ikm);
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(&public.to_bytes());
        DirectKey {
            secret,
            public: bytes,
        }
    }

    /// The public key, for [`Content::DirectKey`].
    pub(crate) fn public(&self) -> [u8; 32] {
        self.public
    }
}

/// The signed message inside the seal.
#[derive(Serialize, Deserialize)]
struct Inner {
    /// The sender's leaf in the group (whose signature key verifies `signature`).
    leaf: u32,
    /// The sender's count of direct messages it sealed, from 1: a recipient takes only
    /// a count above the last it took from that sender (no replay, no reordering).
    counter: u64,
    /// The Ed25519 signature over the statement (64 bytes).
    #[serde(with = "serde_bytes")]
    signature: Vec<u8>,
    /// `FORMAT ‖ postcard(Content)`.
    #[serde(with = "serde_bytes")]
    content: Vec<u8>,
}

/// Who a direct message is for: the recipient's direct key and its leaf in the group.
pub(crate) type Recipient<'a> = (&'a [u8; 32], u32);

/// What the sender signs: `room ‖ enc ‖ recipient key ‖ recipient leaf (u32 BE) ‖
/// sender leaf (u32 BE) ‖ counter (u64 BE) ‖ content`. The recipient's leaf is bound so a
/// member that published another's key cannot pass a message meant for it on to the
/// key's owner as if it had been written to the owner.
fn statement(
    room: &RoomId,
    enc: &[u8; 32],
    (recipient, recipient_leaf): Recipient<'_>,
    (leaf, counter): (u32, u64),
    content: &[u8],
) -> Vec<u8> {
    let mut s = Vec::with_capacity(16 + 32 + 32 + 4 + 4 + 8 + content.len());
    s.extend_from_slice(&room.0);
    s.extend_from_slice(enc);
    s.extend_from_slice(recipient);
    s.extend_from_slice(&recipient_leaf.to_be_bytes());
    s.extend_from_slice(&leaf.to_be_bytes());
    s.extend_from_slice(&counter.to_be_bytes());
    s.extend_from_slice(content);
    s
}

fn info(room: &RoomId) -> Vec<u8> {
    let mut info = LABEL_DIRECT.to_vec();
    info.extend_from_slice(&room.0);
    info
}

/// Hands `hpke` the ephemeral key's 32 bytes of input keying material, once; asked for
/// more, it fails (remembered, so the seal is refused rather than made from zeros).
struct OneShot {
    ikm: Zeroizing<[u8; 32]>,
    used: bool,
    failed: bool,
}

impl hpke::rand_core::RngCore for OneShot {
    fn next_u32(&mut self) -> u32 {
        self.failed = true;
        0
    }

    fn next_u64(&mut self) -> u64 {
        self.failed = true;
        0
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        if self.used || dst.len() != self.ikm.len() {
            self.failed = true;
            dst.fill(0);
            return;
        }
        self.used = true;
        dst.copy_from_slice(&self.ikm[..]);
    }
}

impl hpke::rand_core::CryptoRng for OneShot {}

/// Seals `content` from this member (`group`) to the member whose direct key is
/// `recipient`.
pub(crate) fn seal(
    group: &Group,
    room: &RoomId,
    recipient: Recipient<'_>,
    (counter, content): (u64, &Content),
) -> Result<Envelope, CryptoError> {
    let mut ikm = Zeroizing::new([0u8; 32]);
    rand_core::RngCore::try_fill_bytes(&mut rand_core::OsRng, &mut ikm[..])
        .map_err(|_| CryptoError::Malformed)?;
    seal_with_ikm(group, room, recipient, (counter, content), ikm)
}

/// [`seal`] with the ephemeral key's input keying material given: for test vectors
/// only (it must never repeat).
pub(crate) fn seal_with_ikm(
    group: &Group,
    room: &RoomId,
    (recipient, recipient_leaf): Recipient<'_>,
    (counter, content): (u64, &Content),
    ikm: Zeroizing<[u8; 32]>,
) -> Result<Envelope, CryptoError> {
    let recipient_key =
        <Kem as hpke::Kem>::PublicKey::from_bytes(recipient).map_err(|_| CryptoError::Malformed)?;
    let mut rng = OneShot {
        ikm,
        used: false,
        failed: false,
    };
    let (enc, mut ctx) = hpke::setup_sender::<HpkeChaCha, HkdfSha256, Kem, _>(
        &OpModeS::Base,
        &recipient_key,
        &info(room),
        &mut rng,
    )
    .map_err(|_| CryptoError::Malformed)?;
    if rng.failed {
        return Err(CryptoError::Malformed);
    }
    let mut enc_bytes = [0u8; 32];
    enc_bytes.copy_from_slice(&enc.to_bytes());
    let encoded = content.encode();
    let leaf = group.own_leaf();
    let signature = group.sign_direct(&statement(
        room,
        &enc_bytes,
        (recipient, recipient_leaf),
        (leaf, counter),
        &encoded,
    ));
    let mut inner = Zeroizing::new(vec![FORMAT]);
    let body = Zeroizing::new(
        postcard::to_allocvec(&Inner {
            leaf,
            counter,
            signature: signature.to_vec(),
            content: encoded.to_vec(),
        })
        .expect("encoding into a Vec cannot fail"),
    );
    inner.extend_from_slice(&body);
    let sealed = ctx
        .seal(&padding::pad(&inner), &[])
        .map_err(|_| CryptoError::Malformed)?;
    Ok(Envelope::Direct {
        enc: enc_bytes,
        sealed,
    })
}

/// A direct message opened and verified.
pub(crate) struct Opened {
    /// The sender's leaf; its signature key verified the message.
    pub(crate) leaf: u32,
    /// The sender's count (check it is above the last taken from that sender).
    pub(crate) counter: u64,
    /// What it sent.
    pub(crate) content: Content,
}

/// Opens a direct message sent to this member's `key`. `signer` gives the signature
/// key of a current leaf of the group. Anything that does not open, decode or verify
/// is refused alike.
pub(crate) fn open(
    (key, own_leaf): (&DirectKey, u32),
    room: &RoomId,
    (enc, sealed): (&[u8; 32], &[u8]),
    signer: impl Fn(u32) -> Option<[u8; 32]>,
) -> Result<Opened, CryptoError> {
    let encapped =
        <Kem as hpke::Kem>::EncappedKey::from_bytes(enc).map_err(|_| CryptoError::Malformed)?;
    let mut ctx = hpke::setup_receiver::<HpkeChaCha, HkdfSha256, Kem>(
        &OpModeR::Base,
        &key.secret,
        &encapped,
        &info(room),
    )
    .map_err(|_| CryptoError::Malformed)?;
    let padded = Zeroizing::new(ctx.open(sealed, &[]).map_err(|_| CryptoError::Malformed)?);
    let plain = padding::unpad(&padded)?;
    let (&version, rest) = plain.split_first().ok_or(CryptoError::Malformed)?;
    if version != FORMAT {
        return Err(CryptoError::Malformed);
    }
    let inner: Inner = match postcard::take_from_bytes(rest) {
        Ok((inner, [])) => inner,
        _ => return Err(CryptoError::Malformed),
    };
    let Inner {
        leaf,
        counter,
        signature,
        content,
    } = inner;
    let content_bytes = Zeroizing::new(content);
    let signature: [u8; 64] = signature
        .as_slice()
        .try_into()
        .map_err(|_| CryptoError::Malformed)?;
    let signer = signer(leaf).ok_or(CryptoError::Malformed)?;
    let s = statement(
        room,
        enc,
        (&key.public, own_leaf),
        (leaf, counter),
        &content_bytes,
    );
    if !verify_direct(&signer, &s, &signature) {
        return Err(CryptoError::Malformed);
    }
    let content = Content::open_unpadded(&content_bytes)?;
    Ok(Opened {
        leaf,
        counter,
        content,
    })
}
