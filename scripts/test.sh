#!/usr/bin/env bash
# The one test command. Checks formatting, then runs the whole test suite next to the real
# servers it talks to (Mosquitto, InfluxDB 1.x, VictoriaMetrics on private loopback
# ports; scripts/with-services.sh installs what is missing, starts them and stops them).
# Usage: scripts/test.sh [extra cargo test args]
set -euo pipefail
cd "$(dirname "$0")/.."
# Reuse one target dir across clones and CI runs on this machine (polars is a big build).
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/envwatch-target}

log() { printf '[test.sh] %s\n' "$*" >&2; }

log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo test (target dir $CARGO_TARGET_DIR)"
start=$(date +%s)
scripts/with-services.sh cargo test --all-targets "$@"
log "tests took $(( $(date +%s) - start ))s"
