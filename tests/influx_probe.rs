//! `check-config --probe` and startup say clearly what is wrong with the configured
//! Influx: unreachable, wrong credentials, missing database — and a publisher with wrong
//! credentials keeps its points instead of dead-lettering them.

mod influx_support;

use std::time::Duration;

use envwatch::config::Secret;
use envwatch::publish::{InfluxClient, ProbeError, outbox};
use influx_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_probe_tells_ok_missing_database_and_unreachable_apart() {
    let base = influx_url();
    let db = run_id("envwatch_probe");
    create_database(&base, &db).await;
    let ok = InfluxClient::new(v1_target(&base, &db))
        .expect("client")
        .probe()
        .await;
    let ok = ok.unwrap_or_else(|e| panic!("probe of an existing database failed: {e}"));
    assert!(ok.server.starts_with("InfluxDB 1."), "{ok:?}");

    let missing = InfluxClient::new(v1_target(&base, "envwatch_surely_missing"))
        .expect("client")
        .probe()
        .await;
    match missing {
        Err(e @ ProbeError::MissingDatabase { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains("\"envwatch_surely_missing\" does not exist"),
                "{msg}"
            );
            assert!(msg.contains(&db), "lists the existing databases: {msg}");
        }
        other => panic!("expected MissingDatabase, got {other:?}"),
    }

    let port = free_port();
    let down = InfluxClient::new(v1_target(&format!("http://127.0.0.1:{port}"), &db))
        .expect("client")
        .probe()
        .await;
    match down {
        Err(e @ ProbeError::Unreachable { .. }) => {
            assert!(e.to_string().contains("cannot reach InfluxDB"), "{e}")
        }
        other => panic!("expected Unreachable, got {other:?}"),
    }
    drop_database(&base, &db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2_probe_accepts_victoriametrics() {
    let base = vm_url();
    let ok = InfluxClient::new(v2_target(&base, "envwatch"))
        .expect("client")
        .probe()
        .await;
    let ok = ok.unwrap_or_else(|e| panic!("probe of VictoriaMetrics failed: {e}"));
    assert!(ok.detail.contains("envwatch"), "{ok:?}");
}

async fn admin_query(url: &str, q: &str) {
    let mut u = reqwest::Url::parse(&format!("{url}/query")).expect("url");
    u.query_pairs_mut().append_pair("q", q);
    let resp = http()
        .post(u)
        .basic_auth("admin", Some("s3cret"))
        .send()
        .await
        .expect("admin query");
    assert!(resp.status().is_success(), "{q}: {}", resp.status());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_are_named_and_never_drop_points() {
    let dir = tempfile::tempdir().expect("tempdir");
    let influx_dir = dir.path().join("influx");
    std::fs::create_dir_all(&influx_dir).expect("mkdir");
    let influxd = Influxd::start(&influx_dir, "  auth-enabled = true").await;
    let url = influxd.url();
    // With no user yet, InfluxDB 1.x lets the first admin be created without auth.
    let mut u = reqwest::Url::parse(&format!("{url}/query")).expect("url");
    u.query_pairs_mut().append_pair(
        "q",
        "CREATE USER admin WITH PASSWORD 's3cret' WITH ALL PRIVILEGES",
    );
    let resp = http().post(u).send().await.expect("create admin");
    assert!(resp.status().is_success());
    admin_query(&url, "CREATE DATABASE envwatch").await;

    let with = |user: &str, pass: &str, db: &str| {
        let mut t = v1_target(&url, db);
        t.username = Some(user.to_string());
        t.password = Some(Secret::from_value(pass));
        t
    };
    let wrong = InfluxClient::new(with("admin", "nope", "envwatch"))
        .expect("client")
        .probe()
        .await;
    match wrong {
        Err(e @ ProbeError::WrongCredentials { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("influx.username and influx.password"), "{msg}");
            assert!(
                !msg.contains("nope"),
                "the password is never printed: {msg}"
            );
        }
        other => panic!("expected WrongCredentials, got {other:?}"),
    }
    let missing = InfluxClient::new(with("admin", "s3cret", "other"))
        .expect("client")
        .probe()
        .await;
    assert!(
        matches!(missing, Err(ProbeError::MissingDatabase { .. })),
        "{missing:?}"
    );
    let ok = InfluxClient::new(with("admin", "s3cret", "envwatch"))
        .expect("client")
        .probe()
        .await;
    assert!(ok.is_ok(), "{ok:?}");

    // The publisher with the wrong password: retries, keeps every point, rejects none.
    let (path, mut conn) = new_store(dir.path(), 1000);
    let points: Vec<_> = (0..10)
        .map(|i| {
            envwatch::publish::Point::builder("auth_test")
                .float("v", f64::from(i))
                .time_ns(1_790_784_000_000_000_000 + i64::from(i))
                .build()
                .expect("point")
        })
        .collect();
    enqueue(&mut conn, &points);
    let running = spawn_publisher(with("admin", "nope", "envwatch"), &path, fast_options());
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while running.metrics.retries.get() < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "publisher did not retry"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let m = running.metrics.clone();
    running.stop().await;
    assert_eq!(m.points_written.get(), 0);
    assert_eq!(m.dead_letters.get(), 0);
    assert_eq!(m.influx_down.get(), 1);
    assert_eq!(
        outbox::stats(&conn).expect("stats").depth,
        10,
        "all points still queued"
    );

    // With the right password the same outbox drains.
    let running = spawn_publisher(with("admin", "s3cret", "envwatch"), &path, fast_options());
    running.wait_drained(10, Duration::from_secs(30)).await;
    running.stop().await;
}
