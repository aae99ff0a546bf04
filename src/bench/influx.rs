//! `envwatch bench influx`: points per second from the outbox to a real InfluxDB, next to
//! a plain line-protocol POST loop of the same bodies in the same run (the practical
//! limit of the server on this machine). Runs alternate (reference, outbox, reference,
//! outbox, ...) into fresh databases so neither side profits from the other's warm-up.

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use clap::Parser;
use tokio_util::sync::CancellationToken;

use crate::config::Station;
use crate::config::daemon::InfluxApi;
use crate::model::{DataFlag, Reading, SiteId};
use crate::publish::{InfluxClient, InfluxTarget, Publisher, PublisherOptions, outbox, schema};
use crate::standards::parameter::Parameter;

#[derive(Debug, Parser)]
#[command(
    name = "envwatch bench influx",
    about = "Outbox -> InfluxDB 1.x throughput vs a plain POST loop"
)]
struct Args {
    /// InfluxDB 1.x base URL.
    #[arg(
        long,
        env = "ENVWATCH_TEST_INFLUX",
        default_value = "http://127.0.0.1:8086"
    )]
    url: String,
    /// Points per run (air_hourly points with 6 pollutant fields).
    #[arg(long, default_value_t = 1_000_000)]
    points: usize,
    /// Points per write request (both sides).
    #[arg(long, default_value_t = 5000)]
    batch_size: usize,
    /// Gzip request bodies (both sides).
    #[arg(long)]
    gzip: bool,
    /// Runs of each side (alternating).
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// Keep the benchmark databases instead of dropping them.
    #[arg(long)]
    keep: bool,
}

