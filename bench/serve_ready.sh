# Sourced by the bench scripts that start `tessera serve` in the background (bash).
# wait_for_serve_ready NAME LOG PID: waits at most 2 minutes for the server's ready line in LOG,
# exiting with the log when the process PID dies first or the line never comes, then sets `url`
# from the listening line that precedes it (the server was started with --port 0).
wait_for_serve_ready() {
  local name=$1 log=$2 pid=$3
  for _ in $(seq 1 1200); do
    grep -q 'tessera: ready' "$log" && break
    kill -0 "$pid" 2>/dev/null || { echo "$name: the server exited while starting:" >&2; cat "$log" >&2; exit 1; }
    sleep 0.1
  done
  grep -q 'tessera: ready' "$log" || { echo "$name: no ready line in 120 s:" >&2; cat "$log" >&2; exit 1; }
  url=$(grep -o 'listening on http://[^ ]*' "$log" | head -n 1 | sed 's/^listening on //')
}
