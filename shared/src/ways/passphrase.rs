//! Room name + passphrase: two things people can agree on and retype, turned into the
//! room secret with Argon2id (RFC 9106), so "the same room" can be created twice by
//! two groups that chose different passphrases, and found again by anyone who knows
//! both. See PROTOCOL.md §11.1.
//!
//! The relay's origin is part of the salt, so a table of guesses computed for one relay
//! is worth nothing against another.
//!
//! ```
//! use vroom_shared::ways::passphrase::{Passphrase, RelayOrigin, RoomName};
//!
//! let relay = RelayOrigin::parse("https://chat.example").unwrap();
//! let name = RoomName::parse("  Book   Club ").unwrap();
//! assert_eq!(name.as_str(), "book club");
//! let pass = Passphrase::new("correct horse battery staple").unwrap();
//! # let params = vroom_shared::ways::passphrase::TEST_PARAMS;
//! let secret = name.derive_secret_with(&relay, &pass, params).unwrap();
//! assert_eq!(secret.room_id(), RoomName::parse("book club").unwrap()
//!     .derive_secret_with(&relay, &pass, params).unwrap().room_id());
//! ```

use argon2::{Algorithm, Argon2, Params, Version};
use zeroize::Zeroizing;

use crate::crypto::RoomSecret;
use crate::text::{is_format, nfc};

/// Argon2id's salt prefix: names the protocol, so the same name and passphrase give
/// unrelated bytes anywhere else. The salt is this label, one zero byte, the relay's
/// canonical origin ([`RelayOrigin`]), one zero byte, then the normalised name in UTF-8.
pub const LABEL_NAME_SALT: &[u8] = b"vroom/v2/room-name";

/// Argon2id's memory, in KiB (64 MiB). See PROTOCOL.md §11.1 for why.
pub const ARGON2_MEMORY_KIB: u32 = 64 * 1024;
/// Argon2id's passes over the memory.
pub const ARGON2_PASSES: u32 = 3;
/// Argon2id's lanes: one, because a browser runs the derivation on one thread.
pub const ARGON2_LANES: u32 = 1;

/// The longest room name, in characters after normalisation.
pub const MAX_NAME_CHARS: usize = 64;
/// The shortest passphrase, in characters after normalisation: the floor every client
/// enforces (about three unusual words). Length alone does not make a passphrase
/// strong; the web app also estimates its strength as it is typed (PROTOCOL.md §11.1).
pub const MIN_PASSPHRASE_CHARS: usize = 12;
/// The fewest different characters a passphrase must have, so that a long run of one
/// key (`aaaaaaaaaaaa`) or of two (`abababababab`) is refused.
pub const MIN_PASSPHRASE_DISTINCT: usize = 5;
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

/// A relay's canonical origin, as browsers serialise an origin (`location.origin`):
/// `scheme://host[:port]`, scheme `http` or `https`, all in lower case, the port left
/// out when it is the scheme's default (80, 443), no path, no trailing slash; a domain
/// in its ASCII (punycode) form, an IPv6 address in brackets. [`RelayOrigin::parse`]
/// checks that form and refuses anything else rather than mending it, so two clients
/// cannot disagree on the salt silently: a client canonicalises first (the native one
/// with the `url` crate's origin serialisation, the web app takes `location.origin`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelayOrigin(String);

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
    /// The passphrase has fewer than [`MIN_PASSPHRASE_DISTINCT`] different characters.
    RepetitivePassphrase,
    /// The passphrase is longer than [`MAX_PASSPHRASE_BYTES`].
    LongPassphrase,
    /// Argon2 refused the parameters (only possible with hand-made ones).
    Params,
    /// The relay's origin is not in its canonical form (a client bug, or a hand-made
    /// origin).
    Origin,
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
            WaysError::RepetitivePassphrase => write!(
                f,
                "The passphrase repeats too few characters. Use at least \
                 {MIN_PASSPHRASE_DISTINCT} different characters; several unusual words are best."
            ),
            WaysError::LongPassphrase => write!(
                f,
                "The passphrase is too long. Use at most {MAX_PASSPHRASE_BYTES} bytes."
            ),
            WaysError::Params => f.write_str("The key-stretching parameters are not valid."),
            WaysError::Origin => f.write_str(
                "The relay's address is not a canonical origin: it must be \
                 http[s]://host[:port] in lower case, without the default port or a path.",
            ),
        }
    }
}

