//! A section going III -> 劣V -> IV -> 劣V with hysteresis N=2, M=2 produces exactly the
//! expected firing / resolved notifications at a real signed-webhook receiver, and
//! restarts in the middle (engine dropped, SQLite file reopened) send no duplicate and
//! lose nothing.

mod alert_support;

use std::path::Path;
use std::time::Duration;

use alert_support::{NH3N_III, NH3N_V, Receiver, ReceiverConfig};
use chrono::{DateTime, TimeZone, Utc};
use envwatch::alert::{AlertEngine, AlertsConfig, ItemFinding, ObservedPeriod, WaterObservation};
use envwatch::model::SiteId;
use envwatch::standards::parameter::Parameter;
use envwatch::standards::water::{TargetClass, WaterClass};
use tokio_util::sync::CancellationToken;

const SECRET: &str = "webhook-test-secret";

fn config(receiver: &Receiver, secret_file: &Path) -> AlertsConfig {
    AlertsConfig::from_toml_str(&format!(
        r#"
        [channels.hook]
        kind = "webhook"
        url = "{}"
        secret = "file:{}"
        retry = {{ max_attempts = 50, initial_backoff = "50ms", max_backoff = "200ms" }}
        [rules.water_inferior_v]
        severity = "critical"
        channels = ["hook"]
        period = "reading"
        fire_after = 2
        resolve_after = 2
        "#,
        receiver.url("/hook"),
        secret_file.display()
    ))
    .unwrap()
}

fn hour(i: usize) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 7, 1, 0, 0, 0).unwrap() + chrono::Duration::hours(i as i64)
}

/// The class sequence, one per hourly reading, with an NH3-N value whose class under
/// GB 3838 Table 1 is that class (III: 0.8, IV: 1.2, 劣V: 3.2 mg/L).
const SEQUENCE: [WaterClass; 11] = [
    WaterClass::III,       // 0
    WaterClass::InferiorV, // 1  pending (1 of N=2)
    WaterClass::IV,        // 2  back to ok: a single bad reading does not fire
    WaterClass::InferiorV, // 3  pending
    WaterClass::InferiorV, // 4  FIRING (2 consecutive)
    WaterClass::IV,        // 5  1 good of M=2
    WaterClass::InferiorV, // 6  still firing; good count reset
    WaterClass::IV,        // 7  1 good
    WaterClass::IV,        // 8  RESOLVED (2 consecutive at V or better)
    WaterClass::InferiorV, // 9  pending
    WaterClass::InferiorV, // 10 FIRING again
];

fn observation(i: usize) -> WaterObservation {
    let class = SEQUENCE[i];
    let value = match class {
        WaterClass::III => 0.8,
        WaterClass::IV => 1.2,
        _ => 3.2,
    };
    WaterObservation {
        section: SiteId::new("yh-w03"),
        name: "奉口".into(),
        river: "东苕溪".into(),
        period: ObservedPeriod::Reading,
        at: hour(i),
        class,
        target: TargetClass(WaterClass::III),
        drinking_source: false,
        items: vec![ItemFinding {
            parameter: Parameter::Nh3N,
            value,
            limit_v: Some(NH3N_V),
            limit_target: Some(NH3N_III),
        }],
    }
}

