//! The chat loop: stdin lines become session actions, relay frames go through the
//! session, session output goes to the socket and the terminal. A dropped connection is
//! retried with backoff and resumed with catch-up, inside the relay's grace period.

use std::collections::VecDeque;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use vroom_shared::invite::{self, InviteError};
use vroom_shared::session::driver::{Reconnect, TICK_MS};
use vroom_shared::session::{ActionError, Output, Session, SessionEvent};
use vroom_shared::wire::{CloseReason, ErrorCode, ServerFrame};

use crate::app::Place;
use crate::files::Files;
use crate::input::{Input, HELP};
use crate::render;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Lines typed before the relay welcomed us, kept to send once it has.
const MAX_EARLY_LINES: usize = 1000;

/// Why the client stopped with an error.
#[derive(Debug)]
pub(crate) enum ChatError {
    /// The invite link could not be used.
    Invite(InviteError),
    /// The `--server` value is not an http(s) URL.
    BadServer(String),
    /// The `--server` value is plain http to another machine.
    Insecure(String),
    /// The relay could not be reached (or reached again).
    Connect { url: String, reason: String },
    /// The relay refused us.
    Refused(ErrorCode),
    /// The connection kept dropping.
    Lost,
    /// A room name, passphrase or short code could not be used (the sentence says why).
    Ways(String),
    /// The web app an invite link (or `--app`) points at could not be read, or names
    /// no usable relay (the sentence says why).
    Link(String),
}

impl std::fmt::Display for ChatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChatError::Invite(err) => write!(f, "{err}"),
            ChatError::BadServer(s) => write!(
                f,
                "'{s}' is not a relay address. Give one like http://127.0.0.1:8080 or https://vroom.example."
            ),
            ChatError::Insecure(s) => write!(
                f,
                "'{s}' uses http:// to another machine, so the room would travel unprotected. Use its https:// address."
            ),
            ChatError::Connect { url, reason } => write!(
                f,
                "cannot reach the relay at {url} ({reason}). Check the address and that the relay is running."
            ),
            ChatError::Refused(code) => write!(f, "{}", code.message()),
            ChatError::Ways(sentence) | ChatError::Link(sentence) => f.write_str(sentence),
            ChatError::Lost => write!(
                f,
                "the connection to the relay was lost and could not be restored. Join again with the invite link."
            ),
        }
    }
}

/// `http[s]://host[:port][/prefix]` without a trailing slash, or an error for anything
/// else (the invite link is built from it).
pub(crate) fn normalize_origin(server: &str) -> Result<String, ChatError> {
    let bad = || ChatError::BadServer(server.to_owned());
    let url = url::Url::parse(server.trim()).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(bad());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ChatError::Link(format!(
            "'{}' has a name with '@' before its host, which no relay address has: it may \
             hide which machine it leads to. Give the relay's address alone, like \
             https://vroom.example.",
            crate::render::clean(server)
        )));
    }
    let origin = url.as_str().trim_end_matches('/').to_owned();
    if !invite::is_secure_origin(&origin) {
        return Err(ChatError::Insecure(origin));
    }
    Ok(origin)
}

/// How the room ended for this client.
enum Finish {
    /// The room is over, or we left or were removed: exit 0.
    Done,
    /// The socket closed without the room ending: reconnect.
    Dropped,
}

/// Runs one member's chat until the room ends for it.
pub(crate) async fn run(
    mut session: Session,
    first: Vec<u8>,
    place: Place,
    downloads: crate::files::Downloads,
    want_code: bool,
) -> Result<(), ChatError> {
    let url = invite::ws_url(&place.relay);
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    let mut state = Client {
        origin: place.links,
        early: VecDeque::new(),
        stdin_open: true,
        printed_link: false,
        want_code,
        files: Files::new(downloads),
        render: render::Renderer::new(std::io::IsTerminal::is_terminal(&std::io::stdout())),
    };
    let mut frame = first;
    let mut policy = Reconnect::new();
    loop {
        let socket = match connect(&url).await {
            Ok(socket) => socket,
            Err(err) if session.me().is_none() => return Err(err),
            Err(_) => {
                let delay = policy.next_delay_ms().ok_or(ChatError::Lost)?;
                tokio::time::sleep(Duration::from_millis(delay)).await;
                match session.reconnect_frame() {
                    Some(f) => frame = f,
                    None => return Ok(()),
                }
                continue;
            }
        };
        match state.chat(&mut session, socket, &frame, &mut stdin).await? {
            Finish::Done => return Ok(()),
            Finish::Dropped => {
                if session.is_ready() {
                    policy.connected();
                }
                let delay = policy.next_delay_ms().ok_or(ChatError::Lost)?;
                println!("-- connection lost; reconnecting");
                tokio::time::sleep(Duration::from_millis(delay)).await;
                match session.reconnect_frame() {
                    Some(f) => frame = f,
                    None => return Ok(()),
                }
            }
        }
    }
}

