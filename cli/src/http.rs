//! A small HTTP/1.1 client (TLS with the web's root certificates for `https`, as for
//! the WebSocket) for the few pages the client reads: the web app's files
//! (`verify-app`) and the page an invite link opens (which relay it names). Redirects
//! are followed within one origin only (or not at all, for `verify-app`), every body
//! is bounded, and so is the time each request takes.
//!
//! Each request carries the headers a current Chromium sends for the same kind of
//! fetch (a navigation, a module script, the wasm's `fetch`, a style sheet, an icon),
//! so that a host cannot tell it from a browser by its headers and serve it other
//! bytes. It still can by other means: the TLS handshake (rustls's, offering HTTP/1.1
//! only), the header names' case (Chromium sends `sec-ch-ua` in lower case on
//! HTTP/1.1), timing, `Sec-Fetch-Site`, cookies and conditional requests, the pattern
//! of its connections, or the address it comes from (PROTOCOL.md §1).

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::{header, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use url::Url;

/// What a browser fetches a file as: the request's `Accept` and `Sec-Fetch-*`
/// headers, as Chromium sends them for the app's page (`<meta name="referrer"
/// content="no-referrer">`, so no `Referer`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dest {
    /// The page, opened from the address bar or a link.
    Document,
    /// A module script (`<script type="module">`, `modulepreload`, `import`).
    Script,
    /// A `fetch()` (the wasm, preloaded with `as="fetch" crossorigin`).
    Fetch,
    /// A style sheet (`<link rel="stylesheet">`).
    Style,
    /// An image (the icon).
    Image,
}

impl Dest {
    /// What a browser fetches the file at `path` as, by its name.
    pub(crate) fn of(path: &str) -> Dest {
        let name = path.rsplit('/').next().unwrap_or_default();
        match name.rsplit_once('.').map(|(_, ext)| ext) {
            None | Some("html") => Dest::Document,
            Some("js" | "mjs") => Dest::Script,
            Some("css") => Dest::Style,
            Some("svg" | "png" | "ico" | "webp" | "jpg" | "jpeg" | "gif" | "avif") => Dest::Image,
            Some(_) => Dest::Fetch,
        }
    }

    /// `(Accept, Sec-Fetch-Mode, Sec-Fetch-Dest)`.
    fn headers(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Dest::Document => (
                "text/html,application/xhtml+xml,application/xml;q=0.9,image/jxl,image/avif,\
                 image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7",
                "navigate",
                "document",
            ),
            Dest::Script => ("*/*", "cors", "script"),
            Dest::Fetch => ("*/*", "cors", "empty"),
            Dest::Style => ("text/css,*/*;q=0.1", "no-cors", "style"),
            Dest::Image => (
                "image/jxl,image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8",
                "no-cors",
                "image",
            ),
        }
    }
}

/// Chromium's `User-Agent` on Linux (reduced: the minor version is always 0.0.0).
/// Chromium 156, as recorded from it; to follow its stable release.
const USER_AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like \
                          Gecko) Chrome/156.0.0.0 Safari/537.36";

/// Chromium's client hints (`sec-ch-ua`, `sec-ch-ua-mobile`, `sec-ch-ua-platform`),
/// which it sends to potentially trustworthy origins only.
const UA_BRANDS: &str = "\"Not:A-Brand\";v=\"8\", \"Chromium\";v=\"156\"";
const UA_MOBILE: &str = "?0";
const UA_PLATFORM: &str = "\"Linux\"";

/// Chromium's `Accept-Language` for an English browser.
const ACCEPT_LANGUAGE: &str = "en-US,en;q=0.9";

/// Whether a browser deems `url` potentially trustworthy: `https`, or `http` to this
/// machine. Chromium sends client hints and asks for brotli and zstd only there.
fn trustworthy(url: &Url) -> bool {
    url.scheme() == "https"
        || match url.host() {
            Some(url::Host::Domain(domain)) => {
                domain == "localhost" || domain.ends_with(".localhost")
            }
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        }
}

/// The `Accept-Encoding` Chromium sends to `url`.
pub(crate) fn browser_encodings(url: &Url) -> &'static str {
    if trustworthy(url) {
        "gzip, deflate, br, zstd"
    } else {
        "gzip, deflate"
    }
}

/// Redirects followed at most for one request (a static host sends `/r` on to `/r/`).
const MAX_REDIRECTS: usize = 3;

