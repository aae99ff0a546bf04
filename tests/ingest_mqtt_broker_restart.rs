//! Done-when #2: the broker restarts during ingest; ingest reconnects by itself (with
//! backoff) and loses nothing. A private Mosquitto (persistence on) is started from
//! ENVWATCH_TEST_MOSQUITTO_BIN on a free port, stopped mid-ingest and started again.

mod ingest_common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use ingest_common::*;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_broker(dir: &Path, port: u16) -> Child {
    let conf = dir.join("mosquitto.conf");
    std::fs::create_dir_all(dir.join("data")).unwrap();
    // Mosquitto started as root drops to the `mosquitto` user: it must be able to write
    // its persistence file here, or it silently loses the queued messages on restart.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.join("data"), std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        &conf,
        format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location {}/\nmax_queued_messages 1000000\nmax_inflight_messages 1000\n",
            dir.join("data").display()
        ),
    )
    .unwrap();
    let child = Command::new(mosquitto_bin())
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start mosquitto");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "mosquitto did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

fn stop_broker(mut b: Child) {
    Command::new("kill")
        .args(["-TERM", &b.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while b.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "mosquitto did not stop");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn batch(tag: &str, from: usize, n: usize) -> Vec<(String, Vec<u8>)> {
    let t0 = NaiveDate::from_ymd_opt(2025, 3, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    (from..from + n)
        .map(|i| {
            let (code, mn) = STATIONS[i % STATIONS.len()];
            let t = t0 + chrono::Duration::hours((i / STATIONS.len()) as i64);
            (
                format!("{tag}/air/{code}/hj212"),
                hour_packet(
                    mn,
                    t,
                    &[("a34004", 10.0), ("a21004", 20.0)],
                    &format!("{i:017}"),
                )
                .into_bytes(),
            )
        })
        .collect()
}

#[test]
fn broker_restart_during_ingest_loses_nothing() {
    let _ = mqtt_addr(); // the suite's broker must exist too (fails loudly otherwise)
    let bdir = tempfile::tempdir().unwrap();
    let port = free_port();
    let broker = start_broker(bdir.path(), port);
    let dir = tempfile::tempdir().unwrap();
    let tag = run_tag("restart");
    let cfg = write_config(
        dir.path(),
        "127.0.0.1",
        port,
        &format!("envwatch-{tag}"),
        &tag,
    );
    let db = store_file(dir.path());
    let ingest = start_ingest(&cfg);

    // 6,000 messages (2 readings each) reach the broker while ingest is frozen (SIGSTOP),
    // so the broker holds a backlog for it (at most 1,000 in flight); the broker is then
    // stopped with that backlog and ingest resumes against a dead broker. Freezing makes
    // "the broker restarts while ingest still drains" certain, however fast ingest is.
    let pid = ingest.child.id().to_string();
    let sig = |s: &str| {
        assert!(
            Command::new("kill")
                .args([s, &pid])
                .status()
                .unwrap()
                .success()
        );
    };
    sig("-STOP");
    publish_all(
        "127.0.0.1",
        port,
        &format!("pub1-{tag}"),
        batch(&tag, 0, 6_000),
        0,
        Duration::from_secs(60),
    );
    stop_broker(broker);
    sig("-CONT");
    std::thread::sleep(Duration::from_millis(300));
    let mid = count(&db, "SELECT count(*) FROM readings");
    println!("broker stopped with {mid} of 12000 readings stored");
    std::thread::sleep(Duration::from_millis(1_500));
    let broker = start_broker(bdir.path(), port);
    publish_all(
        "127.0.0.1",
        port,
        &format!("pub2-{tag}"),
        batch(&tag, 6_000, 4_000),
        0,
        Duration::from_secs(60),
    );

    let want = 20_000;
    let got = wait_count(
        &db,
        "SELECT count(*) FROM readings",
        want,
        Duration::from_secs(120),
    );
    ingest.sigterm();
    stop_broker(broker);
    assert!(
        mid < 12_000,
        "the restart should happen while ingest still drains (stored {mid})"
    );
    assert_eq!(got, want);
    assert_eq!(count(&db, "SELECT count(*) FROM dead_letters"), 0);
}
