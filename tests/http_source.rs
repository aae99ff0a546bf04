//! The HTTP poller against a real HTTP server on loopback (an axum app that behaves like
//! a provincial API): pagination, retries, Retry-After, timeouts, conditional requests.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use envwatch::config::pipeline::HttpSource;
use envwatch::sources::http::{HttpPoller, HttpSourceError, WindowFetch};

#[derive(Default)]
struct Counters {
    hits: AtomicU32,
}

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    format!("http://{addr}")
}

fn settings(toml_src: &str) -> HttpSource {
    toml::from_str(toml_src).expect("test HttpSource")
}

fn pages(w: WindowFetch) -> Vec<serde_json::Value> {
    match w {
        WindowFetch::Pages { pages, .. } => pages
            .iter()
            .map(|p| serde_json::from_slice(&p.body).unwrap_or(serde_json::Value::Null))
            .collect(),
        WindowFetch::NotModified => panic!("unexpected 304"),
    }
}

#[tokio::test]
async fn page_number_pagination_fetches_every_page_with_auth() {
    #[derive(serde::Deserialize)]
    struct Q {
        page: u32,
        from: String,
    }
    let app = Router::new().route(
        "/air",
        get(|Query(q): Query<Q>, headers: HeaderMap| async move {
            if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer t0k3n") {
                return (StatusCode::UNAUTHORIZED, "no token").into_response();
            }
            assert_eq!(q.from, "2026-11-01T00:00:00Z");
            let n = match q.page {
                1 | 2 => 2,
                3 => 1,
                _ => 0,
            };
            let records: Vec<_> = (0..n)
                .map(|i| serde_json::json!({"i": i, "page": q.page}))
                .collect();
            axum::Json(serde_json::json!({"data": records})).into_response()
        }),
    );
    let base = serve(app).await;
    // SAFETY of set_var: this test binary sets it once before use; no other thread reads it.
    unsafe { std::env::set_var("ENVWATCH_TEST_HTTP_TOKEN", "t0k3n") };
    let s = settings(&format!(
        r#"url = "{base}/air?from={{from}}&to={{to}}&page={{page}}"
auth = {{ kind = "bearer", token = "env:ENVWATCH_TEST_HTTP_TOKEN" }}
pagination = {{ kind = "page_number", size = 2 }}"#
    ));
    let poller = HttpPoller::new("air-api", &s, "/data").unwrap();
    let got = pages(
        poller
            .fetch_window("2026-11-01T00:00:00Z", "2026-11-01T01:00:00Z", (None, None))
            .await
            .unwrap(),
    );
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[2]["data"][0]["page"], 3);
}

