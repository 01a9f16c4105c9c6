//! `/healthz`, `/metrics`, and the static web app with its headers.

use vroom_relay::{Config, CONTENT_SECURITY_POLICY};
use vroom_shared::wire::{ErrorCode, RoomSettings, WS_PATH};

use crate::config;
use vroom_testkit::relay::{get_from, Relay, Response};
use vroom_testkit::ws::{room_id, secret};

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn assert_security_headers(headers: &[(String, String)]) {
    assert_eq!(
        header(headers, "content-security-policy"),
        Some(CONTENT_SECURITY_POLICY)
    );
    // The policy itself: no inline script, no origin but ours, nothing may frame us.
    let csp = CONTENT_SECURITY_POLICY;
    assert!(csp.contains("default-src 'none'"));
    assert!(csp.contains("script-src 'self' 'wasm-unsafe-eval';"));
    assert!(csp.contains("frame-ancestors 'none'"));
    assert!(!csp.contains("unsafe-inline") && !csp.contains("http") && !csp.contains('*'));
    assert_eq!(header(headers, "x-frame-options"), Some("DENY"));
    assert_eq!(header(headers, "referrer-policy"), Some("no-referrer"));
    assert_eq!(header(headers, "x-content-type-options"), Some("nosniff"));
    assert_eq!(
        header(headers, "cross-origin-opener-policy"),
        Some("same-origin")
    );
    assert_eq!(
        header(headers, "cross-origin-resource-policy"),
        Some("same-origin")
    );
    assert_eq!(
        header(headers, "permissions-policy"),
        Some("camera=(), microphone=(), geolocation=(), payment=(), usb=()")
    );
}

/// Every answer carries the headers: errors, refusals, metrics; HSTS only when set.
#[tokio::test]
async fn every_response_carries_the_security_headers_and_hsts_when_configured() {
    let relay = Relay::start(Config {
        max_connections: 0,
        ..config()
    })
    .await;
    let upgrade = "Upgrade: websocket\r\nConnection: Upgrade\r\n\
                   Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    for (path, extra, status) in [
        ("/nowhere", "", 404),
        ("/metrics", "", 200),
        (WS_PATH, "", 400),
        (WS_PATH, upgrade, 503),
    ] {
        let answer = relay.get(path, extra).await;
        assert_eq!(answer.status, status, "{path}");
        assert_security_headers(&answer.headers);
        assert_eq!(answer.header("strict-transport-security"), None);
    }
    relay.stop().await;

    let relay = Relay::start(Config {
        hsts: Some(std::time::Duration::from_secs(365 * 24 * 3600)),
        max_connections_per_address: 1,
        ..config()
    })
    .await;
    let answer = relay.get("/healthz", "").await;
    assert_eq!(
        answer.header("strict-transport-security"),
        Some("max-age=31536000")
    );
    // The answer written before a request is read carries them too (127.0.0.1 is
    // exempt from per-address limits by default; 127.0.0.2 is not).
    let other = std::net::IpAddr::from([127, 0, 0, 2]);
    let _hold = relay.connect_from(other).await;
    let refused = get_from(relay.addr(), other, "/healthz", "").await.unwrap();
    assert_eq!(refused.status, 429);
    assert_security_headers(&refused.headers);
    relay.stop().await;
}

#[tokio::test]
async fn healthz_answers_ok() {
    let relay = Relay::start(config()).await;
    let Response {
        status,
        headers,
        body,
    } = relay.get("/healthz", "").await;
    assert_eq!((status, body.as_slice()), (200, &b"ok"[..]));
    assert_security_headers(&headers);
    relay.stop().await;
}

