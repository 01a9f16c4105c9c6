//! The screens of the app and their parts. Components read [`crate::state::RoomUi`]
//! and call [`crate::state::Client`]; none of them sees a key or a frame.

// `#[component]` makes each component function `pub` and adds a `pub` props struct, so
// the crate-private components trip the lint on code the macro wrote.
#![allow(unreachable_pub)]

pub(crate) mod landing;
pub(crate) mod pages;
pub(crate) mod room;

mod alerts;
mod files;
mod invite;
mod members;
mod messages;
mod named;
mod safety;
mod text;

/// Whether the window is wide enough to show the side panels open beside the
/// conversation (as in the style sheet's narrow layout, below 720 CSS pixels they
/// start closed, so a phone shows the conversation first).
fn wide() -> bool {
    web_sys::window()
        .and_then(|w| w.inner_width().ok())
        .and_then(|w| w.as_f64())
        .is_none_or(|w| w >= 720.0)
}
