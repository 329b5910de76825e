#!/usr/bin/env bash
# Create .venv (Python 3.11) and install medsign with its dev extras into it.
# Idempotent and fast when nothing changed since the last run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf '[install-python] %s\n' "$*"; }

VENV=.venv
PY=$VENV/bin/python
STAMP=$VENV/.medsign-installed

if [[ ! -x $PY ]]; then
  if command -v uv >/dev/null 2>&1; then
    say "creating $VENV with uv (Python 3.11)"
    uv venv -q "$VENV" -p python3.11
  else
    base=$(command -v python3.11 || command -v python3)
    say "creating $VENV with $base -m venv"
    "$base" -m venv "$VENV"
  fi
fi

# Re-install only when the project's metadata changed since the last install.
if [[ -f $STAMP && $STAMP -nt pyproject.toml ]] && "$PY" -c 'import medsign' 2>/dev/null; then
  say "$VENV is up to date"
  exit 0
fi

UV=$(command -v uv || true)
if [[ -z $UV ]]; then
  if [[ ! -x $VENV/bin/uv ]]; then
    say "installing uv into $VENV"
    if ! "$PY" -m pip --version >/dev/null 2>&1; then
      "$PY" -m ensurepip --upgrade >/dev/null
    fi
    "$PY" -m pip install -q uv
  fi
  UV=$VENV/bin/uv
fi

say "installing medsign and its dev dependencies into $VENV"
"$UV" pip install -q --python "$PY" -e '.[dev]'
touch "$STAMP"
say "done: $("$PY" --version), medsign command at $VENV/bin/medsign"
