//! Real readings and daily aggregates go through the outbox and the publisher to the real
//! servers and are read back exactly: InfluxDB 1.x over the v1 API (InfluxQL `/query`),
//! VictoriaMetrics over the v2 API (`/api/v1/export`).
//!
//! Data: the real Hangzhou hourly air data and published 24 h averages, and the real
//! water snapshot of `ENVWATCH_SHARED_DATA` (never synthetic values).

mod common;
mod influx_support;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use envwatch::config::{Section, Station};
use envwatch::model::{DataFlag, Reading, SiteId};
use envwatch::publish::line_protocol::{FieldValue, Point};
use envwatch::publish::schema::{
    self, AirDaily, ClassPeriod, DailyPollutant, DailyScope, WaterClassResult,
};
use envwatch::standards::aqi::Edition;
use envwatch::standards::parameter::Parameter;
use envwatch::standards::water::{TargetClass, WaterBody, WaterClass};
use influx_support::*;

fn shared_data() -> Option<PathBuf> {
    common::shared_data(&[
        "air_hangzhou_2019-11-11_to_13_hourly.csv",
        "air_hangzhou_2019-11-11_to_13_published_averages.csv",
        "air_hangzhou_stations.csv",
        "water_sample_20260204_snapshot.csv",
    ])
}

fn csv_rows(path: &std::path::Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

fn time(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("{s}: {e}"))
        .with_timezone(&Utc)
}

