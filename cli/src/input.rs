//! What a line typed on stdin means: a message, or a slash command.

/// One line of user input, parsed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Input<'a> {
    /// Send this text to the room.
    Text(&'a str),
    /// `/nick NAME`: change the nickname the others see.
    Nick(&'a str),
    /// `/members`: print who is in the room.
    Members,
    /// `/kick NICK-or-ID` (host only).
    Kick(&'a str),
    /// `/safety`: print the room-wide safety code to compare with the others.
    Safety,
    /// `/lock` or `/unlock` (host only).
    Lock(bool),
    /// `/end` (host only): terminate the room for everyone.
    End,
    /// `/leave` (or end of input): leave the room.
    Leave,
    /// `/send PATH`: offer a file to the room (queued behind files being sent).
    Send(&'a str),
    /// `/cancel`: stop every file transfer, both ways, and empty the send queue.
    Cancel,
    /// `/help`.
    Help,
    /// Blank line: nothing to do.
    Nothing,
    /// A slash command this client does not know.
    Unknown(&'a str),
}

/// The text printed for `/help`.
pub(crate) const HELP: &str = "\
commands:
  /nick NAME    change your nickname
  /members      list the members and their fingerprints
  /safety      show the room's safety code (everyone must see the same)
  /kick MEMBER  remove a member (host only; by nickname or id)
  /lock         stop new members from joining (host only)
  /unlock       let new members join again (host only)
  /end          terminate the room for everyone (host only)
  /leave        leave the room (end of input does the same)
  /send PATH    send a file to the members (several are queued)
  /cancel       stop every file transfer, sending and receiving
  //text        send a message that starts with a slash";

impl<'a> Input<'a> {
    pub(crate) fn parse(line: &'a str) -> Input<'a> {
        let line = line.trim_end_matches(['\r', '\n']);
        if line.trim().is_empty() {
            return Input::Nothing;
        }
        let Some(command) = line.strip_prefix('/') else {
            return Input::Text(line);
        };
        if command.starts_with('/') {
            // "//etc" sends "/etc" literally.
            return Input::Text(&line[1..]);
        }
        let (name, rest) = command
            .split_once(char::is_whitespace)
            .map_or((command, ""), |(n, r)| (n, r.trim()));
        match (name, rest.is_empty()) {
            ("nick", false) => Input::Nick(rest),
            ("kick", false) => Input::Kick(rest),
            ("members" | "who", true) => Input::Members,
            ("safety", true) => Input::Safety,
            ("lock", true) => Input::Lock(true),
            ("unlock", true) => Input::Lock(false),
            ("end" | "terminate", true) => Input::End,
            ("leave" | "quit", true) => Input::Leave,
            ("send", false) => Input::Send(rest),
            ("cancel", true) => Input::Cancel,
            ("help", _) => Input::Help,
            _ => Input::Unknown(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Input;

    #[test]
    fn parses_text_and_commands() {
        assert_eq!(Input::parse("hello\n"), Input::Text("hello"));
        assert_eq!(Input::parse("/nick  Ada "), Input::Nick("Ada"));
        assert_eq!(Input::parse("/end"), Input::End);
        assert_eq!(Input::parse("/lock"), Input::Lock(true));
        assert_eq!(Input::parse("/safety"), Input::Safety);
        assert_eq!(Input::parse("/unlock"), Input::Lock(false));
        assert_eq!(Input::parse("//etc/passwd"), Input::Text("/etc/passwd"));
        assert_eq!(Input::parse("   "), Input::Nothing);
        assert_eq!(Input::parse("/frobnicate"), Input::Unknown("frobnicate"));
        assert_eq!(Input::parse("/nick"), Input::Unknown("nick"));
        assert_eq!(Input::parse("/send  a b.txt "), Input::Send("a b.txt"));
        assert_eq!(Input::parse("/send"), Input::Unknown("send"));
        assert_eq!(Input::parse("/cancel"), Input::Cancel);
    }
}
