//! HJ 633 AQI rules, both editions: HJ 633-2012 (in force 2016-01-01 … 2026-02-28) and
//! HJ 633-2026 (from 2026-03-01). Tables are data here, each citing its table number
//! (STANDARDS.md §1); every edge is pinned by the tests at the bottom.
//!
//! Arithmetic is exact: concentrations are first rounded per GB/T 8170 to whole µg/m3
//! (CO to 0.1 mg/m3) — HJ 633-2026 §4.2.2, and the 2012-era practice — and IAQI is then
//! `IAQI_Lo + ceil((IAQI_Hi − IAQI_Lo)·(C − BP_Lo) / (BP_Hi − BP_Lo))` in integers
//! ("全部进位取整数", HJ 633-2012 §6.2 / 2026 §4.2.6), so no `50.000000001 → 51` surprises.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::standards::parameter::Parameter;

/// Which edition of HJ 633 judges a day. Chosen by the DATE OF THE DATA: HJ 633-2026 is
/// in force from 2026-03-01 (STANDARDS.md section 0), never by the date of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Edition {
    #[serde(rename = "2012")]
    Hj633_2012,
    #[serde(rename = "2026")]
    Hj633_2026,
}

impl Edition {
    /// First day judged by HJ 633-2026.
    pub fn switch_date() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, 1).unwrap_or_default()
    }

    /// The edition in force on a (local) day.
    pub fn for_date(day: NaiveDate) -> Edition {
        if day >= Edition::switch_date() {
            Edition::Hj633_2026
        } else {
            Edition::Hj633_2012
        }
    }

    /// `2012` / `2026`, as written in CSV output.
    pub fn year(self) -> u16 {
        match self {
            Edition::Hj633_2012 => 2012,
            Edition::Hj633_2026 => 2026,
        }
    }

    /// The indicators whose IAQI make up the DAILY AQI: 7 in 2012 (incl. the O3 daily
    /// maximum 1-h value), 6 in 2026 (HJ 633-2026 dropped the O3 1-h maximum). STANDARDS.md 1.6.
    pub fn daily_indicators(self) -> &'static [Indicator] {
        use Indicator::*;
        match self {
            Edition::Hj633_2012 => &[So2Day, No2Day, Pm10Day, CoDay, O3Hour, O3Eight, Pm25Day],
            Edition::Hj633_2026 => &[So2Day, No2Day, Pm10Day, CoDay, O3Eight, Pm25Day],
        }
    }
}

impl fmt::Display for Edition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HJ 633-{}", self.year())
    }
}

/// `auto` (by the data's date) or a fixed edition (`--edition 2012|2026`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EditionChoice {
    #[default]
    Auto,
    #[serde(rename = "2012")]
    Y2012,
    #[serde(rename = "2026")]
    Y2026,
}

impl EditionChoice {
    pub fn resolve(self, day: NaiveDate) -> Edition {
        match self {
            EditionChoice::Auto => Edition::for_date(day),
            EditionChoice::Y2012 => Edition::Hj633_2012,
            EditionChoice::Y2026 => Edition::Hj633_2026,
        }
    }
}

/// The six AQI pollutants (HJ 633 §3), in report order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Pollutant {
    So2,
    No2,
    Pm10,
    Co,
    O3,
    Pm25,
}

impl Pollutant {
    pub const ALL: [Pollutant; 6] = [
        Pollutant::So2,
        Pollutant::No2,
        Pollutant::Pm10,
        Pollutant::Co,
        Pollutant::O3,
        Pollutant::Pm25,
    ];

    pub fn parameter(self) -> Parameter {
        match self {
            Pollutant::So2 => Parameter::So2,
            Pollutant::No2 => Parameter::No2,
            Pollutant::Pm10 => Parameter::Pm10,
            Pollutant::Co => Parameter::Co,
            Pollutant::O3 => Parameter::O3,
            Pollutant::Pm25 => Parameter::Pm25,
        }
    }

    pub fn from_parameter(p: Parameter) -> Option<Pollutant> {
        Pollutant::ALL.into_iter().find(|q| q.parameter() == p)
    }

