//! Store semantics: idempotent upsert, dirty local days, dead letters, cursors, and the
//! commit hook running inside the same transaction (rolled back together).

use chrono::{NaiveDate, TimeZone, Utc};
use envwatch::model::{DataFlag, Period, Reading, SiteId};
use envwatch::standards::parameter::Parameter;
use envwatch::store::{Batch, DeadLetter, Store};

fn reading(site: &str, hour_utc: u32, value: f64) -> Reading {
    Reading {
        period: Period::Hour,
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
            Period::Hour,
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
        ..Batch::default()
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

fn at(period: Period, t: chrono::DateTime<Utc>, value: f64) -> Reading {
    Reading {
        period,
        time: t,
        value,
        ..reading("1223A", 0, 0.0)
    }
}

/// HJ 212 periods (STANDARDS.md §2.4, §5.4): a day packet stamped at local midnight
/// (16:00 UTC) and the hour starting then are two readings; hourly reads see hours only;
/// only hour data mark days dirty (only they enter the daily statistics).
#[test]
fn periods_are_part_of_the_key_and_only_hours_mark_days() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(&dir);
    let midnight = Utc.with_ymd_and_hms(2025, 1, 1, 16, 0, 0).unwrap();
    let day = Batch {
        readings: vec![
            at(Period::Day, midnight, 99.0),
            at(
                Period::RealTime,
                midnight + chrono::Duration::seconds(30),
                500.0,
            ),
            at(
                Period::Minute,
                midnight + chrono::Duration::minutes(1),
                400.0,
            ),
        ],
        ..Batch::default()
    };
    let st = s.commit_batch(&day, |_, _| Ok(())).unwrap();
    assert_eq!((st.changed, st.dirty_days), (3, 0));
    let hour = Batch {
        readings: vec![at(Period::Hour, midnight, 35.0)],
        ..Batch::default()
    };
    let st = s.commit_batch(&hour, |_, _| Ok(())).unwrap();
    assert_eq!((st.changed, st.dirty_days), (1, 1));
    assert_eq!(s.count_readings().unwrap(), 4);
    let next = midnight + chrono::Duration::days(1);
    let hours = s
        .readings_between(Period::Hour, None, midnight, next)
        .unwrap();
    assert_eq!(hours.len(), 1);
    assert_eq!((hours[0].value, hours[0].period), (35.0, Period::Hour));
    let days = s
        .readings_between(Period::Day, None, midnight, next)
        .unwrap();
    assert_eq!(days[0].value, 99.0);
    // The `readings` view names everything for people with sqlite3.
    let (period, flag): (String, String) = s
        .conn()
        .query_row(
            "SELECT period, flag FROM readings WHERE site = '1223A' AND parameter = 'PM2.5'
             AND time = ?1 AND period = 'day'",
            [midnight.timestamp()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((period.as_str(), flag.as_str()), ("day", "N"));
}

fn minutes(from: chrono::DateTime<Utc>, n: i64, value: impl Fn(i64) -> f64) -> Vec<Reading> {
    (0..n)
        .map(|i| {
            at(
                Period::Minute,
                from + chrono::Duration::minutes(i),
                value(i),
            )
        })
        .collect()
}

/// GB 3095 Table 4 (STANDARDS.md §2.3): a 1-hour mean needs ≥ 45 minutes of data. With
/// `minute_data = "derive-hour"`, 45 valid minute values give an hour (their mean), 44
/// do not; an hour packet replaces a derived hour, a derived hour never replaces it.
#[test]
fn hours_derive_from_45_minutes_and_yield_to_hour_packets() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(&dir);
    let h0 = Utc.with_ymd_and_hms(2025, 1, 1, 4, 0, 0).unwrap();
    let h1 = h0 + chrono::Duration::hours(1);
    let mut b = Batch::default();
    // Hour 0: 44 valid minutes (10..53) and one flagged M: not enough.
    let mut m0 = minutes(h0, 44, |i| i as f64);
    m0.push(Reading {
        flag: DataFlag::M,
        ..at(Period::Minute, h0 + chrono::Duration::minutes(59), 1000.0)
    });
    b.add_readings(m0, true);
    // Hour 1: 45 minutes, values 0..44: mean 22.
    b.add_readings(minutes(h1, 45, |i| i as f64), true);
    let mut seen = Vec::new();
    let st = s
        .commit_batch(&b, |_, rs| {
            seen = rs
                .iter()
                .filter(|r| r.period == Period::Hour)
                .cloned()
                .collect();
            Ok(())
        })
        .unwrap();
    assert_eq!(st.derived_hours, 1);
    assert_eq!(
        seen.len(),
        1,
        "the hook (Influx outbox) sees the derived hour"
    );
    let hours = s
        .readings_between(Period::Hour, None, h0, h1 + chrono::Duration::hours(1))
        .unwrap();
    assert_eq!(hours.len(), 1);
    assert_eq!((hours[0].time, hours[0].value), (h1, 22.0));
    let derived = envwatch::store::readings::is_derived_hour;
    assert_eq!(
        derived(s.conn(), &SiteId::new("1223A"), Parameter::Pm25, h1).unwrap(),
        Some(true)
    );
    // The hour packet replaces it ...
    let real = Batch {
        readings: vec![at(Period::Hour, h1, 30.0)],
        ..Batch::default()
    };
    s.commit_batch(&real, |_, _| Ok(())).unwrap();
    // ... and later minute data never overwrite the hour packet.
    let mut late = Batch::default();
    late.add_readings(minutes(h1, 60, |_| 5.0), true);
    assert_eq!(
        s.commit_batch(&late, |_, _| Ok(())).unwrap().derived_hours,
        0
    );
    let hours = s
        .readings_between(Period::Hour, None, h1, h1 + chrono::Duration::hours(1))
        .unwrap();
    assert_eq!(hours[0].value, 30.0);
    assert_eq!(
        derived(s.conn(), &SiteId::new("1223A"), Parameter::Pm25, h1).unwrap(),
        Some(false)
    );
    // Without the option minute data stay display-only.
    let mut plain = Batch::default();
    plain.add_readings(minutes(h0 + chrono::Duration::hours(5), 60, |_| 7.0), false);
    assert_eq!(
        s.commit_batch(&plain, |_, _| Ok(())).unwrap().derived_hours,
        0
    );
}

/// A failed commit that introduced a new site must not leave its dictionary id behind:
/// the next commit with another new site must still store the right site codes.
#[test]
fn a_rolled_back_site_id_is_not_reused_for_another_site() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(&dir);
    let first = Batch {
        readings: vec![reading("1224A", 1, 1.0)],
        ..Batch::default()
    };
    assert!(
        s.commit_batch(&first, |_, _| anyhow::bail!("disk full"))
            .is_err()
    );
    let second = Batch {
        readings: vec![reading("1225A", 1, 2.0), reading("1224A", 2, 3.0)],
        ..Batch::default()
    };
    s.commit_batch(&second, |_, _| Ok(())).unwrap();
    let all = s
        .readings_between(
            Period::Hour,
            None,
            Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2025, 1, 2, 0, 0, 0).unwrap(),
        )
        .unwrap();
    let got: Vec<(&str, f64)> = all.iter().map(|r| (r.site.as_str(), r.value)).collect();
    assert_eq!(got, [("1224A", 3.0), ("1225A", 2.0)]);
}

