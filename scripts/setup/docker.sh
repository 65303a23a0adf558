#!/usr/bin/env bash
# Installs what the Docker backend tests need: Debian's docker.io (dockerd + containerd + runc),
# busybox-static (fixture images are built FROM scratch with it), debootstrap (the stack's base
# image is made locally: no registry here), docker-compose v1 (still accepted), and Compose v2 —
# the CLI users have — built from the Go module proxy into ~/.docker/cli-plugins/docker-compose
# (Go's own module and build caches make a rebuild quick). Idempotent, quiet when done.
# DATAPIPELINE_COMPOSE_V2=0 skips the v2 build.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
DP_RETRY="bash scripts/setup/docker.sh"

"$(dirname "${BASH_SOURCE[0]}")/apt.sh" docker.io busybox-static docker-compose debootstrap

if [ "${DATAPIPELINE_COMPOSE_V2:-1}" = 1 ]; then
  COMPOSE_V2_VERSION="${COMPOSE_V2_VERSION:-v2.29.7}"
  plugin="$HOME/.docker/cli-plugins/docker-compose"
  if ! dp_stamped "compose-v2-$COMPOSE_V2_VERSION" || ! "$plugin" version 2>/dev/null | grep -q "${COMPOSE_V2_VERSION#v}"; then
    t0=$SECONDS
    dp_log "building Docker Compose $COMPOSE_V2_VERSION from the Go module proxy (3-5 minutes the first time; about 1 minute with Go's caches warm)"
    bin="$DP_CACHE/go/bin"
    mkdir -p "$bin" "$(dirname "$plugin")"
    GOBIN="$bin" GOFLAGS=-mod=mod dp_quiet "$DP_CACHE/logs/compose-v2.log" go install -trimpath \
      -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$COMPOSE_V2_VERSION" \
      "github.com/docker/compose/v2/cmd@$COMPOSE_V2_VERSION"
    install -m 0755 "$bin/cmd" "$plugin"
    dp_stamp "compose-v2-$COMPOSE_V2_VERSION"
    dp_log "Docker Compose $COMPOSE_V2_VERSION: done in $((SECONDS - t0)) s"
  fi
fi
