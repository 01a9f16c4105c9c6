//! The refusals say what the session says, word for word.

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
