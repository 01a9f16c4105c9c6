//! The room name + passphrase way in, in real browsers (and one terminal) against a
//! relay: two browsers meet by name and passphrase and chat; a wrong passphrase finds
//! "no such room"; the same name with another passphrase is another room that sees
//! nothing of the first; creating a live room asks to join it; a weak passphrase is
//! refused until the user says "use it anyway"; a terminal joins a room a browser
//! created; and the whole start page works with the keyboard alone. Also records what
//! Argon2id costs in the browser's WebAssembly (BENCHMARKS.md §12).

use std::path::PathBuf;

use vroom_testkit::browser::{app_config, Chrome, Page};
use vroom_testkit::cli::Client;
use vroom_testkit::relay::Relay;

use crate::browser::say;

const TAB: &str = "\u{E004}";
const ENTER: &str = "\u{E007}";
const SPACE: &str = " ";

/// A passphrase zxcvbn scores 4 (ten-to-the-ten guesses or more).
const STRONG: &str = "plum kayak otter seventeen";
/// Another, for another room of the same name.
const OTHER: &str = "violet harbour quilt ninety";

/// What a browser asks for on the start page.
struct Named<'a> {
    nick: &'a str,
    name: &'a str,
    passphrase: &'a str,
    create: bool,
}

/// Opens the start page in a new browser and fills the room name + passphrase form
/// (without sending it).
async fn fill_named(chrome: &Chrome, origin: &str, named: &Named<'_>) -> Page {
    let page = chrome.open(&format!("{origin}/")).await;
    page.fill("#nick", named.nick).await;
    page.click(if named.create {
        "#named-create"
    } else {
        "#named-join"
    })
    .await;
    page.fill("#room-name", named.name).await;
    page.fill("#room-passphrase", named.passphrase).await;
    // The strength verdict appears above the button when its module has loaded: wait for
    // it, so that a click is not moved off the button by the page growing under it.
    page.wait_text("#strength-label", "").await;
    page
}

/// Fills the form, sends it and waits until the page is in the room. Returns how long
/// the page's Argon2id took, in milliseconds.
async fn enter_named(page: &Page, named: &Named<'_>) -> u64 {
    if named.create {
        // Creating needs the strength verdict first (the module loads on first use).
        page.wait_text("#strength-label", "").await;
    }
    page.click("#enter-named").await;
    page.wait_text("#connection", "connected").await;
    derive_ms(page).await
}

/// How long the page's last Argon2id took (the app notes it on the body).
async fn derive_ms(page: &Page) -> u64 {
    let ms = page
        .eval("return document.body.dataset.deriveMs || ''")
        .await;
    ms.parse()
        .unwrap_or_else(|_| panic!("the page noted no derivation time: {ms:?}"))
}

/// The id of the element that has the keyboard focus.
async fn focused(page: &Page) -> String {
    page.eval("return document.activeElement ? document.activeElement.id : ''")
        .await
}

/// Types `keys` into whatever has the focus, as a keyboard does.
async fn press(page: &Page, keys: &str) {
    page.client
        .active_element()
        .await
        .expect("an element with the focus")
        .send_keys(keys)
        .await
        .expect("type");
}

/// Presses Tab until the element with id `id` has the focus (at most `limit` times);
/// returns the ids that had the focus on the way, `id` last.
async fn tab_to(page: &Page, id: &str, limit: usize) -> Vec<String> {
    let mut path = Vec::new();
    for _ in 0..limit {
        press(page, TAB).await;
        let now = focused(page).await;
        path.push(now.clone());
        if now == id {
            return path;
        }
    }
    panic!("{limit} presses of Tab never reached #{id}: {path:?}");
}

