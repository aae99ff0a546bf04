//! Unit tests of the daily judgement on small constructed days whose answers follow from
//! the standards' rules by hand (stated in each test).

use chrono::TimeZone;

use super::*;
use crate::model::DataFlag;
use crate::standards::parameter::Parameter;

fn station(code: &str, city: &str, control: bool) -> Station {
    Station {
        code: SiteId::new(code),
        name: code.into(),
        city: city.into(),
        district: None,
        lon: None,
        lat: None,
        control,
        mn: None,
    }
}

/// Readings of one local day (Asia/Shanghai), hours given as local START hours.
fn day(
    site: &str,
    date: NaiveDate,
    hours: impl IntoIterator<Item = u32> + Clone,
    values: &[(Parameter, f64)],
) -> Vec<Reading> {
    let tz = chrono_tz::Asia::Shanghai;
    let mut out = Vec::new();
    for &(p, v) in values {
        for h in hours.clone() {
            let t = tz
                .from_local_datetime(&date.and_hms_opt(h, 0, 0).unwrap())
                .unwrap()
                .with_timezone(&chrono::Utc);
            out.push(Reading {
                period: crate::model::Period::Hour,
                site: SiteId::new(site),
                parameter: p,
                time: t,
                value: v,
                flag: DataFlag::N,
            });
        }
    }
    out
}

fn clean_day() -> Vec<(Parameter, f64)> {
    vec![
        (Parameter::So2, 10.0),
        (Parameter::No2, 30.0),
        (Parameter::Pm10, 60.0),
        (Parameter::Co, 0.8),
        (Parameter::O3, 100.0),
        (Parameter::Pm25, 40.0),
    ]
}

fn d(y: i32, m: u32, dd: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, dd).unwrap()
}

#[test]
fn twenty_hours_valid_nineteen_not() {
    let stations = [station("A", "X", false)];
    let mut r = day("A", d(2019, 11, 11), 0..20, &clean_day());
    r.extend(day("A", d(2019, 11, 12), 0..19, &clean_day()));
    let res = daily(&r, &stations, &AirOptions::default()).unwrap();
    let j11 = &res.stations[0].judgement;
    let j12 = &res.stations[1].judgement;
    // PM10 60 → 50 + ceil(50·10/100) = 55; PM2.5 40 → 50 + ceil(50·5/40) = 57;
    // O3 1 h 100 → ceil(100·50/160) = 32; O3 8 h 100 → 50 ⇒ AQI 57, PM2.5 primary.
    assert_eq!(j11.aqi(), Some(Aqi(57)));
    assert_eq!(j11.report.primary, vec![Indicator::Pm25Day]);
    assert!(j11.good() && j11.reasons.is_empty());
    assert!(!j12.valid());
    assert!(j12.reasons.contains(&InvalidReason::TooFewHours {
        indicator: Indicator::Pm25Day,
        hours: 19,
        need: 20
    }));
}

#[test]
fn flagged_hours_are_excluded() {
    let stations = [station("A", "X", false)];
    let mut r = day("A", d(2019, 11, 11), 0..24, &clean_day());
    // 5 PM2.5 hours in maintenance: 19 valid hours remain
    for x in r
        .iter_mut()
        .filter(|x| x.parameter == Parameter::Pm25)
        .take(5)
    {
        x.flag = DataFlag::M;
        x.value = 500.0; // would dominate if counted
    }
    let res = daily(&r, &stations, &AirOptions::default()).unwrap();
    let sd = &res.stations[0];
    assert_eq!(sd.stats.hours[4], 19);
    assert_eq!(sd.stats.mean[4], Some(40.0));
    assert!(!sd.judgement.valid());
}

