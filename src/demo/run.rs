//! The demo run: embedded defaults (the shipped stations, sections and pipelines are
//! compiled in), an embedded broker, the simulator publishing HJ 212 packets, the real
//! daemon path, and a summary computed from what the daemon stored.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::TimeZone;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde::Serialize;

use super::broker::EmbeddedBroker;
use super::simulate::Scenario;
use crate::config::Config;
use crate::config::pipeline::CrcMode;
use crate::daemon::{self, DaemonOptions, Sink};
use crate::decode::hj212::{OutFactor, OutHeader, encode_packet, frame_with};
use crate::ingest::IngestMetrics;
use crate::model::Reading;
use crate::shutdown::Shutdown;

const STATIONS: &str = include_str!("../../config/stations.toml");
const SECTIONS: &str = include_str!("../../config/sections.toml");
const AIR_PIPELINE: &str = include_str!("../../pipelines/air-hj212-mqtt.toml");
const WATER_PIPELINE: &str = include_str!("../../pipelines/water-hj212-mqtt.toml");

/// What the demo found, also written as `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub days: u32,
    pub first_day: String,
    pub last_day: String,
    pub city: String,
    pub good_days: u32,
    pub valid_days: u32,
    pub good_day_ratio: Option<f64>,
    pub good_day_target: f64,
    pub polluted_days: Vec<(String, u16, String)>,
    pub sections: Vec<SectionLine>,
    pub drinking_sources: u32,
    pub drinking_sources_compliant: u32,
    pub inferior_v_sections: Vec<String>,
    pub alerts: Vec<(String, String, String)>,
    pub dead_letters: Vec<(String, String)>,
    pub packets_published: u64,
    pub readings_stored: u64,
    pub line_protocol: String,
    pub store: String,
    /// The quality report of the simulated month (HTML), when it could be written.
    pub report: Option<String>,
    pub seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SectionLine {
    pub id: String,
    pub name: String,
    pub target: String,
    pub drinking_source: bool,
    /// Class of the last simulated day.
    pub class: String,
    pub compliant: bool,
    pub items: String,
}

fn write_config(dir: &Path, state: &Path, broker_port: u16) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir.join("pipelines"))?;
    std::fs::write(dir.join("stations.toml"), STATIONS)?;
    std::fs::write(dir.join("sections.toml"), SECTIONS)?;
    std::fs::write(dir.join("pipelines/air-hj212-mqtt.toml"), AIR_PIPELINE)?;
    std::fs::write(dir.join("pipelines/water-hj212-mqtt.toml"), WATER_PIPELINE)?;
    std::fs::write(
        dir.join("envwatch.toml"),
        format!(
            r#"# envwatch demo configuration (written by `envwatch demo`).
[general]
timezone = "Asia/Shanghai"
city = "杭州"
district = "余杭区"
state_dir = "{state}"

[store]
commit_interval = "50ms"

[mqtt]
host = "127.0.0.1"
port = {broker_port}
client_id = "envwatch-demo"

[alerts]
enabled = true
language = "zh"

[alerts.channels.broker]
kind = "mqtt"
enabled = true
host = "127.0.0.1"
port = {broker_port}
topic = "envwatch/alerts"
client_id = "envwatch-demo-alerts"

[alerts.rules.water_inferior_v]
severity = "critical"
channels = ["broker"]
period = "reading"
fire_after = 2
resolve_after = 2

[alerts.rules.drinking_source_noncompliant]
severity = "critical"
channels = ["broker"]
period = "reading"
fire_after = 2
resolve_after = 2

[alerts.rules.air_polluted_day]
severity = "major"
channels = ["broker"]
aqi_above = 100
"#,
            state = state.display()
        ),
    )?;
    Ok(())
}

/// HJ 212 data packets (CN of each reading's period: 2061 hours, 2011 real-time) for a
/// list of readings, one packet per site, period and time.
fn packets(config: &Config, readings: &[Reading], tz: chrono_tz::Tz) -> Vec<(String, String)> {
    type Key = (String, crate::model::Period, chrono::DateTime<chrono::Utc>);
    let mut groups: std::collections::BTreeMap<Key, Vec<&Reading>> = Default::default();
    for r in readings {
        groups
            .entry((r.site.0.clone(), r.period, r.time))
            .or_default()
            .push(r);
    }
    let mut out = Vec::with_capacity(groups.len());
    for ((site, period, time), rs) in groups {
        let (mn, st, topic) = if let Some(s) = config.station(&site) {
            (s.mn.clone(), "22", format!("envwatch/air/{site}/hj212"))
        } else if let Some(s) = config.section(&site) {
            (s.mn.clone(), "21", format!("envwatch/water/{site}/hj212"))
        } else {
            continue;
        };
        let Some(mn) = mn else { continue };
        let factors: Vec<OutFactor<'_>> = rs
            .iter()
            .map(|r| OutFactor {
                code: r.parameter.hj212_codes()[0],
                value: r.value,
                flag: r.flag,
            })
            .collect();
        let h = OutHeader {
            qn: None,
            st,
            cn: period.hj212_cn(),
            pw: "123456",
            mn: &mn,
            flag: 4,
            part: None,
        };
        let local = time.with_timezone(&tz).naive_local();
        out.push((topic, encode_packet(&h, local, &factors)));
    }
    out
}

