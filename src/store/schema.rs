//! The store's tables. `PRAGMA user_version` records the schema version so later
//! versions can migrate in place.

use rusqlite::Connection;

/// Current schema version.
pub const VERSION: i64 = 1;

const V1: &str = "
-- One row per (site, parameter, period start): re-delivered or replayed readings
-- overwrite themselves (idempotent ingest). time = Unix seconds, UTC.
CREATE TABLE IF NOT EXISTS readings (
    site      TEXT    NOT NULL,
    parameter TEXT    NOT NULL,
    time      INTEGER NOT NULL,
    value     REAL    NOT NULL,
    flag      TEXT    NOT NULL,
    PRIMARY KEY (site, parameter, time)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS readings_time ON readings(time);

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

-- (site, local calendar day) whose readings changed since the judge last computed it:
-- late data reaches the daily results (OpenAQ rollup lesson).
CREATE TABLE IF NOT EXISTS dirty_days (
    site      TEXT    NOT NULL,
    day       TEXT    NOT NULL,         -- YYYY-MM-DD in general.timezone
    marked_at INTEGER NOT NULL,         -- Unix milliseconds of the latest change
    PRIMARY KEY (site, day)
) WITHOUT ROWID;
";

/// Creates or upgrades the schema.
pub fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if v < 1 {
        conn.execute_batch(V1)?;
        conn.pragma_update(None, "user_version", VERSION)?;
    }
    Ok(())
}
