//! The HTTP source end to end against a loopback API: readings land in the store with
//! the cursor, a restart resumes without gaps and without re-fetching closed windows,
//! malformed JSON and a schema change become dead letters with clear reasons.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use chrono::{DateTime, Timelike, Utc};
use envwatch::config::Config;
use envwatch::config::pipeline::SourceSettings;
use envwatch::ingest::{IngestMetrics, PipelineRuntime, spawn_writer};
use envwatch::sources::http::{self, HttpMetrics, HttpPoller};
use envwatch::store::Store;
use envwatch::validate::Validator;
use tokio_util::sync::CancellationToken;

#[derive(Default)]
struct Api {
    /// `from` of every request, in order.
    requests: Mutex<Vec<String>>,
    /// What to serve: "good", "malformed", "renamed".
    mode: Mutex<String>,
}

#[derive(serde::Deserialize)]
struct Window {
    from: String,
    to: String,
}

async fn api(State(api): State<Arc<Api>>, Query(w): Query<Window>) -> String {
    api.requests.lock().unwrap().push(w.from.clone());
    let from: DateTime<Utc> = w.from.parse().unwrap();
    let to: DateTime<Utc> = w.to.parse().unwrap();
    let mode = api.mode.lock().unwrap().clone();
    if mode == "malformed" {
        return "{\"data\": [{\"station_code\": \"1223A\"".to_string();
    }
    let mut records = Vec::new();
    let mut t = from;
    while t < to && t <= Utc::now() {
        // Deterministic value from the hour, so a re-fetch would not change it.
        let v = f64::from(t.hour()) + 10.0;
        records.push(if mode == "renamed" {
            serde_json::json!({"station_code": "1223A", "time_point": t.to_rfc3339(), "pm25": v})
        } else {
            serde_json::json!({"station_code": "1223A", "time_point": t.to_rfc3339(), "pm2_5": v})
        });
        t += chrono::Duration::hours(1);
    }
    serde_json::json!({ "data": records }).to_string()
}

fn write_config(dir: &Path, base: &str) {
    std::fs::create_dir_all(dir.join("pipelines")).unwrap();
    std::fs::write(dir.join("envwatch.toml"), "[general]\ncity = \"杭州\"\n").unwrap();
    std::fs::write(
        dir.join("stations.toml"),
        "[[station]]\ncode = \"1223A\"\nname = \"滨江\"\ncity = \"杭州\"\n",
    )
    .unwrap();
    std::fs::write(dir.join("sections.toml"), "").unwrap();
    std::fs::write(
        dir.join("pipelines/air-api.toml"),
        format!(
            r#"[source]
kind = "http"
url = "{base}/air?from={{from}}&to={{to}}"
interval = "150ms"
window = "1h"
start_back = "5h"
time_format = "rfc3339"

[decode]
format = "json"
hour_label = "start"

[decode.json]
records = "/data"
site = "station_code"
time = "time_point"
columns = {{ pm2_5 = "PM2.5" }}
"#
        ),
    )
    .unwrap();
}

struct Harness {
    config: Arc<Config>,
    db: std::path::PathBuf,
}

impl Harness {
    /// Runs the source and the store writer until `until` says stop (bounded), then
    /// shuts down cleanly.
    async fn run_until(&self, mut until: impl FnMut(&Store) -> bool) {
        let config = self.config.clone();
        let p = config.pipelines[0].clone();
        let SourceSettings::Http(h) = &p.source else {
            panic!("http pipeline expected")
        };
        let metrics = Arc::new(IngestMetrics::default());
        let rt = Arc::new(
            PipelineRuntime::from_config(
                &p,
                &config,
                Arc::new(Validator::from_config(&config)),
                metrics.clone(),
            )
            .unwrap(),
        );
        let tz = config.daemon.general.timezone;
        let store = Store::open(&self.db, tz).unwrap();
        let stored = store.cursor(&http::cursor_key(&p.name)).unwrap();
        let cancel = CancellationToken::new();
        let (tx, writer) = spawn_writer(
            store,
            &config.daemon.store,
            None,
            None,
            metrics,
            cancel.clone(),
        );
        let poller = HttpPoller::new(&p.name, h, "/data").unwrap();
        let task = tokio::spawn(http::run(
            poller,
            rt,
            tz,
            stored,
            tx,
            Arc::new(HttpMetrics::default()),
            cancel.clone(),
        ));
        let reader = Store::open(&self.db, tz).unwrap();
        let mut ok = false;
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if until(&reader) {
                ok = true;
                break;
            }
        }
        cancel.cancel();
        task.await.unwrap();
        tokio::task::spawn_blocking(move || writer.join().unwrap())
            .await
            .unwrap();
        assert!(ok, "condition not reached within 10 s");
    }
}

