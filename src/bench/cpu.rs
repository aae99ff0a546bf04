//! CPU time of a process and of each of its threads, from `/proc/PID/task/*/stat`
//! (utime + stime, in clock ticks), and the WAL growth of a store: what the ingest
//! benchmarks report next to their rates.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// Clock ticks per second of `/proc` times (USER_HZ, 100 on Linux).
const TICKS_PER_S: f64 = 100.0;

/// One reading of a process's threads: per thread id, (name, user ticks, system ticks).
#[derive(Debug, Clone)]
pub struct CpuSnapshot {
    at: Instant,
    threads: BTreeMap<u32, (String, u64, u64)>,
}

/// Utime and stime of one `/proc/.../stat` line; the name may contain spaces and
/// parentheses, so fields are counted after the last `)`.
fn parse_stat(s: &str) -> Option<(String, u64, u64)> {
    let open = s.find('(')?;
    let close = s.rfind(')')?;
    let name = s.get(open + 1..close)?.to_string();
    let rest: Vec<&str> = s.get(close + 1..)?.split_whitespace().collect();
    // After the name: state(0) ppid(1) ... utime is field 14 of the line = index 11 here.
    let utime = rest.get(11)?.parse().ok()?;
    let stime = rest.get(12)?.parse().ok()?;
    Some((name, utime, stime))
}

impl CpuSnapshot {
    /// The threads of `pid` now (threads that exited since are not counted).
    pub fn take(pid: u32) -> CpuSnapshot {
        let mut threads = BTreeMap::new();
        if let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) {
            for e in dir.flatten() {
                let Some(tid) = e.file_name().to_str().and_then(|s| s.parse().ok()) else {
                    continue;
                };
                if let Some(t) = std::fs::read_to_string(e.path().join("stat"))
                    .ok()
                    .and_then(|s| parse_stat(&s))
                {
                    threads.insert(tid, t);
                }
            }
        }
        CpuSnapshot {
            at: Instant::now(),
            threads,
        }
    }

    /// No thread was readable (the process has exited).
    pub fn is_empty(&self) -> bool {
        self.threads.is_empty()
    }

    /// CPU used between `self` (earlier) and `later`, per thread name (threads of one
    /// name, e.g. the tokio workers, are added up).
    pub fn usage_until(&self, later: &CpuSnapshot) -> CpuUsage {
        let mut by_name: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for (tid, (name, u, s)) in &later.threads {
            let (u0, s0) = self
                .threads
                .get(tid)
                .map_or((0, 0), |(_, u0, s0)| (*u0, *s0));
            let e = by_name.entry(name.clone()).or_default();
            e.0 += u.saturating_sub(u0);
            e.1 += s.saturating_sub(s0);
        }
        CpuUsage {
            wall: later.at.duration_since(self.at),
            threads: by_name,
        }
    }
}

/// CPU used over a wall-clock window.
#[derive(Debug, Clone)]
pub struct CpuUsage {
    pub wall: Duration,
    /// Thread name -> (user ticks, system ticks).
    pub threads: BTreeMap<String, (u64, u64)>,
}

impl CpuUsage {
    fn pct(&self, ticks: u64) -> f64 {
        let w = self.wall.as_secs_f64();
        if w <= 0.0 {
            return 0.0;
        }
        100.0 * ticks as f64 / TICKS_PER_S / w
    }

    /// Total CPU in % of one core.
    pub fn total_pct(&self) -> f64 {
        self.pct(self.threads.values().map(|(u, s)| u + s).sum())
    }

    /// `name u+s%` per thread name, busiest first, then the total.
    pub fn describe(&self) -> String {
        let mut v: Vec<(&String, &(u64, u64))> = self.threads.iter().collect();
        v.sort_by_key(|(_, (u, s))| std::cmp::Reverse(u + s));
        let parts: Vec<String> = v
            .iter()
            .filter(|(_, (u, s))| u + s > 0)
            .map(|(n, (u, s))| {
                format!(
                    "{n} {:.1}% ({:.1} user + {:.1} sys)",
                    self.pct(u + s),
                    self.pct(*u),
                    self.pct(*s)
                )
            })
            .collect();
        format!(
            "total {:.1}% of a core over {:.1} s: {}",
            self.total_pct(),
            self.wall.as_secs_f64(),
            if parts.is_empty() {
                "idle".to_string()
            } else {
                parts.join(", ")
            }
        )
    }
}

/// Bytes appended to a store's WAL: the `-wal` file grows until a checkpoint resets it,
/// so growth is summed over samples (a shrink counts the new size as growth).
#[derive(Debug)]
pub struct WalGrowth {
    path: std::path::PathBuf,
    last: u64,
    pub bytes: u64,
}

impl WalGrowth {
    pub fn new(db: &Path) -> WalGrowth {
        let mut p = db.as_os_str().to_owned();
        p.push("-wal");
        let path = std::path::PathBuf::from(p);
        let last = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        WalGrowth {
            path,
            last,
            bytes: 0,
        }
    }

    /// Call often (every few ms): checkpoints between samples hide their growth.
    pub fn sample(&mut self) {
        let now = std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0);
        self.bytes += if now >= self.last {
            now - self.last
        } else {
            now
        };
        self.last = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_with_spaces_in_the_name_parse() {
        let l = "42 (tokio-runtime w) S 1 42 42 0 -1 4194560 100 0 0 0 17 5 0 0 20 0 3 0 1";
        assert_eq!(parse_stat(l), Some(("tokio-runtime w".into(), 17, 5)));
    }

    #[test]
    fn this_process_has_threads_with_cpu() {
        let a = CpuSnapshot::take(std::process::id());
        let mut x = 0u64;
        for i in 0..3_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let b = CpuSnapshot::take(std::process::id());
        assert!(!b.threads.is_empty());
        assert!(a.usage_until(&b).describe().starts_with("total "));
    }
}
