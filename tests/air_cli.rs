//! `envwatch air daily|ratio` end to end: bad rows reported with line numbers and
//! skipped, `--strict` fatal, city rows and ratios in the documented CSV shape.

use std::path::Path;
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_envwatch"))
}

fn stations() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("config/stations.toml")
        .display()
        .to_string()
}

/// One clean day of 1223A (labels 01:00 … 24:00, end-labelled) plus bad rows.
fn fixture(dir: &Path) -> String {
    let mut s = String::from("station,time,parameter,value,flag\n");
    for h in 1..=24u32 {
        let t = format!("2019-11-11T{h:02}:00:00+08:00");
        for (p, v) in [
            ("SO2", "8"),
            ("a21004", "40"), // NO2 by HJ 212 code
            ("PM10", "70"),
            ("CO", "0.9"),
            ("O3", "60"),
            ("PM2.5", "50"),
        ] {
            s.push_str(&format!("1223A,{t},{p},{v},N\n"));
        }
    }
    s.push_str("1223A,not-a-time,PM2.5,50,N\n"); // line 146
    s.push_str("1223A,2019-11-11T05:00:00+08:00,PM1,50,N\n"); // line 147
    s.push_str("1223A,2019-11-11T05:00:00+08:00,PM10,-4,N\n"); // line 148
    s.push_str("9999X,2019-11-11T05:00:00+08:00,PM10,40,N\n"); // line 149
    let path = dir.join("in.csv");
    std::fs::write(&path, s).unwrap();
    path.display().to_string()
}

#[test]
fn daily_reports_bad_rows_and_writes_station_and_city_rows() {
    let dir = tempfile::tempdir().unwrap();
    let input = fixture(dir.path());
    let out = bin()
        .args(["air", "daily", "--input", &input, "--stations", &stations()])
        .args(["--hour-label", "end"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    for line in [
        "line 146: field time",
        "line 147: field parameter",
        "line 148: field value",
        "line 149: field station",
    ] {
        assert!(err.contains(line), "missing {line:?} in {err}");
    }
    let csv = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<&str> = csv.lines().collect();
    assert!(rows[0].starts_with("kind,date,site,city,edition,aqi,level"));
    // PM2.5 50 → 50 + ceil(50·15/40) = 69; PM10 70 → 60; NO2 40 → 50 ⇒ 69, 良, PM2.5
    let st = rows
        .iter()
        .find(|r| r.starts_with("station,2019-11-11,1223A"))
        .unwrap();
    assert!(
        st.contains(",2012,69,2,良,PM2.5_24h,8,40,70,0.9,50,60,60,1,1,"),
        "{st}"
    );
    // the city has only 1223A: same concentrations, same AQI; other stations have no data
    let city = rows
        .iter()
        .find(|r| r.starts_with("city,2019-11-11"))
        .unwrap();
    assert!(city.contains(",69,2,"), "{city}");
    let other = rows
        .iter()
        .find(|r| r.starts_with("station,2019-11-11,1224A"))
        .unwrap();
    assert!(other.ends_with(",0,0,no valid data"), "{other}");
}

#[test]
fn strict_stops_at_the_first_bad_row() {
    let dir = tempfile::tempdir().unwrap();
    let input = fixture(dir.path());
    let out = bin()
        .args([
            "air",
            "daily",
            "--strict",
            "--input",
            &input,
            "--stations",
            &stations(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 146"));
}

#[test]
fn ratio_rows() {
    let dir = tempfile::tempdir().unwrap();
    let input = fixture(dir.path());
    let out = bin()
        .args(["air", "ratio", "--input", &input, "--stations", &stations()])
        .args(["--hour-label", "end", "--target", "0.8"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let csv = String::from_utf8_lossy(&out.stdout);
    let month = csv.lines().find(|l| l.contains(",month,2019-11,")).unwrap();
    // one valid good day; 2019-11-11 leaves 50 days in the year
    assert!(
        month.contains(",2019-11-11,2019-11-11,1,1,1,1.0000,100.0,0.8,1,1,1,50,1.0000,1"),
        "{month}"
    );
}
