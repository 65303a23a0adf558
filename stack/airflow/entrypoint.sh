#!/usr/bin/env bash
# Airflow image entrypoint: `webserver`, `scheduler` and other Airflow commands run as `airflow …`;
# anything else runs as given (e.g. `bash /opt/datapipeline/init.sh`). SPARK_KAFKA_JARS defaults to
# the connector jars baked into the image, so the DAGs' Spark submits download nothing.
set -euo pipefail
if [ -z "${SPARK_KAFKA_JARS:-}" ]; then
  SPARK_KAFKA_JARS="$(find /opt/spark-jars -name '*.jar' | sort | paste -sd, -)"
  export SPARK_KAFKA_JARS
fi
case "${1:-}" in
  webserver | scheduler | triggerer | dag-processor | api-server | db | users | connections | dags | tasks | info | version | standalone)
    exec airflow "$@" ;;
esac
exec "$@"
