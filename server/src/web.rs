//! Serving the web app (a directory of built static files) and the security headers
//! that every response of the relay carries.
//!
//! Files are served with their precompressed `.br`/`.gz` siblings when present and
//! compressed on the fly otherwise. `/` and `/r` (invite links are `/r#<secret>`; the
//! fragment never reaches the server) serve `index.html`. Hashed assets and everything
//! under `pkg/` are cached for a year as immutable; other files must be revalidated, so
//! a new release reaches users on their next visit.
//!
//! The web app may also be hosted elsewhere (a static host) and talk to this relay:
//! [`origin_allowed`] is the relay's `Origin` policy for WebSocket upgrades, which admits
//! its own pages and those of the origins given with `--app-origin`.

use std::path::Path;
use std::time::Duration;

use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::config::AppOrigin;

/// The Content-Security-Policy of every response: scripts and WebAssembly only from
/// this origin, no inline script, nothing embeds us, nothing leaves but to this origin.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; \
style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; \
font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Cache policy for files that never change under their name.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Cache policy for everything else: keep, but ask the server before each use.
const REVALIDATE: &str = "no-cache";

/// Adds the web app under `/` (when a directory is given) and the security headers to
/// every route.
pub(crate) fn with_web_app(api: Router, web_dir: Option<&Path>, hsts: Option<Duration>) -> Router {
    let router = match web_dir {
        Some(dir) => {
            let index = dir.join("index.html");
            let files = ServeDir::new(dir)
                .precompressed_br()
                .precompressed_gzip()
                .append_index_html_on_directories(true);
            let statics = Router::new()
                .route_service("/r", ServeFile::new(&index))
                .route_service("/r/", ServeFile::new(&index))
                .fallback_service(files)
                .layer(
                    ServiceBuilder::new()
                        .layer(middleware::from_fn(cache_headers))
                        .layer(CompressionLayer::new()),
                );
            api.merge(statics)
        }
        None => api,
    };
    with_security_headers(router, hsts)
}

/// The security headers of every response but the Content-Security-Policy, as
/// `(name, value)`; also written by hand into the one answer given before a request is
/// read (see `server.rs`).
pub(crate) const SECURITY_HEADERS: [(&str, &str); 6] = [
    ("referrer-policy", "no-referrer"),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
    (
        "permissions-policy",
        "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    ),
];

/// Adds the security headers to every response of `router` (they replace any a handler
/// set), and `Strict-Transport-Security` with `hsts` as its max-age when given.
fn with_security_headers(router: Router, hsts: Option<Duration>) -> Router {
    let mut router = router.layer(SetResponseHeaderLayer::overriding(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    ));
    for (name, value) in SECURITY_HEADERS {
        router = router.layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        ));
    }
    match hsts {
        Some(max_age) => {
            let value = format!("max-age={}", max_age.as_secs());
            let value = HeaderValue::from_str(&value).expect("digits are a header value");
            router.layer(SetResponseHeaderLayer::overriding(
                header::STRICT_TRANSPORT_SECURITY,
                value,
            ))
        }
        None => router,
    }
}

