//! Helpers of the ingest tests: a config directory, the real `envwatch ingest` process,
//! a QoS 1 publisher, a private Mosquitto, store queries. Every wait is bounded.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use envwatch::decode::hj212::{OutFactor, OutHeader, encode_packet};
use envwatch::model::DataFlag;
use rumqttc::{AsyncClient, Event, MqttOptions, Outgoing, Packet, QoS};

/// `host:port` of the test broker; fails loudly when scripts/test.sh did not set it.
pub fn mqtt_addr() -> (String, u16) {
    let v = std::env::var("ENVWATCH_TEST_MQTT").unwrap_or_else(|_| {
        panic!("ENVWATCH_TEST_MQTT is not set: run the tests through scripts/test.sh (it starts Mosquitto)")
    });
    let (h, p) = v
        .rsplit_once(':')
        .expect("ENVWATCH_TEST_MQTT must be host:port");
    (h.to_string(), p.parse().expect("ENVWATCH_TEST_MQTT port"))
}

pub fn mosquitto_bin() -> PathBuf {
    PathBuf::from(
        std::env::var("ENVWATCH_TEST_MOSQUITTO_BIN").unwrap_or_else(|_| {
            panic!("ENVWATCH_TEST_MOSQUITTO_BIN is not set: run the tests through scripts/test.sh")
        }),
    )
}

/// A unique-enough tag for topics and client ids of one test run.
pub fn run_tag(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{name}{}x{}", std::process::id(), nanos % 1_000_000_000)
}

pub const STATIONS: [(&str, &str); 4] = [
    ("1223A", "33010000A0001223AIR00001"),
    ("1224A", "33010000A0001224AIR00001"),
    ("1226A", "33010000A0001226AIR00001"),
    ("1227A", "33010000A0001227AIR00001"),
];
pub const SECTION: (&str, &str) = ("YH-01", "330110W000000000FENGKOU1");

/// Writes a config directory: 4 air stations, 1 water section, an HJ 212 air pipeline on
/// `{prefix}/air/+/hj212`, an HJ 212 water pipeline on `{prefix}/water/+/hj212` and a JSON
/// pipeline on `{prefix}/json/+`.
pub fn write_config(dir: &Path, host: &str, port: u16, client_id: &str, prefix: &str) -> PathBuf {
    let cfg = dir.join("config");
    std::fs::create_dir_all(cfg.join("pipelines")).unwrap();
    std::fs::write(
        cfg.join("envwatch.toml"),
        format!(
            r#"[general]
state_dir = "{state}"
[store]
path = "envwatch.db"
commit_interval = "50ms"
max_future = "1h"
[mqtt]
host = "{host}"
port = {port}
client_id = "{client_id}"
keep_alive = "5s"
reconnect_min = "100ms"
reconnect_max = "1s"
"#,
            state = dir.join("state").display()
        ),
    )
    .unwrap();
    let mut st = String::new();
    for (code, mn) in STATIONS {
        st.push_str(&format!(
            "[[station]]\ncode = \"{code}\"\nname = \"s{code}\"\ncity = \"杭州\"\nmn = \"{mn}\"\n\n"
        ));
    }
    std::fs::write(cfg.join("stations.toml"), st).unwrap();
    std::fs::write(
        cfg.join("sections.toml"),
        format!(
            "[[section]]\nid = \"{}\"\nname = \"奉口\"\nriver = \"东苕溪\"\nwaterbody = \"river\"\ntarget = \"II\"\nmn = \"{}\"\n",
            SECTION.0, SECTION.1
        ),
    )
    .unwrap();
    std::fs::write(
        cfg.join("pipelines/air.toml"),
        format!(
            "[source]\nkind = \"mqtt\"\ntopics = [\"{prefix}/air/+/hj212\"]\n[decode]\nformat = \"hj212\"\n"
        ),
    )
    .unwrap();
    std::fs::write(
        cfg.join("pipelines/water.toml"),
        format!(
            "[source]\nkind = \"mqtt\"\ntopics = [\"{prefix}/water/+/hj212\"]\n[decode]\nformat = \"hj212\"\n"
        ),
    )
    .unwrap();
    std::fs::write(
        cfg.join("pipelines/json.toml"),
        format!(
            r#"[source]
kind = "mqtt"
topics = ["{prefix}/json/+"]
[decode]
format = "json"
[decode.json]
records = "/data"
site = "station"
time = "time"
time_format = "rfc3339"
columns = {{ pm2_5 = "PM2.5", no2 = "NO2" }}
"#
        ),
    )
    .unwrap();
    cfg
}