/// Bad input a real network sends: each must end up as a dead letter with a reason.
fn bad_packets(good: &str) -> Vec<(String, String)> {
    let t = "envwatch/air/1223A/hj212".to_string();
    let body = good.trim_end();
    let wrong_crc = format!("{}0000\r\n", &body[..body.len() - 4]);
    let truncated = body[..body.len() / 2].to_string();
    let unknown_mn = frame_with(
        "QN=20261101000000000;ST=22;CN=2061;PW=123456;MN=NOT-A-KNOWN-MN;Flag=4;CP=&&DataTime=20261101000000;a34004-Avg=35,a34004-Flag=N&&",
        CrcMode::Hj212,
    );
    vec![
        (t.clone(), wrong_crc),
        (t.clone(), truncated),
        (t.clone(), "\u{1}\u{2}garbage bytes, not HJ 212".to_string()),
        (t, unknown_mn),
    ]
}

async fn publish_all(
    broker: std::net::SocketAddr,
    msgs: &[(String, String)],
) -> anyhow::Result<u64> {
    let mut opts = MqttOptions::new(
        "envwatch-demo-simulator",
        broker.ip().to_string(),
        broker.port(),
    );
    opts.set_keep_alive(Duration::from_secs(30));
    opts.set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut eventloop) = AsyncClient::new(opts, 256);
    let total = msgs.len() as u64;
    let owned: Vec<(String, String)> = msgs.to_vec();
    let publisher = tokio::spawn(async move {
        for (topic, payload) in owned {
            if client
                .publish(topic, QoS::AtLeastOnce, false, payload.into_bytes())
                .await
                .is_err()
            {
                break;
            }
        }
        client
    });
    let mut acked = 0u64;
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked < total && Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_secs(5), eventloop.poll()).await {
            Ok(Ok(Event::Incoming(Packet::PubAck(_)))) => acked += 1,
            Ok(Ok(_)) => {}
            Ok(Err(e)) => anyhow::bail!("simulator lost the embedded broker: {e}"),
            Err(_) => anyhow::bail!("simulator: no answer from the embedded broker for 5 s"),
        }
    }
    let client = publisher.await?;
    let _ = client.disconnect().await;
    Ok(acked)
}

