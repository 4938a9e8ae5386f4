#!/usr/bin/env bash
# Regenerate the lock files that scripts/demo.sh and scripts/test.sh install from (every package, transitive ones
# included, pinned): requirements.lock (the demo: runtime dependencies) and requirements-test.lock (runtime + the
# `test` extra). uv resolves them from pyproject.toml for Python 3.11 on Linux x86_64.
#   bash scripts/lock.sh                 # newest versions pyproject.toml allows (then run scripts/test.sh on them)
#   bash scripts/lock.sh -c freeze.txt   # the versions of an existing venv (e.g. `.venv/bin/pip freeze --all`)
# Commit both files with the change that needed them; opengrid stays outside (installed with --no-deps).
set -euo pipefail
cd "$(dirname "$0")/.."
uv=$(command -v uv || true)
if [ -z "$uv" ]; then  # uv is a PyPI wheel; bootstrap it into a throw-away venv
  tool=$(mktemp -d)
  python3 -m venv "$tool" && "$tool/bin/pip" install -q --disable-pip-version-check "uv==0.13.9"
  uv="$tool/bin/uv"
fi
common=(--python-version 3.11 --python-platform x86_64-unknown-linux-gnu --quiet --upgrade "$@")
strip() { grep -v -E '^    #   -c ' "$1" > "$1.tmp" && mv "$1.tmp" "$1"; }  # constraints are not a reason to list
"$uv" pip compile pyproject.toml "${common[@]}" --custom-compile-command "bash scripts/lock.sh" \
  -o requirements.lock && strip requirements.lock
"$uv" pip compile pyproject.toml --extra test "${common[@]}" --custom-compile-command "bash scripts/lock.sh" \
  -o requirements-test.lock && strip requirements-test.lock
echo "wrote requirements.lock ($(grep -c '==' requirements.lock) packages), requirements-test.lock ($(grep -c '==' requirements-test.lock) packages)"
