//! The water judge end to end on small hand-made fixtures whose answers come from the
//! GB 3838-2002 Table 1 limits (STANDARDS.md 3.1–3.6), not from our own output.

use chrono::{DateTime, Utc};
use envwatch::config::daemon::Targets;
use envwatch::judge::water::{
    JudgeOptions, Period, SectionInfo, WaterInput, classify, district_status, transitions,
};
use envwatch::model::{DataFlag, Reading, SiteId};
use envwatch::standards::parameter::Parameter as P;
use envwatch::standards::water::{Conc, TargetClass, WaterBody, WaterClass};

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|e| panic!("bad time {s}: {e}"))
}

fn r(site: &str, time: &str, p: envwatch::standards::parameter::Parameter, v: f64) -> Reading {
    Reading {
        period: envwatch::model::Period::Hour,
        site: SiteId::new(site),
        parameter: p,
        time: t(time),
        value: v,
        flag: DataFlag::N,
    }
}

fn section(id: &str, body: WaterBody, target: WaterClass, drinking: bool) -> SectionInfo {
    SectionInfo {
        id: SiteId::new(id),
        name: format!("name of {id}"),
        waterbody: body,
        target: Some(TargetClass(target)),
        drinking_source: drinking,
        district: Some("余杭区".to_string()),
    }
}

fn d(s: &str) -> Conc {
    Conc::parse(s).unwrap_or_else(|| panic!("bad decimal {s}"))
}

#[test]
fn reading_day_and_month_classes_from_period_means() {
    let sections = vec![section("R1", WaterBody::River, WaterClass::III, false)];
    let readings = vec![
        // Day 1 (local): NH3-N 0.9 (III) and 1.2 (IV) → day mean 1.05 → IV.
        r("R1", "2026-02-04T08:00:00+08:00", P::Nh3N, 0.9),
        r("R1", "2026-02-04T20:00:00+08:00", P::Nh3N, 1.2),
        // 23:30 local on Feb 4 is 15:30 UTC; still Feb 4 locally.
        r("R1", "2026-02-04T23:30:00+08:00", P::Do, 7.5),
        // Day 2: 00:30 local is Feb 4 16:30 UTC but Feb 5 locally. NH3-N 0.3 → II.
        r("R1", "2026-02-05T00:30:00+08:00", P::Nh3N, 0.3),
    ];
    let (input, skips) =
        WaterInput::from_readings(sections, &readings).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        skips.unknown_section + skips.invalid_flag + skips.not_classable,
        0
    );
    let [reading, day, month] = classify(
        &input,
        [Period::Reading, Period::Day, Period::Month],
        &JudgeOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let classes: Vec<_> = reading.rows.iter().map(|r| r.class).collect();
    use WaterClass::*;
    assert_eq!(classes, vec![Some(III), Some(IV), Some(I), Some(II)]);

    assert_eq!(day.rows.len(), 2);
    assert_eq!(day.period_label(&day.rows[0]), "2026-02-04");
    assert_eq!(day.rows[0].class, Some(IV));
    assert_eq!(day.rows[0].items.len(), 1);
    let nh3 = &day.rows[0].items[0];
    assert_eq!((nh3.parameter, nh3.value), (P::Nh3N, d("1.05")));
    // (1.05 − 1.0) / 1.0 against class III, which is also the target.
    assert!(
        nh3.vs_iii()
            .is_some_and(|e| (e.multiple - 0.05).abs() < 1e-9)
    );
    assert!(
        nh3.vs_target()
            .is_some_and(|e| (e.multiple - 0.05).abs() < 1e-9)
    );
    assert_eq!(nh3.vs_v(), None);
    assert_eq!(day.compliant(&day.rows[0]), Some(false));
    assert_eq!(day.rows[1].class, Some(II));
    assert_eq!(day.compliant(&day.rows[1]), Some(true));

    // Month: mean of ALL the month's NH3-N readings (0.9, 1.2, 0.3) = 0.8 → III,
    // not a mean of daily means (1.05, 0.3 → 0.675 → III too, but value differs).
    assert_eq!(month.rows.len(), 1);
    assert_eq!(month.period_label(&month.rows[0]), "2026-02");
    let m = &month.rows[0];
    assert_eq!(m.class, Some(III));
    assert_eq!(m.items[0].value, d("0.8"));
    assert_eq!(m.readings, 4);
}

