//! Which origins may carry a room. Needs no key: the web app's interface checks the
//! page's and the relay's origin before anything else, and invite links
//! (`invite`, which re-exports [`is_secure_origin`]) refuse the rest.

/// Whether an origin may carry a room: `https://`, or `http://` to this machine only
/// (`localhost`, `127.0.0.0/8`, `[::1]`), where nothing travels over a network. An
/// origin with a user name or password (`user@host`), a backslash or a control
/// character in its authority never may: URL parsers disagree on which host it names.
pub fn is_secure_origin(origin: &str) -> bool {
    let (secure, rest) = match origin.strip_prefix("https://") {
        Some(rest) => (true, rest),
        None => match origin.strip_prefix("http://") {
            Some(rest) => (false, rest),
            None => return false,
        },
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty()
        || authority
            .chars()
            .any(|c| c == '@' || c == '\\' || c.is_control() || c.is_whitespace())
    {
        return false;
    }
    if secure {
        return true;
    }
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((host, after)) => match after {
                "" => (host, None),
                after => match after.strip_prefix(':') {
                    Some(port) => (host, Some(port)),
                    None => return false,
                },
            },
            None => return false,
        },
        None => match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    if port.is_some_and(|p| !p.bytes().all(|b| b.is_ascii_digit())) {
        return false;
    }
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}
