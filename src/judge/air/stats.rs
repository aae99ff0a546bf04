//! Daily statistics per site and local day, in polars lazy: 24-h means with their hour
//! counts, the O3 1-h maximum, and the O3 MDA8 over the 17 windows of the day with the
//! 6-of-8 rule (STANDARDS.md 2.3, 2.5). Validity thresholds on the counts are applied
//! later in Rust ([`super::DailyStats::validate`]) so each failure keeps its reason.

use std::collections::HashMap;

use chrono::NaiveDate;
use chrono_tz::Tz;
use polars::prelude::*;

use super::{DailyStats, JudgeError, MEAN_POLLUTANTS};
use crate::judge::timing;
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

/// The valid (flag `N`) AQI-pollutant rows in integer form, built in one pass over the
/// canonical frame: strings become small integer codes, the UTC time becomes the local
/// day and hour. Polars then groups on ONE integer key instead of three string/date
/// columns, which is what makes a year of 200 stations fast (see `envwatch bench air`).
struct Coded {
    /// `sdp = site_day × 6 + pollutant`, `value`: every kept row.
    all: DataFrame,
    /// `sdh = site_day × 24 + local hour`, `value`: the O3 rows.
    o3: DataFrame,
    /// Site names by code.
    sites: Vec<String>,
    /// `site_day = site × days + (day − day0)`; day is days since 1970-01-01 (local).
    day0: i64,
    days: u64,
}

const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;

/// Local (day since epoch, hour of day) of a UTC instant, per the zone.
fn local_day_hour(tz: Tz, ms: i64) -> Option<(i64, u64)> {
    let local = ms + offset_ms(tz, ms)?;
    Some((
        local.div_euclid(DAY_MS),
        (local.rem_euclid(DAY_MS) / HOUR_MS) as u64,
    ))
}

fn offset_ms(tz: Tz, ms: i64) -> Option<i64> {
    use chrono::{Offset, TimeZone};
    let t = chrono::DateTime::from_timestamp_millis(ms)?;
    Some(
        i64::from(
            tz.offset_from_utc_datetime(&t.naive_utc())
                .fix()
                .local_minus_utc(),
        ) * 1000,
    )
}

fn encode(df: &DataFrame, tz: Tz) -> Result<Coded, JudgeError> {
    // Rows with a missing cell carry no usable reading; without them every column is a
    // plain array and the loop below reads slices, not Option iterators.
    let columns = [STATION, PARAMETER, TIME, VALUE, FLAG];
    let mut df = df.select(columns)?;
    if df.columns().iter().any(|c| c.null_count() > 0) {
        df = df.drop_nulls::<String>(None)?;
    }
    df.rechunk_mut_par();
    let station = df.column(STATION)?.str()?.downcast_as_array();
    let parameter = df.column(PARAMETER)?.str()?.downcast_as_array();
    let flag = df.column(FLAG)?.str()?.downcast_as_array();
    let time = df.column(TIME)?.cast(&DataType::Int64)?;
    let time = time.i64()?;
    let value = df.column(VALUE)?.cast(&DataType::Float64)?;
    let value = value.f64()?;
    let empty = || Coded {
        all: DataFrame::empty(),
        o3: DataFrame::empty(),
        sites: Vec::new(),
        day0: 0,
        days: 1,
    };
    let (Some(lo), Some(hi)) = (time.min(), time.max()) else {
        return Ok(empty());
    };
    // One UTC offset over the whole span (Asia/Shanghai, any zone without a transition
    // in the data): plain arithmetic. Otherwise the zone per distinct timestamp, cached.
    let fixed = fixed_offset_ms(tz, lo, hi);
    let (Some((first_day, _)), Some((last_day, _))) =
        (local_day_hour(tz, lo), local_day_hour(tz, hi))
    else {
        return Ok(empty());
    };
    // A transition can move a local day by one either way: keep a day of margin.
    let day0 = first_day - 1;
    let days = u64::try_from(last_day - day0 + 2).unwrap_or(1);
    let mut per_instant: HashMap<i64, Option<(i64, u64)>> = HashMap::new();
    let mut day_hour = |ms: i64| match fixed {
        Some(off) => {
            let local = ms + off;
            Some((
                local.div_euclid(DAY_MS),
                (local.rem_euclid(DAY_MS) / HOUR_MS) as u64,
            ))
        }
        None => *per_instant
            .entry(ms)
            .or_insert_with(|| local_day_hour(tz, ms)),
    };

    let o3 = Pollutant::ALL
        .iter()
        .position(|p| *p == Pollutant::O3)
        .unwrap_or(4) as u64;
    let mut site_codes: HashMap<&str, u64> = HashMap::new();
    let mut sites = Vec::new();
    // Rows come in runs of one station and one parameter. Polars stores short strings
    // inline in 16-byte views, and equal views are equal strings: comparing a row's view
    // with the last one decides most rows without touching the string.
    let (times, values) = (time.cont_slice()?, value.cont_slice()?);
    let (st_views, p_views, f_views) = (station.views(), parameter.views(), flag.views());
    let mut last_site = None;
    let mut last_param = None;
    let mut n_view = None;
    let n = df.height();
    let (mut sdp, mut vals) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut sdh, mut o3_vals) = (Vec::with_capacity(n / 6), Vec::with_capacity(n / 6));
    for i in 0..n {
        let fv = f_views[i];
        if n_view != Some(fv) {
            if flag.value(i) != "N" {
                continue;
            }
            n_view = Some(fv);
        }
        let pc = match last_param {
            Some((v, code)) if v == p_views[i] => code,
            _ => {
                let name = parameter.value(i);
                let code = Pollutant::ALL
                    .iter()
                    .position(|q| q.name() == name)
                    .map(|c| c as u64);
                last_param = Some((p_views[i], code));
                code
            }
        };
        let Some(pc) = pc else { continue };
        let site = match last_site {
            Some((v, code)) if v == st_views[i] => code,
            _ => {
                let name = station.value(i);
                let next = sites.len() as u64;
                let code = *site_codes.entry(name).or_insert_with(|| {
                    sites.push(name.to_string());
                    next
                });
                last_site = Some((st_views[i], code));
                code
            }
        };
        let Some((day, hour)) = day_hour(times[i]) else {
            continue;
        };
        let Ok(off) = u64::try_from(day - day0) else {
            continue;
        };
        let site_day = site * days + off;
        sdp.push(site_day * 6 + pc);
        vals.push(values[i]);
        if pc == o3 {
            sdh.push(site_day * 24 + hour);
            o3_vals.push(values[i]);
        }
    }
    let frame = |key: &str, k: Vec<u64>, v: Vec<f64>| {
        DataFrame::new_infer_height(vec![
            UInt64Chunked::from_vec(key.into(), k).into_column(),
            Float64Chunked::from_vec(VALUE.into(), v).into_column(),
        ])
    };
    Ok(Coded {
        all: frame("sdp", sdp, vals)?,
        o3: frame("sdh", sdh, o3_vals)?,
        sites,
        day0,
        days,
    })
}

