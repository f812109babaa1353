#!/usr/bin/env bash
# Builds Sluice, checks and starts examples/quickstart.cfg in the foreground, sends a few
# requests through it (round robin over two servers, an ACL-routed API path), prints what came
# back and Sluice's log lines, then stops it with SIGTERM.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q -p sluice
bin=target/debug/sluice
cfg=examples/quickstart.cfg
"$bin" -c -V -f "$cfg"
log=$(mktemp)
"$bin" -f "$cfg" >"$log" 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true; rm -f "$log"' EXIT

get() { # GET path through the frontend on 127.0.0.1:8080, body on stdout
    exec 3<>/dev/tcp/127.0.0.1/8080
    printf 'GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' "$1" >&3
    sed -n '/^\r$/,$p' <&3 | tail -n +2
    exec 3<&-
}
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/8080) 2>/dev/null && break; sleep 0.1; done
for path in / / / /api/items; do
    printf 'GET %-11s -> %s\n' "$path" "$(get "$path")"
done
kill -TERM "$pid"
wait "$pid" || true
echo "--- Sluice's output (log lines are HAProxy's httplog format) ---"
cat "$log"
