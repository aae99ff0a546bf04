//! A publisher that drains the outbox into a line-protocol file instead of InfluxDB:
//! the demo's default sink (and a way to run without any server). Same order, same
//! "delete only after it is written" rule as the Influx publisher.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::publish::outbox;

/// Drains `db`'s outbox into `file` (appending) until cancelled; a last drain runs after
/// cancellation so the file holds everything committed before shutdown.
pub async fn run_file_sink(
    db: PathBuf,
    file: PathBuf,
    wake: Arc<Notify>,
    cancel: CancellationToken,
) -> anyhow::Result<u64> {
    let mut written = 0u64;
    loop {
        let stop = cancel.is_cancelled();
        let (db2, file2) = (db.clone(), file.clone());
        written += tokio::task::spawn_blocking(move || drain(&db2, &file2)).await??;
        if stop {
            return Ok(written);
        }
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(Duration::from_millis(200)) => {}
            () = cancel.cancelled() => {}
        }
    }
}

fn drain(db: &std::path::Path, file: &std::path::Path) -> anyhow::Result<u64> {
    let mut conn = rusqlite::Connection::open(db)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .map_err(|e| anyhow::anyhow!("cannot open sink file {}: {e}", file.display()))?;
    let mut n = 0u64;
    loop {
        let rows = outbox::peek(&conn, 0, 10_000, 8 << 20)?;
        let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
            return Ok(n);
        };
        let (first, last) = (first.id, last.id);
        let mut buf = String::new();
        for r in &rows {
            buf.push_str(&r.line);
            buf.push('\n');
        }
        out.write_all(buf.as_bytes())?;
        out.flush()?;
        n += rows.len() as u64;
        outbox::settle(&mut conn, first, last, &[])?;
    }
}
