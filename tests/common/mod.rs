//! Helpers shared by integration tests: service addresses from scripts/test.sh and the
//! real public data in ../shared/data.
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

/// The folder of real public data (`ENVWATCH_SHARED_DATA`, else `../shared/data` next to
/// the checkout) when it holds every one of `files`.
///
/// Where the data is expected — in CI (`CI` set, as CI sets `CI=true`) or when
/// `ENVWATCH_SHARED_DATA` is set (scripts/with-services.sh sets it) — a missing folder or
/// file FAILS the test: a data test must never pass by not running. Only outside both
/// does it return `None`, after saying that and why the test skips.
pub fn shared_data(files: &[&str]) -> Option<std::path::PathBuf> {
    let set = std::env::var_os("ENVWATCH_SHARED_DATA").filter(|v| !v.is_empty());
    let dir = match &set {
        Some(d) => std::path::PathBuf::from(d),
        None => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"),
    };
    let missing: Vec<&str> = files
        .iter()
        .copied()
        .filter(|f| !dir.join(f).is_file())
        .collect();
    if missing.is_empty() {
        return Some(dir);
    }
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    let why = format!(
        "real data missing in {}: {} (see ../shared/data/README.md)",
        dir.display(),
        missing.join(", ")
    );
    let expected: Vec<&str> = [
        (ci, "CI is set"),
        (set.is_some(), "ENVWATCH_SHARED_DATA is set"),
    ]
    .into_iter()
    .filter_map(|(on, why)| on.then_some(why))
    .collect();
    if !expected.is_empty() {
        panic!(
            "{why}; the data is expected here ({}), so this test fails rather than skip",
            expected.join(", ")
        );
    }
    eprintln!(
        "SKIPPED: {why}. Outside CI and without ENVWATCH_SHARED_DATA this test skips; \
         scripts/test.sh sets ENVWATCH_SHARED_DATA, and there it fails"
    );
    None
}

/// A name unique to this test run, for databases and topics.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{prefix}_{}_{nanos}", std::process::id())
}
