//! The durable store: SQLite (bundled) in WAL mode.
//!
//! Durability: `synchronous = FULL`. In WAL mode NORMAL already survives a process crash
//! (`kill -9`: committed pages are in the WAL file, in the OS page cache), but not a power
//! cut or kernel crash, and an MQTT PUBACK tells the broker to forget the message. Acking
//! after a commit that a power cut can undo would lose readings, so each commit fsyncs the
//! WAL. Group commit ([`Store::commit_batch`] with many messages per transaction) shares
//! that one fsync among thousands of readings.
//!
//! Tables ([`schema`]): reading_values (upsert on period, time, site, parameter; the
//! view `readings` shows them with names), sites, parameters, dead_letters, cursors,
//! dirty_days.

pub mod cursors;
pub mod dead_letters;
pub mod readings;
pub mod schema;

use std::collections::BTreeSet;
use std::path::Path;

use chrono_tz::Tz;
use rusqlite::{Connection, OpenFlags, Transaction};

pub use dead_letters::{DeadLetter, StoredDeadLetter};

use crate::model::{Period, Reading, SiteId};
use crate::standards::parameter::Parameter;

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
    /// Hours derived from minute data that were new or changed.
    pub derived_hours: usize,
}

/// Everything one transaction writes.
#[derive(Debug, Default)]
pub struct Batch {
    pub readings: Vec<Reading>,
    pub dead_letters: Vec<DeadLetter>,
    /// (source name, cursor) pairs; the last one per source wins.
    pub cursors: Vec<(String, String)>,
    /// (site, parameter, hour start in Unix seconds) whose hour is derived from minute
    /// data after this batch ([`readings::derive_hours`]).
    pub derive_hours: BTreeSet<(SiteId, Parameter, i64)>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.readings.is_empty() && self.dead_letters.is_empty() && self.cursors.is_empty()
    }

    /// Adds `readings`; with `derive_hours`, their minute values also count towards hours
    /// derived from minute data.
    pub fn add_readings(&mut self, readings: Vec<Reading>, derive_hours: bool) {
        if derive_hours {
            for r in readings.iter().filter(|r| r.period == Period::Minute) {
                let t = r.time.timestamp();
                self.derive_hours
                    .insert((r.site.clone(), r.parameter, t - t.rem_euclid(3600)));
            }
        }
        if self.readings.is_empty() {
            self.readings = readings;
        } else {
            self.readings.extend(readings);
        }
    }
}

/// The store. One writer connection per process (the ingest writer thread); readers open
/// their own [`Store`] (WAL lets them read while it writes).
pub struct Store {
    conn: Connection,
    tz: Tz,
    ids: readings::Ids,
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
        schema::migrate(&conn)
            .map_err(|e| anyhow::anyhow!("store {}: schema migration: {e:#}", path.display()))?;
        let ids = readings::Ids::load(&conn)?;
        Ok(Store { conn, tz, ids })
    }

    /// Commits `batch` in ONE transaction: readings (upsert), hours derived from minute
    /// data, their dirty days, dead letters, cursors, and then `hook` (e.g. the Influx
    /// outbox enqueueing the same readings) inside the same transaction. If anything
    /// fails, nothing is written. The hook sees the batch's readings followed by the
    /// derived hours.
    pub fn commit_batch<F>(&mut self, batch: &Batch, hook: F) -> anyhow::Result<CommitStats>
    where
        F: FnOnce(&Transaction<'_>, &[Reading]) -> anyhow::Result<()>,
    {
        let res = Self::commit_in(&mut self.conn, &mut self.ids, self.tz, batch, hook);
        if res.is_err() {
            // Dictionary ids handed out by the rolled-back transaction do not exist.
            if let Ok(ids) = readings::Ids::load(&self.conn) {
                self.ids = ids;
            }
        }
        res
    }

    fn commit_in<F>(
        conn: &mut Connection,
        ids: &mut readings::Ids,
        tz: Tz,
        batch: &Batch,
        hook: F,
    ) -> anyhow::Result<CommitStats>
    where
        F: FnOnce(&Transaction<'_>, &[Reading]) -> anyhow::Result<()>,
    {
        let now_ms = chrono::Utc::now().timestamp_millis();
        let tx = conn.transaction()?;
        let mut stats = CommitStats::default();
        let changed = readings::upsert(&tx, ids, &batch.readings, &mut stats)?;
        let derived = if batch.derive_hours.is_empty() {
            Vec::new()
        } else {
            readings::derive_hours(&tx, ids, &batch.derive_hours)?
        };
        stats.dirty_days =
            readings::mark_dirty(&tx, changed.into_iter().chain(&derived), tz, now_ms)?;
        stats.dead_letters = dead_letters::insert(&tx, &batch.dead_letters)?;
        cursors::set_all(&tx, &batch.cursors, now_ms)?;
        stats.derived_hours = derived.len();
        if derived.is_empty() {
            hook(&tx, &batch.readings)?;
        } else {
            let all: Vec<Reading> = batch.readings.iter().cloned().chain(derived).collect();
            hook(&tx, &all)?;
        }
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