pub fn store_file(dir: &Path) -> PathBuf {
    dir.join("state").join("envwatch.db")
}

/// The running `envwatch ingest` process.
pub struct Ingest {
    pub child: Child,
    pub lines: mpsc::Receiver<String>,
}

/// Starts `envwatch ingest --config cfg` and waits (bounded) for `ready`.
pub fn start_ingest(cfg: &Path) -> Ingest {
    let mut child = Command::new(env!("CARGO_BIN_EXE_envwatch"))
        .args([
            "--log-format",
            "human",
            "--log-level",
            "warn",
            "ingest",
            "--config",
        ])
        .arg(cfg)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn envwatch ingest");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let ing = Ingest { child, lines: rx };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match ing.lines.recv_timeout(Duration::from_millis(100)) {
            Ok(l) if l == "ready" => return ing,
            Ok(_) => {}
            Err(_) if Instant::now() > deadline => panic!("envwatch ingest not ready within 30 s"),
            Err(_) => {}
        }
    }
}

impl Ingest {
    pub fn sigkill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM and wait (bounded) for a clean exit.
    pub fn sigterm(mut self) {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                assert!(st.success(), "envwatch ingest exited with {st}");
                return;
            }
            assert!(
                Instant::now() < deadline,
                "envwatch ingest did not stop within 15 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// One HJ 212 hour packet (CN 2061) for `mn`, local `data_time`, with `factors`.
pub fn hour_packet(
    mn: &str,
    data_time: NaiveDateTime,
    factors: &[(&str, f64)],
    qn: &str,
) -> String {
    let h = OutHeader {
        qn: Some(qn),
        st: "22",
        cn: "2061",
        pw: "123456",
        mn,
        flag: 4,
        part: None,
    };
    let f: Vec<OutFactor<'_>> = factors
        .iter()
        .map(|(code, value)| OutFactor {
            code,
            value: *value,
            flag: DataFlag::N,
        })
        .collect();
    encode_packet(&h, data_time, &f)
}

/// Publishes `msgs` at QoS 1 (paced to `per_sec` if > 0) and returns once the broker
/// acknowledged every one (bounded: panics after `timeout`).
pub fn publish_all(
    host: &str,
    port: u16,
    client_id: &str,
    msgs: Vec<(String, Vec<u8>)>,
    per_sec: u32,
    timeout: Duration,
) {
    let host = host.to_string();
    let client_id = client_id.to_string();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let mut o = MqttOptions::new(client_id, host, port);
        o.set_max_packet_size(16 << 20, 16 << 20)
            .set_keep_alive(Duration::from_secs(10));
        let (client, mut el) = AsyncClient::new(o, 1000);
        let n = msgs.len();
        let publisher = tokio::spawn(async move {
            let start = tokio::time::Instant::now();
            for (i, (t, p)) in msgs.into_iter().enumerate() {
                if per_sec > 0 {
                    let due = start + Duration::from_secs_f64(i as f64 / f64::from(per_sec));
                    tokio::time::sleep_until(due).await;
                }
                client.publish(t, QoS::AtLeastOnce, false, p).await.unwrap();
            }
            client
        });
        let mut acked = 0;
        let deadline = tokio::time::Instant::now() + timeout;
        while acked < n {
            match tokio::time::timeout_at(deadline, el.poll()).await {
                Ok(Ok(Event::Incoming(Packet::PubAck(_)))) => acked += 1,
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    eprintln!("publisher connection error: {e}; retrying");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(_) => panic!("publisher: only {acked} of {n} PUBACKs within {timeout:?}"),
            }
        }
        let client = publisher.await.unwrap();
        client.disconnect().await.unwrap();
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            while let Ok(ev) = el.poll().await {
                if matches!(ev, Event::Outgoing(Outgoing::Disconnect)) {
                    break;
                }
            }
        })
        .await;
    });
}

pub fn count(db: &Path, sql: &str) -> i64 {
    if !db.exists() {
        return 0;
    }
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap_or(0)
}

/// Waits (bounded) until `sql` counts `want`; returns the last count.
pub fn wait_count(db: &Path, sql: &str, want: i64, timeout: Duration) -> i64 {
    let deadline = Instant::now() + timeout;
    loop {
        let n = count(db, sql);
        if n >= want || Instant::now() > deadline {
            return n;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Tiny deterministic PRNG (xorshift64*), seeded and printed by the tests.
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

pub fn seed() -> u64 {
    std::env::var("ENVWATCH_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        })
}