/// What the server answered for one request.
pub(crate) enum Fetched {
    /// The body, decoded, and its `Content-Type`.
    Body {
        bytes: Vec<u8>,
        content_type: Option<String>,
    },
    /// Not found, or another status than 200.
    Missing(StatusCode),
    /// The body's encoding is unknown or does not decode.
    BadEncoding(String),
    /// A body longer than allowed: why.
    TooLong(String),
    /// A redirect the client was told not to follow: its status and `Location`.
    Redirect(StatusCode, String),
}

/// Which redirects a [`Client`] follows.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Redirects {
    /// Any within the same origin (another origin is an error).
    SameOrigin,
    /// None: a redirect is answered as [`Fetched::Redirect`].
    Never,
}

/// One HTTP/1.1 connection to a server, opened again when it closes.
pub(crate) struct Client {
    /// The server's address; requests go to URLs of its origin only.
    base: Url,
    /// Bodies longer than this (sent or decoded) are refused.
    max_body: usize,
    /// The most one request may take, connection, redirects and body included.
    timeout: Duration,
    /// Which redirects are followed.
    redirects: Redirects,
    sender: Option<SendRequest<Empty<Bytes>>>,
}

impl Client {
    /// A client for the server at `base` that accepts bodies of at most `max_body`
    /// bytes, and gives up on a request that takes longer than `timeout`.
    pub(crate) fn new(base: Url, max_body: usize, timeout: Duration) -> Self {
        Client {
            base,
            max_body,
            timeout,
            redirects: Redirects::SameOrigin,
            sender: None,
        }
    }

    /// The same client, following only the redirects `redirects` allows.
    pub(crate) fn following(mut self, redirects: Redirects) -> Self {
        self.redirects = redirects;
        self
    }

    /// `GET base + path` as a browser fetches a `dest`, asking for `encodings`; see
    /// [`Client::fetch_url`].
    pub(crate) async fn fetch(
        &mut self,
        path: &str,
        dest: Dest,
        encodings: &str,
    ) -> Result<Fetched, String> {
        let url = self.base.join(path).map_err(|e| e.to_string())?;
        self.fetch_url(url, dest, encodings).await
    }

    /// `GET url` (of the base's origin) as a browser fetches a `dest`, with
    /// `Accept-Encoding: encodings`, following redirects within the same origin; the
    /// body decoded. Only the URL's path and query are sent: never a fragment. A
    /// request that takes longer than the client's time limit is given up.
    pub(crate) async fn fetch_url(
        &mut self,
        url: Url,
        dest: Dest,
        encodings: &str,
    ) -> Result<Fetched, String> {
        let limit = self.timeout;
        tokio::time::timeout(limit, self.fetch_now(url, dest, encodings))
            .await
            .unwrap_or_else(|_| {
                // The connection may be in the middle of an answer: not used again.
                self.sender = None;
                Err(format!("no answer within {} s", limit.as_secs_f32()))
            })
    }

