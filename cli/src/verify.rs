//! `vroom verify-app`: checks that the web app a relay (or a static host) serves is a
//! known build, byte for byte.
//!
//! The web app holds every key of a room, and whoever serves it could serve another
//! one (PROTOCOL.md §1). This command fetches every file of the app from the server the
//! way a browser would (each in every encoding a browser may ask for: plain, gzip and
//! brotli, since a server could change one variant only; `/` and `/r`, which serve the
//! page) and compares it with a reproducible build of the published sources
//! (`--web-dist`, what `cargo xtask web` writes) or with the SHA-256 list in that
//! build's `BUILD` manifest (`--manifest`).
//!
//! The page's `vroom-relay` meta tag is the one thing a deployment sets (which relay a
//! page hosted apart from it talks to): it is set aside before comparing, and named.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::{header, Request, StatusCode};
use hyper_util::rt::TokioIo;
use sha2::{Digest, Sha256};
use tokio::net::TcpStream;
use url::Url;

/// The manifest's name in a build's directory.
const MANIFEST: &str = "BUILD";

/// The page, which `/` and `/r` (invite links) serve too.
const PAGE: &str = "index.html";

/// The meta tag a deployment may fill in, as `cargo xtask web` writes it.
const RELAY_META: &[u8] = b"<meta name=\"vroom-relay\" content=\"";

/// Encodings a browser may ask for, as `Accept-Encoding` values.
const ENCODINGS: [&str; 3] = ["identity", "gzip", "br"];

/// Redirects followed at most for one file (a static host sends `/r` on to `/r/`).
const MAX_REDIRECTS: usize = 3;

/// `vroom verify-app`'s flags.
#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("build").required(true).args(["web_dist", "manifest"])))]
pub(crate) struct VerifyArgs {
    /// The server whose web app to check: a relay, or the static host of the app,
    /// e.g. https://vroom.example.
    #[arg(long, env = "VROOM_SERVER")]
    server: String,
    /// A local build to compare with: the web-dist directory `cargo xtask web` made
    /// from the published sources.
    #[arg(long, value_name = "DIR")]
    web_dist: Option<std::path::PathBuf>,
    /// Or the BUILD manifest (SHA-256 of every file) published with a release.
    #[arg(long, value_name = "FILE")]
    manifest: Option<std::path::PathBuf>,
}

/// Runs the check: exit 0 when every file matches, 1 when any differs, 2 when the
/// check could not be made.
pub(crate) async fn command(args: VerifyArgs) -> std::process::ExitCode {
    let expected = match (&args.web_dist, &args.manifest) {
        (Some(dir), _) => expected_from_dir(dir),
        (None, Some(manifest)) => expected_from_manifest(manifest),
        (None, None) => unreachable!("clap requires one of them"),
    };
    let outcome = match expected {
        Ok(expected) => run(&args.server, &expected).await,
        Err(err) => Err(err),
    };
    match outcome {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::from(1),
        Err(err) => {
            eprintln!("vroom: {err}");
            std::process::ExitCode::from(2)
        }
    }
}

/// Why the check could not be made (distinct from "the files differ").
#[derive(Debug, thiserror::Error)]
pub(crate) enum VerifyError {
    #[error("`{0}` is not a server address: give one like https://vroom.example")]
    BadServer(String),
    #[error("could not read the local build: {0}")]
    Local(String),
    #[error("could not fetch {path} from the server: {why}")]
    Fetch { path: String, why: String },
}

/// The files of a known build: path (relative, `/`-separated) → SHA-256.
pub(crate) type Expected = BTreeMap<String, [u8; 32]>;