#[test]
fn ph_period_mean_uses_hydrogen_ions_and_outside_6_9_is_inferior_v() {
    let sections = vec![section("R1", WaterBody::River, WaterClass::III, false)];
    let readings = vec![
        r("R1", "2026-02-04T08:00:00+08:00", P::Ph, 6.0),
        r("R1", "2026-02-04T12:00:00+08:00", P::Ph, 9.6),
    ];
    let (input, _) =
        WaterInput::from_readings(sections, &readings).unwrap_or_else(|e| panic!("{e}"));
    let [reading, day] = classify(
        &input,
        [Period::Reading, Period::Day],
        &JudgeOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(reading.rows[0].class, Some(WaterClass::I));
    assert_eq!(reading.rows[1].class, Some(WaterClass::InferiorV));
    assert_eq!(reading.rows[1].items[0].parameter, P::Ph);
    // Mean H+ = (1e-6 + 10^-9.6)/2 → pH 6.3009…, inside 6–9 (the arithmetic mean 7.8
    // would be too, but the value must be the H+ mean).
    let v = day.rows[0].items[0].value.to_f64();
    assert!((v - 6.300_92).abs() < 1e-4, "{v}");
    assert_eq!(day.rows[0].class, Some(WaterClass::I));
}

#[test]
fn lake_tp_tn_and_flags() {
    let sections = vec![
        section("L1", WaterBody::Lake, WaterClass::III, true),
        section("R1", WaterBody::River, WaterClass::III, false),
    ];
    let mut bad = r("R1", "2026-02-04T08:00:00+08:00", P::Nh3N, 5.0);
    bad.flag = DataFlag::D;
    let readings = vec![
        r("L1", "2026-02-04T08:00:00+08:00", P::Tp, 0.15),
        r("L1", "2026-02-04T08:00:00+08:00", P::Tn, 2.5),
        r("L1", "2026-02-04T08:00:00+08:00", P::WaterTemperature, 30.0),
        r("R1", "2026-02-04T08:00:00+08:00", P::Tp, 0.15),
        r("R1", "2026-02-04T08:00:00+08:00", P::Tn, 2.5),
        bad,
        r("X9", "2026-02-04T08:00:00+08:00", P::Tp, 0.15),
    ];
    let (input, skips) =
        WaterInput::from_readings(sections, &readings).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(skips.invalid_flag, 1);
    assert_eq!(skips.unknown_section, 1);
    assert_eq!(skips.not_classable, 1);
    let [c] = classify(&input, [Period::Reading], &JudgeOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let lake = &c.rows[0];
    // Lake TP 0.15: 0.1 < 0.15 <= 0.2 → V; river TP 0.15 → III.
    assert_eq!(lake.class, Some(WaterClass::V));
    assert!(
        lake.items[0]
            .vs_iii()
            .is_some_and(|e| (e.multiple - 2.0).abs() < 1e-9)
    );
    // TN judged separately on the lake (2.5 > 2.0 → 劣V), never in the class.
    assert_eq!(lake.separate.len(), 1);
    assert_eq!(lake.separate[0].class, WaterClass::InferiorV);
    assert_eq!(c.drinking_compliant(lake), Some(false));
    let river = &c.rows[1];
    assert_eq!(river.class, Some(WaterClass::III));
    assert!(river.separate.is_empty());
    // The flagged NH3-N 5.0 never entered the river's class.
    assert!(river.items.iter().all(|i| i.parameter == P::Tp));
}

#[test]
fn rounding_before_classing_is_an_option() {
    let sections = vec![section("R1", WaterBody::River, WaterClass::III, false)];
    let readings = vec![r("R1", "2026-02-04T08:00:00+08:00", P::Tp, 0.2004)];
    let (input, _) =
        WaterInput::from_readings(sections, &readings).unwrap_or_else(|e| panic!("{e}"));
    let [raw] = classify(&input, [Period::Reading], &JudgeOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(raw.rows[0].class, Some(WaterClass::IV));
    let opts = JudgeOptions {
        round_before_classing: true,
        ..JudgeOptions::default()
    };
    let [rounded] = classify(&input, [Period::Reading], &opts).unwrap_or_else(|e| panic!("{e}"));
    // TP is evaluated with 3 decimals: 0.2004 → 0.200 = the class III limit → III.
    assert_eq!(rounded.rows[0].class, Some(WaterClass::III));
}

#[test]
fn transitions_carry_items_and_exceedance() {
    let sections = vec![section("R1", WaterBody::River, WaterClass::III, false)];
    let readings = vec![
        r("R1", "2026-02-04T08:00:00+08:00", P::Nh3N, 0.9),
        r("R1", "2026-02-04T12:00:00+08:00", P::Nh3N, 0.95),
        r("R1", "2026-02-04T16:00:00+08:00", P::Nh3N, 2.31),
        r("R1", "2026-02-04T20:00:00+08:00", P::Nh3N, 0.8),
    ];
    let (input, _) =
        WaterInput::from_readings(sections, &readings).unwrap_or_else(|e| panic!("{e}"));
    let [c] = classify(&input, [Period::Reading], &JudgeOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let ts = transitions(&c);
    use WaterClass::*;
    let steps: Vec<_> = ts.iter().map(|t| (t.from, t.to)).collect();
    assert_eq!(
        steps,
        vec![(None, III), (Some(III), InferiorV), (Some(InferiorV), III)]
    );
    let worse = &ts[1];
    assert!(worse.is_worse());
    assert_eq!(worse.at, t("2026-02-04T16:00:00+08:00"));
    assert_eq!(worse.compliant, Some(false));
    let text = worse.to_string();
    // 2.31 / 2.0 = 1.155 → "1.16×" (STANDARDS.md 3.3: multiple (C − L)/L = 0.155).
    assert!(text.contains("III -> 劣V"), "{text}");
    assert!(
        text.contains("NH3-N = 2.31 mg/L (1.16× the class V limit"),
        "{text}"
    );
    assert!(
        worse.items[0]
            .vs_v()
            .is_some_and(|e| (e.multiple - 0.155).abs() < 1e-9)
    );
}

#[test]
fn district_ratios_against_targets() {
    let mut other = section("R3", WaterBody::River, WaterClass::IV, false);
    other.district = Some("临平区".to_string());
    let sections = vec![
        section("D1", WaterBody::Reservoir, WaterClass::II, true),
        section("D2", WaterBody::River, WaterClass::II, true),
        section("R1", WaterBody::River, WaterClass::III, false),
        other,
    ];
    let day = "2026-02-04T08:00:00+08:00";
    let readings = vec![
        // D1 reservoir TP 0.02 → II (lake limits) → drinking compliant.
        r("D1", day, P::Tp, 0.02),
        // D2 river NH3-N 0.6 → III > target II → not compliant.
        r("D2", day, P::Nh3N, 0.6),
        // R1 DO 1.5 → 劣V.
        r("R1", day, P::Do, 1.5),
        // R3 (other district) CODMn 9 → IV = target.
        r("R3", day, P::CodMn, 9.0),
    ];
    let (input, _) =
        WaterInput::from_readings(sections, &readings).unwrap_or_else(|e| panic!("{e}"));
    let [c] =
        classify(&input, [Period::Day], &JudgeOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let st = district_status(&c, &Targets::default());
    assert_eq!(st.len(), 2);
    let (linping, yuhang) = (&st[0], &st[1]);
    assert_eq!(yuhang.district, "余杭区");
    assert_eq!((yuhang.sections, yuhang.compliant_sections), (3, 1));
    assert_eq!(
        (yuhang.drinking_sources, yuhang.compliant_drinking_sources),
        (2, 1)
    );
    assert_eq!(yuhang.drinking_ratio, Some(0.5));
    assert_eq!(yuhang.inferior_v_sections, 1);
    assert!(!yuhang.targets_met());
    assert_eq!(linping.district, "临平区");
    assert_eq!(linping.section_ratio, Some(1.0));
    assert!(linping.targets_met());
}

#[test]
fn empty_input_gives_no_rows() {
    let sections = vec![section("R1", WaterBody::River, WaterClass::III, false)];
    let readings = vec![r(
        "R1",
        "2026-02-04T08:00:00+08:00",
        P::WaterTemperature,
        12.0,
    )];
    let (input, skips) =
        WaterInput::from_readings(sections, &readings).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((input.len(), skips.not_classable), (0, 1));
    let [a, b, c] = classify(
        &input,
        [Period::Reading, Period::Day, Period::Month],
        &JudgeOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(a.rows.is_empty() && b.rows.is_empty() && c.rows.is_empty());
}

#[test]
fn readings_in_any_order_give_the_same_classes() {
    // Two sections, readings shuffled across sections and times (the judge sorts).
    // R1: NH3-N 0.9 (III) at 08:00, 1.2 (IV) at 20:00 → day mean 1.05 → IV.
    // R2: NH3-N 2.5 (> 2.0, 劣V) at 08:00 with DO 7.5 (I); TP 0.15 (III) at 12:00.
    let sections = vec![
        section("R1", WaterBody::River, WaterClass::III, false),
        section("R2", WaterBody::River, WaterClass::III, false),
    ];
    let readings = vec![
        r("R2", "2026-02-04T12:00:00+08:00", P::Tp, 0.15),
        r("R1", "2026-02-04T20:00:00+08:00", P::Nh3N, 1.2),
        r("R2", "2026-02-04T08:00:00+08:00", P::Nh3N, 2.5),
        r("R1", "2026-02-04T08:00:00+08:00", P::Nh3N, 0.9),
        r("R2", "2026-02-04T08:00:00+08:00", P::Do, 7.5),
    ];
    let (input, _) =
        WaterInput::from_readings(sections, &readings).unwrap_or_else(|e| panic!("{e}"));
    let [reading, day] = classify(
        &input,
        [Period::Reading, Period::Day],
        &JudgeOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    use WaterClass::*;
    let got: Vec<_> = reading
        .rows
        .iter()
        .map(|r| (reading.section(r).id.as_str(), r.start, r.class, r.readings))
        .collect();
    assert_eq!(
        got,
        vec![
            ("R1", t("2026-02-04T08:00:00+08:00"), Some(III), 1),
            ("R1", t("2026-02-04T20:00:00+08:00"), Some(IV), 1),
            ("R2", t("2026-02-04T08:00:00+08:00"), Some(InferiorV), 2),
            ("R2", t("2026-02-04T12:00:00+08:00"), Some(III), 1),
        ]
    );
    let days: Vec<_> = day.rows.iter().map(|r| (r.class, r.readings)).collect();
    assert_eq!(days, vec![(Some(IV), 2), (Some(InferiorV), 3)]);
}
