//! The readings table (`reading_values`, schema v2): idempotent upsert, hours derived
//! from minute data, dirty-day marks and time-range queries per period.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::schema::FLAG_DERIVED;
use super::{CommitStats, Store};
use crate::model::{DataFlag, Period, Reading, SiteId};
use crate::standards::parameter::Parameter;

/// GB 3095 Table 4 (STANDARDS.md §2.3): a 1-hour mean needs ≥ 45 minutes of data in the
/// hour. Minute data count one minute per valid value.
pub const MIN_MINUTES_PER_HOUR: i64 = 45;

/// The writer's map of site codes and parameters to their dictionary ids.
/// After a failed transaction the writer reloads it ([`Ids::load`]): ids handed out by
/// the rolled-back transaction do not exist.
#[derive(Debug, Default)]
pub(super) struct Ids {
    sites: HashMap<SiteId, i64>,
    params: HashMap<Parameter, i64>,
}

impl Ids {
    pub(super) fn load(conn: &Connection) -> rusqlite::Result<Ids> {
        let mut ids = Ids::default();
        let mut stmt = conn.prepare("SELECT id, code FROM sites")?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))? {
            let (id, code) = row?;
            ids.sites.insert(SiteId(code), id);
        }
        let mut stmt = conn.prepare("SELECT id, name FROM parameters")?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))? {
            let (id, name) = row?;
            if let Some(p) = Parameter::lookup(&name) {
                ids.params.insert(p, id);
            }
        }
        Ok(ids)
    }

    fn site(&mut self, tx: &Transaction<'_>, site: &SiteId) -> rusqlite::Result<i64> {
        if let Some(id) = self.sites.get(site) {
            return Ok(*id);
        }
        tx.prepare_cached("INSERT OR IGNORE INTO sites (code) VALUES (?1)")?
            .execute([site.as_str()])?;
        let id = tx
            .prepare_cached("SELECT id FROM sites WHERE code = ?1")?
            .query_row([site.as_str()], |r| r.get(0))?;
        self.sites.insert(site.clone(), id);
        Ok(id)
    }

    fn param(&mut self, tx: &Transaction<'_>, p: Parameter) -> rusqlite::Result<i64> {
        if let Some(id) = self.params.get(&p) {
            return Ok(*id);
        }
        // Seeded at migration; a parameter added by a newer build gets its id here.
        tx.prepare_cached("INSERT OR IGNORE INTO parameters (name) VALUES (?1)")?
            .execute([p.name()])?;
        let id = tx
            .prepare_cached("SELECT id FROM parameters WHERE name = ?1")?
            .query_row([p.name()], |r| r.get(0))?;
        self.params.insert(p, id);
        Ok(id)
    }
}

/// Upserts readings; returns the ones that were new or changed (an identical replay
/// changes nothing and marks no day dirty).
pub(super) fn upsert<'r>(
    tx: &Transaction<'_>,
    ids: &mut Ids,
    readings: &'r [Reading],
    stats: &mut CommitStats,
) -> rusqlite::Result<Vec<&'r Reading>> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO reading_values (period, time, site, parameter, value, flag)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (period, time, site, parameter) DO UPDATE
           SET value = excluded.value, flag = excluded.flag
           WHERE value IS NOT excluded.value OR flag IS NOT excluded.flag",
    )?;
    let mut changed = Vec::new();
    for r in readings {
        let site = ids.site(tx, &r.site)?;
        let param = ids.param(tx, r.parameter)?;
        let n = stmt.execute(params![
            r.period.code(),
            r.time.timestamp(),
            site,
            param,
            r.value,
            r.flag.code()
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

/// Hours derived from minute data (pipelines with `minute_data = "derive-hour"`): for
/// each `(site, parameter, hour start)` touched by minute readings, the mean of the hour's
/// valid (`N`) minute values once there are at least [`MIN_MINUTES_PER_HOUR`] of them.
/// It is stored as an hour marked derived, never over an hour packet (which always
/// replaces it). Returns the derived hours that were new or changed.
pub(super) fn derive_hours(
    tx: &Transaction<'_>,
    ids: &mut Ids,
    touched: &BTreeSet<(SiteId, Parameter, i64)>,
) -> rusqlite::Result<Vec<Reading>> {
    let mut by_hour: HashMap<i64, Vec<(&SiteId, Parameter)>> = HashMap::new();
    for (site, p, hour) in touched {
        by_hour.entry(*hour).or_default().push((site, *p));
    }
    let mut scan = tx.prepare_cached(
        "SELECT site, parameter, count(*), avg(value) FROM reading_values
         WHERE period = ?1 AND time >= ?2 AND time < ?3 AND flag = ?4
         GROUP BY site, parameter",
    )?;
    let mut write = tx.prepare_cached(
        "INSERT INTO reading_values (period, time, site, parameter, value, flag)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (period, time, site, parameter) DO UPDATE
           SET value = excluded.value, flag = excluded.flag
           WHERE (flag & ?6) != 0 AND value IS NOT excluded.value",
    )?;
    let mut out = Vec::new();
    for (hour, wanted) in by_hour {
        let mut found: HashMap<(i64, i64), (i64, f64)> = HashMap::new();
        let rows = scan.query_map(
            params![Period::Minute.code(), hour, hour + 3600, DataFlag::N.code()],
            |r| Ok(((r.get(0)?, r.get(1)?), (r.get(2)?, r.get(3)?))),
        )?;
        for row in rows {
            let (k, v) = row?;
            found.insert(k, v);
        }
        let Some(time) = DateTime::from_timestamp(hour, 0) else {
            continue;
        };
        for (site, p) in wanted {
            let key = (ids.site(tx, site)?, ids.param(tx, p)?);
            let Some(&(n, mean)) = found.get(&key) else {
                continue;
            };
            if n < MIN_MINUTES_PER_HOUR {
                continue;
            }
            let flag = DataFlag::N.code() | FLAG_DERIVED;
            if write.execute(params![Period::Hour.code(), hour, key.0, key.1, mean, flag])? > 0 {
                out.push(Reading {
                    site: site.clone(),
                    parameter: p,
                    time,
                    period: Period::Hour,
                    value: mean,
                    flag: DataFlag::N,
                });
            }
        }
    }
    Ok(out)
}

/// Marks the local calendar day of each changed HOUR reading dirty (only hour data enter
/// the judge's statistics). Readings of one site and hour share a day: each (site, hour)
/// is converted to a local day once.
pub(super) fn mark_dirty<'r>(
    tx: &Transaction<'_>,
    changed: impl IntoIterator<Item = &'r Reading>,
    tz: Tz,
    now_ms: i64,
) -> rusqlite::Result<usize> {
    let mut hours: BTreeSet<(&str, i64)> = BTreeSet::new();
    for r in changed {
        if r.period == Period::Hour {
            hours.insert((r.site.as_str(), r.time.timestamp()));
        }
    }
    let days: BTreeSet<(&str, NaiveDate)> = hours
        .into_iter()
        .filter_map(|(site, t)| {
            Some((
                site,
                DateTime::from_timestamp(t, 0)?
                    .with_timezone(&tz)
                    .date_naive(),
            ))
        })
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

/// The dictionaries read back: site id -> code, parameter id -> parameter.
struct Names {
    sites: HashMap<i64, SiteId>,
    params: HashMap<i64, Parameter>,
}

impl Names {
    fn load(conn: &Connection) -> rusqlite::Result<Names> {
        let mut sites = HashMap::new();
        let mut stmt = conn.prepare_cached("SELECT id, code FROM sites")?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))? {
            let (id, code) = row?;
            sites.insert(id, SiteId(code));
        }
        let mut params = HashMap::new();
        let mut stmt = conn.prepare_cached("SELECT id, name FROM parameters")?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))? {
            let (id, name) = row?;
            // A parameter of a newer build is skipped by this one.
            if let Some(p) = Parameter::lookup(&name) {
                params.insert(id, p);
            }
        }
        Ok(Names { sites, params })
    }
}

