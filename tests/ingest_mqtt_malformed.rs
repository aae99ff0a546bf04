//! Done-when #3: 1,000 malformed payloads of many kinds, interleaved with valid ones, each
//! end in dead_letters with a specific reason; every valid reading is stored.

mod ingest_common;

use std::collections::HashMap;
use std::time::Duration;

use chrono::{NaiveDate, Utc};
use envwatch::config::pipeline::CrcMode;
use envwatch::decode::hj212::{frame, frame_with};
use ingest_common::*;

const MALFORMED: usize = 1_000;

/// (topic suffix kind, payload, expected reason kind)
fn malformed(i: usize, rng: &mut Rng, tag: &str) -> (String, Vec<u8>, &'static str) {
    let air = format!("{tag}/air/m{i}/hj212");
    let json = format!("{tag}/json/m{i}");
    let (mn, _) = (STATIONS[0].1, ());
    let t = NaiveDate::from_ymd_opt(2025, 6, 1)
        .unwrap()
        .and_hms_opt(8, 0, 0)
        .unwrap();
    let good = hour_packet(mn, t, &[("a34004", 12.0)], &format!("{i:017}"));
    let data = &good[6..good.len() - 6];
    match i % 22 {
        0 => {
            let cut = 30 + rng.below((good.len() - 40) as u64) as usize;
            (air, good.as_bytes()[..cut].to_vec(), "length_mismatch")
        }
        1 => {
            let mut b = good.clone().into_bytes();
            let n = b.len();
            b[n - 3] = if b[n - 3] == b'0' { b'1' } else { b'0' };
            (air, b, "crc_mismatch")
        }
        2 => (air, frame_with(data, CrcMode::ModbusSwapped).into_bytes(), "crc_mismatch"),
        3 => {
            let mut b = b"GARBAGE".to_vec();
            for _ in 0..rng.below(300) + 5 {
                b.push(rng.next() as u8);
            }
            (air, b, "missing_header")
        }
        4 => (air, hour_packet("NO-SUCH-MN", t, &[("a34004", 1.0)], "1").into_bytes(), "unknown_mn"),
        5 => (air, hour_packet(mn, t, &[("a34004", -5.0)], "1").into_bytes(), "out_of_range"),
        6 => {
            let future = (Utc::now() + chrono::Duration::days(3))
                .with_timezone(&chrono_tz::Asia::Shanghai)
                .naive_local();
            (air, hour_packet(mn, future, &[("a34004", 1.0)], "1").into_bytes(), "in_future")
        }
        7 => (
            air,
            frame(&format!("QN=1;ST=91;CN=9014;PW=123456;MN={mn};Flag=4;CP=&&&&")).into_bytes(),
            "not_data_command",
        ),
        8 => (
            air,
            frame(&format!("ST=22;CN=2061;MN={mn};Flag=4;CP=&&DataTime=20251399000000;a34004-Avg=1&&")).into_bytes(),
            "bad_data_time",
        ),
        9 => (
            air,
            frame(&format!("ST=22;CN=2061;MN={mn};Flag=4;CP=&&DataTime=20250601000000;a34004-Avg=1,a34004-Flag=Z&&")).into_bytes(),
            "unknown_flag",
        ),
        10 => (air, hour_packet(mn, t, &[("w01001", 7.0)], "1").into_bytes(), "wrong_medium"),
        11 => (air, vec![b'#'; 2 * 1024 * 1024 + rng.below(1000) as usize], "too_large"),
        12 => (air, Vec::new(), "empty"),
        13 => (
            air,
            frame(&format!("ST=22;CN=2061;MN={mn};Flag=4;CP=&&DataTime=20250601000000;a34004-Avg=1e999&&")).into_bytes(),
            "bad_value",
        ),
        14 => (json, b"{\"data\": [".to_vec(), "json_syntax"),
        15 => (
            json,
            br#"{"data":[{"station":"1223A","time":"2025-06-01T08:00:00+08:00","pm2_5":"12"}]}"#.to_vec(),
            "json_field_type",
        ),
        16 => (
            json,
            br#"{"data":[{"station":{"id":1},"time":"2025-06-01T08:00:00+08:00","pm2_5":1}]}"#.to_vec(),
            "json_field_type",
        ),
        17 => (
            json,
            br#"{"data":[{"station":"1223A","time":"yesterday","pm2_5":1}]}"#.to_vec(),
            "json_bad_time",
        ),
        18 => (
            json,
            br#"{"data":[{"station":"9999Z","time":"2025-06-01T08:00:00+08:00","pm2_5":1}]}"#.to_vec(),
            "json_unknown_site",
        ),
        19 => (json, br#"{"items":[]}"#.to_vec(), "json_records_missing"),
        20 => (json, br#"{"data":[]}"#.to_vec(), "json_no_records"),
        _ => (json, br#"{"data":[42, "x"]}"#.to_vec(), "json_record_type"),
    }
}

#[test]
fn malformed_payloads_are_dead_lettered_with_reasons_and_valid_ones_stored() {
    let (host, port) = mqtt_addr();
    let seed = seed();
    println!("seed {seed}");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().unwrap();
    let tag = run_tag("bad");
    let cfg = write_config(dir.path(), &host, port, &format!("envwatch-{tag}"), &tag);
    let db = store_file(dir.path());
    let ingest = start_ingest(&cfg);

    let mut msgs = Vec::new();
    let mut expect: HashMap<usize, &'static str> = HashMap::new();
    let mut valid_readings = 0i64;
    let t0 = NaiveDate::from_ymd_opt(2025, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    let mut valid_i = 0usize;
    for i in 0..MALFORMED {
        let (topic, payload, kind) = malformed(i, &mut rng, &tag);
        expect.insert(i, kind);
        msgs.push((topic, payload));
        // 1-2 valid messages after each malformed one.
        for _ in 0..1 + rng.below(2) {
            let (code, mn) = STATIONS[valid_i % STATIONS.len()];
            let t = t0 + chrono::Duration::hours((valid_i / STATIONS.len()) as i64);
            if valid_i.is_multiple_of(5) {
                let local = t.and_local_timezone(chrono_tz::Asia::Shanghai).unwrap();
                msgs.push((
                    format!("{tag}/json/{code}"),
                    format!(
                        r#"{{"data":[{{"station":"{code}","time":"{}","pm2_5":{},"no2":{}}}]}}"#,
                        local.to_rfc3339(),
                        valid_i % 300,
                        valid_i % 90
                    )
                    .into_bytes(),
                ));
            } else {
                msgs.push((
                    format!("{tag}/air/{code}/hj212"),
                    hour_packet(
                        mn,
                        t,
                        &[("a34004", (valid_i % 300) as f64), ("a21004", 30.0)],
                        "1",
                    )
                    .into_bytes(),
                ));
            }
            valid_readings += 2;
            valid_i += 1;
        }
    }
    publish_all(
        &host,
        port,
        &format!("pub-{tag}"),
        msgs,
        0,
        Duration::from_secs(120),
    );
    let dead = wait_count(
        &db,
        "SELECT count(*) FROM dead_letters",
        MALFORMED as i64,
        Duration::from_secs(120),
    );
    let readings = wait_count(
        &db,
        "SELECT count(*) FROM readings",
        valid_readings,
        Duration::from_secs(60),
    );
    ingest.sigterm();
    assert_eq!(dead, MALFORMED as i64);
    assert_eq!(readings, valid_readings);

    let conn = rusqlite::Connection::open(&db).unwrap();
    let mut stmt = conn
        .prepare("SELECT origin, reason, payload_size, length(payload) FROM dead_letters")
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })
        .unwrap();
    let mut seen = 0;
    let mut kinds: HashMap<&str, usize> = HashMap::new();
    for row in rows {
        let (origin, reason, size, stored) = row.unwrap();
        let id: usize = origin
            .split('/')
            .find_map(|p| p.strip_prefix('m').and_then(|n| n.parse().ok()))
            .unwrap_or_else(|| panic!("dead letter from unexpected origin {origin}: {reason}"));
        let kind = expect[&id];
        assert!(
            reason.starts_with(&format!("{kind}: ")),
            "message {id} ({origin}): expected {kind}, got: {reason}"
        );
        if kind == "too_large" {
            assert!(
                size > 2 * 1024 * 1024 && stored == 64 * 1024,
                "{size} {stored}"
            );
        }
        *kinds.entry(kind).or_default() += 1;
        seen += 1;
    }
    assert_eq!(seen, MALFORMED);
    println!("dead letters by kind: {kinds:?}");
    assert!(kinds.len() >= 20);
}
