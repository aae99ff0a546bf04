//! Loads the period's readings from the store and judges them with the judge libraries
//! (`judge::air::daily` + `ratio`, `judge::water::classify`), so every number equals what
//! `envwatch air ratio` / `envwatch water classify` print for the same readings.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use anyhow::Context;
use chrono::{DateTime, Days, NaiveDate, Utc};
use chrono_tz::Tz;
use rusqlite::{Connection, OpenFlags};

use super::ReportPeriod;
use crate::config::daemon::Targets;
use crate::config::{Section, Station};
use crate::judge::air::{self, AirOptions, PeriodKind};
use crate::judge::water::{self, JudgeOptions, Period, SectionInfo, WaterInput};
use crate::model::Reading;
use crate::publish::schema::local_midnight;
use crate::standards::aqi::{EditionChoice, Pollutant};
use crate::standards::water::WaterClass;

/// What the report needs besides the store.
pub struct ReportInputs<'a> {
    pub stations: &'a [Station],
    pub sections: &'a [Section],
    pub targets: Targets,
    pub tz: Tz,
    pub edition: EditionChoice,
    pub validity: crate::standards::air_eval::ValidityRules,
    pub round_before_classing: bool,
}

impl<'a> ReportInputs<'a> {
    /// Everything from a loaded config (stations, sections, targets, zone, rules).
    pub fn from_config(config: &'a crate::config::Config) -> ReportInputs<'a> {
        ReportInputs {
            stations: &config.stations,
            sections: &config.sections,
            targets: config.daemon.targets.clone(),
            tz: config.daemon.general.timezone,
            edition: config.daemon.air.edition,
            validity: config.daemon.air.validity,
            round_before_classing: config.daemon.water.round_before_classing,
        }
    }
}

/// Good days / valid days of one city in one month or the whole period.
#[derive(Debug, Clone)]
pub struct RatioFigure {
    pub city: String,
    pub label: String,
    pub good_days: u32,
    pub valid_days: u32,
    pub ratio: Option<f64>,
}

/// One city-day.
#[derive(Debug, Clone)]
pub struct CityDayRow {
    pub city: String,
    pub date: NaiveDate,
    pub aqi: Option<u16>,
    pub level: Option<u8>,
    pub primary: Vec<&'static str>,
    /// Daily concentrations of the trend chart: PM2.5, PM10, SO2, NO2, O3-8h (µg/m³), CO (mg/m³).
    pub conc: [Option<f64>; 6],
}

/// Names of [`CityDayRow::conc`].
pub const TREND_POLLUTANTS: [&str; 6] = ["PM2.5", "PM10", "SO2", "NO2", "O3-8h", "CO"];

/// One station over the period.
#[derive(Debug, Clone)]
pub struct StationRow {
    pub code: String,
    pub name: String,
    pub days: u32,
    pub valid_days: u32,
    pub mean_aqi: Option<f64>,
}

/// One section over the period.
#[derive(Debug, Clone)]
pub struct SectionRow {
    pub id: String,
    pub name: String,
    pub river: String,
    pub drinking_source: bool,
    pub target: WaterClass,
    /// Month period: the month class (`water classify --period month`). Year: the worst
    /// month class.
    pub class: Option<WaterClass>,
    pub compliant: Option<bool>,
    /// Items that set the class (`PARAM=value`).
    pub items: Vec<String>,
    /// Months with a class / months compliant (year reports).
    pub months: u32,
    pub compliant_months: u32,
}

/// Daily class of one section.
#[derive(Debug, Clone)]
pub struct SectionDay {
    pub section: usize,
    pub date: NaiveDate,
    pub class: WaterClass,
    pub items: Vec<String>,
}

/// A run of consecutive 劣V days at one section.
#[derive(Debug, Clone)]
pub struct InferiorEpisode {
    pub section: String,
    pub name: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub items: Vec<String>,
}

/// Share of expected hourly readings present.
#[derive(Debug, Clone)]
pub struct Completeness {
    pub site: String,
    pub name: String,
    pub air: bool,
    pub present: u64,
    pub expected: u64,
}

impl Completeness {
    pub fn share(&self) -> Option<f64> {
        (self.expected > 0).then(|| self.present as f64 / self.expected as f64)
    }
}

/// Everything the layouts show.
#[derive(Debug, Clone)]
pub struct ReportData {
    pub period: ReportPeriod,
    pub tz: Tz,
    pub targets: Targets,
    /// First and last local day with any reading in the period (`None`: no data).
    pub data_span: Option<(NaiveDate, NaiveDate)>,
    pub readings: usize,
    /// Whole-period good-day figures per city.
    pub ratio_total: Vec<RatioFigure>,
    /// Per month per city.
    pub ratio_months: Vec<RatioFigure>,
    pub city_days: Vec<CityDayRow>,
    pub stations: Vec<StationRow>,
    pub sections: Vec<SectionRow>,
    pub section_days: Vec<SectionDay>,
    pub episodes: Vec<InferiorEpisode>,
    pub completeness: Vec<Completeness>,
}

impl ReportData {
    /// Drinking sources with a class, and how many are compliant.
    pub fn drinking(&self) -> (u32, u32) {
        let judged: Vec<&SectionRow> = self
            .sections
            .iter()
            .filter(|s| s.drinking_source && s.class.is_some())
            .collect();
        let ok = judged.iter().filter(|s| s.compliant == Some(true)).count();
        (judged.len() as u32, ok as u32)
    }

