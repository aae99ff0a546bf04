//! Helpers shared by integration tests: service addresses from scripts/test.sh.
#![allow(dead_code)]

/// Address of a test service from its env var; panics with a clear message when the
/// test is run outside scripts/test.sh (tests never silently pass without the server).
pub fn service(var: &str) -> String {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => v,
        _ => panic!(
            "{var} is not set: this test needs a real server; run it through scripts/test.sh, \
             which starts Mosquitto, InfluxDB and VictoriaMetrics on loopback and sets {var}"
        ),
    }
}

/// The shared real-data folder, or None (the caller prints why it skips).
pub fn shared_data() -> Option<std::path::PathBuf> {
    let candidates = [
        std::env::var("ENVWATCH_SHARED_DATA").ok().map(Into::into),
        Some(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p: &std::path::PathBuf| p.join("README.md").exists())
}

/// A name unique to this test run, for databases and topics.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{prefix}_{}_{nanos}", std::process::id())
}