/// Daily statistics per (site, local day) of a canonical readings frame — see the module
/// doc. Polars groups the integer-coded rows by (site-day, pollutant) for mean, count
/// and max, and sorts the O3 hours by (site-day, hour); the 17 8-h windows of each day
/// are then computed in Rust over 24 hourly slots.
pub fn station_day_stats(
    df: &DataFrame,
    tz: Tz,
    rules: &ValidityRules,
) -> Result<Vec<(String, NaiveDate, DailyStats)>, JudgeError> {
    let t = std::time::Instant::now();
    let coded = encode(df, tz)?;
    timing("encode", t);
    if coded.all.height() == 0 {
        return Ok(Vec::new());
    }
    let pp_df = coded
        .all
        .clone()
        .lazy()
        .group_by([col("sdp")])
        .agg([
            col(VALUE).mean().alias("mean"),
            col(VALUE).count().cast(DataType::UInt32).alias("n"),
            col(VALUE).max().alias("max"),
        ])
        .collect()?;
    timing("group_by", t);
    let o3_df = coded
        .o3
        .clone()
        .lazy()
        .sort(
            ["sdh"],
            SortMultipleOptions::default().with_multithreaded(true),
        )
        .collect()?;
    timing("o3 sort", t);

    let mut map: HashMap<u64, DailyStats> = HashMap::new();
    {
        let keys = pp_df.column("sdp")?.u64()?;
        let means = pp_df.column("mean")?.f64()?;
        let ns = pp_df.column("n")?.u32()?;
        let maxes = pp_df.column("max")?.f64()?;
        let rows = keys
            .iter()
            .zip(means.iter().zip(ns.iter()).zip(maxes.iter()));
        for (key, ((mean, n), max)) in rows {
            let Some(key) = key else { continue };
            let Some(pollutant) = Pollutant::ALL.get((key % 6) as usize) else {
                continue;
            };
            let st = map.entry(key / 6).or_default();
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
        let keys = o3_df.column("sdh")?.u64()?;
        let values = o3_df.column(VALUE)?.f64()?;
        let mut current: Option<u64> = None;
        let mut slots = [None::<f64>; 24];
        let mut flush = |site_day: Option<u64>, slots: &mut [Option<f64>; 24]| {
            if let Some(sd) = site_day {
                let (max, n) = mda8(slots, rules.min_hours_o3_8h_window);
                let st = map.entry(sd).or_default();
                st.o3_8h_max = max;
                st.o3_8h_windows = n;
            }
            *slots = [None; 24];
        };
        for (key, v) in keys.iter().zip(values.iter()) {
            let (Some(key), Some(v)) = (key, v) else {
                continue;
            };
            let sd = key / 24;
            if current != Some(sd) {
                flush(current, &mut slots);
                current = Some(sd);
            }
            if let Some(slot) = slots.get_mut((key % 24) as usize) {
                *slot = Some(v);
            }
        }
        flush(current, &mut slots);
    }
    timing("rust windows", t);
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    Ok(map
        .into_iter()
        .filter_map(|(sd, st)| {
            let site = coded.sites.get((sd / coded.days) as usize)?;
            let day = coded.day0 + (sd % coded.days) as i64;
            Some((site.clone(), epoch + chrono::Duration::days(day), st))
        })
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

/// The zone's UTC offset in ms when it is the same at every hour from `lo` to `hi`
/// (epoch ms), i.e. no transition inside the data.
fn fixed_offset_ms(tz: Tz, lo: i64, hi: i64) -> Option<i64> {
    let first = offset_ms(tz, lo)?;
    let mut t = lo;
    while t < hi {
        if offset_ms(tz, t)? != first {
            return None;
        }
        t += HOUR_MS;
    }
    (offset_ms(tz, hi)? == first).then_some(first)
}
