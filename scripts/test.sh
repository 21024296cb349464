#!/usr/bin/env bash
# npm test: install what is missing, start the stack if it is not running, then run the
# static checks and every mocha suite against the real services.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
bash scripts/stack/stack.sh up
eval "$(bash scripts/stack/stack.sh env)"
export FERRY_LOG_LEVEL="${FERRY_LOG_LEVEL:-ERROR}"
echo "== typecheck and lint"
npx tsc --noEmit
npx eslint .
echo "== docker-compose.yml"
bash scripts/stack/compose-check.sh
echo "== mocha"
exec npx mocha 'test/**/*.test.ts' "$@"