pub fn run(raw: &[String]) -> anyhow::Result<ExitCode> {
    let args = Args::try_parse_from(
        std::iter::once("envwatch bench influx".to_string()).chain(raw.iter().cloned()),
    )?;
    if args.points == 0 || args.batch_size == 0 || args.rounds == 0 {
        bail!("--points, --batch-size and --rounds must be positive");
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(bench(args))
}

/// Synthetic but realistic air_hourly points: 500 stations × consecutive hours.
fn generate(n: usize) -> anyhow::Result<Vec<String>> {
    let stations: Vec<Station> = (0..500)
        .map(|i| Station {
            code: SiteId::new(format!("{:04}A", 1000 + i)),
            name: format!("站点{i}"),
            city: ["杭州", "宁波", "温州", "嘉兴", "湖州"][i % 5].to_string(),
            district: Some(format!("区{}", i % 13)),
            lon: None,
            lat: None,
            control: false,
            mn: None,
        })
        .collect();
    let start: DateTime<Utc> =
        DateTime::parse_from_rfc3339("2026-01-01T00:00:00+08:00")?.with_timezone(&Utc);
    let params = [
        Parameter::Pm25,
        Parameter::Pm10,
        Parameter::So2,
        Parameter::No2,
        Parameter::Co,
        Parameter::O3,
    ];
    let mut lines = Vec::with_capacity(n);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..n {
        let st = &stations[i % stations.len()];
        let hour = start + chrono::Duration::hours((i / stations.len()) as i64);
        let readings: Vec<Reading> = params
            .iter()
            .map(|p| {
                // xorshift: deterministic values with one decimal, like instrument output.
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let v = (x % 3000) as f64 / 10.0;
                Reading {
                    period: crate::model::Period::Hour,
                    site: st.code.clone(),
                    parameter: *p,
                    time: hour,
                    value: if *p == Parameter::Co { v / 100.0 } else { v },
                    flag: DataFlag::N,
                }
            })
            .collect();
        lines.push(schema::air_hourly(st, hour, &readings)?.to_line());
    }
    Ok(lines)
}

async fn influxql(http: &reqwest::Client, url: &str, q: &str) -> anyhow::Result<()> {
    let mut u = reqwest::Url::parse(&format!("{}/query", url.trim_end_matches('/')))?;
    u.query_pairs_mut().append_pair("q", q);
    let resp = http
        .post(u)
        .send()
        .await
        .with_context(|| format!("{q} on {url}"))?;
    if !resp.status().is_success() {
        bail!("{q} on {url}: {}", resp.status());
    }
    Ok(())
}

fn target(args: &Args, db: &str) -> anyhow::Result<InfluxTarget> {
    Ok(InfluxTarget {
        url: reqwest::Url::parse(&args.url)?,
        api: InfluxApi::V1,
        database: db.to_string(),
        retention_policy: None,
        username: None,
        password: None,
        org: None,
        bucket: None,
        token: None,
        gzip: args.gzip,
        timeout: Duration::from_secs(60),
    })
}

/// The reference: the same bodies POSTed back to back by the same client code.
async fn reference_run(args: &Args, db: &str, lines: &[String]) -> anyhow::Result<Duration> {
    let client = InfluxClient::new(target(args, db)?)?;
    let bodies: Vec<Vec<u8>> = lines
        .chunks(args.batch_size)
        .map(|c| {
            let mut b = Vec::with_capacity(c.iter().map(|l| l.len() + 1).sum());
            for l in c {
                b.extend_from_slice(l.as_bytes());
                b.push(b'\n');
            }
            b
        })
        .collect();
    let t0 = Instant::now();
    for b in &bodies {
        client.write(b).await.context("reference write")?;
    }
    Ok(t0.elapsed())
}

/// The outbox: points queued in SQLite (not timed), then the publisher drains them.
async fn outbox_run(
    args: &Args,
    dir: &Path,
    db: &str,
    lines: &[String],
) -> anyhow::Result<(Duration, Duration)> {
    let path = dir.join(format!("{db}.db"));
    let enqueue_time = {
        let lines = lines.to_vec();
        let path = path.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<Duration> {
            let mut conn = rusqlite::Connection::open(&path)?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            outbox::init_schema(&conn, u64::MAX >> 1)?;
            let t0 = Instant::now();
            for chunk in lines.chunks(5000) {
                let tx = conn.transaction()?;
                outbox::enqueue_lines(&tx, chunk)?;
                tx.commit()?;
            }
            Ok(t0.elapsed())
        })
        .await??
    };
    let options = PublisherOptions {
        batch_size: args.batch_size,
        outbox_max_points: u64::MAX >> 1,
        ..PublisherOptions::default()
    };
    let publisher = Publisher::new(InfluxClient::new(target(args, db)?)?, &path, options);
    let metrics = publisher.metrics();
    let cancel = CancellationToken::new();
    let t0 = Instant::now();
    let handle = tokio::spawn(publisher.run(cancel.clone()));
    let want = lines.len() as u64;
    let deadline = t0 + Duration::from_secs(600);
    while metrics.points_written.get() < want {
        if handle.is_finished() || Instant::now() > deadline {
            cancel.cancel();
            bail!(
                "outbox run stopped at {} of {want} points (dead letters {})",
                metrics.points_written.get(),
                metrics.dead_letters.get()
            );
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let elapsed = t0.elapsed();
    cancel.cancel();
    handle.await??;
    if metrics.dead_letters.get() != 0 || metrics.retries.get() != 0 {
        bail!(
            "outbox run had {} dead letters and {} retries",
            metrics.dead_letters.get(),
            metrics.retries.get()
        );
    }
    Ok((elapsed, enqueue_time))
}

fn peak_rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

async fn bench(args: Args) -> anyhow::Result<ExitCode> {
    let http = reqwest::Client::new();
    let dir = tempfile_dir()?;
    let t = Instant::now();
    let lines = generate(args.points)?;
    let bytes: usize = lines.iter().map(|l| l.len() + 1).sum();
    println!(
        "generated {} air_hourly points ({:.1} MB of line protocol, {:.0} B/point) in {:.2?}",
        lines.len(),
        bytes as f64 / 1e6,
        bytes as f64 / lines.len() as f64,
        t.elapsed()
    );
    println!(
        "server {} | batch {} points | gzip {} | {} rounds",
        args.url, args.batch_size, args.gzip, args.rounds
    );
    let mut refs = Vec::new();
    let mut outs = Vec::new();
    for round in 0..args.rounds {
        let pid = std::process::id();
        let (db_ref, db_out) = (
            format!("bench_ref_{pid}_{round}"),
            format!("bench_outbox_{pid}_{round}"),
        );
        for db in [&db_ref, &db_out] {
            influxql(&http, &args.url, &format!("DROP DATABASE \"{db}\"")).await?;
            influxql(&http, &args.url, &format!("CREATE DATABASE \"{db}\"")).await?;
        }
        let r = reference_run(&args, &db_ref, &lines).await?;
        let ref_rate = lines.len() as f64 / r.as_secs_f64();
        println!("round {round}: reference POST loop  {ref_rate:>10.0} points/s ({r:.2?})");
        let (o, enq) = outbox_run(&args, dir.path(), &db_out, &lines).await?;
        let out_rate = lines.len() as f64 / o.as_secs_f64();
        println!(
            "round {round}: outbox -> InfluxDB    {out_rate:>10.0} points/s ({o:.2?}; enqueue {:.0} points/s)",
            lines.len() as f64 / enq.as_secs_f64()
        );
        refs.push(ref_rate);
        outs.push(out_rate);
        if !args.keep {
            for db in [&db_ref, &db_out] {
                influxql(&http, &args.url, &format!("DROP DATABASE \"{db}\"")).await?;
            }
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (r, o) = (mean(&refs), mean(&outs));
    println!(
        "RESULT outbox {o:.0} points/s | reference {r:.0} points/s | ratio {:.1}% | goal >= 100000 points/s and >= 80%: {}",
        100.0 * o / r,
        if o >= 100_000.0 && o >= 0.8 * r {
            "MET"
        } else {
            "NOT MET"
        }
    );
    if let Some(kib) = peak_rss_kib() {
        println!("peak RSS {:.1} MiB (VmHWM)", kib as f64 / 1024.0);
    }
    Ok(ExitCode::SUCCESS)
}

/// A temporary directory for the benchmark's SQLite files, removed at the end.
fn tempfile_dir() -> anyhow::Result<TempDir> {
    let base = std::env::temp_dir().join(format!("envwatch-bench-influx-{}", std::process::id()));
    std::fs::create_dir_all(&base)?;
    Ok(TempDir(base))
}

struct TempDir(std::path::PathBuf);

impl TempDir {
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
