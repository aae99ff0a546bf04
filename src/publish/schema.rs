//! Builders for the measurements of DESIGN.md "Influx schema". Every point envwatch
//! writes is built here, so field types are fixed in one place forever (a type change is
//! a field type conflict that Influx rejects): floats for measured and computed values,
//! integers for classes, flags, booleans and counts, strings only for labels. No tag
//! shares a name with a field (InfluxDB 3 forbids it; [`Point`] checks it too).
//!
//! Timestamps make writes idempotent: the same measurement, tags and timestamp overwrite,
//! so a retry or a recomputed day replaces the old point instead of adding one.
//! - hourly and instantaneous readings: the reading's own time (start of its hour);
//! - a day: local midnight of that day in the configured zone, as UTC nanoseconds;
//! - a month or year: local midnight of its first day;
//! - alerts: the time of the state change.
//!
//! Inputs are typed (the judge's results map onto these structs field by field); the
//! `period` tags keep day, month and reading results of one section apart even where
//! their timestamps coincide (a month and its first day start at the same instant).

use chrono::{DateTime, Datelike, LocalResult, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use super::line_protocol::{Point, PointError};
use crate::config::{Section, Station};
use crate::model::{self, DataFlag, Reading};
use crate::standards::aqi::Edition;
use crate::standards::parameter::{Medium, Parameter};
use crate::standards::water::WaterClass;

/// Measurement names (one place, so queries and docs cannot drift).
pub mod measurement {
    pub const AIR_HOURLY: &str = "air_hourly";
    /// HJ 212 real-time (2011) and minute (2051) air data, tag `period`: for display,
    /// never mixed into `air_hourly`.
    pub const AIR_REALTIME: &str = "air_realtime";
    pub const WATER_REALTIME: &str = "water_realtime";
    pub const AIR_DAILY: &str = "air_daily";
    pub const AIR_TARGET: &str = "air_target";
    pub const WATER_READING: &str = "water_reading";
    pub const WATER_CLASS: &str = "water_class";
    pub const WATER_TARGET: &str = "water_target";
    pub const ENVWATCH_ALERT: &str = "envwatch_alert";
}

/// Why a point could not be built from the given results.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SchemaError {
    #[error("{period} data have no real-time measurement (hours: air_hourly / water_reading)")]
    NotRealtime { period: model::Period },
    #[error("{measurement}: reading of {parameter} belongs to site {got}, not {expected}")]
    WrongSite {
        measurement: &'static str,
        parameter: Parameter,
        expected: String,
        got: String,
    },
    #[error("{measurement}: {parameter} is not a {wanted} parameter (site {site})")]
    WrongMedium {
        measurement: &'static str,
        parameter: Parameter,
        wanted: &'static str,
        site: String,
    },
    #[error("{measurement}: {parameter} appears twice for site {site} at {time}")]
    DuplicateParameter {
        measurement: &'static str,
        parameter: Parameter,
        site: String,
        time: String,
    },
    #[error("{measurement}: no local midnight for {day} in {tz}")]
    NoMidnight {
        measurement: &'static str,
        day: NaiveDate,
        tz: Tz,
    },
    #[error("{measurement}: {month} is not a month")]
    BadMonth {
        measurement: &'static str,
        month: u32,
    },
    #[error(transparent)]
    Point(#[from] PointError),
}

/// The start of local `day` in `tz`, as a UTC instant. Days are calendar days of the
/// configured zone (DESIGN.md); in zones where midnight is skipped by a DST jump, the
/// first instant of the day.
pub fn local_midnight(day: NaiveDate, tz: Tz) -> Option<DateTime<Utc>> {
    let midnight = day.and_hms_opt(0, 0, 0)?;
    match tz.from_local_datetime(&midnight) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Some(t.with_timezone(&Utc)),
        LocalResult::None => (1..=180).find_map(|m| {
            let t = midnight + chrono::Duration::minutes(m);
            tz.from_local_datetime(&t)
                .earliest()
                .map(|t| t.with_timezone(&Utc))
        }),
    }
}

