#!/usr/bin/env bash
# Dependency checks with cargo-deny (policy in deny.toml): licenses, bans (duplicate
# versions, wildcards), sources (crates.io only) — and security advisories when the
# RustSec advisory database can be fetched.
#
# Why advisories may not be checked: the RustSec database exists only as a git repository
# on GitHub (cargo-deny and cargo-audit clone it). The machines this project builds on
# (developers' and CI) reach only the crates.io, PyPI, Debian and npm registries, and no
# package on them ships the database (Debian has no cargo-audit or advisory-db package;
# crates.io has the `rustsec` client library, not its data). So here the fetch fails at
# once and the advisory check is skipped with a message saying so; where GitHub is
# reachable, it runs and fails the build on any advisory.
#
# Installs cargo-deny (pinned, --locked) when it is missing: a one-time build of a few
# minutes. Usage: scripts/check-deps.sh
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_DENY_VERSION=0.19.4
log() { printf '[check-deps.sh] %s\n' "$*" >&2; }

scripts/cargo-tool.sh cargo-deny "$CARGO_DENY_VERSION"

log "cargo deny check licenses bans sources"
cargo deny --locked check licenses bans sources

advisory_db=https://github.com/RustSec/advisory-db
if reach=$(timeout 30 git ls-remote --heads "$advisory_db" 2>&1 >/dev/null); then
  log "cargo deny check advisories"
  cargo deny --locked check advisories
else
  log "advisories NOT checked: the RustSec advisory database ($advisory_db) is a git"
  log "repository on GitHub, unreachable from here (git: ${reach:-timed out}), and no package"
  log "registry this machine reaches ships it. Run 'cargo deny check advisories' where GitHub is reachable."
fi
