#!/usr/bin/env bash
# Installs the project's npm dependencies when they are missing or older than the lockfile,
# then builds dist/ when it is missing or stale, so `npm run demo` and `npm test` work on a
# fresh clone and on an edited checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -L node_modules ]; then
  # A link to an install shared with other checkouts (e.g. git worktrees): npm ci would empty
  # the linked folder under all of them. Its owner installs it; never from here.
  :
elif [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "ferry: installing npm dependencies…"
  # npm ci refuses a lockfile whose optional platform packages (e.g. @swc/core for macOS) the
  # registry mirror does not serve; npm install --no-save then installs the same locked
  # versions for this platform without rewriting the lockfile.
  npm ci --no-audit --no-fund --loglevel=error 2>/dev/null ||
    npm install --no-save --no-audit --no-fund --loglevel=error
fi
# The compiled code bin/ferry.js and the workers run (npm run build): built when dist/ is
# missing or older than any source, so a fresh clone and an edited checkout both run what
# their sources say; otherwise skipped (a few milliseconds of file dates).
if ! why=$(node bin/dist-state.js); then
  echo "ferry: building dist/ ($why)…"
  bash scripts/build.sh
fi
