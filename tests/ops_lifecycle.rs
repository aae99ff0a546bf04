//! `envwatch run` itself (the binary) under a stand-in systemd: the test binds the
//! `NOTIFY_SOCKET` datagram socket, starts the daemon with `NOTIFY_SOCKET` and
//! `WATCHDOG_USEC` against the real Mosquitto, and drives it with real signals and real
//! HTTP requests:
//! - READY=1 once it is up, then WATCHDOG=1 pings from its run loop;
//! - /healthz, and /readyz once every MQTT source is subscribed;
//! - SIGHUP: RELOADING=1 (with MONOTONIC_USEC) then READY=1; a config that adds a pipeline
//!   is applied (/readyz lists its source), a broken one is rejected and the daemon keeps
//!   running on the previous configuration;
//! - SIGTERM: STOPPING=1 and a clean exit.

mod ingest_common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::net::UnixDatagram;

/// Generous bounds: the machine running the suite may be loaded.
const WAIT: Duration = Duration::from_secs(30);

/// The daemon process; killed if the test fails half-way.
struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Daemon {
    fn start(config: &Path, notify_socket: &Path, log: PathBuf) -> Daemon {
        let child = Command::new(env!("CARGO_BIN_EXE_envwatch"))
            .args(["--log-format", "human", "run", "--config"])
            .arg(config)
            .env("NOTIFY_SOCKET", notify_socket)
            // every 400 ms: the run loop pings every 200 ms
            .env("WATCHDOG_USEC", "400000")
            .env_remove("WATCHDOG_PID")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start envwatch run");
        Daemon { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {sig}");
    }

    /// The HTTP address the daemon logged (it listens on port 0).
    fn http_addr(&self) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let log = self.log();
            if let Some((_, rest)) = log.split_once("listen=") {
                return rest
                    .chars()
                    .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
                    .collect();
            }
            assert!(
                Instant::now() < deadline,
                "no listen address logged:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

async fn recv(sock: &UnixDatagram) -> String {
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(WAIT, sock.recv(&mut buf))
        .await
        .expect("a notification from the daemon")
        .unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// The next notification that is not a watchdog ping.
async fn recv_state(sock: &UnixDatagram) -> String {
    for _ in 0..1000 {
        let msg = recv(sock).await;
        if msg != "WATCHDOG=1\n" {
            return msg;
        }
    }
    panic!("only watchdog pings");
}

/// GET `path`: (status, body).
async fn get(http: &reqwest::Client, addr: &str, path: &str) -> (u16, String) {
    let r = http
        .get(format!("http://{addr}{path}"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Polls /readyz until it is 200 and its checks contain every one of `sources`.
async fn wait_ready(http: &reqwest::Client, addr: &str, sources: &[&str]) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let (code, body) = get(http, addr, "/readyz").await;
        let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        let names: Vec<&str> = v["checks"]
            .as_array()
            .map(|a| a.iter().filter_map(|c| c["name"].as_str()).collect())
            .unwrap_or_default();
        if code == 200 && sources.iter().all(|s| names.contains(s)) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "/readyz not 200 with {sources:?} within {WAIT:?}: {code} {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        assert!(
            Instant::now() < deadline,
            "daemon did not exit within {WAIT:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn envwatch_run_is_ready_pings_the_watchdog_reloads_on_sighup_and_stops_on_sigterm() {
    let (host, port) = ingest_common::mqtt_addr();
    let tmp = tempfile::tempdir().unwrap();
    let tag = ingest_common::run_tag("ops");
    let config = ingest_common::write_config(tmp.path(), &host, port, &tag, &tag);
    let toml = config.join("envwatch.toml");
    let mut settings = std::fs::read_to_string(&toml).unwrap();
    settings.push_str("[http]\nlisten = \"127.0.0.1:0\"\n");
    std::fs::write(&toml, settings).unwrap();
    let sock_path = tmp.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();

    let mut daemon = Daemon::start(&config, &sock_path, tmp.path().join("daemon.log"));

    let ready = recv_state(&sock).await;
    assert!(
        ready.starts_with("READY=1\nSTATUS=") && ready.contains("3 pipelines"),
        "{ready}\n{}",
        daemon.log()
    );
    // The run loop pings the watchdog on its own.
    let mut pings = 0;
    for _ in 0..10 {
        if recv(&sock).await == "WATCHDOG=1\n" {
            pings += 1;
        }
        if pings == 3 {
            break;
        }
    }
    assert_eq!(pings, 3, "watchdog pings from the run loop");

    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let addr = daemon.http_addr();
    assert_eq!(get(&http, &addr, "/healthz").await, (200, "ok\n".into()));
    wait_ready(
        &http,
        &addr,
        &["store", "source:air", "source:water", "source:json"],
    )
    .await;

    // SIGHUP with a pipeline added: reloaded, and its source shows up in /readyz.
    std::fs::write(
        config.join("pipelines/extra.toml"),
        format!("[source]\nkind = \"mqtt\"\ntopics = [\"{tag}/extra/+\"]\n[decode]\nformat = \"hj212\"\n"),
    )
    .unwrap();
    daemon.signal("-HUP");
    let reloading = recv_state(&sock).await;
    assert!(
        reloading.starts_with("RELOADING=1\nMONOTONIC_USEC=")
            && reloading.ends_with("\nSTATUS=reloading configuration\n"),
        "{reloading}"
    );
    assert_eq!(
        recv_state(&sock).await,
        "READY=1\nSTATUS=configuration reloaded\n",
        "{}",
        daemon.log()
    );
    wait_ready(&http, &addr, &["source:air", "source:extra"]).await;

    // SIGHUP with a broken pipeline: rejected, the daemon runs on with the previous config.
    std::fs::write(
        config.join("pipelines/broken.toml"),
        "[source]\nkind = \"carrier-pigeon\"\n",
    )
    .unwrap();
    daemon.signal("-HUP");
    assert!(recv_state(&sock).await.starts_with("RELOADING=1\n"));
    assert_eq!(
        recv_state(&sock).await,
        "READY=1\nSTATUS=reload rejected; running with the previous configuration\n"
    );
    let readiness = wait_ready(&http, &addr, &["source:extra"]).await;
    assert!(
        !readiness.to_string().contains("broken"),
        "the rejected pipeline must not run: {readiness}"
    );
    assert!(
        daemon.log().contains("broken.toml"),
        "the log names the bad file"
    );

    daemon.signal("-TERM");
    assert_eq!(
        recv_state(&sock).await,
        "STOPPING=1\nSTATUS=shutting down\n"
    );
    let status = wait_exit(&mut daemon.child);
    assert!(status.success(), "exit {status}:\n{}", daemon.log());
}
