//! Files in the room: the attach button, drag-and-drop and paste onto the conversation,
//! the "keep metadata" choice and the room's limit beside the message box, and one card
//! per file in the conversation (progress, cancel, receive, save, preview).

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{DragEvent, FileList, HtmlDialogElement};

use crate::files::{bytes, Card, Transfer};
use crate::state::ClientHandle;

/// The files of a list (an input's, a drop's, a paste's).
fn files_of(list: Option<FileList>) -> Vec<web_sys::File> {
    let Some(list) = list else {
        return Vec::new();
    };
    (0..list.length()).filter_map(|i| list.get(i)).collect()
}

/// Sends what was dropped on the conversation.
pub(crate) fn on_drop(client: ClientHandle, ev: DragEvent) {
    let files = files_of(ev.data_transfer().and_then(|d| d.files()));
    if !files.is_empty() {
        ev.prevent_default();
        client.with_value(|c| c.send_files(files));
    }
}

/// Lets files be dropped on the conversation.
pub(crate) fn on_drag_over(ev: DragEvent) {
    ev.prevent_default();
}

/// Sends files (a pasted screenshot) pasted into the message box; text pastes as usual.
pub(crate) fn on_paste(client: ClientHandle, ev: web_sys::ClipboardEvent) {
    let files = files_of(ev.clipboard_data().and_then(|d| d.files()));
    if !files.is_empty() {
        ev.prevent_default();
        client.with_value(|c| c.send_files(files));
    }
}

/// The attach button, the metadata choice and the room's file limit.
#[component]
pub(crate) fn Attach() -> impl IntoView {
    let client = expect_context::<ClientHandle>();
    let ui = client.with_value(|c| c.ui);
    let on_change = move |ev: leptos::ev::Event| {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        let files = files_of(input.files());
        // The same file may be picked again later.
        input.set_value("");
        client.with_value(|c| c.send_files(files));
    };
    view! {
        <div class="attach">
            <label for="file-input" class="button small">"Attach files"</label>
            <input id="file-input" class="visually-hidden" type="file" multiple on:change=on_change/>
            <label class="keep-meta">
                <input
                    id="keep-metadata"
                    type="checkbox"
                    prop:checked=move || ui.keep_metadata.get()
                    on:change=move |ev| ui.keep_metadata.set(event_target_checked(&ev))
                />
                " Keep metadata"
            </label>
            <span id="file-limit" class="hint">
                {move || ui.max_file.get().map(|max| format!("Files up to {}.", bytes(max)))}
                <span class="wide-only">
                    " Drop or paste them here. Pictures lose where and when they were taken \
                     unless you keep their metadata."
                </span>
            </span>
        </div>
    }
}

/// A file's card in the conversation.
pub(crate) fn card(client: ClientHandle, card: Card) -> impl IntoView {
    let Card {
        id,
        name,
        media_type,
        size,
        own,
        nick,
        state,
    } = card.clone();
    let previewed = card.previewed();
    let video = media_type.starts_with("video/");
    let dialog = NodeRef::<leptos::html::Dialog>::new();
    let status = move || match state.get() {
        Transfer::Queued => "Waiting to be sent…".to_owned(),
        Transfer::Offered => format!(
            "Offered to you. Receive it within {} seconds.",
            vroom_bridge::ACCEPT_MS / 1000
        ),
        Transfer::Running {
            done,
            total,
            rate,
            eta,
        } => format!(
            "{} of {} · {}/s · {}",
            bytes(done),
            bytes(total),
            bytes(rate),
            eta.map_or_else(|| "time left unknown".to_owned(), |s| format!("{s} s left"))
        ),
        Transfer::Sent => "Sent.".to_owned(),
        Transfer::Received(_) => "Received.".to_owned(),
        Transfer::Failed(why) => why,
    };
    // Per mille, in integers (formatting floats would add their code to the app).
    let fraction = move || match state.get() {
        Transfer::Running { done, total, .. } => {
            (done.saturating_mul(1000) / total.max(1)).to_string()
        }
        _ => "1000".to_owned(),
    };
    let failed = move || matches!(state.get(), Transfer::Failed(_));
    let name_for_save = name.clone();
    let name_for_alt = name.clone();
    let body = move || match state.get() {
        Transfer::Received(url) if previewed && video => view! {
            <video class="preview" src=url controls preload="metadata"></video>
        }
        .into_any(),
        Transfer::Received(url) if previewed => {
            let full = url.clone();
            let alt = name_for_alt.clone();
            view! {
                <button
                    class="preview-open"
                    title="Show full size"
                    on:click=move |_| {
                        if let Some(d) = dialog.get_untracked() {
                            let d: &HtmlDialogElement = &d;
                            let _ = d.show_modal();
                        }
                    }
                >
                    <img class="preview" src=url alt=alt.clone()/>
                </button>
                <dialog
                    class="full-size"
                    node_ref=dialog
                    on:click=move |_| {
                        if let Some(d) = dialog.get_untracked() {
                            d.close();
                        }
                    }
                >
                    <img src=full alt=alt/>
                </dialog>
            }
            .into_any()
        }
        _ => ().into_any(),
    };
    let actions = move || {
        match state.get() {
        Transfer::Offered => view! {
            <button class="small primary receive" on:click=move |_| client.with_value(|c| c.accept_file(id))>
                "Receive"
            </button>
            <button class="small decline" on:click=move |_| client.with_value(|c| c.cancel_file(id))>
                "Decline"
            </button>
        }
        .into_any(),
        Transfer::Queued | Transfer::Running { .. } => view! {
            <button class="small cancel-file" on:click=move |_| client.with_value(|c| c.cancel_file(id))>
                "Cancel"
            </button>
        }
        .into_any(),
        Transfer::Received(url) => view! {
            <a class="button small save" href=url download=name_for_save.clone()>"Save"</a>
            <button class="small remove-file" on:click=move |_| client.with_value(|c| c.remove_file(id))>
                "Remove"
            </button>
        }
        .into_any(),
        _ => ().into_any(),
    }
    };
    let data_name = name.clone();
    view! {
        <div class="file-card" class:own=own class:failed=failed data-file=data_name>
            <div class="meta">
                <span class="sender"><bdi>{nick}</bdi>{own.then_some(" (you)")}</span>
            </div>
            <p class="file-name">
                <bdi>{name}</bdi>
                " · "
                <span class="file-type">{media_type}</span>
                " · "
                <span class="file-size">{bytes(size)}</span>
            </p>
            {body}
            <progress max="1000" value=fraction></progress>
            <p class="file-status" role="status">{status}</p>
            <div class="tools">{actions}</div>
        </div>
    }
}
