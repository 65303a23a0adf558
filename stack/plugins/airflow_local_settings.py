"""Airflow cluster policy of the DataPipeline stack (both backends put this folder on sys.path).

On the native stack, a task's arguments that name a container path of the project's compose file
(/opt/airflow/scripts/job.py) name the project's folder instead (see native/python/sitecustomize.py).

task_policy tags every Spark application a DAG submits with the run that submitted it: the
application's name gets " [dp:<dag_id>/<task_id>/<run_id>]" (the run id filled in when the task
runs). The Spark master lists every application with its name, so DataPipeline's run view links a
task to the application it started by these tags, not by guessing from times. A name that already
carries a tag is left as it is.
"""

TAG_PREFIX = " [dp:"


def _keep_web_colors():
    """Airflow 3.3 task processes lose airflow.settings.WEB_COLORS: the shim that still provides it
    is the module's __getattr__, which the task supervisor replaces (block_orm_access). The Spark
    provider that works with Spark 3.5.0 (5.2.1; later ones need pyspark >= 3.5.2) imports it, so
    without this every SparkSubmitOperator task fails to load its DAG. A no-op on Airflow 2."""
    import sys

    settings = sys.modules.get("airflow.settings")
    if settings is not None and "WEB_COLORS" not in vars(settings):
        settings.WEB_COLORS = {"LIGHTBLUE": "#4d9de0", "LIGHTORANGE": "#FF9933"}


_keep_web_colors()


def _map_container_paths(task):
    """Native stack only: container paths in the task's templated arguments become the project's paths."""
    try:
        import sitecustomize
    except ImportError:
        return
    path_map = getattr(sitecustomize, "PATH_MAP", None)
    if not path_map:
        return
    import re

    pattern = re.compile(r"(?<![\w/.])(" + "|".join(re.escape(k) for k in sorted(path_map, key=len, reverse=True)) + r")(?=/|,|\s|$)")

    def fix(v):
        if isinstance(v, str):
            return pattern.sub(lambda m: path_map[m.group(1)], v)
        if isinstance(v, list):
            return [fix(x) for x in v]
        if isinstance(v, tuple):
            return tuple(fix(x) for x in v)
        if isinstance(v, dict):
            return {k: fix(x) for k, x in v.items()}
        return v

    for field in getattr(task, "template_fields", ()):
        value = getattr(task, field, None)
        fixed = fix(value)
        if fixed != value:
            setattr(task, field, fixed)


def task_policy(task):
    _map_container_paths(task)
    try:
        from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
    except ImportError:  # the Spark provider is not installed: nothing to tag
        return
    if not isinstance(task, SparkSubmitOperator):
        return
    # the templated attribute is "_name" in the Spark provider for Airflow 2, "name" in later ones
    attr = "_name" if "_name" in task.template_fields else "name"
    name = getattr(task, attr, None) or task.task_id
    if TAG_PREFIX in name:
        return
    setattr(task, attr, f"{name}{TAG_PREFIX}{task.dag_id}/{task.task_id}/{{{{ run_id }}}}]")
