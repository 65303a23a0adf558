#!/usr/bin/env bash
# Installs the Debian packages the tests and `npm start` need. Quiet when nothing is missing;
# `apt-get update` runs only when something has to be installed.
# Others extend the list: DP_APT_EXTRA="pkg1 pkg2" scripts/setup/apt.sh, or edit DP_APT_PACKAGES.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DP_APT_PACKAGES=(
  chromium            # e2e tests and exthost runs (headless client for code-server)
  libkrb5-dev         # code-server's native modules build against it
  docker.io           # test/docker: a real Docker Engine
  busybox-static      # FROM-scratch fixture images
  docker-compose      # compose v1 for the docker backend tests
)
# shellcheck disable=SC2206
DP_APT_PACKAGES+=(${DP_APT_EXTRA:-})

missing=()
for p in "${DP_APT_PACKAGES[@]}"; do
  status="$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)"
  [ "$status" = installed ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

dp_log "apt: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
mkdir -p "$DP_CACHE/logs"
dp_quiet "$DP_CACHE/logs/apt-update.log" dp_as_root apt-get -o DPkg::Lock::Timeout=900 update
dp_quiet "$DP_CACHE/logs/apt-install.log" dp_as_root apt-get -o DPkg::Lock::Timeout=900 install -y --no-install-recommends "${missing[@]}"
dp_log "apt: done"
