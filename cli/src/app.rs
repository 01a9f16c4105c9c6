//! Which relay an invite link leads to. A link points at the web app that made it:
//! the relay's own, or a copy hosted apart from the relay, whose page names the relay
//! in its `vroom-relay` meta tag (README, "Hosting the web app elsewhere"). The client
//! reads that page as a browser would (without the link's fragment, which holds the
//! room secret and is never sent) and talks to the relay it names, or, when it names
//! none, to the link's origin, as the web app does. The app's host chooses the relay,
//! exactly as for a browser; the address never does (PROTOCOL.md §1, §8).

use std::time::Duration;

use hyper::StatusCode;
use url::Url;
use vroom_shared::invite::{self, Invite, INVITE_PATH};

use crate::chat::ChatError;
use crate::http::{browser_encodings, is_plain_web_url, Client, Dest, Fetched};
use crate::render::clean;

/// The most a page may weigh (the app's page is a few kilobytes).
pub(crate) const MAX_PAGE: usize = 1 << 20;

/// How long reading the page may take, connection included.
pub(crate) const PAGE_TIMEOUT: Duration = Duration::from_secs(15);

/// The most attributes of one tag that are read; further ones are skipped over (the
/// app's tags have a few).
const MAX_ATTRIBUTES: usize = 64;

/// The most `<` of a page that are read (tags, comments, stray ones); the rest of the
/// page is not (the app's page has a few dozen tags).
const MAX_TAGS: usize = 10_000;

/// The name of the meta tag that names the relay.
const RELAY_META: &str = "vroom-relay";

/// Where a room is reached and where its invite links point.
pub(crate) struct Place {
    /// The relay's origin (`http[s]://host[:port][/prefix]`), for the WebSocket and the
    /// salt of rooms by name.
    pub(crate) relay: String,
    /// The origin of the web app the room's invite links open.
    pub(crate) links: String,
}

/// What a page says about its relay.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Meta {
    /// No `vroom-relay` meta tag with a value: the page talks to its own origin.
    None,
    /// The value of the page's one `vroom-relay` meta tag, as written.
    Relay(String),
    /// More than one `vroom-relay` meta tag: which one counts is unclear.
    Several,
    /// The page cannot be read as surely as a browser reads it: why.
    Unclear(String),
}

/// The place of the room `invite` (read from `link`) is in: the relay the link's page
/// names, else the link's origin. Prints which relay that is when the page names one.
/// The second value says why the page could not be read, if it could not: see
/// [`Unread::explain`].
pub(crate) async fn place_of_link(
    invite: &Invite,
    link: &str,
) -> Result<(Place, Option<Unread>), ChatError> {
    let links = invite.origin().to_owned();
    // The page the link opens, without the fragment (the room secret).
    let page = link.trim().split('#').next().unwrap_or_default();
    let page = Url::parse(page).map_err(|_| ChatError::Invite(invite::InviteError::NotALink))?;
    // The page fetched must be on the host the link was checked for.
    if !page.username().is_empty() || page.password().is_some() {
        return Err(ChatError::Invite(invite::InviteError::UserInfo));
    }
    if !invite::is_secure_origin(&page.origin().ascii_serialization()) {
        return Err(ChatError::Invite(invite::InviteError::Insecure));
    }
    // A page that cannot be read (an address that serves WebSockets only, a host that
    // is down) names no relay: the link's origin is tried, as before apps were hosted
    // apart. Nothing of the room is at stake: the link's host is the one that serves
    // the app the link opens.
    let (meta, unread) = match page_meta(&page).await {
        Ok(meta) => (meta, None),
        Err(why) => (
            Meta::None,
            Some(Unread {
                page: page_shown(&page),
                why,
            }),
        ),
    };
    match meta {
        Meta::None => {
            if let Some(Unread { page, why }) = &unread {
                println!(
                    "-- Cannot read the web app's page at {} ({}): trying its address as the relay",
                    clean(page),
                    clean(why)
                );
            }
            Ok((
                Place {
                    relay: links.clone(),
                    links,
                },
                unread,
            ))
        }
        Meta::Relay(value) => {
            let relay = checked_relay(&value).map_err(|why| named_badly(&links, &value, why))?;
            println!(
                "-- Relay: {} (named by the app at {})",
                clean(&relay),
                clean(&links)
            );
            Ok((Place { relay, links }, None))
        }
        Meta::Several => Err(several(&links)),
        Meta::Unclear(why) => Err(unclear(&links, &why)),
    }
}

fn unclear(app: &str, why: &str) -> ChatError {
    ChatError::Link(format!(
        "cannot tell which relay the web app at {} uses: {}. Ask whoever runs it for the \
         relay's address and give it with --server.",
        clean(app),
        clean(why)
    ))
}

/// A link's page that could not be read, so that its origin was tried as the relay.
pub(crate) struct Unread {
    /// The page's address, without the fragment.
    page: String,
    /// Why it could not be read.
    why: String,
}

impl Unread {
    /// When the link's origin could not be reached as a relay either, says both.
    pub(crate) fn explain(
        unread: Option<Unread>,
        result: Result<(), ChatError>,
    ) -> Result<(), ChatError> {
        match (unread, result) {
            (Some(Unread { page, why }), Err(ChatError::Connect { reason, .. })) => {
                Err(ChatError::Link(format!(
                    "cannot read the web app's page at {} to learn its relay ({}), \
                     and its address is not a relay either ({reason}). Check the link and \
                     your connection, then try again.",
                    clean(&page),
                    clean(&why)
                )))
            }
            (_, result) => result,
        }
    }
}

