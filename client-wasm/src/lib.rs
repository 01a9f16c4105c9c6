//! vroom's web app: a Leptos client-side app, compiled to WebAssembly, that runs every
//! piece of cryptography in the browser through `vroom_shared`'s session.
//!
//! # Layout
//! - [`state`]: the interface's half: the reactive [`state::RoomUi`] the components
//!   show, filled from the room's events, and the [`state::Client`] methods they call,
//!   which reach the room as encoded commands. Components never touch keys.
//! - the room's half, `vroom_room` (its own crate, `client-wasm/room`), built into a
//!   WebAssembly module of its own (`client-wasm/room-module`) that the page fetches
//!   as it starts: the session (every key), the WebSocket, the ways in (links, names,
//!   short codes), the saved entry that brings a reload back as the same member, and
//!   file transfers. The interface reaches it only through encoded commands.
//! - [`files`]: files both ways, the interface's end: chunks read from and written to
//!   `Blob`s, pictures cleaned of metadata, previews from `blob:` URLs.
//! - [`nick`]: friendly default nicknames.
//! - [`strength`]: the passphrase strength estimate, a module fetched when needed.
//! - `components`: the screens and their parts (start page, room, end and error pages).

mod components;
pub mod files;
pub mod nick;
pub mod state;
pub mod strength;

use std::rc::Rc;

use leptos::prelude::*;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

use crate::state::{Client, ClientHandle, LinkCheck, Problem, Screen};

/// Mounts the app on the page's body. Called once, from `main`.
pub fn start() {
    // A panic aborts the module ("unreachable" in the console); say first what failed
    // and where, with the JavaScript stack that led there.
    std::panic::set_hook(Box::new(|info| {
        let stack = js_sys::Reflect::get(&js_sys::Error::new(""), &"stack".into())
            .ok()
            .and_then(|s| s.as_string())
            .unwrap_or_default();
        web_sys::console::error_1(&format!("vroom panicked: {info}\n{stack}").into());
    }));
    leptos::mount::mount_to_body(App);
}

/// The root component: works out what the address asks for, owns the [`Client`], and
/// shows the current screen.
#[component]
fn App() -> impl IntoView {
    let location = window().location();
    let origin = location.origin().unwrap_or_default();
    let path = location.pathname().unwrap_or_default();
    let hash = location.hash().unwrap_or_default();

    // Hosted apart from the relay, the page names it; see `relay_origin`.
    let relay = relay_origin().unwrap_or_else(|| origin.clone());

    // Served over plain http from another machine, the app and its keys could be read
    // or changed on the way: refuse before making any.
    let screen = if !vroom_bridge::is_secure_origin(&origin) {
        Screen::Problem(Problem {
            title: "This page is not private".to_owned(),
            detail: "It was loaded over plain http:// from another machine, so anyone on \
                     the network could read or change it, and your messages with it. Open \
                     it with https://, or ask whoever runs this relay to set up HTTPS."
                .to_owned(),
        })
    } else if !vroom_bridge::is_secure_origin(&relay) {
        Screen::Problem(Problem {
            title: "This page names an unsafe relay".to_owned(),
            detail: "Its settings send your room through plain http:// to another machine, \
                     where anyone on the network could watch it. Ask whoever hosts this \
                     page to name the relay with https://."
                .to_owned(),
        })
    } else {
        Screen::Landing
    };
    let safe = screen == Screen::Landing;
    let client: ClientHandle = StoredValue::new_local(Client::with_relay(&origin, &relay, screen));
    // On an unsafe page the address is not even read (only the saved place is
    // forgotten). An invite link waits for the
    // room module, which reads it; meanwhile the page says the room is opening.
    if safe {
        client.with_value(|c| {
            c.ui.opening
                .set(!hash.is_empty() || path == "/r" || path.starts_with("/r/"));
            c.when_ready(move |c| {
                match c.check_address(&origin, &path, &hash) {
                    // Back as the same member if this tab was in the room before a
                    // reload; else a new one.
                    LinkCheck::Here(link) => c.enter(&link),
                    LinkCheck::Invalid(why) => c.ui.screen.set(Screen::Problem(Problem {
                        title: "This invite link does not work".to_owned(),
                        detail: why,
                    })),
                    LinkCheck::Landing | LinkCheck::Elsewhere(_) => {}
                }
                c.ui.opening.set(false);
            })
        });
    } else {
        // The tab's saved place is only for the room it was in: a page that will not
        // run forgets it, as opening anything else does.
        client.with_value(|c| {
            c.when_ready(move |c| {
                let _ = c.check_address(&origin, "/", "");
            })
        });
    }
    save_when_the_page_goes(client);
    follow_visibility(client);
    wake_on_return(client);
    reload_on_new_link();
    view! { <Screens client/> }
}

