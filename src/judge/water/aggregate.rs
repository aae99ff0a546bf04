//! Period means with polars, then the single-factor class of every (section, period).
//!
//! One pass groups the long frame by (section, reading time) into per-item SUMS and
//! COUNTS (a long→wide pivot); days are rolled up from those, months from days. Sums and
//! counts, not means, travel between the stages, so every period mean is the mean of the
//! period's raw readings. pH is summed as H⁺ = 10^−pH (STANDARDS.md 3.6).

use std::sync::Arc;

use polars::prelude::*;
use rayon::prelude::*;

use super::JudgeError;
use super::frame::{ITEMS, PH_CODE, WaterInput};
use super::period::{Period, period_starts};
use super::result::{Classes, ItemFinding, JudgeOptions, PeriodClass, SectionInfo};
use crate::judge::timing;
use crate::standards::parameter::Parameter;
use crate::standards::water::{Conc, ItemRole, WaterClass, evaluation_value, item_class, role};

fn sum_name(code: u32) -> String {
    format!("s{code}")
}

fn count_name(code: u32) -> String {
    format!("n{code}")
}

/// Classes of every section for each requested period, in the order asked.
pub fn classify<const N: usize>(
    input: &WaterInput,
    periods: [Period; N],
    opts: &JudgeOptions,
) -> Result<[Classes; N], JudgeError> {
    let t = std::time::Instant::now();
    let codes = present_codes(&input.df)?;
    let per_reading = reading_sums(&input.df, &codes)?;
    timing("water: per-reading sums", t);
    let need_day = periods.iter().any(|p| *p != Period::Reading);
    let per_day = if need_day {
        Some(roll_up(&per_reading, "time", Period::Day, &codes, opts)?)
    } else {
        None
    };
    timing("water: day roll-up", t);
    let per_month = match (&per_day, periods.contains(&Period::Month)) {
        (Some(day), true) => Some(roll_up(day, "start", Period::Month, &codes, opts)?),
        _ => None,
    };
    timing("water: month roll-up", t);
    let mut out = Vec::with_capacity(N);
    for p in periods {
        let (df, time_col) = match (p, &per_day, &per_month) {
            (Period::Reading, _, _) => (&per_reading, "time"),
            (Period::Day, Some(d), _) => (d, "start"),
            (Period::Month, _, Some(m)) => (m, "start"),
            _ => return Err(JudgeError::Internal("period frame not built")),
        };
        out.push(classes_of(df, time_col, p, &codes, &input.sections, opts)?);
        timing(&format!("water: classes per {}", p.name()), t);
    }
    out.try_into()
        .map_err(|_| JudgeError::Internal("period count"))
}

/// The item codes that occur in the input (so the pivot has no empty columns).
fn present_codes(df: &DataFrame) -> Result<Vec<u32>, JudgeError> {
    let mut seen = [false; ITEMS.len()];
    for code in df.column("item")?.u32()?.into_no_null_iter() {
        if let Some(s) = seen.get_mut(code as usize) {
            *s = true;
        }
    }
    Ok((0..ITEMS.len() as u32)
        .filter(|c| seen[*c as usize])
        .collect())
}

