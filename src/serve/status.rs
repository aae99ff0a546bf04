//! What `/api/status` shows: where the district stands against its three targets
//! (good-air days >= 80 %, drinking-water sources 100 % compliant, no section at
//! inferior class V), when the judge last ran, and per-pipeline counters.
//!
//! The judge fills a [`StatusBoard`] after every pass ([`StatusBoard::set_air`],
//! [`StatusBoard::set_water`], [`StatusBoard::record_judge_run`]); the handler takes a
//! snapshot. Ratios and "meets target" are computed here, from counts, so every consumer
//! reads the same verdict.

use std::collections::BTreeMap;
use std::sync::RwLock;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::daemon::Targets;
use crate::metrics::{JudgeKind, PipelineCounters};

/// Tolerance for comparing a ratio of counts with a decimal target (292/365 vs 0.80).
const RATIO_EPS: f64 = 1e-9;

/// Good-air days over one period (month or year to date).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GoodDayRatio {
    /// `2026` or `2026-11`.
    pub period: String,
    /// Days with a valid daily AQI <= 100 (HJ 633 levels I and II).
    pub good_days: u32,
    /// Days with a valid daily AQI (HJ 663 validity).
    pub valid_days: u32,
    /// `good_days / valid_days`; `null` before the first valid day.
    pub ratio: Option<f64>,
    pub target: f64,
    /// `null` before the first valid day.
    pub meets_target: Option<bool>,
}

impl GoodDayRatio {
    pub fn new(period: impl Into<String>, good_days: u32, valid_days: u32, target: f64) -> Self {
        let ratio = (valid_days > 0).then(|| f64::from(good_days) / f64::from(valid_days));
        GoodDayRatio {
            period: period.into(),
            good_days,
            valid_days,
            ratio,
            target,
            meets_target: ratio.map(|r| r + RATIO_EPS >= target),
        }
    }
}

/// The air target for the configured city.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AirStatus {
    pub city: String,
    pub year_to_date: GoodDayRatio,
    pub month_to_date: GoodDayRatio,
}

/// Drinking-water sources meeting their target class, over the latest judged period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DrinkingSources {
    pub compliant: u32,
    pub total: u32,
    pub ratio: Option<f64>,
    pub target: f64,
    pub meets_target: Option<bool>,
    /// Ids of the sources that miss their target.
    pub non_compliant: Vec<String>,
}

/// Sections at inferior class V (劣Ⅴ类).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InferiorV {
    pub count: u32,
    pub max_allowed: u32,
    pub meets_target: bool,
    pub sections: Vec<String>,
}

/// The water targets for the district.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WaterStatus {
    /// The judged period, e.g. `2026-11` or `2026-11-25`.
    pub period: String,
    pub drinking_sources: DrinkingSources,
    pub inferior_v: InferiorV,
}

/// One finished judge pass.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JudgeRun {
    pub kind: &'static str,
    pub finished_at: DateTime<Utc>,
    pub duration_ms: u64,
    pub ok: bool,
    /// Why the pass failed (it keeps the previous results).
    pub error: Option<String>,
}

/// The targets as configured, echoed so a dashboard needs no second source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetsView {
    pub good_day_ratio: f64,
    pub drinking_source_compliance: f64,
    pub max_inferior_v_sections: u32,
}

/// The whole `/api/status` document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusReport {
    pub version: &'static str,
    pub district: String,
    pub targets: TargetsView,
    /// `null` until the first air judgement.
    pub air: Option<AirStatus>,
    /// `null` until the first water judgement.
    pub water: Option<WaterStatus>,
    pub last_judge_run: Option<JudgeRun>,
    pub pipelines: BTreeMap<String, PipelineCounters>,
}

#[derive(Debug, Default)]
struct Board {
    air: Option<AirStatus>,
    water: Option<WaterStatus>,
    last_judge_run: Option<JudgeRun>,
}

/// Shared between the judge (writer) and the HTTP server (reader), as `Arc<StatusBoard>`.
#[derive(Debug)]
pub struct StatusBoard {
    district: String,
    city: String,
    targets: Targets,
    board: RwLock<Board>,
}