/// Runs the demo; writes everything under `out`.
pub async fn run(days: u32, out: &Path, influx: Option<String>) -> anyhow::Result<Summary> {
    let started = Instant::now();
    let out = std::fs::canonicalize(out).unwrap_or_else(|_| out.to_path_buf());
    let (config_dir, state) = (out.join("config"), out.join("state"));
    std::fs::create_dir_all(&state)?;
    let broker = EmbeddedBroker::start()?;
    write_config(&config_dir, &state, broker.addr.port())?;
    if let Some(url) = &influx {
        let mut s = std::fs::read_to_string(config_dir.join("envwatch.toml"))?;
        s.push_str(&format!(
            "\n[influx]\nurl = \"{url}\"\napi = \"v1\"\ndatabase = \"envwatch\"\n"
        ));
        std::fs::write(config_dir.join("envwatch.toml"), s)?;
    }
    let config =
        Arc::new(Config::load(&config_dir).map_err(|d| anyhow::anyhow!("demo config:\n{d}"))?);
    let tz = config.daemon.general.timezone;
    let scenario = Scenario::recent(days, tz, &config.sections);

    let lp = out.join("envwatch.lp");
    let _ = std::fs::remove_file(&lp);
    let metrics = Arc::new(IngestMetrics::default());
    let shutdown = Shutdown::new();
    let opts = DaemonOptions {
        sink: if influx.is_some() {
            Sink::Influx
        } else {
            Sink::File(lp.clone())
        },
        judge_every: Some(Duration::from_millis(300)),
        serve: false,
        config_dir: Some(config_dir.clone()),
        ingest_metrics: Some(metrics.clone()),
    };
    let daemon = tokio::spawn(daemon::run(config.clone(), opts, shutdown.clone(), None));

    // Publish only once the daemon's subscription exists (a new session has no backlog).
    let t0 = Instant::now();
    while !metrics.subscribed.load(Ordering::Relaxed) {
        if t0.elapsed() > Duration::from_secs(20) || daemon.is_finished() {
            shutdown.trigger();
            let res = daemon.await?;
            res?;
            anyhow::bail!("the daemon did not subscribe to the embedded broker within 20 s");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut readings = scenario.air(&config.stations);
    readings.extend(scenario.water(&config.sections));
    let mut msgs = packets(&config, &readings, tz);
    if let Some((_, first)) = msgs.first().cloned() {
        msgs.extend(bad_packets(&first));
    }
    eprintln!(
        "envwatch demo: {} simulated days ({} .. {}), {} stations, {} sections, {} HJ 212 packets over MQTT",
        scenario.days,
        scenario.day(0),
        scenario.day(scenario.days - 1),
        config.stations.len(),
        config.sections.len(),
        msgs.len()
    );
    let published = publish_all(broker.addr, &msgs).await?;

    // Wait until every message is through the store and the judge has caught up.
    let t1 = Instant::now();
    while metrics.messages.load(Ordering::Relaxed) < published
        && t1.elapsed() < Duration::from_secs(30)
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let db = config.store_path();
    let t2 = Instant::now();
    loop {
        let dirty: i64 = rusqlite::Connection::open(&db)?
            .query_row("SELECT count(*) FROM dirty_days", [], |r| r.get(0))
            .unwrap_or(1);
        if dirty == 0 || t2.elapsed() > Duration::from_secs(20) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Let the alert notifiers send what the last pass queued.
    tokio::time::sleep(Duration::from_millis(500)).await;
    shutdown.trigger();
    let report = daemon.await.context("daemon task")??;

    let mut s = summarize(&config, &scenario, &db, published, &lp)?;
    s.readings_stored = crate::store::Store::open(&db, tz)?.count_readings()?;
    let _ = report;
    // The district quality report of the last simulated day's month, from the same store.
    s.report = match write_report(&config, &db, scenario.day(scenario.days - 1), &out) {
        Ok(p) => Some(p.display().to_string()),
        Err(e) => {
            tracing::warn!("demo report not written: {e:#}");
            None
        }
    };
    s.seconds = started.elapsed().as_secs_f64();
    std::fs::write(out.join("summary.json"), serde_json::to_string_pretty(&s)?)?;
    Ok(s)
}

fn write_report(
    config: &Config,
    db: &Path,
    day: chrono::NaiveDate,
    out: &Path,
) -> anyhow::Result<PathBuf> {
    use crate::report::{self, Format, Lang, ReportInputs, ReportPeriod};
    let period = ReportPeriod::parse(&day.format("%Y-%m").to_string())?;
    let conn = report::data::open_store(db)?;
    let inputs = ReportInputs::from_config(config);
    let data = report::load(&conn, &inputs, period)?;
    report::write(&data, Format::Html, Lang::Zh, &out.join("report"))
}

fn summarize(
    config: &Config,
    scenario: &Scenario,
    db: &Path,
    published: u64,
    lp: &Path,
) -> anyhow::Result<Summary> {
    let conn = rusqlite::Connection::open(db)?;
    let city = config.daemon.general.city.clone();
    let first = scenario.day(0).format("%Y-%m-%d").to_string();
    let last = scenario
        .day(scenario.days - 1)
        .format("%Y-%m-%d")
        .to_string();
    let (good, valid): (u32, u32) = conn.query_row(
        "SELECT coalesce(sum(good),0), coalesce(sum(valid),0) FROM judge_city_days
         WHERE city = ?1 AND day BETWEEN ?2 AND ?3",
        rusqlite::params![city, first, last],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let mut polluted = Vec::new();
    let mut stmt = conn.prepare(
        "SELECT day, aqi, primary_pollutants FROM judge_city_days
         WHERE city = ?1 AND day BETWEEN ?2 AND ?3 AND aqi > 100 ORDER BY day",
    )?;
    for row in stmt.query_map(rusqlite::params![city, first, last], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, u16>(1)?,
            r.get::<_, String>(2)?,
        ))
    })? {
        polluted.push(row?);
    }
    let mut sections = Vec::new();
    let (mut drinking, mut drinking_ok, mut inferior) = (0, 0, Vec::new());
    for s in &config.sections {
        let row: Option<(u8, String)> = conn
            .query_row(
                "SELECT class, items FROM judge_section_days WHERE section = ?1 AND day = ?2",
                rusqlite::params![s.id.as_str(), last],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .ok();
        let Some((n, items)) = row else { continue };
        let Some(class) = crate::standards::water::WaterClass::from_number(n) else {
            continue;
        };
        // The judge's rule (check-config keeps drinking sources' targets at III or better).
        let compliant = class <= s.target.0;
        if s.drinking_source {
            drinking += 1;
            drinking_ok += u32::from(compliant);
        }
        if class == crate::standards::water::WaterClass::InferiorV {
            inferior.push(s.id.to_string());
        }
        sections.push(SectionLine {
            id: s.id.to_string(),
            name: s.name.clone(),
            target: s.target.0.label().to_string(),
            drinking_source: s.drinking_source,
            class: class.label().to_string(),
            compliant,
            items,
        });
    }
    let mut alerts = Vec::new();
    let mut stmt =
        conn.prepare("SELECT rule, subject, status FROM alert_state ORDER BY rule, subject")?;
    for row in stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))? {
        alerts.push(row?);
    }
    let mut dead = Vec::new();
    let mut stmt = conn.prepare("SELECT origin, reason FROM dead_letters ORDER BY id")?;
    for row in stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))? {
        dead.push(row?);
    }
    let _ = chrono::Utc.timestamp_opt(0, 0);
    Ok(Summary {
        days: scenario.days,
        first_day: first,
        last_day: last,
        city,
        good_days: good,
        valid_days: valid,
        good_day_ratio: (valid > 0).then(|| f64::from(good) / f64::from(valid)),
        good_day_target: config.daemon.targets.good_day_ratio,
        polluted_days: polluted,
        sections,
        drinking_sources: drinking,
        drinking_sources_compliant: drinking_ok,
        inferior_v_sections: inferior,
        alerts,
        dead_letters: dead,
        packets_published: published,
        readings_stored: 0,
        line_protocol: lp.display().to_string(),
        store: db.display().to_string(),
        report: None,
        seconds: 0.0,
    })
}

