"""Batch Kafka -> Spark -> Kafka: keep the adults of INPUT_TOPIC and write them to OUTPUT_TOPIC.

Reads INPUT_TOPIC from the earliest offset, parses JSON {name: string, age: int, city: string},
keeps age >= 18, adds "message" = "<name> from <city> is an adult" (built with concat: the
original used + on strings, which Spark treats as numeric addition and yields null), writes the
rows as JSON values to OUTPUT_TOPIC and prints the input/output/filtered counts.

Environment: KAFKA_BOOTSTRAP_SERVERS (default broker:19092), SPARK_MASTER_URL (used only when
not launched by spark-submit, whose --master wins), INPUT_TOPIC, OUTPUT_TOPIC; the program
arguments --bootstrap-servers, --input-topic and --output-topic override them.
The Kafka connector comes from spark-submit --jars (SPARK_KAFKA_JARS) or --packages.
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

    builder = SparkSession.builder.appName("KafkaSparkPipeline")
    master = master_from_environment()
    if master:
        builder = builder.master(master)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    try:
        # The kafka_spark_pipeline DAG passes the offset range its produce task wrote (Spark's JSON
        # offsets), so each run processes only its own records; run by hand it reads everything.
        starting = os.environ.get("KAFKA_STARTING_OFFSETS") or "earliest"
        ending = os.environ.get("KAFKA_ENDING_OFFSETS") or "latest"
        print(f"Reading {input_topic} from {bootstrap} (offsets {starting} to {ending})")
        raw = (
            spark.read.format("kafka")
            .option("kafka.bootstrap.servers", bootstrap)
            .option("subscribe", input_topic)
            .option("startingOffsets", starting)
            .option("endingOffsets", ending)
            .load()
        )
        people = (
            raw.select(from_json(col("value").cast("string"), SCHEMA).alias("p"))
            .select("p.*")
            .where(col("name").isNotNull())
            .cache()
        )
        adults = people.where(col("age") >= 18).withColumn(
            "message", concat(col("name"), lit(" from "), col("city"), lit(" is an adult"))
        )
        input_count = people.count()
        output_count = adults.count()
        adults.show(truncate=False)

        (
            adults.select(
                col("name").alias("key"),
                to_json(struct("name", "age", "city", "message")).alias("value"),
            )
            .write.format("kafka")
            .option("kafka.bootstrap.servers", bootstrap)
            .option("topic", output_topic)
            .save()
        )
        print(f"Input records: {input_count}")
        print(f"Output records: {output_count}")
        print(f"Filtered out (age < 18): {input_count - output_count}")
        print(f"Wrote {output_count} records to {output_topic}")
        return 0
    finally:
        spark.stop()


if __name__ == "__main__":
    sys.exit(main())
