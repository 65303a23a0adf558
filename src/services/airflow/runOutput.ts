/**
 * Everything the output viewer shows for one run of the streaming DAG: the run and its tasks with
 * durations, the messages the run wrote (the output-topic offset range consume_output_topic pushed to
 * XCom, read back from Kafka into a store the panel pages), and the Spark application id from the Spark task's log.
 */
import type { AirflowClient } from './client';
import type { KafkaService } from '../kafka/kafkaClient';
import { formatSeconds, spanSeconds } from './dagsModel';
import { emptyOutput, readOutputRange, type OutputMessages } from './outputReader';
import { parseAppId } from '../spark/driverOutput';
import { orderTasks, OutputRange, parseOutputRange, STREAMING_TASK_ORDER, summarizeTasks } from './streamingRun';
import { traceRun, type TraceSources } from './runTrace';
import type { RunTrace } from './runTrace';
import { errorMessage } from '../util/errors';

/** A task of the run as the output viewer lists it. */
export interface RunSummaryTask {
  taskId: string;
  state?: string;
  tryNumber: number;
  /** "12s", "1m 05s" or "" */
  duration: string;
}

/** A run as the output viewer shows it: its tasks, the messages it wrote (counted; paged separately), its trace. */
export interface RunSummary {
  dagId: string;
  runId: string;
  runState: string;
  /** "1m 05s" */
  runDuration: string;
  topic: string;
  tasks: RunSummaryTask[];
  /** how many of the run's messages the host holds (the table pages them) */
  total: number;
  /** the messages' JSON fields, as table columns (empty: show key and value) */
  columns: string[];
  /** bumps on each load; pages of an older load are dropped */
  version: number;
  /** why there are no records, a problem reading them, or that only the first N are held */
  note?: string;
  sparkAppId?: string;
  /** the connection the run was read from ("Local stack", "Team prod · read-only") */
  connection?: string;
  /** the run traced: task tries on a timeline, the Spark applications it started, the Kafka ranges it read and wrote */
  trace?: RunTrace;
}

/** What the output viewer shows for a run: the summary the page draws, and the messages it pages. */
export interface RunOutput {
  data: RunSummary;
  messages: OutputMessages;
}

export const OUTPUT_TASK_ID = 'consume_output_topic';
export const OUTPUT_XCOM_KEY = 'output_offsets';
export const SPARK_TASK_ID = 'process_kafka_with_spark';

export type RangeReader = (range: OutputRange) => Promise<OutputMessages>;

export function kafkaRangeReader(service: KafkaService): RangeReader {
  return (range) => readOutputRange(range, { service });
}

export async function collectRunOutput(
  client: AirflowClient,
  readRange: RangeReader,
  dagId: string,
  runId: string,
  defaultTopic = 'output-topic',
  version = 1,
  sources: TraceSources = {},
): Promise<RunOutput> {
  const [run, tis] = await Promise.all([client.getDagRun(dagId, runId), client.listTaskInstances(dagId, runId)]);
  // the trace (tries, Kafka ranges, Spark applications) is read while the output is
  const tracing = traceRun(client, run, tis, { order: STREAMING_TASK_ORDER, ...sources });
  tracing.catch(() => undefined); // awaited below; a failure of the output part first must not leave it unhandled
  const tasks = orderTasks(tis);
  const runSecs = spanSeconds(run.startDate, run.endDate);
  const data: RunSummary = {
    dagId,
    runId,
    runState: run.state,
    runDuration: runSecs !== undefined ? formatSeconds(runSecs) : '',
    topic: defaultTopic,
    tasks: summarizeTasks(tasks).map((t) => ({ ...t, duration: t.durationSeconds !== undefined ? formatSeconds(t.durationSeconds) : '' })),
    total: 0,
    columns: [],
    version,
  };
  let messages = emptyOutput(defaultTopic);
  const outputTask = tasks.find((t) => t.taskId === OUTPUT_TASK_ID);
  if (!outputTask) {
    // a DAG without the streaming DAG's output task: the run view shows its trace only
    data.topic = '';
  } else if (outputTask.state !== 'success') {
    data.note = `No output yet: ${OUTPUT_TASK_ID} is ${outputTask?.state ?? 'not scheduled'} in this run.`;
  } else {
    const range = parseOutputRange(await client.getXcom(dagId, runId, OUTPUT_TASK_ID, OUTPUT_XCOM_KEY));
    if (!range) {
      data.note = `This run did not record which ${defaultTopic} offsets it wrote (XCom "${OUTPUT_XCOM_KEY}" of ${OUTPUT_TASK_ID}); the DAG file may be older than the bundled one.`;
    } else {
      data.topic = range.topic;
      try {
        messages = await readRange(range);
        data.total = messages.count;
        data.columns = messages.columns();
        data.note = messages.count ? messages.note : `The run wrote no messages to ${range.topic}.`;
      } catch (err) {
        data.note = `Could not read ${range.topic}: ${errorMessage(err)}`;
      }
    }
  }
  const trace = await tracing;
  data.trace = trace;
  // the application tagged with this run and task; else (a DAG file without the tags) the id its log names
  const spark = tasks.find((t) => t.taskId === SPARK_TASK_ID);
  const tagged = trace.spark.find((a) => a.taskId === SPARK_TASK_ID);
  if (tagged) data.sparkAppId = tagged.appId;
  else if (spark && spark.tryNumber > 0) {
    try {
      const log = await client.getTaskLog({ dagId, runId, taskId: SPARK_TASK_ID }, spark.tryNumber);
      data.sparkAppId = parseAppId(log.text);
    } catch {
      data.sparkAppId = undefined;
    }
  }
  return { data, messages };
}
