//! HJ 663 / GB 3095 assessment rules: data-validity minimums (GB 3095-2012/2026 Table 4,
//! STANDARDS.md 2.3), the MDA8 window set (2.5), how a city value is formed (2.6) and the
//! HJ 663 percentile (2.7). Every number is a field of [`ValidityRules`] so a bureau can
//! follow a newer HJ 663 without a code change.

use serde::{Deserialize, Serialize};

/// How a city's daily concentration is formed from its assessment stations (STANDARDS.md 2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CityAveraging {
    /// Mean of the valid station daily statistics (24-h means, O3 max 1 h, MDA8) of the
    /// city's non-control stations; each station statistic must itself be valid. This is
    /// the "点位平均" wording of HJ 663 as implemented by the public reference code (S13)
    /// and the default.
    #[default]
    StationDaily,
    /// Mean of the stations' valid hourly values per hour first (CNEMC's real-time city
    /// series), then the daily statistics of that city series with the same validity rules.
    Hourly,
}

/// Minimum data for a statistic to be valid. Defaults: GB 3095 Table 4 (identical in the
/// 2012 and 2026 editions) plus the HJ 663 MDA8 rule noted below.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ValidityRules {
    /// Hourly values needed for a 24-h mean (SO2, NO2, CO, PM10, PM2.5): 20.
    pub min_hours_daily_mean: u32,
    /// Hourly values needed for the day's maximum 1-h O3: 20. UNVERIFIED: GB 3095 Table 4
    /// has no row for it; we apply the daily-statistic minimum.
    pub min_hours_o3_1h_max: u32,
    /// Hourly values needed in each 8-h O3 window: 6 of 8.
    pub min_hours_o3_8h_window: u32,
    /// Valid 8-h windows (of the 17 ending 08:00…24:00) needed for the MDA8: 14.
    /// HJ 663-2013 as quoted in a public code comment ("当日8时至24时至少有14个有效8小时
    /// 平均浓度值。当不满足14个有效数据时，若日最大8小时平均浓度超过浓度限值标准时，统计结果
    /// 仍有效", found with find_string "有效8小时"); not checked against the official text,
    /// hence configurable (STANDARDS.md 2.5).
    pub min_o3_8h_windows: u32,
    /// With fewer windows, the MDA8 still counts when it exceeds this value (the grade-II
    /// limit 160 µg/m3): a day already over the limit cannot become compliant with more
    /// data. Same source as the rule above; `None` disables the exception.
    pub o3_8h_keep_if_above: Option<f64>,
    /// City statistic valid when at least this many stations have a valid value.
    pub min_city_stations: u32,
    /// See [`CityAveraging`].
    pub city_averaging: CityAveraging,
}

impl Default for ValidityRules {
    fn default() -> Self {
        ValidityRules {
            min_hours_daily_mean: 20,
            min_hours_o3_1h_max: 20,
            min_hours_o3_8h_window: 6,
            min_o3_8h_windows: 14,
            o3_8h_keep_if_above: Some(160.0),
            min_city_stations: 1,
            city_averaging: CityAveraging::StationDaily,
        }
    }
}

/// Hours per 8-h window.
pub const O3_WINDOW_HOURS: u32 = 8;

/// The MDA8 windows of a natural day, as the local START hours they cover: window `k`
/// covers start hours `k ..= k + 7`, i.e. the end-labelled hours `k+1 … k+8`. The 17
/// windows ending 08:00 … 24:00 (STANDARDS.md 2.5: all inside the day; CNEMC's
/// `O3_8h_24h` at the closing hour equals their maximum).
pub const MDA8_WINDOW_STARTS: std::ops::RangeInclusive<u32> = 0..=16;

/// HJ 663 percentile of valid values (STANDARDS.md 2.7): sort ascending, `k = 1 +
/// (n−1)·p/100`, interpolate between X_floor(k) and the next. `None` for no data.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() || !(0.0..=100.0).contains(&p) {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let k = 1.0 + (n as f64 - 1.0) * p / 100.0;
    let s = k.floor() as usize; // 1-based
    if s >= n {
        return v.last().copied();
    }
    Some(v[s - 1] + (v[s] - v[s - 1]) * (k - s as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_matches_hj663_formula() {
        // n = 5, p = 90: k = 1 + 4·0.9 = 4.6 → X4 + 0.6·(X5 − X4)
        let v = [10.0, 50.0, 20.0, 40.0, 30.0];
        assert!((percentile(&v, 90.0).unwrap() - 46.0).abs() < 1e-12);
        assert_eq!(percentile(&v, 100.0), Some(50.0));
        assert_eq!(percentile(&v, 0.0), Some(10.0));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn defaults_are_gb3095_table4() {
        let r = ValidityRules::default();
        assert_eq!(r.min_hours_daily_mean, 20);
        assert_eq!(r.min_hours_o3_8h_window, 6);
        assert_eq!(MDA8_WINDOW_STARTS.count(), 17);
    }
}