fn midnight(
    measurement: &'static str,
    day: NaiveDate,
    tz: Tz,
) -> Result<DateTime<Utc>, SchemaError> {
    local_midnight(day, tz).ok_or(SchemaError::NoMidnight {
        measurement,
        day,
        tz,
    })
}

/// The integer code of an HJ 212 data flag as a bit: `flag` fields are the OR of the
/// flags present, so 0 means "all normal" and nothing about the others is lost.
pub fn flag_bit(flag: DataFlag) -> i64 {
    match flag {
        DataFlag::N => 0,
        DataFlag::F => 1,
        DataFlag::M => 2,
        DataFlag::S => 4,
        DataFlag::D => 8,
        DataFlag::C => 16,
        DataFlag::T => 32,
        DataFlag::B => 64,
    }
}

/// Readings of one site at one time, as fields: each parameter's value (float), its
/// flag bit as `<field>_flag` when not normal, and `flag`, the OR of all flag bits.
fn reading_fields(
    mut b: crate::publish::line_protocol::PointBuilder,
    measurement: &'static str,
    site: &str,
    time: DateTime<Utc>,
    readings: &[Reading],
    allowed: &[Medium],
    wanted: &'static str,
) -> Result<crate::publish::line_protocol::PointBuilder, SchemaError> {
    let mut seen: Vec<Parameter> = Vec::with_capacity(readings.len());
    let mut flags = 0i64;
    for r in readings {
        if r.site.as_str() != site {
            return Err(SchemaError::WrongSite {
                measurement,
                parameter: r.parameter,
                expected: site.to_string(),
                got: r.site.to_string(),
            });
        }
        if !allowed.contains(&r.parameter.medium()) {
            return Err(SchemaError::WrongMedium {
                measurement,
                parameter: r.parameter,
                wanted,
                site: site.to_string(),
            });
        }
        if seen.contains(&r.parameter) {
            return Err(SchemaError::DuplicateParameter {
                measurement,
                parameter: r.parameter,
                site: site.to_string(),
                time: time.to_rfc3339(),
            });
        }
        seen.push(r.parameter);
        b = b.float(r.parameter.field(), r.value);
        let bit = flag_bit(r.flag);
        if bit != 0 {
            b = b.integer(format!("{}_flag", r.parameter.field()), bit);
        }
        flags |= bit;
    }
    Ok(b.integer("flag", flags))
}

/// `air_hourly`: one station's readings for the hour starting at `hour_start`.
/// Tags station, city, district; fields per pollutant (and meteorological auxiliary).
pub fn air_hourly(
    station: &Station,
    hour_start: DateTime<Utc>,
    readings: &[Reading],
) -> Result<Point, SchemaError> {
    const M: &str = measurement::AIR_HOURLY;
    let b = Point::builder(M)
        .tag("station", station.code.as_str())
        .tag("city", station.city.as_str())
        .tag_opt("district", station.district.as_deref());
    let b = reading_fields(
        b,
        M,
        station.code.as_str(),
        hour_start,
        readings,
        &[Medium::Air, Medium::Meteo],
        "air",
    )?;
    Ok(b.time(hour_start).build()?)
}

/// `water_reading`: one section's readings at `time`. Tags section, river, basin.
pub fn water_reading(
    section: &Section,
    time: DateTime<Utc>,
    readings: &[Reading],
) -> Result<Point, SchemaError> {
    const M: &str = measurement::WATER_READING;
    let b = Point::builder(M)
        .tag("section", section.id.as_str())
        .tag("river", section.river.as_str())
        .tag_opt("basin", section.basin.as_deref());
    let b = reading_fields(
        b,
        M,
        section.id.as_str(),
        time,
        readings,
        &[Medium::Water],
        "water",
    )?;
    Ok(b.time(time).build()?)
}

