//! `alert_outbox`: notifications waiting for their channel. A state transition and its
//! outbox rows are written in one transaction, and a row is marked delivered only after
//! the channel accepted it, so a restart neither loses nor re-creates notifications
//! (a crash between "accepted" and "marked" can resend one: receivers dedup on the id).

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

/// Creates `alert_outbox` if missing. Idempotent.
pub fn create_tables(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS alert_outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            channel TEXT NOT NULL,
            notification TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER NOT NULL,
            last_error TEXT,
            delivered_at INTEGER,
            failed_at INTEGER
        );
        CREATE INDEX IF NOT EXISTS alert_outbox_queue
            ON alert_outbox (channel, id) WHERE delivered_at IS NULL AND failed_at IS NULL;",
    )
}

/// A queued notification.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRow {
    pub id: i64,
    pub channel: String,
    /// The notification as JSON.
    pub notification: String,
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
}

/// Queues a notification (JSON) for a channel.
pub fn enqueue(
    conn: &Connection,
    channel: &str,
    notification_json: &str,
    now: DateTime<Utc>,
) -> rusqlite::Result<i64> {
    conn.execute(
        "INSERT INTO alert_outbox (channel, notification, created_at, next_attempt_at)
         VALUES (?1, ?2, ?3, ?3)",
        params![channel, notification_json, now.timestamp_millis()],
    )?;
    Ok(conn.last_insert_rowid())
}

/// The oldest undelivered notification of a channel: channels deliver in order, so a
/// resolved message never overtakes its firing message.
pub fn head(conn: &Connection, channel: &str) -> rusqlite::Result<Option<OutboxRow>> {
    conn.query_row(
        "SELECT id, channel, notification, attempts, next_attempt_at FROM alert_outbox
         WHERE channel = ?1 AND delivered_at IS NULL AND failed_at IS NULL
         ORDER BY id LIMIT 1",
        params![channel],
        |r| {
            Ok(OutboxRow {
                id: r.get(0)?,
                channel: r.get(1)?,
                notification: r.get(2)?,
                attempts: r.get(3)?,
                next_attempt_at: DateTime::from_timestamp_millis(r.get(4)?).unwrap_or_default(),
            })
        },
    )
    .optional()
}

pub fn mark_delivered(conn: &Connection, id: i64, now: DateTime<Utc>) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE alert_outbox SET delivered_at = ?2, attempts = attempts + 1 WHERE id = ?1",
        params![id, now.timestamp_millis()],
    )?;
    Ok(())
}

/// Records a failed attempt and when to try again.
pub fn mark_retry(
    conn: &Connection,
    id: i64,
    next_attempt_at: DateTime<Utc>,
    error: &str,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE alert_outbox SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3
         WHERE id = ?1",
        params![id, next_attempt_at.timestamp_millis(), error],
    )?;
    Ok(())
}

/// Gives up on a notification after its last attempt (kept for `alerts list`).
pub fn mark_failed(
    conn: &Connection,
    id: i64,
    now: DateTime<Utc>,
    error: &str,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE alert_outbox SET attempts = attempts + 1, failed_at = ?2, last_error = ?3
         WHERE id = ?1",
        params![id, now.timestamp_millis(), error],
    )?;
    Ok(())
}

/// One channel's queue, for `alerts list` and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelQueue {
    pub channel: String,
    /// Waiting for delivery (including retries).
    pub waiting: i64,
    /// Given up after the last attempt.
    pub failed: i64,
    pub last_error: Option<String>,
}

/// Every channel's queue.
pub fn summary(conn: &Connection) -> rusqlite::Result<Vec<ChannelQueue>> {
    let mut stmt = conn.prepare(
        "SELECT channel,
                SUM(delivered_at IS NULL AND failed_at IS NULL),
                SUM(failed_at IS NOT NULL),
                (SELECT last_error FROM alert_outbox o2 WHERE o2.channel = o.channel
                   AND o2.last_error IS NOT NULL ORDER BY id DESC LIMIT 1)
         FROM alert_outbox o GROUP BY channel ORDER BY channel",
    )?;
    stmt.query_map([], |r| {
        Ok(ChannelQueue {
            channel: r.get(0)?,
            waiting: r.get(1)?,
            failed: r.get(2)?,
            last_error: r.get(3)?,
        })
    })?
    .collect()
}

/// Deletes delivered rows older than `before` (the outbox is a queue, not an archive).
pub fn prune(conn: &Connection, before: DateTime<Utc>) -> rusqlite::Result<usize> {
    conn.execute(
        "DELETE FROM alert_outbox WHERE delivered_at IS NOT NULL AND delivered_at < ?1",
        params![before.timestamp_millis()],
    )
}
