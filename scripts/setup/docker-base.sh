#!/usr/bin/env bash
# Makes the stack's base image, debian:bookworm-slim, in the Docker daemon at $DOCKER_HOST when it
# is missing: users pull it, but no registry answers here. The same way Debian's own images are
# made: `debootstrap --variant=minbase bookworm` from Debian's archive (the mirror in this machine's
# apt sources), then `docker import` under the same tag. The root filesystem tarball is cached
# (<cache>/docker/), so a new daemon imports it in seconds. Needs root (debootstrap) and a daemon.
# Idempotent, quiet when the image exists.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
DP_RETRY="bash scripts/setup/docker-base.sh"

TAG="${DP_BASE_IMAGE:-debian:bookworm-slim}"
SUITE="${DP_BASE_SUITE:-bookworm}"
docker image inspect "$TAG" >/dev/null 2>&1 && exit 0

tarball="$DP_CACHE/docker/$SUITE-minbase.tar"
mkdir -p "$(dirname "$tarball")"
if [ ! -s "$tarball" ]; then
  t0=$SECONDS
  mirror="$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1)"
  mirror="${mirror:-http://deb.debian.org/debian}"
  dp_log "making $TAG with debootstrap (minbase $SUITE from $mirror, about 1 minute)"
  command -v debootstrap >/dev/null || "$(dirname "${BASH_SOURCE[0]}")/apt.sh" debootstrap
  rootfs="$(mktemp -d "$DP_CACHE/docker/rootfs.XXXXXX")"
  trap 'rm -rf "$rootfs"' EXIT
  dp_quiet "$DP_CACHE/logs/debootstrap.log" dp_as_root debootstrap --variant=minbase "$SUITE" "$rootfs" "$mirror"
  # as Debian's -slim images: no package lists, no caches
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb
  tar -C "$rootfs" -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
  dp_log "debootstrap: done in $((SECONDS - t0)) s ($(du -h "$tarball" | cut -f1))"
fi
dp_quiet "$DP_CACHE/logs/docker-import.log" docker import "$tarball" "$TAG"
dp_log "imported $TAG into the Docker daemon"
