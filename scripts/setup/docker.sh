#!/usr/bin/env bash
# Installs what the Docker backend tests need: Debian's docker.io (dockerd + containerd + runc),
# busybox-static (fixture images are built FROM scratch with it) and docker-compose v1.
# Optionally (DATAPIPELINE_COMPOSE_V2=1) builds compose v2 from the Go module proxy into
# ~/.docker/cli-plugins/docker-compose. Idempotent, cached by stamp files, quiet when done.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
DP_RETRY="bash scripts/setup/docker.sh"

"$(dirname "${BASH_SOURCE[0]}")/apt.sh" docker.io busybox-static docker-compose

if [ "${DATAPIPELINE_COMPOSE_V2:-0}" = 1 ]; then
  COMPOSE_V2_VERSION="${COMPOSE_V2_VERSION:-v2.29.7}"
  plugin="$HOME/.docker/cli-plugins/docker-compose"
  if ! dp_stamped "compose-v2-$COMPOSE_V2_VERSION" || [ ! -x "$plugin" ]; then
    t0=$SECONDS
    dp_log "building docker compose $COMPOSE_V2_VERSION from the Go module proxy (about 3 minutes cold; cached in $DP_CACHE/go)"
    export GOPATH="$DP_CACHE/go" GOMODCACHE="$DP_CACHE/go/mod" GOCACHE="$DP_CACHE/go/build" GOFLAGS=-mod=mod
    bin="$DP_CACHE/go/bin"
    mkdir -p "$bin" "$(dirname "$plugin")"
    GOBIN="$bin" dp_quiet "$DP_CACHE/logs/compose-v2.log" go install -trimpath \
      -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$COMPOSE_V2_VERSION" \
      "github.com/docker/compose/v2/cmd@$COMPOSE_V2_VERSION"
    install -m 0755 "$bin/cmd" "$plugin"
    dp_stamp "compose-v2-$COMPOSE_V2_VERSION"
    dp_log "docker compose $COMPOSE_V2_VERSION: done in $((SECONDS - t0)) s"
  fi
fi
