//! HJ 212 data periods through the real broker and the real `envwatch run` (issue #16
//! item 2). A simulated data logger sends, for two days of data time (sent fast: data
//! time, not wall time), real-time data (CN 2011) every 30 s, minute data (2051) every
//! minute, hour data (2061) every hour and day data (2031) every day, as loggers do side
//! by side (STANDARDS.md §5.4). Only the hour packets may enter the daily AQI (§2.3, §1.6):
//! the real-time, minute and day packets carry PM2.5 values far above the hours, so any
//! mixing (a day packet overwriting the 00:00 hour, minutes counted as hours) changes
//! the result. A second station on a `minute_data = "derive-hour"` pipeline sends minute
//! data only: its hours come from ≥ 45 minute values (GB 3095 Table 4, §2.3).
//!
//! Known answers, worked out by hand with HJ 633-2012 Table 1 and the formula of §1.2
//! (days in October 2025: the 2012 edition is in force, §0), IAQI carried up (§1.3):
//! - Station LOG1, hour packets: PM2.5 alternates 70 / 90 on day 1 (24-h mean 80) and
//!   30 / 40 on day 2 (mean 35); PM10 50, SO2 10, NO2 30, CO 0.5, O3 50 every hour.
//!   PM2.5 80: 100 + (150-100)/(115-75) × (80-75) = 106.25 → 107; 35 → 50.
//!   PM10 50 → 50; SO2 10 → 10 × 50/50 = 10; NO2 30 → 30 × 50/40 = 37.5 → 38;
//!   CO 0.5 → 0.5 × 50/2 = 12.5 → 13; O3 8-h 50 → 50 × 50/100 = 25; O3 1-h 50 → 15.6 → 16.
//!   Daily AQI: day 1 max = 107, day 2 max = 50.
//! - Station LOG2 (minutes only, derive-hour): PM2.5 alternates 70 / 90 every minute, so
//!   every hour has 60 valid minutes with mean 80, the day mean is 80 → AQI 107 both days.
//!   Other pollutants as LOG1 (≤ 50).

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{NaiveDate, NaiveDateTime, TimeZone};
use envwatch::decode::hj212::{OutFactor, OutHeader, encode_packet};
use envwatch::model::DataFlag;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::Value;

const LOG1: (&str, &str) = ("LOG1", "MIX0000000000000000LOG01");
const LOG2: (&str, &str) = ("LOG2", "MIX0000000000000000LOG02");

/// IAQI of HJ 633-2012 Table 1 by the §1.2 formula, carried up (§1.3).
fn iaqi(c: f64, bp: &[f64]) -> i64 {
    const I: [f64; 8] = [0.0, 50.0, 100.0, 150.0, 200.0, 300.0, 400.0, 500.0];
    for k in 1..bp.len() {
        if c <= bp[k] {
            let v = (I[k] - I[k - 1]) / (bp[k] - bp[k - 1]) * (c - bp[k - 1]) + I[k - 1];
            return (v - 1e-9).ceil() as i64;
        }
    }
    500
}

/// The daily AQI of §1.4 from the hour values of one day (24-h means; O3 8-h max).
fn daily_aqi(pm25: &[f64]) -> i64 {
    let mean = pm25.iter().sum::<f64>() / pm25.len() as f64;
    [
        iaqi(mean, &[0.0, 35.0, 75.0, 115.0, 150.0, 250.0, 350.0, 500.0]),
        iaqi(50.0, &[0.0, 50.0, 150.0, 250.0, 350.0, 420.0, 500.0, 600.0]),
        iaqi(
            10.0,
            &[0.0, 50.0, 150.0, 475.0, 800.0, 1600.0, 2100.0, 2620.0],
        ),
        iaqi(30.0, &[0.0, 40.0, 80.0, 180.0, 280.0, 565.0, 750.0, 940.0]),
        iaqi(0.5, &[0.0, 2.0, 4.0, 14.0, 24.0, 36.0, 48.0, 60.0]),
        iaqi(50.0, &[0.0, 100.0, 160.0, 215.0, 265.0, 800.0]),
    ]
    .into_iter()
    .max()
    .unwrap()
}

fn day(i: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 10, 5).unwrap() + chrono::Duration::days(i)
}

fn hour_pm25(d: i64, hour: u32) -> f64 {
    match (d, hour % 2) {
        (0, 0) => 70.0,
        (0, _) => 90.0,
        (_, 0) => 30.0,
        _ => 40.0,
    }
}

fn packet(mn: &str, cn: &str, t: NaiveDateTime, pm25: f64) -> String {
    let h = OutHeader {
        qn: None,
        st: "22",
        cn,
        pw: "123456",
        mn,
        flag: 4,
        part: None,
    };
    let f = |code, value| OutFactor {
        code,
        value,
        flag: DataFlag::N,
    };
    encode_packet(
        &h,
        t,
        &[
            f("a34004", pm25),
            f("a34002", 50.0),
            f("a21026", 10.0),
            f("a21004", 30.0),
            f("a21005", 0.5),
            f("a05024", 50.0),
        ],
    )
}

