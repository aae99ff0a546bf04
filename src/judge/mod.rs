//! Judgement of readings against the national standards (polars for the heavy lifting,
//! `standards/` for the rules).

pub mod air;
pub mod water;

/// Phase timings on stderr when `ENVWATCH_TIMING` is set (benchmark diagnostics:
/// `ENVWATCH_TIMING=1 envwatch bench water` shows where the time goes).
pub fn timing(what: &str, since: std::time::Instant) {
    if std::env::var_os("ENVWATCH_TIMING").is_some() {
        eprintln!("  {what}: {:.3} s", since.elapsed().as_secs_f64());
    }
}
