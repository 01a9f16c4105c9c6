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

use leptos::prelude::*;

/// Whether the window is wide enough to show the side panels open beside the
/// conversation (as in the style sheet's narrow layout, below 720 CSS pixels they
/// start closed, so a phone shows the conversation first).
fn wide() -> bool {
    web_sys::window()
        .and_then(|w| w.inner_width().ok())
        .and_then(|w| w.as_f64())
        .is_none_or(|w| w >= 720.0)
}

/// A one-line text field the user types into: `value` follows it, and typing clears
/// `error` (the sentence shown under the field), which also marks the field invalid for
/// screen readers while it is set. Nothing typed is offered to autocomplete or
/// spelling services.
#[component]
fn TextInput(
    /// The input's id (its `<label for>` is the caller's).
    id: &'static str,
    /// What the field holds.
    value: RwSignal<String>,
    /// The error about it, cleared when the user types.
    error: RwSignal<Option<String>>,
    /// The input's type: `text` unless given.
    #[prop(optional)]
    kind: Option<&'static str>,
    /// The longest value, in characters.
    #[prop(optional)]
    maxlength: Option<u32>,
    /// An example shown while the field is empty.
    #[prop(optional)]
    placeholder: Option<&'static str>,
    /// The ids of the hint and error that describe it.
    #[prop(optional)]
    described_by: Option<&'static str>,
) -> impl IntoView {
    view! {
        <input
            id=id
            type=kind.unwrap_or("text")
            maxlength=maxlength
            placeholder=placeholder
            autocomplete="off"
            autocapitalize="none"
            spellcheck="false"
            aria-describedby=described_by
            aria-invalid=move || error.with(Option::is_some).to_string()
            prop:value=move || value.get()
            on:input=move |ev| {
                error.set(None);
                value.set(event_target_value(&ev));
            }
        />
    }
}

/// A checkbox with its label around it. `on_toggle`, when given, hears each change the
/// user makes (after `checked` is set).
#[component]
fn Check(
    /// The input's id.
    id: &'static str,
    /// Whether it is ticked.
    checked: RwSignal<bool>,
    /// The label.
    text: &'static str,
    /// Whether it is greyed out.
    #[prop(into, optional)]
    disabled: Signal<bool>,
    /// Called with the new state when the user ticks or unticks it.
    #[prop(optional)]
    on_toggle: Option<Callback<bool>>,
) -> impl IntoView {
    view! {
        <label class="check">
            <input
                type="checkbox"
                id=id
                disabled=move || disabled.get()
                prop:checked=move || checked.get()
                on:change=move |ev| {
                    let on = event_target_checked(&ev);
                    checked.set(on);
                    if let Some(toggled) = on_toggle {
                        toggled.run(on);
                    }
                }
            />
            {text}
        </label>
    }
}
