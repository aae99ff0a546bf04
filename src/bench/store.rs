//! `envwatch bench store [--stations 200] [--factors 6] [--history-days 30]
//! [--commits 2000] [--per-commit 5]`: what one commit of live data costs in the store,
//! schema v1 layout against v2 (the current [`Store`]). Both get the same history (so
//! the B-tree has a realistic depth and spread) and then the same live commits: each
//! commit holds `--per-commit` messages, a message being one station's hour (the
//! readings of `--factors` pollutants), stations in turn, hours advancing as a live feed.
//! Measured per commit: WAL bytes appended (the WAL is not checkpointed during the run,
//! so its size / commits is exact), CPU time of the committing thread (user + system,
//! from /proc/thread-self/stat, fsync wait excluded), and wall time (fsync included).
//!
//! v1 is reproduced with its DDL ([`crate::store::schema::V1_READINGS`]) and the SQL v1
//! ran per commit (upsert on (site, parameter, time), a dirty-day upsert per reading's
//! day); v2 is `Store::commit_batch` itself.

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{Connection, params};

use crate::model::{DataFlag, Period, Reading, SiteId};
use crate::standards::parameter::Parameter;
use crate::store::{Batch, Store};

const POLLUTANTS: [Parameter; 6] = super::AQI_PARAMETERS;

struct Args {
    stations: usize,
    factors: usize,
    history_days: usize,
    commits: usize,
    per_commit: usize,
}

fn parse(args: &[String]) -> anyhow::Result<Args> {
    let a = Args {
        stations: super::arg_usize(args, "--stations", 200)?.max(1),
        factors: super::arg_usize(args, "--factors", 6)?.clamp(1, POLLUTANTS.len()),
        history_days: super::arg_usize(args, "--history-days", 30)?,
        commits: super::arg_usize(args, "--commits", 2000)?.max(1),
        per_commit: super::arg_usize(args, "--per-commit", 5)?.max(1),
    };
    Ok(a)
}

/// Thread CPU time (user + system) of the calling thread.
fn thread_cpu() -> Duration {
    let s = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    let rest: Vec<&str> = s
        .rfind(')')
        .map(|i| s[i + 1..].split_whitespace().collect())
        .unwrap_or_default();
    let t = |i: usize| rest.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    Duration::from_millis((t(11) + t(12)) * 10)
}

/// The messages of the live feed: message `i` is station `i % stations` at hour
/// `i / stations` after `t0`.
fn message(a: &Args, t0: DateTime<Utc>, i: usize) -> Vec<Reading> {
    let time = t0 + chrono::Duration::hours((i / a.stations) as i64);
    let site = SiteId(format!("B{:03}", i % a.stations));
    POLLUTANTS[..a.factors]
        .iter()
        .enumerate()
        .map(|(k, p)| Reading {
            site: site.clone(),
            parameter: *p,
            time,
            period: Period::Hour,
            value: ((i + 7 * k) % 90) as f64 + 0.5,
            flag: DataFlag::N,
        })
        .collect()
}

struct Figures {
    wal_bytes: u64,
    cpu: Duration,
    wall: Duration,
    db_bytes: u64,
}

fn wal_len(db: &Path) -> u64 {
    let mut p = db.as_os_str().to_owned();
    p.push("-wal");
    std::fs::metadata(std::path::PathBuf::from(p))
        .map(|m| m.len())
        .unwrap_or(0)
}

/// Runs `commit` for every live batch; the writer has checkpoints off, so the WAL's
/// growth is the bytes those commits wrote.
fn live(
    a: &Args,
    db: &Path,
    conn: &Connection,
    history: usize,
    mut commit: impl FnMut(&[Reading]) -> anyhow::Result<()>,
    t0: DateTime<Utc>,
) -> anyhow::Result<Figures> {
    // The writer's connection must not checkpoint either (the pragma is per connection).
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
    let wal0 = wal_len(db);
    let (cpu0, wall0) = (thread_cpu(), Instant::now());
    for c in 0..a.commits {
        let mut readings = Vec::with_capacity(a.per_commit * a.factors);
        for m in 0..a.per_commit {
            readings.extend(message(a, t0, history + c * a.per_commit + m));
        }
        commit(&readings)?;
    }
    let figures = Figures {
        wal_bytes: wal_len(db).saturating_sub(wal0),
        cpu: thread_cpu().saturating_sub(cpu0),
        wall: wall0.elapsed(),
        db_bytes: 0,
    };
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
    Ok(Figures {
        db_bytes: std::fs::metadata(db).map(|m| m.len()).unwrap_or(0),
        ..figures
    })
}

