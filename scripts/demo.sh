#!/usr/bin/env bash
# Install Lingang Twin and run the demo twin: build it into lingang-demo.duckdb (or reuse it), backfill history,
# start live telemetry and the server, and print the URL. Embedded DuckDB: nothing else to install.
# Extra arguments go to `lingang-twin demo` (e.g. --days 30 --port 8080 --host 0.0.0.0).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_setup.sh
ensure_python_env ""
exec .venv/bin/lingang-twin demo "$@"
