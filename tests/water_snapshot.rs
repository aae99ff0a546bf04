//! Our class vs the class PUBLISHED by the national surface-water automatic-station
//! real-time platform, on the real snapshot in ../shared/data
//! (`water_sample_20260204_snapshot.csv`, STANDARDS.md S28).
//!
//! The file has no river/lake flag. Water bodies come from this documented lookup by
//! section name (UNVERIFIED, from geography, see README.md "Water"):
//! - 小金山, 三潭岛: points on 千岛湖 (Xin'anjiang reservoir) → reservoir;
//! - 海口西: 滇池 (Dianchi) near its outlet at 海口 → lake (it has no TP value anyway);
//! - every other section → river (the Zhejiang rows are river sections; 东大河滇池入湖口
//!   is a river mouth entering Dianchi).
//!
//! Result (raw values, real-time practice): 21 of 22 published classes reproduced. The one
//! kind of disagreement is explained in `KNOWN_MISSES`.

mod common;

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use envwatch::judge::water::{JudgeOptions, Period, SectionInfo, WaterInput, classify};
use envwatch::model::{DataFlag, Reading, SiteId};
use envwatch::standards::parameter::Parameter;
use envwatch::standards::water::{Conc, WaterBody, WaterClass, item_class};

/// Published class we do not reproduce, with why:
/// 永昌桥 shows TP = 0.200 mg/L, exactly the river class III limit, and every other item
/// at class II or better, so GB 3838 gives III; the platform publishes IV. The page shows
/// TP to 3 decimals: the instrument value was most likely a little above 0.200 (e.g.
/// 0.2004) and the platform classes the unrounded value (STANDARDS.md 3.5). With lake
/// limits 0.200 would be V, not IV, so it is not a lake/river mix-up.
const KNOWN_MISSES: &[(&str, WaterClass, WaterClass)] =
    &[("永昌桥", WaterClass::III, WaterClass::IV)];

fn data_dir() -> Option<PathBuf> {
    common::shared_data(&["water_sample_20260204_snapshot.csv"])
}

fn water_body(name: &str) -> WaterBody {
    match name {
        "小金山" | "三潭岛" => WaterBody::Reservoir,
        "海口西" => WaterBody::Lake,
        _ => WaterBody::River,
    }
}

struct Row {
    name: String,
    time: DateTime<Utc>,
    values: Vec<(Parameter, f64)>,
    published: Option<WaterClass>,
}

fn load() -> Option<Vec<Row>> {
    let dir = data_dir()?;
    let path = dir.join("water_sample_20260204_snapshot.csv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("{}: no column {name}", path.display()))
    };
    let measured = [
        ("pH", Parameter::Ph),
        ("DO", Parameter::Do),
        ("CODMn", Parameter::CodMn),
        ("NH3N", Parameter::Nh3N),
        ("TP", Parameter::Tp),
        ("TN", Parameter::Tn),
        ("water_temp_C", Parameter::WaterTemperature),
        ("conductivity_uS_cm", Parameter::Conductivity),
        ("turbidity_NTU", Parameter::Turbidity),
        ("chla_mg_L", Parameter::ChlorophyllA),
    ];
    let (c_section, c_time, c_pub) = (col("section"), col("time"), col("published_class_norm"));
    let rows = lines
        .enumerate()
        .map(|(i, line)| {
            let f: Vec<&str> = line.split(',').collect();
            let get = |c: usize| f.get(c).copied().unwrap_or("").trim();
            let time = DateTime::parse_from_rfc3339(get(c_time))
                .unwrap_or_else(|e| panic!("line {}: time: {e}", i + 2))
                .with_timezone(&Utc);
            let values = measured
                .iter()
                .filter_map(|(name, p)| {
                    let v = get(col(name));
                    (!v.is_empty()).then(|| {
                        let x: f64 = v
                            .parse()
                            .unwrap_or_else(|e| panic!("line {}: {name}: {e}", i + 2));
                        (*p, x)
                    })
                })
                .collect();
            let published = match get(c_pub) {
                "" => None,
                s => Some(s.parse().unwrap_or_else(|e| panic!("line {}: {e}", i + 2))),
            };
            Row {
                name: get(c_section).to_string(),
                time,
                values,
                published,
            }
        })
        .collect();
    Some(rows)
}

/// Our classes (per reading) for the rows, with water bodies from `body`.
fn our_classes(
    rows: &[Row],
    body: impl Fn(&str) -> WaterBody,
    opts: &JudgeOptions,
) -> Vec<Option<WaterClass>> {
    let sections: Vec<SectionInfo> = rows
        .iter()
        .map(|r| SectionInfo {
            id: SiteId::new(r.name.clone()),
            name: r.name.clone(),
            waterbody: body(&r.name),
            target: None,
            drinking_source: false,
            district: None,
        })
        .collect();
    let readings: Vec<Reading> = rows
        .iter()
        .flat_map(|r| {
            r.values.iter().map(|(p, v)| Reading {
                period: envwatch::model::Period::Hour,
                site: SiteId::new(r.name.clone()),
                parameter: *p,
                time: r.time,
                value: *v,
                flag: DataFlag::N,
            })
        })
        .collect();
    let (input, _) =
        WaterInput::from_readings(sections, &readings).unwrap_or_else(|e| panic!("{e}"));
    let [c] = classify(&input, [Period::Reading], opts).unwrap_or_else(|e| panic!("{e}"));
    rows.iter()
        .map(|row| {
            c.rows
                .iter()
                .find(|r| c.section(r).name == row.name)
                .and_then(|r| r.class)
        })
        .collect()
}

