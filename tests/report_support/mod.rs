//! Shared by the report tests: run `envwatch demo`, export the store's readings as long
//! CSVs (the offline commands' input), run commands.

#![allow(dead_code)]

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chrono::DateTime;

pub fn envwatch() -> Command {
    Command::new(env!("CARGO_BIN_EXE_envwatch"))
}

pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("run envwatch");
    assert!(
        out.status.success(),
        "{cmd:?} failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `envwatch demo --days N --out dir`; returns the config dir.
pub fn demo(dir: &Path, days: u32) -> PathBuf {
    run_ok(
        envwatch()
            .args([
                "demo",
                "--log-format",
                "human",
                "--days",
                &days.to_string(),
                "--out",
            ])
            .arg(dir),
    );
    dir.join("config")
}

/// Writes `site,time,parameter,value,flag` (RFC 3339, +08:00) of the store's readings of
/// the given sites; returns the number of rows.
pub fn export_csv(db: &Path, sites: &HashSet<String>, out: &Path) -> usize {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open store");
    let mut stmt = conn
        .prepare("SELECT site, time, parameter, value, flag FROM readings ORDER BY site, parameter, time")
        .unwrap();
    let mut f = std::io::BufWriter::new(std::fs::File::create(out).unwrap());
    writeln!(f, "site,time,parameter,value,flag").unwrap();
    let mut n = 0;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, f64>(3)?,
                r.get::<_, String>(4)?,
            ))
        })
        .unwrap();
    for row in rows {
        let (site, time, parameter, value, flag) = row.unwrap();
        if !sites.contains(&site) {
            continue;
        }
        let t = DateTime::from_timestamp(time, 0)
            .unwrap()
            .with_timezone(&chrono_tz::Asia::Shanghai)
            .to_rfc3339();
        writeln!(f, "{site},{t},{parameter},{value},{flag}").unwrap();
        n += 1;
    }
    f.flush().unwrap();
    n
}

/// Station codes and section ids of a config dir.
pub fn sites(config: &Path) -> (HashSet<String>, HashSet<String>) {
    let stations = envwatch::config::load_stations(&config.join("stations.toml")).unwrap();
    let sections = envwatch::config::load_sections(&config.join("sections.toml")).unwrap();
    (
        stations.iter().map(|s| s.code.to_string()).collect(),
        sections.iter().map(|s| s.id.to_string()).collect(),
    )
}

/// Parses CSV output (no quoted commas in the columns we read) into header + rows.
pub fn csv(out: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let text = String::from_utf8_lossy(out);
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap_or_default()
        .split(',')
        .map(str::to_string)
        .collect();
    let rows = lines
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    (header, rows)
}

pub fn col(header: &[String], name: &str) -> usize {
    header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name} in {header:?}"))
}