async fn connect(url: &str) -> Result<Socket, ChatError> {
    let (socket, _) =
        tokio_tungstenite::connect_async(url)
            .await
            .map_err(|err| ChatError::Connect {
                url: url.to_owned(),
                reason: err.to_string(),
            })?;
    Ok(socket)
}

/// What the loop remembers across reconnects, besides the session.
struct Client {
    /// The origin of the web app invite links open (the relay's, unless the app is
    /// hosted apart from it).
    origin: String,
    /// Lines typed before the session was ready.
    early: VecDeque<String>,
    /// False once stdin has ended (we then leave the room).
    stdin_open: bool,
    /// Whether the creator's invite link has been printed.
    printed_link: bool,
    /// Whether to ask for a short code once the room is ready (`create --code`).
    want_code: bool,
    /// File transfers, both ways.
    files: Files,
    /// How events become lines, and the numbers messages were shown with.
    render: render::Renderer,
}

impl Client {
    async fn chat(
        &mut self,
        session: &mut Session,
        mut socket: Socket,
        first: &[u8],
        stdin: &mut tokio::io::Lines<BufReader<tokio::io::Stdin>>,
    ) -> Result<Finish, ChatError> {
        send(&mut socket, first.to_vec()).await?;
        let mut clock = tokio::time::interval(Duration::from_millis(TICK_MS));
        loop {
            // Offers that arrived, and chunks the window allows, before waiting again.
            let mut outputs = self.files.take_offers(session, now_ms());
            outputs.extend(self.files.pump(session, now_ms()));
            if let Some(finish) = self.apply(session, &mut socket, outputs).await? {
                return Ok(finish);
            }
            tokio::select! {
                _ = clock.tick() => {
                    let mut outputs = session.tick(now_ms());
                    outputs.extend(self.files.tick(now_ms()));
                    if let Some(finish) = self.apply(session, &mut socket, outputs).await? {
                        return Ok(finish);
                    }
                }
                incoming = socket.next() => {
                    let bytes = match incoming {
                        Some(Ok(Message::Binary(bytes))) => bytes,
                        Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                            return Ok(if session.is_ended() { Finish::Done } else { Finish::Dropped });
                        }
                        Some(Ok(_)) => continue,
                    };
                    let outputs = match ServerFrame::decode(&bytes) {
                        // The chunk lane goes to the transfers, not the group.
                        Ok(ServerFrame::Stream { from, payload, .. }) => {
                            self.files.on_stream(from, payload, now_ms())
                        }
                        _ => session.handle(&bytes),
                    };
                    if let Some(finish) = self.apply(session, &mut socket, outputs).await? {
                        return Ok(finish);
                    }
                }
                line = stdin.next_line(), if self.stdin_open => {
                    let outputs = match line {
                        Ok(Some(line)) => self.typed(session, &line),
                        // End of input (or unreadable input): leave the room.
                        _ => {
                            self.stdin_open = false;
                            if session.is_ready() { session.leave() } else { Ok(Vec::new()) }
                        }
                    };
                    match outputs {
                        Ok(outputs) => {
                            if let Some(finish) = self.apply(session, &mut socket, outputs).await? {
                                return Ok(finish);
                            }
                        }
                        Err(err) => eprintln!("vroom: {err}"),
                    }
                }
            }
        }
    }

    /// Sends frames and prints events; `Some` when the room is over for us.
    async fn apply(
        &mut self,
        session: &mut Session,
        socket: &mut Socket,
        outputs: Vec<Output>,
    ) -> Result<Option<Finish>, ChatError> {
        for output in outputs {
            match output {
                Output::Send(frame) => send(socket, frame).await?,
                Output::Event(event) => {
                    if let Some(finish) = self.show(session, socket, &event).await? {
                        return Ok(Some(finish));
                    }
                }
            }
        }
        for notice in session.take_code_notices() {
            println!("-- {}", render::clean(&notice.describe()));
        }
        Ok(None)
    }

    async fn show(
        &mut self,
        session: &mut Session,
        socket: &mut Socket,
        event: &SessionEvent,
    ) -> Result<Option<Finish>, ChatError> {
        let nick_of = |member| {
            session
                .members()
                .into_iter()
                .find(|m| m.member == member)
                .map(|m| m.nick)
        };
        if let Some(line) = self.render.line(event, nick_of) {
            println!("{line}");
        }
        match event {
            // Printed is read: one receipt goes out once the burst is over.
            SessionEvent::Message { id, .. } => session.mark_read(*id, now_ms()),
            SessionEvent::InviteChanged => {
                if let Some(link) = session.invite_link(&self.origin) {
                    println!("-- New invite link: {link}");
                }
            }
            SessionEvent::Ready { .. } => {
                if session.is_host() && !self.printed_link {
                    if let Some(link) = session.invite_link(&self.origin) {
                        println!("{link}");
                        self.printed_link = true;
                    }
                }
                if std::mem::take(&mut self.want_code) {
                    if let Ok(outputs) = session.request_code() {
                        if let Some(finish) = Box::pin(self.apply(session, socket, outputs)).await?
                        {
                            return Ok(Some(finish));
                        }
                    }
                }
                // Lines typed while connecting go out now, in order.
                let early: Vec<String> = self.early.drain(..).collect();
                for line in early {
                    match self.typed(session, &line) {
                        Ok(outputs) => {
                            if let Some(finish) =
                                Box::pin(self.apply(session, socket, outputs)).await?
                            {
                                return Ok(Some(finish));
                            }
                        }
                        Err(err) => eprintln!("vroom: {err}"),
                    }
                }
                // Transfers go on from what the receivers confirmed.
                let resumed = self.files.reconnected();
                if let Some(finish) = Box::pin(self.apply(session, socket, resumed)).await? {
                    return Ok(Some(finish));
                }
                if !self.stdin_open {
                    let outputs = session.leave().unwrap_or_default();
                    return Box::pin(self.apply(session, socket, outputs)).await;
                }
            }
            SessionEvent::RelayGoingAway => return Ok(Some(Finish::Dropped)),
            SessionEvent::MemberLeft { member, .. } => self.files.member_left(*member),
            SessionEvent::Ended { reason } => {
                self.files.abandon();
                let _ = socket.close(None).await;
                return Ok(Some(match reason {
                    CloseReason::GoingAway => Finish::Dropped,
                    _ => Finish::Done,
                }));
            }
            SessionEvent::Error { code } if session.me().is_none() => {
                return Err(ChatError::Refused(*code));
            }
            _ => {}
        }
        Ok(None)
    }

    /// Turns a typed line into session output.
    fn typed(&mut self, session: &mut Session, line: &str) -> Result<Vec<Output>, ActionError> {
        let input = Input::parse(line);
        if !session.is_ready() && !matches!(input, Input::Nothing | Input::Help) {
            if self.early.len() < MAX_EARLY_LINES {
                self.early.push_back(line.to_owned());
            }
            return Ok(Vec::new());
        }
        match input {
            Input::Text(text) => session.send_text(text, now_ms()),
            Input::Action(text) => session.send_action(text, now_ms()),
            Input::Reply(n, text) => session.send_reply(self.message(n)?, text, now_ms()),
            Input::Edit(n, text) => session.edit(self.message(n)?, text, now_ms()),
            Input::Delete(n) => session.delete(self.message(n)?),
            Input::React(n, emoji, on) => session.react(self.message(n)?, emoji, on),
            Input::Direct(who, text) => match other_member(session, who) {
                Some(member) => session.send_direct(member, text, now_ms()),
                None => Ok(Vec::new()),
            },
            Input::Nick(nick) => session.set_nick(nick),
            Input::Code => session.request_code(),
            Input::CodeRevoke => {
                let (revoked, outputs) = session.revoke_codes()?;
                println!("-- revoked {revoked} short code(s); they admit nobody any more");
                Ok(outputs)
            }
            Input::Members => {
                for m in session.members() {
                    let mut tags = String::new();
                    if m.is_host {
                        tags.push_str(" (host)");
                    }
                    if m.is_moderator {
                        tags.push_str(" (moderator)");
                    }
                    if m.is_self {
                        tags.push_str(" (you)");
                    }
                    println!(
                        "-- member {}{tags}: {} (safety words: {})",
                        m.member.0,
                        render::clean(&m.nick),
                        m.fingerprint
                    );
                }
                Ok(Vec::new())
            }
            Input::Kick(who) => match other_member(session, who) {
                Some(member) => session.kick(member),
                None => Ok(Vec::new()),
            },
            Input::Safety => {
                match session.safety_code() {
                    Some((epoch, code)) => println!(
                        "-- Safety code (epoch {epoch}): {code}; compare it with the others"
                    ),
                    None => println!("-- not in the room yet"),
                }
                Ok(Vec::new())
            }
            Input::Invite => {
                match session.invite_link(&self.origin) {
                    Some(link) => println!("{link}"),
                    None => println!("-- not in a room"),
                }
                Ok(Vec::new())
            }
            Input::Host(who) => match other_member(session, who) {
                Some(member) => session.hand_over(member),
                None => Ok(Vec::new()),
            },
            Input::Moderator(who, on) => match other_member(session, who) {
                Some(member) => session.set_moderator(member, on),
                None => Ok(Vec::new()),
            },
            Input::Lock(locked) => session.lock(locked),
            Input::Cap(cap) => match cap {
                "off" => session.set_member_cap(None),
                n => match n.parse::<u32>() {
                    Ok(n) if n > 0 => session.set_member_cap(Some(n)),
                    _ => {
                        eprintln!("vroom: /cap takes a number of members (1 or more), or 'off'");
                        Ok(Vec::new())
                    }
                },
            },
            Input::End => session.terminate(),
            Input::Leave => {
                self.stdin_open = false;
                session.leave()
            }
            Input::Send(path) => {
                if let Err(sentence) = self.files.queue(session, path) {
                    eprintln!("vroom: {sentence}");
                }
                Ok(Vec::new())
            }
            Input::Cancel => Ok(self.files.cancel_all()),
            Input::Accept(which) => Ok(self.files.accept(session, which, now_ms())),
            Input::Decline(which) => Ok(self.files.decline(which)),
            Input::Help => {
                println!("{HELP}");
                Ok(Vec::new())
            }
            Input::Nothing => Ok(Vec::new()),
            Input::Unknown(name) => {
                eprintln!("vroom: there is no /{name} command. Type /help for the list.");
                Ok(Vec::new())
            }
        }
    }
}

