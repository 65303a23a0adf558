/**
 * How long the event loop (the extension host's one thread) was held at once while something ran: a
 * 10 ms ticker notes the longest gap beyond its interval.
 */
export function watchEventLoop(): { longestMs(): number; stop(): void } {
  let longest = 0;
  let last = performance.now();
  const ticker = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last - 10);
    last = now;
  }, 10);
  return { longestMs: () => longest, stop: () => clearInterval(ticker) };
}