struct Running {
    engine: AlertEngine,
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

fn start(db: &Path, cfg: AlertsConfig, notify: bool) -> Running {
    let engine = AlertEngine::open(db, cfg, chrono_tz::Asia::Shanghai).unwrap();
    let cancel = CancellationToken::new();
    let task = if notify {
        let (e, c) = (engine.clone(), cancel.clone());
        tokio::spawn(async move {
            e.run_notifiers(c).await.unwrap();
        })
    } else {
        tokio::spawn(async {})
    };
    Running {
        engine,
        cancel,
        task,
    }
}

async fn stop(r: Running) {
    r.cancel.cancel();
    tokio::time::timeout(Duration::from_secs(5), r.task)
        .await
        .expect("notifier stops within 5 s")
        .unwrap();
    drop(r.engine);
}

fn feed(r: &Running, range: std::ops::RangeInclusive<usize>) {
    for i in range {
        r.engine.observe_water(&observation(i)).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inferior_v_hysteresis_n2_m2_with_restarts() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("envwatch.db");
    let secret_file = tmp.path().join("webhook-secret");
    std::fs::write(&secret_file, format!("{SECRET}\n")).unwrap();
    let receiver = Receiver::start(ReceiverConfig {
        webhook_secret: SECRET.into(),
        dingtalk_token: String::new(),
        dingtalk_secret: String::new(),
        fail_first: 0,
    })
    .await;
    let cfg = || config(&receiver, &secret_file);

    // Run 1: readings 0..=5; the firing at reading 4 is delivered.
    let r = start(&db, cfg(), true);
    feed(&r, 0..=5);
    let got = receiver.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1);
    stop(r).await;

    // Run 2 (restart): the source replays readings 4 and 5 (at-least-once ingest), then
    // 6..=8 arrive while the notifier is NOT running: the resolved message must wait in
    // the outbox, not be lost, and the replay must not count twice.
    let r = start(&db, cfg(), false);
    feed(&r, 4..=8);
    stop(r).await;

    // Run 3 (restart): the notifier drains the queued resolved message, then 9..=10.
    let r = start(&db, cfg(), true);
    feed(&r, 9..=10);
    let got = receiver.wait_for(3, Duration::from_secs(10)).await;
    // Give any duplicate the chance to arrive before judging.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let got_final = receiver.accepted();
    stop(r).await;
    assert_eq!(got.len(), 3);

    let summary: Vec<(String, String)> = got_final
        .iter()
        .map(|m| {
            (
                m.json["kind"].as_str().unwrap_or("?").to_string(),
                m.json["at"].as_str().unwrap_or("?").to_string(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = [("firing", 4), ("resolved", 8), ("firing", 10)]
        .iter()
        .map(|(k, i)| {
            (
                k.to_string(),
                serde_json::to_value(hour(*i))
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(
        summary, expected,
        "exactly these notifications, in order, no duplicate"
    );
    let log = receiver.log.lock().unwrap();
    assert!(
        log.rejected.is_empty(),
        "signature failures: {:?}",
        log.rejected
    );
    drop(log);

    // The ids are distinct (dedup key for receivers).
    let ids: std::collections::BTreeSet<&str> = got_final
        .iter()
        .filter_map(|m| m.json["id"].as_str())
        .collect();
    assert_eq!(ids.len(), 3);

    // The firing message names section, river, the item that set the class, its value,
    // and exceedance multiples of the class V limit and of the target (III) limit:
    // (3.2 − 2.0)/2.0 = 0.60, (3.2 − 1.0)/1.0 = 2.20.
    let text = got_final[0].json["text"].as_str().unwrap();
    for want in [
        "奉口",
        "yh-w03",
        "东苕溪",
        "劣Ⅴ类",
        "氨氮",
        "3.2 mg/L",
        "超Ⅴ类标准 0.60 倍",
        "超目标（Ⅲ类）标准 2.20 倍",
        "2026-07-01 12:00", // reading 4 = 04:00 UTC = 12:00 Asia/Shanghai
    ] {
        assert!(text.contains(want), "firing text lacks {want:?}:\n{text}");
    }
    let resolved = got_final[1].json["text"].as_str().unwrap();
    assert!(resolved.contains("Ⅳ类"), "{resolved}");

    // The stored state agrees: firing since reading 10, three notifications.
    let engine = AlertEngine::open(&db, cfg(), chrono_tz::Asia::Shanghai).unwrap();
    let states = engine.states().unwrap();
    assert_eq!(states.len(), 1);
    assert_eq!(states[0].status.as_str(), "firing");
    assert_eq!(states[0].notifications, 3);
}
