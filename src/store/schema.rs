//! The store's tables. `PRAGMA user_version` records the schema version; older stores
//! are migrated in place when opened ([`migrate`]).
//!
//! Version 2 (readings layout, issue #16 item 2 and #18):
//! - `reading_values` is keyed `(period, time, site, parameter)` WITHOUT ROWID. Live data
//!   arrives in time order, so a commit appends at the end of its period's region: a few
//!   leaf pages per commit instead of one leaf per (site, parameter) with the v1 key
//!   `(site, parameter, time)`, and no separate time index to maintain (every reader asks
//!   for a time range of one period).
//! - Sites and parameters are interned to small integers (`sites`, `parameters`), the
//!   flag is an integer: a row is ~20 bytes instead of ~40.
//! - The view `readings` shows the rows with their names (for people with `sqlite3` and
//!   for tests); envwatch itself reads and writes `reading_values`.
//! - The key names one reading exactly, so side tables (e.g. a data audit trail) can be
//!   keyed the same way.

use std::time::Instant;

use rusqlite::{Connection, params};

use crate::model::{DataFlag, Period};
use crate::standards::parameter::Parameter;

/// Current schema version.
pub const VERSION: i64 = 2;

/// Bit in `reading_values.flag` of an hour derived from minute data (GB 3095 Table 4,
/// ≥ 45 minute values in the hour) rather than sent as an hour packet: a real hour packet
/// replaces it, a derived hour never replaces a real one.
pub const FLAG_DERIVED: i64 = 0x100;

/// Tables unchanged since v1.
const COMMON: &str = "
-- Input that could not be used, with the reason; never silently dropped.
CREATE TABLE IF NOT EXISTS dead_letters (
    id           INTEGER PRIMARY KEY,
    received_at  INTEGER NOT NULL,      -- Unix milliseconds
    pipeline     TEXT    NOT NULL,
    origin       TEXT    NOT NULL,      -- mqtt:topic, file:path:line, http:url
    reason       TEXT    NOT NULL,
    payload_size INTEGER NOT NULL,      -- original size in bytes
    payload      BLOB    NOT NULL       -- the raw payload, truncated to 64 KiB
);
CREATE INDEX IF NOT EXISTS dead_letters_received ON dead_letters(received_at);

-- Resume points of polling sources (HTTP), advanced in the same transaction as the
-- readings they cover.
CREATE TABLE IF NOT EXISTS cursors (
    source     TEXT    PRIMARY KEY,
    cursor     TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
);

-- (site, local calendar day) whose hour readings changed since the judge last computed
-- it: late data reaches the daily results (OpenAQ rollup lesson).
CREATE TABLE IF NOT EXISTS dirty_days (
    site      TEXT    NOT NULL,
    day       TEXT    NOT NULL,         -- YYYY-MM-DD in general.timezone
    marked_at INTEGER NOT NULL,         -- Unix milliseconds of the latest change
    PRIMARY KEY (site, day)
) WITHOUT ROWID;
";

/// The v1 readings table, for migrating (and for tests that build a v1 store).
pub const V1_READINGS: &str = "
CREATE TABLE IF NOT EXISTS readings (
    site      TEXT    NOT NULL,
    parameter TEXT    NOT NULL,
    time      INTEGER NOT NULL,
    value     REAL    NOT NULL,
    flag      TEXT    NOT NULL,
    PRIMARY KEY (site, parameter, time)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS readings_time ON readings(time);
";

const V2_READINGS: &str = "
CREATE TABLE IF NOT EXISTS sites (
    id   INTEGER PRIMARY KEY,
    code TEXT    NOT NULL UNIQUE        -- station code or section id
);
CREATE TABLE IF NOT EXISTS parameters (
    id   INTEGER PRIMARY KEY,
    name TEXT    NOT NULL UNIQUE        -- Parameter::name(), e.g. PM2.5
);
-- One row per (period, period start, site, parameter): re-delivered or replayed
-- readings overwrite themselves (idempotent ingest).
CREATE TABLE IF NOT EXISTS reading_values (
    period    INTEGER NOT NULL,         -- 1 real-time (2011), 2 minute (2051), 3 hour (2061), 4 day (2031)
    time      INTEGER NOT NULL,         -- Unix seconds, UTC: start of the period
    site      INTEGER NOT NULL,         -- sites.id
    parameter INTEGER NOT NULL,         -- parameters.id
    value     REAL    NOT NULL,
    flag      INTEGER NOT NULL,         -- HJ 212 flag N F M S D C T B = 0..7; +256 derived hour
    PRIMARY KEY (period, time, site, parameter)
) WITHOUT ROWID;
CREATE VIEW IF NOT EXISTS readings AS
SELECT s.code AS site, p.name AS parameter,
       CASE r.period WHEN 1 THEN 'realtime' WHEN 2 THEN 'minute' WHEN 3 THEN 'hour'
                     WHEN 4 THEN 'day' END AS period,
       r.time AS time, r.value AS value,
       substr('NFMSDCTB', (r.flag & 255) + 1, 1) AS flag,
       (r.flag & 256) != 0 AS derived
FROM reading_values r JOIN sites s ON s.id = r.site JOIN parameters p ON p.id = r.parameter;
";

/// Readings copied per step of the v1 -> v2 migration (one progress line each).
const MIGRATE_CHUNK_SECONDS: i64 = 30 * 86_400;

/// Creates or upgrades the schema.
pub fn migrate(conn: &Connection) -> anyhow::Result<()> {
    let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if v >= VERSION {
        return Ok(());
    }
    let tx = conn.unchecked_transaction()?;
    tx.execute_batch(COMMON)?;
    let v1_readings: bool = tx.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'readings'",
        [],
        |r| r.get::<_, i64>(0).map(|n| n > 0),
    )?;
    if v1_readings {
        // Move the v1 table aside, so the view can take its name.
        tx.execute_batch(
            "DROP INDEX IF EXISTS readings_time; ALTER TABLE readings RENAME TO readings_v1;",
        )?;
    }
    tx.execute_batch(V2_READINGS)?;
    seed_parameters(&tx)?;
    if v1_readings {
        migrate_v1_readings(&tx)?;
        tx.execute_batch("DROP TABLE readings_v1;")?;
    }
    tx.pragma_update(None, "user_version", VERSION)?;
    tx.commit()?;
    Ok(())
}

