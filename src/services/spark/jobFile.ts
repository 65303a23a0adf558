/** Where a Python file starts a Spark job, for the CodeLens above it (a heuristic on the text). No `vscode` import. */
import { lineOf } from '../airflow/dagFile';

const SESSION = /SparkSession\s*\.\s*builder|SparkContext\s*\(|spark_session\s*\(/;

/**
 * The line a Spark job starts its session on (undefined when the file is not a job). A job starts a
 * session at top level, or has a `__main__` block; a module that only defines helpers (the stack's
 * pipeline_common.py) is not one, nor is a DAG file.
 */
export function sparkJobLine(text: string): number | undefined {
  if (!/\bpyspark\b|\bSparkSession\b|\bspark_session\s*\(/.test(text) || /\bfrom\s+airflow\b|\bimport\s+airflow\b/.test(text)) return undefined;
  const topLevel = new RegExp(`^(?!def |class |\\s)[^\\n]*(${SESSION.source})`, 'm').exec(text);
  const main = /^if\s+__name__\s*==\s*["']__main__["']/m.test(text);
  if (!topLevel && !main) return undefined;
  const m = topLevel ?? SESSION.exec(text) ?? /^\s*(from|import)\s+pyspark/m.exec(text);
  return m ? lineOf(text, m.index) : undefined;
}
