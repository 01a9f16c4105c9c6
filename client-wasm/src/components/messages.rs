//! The conversation and the message box.
//!
//! The list shows a window of at most [`WINDOW`] lines, so a room with thousands of
//! messages keeps a small page: it follows the latest lines while the reader is at the
//! bottom, stays put while the reader is scrolled up (new lines do not move what is being
//! read), and slides by [`PAGE`] lines when the reader nears either end of it. Messages
//! that arrive while the page is hidden or the reader is scrolled up count as unread: in
//! the tab's title, as a "New messages" divider, and on the buttons that jump to them.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{KeyboardEvent, SubmitEvent};

use super::alerts;
use super::files;
use super::text::{self, Segment};
use crate::state::{ClientHandle, Compose, Line, LineKind, Part, Quote, RoomUi};

/// How close to the bottom (in pixels) still counts as "at the bottom".
const STICK_DISTANCE: i32 = 48;
/// How close to the top (in pixels) loads older lines.
const LOAD_DISTANCE: i32 = 200;
/// Most lines on the page at once.
pub(crate) const WINDOW: usize = 200;
/// How many lines the window slides by.
const PAGE: usize = 100;

/// The slash commands, with what they take and do (for `/help` and the hint).
const COMMANDS: [(&str, &str, &str); 4] = [
    ("/me", " ACTION", "say what you are doing (\"/me waves\")"),
    ("/nick", " NAME", "change the name the others see"),
    ("/clear", "", "clear the conversation on this screen only"),
    ("/help", "", "list these commands"),
];

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
    // The end (exclusive) of the window of lines shown; `None` follows the latest.
    let window_end = RwSignal::new(None::<usize>);
    // The id of the newest line already counted for unread messages and alerts.
    let counted = StoredValue::new(0u64);

    let to_bottom = move || {
        request_animation_frame(move || {
            // The frame may come after the room closed and took the list with it.
            if let Some(el) = list.try_get_untracked().flatten() {
                el.set_scroll_top(el.scroll_height());
            }
        });
    };
    let shown = Memo::new(move |_| {
        ui.lines.with(|lines| {
            let end = window_end.get().map_or(lines.len(), |e| e.min(lines.len()));
            lines[end.saturating_sub(WINDOW)..end].to_vec()
        })
    });
    // Slides the window to end at `end` (or follows the latest), keeping the line the
    // reader sees where it is.
    let slide = move |end: Option<usize>| {
        let Some(el) = list.get_untracked() else {
            return;
        };
        let anchor = first_visible(&el);
        window_end.set(end);
        request_animation_frame(move || {
            let (Some(el), Some((id, top))) = (list.try_get_untracked().flatten(), anchor) else {
                return;
            };
            if let Some(line) = line_element(&el, id) {
                el.set_scroll_top(el.scroll_top() + line.offset_top() - top);
            }
        });
    };
    let on_scroll = move |_| {
        let Some(el) = list.get_untracked() else {
            return;
        };
        let len = ui.lines.with_untracked(Vec::len);
        let end = window_end.get_untracked();
        let at_bottom = el.scroll_top() + el.client_height() >= el.scroll_height() - STICK_DISTANCE;
        let following = end.is_none_or(|e| e >= len);
        stick.set_value(at_bottom && following);
        if at_bottom && following {
            unseen.set(false);
            if end.is_some() {
                window_end.set(None);
            }
            if ui.visible.get_untracked() {
                ui.mark_seen();
            }
        } else if at_bottom {
            slide(Some((end.unwrap_or(len) + PAGE).min(len)));
        } else if end.is_none() {
            // Scrolled up: hold the window still while new lines arrive.
            window_end.set(Some(len));
        }
        if el.scroll_top() < LOAD_DISTANCE {
            let end = window_end.get_untracked().unwrap_or(len);
            if end > WINDOW {
                slide(Some(end.saturating_sub(PAGE).max(WINDOW)));
            }
        }
    };
    Effect::new(move |_| {
        let own_last = ui.lines.with(|lines| {
            let from = counted.get_value();
            let own_last = lines.last().is_some_and(|l| is_own(&l.kind));
            let fresh = lines.iter().rev().take_while(|l| l.id > from);
            let mut others = 0;
            let mut first = None;
            for line in fresh {
                if matches!(line.kind, LineKind::Message { own: false, .. }) {
                    others += 1;
                    first = Some(line.id);
                }
            }
            if let Some(last) = lines.last() {
                counted.set_value(last.id);
            }
            if others > 0 {
                let reading = stick.get_value() && ui.visible.get_untracked();
                if !reading {
                    ui.unread.update(|n| *n += others);
                    if ui.first_unread.get_untracked().is_none() {
                        ui.first_unread.set(first);
                    }
                }
                if !ui.visible.get_untracked() {
                    alerts::on_message(lines.last().map(|l| &l.kind));
                }
            }
            own_last
        });
        if stick.get_value() || own_last {
            to_bottom();
        } else {
            unseen.set(true);
        }
    });
    // Back on the page, at the latest message: everything is seen.
    Effect::new(move |_| {
        if ui.visible.get() && stick.get_value() {
            ui.mark_seen();
        }
    });
    // What the reader sees at the bottom of a shown page is read (a receipt goes out
    // once reading pauses).
    Effect::new(move |_| {
        let last = ui.lines.with(|lines| {
            lines.iter().rev().find_map(|l| match &l.kind {
                LineKind::Message {
                    mid, private: None, ..
                } => Some(*mid),
                _ => None,
            })
        });
        if let Some(last) = last {
            if ui.visible.get() && stick.get_value() {
                client.with_value(|c| c.mark_read(last));
            }
        }
    });
    // The tab's title counts unread messages.
    let title = document().title();
    Effect::new(move |_| {
        let unread = ui.unread.get();
        document().set_title(&if unread == 0 {
            title.clone()
        } else {
            format!("({unread}) {title}")
        });
    });
    let title = document().title();
    on_cleanup(move || document().set_title(&title));

    let jump_to_unread = move |_| {
        let Some(id) = ui.first_unread.get_untracked() else {
            return;
        };
        let Some(index) = ui
            .lines
            .with_untracked(|l| l.iter().position(|l| l.id == id))
        else {
            return;
        };
        let len = ui.lines.with_untracked(Vec::len);
        let end = (index + WINDOW / 2).min(len);
        stick.set_value(false);
        window_end.set(if end >= len { None } else { Some(end) });
        request_animation_frame(move || {
            if let Some(line) = list
                .try_get_untracked()
                .flatten()
                .and_then(|el| line_element(&el, id))
            {
                line.scroll_into_view();
            }
        });
    };

    let send = move || {
        let typed = draft.get_untracked();
        let text = typed.trim();
        if text.is_empty() {
            return;
        }
        let compose = ui.compose.get_untracked();
        let said = |r: Result<(), crate::state::ActionError>| r.map_err(|e| e.to_string());
        let result = match (command(text), compose) {
            (Command::Text(text), Compose::Edit(id)) => {
                said(client.with_value(|c| c.edit(id, text)))
            }
            (Command::Text(text), Compose::Reply(quote)) => {
                said(client.with_value(|c| c.send_reply(quote.mid, text)))
            }
            (Command::Text(text), Compose::Direct(to, _)) => {
                said(client.with_value(|c| c.send_direct(to, text)))
            }
            (Command::Text(text), Compose::Message) => {
                said(client.with_value(|c| c.send_text(text)))
            }
            (Command::Action(text), _) => said(client.with_value(|c| c.send_action(text))),
            (Command::Nick(name), _) => {
                client.with_value(|c| c.set_nick(name).map_err(|e| e.to_string()))
            }
            (Command::Clear, _) => {
                ui.clear_view();
                window_end.set(None);
                Ok(())
            }
            (Command::Help, _) => {
                let mut parts = vec![Part::Text("Commands:".to_owned())];
                for (name, args, what) in COMMANDS {
                    parts.push(Part::Text(format!(" {name}{args}: {what}.")));
                }
                client.with_value(|c| c.note(parts));
                Ok(())
            }
            (Command::Unknown(name), _) => Err(format!(
                "There is no command {name}. Type /help for the list, or start the message \
                 with // to send it as it is."
            )),
        };
        match result {
            Ok(()) => {
                draft.set(String::new());
                ui.compose.set(Compose::Message);
                ui.notice.set(None);
                // Your own message always brings you back to the latest.
                stick.set_value(true);
                unseen.set(false);
                ui.first_unread.set(None);
                ui.unread.set(0);
                window_end.set(None);
                to_bottom();
            }
            Err(e) => ui.notice.set(Some(e)),
        }
    };
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        send();
    };
    // Enter sends; Shift+Enter starts a new line; Tab completes a command.
    let on_key = move |ev: KeyboardEvent| {
        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            send();
        } else if ev.key() == "Tab" {
            if let Some((name, args, _)) = hints(&draft.get_untracked()).first() {
                ev.prevent_default();
                draft.set(format!("{name}{}", if args.is_empty() { "" } else { " " }));
            }
        }
    };
    let rows = move || draft.with(|d| d.lines().count().clamp(1, 6)).to_string();
    let counter = move || {
        let max = ui.max_text.get()?;
        let len = draft.with(String::len);
        (len * 10 >= max * 8).then(|| {
            if len <= max {
                (format!("{} left", max - len), false)
            } else {
                (format!("{} too many", len - max), true)
            }
        })
    };

    view! {
        <section
            class="chat"
            aria-label="Conversation"
            on:dragover=files::on_drag_over
            on:drop=move |ev| files::on_drop(client, ev)
        >
            <NamePrompt/>
            <Show when=move || ui.first_unread.get().is_some() && ui.unread.get() != 0>
                <button id="jump-unread" class="unread-bar" on:click=jump_to_unread>
                    {move || {
                        let n = ui.unread.get();
                        format!("{n} new message{} · Jump to the first", if n == 1 { "" } else { "s" })
                    }}
                </button>
            </Show>
            <ol class="lines" node_ref=list on:scroll=on_scroll>
                <Show when=move || ui.lines.with(Vec::is_empty)>
                    <li class="empty">
                        "No messages yet. Messages are end-to-end encrypted and disappear "
                        "with the room."
                    </li>
                </Show>
                <For
                    each=move || shown.get()
                    key=|line| (line.id, line.rev)
                    children=move |line| render_line(ui, client, draft, line)
                />
            </ol>
            <div class="visually-hidden" aria-live="polite" aria-atomic="true" id="announcer">
                {move || ui.announcement.get()}
            </div>
            <Show when=move || unseen.get()>
                <button
                    class="jump"
                    on:click=move |_| {
                        stick.set_value(true);
                        unseen.set(false);
                        window_end.set(None);
                        to_bottom();
                    }
                >
                    "Latest messages ↓"
                </button>
            </Show>
            <Show when=move || !draft.with(|d| hints(d).is_empty())>
                <ul class="command-hint" id="command-hint" aria-label="Commands">
                    {move || {
                        draft
                            .with(|d| hints(d))
                            .into_iter()
                            .map(|(name, args, what)| {
                                view! {
                                    <li>
                                        <code>{name}{args}</code>
                                        " "
                                        {what}
                                    </li>
                                }
                            })
                            .collect_view()
                    }}
                    <li class="hint">"Tab completes."</li>
                </ul>
            </Show>
            <p class="typing" id="typing" aria-live="polite">
                {move || typing_sentence(&ui.typing.get())}
            </p>
            {move || composing(ui, draft)}
            <form class="composer" on:submit=on_submit>
                <label for="message" class="visually-hidden">"Message"</label>
                <textarea
                    id="message"
                    rows=rows
                    autocomplete="off"
                    placeholder="Write a message… (Shift+Enter for a new line, /help for commands)"
                    aria-describedby="counter"
                    prop:value=move || draft.get()
                    on:input=move |ev| {
                        let value = event_target_value(&ev);
                        client.with_value(|c| c.typing(!value.is_empty()));
                        draft.set(value);
                    }
                    on:keydown=on_key
                    on:paste=move |ev| files::on_paste(client, ev)
                ></textarea>
                <button id="send" type="submit" class="primary">"Send"</button>
            </form>
            <files::Attach/>
            <p id="counter" class="counter" class:over=move || counter().is_some_and(|c| c.1) aria-live="polite">
                {move || counter().map(|c| c.0)}
            </p>
            <Show when=move || ui.notice.get().is_some()>
                <p class="notice" role="alert">{move || ui.notice.get()}</p>
            </Show>
        </section>
    }
}

