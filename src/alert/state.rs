//! The per (rule, subject) state machine, persisted in the store's `alert_state` table so
//! a restart neither repeats a notification nor forgets an alert that is firing.
//!
//! ```text
//!            bad (count < N or held < `for`)        bad (count >= N, held >= `for`)
//!   ok ───────────────────────────────────> pending ───────────────────────────> firing
//!    ^  <─────────── good ──────────────────┘                                    │  │
//!    │                                               bad, repeat interval passed ┘  │
//!    └── resolved <────────────── M consecutive good periods ───────────────────────┘
//! ```
//! `ok` and `resolved` behave alike (resolved only remembers that the alert once fired).
//! A period that is not newer than the last one seen is ignored: replays after a
//! restart, and the same fact reported twice, never count twice (dedup).

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

/// Where an alert is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Pending,
    Firing,
    Resolved,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Pending => "pending",
            Status::Firing => "firing",
            Status::Resolved => "resolved",
        }
    }

    fn parse(s: &str) -> Status {
        match s {
            "pending" => Status::Pending,
            "firing" => Status::Firing,
            "resolved" => Status::Resolved,
            _ => Status::Ok,
        }
    }
}

/// What a step did that deserves a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transition {
    Fired,
    Resolved,
    Repeated,
}

/// A rule's hysteresis, in the units the state machine counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hysteresis {
    /// N: consecutive bad periods before firing.
    pub fire_after: u32,
    /// M: consecutive good periods before resolving.
    pub resolve_after: u32,
    /// Minimum time between the first bad period and firing.
    pub hold_for: chrono::Duration,
    /// Repeat a firing alert this often (None: never).
    pub repeat_every: Option<chrono::Duration>,
}

/// One row of `alert_state`.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertState {
    pub rule: String,
    pub subject: String,
    pub status: Status,
    /// Consecutive bad periods (reset by a good one).
    pub bad_count: u32,
    /// Consecutive good periods while firing (reset by a bad one).
    pub good_count: u32,
    pub first_bad_at: Option<DateTime<Utc>>,
    /// Latest period seen.
    pub last_at: Option<DateTime<Utc>>,
    /// When the status last changed (wall clock).
    pub since: DateTime<Utc>,
    /// When a notification was last produced (wall clock), for the repeat interval.
    pub last_notified_at: Option<DateTime<Utc>>,
    /// Notifications produced so far; numbers notification ids.
    pub notifications: u32,
    /// JSON of the fact behind the latest bad verdict (to word repeats).
    pub fact: Option<String>,
}

impl AlertState {
    fn new(rule: &str, subject: &str, now: DateTime<Utc>) -> AlertState {
        AlertState {
            rule: rule.to_string(),
            subject: subject.to_string(),
            status: Status::Ok,
            bad_count: 0,
            good_count: 0,
            first_bad_at: None,
            last_at: None,
            since: now,
            last_notified_at: None,
            notifications: 0,
            fact: None,
        }
    }
}

/// Creates `alert_state` if missing. Idempotent.
pub fn create_tables(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS alert_state (
            rule TEXT NOT NULL,
            subject TEXT NOT NULL,
            status TEXT NOT NULL,
            bad_count INTEGER NOT NULL,
            good_count INTEGER NOT NULL,
            first_bad_at INTEGER,
            last_at INTEGER,
            since INTEGER NOT NULL,
            last_notified_at INTEGER,
            notifications INTEGER NOT NULL,
            fact TEXT,
            PRIMARY KEY (rule, subject)
        ) WITHOUT ROWID;",
    )
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn from_ms(v: Option<i64>) -> Option<DateTime<Utc>> {
    v.and_then(DateTime::from_timestamp_millis)
}

fn row_to_state(r: &rusqlite::Row<'_>) -> rusqlite::Result<AlertState> {
    Ok(AlertState {
        rule: r.get(0)?,
        subject: r.get(1)?,
        status: Status::parse(&r.get::<_, String>(2)?),
        bad_count: r.get(3)?,
        good_count: r.get(4)?,
        first_bad_at: from_ms(r.get(5)?),
        last_at: from_ms(r.get(6)?),
        since: from_ms(r.get(7)?).unwrap_or_default(),
        last_notified_at: from_ms(r.get(8)?),
        notifications: r.get(9)?,
        fact: r.get(10)?,
    })
}

const COLUMNS: &str = "rule, subject, status, bad_count, good_count, first_bad_at, last_at, \
                       since, last_notified_at, notifications, fact";

/// The stored state of one (rule, subject), if any.
pub fn load(conn: &Connection, rule: &str, subject: &str) -> rusqlite::Result<Option<AlertState>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM alert_state WHERE rule = ?1 AND subject = ?2"),
        params![rule, subject],
        row_to_state,
    )
    .optional()
}

/// Every stored state, firing first.
pub fn list(conn: &Connection) -> rusqlite::Result<Vec<AlertState>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM alert_state
         ORDER BY CASE status WHEN 'firing' THEN 0 WHEN 'pending' THEN 1 ELSE 2 END, rule, subject"
    ))?;
    stmt.query_map([], row_to_state)?.collect()
}

/// Inserts or replaces a state row.
pub fn save(conn: &Connection, s: &AlertState) -> rusqlite::Result<()> {
    conn.execute(
        &format!(
            "INSERT OR REPLACE INTO alert_state ({COLUMNS})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
        ),
        params![
            s.rule,
            s.subject,
            s.status.as_str(),
            s.bad_count,
            s.good_count,
            s.first_bad_at.map(ms),
            s.last_at.map(ms),
            ms(s.since),
            s.last_notified_at.map(ms),
            s.notifications,
            s.fact,
        ],
    )?;
    Ok(())
}

