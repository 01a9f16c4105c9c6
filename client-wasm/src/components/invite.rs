//! The invite panel: the link (with a copy button), its QR code, and the host's lock.

use std::time::Duration;

use leptos::prelude::*;
use qrcode::render::svg;
use qrcode::QrCode;

use crate::state::ClientHandle;

/// The link to share, as text and as a QR code.
#[component]
pub(crate) fn InvitePanel() -> impl IntoView {
    let client = expect_context::<ClientHandle>();
    let ui = client.with_value(|c| c.ui);
    let copied = RwSignal::new(false);
    let link = move || ui.invite.get().unwrap_or_default();
    let qr = Memo::new(move |_| ui.invite.get().map(|link| qr_svg(&link)));

    let copy = move |_| {
        let Some(text) = ui.invite.get_untracked() else {
            return;
        };
        let promise = window().navigator().clipboard().write_text(&text);
        wasm_bindgen_futures::spawn_local(async move {
            if wasm_bindgen_futures::JsFuture::from(promise).await.is_ok() {
                copied.set(true);
                set_timeout(move || copied.set(false), Duration::from_secs(2));
            } else {
                ui.notice.set(Some(
                    "Could not copy. Select the link and copy it by hand.".to_owned(),
                ));
            }
        });
    };
    let toggle_lock = move |_| {
        let locked = ui.locked.get_untracked();
        if let Err(e) = client.with_value(|c| c.lock(!locked)) {
            ui.notice.set(Some(e.to_string()));
        }
    };

    view! {
        <details class="panel invite" open>
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
            <Show when=move || ui.is_host.get()>
                <button id="lock" on:click=toggle_lock>
                    {move || if ui.locked.get() { "Unlock room" } else { "Lock room (no new people)" }}
                </button>
            </Show>
        </details>
    }
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