#[tokio::test]
async fn metrics_count_activity_without_identifiers() {
    let relay = Relay::start(config()).await;
    let (room, mut a, wa) = relay.create_room(40).await;
    let (mut b, wb) = relay.join_room(room).await;
    a.say("canary-payload-3f1d").await;
    b.recv_message().await;
    a.ask_to_join(room).await;
    a.expect_error(ErrorCode::UnexpectedFrame).await;

    let Response { status, body, .. } = relay.get("/metrics", "").await;
    assert_eq!(status, 200);
    let text = String::from_utf8(body).unwrap();
    let value = |name: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
            .unwrap_or_else(|| panic!("no {name} in\n{text}"))
            .rsplit(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(value("vroom_rooms"), 1.0);
    assert_eq!(value("vroom_connections"), 2.0);
    assert_eq!(value("vroom_relayed_frames_total"), 1.0);
    assert_eq!(value("vroom_relayed_bytes_total"), 19.0);
    // Store round trips by operation, and the bytes buffered for catch-up.
    assert_eq!(value("vroom_store_seconds_count{op=\"publish\"}"), 1.0);
    assert_eq!(value("vroom_store_seconds_count{op=\"create\"}"), 1.0);
    assert_eq!(value("vroom_store_seconds_count{op=\"join\"}"), 1.0);
    assert!(value("vroom_buffered_bytes") > 19.0);
    assert_eq!(value("vroom_refusals_total{reason=\"join_timeout\"}"), 0.0);
    assert_eq!(value("vroom_errors_total{kind=\"unexpected_frame\"}"), 1.0);
    // Joined(a), Joined(b) to both, the message to both.
    assert_eq!(value("vroom_deliveries_total"), 5.0);
    let lower = text.to_lowercase();
    for id in [room.to_hex(), wa.you.0.to_string(), wb.you.0.to_string()] {
        assert!(!lower.contains(&id), "metrics carry an identifier: {id}");
    }
    assert!(!text.contains("canary"), "metrics carry a payload");
    assert!(!text.contains("127.0.0.1"), "metrics carry an address");
    relay.stop().await;
}

/// `--max-connections` counts every open connection, joined or not, until it closes.
#[tokio::test]
async fn the_connection_cap_holds_until_a_connection_closes() {
    let relay = Relay::start(Config {
        max_connections: 2,
        ..config()
    })
    .await;
    let room = room_id(41);
    let mut a = relay.connect().await;
    let b = relay.connect().await;
    a.create(room, &secret(41), RoomSettings::default()).await;
    // Joined and idle, `a` still holds its place under the cap, as does `b`.
    a.say("still here").await;
    a.recv_message().await;
    let upgrade = "Upgrade: websocket\r\nConnection: Upgrade\r\n\
                   Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    let Response { status, body, .. } = relay.get(WS_PATH, upgrade).await;
    assert_eq!(status, 503);
    assert_eq!(body, b"This relay is full. Try again in a moment.");
    let Response { status, .. } = relay.get("/metrics", "").await;
    assert_eq!(status, 200, "plain requests are not capped");

    drop(b);
    // The closed connection's place frees up once the relay has noticed.
    let url = format!("ws://{}{WS_PATH}", relay.addr());
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while tokio_tungstenite::connect_async(&url).await.is_err() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "a closed connection never gave its place back"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    relay.stop().await;
}

#[tokio::test]
async fn the_web_app_is_served_with_cache_and_security_headers() {
    let dir = tempfile::tempdir().unwrap();
    let index = "<!doctype html><title>vroom</title><script type=module src=/pkg/app.js></script>";
    std::fs::write(dir.path().join("index.html"), index).unwrap();
    std::fs::create_dir(dir.path().join("pkg")).unwrap();
    let wasm = [0u8, b'a', b's', b'm', 1, 0, 0, 0];
    std::fs::write(dir.path().join("pkg/app_bg.wasm"), wasm).unwrap();
    let js = "export const x = 1;\n".repeat(200);
    std::fs::write(dir.path().join("pkg/app.js"), &js).unwrap();
    std::fs::write(dir.path().join("pkg/app.js.br"), b"not really brotli").unwrap();
    std::fs::write(
        dir.path().join("style.css"),
        "body { color: black }\n".repeat(100),
    )
    .unwrap();
    let relay = Relay::start(Config {
        web_dir: Some(dir.path().to_owned()),
        ..config()
    })
    .await;

    for path in ["/", "/r", "/index.html"] {
        let Response {
            status,
            headers,
            body,
        } = relay.get(path, "").await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(String::from_utf8(body).unwrap(), index, "{path}");
        assert!(header(&headers, "content-type")
            .unwrap()
            .starts_with("text/html"));
        assert_eq!(
            header(&headers, "cache-control"),
            Some("no-cache"),
            "{path}"
        );
        assert_security_headers(&headers);
    }
    let Response {
        status,
        headers,
        body,
    } = relay.get("/pkg/app_bg.wasm", "").await;
    assert_eq!((status, body.as_slice()), (200, &wasm[..]));
    assert_eq!(header(&headers, "content-type"), Some("application/wasm"));
    assert_eq!(
        header(&headers, "cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_security_headers(&headers);

    // A precompressed sibling wins when the browser accepts it.
    let Response { headers, body, .. } = relay.get("/pkg/app.js", "Accept-Encoding: br\r\n").await;
    assert_eq!(header(&headers, "content-encoding"), Some("br"));
    assert_eq!(body, b"not really brotli");
    // Otherwise the file is compressed on the fly.
    let Response {
        status,
        headers,
        body,
    } = relay.get("/style.css", "Accept-Encoding: gzip\r\n").await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-encoding"), Some("gzip"));
    assert!(body.len() < 2200 && body.starts_with(&[0x1f, 0x8b]));
    let Response {
        status, headers, ..
    } = relay.get("/missing.js", "").await;
    assert_eq!(status, 404);
    assert_security_headers(&headers);
    relay.stop().await;
}

/// Every metric the example Grafana dashboard (`deploy/grafana-dashboard.json`) queries
/// is one the relay exports.
#[tokio::test]
async fn the_example_dashboard_queries_exported_metrics() {
    let dashboard = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../deploy/grafana-dashboard.json"
    ))
    .expect("read deploy/grafana-dashboard.json");
    let relay = Relay::start(config()).await;
    let metrics = relay.metrics().await;
    let mut queried = 0;
    for (i, _) in dashboard.match_indices("vroom_") {
        let name: String = dashboard[i..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
            .collect();
        let base = ["_total", "_bucket"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix))
            .unwrap_or(&name);
        if base == "vroom_relay" || base == "vroom_" {
            continue; // the dashboard's own uid and title
        }
        queried += 1;
        assert!(
            metrics.contains(&format!("# HELP {base} ")),
            "the dashboard queries {name}, which the relay does not export:\n{metrics}"
        );
    }
    assert!(queried >= 10, "the dashboard queries {queried} metrics");
    relay.stop().await;
}

/// A WebSocket upgrade from a page of an origin the relay was not told about is refused
/// (403) and counted in `vroom_origin_refusals_total`, which carries no label (no
/// origin, no address); a client that sends no origin is not counted.
#[tokio::test]
async fn refused_origins_are_counted_without_labels() {
    let relay = Relay::start(Config {
        app_origins: vec!["https://app.example".parse().expect("an origin")],
        ..config()
    })
    .await;
    const NAME: &str = "vroom_origin_refusals_total";
    assert_eq!(relay.metric(NAME).await, 0);
    let upgrade = |origin: &str| {
        format!(
            "Connection: upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: {origin}\r\n"
        )
    };
    let refused = relay
        .get(WS_PATH, &upgrade("https://elsewhere.example"))
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(relay.metric(NAME).await, 1);
    let refused = relay.get(WS_PATH, &upgrade("http://127.0.0.1:9")).await;
    assert_eq!(refused.status, 403);
    assert_eq!(relay.metric(NAME).await, 2);
    // A native client (no Origin) is let in and not counted.
    let _room = relay.create_room(1).await;
    assert_eq!(relay.metric(NAME).await, 2);
    let metrics = relay.metrics().await;
    let line = metrics
        .lines()
        .find(|l| l.starts_with(NAME))
        .expect("the counter is exported");
    assert!(
        !line.contains('{') && !line.contains("elsewhere") && !line.contains("127.0.0.1"),
        "the counter carries a label: {line}"
    );
}
