//! The HTTP surface, tested as a client sees it: a real server on an ephemeral loopback
//! port, real requests with reqwest.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use envwatch::config::daemon::Targets;
use envwatch::metrics::{JudgeKind, Metrics};
use envwatch::serve::{
    AppState, Health, HealthPolicy, ListenPolicy, ServeError, Server, StatusBoard,
};
use envwatch::shutdown::Shutdown;
use serde_json::Value;

const PIPELINE: &str = "air-hj212-mqtt";

struct Running {
    addr: SocketAddr,
    state: AppState,
    shutdown: Shutdown,
    task: tokio::task::JoinHandle<Result<(), ServeError>>,
    client: reqwest::Client,
}

impl Running {
    async fn start() -> Running {
        let state = AppState {
            metrics: Arc::new(Metrics::new()),
            health: Arc::new(Health::new(HealthPolicy::default())),
            status: Arc::new(StatusBoard::new(Targets::default(), "杭州", "余杭区")),
        };
        state.metrics.register_pipeline(PIPELINE);
        state.health.register_source(PIPELINE);
        let server = Server::bind("127.0.0.1:0".parse().unwrap(), ListenPolicy::LoopbackOnly)
            .await
            .expect("bind an ephemeral loopback port");
        let addr = server.local_addr();
        assert_ne!(addr.port(), 0);
        let shutdown = Shutdown::new();
        let task = tokio::spawn(server.run(state.clone(), shutdown.clone()));
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .no_proxy()
            .build()
            .unwrap();
        Running {
            addr,
            state,
            shutdown,
            task,
            client,
        }
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("http://{}{}", self.addr, path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    async fn json(&self, path: &str) -> (u16, Value) {
        let resp = self.get(path).await;
        let code = resp.status().as_u16();
        let ctype = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        assert!(ctype.starts_with("application/json"), "{path}: {ctype}");
        (code, resp.json().await.unwrap())
    }
}

#[tokio::test]
async fn healthz_answers_while_the_process_runs() {
    let srv = Running::start().await;
    let resp = srv.get("/healthz").await;
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.text().await.unwrap(), "ok\n");
    assert_eq!(srv.get("/nope").await.status().as_u16(), 404);
    let post = srv
        .client
        .post(format!("http://{}/healthz", srv.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status().as_u16(), 405);
}

#[tokio::test]
async fn readyz_is_503_naming_the_failing_checks_until_all_pass() {
    let srv = Running::start().await;

    let (code, body) = srv.json("/readyz").await;
    assert_eq!(code, 503);
    assert_eq!(body["ready"], false);
    assert_eq!(
        body["failing"],
        serde_json::json!(["store", format!("source:{PIPELINE}")])
    );

    srv.state.health.set_store(Ok(()));
    srv.state
        .health
        .set_source(PIPELINE, false, Some("connection refused; retrying".into()));
    let (code, body) = srv.json("/readyz").await;
    assert_eq!(code, 503);
    assert_eq!(
        body["failing"],
        serde_json::json!([format!("source:{PIPELINE}")])
    );
    let source_check = body["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == format!("source:{PIPELINE}"))
        .unwrap();
    assert_eq!(source_check["detail"], "connection refused; retrying");

    srv.state.health.set_source(PIPELINE, true, None);
    srv.state
        .health
        .set_outbox(42, Some(Duration::from_secs(3)));
    let (code, body) = srv.json("/readyz").await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["ready"], true);
    assert_eq!(body["failing"], serde_json::json!([]));

    // An outbox whose oldest point waited past the limit makes the daemon unready.
    srv.state
        .health
        .set_outbox(42, Some(Duration::from_secs(16 * 60)));
    let (code, body) = srv.json("/readyz").await;
    assert_eq!(code, 503);
    assert_eq!(body["failing"], serde_json::json!(["outbox"]));
}

#[tokio::test]
async fn metrics_serves_openmetrics_text_with_live_values() {
    let srv = Running::start().await;
    srv.state.metrics.record_accepted(PIPELINE, 17);
    srv.state.metrics.record_rejected(PIPELINE, "out_of_range");
    srv.state
        .metrics
        .observe_judge_run(JudgeKind::Air, Duration::from_millis(250));

    let resp = srv.get("/metrics").await;
    assert_eq!(resp.status().as_u16(), 200);
    let ctype = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ctype.starts_with("application/openmetrics-text"), "{ctype}");
    let text = resp.text().await.unwrap();
    assert!(
        text.contains("envwatch_readings_accepted_total{pipeline=\"air-hj212-mqtt\"} 17\n"),
        "{text}"
    );
    assert!(text.contains(
        "envwatch_readings_rejected_total{pipeline=\"air-hj212-mqtt\",reason=\"out_of_range\"} 1\n"
    ));
    assert!(text.contains("envwatch_judge_run_duration_seconds_count{kind=\"air\"} 1\n"));
    assert!(text.ends_with("# EOF\n"));
}

#[tokio::test]
async fn api_status_reports_targets_judge_results_and_pipeline_counters() {
    let srv = Running::start().await;

    let (code, body) = srv.json("/api/status").await;
    assert_eq!(code, 200);
    assert_eq!(body["targets"]["good_day_ratio"], 0.8);
    assert_eq!(body["targets"]["drinking_source_compliance"], 1.0);
    assert_eq!(body["targets"]["max_inferior_v_sections"], 0);
    assert!(body["air"].is_null(), "no judgement yet: {body}");
    assert!(body["last_judge_run"].is_null());
    assert_eq!(body["pipelines"][PIPELINE]["accepted"], 0);

    // Year to date 2025: 292 good of 365 valid days = exactly 80 %, the target is met;
    // November: 20 of 26 = 76.9 %, not met.
    srv.state
        .status
        .set_air("2025", (292, 365), "2025-11", (20, 26));
    srv.state
        .status
        .set_water("2025-11", 3, vec![], vec!["S-07".to_string()]);
    let finished = chrono::DateTime::parse_from_rfc3339("2025-11-26T00:05:00+08:00")
        .unwrap()
        .to_utc();
    srv.state.status.record_judge_run(
        JudgeKind::Water,
        finished,
        Duration::from_millis(1234),
        None,
    );
    srv.state
        .metrics
        .record_message(PIPELINE, "envwatch/air/330110001");
    srv.state.metrics.record_accepted(PIPELINE, 6);
    srv.state.metrics.record_rejected(PIPELINE, "unknown_site");
    srv.state.metrics.record_dead_letter(PIPELINE);

    let (_, body) = srv.json("/api/status").await;
    let ytd = &body["air"]["year_to_date"];
    assert_eq!(ytd["period"], "2025");
    assert_eq!(ytd["ratio"], 0.8);
    assert_eq!(ytd["meets_target"], true);
    assert_eq!(body["air"]["month_to_date"]["meets_target"], false);
    assert_eq!(body["air"]["city"], "杭州");
    let water = &body["water"];
    assert_eq!(water["drinking_sources"]["compliant"], 3);
    assert_eq!(water["drinking_sources"]["meets_target"], true);
    assert_eq!(water["inferior_v"]["count"], 1);
    assert_eq!(water["inferior_v"]["meets_target"], false);
    assert_eq!(water["inferior_v"]["sections"][0], "S-07");
    let run = &body["last_judge_run"];
    assert_eq!(run["kind"], "water");
    assert_eq!(run["finished_at"], "2025-11-25T16:05:00Z");
    assert_eq!(run["duration_ms"], 1234);
    assert_eq!(run["ok"], true);
    assert_eq!(
        body["pipelines"][PIPELINE],
        serde_json::json!({"messages": 1, "accepted": 6, "rejected": 1, "dead_letters": 1})
    );
}

#[tokio::test]
async fn shutdown_stops_the_server_and_frees_the_port() {
    let srv = Running::start().await;
    assert_eq!(srv.get("/healthz").await.status().as_u16(), 200);
    srv.shutdown.trigger();
    let ended = tokio::time::timeout(Duration::from_secs(5), srv.task)
        .await
        .expect("server stops within 5 s of the shutdown");
    ended.unwrap().unwrap();
    let after = srv
        .client
        .get(format!("http://{}/healthz", srv.addr))
        .send()
        .await;
    assert!(after.is_err(), "no longer listening after shutdown");
}

#[tokio::test]
async fn non_loopback_addresses_are_refused_unless_allowed() {
    for addr in ["0.0.0.0:0", "192.168.1.20:9464", "[::]:0"] {
        let addr: SocketAddr = addr.parse().unwrap();
        let err = Server::bind(addr, ListenPolicy::LoopbackOnly)
            .await
            .expect_err("a non-loopback address must be refused");
        assert!(matches!(err, ServeError::NotLoopback(a) if a == addr));
        assert!(err.to_string().contains("allow_non_loopback"), "{err}");
    }
    // Any 127/8 address is loopback.
    let s = Server::bind("127.0.0.2:0".parse().unwrap(), ListenPolicy::LoopbackOnly)
        .await
        .expect("127.0.0.2 is loopback");
    assert!(s.local_addr().ip().is_loopback());
}

#[tokio::test]
async fn a_taken_port_is_a_clear_bind_error() {
    let first = Server::bind("127.0.0.1:0".parse().unwrap(), ListenPolicy::LoopbackOnly)
        .await
        .unwrap();
    let taken = first.local_addr();
    let err = Server::bind(taken, ListenPolicy::LoopbackOnly)
        .await
        .expect_err("the port is in use");
    let msg = err.to_string();
    assert!(
        msg.contains(&taken.to_string()) && msg.contains("[http] listen"),
        "{msg}"
    );
}