/// Advances a state by one verdict. Pure: the caller loads and saves.
///
/// `at` is the period the verdict is about (observation time), `now` the wall clock.
pub fn step(
    prev: Option<AlertState>,
    rule: &str,
    subject: &str,
    at: DateTime<Utc>,
    bad: bool,
    h: &Hysteresis,
    now: DateTime<Utc>,
) -> (AlertState, Option<Transition>) {
    let mut s = prev.unwrap_or_else(|| AlertState::new(rule, subject, now));
    if s.last_at.is_some_and(|last| at <= last) {
        return (s, None);
    }
    s.last_at = Some(at);
    let mut transition = None;
    if bad {
        s.good_count = 0;
        s.bad_count = s.bad_count.saturating_add(1);
        let first = *s.first_bad_at.get_or_insert(at);
        match s.status {
            Status::Ok | Status::Resolved | Status::Pending => {
                if s.bad_count >= h.fire_after && at - first >= h.hold_for {
                    s.status = Status::Firing;
                    s.since = now;
                    transition = Some(Transition::Fired);
                } else if s.status != Status::Pending {
                    s.status = Status::Pending;
                    s.since = now;
                }
            }
            Status::Firing => {
                if repeat_due(&s, h, now) {
                    transition = Some(Transition::Repeated);
                }
            }
        }
    } else {
        s.bad_count = 0;
        s.first_bad_at = None;
        match s.status {
            Status::Firing => {
                s.good_count = s.good_count.saturating_add(1);
                if s.good_count >= h.resolve_after {
                    s.status = Status::Resolved;
                    s.since = now;
                    s.good_count = 0;
                    transition = Some(Transition::Resolved);
                }
            }
            Status::Pending => {
                s.status = Status::Ok;
                s.since = now;
            }
            Status::Ok | Status::Resolved => {}
        }
    }
    if transition.is_some() {
        s.last_notified_at = Some(now);
        s.notifications = s.notifications.saturating_add(1);
    }
    (s, transition)
}

/// Whether a firing alert is due for its repeat notification.
pub fn repeat_due(s: &AlertState, h: &Hysteresis, now: DateTime<Utc>) -> bool {
    match (s.status, h.repeat_every, s.last_notified_at) {
        (Status::Firing, Some(every), Some(last)) => now - last >= every,
        _ => false,
    }
}

/// Marks a repeat as sent (used by the periodic tick, which has no new fact).
pub fn mark_repeated(s: &mut AlertState, now: DateTime<Utc>) {
    s.last_notified_at = Some(now);
    s.notifications = s.notifications.saturating_add(1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn h(n: u32, m: u32) -> Hysteresis {
        Hysteresis {
            fire_after: n,
            resolve_after: m,
            hold_for: chrono::Duration::zero(),
            repeat_every: None,
        }
    }

    fn t(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 7, 1, hour, 0, 0)
            .single()
            .unwrap_or_default()
    }

    /// Runs a sequence of verdicts and returns the transitions with their index.
    fn run(bads: &[bool], hy: &Hysteresis) -> Vec<(usize, Transition)> {
        let mut s = None;
        let mut out = Vec::new();
        for (i, &b) in bads.iter().enumerate() {
            let (next, tr) = step(s, "r", "x", t(i as u32), b, hy, t(i as u32));
            if let Some(tr) = tr {
                out.push((i, tr));
            }
            s = Some(next);
        }
        out
    }

    #[test]
    fn n2_m2_hysteresis() {
        // bad, good, bad, bad(fire), good, bad, good, good(resolve)
        let seq = [true, false, true, true, false, true, false, false];
        assert_eq!(
            run(&seq, &h(2, 2)),
            vec![(3, Transition::Fired), (7, Transition::Resolved)]
        );
    }

    #[test]
    fn n1_m1_fires_and_resolves_at_once() {
        let seq = [false, true, true, false, true];
        assert_eq!(
            run(&seq, &h(1, 1)),
            vec![
                (1, Transition::Fired),
                (3, Transition::Resolved),
                (4, Transition::Fired)
            ]
        );
    }

    #[test]
    fn replayed_periods_are_ignored() {
        let hy = h(2, 1);
        let (s, tr) = step(None, "r", "x", t(1), true, &hy, t(1));
        assert_eq!(tr, None);
        // The same period again (a replay) must not count as the second bad period.
        let (s, tr) = step(Some(s), "r", "x", t(1), true, &hy, t(2));
        assert_eq!((tr, s.bad_count), (None, 1));
        let (_, tr) = step(Some(s), "r", "x", t(2), true, &hy, t(2));
        assert_eq!(tr, Some(Transition::Fired));
    }

    #[test]
    fn hold_for_and_repeat() {
        let hy = Hysteresis {
            fire_after: 1,
            resolve_after: 1,
            hold_for: chrono::Duration::hours(3),
            repeat_every: Some(chrono::Duration::hours(2)),
        };
        let mut s = None;
        let mut out = Vec::new();
        for i in 0..8 {
            let (next, tr) = step(s, "r", "x", t(i), true, &hy, t(i));
            out.push(tr);
            s = Some(next);
        }
        use Transition::*;
        assert_eq!(
            out,
            vec![
                None,
                None,
                None,
                Some(Fired),
                None,
                Some(Repeated),
                None,
                Some(Repeated)
            ]
        );
    }
}
