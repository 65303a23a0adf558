/**
 * Checks run before anything is sent to the broker, with messages that say what is wrong and
 * what to do. Mirrors Kafka's own rules (org.apache.kafka.common.internals.Topic).
 */

export class ValidationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ValidationError';
  }
}

export const MAX_TOPIC_NAME_LENGTH = 249;
export const MAX_PARTITIONS = 10_000;

/** Returns an error message, or undefined when the name is valid. */
export function topicNameError(name: string): string | undefined {
  if (name.length === 0) return 'Topic name is empty. Enter a name such as "orders".';
  if (name === '.' || name === '..') return `Topic name "${name}" is not allowed. Use letters, digits, ".", "_" or "-".`;
  if (name.length > MAX_TOPIC_NAME_LENGTH)
    return `Topic name is ${name.length} characters long; Kafka allows at most ${MAX_TOPIC_NAME_LENGTH}. Shorten it.`;
  const bad = name.match(/[^a-zA-Z0-9._-]/);
  if (bad)
    return `Topic name contains "${bad[0]}", which Kafka does not allow. Use only letters, digits, ".", "_" and "-".`;
  return undefined;
}

/** Kafka warns that "." and "_" collide in metric names. */
export function topicNameCollisionWarning(name: string, existing: string[]): string | undefined {
  const norm = (s: string) => s.replace(/\./g, '_');
  const other = existing.find((t) => t !== name && norm(t) === norm(name));
  return other ? `"${name}" collides with existing topic "${other}" (Kafka treats "." and "_" alike in metrics).` : undefined;
}

export function parsePositiveInt(raw: string | number, what: string, min: number, max: number): number {
  const s = String(raw).trim();
  if (!/^\d+$/.test(s)) throw new ValidationError(`${what} must be a whole number from ${min} to ${max}; got "${s}".`);
  const n = Number(s);
  if (n < min || n > max) throw new ValidationError(`${what} must be from ${min} to ${max}; got ${n}.`);
  return n;
}

export function partitionsError(raw: string | number): string | undefined {
  try {
    parsePositiveInt(raw, 'Partition count', 1, MAX_PARTITIONS);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

export function replicationFactorError(raw: string | number, brokerCount: number): string | undefined {
  try {
    parsePositiveInt(raw, 'Replication factor', 1, Math.max(1, brokerCount));
    return undefined;
  } catch (e) {
    return `${(e as Error).message}${brokerCount <= 1 ? ' The local stack has one broker, so use 1.' : ''}`;
  }
}

/** Topic configs offered by Create Topic, with their checks. */
const CONFIG_RULES: Record<string, (v: string) => string | undefined> = {
  'retention.ms': (v) => (/^(-1|\d+)$/.test(v) ? undefined : 'retention.ms must be -1 (forever) or a number of milliseconds.'),
  'retention.bytes': (v) => (/^(-1|\d+)$/.test(v) ? undefined : 'retention.bytes must be -1 (no limit) or a number of bytes.'),
  'cleanup.policy': (v) =>
    /^(delete|compact|delete,compact|compact,delete)$/.test(v)
      ? undefined
      : 'cleanup.policy must be "delete", "compact" or "delete,compact".',
  'max.message.bytes': (v) =>
    /^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 2147483647 ? undefined : 'max.message.bytes must be a positive number of bytes.',
  'min.insync.replicas': (v) => (/^\d+$/.test(v) && Number(v) >= 1 ? undefined : 'min.insync.replicas must be 1 or more.'),
  'segment.bytes': (v) => (/^\d+$/.test(v) && Number(v) >= 14 ? undefined : 'segment.bytes must be a number of bytes (at least 14).'),
  // replaying old or future-dated data: Kafka 4 refuses timestamps more than an hour ahead by default
  'message.timestamp.type': (v) => (/^(CreateTime|LogAppendTime)$/.test(v) ? undefined : 'message.timestamp.type must be CreateTime or LogAppendTime.'),
  'message.timestamp.before.max.ms': (v) => (/^\d+$/.test(v) ? undefined : 'message.timestamp.before.max.ms must be a number of milliseconds.'),
  'message.timestamp.after.max.ms': (v) => (/^\d+$/.test(v) ? undefined : 'message.timestamp.after.max.ms must be a number of milliseconds.'),
  'compression.type': (v) =>
    /^(uncompressed|zstd|lz4|snappy|gzip|producer)$/.test(v) ? undefined : 'compression.type must be one of uncompressed, zstd, lz4, snappy, gzip, producer.',
};

export const KNOWN_TOPIC_CONFIGS = Object.keys(CONFIG_RULES);

export function topicConfigError(name: string, value: string): string | undefined {
  const rule = CONFIG_RULES[name];
  if (!rule) return `Unknown topic config "${name}". Supported here: ${KNOWN_TOPIC_CONFIGS.join(', ')}.`;
  return rule(value.trim());
}

export interface CreateTopicRequest {
  topic: string;
  numPartitions: number;
  replicationFactor: number;
  configs: Record<string, string>;
}

/** Validate a whole Create Topic request; throws ValidationError with the first problem. */
export function validateCreateTopic(
  req: { topic: string; numPartitions: string | number; replicationFactor?: string | number; configs?: Record<string, string> },
  brokerCount = 1,
): CreateTopicRequest {
  const nameErr = topicNameError(req.topic);
  if (nameErr) throw new ValidationError(nameErr);
  const pErr = partitionsError(req.numPartitions);
  if (pErr) throw new ValidationError(pErr);
  const rf = req.replicationFactor ?? 1;
  const rErr = replicationFactorError(rf, brokerCount);
  if (rErr) throw new ValidationError(rErr);
  const configs: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.configs ?? {})) {
    const e = topicConfigError(k, String(v));
    if (e) throw new ValidationError(e);
    configs[k] = String(v).trim();
  }
  return { topic: req.topic, numPartitions: Number(req.numPartitions), replicationFactor: Number(rf), configs };
}

