//! City daily values (STANDARDS.md 2.6): the arithmetic mean over the city's assessment
//! stations — configured stations that are not control points (`control = true`) —
//! then the city AQI from those mean concentrations (never a mean of station AQIs).
//!
//! The averaging step is configurable ([`CityAveraging`]): by default the valid station
//! daily statistics are averaged per indicator; in `Hourly` mode the stations' valid
//! hourly values are averaged per hour first and the city series gets the same daily
//! statistics and validity rules as a station.

use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDate;
use polars::prelude::*;

use super::stats::{FLAG, PARAMETER, STATION, TIME, VALUE, station_day_stats};
use super::{AirOptions, CityDay, DailyStats, DayJudgement, InvalidReason, JudgeError, StationDay};
use crate::config::Station;
use crate::standards::air_eval::CityAveraging;
use crate::standards::aqi::{DailyConcentrations, Indicator};

pub(super) fn city_days(
    df: &DataFrame,
    station_days: &[StationDay],
    stations: &[Station],
    cities: &BTreeSet<&str>,
    first: NaiveDate,
    last: NaiveDate,
    opts: &AirOptions,
) -> Result<Vec<CityDay>, JudgeError> {
    match opts.rules.city_averaging {
        CityAveraging::StationDaily => {
            Ok(from_station_days(station_days, cities, first, last, opts))
        }
        CityAveraging::Hourly => from_hourly(df, stations, cities, first, last, opts),
    }
}

/// Mean of the valid station statistics per city, day and indicator.
fn from_station_days(
    station_days: &[StationDay],
    cities: &BTreeSet<&str>,
    first: NaiveDate,
    last: NaiveDate,
    opts: &AirOptions,
) -> Vec<CityDay> {
    // (city, date) → per indicator (sum, n), and the contributing stations
    type Acc = (HashMap<Indicator, (f64, u32)>, BTreeSet<String>);
    let mut acc: HashMap<(&str, NaiveDate), Acc> = HashMap::new();
    for sd in station_days.iter().filter(|s| !s.control) {
        let j = &sd.judgement;
        let entry = acc.entry((sd.city.as_str(), j.date)).or_default();
        for ind in all_daily_indicators() {
            if let Some(v) = j.concentrations.get(ind) {
                let e = entry.0.entry(ind).or_insert((0.0, 0));
                e.0 += v;
                e.1 += 1;
                entry.1.insert(sd.station.0.clone());
            }
        }
    }
    let need = opts.rules.min_city_stations;
    let mut out = Vec::new();
    for city in cities {
        for date in first.iter_days().take_while(|d| *d <= last) {
            let edition = opts.edition.resolve(date);
            let (sums, contributing) = acc.remove(&(*city, date)).unwrap_or_default();
            let mut conc = DailyConcentrations::default();
            let mut reasons = Vec::new();
            for &ind in edition.daily_indicators() {
                let (sum, n) = sums.get(&ind).copied().unwrap_or((0.0, 0));
                if n >= need.max(1) {
                    conc.set(ind, Some(sum / f64::from(n)));
                } else {
                    reasons.push(InvalidReason::TooFewStations {
                        indicator: ind,
                        stations: n,
                        need: need.max(1),
                    });
                }
            }
            if contributing.is_empty() {
                reasons = vec![InvalidReason::NoData];
            }
            out.push(CityDay {
                city: (*city).to_string(),
                stations: contributing.len() as u32,
                judgement: DayJudgement::new(date, edition, conc, reasons),
            });
        }
    }
    out
}

/// The daily indicators of either edition.
fn all_daily_indicators() -> [Indicator; 7] {
    [
        Indicator::So2Day,
        Indicator::No2Day,
        Indicator::Pm10Day,
        Indicator::CoDay,
        Indicator::O3Hour,
        Indicator::O3Eight,
        Indicator::Pm25Day,
    ]
}

/// City hourly series (mean over the non-control stations' valid hours), then daily
/// statistics of that series exactly like a station's.
fn from_hourly(
    df: &DataFrame,
    stations: &[Station],
    cities: &BTreeSet<&str>,
    first: NaiveDate,
    last: NaiveDate,
    opts: &AirOptions,
) -> Result<Vec<CityDay>, JudgeError> {
    let members: Vec<&Station> = stations.iter().filter(|s| !s.control).collect();
    let map = DataFrame::new_infer_height(vec![
        Column::new(
            STATION.into(),
            members.iter().map(|s| s.code.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(
            "city".into(),
            members.iter().map(|s| s.city.as_str()).collect::<Vec<_>>(),
        ),
    ])?;
    let city_hours = df
        .clone()
        .lazy()
        .filter(col(FLAG).eq(lit("N")))
        .join(
            map.lazy(),
            [col(STATION)],
            [col(STATION)],
            JoinArgs::new(JoinType::Inner),
        )
        .group_by([col("city"), col(PARAMETER), col(TIME)])
        .agg([
            col(VALUE).mean().alias(VALUE),
            col(STATION).n_unique().alias("n_stations"),
        ])
        .filter(col("n_stations").gt_eq(lit(opts.rules.min_city_stations.max(1))))
        .select([
            col("city").alias(STATION),
            col(PARAMETER),
            col(TIME),
            col(VALUE),
            lit("N").alias(FLAG),
        ])
        .collect()?;
    let stats = station_day_stats(&city_hours, opts.tz, &opts.rules)?;
    let mut found: HashMap<(String, NaiveDate), DailyStats> =
        stats.into_iter().map(|(c, d, s)| ((c, d), s)).collect();
    let mut out = Vec::new();
    for city in cities {
        for date in first.iter_days().take_while(|d| *d <= last) {
            let edition = opts.edition.resolve(date);
            let stats = found
                .remove(&((*city).to_string(), date))
                .unwrap_or_default();
            let (conc, reasons) = if stats.is_empty() {
                (DailyConcentrations::default(), vec![InvalidReason::NoData])
            } else {
                stats.validate(&opts.rules, edition)
            };
            let n = members.iter().filter(|s| s.city == *city).count() as u32;
            out.push(CityDay {
                city: (*city).to_string(),
                stations: n,
                judgement: DayJudgement::new(date, edition, conc, reasons),
            });
        }
    }
    Ok(out)
}
