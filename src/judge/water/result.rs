//! The judge's inputs about sections and its per-period results.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::period::Period;
use crate::config::Section;
use crate::model::SiteId;
use crate::standards::parameter::Parameter;
use crate::standards::water::{Conc, Exceedance, TargetClass, WaterBody, WaterClass, exceedance};

/// What the judge needs to know about a section. Kept apart from the config type so
/// tests and benchmarks can build sections without a sections.toml.
#[derive(Debug, Clone, PartialEq)]
pub struct SectionInfo {
    pub id: SiteId,
    pub name: String,
    /// Decides the TP limits and whether TN is judged (separately).
    pub waterbody: WaterBody,
    /// Target class (水质目标); `None` = no target configured.
    pub target: Option<TargetClass>,
    /// Centralised drinking-water source: judged against its target, class III when it
    /// has none (STANDARDS.md 4: Table 1 items against class III).
    pub drinking_source: bool,
    pub district: Option<String>,
}

impl SectionInfo {
    /// The class a drinking source must meet: its configured target, else III.
    pub fn drinking_target(&self) -> WaterClass {
        self.target.map_or(WaterClass::III, |t| t.0)
    }
}

impl From<&Section> for SectionInfo {
    fn from(s: &Section) -> Self {
        SectionInfo {
            id: s.id.clone(),
            name: s.name.clone(),
            waterbody: s.waterbody,
            target: Some(s.target),
            drinking_source: s.drinking_source,
            district: s.district.clone(),
        }
    }
}

/// Knobs of the judgement.
#[derive(Debug, Clone)]
pub struct JudgeOptions {
    /// Class the values rounded per the 2020 statistics rule (formal evaluations) instead
    /// of the raw values (real-time practice, default). Config `water.round_before_classing`.
    pub round_before_classing: bool,
    /// Zone of the calendar days and months (Asia/Shanghai by default, never UTC by accident).
    pub tz: Tz,
}

impl Default for JudgeOptions {
    fn default() -> Self {
        JudgeOptions {
            round_before_classing: false,
            tz: chrono_tz::Asia::Shanghai,
        }
    }
}

/// One item's judged value in one period.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemFinding {
    pub parameter: Parameter,
    /// Period mean (pH via mean H⁺), rounded when `round_before_classing`.
    pub value: Conc,
    pub class: WaterClass,
    /// The section's water body (TP and TN limits differ by it) and target class: the
    /// exceedances are computed from them on demand, which keeps a year of per-reading
    /// findings small (16 bytes each instead of 112 with three stored exceedances).
    pub waterbody: WaterBody,
    pub target: Option<WaterClass>,
}

impl ItemFinding {
    /// Exceedance over the class III limit (national method); `None` when not exceeded
    /// or not defined (pH, DO).
    pub fn vs_iii(&self) -> Option<Exceedance> {
        exceedance(self.parameter, self.waterbody, self.value, WaterClass::III)
    }

    /// Exceedance over the section's target-class limit (provincial practice).
    pub fn vs_target(&self) -> Option<Exceedance> {
        self.target
            .and_then(|t| exceedance(self.parameter, self.waterbody, self.value, t))
    }

    /// Exceedance over the class V limit: how far into 劣Ⅴ.
    pub fn vs_v(&self) -> Option<Exceedance> {
        exceedance(self.parameter, self.waterbody, self.value, WaterClass::V)
    }

    /// Human wording for messages and alerts, e.g. `NH3-N = 2.31 mg/L (1.16× the class V
    /// limit)`, `pH = 9.34 (outside 6–9)`, `DO = 1.5 mg/L (below the class V minimum 2)`.
    pub fn describe(&self) -> String {
        let unit = self.parameter.unit();
        // Period means are exact to 1e-9 (2.643333333); show two decimals more than the
        // item's evaluation precision (CODMn 2.643, NH3-N 0.2178): enough to see why a
        // value is over a limit, without the noise.
        let shown = crate::standards::water::decimal_places(self.parameter)
            .map_or(self.value, |p| self.value.round_half_even(p + 2));
        let value = if unit.is_empty() {
            format!("{} = {shown}", self.parameter)
        } else {
            format!("{} = {shown} {unit}", self.parameter)
        };
        let detail = match (self.parameter, self.class) {
            (Parameter::Ph, WaterClass::InferiorV) => Some("outside 6–9".to_string()),
            (Parameter::Do, WaterClass::InferiorV) => {
                Some("below the class V minimum 2 mg/L".to_string())
            }
            _ => self
                .vs_v()
                .or_else(|| self.vs_target())
                .or_else(|| self.vs_iii())
                .map(|e| format!("{}× the class {} limit", e.ratio_decimal(2), e.reference)),
        };
        match detail {
            Some(d) => format!("{value} ({d}, class {})", self.class),
            None => format!("{value} (class {})", self.class),
        }
    }
}

impl fmt::Display for ItemFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

/// The class of one section in one period.
#[derive(Debug, Clone, PartialEq)]
pub struct PeriodClass {
    /// Index into [`Classes::sections`].
    pub section: u32,
    /// Start of the period: the reading time, or local midnight of the day / first of the
    /// month in the judge's time zone.
    pub start: DateTime<Utc>,
    /// Single-factor class; `None` when no classed item was measured in the period.
    pub class: Option<WaterClass>,
    /// The classed items at the worst class: the items that set the class.
    pub items: Vec<ItemFinding>,
    /// Items judged separately (TN on lakes/reservoirs), never part of `class`.
    pub separate: Vec<ItemFinding>,
    /// Valid readings that entered this period's means.
    pub readings: u32,
}

/// Classes of every section for one kind of period, sorted by section then start.
#[derive(Debug, Clone)]
pub struct Classes {
    pub period: Period,
    pub tz: Tz,
    pub sections: Arc<[SectionInfo]>,
    pub rows: Vec<PeriodClass>,
}

impl Classes {
    pub fn section(&self, row: &PeriodClass) -> &SectionInfo {
        &self.sections[row.section as usize]
    }

    /// `class <= target`; `None` without a class or a target.
    pub fn compliant(&self, row: &PeriodClass) -> Option<bool> {
        let target = self.section(row).target?;
        Some(row.class? <= target.0)
    }

    /// For a drinking source: `class <= drinking target`; `None` for other sections or
    /// without a class.
    pub fn drinking_compliant(&self, row: &PeriodClass) -> Option<bool> {
        let s = self.section(row);
        if !s.drinking_source {
            return None;
        }
        Some(row.class? <= s.drinking_target())
    }

    /// Label of a row's period in the judge's time zone.
    pub fn period_label(&self, row: &PeriodClass) -> String {
        self.period.label(row.start, self.tz)
    }
}
