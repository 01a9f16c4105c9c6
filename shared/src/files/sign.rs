//! Chunks are signed by their sender, so that only the member who offered a file can
//! write its content.
//!
//! Every member who takes an offer holds the file's [`super::FileKey`]; the key alone
//! would let any of them, with the relay's help, seal other bytes under the sender's
//! name (the relay stamps who a chunk is from, and cannot be believed). So the sender
//! draws an Ed25519 key pair per file: the public half travels in the offer (inside the
//! group, authenticated as the sender's), the private half never leaves the sender's
//! [`super::transfer::Outgoing`], and every chunk carries a signature over
//!
//! `"vroom/v2/file-chunk-sig" ‖ file id (16) ‖ index (u32 big-endian) ‖ SHA-256(sealed chunk)`.
//!
//! A receiver checks it (`verify_strict`, refusing weak keys) before opening the chunk.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rand_core::OsRng;
use sha2::{Digest, Sha256};

use super::FileId;

/// Prefix of every signed chunk statement.
pub const LABEL_CHUNK_SIG: &[u8] = b"vroom/v2/file-chunk-sig";

/// Bytes of a chunk's signature.
pub const SIGNATURE_LEN: usize = 64;

/// The statement a chunk's signature covers.
fn statement(file: &FileId, index: u32, sealed: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(LABEL_CHUNK_SIG.len() + 16 + 4 + 32);
    out.extend_from_slice(LABEL_CHUNK_SIG);
    out.extend_from_slice(&file.0);
    out.extend_from_slice(&index.to_be_bytes());
    out.extend_from_slice(&Sha256::digest(sealed));
    out
}

/// The sender's private half: signs the chunks of one file. Zeroized on drop (the
/// dalek key does it), never printed.
pub struct ChunkSigner(SigningKey);

impl ChunkSigner {
    /// A fresh key pair from the operating system.
    pub fn generate() -> ChunkSigner {
        ChunkSigner(SigningKey::generate(&mut OsRng))
    }

    /// A key pair from a fixed seed (test vectors).
    pub fn from_seed(seed: &[u8; 32]) -> ChunkSigner {
        ChunkSigner(SigningKey::from_bytes(seed))
    }

    /// The public half, which the offer carries.
    pub fn public(&self) -> [u8; 32] {
        self.0.verifying_key().to_bytes()
    }

    /// The signature of chunk `index` of `file`, sealed as `sealed`.
    pub fn sign(&self, file: &FileId, index: u32, sealed: &[u8]) -> [u8; SIGNATURE_LEN] {
        self.0.sign(&statement(file, index, sealed)).to_bytes()
    }
}

impl core::fmt::Debug for ChunkSigner {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("ChunkSigner(…)")
    }
}

/// A receiver's check of the chunks of one file.
#[derive(Clone, Debug)]
pub struct ChunkVerifier(VerifyingKey);

impl ChunkVerifier {
    /// The verifier of an offer's public key; `None` for a key that is not a point or
    /// is of small order (no signature would mean anything under it).
    pub fn new(public: &[u8; 32]) -> Option<ChunkVerifier> {
        VerifyingKey::from_bytes(public)
            .ok()
            .filter(|key| !key.is_weak())
            .map(ChunkVerifier)
    }

    /// Whether `signature` is the sender's over chunk `index` of `file`, sealed as
    /// `sealed`.
    pub fn verify(&self, file: &FileId, index: u32, sealed: &[u8], signature: &[u8]) -> bool {
        let Ok(signature) = Signature::from_slice(signature) else {
            return false;
        };
        self.0
            .verify_strict(&statement(file, index, sealed), &signature)
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_senders_key_signs_a_chunk_and_only_that_chunk() {
        let file = FileId([3; 16]);
        let signer = ChunkSigner::generate();
        let verifier = ChunkVerifier::new(&signer.public()).unwrap();
        let sig = signer.sign(&file, 4, b"sealed");
        assert!(verifier.verify(&file, 4, b"sealed", &sig));
        assert!(!verifier.verify(&file, 5, b"sealed", &sig));
        assert!(!verifier.verify(&file, 4, b"sealeD", &sig));
        assert!(!verifier.verify(&FileId([4; 16]), 4, b"sealed", &sig));
        assert!(!verifier.verify(&file, 4, b"sealed", &sig[..63]));
        let other = ChunkSigner::generate();
        assert!(!verifier.verify(&file, 4, b"sealed", &other.sign(&file, 4, b"sealed")));
        assert!(ChunkVerifier::new(&[0; 32]).is_none());
        assert_eq!(format!("{signer:?}"), "ChunkSigner(…)");
    }
}
