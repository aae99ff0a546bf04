//! Long CSV reader `station,time,parameter,value[,flag]` → [`Reading`]s, with one error
//! per bad line (never a stop). Stand-in for the shared `decode/csv.rs`: everything goes
//! through [`read_long_csv`] / [`read_long_csv_numbered`] so the swap is one line.

use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::model::{DataFlag, Reading, SiteId};
use crate::standards::parameter::Parameter;

/// A line that could not be read, with the file, line and field at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub file: PathBuf,
    /// 1-based line number.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
    }
}

/// A reading with the line it came from (for later per-line messages, e.g. an unknown
/// section).
#[derive(Debug, Clone, PartialEq)]
pub struct LineReading {
    pub line: usize,
    pub reading: Reading,
}

/// Reads a long CSV; bad lines become [`LineError`]s. Fails only when the file cannot be
/// read or has no usable header.
pub fn read_long_csv(path: &Path) -> std::io::Result<(Vec<Reading>, Vec<LineError>)> {
    let (rows, errors) = read_long_csv_numbered(path)?;
    Ok((rows.into_iter().map(|r| r.reading).collect(), errors))
}

/// Like [`read_long_csv`], keeping each reading's line number.
pub fn read_long_csv_numbered(path: &Path) -> std::io::Result<(Vec<LineReading>, Vec<LineError>)> {
    let text = std::fs::read_to_string(path)?;
    parse_long_csv(&text, path)
        .map_err(|msg| std::io::Error::new(std::io::ErrorKind::InvalidData, msg))
}

/// Column positions found in the header.
struct Header {
    site: usize,
    time: usize,
    parameter: usize,
    value: usize,
    flag: Option<usize>,
}

fn parse_header(fields: &[String], path: &Path) -> Result<Header, String> {
    let find = |names: &[&str]| {
        fields
            .iter()
            .position(|f| names.iter().any(|n| f.trim().eq_ignore_ascii_case(n)))
    };
    let missing = |what: &str| {
        format!(
            "{}:1: header has no `{what}` column (expected station,time,parameter,value[,flag])",
            path.display()
        )
    };
    Ok(Header {
        site: find(&["station", "section", "site"]).ok_or_else(|| missing("station"))?,
        time: find(&["time"]).ok_or_else(|| missing("time"))?,
        parameter: find(&["parameter"]).ok_or_else(|| missing("parameter"))?,
        value: find(&["value"]).ok_or_else(|| missing("value"))?,
        flag: find(&["flag"]),
    })
}

/// Splits one CSV line; double-quoted fields may contain commas and `""`.
fn split_csv_line(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(ch) = chars.next() {
        match (ch, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut cur)),
            _ => cur.push(ch),
        }
    }
    fields.push(cur);
    fields
}

/// Parses CSV text (header first). `path` is only used in messages.
pub fn parse_long_csv(
    text: &str,
    path: &Path,
) -> Result<(Vec<LineReading>, Vec<LineError>), String> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header_line)) = lines.next() else {
        return Ok((Vec::new(), Vec::new()));
    };
    let header = parse_header(
        &split_csv_line(header_line.trim_start_matches('\u{feff}')),
        path,
    )?;
    let mut readings = Vec::new();
    let mut errors = Vec::new();
    for (line, text) in lines {
        match parse_row(&split_csv_line(text), &header) {
            Ok(reading) => readings.push(LineReading { line, reading }),
            Err(message) => errors.push(LineError {
                file: path.to_path_buf(),
                line,
                message,
            }),
        }
    }
    Ok((readings, errors))
}

fn parse_row(fields: &[String], h: &Header) -> Result<Reading, String> {
    let field = |i: usize, name: &str| {
        fields
            .get(i)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| format!("field `{name}` is missing or empty"))
    };
    let site = field(h.site, "station")?;
    let time_text = field(h.time, "time")?;
    let time = DateTime::parse_from_rfc3339(time_text)
        .map_err(|e| format!("field `time`: \"{time_text}\" is not RFC 3339 with an offset ({e})"))?
        .with_timezone(&Utc);
    let parameter_text = field(h.parameter, "parameter")?;
    let parameter: Parameter = parameter_text
        .parse()
        .map_err(|e| format!("field `parameter`: {e}"))?;
    let value_text = field(h.value, "value")?;
    let value: f64 = value_text
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite())
        .ok_or_else(|| format!("field `value`: \"{value_text}\" is not a number"))?;
    if !parameter.in_physical_range(value) {
        let (lo, hi) = parameter.physical_range();
        return Err(format!(
            "field `value`: {value} is outside the physical range of {parameter} [{lo}, {hi}]"
        ));
    }
    let flag = match h.flag.and_then(|i| fields.get(i)) {
        Some(text) => DataFlag::parse(text).ok_or_else(|| {
            format!(
                "field `flag`: \"{}\" is not an HJ 212 flag (N, F, M, S, D, C, T, B)",
                text.trim()
            )
        })?,
        None => DataFlag::N,
    };
    Ok(Reading {
        site: SiteId::new(site),
        parameter,
        time,
        value,
        flag,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rows_and_reports_bad_lines() {
        let text = "station,time,parameter,value,flag\n\
                    YH-01,2026-02-04T11:00:00+08:00,NH3-N,0.101,N\n\
                    YH-01,2026-02-04T11:00:00+08:00,w21011,0.042\n\
                    \n\
                    YH-01,yesterday,TP,0.1,N\n\
                    YH-01,2026-02-04T11:00:00+08:00,XYZ,1,N\n\
                    YH-01,2026-02-04T11:00:00+08:00,pH,abc,N\n\
                    YH-01,2026-02-04T11:00:00+08:00,pH,15,N\n\
                    YH-01,2026-02-04T11:00:00+08:00,DO,8,Q\n\
                    \"YH,02\",2026-02-04T11:00:00+08:00,DO,8,D\n";
        let (rows, errors) = parse_long_csv(text, Path::new("w.csv")).unwrap_or_default();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[1].reading.parameter, Parameter::Tp);
        assert_eq!(rows[1].reading.flag, DataFlag::N);
        assert_eq!(rows[2].reading.site.as_str(), "YH,02");
        assert_eq!(rows[2].reading.flag, DataFlag::D);
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![5, 6, 7, 8, 9]);
        assert!(errors[0].to_string().starts_with("w.csv:5: field `time`"));
        assert!(errors[1].message.contains("unknown parameter \"XYZ\""));
        assert!(errors[3].message.contains("physical range"));
    }

    #[test]
    fn header_without_value_is_an_error() {
        let r = parse_long_csv("station,time,parameter\n", Path::new("w.csv"));
        assert!(r.is_err_and(|e| e.contains("no `value` column")));
    }
}
