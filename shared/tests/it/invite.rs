//! Invite links: the secret only in the fragment, clear errors for bad links.

use vroom_shared::crypto::{RoomPass, RoomSecret};
use vroom_shared::invite::{self, ws_url, Invite, InviteError};

#[test]
fn link_round_trips_with_the_secret_only_in_the_fragment() {
    let secret = RoomSecret::from_bytes([7; 32]);
    let invite = Invite::new("http://127.0.0.1:8080/", secret.clone());
    let link = invite.link();
    let (page, fragment) = link.split_once('#').unwrap();
    assert_eq!(page, "http://127.0.0.1:8080/r");
    assert_eq!(fragment.len(), 43, "32 bytes in base64url without padding");
    let parsed = Invite::parse(&format!("  {link}\n")).unwrap();
    assert!(parsed.secret() == &secret);
    assert_eq!(parsed.origin(), "http://127.0.0.1:8080");
    assert_eq!(parsed.ws_url(), "ws://127.0.0.1:8080/ws");
    assert_eq!(
        ws_url("https://chat.example/sub"),
        "wss://chat.example/sub/ws"
    );
}

#[test]
fn bad_links_get_clear_errors() {
    let good = Invite::new("https://chat.example", RoomSecret::from_bytes([1; 32])).link();
    let fragment = good.split_once('#').unwrap().1;
    assert_eq!(Invite::parse("hello").err(), Some(InviteError::NotALink));
    assert_eq!(
        Invite::parse(&format!("ftp://x/r#{fragment}")).err(),
        Some(InviteError::NotALink)
    );
    assert_eq!(
        Invite::parse(&format!("https://x/room#{fragment}")).err(),
        Some(InviteError::NotALink)
    );
    assert_eq!(
        Invite::parse(&format!("https://x/r?s={fragment}")).err(),
        Some(InviteError::NotALink)
    );
    assert_eq!(
        Invite::parse("https://chat.example/r").err(),
        Some(InviteError::NoSecret)
    );
    assert_eq!(
        Invite::parse("https://chat.example/r#").err(),
        Some(InviteError::NoSecret)
    );
    assert_eq!(
        Invite::parse("https://chat.example/r#abc").err(),
        Some(InviteError::BadSecret)
    );
    assert_eq!(
        Invite::parse(&format!("https://chat.example/r#{}", &fragment[1..])).err(),
        Some(InviteError::BadSecret)
    );
    assert!(InviteError::NoSecret
        .to_string()
        .contains("Copy the whole link"));
}

#[test]
fn plain_http_is_refused_except_on_this_machine() {
    let secret = RoomSecret::from_bytes([3; 32]);
    for origin in [
        "http://127.0.0.1:8080",
        "http://127.0.0.7",
        "http://localhost:3000/sub",
        "http://[::1]:8080",
        "https://chat.example",
    ] {
        let link = Invite::new(origin, secret.clone()).link();
        assert!(Invite::parse(&link).is_ok(), "{origin}");
    }
    for origin in [
        "http://chat.example",
        "http://192.168.1.5:8080",
        "http://[2001:db8::1]",
        "http://localhost.evil.example",
    ] {
        let link = Invite::new(origin, secret.clone()).link();
        assert_eq!(
            Invite::parse(&link).err(),
            Some(InviteError::Insecure),
            "{origin}"
        );
    }
    assert!(InviteError::Insecure.to_string().contains("https://"));
}

#[test]
fn a_name_before_the_host_is_refused() {
    let secret = RoomSecret::from_bytes([3; 32]);
    let fragment = Invite::new("https://x", secret).link();
    let fragment = fragment.split_once('#').unwrap().1;
    // A URL parser reads `evil.example` as the host of all of these.
    for page in [
        "http://localhost:x@evil.example/r",
        "http://127.0.0.1@evil.example/r",
        "http://[::1]:1@evil.example/r",
        "https://chat.example@evil.example/r",
        "http://localhost@evil.example:8080/r",
    ] {
        assert_eq!(
            Invite::parse(&format!("{page}#{fragment}")).err(),
            Some(InviteError::UserInfo),
            "{page}"
        );
    }
    assert!(InviteError::UserInfo.to_string().contains('@'));
    assert_eq!(
        invite::link_origin("http://localhost:x@evil.example/r"),
        Err(InviteError::UserInfo)
    );
    // The origin alone needs no fragment.
    assert_eq!(
        invite::link_origin("https://app.example/r").as_deref(),
        Ok("https://app.example")
    );
    assert_eq!(
        invite::link_origin("http://127.0.0.1:8080/sub/r#x").as_deref(),
        Ok("http://127.0.0.1:8080/sub")
    );
    for page in [
        "http://localhost\\@evil.example/r",
        "http://localhost\\evil.example/r",
    ] {
        assert!(
            Invite::parse(&format!("{page}#{fragment}")).is_err(),
            "{page}"
        );
    }
}

#[test]
fn only_a_real_loopback_host_counts_as_this_machine() {
    for origin in [
        "http://localhost",
        "http://LOCALHOST:8080",
        "http://127.0.0.1:8080/sub",
        "http://[::1]",
        "http://[::1]:8080",
        "https://chat.example",
    ] {
        assert!(invite::is_secure_origin(origin), "{origin}");
    }
    for origin in [
        "http://localhost:x@evil.example",
        "http://localhost@evil.example",
        "http://[::1]@evil.example",
        "https://a@chat.example",
        "http://localhost\\@evil.example",
        "http://[::1]evil.example",
        "http://[::1].evil.example:80",
        "http://[::1]:80x",
        "http://localhost:80evil",
        "http://local host",
        "http://localhost\t.evil.example",
        "http://[::1",
        "http://",
        "ftp://localhost",
    ] {
        assert!(!invite::is_secure_origin(origin), "{origin}");
    }
}

#[test]
fn a_renewed_link_carries_the_pass_after_the_secret() {
    let secret = RoomSecret::from_bytes([7; 32]);
    let pass = RoomPass::from_bytes([9; 32]);
    let link = Invite::with_pass("https://chat.example", secret.clone(), Some(pass.clone())).link();
    let fragment = link.split_once('#').unwrap().1;
    assert_eq!(fragment.len(), 86, "64 bytes in base64url without padding");
    let parsed = Invite::parse(&link).unwrap();
    assert!(parsed.secret() == &secret);
    assert!(parsed.pass() == Some(&pass));
    // A link without a pass has none; neither 32 nor 64 bytes is damaged.
    let plain = Invite::parse(&Invite::new("https://chat.example", secret).link()).unwrap();
    assert!(plain.pass().is_none());
    assert_eq!(
        Invite::parse(&format!("https://chat.example/r#{}", &fragment[..64])).err(),
        Some(InviteError::BadSecret)
    );
}
