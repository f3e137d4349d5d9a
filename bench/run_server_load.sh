#!/usr/bin/env bash
# Load test of `tessera serve` on the CPU backend: starts the server on MODEL_DIR (default the
# bundled models/kjv-tiny) on a free loopback port, runs bench/server_load.mjs against it and
# prints its JSON (medians over RUNS runs of CLIENTS concurrent streaming chat requests of
# MAX_TOKENS tokens each). Exits non-zero if any request did not complete with all its tokens.
#   bench/run_server_load.sh BUILD_DIR [MODEL_DIR]
# Environment: CLIENTS (512), MAX_TOKENS (32), RUNS (3), TIMEOUT_S (300, per run),
# SERVE_FLAGS (extra `tessera serve` flags, e.g. "--tp 2").
# Builds nothing: BUILD_DIR must hold app/tessera.
set -euo pipefail
build=${1:?usage: run_server_load.sh BUILD_DIR [MODEL_DIR]}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
model=${2:-$root/models/kjv-tiny}
clients=${CLIENTS:-512}
max_tokens=${MAX_TOKENS:-32}
runs=${RUNS:-3}
timeout_s=${TIMEOUT_S:-300}

binary=$build/app/tessera
[ -x "$binary" ] || { echo "run_server_load: $binary not built" >&2; exit 1; }
command -v node >/dev/null || { echo "run_server_load: node not found" >&2; exit 1; }

# Every client holds a connection: the server and the load generator each need more descriptors
# than the common default of 1024.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

log=$(mktemp)
# The queue must hold every client beyond the running batch, or some would get 429.
# shellcheck disable=SC2086  # SERVE_FLAGS is a list of flags
"$binary" serve --model "$model" --host 127.0.0.1 --port 0 --max-queue $((clients * 2)) ${SERVE_FLAGS:-} 2>"$log" &
pid=$!
cleanup() {
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -f "$log"
}
trap cleanup EXIT

# shellcheck source=bench/serve_ready.sh
source "$here/serve_ready.sh"
wait_for_serve_ready run_server_load "$log" "$pid"

node "$here/server_load.mjs" --url "$url" --pid "$pid" --clients "$clients" --max-tokens "$max_tokens" \
  --runs "$runs" --timeout-s "$timeout_s"
