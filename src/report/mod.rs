//! `envwatch report`: a district environmental-quality report (white-paper style) for a
//! month or a year, from the store's readings re-judged with the judge libraries (so the
//! numbers equal `envwatch air ratio` / `envwatch water classify` on the same readings).
//!
//! Split: [`data`] loads and judges, [`charts`] draws SVG (plotters, no fonts needed:
//! SVG text elements), [`html`] and [`md`] lay out, [`i18n`] holds the words.

pub mod charts;
pub mod data;
pub mod html;
pub mod i18n;
pub mod md;

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use chrono::NaiveDate;

pub use data::{ReportData, ReportInputs, load};
pub use i18n::Lang;

/// The reported period: one calendar month or one calendar year (local days).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportPeriod {
    Month { year: i32, month: u32 },
    Year(i32),
}

impl ReportPeriod {
    /// `2026-10` or `2026`.
    pub fn parse(s: &str) -> anyhow::Result<ReportPeriod> {
        let bad = || format!("--period {s}: expected a month (2026-10) or a year (2026)");
        let p = match s.split_once('-') {
            Some((y, m)) => {
                let year: i32 = y.parse().with_context(bad)?;
                let month: u32 = m.parse().with_context(bad)?;
                if !(1..=12).contains(&month) {
                    bail!("{}", bad());
                }
                ReportPeriod::Month { year, month }
            }
            None => ReportPeriod::Year(s.parse().with_context(bad)?),
        };
        let year = match p {
            ReportPeriod::Month { year, .. } | ReportPeriod::Year(year) => year,
        };
        if !(1970..=9999).contains(&year) {
            bail!("{}", bad());
        }
        Ok(p)
    }

    /// First local day.
    pub fn first(self) -> NaiveDate {
        match self {
            ReportPeriod::Month { year, month } => NaiveDate::from_ymd_opt(year, month, 1),
            ReportPeriod::Year(y) => NaiveDate::from_ymd_opt(y, 1, 1),
        }
        .unwrap_or(NaiveDate::MIN)
    }

    /// Last local day (inclusive).
    pub fn last(self) -> NaiveDate {
        let first = self.first();
        let next = match self {
            ReportPeriod::Month { .. } => first.checked_add_months(chrono::Months::new(1)),
            ReportPeriod::Year(_) => first.checked_add_months(chrono::Months::new(12)),
        };
        next.and_then(|d| d.pred_opt()).unwrap_or(first)
    }

    pub fn label(self) -> String {
        match self {
            ReportPeriod::Month { year, month } => format!("{year:04}-{month:02}"),
            ReportPeriod::Year(y) => format!("{y:04}"),
        }
    }

    /// Months (first days) covered.
    pub fn months(self) -> Vec<NaiveDate> {
        let mut out = Vec::new();
        let mut m = self.first();
        while m <= self.last() {
            out.push(m);
            match m.checked_add_months(chrono::Months::new(1)) {
                Some(n) => m = n,
                None => break,
            }
        }
        out
    }

    pub fn is_year(self) -> bool {
        matches!(self, ReportPeriod::Year(_))
    }

    pub fn contains(self, d: NaiveDate) -> bool {
        d >= self.first() && d <= self.last()
    }
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Html,
    Markdown,
}

/// Writes the report of `data` into `out` (created if needed); returns the main file.
pub fn write(data: &ReportData, format: Format, lang: Lang, out: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(out)
        .with_context(|| format!("cannot create output directory {}", out.display()))?;
    let t = i18n::texts(lang);
    let set = charts::render_all(data, t)?;
    let stem = format!("envwatch-report-{}", data.period.label());
    match format {
        Format::Html => {
            let path = out.join(format!("{stem}.html"));
            let doc = html::render(data, &set, t);
            std::fs::write(&path, doc)
                .with_context(|| format!("cannot write {}", path.display()))?;
            Ok(path)
        }
        Format::Markdown => {
            let dir = out.join(format!("{stem}-charts"));
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            let mut links = Vec::new();
            for (name, svg) in set.named() {
                let file = dir.join(format!("{name}.svg"));
                std::fs::write(&file, svg)
                    .with_context(|| format!("cannot write {}", file.display()))?;
                links.push((name, format!("{stem}-charts/{name}.svg")));
            }
            let path = out.join(format!("{stem}.md"));
            let doc = md::render(data, &links, t);
            std::fs::write(&path, doc)
                .with_context(|| format!("cannot write {}", path.display()))?;
            Ok(path)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_parse_and_bound() {
        let m = ReportPeriod::parse("2026-02").unwrap();
        assert_eq!(m.first(), NaiveDate::from_ymd_opt(2026, 2, 1).unwrap());
        assert_eq!(m.last(), NaiveDate::from_ymd_opt(2026, 2, 28).unwrap());
        let y = ReportPeriod::parse("2024").unwrap();
        assert_eq!(y.last(), NaiveDate::from_ymd_opt(2024, 12, 31).unwrap());
        assert_eq!(y.months().len(), 12);
        assert!(ReportPeriod::parse("2026-13").is_err());
        assert!(ReportPeriod::parse("26x").is_err());
    }
}
