//! Judgement periods and their local calendar boundaries.

use chrono::{DateTime, Datelike, LocalResult, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use super::JudgeError;

/// How readings are grouped before classing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    /// Each reading time on its own (real-time class).
    Reading,
    /// Local calendar day.
    Day,
    /// Local calendar month.
    Month,
}

impl Period {
    pub fn name(self) -> &'static str {
        match self {
            Period::Reading => "reading",
            Period::Day => "day",
            Period::Month => "month",
        }
    }

    /// `2026-02-04T11:00:00+08:00`, `2026-02-04` or `2026-02` in `tz`.
    pub fn label(self, start: DateTime<Utc>, tz: Tz) -> String {
        let local = start.with_timezone(&tz);
        match self {
            Period::Reading => local.to_rfc3339(),
            Period::Day => local.format("%Y-%m-%d").to_string(),
            Period::Month => local.format("%Y-%m").to_string(),
        }
    }
}

/// UTC instant (ms) of local midnight starting `date` in `tz`; on a day whose midnight is
/// skipped by a DST change, the first instant of that day.
fn local_midnight_ms(date: NaiveDate, tz: Tz) -> Option<i64> {
    let midnight = date.and_hms_opt(0, 0, 0)?;
    match tz.from_local_datetime(&midnight) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Some(t.timestamp_millis()),
        LocalResult::None => (1..=4)
            .filter_map(|h| date.and_hms_opt(h, 0, 0))
            .find_map(|t| tz.from_local_datetime(&t).earliest())
            .map(|t| t.timestamp_millis()),
    }
}

fn next_boundary(date: NaiveDate, period: Period) -> Option<NaiveDate> {
    match period {
        Period::Reading => None,
        Period::Day => date.succ_opt(),
        Period::Month => {
            let (y, m) = if date.month() == 12 {
                (date.year() + 1, 1)
            } else {
                (date.year(), date.month() + 1)
            };
            NaiveDate::from_ymd_opt(y, m, 1)
        }
    }
}

/// Maps each time (UTC ms) to the start (UTC ms) of its local day or month in `tz`.
/// Boundaries are computed once per period between the earliest and latest time, then
/// each time is placed by binary search: no per-row time-zone arithmetic.
pub(super) fn period_starts(times: &[i64], period: Period, tz: Tz) -> Result<Vec<i64>, JudgeError> {
    if period == Period::Reading {
        return Ok(times.to_vec());
    }
    let err = || JudgeError::Calendar(period.name().to_string(), tz.name().to_string());
    let (Some(&min), Some(&max)) = (times.iter().min(), times.iter().max()) else {
        return Ok(Vec::new());
    };
    let first = DateTime::<Utc>::from_timestamp_millis(min)
        .ok_or_else(err)?
        .with_timezone(&tz)
        .date_naive();
    let mut date = match period {
        Period::Month => first.with_day(1).ok_or_else(err)?,
        _ => first,
    };
    let mut bounds = Vec::new();
    loop {
        let b = local_midnight_ms(date, tz).ok_or_else(err)?;
        if b > max {
            break;
        }
        bounds.push(b);
        date = next_boundary(date, period).ok_or_else(err)?;
    }
    Ok(times
        .iter()
        .map(|&t| {
            let i = bounds.partition_point(|&b| b <= t);
            bounds[i.saturating_sub(1)]
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).map_or(i64::MIN, |t| t.timestamp_millis())
    }

    #[test]
    fn local_days_not_utc_days() {
        let tz = chrono_tz::Asia::Shanghai;
        // 2026-02-03T23:30 UTC is 07:30 on Feb 4 in Shanghai; 15:59 UTC is 23:59 local.
        let times = [
            ms("2026-02-03T23:30:00Z"),
            ms("2026-02-04T15:59:00Z"),
            ms("2026-02-04T16:00:00Z"),
        ];
        let days = period_starts(&times, Period::Day, tz).unwrap_or_default();
        let feb4 = ms("2026-02-04T00:00:00+08:00");
        let feb5 = ms("2026-02-05T00:00:00+08:00");
        assert_eq!(days, vec![feb4, feb4, feb5]);
        let months = period_starts(&times, Period::Month, tz).unwrap_or_default();
        assert_eq!(months, vec![ms("2026-02-01T00:00:00+08:00"); 3]);
        let label = Period::Day.label(
            DateTime::from_timestamp_millis(feb4).unwrap_or_default(),
            tz,
        );
        assert_eq!(label, "2026-02-04");
    }

    #[test]
    fn month_boundaries_cross_the_year() {
        let tz = chrono_tz::Asia::Shanghai;
        let times = [
            ms("2025-12-31T23:00:00+08:00"),
            ms("2026-01-01T00:00:00+08:00"),
        ];
        let m = period_starts(&times, Period::Month, tz).unwrap_or_default();
        assert_eq!(
            m,
            vec![
                ms("2025-12-01T00:00:00+08:00"),
                ms("2026-01-01T00:00:00+08:00")
            ]
        );
    }
}
