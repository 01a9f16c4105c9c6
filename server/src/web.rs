//! Serving the web app (a directory of built static files) and the security headers
//! that every response of the relay carries.
//!
//! Files are served with their precompressed `.br`/`.gz` siblings when present and
//! compressed on the fly otherwise. `/` and `/r` (invite links are `/r#<secret>`; the
//! fragment never reaches the server) serve `index.html`. Hashed assets and everything
//! under `pkg/` are cached for a year as immutable; other files must be revalidated, so
//! a new release reaches users on their next visit.

use std::path::Path;
use std::time::Duration;

use axum::extract::Request;
use axum::http::{header, HeaderName, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

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

#[cfg(test)]
mod tests {
    use super::is_immutable;

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
