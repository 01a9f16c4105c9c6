//! The room as people use it, in two and three headless Chromium browsers: names told
//! apart, the host marked, what a newcomer sees, locking, removal and leaving (each
//! said to the person it happened to), the keyboard, the message box's commands,
//! counter, lines and links, unread counts, and alerts' remembered choices. Every page
//! is closed with [`Page::close`], which fails on any error its console showed.

use vroom_testkit::browser::{app_config, Chrome, Page, Recorder};
use vroom_testkit::relay::Relay;

use crate::browser::{create_room, join_room, say};

/// WebDriver's key codes.
const ENTER: &str = "\u{E007}";
const SHIFT: &str = "\u{E008}";
const ESCAPE: &str = "\u{E00C}";

/// The id of the element that has the keyboard focus.
async fn focused(page: &Page) -> String {
    page.eval("return document.activeElement ? document.activeElement.id : ''")
        .await
}

/// Waits until the element `id` has the keyboard focus.
async fn wait_focus(page: &Page, id: &str) {
    page.wait_until(&format!("the focus on #{id}"), || async {
        focused(page).await == id
    })
    .await;
}

/// Each message as `name|badge|host mark|text`, in order.
async fn messages(page: &Page) -> Vec<String> {
    let shown = page
        .eval(
            "return [...document.querySelectorAll('.message')].map(m => [ \
             m.querySelector('.sender bdi').textContent, \
             m.querySelector('.badge-id').textContent, \
             m.querySelector('.tag.host') ? 'host' : '', \
             m.querySelector('.text').textContent].join('|')).join('\\n')",
        )
        .await;
    shown.lines().map(str::to_owned).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_are_told_apart_and_everyone_is_told_what_happened_to_them() {
    let relay = Relay::start(app_config()).await;
    let origin = relay.origin();
    let chrome = Chrome::start().await;

    let (ada, link) = create_room(&chrome, &origin, "Ada").await;
    wait_focus(&ada, "message").await;
    let bob = join_room(&chrome, &link, "Bob").await;
    ada.wait_count(".member", 2).await;
    // The keyboard of someone who opens the link starts in the name prompt.
    let cy = chrome.open(&link).await;
    wait_focus(&cy, "own-nick").await;
    cy.fill("#own-nick", "Cy").await;
    cy.click("#save-nick").await;
    wait_focus(&cy, "message").await;
    for page in [&ada, &bob, &cy] {
        page.wait_count(".member", 3).await;
    }

    // A newcomer sees who was already here as present, not as arrivals.
    cy.wait_text(".arrival", "Already here").await;
    cy.wait_text(".arrival .present", "Ada").await;
    cy.wait_text(".arrival .present", "Bob").await;
    assert!(
        !cy.texts(".event")
            .await
            .iter()
            .any(|e| e.contains("joined")),
        "the newcomer is not told that people already here joined: {:?}",
        cy.texts(".event").await
    );
    assert!(
        cy.texts(".arrival").await[0].contains("before you arrived"),
        "the newcomer is told it cannot read what came before"
    );
    bob.wait_text(".event", "is now Cy").await;

    // Cy takes Ada's name with a command, and claims to be the host.
    say(&cy, "/nick Ada").await;
    bob.wait_text(".event", "Cy is now Ada").await;
    say(&ada, "I am the host").await;
    say(&cy, "this is Ada (the host), send me your password").await;
    bob.wait_count(".message", 2).await;
    let seen = messages(&bob).await;
    assert_eq!(seen.len(), 2, "{seen:?}");
    let (real, fake) = (&seen[0], &seen[1]);
    let field = |line: &str, i: usize| line.split('|').nth(i).unwrap_or_default().to_owned();
    assert!(
        field(real, 0) == "Ada" && field(fake, 0) == "Ada",
        "both show the name Ada: {seen:?}"
    );
    assert!(
        !field(real, 1).is_empty() && field(real, 1) != field(fake, 1),
        "two Adas get different badges: {seen:?}"
    );
    assert!(
        field(real, 2) == "host" && field(fake, 2).is_empty(),
        "only the real host's message is marked: {seen:?}"
    );
    // The member list tells them apart too, and each Remove button names its member.
    let labels = ada
        .eval(
            "return [...document.querySelectorAll('button.remove')] \
             .map(b => b.getAttribute('aria-label')).join('\\n')",
        )
        .await;
    let labels: Vec<&str> = labels.lines().collect();
    assert_eq!(labels.len(), 2, "{labels:?}");
    assert!(
        labels.iter().any(|l| l.starts_with("Remove Bob (")),
        "{labels:?}"
    );
    assert!(
        labels.iter().any(|l| l.starts_with("Remove Ada (")),
        "the impostor's button names it with its badge: {labels:?}"
    );

    // Locking shows in the top bar and in the invite panel, for everyone.
    ada.click("#lock").await;
    for page in [&ada, &bob] {
        page.wait_text("#locked-badge", "Locked").await;
        page.wait_text("#invite-status", "Joining is locked").await;
    }

    // The host removes the impostor, who is told it was removed (not that the room
    // closed).
    ada.eval(
        "[...document.querySelectorAll('button.remove')] \
         .find(b => b.getAttribute('aria-label').startsWith('Remove Ada')).click(); \
         return 'ok'",
    )
    .await;
    cy.wait_text("#ended-title", "You were removed from the room")
        .await;
    bob.wait_text(".event", "was removed by the host").await;

    // Bob leaves and is told so.
    bob.click("#leave").await;
    bob.wait_text("#ended-title", "You left the room").await;
    ada.wait_text(".event", "Bob left").await;

    // The host is warned before leaving; the warning takes the focus and Esc closes it.
    ada.click("#leave").await;
    ada.wait_text("#confirm-title", "Leave the room you host?")
        .await;
    wait_focus(&ada, "cancel-confirm").await;
    ada.find("#cancel-confirm")
        .await
        .send_keys(ESCAPE)
        .await
        .expect("press Escape");
    ada.wait_count("[role=alertdialog]", 0).await;
    // Ending the room asks too, with the focus on the safe choice.
    ada.click("#terminate").await;
    wait_focus(&ada, "cancel-confirm").await;
    ada.click("#confirm-terminate").await;
    ada.wait_text("#ended-title", "This room is closed").await;
    relay.wait_rooms(0).await;

    for page in [ada, bob, cy] {
        page.close().await;
    }
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_message_box_helps_and_unread_messages_are_counted() {
    let relay = Relay::start(app_config()).await;
    let origin = relay.origin();
    let chrome = Chrome::start().await;

    // A name of only spaces (or invisible characters) is refused with a reason.
    let ada = chrome.open(&format!("{origin}/")).await;
    ada.fill("#nick", "   \u{200B} ").await;
    ada.click("#create-room").await;
    ada.wait_text("#nick-error", "visible character").await;
    // A right-to-left override in a name cannot turn the rest of the line around.
    ada.fill("#nick", "Ada\u{202E}").await;
    ada.click("#create-room").await;
    ada.wait_text("#connection", "connected").await;
    let link = ada.value("#invite-link").await;
    let bob = join_room(&chrome, &link, "Bob").await;
    ada.wait_count(".member", 2).await;

    // The command hint, and Tab completing it.
    let message = ada.find("#message").await;
    message.send_keys("/ni").await.expect("type");
    ada.wait_text("#command-hint", "/nick").await;
    message.send_keys("\u{E004}").await.expect("press Tab");
    assert_eq!(ada.value("#message").await, "/nick ");
    message.clear().await.expect("clear");
    ada.wait_count("#command-hint", 0).await;

    // Shift+Enter makes a new line; Enter sends; a link becomes clickable, and nothing
    // is fetched from it.
    message
        .send_keys(&format!(
            "first line{SHIFT}{ENTER}{SHIFT}see https://example.invalid/a?b=1."
        ))
        .await
        .expect("type two lines");
    message.send_keys(ENTER).await.expect("press Enter");
    bob.wait_text(".message .text", "see https://example.invalid/a?b=1.")
        .await;
    let text = bob
        .eval("return document.querySelector('.message .text').innerText")
        .await;
    assert_eq!(text, "first line\nsee https://example.invalid/a?b=1.");
    let link_out = bob
        .eval(
            "const a = document.querySelector('.message .text a'); \
             return a.getAttribute('href') + ' ' + a.getAttribute('rel')",
        )
        .await;
    assert_eq!(
        link_out,
        "https://example.invalid/a?b=1 noopener noreferrer nofollow"
    );
    assert_eq!(
        bob.eval(
            "return performance.getEntriesByType('resource') \
             .filter(e => e.name.includes('example.invalid')).length"
        )
        .await,
        "0",
        "nothing is fetched from a link"
    );
    // The sender's name is isolated: its override stays inside it, and the override
    // character itself is gone.
    let sender = bob
        .eval(
            "const s = document.querySelector('.message .sender bdi'); \
             return getComputedStyle(s).unicodeBidi + ' ' + JSON.stringify(s.textContent)",
        )
        .await;
    assert_eq!(sender, "isolate \"Ada\"");

    // Near the size limit, a counter says what is left.
    ada.eval(
        "const m = document.querySelector('#message'); \
         m.value = 'x'.repeat(60000); m.dispatchEvent(new Event('input')); return 'ok'",
    )
    .await;
    ada.wait_text("#counter", "too many").await;
    ada.eval(
        "const m = document.querySelector('#message'); \
         m.value = 'x'.repeat(45000); m.dispatchEvent(new Event('input')); return 'ok'",
    )
    .await;
    ada.wait_text("#counter", "left").await;
    ada.fill("#message", "short").await;
    ada.wait_until("the counter to go away", || async {
        ada.texts("#counter").await.iter().all(String::is_empty)
    })
    .await;
    ada.fill("#message", "").await;

    // Bob's tab goes to the background; what arrives meanwhile is unread: in the title,
    // behind a divider, and a button jumps to it.
    bob.eval(
        "Object.defineProperty(document, 'hidden', { value: true, configurable: true }); \
         document.dispatchEvent(new Event('visibilitychange')); return 'ok'",
    )
    .await;
    say(&ada, "one").await;
    say(&ada, "two").await;
    bob.wait_text(".message .text", "two").await;
    bob.wait_until("the unread count in the title", || async {
        bob.eval("return document.title").await.starts_with("(2) ")
    })
    .await;
    bob.wait_text(".divider", "New messages").await;
    let after_divider = bob
        .eval("return document.querySelector('.divider').parentElement.querySelector('.text').textContent")
        .await;
    assert_eq!(
        after_divider, "one",
        "the divider is above the first unread message"
    );
    bob.wait_text("#jump-unread", "2 new messages").await;
    // Back on the page: read.
    bob.eval(
        "Object.defineProperty(document, 'hidden', { value: false, configurable: true }); \
         document.dispatchEvent(new Event('visibilitychange')); return 'ok'",
    )
    .await;
    bob.wait_until("the title without a count", || async {
        !bob.eval("return document.title").await.starts_with('(')
    })
    .await;

    // /help answers on this screen only; /clear clears this screen only.
    say(&bob, "/help").await;
    bob.wait_text(".event", "/clear").await;
    say(&bob, "/clear").await;
    bob.wait_count(".message", 0).await;
    assert_eq!(
        ada.texts(".message").await.len(),
        3,
        "the others keep theirs"
    );
    say(&bob, "/me waves").await;
    ada.wait_text(".message .text.action", "* Bob waves").await;

    // Alerts are off until chosen; the choice is remembered, and nothing of the room.
    assert_eq!(
        bob.eval("return [document.querySelector('#alert-notify').checked, document.querySelector('#alert-sound').checked].join()").await,
        "false,false"
    );
    bob.eval("document.querySelector('.alerts').open = true; return 'ok'")
        .await;
    bob.click("#alert-sound").await;
    bob.wait_until("the sound choice to be stored", || async {
        bob.eval("return JSON.stringify(Object.entries(localStorage))")
            .await
            == r#"[["vroom.alerts","001"]]"#
    })
    .await;

    for page in [ada, bob] {
        page.close().await;
    }
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_deletes_reactions_replies_typing_receipts_presence_and_private_messages() {
    let relay = Relay::start(app_config()).await;
    let recorder = Recorder::start(relay.addr()).await;
    let origin = recorder.origin();
    let chrome = Chrome::start().await;

    let (ada, link) = create_room(&chrome, &origin, "Ada").await;
    let bob = join_room(&chrome, &link, "Bob").await;
    ada.wait_count(".member", 2).await;
    let cy = join_room(&chrome, &link, "Cy").await;
    for page in [&ada, &bob, &cy] {
        page.wait_count(".member", 3).await;
    }

    // Typing reaches the others.
    bob.find("#message")
        .await
        .send_keys("helo")
        .await
        .expect("type");
    ada.wait_text("#typing", "Bob is typing").await;
    bob.find("#message")
        .await
        .send_keys(&format!(" wrld{ENTER}"))
        .await
        .expect("send");
    for page in [&ada, &cy] {
        page.wait_text(".message .text", "helo wrld").await;
    }
    ada.wait_until("the typing line to clear", || async {
        ada.texts("#typing").await.iter().all(String::is_empty)
    })
    .await;

    // Only one's own messages offer edit and delete.
    assert_eq!(ada.texts(".message:not(.own) .edit").await.len(), 0);
    assert_eq!(ada.texts(".message:not(.own) .delete").await.len(), 0);

    // Bob edits his message; everyone sees the new text, marked as edited.
    bob.click(".message.own .edit").await;
    bob.wait_text("#composing", "Editing").await;
    assert_eq!(bob.value("#message").await, "helo wrld");
    bob.fill("#message", "hello world").await;
    bob.click("#send").await;
    for page in [&ada, &cy, &bob] {
        page.wait_text(".message .text", "hello world").await;
        page.wait_text(".message .edited", "edited").await;
    }

    // Ada reacts; the others see the count and who.
    ada.click(".message:not(.own) .react").await;
    bob.wait_text(".reaction", "1").await;
    let who = bob
        .eval("return document.querySelector('.reaction').getAttribute('title')")
        .await;
    assert!(who.contains("Ada"), "the reaction says who: {who}");

    // Cy replies, quoting; a click on the quote shows the original.
    cy.click(".message:not(.own) .reply").await;
    cy.wait_text("#composing", "Replying to").await;
    say(&cy, "agreed").await;
    ada.wait_text(".message .quote", "hello world").await;
    ada.click(".message .quote").await;
    ada.wait_count(".message.flash", 1).await;

    // Read receipts come back, batched, as "seen by".
    bob.wait_text(".seen", "Seen by").await;

    // Bob deletes his message for everyone.
    bob.click(".message.own .delete").await;
    for page in [&ada, &cy] {
        page.wait_text(".message .text.deleted", "Message deleted")
            .await;
    }

    // A private message reaches Bob alone, marked as private; the relay and Cy see
    // nothing of it.
    let secret = "canary-dm-61c2e9 just between us";
    ada.click("button.dm[aria-label='Message Bob privately']")
        .await;
    ada.wait_text("#composing", "Private message to").await;
    say(&ada, secret).await;
    bob.wait_text(".message.private .text", secret).await;
    bob.wait_text(".message.private .private-label", "Private")
        .await;
    ada.wait_text(".message.private .text", secret).await;
    say(&cy, "after the private one").await;
    ada.wait_text(".message .text", "after the private one")
        .await;
    assert!(
        !cy.body_text().await.contains("canary-dm-61c2e9"),
        "a third member sees nothing of a private message"
    );
    for (_, bytes) in recorder.recorded() {
        assert!(
            !bytes.windows(16).any(|w| w == &secret.as_bytes()[..16]),
            "a private message reached the relay in the clear"
        );
    }

    // Bob's tab goes to the background: the others see him away, listed last.
    bob.eval(
        "Object.defineProperty(document, 'hidden', { value: true, configurable: true }); \
         document.dispatchEvent(new Event('visibilitychange')); return 'ok'",
    )
    .await;
    ada.wait_until("Bob shown away, at the end of the list", || async {
        let last = ada
            .eval("const m = [...document.querySelectorAll('.member')].pop(); return m.innerText")
            .await;
        last.contains("Bob") && last.contains("away")
    })
    .await;

    for page in [ada, bob, cy] {
        page.close().await;
    }
    relay.stop().await;
}
