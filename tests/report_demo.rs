//! `envwatch report` on the demo's store: its good-day figures and section classes equal
//! what the offline commands (`air ratio`, `water classify`) compute independently from
//! the same readings exported as CSV.

mod report_support;

use report_support::*;

#[test]
fn report_numbers_match_the_offline_judges() {
    let tmp = tempfile::tempdir().unwrap();
    let config = demo(&tmp.path().join("demo"), 7);
    let db = tmp.path().join("demo/state/envwatch.db");
    let (stations, sections) = sites(&config);
    let air_csv = tmp.path().join("air.csv");
    let water_csv = tmp.path().join("water.csv");
    assert!(export_csv(&db, &stations, &air_csv) > 1000);
    assert!(export_csv(&db, &sections, &water_csv) > 100);

    // Independent air figures.
    let out = run_ok(
        envwatch()
            .args(["air", "ratio", "--input"])
            .arg(&air_csv)
            .arg("--stations")
            .arg(config.join("stations.toml")),
    );
    let (h, rows) = csv(&out.stdout);
    let (kind, label, good, valid) = (
        col(&h, "period"),
        col(&h, "label"),
        col(&h, "good_days"),
        col(&h, "valid_days"),
    );
    let months: Vec<&Vec<String>> = rows.iter().filter(|r| r[kind] == "month").collect();
    assert!(!months.is_empty(), "no month rows from air ratio");

    // Report each month the demo touched (the demo's days may straddle a month end).
    for m in &months {
        let month = &m[label];
        let rep = tmp.path().join(format!("report-{month}"));
        run_ok(
            envwatch()
                .args(["report", "--config"])
                .arg(&config)
                .args(["--period", month, "--out"])
                .arg(&rep),
        );
        let html =
            std::fs::read_to_string(rep.join(format!("envwatch-report-{month}.html"))).unwrap();
        let expect = format!(
            "<td>{month}</td><td class=\"good\">{}</td><td class=\"valid\">{}</td>",
            m[good], m[valid]
        );
        assert!(html.contains(&expect), "report lacks {expect}");
        assert!(html.contains("优良天数比例"), "Chinese by default");

        // Month class of every section (`water classify --period month`), day classes of
        // one section (`--period day`).
        let out = run_ok(
            envwatch()
                .args(["water", "classify", "--period", "month", "--input"])
                .arg(&water_csv)
                .arg("--sections")
                .arg(config.join("sections.toml")),
        );
        let (h, rows) = csv(&out.stdout);
        let (sec, per, class) = (col(&h, "section"), col(&h, "period"), col(&h, "class"));
        let mut checked = 0;
        for r in rows
            .iter()
            .filter(|r| &r[per] == month && !r[class].is_empty())
        {
            let row_start = html
                .find(&format!("<tr data-section=\"{}\">", r[sec]))
                .unwrap_or_else(|| panic!("no section row {}", r[sec]));
            let row = &html[row_start..row_start + html[row_start..].find("</tr>").unwrap()];
            let zh = match r[class].as_str() {
                "I" => "Ⅰ类",
                "II" => "Ⅱ类",
                "III" => "Ⅲ类",
                "IV" => "Ⅳ类",
                "V" => "Ⅴ类",
                _ => "劣Ⅴ类",
            };
            assert!(
                row.contains("<td class=\"class\"><span class=\"swatch\"")
                    && row.contains(&format!("</span>{zh}</td>")),
                "section {} month {month}: classify says {}, report row {row}",
                r[sec],
                r[class]
            );
            checked += 1;
        }
        assert!(checked >= 3, "only {checked} sections checked");

        let out = run_ok(
            envwatch()
                .args(["water", "classify", "--period", "day", "--input"])
                .arg(&water_csv)
                .arg("--sections")
                .arg(config.join("sections.toml")),
        );
        let (h, rows) = csv(&out.stdout);
        let (sec, per, class) = (col(&h, "section"), col(&h, "period"), col(&h, "class"));
        let one = "YH-04";
        let days_start = html
            .find(&format!("<tr data-days-of=\"{one}\">"))
            .expect("daily class appendix");
        let days_row = &html[days_start..days_start + html[days_start..].find("</tr>").unwrap()];
        let mut n = 0;
        for r in rows
            .iter()
            .filter(|r| r[sec] == one && r[per].starts_with(month.as_str()) && !r[class].is_empty())
        {
            let cell = format!("{}:{}", r[per], r[class]);
            assert!(
                days_row.contains(&cell),
                "{one}: {cell} missing in {days_row}"
            );
            n += 1;
        }
        assert!(n >= 1, "no day classes of {one} in {month}");
    }

    // The year report carries the year's good-day total (the year row of air ratio).
    let year_row = rows_year(&tmp, &air_csv, &config);
    let year = &year_row.0;
    let rep = tmp.path().join("report-year");
    run_ok(
        envwatch()
            .args(["report", "--config"])
            .arg(&config)
            .args(["--period", year, "--lang", "en", "--out"])
            .arg(&rep),
    );
    let html = std::fs::read_to_string(rep.join(format!("envwatch-report-{year}.html"))).unwrap();
    let expect = format!("({} good days / {} valid days)", year_row.1, year_row.2);
    assert!(html.contains(&expect), "year report lacks {expect}");
    assert!(html.contains("Good-air day ratio"));

    // Markdown: same headline numbers, charts as files next to it.
    let md_dir = tmp.path().join("report-md");
    run_ok(
        envwatch()
            .args(["report", "--config"])
            .arg(&config)
            .args(["--period", year, "--lang", "en", "--format", "md", "--out"])
            .arg(&md_dir),
    );
    let md = std::fs::read_to_string(md_dir.join(format!("envwatch-report-{year}.md"))).unwrap();
    assert!(md.contains(&expect), "markdown lacks {expect}");
    for chart in [
        "monthly-good-days",
        "aqi-calendar",
        "pollutant-trends",
        "section-classes",
    ] {
        let rel = format!("envwatch-report-{year}-charts/{chart}.svg");
        assert!(md.contains(&rel), "markdown does not link {rel}");
        let svg = std::fs::read_to_string(md_dir.join(&rel)).unwrap();
        assert!(svg.contains("<svg"), "{rel} is not SVG");
    }
}

/// (year, good days, valid days) of the first year row of `air ratio`.
fn rows_year(
    _tmp: &tempfile::TempDir,
    air_csv: &std::path::Path,
    config: &std::path::Path,
) -> (String, String, String) {
    let out = run_ok(
        envwatch()
            .args(["air", "ratio", "--input"])
            .arg(air_csv)
            .arg("--stations")
            .arg(config.join("stations.toml")),
    );
    let (h, rows) = csv(&out.stdout);
    let r = rows
        .iter()
        .find(|r| r[col(&h, "period")] == "year")
        .expect("year row");
    (
        r[col(&h, "label")].clone(),
        r[col(&h, "good_days")].clone(),
        r[col(&h, "valid_days")].clone(),
    )
}

#[test]
fn bad_period_is_a_clear_error() {
    let out = envwatch()
        .args([
            "report",
            "--config",
            "config",
            "--period",
            "2026-13",
            "--out",
            "/tmp/envwatch-report-never",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--period 2026-13"), "{err}");
}
