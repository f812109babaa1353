#!/usr/bin/env bash
# Sluice against HAProxy on the shared benchmark harness, interleaved in one run, so that the
# B/A ratios compare the two on the same machine at the same moment.
#
#   scripts/bench.sh --quick                       # ~1 minute, nbthread 1 scenarios, 1 rep
#   scripts/bench.sh                               # full run (~8 minutes)
#   scripts/bench.sh --scenarios http-ka/1,tcp/1   # any option of run.sh
#
# The harness lives beside the repository (../shared/bench) or where SLUICE_BENCH points; it
# installs its own load tools (wrk, h2load, nginx) when run as root. Results: /tmp/sluice-bench/.
set -euo pipefail
cd "$(dirname "$0")/.."
bench="${SLUICE_BENCH:-../shared/bench}"
if [ ! -x "$bench/run.sh" ]; then
    echo "benchmark harness not found at $bench (set SLUICE_BENCH)" >&2
    exit 1
fi
command -v haproxy >/dev/null || { echo "haproxy is not installed (apt-get install -y haproxy)" >&2; exit 1; }
cargo build --release -p sluice
exec "$bench/run.sh" --names haproxy,sluice "$@" \
    'haproxy -f {cfg}' "$PWD/target/release/sluice -f {cfg}"
