#!/usr/bin/env bash
# Airflow image entrypoint: `webserver`, `scheduler` and other Airflow commands run as `airflow …`;
# anything else runs as given (e.g. `bash /opt/datapipeline/init.sh`). SPARK_KAFKA_JARS defaults to
# the connector jars baked into the image, so the DAGs' Spark submits download nothing.
set -euo pipefail
if [ -z "${SPARK_KAFKA_JARS:-}" ]; then
  SPARK_KAFKA_JARS="$(find /opt/spark-jars -name '*.jar' | sort | paste -sd, -)"
  export SPARK_KAFKA_JARS
fi
# Airflow 3's simple auth manager reads its users' passwords from this file (else it makes up random
# ones): the stack's admin gets AIRFLOW_ADMIN_PASSWORD, as Airflow 2's admin user does.
if [ -n "${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE:-}" ]; then
  python3 -c 'import json, os, sys; json.dump({os.environ.get("AIRFLOW_ADMIN_USER", "admin"): os.environ.get("AIRFLOW_ADMIN_PASSWORD", "admin")}, open(sys.argv[1], "w"))' \
    "$AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"
fi
case "${1:-}" in
  webserver | scheduler | triggerer | dag-processor | api-server | db | users | connections | dags | tasks | info | version | standalone)
    exec airflow "$@" ;;
esac
exec "$@"
