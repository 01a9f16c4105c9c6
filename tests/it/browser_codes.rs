//! Short codes in real browsers (and terminals) against a relay: a code made in a
//! browser admits a second browser and they talk; wrong codes are refused with the
//! sentence and the third burns the code, so that the right one fails too; codes go
//! both ways between the web app and the native client; a revoked code admits nobody;
//! a room holds as many live codes as the relay allows and the next is refused.

use vroom_testkit::browser::{app_config, Chrome, Page};
use vroom_testkit::cli::Client;
use vroom_testkit::relay::Relay;

use crate::browser::{create_room, say};

/// The sentence for a wrong code (shared: `CodeError::Wrong`).
const WRONG: &str = "That code did not work. It may be mistyped, or someone may be guessing it.";
/// The sentence for a burned code (shared: `CodeRefusal::Burned`).
const BURNED: &str = "This code no longer works";
/// The sentence for a revoked (or never made) code (shared: `CodeRefusal::Unknown`).
const UNKNOWN: &str = "There is no such code.";

/// Clicks "Make a short code" in the room on `page`, waits until it shows one code more
/// than `before`, and returns the newest code's text.
async fn make_code(page: &Page, before: usize) -> String {
    page.click("#make-code").await;
    page.wait_count(".live-code", before + 1).await;
    let codes = page.texts(".live-code .code-text").await;
    let code = codes.last().cloned().expect("a code is listed");
    assert!(
        code.split('-').count() == 3 && code.split('-').all(|p| !p.is_empty()),
        "a code reads like 7-amber-river, got {code:?}"
    );
    code
}

/// The same code with its last word changed (to another word of the list).
fn mistyped(code: &str) -> String {
    let (head, last) = code.rsplit_once('-').expect("a code has dashes");
    let other = if last == "acid" { "acorn" } else { "acid" };
    format!("{head}-{other}")
}

/// The code as someone might type it from hearing it: capitals and spaces.
fn as_heard(code: &str) -> String {
    format!("  {}  ", code.replace('-', " ").to_uppercase())
}

/// Opens the start page in a new browser and types `nick` and `code` into the short
/// code card (without sending).
async fn fill_code(chrome: &Chrome, origin: &str, nick: &str, code: &str) -> Page {
    let page = chrome.open(&format!("{origin}/")).await;
    page.fill("#nick", nick).await;
    page.fill("#join-code", code).await;
    page
}