/// The files of the build in `dir` (what `cargo xtask web` writes): every file but the
/// compressed siblings and the manifest, hashed here.
pub(crate) fn expected_from_dir(dir: &Path) -> Result<Expected, VerifyError> {
    let local =
        |e: std::io::Error, path: &Path| VerifyError::Local(format!("{}: {e}", path.display()));
    let mut expected = Expected::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).map_err(|e| local(e, &current))? {
            let path = entry.map_err(|e| local(e, &current))?.path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let name = path
                .strip_prefix(dir)
                .unwrap_or(&path)
                .iter()
                .map(|p| p.to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            if name.ends_with(".br") || name.ends_with(".gz") || name == MANIFEST {
                continue;
            }
            let bytes = std::fs::read(&path).map_err(|e| local(e, &path))?;
            expected.insert(name, digest(&page_without_relay(&bytes).0));
        }
    }
    if !expected.contains_key(PAGE) {
        return Err(VerifyError::Local(format!(
            "{} has no {PAGE}: is it a web-dist directory (cargo xtask web)?",
            dir.display()
        )));
    }
    Ok(expected)
}

/// The files listed in a `BUILD` manifest (`<sha256 hex>  <path>` lines; `#` lines are
/// comments).
pub(crate) fn expected_from_manifest(path: &Path) -> Result<Expected, VerifyError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| VerifyError::Local(format!("{}: {e}", path.display())))?;
    let mut expected = Expected::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = || {
            VerifyError::Local(format!(
                "{} line {}: expected `<sha256 hex>  <path>`",
                path.display(),
                n + 1
            ))
        };
        let (hash, name) = line.split_once("  ").ok_or_else(bad)?;
        let mut sha = [0u8; 32];
        hex::decode_to_slice(hash, &mut sha).map_err(|_| bad())?;
        if name.is_empty() || name.starts_with('/') || name.split('/').any(|p| p == "..") {
            return Err(bad());
        }
        expected.insert(name.to_owned(), sha);
    }
    if !expected.contains_key(PAGE) {
        return Err(VerifyError::Local(format!(
            "{} lists no {PAGE}: is it a web app's BUILD manifest?",
            path.display()
        )));
    }
    Ok(expected)
}

/// Fetches every file of `expected` from `server` and prints, file by file, whether it
/// matches. `Ok(true)` when all do.
pub(crate) async fn run(server: &str, expected: &Expected) -> Result<bool, VerifyError> {
    let base = base_url(server)?;
    let mut client = Client::new(base.clone());
    println!(
        "checking the web app at {} against a build of {} files",
        base.as_str().trim_end_matches('/'),
        expected.len()
    );
    // The page is also what `/` and `/r` (invite links) serve.
    let mut checks: Vec<(String, &str)> =
        expected.keys().map(|f| (f.clone(), f.as_str())).collect();
    checks.push((String::new(), PAGE));
    checks.push(("r".to_owned(), PAGE));
    let mut differ = 0;
    let mut relays = Vec::new();
    for (path, file) in &checks {
        let mut problems = Vec::new();
        for encoding in ENCODINGS {
            match client.fetch(path, encoding).await? {
                Fetched::Missing(status) => problems.push(format!("{encoding}: HTTP {status}")),
                Fetched::Body(body) => {
                    let (body, relay) = page_without_relay(&body);
                    if let Some(relay) = relay.filter(|r| !r.is_empty()) {
                        if !relays.contains(&relay) {
                            relays.push(relay);
                        }
                    }
                    if digest(&body) != expected[*file] {
                        problems.push(format!("{encoding}: different bytes"));
                    }
                }
                Fetched::BadEncoding(what) => problems.push(format!("{encoding}: {what}")),
            }
        }
        let shown = if path.as_str() == *file {
            file.to_string()
        } else {
            format!("/{path} (serves {file})")
        };
        if problems.is_empty() {
            println!("  match    {shown}");
        } else {
            differ += 1;
            println!("  DIFFERS  {shown}  [{}]", problems.join("; "));
        }
    }
    for relay in &relays {
        println!("note: the page is set to talk to the relay at {relay}");
    }
    if differ == 0 {
        println!(
            "all {} checked: the server serves exactly this build",
            checks.len()
        );
        Ok(true)
    } else {
        println!(
            "{differ} of {} differ: the server does NOT serve this build; do not trust \
             the app it serves with your rooms",
            checks.len()
        );
        Ok(false)
    }
}

