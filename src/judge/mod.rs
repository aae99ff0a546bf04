//! Judgement of readings against the national standards (polars for the heavy lifting,
//! `standards/` for the rules).

pub mod air;
pub mod water;

/// Phase timings on stderr when `ENVWATCH_TIMING` is set (benchmark diagnostics:
/// `ENVWATCH_TIMING=1 envwatch bench water` shows where the time goes).
pub fn timing(what: &str, since: std::time::Instant) {
    if std::env::var_os("ENVWATCH_TIMING").is_some() {
        let rss = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .map(|l| l.trim_start_matches("VmRSS:").trim().to_string())
            })
            .unwrap_or_default();
        eprintln!(
            "  {what}: {:.3} s (RSS {rss})",
            since.elapsed().as_secs_f64()
        );
    }
}
