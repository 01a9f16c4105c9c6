//! The refusals and the waiting page say what the session says, word for word, and an
//! offer waits as long as the transfers say.

use vroom_bridge::ActionError as Bridged;
use vroom_shared::session::ActionError as Session;

#[test]
fn every_refusal_says_what_the_session_says() {
    let pairs = [
        (Bridged::NotReady, Session::NotReady),
        (Bridged::Ended, Session::Ended),
        (Bridged::NotHost, Session::NotHost),
        (Bridged::TooLarge, Session::TooLarge),
        (Bridged::Empty, Session::Empty),
        (Bridged::UnknownMember, Session::UnknownMember),
        (Bridged::NotYours, Session::NotYours),
        (Bridged::UnknownMessage, Session::UnknownMessage),
        (Bridged::NoDirectKey, Session::NoDirectKey),
        (Bridged::InvalidReaction, Session::InvalidReaction),
        (Bridged::NotModerator, Session::NotModerator),
        (Bridged::TooManyModerators, Session::TooManyModerators),
    ];
    for (bridged, session) in pairs {
        assert_eq!(bridged.to_string(), session.to_string(), "{session:?}");
        // Every variant of the session's is here: a new one fails to compile below.
        match session {
            Session::NotReady
            | Session::Ended
            | Session::NotHost
            | Session::TooLarge
            | Session::Empty
            | Session::UnknownMember
            | Session::NotYours
            | Session::UnknownMessage
            | Session::NoDirectKey
            | Session::InvalidReaction
            | Session::NotModerator
            | Session::TooManyModerators => {}
        }
    }
}

#[test]
fn the_waiting_page_says_what_the_session_says() {
    use vroom_shared::session::{driver, SessionEvent};
    assert_eq!(
        driver::describe(&SessionEvent::WaitingToBeAdded).as_deref(),
        Some(vroom_bridge::WAITING)
    );
}

#[test]
fn an_offer_waits_as_long_as_the_transfers_say() {
    assert_eq!(
        vroom_bridge::ACCEPT_MS,
        vroom_shared::files::transfer::ACCEPT_MS
    );
}

#[test]
fn sizes_read_as_file_managers_show_them() {
    assert_eq!(vroom_bridge::bytes(999), "999 B");
    assert_eq!(vroom_bridge::bytes(1_500_000), "1.5 MB");
    assert_eq!(vroom_bridge::bytes(64 << 20), "67.1 MB");
}

#[test]
fn a_badge_is_the_first_two_safety_words() {
    assert_eq!(
        vroom_bridge::badge("amber-river-stone-cloud"),
        "amber-river"
    );
    assert_eq!(vroom_bridge::badge("amber river stone"), "amber-river");
}
