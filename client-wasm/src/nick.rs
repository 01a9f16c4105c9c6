//! Friendly default nicknames ("Calm Otter"), so nobody has to think of one to start.

/// A random friendly nickname.
pub fn friendly() -> String {
    // Not a secret: `Math.random` is enough to tell people apart.
    vroom_bridge::friendly_nick(js_sys::Math::random)
}
