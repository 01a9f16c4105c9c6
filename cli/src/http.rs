//! A small HTTP/1.1 client (TLS with the web's root certificates for `https`, as for
//! the WebSocket) for the few pages the client reads: the web app's files
//! (`verify-app`) and the page an invite link opens (which relay it names). Redirects
//! are followed within one origin only, and every body is bounded.

use std::io::Read;
use std::sync::Arc;

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::{header, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use url::Url;

/// Redirects followed at most for one request (a static host sends `/r` on to `/r/`).
const MAX_REDIRECTS: usize = 3;

/// What the server answered for one request.
pub(crate) enum Fetched {
    /// The body, decoded.
    Body(Vec<u8>),
    /// Not found, or another status than 200.
    Missing(StatusCode),
    /// The body's encoding is unknown or does not decode.
    BadEncoding(String),
}

/// One HTTP/1.1 connection to a server, opened again when it closes.
pub(crate) struct Client {
    /// The server's address; requests go to URLs of its origin only.
    base: Url,
    /// Bodies longer than this (sent or decoded) are refused.
    max_body: usize,
    sender: Option<SendRequest<Empty<Bytes>>>,
}

impl Client {
    /// A client for the server at `base` that accepts bodies of at most `max_body`
    /// bytes.
    pub(crate) fn new(base: Url, max_body: usize) -> Self {
        Client {
            base,
            max_body,
            sender: None,
        }
    }

    /// `GET base + path` asking for `encoding`; see [`Client::fetch_url`].
    pub(crate) async fn fetch(&mut self, path: &str, encoding: &str) -> Result<Fetched, String> {
        let url = self.base.join(path).map_err(|e| e.to_string())?;
        self.fetch_url(url, encoding).await
    }

    /// `GET url` (of the base's origin) asking for `encoding`, following redirects
    /// within the same origin; the body decoded. Only the URL's path and query are
    /// sent: never a fragment.
    pub(crate) async fn fetch_url(
        &mut self,
        mut url: Url,
        encoding: &str,
    ) -> Result<Fetched, String> {
        if url.origin() != self.base.origin() {
            return Err(format!(
                "{url} is not on {}",
                self.base.origin().ascii_serialization()
            ));
        }
        url.set_fragment(None);
        for _ in 0..=MAX_REDIRECTS {
            let response = self.get(&url, encoding).await?;
            let status = response.status();
            if status.is_redirection() {
                let next = response
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .and_then(|l| url.join(l).ok())
                    .filter(|next| next.origin() == url.origin())
                    .ok_or_else(|| format!("HTTP {status} to another origin"))?;
                url = next;
                url.set_fragment(None);
                continue;
            }
            let content_encoding = response
                .headers()
                .get(header::CONTENT_ENCODING)
                .and_then(|e| e.to_str().ok())
                .unwrap_or("identity")
                .to_ascii_lowercase();
            let body = Limited::new(response.into_body(), self.max_body)
                .collect()
                .await
                .map_err(|e| {
                    if e.is::<http_body_util::LengthLimitError>() {
                        format!("the answer is longer than {} bytes", self.max_body)
                    } else {
                        e.to_string()
                    }
                })?
                .to_bytes();
            if status != StatusCode::OK {
                return Ok(Fetched::Missing(status));
            }
            return Ok(match decode(&content_encoding, &body, self.max_body) {
                Ok(body) => Fetched::Body(body),
                Err(why) => Fetched::BadEncoding(why),
            });
        }
        Err("too many redirects".to_owned())
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

/// The body as the server sent it, decoded from `encoding`, at most `max` bytes.
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

pub(crate) fn decode(encoding: &str, body: &[u8], max: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    // One byte more than allowed tells a body that is too long from one that fits.
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    match encoding {
        "identity" => out.extend_from_slice(body),
        "gzip" => {
            flate2::read::GzDecoder::new(body)
                .take(limit)
                .read_to_end(&mut out)
                .map_err(|e| format!("gzip does not decode: {e}"))?;
        }
        "br" => {
            brotli::Decompressor::new(body, 4096)
                .take(limit)
                .read_to_end(&mut out)
                .map_err(|e| format!("brotli does not decode: {e}"))?;
        }
        other => return Err(format!("unknown content encoding `{other}`")),
    }
    if out.len() > max {
        return Err(format!("it decodes to more than {max} bytes"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::decode;

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
        let max = data.len();
        assert_eq!(decode("identity", &data, max).unwrap(), data);
        assert_eq!(decode("gzip", &gz, max).unwrap(), data);
        assert_eq!(decode("br", &br, max).unwrap(), data);
        assert!(decode("br", b"not brotli", max).is_err());
        assert!(decode("zstd", &data, max).is_err());
        // A body that decodes to more than allowed is refused, however small it is.
        assert!(decode("gzip", &gz, max - 1).is_err());
        assert!(decode("br", &br, max - 1).is_err());
        assert!(decode("identity", &data, max - 1).is_err());
    }
}