    /// Sections at 劣V (period class).
    pub fn inferior_v(&self) -> u32 {
        self.sections
            .iter()
            .filter(|s| s.class == Some(WaterClass::InferiorV))
            .count() as u32
    }

    /// Polluted city-days (AQI > 100).
    pub fn polluted_days(&self) -> Vec<&CityDayRow> {
        self.city_days
            .iter()
            .filter(|d| d.aqi.is_some_and(|a| a > 100))
            .collect()
    }
}

fn utc_midnight(d: NaiveDate, tz: Tz) -> DateTime<Utc> {
    local_midnight(d, tz).unwrap_or_else(|| d.and_time(Default::default()).and_utc())
}

/// Opens the store read-only (the daemon may be writing; WAL lets us read).
pub fn open_store(path: &Path) -> anyhow::Result<Connection> {
    if !path.exists() {
        anyhow::bail!(
            "store {} does not exist (run the daemon or `envwatch demo` first)",
            path.display()
        );
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("cannot open store {}", path.display()))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(conn)
}

/// Loads and judges the period.
pub fn load(
    conn: &Connection,
    inputs: &ReportInputs<'_>,
    period: ReportPeriod,
) -> anyhow::Result<ReportData> {
    let tz = inputs.tz;
    let from = utc_midnight(period.first(), tz);
    let to = utc_midnight(
        period
            .last()
            .checked_add_days(Days::new(1))
            .unwrap_or(period.last()),
        tz,
    );
    let readings =
        crate::store::readings::between(conn, crate::model::Period::Hour, None, from, to)
            .with_context(|| "cannot read readings from the store")?;
    judge(&readings, inputs, period)
}

/// Judges readings already loaded (the bench and tests call this too).
pub fn judge(
    readings: &[Reading],
    inputs: &ReportInputs<'_>,
    period: ReportPeriod,
) -> anyhow::Result<ReportData> {
    let tz = inputs.tz;
    let station_codes: HashMap<&str, &Station> = inputs
        .stations
        .iter()
        .map(|s| (s.code.as_str(), s))
        .collect();
    let section_ids: HashMap<&str, usize> = inputs
        .sections
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), i))
        .collect();
    let local_day = |t: DateTime<Utc>| t.with_timezone(&tz).date_naive();
    let in_period: Vec<&Reading> = readings
        .iter()
        .filter(|r| period.contains(local_day(r.time)))
        .collect();
    let air_readings: Vec<Reading> = in_period
        .iter()
        .filter(|r| station_codes.contains_key(r.site.as_str()))
        .map(|r| (*r).clone())
        .collect();
    let water_readings: Vec<Reading> = in_period
        .iter()
        .filter(|r| section_ids.contains_key(r.site.as_str()))
        .map(|r| (*r).clone())
        .collect();
    let data_span = match (
        in_period.iter().map(|r| local_day(r.time)).min(),
        in_period.iter().map(|r| local_day(r.time)).max(),
    ) {
        (Some(a), Some(b)) => Some((a, b)),
        _ => None,
    };

    // --- Air.
    let opts = AirOptions {
        tz,
        edition: inputs.edition,
        rules: inputs.validity,
    };
    let daily = air::daily(&air_readings, inputs.stations, &opts)?;
    let rows = air::ratio(&daily.cities, inputs.targets.good_day_ratio, None);
    let fig = |r: &air::RatioRow| RatioFigure {
        city: r.city.clone(),
        label: r.label.clone(),
        good_days: r.good_days,
        valid_days: r.valid_days,
        ratio: r.ratio,
    };
    let ratio_months: Vec<RatioFigure> = rows
        .iter()
        .filter(|r| r.kind == PeriodKind::Month)
        .map(fig)
        .collect();
    let ratio_total: Vec<RatioFigure> = if period.is_year() {
        rows.iter()
            .filter(|r| r.kind == PeriodKind::Year)
            .map(fig)
            .collect()
    } else {
        ratio_months.clone()
    };
    let city_days: Vec<CityDayRow> = daily
        .cities
        .iter()
        .map(|c| {
            let j = &c.judgement;
            let k = &j.concentrations;
            CityDayRow {
                city: c.city.clone(),
                date: j.date,
                aqi: j.aqi().map(|a| a.0),
                level: j.level().map(|l| l.number()),
                primary: j
                    .report
                    .primary
                    .iter()
                    .map(|i| i.pollutant().name())
                    .collect(),
                conc: [
                    k.pm25_24h,
                    k.pm10_24h,
                    k.so2_24h,
                    k.no2_24h,
                    k.o3_8h_max,
                    k.co_24h,
                ],
            }
        })
        .collect();
    let mut stations = Vec::new();
    for st in inputs.stations {
        let days: Vec<_> = daily
            .stations
            .iter()
            .filter(|d| d.station == st.code)
            .collect();
        if days.is_empty() {
            continue;
        }
        let aqis: Vec<f64> = days
            .iter()
            .filter_map(|d| d.judgement.aqi().filter(|_| d.judgement.valid()))
            .map(|a| f64::from(a.0))
            .collect();
        stations.push(StationRow {
            code: st.code.to_string(),
            name: st.name.clone(),
            days: days.len() as u32,
            valid_days: days.iter().filter(|d| d.judgement.valid()).count() as u32,
            mean_aqi: (!aqis.is_empty()).then(|| aqis.iter().sum::<f64>() / aqis.len() as f64),
        });
    }

    // --- Water.
    let infos: Vec<SectionInfo> = inputs.sections.iter().map(SectionInfo::from).collect();
    let wopts = JudgeOptions {
        round_before_classing: inputs.round_before_classing,
        tz,
    };
    let (input, _skips) = WaterInput::from_readings(infos, &water_readings)?;
    let [per_day, per_month] = water::classify(&input, [Period::Day, Period::Month], &wopts)?;
    let items_of = |row: &water::PeriodClass| -> Vec<String> {
        row.items
            .iter()
            .map(|i| format!("{}={}", i.parameter, round3(i.value.to_f64())))
            .collect()
    };
    let mut section_days = Vec::new();
    for row in &per_day.rows {
        let Some(class) = row.class else { continue };
        let id = per_day.section(row).id.as_str();
        let Some(&idx) = section_ids.get(id) else {
            continue;
        };
        section_days.push(SectionDay {
            section: idx,
            date: local_day(row.start),
            class,
            items: items_of(row),
        });
    }
    let mut sections = Vec::new();
    for (idx, s) in inputs.sections.iter().enumerate() {
        let months: Vec<&water::PeriodClass> = per_month
            .rows
            .iter()
            .filter(|r| per_month.section(r).id == s.id && r.class.is_some())
            .collect();
        // Worst month (for a month period: the one month).
        let worst = months.iter().max_by_key(|r| r.class).copied();
        let compliant_months = months
            .iter()
            .filter(|r| per_month.compliant(r) == Some(true))
            .count() as u32;
        let _ = idx;
        sections.push(SectionRow {
            id: s.id.to_string(),
            name: s.name.clone(),
            river: s.river.clone(),
            drinking_source: s.drinking_source,
            target: s.target.0,
            class: worst.and_then(|r| r.class),
            compliant: worst.and_then(|r| per_month.compliant(r)),
            items: worst.map(items_of).unwrap_or_default(),
            months: months.len() as u32,
            compliant_months,
        });
    }
    let episodes = episodes(&section_days, inputs.sections);

    // --- Completeness over the days with data (hours × expected parameters).
    let completeness = completeness(&in_period, inputs, data_span, tz);

    Ok(ReportData {
        period,
        tz,
        targets: inputs.targets.clone(),
        data_span,
        readings: in_period.len(),
        ratio_total,
        ratio_months,
        city_days,
        stations,
        sections,
        section_days,
        episodes,
        completeness,
    })
}

