//! Native clients through a real relay using the room around messages: numbered
//! messages, replies, `/me`, edits and deletes of one's own messages (and the refusal of
//! another's), reactions, and a private message that only its recipient shows.

use std::time::Duration;

use vroom_testkit::cli::Client;
use vroom_testkit::relay::{test_config, Relay};

/// Three members who all see each other; ada is the host.
async fn room_of_three(origin: &str) -> (Client, Client, Client) {
    let (ada, bob, cara, _) = vroom_testkit::cli::room_of_three(origin, &[]).await;
    (ada, bob, cara)
}

/// Waits (bounded) until the client has written `sentence` to stderr.
async fn expect_stderr(client: &Client, sentence: &str) {
    for _ in 0..100 {
        if client.stderr().contains(sentence) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "stderr never said {sentence:?}; it holds {:?}",
        client.stderr()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_actions_edits_deletes_and_reactions_reach_everyone() {
    let relay = Relay::start(test_config()).await;
    let (mut ada, mut bob, mut cara) = room_of_three(&relay.origin()).await;

    // Message 1 for everyone: one relay order, one numbering.
    bob.say("lunch at noon?").await;
    for c in [&mut ada, &mut bob, &mut cara] {
        c.expect("bob: lunch at noon?").await;
    }
    cara.say("/reply 1 yes!").await;
    ada.say("/me brings cake").await;
    let shown = [
        "cara (reply to 1): yes!".to_owned(),
        "* ada brings cake".to_owned(),
    ];
    for c in [&mut ada, &mut bob, &mut cara] {
        c.expect_all(&shown).await;
    }
    // Bob fixes his message 1; then ada reacts to it.
    bob.say("/edit 1 lunch at one?").await;
    for c in [&mut ada, &mut bob, &mut cara] {
        c.expect("bob: lunch at one? (edited)").await;
    }
    ada.say("/react 1 👍").await;
    for c in [&mut ada, &mut bob, &mut cara] {
        c.expect("-- ada reacted 👍 to message 1").await;
    }
    // Ada cannot edit or delete bob's message: her client refuses, and nobody sees a
    // change.
    ada.say("/edit 1 lunch cancelled").await;
    ada.say("/delete 1").await;
    expect_stderr(
        &ada,
        "vroom: You can only edit or delete your own messages.",
    )
    .await;
    // Bob deletes his own message.
    bob.say("/delete 1").await;
    for c in [&mut ada, &mut bob, &mut cara] {
        c.expect("-- bob deleted message 1").await;
    }
    bob.say("done").await;
    for c in [&mut ada, &mut bob, &mut cara] {
        c.expect("bob: done").await;
        let lines = c.all_lines().await;
        assert!(!lines.iter().any(|l| l.contains("cancelled")), "{lines:?}");
        assert!(!lines.iter().any(|l| l.starts_with("!!")), "{lines:?}");
    }
    ada.say("/end").await;
    ada.expect_exit_ok().await; // its stderr holds the refusals
    for c in [&mut bob, &mut cara] {
        c.expect_clean_exit().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_message_is_shown_by_its_two_ends_only() {
    let relay = Relay::start(test_config()).await;
    let (mut ada, mut bob, mut cara) = room_of_three(&relay.origin()).await;

    ada.say("/dm bob the key is under the mat").await;
    ada.expect("(private) ada to bob: the key is under the mat")
        .await;
    bob.expect("(private) ada to you: the key is under the mat")
        .await;
    // A room message after it: once cara shows that, she has had everything before.
    ada.say("after").await;
    for c in [&mut ada, &mut bob, &mut cara] {
        c.expect("ada: after").await;
    }
    let lines = cara.all_lines().await;
    assert!(!lines.iter().any(|l| l.contains("mat")), "{lines:?}");
    assert!(!lines.iter().any(|l| l.starts_with("!!")), "{lines:?}");
    // Nobody by that name: a clear sentence, nothing sent.
    ada.say("/dm zed hello").await;
    expect_stderr(&ada, "vroom: nobody called 'zed' is in the room").await;

    ada.say("/end").await;
    ada.expect_exit_ok().await; // its stderr holds the refusals
    for c in [&mut bob, &mut cara] {
        c.expect_clean_exit().await;
    }
}