/// The relay this page talks to, when the page names one in its `vroom-relay` meta tag
/// (`<meta name="vroom-relay" content="https://relay.example">`): set where the app is
/// deployed apart from the relay, by whoever hosts it. Only the page sets it, never
/// its address, so a crafted link cannot send anyone to another relay (PROTOCOL.md §1).
fn relay_origin() -> Option<String> {
    meta("vroom-relay").filter(|relay| !relay.trim().is_empty())
}

/// The `content` of the page's `<meta name=…>` tag, if it has one.
pub(crate) fn meta(name: &str) -> Option<String> {
    document()
        .query_selector(&format!("meta[name={name}]"))
        .ok()
        .flatten()
        .and_then(|meta| meta.get_attribute("content"))
}

/// Mounts the screens of an existing [`Client`] on the page's body, as the app does once
/// it has one: for tests that fill a client's [`state::RoomUi`] themselves.
pub fn mount_screens(client: Rc<Client>) {
    leptos::mount::mount_to_body(move || {
        let client: ClientHandle = StoredValue::new_local(client);
        view! { <Screens client/> }
    })
}

/// Shows the client's current screen.
#[component]
fn Screens(client: ClientHandle) -> impl IntoView {
    provide_context(client);
    let ui = client.with_value(|c| c.ui);
    move || match ui.screen.get() {
        // A problem shows even while the address is read: the room module failed.
        Screen::Landing | Screen::Connecting if ui.opening.get() => {
            view! { <components::pages::Connecting/> }.into_any()
        }
        Screen::Landing => view! { <components::landing::Landing/> }.into_any(),
        Screen::Connecting => view! { <components::pages::Connecting/> }.into_any(),
        Screen::Waiting => view! { <components::pages::Waiting/> }.into_any(),
        Screen::Room => view! { <components::room::Room/> }.into_any(),
        Screen::Ended { title, why } => view! { <components::pages::Ended title why/> }.into_any(),
        Screen::Problem(problem) => view! { <components::pages::Trouble problem/> }.into_any(),
    }
}

/// `pagehide` fires on close, reload and navigation alike, and a page cannot tell them
/// apart: it saves this tab's place (`sessionStorage`), so a reload comes back as the
/// same member while the relay keeps the place (its grace period). Closing the tab
/// drops the connection (so does entering the back/forward cache, where the browser
/// would keep it open), and the relay lets the member go after that grace; the room's
/// Leave button leaves at once.
fn save_when_the_page_goes(client: ClientHandle) {
    let handler = Closure::<dyn FnMut(web_sys::Event)>::new(move |_: web_sys::Event| {
        client.with_value(|c: &Rc<Client>| {
            c.save_for_reload();
            c.suspend();
        });
    });
    let _ = window().add_event_listener_with_callback("pagehide", handler.as_ref().unchecked_ref());
    // The listener lives as long as the page.
    handler.forget();
}

/// A page back from the back/forward cache (`pageshow`), unfrozen (the Page Lifecycle
/// `resume`), or back online checks its socket and reconnects at once: phones suspend
/// sockets and freeze pages they put away.
fn wake_on_return(client: ClientHandle) {
    let handler = Closure::<dyn FnMut(web_sys::Event)>::new(move |_: web_sys::Event| {
        client.with_value(|c: &Rc<Client>| c.wake());
    });
    let callback = handler.as_ref().unchecked_ref();
    let _ = window().add_event_listener_with_callback("pageshow", callback);
    let _ = window().add_event_listener_with_callback("online", callback);
    let _ = document().add_event_listener_with_callback("resume", callback);
    // The listener lives as long as the page.
    handler.forget();
}

/// Keeps [`state::RoomUi::visible`] true while the page is shown: messages that arrive
/// while it is hidden count as unread and may alert.
fn follow_visibility(client: ClientHandle) {
    let handler = Closure::<dyn FnMut(web_sys::Event)>::new(move |_: web_sys::Event| {
        let visible = !document().hidden();
        client.with_value(|c| {
            c.ui.visible.set(visible);
            c.set_active(visible);
            // A phone may end a hidden page without `pagehide`; a shown one may have
            // lost its socket while it slept.
            if visible {
                c.wake();
            } else {
                c.save_for_reload();
            }
        });
    });
    let _ = document()
        .add_event_listener_with_callback("visibilitychange", handler.as_ref().unchecked_ref());
    // The listener lives as long as the page.
    handler.forget();
}

/// A link pasted into the address bar that differs only after `#` does not load the
/// page again; reload, so the new link is read (and the old room left) as on any visit.
/// The app's own address changes use `history.replaceState`, which fires no
/// `hashchange`.
fn reload_on_new_link() {
    let handler = Closure::<dyn FnMut(web_sys::Event)>::new(|_: web_sys::Event| {
        let _ = window().location().reload();
    });
    let _ =
        window().add_event_listener_with_callback("hashchange", handler.as_ref().unchecked_ref());
    // The listener lives as long as the page.
    handler.forget();
}