/// Long readings → one row per (section, time) with `s{code}`/`n{code}` per item.
///
/// The long→wide step is a sort (polars, skipped when the rows already come in
/// (section, time) order, as the store returns them) and one linear scan that starts a
/// wide row at each new (section, time). A polars group-by with one conditional sum per
/// item evaluated every condition per group and was 10× slower on a year of data.
fn reading_sums(df: &DataFrame, codes: &[u32]) -> Result<DataFrame, JudgeError> {
    let mut df = if sorted_by_section_time(df)? {
        df.clone()
    } else {
        sort_by_section_time(df)?
    };
    df.rechunk_mut_par();
    let section = df.column("section")?.u32()?.cont_slice()?;
    let time = df.column("time")?.i64()?.cont_slice()?;
    let item = df.column("item")?.u32()?.cont_slice()?;
    let value = df.column("value")?.f64()?.cont_slice()?;

    let mut slot = [usize::MAX; ITEMS.len()];
    for (k, &c) in codes.iter().enumerate() {
        slot[c as usize] = k;
    }
    let rows_hint = section.len() / codes.len().max(1);
    let mut out_section: Vec<u32> = Vec::with_capacity(rows_hint);
    let mut out_time: Vec<i64> = Vec::with_capacity(rows_hint);
    let mut sums: Vec<Vec<f64>> = vec![Vec::with_capacity(rows_hint); codes.len()];
    let mut counts: Vec<Vec<f64>> = vec![Vec::with_capacity(rows_hint); codes.len()];
    for i in 0..section.len() {
        let (s, t) = (section[i], time[i]);
        if out_section.last() != Some(&s) || out_time.last() != Some(&t) {
            out_section.push(s);
            out_time.push(t);
            for v in sums.iter_mut().chain(counts.iter_mut()) {
                v.push(0.0);
            }
        }
        let Some(&k) = slot.get(item[i] as usize) else {
            continue;
        };
        if k == usize::MAX {
            continue;
        }
        // pH is averaged as H⁺ (STANDARDS.md 3.6).
        let x = if item[i] == u32::from(PH_CODE) {
            (value[i] * -std::f64::consts::LN_10).exp()
        } else {
            value[i]
        };
        if let (Some(sum), Some(n)) = (sums[k].last_mut(), counts[k].last_mut()) {
            *sum += x;
            *n += 1.0;
        }
    }
    let height = out_section.len();
    let mut columns = vec![
        UInt32Chunked::from_vec("section".into(), out_section).into_column(),
        Int64Chunked::from_vec("time".into(), out_time).into_column(),
    ];
    for ((&c, s), n) in codes.iter().zip(sums).zip(counts) {
        columns.push(Float64Chunked::from_vec(sum_name(c).into(), s).into_column());
        columns.push(Float64Chunked::from_vec(count_name(c).into(), n).into_column());
    }
    Ok(DataFrame::new(height, columns)?)
}

/// Whether the rows are already in (section, time) order.
fn sorted_by_section_time(df: &DataFrame) -> Result<bool, JudgeError> {
    let section = df.column("section")?.u32()?;
    let time = df.column("time")?.i64()?;
    let mut prev: Option<(u32, i64)> = None;
    for (s, t) in section.into_no_null_iter().zip(time.into_no_null_iter()) {
        if prev.is_some_and(|p| p > (s, t)) {
            return Ok(false);
        }
        prev = Some((s, t));
    }
    Ok(true)
}

/// Sorts by (section, time): on one integer key `section × span + (time − t_min)` when
/// it fits in an i64 (much faster than a two-column sort), else on both columns.
fn sort_by_section_time(df: &DataFrame) -> Result<DataFrame, JudgeError> {
    let times = df.column("time")?.i64()?;
    let (t_min, t_max) = (times.min().unwrap_or(0), times.max().unwrap_or(0));
    let sections = df
        .column("section")?
        .u32()?
        .max()
        .map_or(0, |m| i128::from(m) + 1);
    let span = i128::from(t_max) - i128::from(t_min) + 1;
    let opts = SortMultipleOptions::default().with_multithreaded(true);
    let lf = df.clone().lazy();
    let sorted = match i64::try_from(span) {
        Ok(span) if sections * i128::from(span) < i128::from(i64::MAX) => lf
            .sort_by_exprs(
                [col("section").cast(DataType::Int64) * lit(span) + (col("time") - lit(t_min))],
                opts,
            )
            .collect()?,
        _ => lf.sort(["section", "time"], opts).collect()?,
    };
    Ok(sorted)
}

/// Sums per (section, finer period) → sums per (section, local day or month).
fn roll_up(
    df: &DataFrame,
    time_col: &str,
    to: Period,
    codes: &[u32],
    opts: &JudgeOptions,
) -> Result<DataFrame, JudgeError> {
    let times = df.column(time_col)?.i64()?.rechunk();
    let starts = period_starts(times.cont_slice()?, to, opts.tz)?;
    let mut aggs = Vec::with_capacity(codes.len() * 2);
    for &c in codes {
        aggs.push(col(sum_name(c)).sum());
        aggs.push(col(count_name(c)).sum());
    }
    let mut df = df.select(
        std::iter::once("section".to_string())
            .chain(codes.iter().flat_map(|c| [sum_name(*c), count_name(*c)])),
    )?;
    df.with_column(Int64Chunked::from_vec("start".into(), starts).into_column())?;
    Ok(df
        .lazy()
        .group_by([col("section"), col("start")])
        .agg(aggs)
        .sort(["section", "start"], SortMultipleOptions::default())
        .collect()?)
}

