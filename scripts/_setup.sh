# Shared set-up for scripts/test.sh and scripts/demo.sh: sourced, not run.
# Debian packages are installed with apt-get when missing (we run as root on CI and dev machines);
# Python packages go into .venv from the lock files (requirements.lock, requirements-test.lock).

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
  fi
}

ensure_python_env() {  # $1: "test" for the test suite's lock, "" for the demo's
  local py=${PYTHON:-python3}
  "$py" -c 'import sys; assert sys.version_info >= (3, 11), "Python >= 3.11 is required"'
  # Debian's python3 ships venv/ensurepip separately.
  "$py" -c 'import ensurepip, venv' 2>/dev/null || apt_install python3-venv
  [ -x .venv/bin/python ] || "$py" -m venv .venv
  # Every package, transitive ones included, at the version CI tested (requirements*.lock, made by
  # scripts/lock.sh); the project itself on top with --no-deps, so that nothing is resolved anew.
  local lock=requirements.lock
  [ "${1:-}" = "test" ] && lock=requirements-test.lock
  # uv installs the same lock 2.6x faster than pip on a fresh venv (BENCHMARKS.md); it is one pinned wheel from
  # PyPI, bootstrapped with pip. Without it (LINGANG_NO_UV=1, or its install fails) pip does the same job.
  if [ -z "${LINGANG_NO_UV:-}" ] && { [ -x .venv/bin/uv ] || \
       .venv/bin/python -m pip install -q --disable-pip-version-check "uv==0.13.9"; }; then
    .venv/bin/uv pip install -q --python .venv/bin/python -r "$lock"
    .venv/bin/uv pip install -q --python .venv/bin/python --no-deps -e .
  else
    .venv/bin/python -m pip install -q --disable-pip-version-check -r "$lock"
    .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -e .
  fi
  if [ "${1:-}" = "test" ]; then
    # opengrid's measured homes (REFERENCE.md): its pickles are read as files; importing the package fails, and
    # its pinned dependencies do not install, hence --no-deps.
    .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps "opengrid==0.5.10"
  fi
}
