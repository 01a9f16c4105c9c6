//! Native clients chatting through a real relay: one order for everyone, consistent
//! safety words, and membership changes (leave, kick, nickname) that leave everyone who
//! stays in one new epoch with one safety code.

use vroom_testkit::cli::Client;
use vroom_testkit::relay::{test_config, Relay};

/// The `NICK: TEXT` lines among `lines` whose text starts with `tag`.
fn messages(lines: &[String], tag: &str) -> Vec<String> {
    lines
        .iter()
        .filter(|l| {
            l.split_once(": ")
                .is_some_and(|(_, text)| text.starts_with(tag))
        })
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_members_see_every_message_in_one_order() {
    let relay = Relay::start(test_config()).await;
    let (mut ada, link) = Client::create(&relay.origin(), "ada", &[]).await;
    let mut bob = Client::join(&link, "bob");
    let bob_seen_by_ada = ada.expect_joined("bob").await;
    let ada_seen_by_bob = bob.expect_joined("ada").await;
    let mut cara = Client::join(&link, "cara");
    let cara_seen_by_ada = ada.expect_joined("cara").await;
    let cara_seen_by_bob = bob.expect_joined("cara").await;
    let seen_by_cara = cara.expect_joined_all(&["ada", "bob"]).await;
    let (ada_seen_by_cara, bob_seen_by_cara) = (seen_by_cara[0].clone(), seen_by_cara[1].clone());
    // Everyone sees the same safety words for each member: no key was swapped.
    assert_eq!(ada_seen_by_bob, ada_seen_by_cara);
    assert_eq!(bob_seen_by_ada, bob_seen_by_cara);
    assert_eq!(cara_seen_by_ada, cara_seen_by_bob);
    assert_ne!(ada_seen_by_bob, bob_seen_by_ada);

    // All three type at once, interleaved, without waiting for each other.
    const EACH: usize = 6;
    for i in 0..EACH {
        ada.say(&format!("m-ada-{i}")).await;
        bob.say(&format!("m-bob-{i}")).await;
        cara.say(&format!("m-cara-{i}")).await;
    }
    let mut orders = Vec::new();
    for client in [&mut ada, &mut bob, &mut cara] {
        for _ in 0..3 * EACH {
            client
                .expect_line("a chat message", |l| l.contains(": m-"))
                .await;
        }
        orders.push(messages(&client.all_lines().await, "m-"));
    }
    assert_eq!(orders[0].len(), 3 * EACH, "ada saw {:?}", orders[0]);
    assert_eq!(orders[0], orders[1], "ada and bob saw different orders");
    assert_eq!(orders[0], orders[2], "ada and cara saw different orders");
    // Each sender's own messages keep the order they were typed in.
    for nick in ["ada", "bob", "cara"] {
        let own: Vec<String> = orders[0]
            .iter()
            .filter(|l| l.starts_with(&format!("{nick}: ")))
            .cloned()
            .collect();
        let typed: Vec<String> = (0..EACH).map(|i| format!("{nick}: m-{nick}-{i}")).collect();
        assert_eq!(own, typed, "{nick}'s messages out of order or missing");
    }

    ada.say("/end").await;
    for client in [&mut ada, &mut bob, &mut cara] {
        client
            .expect("-- The host ended this room. Everything in it has been deleted.")
            .await;
        client.expect_clean_exit().await;
    }
}

/// Whether `member`'s connection sent a sender key directly to `to` after the relay
/// told it that `gone` had left: the rekey that keeps `gone` out of what follows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leave_kick_and_rename_rekey_and_keep_the_room_going() {
    let relay = Relay::start(test_config()).await;
    let (mut ada, mut bob, mut cara, link) =
        vroom_testkit::cli::room_of_three(&relay.origin(), &[]).await;

    cara.say("before leaving").await;
    for client in [&mut ada, &mut bob] {
        client.expect("cara: before leaving").await;
    }
    // A member leaves with /leave: it exits cleanly, the others are told.
    cara.say("/leave").await;
    cara.expect("-- You left the room.").await;
    cara.expect_clean_exit().await;
    ada.expect("-- cara left").await;
    bob.expect("-- cara left").await;

    // The ones who stayed committed cara's removal: they are in one new epoch, with one
    // safety code, which follows the departure line.
    let safety = |l: &str| l.starts_with("-- Safety code (epoch ");
    let ada_code = ada.expect_line("ada's new safety code", safety).await;
    let bob_code = bob.expect_line("bob's new safety code", safety).await;
    assert_eq!(
        ada_code, bob_code,
        "ada and bob agree on the room without cara"
    );
    ada.say("after cara left").await;
    bob.expect("ada: after cara left").await;
    bob.say("bob too").await;
    ada.expect("bob: bob too").await;

    // A nickname change reaches the others and labels later messages.
    bob.say("/nick robert").await;
    ada.expect("-- bob is now robert").await;
    bob.say("new name").await;
    ada.expect("robert: new name").await;

    // The host removes a member: it is told and exits cleanly; the host carries on.
    ada.say("/kick robert").await;
    bob.expect("-- The host or a moderator removed you from this room.")
        .await;
    bob.expect_clean_exit().await;
    ada.expect("-- robert was removed by the host").await;
    // The kick renewed the invitation: the link given out before no longer admits.
    Client::join(&link, "robert")
        .expect_error_exit("This invitation no longer works")
        .await;
    ada.say("/invite").await;
    let renewed = ada
        .expect_line("the renewed link", |l| l.starts_with("http"))
        .await;
    let mut dan = Client::join(&renewed, "dan");
    ada.expect_joined("dan").await;
    dan.expect_joined("ada").await;
    ada.say("welcome dan").await;
    dan.expect("ada: welcome dan").await;
    assert!(
        !dan.all_lines()
            .await
            .iter()
            .any(|l| l.contains("after cara left") || l.contains("new name")),
        "dan saw a message from before its arrival"
    );

    // End of input leaves the room, like /leave.
    dan.close_stdin();
    dan.expect("-- You left the room.").await;
    dan.expect_clean_exit().await;
    ada.expect("-- dan left").await;
    ada.say("/end").await;
    ada.expect_clean_exit().await;
}

