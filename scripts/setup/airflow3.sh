#!/usr/bin/env bash
# Installs the newest Apache Airflow 3.x (or DP_AIRFLOW3_VERSION) into its own venv under the cache,
# used only by the Airflow client tests (the bundled stack runs 2.8.1). Prints the venv's bin
# directory on stdout. Idempotent, resumable, quiet (besides that path) once installed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
DP_RETRY="bash scripts/setup/airflow3.sh"

AF3_VERSION="${DP_AIRFLOW3_VERSION:-3.3.2}"
AF3_DIR="$DP_CACHE/airflow3"
VENV="$AF3_DIR/venv"
PY="${DP_PYTHON:-python3.11}"
mkdir -p "$DP_CACHE/logs" "$AF3_DIR"

if ! dp_stamped "airflow3-$AF3_VERSION" || [ ! -x "$VENV/bin/airflow" ]; then
  t0=$SECONDS
  dp_log "installing Apache Airflow $AF3_VERSION for the Airflow 3 client tests (about 2 minutes) into $VENV"
  if [ ! -x "$VENV/bin/python" ]; then
    dp_quiet "$DP_CACHE/logs/airflow3-venv.log" "$PY" -m venv "$VENV"
  fi
  dp_quiet "$DP_CACHE/logs/airflow3-pip.log" "$VENV/bin/pip" install --disable-pip-version-check -q --upgrade pip
  dp_quiet "$DP_CACHE/logs/airflow3-pip.log" "$VENV/bin/pip" install --disable-pip-version-check -q "apache-airflow==$AF3_VERSION"
  dp_stamp "airflow3-$AF3_VERSION"
  dp_log "Airflow $AF3_VERSION: done in $((SECONDS - t0)) s"
fi
echo "$VENV/bin"
