//! WeCom robot channel against a loopback receiver: the key is sent, the markdown
//! message arrives once, and an `errcode != 0` answer is retried.

mod alert_support;

use std::time::Duration;

use alert_support::{Receiver, ReceiverConfig};
use chrono::NaiveDate;
use envwatch::alert::{AirDayObservation, AlertEngine, AlertsConfig};
use envwatch::standards::parameter::Parameter;
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polluted_day_reaches_wecom_after_a_refusal() {
    let tmp = tempfile::tempdir().unwrap();
    let receiver = Receiver::start(ReceiverConfig {
        webhook_secret: String::new(),
        dingtalk_token: "wecom-key-42".into(),
        dingtalk_secret: String::new(),
        fail_first: 1,
    })
    .await;
    std::fs::write(tmp.path().join("key"), "wecom-key-42").unwrap();
    let cfg = AlertsConfig::from_toml_str(&format!(
        r#"
        [channels.group]
        kind = "wecom"
        url = "{}"
        key = "file:{}"
        retry = {{ initial_backoff = "50ms", max_backoff = "200ms" }}
        [rules.air_polluted_day]
        channels = ["group"]
        "#,
        receiver.url("/cgi-bin/webhook/send"),
        tmp.path().join("key").display()
    ))
    .unwrap();
    let engine =
        AlertEngine::open(&tmp.path().join("a.db"), cfg, chrono_tz::Asia::Shanghai).unwrap();
    let cancel = CancellationToken::new();
    let task = {
        let (e, c) = (engine.clone(), cancel.clone());
        tokio::spawn(async move { e.run_notifiers(c).await.unwrap() })
    };
    let day = |d| NaiveDate::from_ymd_opt(2026, 1, d).unwrap();
    // HJ 633: AQI 100 is still 良 (a good day); 101..150 is 轻度污染.
    for (d, aqi, level) in [(1, 100, 2), (2, 135, 3)] {
        engine
            .observe_air_day(&AirDayObservation {
                city: "杭州".into(),
                day: day(d),
                aqi,
                level,
                primary: vec![Parameter::Pm25],
            })
            .unwrap();
    }
    let got = receiver.wait_for(1, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    cancel.cancel();
    task.await.unwrap();
    assert_eq!(got.len(), 1);
    let log = receiver.log.lock().unwrap();
    assert_eq!((log.failed_on_purpose, log.accepted.len()), (1, 1));
    assert!(log.rejected.is_empty(), "{:?}", log.rejected);
    let content = log.accepted[0].json["markdown"]["content"]
        .as_str()
        .unwrap();
    for want in ["杭州", "2026-01-02", "**135**", "轻度污染", "PM2.5"] {
        assert!(content.contains(want), "lacks {want:?}:\n{content}");
    }
}
