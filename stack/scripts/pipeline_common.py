"""What the batch and streaming Kafka jobs share: endpoints, the people schema, the adults
transformation and the Kafka record shape. spark-submit puts the job's folder first on the
driver's sys.path, so `import pipeline_common` works in both backends (no UDFs: executors never
import it).
"""
import argparse
import os

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.functions import col, concat, from_json, lit, struct, to_json
from pyspark.sql.types import IntegerType, StringType, StructField, StructType

SCHEMA = StructType(
    [
        StructField("name", StringType()),
        StructField("age", IntegerType()),
        StructField("city", StringType()),
    ]
)


def master_from_environment():
    """SPARK_MASTER_URL, unless spark-submit launched us: then its --master wins."""
    if os.environ.get("PYSPARK_GATEWAY_PORT"):
        return None
    return os.environ.get("SPARK_MASTER_URL", "spark://spark-master:7077")


def spark_session(app_name: str) -> SparkSession:
    # Under spark-submit the name it was given stands (Airflow tags it with the DAG, task and run,
    # which DataPipeline reads back from the master; without --name it is the script's file name):
    # appName() here would replace it. Run directly, the job names itself.
    builder = SparkSession.builder
    if not os.environ.get("PYSPARK_GATEWAY_PORT"):
        builder = builder.appName(app_name)
    master = master_from_environment()
    if master:
        builder = builder.master(master)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark


def parse_args(argv, description: str):
    """Endpoints from the environment; program arguments (e.g. from Submit Spark Job) override them."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--bootstrap-servers", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "broker:19092"))
    parser.add_argument("--input-topic", default=os.environ.get("INPUT_TOPIC", "input-topic"))
    parser.add_argument("--output-topic", default=os.environ.get("OUTPUT_TOPIC", "output-topic"))
    parser.add_argument(
        "--compression-type",
        default=os.environ.get("KAFKA_COMPRESSION_TYPE", "none"),
        choices=["none", "gzip", "snappy", "lz4", "zstd"],
        help="compression.type of the records written to the output topic",
    )
    return parser.parse_args(argv)


def kafka_sink_options(args) -> dict:
    """Options of the Kafka sink: the brokers, and the producer's compression.type."""
    return {"kafka.bootstrap.servers": args.bootstrap_servers, "kafka.compression.type": args.compression_type}


def parse_people(kafka_rows: DataFrame) -> DataFrame:
    """Kafka rows -> (name, age, city), dropping values that are not such JSON."""
    return (
        kafka_rows.select(from_json(col("value").cast("string"), SCHEMA).alias("p"))
        .select("p.*")
        .where(col("name").isNotNull())
    )


def adults_with_message(people: DataFrame) -> DataFrame:
    """Keeps age >= 18 and adds "<name> from <city> is an adult", built with concat: the original
    stack used + on strings, which Spark treats as numeric addition and yields null."""
    return people.where(col("age") >= 18).withColumn(
        "message", concat(col("name"), lit(" from "), col("city"), lit(" is an adult"))
    )


def as_kafka_records(adults: DataFrame) -> DataFrame:
    """key = name, value = the row as JSON."""
    return adults.select(
        col("name").alias("key"),
        to_json(struct("name", "age", "city", "message")).alias("value"),
    )


PROGRESS_FILE = "datapipeline-progress.jsonl"
PROGRESS_KEEP = 200


def record_progress(spark: SparkSession, checkpoint: str) -> None:
    """Appends each micro-batch's progress (rows/s in and processed, batch duration, the Kafka offsets
    it reached) to <checkpoint>/datapipeline-progress.jsonl, with the application id, so DataPipeline
    can show the query's lag under its application and beside its topics. Spark's Kafka source
    commits no consumer-group offsets, so no Kafka tool can show this lag otherwise."""
    import json
    from pyspark.sql.streaming import StreamingQueryListener

    path = os.path.join(checkpoint, PROGRESS_FILE)
    app_id = spark.sparkContext.applicationId

    class ProgressFile(StreamingQueryListener):
        def onQueryStarted(self, event):
            pass

        def onQueryProgress(self, event):
            line = json.dumps({"appId": app_id, **json.loads(event.progress.json)})
            try:
                os.makedirs(checkpoint, exist_ok=True)
                lines = []
                if os.path.exists(path):
                    with open(path, encoding="utf-8") as f:
                        lines = f.read().splitlines()[-(PROGRESS_KEEP - 1):]
                tmp = f"{path}.tmp"
                with open(tmp, "w", encoding="utf-8") as f:
                    f.write("\n".join([*lines, line]) + "\n")
                os.replace(tmp, path)  # readers never see half a line
            except OSError as e:
                print(f"DataPipeline: could not record the query progress in {path}: {e}")

        def onQueryIdle(self, event):
            pass

        def onQueryTerminated(self, event):
            pass

    spark.streams.addListener(ProgressFile())

