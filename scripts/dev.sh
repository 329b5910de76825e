#!/usr/bin/env bash
# Quick start: install what Python needs and run medsign on its embedded default
# (SQLite and files under ./medsign-data) at http://127.0.0.1:8000 with a demo organization.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/install-python.sh
exec .venv/bin/medsign serve --demo "$@"
