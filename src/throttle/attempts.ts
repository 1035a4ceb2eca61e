import type { ThrottleRule, ThrottleStore } from "./throttle.ts";

/**
 * An attempt at a check that is slow or that guards a secret (a password hash, a code): reserved
 * first, in one atomic step of the store (one SQL upsert, one Redis script), and only then
 * evaluated. N requests arriving together therefore never evaluate more than the limit: checking
 * the count first and counting after the slow check would let all N pass the check.
 * An attempt that succeeds gives its reservation back, so only failures fill the budget.
 */
export type AttemptReservation =
  | {
      allowed: true;
      /** This attempt's place in the window (1 = the first): the one at the limit is the last. */
      place: number;
      /** The attempt succeeded: it does not count against the limit. */
      release(): Promise<void>;
    }
  | { allowed: false; retryAfterSeconds: number };

export async function reserveAttempt(
  store: ThrottleStore,
  key: string,
  rule: ThrottleRule,
  now: Date,
): Promise<AttemptReservation> {
  const verdict = await store.hit(key, rule, now);
  if (!verdict.allowed) return verdict;
  return { allowed: true, place: verdict.hits, release: () => store.release(key, now) };
}

/** Whether a failed attempt at `place` was the last one the limit allows (the lock engages now). */
export function isLastAllowedAttempt(place: number, rule: ThrottleRule): boolean {
  return place >= rule.limit;
}
