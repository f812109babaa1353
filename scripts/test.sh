#!/usr/bin/env bash
# The whole test suite: formatting, lints, then every test of the workspace.
# Usage: scripts/test.sh        (run from anywhere inside the repository)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace
