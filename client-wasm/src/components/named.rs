//! The start page's "room name and passphrase" way in: the form, the passphrase's
//! strength while it is typed, the question when the relay says the room exists (or
//! does not), and the status while the room key is worked out.

use std::time::Duration;

use leptos::html;
use leptos::prelude::*;
use web_sys::SubmitEvent;

use super::{Check, TextInput};
use crate::state::{ClientHandle, NamedEntry, Refusal};
use crate::strength::{Meter, Strength};

/// The room name + passphrase form. `nick` is the name typed in the "Start a room" card.
#[component]
pub(crate) fn NamedWay(nick: RwSignal<String>) -> impl IntoView {
    let client = expect_context::<ClientHandle>();
    let ui = client.with_value(|c| c.ui);
    // After a refusal the page is shown again: the form keeps what was typed.
    let asked = ui.refusal.get_untracked().map(|r| r.entry().clone());
    let name = RwSignal::new(asked.as_ref().map(|e| e.name.clone()).unwrap_or_default());
    let passphrase = RwSignal::new(
        asked
            .as_ref()
            .map(|e| e.passphrase.to_string())
            .unwrap_or_default(),
    );
    let create = RwSignal::new(asked.as_ref().is_none_or(|e| e.create));
    let show = RwSignal::new(false);
    let weak_ok = RwSignal::new(false);
    let weak_asked = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let working = RwSignal::new(false);
    let strength = Strength::default();
    let meter = strength.meter;
    let answer_ref = NodeRef::<html::Button>::new();

    let estimate = {
        let strength = strength.clone();
        move || {
            let hints = name
                .get_untracked()
                .split_whitespace()
                .map(str::to_owned)
                .collect();
            strength.update(&passphrase.get_untracked(), hints);
        }
    };
    if !passphrase.get_untracked().is_empty() {
        estimate();
    }

    // Checks, then shows "Working out the room key…" and lets the page paint it before
    // the key stretching blocks the page's thread.
    let attempt = move |creating: bool| {
        error.set(None);
        ui.refusal.set(None);
        let entry = NamedEntry {
            name: name.get_untracked(),
            passphrase: passphrase.get_untracked(),
            nick: nick.get_untracked(),
            create: creating,
        };
        if let Err(e) = client.with_value(|c| c.check_named(entry)) {
            return error.set(Some(e));
        }
        if creating && !weak_ok.get_untracked() {
            let refusal = match meter.get_untracked() {
                Meter::Ready(e) if e.good() => None,
                Meter::Ready(e) => Some(format!(
                    "This passphrase is weak ({}): whoever runs the relay could guess it. {}{}",
                    e.label.to_lowercase(),
                    sentence(&e.warning),
                    if e.suggestion.is_empty() {
                        "Add more unusual words, or tick \u{201c}Use it anyway\u{201d}.".to_owned()
                    } else {
                        format!(
                            "{} Or tick \u{201c}Use it anyway\u{201d}.",
                            sentence(&e.suggestion)
                        )
                    }
                )),
                Meter::Unavailable => Some(
                    "The strength check could not be loaded, so this passphrase was not checked. \
                     Tick \u{201c}Use it anyway\u{201d} if you are sure it is strong."
                        .to_owned(),
                ),
                Meter::Idle => Some(
                    "The passphrase's strength is still being checked. Try again in a moment."
                        .to_owned(),
                ),
            };
            if let Some(refusal) = refusal {
                weak_asked.set(true);
                return error.set(Some(refusal));
            }
        }
        working.set(true);
        request_animation_frame(move || {
            set_timeout(
                move || {
                    match client.with_value(|c| c.enter_named()) {
                        // For the browser test that records the cost (BENCHMARKS.md).
                        Ok(took) => {
                            if let Some(body) = document().body() {
                                let _ = body.set_attribute("data-derive-ms", &format!("{took:.0}"));
                            }
                        }
                        Err(sentence) => {
                            working.set(false);
                            error.set(Some(sentence));
                        }
                    }
                },
                Duration::ZERO,
            );
        });
    };
    // Before the room module is there, the attempt waits for it.
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let creating = create.get_untracked();
        client.with_value(|c| c.when_ready_to_enter(move |_| attempt(creating)));
    };

    // A question from the relay's answer: focus its first button, so a keyboard user
    // answers it at once (the text is announced: role="alert").
    Effect::new(move |_| {
        if ui.refusal.with(Option::is_some) {
            if let Some(button) = answer_ref.get() {
                let _ = button.focus();
            }
        }
    });
    let question = move || {
        ui.refusal.get().map(|refusal| {
            let (text, yes, creating) = match refusal {
                Refusal::Exists(_) => (
                    "This room already exists \u{2014} join it?",
                    "Join it",
                    false,
                ),
                Refusal::Missing(_) => (
                    "No such room \u{2014} create it? (Or check the name and passphrase for typos.)",
                    "Create it",
                    true,
                ),
            };
            view! {
                <div class="question" id="named-question" role="alert">
                    <p id="named-question-text">{text}</p>
                    <div class="row">
                        <button
                            type="button"
                            id="answer-yes"
                            class="primary"
                            node_ref=answer_ref
                            on:click=move |_| {
                                create.set(creating);
                                attempt(creating);
                            }
                        >
                            {yes}
                        </button>
                        <button type="button" id="answer-no" on:click=move |_| ui.refusal.set(None)>
                            "Cancel"
                        </button>
                    </div>
                </div>
            }
        })
    };

    let meter_view = move || match meter.get() {
        Meter::Idle => None,
        Meter::Unavailable => {
            Some(view! { <p>"The strength check could not be loaded."</p> }.into_any())
        }
        Meter::Ready(e) => {
            let class = if e.good() {
                "strength good"
            } else {
                "strength weak"
            };
            let advice = [sentence(&e.warning), sentence(&e.suggestion)].join(" ");
            Some(
                view! {
                    <meter min="0" max="4" low="2.5" optimum="4" value=e.score aria-hidden="true"></meter>
                    <p class=class>
                        <strong id="strength-label">{e.label.clone()}</strong>
                        {format!(" (about 10^{:.0} guesses). ", e.guesses_log10)}
                        {advice}
                    </p>
                }
                .into_any(),
            )
        }
    };

    view! {
        <form class="card way" id="way-name" on:submit=submit aria-labelledby="way-name-title">
            <h2 id="way-name-title">"A room name and a passphrase"</h2>
            <p class="hint">
                "Agree with the others on a room name and a passphrase, in person or by phone. "
                "Everyone who types both reaches the same room; the same name with another "
                "passphrase is another, separate room. The passphrase is what keeps others "
                "out, so make it several unusual words."
            </p>
            <fieldset>
                <legend>"What do you want to do?"</legend>
                <label class="check">
                    <input
                        type="radio"
                        name="named-mode"
                        id="named-create"
                        prop:checked=move || create.get()
                        on:change=move |_| create.set(true)
                    />
                    "Create a new room"
                </label>
                <label class="check">
                    <input
                        type="radio"
                        name="named-mode"
                        id="named-join"
                        prop:checked=move || !create.get()
                        on:change=move |_| create.set(false)
                    />
                    "Join a room that is open"
                </label>
            </fieldset>
            <fieldset>
                <legend>"The room"</legend>
                <label for="room-name">"Room name"</label>
                <TextInput
                    id="room-name"
                    value=name
                    error
                    maxlength=200
                    described_by="room-name-hint named-error"
                />
                <p class="hint" id="room-name-hint">
                    "Capitals and extra spaces do not matter: \u{201c}Book Club\u{201d} is \u{201c}book club\u{201d}."
                </p>
                <label for="room-passphrase">"Passphrase"</label>
                <input
                    id="room-passphrase"
                    type=move || if show.get() { "text" } else { "password" }
                    autocomplete="off"
                    spellcheck="false"
                    aria-describedby="passphrase-rule passphrase-strength"
                    prop:value=move || passphrase.get()
                    on:input={
                        let estimate = estimate.clone();
                        move |ev| {
                            error.set(None);
                            weak_ok.set(false);
                            passphrase.set(event_target_value(&ev));
                            estimate();
                        }
                    }
                />
                <Check id="show-passphrase" checked=show text="Show the passphrase"/>
                <p class="hint" id="passphrase-rule">
                    "At least 12 characters. Capitals and spaces inside count."
                </p>
                <div id="passphrase-strength" role="status" aria-live="polite">{meter_view}</div>
            </fieldset>
            <Show when=move || weak_asked.get() && create.get()>
                <Check
                    id="weak-ok"
                    checked=weak_ok
                    text="Use it anyway (anyone who runs the relay may guess it)"
                />
            </Show>
            <p class="error" id="named-error" role="alert">{move || error.get()}</p>
            {question}
            <button id="enter-named" type="submit" class="primary" disabled=move || working.get()>
                {move || if create.get() { "Create this room" } else { "Join this room" }}
            </button>
            // Always on the page, so screen readers announce the text when it appears.
            <p class="status" id="named-working" role="status">
                {move || {
                    working
                        .get()
                        .then_some(
                            "Working out the room key\u{2026} This takes a moment on purpose: \
                             it makes passphrases slow to guess.",
                        )
                }}
            </p>
        </form>
    }
}

/// `text` as a sentence (a full stop at the end), or nothing.
fn sentence(text: &str) -> String {
    let text = text.trim();
    if text.is_empty() || text.ends_with(['.', '!', '?']) {
        text.to_owned()
    } else {
        format!("{text}.")
    }
}