    async fn fetch_now(
        &mut self,
        mut url: Url,
        dest: Dest,
        encodings: &str,
    ) -> Result<Fetched, String> {
        if url.origin() != self.base.origin() {
            return Err(format!(
                "{url} is not on {}",
                self.base.origin().ascii_serialization()
            ));
        }
        url.set_fragment(None);
        for _ in 0..=MAX_REDIRECTS {
            let response = self.get(&url, dest, encodings).await?;
            let status = response.status();
            if status.is_redirection() {
                let location = response
                    .headers()
                    .get(header::LOCATION)
                    .map(|l| String::from_utf8_lossy(l.as_bytes()).into_owned());
                let Some(location) = location else {
                    // Not a redirect (a 304 answers a conditional request, never sent).
                    if self.redirects == Redirects::Never {
                        return Ok(Fetched::Missing(status));
                    }
                    return Err(format!(
                        "HTTP {status} without a Location header to say where to go"
                    ));
                };
                if self.redirects == Redirects::Never {
                    return Ok(Fetched::Redirect(status, location));
                }
                let Some(next) = url
                    .join(&location)
                    .ok()
                    .filter(|n| n.origin() == url.origin())
                else {
                    return Err(format!("HTTP {status} to another origin ({location})"));
                };
                url = next;
                url.set_fragment(None);
                continue;
            }
            let headers = response.headers().get_all(header::CONTENT_ENCODING);
            let content_encoding = (headers.iter().next().is_some()).then(|| {
                headers
                    .iter()
                    .map(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
                    .collect::<Vec<_>>()
                    .join(",")
            });
            let content_type = response
                .headers()
                .get(header::CONTENT_TYPE)
                .map(|t| String::from_utf8_lossy(t.as_bytes()).into_owned());
            let body = match Limited::new(response.into_body(), self.max_body)
                .collect()
                .await
            {
                Ok(body) => body.to_bytes(),
                Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                    // The rest of the answer is not read: the connection is not reused.
                    self.sender = None;
                    return Ok(Fetched::TooLong(format!(
                        "the answer is longer than {} bytes",
                        self.max_body
                    )));
                }
                Err(e) => return Err(e.to_string()),
            };
            if status != StatusCode::OK {
                return Ok(Fetched::Missing(status));
            }
            // Off the async threads, so that the time limit can give up on it.
            let (max, asked) = (self.max_body, encodings.to_owned());
            let decoded = tokio::task::spawn_blocking(move || {
                decode(content_encoding.as_deref(), &asked, &body, max)
            })
            .await
            .map_err(|e| format!("decoding failed: {e}"))?;
            return Ok(match decoded {
                Ok(bytes) => Fetched::Body {
                    bytes,
                    content_type,
                },
                Err(why) => Fetched::BadEncoding(why),
            });
        }
        Err("too many redirects".to_owned())
    }