/// The summary as the table the demo prints.
pub fn render(s: &Summary) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let pct = |r: Option<f64>| r.map_or("n/a".to_string(), |r| format!("{:.1}%", r * 100.0));
    let _ = writeln!(
        o,
        "\n== envwatch demo: {} .. {} ({} days) ==",
        s.first_day, s.last_day, s.days
    );
    let _ = writeln!(
        o,
        "Air  {}: good days {}/{} valid = {}  (target >= {:.0}%: {})",
        s.city,
        s.good_days,
        s.valid_days,
        pct(s.good_day_ratio),
        s.good_day_target * 100.0,
        match s.good_day_ratio {
            Some(r) if r + 1e-9 >= s.good_day_target => "MET",
            Some(_) => "MISSED",
            None => "no valid days",
        }
    );
    for (day, aqi, primary) in &s.polluted_days {
        let _ = writeln!(o, "     polluted day {day}: AQI {aqi}, primary {primary}");
    }
    let _ = writeln!(o, "Water (class on {}):", s.last_day);
    let _ = writeln!(
        o,
        "  {:<6} {:<14} {:>6} {:>6} {:>9}  items setting the class",
        "id", "name", "target", "class", "compliant"
    );
    for l in &s.sections {
        let _ = writeln!(
            o,
            "  {:<6} {:<14} {:>6} {:>6} {:>9}  {}{}",
            l.id,
            l.name,
            l.target,
            l.class,
            if l.compliant { "yes" } else { "NO" },
            l.items,
            if l.drinking_source {
                "  [drinking source]"
            } else {
                ""
            }
        );
    }
    let _ = writeln!(
        o,
        "Drinking-water sources compliant: {}/{} (target 100%: {})",
        s.drinking_sources_compliant,
        s.drinking_sources,
        if s.drinking_sources_compliant == s.drinking_sources {
            "MET"
        } else {
            "MISSED"
        }
    );
    let _ = writeln!(
        o,
        "Sections at inferior class V: {} (target 0: {}) {}",
        s.inferior_v_sections.len(),
        if s.inferior_v_sections.is_empty() {
            "MET"
        } else {
            "MISSED"
        },
        s.inferior_v_sections.join(", ")
    );
    let _ = writeln!(o, "Alerts:");
    for (rule, subject, status) in &s.alerts {
        let _ = writeln!(o, "  {rule:<30} {subject:<12} {status}");
    }
    let _ = writeln!(o, "Dead letters: {}", s.dead_letters.len());
    for (origin, reason) in &s.dead_letters {
        let short: String = reason.chars().take(110).collect();
        let _ = writeln!(o, "  {origin}: {short}");
    }
    let _ = writeln!(
        o,
        "{} packets published, {} readings stored in {:.1} s\nstore: {}\npoints (line protocol): {}",
        s.packets_published, s.readings_stored, s.seconds, s.store, s.line_protocol
    );
    if let Some(r) = &s.report {
        let _ = writeln!(o, "report: {r}");
    }
    o
}

/// Default output directory: a fresh one under the system temp dir.
pub fn default_out() -> PathBuf {
    std::env::temp_dir().join(format!(
        "envwatch-demo-{}",
        chrono::Utc::now().format("%Y%m%d-%H%M%S")
    ))
}
