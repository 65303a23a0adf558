# Shared helpers for scripts/setup/*.sh (sourced, not run).
# Every install step is idempotent: it records a stamp file under the cache when done and
# prints nothing on later runs. Progress goes to stderr; stdout is reserved for results.
DP_CACHE="${DATAPIPELINE_CACHE:-$HOME/.cache/datapipeline}"
DP_STAMPS="$DP_CACHE/stamps"
mkdir -p "$DP_STAMPS" "$DP_CACHE/logs"

# An outer `npm test` / `npm start` exports its own configuration (npm_config_user_agent names the
# outer Node, npm_config_* its settings, npm_package_* / npm_lifecycle_* the running script). A nested
# `npm install` (or a postinstall it runs) would read them as its own: code-server's postinstall then
# sees Node 20 even with Node 24 first on PATH. Drop them here, for every step; a user's own
# NPM_CONFIG_* (upper case: a registry mirror, a proxy) stays.
dp_clean_npm_env() {
  local v
  for v in $(compgen -e); do
    case "$v" in
      npm_*|INIT_CWD|NODE) unset "$v" ;;
    esac
  done
  # npm's node-gyp shim directory (PATH entry added by npm run-script) follows the outer npm
  PATH="$(printf '%s' "$PATH" | tr ':' '\n' | grep -v '/@npmcli/run-script/lib/node-gyp-bin$' | paste -sd: -)"
  export PATH
}
dp_clean_npm_env

dp_log() { printf '[setup] %s\n' "$*" >&2; }

# dp_stamped NAME: true when step NAME already completed.
dp_stamped() { [ -f "$DP_STAMPS/$1" ]; }
dp_stamp() { date -u +%FT%TZ >"$DP_STAMPS/$1"; }

# dp_as_root CMD...: run as root (directly or through sudo).
dp_as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    dp_log "needs root: $* (run it as root, or install sudo)"
    return 1
  fi
}

# dp_quiet LOGFILE CMD...: run CMD with output in LOGFILE; on failure show its tail, the log's path
# and the command that retries the step ($DP_RETRY, set by each script), then fail.
dp_quiet() {
  local log="$1"; shift
  if ! "$@" >"$log" 2>&1; then
    dp_log "FAILED: $*"
    tail -n 40 "$log" | sed 's/^/    /' >&2
    dp_log "whole log: $log"
    dp_log "retry this step: ${DP_RETRY:-the same command} (finished steps are skipped)"
    return 1
  fi
}
