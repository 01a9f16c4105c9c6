//! The room: the conversation, the message box, the invite panel, the member list, the
//! room's safety code, and the host's and everyone's ways out.

use leptos::prelude::*;

use super::invite::InvitePanel;
use super::members::MemberList;
use super::messages::Conversation;
use super::safety::SafetyPanel;
use crate::state::{ClientHandle, Connection};

/// The room screen.
#[component]
pub(crate) fn Room() -> impl IntoView {
    let client = expect_context::<ClientHandle>();
    let ui = client.with_value(|c| c.ui);
    let confirming = RwSignal::new(false);

    let leave = move |_| {
        if let Err(e) = client.with_value(|c| c.leave()) {
            ui.notice.set(Some(e.to_string()));
        }
    };
    let terminate = move |_| {
        confirming.set(false);
        if let Err(e) = client.with_value(|c| c.terminate()) {
            ui.notice.set(Some(e.to_string()));
        }
    };

    view! {
        <div class="room">
            <header class="topbar">
                <span class="brand">"vroom"</span>
                <ConnectionBadge/>
                <div class="topbar-actions">
                    <Show when=move || ui.is_host.get()>
                        <button
                            id="terminate"
                            class="danger"
                            on:click=move |_| confirming.set(true)
                        >
                            "End room"
                        </button>
                    </Show>
                    <button id="leave" on:click=leave>"Leave"</button>
                </div>
            </header>
            <Show when=move || confirming.get()>
                <div class="confirm" role="alertdialog" aria-labelledby="confirm-title">
                    <p id="confirm-title">
                        <strong>"End this room for everyone?"</strong>
                        " Everyone is told and every message is deleted, on every device and "
                        "on the relay. This cannot be undone."
                    </p>
                    <div class="confirm-actions">
                        <button id="confirm-terminate" class="danger" on:click=terminate>
                            "End room now"
                        </button>
                        <button id="cancel-terminate" on:click=move |_| confirming.set(false)>
                            "Cancel"
                        </button>
                    </div>
                </div>
            </Show>
            <div class="room-body">
                <Conversation/>
                <aside class="side">
                    <InvitePanel/>
                    <MemberList/>
                    <SafetyPanel/>
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
