//! The durable store: SQLite (bundled) in WAL mode.
//!
//! Durability: `synchronous = FULL`. In WAL mode NORMAL already survives a process crash
//! (`kill -9`: committed pages are in the WAL file, in the OS page cache), but not a power
//! cut or kernel crash, and an MQTT PUBACK tells the broker to forget the message. Acking
//! after a commit that a power cut can undo would lose readings, so each commit fsyncs the
//! WAL. Group commit ([`Store::commit_batch`] with many messages per transaction) shares
//! that one fsync among thousands of readings.
//!
//! Tables ([`schema`]): readings (upsert on site, parameter, time), dead_letters,
//! cursors, dirty_days.

pub mod cursors;
pub mod dead_letters;
pub mod readings;
pub mod schema;

use std::path::Path;

use chrono_tz::Tz;
use rusqlite::{Connection, OpenFlags, Transaction};

pub use dead_letters::{DeadLetter, StoredDeadLetter};

use crate::model::Reading;

/// What a commit did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitStats {
    /// Readings that were new or changed a stored value/flag.
    pub changed: usize,
    /// Readings identical to what was stored (re-deliveries, replays).
    pub unchanged: usize,
    pub dead_letters: usize,
    /// (site, day) pairs marked dirty.
    pub dirty_days: usize,
}

/// Everything one transaction writes.
#[derive(Debug, Default)]
pub struct Batch {
    pub readings: Vec<Reading>,
    pub dead_letters: Vec<DeadLetter>,
    /// (source name, cursor) pairs; the last one per source wins.
    pub cursors: Vec<(String, String)>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.readings.is_empty() && self.dead_letters.is_empty() && self.cursors.is_empty()
    }
}

/// The store. One writer connection per process (the ingest writer thread); readers open
/// their own [`Store`] (WAL lets them read while it writes).
pub struct Store {
    conn: Connection,
    tz: Tz,
}

impl Store {
    /// Opens (creating if needed) the database at `path`. `tz` is the zone of calendar
    /// days for dirty-day marks (general.timezone).
    pub fn open(path: &Path, tz: Tz) -> anyhow::Result<Store> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| {
                anyhow::anyhow!("cannot create store directory {}: {e}", dir.display())
            })?;
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| anyhow::anyhow!("cannot open store {}: {e}", path.display()))?;
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            anyhow::bail!(
                "store {}: cannot switch to WAL mode (got {mode})",
                path.display()
            );
        }
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        // 16 MiB page cache: enough for the hot index pages, well inside the RSS budget.
        conn.pragma_update(None, "cache_size", -16_000)?;
        schema::migrate(&conn)?;
        Ok(Store { conn, tz })
    }

    /// Commits `batch` in ONE transaction: readings (upsert), their dirty days, dead
    /// letters, cursors, and then `hook` (e.g. the Influx outbox enqueueing the same
    /// readings) inside the same transaction. If anything fails, nothing is written.
    pub fn commit_batch<F>(&mut self, batch: &Batch, hook: F) -> anyhow::Result<CommitStats>
    where
        F: FnOnce(&Transaction<'_>, &[Reading]) -> anyhow::Result<()>,
    {
        let now_ms = chrono::Utc::now().timestamp_millis();
        let tx = self.conn.transaction()?;
        let mut stats = CommitStats::default();
        let changed = readings::upsert(&tx, &batch.readings, &mut stats)?;
        stats.dirty_days = readings::mark_dirty(&tx, &changed, self.tz, now_ms)?;
        stats.dead_letters = dead_letters::insert(&tx, &batch.dead_letters)?;
        cursors::set_all(&tx, &batch.cursors, now_ms)?;
        hook(&tx, &batch.readings)?;
        tx.commit()?;
        Ok(stats)
    }

    /// The underlying connection, for queries of other modules (judge, serve).
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    pub fn tz(&self) -> Tz {
        self.tz
    }
}