/// The place for a room on the relay at `relay` whose links should open the app at
/// `app` (`--app`), after checking that the app there talks to that relay: links made
/// for an app that talks to another relay would lead nowhere.
pub(crate) async fn place_with_app(relay: String, app: Option<&str>) -> Result<Place, ChatError> {
    let Some(app) = app else {
        return Ok(Place {
            links: relay.clone(),
            relay,
        });
    };
    let links = app_origin(app)?;
    let page =
        Url::parse(&format!("{links}{INVITE_PATH}")).map_err(|_| ChatError::Link(bad_app(app)))?;
    let named = match page_meta(&page).await.map_err(|why| {
        ChatError::Link(format!(
            "cannot read the web app's page at {} to learn its relay ({why}). Check the \
             address given with --app and your connection, then try again.",
            page_shown(&page),
            why = clean(&why)
        ))
    })? {
        Meta::None => links.clone(),
        Meta::Relay(value) => {
            checked_relay(&value).map_err(|why| named_badly(&links, &value, why))?
        }
        Meta::Several => return Err(several(&links)),
        Meta::Unclear(why) => return Err(unclear(&links, &why)),
    };
    if named != relay {
        return Err(ChatError::Link(format!(
            "the web app at {links} talks to the relay at {named}, not to {relay}, so its \
             invite links would not lead to this room. Give --server {named}, or the address \
             of an app set up for {relay}."
        )));
    }
    Ok(Place { relay, links })
}

/// The origin of the web app at `app` (`https://app.example`), where it makes its
/// invite links: `https://`, or `http://` on this machine only.
fn app_origin(app: &str) -> Result<String, ChatError> {
    let url = Url::parse(app.trim()).map_err(|_| ChatError::Link(bad_app(app)))?;
    if !is_plain_web_url(&url) || url.path() != "/" {
        return Err(ChatError::Link(bad_app(app)));
    }
    let origin = url.origin().ascii_serialization();
    if !invite::is_secure_origin(&origin) {
        return Err(ChatError::Insecure(origin));
    }
    Ok(origin)
}

fn bad_app(app: &str) -> String {
    format!(
        "'{app}' is not the address of a web app. Give its origin only, like \
         https://app.example (the app makes its invite links there)."
    )
}

fn several(app: &str) -> ChatError {
    let app = clean(app);
    ChatError::Link(format!(
        "the web app at {app} names more than one relay (several vroom-relay meta tags), \
         so which one it talks to is unclear. Ask whoever hosts it to keep one."
    ))
}

fn named_badly(app: &str, value: &str, why: BadRelay) -> ChatError {
    // Both come from the link and its page: never written to the terminal raw.
    let (app, value) = (clean(app), clean(value));
    ChatError::Link(match why {
        BadRelay::NotAnAddress => format!(
            "the web app at {app} names its relay as '{value}', which is not a relay \
             address (it should look like https://relay.example). Ask whoever hosts the \
             app to fix its vroom-relay setting."
        ),
        BadRelay::Insecure => format!(
            "the web app at {app} names its relay as '{value}', which uses http:// to \
             another machine, so the room would travel unprotected. Ask whoever hosts the \
             app to name the relay with https://."
        ),
    })
}

/// The page's address as shown: without a fragment.
fn page_shown(page: &Url) -> String {
    let mut page = page.clone();
    page.set_fragment(None);
    page.to_string()
}

/// Reads the page at `page` (its fragment left out) and what it says about its relay,
/// or why it could not be read. A page that is not there (a relay serving no app, whose
/// links the native client made) names none.
async fn page_meta(page: &Url) -> Result<Meta, String> {
    let mut page = page.clone();
    page.set_fragment(None);
    let origin = Url::parse(&page.origin().ascii_serialization()).map_err(|e| e.to_string())?;
    let mut client = Client::new(origin, MAX_PAGE, PAGE_TIMEOUT);
    let encodings = browser_encodings(&page);
    let fetched = client.fetch_url(page, Dest::Document, encodings).await?;
    Ok(match fetched {
        Fetched::Body {
            bytes,
            content_type,
        } => match html_utf8(content_type.as_deref(), &bytes) {
            Ok(()) => relay_meta(&bytes),
            Err(why) => Meta::Unclear(why),
        },
        // A relay serving no app (whose links the native client made).
        Fetched::Missing(StatusCode::NOT_FOUND) => Meta::None,
        Fetched::Missing(status) => Meta::Unclear(format!("its page answers HTTP {status}")),
        Fetched::BadEncoding(why) => Meta::Unclear(format!("its page {why}")),
        Fetched::TooLong(_) => Meta::Unclear(format!(
            "its page is longer than {MAX_PAGE} bytes, more than is read"
        )),
        Fetched::Redirect(status, _) => {
            Meta::Unclear(format!("its page answers HTTP {status}, not followed"))
        }
    })
}

/// Whether a page sent with `content_type` is HTML in UTF-8, as the reader reads it:
/// `text/html` with no charset or UTF-8's, and no byte order mark but UTF-8's (a
/// browser decodes other encodings, where the tags may read otherwise).
fn html_utf8(content_type: Option<&str>, body: &[u8]) -> Result<(), String> {
    let wrong = || {
        format!(
            "its page is sent as `{}`, not as text/html in UTF-8",
            content_type.unwrap_or("(no Content-Type)")
        )
    };
    let content_type = content_type.ok_or_else(wrong)?;
    let mut parts = content_type.split(';');
    let essence = parts.next().unwrap_or_default().trim_matches([' ', '\t']);
    if !essence.eq_ignore_ascii_case("text/html") {
        return Err(wrong());
    }
    for parameter in parts {
        let (name, value) = parameter.split_once('=').unwrap_or((parameter, ""));
        if name
            .trim_matches([' ', '\t'])
            .eq_ignore_ascii_case("charset")
        {
            let value = value.trim_matches([' ', '\t']).trim_matches('"');
            if !(value.eq_ignore_ascii_case("utf-8") || value.eq_ignore_ascii_case("utf8")) {
                return Err(wrong());
            }
        }
    }
    if body.starts_with(&[0xfe, 0xff]) || body.starts_with(&[0xff, 0xfe]) {
        return Err("its page starts with a UTF-16 byte order mark".to_owned());
    }
    Ok(())
}

