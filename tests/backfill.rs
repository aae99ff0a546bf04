//! `envwatch backfill` of an HJ 212 log: readings stored, bad lines dead-lettered with
//! their line, a second run resumes after the committed lines, `--dry-run` stores nothing.

use std::path::Path;
use std::process::Command;

use chrono::NaiveDate;
use envwatch::decode::hj212::{OutFactor, OutHeader, encode_packet};
use envwatch::model::DataFlag;
use envwatch::store::Store;

const MN: &str = "33010000A0001223AIR00001"; // 1223A in config/stations.toml

fn copy_config(dir: &Path, state: &Path) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::create_dir_all(dir.join("pipelines")).unwrap();
    for f in ["stations.toml", "sections.toml"] {
        std::fs::copy(repo.join("config").join(f), dir.join(f)).unwrap();
    }
    std::fs::write(
        dir.join("envwatch.toml"),
        format!("[general]\nstate_dir = \"{}\"\n", state.display()),
    )
    .unwrap();
    std::fs::copy(
        repo.join("pipelines/air-hj212-mqtt.toml"),
        dir.join("pipelines/air-hj212-mqtt.toml"),
    )
    .unwrap();
}

fn packet(hour: u32, pm25: f64) -> String {
    let h = OutHeader {
        qn: None,
        st: "22",
        cn: "2061",
        pw: "123456",
        mn: MN,
        flag: 4,
        part: None,
    };
    let t = NaiveDate::from_ymd_opt(2026, 10, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        + chrono::Duration::hours(i64::from(hour));
    encode_packet(
        &h,
        t,
        &[
            OutFactor {
                code: "a34004",
                value: pm25,
                flag: DataFlag::N,
            },
            OutFactor {
                code: "a34002",
                value: pm25 * 1.5,
                flag: DataFlag::N,
            },
        ],
    )
}

fn envwatch(config: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_envwatch"))
        .arg("backfill")
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .expect("run envwatch backfill")
}

#[test]
fn backfill_stores_dead_letters_and_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let (config, state) = (tmp.path().join("config"), tmp.path().join("state"));
    copy_config(&config, &state);
    let log = tmp.path().join("air.log");
    let mut text = String::new();
    for h in 0..240 {
        text.push_str(&packet(h, 30.0 + f64::from(h % 24)));
    }
    // Line 241: a packet whose CRC is wrong; line 242: garbage.
    let bad = packet(300, 40.0).replace("\r\n", "");
    let bad = format!("{}0000\r\n", &bad[..bad.len() - 4]);
    text.push_str(&bad);
    text.push_str("not a packet at all\n");
    std::fs::write(&log, &text).unwrap();
    let log_s = log.to_str().unwrap();

    let dry = envwatch(
        &config,
        &["--pipeline", "air-hj212-mqtt", "--from", log_s, "--dry-run"],
    );
    assert!(
        dry.status.success(),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    let stdout = String::from_utf8_lossy(&dry.stdout);
    assert_eq!(
        stdout.lines().count(),
        1 + 480,
        "header + 2 readings x 240 packets"
    );
    assert!(
        !state.join("envwatch.db").exists(),
        "dry run must not create the store"
    );

    let out = envwatch(&config, &["--pipeline", "air-hj212-mqtt", "--from", log_s]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("480 readings, 2 dead letters"), "{stderr}");

    let store = Store::open(&state.join("envwatch.db"), chrono_tz::Asia::Shanghai).unwrap();
    assert_eq!(store.count_readings().unwrap(), 480);
    let letters = store.dead_letters(10).unwrap();
    assert_eq!(letters.len(), 2);
    assert!(
        letters
            .iter()
            .any(|d| d.origin.ends_with(":241") && d.reason.contains("CRC")),
        "{letters:#?}"
    );
    assert!(
        letters.iter().any(|d| d.origin.ends_with(":242")),
        "{letters:#?}"
    );
    drop(store);

    // A second run resumes after the committed lines: nothing to read, nothing doubled.
    let again = envwatch(&config, &["--pipeline", "air-hj212-mqtt", "--from", log_s]);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("0 lines, 0 readings"), "{stderr}");
    // New lines appended to the log are picked up from where the last run stopped.
    let mut more = text.clone();
    more.push_str(&packet(500, 12.0));
    std::fs::write(&log, more).unwrap();
    let third = envwatch(&config, &["--pipeline", "air-hj212-mqtt", "--from", log_s]);
    let stderr = String::from_utf8_lossy(&third.stderr);
    assert!(stderr.contains("1 lines, 2 readings"), "{stderr}");
    let store = Store::open(&state.join("envwatch.db"), chrono_tz::Asia::Shanghai).unwrap();
    assert_eq!(store.count_readings().unwrap(), 482);
    assert_eq!(store.count_dead_letters().unwrap(), 2);
}

#[test]
fn csv_backfill_validates_dead_letters_by_line_and_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let (config, state) = (tmp.path().join("config"), tmp.path().join("state"));
    copy_config(&config, &state);
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::copy(
        repo.join("pipelines/history-csv.toml"),
        config.join("pipelines/history-csv.toml"),
    )
    .unwrap();
    let csv = tmp.path().join("history.csv");
    let mut text = String::from("station,time,parameter,value,flag\n");
    for h in 0..300 {
        let t = chrono::DateTime::parse_from_rfc3339("2026-09-01T00:00:00+08:00").unwrap()
            + chrono::Duration::hours(h);
        text.push_str(&format!(
            "1223A,{},PM2.5,{},N\n",
            t.to_rfc3339(),
            20 + h % 7
        ));
    }
    text.push_str("1223A,not-a-time,PM2.5,30,N\n"); // line 302: bad time
    text.push_str("9999Z,2026-09-01T00:00:00+08:00,PM2.5,30,N\n"); // line 303: unknown site
    text.push_str("YH-01,2026-09-01T00:00:00+08:00,NH3-N,0.4,N\n"); // line 304: water section ok
    std::fs::write(&csv, &text).unwrap();
    let path = csv.to_str().unwrap();
    let out = envwatch(&config, &["--pipeline", "history-csv", "--from", path]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("301 readings, 2 dead letters"), "{stderr}");
    let store = Store::open(&state.join("envwatch.db"), chrono_tz::Asia::Shanghai).unwrap();
    assert_eq!(store.count_readings().unwrap(), 301);
    let letters = store.dead_letters(10).unwrap();
    assert!(
        letters
            .iter()
            .any(|d| d.origin.ends_with(":302") && d.reason.contains("field time")),
        "{letters:#?}"
    );
    assert!(
        letters
            .iter()
            .any(|d| d.origin.ends_with(":303") && d.reason.contains("unknown site")),
        "{letters:#?}"
    );
    drop(store);
    let again = envwatch(&config, &["--pipeline", "history-csv", "--from", path]);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(
        stderr.contains("0 readings, 0 dead letters"),
        "resume re-read rows: {stderr}"
    );
}
