"""kafka_spark_pipeline: Kafka -> Spark -> Kafka, the stack's headline streaming demo.

create_kafka_topics -> produce_sample_data -> process_kafka_with_spark -> consume_output_topic

Every setting comes from the environment (same names in the compose and native stacks):
KAFKA_BOOTSTRAP_SERVERS, INPUT_TOPIC, OUTPUT_TOPIC, DATAPIPELINE_SCRIPTS_DIR, SPARK_KAFKA_JARS.

Running it twice works and each run knows its own data:
- topics that already exist are fine;
- produce_sample_data tags each record with the run id (a "run_id" field and a header) and pushes
  the input-topic offset range it wrote plus the output-topic end offsets before Spark runs;
- process_kafka_with_spark hands that input range to the job (KAFKA_STARTING_OFFSETS /
  KAFKA_ENDING_OFFSETS, Spark's JSON offset format) so it reads only this run's records, and
  DATAPIPELINE_RUN_ID so it can tag what it writes;
- consume_output_topic reads output-topic from the offsets recorded before Spark ran and pushes the
  range (XCom "output_offsets") that the extension's output viewer reads back.
Each task also pushes what it (or the Spark job it started) read and wrote, as exact offset ranges:
XCom "datapipeline_kafka", a list of {topic, role: read|write, task (when another task's), start,
end} (start/end: {partition: offset}); the extension's run view shows them and opens exactly them.
The Spark application is named with the run's tags (" [dp:<dag>/<task>/<run_id>]", see
plugins/airflow_local_settings.py), which the run view reads back from the Spark master.
One run at a time (max_active_runs=1) keeps those ranges from interleaving.
"""
import json
import os
from datetime import datetime, timedelta

try:  # Airflow 3: the Task SDK
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

try:  # Airflow 3
    from airflow.providers.standard.operators.python import PythonOperator
except ImportError:  # Airflow 2
    from airflow.operators.python import PythonOperator

try:  # Airflow 3: assets
    from airflow.sdk import Asset
except ImportError:  # Airflow 2: the same idea, called datasets
    from airflow.datasets import Dataset as Asset

BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "broker:19092")
INPUT_TOPIC = os.environ.get("INPUT_TOPIC", "input-topic")
OUTPUT_TOPIC = os.environ.get("OUTPUT_TOPIC", "output-topic")
SCRIPTS_DIR = os.environ.get("DATAPIPELINE_SCRIPTS_DIR", "/opt/airflow/scripts")
KAFKA_JARS = os.environ.get("SPARK_KAFKA_JARS", "").strip()
KAFKA_PACKAGE = "org.apache.spark:spark-sql-kafka-0-10_2.12:3.5.0"
PARTITIONS = 3
# The topics as Airflow assets (datasets on Airflow 2): the tasks that write them are their producers,
# so Airflow (and the extension's DAGs view) shows what feeds each topic.
INPUT_ASSET = Asset(f"kafka://datapipeline/{INPUT_TOPIC}")
OUTPUT_ASSET = Asset(f"kafka://datapipeline/{OUTPUT_TOPIC}")
KAFKA_TIMEOUT_S = 30

SAMPLE_PEOPLE = [
    {"name": "Alice", "age": 25, "city": "NYC"},
    {"name": "Bob", "age": 17, "city": "LA"},
    {"name": "Charlie", "age": 30, "city": "Chicago"},
    {"name": "Diana", "age": 16, "city": "Boston"},
    {"name": "Eve", "age": 22, "city": "Seattle"},
]


def _bootstrap():
    return [s.strip() for s in BOOTSTRAP.split(",") if s.strip()]


def _end_offsets(topic):
    """{partition: end offset} for every partition of the topic."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=_bootstrap(), enable_auto_commit=False,
                             request_timeout_ms=KAFKA_TIMEOUT_S * 1000)
    try:
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            raise RuntimeError(f"Topic {topic} has no partitions at {BOOTSTRAP}; run create_kafka_topics first.")
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        return {tp.partition: off for tp, off in consumer.end_offsets(tps).items()}
    finally:
        consumer.close()


def _spark_offsets(topic, offsets):
    """Spark's startingOffsets/endingOffsets JSON: {"topic": {"0": 12, ...}}."""
    return json.dumps({topic: {str(p): o for p, o in sorted(offsets.items())}})


def create_kafka_topics():
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(bootstrap_servers=_bootstrap(), client_id="datapipeline-airflow",
                             request_timeout_ms=KAFKA_TIMEOUT_S * 1000)
    try:
        existing = set(admin.list_topics())
        for topic in (INPUT_TOPIC, OUTPUT_TOPIC):
            if topic in existing:
                print(f"Topic {topic} already exists")
                continue
            try:
                admin.create_topics([NewTopic(name=topic, num_partitions=PARTITIONS, replication_factor=1)])
                print(f"Created topic {topic} ({PARTITIONS} partitions, replication factor 1)")
            except TopicAlreadyExistsError:
                print(f"Topic {topic} already exists")
    finally:
        admin.close()


def _kafka_range(topic, role, start, end, task=None):
    """One entry of the "datapipeline_kafka" XCom: an exact offset range a task read or wrote."""
    entry = {"topic": topic, "role": role, "start": {str(p): o for p, o in sorted(start.items())},
             "end": {str(p): o for p, o in sorted(end.items())}}
    if task:
        entry["task"] = task
    return entry


