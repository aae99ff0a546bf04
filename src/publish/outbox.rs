//! The durable outbox: points waiting for InfluxDB, kept in the same SQLite file as the
//! data they describe.
//!
//! Why in the store: [`enqueue`] runs inside the store's commit transaction, so a reading
//! and the points describing it are committed together or not at all — after a crash
//! there is never a reading Influx will not hear about, nor a point for data that was
//! rolled back. The publisher reads the outbox in id order, sends, and deletes rows only
//! after the server answered 2xx (or after a rejected point was moved to
//! `outbox_dead_letters`), so delivery is in order and at-least-once; Influx overwrites
//! points with the same measurement, tags and timestamp, which makes resends harmless.
//!
//! Tables (created by [`init_schema`], which the store's migrations must call):
//! - `outbox(id INTEGER PRIMARY KEY AUTOINCREMENT, line, enqueued_ms)` — one encoded
//!   line-protocol point per row. AUTOINCREMENT (not a plain rowid) so ids never go
//!   backwards after the table empties: the publisher's read cursor relies on it.
//! - `outbox_state` — one row: `depth` (kept exact by every mutation, so the bound and
//!   the depth gauge cost O(1) instead of `count(*)`), `max_points`, `dropped_total`.
//! - `outbox_dead_letters` — points the server rejected, with its status and message.
//!
//! Only rusqlite types appear here: the store owns the connection and transactions.

use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use super::line_protocol::Point;

/// Default bound, used until [`init_schema`] is given the configured one.
pub const DEFAULT_MAX_POINTS: u64 = 10_000_000;

/// Creates the outbox tables if absent and sets the bound (`influx.outbox_max_points`).
/// Idempotent; call it from the store's migrations and at publisher start.
pub fn init_schema(conn: &Connection, max_points: u64) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS outbox (
             id INTEGER PRIMARY KEY AUTOINCREMENT,
             line TEXT NOT NULL,
             enqueued_ms INTEGER NOT NULL
         );
         CREATE TABLE IF NOT EXISTS outbox_state (
             id INTEGER PRIMARY KEY CHECK (id = 1),
             depth INTEGER NOT NULL,
             max_points INTEGER NOT NULL,
             dropped_total INTEGER NOT NULL,
             last_accepted INTEGER NOT NULL
         );
         CREATE TABLE IF NOT EXISTS outbox_dead_letters (
             id INTEGER PRIMARY KEY AUTOINCREMENT,
             outbox_id INTEGER NOT NULL,
             line TEXT NOT NULL,
             enqueued_ms INTEGER NOT NULL,
             failed_ms INTEGER NOT NULL,
             status INTEGER NOT NULL,
             error TEXT NOT NULL
         );",
    )?;
    let max = i64::try_from(max_points).unwrap_or(i64::MAX);
    conn.execute(
        "INSERT INTO outbox_state (id, depth, max_points, dropped_total, last_accepted)
         VALUES (1, 0, ?1, 0, 0)
         ON CONFLICT(id) DO UPDATE SET max_points = excluded.max_points",
        params![max],
    )?;
    Ok(())
}

/// Recounts `depth` from the table (O(n)); the publisher calls it once at start so the
/// counter heals even if some tool edited the table by hand.
pub fn resync_depth(conn: &Connection) -> rusqlite::Result<u64> {
    conn.execute(
        "UPDATE outbox_state SET depth = (SELECT count(*) FROM outbox) WHERE id = 1",
        [],
    )?;
    let d: i64 = conn.query_row("SELECT depth FROM outbox_state WHERE id = 1", [], |r| {
        r.get(0)
    })?;
    Ok(d.max(0) as u64)
}

/// What [`enqueue`] did with the points it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EnqueueOutcome {
    pub queued: usize,
    /// Points refused because the outbox is full (the newest ones of the call). The data
    /// they describe is still in the store; the `envwatch_outbox_dropped_points` metric
    /// and its alert tell the operator to fix Influx and republish.
    pub dropped: usize,
}

