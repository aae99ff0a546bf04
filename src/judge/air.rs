//! Air judgement: hourly readings → daily statistics per station and local calendar day
//! (HJ 663 validity) → daily AQI per station and city (HJ 633, each day by its own
//! edition) → good-day ratio per city vs the target.
//!
//! Library API (what the daemon and `envwatch air` call):
//! - [`readings_frame`]: `&[Reading]` → the canonical readings [`DataFrame`]
//!   (`station: str, parameter: str, time: datetime[ms, UTC] (hour START), value: f64, flag: str`).
//! - [`daily`] / [`daily_frame`]: readings → [`DailyResult`] with typed [`StationDay`] and
//!   [`CityDay`] rows; heavy lifting in polars lazy ([`stats`]), AQI in exact integers
//!   ([`crate::standards::aqi`]).
//! - [`ratio()`]: city days → [`RatioRow`]s per month, year and optional period.
//! - [`hourly()`]: real-time (hourly) AQI per station-hour, as CNEMC publishes it.
//!
//! Days are local calendar days in [`AirOptions::tz`]; an hour belongs to the day of its
//! START (`Reading::time`), so with end-labelled input (CNEMC) the label 00:00 closes the
//! previous day — the caller (CSV reader) shifts labels to starts.

mod city;
pub mod hourly;
pub mod ratio;
pub mod stats;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use chrono::NaiveDate;
use chrono_tz::Tz;
use polars::prelude::*;

use crate::config::Station;
use crate::model::{Reading, SiteId};
use crate::standards::air_eval::ValidityRules;
use crate::standards::aqi::{
    Aqi, AqiReport, DailyConcentrations, Edition, EditionChoice, Indicator, Level, Pollutant,
    daily_aqi,
};

pub use hourly::{StationHour, hourly};
pub use ratio::{PeriodKind, RatioRow, ratio};
pub use stats::readings_frame;

/// Settings of one judgement run.
#[derive(Debug, Clone)]
pub struct AirOptions {
    /// Calendar days are days in this zone (Asia/Shanghai by default).
    pub tz: Tz,
    /// `auto` judges each day by the edition in force on that day.
    pub edition: EditionChoice,
    pub rules: ValidityRules,
}

impl Default for AirOptions {
    fn default() -> Self {
        AirOptions {
            tz: chrono_tz::Asia::Shanghai,
            edition: EditionChoice::Auto,
            rules: ValidityRules::default(),
        }
    }
}

/// Errors of the judgement itself (bad input rows are the reader's business).
#[derive(Debug, thiserror::Error)]
pub enum JudgeError {
    #[error("polars: {0}")]
    Polars(#[from] PolarsError),
}

/// Why a day (or one of its statistics) is not valid. Never silently dropped: every
/// invalid day carries at least one reason.
#[derive(Debug, Clone, PartialEq)]
pub enum InvalidReason {
    /// No valid hourly value of any pollutant on that day.
    NoData,
    /// A 24-h mean / the O3 1-h maximum had too few valid hours.
    TooFewHours {
        indicator: Indicator,
        hours: u32,
        need: u32,
    },
    /// Too few valid 8-h O3 windows for the MDA8.
    TooFewO3Windows { windows: u32, need: u32 },
    /// City statistic: too few stations with a valid value.
    TooFewStations {
        indicator: Indicator,
        stations: u32,
        need: u32,
    },
}

impl fmt::Display for InvalidReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvalidReason::NoData => f.write_str("no valid data"),
            InvalidReason::TooFewHours {
                indicator,
                hours,
                need,
            } => write!(f, "{indicator}: {hours} valid hours (need {need})"),
            InvalidReason::TooFewO3Windows { windows, need } => {
                write!(f, "O3_8h: {windows} valid 8-h windows (need {need})")
            }
            InvalidReason::TooFewStations {
                indicator,
                stations,
                need,
            } => write!(
                f,
                "{indicator}: {stations} stations with valid data (need {need})"
            ),
        }
    }
}

/// Raw daily statistics of one site-day (station, or city in hourly-averaging mode),
/// before validity is applied: means are of the valid hours present.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct DailyStats {
    /// 24-h means of SO2, NO2, PM10, CO, PM2.5 (indexed by [`MEAN_POLLUTANTS`]).
    pub mean: [Option<f64>; 5],
    /// Valid hours behind each mean.
    pub hours: [u32; 5],
    pub o3_1h_max: Option<f64>,
    pub o3_hours: u32,
    /// Max over the valid 8-h windows (≥ 6 of 8 hours) ending 08:00…24:00.
    pub o3_8h_max: Option<f64>,
    pub o3_8h_windows: u32,
}