/// A disagreement: section, our class, published class.
type Miss = (String, Option<WaterClass>, WaterClass);

/// (agreeing, compared, misses).
fn agreement(rows: &[Row], ours: &[Option<WaterClass>]) -> (usize, usize, Vec<Miss>) {
    let mut misses = Vec::new();
    let mut n = 0;
    for (row, our) in rows.iter().zip(ours) {
        let Some(published) = row.published else {
            continue;
        };
        n += 1;
        if *our != Some(published) {
            misses.push((row.name.clone(), *our, published));
        }
    }
    (n - misses.len(), n, misses)
}

#[test]
fn published_classes_are_reproduced() {
    let Some(rows) = load() else { return };
    let ours = our_classes(&rows, water_body, &JudgeOptions::default());
    let (ok, n, misses) = agreement(&rows, &ours);
    println!(
        "agreement (raw values, documented water bodies): {ok}/{n} = {:.1}%",
        100.0 * ok as f64 / n as f64
    );
    for m in &misses {
        println!("  miss: {} ours {:?} published {:?}", m.0, m.1, m.2);
    }
    assert_eq!(n, 22, "22 sections have a published class");
    let expected: Vec<_> = KNOWN_MISSES
        .iter()
        .map(|(s, o, p)| (s.to_string(), Some(*o), *p))
        .collect();
    assert_eq!(misses, expected);
    // The row without a published class has no data at all: no class from us either.
    for (row, our) in rows.iter().zip(&ours) {
        if row.published.is_none() {
            assert!(row.values.is_empty() && our.is_none(), "{}", row.name);
        }
    }
}

#[test]
fn ph_outside_6_to_9_is_published_inferior_v() {
    let Some(rows) = load() else { return };
    let ours = our_classes(&rows, water_body, &JudgeOptions::default());
    let mut seen = 0;
    for (row, our) in rows.iter().zip(&ours) {
        let ph = row
            .values
            .iter()
            .find(|(p, _)| *p == Parameter::Ph)
            .map(|(_, v)| *v);
        if ph.is_some_and(|v| !(6.0..=9.0).contains(&v)) {
            seen += 1;
            assert_eq!(row.published, Some(WaterClass::InferiorV), "{}", row.name);
            assert_eq!(*our, Some(WaterClass::InferiorV), "{}", row.name);
        }
    }
    // 东大河滇池入湖口 pH 9.34 and 海口西 pH 9.29.
    assert_eq!(seen, 2);
}

/// The alternatives STANDARDS.md 3.5 reports, recomputed: all-river limits, all-lake
/// limits, TN folded into the class, rounding before classing. Printed for the report;
/// asserted only where the data decide unambiguously.
#[test]
fn alternative_rules_explain_the_choice() {
    let Some(rows) = load() else { return };
    let river = agreement(
        &rows,
        &our_classes(&rows, |_| WaterBody::River, &JudgeOptions::default()),
    );
    let lake = agreement(
        &rows,
        &our_classes(&rows, |_| WaterBody::Lake, &JudgeOptions::default()),
    );
    let rounded_opts = JudgeOptions {
        round_before_classing: true,
        ..JudgeOptions::default()
    };
    let rounded = agreement(&rows, &our_classes(&rows, water_body, &rounded_opts));
    // TN folded in (lake TN limits) on top of our classes.
    let ours = our_classes(&rows, water_body, &JudgeOptions::default());
    let with_tn: Vec<Option<WaterClass>> = rows
        .iter()
        .zip(&ours)
        .map(|(row, our)| {
            let tn = row
                .values
                .iter()
                .find(|(p, _)| *p == Parameter::Tn)
                .and_then(|(_, v)| item_class(Parameter::Tn, WaterBody::Lake, Conc::from_f64(*v)?));
            (*our).max(tn)
        })
        .collect();
    let tn = agreement(&rows, &with_tn);
    println!(
        "all river limits: {}/{}; all lake limits: {}/{}; TN in the class: {}/{}; rounded before classing: {}/{}",
        river.0, river.1, lake.0, lake.1, tn.0, tn.1, rounded.0, rounded.1
    );
    for (name, o, p) in &rounded.2 {
        println!("  rounded miss: {name} ours {o:?} published {p:?}");
    }
    // Same result as our lookup: the reservoir points are class I either way.
    assert_eq!(river.0, 21);
    // Lake TP limits for every section lose 9 Zhejiang river sections (STANDARDS.md 3.5
    // found 12/22 independently).
    assert_eq!(lake.0, 12);
    // TN in the class disagrees with most publications: the platform leaves TN out (6/22).
    assert_eq!(tn.0, 6);
    // Rounding pH to an integer (2020 rule: 0 decimals) turns 9.29/9.34 into 9 → inside
    // 6–9: the real-time platform does not round before classing.
    assert!(rounded.2.iter().any(|(n, _, _)| n == "海口西"));
}
