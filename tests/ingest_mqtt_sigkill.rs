//! Done-when #1: N = 10,000 readings published at QoS 1 while `envwatch ingest` is killed
//! with SIGKILL at random moments 5 times and restarted: the store ends with exactly the N
//! distinct readings, each with its published value (none lost, none doubled).

mod ingest_common;

use std::time::Duration;

use chrono::{NaiveDate, NaiveDateTime};
use ingest_common::*;

const N: usize = 10_000;

fn expected() -> Vec<(String, String, NaiveDateTime, f64)> {
    // 4 stations x 2,500 hours, one PM2.5 value each.
    let t0 = NaiveDate::from_ymd_opt(2025, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    let mut v = Vec::with_capacity(N);
    for h in 0..N / STATIONS.len() {
        for (k, (code, mn)) in STATIONS.iter().enumerate() {
            let value = ((h * 7 + k * 13) % 500) as f64 + 0.5;
            v.push((
                code.to_string(),
                mn.to_string(),
                t0 + chrono::Duration::hours(h as i64),
                value,
            ));
        }
    }
    v
}

#[test]
fn sigkill_five_times_loses_and_doubles_nothing() {
    let (host, port) = mqtt_addr();
    let seed = seed();
    println!("seed {seed} (ENVWATCH_TEST_SEED to repeat)");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().unwrap();
    let tag = run_tag("kill");
    let cfg = write_config(dir.path(), &host, port, &format!("envwatch-{tag}"), &tag);
    let db = store_file(dir.path());

    // First start establishes the persistent session (subscription) at the broker.
    let mut ingest = Some(start_ingest(&cfg));

    let exp = expected();
    let msgs: Vec<(String, Vec<u8>)> = exp
        .iter()
        .enumerate()
        .map(|(i, (code, mn, t, v))| {
            (
                format!("{tag}/air/{code}/hj212"),
                hour_packet(mn, *t, &[("a34004", *v)], &format!("{i:017}")).into_bytes(),
            )
        })
        .collect();
    let (h2, tag2) = (host.clone(), tag.clone());
    let publisher = std::thread::spawn(move || {
        publish_all(
            &h2,
            port,
            &format!("pub-{tag2}"),
            msgs,
            1_000,
            Duration::from_secs(120),
        );
    });

    for k in 0..5 {
        std::thread::sleep(Duration::from_millis(300 + rng.below(1_500)));
        let before = count(&db, "SELECT count(*) FROM readings");
        ingest.take().unwrap().sigkill();
        println!("SIGKILL #{} with {before} readings stored", k + 1);
        std::thread::sleep(Duration::from_millis(rng.below(500)));
        ingest = Some(start_ingest(&cfg));
    }
    publisher.join().expect("publisher");
    let got = wait_count(
        &db,
        "SELECT count(*) FROM readings",
        N as i64,
        Duration::from_secs(120),
    );
    ingest.take().unwrap().sigterm();

    assert_eq!(got, N as i64, "readings after 5 SIGKILLs");
    assert_eq!(count(&db, "SELECT count(*) FROM readings"), N as i64);
    assert_eq!(count(&db, "SELECT count(*) FROM dead_letters"), 0);
    // Each reading exactly as published.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let mut stmt = conn
        .prepare("SELECT value FROM readings WHERE site = ?1 AND parameter = 'PM2.5' AND time = ?2")
        .unwrap();
    let tz = chrono_tz::Asia::Shanghai;
    for (code, _, t, v) in &exp {
        let ts = t.and_local_timezone(tz).unwrap().timestamp();
        let got: f64 = stmt
            .query_row(rusqlite::params![code, ts], |r| r.get(0))
            .unwrap_or_else(|e| panic!("{code} {t}: {e}"));
        assert_eq!(got, *v, "{code} {t}");
    }
}
