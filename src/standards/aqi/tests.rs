//! Pins every breakpoint of both editions against the standard's own numbers.
//!
//! The tables below are re-typed from HJ 633-2012 Table 1 and HJ 633-2026 Table 3 in the
//! standard's units (CO in mg/m3), independently of `Indicator::breakpoints`. Values one
//! unit above/below a breakpoint are checked against the standard's formula (§4.2) with
//! ceiling, evaluated here in f64 with a tolerance — a second implementation, not our output.

use super::*;

/// (indicator, edition-specific column in natural units). IAQI rows 0,50,100,150,200,300,400,500.
fn standard_table(edition: Edition) -> Vec<(Indicator, Vec<f64>)> {
    let pm10_100 = if edition == Edition::Hj633_2026 {
        120.0
    } else {
        150.0
    };
    let pm25_100 = if edition == Edition::Hj633_2026 {
        60.0
    } else {
        75.0
    };
    vec![
        (
            Indicator::So2Day,
            vec![0., 50., 150., 475., 800., 1600., 2100., 2620.],
        ),
        (Indicator::So2Hour, vec![0., 150., 500., 650., 800.]),
        (
            Indicator::No2Day,
            vec![0., 40., 80., 180., 280., 565., 750., 940.],
        ),
        (
            Indicator::No2Hour,
            vec![0., 100., 200., 700., 1200., 2340., 3090., 3840.],
        ),
        (
            Indicator::Pm10Day,
            vec![0., 50., pm10_100, 250., 350., 420., 500., 600.],
        ),
        (Indicator::CoDay, vec![0., 2., 4., 14., 24., 36., 48., 60.]),
        (
            Indicator::CoHour,
            vec![0., 5., 10., 35., 60., 90., 120., 150.],
        ),
        (
            Indicator::O3Hour,
            vec![0., 160., 200., 300., 400., 800., 1000., 1200.],
        ),
        (Indicator::O3Eight, vec![0., 100., 160., 215., 265., 800.]),
        (
            Indicator::Pm25Day,
            vec![0., 35., pm25_100, 115., 150., 250., 350., 500.],
        ),
    ]
}

const ROWS: [f64; 8] = [0., 50., 100., 150., 200., 300., 400., 500.];

/// HJ 633 §4.2 formula + ceiling, in floats with a tolerance (reference implementation).
fn reference_iaqi(col: &[f64], c: f64) -> u16 {
    for k in 0..col.len() - 1 {
        if c <= col[k + 1] + 1e-9 {
            let v = (ROWS[k + 1] - ROWS[k]) / (col[k + 1] - col[k]) * (c - col[k]) + ROWS[k];
            return (v - 1e-9).ceil() as u16;
        }
    }
    panic!("above table")
}

fn units(ind: Indicator, natural: f64) -> i64 {
    (natural * 10f64.powi(ind.pollutant().decimals() as i32)).round() as i64
}

fn value(edition: Edition, ind: Indicator, natural: f64) -> Option<Iaqi> {
    iaqi(edition, ind, units(ind, natural))
}

#[test]
fn every_breakpoint_at_above_and_below_both_editions() {
    for edition in [Edition::Hj633_2012, Edition::Hj633_2026] {
        for (ind, col) in standard_table(edition) {
            let step = 1.0 / 10f64.powi(ind.pollutant().decimals() as i32);
            for (k, &bp) in col.iter().enumerate() {
                // exactly at the breakpoint: the row's IAQI
                assert_eq!(
                    value(edition, ind, bp),
                    Some(Iaqi::Value(ROWS[k] as u16)),
                    "{edition} {ind} at {bp}"
                );
                if k > 0 {
                    let below = bp - step;
                    assert_eq!(
                        value(edition, ind, below),
                        Some(Iaqi::Value(reference_iaqi(&col, below))),
                        "{edition} {ind} at {below}"
                    );
                    // one unit below a breakpoint is still inside the lower segment
                    assert!(reference_iaqi(&col, below) <= ROWS[k] as u16);
                }
                if k + 1 < col.len() {
                    let above = bp + step;
                    let expect = reference_iaqi(&col, above);
                    assert_eq!(
                        value(edition, ind, above),
                        Some(Iaqi::Value(expect)),
                        "{edition} {ind} at {above}"
                    );
                    // ceiling: one unit above a breakpoint is strictly above its IAQI
                    assert!(expect > ROWS[k] as u16, "{edition} {ind} at {above}");
                }
            }
            // below zero: not a concentration
            assert_eq!(iaqi(edition, ind, -1), None);
        }
    }
}

