#!/usr/bin/env bash
# The whole test suite, on a fresh machine or a developer's: installs what is missing, then runs pytest.
#   bash tests/run.sh            (extra arguments go to pytest)
# - installs linli with its test and train extras (a test rebuilds the classifier artifact) into the current Python (a virtualenv if one is active);
# - installs Debian's Chromium for the browser tests when it is missing and we are root;
# - when a PostgreSQL server answers on 127.0.0.1:5432 and LINLI_TEST_POSTGRES_URL is unset,
#   creates a throwaway database for this run and drops it afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet --disable-pip-version-check -e '.[test,train]'

if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "tests/run.sh: installing Debian's chromium for the browser tests"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "tests/run.sh: could not install chromium; browser tests will fail" >&2
fi
if ! fc-list :lang=zh 2>/dev/null | grep -q . && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "tests/run.sh: installing a Chinese font so the browser tests lay out Chinese text at its real width"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei >/dev/null) \
    || echo "tests/run.sh: could not install fonts-wqy-microhei; phone-layout tests may fail" >&2
fi

created_db=""
if [ -z "${LINLI_TEST_POSTGRES_URL:-}" ] && command -v psql >/dev/null \
   && psql -h 127.0.0.1 -U postgres -d postgres -Atqc 'select 1' >/dev/null 2>&1; then
  created_db="linli_test_$(date +%s)_$$"
  psql -h 127.0.0.1 -U postgres -d postgres -qc "create database ${created_db}" >/dev/null
  export LINLI_TEST_POSTGRES_URL="postgresql://postgres@127.0.0.1:5432/${created_db}"
  echo "tests/run.sh: PostgreSQL tests use the throwaway database ${created_db}"
fi
cleanup() {
  if [ -n "$created_db" ]; then
    psql -h 127.0.0.1 -U postgres -d postgres -qc "drop database if exists ${created_db} with (force)" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

# The quick loop (-m "not slow") runs on two workers (pytest-xdist): 2 min 36 s instead of 4 min 23 s
# on a 2-core machine. .ci/run (everything) stays in one process.
extra=()
if [[ " $* " == *"not slow"* && " $* " != *" -n "* ]] && python3 -c "import xdist" 2>/dev/null; then
  extra=(-n 2)
fi
python3 -m pytest "${extra[@]}" "$@"
