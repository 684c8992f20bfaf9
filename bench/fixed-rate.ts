/** Requests one fixed-rate stream may have in flight; past it a request is counted as skipped. */
const MAX_IN_FLIGHT = 2000;

/**
 * Sends `rate` requests per second until `endAt` (a `performance.now()` time), each at its own
 * scheduled time whatever the answers do (an open model: a slow answer does not hold the next
 * request back), evenly spaced. `send` gets the scheduled time, from which a latency is measured,
 * so time a request spent waiting to go out counts too (no coordinated omission). Returns how
 * many were skipped because `MAX_IN_FLIGHT` were still unanswered.
 *
 * (autocannon's `overallRate` is not this: each connection sends its quota for the second
 * back-to-back when the second begins, then waits, so "200 req/s" over 20 connections arrives as
 * a burst of 200 at 20 at a time, and the latencies measure the queue of the burst.)
 */
export function fixedRate(rate: number, endAt: number, send: (scheduledAt: number) => Promise<unknown>): Promise<{ skipped: number }> {
  if (rate <= 0) return Promise.resolve({ skipped: 0 });
  const begin = performance.now();
  const inFlight = new Set<Promise<unknown>>();
  let sent = 0;
  let skipped = 0;
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      const now = Math.min(performance.now(), endAt);
      const due = Math.floor(((now - begin) * rate) / 1000);
      for (; sent < due; sent++) {
        if (inFlight.size >= MAX_IN_FLIGHT) {
          skipped++;
          continue;
        }
        const request = send(begin + (sent * 1000) / rate).catch(() => undefined);
        inFlight.add(request);
        void request.finally(() => inFlight.delete(request));
      }
      if (now >= endAt) {
        clearInterval(timer);
        void Promise.all(inFlight).then(() => resolve({ skipped }));
      }
    }, 1);
  });
}
