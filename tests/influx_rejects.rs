//! Points the server refuses do not block the queue: a field type conflict in a batch is
//! bisected down to the one bad point, which goes to `outbox_dead_letters` with
//! InfluxDB's own message, while every other point is written. A body over the server's
//! size limit (413) is split until it fits.

mod influx_support;

use std::time::Duration;

use envwatch::publish::line_protocol::Point;
use envwatch::publish::outbox;
use influx_support::*;

const BASE_NS: i64 = 1_790_784_000_000_000_000; // 2026-10-01 00:00 +08:00

fn point(i: i64) -> Point {
    Point::builder("reject_test")
        .tag("station", "1223A")
        .float("pm2_5", 10.0 + i as f64)
        .time_ns(BASE_NS + i * 60_000_000_000)
        .build()
        .expect("point")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_field_type_conflict_dead_letters_only_the_bad_point() {
    let base = influx_url();
    let db = run_id("envwatch_dl");
    create_database(&base, &db).await;
    // pm2_5 is a float in this shard from now on.
    let first = point(0).to_line();
    let resp = http()
        .post(format!("{base}/write?db={db}&precision=ns"))
        .body(first)
        .send()
        .await
        .expect("seed write");
    assert_eq!(resp.status().as_u16(), 204);

    let dir = tempfile::tempdir().expect("tempdir");
    let (path, mut conn) = new_store(dir.path(), 10_000);
    let bad_at = 137;
    let bad = Point::builder("reject_test")
        .tag("station", "1223A")
        .string("pm2_5", "n/a")
        .time_ns(BASE_NS + bad_at * 60_000_000_000)
        .build()
        .expect("bad point");
    let points: Vec<Point> = (1..=300)
        .map(|i| if i == bad_at { bad.clone() } else { point(i) })
        .collect();
    enqueue(&mut conn, &points);

    let running = spawn_publisher(v1_target(&base, &db), &path, fast_options());
    running.wait_drained(300, Duration::from_secs(60)).await;
    let m = running.metrics.clone();
    running.stop().await;

    assert_eq!(m.dead_letters.get(), 1);
    assert_eq!(m.points_written.get(), 299);
    assert!(m.splits.get() > 0, "the batch was bisected");
    let dl = outbox::dead_letters(&conn, 10).expect("dead letters");
    assert_eq!(dl.len(), 1, "{dl:?}");
    assert_eq!(dl[0].line, bad.to_line());
    assert_eq!(dl[0].status, 400);
    // InfluxDB 1.x's own words.
    assert!(
        dl[0].error.contains("field type conflict") && dl[0].error.contains("pm2_5"),
        "server message kept: {}",
        dl[0].error
    );
    assert_eq!(outbox::stats(&conn).expect("stats").depth, 0);

    let rows = select_all(&base, &db, "reject_test").await;
    assert_eq!(rows.len(), 300, "the seed point and the 299 good ones");
    let expected: Vec<Point> = (0..=300).filter(|i| *i != bad_at).map(point).collect();
    assert_points_in_influx(&expected, &rows);
    drop_database(&base, &db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_size_limit_is_split_and_an_oversized_point_dead_lettered() {
    let dir = tempfile::tempdir().expect("tempdir");
    let influx_dir = dir.path().join("influx");
    std::fs::create_dir_all(&influx_dir).expect("mkdir");
    // 4 KB request bodies at most.
    let influxd = Influxd::start(&influx_dir, "  max-body-size = 4096").await;
    let db = "split";
    create_database(&influxd.url(), db).await;

    let (path, mut conn) = new_store(dir.path(), 10_000);
    let huge = Point::builder("reject_test")
        .tag("station", "1223A")
        .string("note", "x".repeat(6000))
        .time_ns(BASE_NS - 1)
        .build()
        .expect("huge point");
    let mut points: Vec<Point> = (0..400).map(point).collect();
    points.insert(200, huge.clone());
    enqueue(&mut conn, &points);

    let mut target = v1_target(&influxd.url(), db);
    target.gzip = false; // the limit applies to the body as sent
    let running = spawn_publisher(target, &path, fast_options());
    running.wait_drained(401, Duration::from_secs(60)).await;
    let m = running.metrics.clone();
    running.stop().await;

    assert!(
        m.splits.get() >= 8,
        "a 400-point batch of ~60 B lines needs many splits for 4 KB"
    );
    assert_eq!(m.points_written.get(), 400);
    let dl = outbox::dead_letters(&conn, 10).expect("dead letters");
    assert_eq!(dl.len(), 1);
    assert_eq!(dl[0].status, 413);
    assert_eq!(dl[0].line, huge.to_line());
    let rows = select_all(&influxd.url(), db, "reject_test").await;
    let expected: Vec<Point> = (0..400).map(point).collect();
    assert_points_in_influx(&expected, &rows);
}