    /// Canonical name (`PM2.5`, `CO`, ...).
    pub fn name(self) -> &'static str {
        self.parameter().name()
    }

    /// Decimals a concentration is rounded to before indexing (HJ 633-2026 §4.2.2):
    /// whole µg/m3, CO in 0.1 mg/m3.
    pub fn decimals(self) -> u32 {
        match self {
            Pollutant::Co => 1,
            _ => 0,
        }
    }

    /// Round a concentration per GB/T 8170 to this pollutant's decimals and return it as
    /// an integer count of units (µg/m3, or 0.1 mg/m3 for CO).
    pub fn to_units(self, value: f64) -> Option<i64> {
        round_gbt8170_scaled(value, self.decimals())
    }

    /// The rounded concentration as a float, for output.
    pub fn rounded(self, value: f64) -> Option<f64> {
        let units = self.to_units(value)?;
        Some(units as f64 / 10f64.powi(self.decimals() as i32))
    }
}

impl fmt::Display for Pollutant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An IAQI column of HJ 633 Table 1 (2012) / Table 3 (2026): a pollutant with its
/// averaging period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Indicator {
    /// SO2 24-h mean.
    So2Day,
    /// SO2 1-h mean (real-time report only).
    So2Hour,
    /// NO2 24-h mean.
    No2Day,
    /// NO2 1-h mean (real-time report only).
    No2Hour,
    /// PM10 24-h mean (also indexes the 1-h PM10 value of the real-time report).
    Pm10Day,
    /// CO 24-h mean (mg/m3).
    CoDay,
    /// CO 1-h mean (mg/m3, real-time report only).
    CoHour,
    /// O3 1-h value (daily: the day's maximum 1-h value).
    O3Hour,
    /// O3 8-h moving mean (daily: the day's maximum, MDA8).
    O3Eight,
    /// PM2.5 24-h mean (also indexes the 1-h PM2.5 value of the real-time report).
    Pm25Day,
}

impl Indicator {
    pub const ALL: [Indicator; 10] = [
        Indicator::So2Day,
        Indicator::So2Hour,
        Indicator::No2Day,
        Indicator::No2Hour,
        Indicator::Pm10Day,
        Indicator::CoDay,
        Indicator::CoHour,
        Indicator::O3Hour,
        Indicator::O3Eight,
        Indicator::Pm25Day,
    ];

    pub fn pollutant(self) -> Pollutant {
        match self {
            Indicator::So2Day | Indicator::So2Hour => Pollutant::So2,
            Indicator::No2Day | Indicator::No2Hour => Pollutant::No2,
            Indicator::Pm10Day => Pollutant::Pm10,
            Indicator::CoDay | Indicator::CoHour => Pollutant::Co,
            Indicator::O3Hour | Indicator::O3Eight => Pollutant::O3,
            Indicator::Pm25Day => Pollutant::Pm25,
        }
    }

    /// Short label used in CSV output (`PM2.5_24h`, `O3_8h`, ...).
    pub fn label(self) -> &'static str {
        match self {
            Indicator::So2Day => "SO2_24h",
            Indicator::So2Hour => "SO2_1h",
            Indicator::No2Day => "NO2_24h",
            Indicator::No2Hour => "NO2_1h",
            Indicator::Pm10Day => "PM10_24h",
            Indicator::CoDay => "CO_24h",
            Indicator::CoHour => "CO_1h",
            Indicator::O3Hour => "O3_1h",
            Indicator::O3Eight => "O3_8h",
            Indicator::Pm25Day => "PM2.5_24h",
        }
    }

    /// Concentration breakpoints of this column, in [`Pollutant::to_units`] units, for
    /// IAQI 0, 50, 100, 150, 200, 300, 400, 500 (shorter where the table stops).
    /// HJ 633-2012 Table 1; HJ 633-2026 Table 3 differs only at the PM AQI-100 row
    /// (PM10 150 → 120, PM2.5 75 → 60).
    pub fn breakpoints(self, edition: Edition) -> &'static [i64] {
        let y2026 = edition == Edition::Hj633_2026;
        match self {
            Indicator::So2Day => &[0, 50, 150, 475, 800, 1600, 2100, 2620],
            // Table 1 note 2 / Table 3 note b: no row above 800.
            Indicator::So2Hour => &[0, 150, 500, 650, 800],
            Indicator::No2Day => &[0, 40, 80, 180, 280, 565, 750, 940],
            Indicator::No2Hour => &[0, 100, 200, 700, 1200, 2340, 3090, 3840],
            Indicator::Pm10Day if y2026 => &[0, 50, 120, 250, 350, 420, 500, 600],
            Indicator::Pm10Day => &[0, 50, 150, 250, 350, 420, 500, 600],
            // CO in 0.1 mg/m3: 2, 4, 14, 24, 36, 48, 60 mg/m3.
            Indicator::CoDay => &[0, 20, 40, 140, 240, 360, 480, 600],
            // CO 1 h: 5, 10, 35, 60, 90, 120, 150 mg/m3.
            Indicator::CoHour => &[0, 50, 100, 350, 600, 900, 1200, 1500],
            Indicator::O3Hour => &[0, 160, 200, 300, 400, 800, 1000, 1200],
            // Table 1 note 3 / Table 3 note c: no row above 800.
            Indicator::O3Eight => &[0, 100, 160, 215, 265, 800],
            Indicator::Pm25Day if y2026 => &[0, 35, 60, 115, 150, 250, 350, 500],
            Indicator::Pm25Day => &[0, 35, 75, 115, 150, 250, 350, 500],
        }
    }
}

