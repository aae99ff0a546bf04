#!/usr/bin/env bash
# Builds the envwatch .deb (release build + cargo-deb) and prints its path as the last
# line of stdout. The package is the daemon without the `demo` feature, its binary
# stripped; the debug info goes to envwatch-dbgsym_*.ddeb beside it ([package.metadata.deb]
# in Cargo.toml). Installs what is missing: cargo-deb (pinned), dpkg-dev (dpkg-shlibdeps
# computes the package's library dependencies; binutils strips).
# Usage: scripts/build-deb.sh [extra cargo-deb args]
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_DEB_VERSION=3.8.0
log() { printf '[build-deb.sh] %s\n' "$*" >&2; }

scripts/cargo-tool.sh cargo-deb "$CARGO_DEB_VERSION"
if ! command -v dpkg-shlibdeps >/dev/null; then
  log "installing dpkg-dev"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends dpkg-dev >/dev/null
fi

# cargo-deb runs `cargo build --release` itself (honouring CARGO_TARGET_DIR) and puts
# the package in $CARGO_TARGET_DIR/debian (target/debian by default).
target_dir=${CARGO_TARGET_DIR:-target}
out_dir="$target_dir/debian"
mkdir -p "$out_dir"
log "building release binary and package (slow: a full release build)"
# cargo-deb prints the paths it wrote (the .deb and the -dbgsym .ddeb).
deb=$(cargo deb --locked --output "$out_dir" "$@" | grep '\.deb$' | tail -n 1 || true)
[ -f "$deb" ] || { log "cargo deb did not report a package file (got: $deb)"; exit 1; }
log "built $deb ($(du -h "$deb" | cut -f1))"
echo "$deb"
