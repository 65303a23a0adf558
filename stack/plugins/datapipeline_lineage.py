"""DataPipeline's Airflow listener: the Kafka offsets of every task, for DAGs that know nothing of it.

Airflow's OpenLineage provider reports each task's run, and the OpenLineage Spark listener the topics,
tables and files a Spark application read and wrote; neither says *which records*. This listener,
loaded in every task's process (an `airflow.plugins` entry point: datapipeline_stack-1.dist-info
beside this file, so the project's own plugins folder stays the user's), adds them:

- **measured**: the offsets of the records the task itself produced and consumed with kafka-python
  (KafkaProducer.send, KafkaConsumer iteration and poll), exact per partition;
- **end offsets** of the stack's Kafka topics (KAFKA_BOOTSTRAP_SERVERS) when the task started and when
  it ended: what a Spark job the task submitted wrote shows as the topic's growth meanwhile;
- a SparkSubmitOperator's job gets the task's run as its OpenLineage parent (spark.openlineage.parent*).

At the task's end it sends one OpenLineage event of type OTHER, for the same run as the provider's
(its run id, from the provider's own macro), to DATAPIPELINE_LINEAGE_URL (the stack's receiver):
the topics as input and output datasets, the offsets in its run facet "datapipeline_kafka". Nothing
here may fail a task: every step is guarded and logs a warning instead.
"""
import json
import logging
import os
import threading
import time
import urllib.request
import uuid
from datetime import datetime, timezone

from airflow.listeners import hookimpl
from airflow.plugins_manager import AirflowPlugin

log = logging.getLogger(__name__)

PRODUCER = "https://github.com/datapipeline/datapipeline/tree/main/stack/plugins/datapipeline_lineage.py"
FACET_SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunFacet"
EVENT_SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
MAX_TOPICS = 500
TIMEOUT_S = 5


class _Task:
    """What one task's process learns while it runs."""

    def __init__(self):
        self.lock = threading.Lock()
        # (servers, topic, role) -> {partition: [first offset, last offset + 1]}
        self.measured = {}
        self.start_offsets = None
        self.run_id = None
        self.started = None
        self.try_number = None
        self.snapshot = None

    def record(self, servers, topic, partition, offset, role):
        if offset is None or offset < 0:
            return
        with self.lock:
            span = self.measured.setdefault((servers, topic, role), {}).setdefault(partition, [offset, offset + 1])
            span[0] = min(span[0], offset)
            span[1] = max(span[1], offset + 1)


_current = None


def _servers(config_value):
    """"host:port" of the first bootstrap server, as OpenLineage names a Kafka namespace (kafka://host:port)."""
    if isinstance(config_value, str):
        config_value = config_value.split(",")
    first = next((s.strip() for s in (config_value or []) if s and s.strip()), "")
    return first


def _patch_kafka_python():
    """kafka-python's producer and consumer record what they send and receive (once per process)."""
    try:
        import kafka
    except ImportError:
        return
    if getattr(kafka, "_datapipeline_patched", False):
        return
    kafka._datapipeline_patched = True
    producer_cls, consumer_cls = kafka.KafkaProducer, kafka.KafkaConsumer
    send, next_, poll = producer_cls.send, consumer_cls.__next__, consumer_cls.poll

    def patched_send(self, topic, *args, **kwargs):
        future = send(self, topic, *args, **kwargs)
        task = _current
        if task is not None:
            servers = _servers(self.config.get("bootstrap_servers"))
            try:
                future.add_callback(lambda md: task.record(servers, md.topic, md.partition, md.offset, "write"))
            except Exception:  # noqa: BLE001 - never in the task's way
                pass
        return future

    def consumed(self, records):
        task = _current
        if task is None:
            return
        servers = _servers(self.config.get("bootstrap_servers"))
        for r in records:
            task.record(servers, r.topic, r.partition, r.offset, "read")

    def patched_next(self):
        record = next_(self)
        try:
            consumed(self, [record])
        except Exception:  # noqa: BLE001
            pass
        return record

    def patched_poll(self, *args, **kwargs):
        batches = poll(self, *args, **kwargs)
        try:
            for records in (batches or {}).values():
                consumed(self, records)
        except Exception:  # noqa: BLE001
            pass
        return batches

    producer_cls.send = patched_send
    consumer_cls.__next__ = patched_next
    consumer_cls.poll = patched_poll


def _bootstrap():
    return [s.strip() for s in os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "").split(",") if s.strip()]