/// `air_realtime` / `water_realtime`: one site's real-time or minute readings at `time`
/// (the sampling instant or the minute's start). Tags as `air_hourly` / `water_reading`
/// plus `period` (`realtime` or `minute`); same fields. `Err` for hour and day data:
/// hours go to `air_hourly` / `water_reading`, the loggers' own day means are not
/// published (the judge's `air_daily` is the daily figure).
pub fn realtime(
    site: RealtimeSite<'_>,
    period: model::Period,
    time: DateTime<Utc>,
    readings: &[Reading],
) -> Result<Point, SchemaError> {
    if !matches!(period, model::Period::RealTime | model::Period::Minute) {
        return Err(SchemaError::NotRealtime { period });
    }
    let (b, m, id, media, wanted): (_, &'static str, &str, &[Medium], _) = match site {
        RealtimeSite::Station(st) => (
            Point::builder(measurement::AIR_REALTIME)
                .tag("station", st.code.as_str())
                .tag("city", st.city.as_str())
                .tag_opt("district", st.district.as_deref()),
            measurement::AIR_REALTIME,
            st.code.as_str(),
            &[Medium::Air, Medium::Meteo],
            "air",
        ),
        RealtimeSite::Section(sec) => (
            Point::builder(measurement::WATER_REALTIME)
                .tag("section", sec.id.as_str())
                .tag("river", sec.river.as_str())
                .tag_opt("basin", sec.basin.as_deref()),
            measurement::WATER_REALTIME,
            sec.id.as_str(),
            &[Medium::Water],
            "water",
        ),
    };
    let b = b.tag("period", period.as_str());
    let b = reading_fields(b, m, id, time, readings, media, wanted)?;
    Ok(b.time(time).build()?)
}

/// The site of a [`realtime`] point.
#[derive(Debug, Clone, Copy)]
pub enum RealtimeSite<'a> {
    Station(&'a Station),
    Section(&'a Section),
}

/// The daily values HJ 633 judges a day by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DailyPollutant {
    /// 24-hour means.
    Pm25,
    Pm10,
    So2,
    No2,
    Co,
    /// Daily maximum 1-hour O3.
    O3Max1h,
    /// Daily maximum 8-hour moving average O3.
    O3Max8h,
}

impl DailyPollutant {
    /// Field name in `air_daily`.
    pub fn field(self) -> &'static str {
        match self {
            DailyPollutant::Pm25 => "pm2_5",
            DailyPollutant::Pm10 => "pm10",
            DailyPollutant::So2 => "so2",
            DailyPollutant::No2 => "no2",
            DailyPollutant::Co => "co",
            DailyPollutant::O3Max1h => "o3_1h",
            DailyPollutant::O3Max8h => "o3_8h",
        }
    }

    /// Label used in the `primary` field (HJ 633 naming).
    pub fn label(self) -> &'static str {
        match self {
            DailyPollutant::Pm25 => "PM2.5",
            DailyPollutant::Pm10 => "PM10",
            DailyPollutant::So2 => "SO2",
            DailyPollutant::No2 => "NO2",
            DailyPollutant::Co => "CO",
            DailyPollutant::O3Max1h => "O3_1h",
            DailyPollutant::O3Max8h => "O3_8h",
        }
    }
}

/// Whose day an `air_daily` point describes.
#[derive(Debug, Clone, Copy)]
pub enum DailyScope<'a> {
    /// One station (tags station and its city).
    Station(&'a Station),
    /// A city's day (from its non-control stations).
    City(&'a str),
}

/// One judged day (HJ 633 + HJ 663 validity).
#[derive(Debug, Clone)]
pub struct AirDaily<'a> {
    pub scope: DailyScope<'a>,
    /// Local calendar day.
    pub day: NaiveDate,
    pub edition: Edition,
    /// `None` when the day is invalid (not enough valid hours).
    pub aqi: Option<u16>,
    /// AQI level 1..=6 (优 … 严重污染).
    pub level: Option<u8>,
    /// Primary pollutants (empty when AQI <= 50).
    pub primary: Vec<DailyPollutant>,
    pub valid: bool,
    /// Why the day is invalid (HJ 663 rule), when it is.
    pub invalid_reason: Option<String>,
    pub values: Vec<(DailyPollutant, f64)>,
}

