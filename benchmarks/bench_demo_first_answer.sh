#!/usr/bin/env bash
# `bash scripts/demo.sh` on a fresh clone (no .venv, empty pip and uv caches): seconds until the console URL is
# printed, and until the server's first answer (GET /health → 200). Stops the demo afterwards.
#   bash benchmarks/bench_demo_first_answer.sh [extra demo.sh arguments]
set -u
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
git clone -q "$repo" "$work/clone"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cd "$work/clone"
t0=$(date +%s.%N)
PIP_CACHE_DIR=$work/pipcache UV_CACHE_DIR=$work/uvcache setsid bash scripts/demo.sh --port "$port" "$@" >"$work/log" 2>&1 &
pid=$!
url_at="" answer_at=""
while kill -0 "$pid" 2>/dev/null; do
  now=$(date +%s.%N)
  [ -z "$url_at" ] && grep -q "/console" "$work/log" && url_at=$(echo "$now - $t0" | bc)
  if curl -fs -o /dev/null "http://127.0.0.1:$port/health"; then answer_at=$(echo "$now - $t0" | bc); break; fi
  sleep 0.5
done
kill -- -"$pid" 2>/dev/null; wait "$pid" 2>/dev/null
echo "$(date -u +%FT%TZ) console URL printed after ${url_at:-never} s; first answer after ${answer_at:-never} s" \
  "(load $(cut -d' ' -f1 /proc/loadavg)); log: $work/log"
grep -E "ready|error" "$work/log" | head -3