/// Consecutive 劣V days per section.
fn episodes(days: &[SectionDay], sections: &[Section]) -> Vec<InferiorEpisode> {
    let mut by_section: BTreeMap<usize, Vec<&SectionDay>> = BTreeMap::new();
    for d in days.iter().filter(|d| d.class == WaterClass::InferiorV) {
        by_section.entry(d.section).or_default().push(d);
    }
    let mut out: Vec<InferiorEpisode> = Vec::new();
    for (idx, mut list) in by_section {
        list.sort_by_key(|d| d.date);
        let s = &sections[idx];
        let mut cur: Option<InferiorEpisode> = None;
        for d in list {
            match &mut cur {
                Some(e) if e.to.succ_opt() == Some(d.date) => {
                    e.to = d.date;
                    for i in &d.items {
                        if !e.items.contains(i) && e.items.len() < 6 {
                            e.items.push(i.clone());
                        }
                    }
                }
                _ => {
                    if let Some(e) = cur.take() {
                        out.push(e);
                    }
                    cur = Some(InferiorEpisode {
                        section: s.id.to_string(),
                        name: s.name.clone(),
                        from: d.date,
                        to: d.date,
                        items: d.items.clone(),
                    });
                }
            }
        }
        out.extend(cur);
    }
    out
}