/// `air_daily`: tags `scope` (station | city), `station` (station days), `city`;
/// fields aqi, level, good (0/1; AQI <= 100 on a valid day), valid (0/1), primary,
/// edition, invalid_reason and the daily values. Stamped at local midnight.
pub fn air_daily(d: &AirDaily<'_>, tz: Tz) -> Result<Point, SchemaError> {
    const M: &str = measurement::AIR_DAILY;
    let mut b = Point::builder(M);
    b = match d.scope {
        DailyScope::Station(s) => b
            .tag("scope", "station")
            .tag("station", s.code.as_str())
            .tag("city", s.city.as_str()),
        DailyScope::City(c) => b.tag("scope", "city").tag("city", c),
    };
    if let Some(aqi) = d.aqi {
        b = b.integer("aqi", i64::from(aqi));
    }
    if let Some(level) = d.level {
        b = b.integer("level", i64::from(level));
    }
    let good = d.valid && d.aqi.is_some_and(|a| a <= 100);
    b = b
        .integer("good", i64::from(good))
        .integer("valid", i64::from(d.valid))
        .string(
            "edition",
            match d.edition {
                Edition::Hj633_2012 => "2012",
                Edition::Hj633_2026 => "2026",
            },
        );
    if !d.primary.is_empty() {
        let labels: Vec<&str> = d.primary.iter().map(|p| p.label()).collect();
        b = b.string("primary", labels.join(","));
    }
    if let Some(r) = &d.invalid_reason {
        b = b.string("invalid_reason", r.as_str());
    }
    for (p, v) in &d.values {
        b = b.float(p.field(), *v);
    }
    Ok(b.time(midnight(M, d.day, tz)?).build()?)
}

/// A month or a year, for targets and water classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Month { year: i32, month: u32 },
    Year(i32),
}

impl Period {
    pub fn kind(self) -> &'static str {
        match self {
            Period::Month { .. } => "month",
            Period::Year(_) => "year",
        }
    }

    fn first_day(self, measurement: &'static str) -> Result<NaiveDate, SchemaError> {
        let (y, m) = match self {
            Period::Month { year, month } => (year, month),
            Period::Year(year) => (year, 1),
        };
        NaiveDate::from_ymd_opt(y, m, 1).ok_or(SchemaError::BadMonth {
            measurement,
            month: m,
        })
    }
}

/// Good-day ratio of a city over a month or a year (to date while it runs).
#[derive(Debug, Clone, PartialEq)]
pub struct AirTarget<'a> {
    pub city: &'a str,
    pub period: Period,
    pub good_days: u32,
    pub valid_days: u32,
    /// Target share of good days (0.80).
    pub target: f64,
}

/// `air_target`: tags city, period; fields good_days, valid_days, ratio (absent while no
/// day is valid), target. Stamped at the period's first local midnight, so the running
/// month-to-date value overwrites itself every day.
pub fn air_target(t: &AirTarget<'_>, tz: Tz) -> Result<Point, SchemaError> {
    const M: &str = measurement::AIR_TARGET;
    let mut b = Point::builder(M)
        .tag("city", t.city)
        .tag("period", t.period.kind())
        .integer("good_days", i64::from(t.good_days))
        .integer("valid_days", i64::from(t.valid_days));
    if t.valid_days > 0 {
        b = b.float("ratio", f64::from(t.good_days) / f64::from(t.valid_days));
    }
    b = b.float("target", t.target);
    Ok(b.time(midnight(M, t.period.first_day(M)?, tz)?).build()?)
}