/// The pollutants with a daily 24-h mean, in [`DailyStats::mean`] order.
pub const MEAN_POLLUTANTS: [Pollutant; 5] = [
    Pollutant::So2,
    Pollutant::No2,
    Pollutant::Pm10,
    Pollutant::Co,
    Pollutant::Pm25,
];

/// The daily indicator of a 24-h-mean pollutant.
pub fn day_indicator(p: Pollutant) -> Indicator {
    match p {
        Pollutant::So2 => Indicator::So2Day,
        Pollutant::No2 => Indicator::No2Day,
        Pollutant::Pm10 => Indicator::Pm10Day,
        Pollutant::Co => Indicator::CoDay,
        Pollutant::Pm25 => Indicator::Pm25Day,
        Pollutant::O3 => Indicator::O3Eight,
    }
}

impl DailyStats {
    /// Apply the validity rules: the valid statistics, and a reason for each invalid one
    /// that the edition's daily AQI needs.
    pub fn validate(
        &self,
        rules: &ValidityRules,
        edition: Edition,
    ) -> (DailyConcentrations, Vec<InvalidReason>) {
        let mut c = DailyConcentrations::default();
        let mut reasons = Vec::new();
        let needed = edition.daily_indicators();
        for (i, p) in MEAN_POLLUTANTS.iter().enumerate() {
            let ind = day_indicator(*p);
            if self.hours[i] >= rules.min_hours_daily_mean {
                c.set(ind, self.mean[i]);
            } else if needed.contains(&ind) {
                reasons.push(InvalidReason::TooFewHours {
                    indicator: ind,
                    hours: self.hours[i],
                    need: rules.min_hours_daily_mean,
                });
            }
        }
        if self.o3_hours >= rules.min_hours_o3_1h_max {
            c.o3_1h_max = self.o3_1h_max;
        } else if needed.contains(&Indicator::O3Hour) {
            reasons.push(InvalidReason::TooFewHours {
                indicator: Indicator::O3Hour,
                hours: self.o3_hours,
                need: rules.min_hours_o3_1h_max,
            });
        }
        let keep = match (self.o3_8h_max, rules.o3_8h_keep_if_above) {
            _ if self.o3_8h_windows >= rules.min_o3_8h_windows => self.o3_8h_max.is_some(),
            (Some(v), Some(limit)) => v > limit,
            _ => false,
        };
        if keep {
            c.o3_8h_max = self.o3_8h_max;
        } else {
            reasons.push(InvalidReason::TooFewO3Windows {
                windows: self.o3_8h_windows,
                need: rules.min_o3_8h_windows,
            });
        }
        (c, reasons)
    }

    pub fn is_empty(&self) -> bool {
        self.hours.iter().all(|h| *h == 0) && self.o3_hours == 0
    }
}

/// The judgement of one day of one station or city.
#[derive(Debug, Clone, PartialEq)]
pub struct DayJudgement {
    pub date: NaiveDate,
    pub edition: Edition,
    /// The valid daily statistics (unrounded; the report holds the rounded ones).
    pub concentrations: DailyConcentrations,
    /// IAQI per indicator, AQI (a lower bound when indicators are missing), primaries.
    pub report: AqiReport,
    /// Why statistics are missing; empty for a complete day.
    pub reasons: Vec<InvalidReason>,
}

impl DayJudgement {
    fn new(
        date: NaiveDate,
        edition: Edition,
        concentrations: DailyConcentrations,
        mut reasons: Vec<InvalidReason>,
    ) -> Self {
        let report = daily_aqi(edition, &concentrations);
        if report.aqi.is_none() && reasons.is_empty() {
            reasons.push(InvalidReason::NoData);
        }
        DayJudgement {
            date,
            edition,
            concentrations,
            report,
            reasons,
        }
    }

    /// The day's AQI when it is known: all indicators valid, or the valid ones already
    /// exceed 100 (missing ones could only raise it; HJ 633-2026 §5.3.1). Such a day is
    /// a valid, not-good day for the ratio.
    pub fn aqi(&self) -> Option<Aqi> {
        self.report.publishable_aqi()
    }

    /// Counts in the good-day ratio's denominator.
    pub fn valid(&self) -> bool {
        self.aqi().is_some()
    }

    /// 优良天: valid and AQI <= 100.
    pub fn good(&self) -> bool {
        self.aqi().is_some_and(|a| a.is_good())
    }

    pub fn level(&self) -> Option<Level> {
        self.aqi().map(Level::from_aqi)
    }

