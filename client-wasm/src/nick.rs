//! Friendly default nicknames ("Calm Otter"), so nobody has to think of one to start.

const ADJECTIVES: &[&str] = &[
    "Calm", "Brave", "Quiet", "Bright", "Gentle", "Swift", "Clever", "Kind", "Merry", "Sunny",
    "Lucky", "Witty", "Bold", "Cosy", "Jolly", "Nimble",
];

const ANIMALS: &[&str] = &[
    "Otter", "Fox", "Heron", "Panda", "Lynx", "Robin", "Badger", "Koala", "Falcon", "Dolphin",
    "Hedgehog", "Owl", "Puffin", "Tiger", "Wombat", "Zebra",
];

/// A random friendly nickname.
pub fn friendly() -> String {
    format!("{} {}", pick(ADJECTIVES), pick(ANIMALS))
}

fn pick(words: &[&'static str]) -> &'static str {
    // Not a secret: `Math.random` is enough to tell people apart.
    let index = (js_sys::Math::random() * words.len() as f64) as usize;
    words[index.min(words.len() - 1)]
}