/// The page with the content of its `vroom-relay` meta tag taken out, and that content;
/// anything else unchanged. Only one well-formed tag is taken out: a page with two, or
/// with markup inside the value, stays as it is (and so differs).
fn page_without_relay(body: &[u8]) -> (Vec<u8>, Option<String>) {
    let starts: Vec<usize> = body
        .windows(RELAY_META.len())
        .enumerate()
        .filter(|(_, w)| *w == RELAY_META)
        .map(|(i, _)| i + RELAY_META.len())
        .collect();
    let [start] = starts[..] else {
        return (body.to_vec(), None);
    };
    let Some(len) = body[start..].iter().position(|&b| b == b'"') else {
        return (body.to_vec(), None);
    };
    let value = &body[start..start + len];
    if value
        .iter()
        .any(|b| matches!(b, b'<' | b'>' | b'\n' | b'\r'))
    {
        return (body.to_vec(), None);
    }
    let mut page = body[..start].to_vec();
    page.extend_from_slice(&body[start + len..]);
    (page, Some(String::from_utf8_lossy(value).into_owned()))
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// `server` as a base URL ending in `/`, so file paths join under any prefix.
fn base_url(server: &str) -> Result<Url, VerifyError> {
    let bad = || VerifyError::BadServer(server.to_owned());
    let mut url = Url::parse(server.trim()).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https")
        || url.host_str().is_none()
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(bad());
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// What the server answered for one file in one encoding.
enum Fetched {
    /// The file's bytes, decoded.
    Body(Vec<u8>),
    /// Not found, or another status than 200.
    Missing(StatusCode),
    /// The body's encoding is unknown or does not decode.
    BadEncoding(String),
}

/// One HTTP/1.1 connection to the server, opened again when it closes.
struct Client {
    base: Url,
    sender: Option<SendRequest<Empty<Bytes>>>,
}

impl Client {
    fn new(base: Url) -> Self {
        Client { base, sender: None }
    }

    /// `GET base + path` asking for `encoding`, following redirects within the same
    /// origin; the body decoded.
    async fn fetch(&mut self, path: &str, encoding: &str) -> Result<Fetched, VerifyError> {
        let fail = |why: String| VerifyError::Fetch {
            path: format!("/{path}"),
            why,
        };
        let mut url = self.base.join(path).map_err(|e| fail(e.to_string()))?;
        for _ in 0..=MAX_REDIRECTS {
            let response = self.get(&url, encoding).await.map_err(fail)?;
            let status = response.status();
            if status.is_redirection() {
                let next = response
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .and_then(|l| url.join(l).ok())
                    .filter(|next| next.origin() == url.origin())
                    .ok_or_else(|| fail(format!("HTTP {status} to another origin")))?;
                url = next;
                continue;
            }
            let content_encoding = response
                .headers()
                .get(header::CONTENT_ENCODING)
                .and_then(|e| e.to_str().ok())
                .unwrap_or("identity")
                .to_ascii_lowercase();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| fail(e.to_string()))?
                .to_bytes();
            if status != StatusCode::OK {
                return Ok(Fetched::Missing(status));
            }
            return Ok(match decode(&content_encoding, &body) {
                Ok(body) => Fetched::Body(body),
                Err(why) => Fetched::BadEncoding(why),
            });
        }
        Err(fail("too many redirects".to_owned()))
    }

    async fn get(
        &mut self,
        url: &Url,
        encoding: &str,
    ) -> Result<hyper::Response<hyper::body::Incoming>, String> {
        let mut target = url.path().to_owned();
        if let Some(query) = url.query() {
            target = format!("{target}?{query}");
        }
        let host = match url.port() {
            Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_owned(),
        };
        let request = || {
            Request::get(target.as_str())
                .header(header::HOST, host.as_str())
                .header(header::ACCEPT_ENCODING, encoding)
                .header(
                    header::USER_AGENT,
                    concat!("vroom/", env!("CARGO_PKG_VERSION")),
                )
                .body(Empty::new())
                .map_err(|e| e.to_string())
        };
        // A closed keep-alive connection is opened again, once.
        for attempt in 0..2 {
            let ready = match &mut self.sender {
                Some(sender) => sender.ready().await.is_ok(),
                None => false,
            };
            if !ready {
                self.sender = Some(connect(&self.base).await?);
            }
            let sender = self.sender.as_mut().expect("connected above");
            match sender.send_request(request()?).await {
                Ok(response) => return Ok(response),
                Err(e) if attempt == 0 && e.is_canceled() => self.sender = None,
                Err(e) => return Err(e.to_string()),
            }
        }
        Err("the server closed the connection".to_owned())
    }
}

/// Opens an HTTP/1.1 connection to `base`'s host, with TLS (the web's root
/// certificates) for `https`.
async fn connect(base: &Url) -> Result<SendRequest<Empty<Bytes>>, String> {
    let host = base.host_str().unwrap_or_default();
    let port = base.port_or_known_default().unwrap_or(80);
    let tcp = TcpStream::connect((host.trim_matches(['[', ']']), port))
        .await
        .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
    if base.scheme() == "https" {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let mut config = rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let name =
            rustls::pki_types::ServerName::try_from(host.trim_matches(['[', ']']).to_owned())
                .map_err(|e| format!("{host} is not a server name: {e}"))?;
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS with {host} failed: {e}"))?;
        handshake(TokioIo::new(tls)).await
    } else {
        handshake(TokioIo::new(tcp)).await
    }
}

async fn handshake<I>(io: I) -> Result<SendRequest<Empty<Bytes>>, String>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// The body as the server sent it, decoded from `encoding`.
fn decode(encoding: &str, body: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    match encoding {
        "identity" => out.extend_from_slice(body),
        "gzip" => {
            flate2::read::GzDecoder::new(body)
                .read_to_end(&mut out)
                .map_err(|e| format!("gzip does not decode: {e}"))?;
        }
        "br" => {
            brotli::Decompressor::new(body, 4096)
                .read_to_end(&mut out)
                .map_err(|e| format!("brotli does not decode: {e}"))?;
        }
        other => return Err(format!("unknown content encoding `{other}`")),
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_relay_setting_is_set_aside() {
        let built = b"<head><meta name=\"vroom-relay\" content=\"\"><title>v</title>";
        let deployed =
            b"<head><meta name=\"vroom-relay\" content=\"https://r.example\"><title>v</title>";
        let (a, none) = page_without_relay(built);
        let (b, relay) = page_without_relay(deployed);
        assert_eq!(a, b);
        assert_eq!(none.as_deref(), Some(""));
        assert_eq!(relay.as_deref(), Some("https://r.example"));
        // Markup smuggled into the value, or a second tag, is not set aside.
        let smuggled = b"<meta name=\"vroom-relay\" content=\"x\n<script src=e.js></script>\">";
        assert_eq!(page_without_relay(smuggled).0, smuggled.to_vec());
        let twice = [&built[..], &built[..]].concat();
        assert_eq!(page_without_relay(&twice).0, twice);
    }

    #[test]
    fn server_addresses_become_base_urls() {
        assert_eq!(
            base_url("https://vroom.example").unwrap().as_str(),
            "https://vroom.example/"
        );
        assert_eq!(
            base_url("http://127.0.0.1:8080/chat").unwrap().as_str(),
            "http://127.0.0.1:8080/chat/"
        );
        assert!(base_url("vroom.example").is_err());
        assert!(base_url("ftp://vroom.example").is_err());
        assert!(base_url("https://vroom.example/?x=1").is_err());
    }

    #[test]
    fn every_encoding_decodes_to_the_same_bytes() {
        use std::io::Write;
        let data = b"the same bytes, whatever the encoding".repeat(10);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&data).unwrap();
        let gz = gz.finish().unwrap();
        let mut br = Vec::new();
        {
            let mut w = brotli::CompressorWriter::new(&mut br, 4096, 11, 22);
            w.write_all(&data).unwrap();
        }
        assert_eq!(decode("identity", &data).unwrap(), data);
        assert_eq!(decode("gzip", &gz).unwrap(), data);
        assert_eq!(decode("br", &br).unwrap(), data);
        assert!(decode("br", b"not brotli").is_err());
        assert!(decode("zstd", &data).is_err());
    }
}
