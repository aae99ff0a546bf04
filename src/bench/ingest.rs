//! `envwatch bench ingest [--broker HOST:PORT] [--messages N] [--factors K]`: sustained
//! end-to-end rate (HJ 212 hour packets published at QoS 1 -> decoded, validated,
//! committed in SQLite -> PUBACK) next to the raw rate of a plain QoS 1 rumqttc subscriber
//! that does nothing, on the same broker in the same run. Broker: `--broker`, else
//! `$ENVWATCH_TEST_MQTT`, else 127.0.0.1:1883.

use std::collections::{BTreeMap, HashMap};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::NaiveDate;
use rumqttc::{AsyncClient, Event, MqttOptions, Outgoing, Packet, QoS};
use tokio_util::sync::CancellationToken;

use crate::config::daemon::{DaemonConfig, MqttSettings};
use crate::config::pipeline::{DecodeSettings, Format, MqttSource, Pipeline, SourceSettings};
use crate::config::{Config, HourLabel, Station};
use crate::decode::hj212::{OutFactor, OutHeader, encode_packet};
use crate::ingest::{self, IngestMetrics, IngestOptions};
use crate::model::{DataFlag, SiteId};
use crate::store::Store;

const CODES: [&str; 10] = [
    "a34004", "a34002", "a21026", "a21004", "a21005", "a05024", "a21002", "a21003", "a01001",
    "a01002",
];
pub(super) const STATIONS: usize = 20;

pub(super) struct Opts {
    pub host: String,
    pub port: u16,
    pub messages: usize,
    pub factors: usize,
}

fn parse(args: &[String]) -> anyhow::Result<Opts> {
    let mut broker =
        std::env::var("ENVWATCH_TEST_MQTT").unwrap_or_else(|_| "127.0.0.1:1883".into());
    let mut messages = 100_000usize;
    let mut factors = 6usize;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || it.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--broker" => broker = val()?.clone(),
            "--messages" => messages = val()?.parse().context("--messages")?,
            "--factors" => factors = val()?.parse().context("--factors")?,
            other => {
                bail!("bench ingest: unknown argument {other} (--broker, --messages, --factors)")
            }
        }
    }
    if !(1..=CODES.len()).contains(&factors) {
        bail!("--factors must be 1..={}", CODES.len());
    }
    let (host, port) = broker
        .rsplit_once(':')
        .with_context(|| format!("--broker {broker}: expected HOST:PORT"))?;
    Ok(Opts {
        host: host.to_string(),
        port: port.parse().context("broker port")?,
        messages,
        factors,
    })
}

pub(super) fn mn(station: usize) -> String {
    format!("BENCH{station:04}")
}

fn packet(i: usize, factors: usize) -> String {
    let t0 = NaiveDate::from_ymd_opt(2020, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or_default();
    let t = t0 + chrono::Duration::hours((i / STATIONS) as i64);
    let m = mn(i % STATIONS);
    let h = OutHeader {
        qn: None,
        st: "22",
        cn: "2061",
        pw: "123456",
        mn: &m,
        flag: 4,
        part: None,
    };
    let f: Vec<OutFactor<'_>> = CODES[..factors]
        .iter()
        .enumerate()
        .map(|(k, code)| OutFactor {
            code,
            value: ((i + k * 7) % 90) as f64 + 0.5,
            flag: DataFlag::N,
        })
        .collect();
    encode_packet(&h, t, &f)
}

/// Publishes `n` packets at QoS 1 on a thread of its own; returns (elapsed, when done).
pub(super) fn spawn_publisher(
    o: &Opts,
    client_id: String,
    topic_prefix: String,
) -> std::thread::JoinHandle<anyhow::Result<Duration>> {
    let (host, port, n, factors) = (o.host.clone(), o.port, o.messages, o.factors);
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        rt.block_on(async move {
            let mut mo = MqttOptions::new(client_id, host, port);
            mo.set_inflight(1000)
                .set_keep_alive(Duration::from_secs(30));
            let (client, mut el) = AsyncClient::new(mo, 1000);
            let start = Instant::now();
            let producer = tokio::spawn(async move {
                for i in 0..n {
                    let topic = format!("{topic_prefix}/{}/hj212", i % STATIONS);
                    client
                        .publish(topic, QoS::AtLeastOnce, false, packet(i, factors))
                        .await?;
                }
                anyhow::Ok(client)
            });
            let mut acked = 0;
            while acked < n {
                match tokio::time::timeout(Duration::from_secs(60), el.poll()).await {
                    Ok(Ok(Event::Incoming(Packet::PubAck(_)))) => acked += 1,
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => bail!("publisher: {e}"),
                    Err(_) => bail!("publisher: stalled at {acked}/{n} PUBACKs"),
                }
            }
            let elapsed = start.elapsed();
            let client = producer.await??;
            client.disconnect().await?;
            let _ = tokio::time::timeout(Duration::from_secs(2), async {
                while let Ok(ev) = el.poll().await {
                    if matches!(ev, Event::Outgoing(Outgoing::Disconnect)) {
                        break;
                    }
                }
            })
            .await;
            Ok(elapsed)
        })
    })
}

