#!/usr/bin/env bash
# Installs the project's npm dependencies when they are missing or older than the lockfile,
# so `npm run demo` and `npm test` work on a fresh clone.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "ferry: installing npm dependencies (npm ci)…"
  npm ci --no-audit --no-fund --loglevel=error
fi