impl std::error::Error for WaysError {}

impl RelayOrigin {
    /// Checks that `origin` is already canonical (see [`RelayOrigin`]) and keeps it.
    pub fn parse(origin: &str) -> Result<RelayOrigin, WaysError> {
        let (rest, default_port) = if let Some(rest) = origin.strip_prefix("https://") {
            (rest, "443")
        } else if let Some(rest) = origin.strip_prefix("http://") {
            (rest, "80")
        } else {
            return Err(WaysError::Origin);
        };
        // `host` and what follows it (`""` or `":port"`).
        let (host_ok, after) = match rest.strip_prefix('[') {
            Some(v6) => {
                let (address, after) = v6.split_once(']').ok_or(WaysError::Origin)?;
                // The canonical text of an IPv6 address (RFC 5952) is what Rust prints.
                let ok = address
                    .parse::<std::net::Ipv6Addr>()
                    .is_ok_and(|ip| ip.to_string() == address);
                (ok, after)
            }
            None => {
                let end = rest.find(':').unwrap_or(rest.len());
                let host = &rest[..end];
                let ok = !host.is_empty()
                    && host.bytes().all(|b| {
                        b.is_ascii_lowercase()
                            || b.is_ascii_digit()
                            || matches!(b, b'-' | b'.' | b'_')
                    });
                (ok, &rest[end..])
            }
        };
        let port_ok = match after.strip_prefix(':') {
            None => after.is_empty(),
            Some(port) => {
                port != default_port
                    && !port.starts_with('0')
                    && port.bytes().all(|b| b.is_ascii_digit())
                    && port.parse::<u16>().is_ok_and(|n| n > 0)
            }
        };
        if host_ok && port_ok {
            Ok(RelayOrigin(origin.to_owned()))
        } else {
            Err(WaysError::Origin)
        }
    }

