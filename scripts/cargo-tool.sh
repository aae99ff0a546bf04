#!/usr/bin/env bash
# Makes sure the cargo subcommand crate NAME is installed at exactly VERSION
# (`cargo install --locked`, a one-time build per machine). Usage: scripts/cargo-tool.sh NAME VERSION
set -euo pipefail
name=$1 version=$2
if ! cargo "${name#cargo-}" --version 2>/dev/null | grep -qx "$name $version"; then
  printf '[cargo-tool.sh] installing %s %s (once per machine)\n' "$name" "$version" >&2
  cargo install "$name" --version "=$version" --locked >&2
fi
