/**
 * Time as the models see it: what time it is and timers. The extension uses the system clock; unit
 * tests give a ManualClock (test/lib/manualClock.ts) and move time on themselves, so a model that polls
 * every few seconds is tested without sleeping for real.
 */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};