impl fmt::Display for Indicator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// IAQI values of the breakpoint rows (HJ 633 Table 1 / Table 3, first column).
pub const IAQI_ROWS: [u16; 8] = [0, 50, 100, 150, 200, 300, 400, 500];

/// Result of indexing one concentration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Iaqi {
    /// The sub-index.
    Value(u16),
    /// HJ 633-2012 special case: this column has no IAQI above its top row and the report
    /// uses the named indicator's IAQI instead (SO2 1 h > 800 → SO2 24 h;
    /// O3 8 h > 800 → O3 1 h).
    UseInstead(Indicator),
}

/// IAQI of a concentration already rounded to units (µg/m3, CO 0.1 mg/m3).
///
/// Above the top row: the editions' special cases for SO2 1 h (2012: use the 24-h IAQI;
/// 2026: IAQI 200) and O3 8 h (2012: use the 1-h IAQI; 2026: IAQI 300). For the other
/// columns the standard defines nothing above IAQI 500; we report 500 (what published
/// implementations do; STANDARDS.md 1.2, UNVERIFIED as a rule). Negative → `None`.
pub fn iaqi(edition: Edition, indicator: Indicator, units: i64) -> Option<Iaqi> {
    if units < 0 {
        return None;
    }
    let bp = indicator.breakpoints(edition);
    let top = *bp.last()?;
    if units > top {
        return Some(match (indicator, edition) {
            (Indicator::So2Hour, Edition::Hj633_2012) => Iaqi::UseInstead(Indicator::So2Day),
            (Indicator::So2Hour, Edition::Hj633_2026) => Iaqi::Value(200),
            (Indicator::O3Eight, Edition::Hj633_2012) => Iaqi::UseInstead(Indicator::O3Hour),
            (Indicator::O3Eight, Edition::Hj633_2026) => Iaqi::Value(300),
            _ => Iaqi::Value(500),
        });
    }
    // First segment whose upper breakpoint is >= C: at an exact breakpoint both segments
    // give the same value (STANDARDS.md 1.2).
    let seg = bp.windows(2).position(|w| units <= w[1])?;
    let (bp_lo, bp_hi) = (bp[seg], bp[seg + 1]);
    let (i_lo, i_hi) = (i64::from(IAQI_ROWS[seg]), i64::from(IAQI_ROWS[seg + 1]));
    let num = (i_hi - i_lo) * (units - bp_lo);
    let den = bp_hi - bp_lo;
    let value = i_lo + (num + den - 1) / den; // ceil for non-negative operands
    u16::try_from(value).ok().map(Iaqi::Value)
}

