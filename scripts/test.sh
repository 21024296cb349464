#!/usr/bin/env bash
# npm test: install what is missing, start the stack if it is not running, then run the
# static checks and every mocha suite against the real services.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
bash scripts/stack/stack.sh up
# The report's browser tests drive Debian's Chromium (they are skipped, saying so, where it is missing).
if [ ! -x "${FERRY_CHROMIUM:-/usr/bin/chromium}" ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "ferry: installing Debian chromium for the browser tests…"
  { apt-get install -y --no-install-recommends chromium || { apt-get update && apt-get install -y --no-install-recommends chromium; }; } >/dev/null 2>&1 ||
    echo "ferry: could not install chromium: the browser tests will be skipped"
fi
eval "$(bash scripts/stack/stack.sh env)"
export FERRY_LOG_LEVEL="${FERRY_LOG_LEVEL:-ERROR}"
echo "== typecheck and lint"
npx tsc --noEmit
npx eslint .
echo "== docker-compose.yml"
bash scripts/stack/compose-check.sh
echo "== mocha"
exec npx mocha 'test/**/*.test.ts' "$@"