fn bad(what: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Integer, what.into())
}

/// Readings of `period` with `from <= time < to`, optionally of one site, ordered by
/// site, parameter, time. Hourly statistics ask for [`Period::Hour`] (which includes
/// hours derived from minute data).
pub fn between(
    conn: &Connection,
    period: Period,
    site: Option<&SiteId>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> rusqlite::Result<Vec<Reading>> {
    let names = Names::load(conn)?;
    let site_id = match site {
        Some(s) => match names.sites.iter().find(|(_, c)| *c == s) {
            Some((id, _)) => Some(*id),
            None => return Ok(Vec::new()),
        },
        None => None,
    };
    // The key (period, time, site, parameter) makes this one range scan.
    let mut stmt = conn.prepare_cached(
        "SELECT site, parameter, time, value, flag FROM reading_values
         WHERE period = ?1 AND time >= ?2 AND time < ?3 AND (?4 IS NULL OR site = ?4)",
    )?;
    let mut rows = stmt.query(params![
        period.code(),
        from.timestamp(),
        to.timestamp(),
        site_id
    ])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let (s, p, t, flag): (i64, i64, i64, i64) =
            (row.get(0)?, row.get(1)?, row.get(2)?, row.get(4)?);
        let Some(parameter) = names.params.get(&p) else {
            continue;
        };
        out.push(Reading {
            site: names
                .sites
                .get(&s)
                .cloned()
                .ok_or_else(|| bad(format!("site id {s} not in sites")))?,
            parameter: *parameter,
            time: DateTime::from_timestamp(t, 0)
                .ok_or_else(|| bad(format!("bad time {t} in store")))?,
            period,
            value: row.get(3)?,
            flag: DataFlag::from_code(flag & 0xff)
                .ok_or_else(|| bad(format!("bad flag {flag} in store")))?,
        });
    }
    out.sort_by(|a, b| {
        (&a.site, a.parameter.name(), a.time).cmp(&(&b.site, b.parameter.name(), b.time))
    });
    Ok(out)
}

/// Whether the stored hour of `site`/`parameter` at `time` was derived from minute data.
pub fn is_derived_hour(
    conn: &Connection,
    site: &SiteId,
    parameter: Parameter,
    time: DateTime<Utc>,
) -> rusqlite::Result<Option<bool>> {
    conn.query_row(
        "SELECT r.flag FROM reading_values r JOIN sites s ON s.id = r.site
         JOIN parameters p ON p.id = r.parameter
         WHERE r.period = ?1 AND r.time = ?2 AND s.code = ?3 AND p.name = ?4",
        params![
            Period::Hour.code(),
            time.timestamp(),
            site.as_str(),
            parameter.name()
        ],
        |r| r.get::<_, i64>(0),
    )
    .optional()
    .map(|f| f.map(|f| f & FLAG_DERIVED != 0))
}

impl Store {
    /// Number of stored readings (all periods).
    pub fn count_readings(&self) -> rusqlite::Result<u64> {
        self.conn
            .query_row("SELECT count(*) FROM reading_values", [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n as u64)
    }

    /// See [`between`].
    pub fn readings_between(
        &self,
        period: Period,
        site: Option<&SiteId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> rusqlite::Result<Vec<Reading>> {
        between(&self.conn, period, site, from, to)
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
