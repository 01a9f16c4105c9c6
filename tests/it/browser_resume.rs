//! A page reload, a frozen page and a lost place in the web app (PROTOCOL.md §7.10):
//! the same member comes back (relay id, safety words, name, conversation, host
//! powers) without the others seeing it leave or arrive; a page whose socket died
//! while it was frozen catches up when it is unfrozen; past the relay's grace period a
//! reload joins afresh and says so; leaving forgets the saved place.

use std::time::Duration;

use vroom_relay::Config;
use vroom_testkit::browser::{app_config, Chrome, Page, Recorder};
use vroom_testkit::relay::Relay;

use crate::browser::{create_room, join_room, member_list, say};

/// The key the web app saves its place under in `sessionStorage`.
const SAVED: &str = "vroom-room";

/// A relay that keeps a dropped member's place for a minute: a reload comes back well
/// within it.
fn patient_relay() -> Config {
    Config {
        grace: Duration::from_secs(60),
        ..app_config()
    }
}

/// Alice creates a room on `origin` and Bob joins it; both see two members.
async fn alice_and_bob(chrome: &Chrome, origin: &str) -> (Page, String, Page) {
    let (alice, link) = create_room(chrome, origin, "Alice").await;
    let bob = join_room(chrome, &link, "Bob").await;
    alice.wait_count(".member", 2).await;
    (alice, link, bob)
}

/// Alice creates a room on `origin`, Bob and Carol join it; Alice sees three members.
async fn alice_bob_and_carol(chrome: &Chrome, origin: &str) -> (Page, String, Page, Page) {
    let (alice, link, bob) = alice_and_bob(chrome, origin).await;
    let carol = join_room(chrome, &link, "Carol").await;
    alice.wait_count(".member", 3).await;
    (alice, link, bob, carol)
}

/// Alice removes Carol (as host) and Carol's page says so.
async fn remove_carol(alice: &Page, carol: &Page) {
    alice
        .eval(
            "[...document.querySelectorAll('button.remove')] \
             .find(b => b.getAttribute('aria-label').startsWith('Remove Carol')).click(); \
             return 'ok'",
        )
        .await;
    carol
        .wait_text("#ended-title", "You were removed from the room")
        .await;
}

/// Closes the pages and stops the relay.
async fn done(pages: Vec<Page>, relay: Relay) {
    for page in pages {
        page.close().await;
    }
    relay.stop().await;
}

/// The page's notices (joins, departures, what the app says).
async fn events(page: &Page) -> Vec<String> {
    page.texts(".event").await
}

async fn saved(page: &Page) -> String {
    page.eval(&format!("return String(sessionStorage.getItem('{SAVED}'))"))
        .await
}