/// The logger's traffic in data-time order.
fn logger(topic: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let t1 = format!("{topic}/air/{}", LOG1.0);
    let t2 = format!("{topic}/derive/{}", LOG2.0);
    for d in 0..2 {
        out.push((
            t1.clone(),
            packet(LOG1.1, "2031", day(d).and_hms_opt(0, 0, 0).unwrap(), 500.0),
        ));
        for hour in 0..24 {
            let start = day(d).and_hms_opt(hour, 0, 0).unwrap();
            for s in (0..3600).step_by(30) {
                let t = start + chrono::Duration::seconds(s);
                out.push((t1.clone(), packet(LOG1.1, "2011", t, 300.0)));
                if s % 60 == 0 {
                    out.push((t1.clone(), packet(LOG1.1, "2051", t, 400.0)));
                    let m = if (s / 60) % 2 == 0 { 70.0 } else { 90.0 };
                    out.push((t2.clone(), packet(LOG2.1, "2051", t, m)));
                }
            }
            out.push((
                t1.clone(),
                packet(LOG1.1, "2061", start, hour_pm25(d, hour)),
            ));
        }
    }
    out
}

fn write_config(dir: &Path, state: &Path, mqtt: &str, influx: &str, db: &str, topic: &str) {
    let (host, port) = mqtt.rsplit_once(':').unwrap();
    std::fs::create_dir_all(dir.join("pipelines")).unwrap();
    std::fs::write(
        dir.join("envwatch.toml"),
        format!(
            r#"[general]
city = "杭州"
state_dir = "{state}"
judge_interval = "300ms"

[mqtt]
host = "{host}"
port = {port}
client_id = "{topic}-daemon"

[influx]
url = "{influx}"
api = "v1"
database = "{db}"
flush_interval = "100ms"

[http]
listen = "127.0.0.1:0"
"#,
            state = state.display()
        ),
    )
    .unwrap();
    let mut stations = String::new();
    for (code, mn) in [LOG1, LOG2] {
        stations.push_str(&format!(
            "[[station]]\ncode = \"{code}\"\nname = \"{code}\"\ncity = \"杭州\"\nmn = \"{mn}\"\n\n"
        ));
    }
    std::fs::write(dir.join("stations.toml"), stations).unwrap();
    std::fs::write(dir.join("sections.toml"), "").unwrap();
    std::fs::write(
        dir.join("pipelines/air.toml"),
        format!("[source]\nkind = \"mqtt\"\ntopics = [\"{topic}/air/+\"]\n\n[decode]\nformat = \"hj212\"\n"),
    )
    .unwrap();
    std::fs::write(
        dir.join("pipelines/derive.toml"),
        format!(
            "[source]\nkind = \"mqtt\"\ntopics = [\"{topic}/derive/+\"]\n\n[decode]\nformat = \"hj212\"\nminute_data = \"derive-hour\"\n"
        ),
    )
    .unwrap();
}

async fn publish(mqtt: &str, client_id: &str, msgs: Vec<(String, String)>) {
    let (host, port) = mqtt.rsplit_once(':').unwrap();
    let mut opts = MqttOptions::new(client_id, host, port.parse().unwrap());
    opts.set_keep_alive(Duration::from_secs(30));
    let (client, mut el) = AsyncClient::new(opts, 100);
    let total = msgs.len();
    let p = tokio::spawn(async move {
        for (t, m) in msgs {
            client
                .publish(t, QoS::AtLeastOnce, false, m.into_bytes())
                .await
                .unwrap();
        }
        client
    });
    let mut acked = 0;
    let deadline = Instant::now() + Duration::from_secs(300);
    while acked < total {
        assert!(
            Instant::now() < deadline,
            "publishing timed out ({acked}/{total} acked)"
        );
        if let Ok(Ok(Event::Incoming(Packet::PubAck(_)))) =
            tokio::time::timeout(Duration::from_secs(5), el.poll()).await
        {
            acked += 1;
        }
    }
    let c = p.await.unwrap();
    let _ = c.disconnect().await;
    let _ = tokio::time::timeout(Duration::from_secs(1), el.poll()).await;
}

async fn query(http: &reqwest::Client, base: &str, db: &str, q: &str) -> Value {
    let mut url = url::Url::parse(&format!("{base}/query")).unwrap();
    url.query_pairs_mut()
        .append_pair("db", db)
        .append_pair("q", q);
    http.post(url).send().await.unwrap().json().await.unwrap()
}

