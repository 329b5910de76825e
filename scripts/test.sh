#!/usr/bin/env bash
# Install everything and run every check CI runs: ruff, ruff format, mypy, pytest.
# Extra arguments go to pytest (e.g. `bash scripts/test.sh -k notify`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*"; }

step "system packages"
bash scripts/install-system.sh
step "python environment"
bash scripts/install-python.sh
step "Node 22 and oidc-provider for the identity provider tests"
bash scripts/install-node.sh
step "third-party PDF corpus for the intake tests"
.venv/bin/python scripts/fetch-test-corpus.py

BIN=.venv/bin
status=0
step "ruff check"
"$BIN/ruff" check . || status=1
step "ruff format --check"
"$BIN/ruff" format --check . || status=1
step "mypy"
"$BIN/mypy" || status=1

if (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
  export MEDSIGN_TEST_DATABASE_URL=${MEDSIGN_TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}
  step "pytest (SQLite and PostgreSQL at 127.0.0.1:5432)"
else
  step "pytest (SQLite only: nothing answers on 127.0.0.1:5432)"
fi
# Two runs: everything that may share the machine on every core (pytest-xdist,
# MEDSIGN_TEST_WORKERS=0 runs it in one process), then the tests marked `serial`
# (they restart PostgreSQL) alone. Exit code 5 means "no tests": a failure only when
# neither run found any (a filter such as `-k notify` may leave one of them empty).
WORKERS=${MEDSIGN_TEST_WORKERS:-auto}
set +e
"$BIN/python" -m pytest -n "$WORKERS" -m "not serial" "$@"
parallel_status=$?
step "pytest: the tests that run alone"
"$BIN/python" -m pytest -m serial "$@"
serial_status=$?
set -e
if [[ $parallel_status -eq 5 && $serial_status -eq 5 ]]; then
  echo "pytest collected no tests: that is a failure" >&2
  pytest_status=1
elif [[ $parallel_status -ne 0 && $parallel_status -ne 5 ]]; then
  pytest_status=$parallel_status
elif [[ $serial_status -ne 0 && $serial_status -ne 5 ]]; then
  pytest_status=$serial_status
else
  pytest_status=0
fi

if [[ $status -ne 0 ]]; then
  echo "lint or type checks failed (see above)" >&2
  [[ $pytest_status -ne 0 ]] || pytest_status=1
fi
exit "$pytest_status"
