//! `envwatch alerts test RULE` sends a signed test message to a real loopback receiver
//! and reports each channel; `envwatch alerts list` shows the state in the store.

mod alert_support;

use std::path::Path;
use std::process::Command;

use alert_support::{NH3N_III, NH3N_V, Receiver, ReceiverConfig};
use chrono::{TimeZone, Utc};
use envwatch::alert::{AlertEngine, ItemFinding, ObservedPeriod, WaterObservation};
use envwatch::model::SiteId;
use envwatch::standards::parameter::Parameter;
use envwatch::standards::water::{TargetClass, WaterClass};

const SECRET: &str = "cli-webhook-secret";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The shipped config with its `[alerts]` replaced by one webhook channel to `url`
/// (plus a disabled DingTalk robot) and the state directory in `dir`.
fn write_config(dir: &Path, url: &str) {
    std::fs::create_dir_all(dir.join("pipelines")).unwrap();
    for f in ["stations.toml", "sections.toml"] {
        std::fs::copy(repo().join("config").join(f), dir.join(f)).unwrap();
    }
    for e in std::fs::read_dir(repo().join("pipelines")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dir.join("pipelines").join(p.file_name().unwrap())).unwrap();
    }
    let shipped = std::fs::read_to_string(repo().join("config/envwatch.toml")).unwrap();
    let head = &shipped[..shipped.find("[alerts]").expect("shipped [alerts]")];
    let head = head.replacen(
        "[general]\n",
        &format!("[general]\nstate_dir = \"{}\"\n", dir.display()),
        1,
    );
    std::fs::write(dir.join("secret"), SECRET).unwrap();
    let alerts = format!(
        r#"
[alerts]
[alerts.channels.hook]
kind = "webhook"
url = "{url}"
secret = "file:{}"
[alerts.channels.robot]
kind = "dingtalk"
enabled = false
access_token = "env:ENVWATCH_TEST_SURELY_UNSET_TOKEN"
[alerts.rules.water_inferior_v]
severity = "critical"
channels = ["hook", "robot"]
"#,
        dir.join("secret").display()
    );
    std::fs::write(dir.join("envwatch.toml"), format!("{head}{alerts}")).unwrap();
}

fn envwatch(args: &[&str], dir: &Path) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_envwatch"))
        .args(args)
        .arg("--config")
        .arg(dir)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_and_list() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let receiver = Receiver::start(ReceiverConfig {
        webhook_secret: SECRET.into(),
        dingtalk_token: String::new(),
        dingtalk_secret: String::new(),
        fail_first: 0,
    })
    .await;
    write_config(&dir, &receiver.url("/hook"));

    let d = dir.clone();
    let (ok, out) =
        tokio::task::spawn_blocking(move || envwatch(&["alerts", "test", "water_inferior_v"], &d))
            .await
            .unwrap();
    assert!(ok, "{out}");
    assert!(out.contains("channel hook (webhook): OK"), "{out}");
    assert!(
        out.contains("channel robot (dingtalk): skipped, disabled"),
        "{out}"
    );
    let got = receiver.accepted();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].json["kind"], "test");
    assert!(receiver.log.lock().unwrap().rejected.is_empty());

    let d = dir.clone();
    let (ok, out) = tokio::task::spawn_blocking(move || envwatch(&["alerts", "test", "nope"], &d))
        .await
        .unwrap();
    assert!(!ok && out.contains("unknown rule \"nope\""), "{out}");

    let d = dir.clone();
    let (ok, out) = tokio::task::spawn_blocking(move || envwatch(&["alerts", "list"], &d))
        .await
        .unwrap();
    assert!(ok && out.contains("no alert state yet"), "{out}");

    // A firing alert in the store (the daemon's engine writes the same tables).
    let cfg = envwatch::config::Config::load(&dir).unwrap();
    let engine = AlertEngine::open(
        &dir.join("envwatch.db"),
        cfg.daemon.alerts.unwrap(),
        chrono_tz::Asia::Shanghai,
    )
    .unwrap();
    engine
        .observe_water(&WaterObservation {
            section: SiteId::new("yh-w03"),
            name: "奉口".into(),
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
        })
        .unwrap();
    drop(engine);
    let d = dir.clone();
    let (ok, out) = tokio::task::spawn_blocking(move || envwatch(&["alerts", "list"], &d))
        .await
        .unwrap();
    assert!(ok, "{out}");
    let row = out
        .lines()
        .find(|l| l.starts_with("water_inferior_v"))
        .unwrap_or_else(|| panic!("no row:\n{out}"));
    assert!(row.contains("yh-w03") && row.contains("firing"), "{row}");
    // 2026-07-01 00:00 UTC shown in Asia/Shanghai.
    assert!(row.contains("2026-07-01 08:00"), "{row}");
    assert!(out.contains("channel hook: 1 waiting, 0 given up"), "{out}");
}