#[test]
fn above_the_top_row() {
    let e12 = Edition::Hj633_2012;
    let e26 = Edition::Hj633_2026;
    // SO2 1 h > 800: 2012 note 2 → use the 24-h IAQI; 2026 note b → 200.
    assert_eq!(
        iaqi(e12, Indicator::So2Hour, 801),
        Some(Iaqi::UseInstead(Indicator::So2Day))
    );
    assert_eq!(iaqi(e26, Indicator::So2Hour, 801), Some(Iaqi::Value(200)));
    assert_eq!(iaqi(e26, Indicator::So2Hour, 5000), Some(Iaqi::Value(200)));
    // O3 8 h > 800: 2012 note 3 → use the 1-h IAQI; 2026 note c → 300.
    assert_eq!(
        iaqi(e12, Indicator::O3Eight, 801),
        Some(Iaqi::UseInstead(Indicator::O3Hour))
    );
    assert_eq!(iaqi(e26, Indicator::O3Eight, 801), Some(Iaqi::Value(300)));
    // Other columns: capped at 500 (UNVERIFIED rule, see iaqi()).
    assert_eq!(iaqi(e12, Indicator::Pm25Day, 501), Some(Iaqi::Value(500)));
    assert_eq!(iaqi(e26, Indicator::CoDay, 601), Some(Iaqi::Value(500)));
}

#[test]
fn standards_md_test_vectors() {
    // STANDARDS.md 1.3 table: (indicator, concentration, 2012, 2026)
    let cases = [
        (Indicator::Pm25Day, 35.0, 50, 50),
        (Indicator::Pm25Day, 36.0, 52, 52),
        (Indicator::Pm25Day, 60.0, 82, 100),
        (Indicator::Pm25Day, 61.0, 83, 101),
        (Indicator::Pm25Day, 75.0, 100, 114),
        (Indicator::Pm25Day, 80.0, 107, 119),
        (Indicator::Pm10Day, 121.0, 86, 101),
        (Indicator::Pm10Day, 151.0, 101, 112),
        (Indicator::CoDay, 1.1, 28, 28),
        (Indicator::O3Eight, 161.0, 101, 101),
        (Indicator::So2Day, 151.0, 101, 101),
    ];
    for (ind, c, v12, v26) in cases {
        assert_eq!(
            value(Edition::Hj633_2012, ind, c),
            Some(Iaqi::Value(v12)),
            "2012 {ind} {c}"
        );
        assert_eq!(
            value(Edition::Hj633_2026, ind, c),
            Some(Iaqi::Value(v26)),
            "2026 {ind} {c}"
        );
    }
}

#[test]
fn gbt8170_rounding() {
    // 四舍六入五成双: only an exact 5 rounds to even.
    assert_eq!(round_gbt8170_scaled(0.5, 0), Some(0));
    assert_eq!(round_gbt8170_scaled(1.5, 0), Some(2));
    assert_eq!(round_gbt8170_scaled(2.5, 0), Some(2));
    assert_eq!(round_gbt8170_scaled(2.51, 0), Some(3));
    assert_eq!(round_gbt8170_scaled(2.49, 0), Some(2));
    assert_eq!(round_gbt8170_scaled(1.25, 1), Some(12));
    assert_eq!(round_gbt8170_scaled(1.35, 1), Some(14));
    assert_eq!(round_gbt8170_scaled(1.351, 1), Some(14));
    // decimal meaning, not binary: 0.15 is exactly five hundredths → 0.2
    assert_eq!(round_gbt8170_scaled(0.15, 1), Some(2));
    assert_eq!(round_gbt8170_scaled((1.2 + 1.1) / 2.0, 1), Some(12));
    assert_eq!(round_gbt8170_scaled(74.5, 0), Some(74));
    assert_eq!(round_gbt8170_scaled(75.5, 0), Some(76));
    assert_eq!(round_gbt8170_scaled(f64::NAN, 0), None);
}

