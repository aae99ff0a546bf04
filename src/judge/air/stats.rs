//! Daily statistics per site and local day, in polars lazy: 24-h means with their hour
//! counts, the O3 1-h maximum, and the O3 MDA8 over the 17 windows of the day with the
//! 6-of-8 rule (STANDARDS.md 2.3, 2.5). Validity thresholds on the counts are applied
//! later in Rust ([`super::DailyStats::validate`]) so each failure keeps its reason.

use std::collections::HashMap;

use chrono::NaiveDate;
use chrono_tz::Tz;
use polars::prelude::*;

use super::{DailyStats, JudgeError, MEAN_POLLUTANTS};
use crate::model::Reading;
use crate::standards::air_eval::{MDA8_WINDOW_STARTS, O3_WINDOW_HOURS, ValidityRules};
use crate::standards::aqi::Pollutant;

/// Column names of the canonical readings frame.
pub const STATION: &str = "station";
pub const PARAMETER: &str = "parameter";
pub const TIME: &str = "time";
pub const VALUE: &str = "value";
pub const FLAG: &str = "flag";

/// `&[Reading]` → canonical frame: `station: str`, `parameter: str` (canonical name),
/// `time: datetime[ms, UTC]` (START of the hour), `value: f64`, `flag: str` (HJ 212).
/// Only the six AQI pollutants are kept; a duplicate (station, parameter, time) keeps
/// the last reading (the store's upsert semantics).
pub fn readings_frame(readings: &[Reading]) -> PolarsResult<DataFrame> {
    let mut idx: HashMap<(&str, crate::standards::parameter::Parameter, i64), usize> =
        HashMap::with_capacity(readings.len());
    let mut keep: Vec<&Reading> = Vec::with_capacity(readings.len());
    for r in readings {
        if Pollutant::from_parameter(r.parameter).is_none() {
            continue;
        }
        let key = (r.site.as_str(), r.parameter, r.time.timestamp_millis());
        match idx.get(&key) {
            Some(&i) => keep[i] = r,
            None => {
                idx.insert(key, keep.len());
                keep.push(r);
            }
        }
    }
    let station: Vec<&str> = keep.iter().map(|r| r.site.as_str()).collect();
    let parameter: Vec<&str> = keep.iter().map(|r| r.parameter.name()).collect();
    let time: Vec<i64> = keep.iter().map(|r| r.time.timestamp_millis()).collect();
    let value: Vec<f64> = keep.iter().map(|r| r.value).collect();
    let flag: Vec<&str> = keep.iter().map(|r| r.flag.as_str()).collect();
    let time = Int64Chunked::from_vec(TIME.into(), time)
        .into_datetime(TimeUnit::Milliseconds, Some(polars::prelude::TimeZone::UTC));
    DataFrame::new_infer_height(vec![
        Column::new(STATION.into(), station),
        Column::new(PARAMETER.into(), parameter),
        time.into_column(),
        Column::new(VALUE.into(), value),
        Column::new(FLAG.into(), flag),
    ])
}

/// Polars time zone for chrono-tz's zone.
pub fn polars_tz(tz: Tz) -> Result<polars::prelude::TimeZone, JudgeError> {
    polars::prelude::TimeZone::opt_try_new(Some(tz.name()))
        .ok()
        .flatten()
        .ok_or_else(|| JudgeError::TimeZone(tz.name().to_string()))
}

/// Code of each AQI pollutant in the plan (index into [`Pollutant::ALL`]).
fn pollutant_code() -> Expr {
    let mut e: Option<Expr> = None;
    for (i, p) in Pollutant::ALL.iter().enumerate().rev() {
        let then = lit(i as u32);
        let cond = col(PARAMETER).eq(lit(p.name()));
        e = Some(match e {
            None => when(cond)
                .then(then)
                .otherwise(lit(NULL).cast(DataType::UInt32)),
            Some(rest) => when(cond).then(then).otherwise(rest),
        });
    }
    e.unwrap_or_else(|| lit(NULL)).cast(DataType::UInt32)
}

