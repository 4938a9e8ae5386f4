#!/usr/bin/env bash
# Install Lingang Twin and run the demo twin: build it into lingang-demo.duckdb (or reuse it), backfill history,
# start live telemetry and the server. The console's URL is printed first; the install and the build follow.
# Extra arguments go to `lingang-twin demo` (e.g. --days 30 --port 8080 --host 0.0.0.0).
set -euo pipefail
cd "$(dirname "$0")/.."
host=127.0.0.1 port=8000
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do  # the same --host / --port that `lingang-twin demo` will be given
  case "${args[i]}" in
    --host) host=${args[i + 1]:-$host} ;;
    --host=*) host=${args[i]#--host=} ;;
    --port) port=${args[i + 1]:-$port} ;;
    --port=*) port=${args[i]#--port=} ;;
  esac
done
echo "Lingang Twin demo / 临港孪生示范: the console will be at http://$host:$port/console"
echo "  (it answers once the install and the demo build below are done / 安装与构建完成后即可访问)"
source scripts/_setup.sh
echo "== installing the locked dependencies (requirements.lock) into .venv / 安装依赖 =="
ensure_python_env ""
exec .venv/bin/lingang-twin demo "$@"
