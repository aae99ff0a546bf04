//! A real HTTP receiver on loopback for the alert tests: a generic webhook endpoint that
//! checks envwatch's HMAC signature, and a DingTalk robot endpoint that checks the
//! `timestamp` + `sign` query the way DingTalk documents it. Signatures are recomputed
//! here with hmac/sha2/base64 directly, not with envwatch's own signing code.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use tokio::time::Instant;

/// One accepted message.
#[derive(Debug, Clone)]
pub struct Received {
    pub at: Instant,
    pub json: serde_json::Value,
}

#[derive(Default)]
pub struct Log {
    pub accepted: Vec<Received>,
    /// Requests refused for a bad signature, old timestamp or wrong token.
    pub rejected: Vec<String>,
    /// Requests answered with an injected failure (errcode != 0 / HTTP 500).
    pub failed_on_purpose: u32,
    /// Every request, accepted or not.
    pub requests: u32,
}

pub struct Receiver {
    pub addr: SocketAddr,
    pub log: Arc<Mutex<Log>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

#[derive(Clone)]
struct AppState {
    log: Arc<Mutex<Log>>,
    webhook_secret: String,
    dingtalk_token: String,
    dingtalk_secret: String,
    /// Answer this many DingTalk requests with errcode 410100 before accepting.
    fail_first: Arc<Mutex<u32>>,
}

pub struct ReceiverConfig {
    pub webhook_secret: String,
    pub dingtalk_token: String,
    pub dingtalk_secret: String,
    pub fail_first: u32,
}

impl Receiver {
    pub async fn start(cfg: ReceiverConfig) -> Receiver {
        let log = Arc::new(Mutex::new(Log::default()));
        let state = AppState {
            log: log.clone(),
            webhook_secret: cfg.webhook_secret,
            dingtalk_token: cfg.dingtalk_token,
            dingtalk_secret: cfg.dingtalk_secret,
            fail_first: Arc::new(Mutex::new(cfg.fail_first)),
        };
        let app = Router::new()
            .route("/hook", post(webhook))
            .route("/robot/send", post(dingtalk))
            .route("/cgi-bin/webhook/send", post(wecom))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback receiver");
        let addr = listener.local_addr().expect("receiver address");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Receiver {
            addr,
            log,
            shutdown: Some(tx),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn accepted(&self) -> Vec<Received> {
        self.log.lock().unwrap().accepted.clone()
    }

    /// Waits (bounded) until at least `n` messages were accepted.
    pub async fn wait_for(&self, n: usize, limit: Duration) -> Vec<Received> {
        let deadline = Instant::now() + limit;
        loop {
            let got = self.accepted();
            if got.len() >= n || Instant::now() >= deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn webhook(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let mut log = s.log.lock().unwrap();
    log.requests += 1;
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let ts = header("X-Envwatch-Timestamp");
    let sig = header("X-Envwatch-Signature");
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(s.webhook_secret.as_bytes()).unwrap();
    mac.update(format!("{ts}.").as_bytes());
    mac.update(&body);
    let want = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    let fresh = ts
        .parse::<i64>()
        .is_ok_and(|t| (chrono::Utc::now().timestamp() - t).abs() <= 300);
    if sig != want || !fresh {
        log.rejected
            .push(format!("webhook signature {sig:?} (ts {ts:?})"));
        return StatusCode::UNAUTHORIZED;
    }
    match serde_json::from_slice(&body) {
        Ok(json) => {
            log.accepted.push(Received {
                at: Instant::now(),
                json,
            });
            StatusCode::OK
        }
        Err(e) => {
            log.rejected.push(format!("webhook body: {e}"));
            StatusCode::BAD_REQUEST
        }
    }
}

/// DingTalk's documented check: the server recomputes
/// base64(HMAC-SHA256(secret, "{timestamp}\n{secret}")), compares it with the
/// URL-decoded `sign`, and refuses timestamps more than one hour from its clock.
async fn dingtalk(
    State(s): State<AppState>,
    Query(q): Query<std::collections::HashMap<String, String>>,
    body: Bytes,
) -> axum::Json<serde_json::Value> {
    let refuse = |log: &mut Log, code: i64, msg: &str| {
        log.rejected.push(format!("{code} {msg}"));
        axum::Json(serde_json::json!({ "errcode": code, "errmsg": msg }))
    };
    let mut log = s.log.lock().unwrap();
    log.requests += 1;
    if q.get("access_token").map(String::as_str) != Some(s.dingtalk_token.as_str()) {
        return refuse(&mut log, 300001, "token is not exist");
    }
    let Some(ts) = q.get("timestamp").and_then(|t| t.parse::<i64>().ok()) else {
        return refuse(&mut log, 310000, "missing timestamp");
    };
    if (chrono::Utc::now().timestamp_millis() - ts).abs() > 3_600_000 {
        return refuse(&mut log, 310000, "timestamp is more than one hour from now");
    }
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(s.dingtalk_secret.as_bytes()).unwrap();
    mac.update(format!("{ts}\n{}", s.dingtalk_secret).as_bytes());
    let want = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    // axum's Query already URL-decoded `sign`.
    if q.get("sign") != Some(&want) {
        return refuse(&mut log, 310000, "sign not match");
    }
    let json: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(j) => j,
        Err(_) => return refuse(&mut log, 40035, "invalid json"),
    };
    if json["msgtype"] != "markdown" || !json["markdown"]["text"].is_string() {
        return refuse(&mut log, 40035, "not a markdown message");
    }
    {
        let mut left = s.fail_first.lock().unwrap();
        if *left > 0 {
            *left -= 1;
            log.failed_on_purpose += 1;
            return axum::Json(
                serde_json::json!({ "errcode": 410100, "errmsg": "send too fast, exceed 20 times per minute" }),
            );
        }
    }
    log.accepted.push(Received {
        at: Instant::now(),
        json,
    });
    axum::Json(serde_json::json!({ "errcode": 0, "errmsg": "ok" }))
}

/// WeCom group robot: `key` must be the robot's key (the `dingtalk_token` setting
/// doubles as it); markdown `content` required; `fail_first` injects errcode 45009.
async fn wecom(
    State(s): State<AppState>,
    Query(q): Query<std::collections::HashMap<String, String>>,
    body: Bytes,
) -> axum::Json<serde_json::Value> {
    let mut log = s.log.lock().unwrap();
    log.requests += 1;
    if q.get("key").map(String::as_str) != Some(s.dingtalk_token.as_str()) {
        log.rejected.push("93000 invalid webhook url".into());
        return axum::Json(
            serde_json::json!({ "errcode": 93000, "errmsg": "invalid webhook url" }),
        );
    }
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    if json["msgtype"] != "markdown" || !json["markdown"]["content"].is_string() {
        log.rejected.push("40008 invalid message type".into());
        return axum::Json(
            serde_json::json!({ "errcode": 40008, "errmsg": "invalid message type" }),
        );
    }
    {
        let mut left = s.fail_first.lock().unwrap();
        if *left > 0 {
            *left -= 1;
            log.failed_on_purpose += 1;
            return axum::Json(
                serde_json::json!({ "errcode": 45009, "errmsg": "api freq out of limit" }),
            );
        }
    }
    log.accepted.push(Received {
        at: Instant::now(),
        json,
    });
    axum::Json(serde_json::json!({ "errcode": 0, "errmsg": "ok" }))
}

/// GB 3838-2002 Table 1 NH3-N limits (mg/L): I 0.15, II 0.5, III 1.0, IV 1.5, V 2.0.
pub const NH3N_III: f64 = 1.0;
pub const NH3N_V: f64 = 2.0;
