#!/usr/bin/env bash
# connector-extras SRC PYSPARK_JARS DEST: copies the jars of SRC (Spark's Kafka connector and its
# dependencies) whose artifact Spark does not already ship in PYSPARK_JARS into DEST: the same
# artifact in another version would clash on the classpath. (The native stack does the same in
# src/services/stack/native/config.ts, connectorExtras.)
set -euo pipefail
src="$1" have="$2" dest="$3"
mkdir -p "$dest"
for jar in "$src"/*.jar; do
  base="$(basename "$jar" .jar)"
  artifact="${base%-[0-9]*}"
  if compgen -G "$have/$artifact-[0-9]*.jar" >/dev/null; then continue; fi
  cp "$jar" "$dest/"
done
ls "$dest"
