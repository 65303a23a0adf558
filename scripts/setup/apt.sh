#!/usr/bin/env bash
# Installs Debian packages: the ones named as arguments, or (no arguments) every package the tests
# and `npm start` may need. Quiet when nothing is missing; `apt-get update` runs only when something
# has to be installed. Needs root (or sudo).
#   scripts/setup/apt.sh chromium libkrb5-dev
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
DP_RETRY="bash scripts/setup/apt.sh $*"

ALL=(
  chromium            # e2e tests and exthost runs (headless client for code-server)
  libkrb5-dev         # code-server's native modules build against it
  docker.io           # test/docker: a real Docker Engine
  busybox-static      # FROM-scratch fixture images
  docker-compose      # compose v1 (the docker backend still accepts it)
  debootstrap         # the Debian base image of the bundled compose stack, made locally
)
if [ $# -gt 0 ]; then wanted=("$@"); else wanted=("${ALL[@]}"); fi
# shellcheck disable=SC2206
wanted+=(${DP_APT_EXTRA:-})

missing=()
for p in "${wanted[@]}"; do
  status="$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)"
  [ "$status" = installed ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  dp_log "these packages are missing and this is not a Debian/Ubuntu system (no apt-get): ${missing[*]}"
  dp_log "install them with your system's package manager, then run this again"
  exit 1
fi
t0=$SECONDS
dp_log "apt: installing ${missing[*]} (about 1 minute)"
export DEBIAN_FRONTEND=noninteractive
dp_quiet "$DP_CACHE/logs/apt-update.log" dp_as_root apt-get -o DPkg::Lock::Timeout=900 update
dp_quiet "$DP_CACHE/logs/apt-install.log" dp_as_root apt-get -o DPkg::Lock::Timeout=900 install -y --no-install-recommends "${missing[@]}"
dp_log "apt: done in $((SECONDS - t0)) s"