/// Air stations: 6 parameters (PM2.5, PM10, SO2, NO2, CO, O3) per hour. Sections: the
/// parameters the section reported at all in the period, per hour (UNVERIFIED: the
/// bureau's automatic water stations may sample every 4 h; the share is then ≈ 25 %).
fn completeness(
    readings: &[&Reading],
    inputs: &ReportInputs<'_>,
    span: Option<(NaiveDate, NaiveDate)>,
    tz: Tz,
) -> Vec<Completeness> {
    let Some((a, b)) = span else {
        return Vec::new();
    };
    let hours = (utc_midnight(b.succ_opt().unwrap_or(b), tz) - utc_midnight(a, tz)).num_hours();
    let hours = hours.max(0) as u64;
    // site -> (parameters seen, distinct (parameter, hour) present, of them air pollutants)
    let air: BTreeSet<&str> = Pollutant::ALL.iter().map(|p| p.name()).collect();
    let mut seen: HashMap<&str, (BTreeSet<&'static str>, u64, u64)> = HashMap::new();
    let mut distinct: std::collections::HashSet<(&str, &'static str, i64)> =
        std::collections::HashSet::with_capacity(readings.len());
    for r in readings {
        let hour = r.time.timestamp().div_euclid(3600);
        if distinct.insert((r.site.as_str(), r.parameter.name(), hour)) {
            let e = seen.entry(r.site.as_str()).or_default();
            e.0.insert(r.parameter.name());
            e.1 += 1;
            if air.contains(r.parameter.name()) {
                e.2 += 1;
            }
        }
    }
    let mut out = Vec::new();
    for st in inputs.stations {
        let present = seen.get(st.code.as_str()).map_or(0, |e| e.2);
        out.push(Completeness {
            site: st.code.to_string(),
            name: st.name.clone(),
            air: true,
            present,
            expected: hours * Pollutant::ALL.len() as u64,
        });
    }
    for s in inputs.sections {
        let (params, present) = seen
            .get(s.id.as_str())
            .map_or((0, 0), |e| (e.0.len() as u64, e.1));
        out.push(Completeness {
            site: s.id.to_string(),
            name: s.name.clone(),
            air: false,
            present,
            expected: hours * params.max(1),
        });
    }
    out
}

/// Three decimals, trailing zeros dropped (display only; classing used the full value).
fn round3(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}