def produce_sample_data(ti, run_id, **_):
    from kafka import KafkaProducer

    output_before = _end_offsets(OUTPUT_TOPIC)
    input_before = _end_offsets(INPUT_TOPIC)
    producer = KafkaProducer(bootstrap_servers=_bootstrap(),
                             value_serializer=lambda v: json.dumps(v).encode("utf-8"),
                             request_timeout_ms=KAFKA_TIMEOUT_S * 1000)
    try:
        for person in SAMPLE_PEOPLE:
            record = dict(person, run_id=run_id)
            meta = producer.send(INPUT_TOPIC, record, headers=[("run_id", run_id.encode("utf-8"))])
            md = meta.get(timeout=KAFKA_TIMEOUT_S)
            print(f"Produced {json.dumps(record)} to {md.topic}[{md.partition}]@{md.offset}")
        producer.flush()
    finally:
        producer.close()
    input_after = _end_offsets(INPUT_TOPIC)
    print(f"Produced {len(SAMPLE_PEOPLE)} records to {INPUT_TOPIC}")
    ti.xcom_push(key="spark_starting_offsets", value=_spark_offsets(INPUT_TOPIC, input_before))
    ti.xcom_push(key="spark_ending_offsets", value=_spark_offsets(INPUT_TOPIC, input_after))
    ti.xcom_push(key="output_start_offsets", value=json.dumps({str(p): o for p, o in output_before.items()}))
    # this task wrote the range; the Spark task reads exactly it (KAFKA_STARTING/ENDING_OFFSETS)
    ti.xcom_push(key="datapipeline_kafka", value=json.dumps([
        _kafka_range(INPUT_TOPIC, "write", input_before, input_after),
        _kafka_range(INPUT_TOPIC, "read", input_before, input_after, task="process_kafka_with_spark"),
    ]))


def consume_output_topic(ti, run_id, **_):
    from kafka import KafkaConsumer, TopicPartition

    raw = ti.xcom_pull(task_ids="produce_sample_data", key="output_start_offsets")
    start = {int(p): o for p, o in json.loads(raw).items()} if raw else {}
    end = _end_offsets(OUTPUT_TOPIC)
    consumer = KafkaConsumer(bootstrap_servers=_bootstrap(), enable_auto_commit=False,
                             request_timeout_ms=KAFKA_TIMEOUT_S * 1000)
    records = []
    try:
        for partition, end_offset in sorted(end.items()):
            begin = start.get(partition, 0)
            if begin >= end_offset:
                continue
            tp = TopicPartition(OUTPUT_TOPIC, partition)
            consumer.assign([tp])
            consumer.seek(tp, begin)
            while consumer.position(tp) < end_offset:
                batch = consumer.poll(timeout_ms=5000).get(tp, [])
                if not batch:
                    raise RuntimeError(f"Timed out reading {OUTPUT_TOPIC}[{partition}] at {consumer.position(tp)} (end {end_offset}).")
                for msg in batch:
                    if msg.offset < end_offset:
                        records.append((partition, msg.offset, msg.value.decode("utf-8", "replace")))
    finally:
        consumer.close()
    for partition, offset, value in records:
        print(f"{OUTPUT_TOPIC}[{partition}]@{offset}: {value}")
    print(f"Total records in {OUTPUT_TOPIC} for run {run_id}: {len(records)}")
    ti.xcom_push(key="output_offsets", value=json.dumps({
        "topic": OUTPUT_TOPIC,
        "start": {str(p): start.get(p, 0) for p in end},
        "end": {str(p): o for p, o in end.items()},
    }))
    # what the Spark task wrote since produce_sample_data looked (one run at a time), read here
    written = {p: start.get(p, 0) for p in end}
    ti.xcom_push(key="datapipeline_kafka", value=json.dumps([
        _kafka_range(OUTPUT_TOPIC, "write", written, end, task="process_kafka_with_spark"),
        _kafka_range(OUTPUT_TOPIC, "read", written, end),
    ]))
    return len(records)


with DAG(
    dag_id="kafka_spark_pipeline",
    description="Produce people to Kafka, keep the adults with Spark, write them back to Kafka",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 0, "retry_delay": timedelta(seconds=10)},
    tags=["kafka", "spark", "streaming"],
) as dag:
    create_topics = PythonOperator(task_id="create_kafka_topics", python_callable=create_kafka_topics)
    produce = PythonOperator(task_id="produce_sample_data", python_callable=produce_sample_data, outlets=[INPUT_ASSET])
    process = SparkSubmitOperator(
        task_id="process_kafka_with_spark",
        conn_id="spark_cluster",
        application=os.path.join(SCRIPTS_DIR, "kafka_spark_job.py"),
        name="kafka_spark_pipeline",
        # Connector jars installed with the stack (nothing downloaded per submit); else Maven.
        jars=KAFKA_JARS or None,
        packages=None if KAFKA_JARS else KAFKA_PACKAGE,
        env_vars={
            "KAFKA_BOOTSTRAP_SERVERS": BOOTSTRAP,
            "INPUT_TOPIC": INPUT_TOPIC,
            "OUTPUT_TOPIC": OUTPUT_TOPIC,
            "KAFKA_STARTING_OFFSETS": "{{ ti.xcom_pull(task_ids='produce_sample_data', key='spark_starting_offsets') }}",
            "KAFKA_ENDING_OFFSETS": "{{ ti.xcom_pull(task_ids='produce_sample_data', key='spark_ending_offsets') }}",
            "DATAPIPELINE_RUN_ID": "{{ run_id }}",
        },
        verbose=False,
        outlets=[OUTPUT_ASSET],
    )
    consume = PythonOperator(task_id="consume_output_topic", python_callable=consume_output_topic)

    create_topics >> produce >> process >> consume
