/** The stack's scale, shared by both backends (native processes, compose services). No `vscode` import. */

/**
 * How many Kafka brokers and Spark workers the stack runs. Three brokers make a KRaft cluster
 * (each broker also a controller: a quorum of 3) where topics can have replication factor 3;
 * it keeps its data apart from the single broker's. Workers: 1 to 3.
 */
export interface StackScale {
  kafkaBrokers: 1 | 3;
  sparkWorkers: 1 | 2 | 3;
}
export const DEFAULT_SCALE: StackScale = { kafkaBrokers: 1, sparkWorkers: 1 };
export const MAX_SCALE: StackScale = { kafkaBrokers: 3, sparkWorkers: 3 };

/** Checks a scale from a setting, the CLI or a state file; throws with what is allowed. */
export function parseScale(v: { kafkaBrokers?: unknown; sparkWorkers?: unknown } | undefined): Partial<StackScale> {
  const out: Partial<StackScale> = {};
  if (v?.kafkaBrokers !== undefined) {
    const n = Number(v.kafkaBrokers);
    if (n !== 1 && n !== 3) throw new Error(`Kafka brokers must be 1 or 3 (a KRaft quorum needs an odd number), not "${String(v.kafkaBrokers)}".`);
    out.kafkaBrokers = n;
  }
  if (v?.sparkWorkers !== undefined) {
    const n = Number(v.sparkWorkers);
    if (n !== 1 && n !== 2 && n !== 3) throw new Error(`Spark workers must be 1, 2 or 3, not "${String(v.sparkWorkers)}".`);
    out.sparkWorkers = n;
  }
  return out;
}