    async fn get(
        &mut self,
        url: &Url,
        dest: Dest,
        encodings: &str,
    ) -> Result<hyper::Response<hyper::body::Incoming>, String> {
        let mut target = url.path().to_owned();
        if let Some(query) = url.query() {
            target = format!("{target}?{query}");
        }
        let host = match url.port() {
            Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_owned(),
        };
        let origin = url.origin().ascii_serialization();
        let hints = trustworthy(url);
        // In the order Chromium writes them, which differs for a navigation.
        let request = || {
            let (accept, mode, fetch_dest) = dest.headers();
            let mut request = Request::get(target.as_str())
                .header(header::HOST, host.as_str())
                .header(header::CONNECTION, "keep-alive");
            if dest == Dest::Document {
                if hints {
                    request = request
                        .header("sec-ch-ua", UA_BRANDS)
                        .header("sec-ch-ua-mobile", UA_MOBILE)
                        .header("sec-ch-ua-platform", UA_PLATFORM);
                }
                request = request
                    .header(header::UPGRADE_INSECURE_REQUESTS, "1")
                    .header(header::USER_AGENT, USER_AGENT)
                    .header(header::ACCEPT, accept)
                    .header("sec-fetch-site", "none")
                    .header("sec-fetch-mode", mode)
                    .header("sec-fetch-user", "?1");
            } else {
                if mode == "cors" {
                    request = request.header(header::ORIGIN, origin.as_str());
                }
                if hints {
                    request = request.header("sec-ch-ua-platform", UA_PLATFORM);
                }
                request = request.header(header::USER_AGENT, USER_AGENT);
                if hints {
                    request = request
                        .header("sec-ch-ua", UA_BRANDS)
                        .header("sec-ch-ua-mobile", UA_MOBILE);
                }
                request = request
                    .header(header::ACCEPT, accept)
                    .header("sec-fetch-site", "same-origin")
                    .header("sec-fetch-mode", mode);
            }
            request
                .header("sec-fetch-dest", fetch_dest)
                .header(header::ACCEPT_ENCODING, encodings)
                .header(header::ACCEPT_LANGUAGE, ACCEPT_LANGUAGE)
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
    // Header names as Chromium writes most of them on HTTP/1.1 (`User-Agent`).
    let (sender, conn) = hyper::client::conn::http1::Builder::new()
        .title_case_headers(true)
        .handshake(io)
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// Whether `url` names a web server and nothing else: `http` or `https`, a host, and no
/// user name, password, query or fragment.
pub(crate) fn is_plain_web_url(url: &Url) -> bool {
    matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some()
        && url.username().is_empty()
        && url.password().is_none()
        && url.query().is_none()
        && url.fragment().is_none()
}

/// The most content codings one answer may name (a browser stacks two at most in
/// practice; more is only work for the decoder).
const MAX_CODINGS: usize = 2;

/// The content codings a browser decodes, named as Chromium names them.
fn known_coding(item: &str) -> Option<&'static str> {
    match item.to_ascii_lowercase().as_str() {
        "gzip" | "x-gzip" => Some("gzip"),
        "deflate" => Some("deflate"),
        "br" => Some("br"),
        "zstd" => Some("zstd"),
        _ => None,
    }
}

/// The items of a comma-separated header value, with spaces and tabs (and nothing
/// else) trimmed, as HTTP and Chromium trim them.
fn items(list: &str) -> impl Iterator<Item = &str> {
    list.split(',').map(|i| i.trim_matches([' ', '\t']))
}

/// The body as the server sent it, decoded from `encodings` (the `Content-Encoding`
/// list, applied in that order, so undone from its end), at most `max` bytes; `asked`
/// is the request's `Accept-Encoding`. Only a list a browser decodes the same way is
/// accepted: every item gzip, x-gzip, deflate, br or zstd, and asked for. Chromium
/// passes a body whose list holds anything else (an empty item, `identity`, an unknown
/// coding) through undecoded, so such an answer is not what a browser reads. Every
/// byte sent must be part of the encoded data: a second gzip member (which Chromium
/// ignores) and bytes after the end of a compressed stream are refused.
pub(crate) fn decode(
    encodings: Option<&str>,
    asked: &str,
    body: &[u8],
    max: usize,
) -> Result<Vec<u8>, String> {
    let mut out = body.to_vec();
    let Some(encodings) = encodings else {
        return if out.len() > max {
            Err(format!("it decodes to more than {max} bytes"))
        } else {
            Ok(out)
        };
    };
    let asked: Vec<&'static str> = items(asked).filter_map(known_coding).collect();
    let mut codings = Vec::new();
    for item in items(encodings) {
        let Some(coding) = known_coding(item) else {
            return Err(format!(
                "it was sent with `Content-Encoding: {encodings}`, whose item `{item}` a \
                 browser does not decode (it then reads the bytes as sent), so it was not \
                 checked"
            ));
        };
        if !asked.contains(&coding) {
            return Err(format!(
                "it was sent in the content encoding `{item}`, which the request did not \
                 ask for"
            ));
        }
        codings.push(coding);
        if codings.len() > MAX_CODINGS {
            return Err(format!(
                "it was sent in more than {MAX_CODINGS} content encodings"
            ));
        }
    }
    for coding in codings.iter().rev() {
        out = decode_one(coding, &out, max)?;
    }
    Ok(out)
}

/// The largest zstd window accepted, as in Chromium.
const MAX_ZSTD_WINDOW: u64 = 8 << 20;

/// `body` decoded from one content coding.
fn decode_one(encoding: &str, body: &[u8], max: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    // One byte more than allowed tells a body that is too long from one that fits.
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    let trailing = |rest: &[u8]| {
        if rest.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{encoding}: {} bytes follow the end of the compressed data",
                rest.len()
            ))
        }
    };
    match encoding {
        "gzip" | "x-gzip" => {
            // One member: Chromium stops after the first one's trailer (and `gzip -d`
            // reads on), so a second member is refused rather than guessed at.
            let mut reader = flate2::bufread::GzDecoder::new(body).take(limit);
            reader
                .read_to_end(&mut out)
                .map_err(|e| format!("gzip does not decode: {e}"))?;
            if out.len() <= max {
                let rest = reader.into_inner().into_inner();
                if rest.starts_with(&[0x1f, 0x8b]) {
                    return Err("gzip: a second member follows the first, which a browser \
                         ignores"
                        .to_owned());
                }
                trailing(rest)?;
            }
        }
        "deflate" => {
            // A zlib stream, or raw deflate data, as Chromium takes either.
            let zlib = body.len() >= 2
                && body[0] & 0x0f == 8
                && (u16::from(body[0]) << 8 | u16::from(body[1])) % 31 == 0;
            let rest = if zlib {
                let mut reader = flate2::bufread::ZlibDecoder::new(body).take(limit);
                reader
                    .read_to_end(&mut out)
                    .map_err(|e| format!("deflate does not decode: {e}"))?;
                reader.into_inner().into_inner()
            } else {
                let mut reader = flate2::bufread::DeflateDecoder::new(body).take(limit);
                reader
                    .read_to_end(&mut out)
                    .map_err(|e| format!("deflate does not decode: {e}"))?;
                reader.into_inner().into_inner()
            };
            if out.len() <= max {
                trailing(rest)?;
            }
        }
        "br" => {
            let mut writer = brotli::DecompressorWriter::new(Bounded { out, limit }, 4096);
            let mut rest = body;
            while !rest.is_empty() {
                match writer.write(rest) {
                    Ok(0) => break,
                    Ok(n) => rest = &rest[n..],
                    Err(e) if e.kind() == std::io::ErrorKind::WriteZero => {
                        return Err(format!("it decodes to more than {max} bytes"))
                    }
                    Err(e) => return Err(format!("brotli does not decode: {e}")),
                }
            }
            trailing(rest)?;
            out = writer
                .into_inner()
                .map_err(|_| "brotli does not decode: the data ends early".to_owned())?
                .out;
        }
        "zstd" => {
            // Every frame; skippable frames are skipped.
            use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};
            let mut input = body;
            while !input.is_empty() && out.len() <= max {
                // An 8 MiB window at most, as Chromium allows.
                match ruzstd::decoding::StreamingDecoder::new_with_max_window_size(
                    &mut input,
                    MAX_ZSTD_WINDOW,
                ) {
                    Ok(mut frame) => {
                        let room = limit.saturating_sub(out.len() as u64);
                        (&mut frame)
                            .take(room)
                            .read_to_end(&mut out)
                            .map_err(|e| format!("zstd does not decode: {e}"))?;
                        // A frame read to its end that carries a checksum must match
                        // it, as zstd (and so Chromium) requires.
                        let decoder = &frame.decoder;
                        if decoder.is_finished() {
                            if let Some(sent) = decoder.get_checksum_from_data() {
                                if decoder.get_calculated_checksum() != Some(sent) {
                                    return Err("zstd does not decode: its checksum does \
                                                not match its content"
                                        .to_owned());
                                }
                            }
                        }
                    }
                    Err(FrameDecoderError::ReadFrameHeaderError(
                        ReadFrameHeaderError::SkipFrame { length, .. },
                    )) => {
                        input = usize::try_from(length)
                            .ok()
                            .and_then(|length| input.get(length..))
                            .ok_or("zstd does not decode: a skippable frame ends early")?;
                    }
                    Err(e) => return Err(format!("zstd does not decode: {e}")),
                }
            }
        }
        other => {
            return Err(format!(
                "it was sent in the content encoding `{other}`, which this client cannot \
                 decode (it decodes gzip, deflate, br and zstd), so it was not checked"
            ))
        }
    }
    if out.len() > max {
        return Err(format!("it decodes to more than {max} bytes"));
    }
    Ok(out)
}

