//! `envwatch water classify` end to end: CSV in, CSV out, bad lines reported by line.
//! Expected classes come from GB 3838-2002 Table 1 (STANDARDS.md 3.1).

use std::process::Command;

const SECTIONS: &str = r#"
[[section]]
id = "YH-01"
name = "奉口"
river = "东苕溪"
waterbody = "river"
target = "II"
district = "余杭区"

[[section]]
id = "YH-03"
name = "四岭水库"
river = "四岭水库"
waterbody = "reservoir"
drinking_source = true
target = "II"
district = "余杭区"
"#;

// Line numbers matter: the errors below name lines 5, 6, 7 and 8.
const INPUT: &str = "station,time,parameter,value,flag
YH-01,2026-02-04T08:00:00+08:00,NH3-N,2.31,N
YH-01,2026-02-04T08:00:00+08:00,DO,8.1,N
YH-03,2026-02-04T08:00:00+08:00,TP,0.03,N
XX-99,2026-02-04T08:00:00+08:00,TP,0.03,N
YH-01,2026-02-04T08:00:00+08:00,PM2.5,35,N
YH-01,2026-02-04T08:00:00+08:00,FOO,1,N
YH-01,2026-02-04T12:00:00+08:00,NH3-N,0.4
YH-03,2026-02-04T12:00:00+08:00,TN,0.8,N
YH-03,2026-02-04T12:00:00+08:00,TP,0.02,N
";

fn run(period: &str) -> (String, String) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let sections = dir.path().join("sections.toml");
    let input = dir.path().join("input.csv");
    let out = dir.path().join("out.csv");
    std::fs::write(&sections, SECTIONS).unwrap_or_else(|e| panic!("{e}"));
    // Line 8 has no flag field: still a valid row (flag defaults to N).
    std::fs::write(&input, INPUT).unwrap_or_else(|e| panic!("{e}"));
    let output = Command::new(env!("CARGO_BIN_EXE_envwatch"))
        .args(["water", "classify", "--period", period, "--input"])
        .arg(&input)
        .arg("--sections")
        .arg(&sections)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap_or_else(|e| panic!("cannot run envwatch: {e}"));
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert!(output.status.success(), "envwatch failed: {stderr}");
    (std::fs::read_to_string(&out).unwrap_or_default(), stderr)
}

#[test]
fn classify_per_reading_reports_bad_lines_and_writes_csv() {
    let (csv, stderr) = run("reading");
    assert!(
        stderr.contains("input.csv:5: unknown section \"XX-99\""),
        "{stderr}"
    );
    assert!(
        stderr.contains("input.csv:6: parameter PM2.5 is not a water parameter"),
        "{stderr}"
    );
    assert!(
        stderr.contains("input.csv:7: field parameter: unknown parameter \"FOO\""),
        "{stderr}"
    );
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "section,name,waterbody,period,class,items,exceedance_iii,exceedance_target,exceedance_v,separate,target,compliant,drinking_source,drinking_compliant,readings"
    );
    // NH3-N 2.31 > 2.0 → 劣V, multiples (C−L)/L vs III 1.31, vs target II (0.5) 3.62, vs V 0.155.
    assert_eq!(
        lines[1],
        "YH-01,奉口,river,2026-02-04T08:00:00+08:00,劣V,NH3-N=2.31,NH3-N=1.31,NH3-N=3.62,NH3-N=0.16,,II,false,false,,2"
    );
    // NH3-N 0.4 → II = target.
    assert_eq!(
        lines[2],
        "YH-01,奉口,river,2026-02-04T12:00:00+08:00,II,NH3-N=0.4,,,,,II,true,false,,1"
    );
    // Reservoir TP 0.03: lake limits 0.025 < 0.03 <= 0.05 → III; drinking target II → not compliant.
    assert_eq!(
        lines[3],
        "YH-03,四岭水库,reservoir,2026-02-04T08:00:00+08:00,III,TP=0.03,,TP=0.2,,,II,false,true,false,1"
    );
    // TN judged separately on the reservoir (0.8 → III), class from TP 0.02 → II.
    assert_eq!(
        lines[4],
        "YH-03,四岭水库,reservoir,2026-02-04T12:00:00+08:00,II,TP=0.02,,,,TN=0.8:III,II,true,true,true,2"
    );
    assert_eq!(lines.len(), 5);
}

#[test]
fn classify_per_day_prints_district_ratios() {
    let (csv, stderr) = run("day");
    let lines: Vec<&str> = csv.lines().collect();
    // Day means: NH3-N (2.31 + 0.4)/2 = 1.355 → IV; TP (0.03 + 0.02)/2 = 0.025 → II (lake).
    assert!(
        lines[1].starts_with("YH-01,奉口,river,2026-02-04,IV,NH3-N=1.355,"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with("YH-03,四岭水库,reservoir,2026-02-04,II,TP=0.025,"),
        "{}",
        lines[2]
    );
    assert!(
        stderr.contains("district 余杭区 2026-02-04: sections compliant 1/2 (50.0%); drinking sources compliant 1/1 (100.0%"),
        "{stderr}"
    );
}
