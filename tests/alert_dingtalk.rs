//! DingTalk robot channel against a loopback receiver that checks `timestamp` + `sign`
//! the way DingTalk does: signature verified, `errcode != 0` retried, and 500 alerts at
//! once delivered at the configured rate with none dropped.

mod alert_support;

use std::path::Path;
use std::time::Duration;

use alert_support::{NH3N_III, NH3N_V, Receiver, ReceiverConfig};
use chrono::{TimeZone, Utc};
use envwatch::alert::notify::dingtalk;
use envwatch::alert::{AlertEngine, AlertsConfig, ItemFinding, ObservedPeriod, WaterObservation};
use envwatch::model::SiteId;
use envwatch::standards::parameter::Parameter;
use envwatch::standards::water::{TargetClass, WaterClass};
use tokio_util::sync::CancellationToken;

const TOKEN: &str = "robot-token-0123";
const SECRET: &str = "SEC0123456789abcdef";

fn write_secrets(dir: &Path) -> (String, String) {
    let t = dir.join("token");
    let s = dir.join("secret");
    std::fs::write(&t, TOKEN).unwrap();
    std::fs::write(&s, SECRET).unwrap();
    (t.display().to_string(), s.display().to_string())
}

fn config(receiver: &Receiver, dir: &Path, rate: &str, backoff: &str) -> AlertsConfig {
    let (token, secret) = write_secrets(dir);
    AlertsConfig::from_toml_str(&format!(
        r#"
        [channels.duty]
        kind = "dingtalk"
        url = "{}"
        access_token = "file:{token}"
        secret = "file:{secret}"
        rate_limit = {rate}
        retry = {{ max_attempts = 20, initial_backoff = "{backoff}", max_backoff = "1s" }}
        [rules.water_inferior_v]
        severity = "critical"
        channels = ["duty"]
        "#,
        receiver.url("/robot/send"),
    ))
    .unwrap()
}

fn inferior_v(section: &str) -> WaterObservation {
    WaterObservation {
        section: SiteId::new(section),
        name: format!("断面{section}"),
        river: "东苕溪".into(),
        period: ObservedPeriod::Reading,
        at: Utc.with_ymd_and_hms(2026, 7, 1, 0, 0, 0).unwrap(),
        class: WaterClass::InferiorV,
        target: TargetClass(WaterClass::III),
        drinking_source: false,
        items: vec![ItemFinding {
            parameter: Parameter::Nh3N,
            value: 3.2,
            limit_v: Some(NH3N_V),
            limit_target: Some(NH3N_III),
        }],
    }
}