/// The plans behind [`station_day_stats`]: valid (flag N) AQI-pollutant rows with
/// their local `day` (Int32 days since 1970-01-01) and `hour` (local start hour),
/// materialised once, then (1) per (station, day, pollutant) mean, count and max, and (2) the O3 hours sorted
/// by (station, day, hour) for the 8-h windows.
pub fn station_day_lazy(readings: LazyFrame, tz: Tz) -> Result<(LazyFrame, LazyFrame), JudgeError> {
    let ptz = polars_tz(tz)?;
    let ms = col(TIME).dt().timestamp(TimeUnit::Milliseconds);
    let span = readings
        .clone()
        .select([ms.clone().min().alias("lo"), ms.clone().max().alias("hi")])
        .collect()?;
    let lo = span.column("lo")?.i64()?.get(0);
    let hi = span.column("hi")?.i64()?.get(0);
    // Local day and hour: with one UTC offset over the whole span (Asia/Shanghai, any
    // zone without a transition in the data) plain integer arithmetic; otherwise the
    // time-zone conversion, once per distinct timestamp, joined back.
    let valid = readings.filter(col(FLAG).eq(lit("N")));
    let with_day_hour = match lo.zip(hi).and_then(|(a, b)| fixed_offset_ms(tz, a, b)) {
        Some(off) => {
            let local = ms.clone() + lit(off);
            let day = local.clone().floor_div(lit(86_400_000i64));
            valid.select([
                col(STATION),
                pollutant_code().alias("p"),
                day.clone().cast(DataType::Int32).alias("day"),
                (local - day * lit(86_400_000i64))
                    .floor_div(lit(3_600_000i64))
                    .cast(DataType::Int32)
                    .alias("hour"),
                col(VALUE),
            ])
        }
        None => {
            let local = col(TIME).dt().convert_time_zone(ptz);
            let times = valid
                .clone()
                .select([col(TIME)])
                .unique(None, UniqueKeepStrategy::Any)
                .select([
                    col(TIME),
                    local.clone().dt().date().cast(DataType::Int32).alias("day"),
                    local.dt().hour().cast(DataType::Int32).alias("hour"),
                ]);
            valid
                .select([
                    col(STATION),
                    pollutant_code().alias("p"),
                    col(TIME),
                    col(VALUE),
                ])
                .join(
                    times,
                    [col(TIME)],
                    [col(TIME)],
                    JoinArgs::new(JoinType::Inner),
                )
        }
    };
    let base = with_day_hour
        .select([col(STATION), col("p"), col("day"), col("hour"), col(VALUE)])
        .filter(col("p").is_not_null())
        // materialised once, read by both plans
        .collect()?
        .lazy();
    let o3 = Pollutant::ALL
        .iter()
        .position(|p| *p == Pollutant::O3)
        .unwrap_or(4) as u32;
    let per_pollutant = base
        .clone()
        .group_by([col(STATION), col("day"), col("p")])
        .agg([
            col(VALUE).mean().alias("mean"),
            col(VALUE).count().cast(DataType::UInt32).alias("n"),
            col(VALUE).max().alias("max"),
        ]);
    let o3_hours = base
        .filter(col("p").eq(lit(o3)))
        .select([col(STATION), col("day"), col("hour"), col(VALUE)])
        .sort_by_exprs(
            [col(STATION), col("day"), col("hour")],
            SortMultipleOptions::default().with_multithreaded(true),
        );
    Ok((per_pollutant, o3_hours))
}

