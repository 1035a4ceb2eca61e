/**
 * The strength meter's zxcvbn runs, one at a time and never back to back: a burst of questions from
 * one address cannot hold the event loop that answers everyone else (issue 15, point 5).
 *
 * Each run is bounded (strength.ts scores at most the first `maxScoredLength` characters), but a
 * hundred of them started by one client in the same event-loop turn used to run one after another,
 * and every other request (/healthz, sign-ins, session checks) waited for all of them: the median
 * /healthz went from 4 ms to 445 ms. Here:
 * - runs wait in a queue and one runs per turn, after a pause as long as the last run took, so
 *   zxcvbn holds at most half of the event loop, and any other request waits for one run at most;
 * - the queue takes addresses in turn (round-robin): one address's burst does not delay the meter
 *   of the person next to it by more than one of its runs;
 * - an address has at most `perAddress` runs waiting; more is refused (429) at once, before any
 *   work — the page's meter asks once per pause in typing and drops the older answer anyway;
 * - the queue holds at most `total` runs in all.
 * The counts are this process's own: what they protect is this process's event loop (the per-minute
 * limit of the route is the shared, database-kept one).
 */
export type StrengthQueueLimits = { perAddress: number; total: number };

export type QueuedRun<T> = { ok: true; value: T } | { ok: false; reason: "address_busy" | "queue_full" };

export type StrengthQueue = {
  /** Runs `work` when its turn comes; refused at once when `address` (or the queue) is full. */
  run<T>(address: string, work: () => T): Promise<QueuedRun<T>>;
  /** How many runs wait or run now (for tests and the log). */
  size(): number;
};

type Job = { work: () => void };

export const defaultStrengthQueueLimits: StrengthQueueLimits = { perAddress: 4, total: 256 };

export function createStrengthQueue(limits: StrengthQueueLimits = defaultStrengthQueueLimits): StrengthQueue {
  // Insertion order is the round-robin order: an address served goes to the back.
  const waiting = new Map<string, Job[]>();
  let count = 0;
  let draining = false;

  function next(): Job | undefined {
    for (const [address, jobs] of waiting) {
      const job = jobs.shift();
      waiting.delete(address);
      if (jobs.length > 0) waiting.set(address, jobs);
      if (job) return job;
    }
    return undefined;
  }

  function drain(pauseMs: number): void {
    // setImmediate after a timer: the pause lets every request that arrived meanwhile be read and
    // answered before the next run takes the loop again.
    setTimeout(() => {
      setImmediate(() => {
        const job = next();
        if (!job) {
          draining = false;
          return;
        }
        const started = performance.now();
        job.work();
        drain(performance.now() - started);
      });
    }, pauseMs);
  }

  function run<T>(address: string, work: () => T): Promise<QueuedRun<T>> {
    const jobs = waiting.get(address) ?? [];
    if (jobs.length >= limits.perAddress) return Promise.resolve({ ok: false, reason: "address_busy" });
    if (count >= limits.total) return Promise.resolve({ ok: false, reason: "queue_full" });
    return new Promise((resolve, reject) => {
      count += 1;
      jobs.push({
        work: () => {
          count -= 1;
          try {
            resolve({ ok: true, value: work() });
          } catch (error) {
            // A bug in the work, not an expected failure: the route's error handler answers 500.
            reject(error);
          }
        },
      });
      if (!waiting.has(address)) waiting.set(address, jobs);
      if (!draining) {
        draining = true;
        drain(0);
      }
    });
  }

  return { run, size: () => count };
}