impl StatusBoard {
    /// `targets`, `city` and `district` come from `config.daemon` (`[targets]`, `[general]`).
    pub fn new(targets: Targets, city: impl Into<String>, district: impl Into<String>) -> Self {
        StatusBoard {
            district: district.into(),
            city: city.into(),
            targets,
            board: RwLock::new(Board::default()),
        }
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Board> {
        match self.board.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Publishes the city's good-day counts: year to date (`year`, e.g. "2026") and month
    /// to date (`month`, e.g. "2026-11").
    pub fn set_air(
        &self,
        year: &str,
        year_good_valid: (u32, u32),
        month: &str,
        month_good_valid: (u32, u32),
    ) {
        let t = self.targets.good_day_ratio;
        let air = AirStatus {
            city: self.city.clone(),
            year_to_date: GoodDayRatio::new(year, year_good_valid.0, year_good_valid.1, t),
            month_to_date: GoodDayRatio::new(month, month_good_valid.0, month_good_valid.1, t),
        };
        self.write().air = Some(air);
    }

    /// Publishes water compliance for `period`: the drinking sources that miss their
    /// target (by id) out of `drinking_total`, and the sections at inferior class V.
    pub fn set_water(
        &self,
        period: &str,
        drinking_total: u32,
        drinking_non_compliant: Vec<String>,
        inferior_v_sections: Vec<String>,
    ) {
        let bad = u32::try_from(drinking_non_compliant.len()).unwrap_or(u32::MAX);
        let compliant = drinking_total.saturating_sub(bad);
        let ratio = (drinking_total > 0).then(|| f64::from(compliant) / f64::from(drinking_total));
        let target = self.targets.drinking_source_compliance;
        let count = u32::try_from(inferior_v_sections.len()).unwrap_or(u32::MAX);
        let max_allowed = self.targets.max_inferior_v_sections;
        let water = WaterStatus {
            period: period.to_string(),
            drinking_sources: DrinkingSources {
                compliant,
                total: drinking_total,
                ratio,
                target,
                meets_target: ratio.map(|r| r + RATIO_EPS >= target),
                non_compliant: drinking_non_compliant,
            },
            inferior_v: InferiorV {
                count,
                max_allowed,
                meets_target: count <= max_allowed,
                sections: inferior_v_sections,
            },
        };
        self.write().water = Some(water);
    }

    /// Records a finished judge pass (successful or not).
    pub fn record_judge_run(
        &self,
        kind: JudgeKind,
        finished_at: DateTime<Utc>,
        duration: std::time::Duration,
        error: Option<String>,
    ) {
        self.write().last_judge_run = Some(JudgeRun {
            kind: kind.as_str(),
            finished_at,
            duration_ms: u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
            ok: error.is_none(),
            error,
        });
    }

    /// The document for `/api/status`, with `pipelines` from the metrics.
    pub fn report(&self, pipelines: BTreeMap<String, PipelineCounters>) -> StatusReport {
        let board = match self.board.read() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        StatusReport {
            version: env!("CARGO_PKG_VERSION"),
            district: self.district.clone(),
            targets: TargetsView {
                good_day_ratio: self.targets.good_day_ratio,
                drinking_source_compliance: self.targets.drinking_source_compliance,
                max_inferior_v_sections: self.targets.max_inferior_v_sections,
            },
            air: board.air.clone(),
            water: board.water.clone(),
            last_judge_run: board.last_judge_run.clone(),
            pipelines,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_day_ratio_meets_the_target_exactly_at_eighty_percent() {
        // 292 of 365 days is exactly 80 %: the target is met (">= 80 %").
        let r = GoodDayRatio::new("2025", 292, 365, 0.80);
        assert_eq!(r.meets_target, Some(true));
        let r = GoodDayRatio::new("2025", 291, 365, 0.80);
        assert_eq!(r.meets_target, Some(false));
        let none = GoodDayRatio::new("2026-01", 0, 0, 0.80);
        assert_eq!((none.ratio, none.meets_target), (None, None));
    }

    #[test]
    fn water_targets_need_every_drinking_source_and_no_inferior_v() {
        let b = StatusBoard::new(Targets::default(), "杭州", "余杭区");
        b.set_water("2026-11", 4, vec![], vec![]);
        let w = b.report(BTreeMap::new()).water.unwrap();
        assert_eq!(w.drinking_sources.meets_target, Some(true));
        assert!(w.inferior_v.meets_target);

        b.set_water("2026-11", 4, vec!["W03".into()], vec!["S12".into()]);
        let w = b.report(BTreeMap::new()).water.unwrap();
        assert_eq!(w.drinking_sources.compliant, 3);
        assert_eq!(w.drinking_sources.ratio, Some(0.75));
        assert_eq!(w.drinking_sources.meets_target, Some(false));
        assert_eq!(w.inferior_v.count, 1);
        assert!(!w.inferior_v.meets_target);
    }
}
