/**
 * spark-submit (client mode) inside the Docker stack's spark-master container: the file mapped
 * through the service's bind mounts or copied in, the driver's pid noted so Cancel can stop it.
 */
import type Dockerode from 'dockerode';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execKillable, type ContainerSummary } from '../../docker/client';
import type { ComposeModel } from '../../docker/composeFile';
import { mapToContainerPath, parseComposeBindMounts } from '../../spark/containerPaths';
import { parseAppId } from '../../spark/driverOutput';
import { buildSparkSubmitArgv } from '../../spark/submitPlanner';
import type { Logger } from '../../util/logger';
import { StackError, type SparkSubmitIO, type SparkSubmitRequest, type SparkSubmitResult } from '../types';
import { tarFiles } from './tar';

const NO_SUBMIT_MARK = 'datapipeline: no spark-submit';

export interface SubmitContext {
  model: ComposeModel;
  client: Dockerode;
  log: Logger;
  /** the compose service exec'd into (default spark-master) and its newest container */
  sparkService?: string;
  container?: ContainerSummary;
  sparkSubmitPath?: string;
}

/**
 * spark-submit (client mode) inside the spark-master container: the file is mapped through the
 * service's bind mounts, or copied in when it lies outside them.
 */
export async function dockerSubmitSpark(req: SparkSubmitRequest, io: SparkSubmitIO, ctx: SubmitContext): Promise<SparkSubmitResult> {
  const { model, client, log } = ctx;
  const serviceName = ctx.sparkService ?? 'spark-master';
  const c = ctx.container;
  if (!c || c.state !== 'running') {
    throw new StackError(`${serviceName} is not running.`, { service: serviceName, nextStep: 'Start the stack, then submit again.' });
  }
  const mounts = parseComposeBindMounts(fs.readFileSync(model.file, 'utf8'), model.dir, serviceName, { ...model.env });
  const mapping = mapToContainerPath(req.file, mounts);
  if (mapping.kind === 'copy') {
    log.info(mapping.reason);
    // Extracted under /tmp (present in every image) so no existing folder's mode is touched.
    const archive = tarFiles([{ path: path.posix.relative('/tmp', mapping.containerPath), content: fs.readFileSync(req.file) }]);
    await client.getContainer(c.id).putArchive(archive, { path: '/tmp' });
  }
  const kafkaJars = (model.env.SPARK_KAFKA_JARS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  // the master by its service name on the compose network ("spark://spark:7077" when the user's file calls it spark)
  const masterUrl = model.env.SPARK_MASTER_URL || `spark://${serviceName}:7077`;
  // the bundled Spark image has the connector in its jars (SPARK_KAFKA_JARS is left empty for it)
  const builtIn = kafkaJars.length === 0 && !!model.services.find((s) => s.name === serviceName)?.built;
  const argv = buildSparkSubmitArgv(req, { masterUrl, file: mapping.containerPath, kafkaJars, kafkaConnectorBuiltIn: builtIn });
  let appId: string | undefined;
  const scan = (chunk: string) => {
    for (const line of chunk.split(/\r?\n/)) appId ??= parseAppId(line);
  };
  // the stack's image has it at /opt/spark/bin; a Spark image of the user's own (bitnami's, apache/spark) on its PATH or under SPARK_HOME
  const submit = ctx.sparkSubmitPath ?? '/opt/spark/bin/spark-submit';
  const find = `s="$0"; [ -x "$s" ] || s="$(command -v spark-submit)" || s="\${SPARK_HOME:-/opt/spark}/bin/spark-submit"; [ -x "$s" ] || { echo "${NO_SUBMIT_MARK}" >&2; exit 127; }`;
  const cmd = ['sh', '-c', `${find}; exec "$s" "$@"`, submit, ...argv];
  let noSubmit = false;
  // Cancel stops spark-submit in the container (execKillable knows its pid)
  const r = await execKillable(client, c.id, cmd, {
    onStdout: (s) => {
      scan(s);
      io.onStdout(s);
    },
    onStderr: (s) => {
      if (s.includes(NO_SUBMIT_MARK)) {
        noSubmit = true;
        return;
      }
      scan(s);
      io.onStderr(s);
    },
    signal: io.signal,
  });
  if (noSubmit) {
    throw new StackError(`${serviceName}'s container has no spark-submit (not at ${submit}, on its PATH, nor under its SPARK_HOME).`, {
      service: serviceName,
      nextStep: 'Submit from a service whose image has Spark, or run the project on DataPipeline\u2019s stack (setting datapipeline.project.stack: bundled).',
    });
  }
  return { exitCode: r.exitCode, appId };
}
