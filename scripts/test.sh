#!/usr/bin/env bash
# The one test command (.ci/run runs exactly this). In order:
#   1. cargo fmt --check;
#   2. dependency checks (scripts/check-deps.sh: cargo-deny licenses, bans, sources, and
#      advisories where the RustSec database can be fetched);
#   3. the Debian package (scripts/build-deb.sh: release build without the `demo` feature,
#      cargo-deb), handed to tests/deb_package.rs in ENVWATCH_TEST_DEB_FILE;
#   4. the whole test suite next to the real servers it talks to (Mosquitto, InfluxDB 1.x,
#      VictoriaMetrics on private loopback ports; scripts/with-services.sh installs what
#      is missing, starts them and stops them).
# Each step's time is printed. Usage: scripts/test.sh [extra cargo test args]
set -euo pipefail
cd "$(dirname "$0")/.."
# Reuse one target dir across clones and CI runs on this machine (polars is a big build).
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/envwatch-target}
# The package's release build goes to the same dir unless told otherwise.
RELEASE_TARGET_DIR=${ENVWATCH_RELEASE_TARGET_DIR:-$CARGO_TARGET_DIR}

log() { printf '[test.sh] %s\n' "$*" >&2; }
t0=$(date +%s)
step_start=$t0
took() { local now; now=$(date +%s); log "$1 took $(( now - step_start ))s"; step_start=$now; }

log "cargo fmt --check"
cargo fmt --all -- --check
took "fmt"

log "dependency checks"
scripts/check-deps.sh
took "dependency checks"

log "release build and .deb (target dir $RELEASE_TARGET_DIR)"
# --fast: lighter xz compression (40 s instead of ~3 min here); release packages use
# scripts/build-deb.sh without it.
deb=$(CARGO_TARGET_DIR=$RELEASE_TARGET_DIR scripts/build-deb.sh --fast | tail -n 1)
export ENVWATCH_TEST_DEB_FILE=$deb
took ".deb"

log "cargo test (target dir $CARGO_TARGET_DIR)"
scripts/with-services.sh cargo test --all-targets "$@"
took "tests"
log "all steps took $(( $(date +%s) - t0 ))s"
