//! Invite links: `{origin}/r#<room secret>`, with the secret (32 bytes, base64url
//! without padding) only in the URL fragment, which browsers never send to a server.
//! In a room whose host renewed its invitation (PROTOCOL.md §11.4) the fragment holds
//! the room secret followed by the room's pass (64 bytes).
//!
//! ```
//! use vroom_shared::crypto::{OsRng, RoomSecret};
//! use vroom_shared::invite::Invite;
//!
//! let invite = Invite::new("http://127.0.0.1:8080", RoomSecret::generate(&mut OsRng));
//! let link = invite.link();
//! assert!(link.starts_with("http://127.0.0.1:8080/r#"));
//! let parsed = Invite::parse(&link).unwrap();
//! assert_eq!(parsed.ws_url(), "ws://127.0.0.1:8080/ws");
//! ```

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use zeroize::Zeroizing;

use crate::crypto::pass::secret_and_pass;
use crate::crypto::{RoomPass, RoomSecret};
pub use crate::origin::is_secure_origin;
use crate::wire::WS_PATH;

/// The path of the page an invite link opens.
pub const INVITE_PATH: &str = "/r";

/// A parsed invite: where the relay is and the room secret. No `Debug`: it holds the
/// secret.
#[derive(Clone)]
pub struct Invite {
    /// `http[s]://host[:port][/prefix]`, without a trailing slash.
    origin: String,
    /// The room secret from the fragment.
    secret: RoomSecret,
    /// The room's pass, in a room whose invitation was renewed.
    pass: Option<RoomPass>,
}

/// Why a string is not a usable invite link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InviteError {
    /// It is not an `http://` or `https://` link to a room page (`…/r#…`).
    NotALink,
    /// The link has no room secret after `#` (it may have been cut off when copied).
    NoSecret,
    /// The part after `#` is not a valid room secret (it may have been mistyped or cut).
    BadSecret,
    /// An `http://` link to a host other than this machine: the room secret would reach
    /// an app served without encryption, which anyone on the way could replace.
    Insecure,
    /// The link has a user name or password before its host (`user@host`): no vroom
    /// link has one, and it can disguise which machine the link leads to.
    UserInfo,
}

impl core::fmt::Display for InviteError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            InviteError::NotALink => {
                "This is not a vroom invite link. It should look like https://host/r#… ."
            }
            InviteError::NoSecret => {
                "This invite link has no room secret after '#'. Copy the whole link and try again."
            }
            InviteError::BadSecret => {
                "The room secret in this invite link is damaged. Copy the whole link again."
            }
            InviteError::Insecure => {
                "This invite link uses http:// to another machine, so the room would travel \
                 unprotected. Ask for an https:// link."
            }
            InviteError::UserInfo => {
                "This invite link has a name with '@' before its host, which no vroom link \
                 has: it may hide which machine it leads to. Ask for the link again."
            }
        })
    }
}

impl std::error::Error for InviteError {}

impl Invite {
    /// An invite to the room with `secret` on the relay at `origin`
    /// (`http[s]://host[:port]`, a trailing slash is ignored).
    pub fn new(origin: &str, secret: RoomSecret) -> Self {
        Self::with_pass(origin, secret, None)
    }

    /// An invite to a room whose invitation was renewed: its secret and its pass.
    pub fn with_pass(origin: &str, secret: RoomSecret, pass: Option<RoomPass>) -> Self {
        Invite {
            origin: origin.trim_end_matches('/').to_owned(),
            secret,
            pass,
        }
    }

    /// Reads an invite link.
    pub fn parse(link: &str) -> Result<Self, InviteError> {
        let origin = link_origin(link)?;
        let fragment = link.trim().split_once('#').map(|(_, fragment)| fragment);
        let fragment = fragment
            .filter(|f| !f.is_empty())
            .ok_or(InviteError::NoSecret)?;
        let bytes = Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(fragment)
                .map_err(|_| InviteError::BadSecret)?,
        );
        let (secret, pass) = secret_and_pass(&bytes).ok_or(InviteError::BadSecret)?;
        Ok(Invite::with_pass(&origin, secret, pass))
    }

    /// The link to share: `{origin}/r#<secret>`, or `{origin}/r#<secret ‖ pass>`.
    pub fn link(&self) -> String {
        let mut bytes = Zeroizing::new(Vec::with_capacity(64));
        bytes.extend_from_slice(self.secret.as_bytes());
        if let Some(pass) = &self.pass {
            bytes.extend_from_slice(pass.as_bytes());
        }
        format!(
            "{}{INVITE_PATH}#{}",
            self.origin,
            URL_SAFE_NO_PAD.encode(bytes.as_slice())
        )
    }

    /// The room's pass, in a room whose invitation was renewed.
    pub fn pass(&self) -> Option<&RoomPass> {
        self.pass.as_ref()
    }

    /// Where the relay is, e.g. `https://chat.example`.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The room secret.
    pub fn secret(&self) -> &RoomSecret {
        &self.secret
    }

    /// The relay's WebSocket URL for this invite's origin.
    pub fn ws_url(&self) -> String {
        ws_url(&self.origin)
    }
}

/// The origin (`http[s]://host[:port][/prefix]`) of the app an invite link opens,
/// checked as [`Invite::parse`] checks it; the fragment (the room secret) is not read
/// and may be missing.
pub fn link_origin(link: &str) -> Result<String, InviteError> {
    let link = link.trim();
    let page = link.split('#').next().unwrap_or_default();
    let rest = page
        .strip_prefix("https://")
        .or_else(|| page.strip_prefix("http://"))
        .ok_or(InviteError::NotALink)?;
    let host = rest.split('/').next().unwrap_or_default();
    let origin = page
        .trim_end_matches('/')
        .strip_suffix(INVITE_PATH)
        .ok_or(InviteError::NotALink)?;
    if host.is_empty()
        || host.contains('\\')
        || host.chars().any(char::is_control)
        || page.contains('?')
        || !rest.contains('/')
    {
        return Err(InviteError::NotALink);
    }
    if host.contains('@') {
        return Err(InviteError::UserInfo);
    }
    if !is_secure_origin(origin) {
        return Err(InviteError::Insecure);
    }
    Ok(origin.trim_end_matches('/').to_owned())
}

/// The relay's WebSocket URL (`ws[s]://host[:port][/prefix]/ws`) for an origin
/// (`http[s]://host[:port][/prefix]`). Other schemes are kept as they are.
pub fn ws_url(origin: &str) -> String {
    let origin = origin.trim_end_matches('/');
    let base = if let Some(rest) = origin.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = origin.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        origin.to_owned()
    };
    format!("{base}{WS_PATH}")
}
