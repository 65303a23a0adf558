#!/usr/bin/env bash
# Installs the foreign Kafka clients the integration tests produce with (the data in tests comes
# from the clients users have, not only kafkajs): a Python venv with kafka-python 2.0.2 (what the
# bundled DAGs use) with its lz4 and snappy codecs, and confluent-kafka (librdkafka, bundled in its
# wheel). Kafka's own Java tools come with the native stack's Kafka jars. Prints the venv's python.
# Idempotent, quiet (besides that path) once installed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
DP_RETRY="bash scripts/setup/test-clients.sh"

PY="${DP_PYTHON:-python3.11}"
VENV="$DP_CACHE/test-clients/venv"
PINS=(kafka-python==2.0.2 lz4==4.3.3 python-snappy==0.7.3 confluent-kafka==2.6.1)
STAMP="test-clients-$(printf '%s ' "${PINS[@]}" | sha256sum | cut -c1-12)"

if ! dp_stamped "$STAMP" || [ ! -x "$VENV/bin/python" ]; then
  t0=$SECONDS
  dp_log "installing the Python Kafka clients for the tests (${PINS[*]}; under 1 minute) into $VENV"
  [ -x "$VENV/bin/python" ] || dp_quiet "$DP_CACHE/logs/test-clients.log" "$PY" -m venv "$VENV"
  dp_quiet "$DP_CACHE/logs/test-clients.log" "$VENV/bin/pip" install --disable-pip-version-check -q "${PINS[@]}"
  dp_stamp "$STAMP"
  dp_log "Python Kafka clients: done in $((SECONDS - t0)) s"
fi
echo "$VENV/bin/python"