/// Rows of the first series as (time, first value).
async fn rows(http: &reqwest::Client, base: &str, db: &str, q: &str) -> Vec<(String, Value)> {
    query(http, base, db, q).await["results"][0]["series"][0]["values"]
        .as_array()
        .map(|r| {
            r.iter()
                .map(|r| (r[0].as_str().unwrap_or("").to_string(), r[1].clone()))
                .collect()
        })
        .unwrap_or_default()
}

fn midnight_utc(d: NaiveDate) -> String {
    chrono_tz::Asia::Shanghai
        .from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap())
        .unwrap()
        .with_timezone(&chrono::Utc)
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn start(config: &Path, log: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_envwatch"))
        .args(["--log-format", "human", "run", "--config"])
        .arg(config)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("start envwatch run")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_hour_packets_enter_the_daily_aqi() {
    let mqtt = common::service("ENVWATCH_TEST_MQTT");
    let influx = common::service("ENVWATCH_TEST_INFLUX");
    let db = common::unique("mixed");
    let http = reqwest::Client::new();
    query(&http, &influx, &db, &format!("CREATE DATABASE \"{db}\"")).await;
    let tmp = tempfile::tempdir().unwrap();
    let (config, state, log) = (
        tmp.path().join("config"),
        tmp.path().join("state"),
        tmp.path().join("daemon.log"),
    );
    let topic = common::unique("mixed");
    write_config(&config, &state, &mqtt, &influx, &db, &topic);
    let mut daemon = start(&config, &log);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("MQTT subscribed")
    {
        assert!(Instant::now() < deadline, "daemon never subscribed");
        std::thread::sleep(Duration::from_millis(50));
    }

    let msgs = logger(&topic);
    let n_rt = msgs.iter().filter(|m| m.1.contains("CN=2011")).count();
    let n_min1 = msgs
        .iter()
        .filter(|m| m.1.contains("CN=2051") && m.0.contains("/air/"))
        .count();
    assert_eq!((n_rt, n_min1), (2 * 24 * 120, 2 * 24 * 60));
    publish(&mqtt, &format!("{topic}-pub"), msgs).await;

    // The expected daily AQIs, from the hour values alone.
    let hours = |d: i64| (0..24).map(|h| hour_pm25(d, h)).collect::<Vec<_>>();
    let want1: Vec<(String, i64)> = (0..2)
        .map(|d| (midnight_utc(day(d)), daily_aqi(&hours(d))))
        .collect();
    assert_eq!(want1.iter().map(|w| w.1).collect::<Vec<_>>(), [107, 50]);
    let want2: Vec<(String, i64)> = (0..2)
        .map(|d| (midnight_utc(day(d)), daily_aqi(&[70.0, 90.0])))
        .collect();
    let station_q = |s: &str| {
        format!("SELECT aqi FROM air_daily WHERE \"scope\" = 'station' AND \"station\" = '{s}'")
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    let got = |r: Vec<(String, Value)>| -> Vec<(String, i64)> {
        r.into_iter()
            .map(|(t, v)| (t, v.as_i64().unwrap_or(-1)))
            .collect()
    };
    loop {
        let a = got(rows(&http, &influx, &db, &station_q(LOG1.0)).await);
        let b = got(rows(&http, &influx, &db, &station_q(LOG2.0)).await);
        if a == want1 && b == want2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "daily AQI: LOG1 {a:?} (want {want1:?}), LOG2 {b:?} (want {want2:?})\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // Hours in air_hourly: LOG1's 48 hour packets and LOG2's 48 derived hours; real-time
    // and minute values in air_realtime, told apart by `period`; day packets unpublished.
    let count = |q: String| {
        let (http, influx, db) = (&http, &influx, &db);
        async move {
            rows(http, influx, db, &q)
                .await
                .first()
                .and_then(|r| r.1.as_i64())
                .unwrap_or(0)
        }
    };
    let hourly = |s: &str| format!("SELECT count(pm2_5) FROM air_hourly WHERE station = '{s}'");
    assert_eq!(count(hourly(LOG1.0)).await, 48);
    assert_eq!(count(hourly(LOG2.0)).await, 48);
    let max_hour = rows(
        &http,
        &influx,
        &db,
        "SELECT max(pm2_5) FROM air_hourly WHERE station = 'LOG1'",
    )
    .await;
    assert_eq!(max_hour[0].1.as_f64(), Some(90.0));
    let rt = |p: &str| {
        format!("SELECT count(pm2_5) FROM air_realtime WHERE station = 'LOG1' AND period = '{p}'")
    };
    assert_eq!(count(rt("realtime")).await, n_rt as i64);
    assert_eq!(count(rt("minute")).await, n_min1 as i64);

    Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while daemon.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "daemon did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
    query(&http, &influx, &db, &format!("DROP DATABASE \"{db}\"")).await;
}
