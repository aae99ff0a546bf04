//! `envwatch bench air [--stations N] [--days D] [--runs R] [--pandas SCRIPT]`:
//! hourly readings of N stations × 6 pollutants × D days (default 200 × 365 ≈ 10.5 M),
//! generated in memory, → daily AQI per station and city → good-day ratios.
//!
//! The generator is a pure function of (station, pollutant, hour) — splitmix64 hashes
//! and fixed float expressions — that `benches/air_pandas.py` reproduces bit for bit, so
//! the two implementations judge identical data and their checksums (valid / good days,
//! sum of AQI) must agree. With `--pandas` the script is run in the same session and the
//! speed-up is printed. Timings exclude data generation.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use polars::prelude::*;

use crate::config::Station;
use crate::judge::air::{AirOptions, daily_frame, ratio};
use crate::model::SiteId;

/// 2025-09-01T00:00:00+08:00 in ms: the year spans the 2026-03-01 edition switch.
const START_MS: i64 = 1_756_656_000_000;
const STATIONS_PER_CITY: usize = 20;
const POLLUTANTS: [&str; 6] = ["SO2", "NO2", "PM10", "CO", "O3", "PM2.5"];
/// O3 diurnal profile in % by local hour.
const DIURNAL: [u32; 24] = [
    30, 25, 20, 18, 15, 15, 20, 30, 45, 60, 75, 88, 96, 100, 100, 95, 85, 70, 55, 45, 40, 35, 33,
    31,
];

