//! The room name + passphrase way in: reading the passphrase (from a file or the
//! environment, never from the command line, where other users see it in `ps`), turning
//! both into the room secret, and saying what to do when the room is (or is not) live.

use std::path::Path;

use vroom_shared::crypto::RoomSecret;
use vroom_shared::ways::passphrase::{Passphrase, RelayOrigin, RoomName};
use vroom_shared::wire::ErrorCode;
use zeroize::Zeroizing;

use crate::chat::ChatError;

/// The environment variable that may hold the passphrase instead of a file.
pub(crate) const PASSPHRASE_ENV: &str = "VROOM_PASSPHRASE";

/// Reads the passphrase from `file` or, without one, from [`PASSPHRASE_ENV`].
pub(crate) fn passphrase(file: Option<&Path>) -> Result<Passphrase, ChatError> {
    let typed = read_passphrase(file)?;
    Passphrase::new(&typed).map_err(|err| ChatError::Ways(err.to_string()))
}

/// The passphrase of a room to create: read as [`passphrase`] reads it, and refused
/// when zxcvbn (the web app's estimate) scores it below `vroom_strength::GOOD_SCORE`
/// unless `weak_ok` (`--weak-passphrase-ok`).
pub(crate) fn new_passphrase(
    file: Option<&Path>,
    name: &str,
    weak_ok: bool,
) -> Result<Passphrase, ChatError> {
    let typed = read_passphrase(file)?;
    let passphrase = Passphrase::new(&typed).map_err(|err| ChatError::Ways(err.to_string()))?;
    if !weak_ok {
        check_strength(&typed, name)?;
    }
    Ok(passphrase)
}

/// Refuses a passphrase a relay could guess, with zxcvbn's advice. The room name's
/// words are hints: the relay knows them.
fn check_strength(typed: &str, name: &str) -> Result<(), ChatError> {
    let hints: Vec<&str> = name.split_whitespace().collect();
    let verdict = vroom_strength::verdict(typed.trim(), &hints);
    if verdict.score >= vroom_strength::GOOD_SCORE {
        return Ok(());
    }
    // zxcvbn's advice, each a sentence ending in a full stop.
    let advice: String = [verdict.warning.trim(), verdict.suggestion.trim()]
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| format!("{}. ", s.trim_end_matches('.')))
        .collect();
    Err(ChatError::Ways(format!(
        "this passphrase is weak ({}, about 10^{:.0} guesses): whoever runs the relay could \
         guess it and read the room. {advice}Use several unusual words, or pass \
         --weak-passphrase-ok if you accept the risk.",
        verdict.label().to_lowercase(),
        verdict.guesses_log10
    )))
}

/// The passphrase as typed: from `file`, or without one from [`PASSPHRASE_ENV`].
fn read_passphrase(file: Option<&Path>) -> Result<Zeroizing<String>, ChatError> {
    Ok(match file {
        Some(path) => Zeroizing::new(std::fs::read_to_string(path).map_err(|err| {
            ChatError::Ways(format!(
                "cannot read the passphrase file {} ({err}). Check the path and its permissions.",
                path.display()
            ))
        })?),
        None => match std::env::var(PASSPHRASE_ENV) {
            Ok(value) => Zeroizing::new(value),
            Err(_) => {
                return Err(ChatError::Ways(format!(
                    "a room name needs its passphrase: give --passphrase-file FILE or set \
                     {PASSPHRASE_ENV}. (Never on the command line, where others can read it.)"
                )))
            }
        },
    })
}

/// The room secret of `name` and the passphrase on the relay at `origin` (as
/// `chat::normalize_origin` gives it; Argon2id: about a tenth of a second).
pub(crate) fn secret(
    origin: &str,
    name: &str,
    passphrase: &Passphrase,
) -> Result<RoomSecret, ChatError> {
    let relay = relay_origin(origin)?;
    let name = RoomName::parse(name).map_err(|err| ChatError::Ways(err.to_string()))?;
    Ok(name.derive_secret(&relay, passphrase))
}

/// The relay's canonical origin for the salt: the URL Standard's serialisation of the
/// origin (lower case, punycode, no default port, no path), as a browser's
/// `location.origin` gives it, so the web app on that relay derives the same room.
fn relay_origin(origin: &str) -> Result<RelayOrigin, ChatError> {
    let canonical = url::Url::parse(origin)
        .map(|url| url.origin().ascii_serialization())
        .map_err(|_| ChatError::BadServer(origin.to_owned()))?;
    RelayOrigin::parse(&canonical).map_err(|err| ChatError::Ways(err.to_string()))
}

/// What the relay's refusal means for a room found by name: an error that says what
/// to do instead.
pub(crate) fn explain(err: ChatError, creating: bool) -> ChatError {
    match err {
        ChatError::Refused(ErrorCode::RoomExists) if creating => ChatError::Ways(
            "this room exists: a room with this name and passphrase is open already. \
             Join it with `vroom join --server URL --name NAME --passphrase-file FILE`."
                .to_owned(),
        ),
        ChatError::Refused(ErrorCode::UnknownRoom) if !creating => ChatError::Ways(
            "no such room: no room with this name and passphrase is open (check both for \
             typos). Create it with `vroom create --server URL --name NAME --passphrase-file FILE`."
                .to_owned(),
        ),
        ChatError::Refused(ErrorCode::InviteChanged) if !creating => ChatError::Ways(
            "this room's name and passphrase no longer let anyone in: the host removed \
             someone who knows them and renewed the room's invitation. Ask a member for the \
             current invite link or a short code."
                .to_owned(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::{check_strength, relay_origin};

    #[test]
    fn a_weak_passphrase_is_refused_with_advice_and_a_strong_one_passes() {
        for weak in ["password123456", "iloveyou12345", "qwertyuiopasdf"] {
            let err = check_strength(weak, "book club")
                .expect_err(weak)
                .to_string();
            assert!(
                err.starts_with("this passphrase is weak (")
                    && err.contains("--weak-passphrase-ok"),
                "{weak}: {err}"
            );
        }
        assert!(check_strength("plum kayak otter seventeen", "book club").is_ok());
    }

    #[test]
    fn the_salt_takes_the_origin_a_browser_shows() {
        for (server, origin) in [
            ("https://Chat.Example:443/vroom", "https://chat.example"),
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
            ("HTTP://LOCALHOST:80", "http://localhost"),
            ("https://bücher.example", "https://xn--bcher-kva.example"),
            ("http://[::1]:3000/", "http://[::1]:3000"),
        ] {
            let got = relay_origin(server).map(|r| r.as_str().to_owned()).ok();
            assert_eq!(got.as_deref(), Some(origin), "{server}");
        }
    }
}