/// A v1 store (built here with the v1 DDL) is migrated in place when opened: every row
/// kept, the period inferred from its time (whole hour -> hour, whole minute -> minute,
/// else real-time), flags kept, dead letters and dirty days untouched, user_version 2.
#[test]
fn a_v1_store_migrates_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(envwatch::store::schema::V1_READINGS)
            .unwrap();
        c.execute_batch(
            "CREATE TABLE dirty_days (site TEXT NOT NULL, day TEXT NOT NULL,
               marked_at INTEGER NOT NULL, PRIMARY KEY (site, day)) WITHOUT ROWID;
             INSERT INTO dirty_days VALUES ('1223A', '2025-01-02', 7);
             PRAGMA user_version = 1;",
        )
        .unwrap();
        let mut ins = c
            .prepare("INSERT INTO readings VALUES (?1, ?2, ?3, ?4, ?5)")
            .unwrap();
        let h = Utc
            .with_ymd_and_hms(2025, 1, 1, 16, 0, 0)
            .unwrap()
            .timestamp();
        // 100 days of hours at two sites, plus one minute and one real-time value.
        for i in 0..2400 {
            ins.execute(rusqlite::params![
                "1223A",
                "PM2.5",
                h + i * 3600,
                i as f64,
                "N"
            ])
            .unwrap();
            ins.execute(rusqlite::params!["YH-01", "DO", h + i * 3600, 7.5, "M"])
                .unwrap();
        }
        ins.execute(rusqlite::params!["1223A", "O3", h + 60, 80.0, "N"])
            .unwrap();
        ins.execute(rusqlite::params!["1223A", "O3", h + 30, 81.0, "C"])
            .unwrap();
    }
    let s = Store::open(&path, chrono_tz::Asia::Shanghai).unwrap();
    let v: i64 = s
        .conn()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, 2);
    assert_eq!(s.count_readings().unwrap(), 4802);
    let t0 = Utc.with_ymd_and_hms(2025, 1, 1, 16, 0, 0).unwrap();
    let end = t0 + chrono::Duration::days(101);
    let hours = s.readings_between(Period::Hour, None, t0, end).unwrap();
    assert_eq!(hours.len(), 4800);
    let pm: Vec<&Reading> = hours
        .iter()
        .filter(|r| r.site.as_str() == "1223A")
        .collect();
    assert_eq!(
        (pm[5].value, pm[5].time),
        (5.0, t0 + chrono::Duration::hours(5))
    );
    assert!(
        hours
            .iter()
            .filter(|r| r.site.as_str() == "YH-01")
            .all(|r| r.flag == DataFlag::M)
    );
    let m = s.readings_between(Period::Minute, None, t0, end).unwrap();
    assert_eq!((m.len(), m[0].value), (1, 80.0));
    let rt = s.readings_between(Period::RealTime, None, t0, end).unwrap();
    assert_eq!((rt.len(), rt[0].flag), (1, DataFlag::C));
    assert_eq!(s.dirty_days().unwrap().len(), 1);
    let old: i64 = s
        .conn()
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name IN ('readings_v1', 'readings_time')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(old, 0);
    drop(s);
    // Opening again is a no-op.
    let s = Store::open(&path, chrono_tz::Asia::Shanghai).unwrap();
    assert_eq!(s.count_readings().unwrap(), 4802);
}
