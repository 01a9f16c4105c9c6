//! A static web host on loopback serving a copy of the built web app apart from any
//! relay, as a self-hoster deploys `web-dist/` on a static host: the page names its
//! relay in its `vroom-relay` meta tag, and the host sends the Content-Security-Policy
//! the README asks for (the relay's own, with the relay's WebSocket added to
//! `connect-src`). It knows no rewrite rules: `/r` reaches `r/index.html` through the
//! redirect to `/r/` that static servers make.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::http::{header, HeaderValue};
use axum::response::Response;
use axum::Router;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tower_http::services::ServeDir;

/// The meta tag `cargo xtask web` writes, left empty for the relay serving the page.
const RELAY_META: &str = r#"<meta name="vroom-relay" content="">"#;

/// A static host serving a copy of the web app, stopped when dropped.
pub struct StaticHost {
    /// Where it listens.
    addr: SocketAddr,
    /// The copy it serves.
    dir: tempfile::TempDir,
    /// The Content-Security-Policy it sends (none before [`StaticHost::use_relay`]).
    csp: Arc<Mutex<Option<HeaderValue>>>,
    /// The server; aborted on drop.
    task: JoinHandle<()>,
    /// While true, requests for the room module's files (`/room-…`) wait.
    hold: tokio::sync::watch::Sender<bool>,
    /// How many requests for the room module's files were held since the last hold.
    held: Arc<tokio::sync::watch::Sender<usize>>,
}

impl StaticHost {
    /// Serves a copy of the app in `web_dist` (its files as built, without the
    /// compressed siblings a static host does not use) on `127.0.0.1:0`. Its pages name
    /// no relay until [`StaticHost::use_relay`]: a relay needs the host's origin for
    /// `--app-origin` before it starts.
    pub async fn start(web_dist: &Path) -> StaticHost {
        let dir = tempfile::tempdir().expect("a directory for the static site");
        copy_site(web_dist, dir.path());
        let csp = Arc::new(Mutex::new(None::<HeaderValue>));
        let (hold, holding) = tokio::sync::watch::channel(false);
        let held = Arc::new(tokio::sync::watch::Sender::new(0usize));
        let count = held.clone();
        let app = Router::new()
            .fallback_service(ServeDir::new(dir.path()))
            .layer(axum::middleware::from_fn(
                move |request: axum::extract::Request, next: axum::middleware::Next| {
                    let mut holding = holding.clone();
                    let count = count.clone();
                    async move {
                        if request.uri().path().starts_with("/room-") && *holding.borrow() {
                            count.send_modify(|n| *n += 1);
                            // Until released; a closed channel releases too.
                            let _ = holding.wait_for(|hold| !hold).await;
                        }
                        next.run(request).await
                    }
                },
            ))
            .layer(axum::middleware::map_response({
                let csp = csp.clone();
                move |mut response: Response| {
                    let policy = csp.lock().expect("csp").clone();
                    async move {
                        if let Some(policy) = policy {
                            response
                                .headers_mut()
                                .insert(header::CONTENT_SECURITY_POLICY, policy);
                        }
                        response
                    }
                }
            }));
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port for the static host");
        let addr = listener.local_addr().expect("the static host's address");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        StaticHost {
            addr,
            dir,
            csp,
            task,
            hold,
            held,
        }
    }

    /// Deploys the pages set to talk to the relay at `relay` (`http://127.0.0.1:PORT`),
    /// as the README tells a self-hoster to: the relay in the `vroom-relay` meta tag,
    /// and its WebSocket in the policy's `connect-src`.
    pub fn use_relay(&self, relay: &str) {
        for page in ["index.html", "r/index.html"] {
            let path = self.dir.path().join(page);
            let html = std::fs::read_to_string(&path).expect("read the page");
            assert!(
                html.contains(RELAY_META),
                "{page} has no empty vroom-relay meta tag to fill in"
            );
            let configured = RELAY_META.replace(r#"content="""#, &format!(r#"content="{relay}""#));
            std::fs::write(&path, html.replace(RELAY_META, &configured)).expect("write the page");
        }
        let ws = vroom_shared::invite::ws_url(relay);
        let ws_origin = ws.trim_end_matches(vroom_shared::wire::WS_PATH);
        let policy = vroom_relay::CONTENT_SECURITY_POLICY.replace(
            "connect-src 'self'",
            &format!("connect-src 'self' {ws_origin}"),
        );
        *self.csp.lock().expect("csp") =
            Some(HeaderValue::from_str(&policy).expect("a CSP is a header value"));
    }

    /// `http://127.0.0.1:PORT`, where browsers open the app.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Holds the room module's files (`/room-…`) back until
    /// [`StaticHost::release_room_module`], as a slow network would.
    pub fn hold_room_module(&self) {
        self.held.send_replace(0);
        self.hold.send_replace(true);
    }

    /// Returns once a page has asked for the room module's files while they are held:
    /// the page is then surely without its room.
    pub async fn room_module_held(&self) {
        let _ = self.held.subscribe().wait_for(|n| *n > 0).await;
    }

    /// Serves the room module's files again, the held requests first.
    pub fn release_room_module(&self) {
        self.hold.send_replace(false);
    }

    /// The directory of files it serves (a test may change them).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for StaticHost {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Copies the site in `from` to `to`, leaving out the `.br` and `.gz` siblings.
fn copy_site(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("list the built web app") {
        let entry = entry.expect("a directory entry");
        let (source, dest) = (entry.path(), to.join(entry.file_name()));
        if source.is_dir() {
            std::fs::create_dir_all(&dest).expect("make a directory of the site");
            copy_site(&source, &dest);
        } else if !source
            .extension()
            .is_some_and(|ext| ext == "br" || ext == "gz")
        {
            std::fs::copy(&source, &dest).expect("copy a file of the site");
        }
    }
}
