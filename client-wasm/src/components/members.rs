//! The member list: nicknames, the host, moderators, and each member's safety words;
//! the host's and moderators' buttons.

use leptos::prelude::*;

use crate::state::{badge, ClientHandle, Compose, MemberInfo, Presence};

/// Everyone verified in the room, this member first.
#[component]
pub(crate) fn MemberList() -> impl IntoView {
    let client = expect_context::<ClientHandle>();
    let ui = client.with_value(|c| c.ui);
    let count = move || ui.members.with(Vec::len);
    view! {
        <details class="panel" open=super::wide()>
            <summary>"People here (" {count} ")"</summary>
            <ul class="members">
                <For
                    each=move || ui.members.get()
                    key=|m: &MemberInfo| (m.member, m.nick.clone(), m.presence == Presence::Away, m.is_host, m.is_moderator)
                    children=move |m: MemberInfo| {
                        let member = m.member;
                        let hosting = move || ui.is_host.get() && !m.is_self;
                        // A moderator removes anyone but the host and other moderators.
                        let removable = move || {
                            hosting()
                                || (ui.is_moderator.get() && !m.is_self && !m.is_host && !m.is_moderator)
                        };
                        let is_moderator = m.is_moderator;
                        let moderator_label = if is_moderator {
                            format!("Remove {} ({}) as moderator", m.nick, badge(&m.fingerprint))
                        } else {
                            format!("Make {} ({}) a moderator", m.nick, badge(&m.fingerprint))
                        };
                        let remove_label = format!("Remove {} ({})", m.nick, badge(&m.fingerprint));
                        let host_label = format!("Make {} ({}) the host", m.nick, badge(&m.fingerprint));
                        let dm_label = format!("Message {} privately", m.nick);
                        let dm_nick = m.nick.clone();
                        let away = m.presence == Presence::Away;
                        view! {
                            <li class="member">
                                <div class="member-name">
                                    <bdi class="nick">{m.nick.clone()}</bdi>
                                    <span class="badge-id" title="The start of this person's safety words">
                                        {badge(&m.fingerprint)}
                                    </span>
                                    {m.is_self.then(|| view! { <span class="tag">"you"</span> })}
                                    {m.is_host.then(|| view! { <span class="tag host">"host"</span> })}
                                    {(m.is_moderator && !m.is_host).then(|| view! {
                                        <span class="tag moderator" title="Can remove people and lock the room">
                                            "moderator"
                                        </span>
                                    })}
                                    <span class="presence" class:away=away>
                                        {if away { "away" } else { "active" }}
                                    </span>
                                </div>
                                <code class="fingerprint" title="Safety words">
                                    {m.fingerprint.clone()}
                                </code>
                                {(!m.is_self).then(|| view! {
                                    <button
                                        class="small dm"
                                        aria-label=dm_label
                                        on:click=move |_| {
                                            ui.compose.set(Compose::Direct(member, dm_nick.clone()));
                                            super::messages::focus("message");
                                        }
                                    >
                                        "Private message"
                                    </button>
                                })}
                                <Show when=removable>
                                    <button
                                        class="small remove"
                                        aria-label=remove_label.clone()
                                        on:click=move |_| {
                                            if let Err(e) = client.with_value(|c| c.kick(member)) {
                                                ui.notice.set(Some(e.to_string()));
                                            }
                                        }
                                    >
                                        "Remove"
                                    </button>
                                </Show>
                                <Show when=hosting>
                                    <button
                                        class="small moderator"
                                        aria-label=moderator_label.clone()
                                        on:click=move |_| {
                                            let on = !is_moderator;
                                            if let Err(e) = client.with_value(|c| c.set_moderator(member, on)) {
                                                ui.notice.set(Some(e.to_string()));
                                            }
                                        }
                                    >
                                        {if is_moderator { "Remove moderator" } else { "Make moderator" }}
                                    </button>
                                    <button
                                        class="small make-host"
                                        aria-label=host_label.clone()
                                        on:click=move |_| {
                                            if let Err(e) = client.with_value(|c| c.hand_over(member)) {
                                                ui.notice.set(Some(e.to_string()));
                                            }
                                        }
                                    >
                                        "Make host"
                                    </button>
                                </Show>
                            </li>
                        }
                    }
                />
            </ul>
            <p class="hint">
                "Compare each person's safety words with them by phone or in person. "
                "If they match, nobody is listening in."
            </p>
        </details>
    }
}
