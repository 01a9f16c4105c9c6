//! The invite panel: the link (with a copy button), its QR code, for a room entered by
//! name the name and (behind "Show") the passphrase, short codes, and the host's lock.

use std::time::Duration;

use leptos::prelude::*;
use qrcode::render::svg;
use qrcode::QrCode;

use crate::components::codes::CodePanel;
use crate::state::{ClientHandle, RoomUi};

/// The link to share, as text and as a QR code.
#[component]
pub(crate) fn InvitePanel() -> impl IntoView {
    let client = expect_context::<ClientHandle>();
    let ui = client.with_value(|c| c.ui);
    let copied = RwSignal::new(false);
    let link = move || ui.invite.get().unwrap_or_default();
    let qr = Memo::new(move |_| ui.invite.get().map(|link| qr_svg(&link)));

    let copy = move |_| {
        if let Some(text) = ui.invite.get_untracked() {
            copy_text(ui, &text, copied, "the link");
        }
    };
    let cap_input = RwSignal::new(String::new());
    let set_cap = move |_| {
        let cap = cap_input
            .get_untracked()
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| *n > 0);
        if let Err(e) = client.with_value(|c| c.set_member_cap(cap)) {
            ui.notice.set(Some(e.to_string()));
        }
    };
    let toggle_lock = move |_| {
        let locked = ui.locked.get_untracked();
        if let Err(e) = client.with_value(|c| c.lock(!locked)) {
            ui.notice.set(Some(e.to_string()));
        }
    };

    view! {
        <details class="panel invite" open=super::wide()>
            <summary>"Invite people"</summary>
            <label for="invite-link" id="invite-status" class:locked=move || ui.locked.get()>
                {move || {
                    if ui.locked.get() {
                        "Joining is locked: nobody new can join, even with this link"
                    } else {
                        "Anyone with this link can join"
                    }
                }}
            </label>
            <div class="row">
                <input id="invite-link" type="text" readonly prop:value=link/>
                <button id="copy-link" on:click=copy>
                    {move || if copied.get() { "Copied" } else { "Copy" }}
                </button>
            </div>
            <div class="qr" role="img" aria-label="QR code of the invite link" inner_html=move || qr.get().unwrap_or_default()></div>
            <p class="hint">
                "The secret part of the link (after #) never reaches the relay. Share it only "
                "with the people you want in the room."
            </p>
            <CodePanel/>
            <Show when=move || ui.named.with(|n| n.as_ref().is_some_and(|n| !n.replaced))>
                <NamedInvite/>
            </Show>
            <Show when=move || ui.named.with(|n| n.as_ref().is_some_and(|n| n.replaced))>
                <p id="named-replaced" class="hint">
                    "The room name and passphrase no longer let anyone in: the host removed "
                    "someone who knows them. Share the link above or a short code instead."
                </p>
            </Show>
            <p id="cap-status" class="hint">
                {move || ui.member_cap.get().map(|n| format!("The host lets at most {n} members in"))}
            </p>
            <Show when=move || ui.is_host.get() || ui.is_moderator.get()>
                <button id="lock" on:click=toggle_lock>
                    {move || if ui.locked.get() { "Unlock room" } else { "Lock room (no new people)" }}
                </button>
            </Show>
            <Show when=move || ui.is_host.get()>
                <label for="member-cap">"Most members (empty: the relay\u{2019}s limit)"</label>
                <div class="row">
                    <input
                        id="member-cap"
                        type="number"
                        min="1"
                        on:input=move |ev| cap_input.set(event_target_value(&ev))
                    />
                    <button id="set-cap" on:click=set_cap>"Set"</button>
                </div>
            </Show>
        </details>
    }
}

/// The room name and passphrase of a room entered by name: others who type both join.
#[component]
fn NamedInvite() -> impl IntoView {
    let client = expect_context::<ClientHandle>();
    let ui = client.with_value(|c| c.ui);
    let shown = RwSignal::new(false);
    let copied_name = RwSignal::new(false);
    let copied_pass = RwSignal::new(false);
    let name = move || ui.named.with(|n| n.as_ref().map(|n| n.name.clone()));
    let copy_name = move |_| {
        if let Some(name) = name() {
            copy_text(ui, &name, copied_name, "the room name");
        }
    };
    let copy_pass = move |_| {
        let pass = ui
            .named
            .with_untracked(|n| n.as_ref().map(|n| n.passphrase.clone()));
        if let Some(pass) = pass {
            copy_text(ui, &pass, copied_pass, "the passphrase");
        }
    };
    view! {
        <fieldset class="named-invite">
            <legend>"Or share the room name and passphrase"</legend>
            <p class="hint">
                "Anyone who types both on this relay\u{2019}s start page joins this room. Tell "
                "them in person or by phone, not where others can read it."
            </p>
            <label for="invite-name">"Room name"</label>
            <div class="row">
                <input id="invite-name" type="text" readonly prop:value=move || name().unwrap_or_default()/>
                <button id="copy-name" on:click=copy_name>
                    {move || if copied_name.get() { "Copied" } else { "Copy" }}
                </button>
            </div>
            <label for="invite-passphrase">"Passphrase"</label>
            <div class="row">
                <input
                    id="invite-passphrase"
                    type=move || if shown.get() { "text" } else { "password" }
                    readonly
                    prop:value=move || {
                        if shown.get() {
                            ui.named.with(|n| n.as_ref().map(|n| n.passphrase.to_string()))
                                .unwrap_or_default()
                        } else {
                            "\u{2022}".repeat(10)
                        }
                    }
                />
                <button
                    id="show-invite-passphrase"
                    aria-controls="invite-passphrase"
                    aria-pressed=move || shown.get().to_string()
                    on:click=move |_| shown.update(|s| *s = !*s)
                >
                    {move || if shown.get() { "Hide" } else { "Show" }}
                </button>
                <button id="copy-passphrase" on:click=copy_pass>
                    {move || if copied_pass.get() { "Copied" } else { "Copy" }}
                </button>
            </div>
        </fieldset>
    }
}

/// Copies `text`; `copied` is true for two seconds after. `what` names it in the
/// sentence shown when the browser refuses.
fn copy_text(ui: RoomUi, text: &str, copied: RwSignal<bool>, what: &'static str) {
    let promise = window().navigator().clipboard().write_text(text);
    wasm_bindgen_futures::spawn_local(async move {
        if wasm_bindgen_futures::JsFuture::from(promise).await.is_ok() {
            copied.set(true);
            set_timeout(move || copied.set(false), Duration::from_secs(2));
        } else {
            ui.notice.set(Some(format!(
                "Could not copy. Select {what} and copy it by hand."
            )));
        }
    });
}

/// The QR code of `link` as an SVG document.
fn qr_svg(link: &str) -> String {
    match QrCode::new(link.as_bytes()) {
        Ok(code) => code
            .render::<svg::Color<'_>>()
            .min_dimensions(180, 180)
            .dark_color(svg::Color("#111111"))
            .light_color(svg::Color("#ffffff"))
            .build(),
        Err(_) => String::new(),
    }
}
