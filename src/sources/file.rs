//! Backfill from files: HJ 212 logs (one packet per line), JSON lines (one payload per
//! line) and long CSV, through the same decode -> validate -> store path as live feeds.
//!
//! Resumable: every chunk of lines is committed together with a cursor
//! (`file:<path>` -> byte offset and line number), so an interrupted backfill continues
//! where the last commit ended, and re-reading a committed chunk is harmless anyway (the
//! store upserts).

use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::ingest::{Envelope, PipelineRuntime};

/// Lines per committed chunk: large enough to share the fsync, small enough that an
/// interruption repeats little.
pub const CHUNK_LINES: usize = 5_000;

/// Where a file's backfill stands (persisted in the store's cursors table).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileCursor {
    /// Byte offset of the next unread line.
    pub offset: u64,
    /// Number of lines before `offset`.
    pub line: u64,
    /// File size when the cursor was written (a smaller file now means it was replaced).
    pub size: u64,
}

/// The cursor key of a file: its canonical path.
pub fn cursor_key(path: &Path) -> String {
    let p = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    format!("file:{}", p.display())
}

/// Progress callbacks (the CLI drives an indicatif bar with them).
pub trait Progress {
    fn bytes(&self, n: u64);
    fn readings(&self, n: u64);
}

/// Totals of one file.
#[derive(Debug, Clone, Copy, Default)]
pub struct FileTotals {
    pub lines: u64,
    pub readings: u64,
    pub dead_letters: u64,
    /// Lines skipped because an earlier run committed them.
    pub resumed_from_line: u64,
}

/// Reads `path` from `start` and sends one envelope per line (the chunk's last envelope
/// carries the cursor). Lines are decoded by `runtime` (HJ 212 or JSON).
pub async fn backfill_lines(
    path: &Path,
    start: Option<FileCursor>,
    runtime: Arc<PipelineRuntime>,
    tx: &mpsc::Sender<Envelope>,
    progress: &dyn Progress,
) -> anyhow::Result<FileTotals> {
    let mut file = std::fs::File::open(path)
        .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
    let size = file.metadata()?.len();
    let start = start
        .filter(|c| c.offset <= size && c.size <= size)
        .unwrap_or_default();
    file.seek(SeekFrom::Start(start.offset))?;
    progress.bytes(start.offset);
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let key = cursor_key(path);
    let mut totals = FileTotals {
        resumed_from_line: start.line,
        ..FileTotals::default()
    };
    let mut offset = start.offset;
    let mut line_no = start.line;
    let mut buf = Vec::with_capacity(4096);
    let mut chunk: Vec<Envelope> = Vec::with_capacity(CHUNK_LINES);
    loop {
        buf.clear();
        let n = reader.by_ref().read_until(b'\n', &mut buf)?;
        let eof = n == 0;
        if !eof {
            offset += n as u64;
            line_no += 1;
            progress.bytes(n as u64);
            let line = trim_line(&buf);
            if !line.is_empty() {
                let origin = format!("file:{}:{line_no}", path.display());
                let env = runtime.process(line, &origin, &key, Utc::now());
                totals.lines += 1;
                totals.readings += env.readings.len() as u64;
                totals.dead_letters += u64::from(env.dead_letter.is_some());
                progress.readings(env.readings.len() as u64);
                chunk.push(env);
            }
        }
        if chunk.len() >= CHUNK_LINES || (eof && (!chunk.is_empty() || offset > start.offset)) {
            let cursor = FileCursor {
                offset,
                line: line_no,
                size,
            };
            let mut last = chunk.pop().unwrap_or_default();
            last.cursor = Some((key.clone(), serde_json::to_string(&cursor)?));
            chunk.push(last);
            for env in chunk.drain(..) {
                tx.send(env)
                    .await
                    .map_err(|_| anyhow::anyhow!("store writer stopped"))?;
            }
        }
        if eof {
            return Ok(totals);
        }
    }
}