/// Daily statistics per (site, local day) — see the module doc. The O3 8-h windows are
/// computed in Rust over the sorted O3 hours: 24 slots per day, 17 windows.
pub fn station_day_stats(
    readings: LazyFrame,
    tz: Tz,
    rules: &ValidityRules,
) -> Result<Vec<(String, NaiveDate, DailyStats)>, JudgeError> {
    let t = std::time::Instant::now();
    let (per_pollutant, o3_hours) = station_day_lazy(readings, tz)?;
    timing("base", t);
    let pp_df = per_pollutant.collect()?;
    timing("group_by", t);
    let o3_df = o3_hours.collect()?;
    timing("o3 sort", t);

    let mut map: HashMap<(String, i32), DailyStats> = HashMap::new();
    {
        let stations = pp_df.column(STATION)?.str()?;
        let days = pp_df.column("day")?.i32()?;
        let ps = pp_df.column("p")?.u32()?;
        let means = pp_df.column("mean")?.f64()?;
        let ns = pp_df.column("n")?.u32()?;
        let maxes = pp_df.column("max")?.f64()?;
        let rows = stations
            .iter()
            .zip(days.iter())
            .zip(ps.iter())
            .zip(means.iter().zip(ns.iter()).zip(maxes.iter()));
        for (((s, d), p), ((mean, n), max)) in rows {
            let (Some(s), Some(d), Some(p)) = (s, d, p) else {
                continue;
            };
            let Some(pollutant) = Pollutant::ALL.get(p as usize) else {
                continue;
            };
            let st = map.entry((s.to_string(), d)).or_default();
            let n = n.unwrap_or(0);
            if *pollutant == Pollutant::O3 {
                st.o3_1h_max = max;
                st.o3_hours = n;
            } else if let Some(k) = MEAN_POLLUTANTS.iter().position(|q| q == pollutant) {
                st.mean[k] = mean;
                st.hours[k] = n;
            }
        }
    }
    {
        let stations = o3_df.column(STATION)?.str()?;
        let days = o3_df.column("day")?.i32()?;
        let hours = o3_df.column("hour")?.i32()?;
        let values = o3_df.column(VALUE)?.f64()?;
        let mut current: Option<(&str, i32)> = None;
        let mut slots = [None::<f64>; 24];
        let mut flush = |key: Option<(&str, i32)>, slots: &mut [Option<f64>; 24]| {
            if let Some((s, d)) = key {
                let (max, n) = mda8(slots, rules.min_hours_o3_8h_window);
                let st = map.entry((s.to_string(), d)).or_default();
                st.o3_8h_max = max;
                st.o3_8h_windows = n;
            }
            *slots = [None; 24];
        };
        let rows = stations
            .iter()
            .zip(days.iter())
            .zip(hours.iter().zip(values.iter()));
        for ((s, d), (h, v)) in rows {
            let (Some(s), Some(d), Some(h), Some(v)) = (s, d, h, v) else {
                continue;
            };
            if current != Some((s, d)) {
                flush(current, &mut slots);
                current = Some((s, d));
            }
            if let Some(slot) = usize::try_from(h).ok().and_then(|h| slots.get_mut(h)) {
                *slot = Some(v);
            }
        }
        flush(current, &mut slots);
    }
    timing("rust windows", t);
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    Ok(map
        .into_iter()
        .map(|((s, d), st)| (s, epoch + chrono::Duration::days(i64::from(d)), st))
        .collect())
}

/// MDA8 of one day's 24 hourly slots (local start hours): max over the 17 windows
/// `k..=k+7` (k = 0..=16, i.e. ending 08:00…24:00) that hold at least `min_hours`
/// values, and the number of such windows.
pub fn mda8(slots: &[Option<f64>; 24], min_hours: u32) -> (Option<f64>, u32) {
    let mut best: Option<f64> = None;
    let mut valid = 0;
    for k in MDA8_WINDOW_STARTS {
        let k = k as usize;
        let w = &slots[k..k + O3_WINDOW_HOURS as usize];
        let n = w.iter().flatten().count() as u32;
        if n >= min_hours && n > 0 {
            let mean = w.iter().flatten().sum::<f64>() / f64::from(n);
            valid += 1;
            best = Some(best.map_or(mean, |b: f64| b.max(mean)));
        }
    }
    (best, valid)
}

/// Phase timings on stderr when `ENVWATCH_TIMING` is set (benchmark diagnostics).
pub fn timing(what: &str, since: std::time::Instant) {
    if std::env::var_os("ENVWATCH_TIMING").is_some() {
        eprintln!("  {what}: {:.3} s", since.elapsed().as_secs_f64());
    }
}

/// The zone's UTC offset in ms when it is the same at every hour from `lo` to `hi`
/// (epoch ms), i.e. no transition inside the data.
fn fixed_offset_ms(tz: Tz, lo: i64, hi: i64) -> Option<i64> {
    use chrono::{Offset, TimeZone};
    let offset_at = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms).map(|t| {
            i64::from(
                tz.offset_from_utc_datetime(&t.naive_utc())
                    .fix()
                    .local_minus_utc(),
            ) * 1000
        })
    };
    let first = offset_at(lo)?;
    let mut t = lo;
    while t < hi {
        if offset_at(t)? != first {
            return None;
        }
        t += 3_600_000;
    }
    (offset_at(hi)? == first).then_some(first)
}
