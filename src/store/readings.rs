//! The readings table: idempotent upsert and queries.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use rusqlite::{Connection, Transaction, params};

use super::{CommitStats, Store};
use crate::model::{DataFlag, Reading, SiteId};
use crate::standards::parameter::Parameter;

/// Upserts readings; returns the ones that were new or changed (an identical replay
/// changes nothing and marks no day dirty).
pub(super) fn upsert<'r>(
    tx: &Transaction<'_>,
    readings: &'r [Reading],
    stats: &mut CommitStats,
) -> rusqlite::Result<Vec<&'r Reading>> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO readings (site, parameter, time, value, flag) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (site, parameter, time) DO UPDATE
           SET value = excluded.value, flag = excluded.flag
           WHERE value IS NOT excluded.value OR flag IS NOT excluded.flag",
    )?;
    let mut changed = Vec::new();
    for r in readings {
        let n = stmt.execute(params![
            r.site.as_str(),
            r.parameter.name(),
            r.time.timestamp(),
            r.value,
            r.flag.as_str()
        ])?;
        if n > 0 {
            stats.changed += 1;
            changed.push(r);
        } else {
            stats.unchanged += 1;
        }
    }
    Ok(changed)
}

/// Marks the local calendar day of each changed reading dirty.
pub(super) fn mark_dirty(
    tx: &Transaction<'_>,
    changed: &[&Reading],
    tz: Tz,
    now_ms: i64,
) -> rusqlite::Result<usize> {
    let days: BTreeSet<(&str, NaiveDate)> = changed
        .iter()
        .map(|r| (r.site.as_str(), r.time.with_timezone(&tz).date_naive()))
        .collect();
    let mut stmt = tx.prepare_cached(
        "INSERT INTO dirty_days (site, day, marked_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (site, day) DO UPDATE SET marked_at = excluded.marked_at",
    )?;
    for (site, day) in &days {
        stmt.execute(params![site, day.format("%Y-%m-%d").to_string(), now_ms])?;
    }
    Ok(days.len())
}

fn row_to_reading(row: &rusqlite::Row<'_>) -> rusqlite::Result<Reading> {
    let site: String = row.get(0)?;
    let parameter: String = row.get(1)?;
    let time: i64 = row.get(2)?;
    let flag: String = row.get(4)?;
    let bad = |what: String| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, what.into())
    };
    Ok(Reading {
        site: SiteId(site),
        parameter: Parameter::lookup(&parameter)
            .ok_or_else(|| bad(format!("unknown parameter {parameter} in store")))?,
        time: DateTime::from_timestamp(time, 0)
            .ok_or_else(|| bad(format!("bad time {time} in store")))?,
        value: row.get(3)?,
        flag: DataFlag::parse(&flag).ok_or_else(|| bad(format!("bad flag {flag} in store")))?,
    })
}

/// Readings with `from <= time < to`, optionally of one site, ordered by site,
/// parameter, time.
pub fn between(
    conn: &Connection,
    site: Option<&SiteId>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> rusqlite::Result<Vec<Reading>> {
    let mut out = Vec::new();
    match site {
        Some(s) => {
            let mut stmt = conn.prepare_cached(
                "SELECT site, parameter, time, value, flag FROM readings
                 WHERE site = ?1 AND time >= ?2 AND time < ?3 ORDER BY site, parameter, time",
            )?;
            for r in stmt.query_map(
                params![s.as_str(), from.timestamp(), to.timestamp()],
                row_to_reading,
            )? {
                out.push(r?);
            }
        }
        None => {
            let mut stmt = conn.prepare_cached(
                "SELECT site, parameter, time, value, flag FROM readings
                 WHERE time >= ?1 AND time < ?2 ORDER BY site, parameter, time",
            )?;
            for r in stmt.query_map(params![from.timestamp(), to.timestamp()], row_to_reading)? {
                out.push(r?);
            }
        }
    }
    Ok(out)
}

impl Store {
    /// Number of stored readings.
    pub fn count_readings(&self) -> rusqlite::Result<u64> {
        self.conn
            .query_row("SELECT count(*) FROM readings", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
    }

    /// See [`between`].
    pub fn readings_between(
        &self,
        site: Option<&SiteId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> rusqlite::Result<Vec<Reading>> {
        between(&self.conn, site, from, to)
    }

    /// Dirty (site, day) pairs, oldest mark first.
    pub fn dirty_days(&self) -> rusqlite::Result<Vec<(SiteId, NaiveDate, i64)>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT site, day, marked_at FROM dirty_days ORDER BY marked_at")?;
        let rows = stmt.query_map([], |r| {
            let day: String = r.get(1)?;
            Ok((SiteId(r.get(0)?), day, r.get::<_, i64>(2)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (site, day, at) = row?;
            if let Ok(d) = NaiveDate::parse_from_str(&day, "%Y-%m-%d") {
                out.push((site, d, at));
            }
        }
        Ok(out)
    }

    /// Clears a dirty mark after the judge recomputed the day, unless the day was marked
    /// again after `seen_marked_at` (new late data arrived meanwhile).
    pub fn clear_dirty_day(
        &self,
        site: &SiteId,
        day: NaiveDate,
        seen_marked_at: i64,
    ) -> rusqlite::Result<bool> {
        let n = self.conn.execute(
            "DELETE FROM dirty_days WHERE site = ?1 AND day = ?2 AND marked_at <= ?3",
            params![
                site.as_str(),
                day.format("%Y-%m-%d").to_string(),
                seen_marked_at
            ],
        )?;
        Ok(n > 0)
    }
}
