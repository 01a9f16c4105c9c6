//! The start page: what vroom is in plain words, and the ways in: create a room (and
//! share its link), open an invite link, meet in a room by name and passphrase, or join
//! with a short code.

use leptos::prelude::*;
use web_sys::SubmitEvent;

use crate::components::codes::CodeWay;
use crate::components::named::NamedWay;
use crate::components::TextInput;
use crate::nick;
use crate::state::{ClientHandle, LinkCheck};

/// The start page.
#[component]
pub(crate) fn Landing() -> impl IntoView {
    let client = expect_context::<ClientHandle>();
    // Back from a question about a room entered by name: the name typed before.
    let asked = client.with_value(|c| c.ui.refusal.get_untracked());
    let nick = RwSignal::new(asked.map_or_else(nick::friendly, |r| r.entry().nick.clone()));
    let link = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);

    let nick_error = RwSignal::new(None::<String>);
    // Before the room module is there, a click waits for it.
    let create = move |ev: SubmitEvent| {
        ev.prevent_default();
        let nick = nick.get_untracked();
        client.with_value(|c| {
            c.when_ready_to_enter(move |c| {
                if let Err(e) = c.create(&nick) {
                    nick_error.set(Some(e.to_string()));
                }
            })
        });
    };
    let join = move |ev: SubmitEvent| {
        ev.prevent_default();
        let origin = window().location().origin().unwrap_or_default();
        let (link, nick) = (link.get_untracked(), nick.get_untracked());
        client.with_value(|c| {
            c.when_ready_to_enter(move |c| match c.check_pasted(&origin, &link) {
                LinkCheck::Here(invite) => {
                    if let Err(e) = c.join(&invite, &nick) {
                        nick_error.set(Some(e));
                    }
                }
                LinkCheck::Elsewhere(url) => {
                    let _ = window().location().assign(&url);
                }
                LinkCheck::Invalid(why) => error.set(Some(why)),
                // Not a link at all.
                LinkCheck::Landing => {}
            })
        });
    };

    view! {
        <main class="landing">
            <header class="brand-bar">
                <span class="brand">"vroom"</span>
            </header>
            <section class="hero">
                <h1>"Private chat rooms that vanish."</h1>
                <p class="lead">
                    "Open a room, share its link with the people you want to talk to, and chat. "
                    "No account, no e-mail, no phone number."
                </p>
            </section>
            <div class="actions-grid">
                <form class="card" on:submit=create>
                    <h2>"Start a room"</h2>
                    <label for="nick">"Your name in the room"</label>
                    <TextInput
                        id="nick"
                        value=nick
                        error=nick_error
                        maxlength=40
                        described_by="nick-error"
                    />
                    <Show when=move || nick_error.get().is_some()>
                        <p class="error" id="nick-error" role="alert">{move || nick_error.get()}</p>
                    </Show>
                    <p class="hint">"Any name will do. Others see it next to your messages."</p>
                    <button id="create-room" type="submit" class="primary">"Create room"</button>
                </form>
                <form class="card" on:submit=join>
                    <h2>"Join with a link"</h2>
                    <label for="join-link">"Invite link"</label>
                    <TextInput
                        id="join-link"
                        value=link
                        error
                        kind="url"
                        placeholder="https://…/r#…"
                        described_by="join-link-error"
                    />
                    <p class="hint">"Paste the link someone shared with you."</p>
                    <Show when=move || error.get().is_some()>
                        <p class="error" id="join-link-error" role="alert">{move || error.get()}</p>
                    </Show>
                    <button id="join-room" type="submit">"Join room"</button>
                </form>
            </div>
            <section class="ways" aria-labelledby="other-ways">
                <h2 id="other-ways">"Or meet without a link"</h2>
                <div class="actions-grid">
                    <NamedWay nick/>
                    <CodeWay nick/>
                </div>
            </section>
            <h2 class="how">"How it works"</h2>
            <ul class="facts">
                <li>
                    <strong>"A room"</strong>
                    " is a private conversation for the people who have its link."
                </li>
                <li>
                    <strong>"Only you can read it. "</strong>
                    "Messages are encrypted in your browser before they leave it. "
                    "The relay that passes them on cannot read them."
                </li>
                <li>
                    <strong>"Nothing is stored. "</strong>
                    "There is no history and no log of who talked to whom."
                </li>
                <li>
                    <strong>"Everything disappears. "</strong>
                    "When the host ends the room, when everyone has left, or after a long "
                    "silence, the room and all its messages are deleted."
                </li>
            </ul>
            <footer class="footer">
                <p>
                    "Tip: compare the safety words shown next to each person with them in "
                    "person or by phone. If they match, nobody is listening in."
                </p>
            </footer>
        </main>
    }
}
