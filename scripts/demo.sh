#!/usr/bin/env bash
# npm run demo: everything from a fresh machine to a finished PostgreSQL → MongoDB migration.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh # dependencies, and dist/ when missing or stale
bash scripts/stack/stack.sh up
eval "$(bash scripts/stack/stack.sh env)"
export FERRY_LOG_LEVEL="${FERRY_LOG_LEVEL:-WARN}"
# Compiled (ensure-deps.sh built dist/ if it was stale): the workers load the prebuilt workflow bundle.
exec node --enable-source-maps dist/scripts/demo/run.js