/// Every parameter envwatch knows gets its id up front (ids in declaration order).
fn seed_parameters(conn: &Connection) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare("INSERT OR IGNORE INTO parameters (name) VALUES (?1)")?;
    for p in Parameter::ALL {
        stmt.execute([p.name()])?;
    }
    Ok(())
}

/// Copies v1 rows into `reading_values`. v1 kept no period: it is inferred from the time,
/// because live feeds stamp periods at their start (STANDARDS.md §2.4): on a whole hour ->
/// hour, on a whole minute -> minute, otherwise real-time. A v1 store holds what v1 took as
/// hourly data, so almost every row becomes an hour; a day packet that v1 stored at local
/// midnight is indistinguishable from (and had overwritten) that hour, and stays an hour.
fn migrate_v1_readings(conn: &Connection) -> anyhow::Result<()> {
    let started = Instant::now();
    let (total, min_t, max_t): (i64, Option<i64>, Option<i64>) = conn.query_row(
        "SELECT count(*), min(time), max(time) FROM readings_v1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    tracing::info!(
        readings = total,
        "store: migrating schema v1 -> v2 (one transaction; the old table is dropped at the end)"
    );
    conn.execute(
        "INSERT OR IGNORE INTO sites (code) SELECT DISTINCT site FROM readings_v1 ORDER BY site",
        [],
    )?;
    // Parameters a v1 store may name that this build does not know keep their rows.
    conn.execute(
        "INSERT OR IGNORE INTO parameters (name) SELECT DISTINCT parameter FROM readings_v1",
        [],
    )?;
    let (Some(min_t), Some(max_t)) = (min_t, max_t) else {
        return Ok(());
    };
    let flag_case = DataFlag::ALL
        .iter()
        .map(|f| format!("WHEN '{}' THEN {}", f.as_str(), f.code()))
        .collect::<Vec<_>>()
        .join(" ");
    let sql = format!(
        "INSERT INTO reading_values (period, time, site, parameter, value, flag)
         SELECT CASE WHEN r.time % 3600 = 0 THEN {hour}
                     WHEN r.time % 60 = 0 THEN {minute} ELSE {rt} END,
                r.time, s.id, p.id, r.value,
                CASE upper(trim(r.flag)) {flag_case} WHEN '' THEN 0 ELSE 0 END
         FROM readings_v1 r JOIN sites s ON s.code = r.site JOIN parameters p ON p.name = r.parameter
         WHERE r.time >= ?1 AND r.time < ?2
         ORDER BY 1, 2, 3, 4",
        hour = Period::Hour.code(),
        minute = Period::Minute.code(),
        rt = Period::RealTime.code(),
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut done = 0usize;
    let mut from = min_t;
    while from <= max_t {
        let to = from.saturating_add(MIGRATE_CHUNK_SECONDS);
        done += stmt.execute(params![from, to])?;
        tracing::info!(
            migrated = done,
            of = total,
            elapsed_s = started.elapsed().as_secs(),
            "store: migrating readings"
        );
        from = to;
    }
    tracing::info!(
        readings = done,
        took_ms = started.elapsed().as_millis() as u64,
        "store: schema v2 ready"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_store_is_v2_with_every_parameter_seeded() {
        let c = Connection::open_in_memory().unwrap();
        migrate(&c).unwrap();
        let v: i64 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, 2);
        let n: i64 = c
            .query_row("SELECT count(*) FROM parameters", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n as usize, Parameter::ALL.len());
        // Idempotent.
        migrate(&c).unwrap();
    }
}
