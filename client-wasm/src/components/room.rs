//! The room: the conversation, the message box, the invite panel, the member list, the
//! room's safety code, and the host's and everyone's ways out.

use leptos::prelude::*;
use web_sys::KeyboardEvent;

use super::alerts::AlertsPanel;
use super::invite::InvitePanel;
use super::members::MemberList;
use super::messages::{focus, Conversation};
use super::safety::SafetyPanel;
use crate::state::{ClientHandle, Connection};

/// Below this width (CSS pixels) the side panels start folded, so the conversation keeps
/// most of a phone's screen.
const PHONE_WIDTH: f64 = 720.0;

/// What the user is asked to confirm.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Confirm {
    /// The host ends the room for everyone.
    End,
    /// The host leaves, and with it the host's powers.
    HostLeaves,
}

/// The room screen.
#[component]
pub(crate) fn Room() -> impl IntoView {
    let client = expect_context::<ClientHandle>();
    let ui = client.with_value(|c| c.ui);
    let confirming = RwSignal::new(None::<Confirm>);

    let leave_now = move || {
        confirming.set(None);
        if let Err(e) = client.with_value(|c| c.leave()) {
            ui.notice.set(Some(e.to_string()));
        }
    };
    let leave = move |_| {
        if ui.is_host.get_untracked() {
            confirming.set(Some(Confirm::HostLeaves));
            focus("cancel-confirm");
        } else {
            leave_now();
        }
    };
    let confirm = move |_| match confirming.get_untracked() {
        Some(Confirm::End) => {
            confirming.set(None);
            if let Err(e) = client.with_value(|c| c.terminate()) {
                ui.notice.set(Some(e.to_string()));
            }
        }
        Some(Confirm::HostLeaves) => leave_now(),
        None => {}
    };
    let cancel = move || {
        let was = confirming.get_untracked();
        confirming.set(None);
        focus(if was == Some(Confirm::End) {
            "terminate"
        } else {
            "leave"
        });
    };
    let on_key = move |ev: KeyboardEvent| {
        if ev.key() == "Escape" {
            ev.prevent_default();
            cancel();
        }
    };

    // On a phone the side panels start folded; the keyboard starts in the name prompt
    // (a newcomer) or the message box.
    request_animation_frame(move || {
        let narrow = window()
            .inner_width()
            .ok()
            .and_then(|w| w.as_f64())
            .is_some_and(|w| w <= PHONE_WIDTH);
        if narrow {
            if let Ok(panels) = document().query_selector_all(".side details") {
                for i in 0..panels.length() {
                    if let Some(el) = panels
                        .item(i)
                        .and_then(|n| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(n).ok())
                    {
                        let _ = el.remove_attribute("open");
                    }
                }
            }
        }
    });
    focus(
        if ui.is_host.get_untracked() || ui.nick_chosen.get_untracked() {
            "message"
        } else {
            "own-nick"
        },
    );

    view! {
        <div class="room">
            <header class="topbar">
                <span class="brand">"vroom"</span>
                <ConnectionBadge/>
                <Show when=move || ui.locked.get()>
                    <span id="locked-badge" class="badge lock" title="Nobody new can join">
                        "Locked"
                    </span>
                </Show>
                <div class="topbar-actions">
                    <Show when=move || ui.is_host.get()>
                        <button
                            id="terminate"
                            class="danger"
                            on:click=move |_| {
                                confirming.set(Some(Confirm::End));
                                focus("cancel-confirm");
                            }
                        >
                            "End room"
                        </button>
                    </Show>
                    <button id="leave" on:click=leave title=move || leave_hint(ui.grace_secs.get())>
                        "Leave"
                    </button>
                </div>
            </header>
            <Show when=move || confirming.get().is_some()>
                <div
                    class="confirm"
                    role="alertdialog"
                    aria-modal="true"
                    aria-labelledby="confirm-title"
                    on:keydown=on_key
                >
                    <p id="confirm-title">
                        {move || match confirming.get() {
                            Some(Confirm::HostLeaves) => view! {
                                <strong>"Leave the room you host?"</strong>
                                " You are the host. To choose who takes over, cancel and press "
                                "\"Make host\" beside them in the member list. If you leave now, "
                                "another member becomes the host by itself."
                            }
                            .into_any(),
                            _ => view! {
                                <strong>"End this room for everyone?"</strong>
                                " Everyone is told and every message is deleted, on every "
                                "device and on the relay. This cannot be undone."
                            }
                            .into_any(),
                        }}
                    </p>
                    <div class="confirm-actions">
                        <button id="confirm-terminate" class="danger" on:click=confirm>
                            {move || match confirming.get() {
                                Some(Confirm::HostLeaves) => "Leave anyway",
                                _ => "End room now",
                            }}
                        </button>
                        <button id="cancel-confirm" on:click=move |_| cancel()>
                            "Cancel"
                        </button>
                    </div>
                </div>
            </Show>
            <div class="room-body">
                <Conversation/>
                <aside class="side" aria-label="Room details">
                    <InvitePanel/>
                    <MemberList/>
                    <SafetyPanel/>
                    <AlertsPanel/>
                </aside>
            </div>
        </div>
    }
}

/// Whether the socket is live, so a user knows why nothing arrives.
#[component]
fn ConnectionBadge() -> impl IntoView {
    let ui = expect_context::<ClientHandle>().with_value(|c| c.ui);
    let text = move || match ui.connection.get() {
        Connection::Connecting => "Connecting…",
        Connection::Connected => "Encrypted · connected",
        Connection::Reconnecting => "Reconnecting…",
    };
    let class = move || match ui.connection.get() {
        Connection::Connected => "badge ok",
        _ => "badge warn",
    };
    view! {
        <span id="connection" class=class role="status" aria-live="polite">
            {text}
        </span>
    }
}

/// What leaving costs, and what closing the tab does instead: the relay keeps the
/// member's place through its grace period (a reload comes back as the same member).
fn leave_hint(grace_secs: Option<u32>) -> String {
    match grace_secs {
        Some(secs) => format!("Closing this tab keeps your place for {secs} s; Leave leaves now"),
        None => "Closing this tab keeps your place for a while; Leave leaves now".to_owned(),
    }
}
