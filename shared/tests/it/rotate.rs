//! Renewing the invitation after a kick (PROTOCOL.md §11.4), through the in-memory
//! relay, which lets anyone in like a relay working with the removed member: the
//! members who stay share one new link, a request made with the old one gets nobody
//! added, and the new one works.

use vroom_shared::invite::Invite;
use vroom_shared::session::SessionEvent;

use super::relay::Net;
use super::session::nicks;

const ORIGIN: &str = "https://chat.example";

fn link(net: &Net, name: &str) -> String {
    net.clients[name]
        .session
        .invite_link(ORIGIN)
        .expect("in the room")
}

#[test]
fn after_a_kick_the_old_link_gets_nobody_added_and_the_new_one_does() {
    let mut net = Net::new();
    let invite = net.create("alice");
    net.join("bob", &invite);
    net.join("carol", &invite);
    let old = link(&net, "alice");
    assert!(!net.clients["carol"].session.invite_renewed());

    let bob = net.id("bob");
    net.user("alice", |s| s.kick(bob));
    assert!(net.clients["bob"].session.is_ended());
    assert_eq!(
        net.rotations, 1,
        "the host told the relay the new proof once"
    );
    let renewed = link(&net, "alice");
    assert_ne!(renewed, old);
    assert_eq!(link(&net, "carol"), renewed, "carol has another link");
    for name in ["alice", "carol"] {
        let client = &net.clients[name];
        assert!(client.session.invite_renewed());
        assert_eq!(
            client
                .events
                .iter()
                .filter(|e| matches!(e, SessionEvent::InviteChanged))
                .count(),
            1,
            "{name} is told once"
        );
    }
    // The pass went to the remaining members inside the group only: no payload to bob
    // or anyone carries it in the clear.
    let pass = &Invite::parse(&renewed).unwrap();
    let pass = pass.pass().expect("the new link has a pass").as_bytes();
    assert!(!net
        .payloads
        .iter()
        .any(|p| p.payload.windows(32).any(|w| w == pass)));

    // The relay lets the old link in: the members refuse its request, and warn.
    let warned = net.warnings("alice");
    net.join("mallory", &Invite::parse(&old).unwrap());
    assert!(net.clients["mallory"].session.safety_code().is_none());
    assert_eq!(nicks(&net, "alice"), ["alice", "carol"]);
    assert!(
        net.warnings("alice") > warned,
        "alice warns of the old link"
    );

    // The new link works, and the newcomer's own link is the new one.
    net.join("dave", &Invite::parse(&renewed).unwrap());
    assert_eq!(nicks(&net, "alice"), ["alice", "carol", "dave"]);
    assert_eq!(
        net.clients["dave"].session.safety_code(),
        net.clients["alice"].session.safety_code()
    );
    assert_eq!(link(&net, "dave"), renewed);
}