/// What a water class was judged over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClassPeriod {
    /// One (automatic station) reading time.
    Reading(DateTime<Utc>),
    /// A local day (daily means).
    Day(NaiveDate),
    /// A local month (monthly means; the official assessment).
    Month { year: i32, month: u32 },
}

impl ClassPeriod {
    pub fn kind(self) -> &'static str {
        match self {
            ClassPeriod::Reading(_) => "reading",
            ClassPeriod::Day(_) => "day",
            ClassPeriod::Month { .. } => "month",
        }
    }
}

/// A section's GB 3838 class over a period.
#[derive(Debug, Clone)]
pub struct WaterClassResult<'a> {
    pub section: &'a Section,
    pub period: ClassPeriod,
    pub class: WaterClass,
    /// The items that set the class (worst single factors), in the judge's order.
    pub worst_items: Vec<Parameter>,
    /// How many times the worst item exceeds the target class limit (0.5 = 50 % over),
    /// when it does.
    pub exceedance: Option<f64>,
}

/// `water_class`: tags section, waterbody, drinking_source, target, period; fields class
/// (1..6, 6 = inferior V), label, compliant (class no worse than target), worst_item,
/// exceedance.
pub fn water_class(w: &WaterClassResult<'_>, tz: Tz) -> Result<Point, SchemaError> {
    const M: &str = measurement::WATER_CLASS;
    let s = w.section;
    let target = s.target.0;
    let mut b = Point::builder(M)
        .tag("section", s.id.as_str())
        .tag(
            "waterbody",
            match s.waterbody {
                crate::standards::water::WaterBody::River => "river",
                crate::standards::water::WaterBody::Lake => "lake",
                crate::standards::water::WaterBody::Reservoir => "reservoir",
            },
        )
        .tag(
            "drinking_source",
            if s.drinking_source { "true" } else { "false" },
        )
        .tag("target", target.label())
        .tag("period", w.period.kind())
        .integer("class", i64::from(w.class.number()))
        .string("label", w.class.label())
        .integer("compliant", i64::from(w.class <= target));
    if !w.worst_items.is_empty() {
        let names: Vec<&str> = w.worst_items.iter().map(|p| p.name()).collect();
        b = b.string("worst_item", names.join(","));
    }
    if let Some(e) = w.exceedance {
        b = b.float("exceedance", e);
    }
    let time = match w.period {
        ClassPeriod::Reading(t) => t,
        ClassPeriod::Day(d) => midnight(M, d, tz)?,
        ClassPeriod::Month { year, month } => {
            midnight(M, Period::Month { year, month }.first_day(M)?, tz)?
        }
    };
    Ok(b.time(time).build()?)
}

/// Which group of sections a water target counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaterTargetKind {
    /// Centralised drinking-water sources (target: 100 % compliant).
    DrinkingSource,
    /// Every assessed section (targets: share compliant, none at inferior V).
    AllSections,
}

impl WaterTargetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            WaterTargetKind::DrinkingSource => "drinking_source",
            WaterTargetKind::AllSections => "all_sections",
        }
    }
}

/// A district's water compliance over a period.
#[derive(Debug, Clone, PartialEq)]
pub struct WaterTarget<'a> {
    pub district: &'a str,
    pub kind: WaterTargetKind,
    pub period: Period,
    pub sections: u32,
    pub compliant: u32,
    pub inferior_v: u32,
    /// Target share of compliant sections (1.0 for drinking sources).
    pub target: f64,
}

