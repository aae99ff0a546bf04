//! Good-day ratio (优良天数比例, STANDARDS.md 2.8): days with a valid daily AQI <= 100 over
//! days with a valid daily AQI, per city, for each month (month-to-date for the last
//! one), each year (year-to-date) and an optional period; compared with the target, and
//! whether the YEAR's target can still be met if every remaining day of the year is a
//! valid good day (the best case).

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};

use super::{CityDay, by_city};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PeriodKind {
    Month,
    Year,
    /// `--from/--to`.
    Range,
}

impl PeriodKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PeriodKind::Month => "month",
            PeriodKind::Year => "year",
            PeriodKind::Range => "period",
        }
    }
}

/// One city and period.
#[derive(Debug, Clone, PartialEq)]
pub struct RatioRow {
    pub city: String,
    pub kind: PeriodKind,
    /// `2019-11`, `2019`, or `2019-11-11..2019-11-13`.
    pub label: String,
    pub from: NaiveDate,
    /// Last day counted: the period's end or the last day with data, whichever is first.
    pub to: NaiveDate,
    /// Calendar days from..=to.
    pub days: u32,
    pub good_days: u32,
    pub valid_days: u32,
    /// good / valid; `None` without valid days.
    pub ratio: Option<f64>,
    pub target: f64,
    pub meets_target: Option<bool>,
    /// Year-to-date (as of `to`) counts behind the reachability verdict.
    pub ytd_good_days: u32,
    pub ytd_valid_days: u32,
    /// Days of the year after `to`.
    pub days_left_in_year: u32,
    /// Year ratio if every remaining day is a valid good day.
    pub best_case_year_ratio: Option<f64>,
    /// The year's target can still be met.
    pub reachable_this_year: bool,
}

/// Ratios for every city in `cities` (see module doc). `range` limits the days counted
/// and adds a [`PeriodKind::Range`] row.
pub fn ratio(
    cities: &[CityDay],
    target: f64,
    range: Option<(NaiveDate, NaiveDate)>,
) -> Vec<RatioRow> {
    let mut out = Vec::new();
    for (city, days) in by_city(cities) {
        // date → (valid, good)
        let tally: BTreeMap<NaiveDate, (bool, bool)> = days
            .iter()
            .map(|d| (d.judgement.date, (d.judgement.valid(), d.judgement.good())))
            .collect();
        let (Some(&data_first), Some(&data_last)) = (tally.keys().next(), tally.keys().next_back())
        else {
            continue;
        };
        let (lo, hi) = match range {
            Some((a, b)) => (a, b.min(data_last)),
            None => (data_first, data_last),
        };
        if lo > hi {
            continue;
        }
        let count = |a: NaiveDate, b: NaiveDate| -> (u32, u32) {
            tally
                .range(a..=b)
                .fold((0, 0), |(g, v), (_, &(valid, good))| {
                    (g + u32::from(good), v + u32::from(valid))
                })
        };
        let row = |kind: PeriodKind, label: String, from: NaiveDate, to: NaiveDate| {
            let (good, valid) = count(from, to);
            let year_start = NaiveDate::from_ymd_opt(to.year(), 1, 1).unwrap_or(to);
            let year_end = NaiveDate::from_ymd_opt(to.year(), 12, 31).unwrap_or(to);
            let (ytd_good, ytd_valid) = count(year_start, to);
            let left = (year_end - to).num_days().max(0) as u32;
            let best = share(ytd_good + left, ytd_valid + left);
            let ratio = share(good, valid);
            RatioRow {
                city: city.to_string(),
                kind,
                label,
                from,
                to,
                days: (to - from).num_days() as u32 + 1,
                good_days: good,
                valid_days: valid,
                ratio,
                target,
                meets_target: ratio.map(|r| r + 1e-12 >= target),
                ytd_good_days: ytd_good,
                ytd_valid_days: ytd_valid,
                days_left_in_year: left,
                best_case_year_ratio: best,
                reachable_this_year: best.is_none_or(|b| b + 1e-12 >= target),
            }
        };
        // months
        let mut m = NaiveDate::from_ymd_opt(lo.year(), lo.month(), 1).unwrap_or(lo);
        while m <= hi {
            let next = m
                .checked_add_months(chrono::Months::new(1))
                .unwrap_or(hi.succ_opt().unwrap_or(hi));
            let to = hi.min(next.pred_opt().unwrap_or(next));
            out.push(row(
                PeriodKind::Month,
                format!("{:04}-{:02}", m.year(), m.month()),
                m.max(lo),
                to,
            ));
            m = next;
        }
        // years
        for y in lo.year()..=hi.year() {
            let from = NaiveDate::from_ymd_opt(y, 1, 1).unwrap_or(lo).max(lo);
            let to = NaiveDate::from_ymd_opt(y, 12, 31).unwrap_or(hi).min(hi);
            out.push(row(PeriodKind::Year, format!("{y}"), from, to));
        }
        if range.is_some() {
            out.push(row(PeriodKind::Range, format!("{lo}..{hi}"), lo, hi));
        }
    }
    out
}

fn share(num: u32, den: u32) -> Option<f64> {
    (den > 0).then(|| f64::from(num) / f64::from(den))
}
