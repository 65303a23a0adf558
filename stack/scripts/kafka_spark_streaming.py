"""Structured Streaming variant of kafka_spark_job: INPUT_TOPIC -> adults -> OUTPUT_TOPIC.

readStream from Kafka, same parsing/filter/message as the batch job, writeStream to Kafka with
its checkpoint under DATAPIPELINE_CHECKPOINT_DIR (never /tmp, so a restart resumes where it
stopped). By default it processes what is available and stops (trigger availableNow); set
STREAMING_TIMEOUT_SECONDS > 0 to keep running that long with a micro-batch trigger instead.
Each micro-batch's progress goes to <checkpoint>/datapipeline-progress.jsonl (rows/s, batch
duration, the offsets reached, the application id): DataPipeline shows the query's lag from it.

Environment: KAFKA_BOOTSTRAP_SERVERS (default broker:19092), SPARK_MASTER_URL (used only when
not launched by spark-submit), INPUT_TOPIC, OUTPUT_TOPIC (or the program arguments
--bootstrap-servers, --input-topic, --output-topic), DATAPIPELINE_CHECKPOINT_DIR
(default /opt/checkpoints), STREAMING_TIMEOUT_SECONDS (default 0 = availableNow).
"""
import os
import sys

from pipeline_common import adults_with_message, as_kafka_records, kafka_sink_options, parse_args, parse_people, record_progress, spark_session


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv, __doc__.splitlines()[0])
    bootstrap, input_topic, output_topic = args.bootstrap_servers, args.input_topic, args.output_topic
    checkpoint_root = os.environ.get("DATAPIPELINE_CHECKPOINT_DIR", "/opt/checkpoints")
    checkpoint = os.path.join(checkpoint_root, f"kafka_spark_streaming-{input_topic}-{output_topic}")
    timeout = float(os.environ.get("STREAMING_TIMEOUT_SECONDS", "0") or 0)

    spark = spark_session("KafkaSparkStreaming")
    record_progress(spark, checkpoint)
    try:
        raw = (
            spark.readStream.format("kafka")
            .option("kafka.bootstrap.servers", bootstrap)
            .option("subscribe", input_topic)
            .option("startingOffsets", "earliest")
            .load()
        )
        writer = (
            as_kafka_records(adults_with_message(parse_people(raw)))
            .writeStream.format("kafka")
            .options(**kafka_sink_options(args))
            .option("topic", output_topic)
            .option("checkpointLocation", checkpoint)
            .queryName(f"adults {input_topic} -> {output_topic}")
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
