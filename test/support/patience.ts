/**
 * How long tests are willing to wait, in one place. A test waits for the event it needs (a server
 * answering, a mail arriving, a count reached) and these are only the caps that turn a hang into a
 * failure: generous, so that a machine whose cores are busy with other work (`npm run test:unit`
 * beside two CPU burners, README) passes slowly instead of failing. No test sleeps a fixed time.
 */

/** One HTTP request to a local server: every fetch in the tests carries `AbortSignal.timeout` of it. */
export const requestTimeoutMs = 30_000;

/** A child process (Mamori, nginx, Redis, PostgreSQL) starting until it answers. */
export const startTimeoutMs = 120_000;

/** Something the test waits for (a code in the outbox, mail delivered, workers forked). */
export const eventTimeoutMs = 120_000;

/** A polite stop (SIGTERM, SIGQUIT) before SIGKILL. */
export const stopTimeoutMs = 30_000;

/** A fresh `AbortSignal` for one request. */
export function requestSignal(): AbortSignal {
  return AbortSignal.timeout(requestTimeoutMs);
}

/**
 * Asks `probe` until it gives a value, then returns it; polls every 50 ms (not a wait for a time:
 * it returns as soon as the event happened) and fails after `limitMs`.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  limitMs = eventTimeoutMs,
): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${limitMs / 1000} s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