fn trim_line(buf: &[u8]) -> &[u8] {
    let mut end = buf.len();
    while end > 0 && (buf[end - 1] == b'\n' || buf[end - 1] == b'\r') {
        end -= 1;
    }
    let mut start = 0;
    // A UTF-8 byte-order mark on the first line is not part of the payload.
    if buf[..end].starts_with(&[0xEF, 0xBB, 0xBF]) {
        start = 3;
    }
    &buf[start..end]
}

/// Expands the inputs: files as given, directories to their files (sorted).
pub fn expand_inputs(inputs: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in inputs {
        if p.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(p)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            files.sort();
            out.extend(files);
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            anyhow::bail!("{}: no such file or directory", p.display());
        }
    }
    Ok(out)
}

/// Backfills a long CSV (`station,time,parameter,value[,flag]`, the offline interface):
/// rows are parsed by [`crate::decode::csv`], validated like live readings, bad rows and
/// rejected readings become dead letters naming the file and line. Resumes after the
/// last committed line (`FileCursor::line`).
pub async fn backfill_csv(
    path: &Path,
    start: Option<FileCursor>,
    pipeline: &str,
    hour_label: crate::config::HourLabel,
    validator: &crate::validate::Validator,
    tx: &mpsc::Sender<Envelope>,
    progress: &dyn Progress,
) -> anyhow::Result<FileTotals> {
    let size = std::fs::metadata(path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?
        .len();
    let csv =
        crate::decode::csv::read_long_csv(path, hour_label).map_err(|e| anyhow::anyhow!("{e}"))?;
    progress.bytes(size);
    let skip = start.filter(|c| c.size <= size).map_or(0, |c| c.line);
    let key = cursor_key(path);
    let now = Utc::now();
    let dead = |line: usize, reason: String| Envelope {
        dead_letter: Some(crate::store::DeadLetter::new(
            now,
            pipeline,
            format!("file:{}:{line}", path.display()),
            reason,
            &[],
        )),
        ..Envelope::default()
    };
    let mut totals = FileTotals {
        resumed_from_line: skip,
        ..FileTotals::default()
    };
    let mut envelopes: Vec<(usize, Envelope)> = csv
        .errors
        .iter()
        .filter(|e| e.line as u64 > skip)
        .map(|e| (e.line, dead(e.line, format!("csv: {}", e.kind))))
        .collect();
    let mut chunk = Vec::with_capacity(CHUNK_LINES);
    let mut last_line = 0usize;
    for (r, line) in csv.readings.into_iter().zip(csv.lines) {
        if line as u64 <= skip {
            continue;
        }
        match validator.check(&r, now) {
            Ok(()) => chunk.push(r),
            Err(rej) => envelopes.push((line, dead(line, format!("{}: {rej}", rej.kind())))),
        }
        last_line = line;
        if chunk.len() >= CHUNK_LINES {
            envelopes.push((
                line,
                Envelope {
                    readings: std::mem::take(&mut chunk),
                    ..Envelope::default()
                },
            ));
        }
    }
    if !chunk.is_empty() {
        envelopes.push((
            last_line,
            Envelope {
                readings: chunk,
                ..Envelope::default()
            },
        ));
    }
    envelopes.sort_by_key(|(line, _)| *line);
    totals.lines = (csv.rows as u64).saturating_sub(skip.saturating_sub(1));
    let n = envelopes.len();
    for (i, (line, mut env)) in envelopes.into_iter().enumerate() {
        totals.readings += env.readings.len() as u64;
        totals.dead_letters += u64::from(env.dead_letter.is_some());
        progress.readings(env.readings.len() as u64);
        if i + 1 == n || env.readings.len() >= CHUNK_LINES {
            let cursor = FileCursor {
                offset: 0,
                line: line as u64,
                size,
            };
            env.cursor = Some((key.clone(), serde_json::to_string(&cursor)?));
        }
        tx.send(env)
            .await
            .map_err(|_| anyhow::anyhow!("store writer stopped"))?;
    }
    Ok(totals)
}