#[tokio::test]
async fn server_error_is_retried_then_succeeds() {
    let c = Arc::new(Counters::default());
    let app = Router::new()
        .route(
            "/w",
            get(|State(c): State<Arc<Counters>>| async move {
                if c.hits.fetch_add(1, Ordering::SeqCst) < 2 {
                    (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response()
                } else {
                    axum::Json(serde_json::json!({"data": [1]})).into_response()
                }
            }),
        )
        .with_state(c.clone());
    let base = serve(app).await;
    let s = settings(&format!("url = \"{base}/w\"\nmax_retries = 3"));
    let mut poller = HttpPoller::new("p", &s, "/data").unwrap();
    poller.backoff_base = Duration::from_millis(10);
    match poller.fetch_window("a", "b", (None, None)).await.unwrap() {
        WindowFetch::Pages { pages, retries, .. } => {
            assert_eq!(pages.len(), 1);
            assert_eq!(retries, 2);
        }
        WindowFetch::NotModified => panic!("304?"),
    }
    assert_eq!(c.hits.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn too_many_requests_honours_retry_after() {
    let c = Arc::new(Counters::default());
    let app = Router::new()
        .route(
            "/w",
            get(|State(c): State<Arc<Counters>>| async move {
                if c.hits.fetch_add(1, Ordering::SeqCst) == 0 {
                    let mut r = (StatusCode::TOO_MANY_REQUESTS, "slow down").into_response();
                    r.headers_mut().insert("retry-after", "1".parse().unwrap());
                    r
                } else {
                    axum::Json(serde_json::json!({"data": []})).into_response()
                }
            }),
        )
        .with_state(c.clone());
    let base = serve(app).await;
    let s = settings(&format!("url = \"{base}/w\""));
    let mut poller = HttpPoller::new("p", &s, "/data").unwrap();
    // A tiny backoff base: only Retry-After can explain a wait of a second.
    poller.backoff_base = Duration::from_millis(1);
    let t0 = Instant::now();
    poller.fetch_window("a", "b", (None, None)).await.unwrap();
    assert!(
        t0.elapsed() >= Duration::from_millis(950),
        "{:?}",
        t0.elapsed()
    );
    assert_eq!(c.hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn slow_responses_time_out_and_are_reported() {
    let app = Router::new().route(
        "/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(3)).await;
            "late"
        }),
    );
    let base = serve(app).await;
    let s = settings(&format!(
        "url = \"{base}/slow\"\ntimeout = \"200ms\"\nmax_retries = 1"
    ));
    let mut poller = HttpPoller::new("p", &s, "").unwrap();
    poller.backoff_base = Duration::from_millis(1);
    let err = poller
        .fetch_window("a", "b", (None, None))
        .await
        .unwrap_err();
    match &err {
        HttpSourceError::Exhausted { attempts, last, .. } => {
            assert_eq!(*attempts, 2);
            assert!(last.contains("timed out"), "{err}");
        }
        other => panic!("expected Exhausted, got {other}"),
    }
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let c = Arc::new(Counters::default());
    let app = Router::new()
        .route(
            "/w",
            get(|State(c): State<Arc<Counters>>| async move {
                c.hits.fetch_add(1, Ordering::SeqCst);
                (StatusCode::FORBIDDEN, "bad key")
            }),
        )
        .with_state(c.clone());
    let base = serve(app).await;
    let poller = HttpPoller::new("p", &settings(&format!("url = \"{base}/w\"")), "").unwrap();
    let err = poller
        .fetch_window("a", "b", (None, None))
        .await
        .unwrap_err();
    assert!(
        matches!(err, HttpSourceError::Rejected { status: 403, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("bad key"));
    assert_eq!(c.hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn malformed_json_is_handed_on_as_a_page_not_a_crash() {
    let app = Router::new().route("/w", get(|| async { "{\"data\": [1, 2" }));
    let base = serve(app).await;
    let s = settings(&format!(
        "url = \"{base}/w?p={{page}}\"\npagination = {{ kind = \"page_number\", size = 2 }}"
    ));
    let poller = HttpPoller::new("p", &s, "/data").unwrap();
    match poller.fetch_window("a", "b", (None, None)).await.unwrap() {
        WindowFetch::Pages { pages, .. } => {
            assert_eq!(pages.len(), 1, "pagination must stop at an unreadable page");
            assert_eq!(pages[0].body, b"{\"data\": [1, 2");
            assert!(pages[0].url.ends_with("/w?p=1"), "{}", pages[0].url);
        }
        WindowFetch::NotModified => panic!("304?"),
    }
}

#[tokio::test]
async fn cursor_and_next_link_pagination() {
    #[derive(serde::Deserialize)]
    struct C {
        cursor: Option<String>,
    }
    let app = Router::new()
        .route(
            "/c",
            get(|Query(q): Query<C>| async move {
                let (n, next) = match q.cursor.as_deref() {
                    None | Some("") => (1, Some("abc")),
                    Some("abc") => (2, Some("def")),
                    _ => (3, None),
                };
                axum::Json(serde_json::json!({"data": [n], "meta": {"next": next}}))
            }),
        )
        .route(
            "/n",
            get(|Query(q): Query<C>| async move {
                let next = if q.cursor.is_none() {
                    Some("/n?cursor=2")
                } else {
                    None
                };
                axum::Json(serde_json::json!({"data": [1], "links": {"next": next}}))
            }),
        );
    let base = serve(app).await;
    let s = settings(&format!(
        "url = \"{base}/c?cursor={{cursor}}\"\npagination = {{ kind = \"cursor\", pointer = \"/meta/next\" }}"
    ));
    let got = pages(
        HttpPoller::new("p", &s, "/data")
            .unwrap()
            .fetch_window("a", "b", (None, None))
            .await
            .unwrap(),
    );
    assert_eq!(
        got.iter()
            .map(|p| p["data"][0].as_i64().unwrap())
            .collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    let s = settings(&format!(
        "url = \"{base}/n\"\npagination = {{ kind = \"next_link\", pointer = \"/links/next\" }}"
    ));
    let got = pages(
        HttpPoller::new("p", &s, "/data")
            .unwrap()
            .fetch_window("a", "b", (None, None))
            .await
            .unwrap(),
    );
    assert_eq!(got.len(), 2);
}

#[tokio::test]
async fn etag_makes_an_unchanged_window_a_304() {
    let app = Router::new().route(
        "/e",
        get(|headers: HeaderMap| async move {
            if headers.get("if-none-match").and_then(|v| v.to_str().ok()) == Some("\"v1\"") {
                return StatusCode::NOT_MODIFIED.into_response();
            }
            let mut r: Response = axum::Json(serde_json::json!({"data": [1]})).into_response();
            r.headers_mut().insert("etag", "\"v1\"".parse().unwrap());
            r
        }),
    );
    let base = serve(app).await;
    let poller = HttpPoller::new("p", &settings(&format!("url = \"{base}/e\"")), "/data").unwrap();
    let etag = match poller.fetch_window("a", "b", (None, None)).await.unwrap() {
        WindowFetch::Pages { etag, .. } => etag.expect("etag"),
        WindowFetch::NotModified => panic!("first fetch cannot be 304"),
    };
    assert_eq!(etag, "\"v1\"");
    assert!(matches!(
        poller
            .fetch_window("a", "b", (Some(&etag), None))
            .await
            .unwrap(),
        WindowFetch::NotModified
    ));
}