impl Client {
    /// The message shown under number `n`.
    fn message(&self, n: &str) -> Result<vroom_shared::session::MessageId, ActionError> {
        self.render.numbers.id(n).ok_or(ActionError::UnknownMessage)
    }
}

/// Another member by nickname or id; says so when there is none.
fn other_member(session: &Session, who: &str) -> Option<vroom_shared::wire::MemberId> {
    let found = session
        .members()
        .into_iter()
        .find(|m| !m.is_self && (m.nick == who || m.member.0.to_string() == who))
        .map(|m| m.member);
    if found.is_none() {
        eprintln!("vroom: nobody called '{who}' is in the room. Try /members.");
    }
    found
}

async fn send(socket: &mut Socket, frame: Vec<u8>) -> Result<(), ChatError> {
    // A failed write shows up as the socket ending on the next read, which reconnects.
    let _ = socket.send(Message::Binary(frame.into())).await;
    Ok(())
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::normalize_origin;

    #[test]
    fn origins_are_http_urls_without_trailing_slash() {
        assert_eq!(
            normalize_origin("http://127.0.0.1:8080/").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            normalize_origin("https://vroom.example").unwrap(),
            "https://vroom.example"
        );
        assert_eq!(
            normalize_origin("https://example.org/chat/").unwrap(),
            "https://example.org/chat"
        );
        assert!(normalize_origin("ftp://x").is_err());
        assert!(matches!(
            normalize_origin("http://chat.example"),
            Err(super::ChatError::Insecure(_))
        ));
        assert!(normalize_origin("127.0.0.1:8080").is_err());
        assert!(normalize_origin("http://x/?a=b").is_err());
        // A name before the host: a URL parser reads `evil.example` as the host.
        for server in [
            "http://localhost:x@evil.example",
            "http://127.0.0.1@evil.example:8080",
            "https://user:pw@vroom.example",
        ] {
            let err = normalize_origin(server).unwrap_err();
            assert!(matches!(err, super::ChatError::Link(_)), "{server}");
            assert!(err.to_string().contains('@'), "{server}");
        }
    }
}
