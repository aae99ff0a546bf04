//! Dead letters: raw input that could not be used, with origin and reason.

use chrono::{DateTime, Utc};
use rusqlite::{Transaction, params};

use super::Store;

/// Stored payloads are cut to this size (the reason still says how big it was).
pub const MAX_PAYLOAD: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    pub received_at: DateTime<Utc>,
    pub pipeline: String,
    /// `mqtt:topic`, `file:path:line`, `http:url`.
    pub origin: String,
    pub reason: String,
    /// The raw payload (callers may already cut it to [`MAX_PAYLOAD`]).
    pub payload: Vec<u8>,
    /// Size of the payload as received.
    pub payload_size: usize,
}

impl DeadLetter {
    /// A dead letter keeping at most [`MAX_PAYLOAD`] bytes of `payload`.
    pub fn new(
        received_at: DateTime<Utc>,
        pipeline: impl Into<String>,
        origin: impl Into<String>,
        reason: impl Into<String>,
        payload: &[u8],
    ) -> DeadLetter {
        DeadLetter {
            received_at,
            pipeline: pipeline.into(),
            origin: origin.into(),
            reason: reason.into(),
            payload: payload[..payload.len().min(MAX_PAYLOAD)].to_vec(),
            payload_size: payload.len(),
        }
    }
}

/// A dead letter as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredDeadLetter {
    pub id: i64,
    pub received_at_ms: i64,
    pub pipeline: String,
    pub origin: String,
    pub reason: String,
    pub payload_size: usize,
    pub payload: Vec<u8>,
}

pub(super) fn insert(tx: &Transaction<'_>, letters: &[DeadLetter]) -> rusqlite::Result<usize> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO dead_letters (received_at, pipeline, origin, reason, payload_size, payload)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for d in letters {
        let cut = &d.payload[..d.payload.len().min(MAX_PAYLOAD)];
        stmt.execute(params![
            d.received_at.timestamp_millis(),
            d.pipeline,
            d.origin,
            d.reason,
            d.payload_size.max(d.payload.len()) as i64,
            cut
        ])?;
    }
    Ok(letters.len())
}

impl Store {
    pub fn count_dead_letters(&self) -> rusqlite::Result<u64> {
        self.conn
            .query_row("SELECT count(*) FROM dead_letters", [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n as u64)
    }

    /// The newest `limit` dead letters, newest first.
    pub fn dead_letters(&self, limit: usize) -> rusqlite::Result<Vec<StoredDeadLetter>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, received_at, pipeline, origin, reason, payload_size, payload
             FROM dead_letters ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map(params![limit as i64], |r| {
            Ok(StoredDeadLetter {
                id: r.get(0)?,
                received_at_ms: r.get(1)?,
                pipeline: r.get(2)?,
                origin: r.get(3)?,
                reason: r.get(4)?,
                payload_size: r.get::<_, i64>(5)? as usize,
                payload: r.get(6)?,
            })
        })?;
        rows.collect()
    }
}
