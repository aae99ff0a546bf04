//! InfluxDB goes down during a steady feed and comes back: every point arrives, in order,
//! none twice; the outbox depth rises during the outage and returns to 0.
//!
//! The test runs its own `influxd` (ENVWATCH_TEST_INFLUXD_BIN) on a free port, SIGKILLs
//! it, and restarts it on the same data directory and port.
//!
//! "In order" is observable on the server: some points are recomputed (the same series
//! and timestamp queued again later with a new value, as a recomputed day would be).
//! If any older version were delivered after the newer one, Influx would keep the older.

mod influx_support;

use std::time::{Duration, Instant};

use envwatch::publish::line_protocol::Point;
use influx_support::*;

const TICKS: i64 = 120;
const PER_TICK: i64 = 25;
const TICK: Duration = Duration::from_millis(50);
/// Every 7th point is recomputed one tick later.
const RECOMPUTE_EVERY: i64 = 7;
const BASE_NS: i64 = 1_790_784_000_000_000_000; // 2026-10-01 00:00 +08:00

fn feed_point(seq: i64, rev: i64) -> Point {
    let v = (seq as f64) * 0.25 + 0.125;
    Point::builder("outage_feed")
        .tag("station", format!("S{}", seq % 5))
        .integer("seq", seq)
        .integer("rev", rev)
        .float("v", if rev == 1 { v } else { -v })
        .time_ns(BASE_NS + seq * 1_000_000_000)
        .build()
        .expect("point")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_loses_nothing_and_keeps_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let influx_dir = dir.path().join("influx");
    std::fs::create_dir_all(&influx_dir).expect("mkdir");
    let mut influxd = Influxd::start(&influx_dir, "").await;
    let db = "outage";
    create_database(&influxd.url(), db).await;

    let (path, _conn) = new_store(dir.path(), 1_000_000);
    let mut target = v1_target(&influxd.url(), db);
    target.timeout = Duration::from_secs(2);
    let running = spawn_publisher(target, &path, fast_options());

    // The steady feed: its own connection, one transaction per tick, like the store.
    let feed_path = path.clone();
    let feeder = tokio::task::spawn_blocking(move || {
        let mut conn = rusqlite::Connection::open(&feed_path).expect("open");
        conn.busy_timeout(Duration::from_secs(10))
            .expect("busy timeout");
        let mut queued = 0u64;
        for tick in 0..TICKS {
            let mut points: Vec<Point> = (0..PER_TICK)
                .map(|i| feed_point(tick * PER_TICK + i, 1))
                .collect();
            if tick > 0 {
                points.extend(
                    ((tick - 1) * PER_TICK..tick * PER_TICK)
                        .filter(|s| s % RECOMPUTE_EVERY == 0)
                        .map(|s| feed_point(s, 2)),
                );
            }
            queued += points.len() as u64;
            enqueue(&mut conn, &points);
            std::thread::sleep(TICK);
        }
        // The last tick's recomputations.
        let last: Vec<Point> = ((TICKS - 1) * PER_TICK..TICKS * PER_TICK)
            .filter(|s| s % RECOMPUTE_EVERY == 0)
            .map(|s| feed_point(s, 2))
            .collect();
        queued += last.len() as u64;
        enqueue(&mut conn, &last);
        queued
    });

    // Let the feed run, then take Influx away for about three seconds.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let written_before = running.metrics.points_written.get();
    assert!(written_before > 0, "points flow before the outage");
    influxd.stop();
    let mut max_depth = 0i64;
    let outage_end = Instant::now() + Duration::from_secs(3);
    while Instant::now() < outage_end {
        max_depth = max_depth.max(running.metrics.outbox_depth.get());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        running.metrics.retries.get() > 0,
        "the publisher noticed the outage"
    );
    assert_eq!(running.metrics.influx_down.get(), 1);
    // ~3 s of a ~580 points/s feed waited in the outbox (loose bound for a loaded machine:
    // the claim is that the depth rose, not by how much).
    assert!(
        max_depth >= 200,
        "outbox depth rose during the outage (max {max_depth})"
    );
    influxd.restart().await;

    let queued = tokio::time::timeout(Duration::from_secs(60), feeder)
        .await
        .expect("feed finishes")
        .expect("feeder");
    running.wait_drained(queued, Duration::from_secs(60)).await;
    let m = running.metrics.clone();
    running.stop().await;

    // Every queued point was accepted exactly once (only 2xx answers count), none rejected.
    assert_eq!(
        m.points_written.get(),
        queued,
        "accepted points = queued points"
    );
    assert_eq!(m.dead_letters.get(), 0);
    assert_eq!(m.outbox_depth.get(), 0, "outbox depth returned to 0");
    assert_eq!(m.influx_down.get(), 0);

    let rows = select_all(&influxd.url(), db, "outage_feed").await;
    let total = (TICKS * PER_TICK) as usize;
    assert_eq!(
        rows.len(),
        total,
        "one row per point, none missing, none extra"
    );
    let mut seen = vec![false; total];
    for r in &rows {
        let seq = r["seq"].as_i64().expect("seq");
        let idx = usize::try_from(seq).expect("seq >= 0");
        assert!(!seen[idx], "seq {seq} twice");
        seen[idx] = true;
        assert_eq!(r["time"].as_i64(), Some(BASE_NS + seq * 1_000_000_000));
        let expected = feed_point(seq, if seq % RECOMPUTE_EVERY == 0 { 2 } else { 1 });
        assert_eq!(
            r["rev"].as_i64(),
            expected.field("rev").and_then(|f| match f {
                envwatch::publish::FieldValue::Integer(i) => Some(*i),
                _ => None,
            }),
            "seq {seq}: the newest version must win (delivered in order)"
        );
        assert_eq!(
            r["v"].as_f64(),
            match expected.field("v") {
                Some(envwatch::publish::FieldValue::Float(f)) => Some(*f),
                _ => None,
            },
            "seq {seq}"
        );
        assert_eq!(
            r["station"].as_str(),
            Some(format!("S{}", seq % 5).as_str())
        );
    }
    assert!(seen.iter().all(|s| *s));
}
