#!/usr/bin/env bash
# Fresh install from the lock: plain pip vs uv, each into a new empty venv with a fresh, empty cache directory
# (nothing reused between runs), alternating, RUNS times. Prints one line per run; BENCHMARKS.md has the medians.
#   bash benchmarks/bench_install.sh [requirements.lock|requirements-test.lock]   (RUNS=3 by default)
set -u
cd "$(dirname "$0")/.."
src=$PWD
lock=${1:-requirements.lock}
for i in $(seq 1 "${RUNS:-3}"); do
  for tool in pip uv; do
    work=$(mktemp -d)
    cp -r "$src/pyproject.toml" "$src/src" "$src/README.md" "$src/$lock" "$work/"
    cd "$work"
    t0=$(date +%s.%N)
    python3 -m venv .venv
    if [ "$tool" = pip ]; then
      PIP_CACHE_DIR=$work/cache .venv/bin/python -m pip install -q -r "$lock" >log 2>&1 &&
        PIP_CACHE_DIR=$work/cache .venv/bin/python -m pip install -q --no-deps -e . >>log 2>&1
    else  # what scripts/_setup.sh does: bootstrap uv with pip, then uv installs the lock
      PIP_CACHE_DIR=$work/cache .venv/bin/python -m pip install -q "uv==0.13.9" >log 2>&1 &&
        UV_CACHE_DIR=$work/uvcache .venv/bin/uv pip install -q --python .venv/bin/python -r "$lock" >>log 2>&1 &&
        UV_CACHE_DIR=$work/uvcache .venv/bin/uv pip install -q --python .venv/bin/python --no-deps -e . >>log 2>&1
    fi
    rc=$?
    t1=$(date +%s.%N)
    echo "$(date -u +%FT%TZ) $tool $lock run$i rc=$rc seconds=$(echo "$t1 - $t0" | bc) load=$(cut -d' ' -f1 /proc/loadavg)"
    cd "$src" && rm -rf "$work"
  done
done
