//! The client's message path, end to end, as the benchmarks time it: shared by the native
//! criterion benchmark (`benches/crypto.rs`) and the in-browser one (`tests/crypto.rs`),
//! so both measure exactly the same work.
//!
//! One round trip is what a sender and one receiver do for a chat message: encode and
//! pad the plaintext, seal it on the sender's chain (XChaCha20-Poly1305 under a
//! ratcheted key, Ed25519 signature), wrap it in a payload; then decode, verify the
//! signature, open on the receiving chain, unpad and decode. Its two halves are timed
//! apart too: encryption and decryption alone ([`Pair::encrypt_decrypt`]) and the
//! Ed25519 signature and its check ([`Pair::sign`], [`Pair::verify`]).

use vroom_shared::crypto::envelope::{Content, Envelope, Payload, Plaintext};
use vroom_shared::crypto::sender::{
    self, EncryptedMessage, ReceiveChain, SealedMessage, SendChain,
};
use vroom_shared::crypto::{padding, MemberKeys, MemberPublic, NonceRng, OsRng};
use vroom_shared::wire::{MemberId, RoomId};

/// A sender and a receiver that share the sender's chain.
pub struct Pair {
    room: RoomId,
    from: MemberId,
    keys: MemberKeys,
    public: MemberPublic,
    send: SendChain,
    receive: ReceiveChain,
    /// Nonces come from a per-session generator, as in `Session`.
    nonces: NonceRng,
}

impl Pair {
    /// A fresh sender with its chain handed to one receiver.
    pub fn new() -> Pair {
        let keys = MemberKeys::generate(&mut OsRng);
        let send = SendChain::new(0, &mut OsRng);
        let receive = ReceiveChain::new(send.state().clone());
        Pair {
            room: RoomId([7; 16]),
            from: MemberId(42),
            public: keys.public(),
            keys,
            send,
            receive,
            nonces: NonceRng::new(),
        }
    }

    /// Seals `text` as a chat message: the bytes of a `ClientFrame::Send` payload.
    pub fn seal(&mut self, text: &str) -> Vec<u8> {
        let plain = text_plaintext(text);
        self.seal_bytes(&plain)
    }

    /// Pads, seals and signs `data` (a file chunk, or an encoded plaintext).
    pub fn seal_bytes(&mut self, data: &[u8]) -> Vec<u8> {
        let sealed = sender::seal_message(
            &mut self.send,
            &self.keys,
            &self.room,
            self.from,
            &padding::pad(data),
            &mut self.nonces,
        );
        Payload::new(Envelope::Message(sealed)).encode()
    }

    /// Verifies, opens and unpads a payload made by [`Pair::seal_bytes`]; answers the
    /// length of the data.
    pub fn open_bytes(&mut self, payload: &[u8]) -> usize {
        let plain = self.open_padded(payload);
        padding::unpad(&plain).expect("valid padding").len()
    }

    fn open_padded(&mut self, payload: &[u8]) -> impl std::ops::Deref<Target = Vec<u8>> {
        let Ok(Payload {
            envelope: Envelope::Message(sealed),
            ..
        }) = Payload::decode(payload)
        else {
            panic!("the benchmark's own payload did not decode");
        };
        sealed
            .verify(&self.room, self.from, &self.public)
            .expect("the benchmark's own signature verifies");
        self.receive
            .open(&sealed, &self.room, self.from)
            .expect("the benchmark's own message opens")
    }

    /// Verifies and opens a payload made by [`Pair::seal`]; answers the text's length.
    pub fn open(&mut self, payload: &[u8]) -> usize {
        let plain = self.open_padded(payload);
        text_len(&plain)
    }

    /// Encrypts and decrypts `text` without the signature: encode, pad, encrypt on the
    /// sender's chain; decrypt on the receiving chain, unpad, decode. Answers the text's
    /// length.
    pub fn encrypt_decrypt(&mut self, text: &str) -> usize {
        let plain = text_plaintext(text);
        let encrypted = sender::encrypt_message(
            &mut self.send,
            &self.room,
            self.from,
            &padding::pad(&plain),
            &mut self.nonces,
        );
        let opened = self
            .receive
            .open(encrypted.as_unsigned(), &self.room, self.from)
            .expect("the benchmark's own message opens");
        text_len(&opened)
    }

    /// Encrypts `text` as the next message, unsigned yet.
    pub fn encrypt(&mut self, text: &str) -> EncryptedMessage {
        sender::encrypt_message(
            &mut self.send,
            &self.room,
            self.from,
            &padding::pad(text.as_bytes()),
            &mut self.nonces,
        )
    }

    /// Signs an encrypted message as its sender.
    pub fn sign(&self, encrypted: EncryptedMessage) -> SealedMessage {
        encrypted.sign(&self.keys)
    }

    /// Verifies a signed message as a receiver does.
    pub fn verify(&self, sealed: &SealedMessage) -> bool {
        sealed.verify(&self.room, self.from, &self.public).is_ok()
    }

    /// One full round trip of `text`.
    pub fn round_trip(&mut self, text: &str) -> usize {
        let payload = self.seal(text);
        self.open(&payload)
    }
}

impl Default for Pair {
    fn default() -> Self {
        Pair::new()
    }
}

/// `text` as an encoded chat plaintext, as a session makes it.
fn text_plaintext(text: &str) -> impl std::ops::Deref<Target = Vec<u8>> {
    Plaintext {
        sent_at_ms: 1_700_000_000_000,
        content: Content::Text {
            body: text.to_owned(),
        },
    }
    .encode()
}

/// The length of the text in a padded chat plaintext made by [`text_plaintext`].
fn text_len(padded: &[u8]) -> usize {
    let unpadded = padding::unpad(padded).expect("valid padding");
    match Plaintext::decode(unpadded)
        .expect("valid plaintext")
        .content
    {
        Content::Text { body } => body.len(),
        _ => panic!("the benchmark's own message changed kind"),
    }
}

/// XChaCha20-Poly1305 alone: seals and opens a 256-byte block (a padded 200-byte
/// message) under a fixed key and nonce; answers the opened length.
pub fn aead_seal_open_256() -> usize {
    use chacha20poly1305::aead::{Aead, KeyInit, Payload};
    use chacha20poly1305::{XChaCha20Poly1305, XNonce};
    let aead = XChaCha20Poly1305::new(&[3u8; 32].into());
    let nonce = XNonce::from([9u8; 24]);
    let padded = [0x11_u8; 256];
    let sealed = aead
        .encrypt(
            &nonce,
            Payload {
                msg: &padded,
                aad: b"header",
            },
        )
        .expect("sealing works");
    aead.decrypt(
        &nonce,
        Payload {
            msg: &sealed,
            aad: b"header",
        },
    )
    .expect("the sealed block opens")
    .len()
}

/// A 200-byte chat message.
pub fn text_200() -> String {
    "vroom benchmark message ".repeat(9)[..200].to_owned()
}

/// A member and a peer's public keys: the pairwise key agreement (X25519, HKDF-SHA256)
/// run once per member pair at every epoch.
pub fn pairwise(ours: &MemberKeys, theirs: &MemberPublic) -> bool {
    ours.pairwise_key(theirs, &RoomId([7; 16])).is_ok()
}
