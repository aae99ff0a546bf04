//! `envwatch run` end to end with the real Mosquitto and the real InfluxDB 1.x: a week of
//! HJ 212 readings for 3 stations and 3 sections goes in over MQTT; InfluxDB ends with
//! the daily AQI, ratios and classes that the standards give for those values (worked
//! out below by hand); late readings for an old day change that day in InfluxDB;
//! SIGHUP with a broken config keeps the daemon running; SIGTERM stops it cleanly.
//!
//! Known answers (HJ 633-2026 Table 3, the edition in force in October 2026; every hour
//! of a day carries the same values, so 24-h means equal them):
//! - PM10 50 → IAQI 50; SO2 10 → 10; NO2 30 → 37.5 → 38; CO 0.5 → 12.5 → 13; O3 8h 50 → 25.
//! - PM2.5 35 → 50; 60 → 100; 61 → 100.91 → 101; 80 → 118.18 → 119 (STANDARDS.md 1.3).
//! - Days: PM2.5 = [35, 60, 61, 80, 35, 35, 35] → AQI [50, 100, 101, 119, 50, 50, 50];
//!   good (≤ 100) 5 of 7.
//!
//! Water (GB 3838-2002, river limits): S1 NH3-N 0.8 (III), TP 0.15 (III), on day 4 NH3-N
//! 2.31 (> 2.0 → 劣V); S2 NH3-N 0.4, TP 0.08 → II; S3 (reservoir) TP 0.02 (lake II ≤ 0.025),
//! NH3-N 0.3 → II.

mod alert_support;
mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{NaiveDate, TimeZone};
use envwatch::decode::hj212::{OutFactor, OutHeader, encode_packet};
use envwatch::model::DataFlag;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::Value;

const STATIONS: [(&str, &str); 3] = [
    ("1223A", "E2E0000000000000AIR00001"),
    ("1224A", "E2E0000000000000AIR00002"),
    ("1226A", "E2E0000000000000AIR00003"),
];
const SECTIONS: [(&str, &str); 3] = [
    ("S1", "E2E000000000000WATER0001"),
    ("S2", "E2E000000000000WATER0002"),
    ("S3", "E2E000000000000WATER0003"),
];
const PM25: [f64; 7] = [35.0, 60.0, 61.0, 80.0, 35.0, 35.0, 35.0];

fn day(i: usize) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 10, 5).unwrap() + chrono::Duration::days(i as i64)
}

