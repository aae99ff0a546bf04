//! HJ 633 AQI rules. (Tables and computation: issue #4.)

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Which edition of HJ 633 judges a day. Chosen by the DATE OF THE DATA: HJ 633-2026 is
/// in force from 2026-03-01 (STANDARDS.md section 0), never by the date of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Edition {
    #[serde(rename = "2012")]
    Hj633_2012,
    #[serde(rename = "2026")]
    Hj633_2026,
}

impl Edition {
    /// First day judged by HJ 633-2026.
    pub fn switch_date() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, 1).unwrap_or_default()
    }

    /// The edition in force on a (local) day.
    pub fn for_date(day: NaiveDate) -> Edition {
        if day >= Edition::switch_date() {
            Edition::Hj633_2026
        } else {
            Edition::Hj633_2012
        }
    }
}

/// `auto` (by the data's date) or a fixed edition (`--edition 2012|2026`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EditionChoice {
    #[default]
    Auto,
    #[serde(rename = "2012")]
    Y2012,
    #[serde(rename = "2026")]
    Y2026,
}

impl EditionChoice {
    pub fn resolve(self, day: NaiveDate) -> Edition {
        match self {
            EditionChoice::Auto => Edition::for_date(day),
            EditionChoice::Y2012 => Edition::Hj633_2012,
            EditionChoice::Y2026 => Edition::Hj633_2026,
        }
    }
}
