//! The room-wide safety code: one value per epoch that every member of that epoch
//! computes alike from the MLS epoch authenticator, shown as words and as a strip of
//! coloured emoji. Members who read the same code hold the same group state (same
//! members, same keys); a relay that split the room cannot make two halves match.
//!
//! `code = SHA-256("vroom/v2/safety-code" ‖ group_id ‖ epoch (u64 BE) ‖
//! epoch_authenticator)`, first [`SAFETY_CODE_LEN`] bytes (80 bits). Byte `b` is the
//! word `WORDS[b]` (the fixed list in `crypto/words.rs`) and the cell
//! `(EMOJI[b >> 4], COLOURS[b & 15])`.

use sha2::{Digest, Sha256};

use crate::crypto::words::WORDS;

/// Bytes of a safety code (80 bits).
pub const SAFETY_CODE_LEN: usize = 10;
const LABEL_SAFETY_CODE: &[u8] = b"vroom/v2/safety-code";

/// The sixteen emoji of the strip, indexed by a byte's high nibble.
pub const EMOJI: [&str; 16] = [
    "🐶", "🐱", "🦊", "🐻", "🐼", "🐸", "🐙", "🦋", "🌵", "🍄", "🌻", "🍋", "🚲", "⚓", "🔑", "🎈",
];
/// The sixteen colours of the strip (name, CSS hex), indexed by a byte's low nibble.
pub const COLOURS: [(&str, &str); 16] = [
    ("red", "#e6194b"),
    ("green", "#3cb44b"),
    ("yellow", "#ffe119"),
    ("blue", "#4363d8"),
    ("orange", "#f58231"),
    ("purple", "#911eb4"),
    ("cyan", "#42d4f4"),
    ("magenta", "#f032e6"),
    ("lime", "#bfef45"),
    ("pink", "#fabed4"),
    ("teal", "#469990"),
    ("lavender", "#dcbeff"),
    ("brown", "#9a6324"),
    ("beige", "#fffac8"),
    ("maroon", "#800000"),
    ("navy", "#000075"),
];

/// One epoch's safety code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SafetyCode(pub [u8; SAFETY_CODE_LEN]);

/// One cell of the strip.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StripCell {
    /// The emoji.
    pub emoji: &'static str,
    /// The colour's name.
    pub colour: &'static str,
    /// The colour as CSS hex.
    pub hex: &'static str,
}

impl SafetyCode {
    /// The code of epoch `epoch` of group `group_id` with this epoch authenticator.
    pub fn derive(group_id: &[u8], epoch: u64, epoch_authenticator: &[u8]) -> Self {
        let digest = Sha256::new()
            .chain_update(LABEL_SAFETY_CODE)
            .chain_update(group_id)
            .chain_update(epoch.to_be_bytes())
            .chain_update(epoch_authenticator)
            .finalize();
        let mut code = [0u8; SAFETY_CODE_LEN];
        code.copy_from_slice(&digest[..SAFETY_CODE_LEN]);
        SafetyCode(code)
    }

    /// The code as ten words.
    pub fn words(&self) -> [&'static str; SAFETY_CODE_LEN] {
        self.0.map(|b| WORDS[usize::from(b)])
    }

    /// The code as ten coloured emoji.
    pub fn strip(&self) -> [StripCell; SAFETY_CODE_LEN] {
        self.0.map(|b| {
            let (colour, hex) = COLOURS[usize::from(b & 15)];
            StripCell {
                emoji: EMOJI[usize::from(b >> 4)],
                colour,
                hex,
            }
        })
    }
}

impl core::fmt::Display for SafetyCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.words().join(" "))
    }
}