fn spawn(engine: &AlertEngine) -> (CancellationToken, tokio::task::JoinHandle<()>) {
    let cancel = CancellationToken::new();
    let (e, c) = (engine.clone(), cancel.clone());
    let task = tokio::spawn(async move { e.run_notifiers(c).await.unwrap() });
    (cancel, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_and_errcode_failures_are_retried() {
    let tmp = tempfile::tempdir().unwrap();
    let receiver = Receiver::start(ReceiverConfig {
        webhook_secret: String::new(),
        dingtalk_token: TOKEN.into(),
        dingtalk_secret: SECRET.into(),
        fail_first: 2,
    })
    .await;
    let cfg = config(
        &receiver,
        tmp.path(),
        r#"{ messages = 20, per = "1m" }"#,
        "100ms",
    );
    let engine =
        AlertEngine::open(&tmp.path().join("a.db"), cfg, chrono_tz::Asia::Shanghai).unwrap();
    let (cancel, task) = spawn(&engine);
    let sent = engine.observe_water(&inferior_v("yh-w01")).unwrap();
    assert_eq!(sent.len(), 1);
    let got = receiver.wait_for(1, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    cancel.cancel();
    task.await.unwrap();
    assert_eq!(got.len(), 1, "delivered after the errcode answers");
    let log = receiver.log.lock().unwrap();
    // Two errcode 410100 answers, then the accepted one: three signed requests.
    assert_eq!((log.failed_on_purpose, log.requests), (2, 3));
    assert!(
        log.rejected.is_empty(),
        "signature refused: {:?}",
        log.rejected
    );
    assert_eq!(log.accepted.len(), 1, "no duplicate after success");
    let md = &log.accepted[0].json["markdown"];
    assert_eq!(md["title"], "【告警】断面水质劣Ⅴ类：断面yh-w01");
    assert!(md["text"].as_str().unwrap().contains("氨氮"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receiver_refuses_bad_signatures_and_old_timestamps() {
    let receiver = Receiver::start(ReceiverConfig {
        webhook_secret: String::new(),
        dingtalk_token: TOKEN.into(),
        dingtalk_secret: SECRET.into(),
        fail_first: 0,
    })
    .await;
    let base = url::Url::parse(&receiver.url("/robot/send")).unwrap();
    let body = serde_json::json!({"msgtype": "markdown", "markdown": {"title": "t", "text": "x"}});
    let http = reqwest::Client::new();
    let now = Utc::now().timestamp_millis();
    let mut answers = Vec::new();
    for (secret, ts) in [
        (SECRET, now),                 // valid
        ("SECwrong", now),             // wrong secret
        (SECRET, now - 2 * 3_600_000), // two hours old
    ] {
        let url = dingtalk::signed_url(&base, TOKEN, Some(secret), ts);
        let answer: serde_json::Value = http
            .post(url)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answers.push(answer["errcode"].as_i64().unwrap());
    }
    assert_eq!(answers, vec![0, 310000, 310000]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_alerts_are_paced_and_none_dropped() {
    const N: usize = 500;
    const PER_WINDOW: usize = 20;
    let tmp = tempfile::tempdir().unwrap();
    let receiver = Receiver::start(ReceiverConfig {
        webhook_secret: String::new(),
        dingtalk_token: TOKEN.into(),
        dingtalk_secret: SECRET.into(),
        fail_first: 0,
    })
    .await;
    let cfg = config(
        &receiver,
        tmp.path(),
        r#"{ messages = 20, per = "1s" }"#,
        "100ms",
    );
    let engine =
        AlertEngine::open(&tmp.path().join("a.db"), cfg, chrono_tz::Asia::Shanghai).unwrap();
    // All 500 fire before the channel starts: a burst, as when many sections slip at once.
    for i in 0..N {
        let sent = engine
            .observe_water(&inferior_v(&format!("s{i:03}")))
            .unwrap();
        assert_eq!(sent.len(), 1);
    }
    let (cancel, task) = spawn(&engine);
    let got = receiver.wait_for(N, Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    cancel.cancel();
    task.await.unwrap();
    let got_all = receiver.accepted();
    assert_eq!(got.len(), N, "all delivered within 60 s");
    assert_eq!(got_all.len(), N, "no duplicates");
    // Every section's message arrived exactly once.
    let titles: std::collections::BTreeSet<String> = got_all
        .iter()
        .map(|m| m.json["markdown"]["title"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(titles.len(), N);
    // No 1 s window holds more than 20 arrivals: arrival i+20 is >= 1 s after arrival i.
    let times: Vec<_> = got_all.iter().map(|m| m.at).collect();
    let mut tightest = Duration::MAX;
    for i in 0..N - PER_WINDOW {
        let gap = times[i + PER_WINDOW] - times[i];
        tightest = tightest.min(gap);
        assert!(
            gap >= Duration::from_secs(1),
            "window starting at message {i} holds more than {PER_WINDOW} messages (gap {gap:?})"
        );
    }
    let total = times[N - 1] - times[0];
    println!("500 messages in {total:?}; tightest 21-message span {tightest:?}");
    // 500 at 20/s: at least 24 windows between the first and the last.
    assert!(total >= Duration::from_secs(24), "{total:?}");
    assert!(receiver.log.lock().unwrap().rejected.is_empty());
}