def end_offsets():
    """{topic: {partition: end offset}} of the stack's topics (internal ones left out), or None."""
    servers = _bootstrap()
    if not servers:
        return None
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=servers, enable_auto_commit=False, request_timeout_ms=TIMEOUT_S * 1000 + 1,
                             connections_max_idle_ms=TIMEOUT_S * 1000 + 2, client_id="datapipeline-lineage")
    try:
        tps = []
        for topic in sorted(t for t in consumer.topics() if not t.startswith("__"))[:MAX_TOPICS]:
            tps += [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        out = {}
        for tp, offset in consumer.end_offsets(tps).items():
            out.setdefault(tp.topic, {})[str(tp.partition)] = offset
        return out
    finally:
        consumer.close()


def _task_run_id(ti):
    """The provider's run id of this task try (its own macro), so this event joins the provider's run."""
    try:
        from airflow.providers.openlineage.plugins.macros import lineage_run_id

        return lineage_run_id(ti)
    except Exception:  # noqa: BLE001 - no provider: a run of our own
        return str(uuid.uuid4())


def _link_spark_job(ti, run_id):
    """A SparkSubmitOperator's job names this task's run as its parent: the OpenLineage Spark listener
    (on the stack's Spark classpath, spark-defaults) then reports the job's datasets under the task, in
    the run view and in Marquez. Set on the operator before it builds its spark-submit (its conf is
    rendered already on Airflow 3 and holds no template here on Airflow 2); a key the DAG set wins."""
    op = getattr(ti, "task", None)
    try:
        from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
    except ImportError:
        return
    if not isinstance(op, SparkSubmitOperator):
        return
    attr = "_conf" if hasattr(op, "_conf") else "conf"
    conf = dict(getattr(op, attr, None) or {})
    conf.setdefault("spark.openlineage.parentJobNamespace", _namespace())
    conf.setdefault("spark.openlineage.parentJobName", f"{ti.dag_id}.{ti.task_id}")
    conf.setdefault("spark.openlineage.parentRunId", run_id)
    setattr(op, attr, conf)


def _namespace():
    try:
        from airflow.configuration import conf

        return conf.get("openlineage", "namespace", fallback=None) or os.environ.get("OPENLINEAGE_NAMESPACE", "default")
    except Exception:  # noqa: BLE001
        return "default"


def _guarded(what):
    def wrap(fn):
        def inner(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except Exception as e:  # noqa: BLE001 - lineage never fails a task
                log.warning("DataPipeline lineage: %s: %s", what, e)

        return inner

    return wrap


def _event(task, ti, state):
    stack_servers = _bootstrap()
    ends = None
    if task.snapshot is not None:
        task.snapshot.join(TIMEOUT_S * 2)
    if task.start_offsets is not None:
        try:
            ends = end_offsets()
        except Exception as e:  # noqa: BLE001
            log.warning("DataPipeline lineage: the topics' end offsets at the task's end: %s", e)
    grown = {}
    if ends is not None:
        for topic, parts in ends.items():
            before = task.start_offsets.get(topic, {})
            if any(o != before.get(p, 0) for p, o in parts.items()):
                grown[topic] = {"start": {p: before.get(p, 0) for p in parts}, "end": parts}
    measured = []
    datasets = {"read": {}, "write": {}}
    with task.lock:
        for (servers, topic, role), parts in sorted(task.measured.items()):
            measured.append({"servers": servers, "topic": topic, "role": role,
                             "start": {str(p): s for p, (s, _) in sorted(parts.items())},
                             "end": {str(p): e for p, (_, e) in sorted(parts.items())}})
            datasets[role][(f"kafka://{servers}", topic)] = True
    dag_run_id = getattr(ti, "run_id", None)
    return {
        "eventType": "OTHER",
        "eventTime": datetime.now(timezone.utc).isoformat(),
        "producer": PRODUCER,
        "schemaURL": EVENT_SCHEMA,
        "run": {
            "runId": task.run_id,
            "facets": {
                "datapipeline_kafka": {
                    "_producer": PRODUCER,
                    "_schemaURL": FACET_SCHEMA,
                    "dagId": ti.dag_id,
                    "taskId": ti.task_id,
                    "runId": dag_run_id,
                    "tryNumber": task.try_number,
                    "state": state,
                    "started": task.started,
                    "servers": stack_servers[0] if stack_servers else None,
                    "measured": measured,
                    "endOffsets": grown if ends is not None else None,
                },
            },
        },
        "job": {"namespace": _namespace(), "name": f"{ti.dag_id}.{ti.task_id}"},
        "inputs": [{"namespace": ns, "name": name} for ns, name in datasets["read"]],
        "outputs": [{"namespace": ns, "name": name} for ns, name in datasets["write"]],
    }


def _send(event):
    url = os.environ.get("DATAPIPELINE_LINEAGE_URL", "").rstrip("/")
    if not url:
        return
    req = urllib.request.Request(f"{url}/api/v1/lineage", data=json.dumps(event).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=TIMEOUT_S) as r:
        r.read()


class DataPipelineListener:
    @hookimpl
    def on_task_instance_running(self, previous_state, task_instance):
        global _current
        if not os.environ.get("DATAPIPELINE_LINEAGE_URL"):
            return  # lineage off (DATAPIPELINE_LINEAGE=off), or an Airflow the stack does not run
        task = _Task()
        _current = task
        self._start(task, task_instance)

    @_guarded("the task's start")
    def _start(self, task, ti):
        task.started = datetime.now(timezone.utc).isoformat()
        task.try_number = getattr(ti, "try_number", None)
        task.run_id = _task_run_id(ti)
        _link_spark_job(ti, task.run_id)
        _patch_kafka_python()
        # read off the task's path: what it is compared with is a Spark job's writes, seconds away at least
        # (its own kafka-python records are measured exactly, whenever they come)
        task.snapshot = threading.Thread(target=self._snapshot, args=(task,), name="datapipeline-lineage", daemon=True)
        task.snapshot.start()

    @staticmethod
    def _snapshot(task):
        t0 = time.monotonic()
        try:
            task.start_offsets = end_offsets()
        except Exception as e:  # noqa: BLE001
            log.warning("DataPipeline lineage: the topics' end offsets at the task's start: %s", e)
        log.debug("DataPipeline lineage: end offsets read in %.2f s", time.monotonic() - t0)

    @hookimpl
    def on_task_instance_success(self, previous_state, task_instance):
        self._finish(task_instance, "success")

    @hookimpl
    def on_task_instance_failed(self, previous_state, task_instance):
        self._finish(task_instance, "failed")

    @_guarded("the task's end")
    def _finish(self, ti, state):
        global _current
        task, _current = _current, None
        if task is None or task.run_id is None:
            return
        _send(_event(task, ti, state))


class DataPipelineLineagePlugin(AirflowPlugin):
    name = "datapipeline_lineage"
    listeners = [DataPipelineListener()]