/** "k=v, k2=v2" or one per line → headers. */
export function parseHeaders(raw: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of raw.split(/[\n,]/)) {
    const p = part.trim();
    if (!p) continue;
    const eq = p.indexOf('=');
    if (eq <= 0) throw new ValidationError(`Header "${p}" must look like name=value.`);
    out[p.slice(0, eq).trim()] = p.slice(eq + 1).trim();
  }
  return out;
}

export interface ProduceRecord {
  key?: string | null;
  value: string | null;
  headers?: Record<string, string>;
  partition?: number;
}

/**
 * A JSON file for Produce Message: an array of either plain values or
 * objects { key?, value, headers?, partition? } (value may be any JSON; non-strings are stringified).
 */
export function parseProduceFile(text: string): ProduceRecord[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new ValidationError(`The file is not valid JSON (${(e as Error).message}). It must hold an array of messages.`);
  }
  if (!Array.isArray(data)) throw new ValidationError('The file must hold a JSON array of messages, e.g. [{"key":"k","value":{...}}].');
  return data.map((item, i) => {
    const isRecord =
      item !== null && typeof item === 'object' && !Array.isArray(item) && 'value' in (item as Record<string, unknown>);
    if (!isRecord) return { value: typeof item === 'string' ? item : JSON.stringify(item) };
    const o = item as Record<string, unknown>;
    const headers: Record<string, string> = {};
    if (o.headers !== undefined) {
      if (o.headers === null || typeof o.headers !== 'object' || Array.isArray(o.headers))
        throw new ValidationError(`Message ${i}: "headers" must be an object of name → string.`);
      for (const [k, v] of Object.entries(o.headers as Record<string, unknown>)) headers[k] = typeof v === 'string' ? v : JSON.stringify(v);
    }
    if (o.partition !== undefined && o.partition !== null && (!Number.isInteger(o.partition) || (o.partition as number) < 0))
      throw new ValidationError(`Message ${i}: "partition" must be a non-negative integer, or null to let the key choose.`);
    return {
      key: o.key === undefined || o.key === null ? null : typeof o.key === 'string' ? o.key : JSON.stringify(o.key),
      value: o.value === null ? null : typeof o.value === 'string' ? o.value : JSON.stringify(o.value),
      headers,
      partition: o.partition === null ? undefined : (o.partition as number | undefined),
    };
  });
}

/** Values that look like JSON (start with { [ or ") must parse; anything else is sent as text. */
export function produceValueError(text: string): string | undefined {
  const t = text.trim();
  if (!/^[[{"]/.test(t)) return undefined;
  try {
    JSON.parse(t);
    return undefined;
  } catch (e) {
    return `This looks like JSON but does not parse: ${(e as Error).message}. Fix it, or remove the leading "${t[0]}" to send plain text.`;
  }
}

export function copiesError(raw: string): string | undefined {
  return /^\d+$/.test(raw.trim()) && Number(raw) >= 1 && Number(raw) <= 1_000_000 ? undefined : 'Enter how many copies to send: a whole number from 1 to 1000000.';
}
