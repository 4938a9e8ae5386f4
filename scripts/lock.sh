#!/usr/bin/env bash
# Regenerate the lock files that scripts/demo.sh and scripts/test.sh install from (every package, transitive ones
# included, pinned): requirements.lock (the demo: runtime dependencies) and requirements-test.lock (runtime + the
# `test` extra). uv resolves them from pyproject.toml for Python 3.11 on Linux x86_64.
#   bash scripts/lock.sh                 # newest versions pyproject.toml allows (then run scripts/test.sh on them)
#   bash scripts/lock.sh -c <(.venv/bin/pip freeze --all --exclude-editable)   # pin an existing venv's versions
# Commit both files with the change that needed them; opengrid stays outside (installed with --no-deps).
set -euo pipefail
cd "$(dirname "$0")/.."
uv=$(command -v uv || true)
if [ -z "$uv" ]; then  # uv is a PyPI wheel; bootstrap it into a throw-away venv
  tool=$(mktemp -d)
  python3 -m venv "$tool" && "$tool/bin/pip" install -q --disable-pip-version-check "uv==0.13.9"
  uv="$tool/bin/uv"
fi
args=()
while [ $# -gt 0 ]; do  # a constraint file may be a pipe (<(pip freeze)): read it once, for both resolves
  case "$1" in
    -c|--constraint) kept=$(mktemp); cat "$2" > "$kept"; args+=(-c "$kept"); shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
common=(--python-version 3.11 --python-platform x86_64-unknown-linux-gnu --quiet --upgrade "${args[@]}")
tidy() {  # a constraint file is not a reason to list: drop it from the "# via" notes, as if it had not been given
  python3 - "$1" <<'PY'
import re, sys
path = sys.argv[1]
text = re.sub(r"^    #   -c .*\n", "", open(path).read(), flags=re.M)
text = re.sub(r"^    # via\n    #   (\S.*)\n(?!    #   )", r"    # via \1\n", text, flags=re.M)
open(path, "w").write(text)
PY
}
for target in requirements.lock requirements-test.lock; do
  extra=()
  [ "$target" = requirements-test.lock ] && extra=(--extra test)
  "$uv" pip compile pyproject.toml "${extra[@]}" "${common[@]}" --custom-compile-command "bash scripts/lock.sh" \
    -o "$target"
  tidy "$target"
done
echo "wrote requirements.lock ($(grep -c '==' requirements.lock) packages), requirements-test.lock ($(grep -c '==' requirements-test.lock) packages)"
