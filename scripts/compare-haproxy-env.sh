#!/usr/bin/env bash
# Broken environments side by side: each case is a small configuration written to a temporary
# directory, checked with `haproxy -c -f` and `sluice -c -f`; prints one table row per case.
#
# Usage: scripts/compare-haproxy-env.sh [--markdown]
#   SLUICE=/path/to/sluice   (default: target/debug/sluice, built with `cargo build -q -p sluice`)
#   HAPROXY=/path/to/haproxy (default: /usr/sbin/haproxy, then haproxy on PATH)
# Run it as root, as the service starts: several answers differ for other users.
set -uo pipefail
cd "$(dirname "$0")/.."

markdown=0
[ "${1:-}" = "--markdown" ] && markdown=1

sluice=${SLUICE:-target/debug/sluice}
if [ -z "${SLUICE:-}" ]; then
    cargo build -q -p sluice || exit 1
fi
sluice=$(realpath "$sluice")

haproxy=${HAPROXY:-}
if [ -z "$haproxy" ]; then
    if [ -x /usr/sbin/haproxy ]; then
        haproxy=/usr/sbin/haproxy
    else
        haproxy=$(command -v haproxy || true)
    fi
fi
if [ -z "$haproxy" ]; then
    echo "haproxy is not installed (apt-get install haproxy): only Sluice's column is filled." >&2
fi

work=$(mktemp -d)
holder_pid=""
cleanup() {
    [ -n "$holder_pid" ] && kill "$holder_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

# A port nothing listens on, chosen by the OS.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

port=$(free_port)
server_port=$(free_port)
healthy_jail="$work/jail"
mkdir -m 755 "$healthy_jail"
printf 'HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/plain\r\n\r\ndown\n' >"$work/503.http"

# The configuration of a case: global lines ($1), frontend lines ($2), backend lines ($3).
config() {
    printf 'global\n'
    printf '%s\n' "$1" | sed '/^$/d; s/^/    /'
    printf '\ndefaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n'
    printf '\nfrontend f\n    bind 127.0.0.1:%s\n' "$port"
    printf '%s\n' "$2" | sed '/^$/d; s/^/    /'
    printf '    default_backend b\n\nbackend b\n'
    if [ -n "$3" ]; then
        printf '%s\n' "$3" | sed 's/^/    /'
    else
        printf '    server s1 127.0.0.1:%s\n' "$server_port"
    fi
}

quiet=$'chroot /\nuid 0'

if [ "$markdown" = 1 ]; then
    echo "| case | haproxy -c | sluice -c | sluice's first line |"
    echo "| --- | --- | --- | --- |"
else
    printf '%-26s %-8s %-8s %s\n' case haproxy sluice "sluice's first line"
fi

# run_case NAME EXTRA_SLUICE_ARGS GLOBAL FRONTEND BACKEND
run_case() {
    local name=$1 extra=$2 dir="$work/$1"
    mkdir -p "$dir"
    config "$3" "$4" "$5" >"$dir/h.cfg"
    local h="-" s first hextra=$extra
    # Sluice's own long options mean nothing to HAProxy.
    [[ $extra == --* ]] && hextra=""
    if [ -n "$haproxy" ]; then
        (cd "$dir" && env -u NOPE_UID "$haproxy" -c -f h.cfg $hextra >/dev/null 2>&1)
        h=$?
    fi
    (cd "$dir" && env -u NOPE_UID "$sluice" -c -f h.cfg $extra >"$dir/out" 2>"$dir/err")
    s=$?
    # The first line that is not the version banner: the finding (or the stdout summary).
    first=$(grep -v -e '^\[NOTICE\].*version is' -e '^\[NOTICE\].*path to executable' "$dir/err" |
        head -n 1 | sed -E 's/^(\[[A-Z]+\]) +\([0-9]+\) : /\1 /')
    [ -z "$first" ] && first=$(head -n 1 "$dir/out")
    [ -z "$first" ] && first="(nothing)"
    if [ "$markdown" = 1 ]; then
        printf '| %s | %s | %s | `%s` |\n' "$name" "$h" "$s" "${first//|/\\|}"
    else
        printf '%-26s %-8s %-8s %s\n' "$name" "$h" "$s" "$first"
    fi
}

run_case chroot-missing "" $'chroot /nonexistent-sluice-jail\nuid 0' "" ""
run_case chroot-missing-warn "--check-env=warn" $'chroot /nonexistent-sluice-jail\nuid 0' "" ""
run_case chroot-is-a-file "" $'chroot /etc/passwd\nuid 0' "" ""
run_case chroot-world-writable "" $'chroot /tmp\nuid 0' "" ""
run_case user-unknown "" $'chroot /\nuser nosuchuser-sluice\ngroup root' "" ""
run_case uid-empty-variable "" $'chroot /\nuid "$NOPE_UID"' "" ""
run_case user-without-group "" $'chroot /\nuser nobody' "" ""

python3 -c 'import socket,time,sys; s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(); print(s.getsockname()[1], flush=True); time.sleep(120)' >"$work/held_port" &
holder_pid=$!
for _ in 1 2 3 4 5 6 7 8 9 10; do [ -s "$work/held_port" ] && break; sleep 0.2; done
held=$(cat "$work/held_port")
run_case port-in-use "" "$quiet" "bind 127.0.0.1:$held" ""
kill "$holder_pid" 2>/dev/null
holder_pid=""

run_case bind-foreign-address "" "$quiet" "bind 192.0.2.55:18097" ""
run_case bind-foreign-transparent "" "$quiet" "bind 192.0.2.55:18097 transparent" ""
run_case bind-fd-not-open "" "$quiet" "bind fd@99" ""
run_case stats-socket-dir-missing "" $'chroot /\nuid 0\nstats socket /nonexistent-sluice/dir/admin.sock' "" ""
run_case pidfile-dir-missing "" $'chroot /\nuid 0\npidfile /nonexistent-sluice/dir/h.pid' "" ""
run_case certificate-missing "" "$quiet" "bind 127.0.0.1:$(free_port) ssl crt /nonexistent-sluice/site.pem" ""
run_case errorfile-missing "" "$quiet" "errorfile 503 /nonexistent-sluice/503.http" ""
run_case acl-file-missing "" "$quiet" $'acl blocked src -f /nonexistent-sluice/blocked.lst\nhttp-request deny if blocked' ""
run_case map-file-missing "" "$quiet" "http-request set-header X-Pool %[req.hdr(host),lower,map_dom(/nonexistent-sluice/pools.map,none)]" ""
run_case server-unresolvable "" "$quiet" "" "server s1 nonexistent.invalid:80"
run_case server-unresolvable-dr "-dr" "$quiet" "" "server s1 nonexistent.invalid:80"
run_case backend-unknown "" "$quiet" "use_backend nosuch if { path_beg /x }" ""
run_case ulimit-n-too-high "" $'chroot /\nuid 0\nulimit-n 2147483647' "" ""
run_case log-socket-not-in-jail "" $"chroot $healthy_jail"$'\nuid 0\nlog /dev/log local0' "" ""
run_case healthy "" $"chroot $healthy_jail"$'\nuser nobody\ngroup nogroup\n'"pidfile $work/h.pid"$'\n'"stats socket $work/admin.sock mode 600 level admin" "errorfile 503 $work/503.http" "server s1 localhost:$server_port"

if [ -n "$haproxy" ]; then
    echo
    echo "haproxy: $("$haproxy" -v | head -n 1)"
fi