/// Sends the typed code and waits for the sentence that says it failed.
async fn refused(page: &Page, sentence: &str) {
    page.click("#enter-code").await;
    page.wait_text("#code-error", sentence).await;
    assert_eq!(
        page.eval("return document.getElementById('join-code').getAttribute('aria-invalid')")
            .await,
        "true",
        "the field is marked invalid while the sentence shows"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_made_in_a_browser_admits_another_browser_and_they_talk() {
    let relay = Relay::start(app_config()).await;
    let origin = relay.origin();
    let chrome = Chrome::start().await;

    let (ada, _link) = create_room(&chrome, &origin, "Ada").await;
    let code = make_code(&ada, 0).await;
    let expiry = ada.texts(".live-code .code-expiry").await.join("");
    assert!(
        expiry.starts_with("expires in 5:00") || expiry.starts_with("expires in 4:5"),
        "a fresh code counts down from the relay's five minutes: {expiry:?}"
    );
    ada.wait_text(".live-code .code-meta", "3 wrong tries left")
        .await;
    // The countdown is live.
    ada.wait_until("the countdown to move", || async {
        ada.texts(".live-code .code-expiry").await.join("") != expiry
    })
    .await;

    // The start page's card: labelled, described, and typed as it was heard.
    let bob = fill_code(&chrome, &origin, "Bob", &as_heard(&code)).await;
    let described = bob
        .eval("return document.getElementById('join-code').getAttribute('aria-describedby')")
        .await;
    assert!(described.contains("code-help"), "{described:?}");
    assert_eq!(
        bob.eval("return document.querySelector('label[for=join-code]').textContent")
            .await,
        "Short code"
    );
    bob.click("#enter-code").await;
    bob.wait_text("#connection", "connected").await;
    bob.wait_text(".member .nick", "Ada").await;
    ada.wait_text(".member .nick", "Bob").await;
    ada.wait_text("#code-note", "Someone used code").await;
    ada.wait_text(".live-code .code-meta", "let 1 person in")
        .await;
    // In by code, Bob holds the room's link as if it had come by link.
    assert!(
        bob.value("#invite-link")
            .await
            .starts_with(&format!("{origin}/r#")),
        "the joiner has the room's invite link"
    );

    say(&bob, "in by code").await;
    ada.wait_text(".message:not(.own) .text", "in by code")
        .await;
    say(&ada, "welcome").await;
    bob.wait_text(".message:not(.own) .text", "welcome").await;

    ada.close().await;
    bob.close().await;
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_codes_are_refused_and_the_third_burns_the_code() {
    let relay = Relay::start(app_config()).await;
    let origin = relay.origin();
    let chrome = Chrome::start().await;

    let (ada, _link) = create_room(&chrome, &origin, "Ada").await;
    let code = make_code(&ada, 0).await;

    // Not a code at all: said at once, before any exchange.
    let eve = fill_code(&chrome, &origin, "Eve", "amber river").await;
    refused(&eve, "This is not a short code.").await;

    // Each wrong attempt counts at once on the maker's page; the third burns the code.
    for attempt in 1..=3u8 {
        eve.fill("#join-code", &mistyped(&code)).await;
        refused(&eve, WRONG).await;
        let told = if attempt < 3 {
            format!("({attempt} of 3)")
        } else {
            "failed 3 times and no longer works".to_owned()
        };
        ada.wait_text("#code-note", &told).await;
    }
    ada.wait_count(".live-code", 0).await;

    // Even the right code fails now, with the burned sentence.
    eve.fill("#join-code", &code).await;
    refused(&eve, BURNED).await;
    assert_eq!(ada.texts(".member .nick").await.len(), 1, "nobody got in");

    ada.close().await;
    eve.close().await;
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_work_both_ways_between_the_web_app_and_the_native_client() {
    let relay = Relay::start(app_config()).await;
    let origin = relay.origin();
    let chrome = Chrome::start().await;

    // A browser's code admits a terminal.
    let (ada, _link) = create_room(&chrome, &origin, "Ada").await;
    let code = make_code(&ada, 0).await;
    let mut cleo = Client::spawn(
        "cleo",
        &[
            "join", "--server", &origin, "--code", &code, "--nick", "Cleo",
        ],
    );
    cleo.expect_joined("Ada").await;
    ada.wait_text(".member .nick", "Cleo").await;
    cleo.say("terminal in by code").await;
    ada.wait_text(".message:not(.own) .text", "terminal in by code")
        .await;

    // A terminal's code admits a browser.
    let (mut dan, _link) = Client::create(&origin, "Dan", &["--code"]).await;
    let line = dan
        .expect_line("a short code", |l| l.starts_with("-- Short code: "))
        .await;
    let dans = line["-- Short code: ".len()..]
        .split_whitespace()
        .next()
        .expect("the code after the label")
        .to_owned();
    let bob = fill_code(&chrome, &origin, "Bob", &dans).await;
    bob.click("#enter-code").await;
    bob.wait_text("#connection", "connected").await;
    dan.expect_joined("Bob").await;
    say(&bob, "browser in by code").await;
    dan.expect("Bob: browser in by code").await;

    ada.close().await;
    bob.close().await;
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_code_admits_nobody_and_a_room_holds_three_codes() {
    let relay = Relay::start(app_config()).await;
    let origin = relay.origin();
    let chrome = Chrome::start().await;

    let (ada, _link) = create_room(&chrome, &origin, "Ada").await;
    let first = make_code(&ada, 0).await;
    let second = make_code(&ada, 1).await;
    let third = make_code(&ada, 2).await;
    assert!(first != second && second != third && first != third);

    // A fourth is refused: the relay allows three live codes per room.
    ada.click("#make-code").await;
    ada.wait_text("#code-note", "as many live codes as the relay allows")
        .await;
    assert_eq!(ada.texts(".live-code").await.len(), 3);

    // Revoke the first: it leaves the list and admits nobody.
    ada.click(&format!(
        ".live-code:first-child button[aria-label='Revoke code {first}']"
    ))
    .await;
    ada.wait_count(".live-code", 2).await;
    ada.wait_text("#code-note", "Code revoked").await;
    let eve = fill_code(&chrome, &origin, "Eve", &first).await;
    refused(&eve, UNKNOWN).await;

    // The others still work, and a new one may be made again.
    eve.fill("#join-code", &second).await;
    eve.click("#enter-code").await;
    eve.wait_text("#connection", "connected").await;
    ada.wait_text(".member .nick", "Eve").await;
    make_code(&ada, 2).await;

    ada.close().await;
    eve.close().await;
    relay.stop().await;
}