/// Raw rate: a QoS 1 subscriber that does nothing but receive (auto PUBACK).
pub(super) async fn raw_phase(o: &Opts, tag: &str) -> anyhow::Result<(Duration, Duration)> {
    let mut mo = MqttOptions::new(format!("bench-raw-sub-{tag}"), o.host.clone(), o.port);
    mo.set_clean_session(true)
        .set_max_packet_size(1 << 20, 1 << 20)
        .set_keep_alive(Duration::from_secs(30));
    let (client, mut el) = AsyncClient::new(mo, 100);
    let prefix = format!("bench/{tag}/raw");
    client
        .subscribe(format!("{prefix}/#"), QoS::AtLeastOnce)
        .await?;
    loop {
        match el.poll().await? {
            Event::Incoming(Packet::SubAck(_)) => break,
            _ => continue,
        }
    }
    let publisher = spawn_publisher(o, format!("bench-raw-pub-{tag}"), prefix);
    let mut got = 0usize;
    let mut first = None;
    while got < o.messages {
        match tokio::time::timeout(Duration::from_secs(60), el.poll()).await {
            Ok(Ok(Event::Incoming(Packet::Publish(_)))) => {
                got += 1;
                first.get_or_insert_with(Instant::now);
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => bail!("raw subscriber: {e}"),
            Err(_) => bail!("raw subscriber: stalled at {got}/{}", o.messages),
        }
    }
    let elapsed = first.map(|t| t.elapsed()).unwrap_or_default();
    let pub_elapsed = publisher
        .join()
        .map_err(|_| anyhow::anyhow!("publisher panicked"))??;
    client.disconnect().await?;
    let _ = tokio::time::timeout(Duration::from_millis(500), el.poll()).await;
    Ok((elapsed, pub_elapsed))
}

fn bench_config(o: &Opts, tag: &str, dir: &std::path::Path) -> Config {
    let mut daemon = DaemonConfig::default();
    daemon.general.state_dir = Some(dir.to_path_buf());
    daemon.mqtt = Some(MqttSettings {
        host: o.host.clone(),
        port: o.port,
        client_id: format!("envwatch-bench-{tag}"),
        ..MqttSettings::default()
    });
    let stations: Vec<Station> = (0..STATIONS)
        .map(|s| Station {
            code: SiteId::new(format!("B{s:03}")),
            name: format!("bench {s}"),
            city: daemon.general.city.clone(),
            district: None,
            lon: None,
            lat: None,
            control: false,
            mn: Some(mn(s)),
        })
        .collect();
    let mn_index: HashMap<String, SiteId> = stations
        .iter()
        .filter_map(|s| s.mn.clone().map(|m| (m, s.code.clone())))
        .collect();
    let pipeline = Pipeline {
        name: "bench".into(),
        enabled: true,
        description: None,
        source: SourceSettings::Mqtt(MqttSource {
            topics: vec![format!("bench/{tag}/e2e/+/hj212")],
            qos: 1,
        }),
        decode: DecodeSettings {
            format: Format::Hj212,
            crc: Default::default(),
            hour_label: HourLabel::Start,
            json: None,
            units: BTreeMap::new(),
            period: None,
            minute_data: Default::default(),
        },
        sites: BTreeMap::new(),
    };
    Config {
        dir: dir.to_path_buf(),
        daemon,
        stations,
        sections: Vec::new(),
        pipelines: vec![pipeline],
        mn_index,
    }
}

struct E2e {
    elapsed: Duration,
    pub_elapsed: Duration,
    commits: u64,
    readings: u64,
}

async fn e2e_phase(o: &Opts, tag: &str) -> anyhow::Result<E2e> {
    let dir = tempfile_dir(tag)?;
    let config = Arc::new(bench_config(o, tag, &dir));
    let store = Store::open(&dir.join("bench.db"), config.daemon.general.timezone)?;
    let metrics = Arc::new(IngestMetrics::default());
    let cancel = CancellationToken::new();
    let task = tokio::spawn(ingest::run(
        config.clone(),
        store,
        IngestOptions::default(),
        metrics.clone(),
        cancel.clone(),
    ));
    let until = Instant::now() + Duration::from_secs(20);
    while !metrics.subscribed.load(Ordering::Relaxed) {
        if Instant::now() > until {
            bail!("ingest did not subscribe within 20 s");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let want = (o.messages * o.factors) as u64;
    let publisher = spawn_publisher(
        o,
        format!("bench-e2e-pub-{tag}"),
        format!("bench/{tag}/e2e"),
    );
    let mut first = None;
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        if first.is_none() && metrics.messages.load(Ordering::Relaxed) > 0 {
            first = Some(Instant::now());
        }
        if metrics.readings_committed.load(Ordering::Relaxed) >= want {
            break;
        }
        if Instant::now() > deadline {
            bail!("end-to-end: not all readings committed within 600 s");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let elapsed = first.map(|t| t.elapsed()).unwrap_or_default();
    let pub_elapsed = publisher
        .join()
        .map_err(|_| anyhow::anyhow!("publisher panicked"))??;
    cancel.cancel();
    let store = task.await??;
    let readings = store.count_readings()?;
    drop(store);
    // Leave no persistent session behind on the broker.
    super::drop_mqtt_session(&o.host, o.port, &format!("envwatch-bench-{tag}")).await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(E2e {
        elapsed,
        pub_elapsed,
        commits: metrics.commits.load(Ordering::Relaxed),
        readings,
    })
}

fn tempfile_dir(tag: &str) -> anyhow::Result<std::path::PathBuf> {
    let d = std::env::temp_dir().join(format!("envwatch-bench-{tag}"));
    std::fs::create_dir_all(&d)?;
    Ok(d)
}

pub fn run(args: &[String]) -> anyhow::Result<ExitCode> {
    let o = parse(args)?;
    let tag = super::run_tag();
    let rt = super::runtime()?;
    let n_readings = (o.messages * o.factors) as f64;
    println!(
        "bench ingest: broker {}:{}, {} HJ 212 hour packets x {} readings, QoS 1",
        o.host, o.port, o.messages, o.factors
    );
    let (raw, raw_pub) = rt.block_on(raw_phase(&o, &tag))?;
    let raw_rate = n_readings / raw.as_secs_f64();
    println!(
        "raw QoS 1 subscriber : {:>9.0} msg/s = {:>9.0} readings/s  ({:.2} s; publisher {:.0} msg/s)",
        o.messages as f64 / raw.as_secs_f64(),
        raw_rate,
        raw.as_secs_f64(),
        o.messages as f64 / raw_pub.as_secs_f64()
    );
    let e = rt.block_on(e2e_phase(&o, &tag))?;
    let rate = n_readings / e.elapsed.as_secs_f64();
    println!(
        "end-to-end committed : {:>9.0} msg/s = {:>9.0} readings/s  ({:.2} s; publisher {:.0} msg/s; {} commits, {:.0} readings/commit)",
        o.messages as f64 / e.elapsed.as_secs_f64(),
        rate,
        e.elapsed.as_secs_f64(),
        o.messages as f64 / e.pub_elapsed.as_secs_f64(),
        e.commits,
        n_readings / e.commits.max(1) as f64
    );
    println!(
        "ratio end-to-end / raw: {:.1} %   stored readings: {}   peak RSS (whole process, incl. publisher and raw subscriber): {} MiB",
        100.0 * rate / raw_rate,
        e.readings,
        super::daemon::vm_hwm_kib("/proc/self/status")
            .map_or("?".into(), |k| format!("{:.1}", k as f64 / 1024.0))
    );
    if e.readings != n_readings as u64 {
        bail!("stored {} readings, expected {n_readings}", e.readings);
    }
    Ok(ExitCode::SUCCESS)
}
