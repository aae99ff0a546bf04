//! The one event type every component meets at (Vector's lesson): sources and decoders
//! produce [`Reading`]s, the store keeps them, the judge and publishers consume them.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::standards::parameter::Parameter;

/// Identity of a monitoring site: an air station code (`1223A`) or a water section id.
/// Stations and sections share one namespace so a reading names its site unambiguously.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SiteId(pub String);

impl SiteId {
    pub fn new(s: impl Into<String>) -> Self {
        SiteId(s.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SiteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// HJ 212-2017 Table 8 data flag. Only `N` (instrument normal) data enter evaluations;
/// the others are kept in the store (they are facts about the instrument) but judged invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum DataFlag {
    /// N: instrument normal.
    #[default]
    N,
    /// F: instrument stopped.
    F,
    /// M: produced during maintenance.
    M,
    /// S: manually entered set value.
    S,
    /// D: instrument fault.
    D,
    /// C: calibration in progress.
    C,
    /// T: above the measuring range upper limit.
    T,
    /// B: instrument / data-logger communication abnormal.
    B,
}

impl DataFlag {
    /// Parse the one-letter flag (case-insensitive).
    pub fn parse(s: &str) -> Option<DataFlag> {
        Some(match s.trim().to_ascii_uppercase().as_str() {
            "N" | "" => DataFlag::N,
            "F" => DataFlag::F,
            "M" => DataFlag::M,
            "S" => DataFlag::S,
            "D" => DataFlag::D,
            "C" => DataFlag::C,
            "T" => DataFlag::T,
            "B" => DataFlag::B,
            _ => return None,
        })
    }

    /// Whether a value with this flag may enter statistics (GB 3095-2026 §6.4: invalid
    /// data must not; HJ 212 only vouches for `N`).
    pub fn is_valid(self) -> bool {
        matches!(self, DataFlag::N)
    }

    pub const ALL: [DataFlag; 8] = [
        DataFlag::N,
        DataFlag::F,
        DataFlag::M,
        DataFlag::S,
        DataFlag::D,
        DataFlag::C,
        DataFlag::T,
        DataFlag::B,
    ];

    /// The store's code (schema v2 `reading_values.flag`, low byte); never renumber.
    pub fn code(self) -> i64 {
        self as i64
    }

    pub fn from_code(code: i64) -> Option<DataFlag> {
        DataFlag::ALL.get(usize::try_from(code).ok()?).copied()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DataFlag::N => "N",
            DataFlag::F => "F",
            DataFlag::M => "M",
            DataFlag::S => "S",
            DataFlag::D => "D",
            DataFlag::C => "C",
            DataFlag::T => "T",
            DataFlag::B => "B",
        }
    }
}

impl fmt::Display for DataFlag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The averaging period of a reading: HJ 212-2017 Table 9 data commands (STANDARDS.md
/// §5.4). Hourly statistics (AQI, GB 3095, GB 3838 judgements) take [`Period::Hour`] only;
/// the others are kept and published for display (§2.3, §2.4).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    /// CN 2011: real-time value (`-Rtd`), time = sampling instant.
    RealTime,
    /// CN 2051: minute average, time = start of the interval.
    Minute,
    /// CN 2061: hour average, time = start of the hour.
    #[default]
    Hour,
    /// CN 2031: day average, time = local start of the day.
    Day,
}

impl Period {
    pub const ALL: [Period; 4] = [Period::RealTime, Period::Minute, Period::Hour, Period::Day];

    /// The period of an HJ 212 data command (`2011`, `2051`, `2061`, `2031`).
    pub fn from_hj212_cn(cn: &str) -> Option<Period> {
        Some(match cn {
            "2011" => Period::RealTime,
            "2051" => Period::Minute,
            "2061" => Period::Hour,
            "2031" => Period::Day,
            _ => return None,
        })
    }

    /// The HJ 212 command code that uploads data of this period.
    pub fn hj212_cn(self) -> &'static str {
        match self {
            Period::RealTime => "2011",
            Period::Minute => "2051",
            Period::Hour => "2061",
            Period::Day => "2031",
        }
    }

    /// Config and display name: `realtime`, `minute`, `hour`, `day`.
    pub fn as_str(self) -> &'static str {
        match self {
            Period::RealTime => "realtime",
            Period::Minute => "minute",
            Period::Hour => "hour",
            Period::Day => "day",
        }
    }

    /// Parses a config or feed value: the name (`hour`, `real-time`, ...; any case) or the
    /// HJ 212 command code (`2061`).
    pub fn parse(s: &str) -> Option<Period> {
        let s = s.trim();
        if let Some(p) = Period::from_hj212_cn(s) {
            return Some(p);
        }
        Some(
            match s.to_ascii_lowercase().replace(['-', '_', ' '], "").as_str() {
                "realtime" | "rtd" => Period::RealTime,
                "minute" | "min" => Period::Minute,
                "hour" | "hourly" => Period::Hour,
                "day" | "daily" => Period::Day,
                _ => return None,
            },
        )
    }

    /// The store's code (schema v2 `reading_values.period`); stable, never renumber.
    pub fn code(self) -> i64 {
        match self {
            Period::RealTime => 1,
            Period::Minute => 2,
            Period::Hour => 3,
            Period::Day => 4,
        }
    }

    pub fn from_code(code: i64) -> Option<Period> {
        Period::ALL.into_iter().find(|p| p.code() == code)
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One measured value: the unit of ingest, storage and judgement.
///
/// `time` is the START of the averaging period for minute, hour and day data (HJ 212 `DataTime`
/// convention); sources that receive end-labelled hours (CNEMC) shift them at decode time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    pub site: SiteId,
    pub parameter: Parameter,
    pub time: DateTime<Utc>,
    /// Averaging period (HJ 212 CN); part of the store key, so a day value never
    /// overwrites the hour that starts at the same instant.
    pub period: Period,
    /// Value in the parameter's canonical unit ([`Parameter::unit`]).
    pub value: f64,
    pub flag: DataFlag,
}

/// Where raw input came from, for dead letters and error messages:
/// `mqtt:stations/air/1223A`, `http:https://api.example/...?page=2`, `file:air.csv:118`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin(pub String);

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