/// Why a page's relay setting cannot be used.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum BadRelay {
    /// Not an absolute `http(s)://` address without query, fragment or credentials.
    NotAnAddress,
    /// `http://` to another machine.
    Insecure,
}

/// The relay a page names, as an origin (`https://host[:port][/prefix]`, no trailing
/// slash): an absolute `https://` address, or `http://` on this machine only.
pub(crate) fn checked_relay(value: &str) -> Result<String, BadRelay> {
    let value = value.trim_matches(|c: char| c.is_ascii_whitespace());
    // Character references are not decoded here; no relay address needs one. A URL
    // parser drops tabs and newlines; a relay setting has no control character at all.
    if value.contains('&') || value.chars().any(char::is_control) {
        return Err(BadRelay::NotAnAddress);
    }
    let url = Url::parse(value).map_err(|_| BadRelay::NotAnAddress)?;
    if !matches!(url.scheme(), "http" | "https")
        || url.host_str().is_none()
        || !url.username().is_empty()
        || url.password().is_some()
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(BadRelay::NotAnAddress);
    }
    let origin = url.as_str().trim_end_matches('/').to_owned();
    if !invite::is_secure_origin(&origin) {
        return Err(BadRelay::Insecure);
    }
    Ok(origin)
}

/// What the HTML page `html` says about its relay, read as a browser's parser would
/// find `<meta name="vroom-relay" content="…">` in the document (as the web app's
/// `querySelector` does): tags are read with their quoting, attribute names in any case
/// (the first of a repeated attribute counts), comments and the text of `<script>`,
/// `<style>`, `<title>`, `<textarea>`, `<noscript>` (scripting is on in a browser) and
/// the like skipped. A `<meta>` inside `<template>` is not in the document (a template's
/// content is inert); in `<svg>` or `<math>` content, where `<script>` and `<style>` are
/// markup and `<![CDATA[…]]>` is text, a `<meta>` breaks out of it and is in the
/// document (HTML, "parsing tokens in foreign content"). A tag without `content`, or
/// with an empty one, names no relay. Only the page up to its [`MAX_TAGS`]th `<`, the
/// first [`MAX_ATTRIBUTES`] attributes of a tag, and elements open in `<svg>` or
/// `<math>` and templates up to [`MAX_DEPTH`] deep are read.
pub(crate) fn relay_meta(html: &[u8]) -> Meta {
    let mut found: Vec<Option<String>> = Vec::new();
    let mut tree = Tree::default();
    let mut i = 0;
    let mut tags = 0;
    while let Some(offset) = html[i..].iter().position(|&b| b == b'<') {
        tags += 1;
        if tags > MAX_TAGS || tree.open.len() > MAX_DEPTH {
            return Meta::Unclear("its page has more tags, or deeper ones, than are read".into());
        }
        let at = i + offset;
        let rest = &html[at..];
        if let Some(body) = rest.strip_prefix(b"<!--") {
            // `<!-->` and `<!--->` end at once; else the comment runs to `-->` (or to
            // the end of the page).
            let end = if body.starts_with(b">") {
                Some(1)
            } else if body.starts_with(b"->") {
                Some(2)
            } else {
                // `--!>` ends it too.
                match (find(body, b"-->"), find(body, b"--!>")) {
                    (Some(a), Some(b)) if b < a => Some(b + 4),
                    (Some(a), _) => Some(a + 3),
                    (None, b) => b.map(|b| b + 4),
                }
            };
            match end {
                Some(end) => i = at + 4 + end,
                None => break,
            }
            continue;
        }
        if tree.in_foreign() {
            if let Some(body) = rest.strip_prefix(b"<![CDATA[") {
                // Text in SVG and MathML: up to `]]>` (or to the end of the page).
                match find(body, b"]]>") {
                    Some(end) => i = at + 9 + end + 3,
                    None => break,
                }
                continue;
            }
        }
        let next = rest.get(1).copied().unwrap_or_default();
        if next == b'/' && rest.get(2).is_some_and(u8::is_ascii_alphabetic) {
            // An end tag: read like a start tag (its quoting counts).
            match tag(html, at + 2) {
                Some(Tag { name, end, .. }) => {
                    i = end;
                    if !tree.end_tag(&name) {
                        return Meta::Unclear(format!(
                            "its page ends an element ({name}) from inside SVG or MathML \
                             content, which is not read"
                        ));
                    }
                }
                None => break,
            }
            continue;
        }
        if matches!(next, b'!' | b'?' | b'/') {
            // A doctype or a bogus comment: up to the next `>`.
            match rest.iter().position(|&b| b == b'>') {
                Some(p) => i = at + p + 1,
                None => break,
            }
            continue;
        }
        if !next.is_ascii_alphabetic() {
            i = at + 1;
            continue;
        }
        let Some(tag) = tag(html, at + 1) else {
            // A tag the page ends inside is not a tag.
            break;
        };
        i = tag.end;
        if tag.name == "frameset" {
            return Meta::Unclear("its page has a frameset, which is not read".into());
        }
        match tree.start_tag(&tag) {
            Html::Meta => {
                let kept = |a| attribute(&tag.attributes, a).is_some();
                if tag.truncated && !(kept("name") && kept("content")) {
                    return Meta::Unclear(
                        "its page has a meta tag with more attributes than are read".into(),
                    );
                }
                let name = attribute(&tag.attributes, "name").unwrap_or_default();
                let content = attribute(&tag.attributes, "content").unwrap_or_default();
                if name.contains('&') || (name == RELAY_META && content.contains('&')) {
                    return Meta::Unclear(
                        "its page has a meta tag with a character reference (&), which is \
                         not read"
                            .into(),
                    );
                }
                if name == RELAY_META {
                    found.push(attribute(&tag.attributes, "content").map(str::to_owned));
                }
            }
            Html::RawText => match end_of_raw_text(html, i, &tag.name) {
                Some(end) => {
                    if tag.name == "script" && find(&html[i..end], b"<!--").is_some() {
                        // Escaped script text, where `<script>` inside `<!--` keeps
                        // `</script>` from ending it, is not followed.
                        return Meta::Unclear(
                            "its page has `<!--` in a script, which is not read".into(),
                        );
                    }
                    // Its end tag ends the text, and closes nothing else.
                    match self::tag(html, end + 2) {
                        Some(end_tag) => i = end_tag.end,
                        None => break,
                    }
                }
                None => break,
            },
            Html::PlainText => break,
            Html::Other => {}
        }
    }
    match &found[..] {
        [] => Meta::None,
        [one] => match one {
            Some(value) if !value.trim().is_empty() => Meta::Relay(value.clone()),
            _ => Meta::None,
        },
        _ => Meta::Several,
    }
}

