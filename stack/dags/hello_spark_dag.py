"""hello_spark_cluster: submits scripts/hello_spark.py to the Spark cluster on connection spark_cluster.

Runs unchanged in the compose stack (scripts mounted at /opt/airflow/scripts) and the native one
(DATAPIPELINE_SCRIPTS_DIR points at the repository's stack/scripts).
"""
import os
from datetime import datetime

try:  # Airflow 3: the Task SDK
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

SCRIPTS_DIR = os.environ.get("DATAPIPELINE_SCRIPTS_DIR", "/opt/airflow/scripts")

with DAG(
    dag_id="hello_spark_cluster",
    description="Hello World on the Spark cluster",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["spark", "demo"],
) as dag:
    SparkSubmitOperator(
        task_id="submit_hello_spark",
        conn_id="spark_cluster",
        application=os.path.join(SCRIPTS_DIR, "hello_spark.py"),
        name="hello_spark_cluster",
        verbose=False,
    )
