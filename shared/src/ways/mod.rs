//! Ways into a room other than an invite link. Each only produces the 32-byte
//! [`RoomSecret`](crate::crypto::RoomSecret) a link carries; everything after it is the
//! unchanged version-2 session ([`Session::create_in`](crate::session::Session::create_in),
//! [`Session::join_with`](crate::session::Session::join_with)).
//!
//! - [`passphrase`]: a room name and a passphrase that people agreed on, stretched with
//!   Argon2id.
//! - [`code`]: a short code read aloud (`7-amber-river`), whose secret part a joiner
//!   and an online member check with SPAKE2 before the member hands over the secret.

pub mod code;
pub mod passphrase;