async fn setup() -> (tempfile::TempDir, Arc<Api>, Harness) {
    let api_state = Arc::new(Api::default());
    *api_state.mode.lock().unwrap() = "good".into();
    let app = Router::new()
        .route("/air", get(api))
        .with_state(api_state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    let tmp = tempfile::tempdir().unwrap();
    write_config(&tmp.path().join("config"), &base);
    let config = Arc::new(Config::load(&tmp.path().join("config")).expect("config"));
    let db = tmp.path().join("envwatch.db");
    (tmp, api_state, Harness { config, db })
}

fn hour_floor(t: DateTime<Utc>) -> DateTime<Utc> {
    let ts = t.timestamp();
    DateTime::from_timestamp(ts - ts.rem_euclid(3600), 0).unwrap()
}

#[tokio::test]
async fn restart_resumes_without_gaps_or_refetching_closed_windows() {
    let (_tmp, api_state, h) = setup().await;
    let now = Utc::now();
    let first = hour_floor(now - chrono::Duration::hours(5));
    let current = hour_floor(now);
    let expected_hours = ((current - first).num_hours() + 1) as usize;

    // First run: until every hour up to the current one is stored.
    h.run_until(|s| s.count_readings().unwrap() as usize >= expected_hours)
        .await;
    let first_run: Vec<String> = api_state.requests.lock().unwrap().drain(..).collect();
    // Five closed windows fetched once each, then the open window (maybe re-polled).
    let closed: Vec<String> = (0..5)
        .map(|i| {
            (first + chrono::Duration::hours(i)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        })
        .collect();
    assert_eq!(&first_run[..5], &closed[..], "{first_run:?}");

    // Second run (a restart): it must start at the open window, not earlier.
    h.run_until(|_| api_state.requests.lock().unwrap().len() >= 2)
        .await;
    let second_run = api_state.requests.lock().unwrap().clone();
    let open = current.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert!(
        second_run.iter().all(|f| *f == open),
        "restart re-fetched closed windows: {second_run:?} (open window {open})"
    );

    let store = Store::open(&h.db, h.config.daemon.general.timezone).unwrap();
    let rows = store
        .readings_between(
            envwatch::model::Period::Hour,
            None,
            first,
            current + chrono::Duration::hours(1),
        )
        .unwrap();
    let hours: Vec<DateTime<Utc>> = rows.iter().map(|r| r.time).collect();
    let want: Vec<DateTime<Utc>> = (0..expected_hours as i64)
        .map(|i| first + chrono::Duration::hours(i))
        .collect();
    assert_eq!(hours, want, "gaps or duplicates in the stored hours");
    for r in &rows {
        assert_eq!(r.value, f64::from(r.time.hour()) + 10.0);
    }
}

#[tokio::test]
async fn malformed_json_and_schema_change_become_dead_letters() {
    let (_tmp, api_state, h) = setup().await;
    *api_state.mode.lock().unwrap() = "malformed".into();
    h.run_until(|s| s.count_dead_letters().unwrap() >= 1).await;
    *api_state.mode.lock().unwrap() = "renamed".into();
    h.run_until(|s| s.count_dead_letters().unwrap() >= 2).await;
    let store = Store::open(&h.db, h.config.daemon.general.timezone).unwrap();
    let letters = store.dead_letters(100).unwrap();
    assert!(
        letters
            .iter()
            .any(|d| d.reason.contains("not JSON") && d.origin.starts_with("http:")),
        "{letters:#?}"
    );
    assert!(
        letters
            .iter()
            .any(|d| d.reason.contains("no value for any mapped column")),
        "{letters:#?}"
    );
    assert_eq!(
        store.count_readings().unwrap(),
        0,
        "nothing valid was served"
    );
}
