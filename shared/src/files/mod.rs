//! Files, pictures and video: offered inside the group, streamed through the relay's
//! chunk lane (PROTOCOL.md §12).
//!
//! - A sender draws a fresh random [`FileKey`] and nonce prefix per file and offers the
//!   file in the group ([`FileOffer`], a `Content` of the session): name, media type,
//!   size, chunk size, id and key travel encrypted like a chat message, so only the
//!   members of the epoch it was sent in can take it (a member who joins later is
//!   never offered it).
//! - The content travels outside the group, on the relay's chunk lane
//!   (`wire::ClientFrame::Stream`): each chunk sealed with the STREAM construction
//!   ([`stream`]), binding its index and whether it is the last, so chunks cannot be
//!   reordered, dropped, repeated or cut short unnoticed.
//! - Each chunk is signed by the sender with a key pair made for this file alone
//!   ([`sign`]): the file key lets every receiver open chunks, but only the sender can
//!   make them, so no other member (with or without the relay) can change a file's
//!   content on its way to someone else.
//! - Receivers confirm what they have ([`lane::Packet::Ack`]); the sender keeps at
//!   most [`transfer::WINDOW`] chunks ahead of the slowest receiver, resends from a
//!   receiver's last confirmed chunk when it asks (after a reconnect or a chunk the
//!   relay dropped), and gives up on a receiver that stays silent ([`transfer`]).
//!
//! Nothing here does I/O: a client reads the file at the offsets [`transfer::Outgoing`]
//! asks for and writes what [`transfer::Incoming`] hands back.

pub mod lane;
pub mod sign;
pub mod stream;
pub mod transfer;

use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Bytes of the STREAM nonce prefix (XChaCha20's 24 minus the 4-byte counter and the
/// final-chunk flag).
pub const NONCE_PREFIX_LEN: usize = 19;

/// Largest chunk a receiver accepts (the sender's chunks also fit the relay's
/// `max_payload`, see [`chunk_size_for`]).
pub const MAX_CHUNK: u32 = 1 << 20;

/// Longest file name kept, in bytes (what most file systems allow).
pub const MAX_NAME: usize = 255;

/// Bytes a chunk packet adds around the chunk's plaintext: the lane header (format,
/// variant, file id, index, length) and the tag, rounded up generously.
const CHUNK_OVERHEAD: u32 = 128;

/// A file's random identifier, which its chunks carry in the clear (it says nothing
/// about the file).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub struct FileId(pub [u8; 16]);

impl FileId {
    /// A fresh random id.
    pub fn random() -> FileId {
        let mut id = [0; 16];
        OsRng.fill_bytes(&mut id);
        FileId(id)
    }
}

/// The key of one file's chunks: random, used for this file only, sent inside the
/// group. Zeroized on drop, never printed, compared in constant time.
#[derive(Clone, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct FileKey(pub [u8; 32]);

impl FileKey {
    /// A fresh key from the operating system.
    pub fn random() -> FileKey {
        let mut key = FileKey([0; 32]);
        OsRng.fill_bytes(&mut key.0);
        key
    }
}

impl PartialEq for FileKey {
    fn eq(&self, other: &FileKey) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for FileKey {}

impl core::fmt::Debug for FileKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("FileKey(…)")
    }
}

/// A file offered to the room: everything a receiver needs to take it, sent inside the
/// group (encrypted and authenticated as the sender's).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileOffer {
    /// The file's id, which its chunks carry.
    pub id: FileId,
    /// Its name, as the sender had it (receivers clean it with [`safe_name`]).
    pub name: String,
    /// Its media type (`image/png`), or `application/octet-stream`.
    pub media_type: String,
    /// Its size in bytes.
    pub size: u64,
    /// Bytes of plaintext in every chunk but the last.
    pub chunk_size: u32,
    /// The key its chunks are sealed under.
    pub key: FileKey,
    /// The STREAM nonce prefix.
    pub nonce: [u8; NONCE_PREFIX_LEN],
    /// The Ed25519 public key every chunk is signed with (see [`sign`]); set by
    /// [`transfer::Outgoing::new`], which keeps the private half.
    pub signer: [u8; 32],
}

/// Why a received offer is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OfferProblem {
    /// Larger than the room's file limit.
    TooLarge,
    /// A chunk size of zero or above [`MAX_CHUNK`], or more chunks than a 32-bit
    /// counter numbers.
    BadChunking,
    /// Its chunk-signing key is not a usable Ed25519 public key.
    BadKey,
}

impl FileOffer {
    /// A new offer with a fresh id, key and nonce prefix (its signing key is set when
    /// an [`transfer::Outgoing`] takes it).
    pub fn new(name: &str, media_type: &str, size: u64, chunk_size: u32) -> FileOffer {
        let mut nonce = [0; NONCE_PREFIX_LEN];
        OsRng.fill_bytes(&mut nonce);
        FileOffer {
            id: FileId::random(),
            name: safe_name(name),
            media_type: media_type.to_owned(),
            size,
            chunk_size,
            key: FileKey::random(),
            nonce,
            signer: [0; 32],
        }
    }

