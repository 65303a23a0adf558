#!/usr/bin/env bash
# Installs what the Docker backend tests need: Debian's docker.io (dockerd + containerd + runc),
# busybox-static (fixture images are built FROM scratch with it) and docker-compose v1.
# Optionally (DATAPIPELINE_COMPOSE_V2=1) builds compose v2 from the Go module proxy into
# ~/.docker/cli-plugins/docker-compose. Idempotent, cached by stamp files, quiet when done.
set -euo pipefail

CACHE="${DATAPIPELINE_CACHE:-$HOME/.cache/datapipeline}"
STAMP_DIR="$CACHE/stamps"
mkdir -p "$STAMP_DIR"

log() { printf '[setup/docker] %s\n' "$*" >&2; }

need_apt=()
command -v dockerd >/dev/null 2>&1 || need_apt+=(docker.io)
[ -x /bin/busybox ] && file_is_static=$(ldd /bin/busybox 2>&1 | grep -c 'not a dynamic' || true) || file_is_static=0
[ "${file_is_static:-0}" -ge 1 ] || need_apt+=(busybox-static)
command -v docker-compose >/dev/null 2>&1 || need_apt+=(docker-compose)

if [ "${#need_apt[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    log "need root to apt-get install ${need_apt[*]}; run: sudo apt-get install -y ${need_apt[*]}"
    exit 1
  fi
  log "installing ${need_apt[*]} (apt)"
  export DEBIAN_FRONTEND=noninteractive
  if [ ! -f "$STAMP_DIR/apt-updated" ] || ! apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null 2>&1; then
    apt-get -o DPkg::Lock::Timeout=900 update -qq >/dev/null
    touch "$STAMP_DIR/apt-updated"
    apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  fi
fi

if [ "${DATAPIPELINE_COMPOSE_V2:-0}" = 1 ]; then
  COMPOSE_V2_VERSION="${COMPOSE_V2_VERSION:-v2.29.7}"
  plugin="$HOME/.docker/cli-plugins/docker-compose"
  stamp="$STAMP_DIR/compose-v2-$COMPOSE_V2_VERSION"
  if [ ! -f "$stamp" ] || [ ! -x "$plugin" ]; then
    log "building compose $COMPOSE_V2_VERSION from the Go module proxy (cached in $CACHE/go)"
    export GOPATH="$CACHE/go" GOMODCACHE="$CACHE/go/mod" GOCACHE="$CACHE/go/build" GOFLAGS=-mod=mod
    bin="$CACHE/go/bin"
    mkdir -p "$bin" "$(dirname "$plugin")"
    GOBIN="$bin" go install -trimpath \
      -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$COMPOSE_V2_VERSION" \
      "github.com/docker/compose/v2/cmd@$COMPOSE_V2_VERSION" >/dev/null
    install -m 0755 "$bin/cmd" "$plugin"
    touch "$stamp"
  fi
fi
