#!/usr/bin/env bash
# npm run build: the runtime code compiled to dist/ (tsconfig.build.json), then the workflow
# bundle written once (scripts/build-workflow-bundle.ts). Built beside dist/ and swapped in
# at the end, so a process reading dist/ meanwhile never sees half a build, and files of
# deleted sources do not linger.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s.%N)
rm -rf dist.new
mkdir dist.new
# Stamped before tsc reads anything: bin/dist-state.js calls dist/ stale when a source is newer.
touch dist.new/.build-started
npx tsc -p tsconfig.build.json --outDir dist.new
node dist.new/scripts/build-workflow-bundle.js
rm -rf dist.old
if [ -d dist ]; then mv dist dist.old; fi
mv dist.new dist
rm -rf dist.old
echo "ferry: built dist/ in $(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }') s"
