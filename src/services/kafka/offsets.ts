/**
 * Where a browse starts and stops on each partition, from the user's choice and the partition
 * watermarks. Pure: the broker lookups (offsets by timestamp, a group's committed offsets) are
 * passed in, so the rules are unit-tested without a broker.
 */
import { ValidationError } from './validation';

export type StartSpec =
  | { mode: 'earliest' }
  | { mode: 'latest' }
  /** one offset for every partition, or per partition */
  | { mode: 'offset'; offset?: number; perPartition?: Record<number, number> }
  | { mode: 'timestamp'; timestamp: number }
  /** inclusive [from, to] in epoch ms */
  | { mode: 'window'; from: number; to: number }
  | { mode: 'group'; groupId: string }
  /** exactly [start, end) per partition (e.g. what one pipeline run wrote); partitions not named are not read */
  | { mode: 'range'; start: Record<number, number>; end: Record<number, number> };

export interface BrowseRequest {
  start: StartSpec;
  /** undefined = all partitions */
  partitions?: number[];
  /** keep reading new messages after catching up */
  follow: boolean;
}

export interface Watermark {
  partition: number;
  /** first available offset */
  low: number;
  /** next offset to be written (end) */
  high: number;
}

export interface PartitionPlan {
  partition: number;
  /** first offset to read */
  start: number;
  /** stop before this offset (undefined = follow forever) */
  end?: number;
  /** stop once a message's timestamp is after this (window mode) */
  untilTimestamp?: number;
}

export interface OffsetLookups {
  /** first offset with timestamp >= ts per partition (high watermark when none) */
  offsetsForTimestamp(ts: number): Promise<Map<number, number>>;
  /** the group's committed offsets per partition (-1 / missing = none) */
  groupOffsets(groupId: string): Promise<Map<number, number>>;
}

function fmtTime(ts: number): string {
  return new Date(ts).toISOString();
}

export async function planBrowse(
  req: BrowseRequest,
  watermarks: Watermark[],
  lookups: OffsetLookups,
  now: number = Date.now(),
): Promise<PartitionPlan[]> {
  const all = watermarks.map((w) => w.partition);
  for (const p of req.partitions ?? []) {
    if (!all.includes(p)) throw new ValidationError(`Partition ${p} does not exist; this topic has partitions ${all.join(', ')}.`);
  }
  const chosen = watermarks.filter((w) => !req.partitions || req.partitions.includes(w.partition));
  if (chosen.length === 0) throw new ValidationError('No partition selected. Pick at least one partition.');
  const end = (w: Watermark) => (req.follow ? undefined : w.high);
  const s = req.start;
  switch (s.mode) {
    case 'earliest':
      return chosen.map((w) => ({ partition: w.partition, start: w.low, end: end(w) }));
    case 'latest':
      return chosen.map((w) => ({ partition: w.partition, start: w.high, end: end(w) }));
    case 'offset': {
      const unknown = Object.keys(s.perPartition ?? {}).map(Number).filter((p) => !all.includes(p));
      if (unknown.length) {
        throw new ValidationError(
          `Partition ${unknown.join(', ')} does not exist; this topic has partitions ${all.length > 1 ? `${all[0]}–${all[all.length - 1]}` : all[0]}. Use partition:offset pairs for those.`,
        );
      }
      return chosen.map((w) => {
        const o = s.perPartition?.[w.partition] ?? s.offset;
        if (o === undefined || !Number.isInteger(o) || o < 0)
          throw new ValidationError(`Enter a start offset (a whole number) for partition ${w.partition}.`);
        if (o < w.low || o > w.high)
          throw new ValidationError(
            `Offset ${o} is outside partition ${w.partition}'s range ${w.low}–${w.high}. Pick an offset in that range.`,
          );
        return { partition: w.partition, start: o, end: end(w) };
      });
    }
    case 'timestamp': {
      if (!Number.isFinite(s.timestamp)) throw new ValidationError('Enter a valid date and time.');
      if (s.timestamp > now)
        throw new ValidationError(
          `${fmtTime(s.timestamp)} is in the future (now is ${fmtTime(now)}). Pick an earlier time, or start from Latest to wait for new messages.`,
        );
      const offs = await lookups.offsetsForTimestamp(s.timestamp);
      return chosen.map((w) => ({ partition: w.partition, start: atTime(offs.get(w.partition), w), end: end(w) }));
    }
    case 'window': {
      if (!Number.isFinite(s.from) || !Number.isFinite(s.to)) throw new ValidationError('Enter both ends of the time window.');
      if (s.from > s.to) throw new ValidationError(`The window starts (${fmtTime(s.from)}) after it ends (${fmtTime(s.to)}). Swap them.`);
      if (s.from > now) throw new ValidationError(`The window starts in the future (${fmtTime(s.from)}). Pick an earlier start.`);
      const offs = await lookups.offsetsForTimestamp(s.from);
      // a window that ends in the future keeps reading until then; otherwise stop at today's end
      return chosen.map((w) => ({
        partition: w.partition,
        start: atTime(offs.get(w.partition), w),
        end: s.to > now ? undefined : w.high,
        untilTimestamp: s.to,
      }));
    }
    case 'range': {
      const named = Object.keys(s.start).map(Number);
      const unknown = named.filter((p) => !all.includes(p));
      if (unknown.length) throw new ValidationError(`Partition ${unknown.join(', ')} does not exist; this topic has partitions ${all.join(', ')}.`);
      const inRange = chosen.filter((w) => named.includes(w.partition));
      if (!inRange.length) throw new ValidationError('The range names none of the chosen partitions.');
      return inRange.map((w) => {
        const from = s.start[w.partition];
        const to = s.end[w.partition];
        if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to < from)
          throw new ValidationError(`Partition ${w.partition}: the range ${from}–${to} is not a range of offsets (the end must not come before the start).`);
        if (to > w.high) throw new ValidationError(`Partition ${w.partition} ends at offset ${w.high}; the range asks up to ${to}. Was the topic deleted and made again?`);
        if (from < w.low)
          throw new ValidationError(`Partition ${w.partition}: offsets ${from}–${w.low - 1} of the range were deleted by retention (the partition starts at ${w.low} now).`);
        return { partition: w.partition, start: from, end: to };
      });
    }
    case 'group': {
      if (!s.groupId) throw new ValidationError('Pick a consumer group.');
      const offs = await lookups.groupOffsets(s.groupId);
      return chosen.map((w) => {
        const o = offs.get(w.partition);
        // no committed offset: start where that group would (earliest) — the conservative choice
        return { partition: w.partition, start: o === undefined || o < 0 ? w.low : clamp(o, w), end: end(w) };
      });
    }
  }
}

/** Offset found for a time; none (missing or -1) means no message at or after it: start at the end. */
function atTime(o: number | undefined, w: Watermark): number {
  return o === undefined || o < 0 ? w.high : clamp(o, w);
}

function clamp(o: number, w: Watermark): number {
  return Math.min(Math.max(o, w.low), w.high);
}

/** Lag per partition: end offset − committed offset (a partition with no commit lags by end − start). */
export function lag(high: number, committed: number | undefined, low: number): number {
  if (committed === undefined || committed < 0) return Math.max(0, high - low);
  return Math.max(0, high - committed);
}