/// A buffer that refuses bytes past `limit` (a `WriteZero` error).
struct Bounded {
    out: Vec<u8>,
    limit: u64,
}

impl Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.out.len() as u64 + buf.len() as u64 > self.limit {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(data).unwrap();
        gz.finish().unwrap()
    }

    fn brotli(data: &[u8]) -> Vec<u8> {
        let mut br = Vec::new();
        {
            let mut w = brotli::CompressorWriter::new(&mut br, 4096, 11, 22);
            w.write_all(data).unwrap();
        }
        br
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(data).unwrap();
        z.finish().unwrap()
    }

    fn raw_deflate(data: &[u8]) -> Vec<u8> {
        let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(data).unwrap();
        z.finish().unwrap()
    }

    fn zstd(data: &[u8]) -> Vec<u8> {
        ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
    }

    /// What Chromium asks for from a trustworthy origin.
    const ALL: &str = "gzip, deflate, br, zstd";

    /// A frame from the reference encoder (`zstd --check`, 1.5.4), which ends with the
    /// low 32 bits of the content's XXH64.
    const CHECKED: &[u8] = &[
        0x28, 0xb5, 0x2f, 0xfd, 0x04, 0x58, 0x99, 0x01, 0x00, 0x74, 0x68, 0x65, 0x20, 0x72, 0x65,
        0x66, 0x65, 0x72, 0x65, 0x6e, 0x63, 0x65, 0x20, 0x65, 0x6e, 0x63, 0x6f, 0x64, 0x65, 0x72,
        0x20, 0x61, 0x64, 0x64, 0x73, 0x20, 0x61, 0x20, 0x63, 0x68, 0x65, 0x63, 0x6b, 0x73, 0x75,
        0x6d, 0x20, 0x74, 0x6f, 0x20, 0x74, 0x68, 0x69, 0x73, 0x20, 0x66, 0x72, 0x61, 0x6d, 0x65,
        0x47, 0xc1, 0x56, 0xf4,
    ];

    #[test]
    fn a_zstd_frame_s_checksum_is_checked() {
        let text = b"the reference encoder adds a checksum to this frame";
        assert_eq!(decode(Some("zstd"), ALL, CHECKED, 100).unwrap(), text);
        // The checksum changed, or the content under it (a literal byte): refused.
        for at in [CHECKED.len() - 1, 20] {
            let mut bad = CHECKED.to_vec();
            bad[at] ^= 1;
            let err = decode(Some("zstd"), ALL, &bad, 100).unwrap_err();
            assert!(err.contains("checksum"), "byte {at}: {err}");
        }
    }

    #[test]
    fn every_encoding_decodes_to_the_same_bytes() {
        let data = b"the same bytes, whatever the encoding".repeat(10);
        let max = data.len();
        for (encoding, body) in [
            (None, data.clone()),
            (Some("gzip"), gzip(&data)),
            (Some("x-gzip"), gzip(&data)),
            (Some("GZIP"), gzip(&data)),
            (Some("deflate"), zlib(&data)),
            (Some("deflate"), raw_deflate(&data)),
            (Some("br"), brotli(&data)),
            (Some("zstd"), zstd(&data)),
            // Codings applied in turn are undone from the last one.
            (Some("gzip, br"), brotli(&gzip(&data))),
            (Some("br,\tzstd"), zstd(&brotli(&data))),
        ] {
            assert_eq!(
                decode(encoding, ALL, &body, max).unwrap(),
                data,
                "{encoding:?}"
            );
            // A body that decodes to more than allowed is refused, however small.
            let err = decode(encoding, ALL, &body, max - 1).unwrap_err();
            assert!(err.contains("more than"), "{encoding:?}: {err}");
        }
        for encoding in ["gzip", "deflate", "br", "zstd"] {
            assert!(
                decode(Some(encoding), ALL, b"not compressed", max).is_err(),
                "{encoding}"
            );
        }
    }

    #[test]
    fn a_list_a_browser_passes_through_undecoded_is_refused() {
        let page = b"<p>the honest app</p>".to_vec();
        // Chromium reads the bytes as sent when any item is empty or unknown to it
        // (`identity` included), so decoding them would check another page.
        for list in [
            "gzip, identity",
            "identity",
            "gzip,",
            ",gzip",
            "",
            "gzip, compress",
            "gzip\u{a0}",
        ] {
            let err = decode(Some(list), ALL, &gzip(&page), 1000).unwrap_err();
            assert!(err.contains("not checked"), "{list:?}: {err}");
        }
        let err = decode(Some("compress"), ALL, b"data", 100).unwrap_err();
        assert!(err.contains("`compress`"), "{err}");
        // A coding the request did not ask for.
        let err = decode(Some("br"), "gzip, deflate", &brotli(&page), 1000).unwrap_err();
        assert!(err.contains("did not ask for"), "{err}");
        assert!(decode(Some("gzip"), "identity", &gzip(&page), 1000).is_err());
        // Three codings are more than a browser is sent.
        let err = decode(
            Some("gzip, gzip, gzip"),
            ALL,
            &gzip(&gzip(&gzip(&page))),
            1000,
        )
        .unwrap_err();
        assert!(err.contains("more than 2"), "{err}");
    }

    #[test]
    fn a_second_gzip_member_is_refused() {
        // Chromium stops after the first member, `gzip -d` reads on: neither is
        // assumed, the body is refused.
        let (first, second) = (b"the honest app".to_vec(), b"; and more".to_vec());
        let two = [gzip(&first), gzip(&second)].concat();
        let err = decode(Some("gzip"), ALL, &two, 1000).unwrap_err();
        assert!(err.contains("second member"), "{err}");
    }

    #[test]
    fn a_zstd_window_larger_than_a_browser_allows_is_refused() {
        // A frame header: magic, a descriptor with no single-segment flag, and a
        // window descriptor of 2^(10 + 14) = 16 MiB.
        let frame = [0x28, 0xb5, 0x2f, 0xfd, 0x00, 14 << 3, 0, 0, 0, 0];
        let err = decode(Some("zstd"), ALL, &frame, 1 << 30).unwrap_err();
        assert!(err.contains("window_size is too big"), "{err}");
    }

    #[test]
    fn every_zstd_frame_is_decoded_and_skippable_ones_skipped() {
        let (first, second) = (b"the honest app".to_vec(), b"; and more".to_vec());
        // A skippable frame: its magic, its length (little-endian), that many bytes.
        let skippable = [&[0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0][..], b"abc"].concat();
        let body = [zstd(&first), skippable.clone(), zstd(&second)].concat();
        let whole = [first, second].concat();
        assert_eq!(decode(Some("zstd"), ALL, &body, 1000).unwrap(), whole);
        assert!(decode(Some("zstd"), ALL, &body, whole.len() - 1).is_err());
        // A skippable frame cut short.
        assert!(decode(Some("zstd"), ALL, &skippable[..9], 1000).is_err());
    }

    #[test]
    fn bytes_after_the_compressed_data_are_refused() {
        let data = b"the honest app".repeat(4);
        for (encoding, body) in [
            ("gzip", gzip(&data)),
            ("deflate", zlib(&data)),
            ("deflate", raw_deflate(&data)),
            ("br", brotli(&data)),
            ("zstd", zstd(&data)),
        ] {
            let mut extra = body.clone();
            extra.extend_from_slice(b"<script src=evil.js></script>");
            assert!(
                decode(Some(encoding), ALL, &extra, 1000).is_err(),
                "{encoding}"
            );
            // And so is a stream cut short.
            let cut = &body[..body.len() - 2];
            assert!(
                decode(Some(encoding), ALL, cut, 1000).is_err(),
                "{encoding} cut"
            );
        }
    }

    #[test]
    fn chromium_asks_for_brotli_and_zstd_from_trustworthy_origins_only() {
        let url = |u: &str| Url::parse(u).unwrap();
        for trusted in [
            "https://app.example/",
            "http://127.0.0.1:8080/",
            "http://[::1]/",
            "http://localhost:3000/",
        ] {
            assert_eq!(browser_encodings(&url(trusted)), "gzip, deflate, br, zstd");
        }
        assert_eq!(
            browser_encodings(&url("http://app.example/")),
            "gzip, deflate"
        );
        assert_eq!(Dest::of("index.html"), Dest::Document);
        assert_eq!(Dest::of(""), Dest::Document);
        assert_eq!(Dest::of("r"), Dest::Document);
        assert_eq!(Dest::of("snippets/x/inline0.js"), Dest::Script);
        assert_eq!(Dest::of("vroom-1.wasm"), Dest::Fetch);
        assert_eq!(Dest::of("style-1.css"), Dest::Style);
        assert_eq!(Dest::of("favicon.svg"), Dest::Image);
    }

    /// A loopback server that accepts connections and reads requests but never
    /// answers; every request head it reads is sent on `heads`.
    async fn stalling_server() -> (Url, tokio::sync::mpsc::UnboundedReceiver<String>) {
        use tokio::io::AsyncReadExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let tx = tx.clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let _ = tx.send(String::from_utf8_lossy(&head).into_owned());
                    // Holds the connection open, answering nothing.
                    let _ = stream.read(&mut buf).await;
                });
            }
        });
        (url, rx)
    }

    #[tokio::test]
    async fn a_server_that_never_answers_is_given_up_in_time() {
        let (url, mut heads) = stalling_server().await;
        let mut client = Client::new(url.clone(), 1000, Duration::from_millis(300));
        let started = std::time::Instant::now();
        let err = client
            .fetch("r", Dest::Document, browser_encodings(&url))
            .await
            .err()
            .expect("no answer is an error");
        assert_eq!(err, "no answer within 0.3 s");
        assert!(started.elapsed() < Duration::from_secs(5));
        let head = heads.recv().await.expect("the request arrived");
        assert!(head.starts_with("GET /r HTTP/1.1\r\n"), "{head}");
    }

    #[tokio::test]
    async fn requests_carry_the_headers_chromium_sends() {
        let (url, mut heads) = stalling_server().await;
        let mut client = Client::new(url.clone(), 1000, Duration::from_millis(100));
        let host = format!("Host: {}", url.authority());
        let origin = format!("Origin: {}", url.origin().ascii_serialization());
        // The header lines Chromium 156 sends loading the app's page from a loopback
        // server, with names written in title case as this client writes them.
        let common = [
            "Connection: keep-alive",
            "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like \
             Gecko) Chrome/156.0.0.0 Safari/537.36",
            "Sec-Ch-Ua: \"Not:A-Brand\";v=\"8\", \"Chromium\";v=\"156\"",
            "Sec-Ch-Ua-Mobile: ?0",
            "Sec-Ch-Ua-Platform: \"Linux\"",
            "Accept-Encoding: gzip, deflate, br, zstd",
            "Accept-Language: en-US,en;q=0.9",
        ];
        for (path, dest, lines) in [
            (
                "r",
                Dest::Document,
                vec![
                    "Upgrade-Insecure-Requests: 1",
                    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/jxl,\
                     image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;\
                     v=b3;q=0.7",
                    "Sec-Fetch-Site: none",
                    "Sec-Fetch-Mode: navigate",
                    "Sec-Fetch-User: ?1",
                    "Sec-Fetch-Dest: document",
                ],
            ),
            (
                "a.js",
                Dest::Script,
                vec![
                    origin.as_str(),
                    "Accept: */*",
                    "Sec-Fetch-Site: same-origin",
                    "Sec-Fetch-Mode: cors",
                    "Sec-Fetch-Dest: script",
                ],
            ),
            (
                "a.wasm",
                Dest::Fetch,
                vec![
                    origin.as_str(),
                    "Accept: */*",
                    "Sec-Fetch-Site: same-origin",
                    "Sec-Fetch-Mode: cors",
                    "Sec-Fetch-Dest: empty",
                ],
            ),
            (
                "a.css",
                Dest::Style,
                vec![
                    "Accept: text/css,*/*;q=0.1",
                    "Sec-Fetch-Site: same-origin",
                    "Sec-Fetch-Mode: no-cors",
                    "Sec-Fetch-Dest: style",
                ],
            ),
        ] {
            let _ = client.fetch(path, dest, browser_encodings(&url)).await;
            let head = heads.recv().await.expect("the request arrived");
            let got: Vec<&str> = head.lines().collect();
            assert_eq!(got[0], format!("GET /{path} HTTP/1.1"));
            assert_eq!(got[1], host, "Host comes first");
            let expected: Vec<&str> = common.iter().copied().chain(lines).collect();
            for line in &expected {
                assert!(got.contains(line), "{line:?} missing from {head}");
            }
            // Nothing else: every line is the request line, Host, an expected header
            // or the blank line that ends the head.
            assert_eq!(got.len(), 2 + expected.len() + 1, "{head}");
            if dest != Dest::Document {
                assert!(!head.contains("Sec-Fetch-User"), "{head}");
            }
        }
    }

    /// A loopback server that answers every request with `answer`, then closes.
    async fn answering(answer: &'static str) -> Url {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let _ = stream.write_all(answer.as_bytes()).await;
                });
            }
        });
        url
    }

    #[tokio::test]
    async fn redirects_are_named_for_what_they_are() {
        let no_location = "HTTP/1.1 304 Not Modified\r\nconnection: close\r\n\r\n";
        let url = answering(no_location).await;
        let mut client = Client::new(url.clone(), 1000, Duration::from_secs(5));
        let err = client
            .fetch("r", Dest::Document, "gzip")
            .await
            .err()
            .expect("an error");
        assert_eq!(
            err,
            "HTTP 304 Not Modified without a Location header to say where to go"
        );
        let mut client = client.following(Redirects::Never);
        assert!(matches!(
            client.fetch("r", Dest::Document, "gzip").await,
            Ok(Fetched::Missing(StatusCode::NOT_MODIFIED))
        ));
        let away = "HTTP/1.1 302 Found\r\nlocation: https://evil.example/\r\n\
                    content-length: 0\r\nconnection: close\r\n\r\n";
        let url = answering(away).await;
        let mut client = Client::new(url.clone(), 1000, Duration::from_secs(5));
        let err = client
            .fetch("r", Dest::Document, "gzip")
            .await
            .err()
            .expect("an error");
        assert_eq!(
            err,
            "HTTP 302 Found to another origin (https://evil.example/)"
        );
        let mut client = client.following(Redirects::Never);
        assert!(matches!(
            client.fetch("r", Dest::Document, "gzip").await,
            Ok(Fetched::Redirect(StatusCode::FOUND, location)) if location == "https://evil.example/"
        ));
    }
}