/// How deep elements in `<svg>` or `<math>` and templates are followed; a page nested
/// deeper is not read further (the app's page has none).
const MAX_DEPTH: usize = 256;

/// Elements whose content is text, not markup, as a browser with scripting parses them
/// (in HTML; in SVG and MathML they are elements like any other).
const RAW_TEXT: [&str; 9] = [
    "script", "style", "title", "textarea", "xmp", "iframe", "noembed", "noframes", "noscript",
];

/// HTML elements that have no content and no end tag.
const VOID: [&str; 19] = [
    "area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "image", "img",
    "input", "keygen", "link", "meta", "param", "source", "track", "wbr",
];

/// Start tags that end SVG or MathML content (HTML, "parsing tokens in foreign
/// content"), `<font>` with `color`, `face` or `size` too.
const BREAK_OUT: [&str; 45] = [
    "b",
    "big",
    "blockquote",
    "body",
    "br",
    "center",
    "code",
    "dd",
    "div",
    "dl",
    "dt",
    "em",
    "embed",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "head",
    "hr",
    "i",
    "img",
    "li",
    "listing",
    "menu",
    "meta",
    "nobr",
    "ol",
    "p",
    "pre",
    "ruby",
    "s",
    "small",
    "span",
    "strong",
    "strike",
    "sub",
    "sup",
    "table",
    "tt",
    "u",
    "ul",
    "var",
    "font",
];

/// An element's namespace.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Space {
    Html,
    Svg,
    MathMl,
}

/// An open element that matters to where a `<meta>` lands.
struct Open {
    /// The tag name, lower-cased.
    name: String,
    space: Space,
    /// An HTML integration point (SVG `foreignObject`, `desc`, `title`; MathML
    /// `annotation-xml` with an HTML `encoding`): start tags in it are HTML.
    html_point: bool,
}

impl Open {
    /// A MathML text integration point: start tags in it (but `mglyph`, `malignmark`)
    /// are HTML.
    fn text_point(&self) -> bool {
        self.space == Space::MathMl
            && matches!(self.name.as_str(), "mi" | "mo" | "mn" | "ms" | "mtext")
    }

    fn template(&self) -> bool {
        self.space == Space::Html && self.name == "template"
    }
}

/// What an HTML start tag is to the reader.
enum Html {
    Meta,
    RawText,
    PlainText,
    Other,
}

/// The part of a browser's stack of open elements that decides whether a `<meta>` is
/// in the document: HTML templates, and, from the first `<svg>` or `<math>` on, every
/// element (HTML elements outside them do not change where a `<meta>` lands).
#[derive(Default)]
struct Tree {
    open: Vec<Open>,
}

impl Tree {
    /// Whether the current node is an SVG or MathML element (where `<![CDATA[` starts
    /// text).
    fn in_foreign(&self) -> bool {
        self.open.last().is_some_and(|e| e.space != Space::Html)
    }

    /// Whether any SVG or MathML element is open (HTML elements are then followed).
    fn has_foreign(&self) -> bool {
        self.open.iter().any(|e| e.space != Space::Html)
    }

    fn in_template(&self) -> bool {
        self.open.iter().any(Open::template)
    }

    /// A start tag, as the tree builder takes it; what it is to the reader.
    fn start_tag(&mut self, tag: &Tag) -> Html {
        let name = tag.name.as_str();
        if let Some(current) = self.open.last() {
            let html_rules = current.space == Space::Html
                || current.html_point
                || (current.text_point() && !matches!(name, "mglyph" | "malignmark"))
                || (current.name == "annotation-xml" && name == "svg");
            if !html_rules {
                let font = name == "font"
                    && ["color", "face", "size"]
                        .iter()
                        .any(|a| attribute(&tag.attributes, a).is_some());
                if !BREAK_OUT.contains(&name) || (name == "font" && !font) {
                    // An element of the current node's namespace.
                    let space = current.space;
                    let html_point = match space {
                        Space::Svg => matches!(name, "foreignobject" | "desc" | "title"),
                        Space::MathMl => {
                            name == "annotation-xml"
                                && attribute(&tag.attributes, "encoding").is_some_and(|e| {
                                    e.eq_ignore_ascii_case("text/html")
                                        || e.eq_ignore_ascii_case("application/xhtml+xml")
                                })
                        }
                        Space::Html => false,
                    };
                    if !tag.self_closing {
                        self.open.push(Open {
                            name: name.to_owned(),
                            space,
                            html_point,
                        });
                    }
                    return Html::Other;
                }
                // Out of SVG or MathML, then read as HTML.
                while self
                    .open
                    .last()
                    .is_some_and(|e| e.space != Space::Html && !e.html_point && !e.text_point())
                {
                    self.open.pop();
                }
            }
        }
        match name {
            "meta" if self.in_template() => Html::Other,
            "meta" => Html::Meta,
            "plaintext" => Html::PlainText,
            _ if RAW_TEXT.contains(&name) => Html::RawText,
            "svg" | "math" => {
                if !tag.self_closing {
                    self.open.push(Open {
                        name: name.to_owned(),
                        space: if name == "svg" {
                            Space::Svg
                        } else {
                            Space::MathMl
                        },
                        html_point: false,
                    });
                }
                Html::Other
            }
            "template" => {
                self.open.push(Open {
                    name: name.to_owned(),
                    space: Space::Html,
                    html_point: false,
                });
                Html::Other
            }
            _ => {
                // HTML elements matter inside SVG or MathML only (in `foreignObject`):
                // while one is open, what follows is HTML.
                if self.has_foreign() && !VOID.contains(&name) {
                    self.open.push(Open {
                        name: name.to_owned(),
                        space: Space::Html,
                        html_point: false,
                    });
                }
                Html::Other
            }
        }
    }