fn v1(a: &Args, dir: &Path, t0: DateTime<Utc>, history: usize) -> anyhow::Result<Figures> {
    let db = dir.join("v1.db");
    let mut conn = Connection::open(&db)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA cache_size = -16000;",
    )?;
    conn.execute_batch(crate::store::schema::V1_READINGS)?;
    conn.execute_batch(
        "CREATE TABLE dirty_days (site TEXT NOT NULL, day TEXT NOT NULL,
           marked_at INTEGER NOT NULL, PRIMARY KEY (site, day)) WITHOUT ROWID;",
    )?;
    let tz = chrono_tz::Asia::Shanghai;
    let write = |conn: &mut Connection, rs: &[Reading]| -> anyhow::Result<()> {
        let tx = conn.transaction()?;
        {
            let mut up = tx.prepare_cached(
                "INSERT INTO readings (site, parameter, time, value, flag) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (site, parameter, time) DO UPDATE
                   SET value = excluded.value, flag = excluded.flag
                   WHERE value IS NOT excluded.value OR flag IS NOT excluded.flag",
            )?;
            let mut days = std::collections::BTreeSet::new();
            for r in rs {
                up.execute(params![
                    r.site.as_str(),
                    r.parameter.name(),
                    r.time.timestamp(),
                    r.value,
                    r.flag.as_str()
                ])?;
                days.insert((r.site.as_str(), r.time.with_timezone(&tz).date_naive()));
            }
            let mut dirty = tx.prepare_cached(
                "INSERT INTO dirty_days (site, day, marked_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (site, day) DO UPDATE SET marked_at = excluded.marked_at",
            )?;
            for (s, d) in days {
                dirty.execute(params![s, d.format("%Y-%m-%d").to_string(), 1])?;
            }
        }
        tx.commit()?;
        Ok(())
    };
    fill_history(a, t0, history, |rs| write(&mut conn, rs))?;
    conn.execute_batch("PRAGMA wal_autocheckpoint = 0;")?;
    let probe = Connection::open(&db)?;
    live(a, &db, &probe, history, |rs| write(&mut conn, rs), t0)
}

fn v2(a: &Args, dir: &Path, t0: DateTime<Utc>, history: usize) -> anyhow::Result<Figures> {
    let db = dir.join("v2.db");
    let mut store = Store::open(&db, chrono_tz::Asia::Shanghai)?;
    let write = |store: &mut Store, rs: &[Reading]| -> anyhow::Result<()> {
        let batch = Batch {
            readings: rs.to_vec(),
            ..Batch::default()
        };
        store.commit_batch(&batch, |_, _| Ok(()))?;
        Ok(())
    };
    fill_history(a, t0, history, |rs| write(&mut store, rs))?;
    store
        .conn()
        .execute_batch("PRAGMA wal_autocheckpoint = 0;")?;
    let probe = Connection::open(&db)?;
    live(a, &db, &probe, history, |rs| write(&mut store, rs), t0)
}

/// History in large commits (a day of all stations each).
fn fill_history(
    a: &Args,
    t0: DateTime<Utc>,
    history: usize,
    mut commit: impl FnMut(&[Reading]) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let chunk = a.stations * 24;
    let mut i = 0;
    while i < history {
        let rs: Vec<Reading> = (i..(i + chunk).min(history))
            .flat_map(|m| message(a, t0, m))
            .collect();
        commit(&rs)?;
        i += chunk;
    }
    Ok(())
}

pub fn run(args: &[String]) -> anyhow::Result<ExitCode> {
    let a = parse(args)?;
    let dir = super::daemon::BenchDir::new("store")?;
    let t0 = Utc
        .with_ymd_and_hms(2025, 1, 1, 0, 0, 0)
        .single()
        .context("t0")?;
    let history = a.history_days * 24 * a.stations;
    println!(
        "bench store: {} stations x {} pollutants, {} days of history ({} readings), then {} live commits of {} messages ({} readings) each; synchronous = FULL",
        a.stations,
        a.factors,
        a.history_days,
        history * a.factors,
        a.commits,
        a.per_commit,
        a.per_commit * a.factors
    );
    for (name, f) in [
        (
            "v1 (site, parameter, time) + time index",
            v1(&a, &dir.0, t0, history)?,
        ),
        (
            "v2 (period, time, site, parameter)",
            v2(&a, &dir.0, t0, history)?,
        ),
    ] {
        let n = a.commits as f64;
        let readings = n * (a.per_commit * a.factors) as f64;
        println!(
            "{name:<42}: WAL {:>7.0} B/commit ({:.1} pages of 4 KiB), CPU {:>5.0} µs/commit ({:.1} µs/reading), wall {:.2} ms/commit (fsync included), store {:.1} MiB",
            f.wal_bytes as f64 / n,
            f.wal_bytes as f64 / n / 4096.0,
            f.cpu.as_secs_f64() * 1e6 / n,
            f.cpu.as_secs_f64() * 1e6 / readings,
            f.wall.as_secs_f64() * 1e3 / n,
            f.db_bytes as f64 / 1048576.0
        );
    }
    Ok(ExitCode::SUCCESS)
}
