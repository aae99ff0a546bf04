//! The offline long-CSV interface (DESIGN.md "Offline interfaces"):
//! `station,time,parameter,value[,flag]`, one reading per line, shared by the air and
//! water commands. Sites are not checked here (the reader does not know whether it reads
//! air stations or water sections — validating the site is the caller's job); every
//! other field is parsed into types at this edge.
//!
//! A bad row never aborts the file: it becomes a [`RowError`] with its line number and
//! the field at fault, and the caller decides (`--strict`) whether that is fatal.

use std::fmt;
use std::io::BufRead;
use std::path::Path;

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::config::HourLabel;
use crate::model::{DataFlag, Period, Reading, SiteId};
use crate::standards::parameter::Parameter;

/// What a long CSV file held.
#[derive(Debug, Default)]
pub struct LongCsv {
    pub readings: Vec<Reading>,
    /// Source line number (1-based, the header is line 1) of each reading, parallel to
    /// `readings`, for messages about a reading later on.
    pub lines: Vec<usize>,
    pub errors: Vec<RowError>,
    /// Data rows seen (excluding header and blank lines).
    pub rows: usize,
}

/// One rejected row.
#[derive(Debug, Clone, PartialEq)]
pub struct RowError {
    /// 1-based line number in the file.
    pub line: usize,
    pub kind: RowErrorKind,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RowErrorKind {
    #[error("expected {expected} fields, found {found}")]
    FieldCount { expected: usize, found: usize },
    #[error("empty site (station/section) field")]
    EmptySite,
    #[error(
        "field time: cannot parse \"{0}\" as RFC 3339 with offset (e.g. 2026-03-01T08:00:00+08:00)"
    )]
    Time(String),
    #[error(
        "field parameter: unknown parameter \"{0}\" (expected a name like PM2.5, O3, NH3-N or an HJ 212 code like a34004)"
    )]
    UnknownParameter(String),
    #[error("field value: \"{0}\" is not a number")]
    Value(String),
    #[error("field value: {value} is negative ({parameter})")]
    Negative { parameter: Parameter, value: f64 },
    #[error("field value: {value} {unit} is outside the physical range {lo}..={hi} of {parameter}")]
    OutOfRange {
        parameter: Parameter,
        value: f64,
        unit: &'static str,
        lo: f64,
        hi: f64,
    },
    #[error("field flag: unknown HJ 212 data flag \"{0}\" (expected N, F, M, S, D, C, T or B)")]
    Flag(String),
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.kind)
    }
}

/// A problem with the file as a whole (it cannot be read at all).
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path}: line 1: header must name the columns station (or section/site), time, parameter, value and optionally flag; found \"{found}\""
    )]
    Header { path: String, found: String },
}

/// Column positions found in the header.
#[derive(Debug, Clone, Copy)]
struct Columns {
    site: usize,
    time: usize,
    parameter: usize,
    value: usize,
    flag: Option<usize>,
    count: usize,
}

impl Columns {
    fn from_header(fields: &[&str]) -> Option<Columns> {
        let find = |names: &[&str]| {
            fields
                .iter()
                .position(|f| names.iter().any(|n| f.trim().eq_ignore_ascii_case(n)))
        };
        Some(Columns {
            site: find(&["station", "section", "site"])?,
            time: find(&["time"])?,
            parameter: find(&["parameter"])?,
            value: find(&["value"])?,
            flag: find(&["flag"]),
            count: fields.len(),
        })
    }
}

/// Reads a long CSV file. `hour_label` says how the file stamps hourly values; readings
/// come out stamped with the START of their hour ([`Reading::time`]'s convention).
pub fn read_long_csv(path: &Path, hour_label: HourLabel) -> Result<LongCsv, CsvError> {
    let file = std::fs::File::open(path).map_err(|source| CsvError::Io {
        path: path.display().to_string(),
        source,
    })?;
    parse_long_csv(
        std::io::BufReader::new(file),
        &path.display().to_string(),
        hour_label,
    )
}

/// Parses a long CSV from any reader (`name` is used in file-level errors).
pub fn parse_long_csv<R: BufRead>(
    reader: R,
    name: &str,
    hour_label: HourLabel,
) -> Result<LongCsv, CsvError> {
    let mut out = LongCsv::default();
    let mut columns: Option<Columns> = None;
    for (idx, line) in reader.lines().enumerate() {
        let line_no = idx + 1;
        let line = line.map_err(|source| CsvError::Io {
            path: format!("{name}: line {line_no}"),
            source,
        })?;
        let line = line.trim_end_matches('\r');
        let line = if line_no == 1 {
            line.trim_start_matches('\u{feff}')
        } else {
            line
        };
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let fields = split_csv_line(line);
        let Some(cols) = columns else {
            let refs: Vec<&str> = fields.iter().map(String::as_str).collect();
            columns = Some(Columns::from_header(&refs).ok_or_else(|| CsvError::Header {
                path: name.to_string(),
                found: line.to_string(),
            })?);
            continue;
        };
        out.rows += 1;
        match parse_row(&fields, &cols, hour_label) {
            Ok(r) => {
                out.readings.push(r);
                out.lines.push(line_no);
            }
            Err(kind) => out.errors.push(RowError {
                line: line_no,
                kind,
            }),
        }
    }
    if columns.is_none() {
        return Err(CsvError::Header {
            path: name.to_string(),
            found: String::new(),
        });
    }
    Ok(out)
}

