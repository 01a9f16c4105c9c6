//! A kick renews the room's invitation in the web app (PROTOCOL.md §11.4): the
//! remaining members' invite panels (and address bars) change to the new link, a fresh
//! browser gets in with the new link, and one with the old link is told the invitation
//! was replaced; a member who reloads after the kick comes back with the new link.

use vroom_testkit::browser::{app_config, Chrome, Page};
use vroom_testkit::relay::Relay;

use crate::browser::{create_room, join_room, say};

/// Alice (host) removes `nick` through the member list.
async fn remove(alice: &Page, nick: &str) {
    alice
        .eval(&format!(
            "[...document.querySelectorAll('button.remove')] \
             .find(b => b.getAttribute('aria-label').startsWith('Remove {nick}')).click(); \
             return 'ok'"
        ))
        .await;
}

/// Waits until the page's invite panel shows a link other than `old`, and returns it.
async fn renewed_link(page: &Page, old: &str) -> String {
    page.wait_until("a new link in the invite panel", || async {
        let now = page.value("#invite-link").await;
        !now.is_empty() && now != old
    })
    .await;
    page.value("#invite-link").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_kick_the_invite_panel_shows_a_new_link_and_only_it_works() {
    let relay = Relay::start(app_config()).await;
    let chrome = Chrome::start().await;
    let (alice, link) = create_room(&chrome, &relay.origin(), "Alice").await;
    let bob = join_room(&chrome, &link, "Bob").await;
    let carol = join_room(&chrome, &link, "Carol").await;
    alice.wait_count(".member", 3).await;
    bob.wait_count(".member", 3).await;
    assert_eq!(bob.value("#invite-link").await, link);

    remove(&alice, "Carol").await;
    carol
        .wait_text("#ended-title", "You were removed from the room")
        .await;
    let renewed = renewed_link(&alice, &link).await;
    assert!(renewed.starts_with(&format!("{}/r#", relay.origin())));
    assert_eq!(
        renewed_link(&bob, &link).await,
        renewed,
        "bob shows another link"
    );
    // The address bar carries it too, so a reload or a copied address is the new one.
    assert_eq!(bob.eval("return location.href").await, renewed);

    // The old link, in a fresh browser: the page says the invitation was replaced.
    let stale = chrome.open(&link).await;
    stale
        .wait_text("#problem-title", "This invitation was replaced")
        .await;
    stale.wait_text("#problem-detail", "no longer works").await;
    stale.close().await;

    // The new link, in a fresh browser: in, and chatting.
    let dave = join_room(&chrome, &renewed, "Dave").await;
    alice.wait_count(".member", 3).await;
    say(&dave, "hello from the new link").await;
    for page in [&alice, &bob] {
        page.wait_text(".message:not(.own) .text", "hello from the new link")
            .await;
    }
    assert_eq!(dave.value("#invite-link").await, renewed);

    // Bob reloads: he comes back as himself, with the new link.
    bob.client.refresh().await.expect("reload");
    bob.wait_text("#connection", "connected").await;
    assert_eq!(bob.value("#invite-link").await, renewed);
    say(&bob, "back after a reload").await;
    dave.wait_text(".message:not(.own) .text", "back after a reload")
        .await;

    for page in [alice, bob, carol, dave] {
        page.close().await;
    }
    relay.stop().await;
}