/// GB/T 8170 rounding ("四舍六入五成双") of `value` to `decimals`, returned scaled as an
/// integer (`1.25, 1 → 12`).
///
/// Exactness: the value is first written in decimal with 6 guard digits beyond
/// `decimals` (correctly rounded by Rust's formatter), then rounded in integers: round
/// half to even applies only when the guard digits are exactly `500000` ("exactly 5 with
/// nothing after it"). Means of decimal data computed in f64 sit within ~1e-12 of their
/// exact decimal value, so `(1.2 + 1.1) / 2` is treated as the exact 1.15 it stands for.
pub fn round_gbt8170_scaled(value: f64, decimals: u32) -> Option<i64> {
    if !value.is_finite() || value.abs() > 1e12 {
        return None;
    }
    // Fast path: far from a half, ordinary rounding is already exact.
    let scaled = value * 10f64.powi(decimals as i32);
    let frac = scaled - scaled.floor();
    if (frac - 0.5).abs() > 1e-4 {
        let r = if frac > 0.5 {
            scaled.floor() + 1.0
        } else {
            scaled.floor()
        };
        return Some(r as i64);
    }
    const GUARD: u32 = 6;
    let text = format!("{:.*}", (decimals + GUARD) as usize, value.abs());
    let digits: String = text.chars().filter(|c| *c != '.').collect();
    let n: i128 = digits.parse().ok()?;
    let base = 10i128.pow(GUARD);
    let (q, r) = (n / base, n % base);
    let half = base / 2;
    let rounded = if r > half || (r == half && q % 2 == 1) {
        q + 1
    } else {
        q
    };
    let signed = if value < 0.0 { -rounded } else { rounded };
    i64::try_from(signed).ok()
}

/// GB/T 8170 rounding returning the float (for reporting concentrations).
pub fn round_gbt8170(value: f64, decimals: u32) -> Option<f64> {
    round_gbt8170_scaled(value, decimals).map(|n| n as f64 / 10f64.powi(decimals as i32))
}

/// An AQI value (0..=500).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Aqi(pub u16);

impl Aqi {
    /// A good day / hour (优良): AQI <= 100, both editions (STANDARDS.md 1.5).
    pub fn is_good(self) -> bool {
        self.0 <= 100
    }

    pub fn level(self) -> Level {
        Level::from_aqi(self)
    }
}

impl fmt::Display for Aqi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// AQI level (HJ 633-2012 Table 2 / HJ 633-2026 Table 1): the same six bands in both
/// editions. HJ 633-2026 §4.1.1 states the range as 1–500; an all-zero input still
/// gives AQI 0 here and is placed in level 1 (UNVERIFIED how 2026 reports it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Level {
    L1 = 1,
    L2 = 2,
    L3 = 3,
    L4 = 4,
    L5 = 5,
    L6 = 6,
}

impl Level {
    pub fn from_aqi(aqi: Aqi) -> Level {
        match aqi.0 {
            0..=50 => Level::L1,
            51..=100 => Level::L2,
            101..=150 => Level::L3,
            151..=200 => Level::L4,
            201..=300 => Level::L5,
            _ => Level::L6,
        }
    }

    /// 1..=6.
    pub fn number(self) -> u8 {
        self as u8
    }

    /// 一级 … 六级.
    pub fn grade_zh(self) -> &'static str {
        ["一级", "二级", "三级", "四级", "五级", "六级"][usize::from(self.number() - 1)]
    }

    /// Category: 优, 良, 轻度污染, 中度污染, 重度污染, 严重污染.
    pub fn name_zh(self) -> &'static str {
        ["优", "良", "轻度污染", "中度污染", "重度污染", "严重污染"][usize::from(self.number() - 1)]
    }

    pub fn name_en(self) -> &'static str {
        [
            "Excellent",
            "Good",
            "Lightly polluted",
            "Moderately polluted",
            "Heavily polluted",
            "Severely polluted",
        ][usize::from(self.number() - 1)]
    }

    /// Colour name: 绿 green, 黄 yellow, 橙 orange, 红 red, 紫 purple, 褐红 maroon.
    pub fn colour_zh(self) -> &'static str {
        ["绿色", "黄色", "橙色", "红色", "紫色", "褐红色"][usize::from(self.number() - 1)]
    }

    pub fn colour_en(self) -> &'static str {
        ["green", "yellow", "orange", "red", "purple", "maroon"][usize::from(self.number() - 1)]
    }

    /// RGB of HJ 633 Appendix A.
    pub fn rgb(self) -> (u8, u8, u8) {
        [
            (0, 228, 0),
            (255, 255, 0),
            (255, 126, 0),
            (255, 0, 0),
            (153, 0, 76),
            (126, 0, 35),
        ][usize::from(self.number() - 1)]
    }
}

/// One indicator's contribution to an AQI.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SubIndex {
    pub indicator: Indicator,
    /// The rounded concentration that was indexed (µg/m3, CO mg/m3).
    pub concentration: f64,
    pub iaqi: u16,
}