/// Queues `points` in the caller's transaction, in order. Call it inside the store's
/// commit transaction, after (or together with) writing the data the points describe.
///
/// The first statement takes SQLite's write lock, so this is safe in a DEFERRED
/// transaction too. When the outbox is full the newest points are dropped (counted), never
/// the transaction: ingest must not stop because Influx is down.
pub fn enqueue(tx: &Transaction<'_>, points: &[Point]) -> rusqlite::Result<EnqueueOutcome> {
    enqueue_with(tx, points.len(), |i, buf| points[i].write_line(buf))
}

/// Like [`enqueue`], for lines already encoded (benchmarks, republishing dead letters).
/// Each line must be a single valid line-protocol point without a trailing newline.
pub fn enqueue_lines(tx: &Transaction<'_>, lines: &[String]) -> rusqlite::Result<EnqueueOutcome> {
    enqueue_with(tx, lines.len(), |i, buf| buf.push_str(&lines[i]))
}

/// Reserves room for `n` points, then inserts the first ones that fit, each encoded by
/// `encode(i, buf)` into a reused buffer.
fn enqueue_with(
    tx: &Transaction<'_>,
    n: usize,
    mut encode: impl FnMut(usize, &mut String),
) -> rusqlite::Result<EnqueueOutcome> {
    if n == 0 {
        return Ok(EnqueueOutcome::default());
    }
    let n_i = i64::try_from(n).unwrap_or(i64::MAX);
    // SQLite evaluates every SET expression on the old row, so the room is computed from
    // the depth before this call; RETURNING hands it back without a second query. Being
    // a write, this statement also takes the write lock first.
    let accepted: i64 = tx
        .prepare_cached(
            "UPDATE outbox_state SET
                 last_accepted = MAX(0, MIN(?1, max_points - depth)),
                 depth = depth + MAX(0, MIN(?1, max_points - depth)),
                 dropped_total = dropped_total + ?1 - MAX(0, MIN(?1, max_points - depth))
             WHERE id = 1
             RETURNING last_accepted",
        )?
        .query_row(params![n_i], |r| r.get(0))?;
    let accepted = usize::try_from(accepted.max(0)).unwrap_or(0).min(n);
    let now = now_ms();
    let mut insert = tx.prepare_cached("INSERT INTO outbox (line, enqueued_ms) VALUES (?1, ?2)")?;
    let mut buf = String::with_capacity(160);
    for i in 0..accepted {
        buf.clear();
        encode(i, &mut buf);
        insert.execute(params![buf, now])?;
    }
    Ok(EnqueueOutcome {
        queued: accepted,
        dropped: n - accepted,
    })
}

/// One queued point as the publisher reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub id: i64,
    pub line: String,
    pub enqueued_ms: i64,
}

/// A point the server refused, on its way to `outbox_dead_letters`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub outbox_id: i64,
    pub status: u16,
    pub error: String,
}

/// A row of `outbox_dead_letters`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub outbox_id: i64,
    pub line: String,
    pub status: u16,
    pub error: String,
    pub failed_ms: i64,
}

/// Gauges' inputs, read in one go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutboxStats {
    pub depth: u64,
    pub max_points: u64,
    pub dropped_total: u64,
    /// Enqueue time of the oldest waiting point (Unix ms), if any.
    pub oldest_enqueued_ms: Option<i64>,
}

/// Up to `max_points` rows with `id > after`, in id order, stopping before the row that
/// would take the batch past `max_bytes` (but always at least one row).
pub fn peek(
    conn: &Connection,
    after: i64,
    max_points: usize,
    max_bytes: usize,
) -> rusqlite::Result<Vec<OutboxRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, line, enqueued_ms FROM outbox WHERE id > ?1 ORDER BY id LIMIT ?2",
    )?;
    let mut rows = stmt.query(params![
        after,
        i64::try_from(max_points).unwrap_or(i64::MAX)
    ])?;
    let mut out = Vec::with_capacity(max_points.min(65_536));
    let mut bytes = 0usize;
    while let Some(r) = rows.next()? {
        let line: String = r.get(1)?;
        if !out.is_empty() && bytes + line.len() + 1 > max_bytes {
            break;
        }
        bytes += line.len() + 1;
        out.push(OutboxRow {
            id: r.get(0)?,
            line,
            enqueued_ms: r.get(2)?,
        });
    }
    Ok(out)
}

