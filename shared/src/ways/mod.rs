//! Ways into a room other than an invite link. Each only produces the 32-byte
//! [`RoomSecret`](crate::crypto::RoomSecret) a link carries; everything after it is the
//! unchanged version-2 session ([`Session::create_in`](crate::session::Session::create_in),
//! [`Session::join_with`](crate::session::Session::join_with)).
//!
//! - [`passphrase`]: a room name and a passphrase that people agreed on, stretched with
//!   Argon2id.

pub mod passphrase;
