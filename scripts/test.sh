#!/usr/bin/env bash
# Install everything the test suite needs on a fresh Debian machine (Python >= 3.11), then run it:
# lint, types, import layers, and every test. CI runs exactly this (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_setup.sh
ensure_python_env test
# The console's browser tests drive Debian's Chromium through Playwright (no browser download); a CJK font so
# that the Chinese labels in their screenshots are glyphs, not boxes; poppler-utils (pdftotext) to read back the
# energy reports' PDFs.
apt_install chromium fonts-wqy-microhei poppler-utils
echo "== ruff ==";  .venv/bin/ruff check src tests benchmarks examples
echo "== mypy ==";  .venv/bin/mypy
echo "== import-linter =="; .venv/bin/lint-imports  # the layers in pyproject.toml: faces → packs → core
echo "== pytest =="
exec .venv/bin/pytest -q -p no:cacheprovider "$@"
