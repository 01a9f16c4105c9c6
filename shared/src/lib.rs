//! vroom's shared core: the relay wire protocol and all end-to-end cryptography.
//!
//! This crate does no I/O. The web client, the native client and the tests use it;
//! the relay uses only [`wire`] (it is built with `default-features = false`, which
//! leaves the `crypto` feature, and with it every key and plaintext, out of its build).
//!
//! # Layout
//! - [`metadata`]: removes where, when and with what a picture was taken before it is
//!   sent (EXIF, XMP and text chunks of JPEG, PNG and WebP).
//! - [`origin`]: which origins may carry a room (`https://`, or `http://` to this
//!   machine).
//! - [`wire`]: the outer frames between a client and the relay (what the relay may read).
//! - `crypto` (feature `crypto`): key derivation, member announcements, sender keys,
//!   sealed messages, padding.
//! - `group` (feature `mls`): the MLS group layer of protocol version 2.
//! - `invite` (feature `crypto`): invite links with the room secret in the URL fragment.
//! - `files` (feature `crypto`): file offers, the chunked streaming encryption of their
//!   content and the sans-I/O transfer state of both ends.
//! - `session` (feature `mls`): a sans-I/O state machine that turns relay frames into
//!   user events and user actions into frames; both clients drive it.
//! - `ways` (feature `mls`): ways into a room besides the link (room name + passphrase).

pub mod metadata;
pub mod origin;
pub mod wire;

#[cfg(feature = "crypto")]
pub mod crypto;
#[cfg(feature = "crypto")]
pub mod files;
#[cfg(feature = "mls")]
pub mod group;
#[cfg(feature = "crypto")]
pub mod invite;
#[cfg(feature = "mls")]
pub mod session;
#[cfg(feature = "crypto")]
mod text;
#[cfg(feature = "mls")]
pub mod ways;
