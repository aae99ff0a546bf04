//! Shared helpers of the `influx_*` integration tests: service addresses from the
//! environment (a missing one FAILS the test, never skips it), a private `influxd` that
//! can be stopped and restarted on the same data, InfluxQL and VictoriaMetrics queries,
//! and running a publisher until the outbox is drained. Every wait is bounded.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use envwatch::config::daemon::InfluxApi;
use envwatch::publish::line_protocol::{FieldValue, Point};
use envwatch::publish::{
    InfluxClient, InfluxTarget, PublishMetrics, Publisher, PublisherOptions, outbox,
};
use rusqlite::Connection;
use tokio_util::sync::CancellationToken;

/// The address of a test service, or a failing test with the reason.
pub fn service(var: &str) -> String {
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => v.trim().trim_end_matches('/').to_string(),
        _ => panic!(
            "{var} is not set: this test needs the real server. Run scripts/test.sh, or start one and export {var}"
        ),
    }
}

pub fn influx_url() -> String {
    service("ENVWATCH_TEST_INFLUX")
}

pub fn vm_url() -> String {
    service("ENVWATCH_TEST_VM")
}

/// A name unique to this test run (databases, tag values), so reruns against the same
/// servers never see each other's data.
pub fn run_id(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{prefix}_{}_{}", std::process::id(), nanos % 1_000_000_000)
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http client")
}

