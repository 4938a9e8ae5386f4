#!/usr/bin/env bash
# Install Lingang Twin and run the demo twin (embedded DuckDB: nothing else to install).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_setup.sh
ensure_python_env ""
exec .venv/bin/python examples/quickstart.py "$@"