fn splitmix64(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn unit(n: u64) -> f64 {
    (splitmix64(n) >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

struct Opts {
    stations: usize,
    days: usize,
    runs: usize,
    pandas: Option<String>,
}

fn parse(args: &[String]) -> anyhow::Result<Opts> {
    let mut o = Opts {
        stations: 200,
        days: 365,
        runs: 3,
        pandas: None,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = |name: &str| {
            it.next()
                .cloned()
                .with_context(|| format!("{name} needs a value"))
        };
        match a.as_str() {
            "--stations" => o.stations = val("--stations")?.parse()?,
            "--days" => o.days = val("--days")?.parse()?,
            "--runs" => o.runs = val("--runs")?.parse()?,
            "--pandas" => o.pandas = Some(val("--pandas")?),
            other => bail!(
                "bench air: unknown argument \"{other}\" (expected --stations N, --days D, --runs R, --pandas SCRIPT)"
            ),
        }
    }
    if o.stations == 0 || o.days == 0 || o.runs == 0 {
        bail!("bench air: --stations, --days and --runs must be > 0");
    }
    Ok(o)
}

/// The generated readings frame and station list (see module doc; mirrored in
/// benches/air_pandas.py — change both together).
pub fn generate(n_stations: usize, days: usize) -> PolarsResult<(DataFrame, Vec<Station>)> {
    let codes: Vec<String> = (0..n_stations).map(|s| format!("S{s:04}")).collect();
    let stations: Vec<Station> = (0..n_stations)
        .map(|s| Station {
            code: SiteId::new(codes[s].clone()),
            name: codes[s].clone(),
            city: format!("C{:02}", s / STATIONS_PER_CITY),
            district: None,
            lon: None,
            lat: None,
            control: s % STATIONS_PER_CITY == 0,
            mn: None,
        })
        .collect();
    let hours = days * 24;
    let cap = n_stations * 6 * hours;
    let mut station: Vec<&str> = Vec::with_capacity(cap);
    let mut parameter: Vec<&str> = Vec::with_capacity(cap);
    let mut time: Vec<i64> = Vec::with_capacity(cap);
    let mut value: Vec<f64> = Vec::with_capacity(cap);
    let mut flag: Vec<&str> = Vec::with_capacity(cap);
    for (s, code) in codes.iter().enumerate() {
        let city = (s / STATIONS_PER_CITY) as u64;
        for (p, pname) in POLLUTANTS.iter().enumerate() {
            for h in 0..hours {
                let idx = ((s * 6 + p) * hours + h) as u64;
                let day = (h / 24) as u64;
                let hod = h % 24;
                if unit(idx + (1 << 50)) < 0.03 {
                    continue; // 3 % missing hours
                }
                if hod < 12 && unit((1 << 51) + day * 256 + s as u64) < 0.01 {
                    continue; // 1 % of station-days lose their morning → invalid days
                }
                let u = unit(idx);
                let d = unit((1 << 40) + day * 16 + city);
                let v = match p {
                    0 => (3.0 + 15.0 * u).floor(),
                    1 => (15.0 + 50.0 * d + 30.0 * u).floor(),
                    2 => (20.0 + 140.0 * d + 40.0 * u).floor(),
                    3 => (3.0 + 10.0 * d + 5.0 * u).floor() / 10.0,
                    4 => ((20.0 + 180.0 * d) * f64::from(DIURNAL[hod]) / 100.0 + 20.0 * u).floor(),
                    _ => (10.0 + 90.0 * d + 30.0 * u).floor(),
                };
                station.push(code.as_str());
                parameter.push(pname);
                time.push(START_MS + h as i64 * 3_600_000);
                value.push(v);
                flag.push(if unit(idx + (1 << 52)) < 0.01 {
                    "M"
                } else {
                    "N"
                });
            }
        }
    }
    let time = Int64Chunked::from_vec("time".into(), time)
        .into_datetime(TimeUnit::Milliseconds, Some(polars::prelude::TimeZone::UTC));
    let df = DataFrame::new_infer_height(vec![
        Column::new("station".into(), station),
        Column::new("parameter".into(), parameter),
        time.into_column(),
        Column::new("value".into(), value),
        Column::new("flag".into(), flag),
    ])?;
    Ok((df, stations))
}

pub fn run(args: &[String]) -> anyhow::Result<ExitCode> {
    let o = parse(args)?;
    let t = Instant::now();
    let (df, stations) = generate(o.stations, o.days)?;
    println!(
        "generated {} readings ({} stations x 6 pollutants x {} days, 3% missing, 1% flagged) in {:.2} s",
        df.height(),
        o.stations,
        o.days,
        t.elapsed().as_secs_f64()
    );
    let opts = AirOptions::default();
    let mut best = f64::INFINITY;
    let mut summary = String::new();
    for run in 1..=o.runs {
        let t = Instant::now();
        let result = daily_frame(&df, &stations, &opts)?;
        let rows = ratio(&result.cities, 0.8, None);
        let secs = t.elapsed().as_secs_f64();
        best = best.min(secs);
        let sv = result
            .stations
            .iter()
            .filter(|s| s.judgement.valid())
            .count();
        let sg = result
            .stations
            .iter()
            .filter(|s| s.judgement.good())
            .count();
        let cv = result.cities.iter().filter(|c| c.judgement.valid()).count();
        let cg = result.cities.iter().filter(|c| c.judgement.good()).count();
        let aqi_sum: u64 = result
            .cities
            .iter()
            .filter_map(|c| c.judgement.aqi())
            .map(|a| u64::from(a.0))
            .sum();
        let years: Vec<String> = rows
            .iter()
            .filter(|r| r.kind == crate::judge::air::PeriodKind::Year && r.city == "C00")
            .map(|r| format!("{}: {}/{}", r.label, r.good_days, r.valid_days))
            .collect();
        summary = format!(
            "station-days {} valid {sv} good {sg}; city-days {} valid {cv} good {cg} aqi_sum {aqi_sum}; ratio rows {}; C00 {}",
            result.stations.len(),
            result.cities.len(),
            rows.len(),
            years.join(", ")
        );
        println!("run {run}: daily AQI + ratios in {secs:.3} s");
    }
    println!("checksum: {summary}");
    println!("rust/polars best of {}: {best:.3} s", o.runs);
    if let Some(script) = o.pandas {
        let out = std::process::Command::new("python3")
            .arg(&script)
            .arg("--stations")
            .arg(o.stations.to_string())
            .arg("--days")
            .arg(o.days.to_string())
            .output()
            .with_context(|| format!("running python3 {script}"))?;
        let text = String::from_utf8_lossy(&out.stdout);
        print!("{text}");
        if !out.status.success() {
            bail!("{script} failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        let pandas_secs = text
            .lines()
            .find_map(|l| l.strip_prefix("pandas seconds: "))
            .and_then(|s| s.trim().parse::<f64>().ok())
            .context("pandas script printed no \"pandas seconds: \" line")?;
        println!(
            "speed-up: {:.1}x (pandas {pandas_secs:.3} s / rust {best:.3} s)",
            pandas_secs / best
        );
    }
    Ok(ExitCode::SUCCESS)
}