/// Whether `page` ever showed `text` in a message.
async fn saw(page: &Page, text: &str) -> bool {
    page.texts(".message .text")
        .await
        .iter()
        .any(|t| t.contains(text))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_browsers_meet_by_name_and_passphrase_and_another_passphrase_is_another_room() {
    let relay = Relay::start(app_config()).await;
    let origin = relay.origin();
    let chrome = Chrome::start().await;

    let ada_asks = Named {
        nick: "Ada",
        name: "Book Club",
        passphrase: STRONG,
        create: true,
    };
    let ada = fill_named(&chrome, &origin, &ada_asks).await;
    let took = enter_named(&ada, &ada_asks).await;
    println!("Argon2id (m = 64 MiB, t = 3, p = 1) in headless Chromium's wasm: {took} ms");

    // The invite panel: the normalised name, the passphrase hidden until "Show".
    assert_eq!(ada.value("#invite-name").await, "book club");
    assert_ne!(ada.value("#invite-passphrase").await, STRONG);
    ada.click("#show-invite-passphrase").await;
    assert_eq!(ada.value("#invite-passphrase").await, STRONG);
    assert!(ada
        .value("#invite-link")
        .await
        .starts_with(&format!("{origin}/r#")));

    // Bob retypes the name his own way and joins.
    let bob_asks = Named {
        nick: "Bob",
        name: "  book   CLUB ",
        passphrase: STRONG,
        create: false,
    };
    let bob = fill_named(&chrome, &origin, &bob_asks).await;
    enter_named(&bob, &bob_asks).await;
    ada.wait_text(".member .nick", "Bob").await;
    bob.wait_text(".member .nick", "Ada").await;
    say(&ada, "hello by name").await;
    bob.wait_text(".message:not(.own) .text", "hello by name")
        .await;
    say(&bob, "hello back").await;
    ada.wait_text(".message:not(.own) .text", "hello back")
        .await;

    // A typo in the passphrase: no such room, and the form keeps what was typed.
    let cara_asks = Named {
        nick: "Cara",
        name: "book club",
        passphrase: "plum kayak otter eighteen",
        create: false,
    };
    let cara = fill_named(&chrome, &origin, &cara_asks).await;
    cara.click("#enter-named").await;
    cara.wait_text("#named-question-text", "No such room").await;
    assert_eq!(cara.value("#room-name").await, "book club");
    cara.click("#answer-no").await;
    cara.wait_count("#named-question", 0).await;

    // Another group "creates the same room" with its own passphrase: its own room.
    let eve_asks = Named {
        nick: "Eve",
        name: "Book Club",
        passphrase: OTHER,
        create: true,
    };
    let eve = fill_named(&chrome, &origin, &eve_asks).await;
    enter_named(&eve, &eve_asks).await;
    say(&eve, "only-for-eve's-room").await;
    eve.wait_text(".message.own .text", "only-for-eve's-room")
        .await;
    say(&ada, "only-for-ada's-room").await;
    // Everything Ada's room sent before this last line has reached Bob.
    bob.wait_text(".message .text", "only-for-ada's-room").await;
    say(&eve, "eve-end").await;
    eve.wait_text(".message.own .text", "eve-end").await;
    for (page, foreign) in [
        (&ada, "only-for-eve's-room"),
        (&bob, "only-for-eve's-room"),
        (&eve, "only-for-ada's-room"),
        (&eve, "hello by name"),
    ] {
        assert!(
            !saw(page, foreign).await,
            "a room saw the other's {foreign:?}"
        );
    }
    assert_eq!(eve.texts(".member .nick").await.len(), 1, "Eve is alone");

    for page in [ada, bob, cara, eve] {
        page.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creating_a_live_room_asks_to_join_it_and_a_weak_passphrase_needs_use_it_anyway() {
    let relay = Relay::start(app_config()).await;
    let origin = relay.origin();
    let chrome = Chrome::start().await;

    // Too short: the floor every client enforces, said in words.
    let weak_asks = Named {
        nick: "Ada",
        name: "Weak Room",
        passphrase: "short one",
        create: true,
    };
    let ada = fill_named(&chrome, &origin, &weak_asks).await;
    ada.click("#enter-named").await;
    ada.wait_text("#named-error", "too short").await;

    // Long enough but common: the meter says so and creating is refused…
    ada.fill("#room-passphrase", "password1234").await;
    ada.wait_text("#strength-label", "").await;
    ada.click("#enter-named").await;
    ada.wait_text("#named-error", "This passphrase is weak")
        .await;
    assert_eq!(
        ada.eval("return document.querySelector('#named-error').getAttribute('role')")
            .await,
        "alert",
        "the refusal is announced"
    );
    ada.find("#named-create").await;
    assert!(
        ada.texts("#connection").await.is_empty(),
        "still on the start page"
    );
    // …until the user says "use it anyway".
    ada.click("#weak-ok").await;
    ada.click("#enter-named").await;
    ada.wait_text("#connection", "connected").await;

    // Creating it again while it is live: "exists — join it?", and yes joins it.
    let bob_asks = Named {
        nick: "Bob",
        name: "weak room",
        passphrase: "password1234",
        create: true,
    };
    let bob = fill_named(&chrome, &origin, &bob_asks).await;
    bob.wait_text("#strength-label", "").await;
    bob.click("#enter-named").await;
    bob.wait_text("#named-error", "This passphrase is weak")
        .await;
    bob.click("#weak-ok").await;
    bob.click("#enter-named").await;
    bob.wait_text("#named-question-text", "This room already exists")
        .await;
    bob.click("#answer-yes").await;
    bob.wait_text("#connection", "connected").await;
    ada.wait_text(".member .nick", "Bob").await;
    say(&bob, "joined after asking").await;
    ada.wait_text(".message:not(.own) .text", "joined after asking")
        .await;

    for page in [ada, bob] {
        page.close().await;
    }
}

/// A passphrase in a file of its own, as the terminal's `--passphrase-file` reads it.
fn passphrase_file(dir: &tempfile::TempDir, passphrase: &str) -> PathBuf {
    let path = dir.path().join("passphrase");
    std::fs::write(&path, format!("{passphrase}\n")).expect("write the passphrase file");
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_joins_by_name_and_passphrase_a_room_a_browser_created() {
    let relay = Relay::start(app_config()).await;
    let origin = relay.origin();
    let chrome = Chrome::start().await;

    let ada_asks = Named {
        nick: "Ada",
        name: "Terminal Friends",
        passphrase: STRONG,
        create: true,
    };
    let ada = fill_named(&chrome, &origin, &ada_asks).await;
    enter_named(&ada, &ada_asks).await;

    // The terminal derives the same room from the same relay, name and passphrase.
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = passphrase_file(&dir, STRONG);
    let mut cleo = Client::spawn(
        "cleo",
        &[
            "join",
            "--server",
            &origin,
            "--name",
            "terminal friends",
            "--passphrase-file",
            file.to_str().expect("a UTF-8 path"),
            "--nick",
            "Cleo",
        ],
    );
    cleo.expect_joined("Ada").await;
    ada.wait_text(".member .nick", "Cleo").await;
    say(&ada, "hello terminal").await;
    cleo.expect("Ada: hello terminal").await;
    cleo.say("hello browser").await;
    ada.wait_text(".message:not(.own) .text", "hello browser")
        .await;
    ada.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_start_page_works_with_the_keyboard_alone() {
    let relay = Relay::start(app_config()).await;
    let origin = relay.origin();
    let chrome = Chrome::start().await;

    // Someone is in the room already.
    let ada_asks = Named {
        nick: "Ada",
        name: "Keys",
        passphrase: STRONG,
        create: true,
    };
    let ada = fill_named(&chrome, &origin, &ada_asks).await;
    enter_named(&ada, &ada_asks).await;

    // From the top of the page, Tab reaches the form's parts in reading order.
    let bob = chrome.open(&format!("{origin}/")).await;
    bob.find("#room-name").await;
    let path = tab_to(&bob, "named-create", 20).await;
    assert_eq!(
        &path[..],
        [
            "nick",
            "create-room",
            "join-link",
            "join-room",
            "named-create"
        ],
        "the focus order of the start page"
    );
    // Create is chosen; the arrow keys move within the group; Tab goes on.
    press(&bob, TAB).await;
    assert_eq!(focused(&bob).await, "room-name");
    press(&bob, "keys").await;
    press(&bob, TAB).await;
    assert_eq!(focused(&bob).await, "room-passphrase");
    press(&bob, STRONG).await;
    press(&bob, TAB).await;
    assert_eq!(focused(&bob).await, "show-passphrase");
    press(&bob, SPACE).await;
    assert_eq!(
        bob.eval("return document.querySelector('#room-passphrase').type")
            .await,
        "text",
        "Space on the checkbox shows the passphrase"
    );
    bob.wait_text("#strength-label", "Strong").await;
    press(&bob, TAB).await;
    assert_eq!(focused(&bob).await, "enter-named");
    press(&bob, ENTER).await;

    // The room is live: the question takes the focus, and Enter answers "join it".
    bob.wait_text("#named-question-text", "This room already exists")
        .await;
    bob.wait_until("the question's first button to have the focus", || async {
        focused(&bob).await == "answer-yes"
    })
    .await;
    press(&bob, ENTER).await;
    bob.wait_text("#connection", "connected").await;
    ada.wait_count(".member", 2).await;

    for page in [ada, bob] {
        page.close().await;
    }
}
