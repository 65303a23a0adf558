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
# Airflow's session and token-signing key, the same for every component and every process (the
# compose file's *_CMD settings read this file): AIRFLOW_SECRET_KEY when set, else the stack's own,
# made on its first start in the airflow-secrets volume (group 0, which the containers run in; the
# first container to write it wins, the others read it)
keyfile=/opt/airflow/secrets/secret_key
if [ -d "${keyfile%/*}" ]; then
  if [ -n "${AIRFLOW_SECRET_KEY:-}" ]; then
    if [ "$(cat "$keyfile" 2>/dev/null)" != "$AIRFLOW_SECRET_KEY" ]; then
      (umask 007 && printf '%s\n' "$AIRFLOW_SECRET_KEY" >"$keyfile.$$") && mv -f "$keyfile.$$" "$keyfile"
    fi
  elif [ ! -s "$keyfile" ]; then
    (umask 007 && python3 -c 'import secrets; print(secrets.token_hex(32))' >"$keyfile.$$") && mv -n "$keyfile.$$" "$keyfile"
    rm -f "$keyfile.$$"
  fi
fi
case "${1:-}" in
  webserver | scheduler | triggerer | dag-processor | api-server | db | users | connections | dags | tasks | info | version | standalone)
    exec airflow "$@" ;;
esac
exec "$@"