/// Settles a delivered batch: rows `first..=last` leave the outbox, the rejected ones go
/// to `outbox_dead_letters` with the server's message, all in one transaction.
/// Rows are contiguous by construction: ids only grow and the publisher reads in order.
pub fn settle(
    conn: &mut Connection,
    first: i64,
    last: i64,
    rejected: &[Rejection],
) -> rusqlite::Result<u64> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let now = now_ms();
    {
        let mut dl = tx.prepare_cached(
            "INSERT INTO outbox_dead_letters (outbox_id, line, enqueued_ms, failed_ms, status, error)
             SELECT id, line, enqueued_ms, ?2, ?3, ?4 FROM outbox WHERE id = ?1",
        )?;
        for r in rejected {
            dl.execute(params![r.outbox_id, now, r.status, r.error])?;
        }
    }
    let removed = tx
        .prepare_cached("DELETE FROM outbox WHERE id BETWEEN ?1 AND ?2")?
        .execute(params![first, last])?;
    tx.prepare_cached("UPDATE outbox_state SET depth = MAX(0, depth - ?1) WHERE id = 1")?
        .execute(params![removed as i64])?;
    tx.commit()?;
    Ok(removed as u64)
}

/// Depth, bound, drops and the oldest point's age, for the gauges.
pub fn stats(conn: &Connection) -> rusqlite::Result<OutboxStats> {
    let (depth, max_points, dropped): (i64, i64, i64) = conn
        .prepare_cached("SELECT depth, max_points, dropped_total FROM outbox_state WHERE id = 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    let oldest: Option<i64> = conn
        .prepare_cached("SELECT enqueued_ms FROM outbox ORDER BY id LIMIT 1")?
        .query_row([], |r| r.get(0))
        .optional()?;
    Ok(OutboxStats {
        depth: depth.max(0) as u64,
        max_points: max_points.max(0) as u64,
        dropped_total: dropped.max(0) as u64,
        oldest_enqueued_ms: oldest,
    })
}

/// The dead letters, oldest first (for `envwatch` status pages and tests).
pub fn dead_letters(conn: &Connection, limit: usize) -> rusqlite::Result<Vec<DeadLetter>> {
    let mut stmt = conn.prepare_cached(
        "SELECT outbox_id, line, status, error, failed_ms FROM outbox_dead_letters ORDER BY id LIMIT ?1",
    )?;
    let rows = stmt.query_map(params![i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
        Ok(DeadLetter {
            outbox_id: r.get(0)?,
            line: r.get(1)?,
            status: r.get::<_, i64>(2)?.clamp(0, u16::MAX as i64) as u16,
            error: r.get(3)?,
            failed_ms: r.get(4)?,
        })
    })?;
    rows.collect()
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(i: i64) -> Point {
        Point::builder("m")
            .tag("s", "a")
            .float("v", i as f64)
            .time_ns(i)
            .build()
            .unwrap()
    }

    fn db(max: u64) -> Connection {
        let c = Connection::open_in_memory().unwrap();
        init_schema(&c, max).unwrap();
        c
    }

    #[test]
    fn enqueue_is_part_of_the_callers_transaction() {
        let mut c = db(100);
        {
            let tx = c.transaction().unwrap();
            enqueue(&tx, &[point(1), point(2)]).unwrap();
            // dropped without commit = rolled back
        }
        assert_eq!(stats(&c).unwrap().depth, 0);
        assert!(peek(&c, 0, 10, 1 << 20).unwrap().is_empty());
        let tx = c.transaction().unwrap();
        let out = enqueue(&tx, &[point(1), point(2)]).unwrap();
        tx.commit().unwrap();
        assert_eq!(
            out,
            EnqueueOutcome {
                queued: 2,
                dropped: 0
            }
        );
        let rows = peek(&c, 0, 10, 1 << 20).unwrap();
        assert_eq!(
            rows.iter().map(|r| r.line.as_str()).collect::<Vec<_>>(),
            ["m,s=a v=1 1", "m,s=a v=2 2"]
        );
        assert_eq!(stats(&c).unwrap().depth, 2);
    }

    #[test]
    fn bound_drops_the_newest_and_counts_them() {
        let mut c = db(3);
        let tx = c.transaction().unwrap();
        let out = enqueue(&tx, &[point(1), point(2)]).unwrap();
        assert_eq!(
            out,
            EnqueueOutcome {
                queued: 2,
                dropped: 0
            }
        );
        let out = enqueue(&tx, &[point(3), point(4), point(5)]).unwrap();
        assert_eq!(
            out,
            EnqueueOutcome {
                queued: 1,
                dropped: 2
            }
        );
        let out = enqueue(&tx, &[point(6)]).unwrap();
        assert_eq!(
            out,
            EnqueueOutcome {
                queued: 0,
                dropped: 1
            }
        );
        tx.commit().unwrap();
        let s = stats(&c).unwrap();
        assert_eq!((s.depth, s.max_points, s.dropped_total), (3, 3, 3));
        let lines: Vec<_> = peek(&c, 0, 10, 1 << 20).unwrap();
        assert_eq!(lines.last().unwrap().line, "m,s=a v=3 3");
    }

    #[test]
    fn settle_deletes_in_order_and_keeps_dead_letters() {
        let mut c = db(100);
        let tx = c.transaction().unwrap();
        enqueue(&tx, &(1..=5).map(point).collect::<Vec<_>>()).unwrap();
        tx.commit().unwrap();
        let batch = peek(&c, 0, 3, 1 << 20).unwrap();
        assert_eq!(batch.len(), 3);
        let rej = [Rejection {
            outbox_id: batch[1].id,
            status: 400,
            error: "field type conflict".into(),
        }];
        let removed = settle(&mut c, batch[0].id, batch[2].id, &rej).unwrap();
        assert_eq!(removed, 3);
        assert_eq!(stats(&c).unwrap().depth, 2);
        let dl = dead_letters(&c, 10).unwrap();
        assert_eq!(dl.len(), 1);
        assert_eq!(dl[0].line, "m,s=a v=2 2");
        assert_eq!(dl[0].status, 400);
        assert_eq!(dl[0].error, "field type conflict");
        let rest = peek(&c, batch[2].id, 10, 1 << 20).unwrap();
        assert_eq!(rest.len(), 2);
        assert_eq!(rest[0].line, "m,s=a v=4 4");
    }

    #[test]
    fn ids_never_go_backwards_after_the_table_empties() {
        let mut c = db(100);
        let tx = c.transaction().unwrap();
        enqueue(&tx, &[point(1), point(2)]).unwrap();
        tx.commit().unwrap();
        let b = peek(&c, 0, 10, 1 << 20).unwrap();
        settle(&mut c, b[0].id, b[1].id, &[]).unwrap();
        let tx = c.transaction().unwrap();
        enqueue(&tx, &[point(3)]).unwrap();
        tx.commit().unwrap();
        let next = peek(&c, b[1].id, 10, 1 << 20).unwrap();
        assert_eq!(next.len(), 1, "a new row must sort after the old cursor");
    }

    #[test]
    fn peek_respects_the_byte_limit_but_returns_at_least_one() {
        let mut c = db(100);
        let tx = c.transaction().unwrap();
        enqueue(&tx, &(1..=4).map(point).collect::<Vec<_>>()).unwrap();
        tx.commit().unwrap();
        // each line is 11 bytes + newline
        assert_eq!(peek(&c, 0, 10, 24).unwrap().len(), 2);
        assert_eq!(peek(&c, 0, 10, 1).unwrap().len(), 1);
    }

    #[test]
    fn resync_repairs_a_drifted_depth() {
        let mut c = db(100);
        let tx = c.transaction().unwrap();
        enqueue(&tx, &[point(1)]).unwrap();
        tx.commit().unwrap();
        c.execute("UPDATE outbox_state SET depth = 42", []).unwrap();
        assert_eq!(resync_depth(&c).unwrap(), 1);
    }
}
