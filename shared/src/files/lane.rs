//! What travels on the relay's chunk lane (`wire::ClientFrame::Stream`): a format byte
//! ([`LANE_FORMAT`]) and a postcard-encoded [`Packet`]. The relay cannot read the
//! chunks (sealed, see [`super::stream`]); it sees the file id, the chunk index and the
//! acknowledgements, as it would see their sizes and timing anyway.
//!
//! Chunks are signed by their sender ([`super::sign`]). Acknowledgements, resend
//! requests and cancels are not authenticated: a relay that
//! forges them can only stop or slow a transfer, which it can do by dropping chunks.
//! A forged acknowledgement cannot make a receiver accept anything: every chunk it
//! takes opens under the file's key at the index it expects.

use serde::{Deserialize, Serialize};

use super::FileId;
use crate::wire::{ClientFrame, MemberId};

/// The format byte in front of every packet.
pub const LANE_FORMAT: u8 = 2;

/// One packet of the chunk lane.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Packet<'a> {
    /// Sender → every member: chunk `index` of `file`, sealed.
    Chunk {
        /// The file.
        file: FileId,
        /// Its place in the file, from 0.
        index: u32,
        /// Plaintext and tag (see [`super::stream::ChunkCipher::seal`]).
        #[serde(borrow, with = "serde_bytes")]
        sealed: &'a [u8],
        /// The sender's signature over the sealed chunk (see [`super::sign`]).
        #[serde(borrow, with = "serde_bytes")]
        signature: &'a [u8],
    },
    /// Receiver → sender: every chunk before `next` is here (sent once the offer is
    /// taken, with `next: 0`, and after each chunk).
    Ack {
        /// The file.
        file: FileId,
        /// The next chunk the receiver expects.
        next: u32,
    },
    /// Receiver → sender: send again from chunk `from` (a chunk went missing, or the
    /// receiver reconnected).
    Resend {
        /// The file.
        file: FileId,
        /// The first chunk the receiver lacks.
        from: u32,
    },
    /// Either side: this transfer is over (the sender stopped, or a receiver declined or
    /// gave up).
    Cancel {
        /// The file.
        file: FileId,
    },
}

impl<'a> Packet<'a> {
    /// The encoded packet.
    pub fn encode(&self) -> Vec<u8> {
        let out = vec![LANE_FORMAT];
        postcard::to_extend(self, out).expect("encoding into a Vec cannot fail")
    }

    /// The `ClientFrame::Stream` that carries this packet to `to` (`None`: every other
    /// member).
    pub fn frame(&self, to: Option<MemberId>) -> Vec<u8> {
        ClientFrame::Stream {
            to,
            payload: &self.encode(),
        }
        .encode()
    }

    /// Decodes a received payload; other formats and trailing bytes are refused.
    pub fn decode(bytes: &'a [u8]) -> Option<Packet<'a>> {
        let (&format, rest) = bytes.split_first()?;
        if format != LANE_FORMAT {
            return None;
        }
        match postcard::take_from_bytes(rest) {
            Ok((packet, [])) => Some(packet),
            _ => None,
        }
    }

    /// The file the packet is about.
    pub fn file(&self) -> FileId {
        match self {
            Packet::Chunk { file, .. }
            | Packet::Ack { file, .. }
            | Packet::Resend { file, .. }
            | Packet::Cancel { file } => *file,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_round_trip_and_garbage_is_refused() {
        let file = FileId([7; 16]);
        for packet in [
            Packet::Chunk {
                file,
                index: 3,
                sealed: b"abc",
                signature: &[5; 64],
            },
            Packet::Ack { file, next: 9 },
            Packet::Resend { file, from: 2 },
            Packet::Cancel { file },
        ] {
            let bytes = packet.encode();
            assert_eq!(Packet::decode(&bytes), Some(packet));
            let mut trailing = bytes.clone();
            trailing.push(0);
            assert_eq!(Packet::decode(&trailing), None);
            let mut other = bytes;
            other[0] = 9;
            assert_eq!(Packet::decode(&other), None);
        }
        assert_eq!(Packet::decode(&[]), None);
    }
}
