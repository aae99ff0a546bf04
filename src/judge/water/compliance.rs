//! District ratios against the bureau's targets: share of compliant sections, share of
//! compliant drinking-water sources (target 100 %), count of 劣Ⅴ sections (target 0).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::result::Classes;
use crate::config::daemon::Targets;
use crate::standards::water::WaterClass;

/// One district's standing in one period (day or month; for `Period::Reading` the
/// reading times of different sections rarely coincide, so use days or months).
#[derive(Debug, Clone, PartialEq)]
pub struct DistrictStatus {
    /// District name; sections without one are grouped under `""`.
    pub district: String,
    pub start: DateTime<Utc>,
    /// Sections with a class in the period and a target.
    pub sections: u32,
    pub compliant_sections: u32,
    /// `compliant / sections`; `None` when no section was judged.
    pub section_ratio: Option<f64>,
    pub drinking_sources: u32,
    pub compliant_drinking_sources: u32,
    pub drinking_ratio: Option<f64>,
    /// Target share of compliant drinking sources (config `targets`, 1.0).
    pub drinking_target: f64,
    pub inferior_v_sections: u32,
    /// Allowed 劣Ⅴ sections (config `targets`, 0).
    pub max_inferior_v: u32,
}

impl DistrictStatus {
    /// Whether both district targets are met (no data on drinking sources counts as met).
    pub fn targets_met(&self) -> bool {
        self.drinking_ratio
            .is_none_or(|r| r >= self.drinking_target)
            && self.inferior_v_sections <= self.max_inferior_v
    }
}

/// Per district and period start, sorted by district then start.
pub fn district_status(classes: &Classes, targets: &Targets) -> Vec<DistrictStatus> {
    let mut acc: BTreeMap<(String, DateTime<Utc>), DistrictStatus> = BTreeMap::new();
    for row in &classes.rows {
        let Some(class) = row.class else { continue };
        let s = classes.section(row);
        let district = s.district.clone().unwrap_or_default();
        let st = acc
            .entry((district.clone(), row.start))
            .or_insert_with(|| DistrictStatus {
                district,
                start: row.start,
                sections: 0,
                compliant_sections: 0,
                section_ratio: None,
                drinking_sources: 0,
                compliant_drinking_sources: 0,
                drinking_ratio: None,
                drinking_target: targets.drinking_source_compliance,
                inferior_v_sections: 0,
                max_inferior_v: targets.max_inferior_v_sections,
            });
        if let Some(ok) = classes.compliant(row) {
            st.sections += 1;
            st.compliant_sections += u32::from(ok);
        }
        if let Some(ok) = classes.drinking_compliant(row) {
            st.drinking_sources += 1;
            st.compliant_drinking_sources += u32::from(ok);
        }
        st.inferior_v_sections += u32::from(class == WaterClass::InferiorV);
    }
    acc.into_values()
        .map(|mut st| {
            st.section_ratio = (st.sections > 0)
                .then(|| f64::from(st.compliant_sections) / f64::from(st.sections));
            st.drinking_ratio = (st.drinking_sources > 0)
                .then(|| f64::from(st.compliant_drinking_sources) / f64::from(st.drinking_sources));
            st
        })
        .collect()
}
