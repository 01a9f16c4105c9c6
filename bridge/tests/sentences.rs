//! The refusals and the waiting page say what the session says, word for word, and an
//! offer waits as long as the transfers say; friendly nicknames are two words whatever
//! the random numbers.

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

#[test]
fn friendly_nicknames_are_two_capitalised_words_from_any_random_number() {
    use vroom_bridge::friendly_nick;
    let fixed = |n: f64| move || n;
    assert_eq!(friendly_nick(fixed(0.0)), "Calm Otter");
    assert_eq!(friendly_nick(fixed(0.999_999)), "Nimble Zebra");
    // Out of range: the last word, never a panic.
    assert_eq!(friendly_nick(fixed(1.0)), "Nimble Zebra");
    assert_eq!(friendly_nick(fixed(-3.0)), "Calm Otter");
    let mut steps = [0.0, 0.99].into_iter();
    assert_eq!(friendly_nick(move || steps.next().unwrap()), "Calm Zebra");
    for step in 0..64 {
        let nick = friendly_nick(fixed(f64::from(step) / 64.0));
        let words: Vec<&str> = nick.split(' ').collect();
        assert_eq!(words.len(), 2, "{nick}");
        assert!(
            words.iter().all(|w| w.starts_with(char::is_uppercase)),
            "{nick}"
        );
    }
}
