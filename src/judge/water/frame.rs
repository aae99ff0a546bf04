//! The judge's input: valid water readings as one long polars frame.

use std::sync::Arc;

use polars::prelude::*;

use super::JudgeError;
use super::result::SectionInfo;
use crate::model::Reading;
use crate::standards::parameter::Parameter;
use crate::standards::water::{WaterBody, rule};

/// Items with GB 3838 Table 1 limits, i.e. the only ones the judge aggregates. The index
/// in this list is the `item` code in the frame. (Water temperature, conductivity,
/// turbidity and chlorophyll-a have no class limits and are not aggregated.)
pub(super) const ITEMS: [Parameter; 23] = [
    Parameter::Ph,
    Parameter::Do,
    Parameter::CodMn,
    Parameter::Cod,
    Parameter::Bod5,
    Parameter::Nh3N,
    Parameter::Tp,
    Parameter::Tn,
    Parameter::Cu,
    Parameter::Zn,
    Parameter::Fluoride,
    Parameter::Se,
    Parameter::As,
    Parameter::Hg,
    Parameter::Cd,
    Parameter::Cr6,
    Parameter::Pb,
    Parameter::Cyanide,
    Parameter::VolatilePhenol,
    Parameter::Petroleum,
    Parameter::Las,
    Parameter::Sulfide,
    Parameter::FecalColiform,
];

/// Item code of pH: its mean is taken over H⁺, not over pH values.
pub(super) const PH_CODE: u8 = 0;

/// Item code of a parameter, `None` when the judge does not aggregate it.
pub(super) fn item_code(p: Parameter) -> Option<u8> {
    // TP's and TN's rules depend on the water body; any body that gives a rule counts.
    let has_rule = rule(p, WaterBody::River).is_some() || rule(p, WaterBody::Lake).is_some();
    if !has_rule {
        return None;
    }
    ITEMS
        .iter()
        .position(|q| *q == p)
        .and_then(|i| u8::try_from(i).ok())
}

/// What was left out while building the input (not errors: the judge only takes valid
/// readings of classable items at known sections).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InputSkips {
    /// Readings whose HJ 212 flag is not `N` (GB 3095 / HJ 212: invalid data never enter
    /// statistics).
    pub invalid_flag: usize,
    /// Readings of parameters without class limits (water temperature, conductivity, …).
    pub not_classable: usize,
    /// Readings of sites that are not in the section list.
    pub unknown_section: usize,
}

/// Long frame `section: u32, time: i64 (UTC ms), item: u32, value: f64` plus the sections
/// it indexes.
#[derive(Debug, Clone)]
pub struct WaterInput {
    pub(super) sections: Arc<[SectionInfo]>,
    pub(super) df: DataFrame,
}

impl WaterInput {
    /// From readings; keeps valid readings of classable items at known sections.
    pub fn from_readings<'a>(
        sections: Vec<SectionInfo>,
        readings: impl IntoIterator<Item = &'a Reading>,
    ) -> Result<(WaterInput, InputSkips), JudgeError> {
        let index: std::collections::HashMap<&str, u32> = sections
            .iter()
            .enumerate()
            .filter_map(|(i, s)| Some((s.id.as_str(), u32::try_from(i).ok()?)))
            .collect();
        let mut skips = InputSkips::default();
        let (mut sec, mut time, mut param, mut value) = (vec![], vec![], vec![], vec![]);
        for r in readings {
            let Some(&s) = index.get(r.site.as_str()) else {
                skips.unknown_section += 1;
                continue;
            };
            if !r.flag.is_valid() {
                skips.invalid_flag += 1;
                continue;
            }
            sec.push(s);
            time.push(r.time.timestamp_millis());
            param.push(r.parameter);
            value.push(r.value);
        }
        let input = Self::from_columns(sections, sec, time, &param, value)?;
        skips.not_classable = param.iter().filter(|p| item_code(**p).is_none()).count();
        Ok((input, skips))
    }

    /// From columns (all valid readings): `section[i]` indexes `sections`, `time_ms[i]` is
    /// UTC milliseconds. Parameters without class limits are dropped here.
    pub fn from_columns(
        sections: Vec<SectionInfo>,
        section: Vec<u32>,
        time_ms: Vec<i64>,
        parameter: &[Parameter],
        value: Vec<f64>,
    ) -> Result<WaterInput, JudgeError> {
        let n = section.len();
        if time_ms.len() != n || parameter.len() != n || value.len() != n {
            return Err(JudgeError::ColumnLengths(format!(
                "section {n}, time {}, parameter {}, value {}",
                time_ms.len(),
                parameter.len(),
                value.len()
            )));
        }
        if let Some(&bad) = section.iter().find(|&&s| s as usize >= sections.len()) {
            return Err(JudgeError::SectionIndex(bad, sections.len()));
        }
        // Keep classable items only, compacting the columns in place (no second copy of
        // a year of readings).
        let (mut section, mut time_ms, mut value) = (section, time_ms, value);
        let mut codes: Vec<u32> = Vec::with_capacity(n);
        // Item codes by the parameter's discriminant, looked up once per parameter.
        let table: Vec<Option<u8>> = Parameter::ALL.iter().map(|p| item_code(*p)).collect();
        let mut kept = 0;
        for i in 0..n {
            if let Some(code) = table.get(parameter[i] as usize).copied().flatten() {
                section[kept] = section[i];
                time_ms[kept] = time_ms[i];
                value[kept] = value[i];
                codes.push(u32::from(code));
                kept += 1;
            }
        }
        section.truncate(kept);
        time_ms.truncate(kept);
        value.truncate(kept);
        let df = DataFrame::new(
            kept,
            vec![
                UInt32Chunked::from_vec("section".into(), section).into_column(),
                Int64Chunked::from_vec("time".into(), time_ms).into_column(),
                UInt32Chunked::from_vec("item".into(), codes).into_column(),
                Float64Chunked::from_vec("value".into(), value).into_column(),
            ],
        )?;
        Ok(WaterInput {
            sections: sections.into(),
            df,
        })
    }

    /// Number of readings the judge will aggregate.
    pub fn len(&self) -> usize {
        self.df.height()
    }

    pub fn is_empty(&self) -> bool {
        self.df.height() == 0
    }

    pub fn sections(&self) -> &[SectionInfo] {
        &self.sections
    }
}