/// One item's sums and counts, as contiguous slices.
struct ItemColumns<'a> {
    parameter: Parameter,
    code: u32,
    sums: &'a [f64],
    counts: &'a [f64],
}

fn classes_of(
    df: &DataFrame,
    time_col: &str,
    period: Period,
    codes: &[u32],
    sections: &Arc<[SectionInfo]>,
    opts: &JudgeOptions,
) -> Result<Classes, JudgeError> {
    let mut df = df.clone();
    df.rechunk_mut_par();
    let section = df.column("section")?.u32()?.cont_slice()?;
    let start = df.column(time_col)?.i64()?.cont_slice()?;
    let mut items = Vec::with_capacity(codes.len());
    for &c in codes {
        items.push(ItemColumns {
            parameter: ITEMS[c as usize],
            code: c,
            sums: df.column(&sum_name(c))?.f64()?.cont_slice()?,
            counts: df.column(&count_name(c))?.f64()?.cont_slice()?,
        });
    }
    // Rows are independent: classify them on all cores, straight into the result.
    let rows: Vec<PeriodClass> = (0..section.len())
        .into_par_iter()
        .map(|i| classify_row(i, section[i], start[i], &items, sections, opts))
        .collect();
    Ok(Classes {
        period,
        tz: opts.tz,
        sections: sections.clone(),
        rows,
    })
}

fn finding(
    parameter: Parameter,
    value: Conc,
    class: WaterClass,
    section: &SectionInfo,
) -> ItemFinding {
    ItemFinding {
        parameter,
        value,
        class,
        waterbody: section.waterbody,
        target: section.target.map(|t| t.0),
    }
}

fn classify_row(
    i: usize,
    section_idx: u32,
    start_ms: i64,
    items: &[ItemColumns],
    sections: &[SectionInfo],
    opts: &JudgeOptions,
) -> PeriodClass {
    let section = &sections[section_idx as usize];
    let body = section.waterbody;
    let mut readings = 0.0;
    let mut worst: Option<WaterClass> = None;
    // (parameter, value, class) of the classed items; at most ITEMS.len().
    let mut classed: [(Parameter, Conc, WaterClass); ITEMS.len()] =
        [(Parameter::Ph, Conc::from_nanos(0), WaterClass::I); ITEMS.len()];
    let mut n_classed = 0;
    let mut separate = Vec::new();
    for it in items {
        let count = it.counts[i];
        if count <= 0.0 {
            continue;
        }
        readings += count;
        let mean = it.sums[i] / count;
        let mean = if it.code == u32::from(PH_CODE) {
            -mean.log10()
        } else {
            mean
        };
        let Some(value) = Conc::from_f64(mean) else {
            continue;
        };
        let value = evaluation_value(it.parameter, value, opts.round_before_classing);
        let Some(class) = item_class(it.parameter, body, value) else {
            continue;
        };
        match role(it.parameter, body) {
            ItemRole::Classed => {
                classed[n_classed] = (it.parameter, value, class);
                n_classed += 1;
                worst = worst.max(Some(class));
            }
            ItemRole::JudgedSeparately => {
                // Exact capacities: a Vec grown by push starts at 4 elements, and with
                // millions of rows per reading that was most of the judge's memory.
                separate.reserve_exact(1);
                separate.push(finding(it.parameter, value, class, section));
            }
            ItemRole::Reference | ItemRole::NotEvaluated => {}
        }
    }
    let sets_class = |(_, _, c): &&(Parameter, Conc, WaterClass)| Some(*c) == worst;
    let mut setting = Vec::with_capacity(classed[..n_classed].iter().filter(sets_class).count());
    setting.extend(
        classed[..n_classed]
            .iter()
            .filter(sets_class)
            .map(|&(p, v, c)| finding(p, v, c, section)),
    );
    PeriodClass {
        section: section_idx,
        start: chrono::DateTime::from_timestamp_millis(start_ms).unwrap_or_default(),
        class: worst,
        items: setting,
        separate,
        readings: readings as u32,
    }
}
