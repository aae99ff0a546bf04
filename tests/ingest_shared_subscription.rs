//! DESIGN.md "Scale beyond one machine": ingest scales out by MQTT shared subscriptions.
//! Two `envwatch ingest` instances (own client ids, own stores) subscribe to the same
//! `$share/GROUP/...` filter on the real Mosquitto; N published readings are each stored
//! by exactly one of them — none lost, none doubled — and both take a share.

mod ingest_common;

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use ingest_common::*;

const N: usize = 2_000;

/// (site, epoch seconds) of every reading in a store.
fn stored(db: &Path) -> Vec<(String, i64)> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let mut stmt = conn.prepare("SELECT site, time FROM readings").unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn two_instances_share_one_subscription_without_loss_or_duplicates() {
    let (host, port) = mqtt_addr();
    let tag = run_tag("share");
    let group = format!("envwatch-{tag}");
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let mut cfgs = Vec::new();
    for (i, d) in dirs.iter().enumerate() {
        let cfg = write_config(d.path(), &host, port, &format!("envwatch-{tag}-{i}"), &tag);
        // Same shared filter in both instances: the broker hands each message to one.
        std::fs::write(
            cfg.join("pipelines/air.toml"),
            format!(
                "[source]\nkind = \"mqtt\"\ntopics = [\"$share/{group}/{tag}/air/+/hj212\"]\n[decode]\nformat = \"hj212\"\n"
            ),
        )
        .unwrap();
        cfgs.push(cfg);
    }
    let a = start_ingest(&cfgs[0]);
    let b = start_ingest(&cfgs[1]);

    let t0 = NaiveDate::from_ymd_opt(2025, 3, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    let tz = chrono_tz::Asia::Shanghai;
    let mut expected = HashSet::new();
    let mut msgs = Vec::with_capacity(N);
    for i in 0..N {
        let (code, mn) = STATIONS[i % STATIONS.len()];
        let t = t0 + chrono::Duration::hours((i / STATIONS.len()) as i64);
        expected.insert((
            code.to_string(),
            t.and_local_timezone(tz).unwrap().timestamp(),
        ));
        msgs.push((
            format!("{tag}/air/{code}/hj212"),
            hour_packet(mn, t, &[("a34004", 35.0)], &format!("{i:017}")).into_bytes(),
        ));
    }
    publish_all(
        &host,
        port,
        &format!("pub-{tag}"),
        msgs,
        0,
        Duration::from_secs(60),
    );

    let dbs = [store_file(dirs[0].path()), store_file(dirs[1].path())];
    let total = || {
        dbs.iter()
            .map(|d| count(d, "SELECT count(*) FROM readings"))
            .sum::<i64>()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while total() < N as i64 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    // Nothing more may arrive (a duplicate delivery would show up here).
    std::thread::sleep(Duration::from_millis(500));
    a.sigterm();
    b.sigterm();

    let (ra, rb) = (stored(&dbs[0]), stored(&dbs[1]));
    println!(
        "instance A stored {}, instance B stored {}",
        ra.len(),
        rb.len()
    );
    assert_eq!(
        ra.len() + rb.len(),
        N,
        "every reading stored exactly once in all"
    );
    assert!(
        !ra.is_empty() && !rb.is_empty(),
        "both instances take a share (A {}, B {})",
        ra.len(),
        rb.len()
    );
    let sa: HashSet<_> = ra.into_iter().collect();
    let sb: HashSet<_> = rb.into_iter().collect();
    assert!(sa.is_disjoint(&sb), "no reading in both stores");
    let union: HashSet<_> = sa.union(&sb).cloned().collect();
    assert_eq!(
        union, expected,
        "the stores together hold exactly what was published"
    );
}
