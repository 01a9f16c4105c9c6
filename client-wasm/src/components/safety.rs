//! The room's safety code: one code per state of the room's encryption, the same for
//! every member in that state. Read aloud (the words) or held side by side (the strip),
//! a matching code rules out anyone in the middle. A new member, a departure or a key
//! refresh changes it, and the "compared" mark resets with it.

use leptos::prelude::*;

use crate::state::{ClientHandle, SafetyView};

/// The current safety code as words and as a strip of coloured emoji, with a mark the
/// user sets once everyone's code matched.
#[component]
pub(crate) fn SafetyPanel() -> impl IntoView {
    let ui = expect_context::<ClientHandle>().with_value(|c| c.ui);
    let code = move || ui.safety.get();
    let checked = ui.safety_checked;
    view! {
        <details class="panel safety" open=super::wide() data-testid="safety-panel">
            <summary>"Room safety code"</summary>
            {move || match code() {
                None => view! {
                    <p class="hint" data-testid="safety-pending">
                        "The code appears once you are in the room."
                    </p>
                }
                .into_any(),
                Some(code) => view! { <Code code/> }.into_any(),
            }}
            <label class="safety-check" class:done=move || checked.get()>
                <input
                    type="checkbox"
                    id="safety-checked"
                    data-testid="safety-checked"
                    disabled=move || code().is_none()
                    prop:checked=move || checked.get()
                    on:change=move |ev| checked.set(event_target_checked(&ev))
                />
                " Everyone in the room sees this same code"
            </label>
            <p class="hint" data-testid="safety-status" aria-live="polite">
                {move || {
                    if checked.get() {
                        "Compared: nobody is in the middle. A new code needs a new comparison."
                    } else {
                        "Compare the words (or the strip) with everyone, by phone or in person. \
                         If they all match, nobody is listening in."
                    }
                }}
            </p>
        </details>
    }
}

/// One code: its words, and its strip with a spoken description.
#[component]
fn Code(
    /// The code, with the epoch it belongs to.
    code: SafetyView,
) -> impl IntoView {
    let epoch = code.epoch;
    let words = code.words.join(" ");
    let cells = code.strip;
    let spoken = cells
        .iter()
        .map(|c| format!("{} on {}", c.emoji, c.colour))
        .collect::<Vec<_>>()
        .join(", ");
    view! {
        <p class="safety-words" data-testid="safety-words" data-epoch=epoch.to_string()>
            {words}
        </p>
        <div
            class="safety-strip"
            data-testid="safety-strip"
            role="img"
            aria-label=format!("The same code as pictures: {spoken}")
        >
            {cells
                .into_iter()
                .map(|c| {
                    view! {
                        <span class="safety-cell" title=c.colour style:background-color=c.hex>
                            {c.emoji}
                        </span>
                    }
                })
                .collect_view()}
        </div>
        <p class="hint">"State " {epoch} " of the room's encryption."</p>
    }
}
