//! What the refusals say, and the other words and numbers both halves show. The
//! sentences and numbers taken from the session and the transfers are theirs, word for
//! word (checked against them in `tests/sentences.rs`).

use crate::{ActionError, NickError};

impl std::fmt::Display for ActionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ActionError::NotReady => "Not in the room yet. Wait a moment and try again.",
            ActionError::Ended => "This room is over. Create or join another room.",
            ActionError::NotHost => "Only the host can do that.",
            ActionError::TooLarge => "That message is too large for this room. Shorten it.",
            ActionError::Empty => "There is nothing to send.",
            ActionError::UnknownMember => "No such member is in the room.",
            ActionError::NotYours => "You can only edit or delete your own messages.",
            ActionError::UnknownMessage => {
                "That message is no longer available. Pick a more recent one."
            }
            ActionError::NoDirectKey => {
                "That member cannot receive private messages yet. Try again in a moment."
            }
            ActionError::InvalidReaction => "A reaction is one emoji.",
            ActionError::NotModerator => "Only the host or a moderator can do that.",
            ActionError::TooManyModerators => {
                "The room has as many moderators as it can have. Remove one first."
            }
        })
    }
}

impl std::error::Error for ActionError {}

impl std::fmt::Display for NickError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NickError::Blank => f.write_str(
                "Choose a name with at least one visible character, so the others can tell \
                 who is writing.",
            ),
            NickError::Action(e) => e.fmt(f),
        }
    }
}

/// The waiting page's heading: the session's sentence for a member the relay let in and
/// the group has not added yet.
pub const WAITING: &str = "Waiting for a member of the room to let you in";

/// How long a file offered to this member waits for "Receive", in milliseconds (the
/// transfers' `ACCEPT_MS`).
pub const ACCEPT_MS: u64 = 60_000;

/// Most conversation lines kept for a reload (the newest): the interface hands over
/// no more, and the room keeps no more of what an earlier reload saved.
pub const MAX_SAVED_LINES: usize = 500;

/// Said when a reload came back too late for the relay to have kept the place.
pub const PLACE_LOST: &str = "You were away longer than the room keeps a place, so you are \
     joining it again as a new member, with new safety words. Messages sent before now are \
     not shown to you.";

/// Said when a reload left nobody in the room to let this member back in as itself.
pub const ALONE: &str = "You were alone in the room when the page reloaded, so nobody was \
     left to let you back in as yourself: you are joining it again as a new member, and a \
     member who comes back can let you in.";

/// The first two of a member's safety words: enough to tell apart two members who chose
/// the same nickname, short enough to show next to every message.
pub fn badge(fingerprint: &str) -> String {
    fingerprint
        .split(['-', ' '])
        .filter(|w| !w.is_empty())
        .take(2)
        .collect::<Vec<_>>()
        .join("-")
}

/// `1.5 MB` (decimal units, as file managers show them), in integers: formatting
/// floats would add their code to the app.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut unit = 0;
    let mut scale = 1u64;
    while n / scale >= 1000 && unit + 1 < UNITS.len() {
        scale *= 1000;
        unit += 1;
    }
    if unit == 0 {
        return format!("{n} B");
    }
    let tenths = (u128::from(n) * 10 + u128::from(scale) / 2) / u128::from(scale);
    format!("{}.{} {}", tenths / 10, tenths % 10, UNITS[unit])
}

const ADJECTIVES: &[&str] = &[
    "Calm", "Brave", "Quiet", "Bright", "Gentle", "Swift", "Clever", "Kind", "Merry", "Sunny",
    "Lucky", "Witty", "Bold", "Cosy", "Jolly", "Nimble",
];

const ANIMALS: &[&str] = &[
    "Otter", "Fox", "Heron", "Panda", "Lynx", "Robin", "Badger", "Koala", "Falcon", "Dolphin",
    "Hedgehog", "Owl", "Puffin", "Tiger", "Wombat", "Zebra",
];

/// A friendly nickname ("Calm Otter"), so nobody has to think of one to start; both
/// halves pick one (the start page's default, a name to join again with when the saved
/// one shows as nothing). `random` gives numbers in `[0, 1)`, as `Math.random` does: not
/// a secret, it only tells people apart.
pub fn friendly_nick(mut random: impl FnMut() -> f64) -> String {
    let mut pick = |words: &[&'static str]| -> &'static str {
        let index = (random() * words.len() as f64) as usize;
        words[index.min(words.len() - 1)]
    };
    let adjective = pick(ADJECTIVES);
    format!("{adjective} {}", pick(ANIMALS))
}
