//! Short codes on the page (PROTOCOL.md §11.2): the start page's "Join with a short
//! code" card, and the invite panel's codes (make, show with a live countdown, revoke).

use std::time::Duration;

use leptos::prelude::*;
use web_sys::SubmitEvent;

use super::TextInput;
use crate::state::{ClientHandle, LiveCode};

/// The start page's short-code way in. `nick` is the name typed in the "Start a room"
/// card.
#[component]
pub(crate) fn CodeWay(nick: RwSignal<String>) -> impl IntoView {
    let client = expect_context::<ClientHandle>();
    let codes = client.with_value(|c| c.ui.codes);
    let typed = RwSignal::new(String::new());
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if codes.joining.get_untracked() {
            return;
        }
        // Before the room module is there, the code waits for it.
        let (typed, nick) = (typed.get_untracked(), nick.get_untracked());
        client.with_value(|c| {
            c.when_ready_to_enter(move |c| {
                if let Err(sentence) = c.join_by_code(&typed, &nick) {
                    codes.join_error.set(Some(sentence));
                }
            })
        });
    };

    view! {
        <form class="card way" id="way-code" on:submit=submit aria-labelledby="way-code-title">
            <h2 id="way-code-title">"Join with a short code"</h2>
            <p class="hint" id="code-help">
                "Someone already in the room can make a short code, like 7-amber-river, and "
                "read it to you. Type it here: capitals, spaces or dashes are all fine. A code "
                "works for a few minutes, and a few wrong tries stop it for good."
            </p>
            <label for="join-code">"Short code"</label>
            <TextInput
                id="join-code"
                value=typed
                error=codes.join_error
                placeholder="7-amber-river"
                described_by="code-help code-error"
            />
            <p class="error" id="code-error" role="alert">{move || codes.join_error.get()}</p>
            <p class="status" id="code-status" role="status">
                {move || {
                    codes.joining.get().then_some("Asking a member of the room to let you in\u{2026}")
                }}
            </p>
            <button id="enter-code" type="submit" aria-disabled=move || codes.joining.get().to_string()>
                "Join with code"
            </button>
        </form>
    }
}

/// The invite panel's short codes: a button that makes one, and each live code large,
/// with its countdown, the wrong tries it survives, and a button that revokes it.
#[component]
pub(crate) fn CodePanel() -> impl IntoView {
    let client = expect_context::<ClientHandle>();
    let ui = client.with_value(|c| c.ui);
    let codes = ui.codes;
    let now = RwSignal::new(js_sys::Date::now() as u64);
    let clock = set_interval_with_handle(
        move || {
            let t = js_sys::Date::now() as u64;
            now.set(t);
            codes.expire(t);
        },
        Duration::from_secs(1),
    )
    .ok();
    on_cleanup(move || {
        if let Some(clock) = clock {
            clock.clear();
        }
    });

    let make = move |_| {
        if let Err(e) = client.with_value(|c| c.make_code()) {
            codes.note.set(Some(e.to_string()));
        }
    };
    let row = move |code: LiveCode| {
        let nameplate = code.nameplate;
        let expires = code.expires_at_ms;
        let revoke = move |_| {
            if let Err(e) = client.with_value(|c| c.revoke_code(nameplate)) {
                codes.note.set(Some(e.to_string()));
            }
        };
        let tries = match code.tries_left {
            1 => "1 wrong try left".to_owned(),
            n => format!("{n} wrong tries left"),
        };
        let used = match code.admitted {
            0 => String::new(),
            1 => ", let 1 person in".to_owned(),
            n => format!(", let {n} people in"),
        };
        view! {
            <li class="live-code" data-nameplate=nameplate.to_string()>
                <span class="code-text">{code.code.clone()}</span>
                <span class="code-meta">
                    <span class="code-expiry">
                        {move || {
                            // The clock ticks each second; a code made between two ticks
                            // counts from the time it is drawn.
                            let t = now.get().max(js_sys::Date::now() as u64);
                            countdown(expires.saturating_sub(t))
                        }}
                    </span>
                    {format!(" \u{b7} {tries}{used}")}
                </span>
                <button
                    class="revoke-code"
                    aria-label=format!("Revoke code {}", code.code)
                    on:click=revoke
                >
                    "Revoke"
                </button>
            </li>
        }
    };

    view! {
        <section class="codes" aria-labelledby="codes-title">
            <h3 id="codes-title">"Or give a short code"</h3>
            <p class="hint">
                "A short code is easy to read aloud over the phone. Whoever types it on this "
                "relay\u{2019}s start page joins, if you are online. It expires after a few "
                "minutes; three wrong tries stop it."
            </p>
            <button id="make-code" on:click=make>"Make a short code"</button>
            <ul class="code-list">
                <For
                    each=move || codes.live.get()
                    key=|c| (c.nameplate, c.tries_left, c.admitted)
                    children=row
                />
            </ul>
            <p class="status" id="code-note" role="status">{move || codes.note.get()}</p>
        </section>
    }
}

/// "expires in 4:32" for `ms` milliseconds left.
fn countdown(ms: u64) -> String {
    let secs = ms / 1000;
    format!("expires in {}:{:02}", secs / 60, secs % 60)
}