    /// An end tag, as the tree builder takes it; `false` for one in SVG or MathML
    /// content that closes none of its elements (it may close HTML elements around
    /// it, which are not followed).
    fn end_tag(&mut self, name: &str) -> bool {
        if self.in_foreign() {
            if matches!(name, "br" | "p") {
                // These end SVG or MathML content as their start tags do.
                while self
                    .open
                    .last()
                    .is_some_and(|e| e.space != Space::Html && !e.html_point && !e.text_point())
                {
                    self.open.pop();
                }
                return true;
            }
            // The nearest open element of that name closes, up to the first HTML one.
            let mut at = self.open.len() - 1;
            loop {
                if self.open[at].name == name {
                    self.open.truncate(at);
                    return true;
                }
                if at == 0 || self.open[at - 1].space == Space::Html {
                    return false;
                }
                at -= 1;
            }
        }
        if name == "template" {
            if let Some(at) = self.open.iter().rposition(Open::template) {
                self.open.truncate(at);
            }
            return true;
        }
        // Another end tag closes the nearest HTML element of that name, unless an SVG or
        // MathML element or a template (special elements) comes first.
        for at in (0..self.open.len()).rev() {
            let open = &self.open[at];
            if open.space != Space::Html || open.template() {
                return true;
            }
            if open.name == name {
                self.open.truncate(at);
                return true;
            }
        }
        true
    }
}

/// A tag's attributes, `(name, value)`, in order.
type Attributes = Vec<(String, String)>;

/// A tag as read.
struct Tag {
    /// Its name, lower-cased.
    name: String,
    /// Its first [`MAX_ATTRIBUTES`] attributes (names lower-cased; the first of a
    /// repeated name kept).
    attributes: Attributes,
    /// Whether it ends with `/>`.
    self_closing: bool,
    /// Whether it has more attributes than were kept.
    truncated: bool,
    /// Where it ends: just after its `>`.
    end: usize,
}

/// The tag read from `start` (just after `<` or `</`); `None` when the page ends
/// inside it.
fn tag(html: &[u8], start: usize) -> Option<Tag> {
    let space = |b: u8| matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ');
    let mut i = start;
    let name_end = i + html[i..]
        .iter()
        .position(|&b| space(b) || b == b'/' || b == b'>')?;
    let name = String::from_utf8_lossy(&html[i..name_end]).to_ascii_lowercase();
    i = name_end;
    let mut attributes = Attributes::new();
    let mut truncated = false;
    loop {
        let mut slash = false;
        while space(*html.get(i)?) || html[i] == b'/' {
            slash = html[i] == b'/';
            i += 1;
        }
        if html[i] == b'>' {
            return Some(Tag {
                name,
                attributes,
                self_closing: slash,
                truncated,
                end: i + 1,
            });
        }
        // The name: a leading `=` belongs to it.
        let from = i;
        i += 1;
        while !matches!(html.get(i)?, b'/' | b'>' | b'=') && !space(html[i]) {
            i += 1;
        }
        let attribute = String::from_utf8_lossy(&html[from..i]).to_ascii_lowercase();
        while space(*html.get(i)?) {
            i += 1;
        }
        let mut value = String::new();
        if html[i] == b'=' {
            i += 1;
            while space(*html.get(i)?) {
                i += 1;
            }
            let bytes = match html[i] {
                quote @ (b'"' | b'\'') => {
                    let len = html[i + 1..].iter().position(|&b| b == quote)?;
                    let bytes = &html[i + 1..i + 1 + len];
                    i += len + 2;
                    bytes
                }
                b'>' => &[][..],
                _ => {
                    let from = i;
                    while !space(*html.get(i)?) && html[i] != b'>' {
                        i += 1;
                    }
                    &html[from..i]
                }
            };
            value = String::from_utf8_lossy(bytes).into_owned();
        }
        if !attributes.iter().any(|(n, _)| *n == attribute) {
            if attributes.len() < MAX_ATTRIBUTES {
                attributes.push((attribute, value));
            } else {
                truncated = true;
            }
        }
    }
}