#[test]
fn edition_switch_on_2026_03_01() {
    let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
    assert_eq!(Edition::for_date(d(2026, 2, 28)), Edition::Hj633_2012);
    assert_eq!(Edition::for_date(d(2026, 3, 1)), Edition::Hj633_2026);
    assert_eq!(Edition::for_date(d(2019, 11, 11)), Edition::Hj633_2012);
    assert_eq!(
        EditionChoice::Y2026.resolve(d(2019, 1, 1)),
        Edition::Hj633_2026
    );
    assert_eq!(
        EditionChoice::Y2012.resolve(d(2027, 1, 1)),
        Edition::Hj633_2012
    );
    assert_eq!(
        EditionChoice::Auto.resolve(d(2026, 3, 1)),
        Edition::Hj633_2026
    );
    // The same day's data judged by each edition: PM2.5 70 is good in 2012, not in 2026.
    let c = DailyConcentrations {
        so2_24h: Some(5.0),
        no2_24h: Some(20.0),
        pm10_24h: Some(60.0),
        co_24h: Some(0.6),
        pm25_24h: Some(70.0),
        o3_1h_max: Some(80.0),
        o3_8h_max: Some(60.0),
    };
    let before = daily_aqi(Edition::for_date(d(2026, 2, 28)), &c);
    let after = daily_aqi(Edition::for_date(d(2026, 3, 1)), &c);
    // 2012: 50 + ceil(50·35/40) = 94; 2026: 100 + ceil(50·10/55) = 110
    assert_eq!(before.aqi, Some(Aqi(94)));
    assert_eq!(after.aqi, Some(Aqi(110)));
    assert!(before.aqi.unwrap().is_good());
    assert!(!after.aqi.unwrap().is_good());
}

#[test]
fn daily_indicator_sets() {
    assert_eq!(Edition::Hj633_2012.daily_indicators().len(), 7);
    assert_eq!(Edition::Hj633_2026.daily_indicators().len(), 6);
    assert!(
        !Edition::Hj633_2026
            .daily_indicators()
            .contains(&Indicator::O3Hour)
    );
    // O3 1 h max 250 (IAQI 125) drives the 2012 daily AQI but not the 2026 one.
    let c = DailyConcentrations {
        so2_24h: Some(5.0),
        no2_24h: Some(20.0),
        pm10_24h: Some(40.0),
        co_24h: Some(0.5),
        pm25_24h: Some(20.0),
        o3_1h_max: Some(250.0),
        o3_8h_max: Some(150.0),
    };
    let r12 = daily_aqi(Edition::Hj633_2012, &c);
    assert_eq!(r12.aqi, Some(Aqi(125)));
    assert_eq!(r12.primary, vec![Indicator::O3Hour]);
    let r26 = daily_aqi(Edition::Hj633_2026, &c);
    // O3 8h 150: 50 + ceil(50·50/60) = 92
    assert_eq!(r26.aqi, Some(Aqi(92)));
    assert_eq!(r26.primary, vec![Indicator::O3Eight]);
}

#[test]
fn daily_o3_8h_above_800() {
    let c = DailyConcentrations {
        so2_24h: Some(5.0),
        no2_24h: Some(20.0),
        pm10_24h: Some(40.0),
        co_24h: Some(0.5),
        pm25_24h: Some(20.0),
        o3_1h_max: Some(1100.0),
        o3_8h_max: Some(850.0),
    };
    // 2012: O3 8h has no IAQI, the 1-h value (1100 → 450) is the day's O3 index.
    let r12 = daily_aqi(Edition::Hj633_2012, &c);
    assert_eq!(r12.aqi, Some(Aqi(450)));
    assert_eq!(r12.iaqi_of(Indicator::O3Eight), None);
    assert!(r12.complete());
    // 2026: O3 8h > 800 → 300; the 1-h maximum is not an indicator.
    let r26 = daily_aqi(Edition::Hj633_2026, &c);
    assert_eq!(r26.aqi, Some(Aqi(300)));
    assert_eq!(r26.iaqi_of(Indicator::O3Eight), Some(300));
}