fn parse_row(
    fields: &[String],
    cols: &Columns,
    hour_label: HourLabel,
) -> Result<Reading, RowErrorKind> {
    // A trailing flag column may be left off.
    let min = cols.count - usize::from(cols.flag == Some(cols.count - 1));
    if fields.len() < min || fields.len() > cols.count {
        return Err(RowErrorKind::FieldCount {
            expected: cols.count,
            found: fields.len(),
        });
    }
    let site = fields[cols.site].trim();
    if site.is_empty() {
        return Err(RowErrorKind::EmptySite);
    }
    let time_raw = fields[cols.time].trim();
    let mut time = parse_time(time_raw).ok_or_else(|| RowErrorKind::Time(time_raw.into()))?;
    if hour_label == HourLabel::End {
        time -= Duration::hours(1);
    }
    let param_raw = fields[cols.parameter].trim();
    let parameter = Parameter::lookup(param_raw)
        .ok_or_else(|| RowErrorKind::UnknownParameter(param_raw.into()))?;
    let value_raw = fields[cols.value].trim();
    let value: f64 = value_raw
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite())
        .ok_or_else(|| RowErrorKind::Value(value_raw.into()))?;
    if value < 0.0 && parameter.physical_range().0 >= 0.0 {
        return Err(RowErrorKind::Negative { parameter, value });
    }
    if !parameter.in_physical_range(value) {
        let (lo, hi) = parameter.physical_range();
        return Err(RowErrorKind::OutOfRange {
            parameter,
            value,
            unit: parameter.unit(),
            lo,
            hi,
        });
    }
    let flag = match cols.flag.and_then(|i| fields.get(i)) {
        Some(f) => DataFlag::parse(f).ok_or_else(|| RowErrorKind::Flag(f.trim().into()))?,
        None => DataFlag::N,
    };
    // Long CSV files (exports, backfill) hold hourly data.
    Ok(Reading {
        site: SiteId::new(site),
        parameter,
        time,
        period: Period::Hour,
        value,
        flag,
    })
}

/// RFC 3339 with offset; also accepts a space for `T` and the hour label `24:00`
/// (published CNEMC files write the day's closing hour that way) as next-day 00:00.
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    // "YYYY-MM-DDT24:00:00+08:00"
    let (date, rest) = s.split_at_checked(10)?;
    let rest = rest.strip_prefix(['T', ' '])?;
    let rest = rest.strip_prefix("24:00")?;
    let rest = rest.strip_prefix(":00").unwrap_or(rest);
    let day = NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
    let next = day.succ_opt()?;
    let t = DateTime::parse_from_rfc3339(&format!("{next}T00:00:00{rest}")).ok()?;
    Some(t.with_timezone(&Utc))
}

/// Splits one CSV line (RFC 4180 quoting: `"a,b"`, `""` for a quote).
fn split_csv_line(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_quotes = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, in_quotes) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', true) => in_quotes = false,
            ('"', false) if cur.is_empty() => in_quotes = true,
            (',', false) => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, label: HourLabel) -> LongCsv {
        parse_long_csv(text.as_bytes(), "t.csv", label).unwrap()
    }

    #[test]
    fn reads_rows_and_reports_bad_ones_with_line_numbers() {
        let text = "station,time,parameter,value,flag\n\
            1223A,2019-11-11T01:00:00+08:00,PM2.5,35,N\n\
            1223A,2019-11-11T01:00:00+08:00,a21005,0.8,\n\
            1223A,yesterday,PM10,40,N\n\
            1223A,2019-11-11T01:00:00+08:00,AQI_published,82,N\n\
            1223A,2019-11-11T01:00:00+08:00,SO2,-3,N\n\
            1223A,2019-11-11T01:00:00+08:00,NO2,abc,N\n\
            1223A,2019-11-11T01:00:00+08:00,O3,50,X\n\
            ,2019-11-11T01:00:00+08:00,O3,50,N\n\
            W1,2026-02-04T10:00:00+08:00,NH3-N,0.4,M\n";
        let csv = parse(text, HourLabel::Start);
        assert_eq!(csv.rows, 9);
        assert_eq!(csv.readings.len(), 3);
        assert_eq!(csv.readings[1].parameter, Parameter::Co);
        assert_eq!(csv.readings[2].flag, DataFlag::M);
        assert_eq!(csv.readings[2].site.as_str(), "W1");
        let lines: Vec<usize> = csv.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![4, 5, 6, 7, 8, 9]);
        assert!(matches!(csv.errors[0].kind, RowErrorKind::Time(_)));
        assert!(matches!(
            csv.errors[1].kind,
            RowErrorKind::UnknownParameter(_)
        ));
        assert!(matches!(csv.errors[2].kind, RowErrorKind::Negative { .. }));
        assert!(
            csv.errors[1]
                .to_string()
                .starts_with("line 5: field parameter")
        );
    }

    #[test]
    fn end_labelled_hours_are_shifted_to_their_start() {
        let text = "station,time,parameter,value\n1223A,2019-11-12T00:00:00+08:00,O3,10\n";
        let end = parse(text, HourLabel::End);
        let start = parse(text, HourLabel::Start);
        assert_eq!(
            end.readings[0].time.to_rfc3339(),
            "2019-11-11T15:00:00+00:00" // 23:00 local, the last hour of the 11th
        );
        assert_eq!(
            start.readings[0].time.to_rfc3339(),
            "2019-11-11T16:00:00+00:00"
        );
    }

    #[test]
    fn hour_24_and_quotes() {
        assert_eq!(
            parse_time("2019-11-11T24:00:00+08:00"),
            parse_time("2019-11-12T00:00:00+08:00")
        );
        assert_eq!(parse_time("2019-11-11T08:00:00"), None);
        assert_eq!(split_csv_line(r#"a,"b,c",""""#), vec!["a", "b,c", "\""]);
    }

    #[test]
    fn header_is_required() {
        let e = parse_long_csv("1223A,t,PM2.5,3\n".as_bytes(), "x.csv", HourLabel::Start);
        assert!(matches!(e, Err(CsvError::Header { .. })));
    }
}
