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

/// One measured value: the unit of ingest, storage and judgement.
///
/// `time` is the START of the averaging period for hourly data (HJ 212 `DataTime`
/// convention); sources that receive end-labelled hours (CNEMC) shift them at decode time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    pub site: SiteId,
    pub parameter: Parameter,
    pub time: DateTime<Utc>,
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
