//! End-to-end tests: real relays on loopback, real clients, a real browser.
//!
//! One test binary with modules, so everything links once.
//!
//! - `browser`: the web app in headless Chromium against an in-process relay.
//! - `browser_files`: files in the web app: pictures previewed and cleaned of metadata,
//!   streaming, the limit, cancelling, and both ways with the native client.
//! - `browser_host`: host powers handed over and passed on, in three browsers; the
//!   host's member cap.
//! - `browser_codes`: short codes in the web app: browser to browser, wrong codes and
//!   the burn, both ways with the native client, revoking, three codes per room.
//! - `browser_room`: the room as people use it, in two and three browsers.
//! - `browser_rotate`: a kick renews the invitation: the invite panel's new link, the
//!   old one refused in a fresh browser, a reload with the new one.
//! - `browser_resume`: a reload, a frozen page and a lost place in the web app.
//! - `browser_static`: the web app on a static host apart from the relay, the relay's
//!   refusal of pages from origins it was not told about, and the native client
//!   joining by that app's links and making them.
//! - `chat`: native clients chatting: order, join/leave/kick/rekey, lock, member cap.
//! - `lifecycle`: every way a room ends, and reconnect with catch-up.
//! - `errors`: every error answer, through the native client where it can provoke it
//!   and with raw frames where it cannot.
//! - `files`: files between native clients: intact, never overwriting, oversize refused,
//!   cancel, departures, latecomers, across two relays.
//! - `canary`: nothing a user types reaches the relay, its logs or its metrics.
//! - `tampering`: a malicious relay in the middle is detected and forges nothing.
//! - `ways`: into a room by name + passphrase (and none after a kick).
//! - `codes`: into a room by short code (two joiners, wrong codes, burn, revoke, an
//!   offline maker, two relays sharing one Redis).
//! - `verify_app`: `vroom verify-app` against a relay serving the build, one serving a
//!   changed wasm, a static host, one hiding bytes in a second gzip member and ones
//!   that stall; the loopback servers `static_cli` uses too.
//! - `rotate`: a kick renews the room's invitation: the old link refused, the new one
//!   shared with the members who stay (one away during the kick too).
//! - `static_cli`: the native client and the web app on a static host: links made for
//!   it, joins by them at the relay its page names (or the link's origin when it names
//!   none), unusable relays refused, and `verify-app` by the host's address or a link.
//! - `talk`: replies, `/me`, edits, deletes, reactions and private messages between
//!   native clients.

mod browser;
mod browser_codes;
mod browser_files;
mod browser_host;
mod browser_resume;
mod browser_room;
mod browser_rotate;
mod browser_static;
mod browser_ways;
mod canary;
mod chat;
mod codes;
mod errors;
mod files;
mod lifecycle;
mod rotate;
mod static_cli;
mod talk;
mod tampering;
mod verify_app;
mod ways;
