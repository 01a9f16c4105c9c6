//! A kick renews the room's invitation (PROTOCOL.md §11.4), with native clients
//! through a real relay: the removed member's old link is refused by the relay, the
//! members who stay all get the same new link (one of them away during the kick gets it
//! on its return), and the new link lets a newcomer in.

use vroom_shared::wire::ErrorCode;
use vroom_testkit::cli::{room_of_three, Client};
use vroom_testkit::proxy::Proxy;
use vroom_testkit::relay::{test_config, Relay};

const NEW_LINK: &str = "-- New invite link: ";

/// The link a client printed when the invitation was renewed.
async fn new_link(client: &mut Client) -> String {
    let line = client
        .expect_line("the new invite link", |l| l.starts_with(NEW_LINK))
        .await;
    line[NEW_LINK.len()..].to_owned()
}

/// The part after `#`: the room secret and, once renewed, the room's pass.
fn fragment(link: &str) -> &str {
    link.split_once('#').expect("a link has a fragment").1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_kick_the_old_link_is_refused_and_the_new_one_works() {
    let relay = Relay::start(test_config()).await;
    let proxy = Proxy::start(relay.addr()).await;
    let (mut ada, mut bob, mut cara, link) = room_of_three(&relay.origin(), &[]).await;
    // Dan comes in through a proxy, so his network can drop during the kick.
    let mut dan = Client::join(&link.replace(&relay.origin(), &proxy.origin()), "dan");
    for member in [&mut ada, &mut bob, &mut cara] {
        member.expect_joined("dan").await;
    }
    dan.expect_joined_all(&["ada", "bob", "cara"]).await;
    let dan_id = proxy.conns()[0].me.expect("dan was welcomed");
    proxy.hold(true);
    proxy.cut(proxy.conn_of(dan_id).expect("dan's connection is open"));
    dan.expect("-- connection lost; reconnecting").await;

    // The host removes bob: its commit renews the invitation at once (the removal is
    // told first, then the new link).
    ada.say("/kick bob").await;
    ada.expect("-- bob was removed by the host").await;
    let renewed = new_link(&mut ada).await;
    bob.expect("-- The host or a moderator removed you from this room.")
        .await;
    bob.expect_clean_exit().await;
    assert_ne!(renewed, link, "the link stayed the same");
    assert!(renewed.starts_with(&format!("{}/r#", relay.origin())));
    // The room secret stays (the room keeps its id) and the pass follows it: the first
    // 42 characters carry 252 of the secret's 256 bits.
    assert_eq!(fragment(&link).len(), 43);
    assert_eq!(fragment(&renewed).len(), 86);
    assert_eq!(fragment(&renewed)[..42], fragment(&link)[..42]);
    cara.expect("-- bob was removed by the host").await;
    assert_eq!(new_link(&mut cara).await, renewed, "cara got another link");
    cara.say("/invite").await;
    cara.expect(&renewed).await;

    // Bob kept the old link: the relay refuses it, with a sentence that says what to do.
    let mut bob_again = Client::join(&link, "bob");
    bob_again
        .expect_error_exit(ErrorCode::InviteChanged.message())
        .await;

    // Dan comes back within the grace period: his place is his by its resume token, and
    // the catch-up brings the kick's commit, from which he derives the new pass.
    proxy.hold(false);
    dan.expect("-- Reconnected").await;
    let dans = new_link(&mut dan).await;
    assert_eq!(fragment(&dans), fragment(&renewed), "dan got another pass");

    // The new link lets a newcomer in, and the room goes on for everyone.
    let mut erin = Client::join(&renewed, "erin");
    ada.expect_joined("erin").await;
    erin.expect_joined_all(&["ada", "cara", "dan"]).await;
    ada.say("hello erin").await;
    for member in [&mut cara, &mut dan, &mut erin] {
        member.expect("ada: hello erin").await;
    }
    // Erin's own invite link is the renewed one.
    erin.say("/invite").await;
    erin.expect(&renewed).await;
    assert!(
        !bob.all_lines()
            .await
            .iter()
            .any(|l| l.contains(fragment(&renewed))),
        "the removed member saw the new link"
    );
}
