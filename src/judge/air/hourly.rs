//! Real-time (hourly) AQI per station-hour, as CNEMC publishes it (STANDARDS.md 1.6):
//! the six 1-h concentrations, PM on the 24-h columns. The HJ 633-2012 SO2 > 800 rule
//! needs the SO2 24-h moving mean ending at the hour, computed here from the same
//! readings (>= 20 valid hours of the last 24). Small volumes (one station's day is 144
//! values), so plain Rust maps, no polars.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

use crate::model::{Reading, SiteId};
use crate::standards::air_eval::ValidityRules;
use crate::standards::aqi::{AqiReport, Edition, EditionChoice, HourlyConcentrations, hourly_aqi};
use crate::standards::parameter::Parameter;

/// AQI of one station-hour.
#[derive(Debug, Clone, PartialEq)]
pub struct StationHour {
    pub station: SiteId,
    /// Start of the hour (HJ 212 convention); the CNEMC label is `start + 1 h`.
    pub start: DateTime<Utc>,
    pub edition: Edition,
    pub concentrations: HourlyConcentrations,
    pub report: AqiReport,
}

impl StationHour {
    /// The published (end-of-hour) label.
    pub fn end_label(&self) -> DateTime<Utc> {
        self.start + Duration::hours(1)
    }
}

/// Hourly AQI of every station-hour with at least one valid (flag N) pollutant value.
/// The edition is that of the local day the hour belongs to.
pub fn hourly(
    readings: &[Reading],
    tz: Tz,
    edition: EditionChoice,
    rules: &ValidityRules,
) -> Vec<StationHour> {
    let mut by_hour: BTreeMap<(&SiteId, DateTime<Utc>), HourlyConcentrations> = BTreeMap::new();
    for r in readings.iter().filter(|r| r.flag.is_valid()) {
        let c = by_hour.entry((&r.site, r.time)).or_default();
        let slot = match r.parameter {
            Parameter::So2 => &mut c.so2,
            Parameter::No2 => &mut c.no2,
            Parameter::Pm10 => &mut c.pm10,
            Parameter::Co => &mut c.co,
            Parameter::O3 => &mut c.o3,
            Parameter::Pm25 => &mut c.pm25,
            _ => continue,
        };
        *slot = Some(r.value);
    }
    let so2: BTreeMap<(&SiteId, DateTime<Utc>), f64> = by_hour
        .iter()
        .filter_map(|(k, c)| c.so2.map(|v| (*k, v)))
        .collect();
    let mut out = Vec::with_capacity(by_hour.len());
    for ((site, start), mut c) in by_hour {
        let window: Vec<f64> = so2
            .range((site, start - Duration::hours(23))..=(site, start))
            .map(|(_, v)| *v)
            .collect();
        if window.len() as u32 >= rules.min_hours_daily_mean {
            c.so2_24h = Some(window.iter().sum::<f64>() / window.len() as f64);
        }
        let edition = edition.resolve(start.with_timezone(&tz).date_naive());
        out.push(StationHour {
            station: site.clone(),
            start,
            edition,
            concentrations: c,
            report: hourly_aqi(edition, &c),
        });
    }
    out
}