/// `water_target`: tags district, kind, period; fields sections, compliant, ratio
/// (absent with no section), inferior_v, target.
pub fn water_target(t: &WaterTarget<'_>, tz: Tz) -> Result<Point, SchemaError> {
    const M: &str = measurement::WATER_TARGET;
    let mut b = Point::builder(M)
        .tag("district", t.district)
        .tag("kind", t.kind.as_str())
        .tag("period", t.period.kind())
        .integer("sections", i64::from(t.sections))
        .integer("compliant", i64::from(t.compliant));
    if t.sections > 0 {
        b = b.float("ratio", f64::from(t.compliant) / f64::from(t.sections));
    }
    b = b
        .integer("inferior_v", i64::from(t.inferior_v))
        .float("target", t.target);
    Ok(b.time(midnight(M, t.period.first_day(M)?, tz)?).build()?)
}

/// Convenience: the local calendar day of a UTC instant.
pub fn local_day(t: DateTime<Utc>, tz: Tz) -> NaiveDate {
    let l = t.with_timezone(&tz);
    NaiveDate::from_ymd_opt(l.year(), l.month(), l.day()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SiteId;
    use crate::standards::water::{TargetClass, WaterBody};

    fn station() -> Station {
        Station {
            code: SiteId::new("1223A"),
            name: "临平镇".into(),
            city: "杭州".into(),
            district: Some("余杭区".into()),
            lon: None,
            lat: None,
            control: false,
            mn: None,
        }
    }

    fn section() -> Section {
        Section {
            id: SiteId::new("YH01"),
            name: "塘栖".into(),
            river: "京杭运河".into(),
            basin: Some("运河".into()),
            waterbody: WaterBody::River,
            drinking_source: false,
            target: TargetClass(WaterClass::III),
            district: Some("余杭区".into()),
            mn: None,
        }
    }

    fn reading(
        site: &str,
        parameter: Parameter,
        time: DateTime<Utc>,
        value: f64,
        flag: DataFlag,
    ) -> Reading {
        Reading {
            period: crate::model::Period::Hour,
            site: SiteId::new(site),
            parameter,
            time,
            value,
            flag,
        }
    }

    #[test]
    fn days_are_stamped_at_local_midnight() {
        // 2026-10-01 00:00 in Shanghai (UTC+8, no DST) is 2026-09-30T16:00:00Z.
        let day = NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
        let t = local_midnight(day, chrono_tz::Asia::Shanghai).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-09-30T16:00:00+00:00");
        // A zone whose midnight does not exist on its DST day (America/Santiago,
        // 2026-09-06 00:00 -> 01:00) gets the first instant of the day.
        let day = NaiveDate::from_ymd_opt(2026, 9, 6).unwrap();
        let t = local_midnight(day, chrono_tz::America::Santiago).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-09-06T04:00:00+00:00");
        assert_eq!(local_day(t, chrono_tz::America::Santiago), day);
    }

    #[test]
    fn air_hourly_has_fixed_types_and_flags() {
        let st = station();
        let t = DateTime::parse_from_rfc3339("2026-10-01T08:00:00+08:00")
            .unwrap()
            .with_timezone(&Utc);
        let readings = vec![
            reading("1223A", Parameter::Pm25, t, 35.0, DataFlag::N),
            reading("1223A", Parameter::Co, t, 0.6, DataFlag::N),
            reading("1223A", Parameter::O3, t, 120.0, DataFlag::C),
        ];
        let p = air_hourly(&st, t, &readings).unwrap();
        assert_eq!(
            p.to_line(),
            "air_hourly,city=杭州,district=余杭区,station=1223A pm2_5=35,co=0.6,o3=120,o3_flag=16i,flag=16i 1790812800000000000"
        );
        let wrong = reading("9999A", Parameter::Pm25, t, 1.0, DataFlag::N);
        assert!(matches!(
            air_hourly(&st, t, &[wrong]),
            Err(SchemaError::WrongSite { .. })
        ));
        let water = reading("1223A", Parameter::CodMn, t, 1.0, DataFlag::N);
        assert!(matches!(
            air_hourly(&st, t, &[water]),
            Err(SchemaError::WrongMedium { .. })
        ));
        let dup = [readings[0].clone(), readings[0].clone()];
        assert!(matches!(
            air_hourly(&st, t, &dup),
            Err(SchemaError::DuplicateParameter { .. })
        ));
    }

    #[test]
    fn air_daily_station_and_city() {
        let st = station();
        let d = AirDaily {
            scope: DailyScope::Station(&st),
            day: NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(),
            edition: Edition::Hj633_2026,
            aqi: Some(101),
            level: Some(3),
            primary: vec![DailyPollutant::O3Max8h],
            valid: true,
            invalid_reason: None,
            values: vec![
                (DailyPollutant::Pm25, 30.5),
                (DailyPollutant::O3Max8h, 161.0),
            ],
        };
        let p = air_daily(&d, chrono_tz::Asia::Shanghai).unwrap();
        assert_eq!(
            p.to_line(),
            "air_daily,city=杭州,scope=station,station=1223A aqi=101i,level=3i,good=0i,valid=1i,edition=\"2026\",primary=\"O3_8h\",pm2_5=30.5,o3_8h=161 1790784000000000000"
        );
        let c = AirDaily {
            scope: DailyScope::City("杭州"),
            aqi: None,
            level: None,
            primary: vec![],
            valid: false,
            invalid_reason: Some("PM2.5: 19 valid hours < 20".into()),
            values: vec![],
            ..d
        };
        let p = air_daily(&c, chrono_tz::Asia::Shanghai).unwrap();
        assert_eq!(
            p.to_line(),
            "air_daily,city=杭州,scope=city good=0i,valid=0i,edition=\"2026\",invalid_reason=\"PM2.5: 19 valid hours < 20\" 1790784000000000000"
        );
    }

    #[test]
    fn targets_and_classes() {
        let tz = chrono_tz::Asia::Shanghai;
        let p = air_target(
            &AirTarget {
                city: "杭州",
                period: Period::Year(2026),
                good_days: 3,
                valid_days: 4,
                target: 0.8,
            },
            tz,
        )
        .unwrap();
        // 2026-01-01 00:00 +08:00 = 2025-12-31T16:00:00Z
        assert_eq!(
            p.to_line(),
            "air_target,city=杭州,period=year good_days=3i,valid_days=4i,ratio=0.75,target=0.8 1767196800000000000"
        );
        let sec = section();
        let w = WaterClassResult {
            section: &sec,
            period: ClassPeriod::Month {
                year: 2026,
                month: 10,
            },
            class: WaterClass::InferiorV,
            worst_items: vec![Parameter::Nh3N, Parameter::Tp],
            exceedance: Some(1.25),
        };
        assert_eq!(
            water_class(&w, tz).unwrap().to_line(),
            "water_class,drinking_source=false,period=month,section=YH01,target=III,waterbody=river class=6i,label=\"劣V\",compliant=0i,worst_item=\"NH3-N,TP\",exceedance=1.25 1790784000000000000"
        );
        let t = water_target(
            &WaterTarget {
                district: "余杭区",
                kind: WaterTargetKind::DrinkingSource,
                period: Period::Month {
                    year: 2026,
                    month: 10,
                },
                sections: 0,
                compliant: 0,
                inferior_v: 0,
                target: 1.0,
            },
            tz,
        )
        .unwrap();
        assert_eq!(
            t.to_line(),
            "water_target,district=余杭区,kind=drinking_source,period=month sections=0i,compliant=0i,inferior_v=0i,target=1 1790784000000000000"
        );
        assert!(matches!(
            air_target(
                &AirTarget {
                    city: "x",
                    period: Period::Month {
                        year: 2026,
                        month: 13
                    },
                    good_days: 0,
                    valid_days: 0,
                    target: 0.8
                },
                tz
            ),
            Err(SchemaError::BadMonth { .. })
        ));
    }
}
