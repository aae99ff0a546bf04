//! `envwatch bench e2e [--broker HOST:PORT] [--influx URL] [--messages N] [--factors K]
//! [--judge-interval D]`: the assembled daemon end to end. HJ 212 hour packets are
//! published at QoS 1 to a real broker; a real `envwatch run` (child process) decodes,
//! commits, judges and publishes them; the clock stops when InfluxDB holds every reading
//! in `air_hourly`. In the same run, on the same broker, a plain QoS 1 subscriber that
//! does nothing gives the raw broker rate. Prints both rates and the daemon's peak RSS.
//!
//! Broker: `--broker`, else `$ENVWATCH_TEST_MQTT`, else 127.0.0.1:1883. InfluxDB 1.x:
//! `--influx`, else `$ENVWATCH_TEST_INFLUX`, else http://127.0.0.1:8086 (a database of its
//! own is created and dropped).

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::daemon::{BenchDir, Daemon, daemon_toml_head, host_port, service};
use super::ingest::{Opts, STATIONS, mn, raw_phase, spawn_publisher};

struct Args {
    opts: Opts,
    influx: String,
    judge_interval: String,
}

fn parse(args: &[String]) -> anyhow::Result<Args> {
    let (mut broker, mut influx) = (None, None);
    let (mut messages, mut factors, mut judge) = (50_000usize, 6usize, "60s".to_string());
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || it.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--broker" => broker = Some(val()?.clone()),
            "--influx" => influx = Some(val()?.clone()),
            "--messages" => messages = val()?.parse().context("--messages")?,
            "--factors" => factors = val()?.parse().context("--factors")?,
            "--judge-interval" => judge = val()?.clone(),
            other => bail!(
                "bench e2e: unknown argument {other} (--broker, --influx, --messages, --factors, --judge-interval)"
            ),
        }
    }
    if !(1..=6).contains(&factors) {
        bail!("--factors must be 1..=6 (the AQI pollutants)");
    }
    if messages == 0 {
        bail!("--messages must be at least 1");
    }
    let broker = service(broker.as_ref(), "ENVWATCH_TEST_MQTT", "127.0.0.1:1883");
    let (host, port) = host_port(&broker)?;
    Ok(Args {
        opts: Opts {
            host,
            port,
            messages,
            factors,
        },
        influx: service(
            influx.as_ref(),
            "ENVWATCH_TEST_INFLUX",
            "http://127.0.0.1:8086",
        ),
        judge_interval: judge,
    })
}

fn config_files(a: &Args, dir: &BenchDir, tag: &str, db: &str) -> anyhow::Result<()> {
    let head = daemon_toml_head(
        dir,
        &a.judge_interval,
        &a.opts.host,
        a.opts.port,
        &format!("envwatch-bench-e2e-{tag}"),
    );
    dir.write(
        "envwatch.toml",
        &format!(
            "{head}[influx]\nurl = \"{}\"\napi = \"v1\"\ndatabase = \"{db}\"\n",
            a.influx
        ),
    )?;
    let mut stations = String::new();
    for s in 0..STATIONS {
        stations.push_str(&format!(
            "[[station]]\ncode = \"B{s:03}\"\nname = \"bench {s}\"\ncity = \"杭州\"\nmn = \"{}\"\n\n",
            mn(s)
        ));
    }
    dir.write("stations.toml", &stations)?;
    dir.write("sections.toml", "")?;
    dir.write(
        "pipelines/bench.toml",
        &format!(
            "[source]\nkind = \"mqtt\"\ntopics = [\"bench/{tag}/e2e/+/hj212\"]\n\n[decode]\nformat = \"hj212\"\n"
        ),
    )
}

/// InfluxQL against the bench database; the JSON answer.
async fn query(
    http: &reqwest::Client,
    base: &str,
    db: &str,
    q: &str,
) -> anyhow::Result<serde_json::Value> {
    let mut url = url::Url::parse(&format!("{base}/query"))
        .with_context(|| format!("InfluxDB URL {base}"))?;
    url.query_pairs_mut()
        .append_pair("db", db)
        .append_pair("q", q);
    let r = http
        .post(url)
        .send()
        .await
        .with_context(|| format!("InfluxDB at {base}"))?;
    Ok(r.json().await?)
}

