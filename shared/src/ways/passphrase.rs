//! Room name + passphrase: two things people can agree on and retype, turned into the
//! room secret with Argon2id (RFC 9106), so "the same room" can be created twice by
//! two groups that chose different passphrases, and found again by anyone who knows
//! both. See PROTOCOL.md §11.1.
//!
//! ```
//! use vroom_shared::ways::passphrase::{Passphrase, RoomName};
//!
//! let name = RoomName::parse("  Book   Club ").unwrap();
//! assert_eq!(name.as_str(), "book club");
//! let pass = Passphrase::new("correct horse battery staple").unwrap();
//! # let params = vroom_shared::ways::passphrase::TEST_PARAMS;
//! let secret = name.derive_secret_with(&pass, params).unwrap();
//! assert_eq!(secret.room_id(), RoomName::parse("book club").unwrap()
//!     .derive_secret_with(&pass, params).unwrap().room_id());
//! ```

use argon2::{Algorithm, Argon2, Params, Version};
use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

use crate::crypto::RoomSecret;

/// Argon2id's salt prefix: names the protocol, so the same name and passphrase give
/// unrelated bytes anywhere else. The salt is this label, one zero byte, then the
/// normalised name in UTF-8.
pub const LABEL_NAME_SALT: &[u8] = b"vroom/v2/room-name";

/// Argon2id's memory, in KiB (64 MiB). See PROTOCOL.md §11.1 for why.
pub const ARGON2_MEMORY_KIB: u32 = 64 * 1024;
/// Argon2id's passes over the memory.
pub const ARGON2_PASSES: u32 = 3;
/// Argon2id's lanes: one, because a browser runs the derivation on one thread.
pub const ARGON2_LANES: u32 = 1;

/// The longest room name, in characters after normalisation.
pub const MAX_NAME_CHARS: usize = 64;
/// The shortest passphrase, in characters after normalisation.
pub const MIN_PASSPHRASE_CHARS: usize = 8;
/// The longest passphrase, in bytes after normalisation.
pub const MAX_PASSPHRASE_BYTES: usize = 1024;

/// The Argon2id cost of one derivation. [`DerivationParams::PROTOCOL`] is the only one
/// clients use; others exist so tests can run quickly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DerivationParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over the memory.
    pub passes: u32,
    /// Parallel lanes.
    pub lanes: u32,
}

impl DerivationParams {
    /// The parameters of protocol version 2: the only ones two clients meet with.
    pub const PROTOCOL: DerivationParams = DerivationParams {
        memory_kib: ARGON2_MEMORY_KIB,
        passes: ARGON2_PASSES,
        lanes: ARGON2_LANES,
    };
}

/// Cheap parameters for tests and documentation examples (never for real rooms:
/// a room derived with them is another room than the real one).
#[doc(hidden)]
pub const TEST_PARAMS: DerivationParams = DerivationParams {
    memory_kib: 64,
    passes: 1,
    lanes: 1,
};

/// A normalised room name: NFC, lower case, runs of white space made one space,
/// trimmed. Not secret: it is half of what people agree on, and it is the salt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoomName(String);

/// A passphrase: NFC, trimmed at both ends, case and inner spaces kept. Zeroized on
/// drop; no `Debug`.
pub struct Passphrase(Zeroizing<String>);

/// Why a room name or passphrase cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaysError {
    /// The room name is empty (or only spaces).
    EmptyName,
    /// The room name is longer than [`MAX_NAME_CHARS`].
    LongName,
    /// The room name contains a control character (a line break, a tab turned into
    /// something else, an invisible formatting character).
    ControlInName,
    /// The passphrase is shorter than [`MIN_PASSPHRASE_CHARS`].
    ShortPassphrase,
    /// The passphrase is longer than [`MAX_PASSPHRASE_BYTES`].
    LongPassphrase,
    /// Argon2 refused the parameters (only possible with hand-made ones).
    Params,
}

impl core::fmt::Display for WaysError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            WaysError::EmptyName => f.write_str("The room name is empty. Type a room name."),
            WaysError::LongName => write!(
                f,
                "The room name is too long. Use at most {MAX_NAME_CHARS} characters."
            ),
            WaysError::ControlInName => f.write_str(
                "The room name contains an invisible or control character. Type it again.",
            ),
            WaysError::ShortPassphrase => write!(
                f,
                "The passphrase is too short. Use at least {MIN_PASSPHRASE_CHARS} characters; \
                 several unusual words are best."
            ),
            WaysError::LongPassphrase => write!(
                f,
                "The passphrase is too long. Use at most {MAX_PASSPHRASE_BYTES} bytes."
            ),
            WaysError::Params => f.write_str("The key-stretching parameters are not valid."),
        }
    }
}

impl std::error::Error for WaysError {}

impl RoomName {
    /// Normalises a typed room name: Unicode NFC; Unicode lower case (full mapping,
    /// final sigma included); NFC again; every run of white space (Unicode `White_Space`)
    /// becomes one U+0020; leading and trailing space removed.
    pub fn parse(typed: &str) -> Result<RoomName, WaysError> {
        let lower: String = typed.nfc().collect::<String>().to_lowercase();
        let mut name = String::with_capacity(lower.len());
        let mut space = false;
        for c in lower.nfc() {
            if c.is_whitespace() {
                space = true;
                continue;
            }
            if c.is_control() || is_format(c) {
                return Err(WaysError::ControlInName);
            }
            if space && !name.is_empty() {
                name.push(' ');
            }
            space = false;
            name.push(c);
        }
        match name.chars().count() {
            0 => Err(WaysError::EmptyName),
            n if n > MAX_NAME_CHARS => Err(WaysError::LongName),
            _ => Ok(RoomName(name)),
        }
    }

