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
    /// `/kick NICK-or-ID` (host or moderator).
    Kick(&'a str),
    /// `/mod NICK-or-ID` or `/unmod NICK-or-ID` (host only): make a member a moderator
    /// or take that back.
    Moderator(&'a str, bool),
    /// `/host NICK-or-ID` (host only): hand host powers to another member.
    Host(&'a str),
    /// `/safety`: print the room-wide safety code to compare with the others.
    Safety,
    /// `/invite`: print the room's current invite link.
    Invite,
    /// `/lock` or `/unlock` (host or moderator).
    Lock(bool),
    /// `/cap N` or `/cap off` (host only): the most members the room lets in.
    Cap(&'a str),
    /// `/end` (host only): terminate the room for everyone.
    End,
    /// `/leave` (or end of input): leave the room.
    Leave,
    /// `/send PATH`: offer a file to the room (queued behind files being sent).
    Send(&'a str),
    /// `/cancel`: stop every file transfer, both ways, and empty the send queue.
    Cancel,
    /// `/accept [N|all]`: take a file offered and not yet answered (the only one, file
    /// N, or all of them).
    Accept(&'a str),
    /// `/decline [N|all]`: refuse a file offered and not yet answered.
    Decline(&'a str),
    /// `/help`.
    Help,
    /// `/code`: make a short code for someone to join with.
    Code,
    /// `/code revoke`: stop every short code this member made.
    CodeRevoke,
    /// `/me TEXT`: an action ("* ada waves").
    Action(&'a str),
    /// `/reply N TEXT`: a reply to message N.
    Reply(&'a str, &'a str),
    /// `/edit N TEXT`: new text for one's own message N.
    Edit(&'a str, &'a str),
    /// `/delete N`: delete one's own message N.
    Delete(&'a str),
    /// `/react N EMOJI` (or `/unreact N EMOJI` to take it back).
    React(&'a str, &'a str, bool),
    /// `/dm NICK TEXT`: a private message to one member.
    Direct(&'a str, &'a str),
    /// Blank line: nothing to do.
    Nothing,
    /// A slash command this client does not know.
    Unknown(&'a str),
}

/// The text printed for `/help`.
pub(crate) const HELP: &str = "\
commands:
  /nick NAME    change your nickname
  /me TEXT      send an action (\"* you TEXT\")
  /reply N TEXT reply to message N (messages are numbered as shown)
  /edit N TEXT  change your own message N
  /delete N     delete your own message N
  /react N EMOJI  react to message N (/unreact N EMOJI takes it back)
  /dm NICK TEXT send a private message that only NICK can read
  /members      list the members and their fingerprints
  /safety      show the room's safety code (everyone must see the same)
  /invite       show the room's invite link (a new one after the host removes someone)
  /kick MEMBER  remove a member (host or moderator; by nickname or id)
  /host MEMBER  make another member the host (host only; you stop being host)
  /mod MEMBER   make a member a moderator: they can /kick, /lock and /unlock (host only)
  /unmod MEMBER take moderator powers back (host only)
  /lock         stop new members from joining (host or moderator)
  /unlock       let new members join again (host or moderator)
  /cap N        let at most N members in (host only; /cap off lifts it)
  /end          terminate the room for everyone (host only)
  /leave        leave the room (end of input does the same)
  /send PATH    send a file to the members (several are queued)
  /accept [N]   save file N offered to you (the only one without N; 'all' for all)
  /decline [N]  refuse file N offered to you (or 'all')
  /cancel       stop every file transfer, sending and receiving
  /code         make a short code (like 7-amber-river) someone can join with
  /code revoke  stop your short codes from admitting anyone
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
            ("host", false) => Input::Host(rest),
            ("mod", false) => Input::Moderator(rest, true),
            ("unmod", false) => Input::Moderator(rest, false),
            ("members" | "who", true) => Input::Members,
            ("safety", true) => Input::Safety,
            ("invite", true) => Input::Invite,
            ("lock", true) => Input::Lock(true),
            ("unlock", true) => Input::Lock(false),
            ("cap", false) => Input::Cap(rest),
            ("end" | "terminate", true) => Input::End,
            ("leave" | "quit", true) => Input::Leave,
            ("send", false) => Input::Send(rest),
            ("cancel", true) => Input::Cancel,
            ("accept", _) => Input::Accept(rest),
            ("decline", _) => Input::Decline(rest),
            ("help", _) => Input::Help,
            ("code", true) => Input::Code,
            ("code", false) if rest.eq_ignore_ascii_case("revoke") => Input::CodeRevoke,
            ("me", false) => Input::Action(rest),
            ("delete" | "del", false) => Input::Delete(rest),
            ("reply" | "edit" | "react" | "unreact" | "dm" | "msg", false) => {
                let Some((first, text)) = rest
                    .split_once(char::is_whitespace)
                    .map(|(a, b)| (a, b.trim()))
                    .filter(|(_, b)| !b.is_empty())
                else {
                    return Input::Unknown(name);
                };
                match name {
                    "reply" => Input::Reply(first, text),
                    "edit" => Input::Edit(first, text),
                    "react" => Input::React(first, text, true),
                    "unreact" => Input::React(first, text, false),
                    _ => Input::Direct(first, text),
                }
            }
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
        assert_eq!(Input::parse("/host bob"), Input::Host("bob"));
        assert_eq!(Input::parse("/host"), Input::Unknown("host"));
        assert_eq!(Input::parse("/mod bob"), Input::Moderator("bob", true));
        assert_eq!(Input::parse("/unmod bob"), Input::Moderator("bob", false));
        assert_eq!(Input::parse("/mod"), Input::Unknown("mod"));
        assert_eq!(Input::parse("/cap 4"), Input::Cap("4"));
        assert_eq!(Input::parse("/cap"), Input::Unknown("cap"));
        assert_eq!(Input::parse("/safety"), Input::Safety);
        assert_eq!(Input::parse("/invite"), Input::Invite);
        assert_eq!(Input::parse("/code"), Input::Code);
        assert_eq!(Input::parse("/code revoke"), Input::CodeRevoke);
        assert_eq!(Input::parse("/code now"), Input::Unknown("code"));
        assert_eq!(Input::parse("/unlock"), Input::Lock(false));
        assert_eq!(Input::parse("//etc/passwd"), Input::Text("/etc/passwd"));
        assert_eq!(Input::parse("   "), Input::Nothing);
        assert_eq!(Input::parse("/frobnicate"), Input::Unknown("frobnicate"));
        assert_eq!(Input::parse("/nick"), Input::Unknown("nick"));
        assert_eq!(Input::parse("/send  a b.txt "), Input::Send("a b.txt"));
        assert_eq!(Input::parse("/send"), Input::Unknown("send"));
        assert_eq!(Input::parse("/cancel"), Input::Cancel);
        assert_eq!(Input::parse("/accept"), Input::Accept(""));
        assert_eq!(Input::parse("/accept 3"), Input::Accept("3"));
        assert_eq!(Input::parse("/decline all"), Input::Decline("all"));
        assert_eq!(Input::parse("/me waves"), Input::Action("waves"));
        assert_eq!(
            Input::parse("/reply 3  yes please"),
            Input::Reply("3", "yes please")
        );
        assert_eq!(Input::parse("/edit #2 fixed"), Input::Edit("#2", "fixed"));
        assert_eq!(Input::parse("/delete 2"), Input::Delete("2"));
        assert_eq!(Input::parse("/react 1 👍"), Input::React("1", "👍", true));
        assert_eq!(
            Input::parse("/unreact 1 👍"),
            Input::React("1", "👍", false)
        );
        assert_eq!(Input::parse("/dm bob psst"), Input::Direct("bob", "psst"));
        assert_eq!(Input::parse("/reply 3"), Input::Unknown("reply"));
    }
}
