//! Daily statistics per site and local day, in polars lazy: 24-h means with their hour
//! counts, the O3 1-h maximum, and the O3 MDA8 over the 17 windows of the day with the
//! 6-of-8 rule (STANDARDS.md 2.3, 2.5). Validity thresholds on the counts are applied
//! later in Rust ([`super::DailyStats::validate`]) so each failure keeps its reason.

use std::collections::HashMap;

use chrono::NaiveDate;
use chrono_tz::Tz;
use polars::prelude::*;

use super::{DailyStats, JudgeError, MEAN_POLLUTANTS};
use crate::config::Station;
use crate::model::{Reading, SiteId};
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

/// Sites in the frame that are not configured stations, with their row counts.
pub fn unknown_sites(
    df: &DataFrame,
    known: &HashMap<&str, &Station>,
) -> Result<Vec<(SiteId, usize)>, JudgeError> {
    let counts = df
        .clone()
        .lazy()
        .group_by([col(STATION)])
        .agg([len().alias("n")])
        .collect()?;
    let names = counts.column(STATION)?.str()?;
    let n = counts.column("n")?.cast(&DataType::UInt64)?;
    let n = n.u64()?;
    let mut out: Vec<(SiteId, usize)> = names
        .iter()
        .zip(n.iter())
        .filter_map(|(s, c)| {
            let s = s?;
            (!known.contains_key(s)).then(|| (SiteId::new(s), c.unwrap_or(0) as usize))
        })
        .collect();
    out.sort();
    Ok(out)
}

/// Polars time zone for chrono-tz's zone.
pub fn polars_tz(tz: Tz) -> Result<polars::prelude::TimeZone, JudgeError> {
    polars::prelude::TimeZone::opt_try_new(Some(tz.name()))
        .ok()
        .flatten()
        .ok_or_else(|| JudgeError::TimeZone(tz.name().to_string()))
}

/// The lazy plan: valid (flag N) AQI-pollutant rows → one row per (station, day) with
/// `{p}_mean`, `{p}_n` for the 24-h-mean pollutants, `o3_max`, `o3_n`, `mda8`,
/// `mda8_windows`; `day` as Int32 days since 1970-01-01.
pub fn station_day_lazy(
    readings: LazyFrame,
    tz: Tz,
    rules: &ValidityRules,
) -> Result<LazyFrame, JudgeError> {
    let ptz = polars_tz(tz)?;
    let names: Vec<&str> = Pollutant::ALL.iter().map(|p| p.name()).collect();
    let names = Series::new("names".into(), names);
    let local = col(TIME).dt().convert_time_zone(ptz);
    let lf = readings
        .filter(
            col(FLAG)
                .eq(lit("N"))
                .and(col(PARAMETER).is_in(lit(names).implode(false), false)),
        )
        .with_columns([
            local.clone().dt().date().cast(DataType::Int32).alias("day"),
            local.dt().hour().cast(DataType::Int32).alias("hour"),
        ]);

    let of = |p: Pollutant| col(VALUE).filter(col(PARAMETER).eq(lit(p.name())));
    let mut aggs = Vec::new();
    for p in MEAN_POLLUTANTS {
        let f = p.parameter().field();
        aggs.push(of(p).mean().alias(format!("{f}_mean")));
        aggs.push(of(p).count().cast(DataType::UInt32).alias(format!("{f}_n")));
    }
    aggs.push(of(Pollutant::O3).max().alias("o3_max"));
    aggs.push(
        of(Pollutant::O3)
            .count()
            .cast(DataType::UInt32)
            .alias("o3_n"),
    );
    let mut windows = Vec::new();
    for k in MDA8_WINDOW_STARTS {
        let k = k as i32;
        let w = col(VALUE).filter(
            col(PARAMETER).eq(lit("O3")).and(
                col("hour")
                    .gt_eq(lit(k))
                    .and(col("hour").lt_eq(lit(k + O3_WINDOW_HOURS as i32 - 1))),
            ),
        );
        let name = format!("o3w{k}");
        aggs.push(
            when(w.clone().count().gt_eq(lit(rules.min_hours_o3_8h_window)))
                .then(w.mean())
                .otherwise(lit(NULL).cast(DataType::Float64))
                .alias(name.as_str()),
        );
        windows.push(col(name.as_str()));
    }
    let mut out: Vec<Expr> = vec![col(STATION), col("day")];
    for p in MEAN_POLLUTANTS {
        let f = p.parameter().field();
        out.push(col(format!("{f}_mean").as_str()));
        out.push(col(format!("{f}_n").as_str()));
    }
    out.push(col("o3_max"));
    out.push(col("o3_n"));
    out.push(polars::lazy::dsl::max_horizontal(&windows)?.alias("mda8"));
    out.push(
        polars::lazy::dsl::sum_horizontal(
            windows
                .iter()
                .map(|w| w.clone().is_not_null().cast(DataType::UInt32))
                .collect::<Vec<_>>(),
            false,
        )?
        .cast(DataType::UInt32)
        .alias("mda8_windows"),
    );
    Ok(lf
        .group_by([col(STATION), col("day")])
        .agg(aggs)
        .select(out))
}

/// Runs [`station_day_lazy`] and extracts typed rows.
pub fn station_day_stats(
    readings: LazyFrame,
    tz: Tz,
    rules: &ValidityRules,
) -> Result<Vec<(String, NaiveDate, DailyStats)>, JudgeError> {
    let df = station_day_lazy(readings, tz, rules)?.collect()?;
    extract(&df)
}

fn extract(df: &DataFrame) -> Result<Vec<(String, NaiveDate, DailyStats)>, JudgeError> {
    let f64s = |name: &str| -> Result<Vec<Option<f64>>, JudgeError> {
        Ok(df.column(name)?.f64()?.iter().collect())
    };
    let u32s = |name: &str| -> Result<Vec<u32>, JudgeError> {
        Ok(df
            .column(name)?
            .u32()?
            .iter()
            .map(|v| v.unwrap_or(0))
            .collect())
    };
    let stations = df.column(STATION)?.str()?;
    let days = df.column("day")?.i32()?;
    let mut means = Vec::new();
    let mut counts = Vec::new();
    for p in MEAN_POLLUTANTS {
        let f = p.parameter().field();
        means.push(f64s(&format!("{f}_mean"))?);
        counts.push(u32s(&format!("{f}_n"))?);
    }
    let o3_max = f64s("o3_max")?;
    let o3_n = u32s("o3_n")?;
    let mda8 = f64s("mda8")?;
    let mda8_w = u32s("mda8_windows")?;
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    let mut out = Vec::with_capacity(df.height());
    for (i, (s, d)) in stations.iter().zip(days.iter()).enumerate() {
        let (Some(s), Some(d)) = (s, d) else { continue };
        let date = epoch + chrono::Duration::days(i64::from(d));
        let mut st = DailyStats {
            o3_1h_max: o3_max[i],
            o3_hours: o3_n[i],
            o3_8h_max: mda8[i],
            o3_8h_windows: mda8_w[i],
            ..Default::default()
        };
        for k in 0..MEAN_POLLUTANTS.len() {
            st.mean[k] = means[k][i];
            st.hours[k] = counts[k][i];
        }
        out.push((s.to_string(), date, st));
    }
    Ok(out)
}