/// Every measurement's points, built from the real sample data. `city` and section ids
/// carry `tag` so reruns on the same VictoriaMetrics never mix (and so escaping of space,
/// comma and equals signs in tag values is exercised end to end).
fn sample_points(data: &std::path::Path, tag: &str) -> BTreeMap<&'static str, Vec<Point>> {
    let tz = chrono_tz::Asia::Shanghai;
    let city = format!("杭州 {tag},x=1");
    let stations: Vec<Station> = csv_rows(&data.join("air_hangzhou_stations.csv"))
        .into_iter()
        .map(|r| Station {
            code: SiteId::new(r[0].clone()),
            name: r[1].clone(),
            city: city.clone(),
            district: None,
            lon: r[3].parse().ok(),
            lat: r[4].parse().ok(),
            control: r[5] == "Y",
            mn: None,
        })
        .collect();
    let by_code: HashMap<&str, &Station> = stations.iter().map(|s| (s.code.as_str(), s)).collect();

    let mut out: BTreeMap<&'static str, Vec<Point>> = BTreeMap::new();

    // air_hourly: CNEMC labels are hour ENDS; readings are stamped at the hour start.
    let mut hours: BTreeMap<(String, DateTime<Utc>), Vec<Reading>> = BTreeMap::new();
    for r in csv_rows(&data.join("air_hangzhou_2019-11-11_to_13_hourly.csv")) {
        let Some(parameter) = Parameter::lookup(&r[2]) else {
            continue; // AQI_published is not a parameter
        };
        let start = time(&r[1]) - chrono::Duration::hours(1);
        hours
            .entry((r[0].clone(), start))
            .or_default()
            .push(Reading {
                period: envwatch::model::Period::Hour,
                site: SiteId::new(r[0].clone()),
                parameter,
                time: start,
                value: r[3].parse().unwrap_or_else(|e| panic!("{r:?}: {e}")),
                flag: DataFlag::N,
            });
    }
    for ((code, start), readings) in &hours {
        let st = by_code[code.as_str()];
        out.entry("air_hourly")
            .or_default()
            .push(schema::air_hourly(st, *start, readings).expect("air_hourly"));
    }

    // air_daily: CNEMC's published 24 h values at label D+1 00:00 close day D.
    let mut days: BTreeMap<(String, NaiveDate), Vec<(DailyPollutant, f64)>> = BTreeMap::new();
    for r in csv_rows(&data.join("air_hangzhou_2019-11-11_to_13_published_averages.csv")) {
        let t = DateTime::parse_from_rfc3339(&r[1]).expect("time");
        if t.format("%H:%M").to_string() != "00:00" {
            continue;
        }
        let day = t.date_naive() - chrono::Duration::days(1);
        if day < NaiveDate::from_ymd_opt(2019, 11, 11).expect("date") {
            continue;
        }
        let p = match r[2].as_str() {
            "PM2.5_24h" => DailyPollutant::Pm25,
            "PM10_24h" => DailyPollutant::Pm10,
            "SO2_24h" => DailyPollutant::So2,
            "NO2_24h" => DailyPollutant::No2,
            "CO_24h" => DailyPollutant::Co,
            "O3_24h" => DailyPollutant::O3Max1h,
            "O3_8h_24h" => DailyPollutant::O3Max8h,
            _ => continue,
        };
        days.entry((r[0].clone(), day))
            .or_default()
            .push((p, r[3].parse().expect("value")));
    }
    assert_eq!(days.len(), 33, "11 stations x 3 days");
    for ((code, day), values) in &days {
        let d = AirDaily {
            scope: DailyScope::Station(by_code[code.as_str()]),
            day: *day,
            edition: Edition::Hj633_2012,
            aqi: None,
            level: None,
            primary: vec![],
            valid: true,
            invalid_reason: None,
            values: values.clone(),
        };
        out.entry("air_daily")
            .or_default()
            .push(schema::air_daily(&d, tz).expect("air_daily"));
    }

    // water_reading and water_class from the real snapshot (published class as given).
    let params = [
        (5, Parameter::Ph),
        (6, Parameter::Do),
        (7, Parameter::CodMn),
        (8, Parameter::Nh3N),
        (9, Parameter::Tp),
        (10, Parameter::Tn),
        (13, Parameter::WaterTemperature),
        (14, Parameter::Conductivity),
        (15, Parameter::Turbidity),
        (16, Parameter::ChlorophyllA),
    ];
    for r in csv_rows(&data.join("water_sample_20260204_snapshot.csv")) {
        let section = Section {
            id: SiteId::new(format!("{} {tag}", r[0])),
            name: r[0].clone(),
            river: r[0].clone(),
            basin: Some(r[2].clone()),
            waterbody: WaterBody::River,
            drinking_source: false,
            target: TargetClass(WaterClass::III),
            district: None,
            mn: None,
        };
        let t = time(&r[3]);
        let readings: Vec<Reading> = params
            .iter()
            .filter_map(|(i, p)| {
                let v: f64 = r.get(*i)?.parse().ok()?;
                Some(Reading {
                    period: envwatch::model::Period::Hour,
                    site: section.id.clone(),
                    parameter: *p,
                    time: t,
                    value: v,
                    flag: DataFlag::N,
                })
            })
            .collect();
        out.entry("water_reading")
            .or_default()
            .push(schema::water_reading(&section, t, &readings).expect("water_reading"));
        let class = match r[12].as_str() {
            "" => continue,
            "inferior_V" => WaterClass::InferiorV,
            other => other.parse().unwrap_or_else(|_| panic!("class {other}")),
        };
        let w = WaterClassResult {
            section: &section,
            period: ClassPeriod::Reading(t),
            class,
            worst_items: vec![],
            exceedance: None,
        };
        out.entry("water_class")
            .or_default()
            .push(schema::water_class(&w, tz).expect("water_class"));
    }
    assert_eq!(out["water_reading"].len(), 23);
    assert_eq!(out["water_class"].len(), 22);
    out
}

async fn publish_all(
    target: envwatch::publish::InfluxTarget,
    points: &BTreeMap<&'static str, Vec<Point>>,
) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, mut conn) = new_store(dir.path(), 1_000_000);
    let all: Vec<Point> = points.values().flatten().cloned().collect();
    enqueue(&mut conn, &all);
    let running = spawn_publisher(target, &path, fast_options());
    running
        .wait_drained(all.len() as u64, Duration::from_secs(60))
        .await;
    assert_eq!(
        running.metrics.dead_letters.get(),
        0,
        "no point may be rejected"
    );
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readings_and_daily_aggregates_round_trip_through_influxdb_1x_v1_api() {
    let base = influx_url();
    let Some(data) = shared_data() else { return };
    let db = run_id("envwatch_rt");
    let points = sample_points(&data, &db);
    create_database(&base, &db).await;
    publish_all(v1_target(&base, &db), &points).await;
    for (m, pts) in &points {
        let rows = select_all(&base, &db, m).await;
        assert_points_in_influx(pts, &rows);
    }
    // Spot-check one value against the source file: 1223A, label 2019-11-11T01:00 PM2.5.
    let rows = influxql(
        &base,
        Some(&db),
        "SELECT pm2_5 FROM air_hourly WHERE station = '1223A' AND time = '2019-11-10T16:00:00Z'",
    )
    .await;
    let expected: f64 = csv_rows(&data.join("air_hangzhou_2019-11-11_to_13_hourly.csv"))
        .iter()
        .find(|r| r[0] == "1223A" && r[1] == "2019-11-11T01:00:00+08:00" && r[2] == "PM2.5")
        .map(|r| r[3].parse().expect("value"))
        .expect("source row");
    assert_eq!(
        rows["results"][0]["series"][0]["values"][0][1].as_f64(),
        Some(expected)
    );
    drop_database(&base, &db).await;
}

