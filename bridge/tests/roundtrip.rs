//! Every kind of value crosses the boundary and comes back the same.

use vroom_bridge::{
    decode, encode, ActionError, Change, Command, FileId, LineKind, MemberId, MessageId, Part,
    Reply, RoomEvent, Screen, Transfer, View,
};

#[test]
fn commands_replies_and_events_come_back_as_they_went() {
    let command = Command::SendReply {
        to: MessageId([7; 16]),
        text: "héllo".to_owned(),
    };
    let back: Command = decode(&encode(&command)).expect("a command");
    assert!(
        matches!(back, Command::SendReply { to, text } if to == MessageId([7; 16]) && text == "héllo")
    );

    let back: Reply = decode(&encode(&Reply::Refused(ActionError::NotHost))).expect("a reply");
    assert_eq!(back.action(), Err(ActionError::NotHost));

    let event = RoomEvent::Changed {
        mid: MessageId([1; 16]),
        change: Change::Reactions(vec![("👍".to_owned(), vec!["Ann".to_owned()], true)]),
    };
    let back: RoomEvent = decode(&encode(&event)).expect("an event");
    assert!(
        matches!(back, RoomEvent::Changed { change: Change::Reactions(r), .. } if r[0].1 == ["Ann"])
    );

    let event = RoomEvent::FileState {
        id: FileId([2; 16]),
        state: Transfer::Running {
            done: 1,
            total: 2,
            rate: 3,
            eta: None,
        },
    };
    let back: RoomEvent = decode(&encode(&event)).expect("an event");
    assert!(matches!(
        back,
        RoomEvent::FileState {
            state: Transfer::Running { total: 2, .. },
            ..
        }
    ));
}

#[test]
fn a_saved_view_keeps_its_lines() {
    let view = View {
        lines: vec![vroom_bridge::Line {
            id: 1,
            rev: 0,
            kind: LineKind::Notice(vec![
                Part::Name("Ann".to_owned()),
                Part::Text(" joined".to_owned()),
            ]),
        }],
        present: vec!["Bob".to_owned()],
        named: None,
    };
    let back: View = decode(&encode(&Command::SaveForReload(view.clone())))
        .map(|c: Command| match c {
            Command::SaveForReload(v) => v,
            _ => panic!("not a save"),
        })
        .expect("a command");
    assert_eq!(back.lines, view.lines);
    assert_eq!(back.present, view.present);
    let _ = MemberId(0);
}

#[test]
fn garbled_bytes_are_refused_not_a_panic() {
    assert!(decode::<Command>(&[0xff, 0xff, 0xff]).is_err());
    assert!(decode::<RoomEvent>(&[]).is_err());
    let _ = Screen::Landing;
}