#[test]
fn mda8_uses_the_17_windows_of_the_day_with_6_of_8() {
    let stations = [station("A", "X", false)];
    let date = d(2019, 7, 1);
    let mut r = day("A", date, 0..24, &clean_day()[..4]);
    r.extend(day("A", date, 0..24, &[(Parameter::Pm25, 20.0)]));
    // O3: 40 everywhere, 200 in start hours 10..=17 (window k=10, ending 18:00)
    for h in 0..24u32 {
        let v = if (10..=17).contains(&h) { 200.0 } else { 40.0 };
        r.extend(day("A", date, [h], &[(Parameter::O3, v)]));
    }
    let res = daily(&r, &stations, &AirOptions::default()).unwrap();
    let st = res.stations[0].stats;
    assert_eq!(st.o3_8h_windows, 17);
    assert_eq!(st.o3_8h_max, Some(200.0));
    assert_eq!(st.o3_1h_max, Some(200.0));

    // Drop 3 of the 8 high hours: that window has 5 values → invalid; best remaining
    // window k=7 (hours 7..=14: 40,40,40,200,200,200,200,200 minus 3 dropped 200s).
    let keep: Vec<Reading> = r
        .into_iter()
        .filter(|x| {
            let h = x.time.with_timezone(&chrono_tz::Asia::Shanghai).time();
            !(x.parameter == Parameter::O3 && [11, 13, 15].contains(&chrono::Timelike::hour(&h)))
        })
        .collect();
    let res = daily(&keep, &stations, &AirOptions::default()).unwrap();
    let st = res.stations[0].stats;
    // Windows containing 3 dropped hours (k=8..=11) have 5 values → invalid: 17 − 4 = 13.
    assert_eq!(st.o3_8h_windows, 13);
    // Best valid window: k=12 (hours 12..=19: 200,200,200,200,200,40,40 with 13,15
    // dropped → 200,200,200,40,40 + 12,14,16,17 = 6 values: 12,14,16,17,18,19)
    // = (200·4 + 40·2)/6 = 146.67; k=7 (7..=14 minus 11,13: 7,8,9,10,12,14) =
    // (40·3 + 200·3)/6 = 120. So MDA8 = 146.67.
    assert!((st.o3_8h_max.unwrap() - 880.0 / 6.0).abs() < 1e-9);
    // 13 windows < 14 and MDA8 147 <= 160 ⇒ invalid with its reason.
    let j = &res.stations[0].judgement;
    assert!(j.reasons.contains(&InvalidReason::TooFewO3Windows {
        windows: 13,
        need: 14
    }));
}

#[test]
fn hour_starting_at_local_midnight_belongs_to_that_day() {
    let stations = [station("A", "X", false)];
    // 16:00 UTC = 00:00 Asia/Shanghai of the next date
    let t = chrono::Utc
        .with_ymd_and_hms(2019, 11, 11, 16, 0, 0)
        .unwrap();
    let r = vec![Reading {
        period: crate::model::Period::Hour,
        site: SiteId::new("A"),
        parameter: Parameter::Pm25,
        time: t,
        value: 10.0,
        flag: DataFlag::N,
    }];
    let res = daily(&r, &stations, &AirOptions::default()).unwrap();
    assert_eq!(res.stations[0].judgement.date, d(2019, 11, 12));
    // In UTC the same hour is still the 11th.
    let utc = AirOptions {
        tz: chrono_tz::UTC,
        ..AirOptions::default()
    };
    let res = daily(&r, &stations, &utc).unwrap();
    assert_eq!(res.stations[0].judgement.date, d(2019, 11, 11));
}

#[test]
fn local_days_follow_a_daylight_saving_change() {
    // Europe/Berlin starts summer time on 2026-03-29 at 01:00 UTC (02:00 -> 03:00 local):
    // that local day has 23 hours, 2026-03-28T23:00Z … 2026-03-29T21:00Z. 22:00Z is
    // 00:00 local on the 30th.
    let stations = [station("A", "X", false)];
    let start = chrono::Utc.with_ymd_and_hms(2026, 3, 28, 23, 0, 0).unwrap();
    let r: Vec<Reading> = (0..24)
        .map(|h| Reading {
            period: crate::model::Period::Hour,
            site: SiteId::new("A"),
            parameter: Parameter::Pm25,
            time: start + chrono::Duration::hours(h),
            value: if h < 23 { 10.0 } else { 50.0 },
            flag: DataFlag::N,
        })
        .collect();
    let berlin = AirOptions {
        tz: chrono_tz::Europe::Berlin,
        ..AirOptions::default()
    };
    let res = daily(&r, &stations, &berlin).unwrap();
    let pm25 = MEAN_POLLUTANTS
        .iter()
        .position(|p| *p == Pollutant::Pm25)
        .unwrap();
    let got: Vec<_> = res
        .stations
        .iter()
        .map(|s| (s.judgement.date, s.stats.hours[pm25], s.stats.mean[pm25]))
        .collect();
    assert_eq!(
        got,
        vec![
            (d(2026, 3, 29), 23, Some(10.0)),
            (d(2026, 3, 30), 1, Some(50.0))
        ]
    );
}

