"""Batch Kafka -> Spark -> Kafka: keep the adults of INPUT_TOPIC and write them to OUTPUT_TOPIC.

Reads INPUT_TOPIC from the earliest offset, parses JSON {name: string, age: int, city: string},
keeps age >= 18, adds "message" = "<name> from <city> is an adult" (built with concat: the
original used + on strings, which Spark treats as numeric addition and yields null), writes the
rows as JSON values to OUTPUT_TOPIC and prints the input/output/filtered counts.

Environment: KAFKA_BOOTSTRAP_SERVERS (default broker:19092), SPARK_MASTER_URL (used only when
not launched by spark-submit, whose --master wins), INPUT_TOPIC, OUTPUT_TOPIC,
KAFKA_COMPRESSION_TYPE (none, gzip, snappy, lz4 or zstd; default none); the program arguments
--bootstrap-servers, --input-topic, --output-topic and --compression-type override them.
The Kafka connector comes from spark-submit --jars (SPARK_KAFKA_JARS) or --packages.
"""
import os
import sys

from pipeline_common import adults_with_message, as_kafka_records, kafka_sink_options, parse_args, parse_people, spark_session


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv, __doc__.splitlines()[0])
    bootstrap, input_topic, output_topic = args.bootstrap_servers, args.input_topic, args.output_topic
    spark = spark_session("KafkaSparkPipeline")
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
        people = parse_people(raw).cache()
        adults = adults_with_message(people)
        input_count = people.count()
        output_count = adults.count()
        adults.show(truncate=False)

        (
            as_kafka_records(adults)
            .write.format("kafka")
            .options(**kafka_sink_options(args))
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