/// The host names a moderator, who locks the room and removes a member: everyone is
/// told who did it, and the host's renewal of the invitation follows as for its own
/// kicks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moderator_locks_the_room_and_removes_a_member() {
    let relay = Relay::start(test_config()).await;
    let (mut ada, link) = Client::create(&relay.origin(), "ada", &[]).await;
    let mut bob = Client::join(&link, "bob");
    ada.expect_joined("bob").await;
    bob.expect_joined("ada").await;
    let mut cara = Client::join(&link, "cara");
    ada.expect_joined("cara").await;
    bob.expect_joined("cara").await;
    cara.expect_joined_all(&["ada", "bob"]).await;

    ada.say("/mod bob").await;
    bob.expect("-- You are a moderator now: you can remove members and lock or unlock the room")
        .await;
    ada.expect("-- bob is a moderator now").await;
    cara.expect("-- bob is a moderator now").await;
    cara.say("/members").await;
    cara.expect_line("bob marked as moderator", |l| {
        l.contains(": bob (safety words:") && l.contains("(moderator)")
    })
    .await;

    bob.say("/lock").await;
    ada.expect("-- The room is locked: nobody new can join")
        .await;
    cara.expect("-- The room is locked: nobody new can join")
        .await;
    bob.say("/unlock").await;
    ada.expect("-- The room is unlocked").await;

    bob.say("/kick cara").await;
    cara.expect("-- The host or a moderator removed you from this room.")
        .await;
    cara.expect_clean_exit().await;
    ada.expect("-- cara was removed by moderator bob").await;
    bob.expect("-- cara was removed by moderator bob").await;
    // The host renewed the invitation: the old link no longer admits.
    Client::join(&link, "cara")
        .expect_error_exit("This invitation no longer works")
        .await;
    bob.say("still here").await;
    ada.expect("bob: still here").await;
    relay.stop().await;
}