fn attribute<'a>(attributes: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attributes
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Where the text of a raw-text element `name` that starts at `from` ends: at its end
/// tag `</name` followed by a space, `/` or `>`, in any case.
fn end_of_raw_text(html: &[u8], from: usize, name: &str) -> Option<usize> {
    let mut i = from;
    loop {
        let at = i + find(&html[i..], b"</")?;
        let after = at + 2 + name.len();
        let matches = html
            .get(at + 2..after)
            .is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes()))
            && html
                .get(after)
                .is_some_and(|b| matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ' | b'/' | b'>'));
        if matches {
            return Some(at);
        }
        i = at + 2;
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(html: &str) -> Meta {
        relay_meta(html.as_bytes())
    }

    fn relay(value: &str) -> Meta {
        Meta::Relay(value.to_owned())
    }

    #[test]
    fn the_built_page_and_a_deployed_one() {
        let built = r#"<!doctype html><html><head><meta charset="utf-8"><meta name="vroom-relay" content=""><title>vroom</title></head><body></body></html>"#;
        assert_eq!(meta(built), Meta::None);
        let deployed = built.replace(r#"content="""#, r#"content="https://relay.example""#);
        assert_eq!(meta(&deployed), relay("https://relay.example"));
        assert_eq!(meta("<html><head></head></html>"), Meta::None);
        assert_eq!(meta(""), Meta::None);
    }

    #[test]
    fn attributes_in_any_case_and_any_quoting() {
        assert_eq!(
            meta(r#"<META NAME="vroom-relay" CONTENT="https://r.example">"#),
            relay("https://r.example")
        );
        assert_eq!(
            meta("<meta name='vroom-relay' content='https://r.example'>"),
            relay("https://r.example")
        );
        assert_eq!(
            meta("<meta name=vroom-relay content=https://r.example/>"),
            relay("https://r.example/")
        );
        assert_eq!(
            meta("<meta\ncontent = \"https://r.example\"\tname = vroom-relay />"),
            relay("https://r.example")
        );
        // A quoted `>` does not end the tag.
        assert_eq!(
            meta(r#"<meta data-x="a>b" name="vroom-relay" content="https://r.example">"#),
            relay("https://r.example")
        );
        // The value of `name` is compared as written, as a selector does.
        assert_eq!(
            meta(r#"<meta name="VROOM-RELAY" content="https://r.example">"#),
            Meta::None
        );
        // The first of a repeated attribute counts.
        assert_eq!(
            meta(
                r#"<meta name="vroom-relay" content="https://a.example" content="https://b.example">"#
            ),
            relay("https://a.example")
        );
        assert_eq!(
            meta(r#"<meta name="other" name="vroom-relay" content="https://r.example">"#),
            Meta::None
        );
    }

    #[test]
    fn a_tag_without_content_names_no_relay() {
        assert_eq!(meta(r#"<meta name="vroom-relay">"#), Meta::None);
        assert_eq!(meta(r#"<meta name="vroom-relay" content>"#), Meta::None);
        assert_eq!(
            meta(r#"<meta name="vroom-relay" content="  ">"#),
            Meta::None
        );
    }

    #[test]
    fn several_tags_are_refused() {
        let one = r#"<meta name="vroom-relay" content="https://r.example">"#;
        assert_eq!(meta(&one.repeat(2)), Meta::Several);
        let other = r#"<meta name="vroom-relay" content="https://evil.example">"#;
        assert_eq!(meta(&format!("{one}<body>{other}")), Meta::Several);
        // An empty one beside a filled one is still two.
        assert_eq!(
            meta(&format!(r#"<meta name="vroom-relay" content="">{other}"#)),
            Meta::Several
        );
    }

    #[test]
    fn tags_in_comments_scripts_and_values_are_not_tags() {
        let evil = r#"<meta name="vroom-relay" content="https://evil.example">"#;
        let real = r#"<meta name="vroom-relay" content="https://r.example">"#;
        for hidden in [
            format!("<!-- {evil} -->"),
            format!("<!--\n{evil}\n--->"),
            format!("<script>let s = '{evil}';</script>"),
            format!("<SCRIPT type=module>'{evil}'</SCRIPT >"),
            format!("<style>/* {evil} */</style>"),
            format!("<title>{evil}</title>"),
            format!("<textarea>{evil}</textarea>"),
            format!("<noscript>{evil}</noscript>"),
            format!(r#"<div title='{evil}'></div>"#),
            format!(r#"</p title="{}">"#, evil.replace('"', "'")),
            format!("<!{evil}"),
        ] {
            assert_eq!(
                meta(&format!("{hidden}{real}")),
                relay("https://r.example"),
                "{hidden}"
            );
            assert_eq!(
                meta(&format!("{real}{hidden}")),
                relay("https://r.example"),
                "{hidden}"
            );
        }
        // `<!-->` is an empty comment: what follows is markup.
        assert_eq!(meta(&format!("<!-->{real}")), relay("https://r.example"));
        // A comment, script or tag the page ends inside hides what is in it.
        assert_eq!(meta(&format!("<!-- {evil}")), Meta::None);
        assert_eq!(meta(&format!("<script>{evil}")), Meta::None);
        assert_eq!(
            meta(r#"<meta name="vroom-relay" content="https://evil.example""#),
            Meta::None
        );
        assert_eq!(meta(&format!("<plaintext>{evil}")), Meta::None);
    }

    const EVIL: &str = r#"<meta name="vroom-relay" content="https://evil.example">"#;
    const REAL: &str = r#"<meta name="vroom-relay" content="https://r.example">"#;

    /// `page` with `{evil}` and `{real}` filled in.
    fn fill(page: &str) -> Meta {
        meta(&page.replace("{evil}", EVIL).replace("{real}", REAL))
    }

    #[test]
    fn a_tag_in_a_template_is_not_in_the_document() {
        // A template's content is inert: `querySelector` does not see into it.
        for page in [
            "<template>{evil}</template>{real}",
            "<head><template>{evil}</template>{real}</head>",
            "{real}<template><div>{evil}</div></TEMPLATE>",
            "<template><template></template>{evil}</template>{real}",
            "<template><svg>{evil}</svg></template>{real}",
            // `</template>` closes the template through open SVG elements.
            "<template><svg><g>{evil}</template>{real}",
            "<svg><foreignObject><template>{evil}</template></foreignObject></svg>{real}",
        ] {
            assert_eq!(fill(page), relay("https://r.example"), "{page}");
        }
        assert_eq!(fill("<template>{real}"), Meta::None);
        assert_eq!(fill("<template>{real}</template>"), Meta::None);
        // A stray `</template>` closes nothing.
        assert_eq!(fill("</template>{real}"), relay("https://r.example"));
        // In SVG, `<template>` is an SVG element, not an inert template.
        assert_eq!(
            fill("<svg><template>{real}</template></svg>"),
            relay("https://r.example")
        );
    }

    #[test]
    fn a_tag_in_svg_or_mathml_breaks_out_of_it_into_the_document() {
        // `<meta>` ends foreign content and is an HTML element of the document.
        for page in [
            "<svg>{real}</svg>",
            "<svg><g><circle/>{real}",
            "<math><mrow>{real}</mrow></math>",
            // In SVG and MathML, `<style>`, `<script>`, `<textarea>` and `<noscript>` are
            // elements like any other: what they hold is markup.
            "<svg><style>{real}</style></svg>",
            "<svg><script>{real}</script></svg>",
            "<math><textarea>{real}</textarea></math>",
            "<svg><noscript>{real}</noscript></svg>",
            "<svg><plaintext>{real}",
            // An SVG `<title>` is an integration point: a `<meta>` in it is HTML.
            "<svg><title>{real}</title></svg>",
            // `<style>` in MathML without an HTML `encoding` is MathML.
            "<math><annotation-xml><style>{real}</style></annotation-xml></math>",
        ] {
            assert_eq!(fill(page), relay("https://r.example"), "{page}");
        }
        assert_eq!(
            fill("<svg><style>{evil}</style></svg>{real}"),
            Meta::Several
        );
        assert_eq!(fill("<svg><script>{evil}</script>{real}"), Meta::Several);
    }

    #[test]
    fn html_around_svg_and_mathml_is_read_as_html() {
        for page in [
            // After the SVG ends, `<style>` is HTML again: raw text.
            "<svg></svg><style>{evil}</style>{real}",
            "<svg/><style>{evil}</style>{real}",
            "<svg><g></svg><script>{evil}</script>{real}",
            "<math></math><textarea>{evil}</textarea>{real}",
            // A tag that breaks out (here `<p>`, `<div>`, `<font color>`) ends it too.
            "<svg><p><style>{evil}</style>{real}",
            "<svg><g><div><style>{evil}</style>{real}",
            "<svg><font color=red><style>{evil}</style>{real}",
            "<svg></p><style>{evil}</style>{real}",
            // Integration points: start tags in them are HTML.
            "<svg><desc><style>{evil}</style></desc></svg>{real}",
            "<svg><foreignObject><title>{evil}</title></foreignObject></svg>{real}",
            "<math><mi><script>{evil}</script></mi></math>{real}",
            "<math><annotation-xml encoding=\"Text/HTML\"><style>{evil}</style></math>{real}",
            // `</foreignObject>` inside an open HTML element closes nothing.
            "<svg><foreignObject><div></foreignObject><style>{evil}</style>{real}",
            // Comments are comments in SVG too.
            "<svg><!-- {evil} --></svg>{real}",
        ] {
            assert_eq!(fill(page), relay("https://r.example"), "{page}");
        }
        // `<font>` without those attributes stays in SVG.
        assert_eq!(
            fill("<svg><font><style>{real}</style>"),
            relay("https://r.example")
        );
        assert_eq!(
            fill("<svg><font><style>{evil}</style>{real}"),
            Meta::Several
        );
    }

    #[test]
    fn cdata_is_text_in_svg_and_mathml_and_a_comment_elsewhere() {
        for page in [
            "<svg><![CDATA[{evil}]]></svg>{real}",
            "<svg><![CDATA[ a > b {evil} ]]></svg>{real}",
            "<math><mi><![CDATA[{evil}]]></mi></math>{real}",
            // In HTML, `<![CDATA[` starts a bogus comment that ends at the first `>`.
            "<![CDATA[ x ]]>{real}",
            "<![CDATA[{evil}]]>{real}",
        ] {
            assert_eq!(fill(page), relay("https://r.example"), "{page}");
        }
        assert_eq!(
            fill("<![CDATA[ a > b {evil} ]]>{real}"),
            Meta::Several,
            "in HTML the text after the first `>` is markup"
        );
        assert_eq!(fill("<svg><![CDATA[{real}"), Meta::None);
    }

    #[test]
    fn nesting_past_the_limit_is_not_read() {
        let deep = "<svg>".to_owned() + &"<g>".repeat(MAX_DEPTH + 1);
        assert!(matches!(fill(&format!("{deep}{{real}}")), Meta::Unclear(_)));
        let shallow = "<svg>".to_owned() + &"<g>".repeat(MAX_DEPTH - 2);
        assert_eq!(
            fill(&format!("{shallow}{{real}}")),
            relay("https://r.example")
        );
    }

    #[test]
    fn a_huge_page_is_read_in_one_pass() {
        // The longest page the client reads, made of what makes a naive parser slow.
        let evil = r#"<meta name="vroom-relay" content="https://evil.example">"#;
        let mut page = "<a b='".to_owned();
        page.push_str(&evil.repeat(MAX_PAGE / evil.len()));
        page.push_str(r#"'><meta name="vroom-relay" content="https://r.example">"#);
        let started = std::time::Instant::now();
        assert_eq!(
            meta(&page),
            relay("https://r.example"),
            "all inside one value"
        );
        assert_eq!(meta(&"<a b='".repeat(MAX_PAGE / 6)), Meta::None);
        let page = "<!--".repeat(MAX_PAGE / 4);
        assert_eq!(meta(&page), Meta::None);
        let page = "</".repeat(MAX_PAGE / 2);
        assert_eq!(meta(&page), Meta::None);
        let page = "<".repeat(MAX_PAGE);
        assert!(matches!(meta(&page), Meta::Unclear(_)), "too many tags");
        let mut page = "<script>".to_owned();
        page.push_str(&"</scrip".repeat(MAX_PAGE / 7));
        assert_eq!(meta(&page), Meta::None);
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        // Bytes that are not UTF-8 do not stop it.
        let mut bytes = vec![0xff, 0xfe, b'<', 0x80];
        bytes.extend_from_slice(br#"<meta name="vroom-relay" content="https://r.example">"#);
        assert_eq!(relay_meta(&bytes), relay("https://r.example"));
    }

    #[test]
    fn a_tag_with_a_huge_number_of_attributes_is_read_up_to_a_limit() {
        // One tag as long as the longest page, of 250 000 distinct attributes.
        let many: String = (0..250_000).map(|n| format!(" a{n:x}")).collect();
        let named = r#"<meta name="vroom-relay" content="https://r.example""#;
        assert_eq!(
            meta(&format!("{named}{many}>")),
            relay("https://r.example"),
            "the first attributes are read"
        );
        // Attributes past the limit are skipped over, and the tag still ends where it
        // does: the next one is read.
        assert!(matches!(
            meta(&format!(
                "<meta{many} name=\"vroom-relay\" content=\"https://evil.example\">{named}>"
            )),
            Meta::Unclear(_)
        ));
        let filler: String = (0..MAX_ATTRIBUTES).map(|n| format!(" a{n}")).collect();
        assert_eq!(
            meta(&format!(
                "<meta{filler} name=\"vroom-relay\" content=\"https://r.example\">"
            )),
            Meta::Unclear("its page has a meta tag with more attributes than are read".into()),
            "an attribute past the limit is not read: the page is refused"
        );
        // Past the limit of tags, the page is refused.
        let page = format!("{}{named}>", "<a>".repeat(MAX_TAGS));
        assert!(matches!(meta(&page), Meta::Unclear(_)));
        let page = format!("{}{named}>", "<a>".repeat(MAX_TAGS - 1));
        assert_eq!(meta(&page), relay("https://r.example"));
    }

    #[test]
    fn what_the_page_names_is_shown_without_terminal_escapes() {
        let err = named_badly(
            "https://app.example/\x1b]0;x\x07",
            "https://r.example/\x1b[1A\x1b[2K\u{202e}",
            BadRelay::NotAnAddress,
        )
        .to_string();
        assert!(!err.chars().any(char::is_control), "{err:?}");
        assert!(!err.contains('\u{202e}'), "{err:?}");
        assert!(!several("https://a.example/\x1b[2J")
            .to_string()
            .contains('\x1b'));
    }

    #[test]
    fn a_relay_is_an_https_address_or_on_this_machine() {
        assert_eq!(
            checked_relay("https://relay.example").as_deref(),
            Ok("https://relay.example")
        );
        assert_eq!(
            checked_relay(" https://Relay.Example/chat/ ").as_deref(),
            Ok("https://relay.example/chat")
        );
        assert_eq!(
            checked_relay("http://127.0.0.1:8080/").as_deref(),
            Ok("http://127.0.0.1:8080")
        );
        assert_eq!(
            checked_relay("http://localhost:8080").as_deref(),
            Ok("http://localhost:8080")
        );
        assert_eq!(
            checked_relay("http://relay.example"),
            Err(BadRelay::Insecure)
        );
        assert_eq!(checked_relay("http://10.0.0.1"), Err(BadRelay::Insecure));
        for bad in [
            "relay.example",
            "/relay",
            "//relay.example",
            "wss://relay.example",
            "javascript:alert(1)",
            "https://relay.example/?a=b",
            "https://relay.example/#x",
            "https://user:pw@relay.example",
            "https://relay.example/a&amp;b",
            "https://",
            // A URL parser drops tabs and newlines; escapes would reach the terminal.
            "https://relay.example/\x1b[2K",
            "https://relay.\texample",
            "https://relay.exam\nple",
            "http://local\rhost:8080",
        ] {
            assert_eq!(checked_relay(bad), Err(BadRelay::NotAnAddress), "{bad}");
        }
    }

    #[test]
    fn an_app_is_given_by_its_origin() {
        assert_eq!(
            app_origin("https://App.Example/").unwrap(),
            "https://app.example"
        );
        assert_eq!(
            app_origin("http://127.0.0.1:9000").unwrap(),
            "http://127.0.0.1:9000"
        );
        assert!(matches!(
            app_origin("http://app.example"),
            Err(ChatError::Insecure(_))
        ));
        for bad in [
            "app.example",
            "https://app.example/r",
            "https://app.example/?x",
            "ftp://a",
        ] {
            assert!(matches!(app_origin(bad), Err(ChatError::Link(_))), "{bad}");
        }
    }

    #[test]
    fn pages_read_otherwise_by_a_browser_are_refused() {
        let unclear = |page: &str| matches!(fill(page), Meta::Unclear(_));
        // `--!>` ends a comment: the tag after it is in the document.
        assert_eq!(fill("<!-- x --!>{real}"), relay("https://r.example"));
        // Escaped script text, where `</script>` may not end the script.
        assert!(unclear(
            "<script><!--<script></script>{evil}--></script>{real}"
        ));
        // Character references in the tag's values.
        assert!(unclear(
            r#"<meta name="vroom&#45;relay" content="https://evil.example">{real}"#
        ));
        assert!(unclear(
            r#"<meta name="vroom-relay" content="https:&#47;/evil.example">"#
        ));
        // An HTML end tag inside SVG content, which may close the SVG.
        assert!(unclear("<div><svg></div>{real}"));
        assert!(unclear("<frameset>{real}"));
        // Not text/html in UTF-8.
        assert!(html_utf8(Some("text/html"), b"<p>").is_ok());
        assert!(html_utf8(Some("text/html; charset=UTF-8"), b"<p>").is_ok());
        assert!(html_utf8(Some("text/html;charset=\"utf-8\""), b"\xef\xbb\xbf<p>").is_ok());
        for (content_type, body) in [
            (Some("text/html; charset=utf-16le"), &b"<p>"[..]),
            (Some("text/html; charset=iso-2022-jp"), b"<p>"),
            (Some("text/plain"), b"<p>"),
            (None, b"<p>"),
            (Some("text/html"), b"\xff\xfe<\0p\0"),
        ] {
            let err = html_utf8(content_type, body).unwrap_err();
            assert!(err.starts_with("its page"), "{err}");
        }
    }
}
