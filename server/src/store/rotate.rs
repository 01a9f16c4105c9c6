//! The room's join proof (PROTOCOL.md §11.4): what both stores check when a newcomer
//! joins a room whose host renewed its invitation after a kick.

use vroom_shared::wire::JoinProofHash;

/// Whether a newcomer showing `shown` may join a room that keeps `stored`: always in a
/// room whose invitation was never renewed (a proof shown there is not checked, so a
/// link made before the relay kept one still works), else only with the current proof.
pub(crate) fn admits(stored: Option<&JoinProofHash>, shown: Option<&JoinProofHash>) -> bool {
    match (stored, shown) {
        (None, _) => true,
        (Some(stored), Some(shown)) => stored.matches(shown),
        (Some(_), None) => false,
    }
}

/// Whether a moderator's kick carrying the proof of renewal number `renewal` sets it
/// in a room that holds the proof of renewal `stored` (`None`: none yet): only a
/// strictly newer one, so a kick that reaches the relay after the host's (or another
/// moderator's) newer proof does not set an older one back. The host's `Rotate` is not
/// asked this: its word always sets the proof. `modkick.lua` makes the same test.
pub(crate) fn newer(stored: Option<u32>, renewal: u32) -> bool {
    renewal > stored.unwrap_or(0)
}