fn write_config(dir: &Path, state: &Path, mqtt: &str, influx: &str, db: &str, topic: &str) {
    let (host, port) = mqtt.rsplit_once(':').unwrap();
    std::fs::create_dir_all(dir.join("pipelines")).unwrap();
    std::fs::write(
        dir.join("envwatch.toml"),
        format!(
            r#"[general]
city = "杭州"
district = "余杭区"
state_dir = "{state}"
judge_interval = "300ms"

[store]
commit_interval = "20ms"

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
    for (code, mn) in STATIONS {
        stations.push_str(&format!(
            "[[station]]\ncode = \"{code}\"\nname = \"{code}\"\ncity = \"杭州\"\nmn = \"{mn}\"\n\n"
        ));
    }
    std::fs::write(dir.join("stations.toml"), stations).unwrap();
    std::fs::write(
        dir.join("sections.toml"),
        format!(
            r#"[[section]]
id = "S1"
name = "河一"
river = "余杭塘河"
waterbody = "river"
target = "III"
district = "余杭区"
mn = "{}"

[[section]]
id = "S2"
name = "河二"
river = "东苕溪"
waterbody = "river"
drinking_source = true
target = "II"
district = "余杭区"
mn = "{}"

[[section]]
id = "S3"
name = "库三"
river = "四岭水库"
waterbody = "reservoir"
drinking_source = true
target = "II"
district = "余杭区"
mn = "{}"
"#,
            SECTIONS[0].1, SECTIONS[1].1, SECTIONS[2].1
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("pipelines/air.toml"),
        format!("[source]\nkind = \"mqtt\"\ntopics = [\"{topic}/air/+\"]\n\n[decode]\nformat = \"hj212\"\n"),
    )
    .unwrap();
    std::fs::write(
        dir.join("pipelines/water.toml"),
        format!("[source]\nkind = \"mqtt\"\ntopics = [\"{topic}/water/+\"]\n\n[decode]\nformat = \"hj212\"\n"),
    )
    .unwrap();
}

fn packet(mn: &str, st: &str, local: chrono::NaiveDateTime, f: &[(&str, f64)]) -> String {
    let h = OutHeader {
        qn: None,
        st,
        cn: "2061",
        pw: "123456",
        mn,
        flag: 4,
        part: None,
    };
    let factors: Vec<OutFactor<'_>> = f
        .iter()
        .map(|(code, value)| OutFactor {
            code,
            value: *value,
            flag: DataFlag::N,
        })
        .collect();
    encode_packet(&h, local, &factors)
}

fn air_packets(topic: &str, days: &[usize], pm25: impl Fn(usize) -> f64) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for &d in days {
        for hour in 0..24 {
            let t = day(d).and_hms_opt(hour, 0, 0).unwrap();
            for (code, mn) in STATIONS {
                out.push((
                    format!("{topic}/air/{code}"),
                    packet(
                        mn,
                        "22",
                        t,
                        &[
                            ("a34004", pm25(d)),
                            ("a34002", 50.0),
                            ("a21026", 10.0),
                            ("a21004", 30.0),
                            ("a21005", 0.5),
                            ("a05024", 50.0),
                        ],
                    ),
                ));
            }
        }
    }
    out
}

fn water_packets(topic: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for d in 0..7 {
        for slot in 0..6 {
            let t = day(d).and_hms_opt(slot * 4, 0, 0).unwrap();
            let s1_nh3 = if d == 3 { 2.31 } else { 0.8 };
            let rows: [(&str, [(&str, f64); 5]); 3] = [
                (
                    SECTIONS[0].1,
                    [
                        ("w01001", 7.5),
                        ("w01009", 7.0),
                        ("w01019", 3.0),
                        ("w21003", s1_nh3),
                        ("w21011", 0.15),
                    ],
                ),
                (
                    SECTIONS[1].1,
                    [
                        ("w01001", 7.5),
                        ("w01009", 7.0),
                        ("w01019", 3.5),
                        ("w21003", 0.4),
                        ("w21011", 0.08),
                    ],
                ),
                (
                    SECTIONS[2].1,
                    [
                        ("w01001", 7.5),
                        ("w01009", 8.0),
                        ("w01019", 2.0),
                        ("w21003", 0.3),
                        ("w21011", 0.02),
                    ],
                ),
            ];
            for (i, (mn, f)) in rows.iter().enumerate() {
                out.push((
                    format!("{topic}/water/{}", SECTIONS[i].0),
                    packet(mn, "21", t, f),
                ));
            }
        }
    }
    out
}

async fn publish(mqtt: &str, client_id: &str, msgs: &[(String, String)]) {
    let (host, port) = mqtt.rsplit_once(':').unwrap();
    let mut opts = MqttOptions::new(client_id, host, port.parse().unwrap());
    opts.set_keep_alive(Duration::from_secs(30));
    let (client, mut el) = AsyncClient::new(opts, 100);
    let owned = msgs.to_vec();
    let total = owned.len();
    let p = tokio::spawn(async move {
        for (t, m) in owned {
            client
                .publish(t, QoS::AtLeastOnce, false, m.into_bytes())
                .await
                .unwrap();
        }
        client
    });
    let mut acked = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
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

struct Influx {
    base: String,
    db: String,
    http: reqwest::Client,
}

impl Influx {
    async fn query(&self, q: &str) -> Value {
        let mut url = url::Url::parse(&format!("{}/query", self.base)).unwrap();
        url.query_pairs_mut()
            .append_pair("db", &self.db)
            .append_pair("q", q);
        self.http
            .post(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Rows of the first series: (RFC 3339 time, value).
    async fn column(&self, q: &str) -> Vec<(String, Value)> {
        let body = self.query(q).await;
        body["results"][0]["series"][0]["values"]
            .as_array()
            .map(|rows| {
                rows.iter()
                    .map(|r| (r[0].as_str().unwrap_or("").to_string(), r[1].clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Polls until `check` accepts what `q` returns (bounded).
    async fn wait_for(
        &self,
        q: &str,
        what: &str,
        check: impl Fn(&[(String, Value)]) -> bool,
    ) -> Vec<(String, Value)> {
        let deadline = Instant::now() + Duration::from_secs(45);
        loop {
            let rows = self.column(q).await;
            if check(&rows) {
                return rows;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: InfluxDB never showed the expected result; last: {rows:?}"
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
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

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

fn wait_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        assert!(
            Instant::now() < deadline,
            "daemon did not exit within {within:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn wait_log(log: &Path, needle: &str) {
    wait_log_n(log, needle, 1);
}

/// Waits until `needle` occurs at least `n` times in the log.
fn wait_log_n(log: &Path, needle: &str, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::fs::read_to_string(log)
        .unwrap_or_default()
        .matches(needle)
        .count()
        < n
    {
        assert!(
            Instant::now() < deadline,
            "no {needle:?} in the daemon log:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_week_through_the_daemon_into_influx_with_late_data_reload_and_stop() {
    let mqtt = common::service("ENVWATCH_TEST_MQTT");
    let influx = Influx {
        base: common::service("ENVWATCH_TEST_INFLUX"),
        db: common::unique("e2e"),
        http: reqwest::Client::new(),
    };
    influx
        .query(&format!("CREATE DATABASE \"{}\"", influx.db))
        .await;
    let tmp = tempfile::tempdir().unwrap();
    let (config, state, log) = (
        tmp.path().join("config"),
        tmp.path().join("state"),
        tmp.path().join("daemon.log"),
    );
    let topic = common::unique("e2e");
    write_config(&config, &state, &mqtt, &influx.base, &influx.db, &topic);

    let mut daemon = start(&config, &log);
    wait_log(&log, "MQTT subscribed");

    let mut msgs = air_packets(&topic, &[0, 1, 2, 3, 4, 5, 6], |d| PM25[d]);
    msgs.extend(water_packets(&topic));
    publish(&mqtt, &format!("{topic}-pub"), &msgs).await;

    // City daily AQI per day, as HJ 633-2026 gives it for these values.
    let city_q = "SELECT aqi FROM air_daily WHERE \"scope\" = 'city' AND \"city\" = '杭州'";
    let want: Vec<(String, i64)> = [50, 100, 101, 119, 50, 50, 50]
        .iter()
        .enumerate()
        .map(|(i, a)| (midnight_utc(day(i)), *a))
        .collect();
    let got = influx
        .wait_for(city_q, "city daily AQI", |rows| {
            rows.iter()
                .map(|(t, v)| (t.clone(), v.as_i64().unwrap_or(-1)))
                .collect::<Vec<_>>()
                == want
        })
        .await;
    assert_eq!(got.len(), 7);
    // Primary pollutant only above 50 (HJ 633 §4.4): PM2.5 on days 2-4.
    let prim = influx
        .column("SELECT \"primary\" FROM air_daily WHERE \"scope\" = 'city'")
        .await;
    assert_eq!(
        prim.iter().filter(|(_, v)| v == "PM2.5").count(),
        3,
        "{prim:?}"
    );
    // Month ratio: 5 good days of 7.
    influx
        .wait_for(
            "SELECT good_days, valid_days FROM air_target WHERE \"period\" = 'month' AND \"city\" = '杭州'",
            "month good days",
            |rows| rows.len() == 1 && rows[0].1 == 5,
        )
        .await;
    // Water: S1 is 劣V (6) on day 4 only, III otherwise; S2 and S3 class II every day.
    let s1 = influx
        .wait_for(
            "SELECT class FROM water_class WHERE \"section\" = 'S1' AND \"period\" = 'day'",
            "S1 daily classes",
            |rows| rows.len() == 7,
        )
        .await;
    let classes: Vec<i64> = s1.iter().map(|(_, v)| v.as_i64().unwrap()).collect();
    assert_eq!(classes, vec![3, 3, 3, 6, 3, 3, 3]);
    for s in ["S2", "S3"] {
        let rows = influx
            .wait_for(
                &format!(
                    "SELECT class FROM water_class WHERE \"section\" = '{s}' AND \"period\" = 'day'"
                ),
                s,
                |rows| rows.len() == 7,
            )
            .await;
        assert!(
            rows.iter().all(|(_, v)| v.as_i64() == Some(2)),
            "{s}: {rows:?}"
        );
    }
    // Drinking sources: both compliant in the month (target 100 %).
    influx
        .wait_for(
            "SELECT compliant, sections FROM water_target WHERE \"kind\" = 'drinking_source'",
            "drinking sources",
            |rows| rows.len() == 1 && rows[0].1 == 2,
        )
        .await;

    // SIGHUP with a broken config: rejected, the daemon keeps running on the old one.
    let good_stations = std::fs::read_to_string(config.join("stations.toml")).unwrap();
    std::fs::write(config.join("stations.toml"), "[[station]]\ncode = 1\n").unwrap();
    signal(&daemon, "-HUP");
    wait_log(&log, "reload rejected");
    assert!(
        daemon.try_wait().unwrap().is_none(),
        "daemon died on a broken reload"
    );
    std::fs::write(config.join("stations.toml"), good_stations).unwrap();

    // Late data: day 1 (index 0) re-sent with PM2.5 80 → its AQI becomes 119, and the
    // month has 4 good days.
    publish(
        &mqtt,
        &format!("{topic}-late"),
        &air_packets(&topic, &[0], |_| 80.0),
    )
    .await;
    let d0 = midnight_utc(day(0));
    influx
        .wait_for(city_q, "late day recomputed", |rows| {
            rows.iter()
                .any(|(t, v)| *t == d0 && v.as_i64() == Some(119))
        })
        .await;
    influx
        .wait_for(
            "SELECT good_days FROM air_target WHERE \"period\" = 'month' AND \"city\" = '杭州'",
            "month ratio after late data",
            |rows| rows.len() == 1 && rows[0].1 == 4,
        )
        .await;

    // SIGHUP with a valid config that adds a station: the new sources accept it, and its
    // readings reach Influx like the others (the commit hook's site maps follow reloads).
    let mut stations = std::fs::read_to_string(config.join("stations.toml")).unwrap();
    stations.push_str(
        "[[station]]\ncode = \"1227A\"\nname = \"1227A\"\ncity = \"杭州\"\nmn = \"E2E0000000000000AIR00004\"\n",
    );
    std::fs::write(config.join("stations.toml"), stations).unwrap();
    signal(&daemon, "-HUP");
    wait_log(&log, "configuration reloaded");
    let t = day(6).and_hms_opt(0, 0, 0).unwrap();
    let new_station = vec![(
        format!("{topic}/air/1227A"),
        packet("E2E0000000000000AIR00004", "22", t, &[("a34004", 42.0)]),
    )];
    publish(&mqtt, &format!("{topic}-new"), &new_station).await;
    influx
        .wait_for(
            "SELECT pm2_5 FROM air_hourly WHERE \"station\" = '1227A'",
            "reading of a station added by reload",
            |rows| rows.len() == 1 && rows[0].1.as_f64() == Some(42.0),
        )
        .await;

    // SIGHUP that turns alerts on (a signed webhook on a loopback receiver): the reloaded
    // rules apply at once. S1 gets NH3-N 2.5 (> 2.0, 劣V) at 13:00 on the last day: one
    // `water_inferior_v` firing for S1 (fire_after = 1) naming NH3-N.
    let receiver = alert_support::Receiver::start(alert_support::ReceiverConfig {
        webhook_secret: "e2e-hook-secret".into(),
        dingtalk_token: String::new(),
        dingtalk_secret: String::new(),
        fail_first: 0,
    })
    .await;
    let secret = tmp.path().join("hook-secret");
    std::fs::write(&secret, "e2e-hook-secret").unwrap();
    let mut toml = std::fs::read_to_string(config.join("envwatch.toml")).unwrap();
    toml.push_str(&format!(
        "\n[alerts]\nenabled = true\n\n[alerts.channels.hook]\nkind = \"webhook\"\nurl = \"{}\"\nsecret = \"file:{}\"\n\n[alerts.rules.water_inferior_v]\nseverity = \"critical\"\nchannels = [\"hook\"]\nperiod = \"reading\"\nfire_after = 1\nresolve_after = 1\n",
        receiver.url("/hook"),
        secret.display()
    ));
    std::fs::write(config.join("envwatch.toml"), toml).unwrap();
    signal(&daemon, "-HUP");
    wait_log_n(&log, "configuration reloaded", 2);
    let t = day(6).and_hms_opt(13, 0, 0).unwrap();
    let bad = vec![(
        format!("{topic}/water/S1"),
        packet(SECTIONS[0].1, "21", t, &[("w21003", 2.5)]),
    )];
    publish(&mqtt, &format!("{topic}-bad"), &bad).await;
    let got = receiver.wait_for(1, Duration::from_secs(30)).await;
    let firing: Vec<_> = got.iter().filter(|m| m.json["kind"] == "firing").collect();
    assert_eq!(firing.len(), 1, "one firing notification: {got:?}");
    let text = firing[0].json["text"].as_str().unwrap_or_default();
    assert!(text.contains("S1") && text.contains("NH3-N"), "{text}");
    // The Grafana annotation for it reaches Influx through the outbox.
    influx
        .wait_for(
            "SELECT \"state\" FROM envwatch_alert WHERE \"rule\" = 'water_inferior_v' AND \"subject\" = 'S1'",
            "envwatch_alert annotation",
            |rows| rows.iter().any(|(_, v)| v == "firing"),
        )
        .await;

    // SIGHUP that points [influx] at another database: the publisher is rebuilt (the
    // outbox keeps anything queued) and new points land in the new database.
    let influx2 = Influx {
        base: influx.base.clone(),
        db: format!("{}_reloaded", influx.db),
        http: reqwest::Client::new(),
    };
    influx2
        .query(&format!("CREATE DATABASE \"{}\"", influx2.db))
        .await;
    let toml = std::fs::read_to_string(config.join("envwatch.toml")).unwrap();
    let from = format!("database = \"{}\"", influx.db);
    assert!(toml.contains(&from));
    std::fs::write(
        config.join("envwatch.toml"),
        toml.replace(&from, &format!("database = \"{}\"", influx2.db)),
    )
    .unwrap();
    signal(&daemon, "-HUP");
    wait_log_n(&log, "configuration reloaded", 3);
    let t = day(6).and_hms_opt(1, 0, 0).unwrap();
    let after = vec![(
        format!("{topic}/air/1227A"),
        packet("E2E0000000000000AIR00004", "22", t, &[("a34004", 43.0)]),
    )];
    publish(&mqtt, &format!("{topic}-after"), &after).await;
    influx2
        .wait_for(
            "SELECT pm2_5 FROM air_hourly WHERE \"station\" = '1227A'",
            "a reading after [influx] was reloaded",
            |rows| rows.iter().any(|(_, v)| v.as_f64() == Some(43.0)),
        )
        .await;

    // SIGTERM: clean exit within 10 s.
    signal(&daemon, "-TERM");
    let st = wait_exit(&mut daemon, Duration::from_secs(10));
    assert!(
        st.success(),
        "exit status {st}\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    for db in [&influx, &influx2] {
        db.query(&format!("DROP DATABASE \"{}\"", db.db)).await;
    }
}
