//! Short-code nameplates (PROTOCOL.md §11.2): what both stores share.
//!
//! A member of a live room asks for a nameplate; the store picks a small number no
//! other live nameplate of the store has (across every relay sharing it), remembers
//! the room, the member and the connection that asked, and forgets it after its TTL.
//! A joiner opens an exchange on the number; the store checks the nameplate (expired,
//! burned, revoked, its member gone or offline, too many exchanges) and relays the
//! exchange's messages between the joiner and that member, never reading them.

use std::time::Duration;

use bytes::Bytes;
use rand::Rng;
use vroom_shared::wire::{CodeRefusal, ErrorCode, ServerFrame};

use crate::config::Config;

/// A short-code request's answer: done, or refused for a reason the client is told;
/// the outer error is the store's own (`Unavailable`, `UnknownRoom`…).
pub type CodeResult<T> = Result<Result<T, CodeRefusal>, ErrorCode>;

/// A nameplate handed to a member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Nameplate {
    /// The number.
    pub nameplate: u32,
    /// Seconds until the store forgets it.
    pub expires_secs: u32,
}

/// The caps of short codes (`--code-ttl`, `--code-exchanges`, `--codes-per-room`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct CodeCaps {
    /// How long a nameplate lives.
    pub(crate) ttl: Duration,
    /// Exchanges one nameplate may carry at most.
    pub(crate) exchanges: u32,
    /// Live nameplates one room may have at most.
    pub(crate) per_room: u32,
}

impl CodeCaps {
    pub(crate) fn new(config: &Config) -> CodeCaps {
        CodeCaps {
            ttl: config.code_ttl.max(Duration::from_millis(1)),
            exchanges: config.code_exchanges.max(1),
            per_room: config.codes_per_room.max(1),
        }
    }

    /// The nameplate as its member is told.
    pub(crate) fn handed(&self, nameplate: u32) -> Nameplate {
        Nameplate {
            nameplate,
            expires_secs: u32::try_from(self.ttl.as_secs_f64().ceil() as u64).unwrap_or(u32::MAX),
        }
    }

    /// How long a nameplate is kept after it expired, so a joiner hears "expired"
    /// rather than "unknown"; the number is not handed out again meanwhile.
    pub(crate) fn tombstone(&self) -> Duration {
        self.ttl
    }
}

/// Tries per range of numbers before moving to a wider one.
const TRIES_PER_RANGE: u32 = 4;

/// Candidate nameplates, smallest first: a few random picks among 1–9, then 10–99,
/// and so on up to nine digits (what a code may hold).
pub(crate) fn candidates() -> impl Iterator<Item = u32> {
    (1..=9u32).flat_map(|digits| {
        let low = if digits == 1 {
            1
        } else {
            10u32.pow(digits - 1)
        };
        let high = 10u32.saturating_pow(digits).min(999_999_999);
        (0..TRIES_PER_RANGE).map(move |_| rand::thread_rng().gen_range(low..high))
    })
}

/// The frame a side of an exchange is given: the other side's message.
pub(crate) fn message(exchange: u64, nameplate: u32, payload: &[u8]) -> Bytes {
    Bytes::from(
        ServerFrame::CodeMessage {
            exchange,
            nameplate,
            payload,
        }
        .encode(),
    )
}

/// Where a nameplate's member stands, for a joiner's request.
pub(crate) fn member_state(place: Option<(u64, bool)>, session: u64) -> Result<(), CodeRefusal> {
    match place {
        // Gone, or connected again on another connection (whose client forgot its
        // codes): the code died with the old connection.
        None => Err(CodeRefusal::Unknown),
        Some((held_by, _)) if held_by != session => Err(CodeRefusal::Unknown),
        Some((_, false)) => Err(CodeRefusal::Offline),
        Some((_, true)) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nameplates_start_small_and_fit_a_code() {
        let first: Vec<u32> = candidates().take(TRIES_PER_RANGE as usize).collect();
        assert!(first.iter().all(|n| (1..=9).contains(n)), "{first:?}");
        let all: Vec<u32> = candidates().collect();
        assert_eq!(all.len(), 9 * TRIES_PER_RANGE as usize);
        assert!(all.iter().all(|n| (1..=999_999_999).contains(n)));
    }
}