async fn cache_headers(req: Request, next: Next) -> Response {
    let immutable = is_immutable(req.uri().path());
    let mut res = next.run(req).await;
    if res.status().is_success() || res.status() == axum::http::StatusCode::NOT_MODIFIED {
        let policy = if immutable { IMMUTABLE } else { REVALIDATE };
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    res
}

/// Whether a path names a file whose content never changes under that name: anything
/// under `/pkg/`, or a name carrying a content hash (`app-3f9a1c2b.js`, `app.3f9a1c2b.css`).
fn is_immutable(path: &str) -> bool {
    if path.starts_with("/pkg/") {
        return true;
    }
    let name = path.rsplit('/').next().unwrap_or("");
    let stem = name.split_once('.').map_or(name, |(stem, _)| stem);
    let hashed = |part: &str| {
        part.len() >= 8
            && part.chars().all(|c| c.is_ascii_hexdigit())
            && part.chars().any(|c| c.is_ascii_digit())
    };
    stem.rsplit('-')
        .next()
        .is_some_and(|p| p != stem && hashed(p))
        || name.split('.').skip(1).any(hashed)
}

/// What a browser page from an origin this relay does not serve is told.
pub(crate) const FOREIGN_ORIGIN: &str = "This relay does not serve the page you came from. \
Open the app from the relay's own address, or ask its operator to allow that page's origin \
(--app-origin).";

/// Whether a WebSocket upgrade with these request headers may go ahead.
///
/// Browsers always send `Origin` on a WebSocket request, and a page cannot change it.
/// Without one, the client is not a browser page (the native client, a test): the policy
/// is not about those, which can send any header they like. A page is admitted when it
/// comes from this relay itself (the `Origin`'s host and port are the request's `Host`,
/// as for the app the relay serves, whatever scheme a TLS proxy in front ended) or from
/// one of `allowed`. So the policy says which copies of the web app the operator lets
/// use the relay; it does not make the relay trust a page, nor a page the relay.
pub(crate) fn origin_allowed(headers: &HeaderMap, allowed: &[AppOrigin]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Some(origin) = origin
        .to_str()
        .ok()
        .and_then(|o| o.parse::<AppOrigin>().ok())
    else {
        // `null` (a sandboxed or file: page) and anything unreadable.
        return false;
    };
    if allowed.contains(&origin) {
        return true;
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let scheme = origin.as_str().split("://").next().unwrap_or_default();
    // Read like an origin, so a `Host` naming the default port that `Origin` leaves
    // out still matches.
    format!("{scheme}://{host}")
        .parse::<AppOrigin>()
        .is_ok_and(|own| own == origin)
}

#[cfg(test)]
mod tests {
    use super::is_immutable;

    #[test]
    fn pages_from_the_relay_itself_and_listed_origins_may_connect() {
        use super::{origin_allowed, AppOrigin, HeaderMap};
        let headers = |origin: Option<&str>, host: &str| {
            let mut h = HeaderMap::new();
            h.insert("host", host.parse().unwrap());
            if let Some(origin) = origin {
                h.insert("origin", origin.parse().unwrap());
            }
            h
        };
        let listed: Vec<AppOrigin> = vec!["https://app.example".parse().unwrap()];
        let allowed = |origin, host| origin_allowed(&headers(origin, host), &listed);
        // The native client sends no Origin.
        assert!(allowed(None, "relay.example"));
        // The relay's own page, directly or behind a TLS proxy, with or without the port.
        assert!(allowed(Some("http://127.0.0.1:8080"), "127.0.0.1:8080"));
        assert!(allowed(Some("https://relay.example"), "relay.example"));
        assert!(allowed(Some("https://relay.example"), "relay.example:443"));
        assert!(allowed(Some("https://app.example"), "relay.example"));
        assert!(allowed(Some("https://APP.example:443"), "relay.example"));
        // Everybody else.
        assert!(!allowed(Some("https://evil.example"), "relay.example"));
        assert!(!allowed(Some("http://127.0.0.1:8081"), "127.0.0.1:8080"));
        assert!(!allowed(Some("https://app.example.evil"), "relay.example"));
        assert!(!allowed(Some("null"), "relay.example"));
        assert!(!allowed(Some("https://relay.example"), ""));
    }

    #[test]
    fn hashed_and_pkg_assets_are_immutable_others_revalidate() {
        assert!(is_immutable("/pkg/client_bg.wasm"));
        assert!(is_immutable("/app-3f9a1c2b.js"));
        assert!(is_immutable("/assets/app.3f9a1c2b.css"));
        assert!(!is_immutable("/index.html"));
        assert!(!is_immutable("/"));
        assert!(!is_immutable("/r"));
        assert!(!is_immutable("/style.css"));
        assert!(
            !is_immutable("/manifest-deadbeef.json"),
            "a hash has digits"
        );
    }
}
