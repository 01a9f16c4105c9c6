//! Host powers that move, in three headless Chromium browsers: the host hands them to
//! a member from the member list, and when that host leaves, the member with the lowest
//! place in the group takes over, as every page shows and the relay obeys.

use vroom_testkit::browser::{app_config, Chrome, Page};
use vroom_testkit::relay::Relay;

use crate::browser::{create_room, join_room};

/// Whether the page offers the host's "End room" button.
async fn shows_host_controls(page: &Page) -> bool {
    page.eval("return document.querySelector('#terminate') ? 'yes' : 'no'")
        .await
        == "yes"
}

/// The nicknames the member list marks as the host.
async fn marked_host(page: &Page) -> String {
    page.eval(
        "return [...document.querySelectorAll('.member')] \
         .filter(m => m.querySelector('.tag.host')) \
         .map(m => m.querySelector('.nick').textContent).join(',')",
    )
    .await
}

async fn wait_marked_host(page: &Page, nick: &str) {
    page.wait_until(&format!("{nick} marked as the host"), || async {
        marked_host(page).await == nick
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_hands_over_and_a_successor_takes_over_when_that_host_leaves() {
    let relay = Relay::start(app_config()).await;
    let origin = relay.origin();
    let chrome = Chrome::start().await;

    let (ada, link) = create_room(&chrome, &origin, "Ada").await;
    let bob = join_room(&chrome, &link, "Bob").await;
    let cy = join_room(&chrome, &link, "Cy").await;
    for page in [&ada, &bob, &cy] {
        page.wait_count(".member", 3).await;
        wait_marked_host(page, "Ada").await;
    }

    // Ada hands her powers to Bob from the member list.
    ada.eval(
        "[...document.querySelectorAll('button.make-host')] \
         .find(b => b.getAttribute('aria-label').startsWith('Make Bob')).click(); \
         return 'ok'",
    )
    .await;
    bob.wait_text(".event", "You are the host now").await;
    for page in [&ada, &cy] {
        page.wait_text(".event", "Bob is the host now").await;
    }
    for page in [&ada, &bob, &cy] {
        wait_marked_host(page, "Bob").await;
    }
    bob.find("#terminate").await;
    ada.wait_until("Ada's host controls gone", || async {
        !shows_host_controls(&ada).await
    })
    .await;
    // The relay obeys the new host: Bob's lock reaches everyone.
    bob.click("#lock").await;
    for page in [&ada, &cy] {
        page.wait_text("#locked-badge", "Locked").await;
    }
    bob.click("#lock").await;
    ada.wait_until("the room unlocked", || async {
        ada.eval("return document.querySelector('#locked-badge') ? 'yes' : 'no'")
            .await
            == "no"
    })
    .await;

    // Bob leaves; he is warned first, and Ada (the lowest place left) takes over.
    bob.click("#leave").await;
    bob.wait_text("#confirm-title", "Make host").await;
    bob.click("#confirm-terminate").await;
    ada.wait_text(".event", "You are the host now").await;
    cy.wait_text(".event", "Ada is the host now").await;
    for page in [&ada, &cy] {
        page.wait_count(".member", 2).await;
        wait_marked_host(page, "Ada").await;
    }
    ada.find("#terminate").await;
    assert!(!shows_host_controls(&cy).await);
    // The relay's seat followed: Ada's lock reaches Cy.
    ada.click("#lock").await;
    cy.wait_text("#locked-badge", "Locked").await;
    for page in [ada, cy] {
        page.close().await;
    }
    bob.close_unchecked().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_caps_the_members_and_the_relay_refuses_one_more() {
    let relay = Relay::start(app_config()).await;
    let origin = relay.origin();
    let chrome = Chrome::start().await;

    let (ada, link) = create_room(&chrome, &origin, "Ada").await;
    let bob = join_room(&chrome, &link, "Bob").await;
    for page in [&ada, &bob] {
        page.wait_count(".member", 2).await;
    }
    assert_eq!(
        bob.eval("return document.querySelector('#member-cap') ? 'yes' : 'no'")
            .await,
        "no",
        "only the host sets the cap"
    );
    ada.fill("#member-cap", "2").await;
    ada.click("#set-cap").await;
    for page in [&ada, &bob] {
        page.wait_text("#cap-status", "at most 2 members").await;
        page.wait_text(".event", "The host lets at most 2 members into the room")
            .await;
    }
    // A third person is refused by the relay, with a sentence that says why.
    let cy = chrome.open(&link).await;
    cy.wait_text("#problem-title", "This room is full").await;
    for page in [ada, bob, cy] {
        page.close().await;
    }
}

/// The buttons' accessible names on `page`, for buttons matching `css`.
async fn labels(page: &Page, css: &str) -> Vec<String> {
    page.eval(&format!(
        "return [...document.querySelectorAll('{css}')] \
         .map(b => b.getAttribute('aria-label')).join('\\n')"
    ))
    .await
    .lines()
    .map(str::to_owned)
    .collect()
}

/// The host makes Bob a moderator from the member list: every page marks him, his
/// page offers Remove buttons (not for the host) and the lock, not the host's other
/// controls; his removal of Cy is shown as his by everyone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moderator_named_in_the_member_list_removes_a_member() {
    let relay = Relay::start(app_config()).await;
    let origin = relay.origin();
    let chrome = Chrome::start().await;

    let (ada, link) = create_room(&chrome, &origin, "Ada").await;
    let bob = join_room(&chrome, &link, "Bob").await;
    let cy = join_room(&chrome, &link, "Cy").await;
    for page in [&ada, &bob, &cy] {
        page.wait_count(".member", 3).await;
    }
    assert!(labels(&bob, "button.remove").await.is_empty());
    ada.eval(
        "[...document.querySelectorAll('button.moderator')] \
         .find(b => b.getAttribute('aria-label').startsWith('Make Bob')).click(); \
         return 'ok'",
    )
    .await;
    bob.wait_text(".event", "You are a moderator now").await;
    for page in [&ada, &cy] {
        page.wait_text(".event", "Bob is a moderator now").await;
        page.wait_count(".member .tag.moderator", 1).await;
    }
    // Ada's button now takes it back, named for Bob.
    ada.wait_until("Ada's button to take it back", || async {
        labels(&ada, "button.moderator")
            .await
            .iter()
            .any(|l| l.starts_with("Remove Bob (") && l.ends_with(" as moderator"))
    })
    .await;
    bob.wait_until("Bob's Remove buttons", || async {
        let labels = labels(&bob, "button.remove").await;
        labels.len() == 1 && labels[0].starts_with("Remove Cy (")
    })
    .await;
    assert!(
        !shows_host_controls(&bob).await,
        "no End room for a moderator"
    );
    assert!(labels(&bob, "button.make-host").await.is_empty());
    assert!(labels(&bob, "button.moderator").await.is_empty());
    bob.find("#lock").await;
    assert_eq!(
        bob.eval("return document.querySelector('#set-cap') ? 'yes' : 'no'")
            .await,
        "no",
        "no member cap for a moderator"
    );

    bob.eval("document.querySelector('button.remove').click(); return 'ok'")
        .await;
    for page in [&ada, &bob] {
        page.wait_text(".event", "was removed by moderator").await;
        page.wait_count(".member", 2).await;
    }
    for page in [ada, bob] {
        page.close().await;
    }
    cy.close_unchecked().await;
}
