//! Full-page states: connecting, waiting to be let in, the end of a room, and entries that failed.

use leptos::prelude::*;
use vroom_bridge::WAITING;

use crate::state::Problem;

/// Shown while the relay has not let us in yet.
#[component]
pub(crate) fn Connecting() -> impl IntoView {
    view! {
        <main class="page center">
            <div class="card narrow" role="status" aria-live="polite">
                <div class="spinner" aria-hidden="true"></div>
                <h1>"Opening the room…"</h1>
                <p>"Setting up encryption in your browser and reaching the relay."</p>
            </div>
        </main>
    }
}

/// Shown once the relay let us in, until a member of the room adds us to the group
/// (a newcomer cannot read or send before that).
#[component]
pub(crate) fn Waiting() -> impl IntoView {
    let client = expect_context::<crate::state::ClientHandle>();
    let still_waiting = client.with_value(|c| c.ui.still_waiting);
    let why_new = client.with_value(|c| c.ui.why_new);
    view! {
        <main class="page center">
            <div class="card narrow" role="status" aria-live="polite" data-testid="waiting">
                <div class="spinner" aria-hidden="true"></div>
                <h1 id="waiting">{WAITING}</h1>
                <p>
                    "A member who is online adds you to the room's encryption; "
                    "then the conversation opens."
                </p>
                <Show when=move || why_new.get().is_some()>
                    <p id="why-new">{move || why_new.get().unwrap_or_default()}</p>
                </Show>
                <Show when=move || still_waiting.get().is_some()>
                    <p class="still-waiting" data-testid="still-waiting">
                        {move || still_waiting.get().unwrap_or_default()}
                    </p>
                </Show>
            </div>
        </main>
    }
}

/// Shown when the room is over for this tab: says why; nothing of it is left.
#[component]
pub(crate) fn Ended(
    /// What happened to this member, as a heading.
    title: String,
    /// What happened, in one sentence.
    why: String,
) -> impl IntoView {
    view! {
        <main class="page center">
            <div class="card narrow ended">
                <h1 id="ended-title">{title}</h1>
                <p id="ended-reason" class="lead">{why}</p>
                <p>
                    "Nothing of the conversation is left on this page, and the relay keeps "
                    "nothing of it either."
                </p>
                <a class="button primary" href="/">"Start a new room"</a>
            </div>
        </main>
    }
}

/// Shown when a room could not be entered: what happened and what to do.
#[component]
pub(crate) fn Trouble(
    /// What went wrong.
    problem: Problem,
) -> impl IntoView {
    view! {
        <main class="page center">
            <div class="card narrow trouble" role="alert">
                <h1 id="problem-title">{problem.title}</h1>
                <p id="problem-detail" class="lead">{problem.detail}</p>
                <p>
                    "Ask the person who invited you for a new link, or start a room of your own."
                </p>
                <a class="button primary" href="/">"Go to the start page"</a>
            </div>
        </main>
    }
}