    /// How many chunks the file travels in (an empty file is one empty final chunk).
    pub fn chunks(&self) -> u64 {
        if self.chunk_size == 0 {
            return 0;
        }
        self.size.div_ceil(u64::from(self.chunk_size)).max(1)
    }

    /// Plaintext bytes of chunk `index`.
    pub fn chunk_len(&self, index: u32) -> usize {
        let start = u64::from(index) * u64::from(self.chunk_size);
        let len = self
            .size
            .saturating_sub(start)
            .min(u64::from(self.chunk_size));
        usize::try_from(len).unwrap_or(usize::MAX)
    }

    /// Whether a receiver in a room whose file limit is `max_file` can take it (the
    /// signing key is checked by [`transfer::Incoming::accept`]).
    pub fn check(&self, max_file: u64) -> Result<(), OfferProblem> {
        if self.size > max_file {
            return Err(OfferProblem::TooLarge);
        }
        if self.chunk_size == 0
            || self.chunk_size > MAX_CHUNK
            || self.chunks() > u64::from(u32::MAX)
        {
            return Err(OfferProblem::BadChunking);
        }
        Ok(())
    }
}

/// The chunk size a sender uses in a room whose largest relayed payload is
/// `max_payload`: a chunk packet must fit it.
pub fn chunk_size_for(max_payload: u32) -> u32 {
    max_payload
        .saturating_sub(CHUNK_OVERHEAD)
        .clamp(1, MAX_CHUNK)
}

/// A file name safe to create in a download directory and to show: the last path
/// component, without control, format (bidi overrides, zero-width), private-use,
/// unassigned or line-separator characters (so `invoice\u{202E}fdp.exe` cannot pose as a
/// PDF), without a leading dot or trailing dots and spaces, at most [`MAX_NAME`] bytes,
/// never empty.
pub fn safe_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let mut clean: String = last
        .chars()
        .filter(|&c| !crate::text::is_hidden(c))
        .collect::<String>()
        .trim()
        .trim_start_matches('.')
        .trim_end_matches(['.', ' '])
        .to_owned();
    while clean.len() > MAX_NAME {
        clean.pop();
    }
    if clean.is_empty() {
        clean.push_str("file");
    }
    clean
}

/// A media type for a file name's extension (the common ones), else
/// `application/octet-stream`.
pub fn media_type_of(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("mp4") => "video/mp4",
        Some("webm") => "video/webm",
        Some("mov") => "video/quicktime",
        Some("txt") => "text/plain",
        Some("pdf") => "application/pdf",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_their_path_controls_and_leading_dots() {
        assert_eq!(safe_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_name("C:\\Users\\a\\photo.jpg"), "photo.jpg");
        assert_eq!(safe_name(".bashrc"), "bashrc");
        assert_eq!(safe_name("a\u{7}b\nc.txt"), "abc.txt");
        assert_eq!(safe_name(".."), "file");
        assert_eq!(safe_name(""), "file");
        assert_eq!(safe_name("invoice\u{202E}fdp.exe"), "invoicefdp.exe");
        assert_eq!(safe_name("a\u{200B}b.txt. . "), "ab.txt");
        assert!(safe_name(&"é".repeat(300)).len() <= MAX_NAME);
    }

    #[test]
    fn chunk_counts_and_lengths() {
        let mut offer = FileOffer::new("a", "x", 10, 4);
        assert_eq!(offer.chunks(), 3);
        assert_eq!(
            [offer.chunk_len(0), offer.chunk_len(1), offer.chunk_len(2)],
            [4, 4, 2]
        );
        offer.size = 0;
        assert_eq!(offer.chunks(), 1);
        assert_eq!(offer.chunk_len(0), 0);
        offer.size = 8;
        assert_eq!(offer.chunks(), 2);
        assert_eq!(offer.check(7), Err(OfferProblem::TooLarge));
        assert_eq!(offer.check(8), Ok(()));
        offer.chunk_size = 0;
        assert_eq!(offer.check(8), Err(OfferProblem::BadChunking));
        offer.chunk_size = 1;
        offer.size = u64::from(u32::MAX) + 1;
        assert_eq!(offer.check(u64::MAX), Err(OfferProblem::BadChunking));
    }

    #[test]
    fn a_file_key_never_prints() {
        let offer = FileOffer::new("a", "x", 1, 1);
        let shown = format!("{offer:?}");
        assert!(shown.contains("FileKey(…)"));
        assert!(!shown.contains(&format!("{:?}", offer.key.0)));
    }
}