#[test]
fn city_mean_excludes_control_stations_and_indexes_the_mean() {
    let stations = [
        station("A", "X", false),
        station("B", "X", false),
        station("Z", "X", true),
    ];
    let date = d(2019, 11, 11);
    let mut vals = clean_day();
    let mut r = day("A", date, 0..24, &vals);
    vals[5] = (Parameter::Pm25, 100.0);
    r.extend(day("B", date, 0..24, &vals));
    vals[5] = (Parameter::Pm25, 400.0);
    r.extend(day("Z", date, 0..24, &vals));
    let res = daily(&r, &stations, &AirOptions::default()).unwrap();
    let c = &res.cities[0];
    assert_eq!(c.stations, 2);
    // city PM2.5 = (40 + 100)/2 = 70 → 2012: 50 + ceil(50·35/40) = 94 (not the mean of
    // station AQIs (57 + 132)/2).
    assert_eq!(c.judgement.concentrations.pm25_24h, Some(70.0));
    assert_eq!(c.judgement.aqi(), Some(Aqi(94)));

    // Hourly averaging gives the same here (complete, constant hours).
    let mut opts = AirOptions::default();
    opts.rules.city_averaging = crate::standards::air_eval::CityAveraging::Hourly;
    let res = daily(&r, &stations, &opts).unwrap();
    assert_eq!(res.cities[0].judgement.aqi(), Some(Aqi(94)));
}

#[test]
fn missing_days_are_invalid_with_a_reason_and_editions_follow_the_date() {
    let stations = [station("A", "X", false)];
    let mut vals = clean_day();
    vals[5] = (Parameter::Pm25, 70.0);
    let mut r = day("A", d(2026, 2, 27), 0..24, &vals);
    r.extend(day("A", d(2026, 3, 1), 0..24, &vals));
    let res = daily(&r, &stations, &AirOptions::default()).unwrap();
    let js: Vec<&DayJudgement> = res.stations.iter().map(|s| &s.judgement).collect();
    assert_eq!(js.len(), 3);
    // 02-27, HJ 633-2012: PM2.5 70 → 94, good
    assert_eq!(js[0].edition, Edition::Hj633_2012);
    assert_eq!(js[0].aqi(), Some(Aqi(94)));
    // 02-28: no data at all → invalid, reason given
    assert_eq!(js[1].reasons, vec![InvalidReason::NoData]);
    assert!(!js[1].valid());
    // 03-01, HJ 633-2026: PM2.5 70 → 100 + ceil(50·10/55) = 110, not good
    assert_eq!(js[2].edition, Edition::Hj633_2026);
    assert_eq!(js[2].aqi(), Some(Aqi(110)));
    // --edition 2012 override judges 03-01 by 2012
    let opts = AirOptions {
        edition: EditionChoice::Y2012,
        ..AirOptions::default()
    };
    let res = daily(&r, &stations, &opts).unwrap();
    assert_eq!(res.stations[2].judgement.aqi(), Some(Aqi(94)));
}

fn city_day(date: NaiveDate, pm25: Option<f64>) -> CityDay {
    let c = DailyConcentrations {
        so2_24h: Some(5.0),
        no2_24h: Some(20.0),
        pm10_24h: Some(40.0),
        co_24h: Some(0.5),
        pm25_24h: pm25,
        o3_1h_max: Some(60.0),
        o3_8h_max: Some(50.0),
    };
    CityDay {
        city: "X".into(),
        stations: 1,
        judgement: DayJudgement::new(date, Edition::Hj633_2012, c, vec![]),
    }
}

#[test]
fn ratio_counts_and_reachability() {
    // 2019-12-01..10: 7 good (PM2.5 30), 2 not good (PM2.5 100), 1 missing PM2.5 (< 100
    // from the rest → not valid).
    let mut days = Vec::new();
    for i in 0..10u32 {
        let date = d(2019, 12, 1 + i);
        let pm = match i {
            0..=6 => Some(30.0),
            7 | 8 => Some(100.0),
            _ => None,
        };
        days.push(city_day(date, pm));
    }
    let rows = ratio(&days, 0.8, None);
    let m = rows.iter().find(|r| r.kind == PeriodKind::Month).unwrap();
    assert_eq!((m.good_days, m.valid_days, m.days), (7, 9, 10));
    assert!((m.ratio.unwrap() - 7.0 / 9.0).abs() < 1e-12);
    assert_eq!(m.meets_target, Some(false));
    // 21 days left in 2019: best case (7 + 21)/(9 + 21) = 0.933 ≥ 0.8
    assert_eq!(m.days_left_in_year, 21);
    assert!(m.reachable_this_year);
    // With a 0.95 target the best case falls short.
    let rows = ratio(&days, 0.95, None);
    assert!(!rows[0].reachable_this_year);
    // A period row: 12-01..12-03, all good
    let rows = ratio(&days, 0.8, Some((d(2019, 12, 1), d(2019, 12, 3))));
    let p = rows.iter().find(|r| r.kind == PeriodKind::Range).unwrap();
    assert_eq!((p.good_days, p.valid_days), (3, 3));
    assert_eq!(p.meets_target, Some(true));
}