/// Samples of one VictoriaMetrics series.
type VmSeries = BTreeMap<(String, BTreeMap<String, String>), Vec<(i64, f64)>>;

async fn vm_export(base: &str, selector: &str) -> VmSeries {
    let mut url = reqwest::Url::parse(&format!("{base}/api/v1/export")).expect("url");
    url.query_pairs_mut()
        .append_pair("match[]", selector)
        .append_pair("start", "0");
    let text = http()
        .get(url)
        .send()
        .await
        .expect("export")
        .text()
        .await
        .expect("export body");
    let mut out = VmSeries::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let j: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        let mut labels: BTreeMap<String, String> = j["metric"]
            .as_object()
            .expect("metric")
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect();
        let name = labels.remove("__name__").expect("name");
        let values = j["values"].as_array().expect("values");
        let ts = j["timestamps"].as_array().expect("timestamps");
        let samples = ts
            .iter()
            .zip(values)
            .map(|(t, v)| (t.as_i64().expect("ts"), v.as_f64().expect("value")))
            .collect();
        out.insert((name, labels), samples);
    }
    out
}

/// The samples VictoriaMetrics must hold for `points`: one series per numeric field
/// (`measurement_field`), the point's tags as labels. (VictoriaMetrics keeps no strings.)
fn expected_vm(points: &[Point]) -> VmSeries {
    let mut out = VmSeries::new();
    for p in points {
        let labels: BTreeMap<String, String> = p.tags().iter().cloned().collect();
        for (k, v) in p.fields() {
            let value = match v {
                FieldValue::Float(f) => *f,
                FieldValue::Integer(i) => *i as f64,
                FieldValue::Boolean(b) => f64::from(u8::from(*b)),
                FieldValue::String(_) => continue,
            };
            out.entry((format!("{}_{k}", p.measurement()), labels.clone()))
                .or_default()
                .push((p.time_ns() / 1_000_000, value));
        }
    }
    for v in out.values_mut() {
        v.sort_by_key(|s| s.0);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readings_and_daily_aggregates_round_trip_through_victoriametrics_v2_api() {
    let base = vm_url();
    let Some(data) = shared_data() else { return };
    let tag = run_id("rt");
    let points = sample_points(&data, &tag);
    publish_all(v2_target(&base, "envwatch"), &points).await;
    let city = format!("杭州 {tag},x=1");
    for (m, pts) in &points {
        let expected = expected_vm(pts);
        let selector = if m.starts_with("air") {
            format!("{{__name__=~\"{m}_.*\",city=\"{city}\"}}")
        } else {
            format!("{{__name__=~\"{m}_.*\",section=~\".* {tag}\"}}")
        };
        // VictoriaMetrics makes new samples searchable within about a second.
        let deadline = Instant::now() + Duration::from_secs(20);
        let got = loop {
            let mut got = vm_export(&base, &selector).await;
            // String fields arrive as series with no usable value; they are not ours to check.
            got.retain(|k, _| expected.contains_key(k));
            let n: usize = got.values().map(Vec::len).sum();
            let want: usize = expected.values().map(Vec::len).sum();
            if n >= want || Instant::now() > deadline {
                break got;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        };
        assert_eq!(got.len(), expected.len(), "{m}: series count");
        for (key, samples) in &expected {
            assert_eq!(got.get(key), Some(samples), "{m}: series {key:?}");
        }
    }
}
