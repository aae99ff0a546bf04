//! Water judgement (GB 3838-2002 with the national evaluation method 环办〔2011〕22号):
//! class per section and period — per reading, per local day, per local month — from the
//! period's MEAN concentrations by the single-factor method, the items that set the
//! class, exceedance multiples, compliance with the section's target, drinking-source
//! compliance, district ratios, and the stream of class transitions the alerts consume.
//!
//! Shape: readings become one long polars frame ([`WaterInput`]); [`classify`] groups it
//! once per reading time (sums and counts per item), then rolls those up to days and
//! months, so the month mean is the mean of all the month's readings (not a mean of daily
//! means). The per-row rule (which items, which limits, the boundary rule) is the single
//! implementation in [`crate::standards::water`]; this module only aggregates.
//!
//! ```no_run
//! # use envwatch::judge::water::*;
//! # fn demo(input: &WaterInput) -> Result<(), JudgeError> {
//! let opts = JudgeOptions::default();
//! let [per_reading, per_day] = classify(input, [Period::Reading, Period::Day], &opts)?;
//! for t in transitions(&per_reading) {
//!     println!("{t}"); // YH-04 余杭塘河仓前: III -> 劣V at … because NH3-N = 2.31 mg/L (1.16× the class V limit)
//! }
//! # let _ = per_day; Ok(()) }
//! ```

mod aggregate;
mod compliance;
mod frame;
pub mod input;
mod period;
mod result;
mod transitions;

pub use aggregate::classify;
pub use compliance::{DistrictStatus, district_status};
pub use frame::{InputSkips, WaterInput};
pub use period::Period;
pub use result::{Classes, ItemFinding, JudgeOptions, PeriodClass, SectionInfo};
pub use transitions::{ClassTransition, TransitionTracker, transitions};

/// What can go wrong inside the judge (bad input is filtered before it gets here).
#[derive(Debug, thiserror::Error)]
pub enum JudgeError {
    #[error("polars: {0}")]
    Polars(#[from] polars::prelude::PolarsError),
    #[error("input columns have different lengths ({0})")]
    ColumnLengths(String),
    #[error("section index {0} is out of range ({1} sections)")]
    SectionIndex(u32, usize),
    #[error("period boundaries for {0} could not be computed in time zone {1}")]
    Calendar(String, String),
    #[error("internal error in the water judge: {0}")]
    Internal(&'static str),
}
