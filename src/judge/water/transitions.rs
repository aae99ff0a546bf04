//! Class transitions per section, for the alerting issue: "III -> 劣V at t, because
//! NH3-N = 2.31 mg/L (1.16× the class V limit)". Both a batch function over judged
//! periods and a streaming tracker that remembers each section's last class.

use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, Utc};

use super::period::Period;
use super::result::{Classes, ItemFinding, PeriodClass, SectionInfo};
use crate::model::SiteId;
use crate::standards::water::WaterClass;

/// A section's class changed (or was seen for the first time: `from = None`).
#[derive(Debug, Clone, PartialEq)]
pub struct ClassTransition {
    pub section: SiteId,
    pub section_name: String,
    /// Start of the period with the new class.
    pub at: DateTime<Utc>,
    pub period: Period,
    pub from: Option<WaterClass>,
    pub to: WaterClass,
    /// The items that set the new class, with exceedances.
    pub items: Vec<ItemFinding>,
    /// Whether the new class meets the section's target (`None` without a target).
    pub compliant: Option<bool>,
}

impl ClassTransition {
    /// Got worse (a first observation counts as worse when it misses the target).
    pub fn is_worse(&self) -> bool {
        match self.from {
            Some(from) => self.to > from,
            None => self.compliant == Some(false),
        }
    }
}

impl fmt::Display for ClassTransition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let from = self.from.map_or("-", WaterClass::label);
        write!(
            f,
            "{} {}: {} -> {} at {}",
            self.section,
            self.section_name,
            from,
            self.to,
            self.at.to_rfc3339()
        )?;
        if !self.items.is_empty() {
            let items: Vec<String> = self.items.iter().map(ItemFinding::describe).collect();
            write!(f, " because {}", items.join("; "))?;
        }
        Ok(())
    }
}

/// Remembers each section's last class; feed it periods in time order per section.
#[derive(Debug, Default, Clone)]
pub struct TransitionTracker {
    last: HashMap<SiteId, WaterClass>,
}

impl TransitionTracker {
    pub fn new() -> Self {
        Self::default()
    }

    /// The section's last known class.
    pub fn current(&self, section: &SiteId) -> Option<WaterClass> {
        self.last.get(section).copied()
    }

    /// Observes one judged period; returns a transition when the class differs from the
    /// last one seen (periods without a class change nothing).
    pub fn observe(
        &mut self,
        section: &SectionInfo,
        period: Period,
        row: &PeriodClass,
    ) -> Option<ClassTransition> {
        let to = row.class?;
        let from = self.last.insert(section.id.clone(), to);
        if from == Some(to) {
            return None;
        }
        Some(ClassTransition {
            section: section.id.clone(),
            section_name: section.name.clone(),
            at: row.start,
            period,
            from,
            to,
            items: row.items.clone(),
            compliant: section.target.map(|t| to <= t.0),
        })
    }
}

/// Every transition in judged periods (rows are sorted by section then time).
pub fn transitions(classes: &Classes) -> Vec<ClassTransition> {
    let mut tracker = TransitionTracker::new();
    classes
        .rows
        .iter()
        .filter_map(|row| tracker.observe(classes.section(row), classes.period, row))
        .collect()
}
