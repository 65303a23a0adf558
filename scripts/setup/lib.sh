# Shared helpers for scripts/setup/*.sh (sourced, not run).
# Every install step is idempotent: it records a stamp file under the cache when done and
# prints nothing on later runs. Progress goes to stderr; stdout is reserved for results.
DP_CACHE="${DATAPIPELINE_CACHE:-$HOME/.cache/datapipeline}"
DP_STAMPS="$DP_CACHE/stamps"
mkdir -p "$DP_STAMPS"

dp_log() { printf '[setup] %s\n' "$*" >&2; }

# dp_stamped NAME: true when step NAME already completed.
dp_stamped() { [ -f "$DP_STAMPS/$1" ]; }
dp_stamp() { date -u +%FT%TZ >"$DP_STAMPS/$1"; }

# dp_as_root CMD...: run as root (directly or through sudo).
dp_as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# dp_quiet LOGFILE CMD...: run CMD with output in LOGFILE; on failure show its tail and fail.
dp_quiet() {
  local log="$1"; shift
  if ! "$@" >"$log" 2>&1; then
    dp_log "FAILED: $* (log: $log)"
    tail -n 40 "$log" >&2
    return 1
  fi
}
