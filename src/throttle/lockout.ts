import type { Kysely } from "kysely";
import { sql } from "kysely";
import type { Schema } from "../db/schema.ts";

/**
 * Lockout without lock-in. After `threshold` password failures in a row for one account (or, for
 * an identifier with no account, for that identifier), password sign-in pauses; after each pause
 * one more attempt is allowed, and its failure starts a longer pause: 1, 5, 15, then 60 minutes at
 * most. The pause never becomes permanent, a right password ends the count, and the owner's
 * trusted browsers have counts of their own (the caller picks the key). Counters exist for
 * identifiers with no account too, so a pause tells an attacker nothing.
 *
 * Every attempt is reserved before the password is hashed (`reservePasswordAttempt`), in one
 * guarded upsert: of N attempts arriving at once, no more than the allowance are evaluated, and
 * none while a pause runs, so a right password sent during a pause signs nobody in.
 */
export const pauseMinutes = [1, 5, 15, 60] as const;

export type PasswordAttempt =
  | {
      allowed: true;
      /** Failures in a row including this attempt, and the pauses this series has had. */
      failures: number;
      level: number;
    }
  | { allowed: false; retryAfterSeconds: number };

function pauseSecondsAt(level: number): number {
  return (pauseMinutes[Math.min(level, pauseMinutes.length) - 1] ?? 1) * 60;
}

/**
 * Reserves one attempt: allowed while no pause runs and the series still has attempts left
 * (`threshold` at first, one after each pause). A refused attempt is not counted.
 */
export async function reservePasswordAttempt(
  db: Kysely<Schema>,
  key: string,
  threshold: number,
  now: Date,
): Promise<PasswordAttempt> {
  const nowText = now.toISOString();
  const row = await db
    .insertInto("sign_in_lockout")
    .values({ key, failures: 1, level: 0, paused_until: null, updated_at: nowText })
    .onConflict((oc) =>
      oc
        .column("key")
        .doUpdateSet({ failures: sql`sign_in_lockout.failures + 1`, updated_at: nowText })
        .where(
          sql<boolean>`(sign_in_lockout.paused_until is null or sign_in_lockout.paused_until <= ${nowText})
            and sign_in_lockout.failures < ${threshold} + sign_in_lockout.level`,
        ),
    )
    .returning(["failures", "level"])
    .executeTakeFirst();
  if (row) return { allowed: true, failures: row.failures, level: row.level };
  const current = await db
    .selectFrom("sign_in_lockout")
    .select(["paused_until", "level"])
    .where("key", "=", key)
    .executeTakeFirst();
  if (current?.paused_until && current.paused_until > nowText) {
    return {
      allowed: false,
      retryAfterSeconds: Math.max(1, Math.ceil((Date.parse(current.paused_until) - now.getTime()) / 1000)),
    };
  }
  // The series' last attempt is still being checked: the pause it starts if it fails is the wait.
  return { allowed: false, retryAfterSeconds: pauseSecondsAt((current?.level ?? 0) + 1) };
}

export type FailureOutcome = {
  /** True when this failure started the first pause of a series: the moment to tell the owner. */
  pauseStarted: boolean;
  /** When this failure started a pause of any level. */
  pausedForSeconds: number | null;
};

/**
 * The reserved attempt failed (it is already counted). When it was the series' last allowed one,
 * the next pause starts, guarded by the level it was reserved at (so one failure raises it once).
 */
export async function recordPasswordFailure(
  db: Kysely<Schema>,
  key: string,
  attempt: { failures: number; level: number },
  threshold: number,
  now: Date,
): Promise<FailureOutcome> {
  if (attempt.failures < threshold + attempt.level) return { pauseStarted: false, pausedForSeconds: null };
  const level = attempt.level + 1;
  const seconds = pauseSecondsAt(level);
  await db
    .updateTable("sign_in_lockout")
    .set({ level, paused_until: new Date(now.getTime() + seconds * 1000).toISOString() })
    .where("key", "=", key)
    .where("level", "=", attempt.level)
    .execute();
  return { pauseStarted: attempt.level === 0, pausedForSeconds: seconds };
}

/** A right password (or a completed reset, which proves the mailbox): the count starts again. */
export async function clearLockout(db: Kysely<Schema>, key: string): Promise<void> {
  await db.deleteFrom("sign_in_lockout").where("key", "=", key).execute();
}

/** The one count of password attempts at an account, however its identifier was written. */
export function accountLockoutKey(accountId: string): string {
  return `sign_in:account:${accountId}`;
}
