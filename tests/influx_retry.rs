//! Retry behaviour that a real InfluxDB will not produce on demand, against a tiny local
//! HTTP server: 429 with `Retry-After` is honoured, 5xx is retried, gzip bodies carry the
//! exact lines, and batches arrive in outbox order.

mod influx_support;

use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use envwatch::publish::Point;
use influx_support::*;

#[derive(Default)]
struct Seen {
    /// (arrival time, decompressed body) of every request.
    requests: Vec<(Instant, String)>,
}

async fn write(State(seen): State<Arc<Mutex<Seen>>>, headers: HeaderMap, body: Bytes) -> Response {
    let gz = headers
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
        == Some("gzip");
    let mut text = String::new();
    if gz {
        if flate2::read::GzDecoder::new(&body[..])
            .read_to_string(&mut text)
            .is_err()
        {
            return (StatusCode::BAD_REQUEST, "bad gzip").into_response();
        }
    } else {
        text = String::from_utf8_lossy(&body).into_owned();
    }
    let mut s = seen.lock().unwrap_or_else(|p| p.into_inner());
    s.requests.push((Instant::now(), text));
    match s.requests.len() {
        1 => (
            StatusCode::TOO_MANY_REQUESTS,
            [("Retry-After", "1")],
            "slow down",
        )
            .into_response(),
        2 => (
            StatusCode::SERVICE_UNAVAILABLE,
            "{\"error\":\"engine: cache maximum memory size exceeded\"}",
        )
            .into_response(),
        _ => StatusCode::NO_CONTENT.into_response(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_honoured_5xx_retried_and_order_kept() {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let app = Router::new()
        .route("/write", post(write))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let dir = tempfile::tempdir().expect("tempdir");
    let (path, mut conn) = new_store(dir.path(), 10_000);
    let points: Vec<Point> = (0..1200)
        .map(|i| {
            Point::builder("retry_test")
                .tag("station", "1223A")
                .integer("seq", i)
                .time_ns(1_790_784_000_000_000_000 + i)
                .build()
                .expect("point")
        })
        .collect();
    enqueue(&mut conn, &points);

    let mut target = v1_target(&format!("http://{addr}"), "envwatch");
    target.gzip = true;
    let running = spawn_publisher(target, &path, fast_options()); // batches of 500
    running.wait_drained(1200, Duration::from_secs(30)).await;
    let m = running.metrics.clone();
    running.stop().await;
    server.abort();

    assert_eq!(m.retries.get(), 2, "one 429 and one 503");
    assert_eq!(m.batches_written.get(), 3);
    let s = seen.lock().unwrap_or_else(|p| p.into_inner());
    let reqs = &s.requests;
    assert_eq!(reqs.len(), 5);
    // The 429 said one second: the retry came no sooner (backoff alone would be ~50 ms).
    assert!(
        reqs[1].0 - reqs[0].0 >= Duration::from_millis(1000),
        "retried after {:?}",
        reqs[1].0 - reqs[0].0
    );
    // The same body was retried, and the accepted bodies are the outbox in order.
    assert_eq!(reqs[0].1, reqs[1].1);
    assert_eq!(reqs[1].1, reqs[2].1);
    let delivered: String = reqs[2..].iter().map(|r| r.1.as_str()).collect();
    let expected: String = points.iter().map(|p| p.to_line() + "\n").collect();
    assert_eq!(delivered, expected);
}
