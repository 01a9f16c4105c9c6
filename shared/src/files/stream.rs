//! The content of one file, encrypted in chunks with the STREAM construction
//! (Hoang, Reyhanitabar, Rogaway, Vizár: "Online Authenticated-Encryption and its
//! Nonce-Reuse Misuse-Resistance"), as the `aead` crate's [`StreamBE32`] builds it on
//! XChaCha20-Poly1305:
//!
//! `nonce(i) = prefix (19 bytes) ‖ i as u32 big-endian ‖ last (1 byte: 1 for the final
//! chunk, else 0)`, and the associated data of every chunk is `"vroom/v2/file-chunk" ‖
//! file id`.
//!
//! A chunk opens only at the index and with the final flag it was sealed with, under the
//! key and file id of its offer: moved, dropped, repeated, cut short or taken from
//! another file, it fails to open. Each file has its own random key, so nonces never
//! repeat across files; within a file, a chunk sealed twice (a resend after a reconnect)
//! must be sealed from the same bytes, which [`ChunkCipher::seal`]'s caller checks.

use chacha20poly1305::aead::stream::{NewStream, StreamBE32, StreamPrimitive};
use chacha20poly1305::aead::KeyInit;
use chacha20poly1305::XChaCha20Poly1305;

use super::{FileId, FileKey, NONCE_PREFIX_LEN};

/// Associated-data prefix of every chunk.
pub const LABEL_CHUNK: &[u8] = b"vroom/v2/file-chunk";

/// Bytes a sealed chunk adds to its plaintext (the Poly1305 tag).
pub const TAG_LEN: usize = 16;

/// A chunk did not open: it was altered, moved, repeated, truncated or made under
/// another key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkRejected;

impl core::fmt::Display for ChunkRejected {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("a chunk of the file failed authentication")
    }
}

impl std::error::Error for ChunkRejected {}

/// Seals and opens the chunks of one file. Holds the expanded key (the cipher zeroizes
/// nothing itself, so it lives only as long as its transfer).
pub struct ChunkCipher {
    stream: StreamBE32<XChaCha20Poly1305>,
    aad: Vec<u8>,
}

impl ChunkCipher {
    /// The cipher of the file `id` under `key` and the nonce `prefix`.
    pub fn new(key: &FileKey, prefix: &[u8; NONCE_PREFIX_LEN], id: &FileId) -> ChunkCipher {
        let aead = XChaCha20Poly1305::new((&key.0).into());
        let stream = StreamBE32::from_aead(aead, prefix.into());
        let mut aad = LABEL_CHUNK.to_vec();
        aad.extend_from_slice(&id.0);
        ChunkCipher { stream, aad }
    }

    /// Seals chunk `index` (`last` for the final chunk): `plaintext ‖ tag`.
    pub fn seal(&self, index: u32, last: bool, plaintext: &[u8]) -> Vec<u8> {
        let mut buffer = Vec::with_capacity(plaintext.len() + TAG_LEN);
        buffer.extend_from_slice(plaintext);
        self.stream
            .encrypt_in_place(index, last, &self.aad, &mut buffer)
            .expect("XChaCha20-Poly1305 seals any chunk below 256 GiB");
        buffer
    }

    /// Opens chunk `index`, which the receiver expects to be the final one or not.
    pub fn open(&self, index: u32, last: bool, sealed: &[u8]) -> Result<Vec<u8>, ChunkRejected> {
        let mut buffer = sealed.to_vec();
        self.stream
            .decrypt_in_place(index, last, &self.aad, &mut buffer)
            .map_err(|_| ChunkRejected)?;
        Ok(buffer)
    }
}

impl core::fmt::Debug for ChunkCipher {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("ChunkCipher(…)")
    }
}
