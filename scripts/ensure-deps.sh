#!/usr/bin/env bash
# Installs the project's npm dependencies when they are missing or older than the lockfile,
# so `npm run demo` and `npm test` work on a fresh clone.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "ferry: installing npm dependencies…"
  # npm ci refuses a lockfile whose optional platform packages (e.g. @swc/core for macOS) the
  # registry mirror does not serve; npm install --no-save then installs the same locked
  # versions for this platform without rewriting the lockfile.
  npm ci --no-audit --no-fund --loglevel=error 2>/dev/null ||
    npm install --no-save --no-audit --no-fund --loglevel=error
fi
