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
 * - a client waits for its answers rather than being refused: refused at once, a client with many
 *   connections asks again at once, and answering those refusals held the loop as much as the runs
 *   did (a 100-connection client then sent ~2,000 requests a second; /healthz waited behind them).
 *   Waiting, it sends its next question only when it has an answer. An address may have at most
 *   `perAddress` runs waiting (128: what one HTTP/2 connection through nginx may have open at once,
 *   its default http2_max_concurrent_streams) and the queue `total` in all; beyond either, 429 at
 *   once, before any work;
 * - the route's per-minute limit (database-kept, shared by every process) still counts each one.
 * These counts are this process's own: what they protect is this process's event loop.
 */
export type StrengthQueueLimits = { perAddress: number; total: number };

export type QueuedRun<T> =
  | { ok: true; value: T }
  | { ok: false; reason: "address_busy" | "queue_full" | "client_gone" };

export type StrengthQueue = {
  /**
   * Runs `work` when its turn comes; refused at once when `address` (or the queue) is full.
   * `clientGone` aborted (the client closed its connection) takes the run out of the queue.
   */
  run<T>(address: string, work: () => T, clientGone?: AbortSignal): Promise<QueuedRun<T>>;
  /** How many runs wait or run now (for tests and the log). */
  size(): number;
};

type Job = { work: () => void };

// A waiting run holds its request (a password of at most 4,096 characters and its answer to come):
// 1,024 of them are a few MiB, and only while someone floods the meter.
export const defaultStrengthQueueLimits: StrengthQueueLimits = { perAddress: 128, total: 1024 };

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

  function run<T>(address: string, work: () => T, clientGone?: AbortSignal): Promise<QueuedRun<T>> {
    const jobs = waiting.get(address) ?? [];
    if (jobs.length >= limits.perAddress) return Promise.resolve({ ok: false, reason: "address_busy" });
    if (count >= limits.total) return Promise.resolve({ ok: false, reason: "queue_full" });
    if (clientGone?.aborted) return Promise.resolve({ ok: false, reason: "client_gone" });
    return new Promise((resolve, reject) => {
      count += 1;
      // A client that gave up (a timeout, a closed tab) no longer holds a place: its run would
      // cost the loop for an answer nobody reads, and its address's places would stay taken.
      const leave = (): void => {
        const index = jobs.indexOf(job);
        if (index === -1) return;
        jobs.splice(index, 1);
        if (jobs.length === 0 && waiting.get(address) === jobs) waiting.delete(address);
        count -= 1;
        resolve({ ok: false, reason: "client_gone" });
      };
      const job: Job = {
        work: () => {
          count -= 1;
          clientGone?.removeEventListener("abort", leave);
          try {
            resolve({ ok: true, value: work() });
          } catch (error) {
            // A bug in the work, not an expected failure: the route's error handler answers 500.
            reject(error);
          }
        },
      };
      jobs.push(job);
      clientGone?.addEventListener("abort", leave, { once: true });
      if (!waiting.has(address)) waiting.set(address, jobs);
      if (!draining) {
        draining = true;
        drain(0);
      }
    });
  }

  return { run, size: () => count };
}
