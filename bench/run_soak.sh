#!/usr/bin/env bash
# Soak test of `tessera serve` on the CPU backend (issue 16): starts the server on MODEL_DIR
# (default the bundled models/kjv-tiny) on a free loopback port, allowing the one origin
# http://localhost:3000 (CORS), runs bench/soak/main.mjs against it (64 clients for 600 s unless
# told otherwise), then stops the server with SIGTERM. Prints the soak's JSON on stdout; exits
# non-zero if any soak check failed, the server died, or it did not exit 0 on SIGTERM.
#   bench/run_soak.sh [BINARY | BUILD_DIR] [soak options]
#   bench/run_soak.sh build/app/tessera                           # the ten-minute soak
#   bench/run_soak.sh build --duration 60 --clients 16 --exclude pipelined,stray_crlf
# Without a first argument the binary is $TESSERA_BINARY. `node bench/soak/main.mjs --list-cases`
# lists the cases for --cases / --exclude.
# TRIAGE=1: each case alone, against a fresh server each (default --duration 10 --clients 4),
# one line per case; for finding which case kills or wedges a server. TRIAGE_JSON=DIR keeps each
# case's JSON report (the samples name the exact variant and what the server did) as DIR/CASE.json.
# Environment: MODEL_DIR, MAX_BODY_BYTES (2097152), SERVE_FLAGS (extra `tessera serve` flags).
# Builds nothing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/serve_ready.sh
source "$here/serve_ready.sh"
root=$(cd "$here/.." && pwd)

binary=${TESSERA_BINARY:-}
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then binary=$1; shift; fi
[ -n "$binary" ] || { echo "usage: run_soak.sh [BINARY | BUILD_DIR] [soak options] (or set TESSERA_BINARY)" >&2; exit 2; }
[ -d "$binary" ] && binary=$binary/app/tessera
[ -x "$binary" ] || { echo "run_soak: $binary is not an executable" >&2; exit 1; }
command -v node >/dev/null || { echo "run_soak: node not found" >&2; exit 1; }
model=${MODEL_DIR:-$root/models/kjv-tiny}
# 2 MiB instead of the server's 8-MiB default: issue 16's hostile bodies (600 KB of nesting, a
# prompt far over the context) fit under it, and a 413 costs 2 MiB of traffic rather than 8 on a
# loaded 2-core machine. The soak sizes its bodies from the same number.
max_body=${MAX_BODY_BYTES:-2097152}
# The one origin the server allows (--allowed-origins): the CORS case checks that it, and no
# other, gets the Access-Control-* headers.
origin=http://localhost:3000

# 64 clients with keep-alive pools, raw sockets and the server's own: more than 1024 descriptors.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

pid=
log=
start_server() {
  log=$(mktemp)
  # shellcheck disable=SC2086  # SERVE_FLAGS is a list of flags
  "$binary" serve --model "$model" --host 127.0.0.1 --port 0 --max-body-bytes "$max_body" \
    --allowed-origins "$origin" ${SERVE_FLAGS:-} 2>"$log" &
  pid=$!
  wait_for_serve_ready run_soak "$log" "$pid"
}

# Alive, and not a zombie: a server that died stays one until it is waited for.
running() { kill -0 "$pid" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null; }

# Exit status as words: "exit 0", "signal SIGABRT".
describe_status() {
  if [ "$1" -gt 128 ]; then echo "signal SIG$(kill -l $(($1 - 128)) 2>/dev/null || echo $(($1 - 128)))"; else echo "exit $1"; fi
}

# SIGTERM, then SIGKILL after 45 s (the server's own drain bound is 30 s). Sets stop_ok=1 when the
# server was alive and exited 0 on SIGTERM, and stop_note to what happened (also on stderr).
stop_server() {
  stop_ok=0
  if ! running; then
    local status=0
    wait "$pid" 2>/dev/null || status=$?
    stop_note="had already ended: $(describe_status "$status")"
    echo "run_soak: the server $stop_note; its last lines:" >&2
    tail -n 15 "$log" >&2
  else
    local start=$SECONDS status=0
    kill -TERM "$pid"
    for _ in $(seq 1 450); do running || break; sleep 0.1; done
    if running; then kill -KILL "$pid"; fi
    wait "$pid" 2>/dev/null || status=$?
    stop_note="SIGTERM -> $(describe_status "$status") after $((SECONDS - start)) s"
    echo "run_soak: $stop_note" >&2
    [ "$status" -eq 0 ] && stop_ok=1
    [ "$status" -eq 0 ] || tail -n 15 "$log" >&2
  fi
  rm -f "$log"
  pid=
}
# shellcheck disable=SC2317  # called by the trap
cleanup() {
  [ -n "$pid" ] || return 0
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -f "$log"
}
trap cleanup EXIT

if [ "${TRIAGE:-0}" = 1 ]; then
  failed=0
  [ -z "${TRIAGE_JSON:-}" ] || mkdir -p "$TRIAGE_JSON"
  for case in $(node "$here/soak/main.mjs" --list-cases | cut -f1); do
    report=/dev/null
    [ -z "${TRIAGE_JSON:-}" ] || report=$TRIAGE_JSON/$case.json
    start_server
    # The verdict is the soak's last stderr line (it exits 1 on failure: hence the `|| true`).
    verdict=$(node "$here/soak/main.mjs" --url "$url" --pid "$pid" --max-body-bytes "$max_body" --allowed-origin "$origin" \
      --duration 10 --clients 4 \
      "$@" --cases "$case" 2>&1 >"$report" | grep '^soak: \(PASS\|FAIL\)' || true)
    [ -n "$verdict" ] || verdict='soak: FAIL (no verdict)'
    stop_server 2>/dev/null
    [ "$stop_ok" = 1 ] || verdict="$verdict; server: $stop_note"
    case $verdict in "soak: PASS"*) [ "$stop_ok" = 1 ] || failed=1 ;; *) failed=1 ;; esac
    printf '%-20s %s\n' "$case" "${verdict#soak: }"
  done
  exit "$failed"
fi

start_server
rc=0
node "$here/soak/main.mjs" --url "$url" --pid "$pid" --max-body-bytes "$max_body" --allowed-origin "$origin" "$@" || rc=$?
stop_server
[ "$stop_ok" = 1 ] || rc=1
exit "$rc"