/// AQI of one report (a station-day, a city-day, a station-hour).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AqiReport {
    /// IAQI of each indicator that had a value.
    pub sub_indices: Vec<SubIndex>,
    /// Indicators of the report type that had no (valid) value.
    pub missing: Vec<Indicator>,
    /// max(IAQI) over `sub_indices`; `None` when nothing could be indexed. With
    /// `missing` non-empty this is a lower bound of the true AQI.
    pub aqi: Option<Aqi>,
    /// Indicators whose IAQI equals the AQI, only when AQI > 50 (HJ 633 §4.4: ties → all).
    pub primary: Vec<Indicator>,
}

impl AqiReport {
    /// Every indicator of the report had a value.
    pub fn complete(&self) -> bool {
        self.missing.is_empty()
    }

    /// Whether the AQI is known well enough to publish: complete, or already above 100
    /// from the indicators present (HJ 633-2026 §5.3.1: missing pollutants can only raise
    /// the maximum, so AQI > 100 stands; otherwise it is `NA`).
    pub fn publishable_aqi(&self) -> Option<Aqi> {
        match self.aqi {
            Some(a) if self.complete() || a.0 > 100 => Some(a),
            _ => None,
        }
    }

    pub fn level(&self) -> Option<Level> {
        self.publishable_aqi().map(Level::from_aqi)
    }

    /// Primary pollutants (an O3 tie between 1 h and 8 h counts once).
    pub fn primary_pollutants(&self) -> Vec<Pollutant> {
        let mut out: Vec<Pollutant> = Vec::new();
        for i in &self.primary {
            if !out.contains(&i.pollutant()) {
                out.push(i.pollutant());
            }
        }
        out
    }

    /// Non-attainment indicators (超标污染物, IAQI > 100). HJ 633-2012 §4.4 only; the 2026
    /// edition deleted the notion, callers should not report it for 2026 days.
    pub fn non_attainment(&self) -> Vec<Indicator> {
        self.sub_indices
            .iter()
            .filter(|s| s.iaqi > 100)
            .map(|s| s.indicator)
            .collect()
    }

    pub fn iaqi_of(&self, indicator: Indicator) -> Option<u16> {
        self.sub_indices
            .iter()
            .find(|s| s.indicator == indicator)
            .map(|s| s.iaqi)
    }
}

/// Daily statistics of a station or city (raw, unrounded: rounding is part of indexing).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct DailyConcentrations {
    pub so2_24h: Option<f64>,
    pub no2_24h: Option<f64>,
    pub pm10_24h: Option<f64>,
    pub co_24h: Option<f64>,
    pub pm25_24h: Option<f64>,
    /// Daily maximum 1-h O3.
    pub o3_1h_max: Option<f64>,
    /// Daily maximum 8-h moving mean O3 (MDA8).
    pub o3_8h_max: Option<f64>,
}

impl DailyConcentrations {
    /// The value of a daily indicator.
    pub fn get(&self, indicator: Indicator) -> Option<f64> {
        match indicator {
            Indicator::So2Day => self.so2_24h,
            Indicator::No2Day => self.no2_24h,
            Indicator::Pm10Day => self.pm10_24h,
            Indicator::CoDay => self.co_24h,
            Indicator::Pm25Day => self.pm25_24h,
            Indicator::O3Hour => self.o3_1h_max,
            Indicator::O3Eight => self.o3_8h_max,
            _ => None,
        }
    }

    pub fn set(&mut self, indicator: Indicator, value: Option<f64>) {
        match indicator {
            Indicator::So2Day => self.so2_24h = value,
            Indicator::No2Day => self.no2_24h = value,
            Indicator::Pm10Day => self.pm10_24h = value,
            Indicator::CoDay => self.co_24h = value,
            Indicator::Pm25Day => self.pm25_24h = value,
            Indicator::O3Hour => self.o3_1h_max = value,
            Indicator::O3Eight => self.o3_8h_max = value,
            _ => {}
        }
    }
}

