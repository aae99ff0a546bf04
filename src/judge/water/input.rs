//! Long CSV input of the water commands: a thin adapter over the shared reader
//! [`crate::decode::csv`] (one parser for the offline interface) that keeps each
//! reading's line number, so later checks (unknown section, non-water parameter) can
//! name the line too.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::config::HourLabel;
use crate::decode::csv::{self, CsvError};
use crate::model::Reading;

/// A line that could not be used, with the file, line and field at fault.
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

/// A reading with the line it came from.
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

/// Like [`read_long_csv`], keeping each reading's line number. Water readings are
/// stamped with their sampling time (no hour-label shift).
pub fn read_long_csv_numbered(path: &Path) -> std::io::Result<(Vec<LineReading>, Vec<LineError>)> {
    let parsed = csv::read_long_csv(path, HourLabel::Start).map_err(|e| match e {
        CsvError::Io { source, .. } => source,
        other => std::io::Error::new(std::io::ErrorKind::InvalidData, other.to_string()),
    })?;
    let rows = parsed
        .readings
        .into_iter()
        .zip(parsed.lines)
        .map(|(reading, line)| LineReading { line, reading })
        .collect();
    let errors = parsed
        .errors
        .into_iter()
        .map(|e| LineError {
            file: path.to_path_buf(),
            line: e.line,
            message: e.kind.to_string(),
        })
        .collect();
    Ok((rows, errors))
}
