"""Hello World on the Spark cluster: a four-row DataFrame, a banner and df.show().

Run by the hello_spark_cluster DAG and by "Submit Spark Job". The master comes from
spark-submit's --master when given, else SPARK_MASTER_URL (compose default).
"""
import os

from pyspark.sql import SparkSession


def master_from_environment():
    """SPARK_MASTER_URL, unless spark-submit launched us: then its --master wins."""
    if os.environ.get("PYSPARK_GATEWAY_PORT"):
        return None
    return os.environ.get("SPARK_MASTER_URL", "spark://spark-master:7077")


def main() -> None:
    builder = SparkSession.builder.appName("HelloSparkCluster")
    master = master_from_environment()
    if master:
        builder = builder.master(master)
    spark = builder.getOrCreate()
    try:
        df = spark.createDataFrame(
            [("Hello", 1), ("World", 2), ("from", 3), ("Spark", 4)],
            ["word", "count"],
        )
        print("=" * 40)
        print("HELLO WORLD FROM SPARK CLUSTER")
        print("=" * 40)
        df.show()
        print(f"Total rows: {df.count()}")
    finally:
        spark.stop()


if __name__ == "__main__":
    main()
