#!/usr/bin/env bash
# Kafka broker entrypoint: renders server.properties from the KAFKA_* variables (KAFKA_NODE_ID=1 →
# node.id=1, KAFKA_LOG_DIRS → log.dirs), formats the KRaft storage on the first start (CLUSTER_ID),
# then runs the broker in the foreground.
set -euo pipefail
props=/tmp/server.properties
: >"$props"
while IFS='=' read -r name value; do
  case "$name" in
    KAFKA_HEAP_OPTS | KAFKA_OPTS | KAFKA_VERSION) continue ;;
    KAFKA_*) printf '%s=%s\n' "$(printf '%s' "${name#KAFKA_}" | tr '[:upper:]_' '[:lower:].')" "$value" >>"$props" ;;
  esac
done < <(env)
cp='/opt/kafka/libs/*'
log4j=(-Dlog4j2.configurationFile=/opt/kafka/log4j2.properties)
java -Xmx256m "${log4j[@]}" -cp "$cp" kafka.tools.StorageTool format -t "${CLUSTER_ID:?CLUSTER_ID is not set}" -c "$props" --ignore-formatted
# shellcheck disable=SC2086
exec java $KAFKA_HEAP_OPTS -XX:+UseG1GC -Djava.awt.headless=true "${log4j[@]}" -cp "$cp" kafka.Kafka "$props"