    /// Reasons joined for a CSV cell.
    pub fn reason_text(&self) -> String {
        self.reasons
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// One station-day.
#[derive(Debug, Clone, PartialEq)]
pub struct StationDay {
    pub station: SiteId,
    pub city: String,
    /// Background / control point: reported, excluded from the city.
    pub control: bool,
    pub stats: DailyStats,
    pub judgement: DayJudgement,
}

/// One city-day.
#[derive(Debug, Clone, PartialEq)]
pub struct CityDay {
    pub city: String,
    /// Stations that contributed at least one valid statistic.
    pub stations: u32,
    pub judgement: DayJudgement,
}

/// Output of [`daily`].
#[derive(Debug, Clone, Default)]
pub struct DailyResult {
    pub stations: Vec<StationDay>,
    pub cities: Vec<CityDay>,
    /// Sites not in the station list (site, count of valid hourly values): excluded.
    pub unknown_sites: Vec<(SiteId, usize)>,
}

/// Daily judgement of readings (see the module doc).
pub fn daily(
    readings: &[Reading],
    stations: &[Station],
    opts: &AirOptions,
) -> Result<DailyResult, JudgeError> {
    let df = readings_frame(readings)?;
    daily_frame(&df, stations, opts)
}

/// Daily judgement of a canonical readings frame (see [`readings_frame`] for the schema;
/// one row per station, parameter and hour).
pub fn daily_frame(
    df: &DataFrame,
    stations: &[Station],
    opts: &AirOptions,
) -> Result<DailyResult, JudgeError> {
    let by_code: HashMap<&str, &Station> = stations.iter().map(|s| (s.code.as_str(), s)).collect();
    let t = std::time::Instant::now();
    let raw = stats::station_day_stats(df, opts.tz, &opts.rules)?;
    // Sites that are not configured stations, with their count of valid hourly values.
    let mut unknown: BTreeMap<&str, usize> = BTreeMap::new();
    for (s, _, st) in raw.iter().filter(|r| !by_code.contains_key(r.0.as_str())) {
        let n: u32 = st.hours.iter().sum::<u32>() + st.o3_hours;
        *unknown.entry(s.as_str()).or_default() += n as usize;
    }
    let unknown_sites: Vec<(SiteId, usize)> = unknown
        .into_iter()
        .map(|(s, n)| (SiteId::new(s), n))
        .collect();
    let raw: Vec<(String, NaiveDate, DailyStats)> = raw
        .into_iter()
        .filter(|(s, _, _)| by_code.contains_key(s.as_str()))
        .collect();
    let (first, last) = match (raw.iter().map(|r| r.1).min(), raw.iter().map(|r| r.1).max()) {
        (Some(a), Some(b)) => (a, b),
        _ => {
            return Ok(DailyResult {
                unknown_sites,
                ..Default::default()
            });
        }
    };

    // Full grid: every station of every city present, every day from first to last, so
    // days without data appear as invalid with a reason instead of vanishing.
    let cities: BTreeSet<&str> = raw
        .iter()
        .filter_map(|(s, _, _)| by_code.get(s.as_str()).map(|st| st.city.as_str()))
        .collect();
    let mut found: HashMap<(String, NaiveDate), DailyStats> =
        raw.into_iter().map(|(s, d, st)| ((s, d), st)).collect();
    let mut station_days = Vec::new();
    for st in stations.iter().filter(|s| cities.contains(s.city.as_str())) {
        for date in first.iter_days().take_while(|d| *d <= last) {
            let stats = found.remove(&(st.code.0.clone(), date)).unwrap_or_default();
            let edition = opts.edition.resolve(date);
            let (conc, reasons) = if stats.is_empty() {
                (DailyConcentrations::default(), vec![InvalidReason::NoData])
            } else {
                stats.validate(&opts.rules, edition)
            };
            station_days.push(StationDay {
                station: st.code.clone(),
                city: st.city.clone(),
                control: st.control,
                stats,
                judgement: DayJudgement::new(date, edition, conc, reasons),
            });
        }
    }

    crate::judge::timing("station days", t);
    let cities = city::city_days(df, &station_days, stations, &cities, first, last, opts)?;
    crate::judge::timing("city days", t);
    Ok(DailyResult {
        stations: station_days,
        cities,
        unknown_sites,
    })
}

/// Group city days by city (sorted by date) — the shape [`ratio()`] works on.
pub fn by_city(cities: &[CityDay]) -> BTreeMap<&str, Vec<&CityDay>> {
    let mut m: BTreeMap<&str, Vec<&CityDay>> = BTreeMap::new();
    for c in cities {
        m.entry(c.city.as_str()).or_default().push(c);
    }
    for v in m.values_mut() {
        v.sort_by_key(|c| c.judgement.date);
    }
    m
}

#[cfg(test)]
mod tests;
