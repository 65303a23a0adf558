/**
 * Reading spark-submit driver output: splitting chunks into lines, flagging error lines (Python
 * tracebacks, JVM exceptions and stack frames, log4j ERROR lines) and finding the application id
 * and the driver UI URL.
 */

export type ErrorKind = 'traceback' | 'exception' | 'stackFrame' | 'log';

export interface DriverLine {
  text: string;
  stream: 'stdout' | 'stderr';
  /** set when the line belongs to an error report */
  error?: ErrorKind;
}

/** Splits a stream of chunks into complete lines (handles \r\n and lines split across chunks). */
export class LineSplitter {
  private rest = '';

  push(chunk: string): string[] {
    const text = this.rest + chunk;
    const parts = text.split(/\r?\n/);
    this.rest = parts.pop() ?? '';
    return parts;
  }

  /** The last line without a newline, if any. */
  flush(): string[] {
    const r = this.rest;
    this.rest = '';
    return r ? [r] : [];
  }
}

const TRACEBACK_START = /^Traceback \(most recent call last\):\s*$/;
const JAVA_FRAME = /^\s+at [\w$.<>/]+\(.*\)\s*$/;
const JAVA_MORE = /^\s+\.\.\. \d+ (more|common frames omitted)\s*$/;
const THREAD_EXCEPTION = /^Exception in thread "[^"]*" /;
const CAUSED_BY = /^(Caused by|Suppressed): /;
/** `org.apache.spark.SparkException: ...`, `pyspark.errors.exceptions.captured.AnalysisException: ...`, `ValueError: ...` */
const EXCEPTION_LINE = /^(?::\s*)?(?:[A-Za-z_][\w$]*\.)*[A-Za-z_][\w$]*(?:Exception|Error|Exit|Interrupt|Failure)(?::\s|:?$)/;
/** log4j default pattern of Spark 3.5: `24/11/25 18:00:00 ERROR SparkContext: ...` */
const LOG4J_ERROR = /^\d{2}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2} (ERROR|FATAL) /;

/**
 * Classifies lines one at a time; keeps state so that the indented frames and source lines of a
 * Python traceback are flagged along with its header and final exception line.
 */
export class ErrorLineDetector {
  private inTraceback = false;

  classify(line: string): ErrorKind | undefined {
    if (TRACEBACK_START.test(line)) {
      this.inTraceback = true;
      return 'traceback';
    }
    if (this.inTraceback) {
      if (/^\s/.test(line) || line.trim() === '') return 'traceback';
      // The first unindented line ends the traceback: the exception and its message. Chained
      // tracebacks ("During handling of the above exception...") keep the state going.
      if (/^(During handling|The above exception)/.test(line)) return 'traceback';
      this.inTraceback = false;
      return 'exception';
    }
    if (JAVA_FRAME.test(line) || JAVA_MORE.test(line)) return 'stackFrame';
    if (THREAD_EXCEPTION.test(line) || CAUSED_BY.test(line) || EXCEPTION_LINE.test(line)) return 'exception';
    if (LOG4J_ERROR.test(line)) return 'log';
    return undefined;
  }
}

const APP_ID_RE = /\bConnected to Spark cluster with app ID (app-\d{14}-\d{4,})\b/;
const ANY_APP_ID_RE = /\b(app-\d{14}-\d{4,})\b/;
const DRIVER_UI_RE = /\bBound SparkUI to [^,]+, and started at (https?:\/\/\S+)/;

/** The standalone application id announced by the driver, e.g. app-20261125183400-0000. */
export function parseAppId(line: string): string | undefined {
  return (APP_ID_RE.exec(line) ?? ANY_APP_ID_RE.exec(line))?.[1];
}

/** Every application id a driver announced in a text (a task's log): "Connected to Spark cluster with app ID app-…". */
export function announcedAppIds(text: string): string[] {
  return [...new Set([...text.matchAll(new RegExp(APP_ID_RE.source, 'g'))].map((m) => m[1]))];
}

/** The driver's own web UI (http://host:4040), announced once the SparkContext starts. */
export function parseDriverUiUrl(line: string): string | undefined {
  return DRIVER_UI_RE.exec(line)?.[1];
}

const LOG4J_LEVEL = /^\d{2}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2} (TRACE|DEBUG|INFO|WARN|ERROR|FATAL) /;

/**
 * The log4j level of a Spark log line (`24/11/25 18:00:00 INFO SparkContext: ...`), undefined for
 * the program's own output: the terminal dims Spark's chatter so the job's prints stand out.
 */
export function sparkLogLevel(line: string): 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'FATAL' | undefined {
  return LOG4J_LEVEL.exec(line)?.[1] as ReturnType<typeof sparkLogLevel>;
}
