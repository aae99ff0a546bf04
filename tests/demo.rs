//! `envwatch demo` end to end: embedded broker, simulator, the real daemon path, and a
//! summary whose numbers follow from the standards for the simulated data:
//! - the polluted day's PM2.5 24-h mean is ~160 µg/m³ (> 150: IAQI > 200 in both HJ 633
//!   editions), every other day's ~30 µg/m³ (IAQI < 50, other pollutants lower): 6 of 7
//!   days good, ratio 85.7 % >= 80 %;
//! - the slipping section's NH3-N is 2.6 mg/L > 2.0 (GB 3838 class V limit) on the last
//!   days: inferior class V; every other section stays within class II limits;
//! - four bad packets: wrong CRC, truncated, garbage, unknown MN.

use std::process::Command;

use serde_json::Value;

#[test]
fn demo_summary_matches_the_simulated_events() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_envwatch"))
        .args(["demo", "--days", "7", "--out"])
        .arg(tmp.path())
        .output()
        .expect("run envwatch demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "demo failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(s["valid_days"], 7, "{s:#}");
    assert_eq!(s["good_days"], 6, "{s:#}");
    assert!(stdout.contains("good days 6/7 valid = 85.7%"), "{stdout}");
    assert!(stdout.contains("target >= 80%: MET"), "{stdout}");
    let polluted = s["polluted_days"].as_array().unwrap();
    assert_eq!(polluted.len(), 1, "{s:#}");
    let aqi = polluted[0][1].as_u64().unwrap();
    assert!((201..=300).contains(&aqi), "polluted-day AQI {aqi}");
    assert_eq!(polluted[0][2], "PM2.5");
    // The middle day of the seven is the polluted one.
    let first =
        chrono::NaiveDate::parse_from_str(s["first_day"].as_str().unwrap(), "%Y-%m-%d").unwrap();
    assert_eq!(
        polluted[0][0].as_str().unwrap(),
        (first + chrono::Duration::days(3)).to_string()
    );

    let sections = s["sections"].as_array().unwrap();
    assert_eq!(sections.len(), 6, "{s:#}");
    for sec in sections {
        if sec["id"] == "YH-04" {
            assert_eq!(sec["class"], "劣V", "{sec}");
            assert_eq!(sec["compliant"], false);
            assert!(
                sec["items"].as_str().unwrap().contains("NH3-N = 2.6"),
                "{sec}"
            );
        } else {
            assert_eq!(sec["class"], "II", "{sec}");
            assert_eq!(sec["compliant"], true, "{sec}");
        }
    }
    assert_eq!(s["drinking_sources"], 2);
    assert_eq!(s["drinking_sources_compliant"], 2);
    assert_eq!(s["inferior_v_sections"], serde_json::json!(["YH-04"]));
    let alerts = s["alerts"].as_array().unwrap();
    assert!(
        alerts
            .iter()
            .any(|a| a[0] == "water_inferior_v" && a[1] == "YH-04" && a[2] == "firing"),
        "{alerts:?}"
    );
    assert!(
        alerts.iter().any(|a| a[0] == "air_polluted_day"),
        "{alerts:?}"
    );
    let dead = s["dead_letters"].as_array().unwrap();
    let reasons: Vec<&str> = dead.iter().map(|d| d[1].as_str().unwrap()).collect();
    assert_eq!(dead.len(), 4, "{reasons:?}");
    for kind in [
        "crc_mismatch",
        "length_mismatch",
        "missing_header",
        "unknown_mn",
    ] {
        assert!(
            reasons.iter().any(|r| r.starts_with(kind)),
            "{kind} not in {reasons:?}"
        );
    }
    // Every simulated reading was stored: 7 days x 24 h x 11 stations x 6 pollutants,
    // plus 7 x 6 readings x (4 rivers x 6 + 2 (1 reservoir with TN) ...) water values.
    let stored = s["readings_stored"].as_u64().unwrap();
    assert!(stored >= 7 * 24 * 11 * 6, "{stored}");
    // The demo ends with the month's quality report (self-contained HTML).
    let report = s["report"].as_str().expect("report path in the summary");
    let html = std::fs::read_to_string(report).expect("report file");
    assert!(
        html.contains("<svg") && html.contains("YH-04"),
        "report lacks charts/sections"
    );
    // The line-protocol sink holds daily results and targets.
    let lp = std::fs::read_to_string(tmp.path().join("envwatch.lp")).unwrap();
    for m in [
        "air_hourly,",
        "air_daily,",
        "air_target,",
        "water_reading,",
        "water_class,",
        "water_target,",
        "envwatch_alert,",
    ] {
        assert!(
            lp.lines().any(|l| l.starts_with(m)),
            "no {m} point in the sink"
        );
    }
}
