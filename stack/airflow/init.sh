#!/usr/bin/env bash
# One-shot, idempotent initialisation run by the airflow-init service: migrate the metadata DB,
# create the admin user (Airflow 2) and the spark_cluster connection unless they already exist; on
# Airflow 3 first its own database.
set -euo pipefail

# Started as root (compose: user 0:0): the workspace folders the services write, logs/ and
# checkpoints/, belong to DATAPIPELINE_UID whoever made them (docker makes a missing one as root);
# then everything else runs as that user.
uid="${DATAPIPELINE_UID:-50000}"
if [ "$(id -u)" = 0 ] && [ "$uid" != 0 ]; then
  for d in /opt/airflow/logs /opt/checkpoints; do
    [ "$(stat -c %u "$d")" = "$uid" ] || chown -R "$uid:0" "$d"
  done
  exec setpriv --reuid="$uid" --regid=0 --clear-groups with-user bash "$0" "$@"
fi

# The metadata database: Airflow 3 keeps its own ("airflow3") beside 2.8.1's in the one PostgreSQL.
python3 - <<'PY'
import os
import psycopg2
from sqlalchemy.engine import make_url

url = make_url(os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
if url.get_backend_name() == "postgresql":
    args = dict(host=url.host, port=url.port or 5432, user=url.username, password=url.password)
    conn = psycopg2.connect(dbname="postgres", **args)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (url.database,))
        if cur.fetchone() is None:
            cur.execute('CREATE DATABASE "%s"' % url.database.replace('"', '""'))
            print(f"datapipeline: created database {url.database}")
    conn.close()
PY

airflow db migrate

if [ -n "${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS:-}" ]; then
  echo "datapipeline: Airflow 3 simple auth manager: user ${AIRFLOW_ADMIN_USER} (no user table)"
else
  # created, or given the stack's password when it changed (the password from the environment)
  python3 /opt/datapipeline/admin_user.py
fi

# spark_cluster (the stack's DAGs) and spark_default (a SparkSubmitOperator that names none): the
# stack's master; one a project set (airflow_settings.yaml, the UI) is left as it is, but Airflow's own
# default spark_default (yarn) is not a cluster here
master="${SPARK_MASTER_URL#spark://}"
for conn in spark_cluster spark_default; do
  current="$(airflow connections get "$conn" -o json 2>/dev/null || true)"
  if [ -n "$current" ] && ! printf '%s' "$current" | grep -q '"host": "yarn"'; then
    echo "datapipeline: connection $conn exists"
  else
    airflow connections delete "$conn" >/dev/null 2>&1 || true
    airflow connections add "$conn" --conn-type spark \
      --conn-host "spark://${master%%:*}" --conn-port "${master##*:}"
  fi
done
echo "datapipeline: airflow-init done"
