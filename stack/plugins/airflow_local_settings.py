"""Airflow cluster policy of the DataPipeline stack (both backends put this folder on sys.path).

task_policy tags every Spark application a DAG submits with the run that submitted it: the
application's name gets " [dp:<dag_id>/<task_id>/<run_id>]" (the run id filled in when the task
runs). The Spark master lists every application with its name, so DataPipeline's run view links a
task to the application it started by these tags, not by guessing from times. A name that already
carries a tag is left as it is.
"""

TAG_PREFIX = " [dp:"


def task_policy(task):
    try:
        from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
    except ImportError:  # the Spark provider is not installed: nothing to tag
        return
    if not isinstance(task, SparkSubmitOperator):
        return
    name = getattr(task, "_name", None) or task.task_id
    if TAG_PREFIX in name:
        return
    task._name = f"{name}{TAG_PREFIX}{task.dag_id}/{task.task_id}/{{{{ run_id }}}}]"