#[test]
fn hourly_so2_above_800() {
    let c = HourlyConcentrations {
        so2: Some(900.0),
        no2: Some(20.0),
        pm10: Some(40.0),
        co: Some(0.5),
        o3: Some(20.0),
        pm25: Some(20.0),
        so2_24h: Some(300.0),
    };
    // 2012: SO2 24-h 300 → 100 + ceil(50·150/325) = 124
    let r12 = hourly_aqi(Edition::Hj633_2012, &c);
    assert_eq!(r12.aqi, Some(Aqi(124)));
    assert_eq!(r12.primary, vec![Indicator::So2Day]);
    // 2026: 200
    let r26 = hourly_aqi(Edition::Hj633_2026, &c);
    assert_eq!(r26.aqi, Some(Aqi(200)));
    assert_eq!(r26.primary, vec![Indicator::So2Hour]);
    // 2012 without a 24-h mean: SO2 cannot be indexed.
    let r = hourly_aqi(
        Edition::Hj633_2012,
        &HourlyConcentrations { so2_24h: None, ..c },
    );
    assert_eq!(r.missing, vec![Indicator::So2Hour]);
}

#[test]
fn hourly_pm_uses_24h_columns() {
    // PM2.5 1-h 80 on the 24-h column (2012): 100 + ceil(50·5/40) = 107
    let c = HourlyConcentrations {
        so2: Some(5.0),
        no2: Some(20.0),
        pm10: Some(40.0),
        co: Some(0.5),
        o3: Some(20.0),
        pm25: Some(80.0),
        so2_24h: None,
    };
    assert_eq!(hourly_aqi(Edition::Hj633_2012, &c).aqi, Some(Aqi(107)));
}

#[test]
fn primary_pollutants_ties_and_threshold() {
    // PM2.5 35 and PM10 50 both give 50: AQI 50 → no primary pollutant.
    let mut c = DailyConcentrations {
        so2_24h: Some(5.0),
        no2_24h: Some(10.0),
        pm10_24h: Some(50.0),
        co_24h: Some(0.5),
        pm25_24h: Some(35.0),
        o3_1h_max: Some(50.0),
        o3_8h_max: Some(40.0),
    };
    let r = daily_aqi(Edition::Hj633_2012, &c);
    assert_eq!(r.aqi, Some(Aqi(50)));
    assert!(r.primary.is_empty());
    // PM2.5 75 and PM10 150 both 100 (2012): a tie, both primary.
    c.pm10_24h = Some(150.0);
    c.pm25_24h = Some(75.0);
    let r = daily_aqi(Edition::Hj633_2012, &c);
    assert_eq!(r.aqi, Some(Aqi(100)));
    assert_eq!(r.primary, vec![Indicator::Pm10Day, Indicator::Pm25Day]);
    assert_eq!(
        r.primary_pollutants(),
        vec![Pollutant::Pm10, Pollutant::Pm25]
    );
    assert!(r.non_attainment().is_empty());
}

#[test]
fn missing_indicators() {
    let c = DailyConcentrations {
        pm25_24h: Some(80.0),
        ..Default::default()
    };
    let r = daily_aqi(Edition::Hj633_2012, &c);
    assert_eq!(r.missing.len(), 6);
    assert_eq!(r.aqi, Some(Aqi(107)));
    // > 100 from what is present: publishable (HJ 633-2026 §5.3.1)
    assert_eq!(r.publishable_aqi(), Some(Aqi(107)));
    let c = DailyConcentrations {
        pm25_24h: Some(40.0),
        ..Default::default()
    };
    assert_eq!(daily_aqi(Edition::Hj633_2012, &c).publishable_aqi(), None);
}

#[test]
fn levels_names_and_colours() {
    let edges = [
        (0, 1),
        (50, 1),
        (51, 2),
        (100, 2),
        (101, 3),
        (150, 3),
        (151, 4),
        (200, 4),
        (201, 5),
        (300, 5),
        (301, 6),
        (500, 6),
    ];
    for (aqi, level) in edges {
        assert_eq!(Aqi(aqi).level().number(), level, "AQI {aqi}");
    }
    assert_eq!(Level::L1.name_zh(), "优");
    assert_eq!(Level::L3.name_zh(), "轻度污染");
    assert_eq!(Level::L6.name_en(), "Severely polluted");
    assert_eq!(Level::L5.rgb(), (153, 0, 76));
    assert_eq!(Level::L6.rgb(), (126, 0, 35));
    assert_eq!(Level::L2.colour_en(), "yellow");
    assert!(Aqi(100).is_good());
    assert!(!Aqi(101).is_good());
}