/// Readings stored in `air_hourly`: the sum of `count(*)` over its fields (the `flag`
/// bitmask field is not a reading and is left out).
async fn stored_readings(http: &reqwest::Client, base: &str, db: &str) -> anyhow::Result<u64> {
    let v = query(http, base, db, "SELECT count(*) FROM air_hourly").await?;
    let series = &v["results"][0]["series"][0];
    let (Some(cols), Some(row)) = (series["columns"].as_array(), series["values"][0].as_array())
    else {
        return Ok(0);
    };
    Ok(cols
        .iter()
        .zip(row)
        .filter(|(c, _)| {
            c.as_str()
                .is_some_and(|c| c.starts_with("count_") && c != "count_flag")
        })
        .filter_map(|(_, v)| v.as_u64())
        .sum())
}

pub fn run(args: &[String]) -> anyhow::Result<ExitCode> {
    let a = parse(args)?;
    let o = &a.opts;
    let tag = super::run_tag();
    let db = format!("envwatch_bench_{}", tag.replace('-', "_"));
    let rt = super::runtime()?;
    let want = (o.messages * o.factors) as u64;
    println!(
        "bench e2e: broker {}:{}, InfluxDB {}, {} HJ 212 hour packets x {} readings from {STATIONS} stations, QoS 1, judge every {}",
        o.host, o.port, a.influx, o.messages, o.factors, a.judge_interval
    );

    let (raw, raw_pub) = rt.block_on(raw_phase(o, &tag))?;
    let raw_rate = want as f64 / raw.as_secs_f64();
    println!(
        "raw QoS 1 subscriber     : {:>8.0} readings/s ({:.2} s; publisher {:.0} msg/s)",
        raw_rate,
        raw.as_secs_f64(),
        o.messages as f64 / raw_pub.as_secs_f64()
    );

    let http = reqwest::Client::new();
    rt.block_on(query(
        &http,
        &a.influx,
        &db,
        &format!("CREATE DATABASE \"{db}\""),
    ))?;
    let dir = BenchDir::new("e2e")?;
    config_files(&a, &dir, &tag, &db)?;
    let daemon = Daemon::start(&dir.0)?;
    let start = Instant::now();
    let publisher = spawn_publisher(
        o,
        format!("bench-e2e-pub-{tag}"),
        format!("bench/{tag}/e2e"),
    );
    let outcome = rt.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(900);
        loop {
            let n = stored_readings(&http, &a.influx, &db).await?;
            if n >= want {
                return anyhow::Ok((start.elapsed(), n));
            }
            if Instant::now() > deadline {
                bail!("InfluxDB holds {n} of {want} readings after 900 s");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let pub_elapsed = publisher
        .join()
        .map_err(|_| anyhow::anyhow!("publisher panicked"))?;
    let rss = daemon.peak_rss_kib();
    let pid = daemon.pid();
    let stopped = daemon.stop();
    // Leave no persistent session or database behind.
    rt.block_on(async {
        super::drop_mqtt_session(&o.host, o.port, &format!("envwatch-bench-e2e-{tag}")).await;
        let _ = query(&http, &a.influx, &db, &format!("DROP DATABASE \"{db}\"")).await;
    });
    let (elapsed, stored) = outcome?;
    let pub_elapsed = pub_elapsed?;
    stopped?;
    let rate = want as f64 / elapsed.as_secs_f64();
    println!(
        "daemon MQTT -> InfluxDB  : {:>8.0} readings/s ({:.2} s from first publish until InfluxDB held all {stored}; publisher {:.0} msg/s)",
        rate,
        elapsed.as_secs_f64(),
        o.messages as f64 / pub_elapsed.as_secs_f64()
    );
    println!(
        "end-to-end / raw: {:.1} %   daemon (pid {pid}) peak RSS: {}",
        100.0 * rate / raw_rate,
        rss.map_or("?".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
    );
    if stored != want {
        bail!("InfluxDB holds {stored} readings, expected {want}");
    }
    Ok(ExitCode::SUCCESS)
}
