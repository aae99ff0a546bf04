//! Resume points of polling sources, advanced in the same transaction as the readings
//! they cover (so a crash can repeat a window, never skip one).

use rusqlite::{OptionalExtension, Transaction, params};

use super::Store;

pub(super) fn set_all(
    tx: &Transaction<'_>,
    cursors: &[(String, String)],
    now_ms: i64,
) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO cursors (source, cursor, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (source) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
    )?;
    for (source, cursor) in cursors {
        stmt.execute(params![source, cursor, now_ms])?;
    }
    Ok(())
}

impl Store {
    /// The committed cursor of `source`, if any.
    pub fn cursor(&self, source: &str) -> rusqlite::Result<Option<String>> {
        self.conn
            .query_row(
                "SELECT cursor FROM cursors WHERE source = ?1",
                params![source],
                |r| r.get(0),
            )
            .optional()
    }
}