/// Reloads the page and waits until it is back in the room.
async fn reload(page: &Page) {
    page.client.refresh().await.expect("reload");
    page.wait_text("#connection", "connected").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_comes_back_as_the_same_member() {
    let relay = Relay::start(patient_relay()).await;
    let chrome = Chrome::start().await;
    let (alice, _, bob) = alice_and_bob(&chrome, &relay.origin()).await;
    say(&bob, "before the reload").await;
    alice
        .wait_text(".message:not(.own) .text", "before the reload")
        .await;
    bob.wait_text(".message.own .text", "before the reload")
        .await;
    let seen_by_alice = member_list(&alice).await;
    let seen_by_bob = member_list(&bob).await;
    assert_eq!(seen_by_alice, seen_by_bob, "one view of who is who");
    assert_ne!(saved(&bob).await, "null", "the page saved its place");

    reload(&bob).await;
    // His conversation is still there, and nobody asks his name again.
    bob.wait_text(".message.own .text", "before the reload")
        .await;
    assert_eq!(bob.texts("#own-nick").await.len(), 0, "no name prompt");
    for page in [&alice, &bob] {
        page.wait_until("the same names and safety words as before", || async {
            member_list(page).await == seen_by_alice
        })
        .await;
    }

    say(&alice, "welcome back").await;
    bob.wait_text(".message:not(.own) .text", "welcome back")
        .await;
    say(&bob, "thanks").await;
    alice.wait_text(".message:not(.own) .text", "thanks").await;
    assert_eq!(
        bob.texts(".message .text").await,
        ["before the reload", "welcome back", "thanks"],
        "nothing lost, nothing twice"
    );
    let told = events(&alice).await;
    assert!(
        !told.iter().any(|e| e.contains("left")),
        "Alice saw no departure: {told:?}"
    );
    assert_eq!(
        told.iter().filter(|e| e.contains("joined")).count(),
        1,
        "Alice saw Bob arrive once, before the reload: {told:?}"
    );
    let told = events(&bob).await;
    assert!(
        !told
            .iter()
            .any(|e| e.contains("joined") || e.contains("left")),
        "Bob is not told Alice arrived again: {told:?}"
    );

    done(vec![alice, bob], relay).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_who_reloads_keeps_its_host_powers() {
    let relay = Relay::start(patient_relay()).await;
    let chrome = Chrome::start().await;
    let (alice, link, bob, carol) = alice_bob_and_carol(&chrome, &relay.origin()).await;
    let before = member_list(&bob).await;

    reload(&alice).await;
    bob.wait_until("Alice back with the same safety words", || async {
        member_list(&bob).await == before
    })
    .await;
    alice.wait_count(".member", 3).await;
    assert_eq!(
        alice.value("#invite-link").await,
        link,
        "the invite panel is as it was"
    );

    // Still the host: she locks the room and removes Carol.
    alice.click("#lock").await;
    for page in [&alice, &bob] {
        page.wait_text("#locked-badge", "Locked").await;
    }
    remove_carol(&alice, &carol).await;
    bob.wait_text(".event", "Carol was removed by the host")
        .await;
    let told = events(&bob).await;
    assert!(
        !told
            .iter()
            .any(|e| e.contains("Alice") && e.contains("left")),
        "Bob saw Alice neither leave nor come back: {told:?}"
    );

    done(vec![alice, bob, carol], relay).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_page_whose_socket_died_catches_up_when_it_returns() {
    let relay = Relay::start(patient_relay()).await;
    let recorder = Recorder::start(relay.addr()).await;
    let chrome = Chrome::start().await;
    let (alice, _, bob) = alice_and_bob(&chrome, &recorder.origin()).await;

    // The phone goes to sleep: its socket dies and the page is frozen.
    bob.excuse("WebSocket connection to");
    recorder.refuse_websockets(true);
    recorder.cut(1);
    bob.wait_text("#connection", "Reconnecting").await;
    bob.cdp(
        "Page.setWebLifecycleState",
        serde_json::json!({ "state": "frozen" }),
    )
    .await;
    say(&alice, "while you slept").await;
    say(&alice, "and this").await;
    alice.wait_text(".message.own .text", "and this").await;

    // It wakes up and catches up by itself.
    recorder.refuse_websockets(false);
    bob.cdp(
        "Page.setWebLifecycleState",
        serde_json::json!({ "state": "active" }),
    )
    .await;
    bob.wait_text("#connection", "connected").await;
    bob.wait_text(".message:not(.own) .text", "and this").await;
    assert_eq!(
        bob.texts(".message .text").await,
        ["while you slept", "and this"]
    );
    say(&bob, "morning").await;
    alice.wait_text(".message:not(.own) .text", "morning").await;

    done(vec![alice, bob], relay).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_past_the_grace_period_joins_afresh_and_says_so() {
    // A 1 s grace: the reloaded page cannot reach the relay for longer than that.
    let relay = Relay::start(app_config()).await;
    let recorder = Recorder::start(relay.addr()).await;
    let chrome = Chrome::start().await;
    let (alice, _, bob) = alice_and_bob(&chrome, &recorder.origin()).await;
    say(&bob, "said before").await;
    alice
        .wait_text(".message:not(.own) .text", "said before")
        .await;
    let old = member_list(&alice).await;

    bob.excuse("WebSocket connection to");
    recorder.refuse_websockets(true);
    bob.client.refresh().await.expect("reload");
    alice
        .wait_text(".event", "Bob lost their connection and left")
        .await;
    // The grace is over (Alice was told): the saved place is stale.
    recorder.refuse_websockets(false);
    bob.wait_text(".event", "longer than the room keeps a place")
        .await;
    bob.wait_text("#connection", "connected").await;
    alice
        .wait_until("Bob in again as a new member", || async {
            let now = member_list(&alice).await;
            now.len() == 2 && now != old
        })
        .await;
    say(&alice, "hello again").await;
    bob.wait_text(".message:not(.own) .text", "hello again")
        .await;
    assert_eq!(
        bob.texts(".message .text").await,
        ["hello again"],
        "what the lost place showed is gone"
    );

    done(vec![alice, bob], relay).await;
}

/// Bob's reloaded page cannot reach the relay for a moment while Alice writes: back in,
/// it says (without a count, which would include typing and receipts) that what was
/// sent meanwhile could not be read. The Leave button says what closing the tab does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_says_what_it_could_not_read() {
    let relay = Relay::start(patient_relay()).await;
    let recorder = Recorder::start(relay.addr()).await;
    let chrome = Chrome::start().await;
    let (alice, _, bob) = alice_and_bob(&chrome, &recorder.origin()).await;
    let hint = bob
        .eval("return document.getElementById('leave').title")
        .await;
    assert_eq!(
        hint, "Closing this tab keeps your place for 60 s; Leave leaves now",
        "the Leave button says what closing the tab does"
    );
    say(&bob, "said before").await;
    alice
        .wait_text(".message:not(.own) .text", "said before")
        .await;

    bob.excuse("WebSocket connection to");
    recorder.refuse_websockets(true);
    bob.client.refresh().await.expect("reload");
    say(&alice, "while you reloaded").await;
    alice
        .wait_text(".message.own .text", "while you reloaded")
        .await;
    recorder.refuse_websockets(false);
    bob.wait_text(
        ".event",
        "Messages sent while you were reloading could not be read.",
    )
    .await;
    bob.wait_text("#connection", "connected").await;
    assert_eq!(
        bob.texts(".message .text").await,
        ["said before"],
        "the saved conversation, and nothing it could not read"
    );
    say(&alice, "now you can").await;
    bob.wait_text(".message:not(.own) .text", "now you can")
        .await;

    done(vec![alice, bob], relay).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kick_and_the_end_of_the_room_wipe_the_saved_place() {
    let relay = Relay::start(patient_relay()).await;
    let chrome = Chrome::start().await;
    let (alice, _, bob, carol) = alice_bob_and_carol(&chrome, &relay.origin()).await;
    for page in [&bob, &carol] {
        assert_ne!(saved(page).await, "null", "the page saved its place");
    }

    remove_carol(&alice, &carol).await;
    assert_eq!(saved(&carol).await, "null", "a kick forgets the place");

    alice.click("#terminate").await;
    alice.click("#confirm-terminate").await;
    bob.find("#ended-title").await;
    assert_eq!(saved(&bob).await, "null", "the end of the room forgets it");

    done(vec![alice, bob, carol], relay).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaving_forgets_the_saved_place() {
    let relay = Relay::start(patient_relay()).await;
    let chrome = Chrome::start().await;
    let (alice, link, bob) = alice_and_bob(&chrome, &relay.origin()).await;
    let old = member_list(&alice).await;
    assert_ne!(saved(&bob).await, "null");

    bob.click("#leave").await;
    bob.wait_text("#ended-title", "You left the room").await;
    alice.wait_text(".event", "Bob left").await;
    assert_eq!(saved(&bob).await, "null", "the place is forgotten");

    // Opening the link again in the same tab joins as someone new.
    bob.client.goto(&link).await.expect("open the link");
    bob.wait_text("#connection", "connected").await;
    bob.find("#own-nick").await;
    alice
        .wait_until("a new member with new safety words", || async {
            let now = member_list(&alice).await;
            now.len() == 2 && now != old
        })
        .await;

    done(vec![alice, bob], relay).await;
}

/// Bob is left alone in the room (the host left): he succeeds her, so a reload makes the
/// group again as a host alone does, instead of waiting for nobody.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_left_alone_is_the_host_and_a_reload_takes_it_back_in() {
    let relay = Relay::start(patient_relay()).await;
    let chrome = Chrome::start().await;
    let (alice, _, bob) = alice_and_bob(&chrome, &relay.origin()).await;
    alice.click("#leave").await;
    alice.click("#confirm-terminate").await;
    alice.wait_text("#ended-title", "You left the room").await;
    bob.wait_text(".event", "Alice left").await;
    bob.wait_count(".member", 1).await;
    // Left alone, Bob took host powers over (the relay's seat and the group's); a
    // reload makes the group again, as for any host alone, with nobody to wait for.
    bob.wait_text(".event", "You are the host now").await;
    bob.find("#terminate").await;
    bob.client.refresh().await.expect("reload");
    bob.wait_text("#connection", "connected").await;
    bob.find("#terminate").await;
    bob.wait_count(".member", 1).await;

    done(vec![alice, bob], relay).await;
}

/// Opening anything but the room in the same tab forgets the saved place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opening_the_start_page_forgets_the_saved_place() {
    let relay = Relay::start(patient_relay()).await;
    let chrome = Chrome::start().await;
    let (alice, _, bob) = alice_and_bob(&chrome, &relay.origin()).await;
    assert_ne!(saved(&bob).await, "null");
    bob.client
        .goto(&format!("{}/", relay.origin()))
        .await
        .expect("open the start page");
    bob.find("#create-room").await;
    // The room module reads the address once it is there, a moment after the start
    // page shows.
    bob.wait_until("the place to be forgotten", || async {
        saved(&bob).await == "null"
    })
    .await;

    done(vec![alice, bob], relay).await;
}
