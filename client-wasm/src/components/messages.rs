//! The conversation and the message box. The list follows new messages unless the
//! reader has scrolled up to read older ones; then a button offers the way back down.

use leptos::prelude::*;
use web_sys::SubmitEvent;

use crate::state::{ClientHandle, Line, LineKind};

/// How close to the bottom (in pixels) still counts as "at the bottom".
const STICK_DISTANCE: i32 = 48;

/// The conversation column.
#[component]
pub(crate) fn Conversation() -> impl IntoView {
    let client = expect_context::<ClientHandle>();
    let ui = client.with_value(|c| c.ui);
    let list = NodeRef::<leptos::html::Ol>::new();
    // Whether the reader is at the bottom; new lines scroll into view only then.
    let stick = StoredValue::new(true);
    let unseen = RwSignal::new(false);
    let draft = RwSignal::new(String::new());

    let to_bottom = move || {
        request_animation_frame(move || {
            // The frame may come after the room closed and took the list with it.
            if let Some(el) = list.try_get_untracked().flatten() {
                el.set_scroll_top(el.scroll_height());
            }
        });
    };
    let on_scroll = move |_| {
        if let Some(el) = list.get_untracked() {
            let at_bottom =
                el.scroll_top() + el.client_height() >= el.scroll_height() - STICK_DISTANCE;
            stick.set_value(at_bottom);
            if at_bottom {
                unseen.set(false);
            }
        }
    };
    Effect::new(move |_| {
        ui.lines.track();
        if stick.get_value() {
            to_bottom();
        } else {
            unseen.set(true);
        }
    });

    let send = move |ev: SubmitEvent| {
        ev.prevent_default();
        let text = draft.get_untracked();
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        match client.with_value(|c| c.send_text(text)) {
            Ok(()) => {
                draft.set(String::new());
                ui.notice.set(None);
                // Your own message always brings you back to the latest.
                stick.set_value(true);
                unseen.set(false);
            }
            Err(e) => ui.notice.set(Some(e.to_string())),
        }
    };

    view! {
        <section class="chat" aria-label="Conversation">
            <NamePrompt/>
            <ol class="lines" node_ref=list on:scroll=on_scroll aria-live="polite">
                <Show when=move || ui.lines.with(Vec::is_empty)>
                    <li class="empty">
                        "No messages yet. Messages are end-to-end encrypted and disappear "
                        "with the room."
                    </li>
                </Show>
                <For each=move || ui.lines.get() key=|line| line.id children=render_line/>
            </ol>
            <Show when=move || unseen.get()>
                <button
                    class="jump"
                    on:click=move |_| {
                        stick.set_value(true);
                        unseen.set(false);
                        to_bottom();
                    }
                >
                    "New messages ↓"
                </button>
            </Show>
            <form class="composer" on:submit=send>
                <label for="message" class="visually-hidden">"Message"</label>
                <input
                    id="message"
                    type="text"
                    autocomplete="off"
                    placeholder="Write a message…"
                    prop:value=move || draft.get()
                    on:input=move |ev| draft.set(event_target_value(&ev))
                />
                <button id="send" type="submit" class="primary">"Send"</button>
            </form>
            <Show when=move || ui.notice.get().is_some()>
                <p class="notice" role="alert">{move || ui.notice.get()}</p>
            </Show>
        </section>
    }
}

fn render_line(line: Line) -> impl IntoView {
    match line.kind {
        LineKind::Message {
            nick,
            text,
            sent_at_ms,
            own,
        } => {
            let (short, full) = times(sent_at_ms);
            view! {
                <li class="message" class:own=own>
                    <div class="meta">
                        <span class="sender">{if own { format!("{nick} (you)") } else { nick }}</span>
                        <time title=full>{short}</time>
                    </div>
                    <p class="text">{text}</p>
                </li>
            }
            .into_any()
        }
        LineKind::Notice(text) => view! { <li class="event">{text}</li> }.into_any(),
        LineKind::Warning(text) => view! {
            <li class="warning" role="alert">
                <strong>"Security warning: "</strong>
                {text}
            </li>
        }
        .into_any(),
    }
}

/// `HH:MM` and the full local date and time of a timestamp.
fn times(ms: u64) -> (String, String) {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    let short = format!("{:02}:{:02}", date.get_hours(), date.get_minutes());
    let full = String::from(date.to_locale_string("default", &wasm_bindgen::JsValue::UNDEFINED));
    (short, full)
}

/// Asks a member who came in by a link, once, for the name others see, prefilled with
/// the friendly default. (The host picked a name on the start page.)
#[component]
fn NamePrompt() -> impl IntoView {
    let client = expect_context::<ClientHandle>();
    let ui = client.with_value(|c| c.ui);
    let open = RwSignal::new(!ui.is_host.get_untracked());
    let own_nick = move || {
        ui.members
            .with(|m| m.iter().find(|m| m.is_self).map(|m| m.nick.clone()))
            .unwrap_or_default()
    };
    let name = RwSignal::new(None::<String>);
    let save = move |ev: SubmitEvent| {
        ev.prevent_default();
        let wanted = name.get_untracked().unwrap_or_else(own_nick);
        match client.with_value(|c| c.set_nick(wanted.trim())) {
            Ok(()) => open.set(false),
            Err(e) => ui.notice.set(Some(e.to_string())),
        }
    };
    view! {
        <Show when=move || open.get()>
            <form class="name-prompt" on:submit=save>
                <label for="own-nick">"Your name in this room"</label>
                <div class="row">
                    <input
                        id="own-nick"
                        type="text"
                        maxlength="40"
                        autocomplete="off"
                        prop:value=move || name.get().unwrap_or_else(own_nick)
                        on:input=move |ev| name.set(Some(event_target_value(&ev)))
                    />
                    <button id="save-nick" type="submit" class="primary">"Save"</button>
                    <button id="keep-nick" type="button" on:click=move |_| open.set(false)>
                        "Keep"
                    </button>
                </div>
            </form>
        </Show>
    }
}