/// What the message box asks for.
enum Command<'a> {
    /// Send this text.
    Text(&'a str),
    /// `/me ACTION`.
    Action(&'a str),
    /// `/nick NAME`.
    Nick(&'a str),
    /// `/clear`.
    Clear,
    /// `/help`.
    Help,
    /// A slash and a word that is no command.
    Unknown(&'a str),
}

fn command(text: &str) -> Command<'_> {
    if let Some(rest) = text.strip_prefix("//") {
        return Command::Text(&text[text.len() - rest.len() - 1..]);
    }
    let Some(rest) = text.strip_prefix('/') else {
        return Command::Text(text);
    };
    let (name, args) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    match name {
        "me" if !args.trim().is_empty() => Command::Action(args.trim()),
        "nick" => Command::Nick(args.trim()),
        "clear" => Command::Clear,
        "help" => Command::Help,
        _ => Command::Unknown(text.split_whitespace().next().unwrap_or(text)),
    }
}

/// The commands a draft that starts like one could become.
fn hints(draft: &str) -> Vec<(&'static str, &'static str, &'static str)> {
    if !draft.starts_with('/') || draft.starts_with("//") || draft.contains(char::is_whitespace) {
        return Vec::new();
    }
    COMMANDS
        .into_iter()
        .filter(|(name, _, _)| name.starts_with(draft) && *name != draft)
        .collect()
}

fn is_own(kind: &LineKind) -> bool {
    matches!(kind, LineKind::Message { own: true, .. })
}

/// The id and offset of the first line at least partly in view.
fn first_visible(list: &web_sys::HtmlOListElement) -> Option<(u64, i32)> {
    let top = list.scroll_top();
    let children = list.children();
    (0..children.length())
        .filter_map(|i| children.item(i)?.dyn_into::<web_sys::HtmlElement>().ok())
        .find(|el| el.offset_top() + el.offset_height() > top && el.dataset().get("id").is_some())
        .and_then(|el| Some((el.dataset().get("id")?.parse().ok()?, el.offset_top() - top)))
}

/// The element of the line `id`, if it is on the page.
fn line_element(list: &web_sys::HtmlOListElement, id: u64) -> Option<web_sys::HtmlElement> {
    list.query_selector(&format!("[data-id=\"{id}\"]"))
        .ok()
        .flatten()?
        .dyn_into()
        .ok()
}

fn render_line(
    ui: RoomUi,
    client: ClientHandle,
    draft: RwSignal<String>,
    line: Line,
) -> impl IntoView {
    let id = line.id;
    let divider = move || {
        (ui.first_unread.get() == Some(id)).then(|| {
            view! { <div class="divider" role="separator">"New messages"</div> }
        })
    };
    let body = match line.kind {
        LineKind::Message {
            mid,
            badge,
            host,
            nick,
            text,
            sent_at_ms,
            own,
            action,
            edited,
            deleted,
            reply,
            private,
            reactions,
            ..
        } => {
            let (short, full) = times(sent_at_ms);
            let quoted = text.clone();
            let quote_nick = nick.clone();
            let action = action.then(|| text.clone());
            let who = view! {
                <span class="sender">
                    <bdi>{nick.clone()}</bdi>
                    {own.then_some(" (you)")}
                </span>
                <span class="badge-id" title="The start of this person's safety words: two people with one name have different ones">
                    {badge}
                </span>
                {host.then(|| view! { <span class="tag host">"host"</span> })}
            };
            let said = match action {
                _ if deleted => view! { <p class="text deleted">"Message deleted"</p> }.into_any(),
                Some(action) => view! {
                    <p class="text action" dir="auto">
                        "* "<bdi>{nick}</bdi>" "{rich(&action)}
                    </p>
                }
                .into_any(),
                None => view! { <p class="text" dir="auto">{rich(&text)}</p> }.into_any(),
            };
            let private_label = private.as_ref().map(|other| {
                let label = if own {
                    format!("Private, to {other}: only the two of you can read it")
                } else {
                    "Private, to you: only the two of you can read it".to_owned()
                };
                view! { <p class="private-label">{label}</p> }
            });
            let is_private = private.is_some();
            let quote = reply.map(|q| {
                let target = hex(&q.mid);
                view! {
                    <button
                        class="quote"
                        title="Show the message this answers"
                        on:click=move |_| show_message(ui, &target)
                    >
                        <bdi class="quote-nick">{q.nick}</bdi>
                        ": "
                        <span class="quote-text">{q.text}</span>
                    </button>
                }
            });
            let reacted = reactions
                .into_iter()
                .map(|(emoji, names, mine)| {
                    let label = format!("{emoji} {}: {}", names.len(), names.join(", "));
                    let e = emoji.clone();
                    let count = names.len();
                    view! {
                        <button
                            class="reaction small"
                            class:mine=mine
                            aria-pressed=mine.to_string()
                            title=label.clone()
                            aria-label=label
                            on:click=move |_| {
                                if let Err(err) = client.with_value(|c| c.react(mid, &e, !mine)) {
                                    ui.notice.set(Some(err.to_string()));
                                }
                            }
                        >
                            {emoji}
                            " "
                            {count}
                        </button>
                    }
                })
                .collect_view();
            let editable = !deleted && own && !is_private && client.with_value(|c| c.can_edit(mid));
            let react_buttons = (!deleted && !is_private).then(|| {
                QUICK_REACTIONS
                    .into_iter()
                    .map(|emoji| {
                        view! {
                            <button
                                class="small react"
                                aria-label=format!("React with {emoji}")
                                on:click=move |_| {
                                    if let Err(err) = client.with_value(|c| c.react(mid, emoji, true)) {
                                        ui.notice.set(Some(err.to_string()));
                                    }
                                }
                            >
                                {emoji}
                            </button>
                        }
                    })
                    .collect_view()
            });
            let reply_button = (!deleted && !is_private).then(|| {
                let text = quoted.clone();
                let nick = quote_nick.clone();
                view! {
                    <button
                        class="small reply"
                        on:click=move |_| {
                            ui.compose.set(Compose::Reply(Quote {
                                mid,
                                nick: nick.clone(),
                                text: text.chars().take(120).collect(),
                            }));
                            focus("message");
                        }
                    >
                        "Reply"
                    </button>
                }
            });
            let edit_buttons = editable.then(|| {
                let text = quoted.clone();
                view! {
                    <button
                        class="small edit"
                        on:click=move |_| {
                            ui.compose.set(Compose::Edit(mid));
                            draft.set(text.clone());
                            focus("message");
                        }
                    >
                        "Edit"
                    </button>
                    <button
                        class="small delete"
                        on:click=move |_| {
                            if let Err(err) = client.with_value(|c| c.delete(mid)) {
                                ui.notice.set(Some(err.to_string()));
                            }
                        }
                    >
                        "Delete"
                    </button>
                }
            });
            let seen = move || {
                ui.seen.with(|seen| {
                    seen.get(&mid).map(|names| {
                        view! { <p class="seen">"Seen by " {names.join(", ")}</p> }
                    })
                })
            };
            view! {
                <div class="message" class:own=own class:private=is_private data-mid=hex(&mid)>
                    {private_label}
                    <div class="meta">
                        {who}
                        <time title=full>{short}</time>
                        {edited.then(|| view! { <span class="edited">"edited"</span> })}
                    </div>
                    {quote}
                    {said}
                    <div class="reactions">{reacted}</div>
                    <div class="tools">{react_buttons} {reply_button} {edit_buttons}</div>
                    {seen}
                </div>
            }
            .into_any()
        }
        LineKind::Notice(parts) => {
            view! { <div class="event">{render_parts(parts)}</div> }.into_any()
        }
        LineKind::Arrival => {
            let already = move || {
                ui.present.with(|present| {
                    (!present.is_empty()).then(|| {
                        view! {
                            "Already here: "<bdi class="present">{present.join(", ")}</bdi>". "
                        }
                    })
                })
            };
            view! {
                <div class="event arrival">
                    {already}
                    "You see what is said from now on; messages sent before you arrived "
                    "are not shown to you."
                </div>
            }
            .into_any()
        }
        LineKind::File(card) => super::files::card(client, card).into_any(),
        LineKind::Warning(text) => view! {
            <div class="warning" role="alert">
                <strong>"Security warning: "</strong>
                {text}
            </div>
        }
        .into_any(),
    };
    view! {
        <li class="line" data-id=id.to_string()>
            {divider}
            {body}
        </li>
    }
}

/// The reactions offered on every message.
const QUICK_REACTIONS: [&str; 3] = ["👍", "❤️", "😂"];

/// A message id as the page names it.
fn hex(mid: &crate::state::MessageId) -> String {
    mid.0.iter().map(|b| format!("{b:02x}")).collect()
}

/// Scrolls to the message `target` (a [`hex`] id) if the page shows it, and marks it.
fn show_message(ui: RoomUi, target: &str) {
    match document()
        .query_selector(&format!("[data-mid=\"{target}\"]"))
        .ok()
        .flatten()
    {
        Some(el) => {
            el.scroll_into_view();
            let _ = el.class_list().add_1("flash");
            set_timeout(
                move || {
                    let _ = el.class_list().remove_1("flash");
                },
                std::time::Duration::from_millis(1500),
            );
        }
        None => ui
            .notice
            .set(Some("That message is no longer on this screen.".to_owned())),
    }
}

/// "Ada is typing…", "Ada and Bob are typing…", "Several people are typing…".
fn typing_sentence(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => format!("{one} is typing…"),
        [a, b] => format!("{a} and {b} are typing…"),
        _ => "Several people are typing…".to_owned(),
    }
}

/// What the message box is about to do, when it is not a plain message, with a way out.
fn composing(ui: RoomUi, draft: RwSignal<String>) -> Option<impl IntoView> {
    let what = match ui.compose.get() {
        Compose::Message => return None,
        Compose::Edit(_) => view! { "Editing your message" }.into_any(),
        Compose::Reply(quote) => view! {
            "Replying to "<bdi>{quote.nick}</bdi>": "<span class="quote-text">{quote.text}</span>
        }
        .into_any(),
        Compose::Direct(_, nick) => view! {
            "Private message to "<bdi>{nick}</bdi>" (only the two of you can read it)"
        }
        .into_any(),
    };
    Some(view! {
        <div class="composing" id="composing">
            <span>{what}</span>
            <button
                class="small"
                aria-label="Cancel"
                on:click=move |_| {
                    if matches!(ui.compose.get_untracked(), Compose::Edit(_)) {
                        draft.set(String::new());
                    }
                    ui.compose.set(Compose::Message);
                }
            >
                "×"
            </button>
        </div>
    })
}

/// A notice's text, with every name isolated.
fn render_parts(parts: Vec<Part>) -> impl IntoView {
    parts
        .into_iter()
        .map(|part| match part {
            Part::Text(text) => text.into_any(),
            Part::Name(name) => view! { <bdi class="name">{name}</bdi> }.into_any(),
        })
        .collect_view()
}

/// A message's text, its web links clickable (opened in a new tab, sending no
/// referrer; nothing is fetched to preview them).
fn rich(text: &str) -> impl IntoView {
    text::segments(text)
        .into_iter()
        .map(|segment| match segment {
            Segment::Plain(plain) => plain.into_any(),
            Segment::Link(url) => view! {
                <a href=url.clone() target="_blank" rel="noopener noreferrer nofollow">
                    {url.clone()}
                </a>
            }
            .into_any(),
        })
        .collect_view()
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
    let open = RwSignal::new(!ui.is_host.get_untracked() && !ui.nick_chosen.get_untracked());
    let own_nick = move || {
        ui.members
            .with(|m| m.iter().find(|m| m.is_self).map(|m| m.nick.clone()))
            .unwrap_or_default()
    };
    let name = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<String>);
    let save = move |ev: SubmitEvent| {
        ev.prevent_default();
        let wanted = name.get_untracked().unwrap_or_else(own_nick);
        match client.with_value(|c| c.set_nick(wanted.trim())) {
            Ok(()) => {
                open.set(false);
                error.set(None);
                focus("message");
            }
            Err(e) => error.set(Some(e.to_string())),
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
                        aria-describedby="own-nick-error"
                        prop:value=move || name.get().unwrap_or_else(own_nick)
                        on:input=move |ev| {
                            error.set(None);
                            name.set(Some(event_target_value(&ev)));
                        }
                    />
                    <button id="save-nick" type="submit" class="primary">"Save"</button>
                    <button
                        id="keep-nick"
                        type="button"
                        on:click=move |_| {
                            open.set(false);
                            focus("message");
                        }
                    >
                        "Keep"
                    </button>
                </div>
                <p id="own-nick-error" class="error" role="alert">{move || error.get()}</p>
            </form>
        </Show>
    }
}

/// Moves the keyboard focus to the element `id` once the page has drawn it.
pub(crate) fn focus(id: &'static str) {
    request_animation_frame(move || {
        if let Some(el) = document()
            .get_element_by_id(id)
            .and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = el.focus();
        }
    });
}