/// Runs an InfluxQL statement on an InfluxDB 1.x server; returns the JSON answer.
pub async fn influxql(base: &str, db: Option<&str>, q: &str) -> serde_json::Value {
    let mut url = reqwest::Url::parse(&format!("{base}/query")).expect("url");
    url.query_pairs_mut()
        .append_pair("q", q)
        .append_pair("epoch", "ns");
    if let Some(db) = db {
        url.query_pairs_mut().append_pair("db", db);
    }
    let resp = http()
        .post(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("query {q:?} on {base}: {e}"));
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    assert!(
        status.is_success(),
        "query {q:?} on {base}: {status} {text}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
    if let Some(e) = json["results"][0]["error"].as_str() {
        panic!("query {q:?} on {base}: {e}");
    }
    json
}

pub async fn create_database(base: &str, db: &str) {
    influxql(base, None, &format!("CREATE DATABASE \"{db}\"")).await;
}

pub async fn drop_database(base: &str, db: &str) {
    influxql(base, None, &format!("DROP DATABASE \"{db}\"")).await;
}

/// Rows of `SELECT * FROM measurement` as (column -> value) maps.
pub async fn select_all(
    base: &str,
    db: &str,
    measurement: &str,
) -> Vec<serde_json::Map<String, serde_json::Value>> {
    let json = influxql(base, Some(db), &format!("SELECT * FROM \"{measurement}\"")).await;
    let series = &json["results"][0]["series"][0];
    let Some(cols) = series["columns"].as_array() else {
        return Vec::new();
    };
    let cols: Vec<String> = cols
        .iter()
        .map(|c| c.as_str().unwrap_or_default().to_string())
        .collect();
    series["values"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|row| {
                    cols.iter()
                        .cloned()
                        .zip(row.as_array().cloned().unwrap_or_default())
                        .collect()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Asserts that every point is in `rows` exactly (time, tags, every field with its
/// type and value; no other field set) and that there are no other rows.
pub fn assert_points_in_influx(
    points: &[Point],
    rows: &[serde_json::Map<String, serde_json::Value>],
) {
    assert_eq!(
        rows.len(),
        points.len(),
        "row count of {}",
        points[0].measurement()
    );
    for p in points {
        let row = rows
            .iter()
            .find(|r| {
                r["time"].as_i64() == Some(p.time_ns())
                    && p.tags()
                        .iter()
                        .all(|(k, v)| r.get(k).and_then(|x| x.as_str()) == Some(v.as_str()))
            })
            .unwrap_or_else(|| panic!("no row for {}", p.to_line()));
        for (k, v) in p.fields() {
            let got = &row[k.as_str()];
            match v {
                FieldValue::Float(f) => {
                    assert_eq!(got.as_f64(), Some(*f), "{k} of {}", p.to_line())
                }
                FieldValue::Integer(i) => {
                    assert!(got.is_i64() || got.is_u64(), "{k} is not an integer: {got}");
                    assert_eq!(got.as_i64(), Some(*i), "{k} of {}", p.to_line())
                }
                FieldValue::String(s) => {
                    assert_eq!(got.as_str(), Some(s.as_str()), "{k} of {}", p.to_line())
                }
                FieldValue::Boolean(b) => {
                    assert_eq!(got.as_bool(), Some(*b), "{k} of {}", p.to_line())
                }
            }
        }
        for (col, val) in row.iter() {
            let known = col == "time" || p.tag(col).is_some() || p.field(col).is_some();
            if !known {
                // Columns of other points' tags/fields: must be empty on this row.
                let other_tag_empty = val.is_null() || val.as_str() == Some("");
                assert!(
                    other_tag_empty,
                    "unexpected {col}={val} on row of {}",
                    p.to_line()
                );
            }
        }
    }
}

/// A free loopback TCP port (bound and released; good enough for tests).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A private `influxd` (binary from ENVWATCH_TEST_INFLUXD_BIN) on its own ports and data
/// directory, which a test can stop and start again on the same data.
pub struct Influxd {
    bin: String,
    dir: PathBuf,
    pub port: u16,
    child: Option<Child>,
}

impl Influxd {
    /// Writes the config and starts the server; `extra_http` lines go into `[http]`.
    pub async fn start(dir: &Path, extra_http: &str) -> Influxd {
        let bin = service("ENVWATCH_TEST_INFLUXD_BIN");
        let port = free_port();
        let rpc = free_port();
        let d = dir.display();
        let conf = format!(
            "reporting-disabled = true\nbind-address = \"127.0.0.1:{rpc}\"\n\
             [meta]\n  dir = \"{d}/meta\"\n\
             [data]\n  dir = \"{d}/data\"\n  wal-dir = \"{d}/wal\"\n  query-log-enabled = false\n\
             [http]\n  bind-address = \"127.0.0.1:{port}\"\n  log-enabled = false\n{extra_http}\n"
        );
        std::fs::write(dir.join("influxdb.conf"), conf).expect("write influxdb.conf");
        let mut s = Influxd {
            bin,
            dir: dir.to_path_buf(),
            port,
            child: None,
        };
        s.restart().await;
        s
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts the server (again) on the same config and data; waits for /ping.
    pub async fn restart(&mut self) {
        assert!(self.child.is_none(), "influxd already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("influxd.log"))
            .expect("influxd log");
        let child = Command::new(&self.bin)
            .arg("-config")
            .arg(self.dir.join("influxdb.conf"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.bin));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        let client = http();
        loop {
            if let Ok(r) = client.get(format!("{}/ping", self.url())).send().await
                && r.status().is_success()
            {
                return;
            }
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(self.dir.join("influxd.log")).unwrap_or_default();
                panic!(
                    "influxd on port {} did not answer /ping within 60 s; log:\n{log}",
                    self.port
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Kills the server (SIGKILL: an outage, not a polite shutdown) and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Influxd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A fresh store file with the outbox tables, in WAL mode like the real store.
pub fn new_store(dir: &Path, max_points: u64) -> (PathBuf, Connection) {
    let path = dir.join("envwatch.db");
    let conn = Connection::open(&path).expect("open store");
    conn.pragma_update(None, "journal_mode", "WAL")
        .expect("wal");
    conn.pragma_update(None, "synchronous", "NORMAL")
        .expect("sync");
    outbox::init_schema(&conn, max_points).expect("outbox schema");
    (path, conn)
}

/// Queues points in one transaction (as the store's commit would).
pub fn enqueue(conn: &mut Connection, points: &[Point]) {
    let tx = conn.transaction().expect("tx");
    let out = outbox::enqueue(&tx, points).expect("enqueue");
    assert_eq!(out.dropped, 0, "outbox full in a test");
    tx.commit().expect("commit");
}

pub fn v1_target(url: &str, db: &str) -> InfluxTarget {
    InfluxTarget {
        url: reqwest::Url::parse(url).expect("url"),
        api: InfluxApi::V1,
        database: db.to_string(),
        retention_policy: None,
        username: None,
        password: None,
        org: None,
        bucket: None,
        token: None,
        gzip: true,
        timeout: Duration::from_secs(5),
    }
}

pub fn v2_target(url: &str, bucket: &str) -> InfluxTarget {
    InfluxTarget {
        api: InfluxApi::V2,
        org: Some("bureau".into()),
        bucket: Some(bucket.to_string()),
        ..v1_target(url, bucket)
    }
}

pub fn fast_options() -> PublisherOptions {
    PublisherOptions {
        batch_size: 500,
        flush_interval: Duration::from_millis(100),
        poll_interval: Duration::from_millis(50),
        backoff_min: Duration::from_millis(50),
        backoff_max: Duration::from_millis(500),
        ..PublisherOptions::default()
    }
}

/// A running publisher and how to stop it.
pub struct Running {
    pub metrics: PublishMetrics,
    pub cancel: CancellationToken,
    pub handle: tokio::task::JoinHandle<Result<(), envwatch::publish::PublishError>>,
}

pub fn spawn_publisher(target: InfluxTarget, db_path: &Path, options: PublisherOptions) -> Running {
    let client = InfluxClient::new(target).expect("client");
    let p = Publisher::new(client, db_path, options);
    let metrics = p.metrics();
    let cancel = CancellationToken::new();
    let handle = tokio::spawn(p.run(cancel.clone()));
    Running {
        metrics,
        cancel,
        handle,
    }
}

impl Running {
    /// Waits (bounded) until `written` points were accepted and the outbox is empty.
    pub async fn wait_drained(&self, written: u64, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let m = &self.metrics;
            if m.points_written.get() + m.dead_letters.get() >= written && m.outbox_depth.get() == 0
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "outbox not drained within {limit:?}: written {} (+{} dead) of {written}, depth {}",
                m.points_written.get(),
                m.dead_letters.get(),
                m.outbox_depth.get()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn stop(self) {
        self.cancel.cancel();
        let res = tokio::time::timeout(Duration::from_secs(10), self.handle)
            .await
            .expect("publisher stops within 10 s after cancel")
            .expect("publisher task");
        res.expect("publisher result");
    }
}