    /// The normalised name, as people see it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Argon2id's salt: [`LABEL_NAME_SALT`], a zero byte, the name.
    fn salt(&self) -> Vec<u8> {
        let mut salt = Vec::with_capacity(LABEL_NAME_SALT.len() + 1 + self.0.len());
        salt.extend_from_slice(LABEL_NAME_SALT);
        salt.push(0);
        salt.extend_from_slice(self.0.as_bytes());
        salt
    }

    /// The room secret of this name and passphrase, at the protocol's cost (64 MiB,
    /// 3 passes: about an eighth of a second natively; see PROTOCOL.md §11.1).
    pub fn derive_secret(&self, passphrase: &Passphrase) -> RoomSecret {
        self.derive_secret_with(passphrase, DerivationParams::PROTOCOL)
            .expect("the protocol's Argon2id parameters are valid")
    }

    /// The room secret with other Argon2id parameters (tests).
    pub fn derive_secret_with(
        &self,
        passphrase: &Passphrase,
        params: DerivationParams,
    ) -> Result<RoomSecret, WaysError> {
        let params = Params::new(params.memory_kib, params.passes, params.lanes, Some(32))
            .map_err(|_| WaysError::Params)?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let mut out = Zeroizing::new([0u8; 32]);
        argon
            .hash_password_into(passphrase.0.as_bytes(), &self.salt(), out.as_mut())
            .map_err(|_| WaysError::Params)?;
        Ok(RoomSecret::from_bytes(*out))
    }
}

/// Unicode general category Cf (zero-width and bidi controls), which would make two
/// names that look the same differ.
fn is_format(c: char) -> bool {
    use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
    c.general_category() == GeneralCategory::Format
}

impl Passphrase {
    /// Normalises a typed passphrase: Unicode NFC, white space trimmed at both ends
    /// (a line break from a file, a space from a paste). Case and inner spaces count.
    pub fn new(typed: &str) -> Result<Passphrase, WaysError> {
        let nfc: Zeroizing<String> = Zeroizing::new(typed.nfc().collect());
        let trimmed = Zeroizing::new(nfc.trim().to_owned());
        if trimmed.chars().count() < MIN_PASSPHRASE_CHARS {
            return Err(WaysError::ShortPassphrase);
        }
        if trimmed.len() > MAX_PASSPHRASE_BYTES {
            return Err(WaysError::LongPassphrase);
        }
        Ok(Passphrase(trimmed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalised() {
        fn n(s: &str) -> Result<String, WaysError> {
            RoomName::parse(s).map(|n| n.0)
        }
        assert_eq!(n("  Book \t\n Club  ").unwrap(), "book club");
        // NFC: e + combining acute is é.
        assert_eq!(n("Cafe\u{301}").unwrap(), n("CAFÉ").unwrap());
        // Final sigma lower-cases as ς at the end of a word.
        assert_eq!(
            n("\u{39f}\u{394}\u{39f}\u{3a3}").unwrap(),
            "\u{3bf}\u{3b4}\u{3bf}\u{3c2}"
        );
        assert_eq!(n("a\u{3000}b").unwrap(), "a b");
        assert_eq!(n(" \t "), Err(WaysError::EmptyName));
        assert_eq!(n(""), Err(WaysError::EmptyName));
        assert_eq!(n("a\u{200B}b"), Err(WaysError::ControlInName));
        assert_eq!(n("a\u{0}b"), Err(WaysError::ControlInName));
        assert!(n(&"x".repeat(MAX_NAME_CHARS)).is_ok());
        assert_eq!(n(&"x".repeat(MAX_NAME_CHARS + 1)), Err(WaysError::LongName));
    }

    #[test]
    fn passphrases_keep_case_and_inner_space() {
        fn p(s: &str) -> Result<String, WaysError> {
            Passphrase::new(s).map(|p| p.0.to_string())
        }
        assert_eq!(p("  Two  Words here\n").unwrap(), "Two  Words here");
        assert_eq!(p("short").err(), Some(WaysError::ShortPassphrase));
        assert_eq!(
            p("       x        ").err(),
            Some(WaysError::ShortPassphrase)
        );
        assert_eq!(
            p(&"y".repeat(MAX_PASSPHRASE_BYTES + 1)).err(),
            Some(WaysError::LongPassphrase)
        );
    }

    #[test]
    fn name_and_passphrase_both_change_the_room() {
        let name = RoomName::parse("club").unwrap();
        let other = RoomName::parse("club2").unwrap();
        let a = Passphrase::new("one passphrase").unwrap();
        let b = Passphrase::new("two passphrase").unwrap();
        let id =
            |n: &RoomName, p: &Passphrase| n.derive_secret_with(p, TEST_PARAMS).unwrap().room_id();
        assert_eq!(id(&name, &a), id(&name, &a));
        assert_ne!(id(&name, &a), id(&name, &b));
        assert_ne!(id(&name, &a), id(&other, &a));
    }
}
