//! Store semantics: idempotent upsert, dirty local days, dead letters, cursors, and the
//! commit hook running inside the same transaction (rolled back together).

use chrono::{NaiveDate, TimeZone, Utc};
use envwatch::model::{DataFlag, Reading, SiteId};
use envwatch::standards::parameter::Parameter;
use envwatch::store::{Batch, DeadLetter, Store};

fn reading(site: &str, hour_utc: u32, value: f64) -> Reading {
    Reading {
        site: SiteId::new(site),
        parameter: Parameter::Pm25,
        time: Utc.with_ymd_and_hms(2025, 1, 1, hour_utc, 0, 0).unwrap(),
        value,
        flag: DataFlag::N,
    }
}

fn open(dir: &tempfile::TempDir) -> Store {
    Store::open(&dir.path().join("s.db"), chrono_tz::Asia::Shanghai).unwrap()
}

#[test]
fn upsert_is_idempotent_and_marks_local_days_dirty() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(&dir);
    // 15:00 UTC = 23:00 Beijing (Jan 1); 16:00 UTC = 00:00 Beijing (Jan 2).
    let batch = Batch {
        readings: vec![reading("1223A", 15, 10.0), reading("1223A", 16, 11.0)],
        ..Batch::default()
    };
    let st = s.commit_batch(&batch, |_, _| Ok(())).unwrap();
    assert_eq!((st.changed, st.unchanged, st.dirty_days), (2, 0, 2));
    let days: Vec<NaiveDate> = s.dirty_days().unwrap().into_iter().map(|d| d.1).collect();
    assert_eq!(
        days.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
        ["2025-01-01", "2025-01-02"]
    );
    // Replay: nothing changes, no day marked.
    let (site, day, at) = s.dirty_days().unwrap().remove(0);
    assert!(s.clear_dirty_day(&site, day, at).unwrap());
    let st = s.commit_batch(&batch, |_, _| Ok(())).unwrap();
    assert_eq!((st.changed, st.unchanged, st.dirty_days), (0, 2, 0));
    assert_eq!(s.count_readings().unwrap(), 2);
    assert_eq!(s.dirty_days().unwrap().len(), 1);
    // A late correction overwrites and marks its day again.
    let fix = Batch {
        readings: vec![reading("1223A", 15, 12.5)],
        ..Batch::default()
    };
    assert_eq!(s.commit_batch(&fix, |_, _| Ok(())).unwrap().changed, 1);
    let back = s
        .readings_between(
            Some(&SiteId::new("1223A")),
            Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2025, 1, 2, 0, 0, 0).unwrap(),
        )
        .unwrap();
    assert_eq!(back.len(), 2);
    assert_eq!(back[0].value, 12.5);
    assert_eq!(s.dirty_days().unwrap().len(), 2);
}

#[test]
fn hook_runs_in_the_same_transaction_and_failure_rolls_back_everything() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(&dir);
    s.conn()
        .execute_batch("CREATE TABLE outbox_test (line TEXT NOT NULL)")
        .unwrap();
    let batch = Batch {
        readings: vec![reading("1223A", 1, 1.0), reading("1223A", 2, 2.0)],
        dead_letters: vec![DeadLetter::new(
            Utc::now(),
            "air",
            "mqtt:x",
            "crc_mismatch: ...",
            b"##junk",
        )],
        cursors: vec![("http:feed".into(), "page=2".into())],
    };
    let err = s.commit_batch(&batch, |tx, readings| {
        for r in readings {
            tx.execute("INSERT INTO outbox_test VALUES (?1)", [r.value.to_string()])?;
        }
        anyhow::bail!("outbox full")
    });
    assert!(err.is_err());
    assert_eq!(s.count_readings().unwrap(), 0);
    assert_eq!(s.count_dead_letters().unwrap(), 0);
    assert_eq!(s.cursor("http:feed").unwrap(), None);
    let n: i64 = s
        .conn()
        .query_row("SELECT count(*) FROM outbox_test", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0);

    s.commit_batch(&batch, |tx, readings| {
        for r in readings {
            tx.execute("INSERT INTO outbox_test VALUES (?1)", [r.value.to_string()])?;
        }
        Ok(())
    })
    .unwrap();
    assert_eq!(s.count_readings().unwrap(), 2);
    let n: i64 = s
        .conn()
        .query_row("SELECT count(*) FROM outbox_test", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 2);
    assert_eq!(s.cursor("http:feed").unwrap().as_deref(), Some("page=2"));
    let d = s.dead_letters(10).unwrap();
    assert_eq!(d[0].reason, "crc_mismatch: ...");
    assert_eq!(d[0].payload, b"##junk");
    // WAL + FULL, as documented.
    let mode: String = s
        .conn()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    let sync: i64 = s
        .conn()
        .query_row("PRAGMA synchronous", [], |r| r.get(0))
        .unwrap();
    assert_eq!((mode.as_str(), sync), ("wal", 2));
}
