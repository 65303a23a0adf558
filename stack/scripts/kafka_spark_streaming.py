"""Structured Streaming variant of kafka_spark_job: INPUT_TOPIC -> adults -> OUTPUT_TOPIC.

readStream from Kafka, same parsing/filter/message as the batch job, writeStream to Kafka with
its checkpoint under DATAPIPELINE_CHECKPOINT_DIR (never /tmp, so a restart resumes where it
stopped). By default it processes what is available and stops (trigger availableNow); set
STREAMING_TIMEOUT_SECONDS > 0 to keep running that long with a micro-batch trigger instead.

Environment: KAFKA_BOOTSTRAP_SERVERS (default broker:19092), SPARK_MASTER_URL (used only when
not launched by spark-submit), INPUT_TOPIC, OUTPUT_TOPIC (or the program arguments
--bootstrap-servers, --input-topic, --output-topic), DATAPIPELINE_CHECKPOINT_DIR
(default /opt/checkpoints), STREAMING_TIMEOUT_SECONDS (default 0 = availableNow).
"""
import argparse
import os
import sys

from pyspark.sql import SparkSession
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


def parse_args(argv):
    """Endpoints from the environment; program arguments (e.g. from Submit Spark Job) override them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap-servers", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "broker:19092"))
    parser.add_argument("--input-topic", default=os.environ.get("INPUT_TOPIC", "input-topic"))
    parser.add_argument("--output-topic", default=os.environ.get("OUTPUT_TOPIC", "output-topic"))
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    bootstrap, input_topic, output_topic = args.bootstrap_servers, args.input_topic, args.output_topic
    checkpoint_root = os.environ.get("DATAPIPELINE_CHECKPOINT_DIR", "/opt/checkpoints")
    checkpoint = os.path.join(checkpoint_root, f"kafka_spark_streaming-{input_topic}-{output_topic}")
    timeout = float(os.environ.get("STREAMING_TIMEOUT_SECONDS", "0") or 0)

    builder = SparkSession.builder.appName("KafkaSparkStreaming")
    master = master_from_environment()
    if master:
        builder = builder.master(master)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    try:
        adults = (
            spark.readStream.format("kafka")
            .option("kafka.bootstrap.servers", bootstrap)
            .option("subscribe", input_topic)
            .option("startingOffsets", "earliest")
            .load()
            .select(from_json(col("value").cast("string"), SCHEMA).alias("p"))
            .select("p.*")
            .where(col("name").isNotNull() & (col("age") >= 18))
            .withColumn("message", concat(col("name"), lit(" from "), col("city"), lit(" is an adult")))
        )
        writer = (
            adults.select(
                col("name").alias("key"),
                to_json(struct("name", "age", "city", "message")).alias("value"),
            )
            .writeStream.format("kafka")
            .option("kafka.bootstrap.servers", bootstrap)
            .option("topic", output_topic)
            .option("checkpointLocation", checkpoint)
            .outputMode("append")
        )
        print(f"Streaming {input_topic} -> {output_topic} via {bootstrap}; checkpoint {checkpoint}")
        if timeout > 0:
            query = writer.trigger(processingTime="2 seconds").start()
            query.awaitTermination(timeout)
            query.stop()
        else:
            query = writer.trigger(availableNow=True).start()
            query.awaitTermination()
        progress = query.recentProgress or []
        rows = sum(int(p.get("numInputRows", 0)) for p in progress)
        print(f"Streaming query stopped after {len(progress)} micro-batches, {rows} input rows")
        return 0
    finally:
        spark.stop()


if __name__ == "__main__":
    sys.exit(main())