/// Daily AQI (日报) of one station or city (STANDARDS.md 1.6): 2012 indexes 7 indicators
/// (24-h means of SO2, NO2, PM10, CO, PM2.5, O3 max 1 h, O3 MDA8); 2026 drops the O3 1-h
/// maximum. O3 MDA8 > 800: 2012 uses the 1-h IAQI (already an indicator of the day), 2026
/// gives IAQI 300.
pub fn daily_aqi(edition: Edition, c: &DailyConcentrations) -> AqiReport {
    let inputs: Vec<(Indicator, Option<f64>)> = edition
        .daily_indicators()
        .iter()
        .map(|&i| (i, c.get(i)))
        .collect();
    build_report(edition, &inputs, &|_| None)
}

/// The inputs of a real-time (hourly) AQI.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct HourlyConcentrations {
    pub so2: Option<f64>,
    pub no2: Option<f64>,
    pub pm10: Option<f64>,
    pub co: Option<f64>,
    pub o3: Option<f64>,
    pub pm25: Option<f64>,
    /// SO2 24-h moving mean ending at this hour: HJ 633-2012 indexes it instead of the
    /// 1-h value when SO2 1 h > 800.
    pub so2_24h: Option<f64>,
}

/// Real-time (hourly) AQI as CNEMC computes it (STANDARDS.md 1.6, verified 783/783 on
/// published data): the six 1-h concentrations only — SO2, NO2, CO, O3 on their 1-h
/// columns, PM10 and PM2.5 on the 24-h PM columns. This is what HJ 633-2026 wrote down;
/// the 2012 text also lists O3 8 h and the PM 24-h moving means, which CNEMC does not
/// index. SO2 1 h > 800: 2012 indexes the SO2 24-h mean, 2026 gives 200.
pub fn hourly_aqi(edition: Edition, c: &HourlyConcentrations) -> AqiReport {
    let inputs = [
        (Indicator::So2Hour, c.so2),
        (Indicator::No2Hour, c.no2),
        (Indicator::Pm10Day, c.pm10),
        (Indicator::CoHour, c.co),
        (Indicator::O3Hour, c.o3),
        (Indicator::Pm25Day, c.pm25),
    ];
    let so2_24h = c.so2_24h;
    build_report(edition, &inputs, &move |i| match i {
        Indicator::So2Day => so2_24h,
        _ => None,
    })
}

/// Index each input, resolve the 2012 "use instead" cases, take the max, find primaries.
/// `fallback` supplies concentrations for substitute indicators that are not inputs.
fn build_report(
    edition: Edition,
    inputs: &[(Indicator, Option<f64>)],
    fallback: &dyn Fn(Indicator) -> Option<f64>,
) -> AqiReport {
    let mut report = AqiReport::default();
    let value_of = |ind: Indicator| -> Option<f64> {
        inputs
            .iter()
            .find(|(i, _)| *i == ind)
            .and_then(|(_, v)| *v)
            .or_else(|| fallback(ind))
    };
    for &(indicator, value) in inputs {
        let Some(value) = value else {
            report.missing.push(indicator);
            continue;
        };
        let Some(units) = indicator.pollutant().to_units(value) else {
            report.missing.push(indicator);
            continue;
        };
        let scale = 10f64.powi(indicator.pollutant().decimals() as i32);
        match iaqi(edition, indicator, units) {
            Some(Iaqi::Value(v)) => report.sub_indices.push(SubIndex {
                indicator,
                concentration: units as f64 / scale,
                iaqi: v,
            }),
            Some(Iaqi::UseInstead(sub)) => {
                // Already an input of this report (O3 1 h in the 2012 daily AQI): it is
                // indexed in its own right, nothing to add.
                if inputs.iter().any(|(i, _)| *i == sub) {
                    continue;
                }
                let sub_val = value_of(sub).and_then(|v| sub.pollutant().to_units(v));
                match sub_val.and_then(|u| iaqi(edition, sub, u).map(|r| (u, r))) {
                    Some((u, Iaqi::Value(v))) => report.sub_indices.push(SubIndex {
                        indicator: sub,
                        concentration: u as f64 / scale,
                        iaqi: v,
                    }),
                    _ => report.missing.push(indicator),
                }
            }
            None => report.missing.push(indicator),
        }
    }
    report.aqi = report.sub_indices.iter().map(|s| Aqi(s.iaqi)).max();
    if let Some(aqi) = report.aqi.filter(|a| a.0 > 50) {
        report.primary = report
            .sub_indices
            .iter()
            .filter(|s| s.iaqi == aqi.0)
            .map(|s| s.indicator)
            .collect();
    }
    report
}

#[cfg(test)]
mod tests;
