#!/usr/bin/env bash
# npm run demo: everything from a fresh machine to a finished PostgreSQL → MongoDB migration.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
bash scripts/stack/stack.sh up
eval "$(bash scripts/stack/stack.sh env)"
export FERRY_LOG_LEVEL="${FERRY_LOG_LEVEL:-WARN}"
exec node -r ts-node/register/transpile-only scripts/demo/run.ts
