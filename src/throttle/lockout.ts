import type { Kysely } from "kysely";
import { sql } from "kysely";
import type { Schema } from "../db/schema.ts";

/**
 * Lockout without lock-in. After `threshold` password failures in a row for one sign-in
 * identifier, password sign-in to it pauses, each further failure after a pause pausing longer:
 * 1, 5, 15, then 60 minutes at most. The pause never becomes permanent, a right password ends the
 * count, and the owner's trusted browsers are not paused at all (the caller checks that). Counters
 * exist for identifiers with no account too, so a pause tells an attacker nothing.
 */
export const pauseMinutes = [1, 5, 15, 60] as const;

/** `counting`: failures are on record (a right password should clear them). */
export type LockoutState = { paused: false; counting: boolean } | { paused: true; retryAfterSeconds: number };

export async function readLockout(db: Kysely<Schema>, key: string, now: Date): Promise<LockoutState> {
  const row = await db
    .selectFrom("sign_in_lockout")
    .select("paused_until")
    .where("key", "=", key)
    .executeTakeFirst();
  if (!row?.paused_until || row.paused_until <= now.toISOString())
    return { paused: false, counting: row !== undefined };
  return {
    paused: true,
    retryAfterSeconds: Math.max(1, Math.ceil((Date.parse(row.paused_until) - now.getTime()) / 1000)),
  };
}

export type FailureOutcome = {
  /** True when this failure started the first pause of a series: the moment to tell the owner. */
  pauseStarted: boolean;
  /** When this failure started a pause of any level. */
  pausedForSeconds: number | null;
};

/**
 * Counts one failure (one statement, so parallel failures all count) and, at the threshold or
 * at any failure after a pause, starts the next pause.
 */
export async function recordFailure(
  db: Kysely<Schema>,
  key: string,
  threshold: number,
  now: Date,
): Promise<FailureOutcome> {
  const nowText = now.toISOString();
  const row = await db
    .insertInto("sign_in_lockout")
    .values({ key, failures: 1, level: 0, paused_until: null, updated_at: nowText })
    .onConflict((oc) =>
      oc.column("key").doUpdateSet({ failures: sql`sign_in_lockout.failures + 1`, updated_at: nowText }),
    )
    .returning(["failures", "level"])
    .executeTakeFirstOrThrow();
  if (row.failures < threshold) return { pauseStarted: false, pausedForSeconds: null };
  const level = Math.min(row.level + 1, pauseMinutes.length);
  const seconds = (pauseMinutes[level - 1] ?? 60) * 60;
  // Guarded by the level read above: of two failures racing here, one raises the level.
  await db
    .updateTable("sign_in_lockout")
    .set({ level, paused_until: new Date(now.getTime() + seconds * 1000).toISOString() })
    .where("key", "=", key)
    .where("level", "=", row.level)
    .execute();
  return { pauseStarted: row.level === 0, pausedForSeconds: seconds };
}

/** A right password: the count starts again from zero. */
export async function clearLockout(db: Kysely<Schema>, key: string): Promise<void> {
  await db.deleteFrom("sign_in_lockout").where("key", "=", key).execute();
}