    /// The origin, as it goes into the salt.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl RoomName {
    /// Normalises a typed room name: Unicode NFC; Unicode lower case (full mapping,
    /// final sigma included); NFC again; every run of white space (Unicode `White_Space`)
    /// becomes one U+0020; leading and trailing space removed.
    pub fn parse(typed: &str) -> Result<RoomName, WaysError> {
        let lower: String = nfc(typed).to_lowercase();
        let mut name = String::with_capacity(lower.len());
        let mut space = false;
        for c in nfc(&lower).chars() {
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

    /// Argon2id's salt on `relay`: [`LABEL_NAME_SALT`], a zero byte, the relay's
    /// origin, a zero byte, the name. Neither the label nor an origin holds a zero
    /// byte, so the parts cannot run into each other.
    pub fn salt(&self, relay: &RelayOrigin) -> Vec<u8> {
        [
            LABEL_NAME_SALT,
            &[0],
            relay.0.as_bytes(),
            &[0],
            self.0.as_bytes(),
        ]
        .concat()
    }

    /// The room secret of this name and passphrase on `relay`, at the protocol's cost
    /// (64 MiB, 3 passes: about an eighth of a second natively; see PROTOCOL.md §11.1).
    pub fn derive_secret(&self, relay: &RelayOrigin, passphrase: &Passphrase) -> RoomSecret {
        self.derive_secret_with(relay, passphrase, DerivationParams::PROTOCOL)
            .expect("the protocol's Argon2id parameters are valid")
    }

    /// The room secret with other Argon2id parameters (tests).
    pub fn derive_secret_with(
        &self,
        relay: &RelayOrigin,
        passphrase: &Passphrase,
        params: DerivationParams,
    ) -> Result<RoomSecret, WaysError> {
        let params = Params::new(params.memory_kib, params.passes, params.lanes, Some(32))
            .map_err(|_| WaysError::Params)?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let mut out = Zeroizing::new([0u8; 32]);
        argon
            .hash_password_into(passphrase.0.as_bytes(), &self.salt(relay), out.as_mut())
            .map_err(|_| WaysError::Params)?;
        Ok(RoomSecret::from_bytes(*out))
    }
}

impl Passphrase {
    /// Normalises a typed passphrase: Unicode NFC, white space trimmed at both ends
    /// (a line break from a file, a space from a paste). Case and inner spaces count.
    /// Refuses one shorter than [`MIN_PASSPHRASE_CHARS`] characters or with fewer than
    /// [`MIN_PASSPHRASE_DISTINCT`] different characters.
    pub fn new(typed: &str) -> Result<Passphrase, WaysError> {
        let normalized: Zeroizing<String> = Zeroizing::new(nfc(typed));
        let trimmed = Zeroizing::new(normalized.trim().to_owned());
        if trimmed.chars().count() < MIN_PASSPHRASE_CHARS {
            return Err(WaysError::ShortPassphrase);
        }
        if trimmed.len() > MAX_PASSPHRASE_BYTES {
            return Err(WaysError::LongPassphrase);
        }
        let mut seen: Zeroizing<Vec<char>> = Zeroizing::new(trimmed.chars().collect());
        seen.sort_unstable();
        seen.dedup();
        if seen.len() < MIN_PASSPHRASE_DISTINCT {
            return Err(WaysError::RepetitivePassphrase);
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
        assert_eq!(p("eleven char").err(), Some(WaysError::ShortPassphrase));
        assert!(p("twelve chars").is_ok());
        assert_eq!(
            p("abababababababab").err(),
            Some(WaysError::RepetitivePassphrase)
        );
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
    fn only_canonical_origins_are_taken() {
        for good in [
            "https://chat.example",
            "http://127.0.0.1:8080",
            "http://localhost:1",
            "http://relay_1.internal:8080",
            "https://xn--bcher-kva.example:8443",
            "http://[::1]:3000",
            "https://[2001:db8::1]",
        ] {
            assert_eq!(RelayOrigin::parse(good).unwrap().as_str(), good);
        }
        for bad in [
            "",
            "chat.example",
            "HTTPS://chat.example",
            "https://Chat.example",
            "https://chat.example/",
            "https://chat.example/vroom",
            "https://chat.example:443",
            "http://chat.example:80",
            "https://chat.example:0443",
            "https://chat.example:",
            "https://chat.example:65536",
            "https://user@chat.example",
            "wss://chat.example",
            "https://[::0001]",
            "https://[::1",
            "https://",
        ] {
            assert_eq!(RelayOrigin::parse(bad), Err(WaysError::Origin), "{bad:?}");
        }
    }

    #[test]
    fn name_passphrase_and_relay_each_change_the_room() {
        let here = RelayOrigin::parse("https://chat.example").unwrap();
        let there = RelayOrigin::parse("https://chat.example:8443").unwrap();
        let name = RoomName::parse("club").unwrap();
        let other = RoomName::parse("club2").unwrap();
        let a = Passphrase::new("one passphrase").unwrap();
        let b = Passphrase::new("two passphrase").unwrap();
        let id = |r: &RelayOrigin, n: &RoomName, p: &Passphrase| {
            n.derive_secret_with(r, p, TEST_PARAMS).unwrap().room_id()
        };
        assert_eq!(id(&here, &name, &a), id(&here, &name, &a));
        assert_ne!(id(&here, &name, &a), id(&here, &name, &b));
        assert_ne!(id(&here, &name, &a), id(&here, &other, &a));
        assert_ne!(id(&here, &name, &a), id(&there, &name, &a));
    }
}
