//! The real daemon as a child process for the end-to-end benchmarks: a config directory
//! in a temp dir, `envwatch run --config DIR` (this same binary), its log, its peak RSS
//! and a clean SIGTERM stop. Measuring the child process, not an in-process copy, gives
//! the figures an operator would see.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// A config directory under the temp dir, removed on drop.
pub struct BenchDir(pub PathBuf);

impl BenchDir {
    pub fn new(what: &str) -> anyhow::Result<BenchDir> {
        let d = std::env::temp_dir().join(format!(
            "envwatch-bench-{what}-{}-{}",
            std::process::id(),
            chrono::Utc::now().timestamp_millis()
        ));
        std::fs::create_dir_all(d.join("pipelines"))?;
        Ok(BenchDir(d))
    }

    pub fn write(&self, name: &str, text: &str) -> anyhow::Result<()> {
        let path = self.0.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
    }
}

impl Drop for BenchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The `[general]` and `[mqtt]` part of a benchmark daemon's `envwatch.toml`; the
/// caller appends its `[influx]`, `[http]`, `[alerts]` sections.
pub fn daemon_toml_head(
    dir: &BenchDir,
    judge_interval: &str,
    host: &str,
    port: u16,
    client_id: &str,
) -> String {
    format!(
        r#"[general]
city = "杭州"
state_dir = "{state}"
judge_interval = "{judge_interval}"

[mqtt]
host = "{host}"
port = {port}
client_id = "{client_id}"

[http]
listen = "127.0.0.1:0"

"#,
        state = dir.0.join("state").display(),
    )
}

/// `HOST:PORT` of a service from an argument, else the test environment variable, else a
/// default.
pub fn service(arg: Option<&String>, env: &str, default: &str) -> String {
    arg.cloned()
        .or_else(|| std::env::var(env).ok())
        .unwrap_or_else(|| default.to_string())
}

/// `HOST`, `PORT` of `HOST:PORT`.
pub fn host_port(addr: &str) -> anyhow::Result<(String, u16)> {
    let (h, p) = addr
        .rsplit_once(':')
        .with_context(|| format!("{addr}: expected HOST:PORT"))?;
    Ok((
        h.to_string(),
        p.parse().with_context(|| format!("{addr}: port"))?,
    ))
}

/// A running `envwatch run`.
pub struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Daemon {
    /// Starts the daemon on `config` and waits (bounded) until its MQTT sources have
    /// subscribed.
    pub fn start(config: &Path) -> anyhow::Result<Daemon> {
        let log = config.join("daemon.log");
        // ENVWATCH_BENCH_DAEMON runs another build as the daemon (e.g. one of `main`,
        // for before/after figures from the same harness).
        let exe = match std::env::var_os("ENVWATCH_BENCH_DAEMON") {
            Some(p) => PathBuf::from(p),
            None => std::env::current_exe().context("locating the envwatch binary")?,
        };
        let child = Command::new(exe)
            .args(["--log-format", "human", "run", "--config"])
            .arg(config)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log)?)
            .spawn()
            .context("starting envwatch run")?;
        let mut d = Daemon { child, log };
        d.wait_log("MQTT subscribed", Duration::from_secs(30))?;
        Ok(d)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn wait_log(&mut self, needle: &str, within: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + within;
        loop {
            let text = std::fs::read_to_string(&self.log).unwrap_or_default();
            if text.contains(needle) {
                return Ok(());
            }
            if let Some(st) = self.child.try_wait()? {
                bail!("the daemon exited ({st}) before {needle:?}; its log:\n{text}");
            }
            if Instant::now() > deadline {
                bail!("no {needle:?} in the daemon log within {within:?}:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Peak resident set (VmHWM) of the daemon process so far, in KiB.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        vm_hwm_kib(&format!("/proc/{}/status", self.child.id()))
    }

    /// SIGTERM, then wait (bounded) for a clean exit.
    pub fn stop(mut self) -> anyhow::Result<()> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while self.child.try_wait()?.is_none() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                bail!("the daemon did not stop within 15 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// VmHWM of a `/proc/.../status` file, in KiB.
pub fn vm_hwm_kib(status: &str) -> Option<u64> {
    let s = std::fs::read_to_string(status).ok()?;
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// `p` (0..=1) percentile of sorted samples.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted
        .get(idx.min(sorted.len().saturating_sub(1)))
        .copied()
        .unwrap_or_default()
}
