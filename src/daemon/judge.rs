//! The daemon's judgement pass: recompute every (site, local day) that new, late or
//! replayed readings touched ("dirty days", marked by the store in the commit that
//! changed them), publish the results through the outbox, keep the city-day and
//! section-day summaries the ratios need, feed the alert engine, and update /api/status.
//!
//! Everything a pass writes (points, summaries, cleared marks) is one SQLite transaction:
//! a crash mid-pass leaves the days dirty, and the next pass redoes them.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use chrono_tz::Tz;
use rusqlite::{Connection, params};

use crate::alert::AlertEngine;
use crate::alert::input::{
    AirDayObservation, AirTargetObservation, ItemFinding as AlertItem, ObservedPeriod,
    WaterObservation,
};
use crate::config::{Config, Section};
use crate::judge::air::{self, AirOptions, DayJudgement};
use crate::judge::water::{self, Classes, JudgeOptions, Period, SectionInfo, WaterInput};
use crate::model::{Reading, SiteId};
use crate::publish::line_protocol::Point;
use crate::publish::schema::{self, DailyPollutant, local_midnight};
use crate::publish::{outbox, schema::Period as OutPeriod};
use crate::standards::aqi::Indicator;
use crate::standards::water::{Rule, WaterClass};

/// Tables of judgement summaries (in the store's SQLite file).
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS judge_city_days (
    city  TEXT NOT NULL,
    day   TEXT NOT NULL,          -- YYYY-MM-DD, local
    aqi   INTEGER,                -- NULL when the day is invalid
    valid INTEGER NOT NULL,
    good  INTEGER NOT NULL,
    level INTEGER,
    primary_pollutants TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (city, day)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS judge_section_days (
    section TEXT NOT NULL,
    day     TEXT NOT NULL,
    class   INTEGER NOT NULL,     -- 1..6 (6 = inferior V)
    items   TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (section, day)
) WITHOUT ROWID;
";

/// Creates the summary tables.
pub fn init_schema(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(SCHEMA)
}

/// What a pass did (for logs, the demo summary and tests).
#[derive(Debug, Clone, Default)]
pub struct PassSummary {
    pub air_days: usize,
    pub water_days: usize,
    pub points: usize,
    pub took_ms: u128,
}

fn day_range(day: NaiveDate, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
    let next = day.checked_add_days(Days::new(1)).unwrap_or(day);
    let start =
        local_midnight(day, tz).unwrap_or_else(|| day.and_time(Default::default()).and_utc());
    let end = local_midnight(next, tz).unwrap_or(start + chrono::Duration::days(1));
    (start, end)
}

fn month_first(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

fn month_after(d: NaiveDate) -> NaiveDate {
    month_first(d)
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(d)
}

fn limit(rule: Option<Rule>, class: WaterClass) -> Option<f64> {
    let i = usize::from(class.number()).checked_sub(1)?;
    match rule? {
        Rule::AtMost(l) | Rule::AtLeast(l) => l.get(i).map(|c| c.to_f64()),
        Rule::Within { .. } => None,
    }
}

fn daily_values(j: &DayJudgement) -> Vec<(DailyPollutant, f64)> {
    let c = &j.concentrations;
    [
        (DailyPollutant::Pm25, c.pm25_24h),
        (DailyPollutant::Pm10, c.pm10_24h),
        (DailyPollutant::So2, c.so2_24h),
        (DailyPollutant::No2, c.no2_24h),
        (DailyPollutant::Co, c.co_24h),
        (DailyPollutant::O3Max1h, c.o3_1h_max),
        (DailyPollutant::O3Max8h, c.o3_8h_max),
    ]
    .into_iter()
    .filter_map(|(p, v)| v.map(|v| (p, v)))
    .collect()
}

fn daily_primary(j: &DayJudgement) -> Vec<DailyPollutant> {
    if j.aqi().is_none() {
        return Vec::new();
    }
    j.report
        .primary
        .iter()
        .filter_map(|i| match i {
            Indicator::Pm25Day => Some(DailyPollutant::Pm25),
            Indicator::Pm10Day => Some(DailyPollutant::Pm10),
            Indicator::So2Day => Some(DailyPollutant::So2),
            Indicator::No2Day => Some(DailyPollutant::No2),
            Indicator::CoDay => Some(DailyPollutant::Co),
            Indicator::O3Hour => Some(DailyPollutant::O3Max1h),
            Indicator::O3Eight => Some(DailyPollutant::O3Max8h),
            _ => None,
        })
        .collect()
}

fn air_daily_point(
    scope: schema::DailyScope<'_>,
    j: &DayJudgement,
    tz: Tz,
) -> anyhow::Result<Point> {
    let d = schema::AirDaily {
        scope,
        day: j.date,
        edition: j.edition,
        aqi: j.aqi().map(|a| a.0),
        level: j.level().map(|l| l.number()),
        primary: daily_primary(j),
        valid: j.valid(),
        invalid_reason: (!j.valid()).then(|| j.reason_text()),
        values: daily_values(j),
    };
    Ok(schema::air_daily(&d, tz)?)
}

/// The judge's own connection to the store (WAL: it reads and writes beside the ingest
/// writer; SQLite serialises the writes, busy_timeout waits).
pub struct Judge {
    conn: Connection,
    config: std::sync::Arc<Config>,
}

impl Judge {
    pub fn open(db: &Path, config: std::sync::Arc<Config>) -> anyhow::Result<Judge> {
        let conn = Connection::open(db).with_context(|| format!("judge: open {}", db.display()))?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        init_schema(&conn)?;
        Ok(Judge { conn, config })
    }

    fn tz(&self) -> Tz {
        self.config.daemon.general.timezone
    }

    fn dirty(&self) -> rusqlite::Result<Vec<(SiteId, NaiveDate, i64)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT site, day, marked_at FROM dirty_days ORDER BY marked_at")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (site, day, at) = row?;
            if let Ok(d) = NaiveDate::parse_from_str(&day, "%Y-%m-%d") {
                out.push((SiteId::new(site), d, at));
            }
        }
        Ok(out)
    }

    fn readings(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> rusqlite::Result<Vec<Reading>> {
        crate::store::readings::between(&self.conn, crate::model::Period::Hour, None, from, to)
    }

    /// One pass over everything dirty. `alerts` gets the observations in time order.
    pub fn pass(
        &mut self,
        alerts: Option<&AlertEngine>,
        status: Option<&crate::serve::StatusBoard>,
    ) -> anyhow::Result<PassSummary> {
        let started = Instant::now();
        let tz = self.tz();
        let dirty = self.dirty()?;
        let mut summary = PassSummary::default();
        let stations: HashMap<&str, ()> = self
            .config
            .stations
            .iter()
            .map(|s| (s.code.as_str(), ()))
            .collect();
        let mut air_days = BTreeSet::new();
        let mut water_days: BTreeMap<NaiveDate, BTreeSet<SiteId>> = BTreeMap::new();
        for (site, day, _) in &dirty {
            if stations.contains_key(site.as_str()) {
                air_days.insert(*day);
            } else if self.config.section(site.as_str()).is_some() {
                water_days.entry(*day).or_default().insert(site.clone());
            }
        }
        let mut points: Vec<Point> = Vec::new();
        let mut city_rows: Vec<(String, NaiveDate, DayJudgement)> = Vec::new();
        let mut section_rows: Vec<(String, NaiveDate, WaterClass, String)> = Vec::new();
        let mut air_obs = Vec::new();
        let mut water_obs = Vec::new();

        // --- Air: each dirty day judged from all its readings.
        for day in &air_days {
            let (from, to) = day_range(*day, tz);
            let readings: Vec<Reading> = self
                .readings(from, to)?
                .into_iter()
                .filter(|r| stations.contains_key(r.site.as_str()))
                .collect();
            let opts = AirOptions {
                tz,
                edition: self.config.daemon.air.edition,
                rules: self.config.daemon.air.validity,
            };
            let res = air::daily(&readings, &self.config.stations, &opts)?;
            for sd in res.stations.iter().filter(|s| s.judgement.date == *day) {
                if let Some(st) = self.config.station(sd.station.as_str()) {
                    points.push(air_daily_point(
                        schema::DailyScope::Station(st),
                        &sd.judgement,
                        tz,
                    )?);
                }
            }
            for cd in res.cities.iter().filter(|c| c.judgement.date == *day) {
                points.push(air_daily_point(
                    schema::DailyScope::City(&cd.city),
                    &cd.judgement,
                    tz,
                )?);
                if let (Some(aqi), Some(level)) = (cd.judgement.aqi(), cd.judgement.level()) {
                    air_obs.push(AirDayObservation {
                        city: cd.city.clone(),
                        day: *day,
                        aqi: aqi.0,
                        level: level.number(),
                        primary: cd
                            .judgement
                            .report
                            .primary
                            .iter()
                            .map(|i| i.pollutant().parameter())
                            .collect(),
                    });
                }
                city_rows.push((cd.city.clone(), *day, cd.judgement.clone()));
            }
            summary.air_days += 1;
        }

        // --- Water: per reading and per day for the dirty section-days; months and the
        // district standing for the months they fall in.
        let infos: Vec<SectionInfo> = self.config.sections.iter().map(SectionInfo::from).collect();
        let wopts = JudgeOptions {
            round_before_classing: self.config.daemon.water.round_before_classing,
            tz,
        };
        let mut months = BTreeSet::new();
        for (day, sections) in &water_days {
            let (from, to) = day_range(*day, tz);
            let readings: Vec<Reading> = self
                .readings(from, to)?
                .into_iter()
                .filter(|r| sections.contains(&r.site))
                .collect();
            let (input, _) = WaterInput::from_readings(infos.clone(), &readings)?;
            let [per_reading, per_day] =
                water::classify(&input, [Period::Reading, Period::Day], &wopts)?;
            self.water_points(
                &per_reading,
                &mut points,
                &mut water_obs,
                ObservedPeriod::Reading,
            )?;
            self.water_points(&per_day, &mut points, &mut water_obs, ObservedPeriod::Day)?;
            for row in &per_day.rows {
                if let Some(class) = row.class {
                    let s = per_day.section(row);
                    let items: Vec<String> = row.items.iter().map(|i| i.describe()).collect();
                    section_rows.push((s.id.to_string(), *day, class, items.join("; ")));
                }
            }
            months.insert(month_first(*day));
            summary.water_days += 1;
        }
        let mut latest_month_status = None;
        for first in &months {
            let (from, _) = day_range(*first, tz);
            let (to, _) = day_range(month_after(*first), tz);
            let readings: Vec<Reading> = self
                .readings(from, to)?
                .into_iter()
                .filter(|r| self.config.section(r.site.as_str()).is_some())
                .collect();
            let (input, _) = WaterInput::from_readings(infos.clone(), &readings)?;
            let [per_month] = water::classify(&input, [Period::Month], &wopts)?;
            let mut ignored = Vec::new();
            self.water_points(&per_month, &mut points, &mut ignored, ObservedPeriod::Day)?;
            let period = OutPeriod::Month {
                year: first.year(),
                month: first.month(),
            };
            for st in water::district_status(&per_month, &self.config.daemon.targets) {
                for (kind, n, ok, target) in [
                    (
                        schema::WaterTargetKind::AllSections,
                        st.sections,
                        st.compliant_sections,
                        1.0,
                    ),
                    (
                        schema::WaterTargetKind::DrinkingSource,
                        st.drinking_sources,
                        st.compliant_drinking_sources,
                        st.drinking_target,
                    ),
                ] {
                    points.push(schema::water_target(
                        &schema::WaterTarget {
                            district: &st.district,
                            kind,
                            period,
                            sections: n,
                            compliant: ok,
                            inferior_v: st.inferior_v_sections,
                            target,
                        },
                        tz,
                    )?);
                }
            }
            latest_month_status = Some((*first, per_month));
        }

        // --- One transaction: summaries, points, cleared marks.
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        for (city, day, j) in &city_rows {
            let primary: Vec<&str> = daily_primary(j).iter().map(|p| p.label()).collect();
            tx.execute(
                "INSERT INTO judge_city_days (city, day, aqi, valid, good, level, primary_pollutants)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (city, day) DO UPDATE SET aqi = excluded.aqi, valid = excluded.valid,
                   good = excluded.good, level = excluded.level,
                   primary_pollutants = excluded.primary_pollutants",
                params![
                    city,
                    day.format("%Y-%m-%d").to_string(),
                    j.aqi().map(|a| i64::from(a.0)),
                    j.valid(),
                    j.good(),
                    j.level().map(|l| i64::from(l.number())),
                    primary.join(","),
                ],
            )?;
        }
        for (section, day, class, items) in &section_rows {
            tx.execute(
                "INSERT INTO judge_section_days (section, day, class, items) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (section, day) DO UPDATE SET class = excluded.class, items = excluded.items",
                params![section, day.format("%Y-%m-%d").to_string(), class.number(), items],
            )?;
        }
        // Good-day ratios (month and year to date) of every city and period touched.
        let mut periods: BTreeSet<(String, i32, Option<u32>)> = BTreeSet::new();
        for (city, day, _) in &city_rows {
            periods.insert((city.clone(), day.year(), Some(day.month())));
            periods.insert((city.clone(), day.year(), None));
        }
        let target = self.config.daemon.targets.good_day_ratio;
        let mut target_obs = Vec::new();
        for (city, year, month) in &periods {
            let (like, period) = match month {
                Some(m) => (
                    format!("{year:04}-{m:02}-%"),
                    OutPeriod::Month {
                        year: *year,
                        month: *m,
                    },
                ),
                None => (format!("{year:04}-%"), OutPeriod::Year(*year)),
            };
            let (good, valid, last): (u32, u32, Option<String>) = tx.query_row(
                "SELECT coalesce(sum(good), 0), coalesce(sum(valid), 0), max(day)
                 FROM judge_city_days WHERE city = ?1 AND day LIKE ?2",
                params![city, like],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
            points.push(schema::air_target(
                &schema::AirTarget {
                    city,
                    period,
                    good_days: good,
                    valid_days: valid,
                    target,
                },
                tz,
            )?);
            if month.is_none()
                && let Some(last) =
                    last.and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok())
            {
                let year_end = NaiveDate::from_ymd_opt(*year, 12, 31).unwrap_or(last);
                let left = u32::try_from((year_end - last).num_days().max(0)).unwrap_or(0);
                let best = f64::from(good + left) / f64::from((valid + left).max(1));
                target_obs.push(AirTargetObservation {
                    city: city.clone(),
                    through: last,
                    good_days: good,
                    valid_days: valid,
                    ytd_ratio: if valid > 0 {
                        f64::from(good) / f64::from(valid)
                    } else {
                        1.0
                    },
                    reachable: best + 1e-9 >= target,
                });
            }
        }
        outbox::enqueue(&tx, &points)?;
        for (site, day, marked_at) in &dirty {
            tx.execute(
                "DELETE FROM dirty_days WHERE site = ?1 AND day = ?2 AND marked_at <= ?3",
                params![site.as_str(), day.format("%Y-%m-%d").to_string(), marked_at],
            )?;
        }
        tx.commit()?;
        summary.points = points.len();

        // --- Alerts (after the commit: what they describe is stored) and status.
        if let Some(engine) = alerts {
            water_obs.sort_by_key(|o: &WaterObservation| o.at);
            for o in &water_obs {
                if let Err(e) = engine.observe_water(o) {
                    tracing::error!("alert engine (water): {e:#}");
                }
            }
            for o in &air_obs {
                if let Err(e) = engine.observe_air_day(o) {
                    tracing::error!("alert engine (air day): {e:#}");
                }
            }
            for o in &target_obs {
                if let Err(e) = engine.observe_air_target(o) {
                    tracing::error!("alert engine (air target): {e:#}");
                }
            }
        }
        if let Some(board) = status {
            self.update_status(board, latest_month_status.as_ref())?;
        }
        summary.took_ms = started.elapsed().as_millis();
        Ok(summary)
    }

    fn water_points(
        &self,
        classes: &Classes,
        points: &mut Vec<Point>,
        obs: &mut Vec<WaterObservation>,
        observed: ObservedPeriod,
    ) -> anyhow::Result<()> {
        let tz = self.tz();
        for row in &classes.rows {
            let Some(class) = row.class else { continue };
            let info = classes.section(row);
            let Some(section) = self.config.section(info.id.as_str()) else {
                continue;
            };
            let period = match classes.period {
                Period::Reading => schema::ClassPeriod::Reading(row.start),
                Period::Day => schema::ClassPeriod::Day(row.start.with_timezone(&tz).date_naive()),
                Period::Month => {
                    let d = row.start.with_timezone(&tz).date_naive();
                    schema::ClassPeriod::Month {
                        year: d.year(),
                        month: d.month(),
                    }
                }
            };
            let exceedance = row
                .items
                .iter()
                .filter_map(|i| i.vs_iii().map(|e| e.multiple))
                .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))));
            points.push(schema::water_class(
                &schema::WaterClassResult {
                    section,
                    period,
                    class,
                    worst_items: row.items.iter().map(|i| i.parameter).collect(),
                    exceedance,
                },
                tz,
            )?);
            obs.push(observation(section, row.start, class, &row.items, observed));
        }
        Ok(())
    }

    /// /api/status from the summaries: this month and year for the configured city, the
    /// latest month's water standing.
    fn update_status(
        &self,
        board: &crate::serve::StatusBoard,
        month: Option<&(NaiveDate, Classes)>,
    ) -> anyhow::Result<()> {
        let city = &self.config.daemon.general.city;
        let last: Option<String> = self.conn.query_row(
            "SELECT max(day) FROM judge_city_days WHERE city = ?1",
            params![city],
            |r| r.get(0),
        )?;
        if let Some(last) = last.and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()) {
            let count = |like: String| -> rusqlite::Result<(u32, u32)> {
                self.conn.query_row(
                    "SELECT coalesce(sum(good),0), coalesce(sum(valid),0) FROM judge_city_days
                     WHERE city = ?1 AND day LIKE ?2",
                    params![city, like],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
            };
            let y = format!("{:04}", last.year());
            let m = format!("{:04}-{:02}", last.year(), last.month());
            board.set_air(&y, count(format!("{y}-%"))?, &m, count(format!("{m}-%"))?);
        }
        if let Some((first, classes)) = month {
            let mut drinking_total = 0;
            let mut bad_drinking = Vec::new();
            let mut inferior = Vec::new();
            for row in &classes.rows {
                let Some(class) = row.class else { continue };
                let s = classes.section(row);
                if s.drinking_source {
                    drinking_total += 1;
                    if classes.drinking_compliant(row) == Some(false) {
                        bad_drinking.push(s.id.to_string());
                    }
                }
                if class == WaterClass::InferiorV {
                    inferior.push(s.id.to_string());
                }
            }
            board.set_water(
                &first.format("%Y-%m").to_string(),
                drinking_total,
                bad_drinking,
                inferior,
            );
        }
        Ok(())
    }
}

/// A judge row as the alert engine's fact.
fn observation(
    section: &Section,
    at: DateTime<Utc>,
    class: WaterClass,
    items: &[water::ItemFinding],
    period: ObservedPeriod,
) -> WaterObservation {
    WaterObservation {
        section: section.id.clone(),
        name: section.name.clone(),
        river: section.river.clone(),
        period,
        at,
        class,
        target: section.target,
        drinking_source: section.drinking_source,
        items: items
            .iter()
            .map(|i| {
                let rule = crate::standards::water::rule(i.parameter, section.waterbody);
                AlertItem {
                    parameter: i.parameter,
                    value: i.value.to_f64(),
                    limit_v: limit(rule, WaterClass::V),
                    limit_target: limit(rule, section.target.0),
                }
            })
            .collect(),
    }
}
