//! The screens of the app and their parts. Components read [`crate::state::RoomUi`]
//! and call [`crate::state::Client`]; none of them sees a key or a frame.

// `#[component]` makes each component function `pub` and adds a `pub` props struct, so
// the crate-private components trip the lint on code the macro wrote.
#![allow(unreachable_pub)]

pub(crate) mod landing;
pub(crate) mod pages;
pub(crate) mod room;

mod alerts;
mod codes;
mod files;
mod invite;
mod members;
mod messages;
mod named;
mod safety;
mod text;
