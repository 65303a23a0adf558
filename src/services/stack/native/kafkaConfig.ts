/** The native Kafka broker's files: server.properties of each broker of a KRaft cluster, log4j2, cluster id. Pure. */
import * as path from 'node:path';
import { HOST } from '../catalog';
import type { NativeLayout } from './layout';
import { brokerPorts, type NativePorts } from './ports';

/**
 * server.properties of broker `index` (0-based) of a cluster of `brokers`: each broker is also a
 * controller (a quorum of 1 or 3); with 3, internal topics and new topics get replication factor 3
 * and the transaction log needs 2 in sync, so one broker may stop without stopping the cluster.
 */
export function kafkaServerProperties(ports: NativePorts, dataDir: string, cluster: { index: number; brokers: number } = { index: 0, brokers: 1 }): string {
  const me = brokerPorts(ports, cluster.index);
  const voters = Array.from({ length: cluster.brokers }, (_, i) => `${i + 1}@${HOST}:${brokerPorts(ports, i).controller}`).join(',');
  const rf = cluster.brokers >= 3 ? 3 : 1;
  const minIsr = cluster.brokers >= 3 ? 2 : 1;
  return [
    `# Rendered by the DataPipeline native stack backend. KRaft, broker ${cluster.index + 1} of ${cluster.brokers} (broker + controller).`,
    'process.roles=broker,controller',
    `node.id=${cluster.index + 1}`,
    `controller.quorum.voters=${voters}`,
    `listeners=PLAINTEXT://${HOST}:${me.kafka},CONTROLLER://${HOST}:${me.controller}`,
    `advertised.listeners=PLAINTEXT://${HOST}:${me.kafka}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${dataDir}`,
    'num.partitions=3',
    `default.replication.factor=${rf}`,
    `offsets.topic.replication.factor=${rf}`,
    `transaction.state.log.replication.factor=${rf}`,
    `transaction.state.log.min.isr=${minIsr}`,
    `share.coordinator.state.topic.replication.factor=${rf}`,
    `share.coordinator.state.topic.min.isr=${minIsr}`,
    'group.initial.rebalance.delay.ms=0',
    'auto.create.topics.enable=true',
    'log.retention.hours=168',
    '',
  ].join('\n');
}

/** Where broker `index` keeps its data: the single broker in kafka/data, a 3-broker cluster apart in kafka/cluster-3/broker-N. */
export function kafkaDataDir(l: NativeLayout, index: number, brokers: number): string {
  return brokers === 1 ? l.kafkaData : path.join(l.kafkaDir, `cluster-${brokers}`, `broker-${index + 1}`);
}

export function kafkaLog4j2(): string {
  return [
    'status = warn',
    'appender.console.type = Console',
    'appender.console.name = STDOUT',
    'appender.console.layout.type = PatternLayout',
    'appender.console.layout.pattern = [%d] %p %m (%c)%n',
    'rootLogger.level = INFO',
    'rootLogger.appenderRef.stdout.ref = STDOUT',
    'logger.kafka.name = kafka',
    'logger.kafka.level = INFO',
    'logger.apache.name = org.apache.kafka',
    'logger.apache.level = WARN',
    'logger.statechange.name = state.change.logger',
    'logger.statechange.level = WARN',
    '',
  ].join('\n');
}

/** A Kafka cluster id: 16 random bytes, base64url without padding (what kafka-storage random-uuid prints). */
export function kafkaClusterId(random: Buffer): string {
  if (random.length !== 16) throw new Error('need 16 bytes');
  // never starting with "-" (Kafka's own Uuid does the same): a tool would take `-t -xyz` for an option
  const bytes = Buffer.from(random);
  bytes[0] &= 0x7f;
  return bytes.toString('base64url');
}

