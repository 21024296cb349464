#!/usr/bin/env bash
# Validate docker-compose.yml with `docker compose config -q`. This needs no Docker engine.
#
#   bash scripts/stack/compose-check.sh [path/to/docker-compose.yml]
#
# The compose v2 plugin is not packaged for Debian 12, and its module cannot be
# `go install`ed: its go.mod has exclude directives. So this script fetches the
# module source through the Go module proxy (`go mod download`), builds ./cmd as the
# main module, and caches the binary in ${FERRY_CACHE_DIR:-~/.cache/ferry}/bin. It then
# installs the binary as the docker CLI plugin (~/.docker/cli-plugins/docker-compose).
# If that build fails, it falls back to Debian's docker-compose v1 (`docker-compose config -q`).
# v1 does not know newer keys such as configs.content, so its verdict is weaker.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
FILE="${1:-$REPO/docker-compose.yml}"
CACHE="${FERRY_CACHE_DIR:-$HOME/.cache/ferry}"
COMPOSE_VERSION="${FERRY_COMPOSE_VERSION:-v2.40.3}"
COMPOSE_BIN="$CACHE/bin/docker-compose-$COMPOSE_VERSION"
PLUGIN_DIR="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"

log() { printf 'compose-check: %s\n' "$*" >&2; }

[[ -f "$FILE" ]] || { log "no such file: $FILE"; exit 2; }

have_v2() { command -v docker >/dev/null && docker compose version >/dev/null 2>&1; }

build_compose_v2() {
  command -v go >/dev/null || { log "go not found"; return 1; }
  local work="$CACHE/build/compose-$COMPOSE_VERSION" dir
  mkdir -p "$CACHE/bin" "$CACHE/build"
  log "building docker compose $COMPOSE_VERSION from the Go module proxy (one-time, a few minutes)"
  dir="$(go mod download -json "github.com/docker/compose/v2@$COMPOSE_VERSION" |
         sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [[ -n "$dir" && -d "$dir" ]] || { log "go mod download failed"; return 1; }
  rm -rf "$work" && cp -r "$dir" "$work" && chmod -R u+w "$work"
  (cd "$work" && GOFLAGS=-buildvcs=false CGO_ENABLED=0 go build -trimpath \
     -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$COMPOSE_VERSION" \
     -o "$COMPOSE_BIN.tmp" ./cmd) >"$CACHE/build/compose-$COMPOSE_VERSION.log" 2>&1 ||
    { tail -n 20 "$CACHE/build/compose-$COMPOSE_VERSION.log" >&2; log "go build failed"; return 1; }
  mv "$COMPOSE_BIN.tmp" "$COMPOSE_BIN"
  rm -rf "$work"
}

install_plugin() {
  mkdir -p "$PLUGIN_DIR"
  ln -sf "$COMPOSE_BIN" "$PLUGIN_DIR/docker-compose"
}

if ! have_v2; then
  if [[ -x "$COMPOSE_BIN" ]] || build_compose_v2; then
    install_plugin
  fi
fi

if have_v2; then
  log "$(docker compose version) -- docker compose -f $FILE config -q"
  docker compose -f "$FILE" config -q
elif [[ -x "$COMPOSE_BIN" ]]; then
  # No docker CLI: the plugin binary also runs standalone.
  log "$("$COMPOSE_BIN" version) -- standalone config -q"
  "$COMPOSE_BIN" -f "$FILE" config -q
else
  log "falling back to docker-compose v1 (Debian package)"
  if ! command -v docker-compose >/dev/null; then
    [[ $EUID -eq 0 ]] || { log "need root to apt-get install docker-compose"; exit 2; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker-compose >/dev/null 2>&1 || {
      apt-get update -q >/dev/null 2>&1
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker-compose >/dev/null
    }
  fi
  docker-compose -f "$FILE" config -q
fi
log "OK: $FILE is valid"
